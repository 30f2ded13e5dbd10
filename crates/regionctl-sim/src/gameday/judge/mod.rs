//! Judges a game-day: the steady-state checks and the scenario's expectations, over
//! [`Evidence`], the same for every target.
//!
//! Every result says whether it was met, when (seconds from the start), and what was
//! observed — for a failure, what was seen instead and when, so a report can say "traffic
//! to eu-central-1 was still 12% at the 01:30 deadline; it reached 0% at 03:10".
//!
//! One function per expectation kind: [`traffic`] (`traffic`, `traffic-steady`),
//! [`capacity`] (`capacity-before-traffic`), [`decisions`] (`decision`, `decisions`),
//! [`failback`], [`stand_down`], [`compute`] (`ecs-desired`, `lambda-share`); the
//! steady-state checks in [`steady`].

mod capacity;
mod compute;
mod decisions;
mod failback;
mod stand_down;
mod steady;
mod traffic;

pub use steady::{ControllerSnapshot, SteadyResult, SteadyView, steady};

use super::compute::Quantity;
use super::evidence::Evidence;
use crate::duration::clock;
use crate::scenario::{ExpectKind, Expectation, Scenario, Verdict, resolve_ref};
use regionctl_core::policy::{Bundle, Service};
use serde::Serialize;

/// A finished game-day, as the judge sees it.
#[derive(Clone, Copy)]
pub struct Game<'a> {
    /// The scenario.
    pub scenario: &'a Scenario,
    /// The bundle the controllers ran.
    pub bundle: &'a Bundle,
    /// Seconds the game-day lasted.
    pub end: u64,
    /// What it saw.
    pub evidence: &'a Evidence,
}

/// One expectation's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// Name.
    pub id: String,
    /// Kind.
    pub kind: ExpectKind,
    /// What was expected, for people.
    pub expected: String,
    /// Met or not.
    pub met: bool,
    /// When it was met or found unmet (seconds from the start).
    pub at: Option<u64>,
    /// What was observed.
    pub observed: String,
}

impl Outcome {
    /// The expectation is met, at `t` (seconds from the start), as `observed` says.
    fn met_at(&mut self, t: u64, observed: String) {
        self.met = true;
        self.at = Some(t);
        self.observed = observed;
    }

    fn new(x: &Expectation, i: usize) -> Self {
        Outcome {
            id: x
                .id
                .clone()
                .unwrap_or_else(|| format!("{}#{}", x.kind.as_str(), i + 1)),
            kind: x.kind,
            expected: String::new(),
            met: false,
            at: None,
            observed: String::new(),
        }
    }

    /// The expectation names no valid `what` (service, region).
    fn missing(mut self, what: &str) -> Self {
        self.observed = format!("the expectation names no valid {what}");
        self
    }
}

/// Judges every expectation of the game's scenario.
pub fn evaluate(game: &Game<'_>) -> Vec<Outcome> {
    game.scenario
        .expect
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let out = Outcome::new(x, i);
            match x.kind {
                ExpectKind::Traffic => traffic::traffic(game, x, out),
                ExpectKind::TrafficSteady => traffic::traffic_steady(game, x, out),
                ExpectKind::CapacityBeforeTraffic => {
                    capacity::capacity_before_traffic(game, x, out)
                }
                ExpectKind::Decisions => decisions::decisions(game, x, out),
                ExpectKind::Decision => decisions::decision(game, x, out),
                ExpectKind::Failback => failback::failback(game, x, out),
                ExpectKind::StandDown => stand_down::stand_down(game, x, out),
                ExpectKind::EcsDesired => compute::compute(game, x, out, Quantity::EcsDesired),
                ExpectKind::LambdaShare => compute::compute(game, x, out, Quantity::LambdaShare),
            }
        })
        .collect()
}

/// Every expectation unmet, not evaluated: the game-day aborted.
pub fn not_evaluated(scenario: &Scenario) -> Vec<Outcome> {
    scenario
        .expect
        .iter()
        .enumerate()
        .map(|(i, x)| Outcome {
            expected: x.description.clone().unwrap_or_default(),
            observed: "not evaluated: the game-day aborted".into(),
            ..Outcome::new(x, i)
        })
        .collect()
}

/// The observed verdict: pass when the game-day ran to its end, every expectation was met
/// and no safety invariant was violated.
pub fn verdict(aborted: bool, outcomes: &[Outcome], violations: usize) -> Verdict {
    if !aborted && outcomes.iter().all(|o| o.met) && violations == 0 {
        Verdict::Pass
    } else {
        Verdict::Fail
    }
}

fn region_ix(svc: &Service, region: &str) -> Option<usize> {
    svc.regions.iter().position(|r| r.name == region)
}

fn service<'b>(bundle: &'b Bundle, name: Option<&str>) -> Option<(usize, &'b Service)> {
    let ix = bundle.service_index(name?)?;
    Some((ix, &bundle.services[ix]))
}

/// The expectation's service and region (indexes), or the outcome saying which is missing.
fn service_and_region<'b>(
    game: &Game<'b>,
    x: &Expectation,
    out: Outcome,
) -> Result<(usize, &'b Service, usize), Outcome> {
    let Some((s, svc)) = service(game.bundle, x.service.as_deref()) else {
        return Err(out.missing("service"));
    };
    let Some(r) = x.region.as_deref().and_then(|r| region_ix(svc, r)) else {
        return Err(out.missing("region"));
    };
    Ok((s, svc, r))
}

/// An `after`/`until` reference resolved to seconds, with a label for people; without one,
/// the first fault (or `default_t` when there is none).
fn label_of(game: &Game<'_>, reference: Option<&str>, default_t: u64) -> (u64, String) {
    let s = game.scenario;
    match reference {
        Some(r) => {
            let t = resolve_ref(s, r).unwrap_or(default_t);
            if s.timeline.iter().any(|e| e.id.as_deref() == Some(r)) {
                (t, format!("`{r}` at {}", clock(t)))
            } else {
                (t, clock(t))
            }
        }
        None => match s.timeline.first() {
            Some(e) => (
                e.at.secs(),
                format!("the first fault at {}", clock(e.at.secs())),
            ),
            None => (default_t, clock(default_t)),
        },
    }
}

/// An `after` reference, defaulting to the start of the game-day.
fn after_or_start(game: &Game<'_>, x: &Expectation) -> (u64, String) {
    match &x.after {
        Some(a) => label_of(game, Some(a), 0),
        None => (0, "the start".to_string()),
    }
}

/// The cells an expectation selects (`cells`, default all, minus `except_cells`).
fn cells_of(svc: &Service, x: &Expectation) -> Vec<usize> {
    (0..svc.cells.len())
        .filter(|c| x.cells.is_empty() || x.cells.contains(&svc.cells[*c].id))
        .filter(|c| !x.except_cells.contains(&svc.cells[*c].id))
        .collect()
}
