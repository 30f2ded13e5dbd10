//! The simulated target: runs a scenario on the simulated world, through the game-day
//! engine ([`crate::gameday`]).
//!
//! [`Sim`] implements [`Target`](crate::gameday::Target) over one [`World`] on a virtual
//! clock. Each simulated second: the driver checks the steady state (just before the first
//! fault) and injects and lifts the timeline's due faults; then the sim delivers rollouts,
//! flaps alarms, lets the world settle (replication, capacity arrivals, alarm states), runs
//! the due controllers (one real [`reconcile_once`](regionctl_controller::reconcile::reconcile_once)
//! pass each, through their [`ControllerView`](crate::world::ControllerView)), and meters
//! the answered traffic share of every (service, cell, region).
//!
//! # Answered traffic
//! Authoritative answers follow Route 53's rules
//! ([`answered_weights`](regionctl_core::traffic::answered_weights)) over the weights that
//! are INSYNC, with health-check status when the scenario attaches health checks. Resolvers
//! cache an answer for the record's TTL, refreshing at uniformly spread times, so the share
//! users get at `t` is the mean of the authoritative shares over `(t − TTL, t]`.
//!
//! # Layout
//! - `sim`: [`Sim`], one method per part of a simulated second;
//! - `setup`: the world seeded from the policies' steady state;
//! - `faults`: injecting and lifting each fault kind;
//! - `fleet`: the controllers and what their passes did;
//! - `rogue`: the items a rogue writer forges;
//! - `meter`: answered traffic, and the alarms of regions that serve nothing;
//! - `effects`: a pass's side effects summarised for the timeline.

mod effects;
mod faults;
mod fleet;
mod meter;
mod operator;
mod rogue;
mod setup;
mod sim;

pub use crate::gameday::alarm_targets;
pub use crate::gameday::{AlarmTarget, Event, EventKind, START, SeenDecision, ServiceSeries};
pub use sim::Sim;

use crate::gameday::{Evidence, Game, Log, SteadyResult, Target, driver};
use crate::scenario::{self, Loaded, ScenarioError};
use crate::world::{Knobs, World};
use regionctl_controller::policy_files;
use regionctl_core::policy::Bundle;
use regionctl_core::time::Timestamp;
use std::convert::Infallible;
use std::path::Path;

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
}

/// Everything a finished run knows.
#[derive(Debug)]
pub struct Run {
    /// The scenario.
    pub loaded: Loaded,
    /// The bundle.
    pub bundle: Bundle,
    /// Seed used.
    pub seed: u64,
    /// Controllers.
    pub controllers: Vec<String>,
    /// Tick, seconds.
    pub tick: u64,
    /// Knobs.
    pub knobs: Knobs,
    /// Seconds simulated (less than the duration after an abort).
    pub ran_secs: u64,
    /// Why the run aborted, if it did.
    pub aborted: Option<String>,
    /// Steady-state results.
    pub steady: Vec<SteadyResult>,
    /// The timeline as it happened.
    pub events: Vec<Event>,
    /// What the judge reads: answered traffic, decisions, stand-downs, effects.
    pub evidence: Evidence,
    /// Controller passes run.
    pub passes: u64,
    /// The world at the end.
    pub world: World,
    /// What the safety invariants found ([`crate::invariants`]).
    pub invariants: crate::invariants::Summary,
}

impl Run {
    /// Seconds → timestamp.
    pub fn at(&self, t: u64) -> Timestamp {
        crate::gameday::at(t)
    }

    /// Timestamp → seconds from the start.
    pub fn t_of(&self, at: Timestamp) -> u64 {
        crate::gameday::t_of(at)
    }

    /// The run as the judge sees it.
    pub fn game(&self) -> Game<'_> {
        Game {
            scenario: &self.loaded.scenario,
            bundle: &self.bundle,
            end: self.ran_secs,
            evidence: &self.evidence,
        }
    }
}

/// Loads a scenario and its policies and checks them; every problem found.
pub fn prepare(path: &Path) -> Result<(Loaded, Bundle, Vec<String>), Vec<ScenarioError>> {
    let loaded = scenario::load(path).map_err(|e| vec![e])?;
    let files = policy_files::read(&[&loaded.policies])
        .map_err(|e| vec![loaded.error("world.policies", e.with_cause())])?;
    if files.is_empty() {
        return Err(vec![loaded.error(
            "world.policies",
            format!(
                "no policy files (*.yaml) under {}",
                loaded.policies.display()
            ),
        )]);
    }
    let bundle = regionctl_core::policy::load(&files).map_err(|diags| {
        let text: String = diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.to_string())
            .collect();
        vec![loaded.error(
            "world.policies",
            format!(
                "the policy bundle {} is invalid:\n{text}",
                loaded.policies.display()
            ),
        )]
    })?;
    let controllers = match (&loaded.scenario.world.controllers, &bundle.controller) {
        (Some(c), _) => c.clone(),
        (None, Some(spec)) => spec.regions.clone(),
        (None, None) => {
            return Err(vec![loaded.error(
                "world",
                "no `world.controllers` and the policies have no ControllerConfig".to_string(),
            )]);
        }
    };
    let errors = scenario::validate(&loaded, &bundle, &controllers);
    if errors.is_empty() {
        Ok((loaded, bundle, controllers))
    } else {
        Err(errors)
    }
}

/// Runs a loaded scenario on the simulated world. `progress` sees every timeline event as
/// it happens.
pub fn run(
    loaded: Loaded,
    bundle: Bundle,
    controllers: Vec<String>,
    options: &Options,
    progress: &mut dyn FnMut(&Event),
) -> Run {
    let mut sim = Sim::new(&loaded, bundle, controllers, options);
    let mut log = Log::new(progress);
    let scenario = &loaded.scenario;
    let mut played = never_fails(crate::block_on(driver::play(scenario, &mut sim, &mut log)))
        .unwrap_or_else(driver::Played::suspended);
    let ran_secs = played.ran_secs;
    // Rollback always runs.
    let rolled_back = driver::roll_back(scenario, &mut played, ran_secs, &mut sim, &mut log);
    never_fails(crate::block_on(rolled_back));
    let decisions = never_fails(crate::block_on(Target::decisions(&mut sim))).unwrap_or_default();
    let ended = sim::Ended {
        ran_secs,
        aborted: played.aborted,
        steady: played.steady,
        events: log.into_events(),
        decisions,
    };
    sim.into_run(loaded, ended)
}

/// The value of a simulated future: the sim target cannot fail, and suspends only through
/// a bug in a simulated port (`None`).
fn never_fails<T>(done: Option<Result<T, Infallible>>) -> Option<T> {
    match done? {
        Ok(value) => Some(value),
        Err(never) => match never {},
    }
}
