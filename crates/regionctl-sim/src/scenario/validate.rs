//! The checks a scenario's types cannot make: names against the policy bundle and the
//! controllers, timeline ids, field combinations, guardrails.
//!
//! # Design
//! [`validate`] calls one named check per part of the file, in file order; each check takes
//! what it needs and returns its errors, and a list's errors (timeline, expectations, …)
//! come entry by entry. Users read the errors in that order, so a new check goes where its
//! field is in the file.

use super::format::{
    ExpectKind, Expectation, RollbackStep, RollbackWhat, Scenario, SteadyCheck, TimelineEntry, What,
};
use super::load::{Loaded, ScenarioError, parse_skew, resolve_ref};
use crate::duration::Dur;
use regionctl_core::policy::{Bundle, Service};

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

/// `timeline[i]`: its time, its id, where it applies and the fields its kind needs.
fn check_timeline_entry(n: &Names<'_>, i: usize, e: &TimelineEntry) -> Vec<ScenarioError> {
    let previous_at = i
        .checked_sub(1)
        .map_or(0, |p| n.scenario.timeline[p].at.secs());
    let mut errors = check_entry_time(n, i, e, previous_at);
    errors.extend(check_entry_id(n, i, e));
    errors.extend(check_entry_region(n, i, e));
    errors.extend(check_entry_partition(n, i, e));
    errors.extend(check_entry_services_and_cells(n, i, e));
    errors.extend(check_entry_fields(n, i, e));
    errors
}

/// `timeline[i].{k}`.
fn entry_field(i: usize, k: &str) -> String {
    format!("timeline[{i}].{k}")
}

/// Entries in time order, none after the end of the game-day.
fn check_entry_time(
    n: &Names<'_>,
    i: usize,
    e: &TimelineEntry,
    previous_at: u64,
) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    if e.at.secs() < previous_at {
        errors.push(n.error(
            &entry_field(i, "at"),
            format!(
                "timeline entries must be in time order ({} comes after {})",
                e.at,
                Dur(previous_at)
            ),
        ));
    }
    let duration = n.scenario.world.duration;
    if e.at.secs() > duration.secs() {
        errors.push(n.error(
            &entry_field(i, "at"),
            format!(
                "{} is after the end of the game-day (world.duration {duration})",
                e.at
            ),
        ));
    }
    errors
}

/// Ids are unique, and `all` is reserved for `recover: [all]`.
fn check_entry_id(n: &Names<'_>, i: usize, e: &TimelineEntry) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    if let Some(id) = &e.id {
        if n.ids.iter().filter(|x| **x == id).count() > 1 {
            errors.push(n.error(
                &entry_field(i, "id"),
                format!("id `{id}` is used more than once"),
            ));
        }
        if id == "all" {
            errors.push(n.error(&entry_field(i, "id"), "`all` is reserved (recover: [all])"));
        }
    }
    errors
}

/// `where.region`: known and allowed, present for the kinds that need it, and a
/// controller's region for the kinds that act on a controller.
fn check_entry_region(n: &Names<'_>, i: usize, e: &TimelineEntry) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    let needs_region = matches!(
        e.what,
        What::EndpointsFail
            | What::EndpointsTimeout
            | What::Alarm
            | What::AlarmFlap
            | What::ApisUnreachable
            | What::ControllerCrash
            | What::JournalUnavailable
            | What::ClockSkew
            | What::CapacityShortfall
            | What::PolicyRollout
    );
    match &e.place.region {
        Some(r) if !n.known_region(r) => errors.push(n.error(
            &entry_field(i, "where.region"),
            format!("unknown region `{r}`; regions: {}", n.region_list()),
        )),
        Some(r) if !n.allowed(r) => errors.push(n.error(
            &entry_field(i, "where.region"),
            format!("region {r} is not in guardrails.regions"),
        )),
        None if needs_region => errors.push(n.error(
            &entry_field(i, "where"),
            format!("`{}` needs `where.region`", e.what.as_str()),
        )),
        _ => {}
    }
    if matches!(
        e.what,
        What::ControllerCrash | What::ClockSkew | What::JournalUnavailable | What::PolicyRollout
    ) && let Some(r) = &e.place.region
        && !n.controllers.contains(r)
    {
        errors.push(n.error(
            &entry_field(i, "where.region"),
            format!(
                "no controller runs in {r}; controllers: {}",
                n.controller_list()
            ),
        ));
    }
    errors
}

/// `partition`: `where.between` names two different regions, both known and allowed.
fn check_entry_partition(n: &Names<'_>, i: usize, e: &TimelineEntry) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    if e.what != What::Partition {
        return errors;
    }
    match &e.place.between {
        Some(b) if b.len() == 2 && b[0] != b[1] => {
            for (j, r) in b.iter().enumerate() {
                let field = entry_field(i, &format!("where.between[{j}]"));
                if !n.known_region(r) {
                    errors.push(n.error(
                        &field,
                        format!("unknown region `{r}`; regions: {}", n.region_list()),
                    ));
                } else if !n.allowed(r) {
                    errors
                        .push(n.error(&field, format!("region {r} is not in guardrails.regions")));
                }
            }
        }
        _ => errors.push(n.error(
            &entry_field(i, "where"),
            "`partition` needs `where.between: [REGION, REGION]` (two different regions)",
        )),
    }
    errors
}

/// `where.services` are the bundle's; `where.cells` only for alarms, and cells of the
/// services named.
fn check_entry_services_and_cells(
    n: &Names<'_>,
    i: usize,
    e: &TimelineEntry,
) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    for (j, svc) in e.place.services.iter().enumerate() {
        errors.extend(n.unknown_service(&entry_field(i, &format!("where.services[{j}]")), svc));
    }
    if e.place.cells.is_empty() {
        return errors;
    }
    if e.what != What::Alarm && e.what != What::AlarmFlap {
        errors.push(n.error(
            &entry_field(i, "where.cells"),
            "cells apply to `alarm` and `alarm-flap` only",
        ));
    }
    for (j, cell) in e.place.cells.iter().enumerate() {
        let found = n
            .bundle
            .services
            .iter()
            .filter(|x| e.place.services.is_empty() || e.place.services.contains(&x.name))
            .any(|x| x.cells.iter().any(|c| &c.id == cell));
        if !found {
            errors.push(n.error(
                &entry_field(i, &format!("where.cells[{j}]")),
                format!("no service named here has a cell `{cell}`"),
            ));
        }
    }
    errors
}

/// The fields each kind needs: `state`, `period`, `skew`, `fraction`, or for `recover`
/// faults named by earlier entries.
fn check_entry_fields(n: &Names<'_>, i: usize, e: &TimelineEntry) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    let f = |k: &str| entry_field(i, k);
    match e.what {
        What::Alarm if e.state.is_none() => errors.push(n.error(
            &f("state"),
            "`alarm` needs `state: ALARM | OK | INSUFFICIENT_DATA`",
        )),
        What::AlarmFlap if e.period.is_none_or(|p| p.secs() == 0) => {
            errors.push(n.error(&f("period"), "`alarm-flap` needs `period` (e.g. 30s)"));
        }
        What::ClockSkew => match &e.skew {
            None => errors.push(n.error(
                &f("skew"),
                "`clock-skew` needs `skew` (e.g. `90s` or `-2m`)",
            )),
            Some(k) => {
                if let Err(m) = parse_skew(k) {
                    errors.push(n.error(&f("skew"), m));
                }
            }
        },
        What::CapacityShortfall if e.fraction.is_none_or(|x| !(0.0..=1.0).contains(&x)) => {
            errors.push(n.error(
                &f("fraction"),
                "`capacity-shortfall` needs `fraction` between 0 and 1",
            ));
        }
        What::Recover => errors.extend(check_recovered_faults(n, i, e)),
        _ => {}
    }
    errors
}

/// `recover`: names faults, each `all` or the id of an earlier fault (not a recovery).
fn check_recovered_faults(n: &Names<'_>, i: usize, e: &TimelineEntry) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    if e.faults.is_empty() {
        errors.push(n.error(
            &entry_field(i, "faults"),
            "`recover` needs `faults: [ID, …]` or `[all]`",
        ));
    }
    for (j, id) in e.faults.iter().enumerate() {
        let earlier = n.scenario.timeline[..i]
            .iter()
            .any(|x| x.id.as_deref() == Some(id.as_str()) && x.what != What::Recover);
        if id != "all" && !earlier {
            errors.push(n.error(
                &entry_field(i, &format!("faults[{j}]")),
                format!("no earlier fault has id `{id}`"),
            ));
        }
    }
    errors
}

/// `expect[i]`: its service, its region, its cells, its references and the fields its
/// kind needs.
fn check_expectation(n: &Names<'_>, i: usize, x: &Expectation) -> Vec<ScenarioError> {
    let f = |k: &str| format!("expect[{i}].{k}");
    let mut errors = Vec::new();
    if let Some(name) = &x.service {
        errors.extend(n.unknown_service(&f("service"), name));
    }
    let service = x
        .service
        .as_deref()
        .and_then(|name| n.bundle.service_index(name))
        .map(|ix| &n.bundle.services[ix]);
    let needs_service = !matches!(x.kind, ExpectKind::Decisions | ExpectKind::StandDown);
    if needs_service && x.service.is_none() {
        errors.push(n.error(
            &format!("expect[{i}]"),
            format!("`{}` needs `service`", x.kind.as_str()),
        ));
    }
    errors.extend(check_expectation_region(n, i, x, service));
    if let Some(svc) = service {
        errors.extend(check_expectation_cells(n, i, x, svc));
    }
    errors.extend(check_expectation_refs(n, i, x));
    errors.extend(check_expectation_fields(n, i, x));
    errors
}

/// An expectation's `region`: present where the kind needs it, one of the service's
/// regions, or for `stand-down` a controller's.
fn check_expectation_region(
    n: &Names<'_>,
    i: usize,
    x: &Expectation,
    service: Option<&Service>,
) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    let needs_region = matches!(
        x.kind,
        ExpectKind::Traffic
            | ExpectKind::CapacityBeforeTraffic
            | ExpectKind::Failback
            | ExpectKind::StandDown
    );
    match (&x.region, service) {
        (None, _) if needs_region => errors.push(n.error(
            &format!("expect[{i}]"),
            format!("`{}` needs `region`", x.kind.as_str()),
        )),
        (Some(r), Some(svc))
            if x.kind != ExpectKind::StandDown && !svc.regions.iter().any(|sr| &sr.name == r) =>
        {
            errors.push(n.error(
                &format!("expect[{i}].region"),
                format!(
                    "service {} does not run in `{r}`; its regions: {}",
                    svc.name,
                    svc.regions
                        .iter()
                        .map(|r| r.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        (Some(r), _) if x.kind == ExpectKind::StandDown && !n.controllers.contains(r) => {
            errors.push(n.error(
                &format!("expect[{i}].region"),
                format!(
                    "no controller runs in `{r}`; controllers: {}",
                    n.controller_list()
                ),
            ));
        }
        _ => {}
    }
    errors
}

/// An expectation's `cells` and `except_cells` are cells of its service.
fn check_expectation_cells(
    n: &Names<'_>,
    i: usize,
    x: &Expectation,
    svc: &Service,
) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    for (key, cells) in [("cells", &x.cells), ("except_cells", &x.except_cells)] {
        for (j, cell) in cells.iter().enumerate() {
            if !svc.cells.iter().any(|c| &c.id == cell) {
                errors.push(n.error(
                    &format!("expect[{i}].{key}[{j}]"),
                    format!("service {} has no cell `{cell}`", svc.name),
                ));
            }
        }
    }
    errors
}

/// An expectation's `after` and `until` are timeline ids or durations.
fn check_expectation_refs(n: &Names<'_>, i: usize, x: &Expectation) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    for (key, r) in [("after", &x.after), ("until", &x.until)] {
        if let Some(r) = r
            && resolve_ref(n.scenario, r).is_none()
        {
            errors.push(n.error(
                &format!("expect[{i}].{key}"),
                format!(
                    "`{r}` is neither a timeline id ({}) nor a duration",
                    if n.ids.is_empty() {
                        "none".to_string()
                    } else {
                        n.ids.join(", ")
                    }
                ),
            ));
        }
    }
    errors
}

/// The fields each expectation kind needs.
fn check_expectation_fields(n: &Names<'_>, i: usize, x: &Expectation) -> Vec<ScenarioError> {
    let missing = match x.kind {
        ExpectKind::Traffic if x.at_most.is_none() && x.at_least.is_none() => {
            "`traffic` needs `at_most` or `at_least` (percent)"
        }
        ExpectKind::Decisions if x.at_most.is_none() && x.at_least.is_none() => {
            "`decisions` needs `at_most` or `at_least` (a count)"
        }
        ExpectKind::Decision if x.reason_contains.is_none() && x.status.is_none() => {
            "`decision` needs `reason_contains` or `status`"
        }
        ExpectKind::Failback if x.within.is_none() => "`failback` needs `within`",
        _ => return Vec::new(),
    };
    vec![n.error(&format!("expect[{i}]"), missing)]
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
