//! The checks a scenario's types cannot make: names against the policy bundle and the
//! controllers, timeline ids, field combinations, guardrails.
//!
//! # Design
//! [`validate`] calls one named check per part of the file, in file order; each check takes
//! what it needs and returns its errors, and a list's errors (timeline, expectations, …)
//! come entry by entry. Users read the errors in that order, so a new check goes where its
//! field is in the file.
//!
//! The timeline's checks are in `timeline`, the expectations' in `expect`; the rest, and
//! the names everything is checked against (`Names`), here.

mod expect;
mod timeline;

use super::format::{RollbackStep, RollbackWhat, Scenario, SteadyCheck};
use super::load::{Loaded, ScenarioError};
use expect::check_expectation;
use regionctl_core::policy::Bundle;
use timeline::check_timeline_entry;

/// Checks everything the types cannot: names against the bundle, ids, field combinations,
/// guardrails. Returns every problem found.
pub fn validate(loaded: &Loaded, bundle: &Bundle, controllers: &[String]) -> Vec<ScenarioError> {
    let names = Names::new(loaded, bundle, controllers);
    let s = &loaded.scenario;
    let mut errors = check_world(&names);
    errors.extend(check_guardrails(&names));
    for (i, e) in s.timeline.iter().enumerate() {
        errors.extend(check_timeline_entry(&names, i, e));
    }
    for (i, x) in s.expect.iter().enumerate() {
        errors.extend(check_expectation(&names, i, x));
    }
    for (i, r) in s.rollback.iter().enumerate() {
        errors.extend(check_rollback_step(&names, i, r));
    }
    for (i, c) in s.steady_state.iter().enumerate() {
        errors.extend(check_steady_check(&names, i, c));
    }
    errors.extend(check_report(&names));
    errors
}

/// What a scenario's names are checked against: the bundle, the controllers, the
/// guardrails and the timeline's ids.
struct Names<'a> {
    loaded: &'a Loaded,
    scenario: &'a Scenario,
    bundle: &'a Bundle,
    controllers: &'a [String],
    /// The timeline's ids, in order (repeats included).
    ids: Vec<&'a str>,
}

impl<'a> Names<'a> {
    fn new(loaded: &'a Loaded, bundle: &'a Bundle, controllers: &'a [String]) -> Self {
        let scenario = &loaded.scenario;
        Names {
            loaded,
            scenario,
            bundle,
            controllers,
            ids: scenario
                .timeline
                .iter()
                .filter_map(|e| e.id.as_deref())
                .collect(),
        }
    }

    /// An error at `field`, located in the file.
    fn error(&self, field: &str, message: impl Into<String>) -> ScenarioError {
        self.loaded.error(field, message)
    }

    /// A region of the bundle or a controller's region.
    fn known_region(&self, r: &str) -> bool {
        self.bundle.regions.iter().any(|x| x == r) || self.controllers.iter().any(|x| x == r)
    }

    /// A region the guardrails let a real run touch.
    fn allowed(&self, r: &str) -> bool {
        self.scenario.guardrails.regions.iter().any(|x| x == r)
    }

    /// The known regions, for messages: the bundle's, then the other controllers'.
    fn region_list(&self) -> String {
        let mut all: Vec<String> = self.bundle.regions.clone();
        for c in self.controllers {
            if !all.contains(c) {
                all.push(c.clone());
            }
        }
        all.join(", ")
    }

    /// The bundle's services, for messages.
    fn service_list(&self) -> String {
        self.bundle
            .services
            .iter()
            .map(|x| x.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The error for a service name the bundle does not have, if it does not.
    fn unknown_service(&self, field: &str, name: &str) -> Option<ScenarioError> {
        self.bundle.service_index(name).is_none().then(|| {
            self.error(
                field,
                format!(
                    "unknown service `{name}`; services: {}",
                    self.service_list()
                ),
            )
        })
    }

    /// The controllers, for messages.
    fn controller_list(&self) -> String {
        self.controllers.join(", ")
    }
}

/// `world`: a duration, a tick and at least one controller.
fn check_world(n: &Names<'_>) -> Vec<ScenarioError> {
    let world = &n.scenario.world;
    let mut errors = Vec::new();
    if world.duration.secs() == 0 {
        errors.push(n.error("world.duration", "must be longer than 0s"));
    }
    if world.tick.is_some_and(|t| t.secs() == 0) {
        errors.push(n.error("world.tick", "must be at least 1s"));
    }
    if let Some(cs) = &world.controllers
        && cs.is_empty()
    {
        errors.push(n.error("world.controllers", "name at least one controller region"));
    }
    errors
}

/// `guardrails`: account ids, and regions that include every controller's.
fn check_guardrails(n: &Names<'_>) -> Vec<ScenarioError> {
    let g = &n.scenario.guardrails;
    let mut errors = Vec::new();
    for (i, a) in g.accounts.iter().enumerate() {
        if a.len() != 12 || !a.chars().all(|c| c.is_ascii_digit()) {
            errors.push(n.error(
                &format!("guardrails.accounts[{i}]"),
                format!("`{a}` is not an AWS account id (12 digits)"),
            ));
        }
    }
    if g.regions.is_empty() {
        errors.push(n.error(
            "guardrails.regions",
            "list the regions a real run may touch",
        ));
    }
    for (i, c) in n.controllers.iter().enumerate() {
        if !n.allowed(c) {
            let field = if n.scenario.world.controllers.is_some() {
                format!("world.controllers[{i}]")
            } else {
                "guardrails.regions".into()
            };
            errors.push(n.error(
                &field,
                format!("controller region {c} is not in guardrails.regions"),
            ));
        }
    }
    errors
}

/// `rollback[i]`: faults are `all` or timeline ids, and `recover` names some.
fn check_rollback_step(n: &Names<'_>, i: usize, r: &RollbackStep) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    for (j, id) in r.faults.iter().enumerate() {
        if id != "all" && !n.ids.contains(&id.as_str()) {
            errors.push(n.error(
                &format!("rollback[{i}].faults[{j}]"),
                format!("no fault has id `{id}`"),
            ));
        }
    }
    if r.what == RollbackWhat::Recover && r.faults.is_empty() {
        errors.push(n.error(
            &format!("rollback[{i}].faults"),
            "`recover` needs `faults: [ID, …]` or `[all]`",
        ));
    }
    errors
}

/// `steady_state[i]`: its service, if named, is the bundle's.
fn check_steady_check(n: &Names<'_>, i: usize, c: &SteadyCheck) -> Vec<ScenarioError> {
    c.service
        .as_deref()
        .and_then(|name| n.unknown_service(&format!("steady_state[{i}].service"), name))
        .into_iter()
        .collect()
}

/// `report.chart_service`, if named, is the bundle's.
fn check_report(n: &Names<'_>) -> Vec<ScenarioError> {
    n.scenario
        .report
        .chart_service
        .as_deref()
        .and_then(|name| n.unknown_service("report.chart_service", name))
        .into_iter()
        .collect()
}
