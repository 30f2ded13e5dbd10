//! What a game-day plays on: the [`Target`] trait, and the faults it is handed.
//!
//! # Design
//! A target owns time and the world. The driver ([`super::driver`]) asks it for the next
//! instant to act at, injects and lifts the timeline's faults there, then lets the target
//! live the rest of that instant: the simulated world runs its second (rollouts, flapping
//! alarms, settling, due controller passes) and meters answered traffic; a real-time target
//! republishes what must be republished and samples Route 53 and its controllers. At the
//! end the driver reads the decisions the target saw. The sim target never suspends (it is
//! driven through [`crate::block_on`]); real-time targets sleep on tokio.

use super::event::Log;
use super::judge::SteadyResult;
use crate::gameday::SeenDecision;
use crate::scenario::{SteadyCheck, TimelineEntry};
use regionctl_core::policy::Bundle;
use std::collections::{BTreeMap, BTreeSet};

/// A fault of the timeline: its id (`what#n` when the entry names none), its entry, and
/// when it was injected.
#[derive(Debug, Clone)]
pub struct Fault<'a> {
    /// The fault's id (what `recover` and rollback name).
    pub id: String,
    /// Its timeline entry.
    pub entry: &'a TimelineEntry,
    /// Seconds from the start at which it was injected.
    pub t: u64,
}

/// A world a game-day can be played on.
// Futures are awaited on the thread that owns the target (the sim through `block_on`, a
// real-time target inside its runtime's `block_on`): no `Send` bound is needed.
#[allow(async_fn_in_trait)]
pub trait Target {
    /// Why the game-day could not go on (an AWS call failed…).
    type Error;

    /// Moves time to the next instant the driver acts at and returns it (seconds from the
    /// start), or `None` once `end` has passed. The sim steps one virtual second; a
    /// real-time target sleeps.
    async fn next_instant(&mut self, end: u64) -> Result<Option<u64>, Self::Error>;

    /// The steady-state checks at this instant, or `None` where the target cannot
    /// evaluate them (the default: real-time targets see no ground truth to check).
    fn steady_state(&self, _checks: &[SteadyCheck]) -> Option<Vec<SteadyResult>> {
        None
    }

    /// Injects a fault; returns what it did, for the timeline.
    async fn inject(&mut self, fault: &Fault<'_>, log: &mut Log<'_>)
    -> Result<String, Self::Error>;

    /// Lifts faults in force, in this order, at `t`; returns anything worth adding to the
    /// timeline's `recover` line.
    async fn lift(
        &mut self,
        faults: &[Fault<'_>],
        t: u64,
        log: &mut Log<'_>,
    ) -> Result<Option<String>, Self::Error>;

    /// Lives the rest of instant `t`, after its faults: everything the world does by itself.
    async fn advance(&mut self, t: u64, log: &mut Log<'_>) -> Result<(), Self::Error>;

    /// Samples the world at `t`: traffic, controllers' stand-downs.
    async fn sample(&mut self, t: u64, log: &mut Log<'_>) -> Result<(), Self::Error>;

    /// Restarts every crashed controller (rollback `restart-controllers`); who.
    fn restart_crashed(&mut self) -> Vec<String> {
        Vec::new()
    }

    /// Every decision recorded, by id.
    async fn decisions(&mut self) -> Result<BTreeMap<String, SeenDecision>, Self::Error>;
}

/// One alarm an `alarm` fault targets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AlarmTarget {
    /// The alarm's region.
    pub region: String,
    /// The service that binds it.
    pub service: String,
    /// The alarm's name.
    pub alarm: String,
}

/// The alarms an `alarm` timeline entry targets: in `where.region`, of `where.services`
/// (default all), of `where.cells` (default region-wide and every cell's), with a role in
/// `where.roles` (default `failure` and `critical`).
/// Every target that forces alarms uses this, so sim and real runs fail the same alarms.
pub fn alarm_targets(bundle: &Bundle, e: &TimelineEntry) -> Vec<AlarmTarget> {
    let mut out = BTreeSet::new();
    let Some(region) = &e.place.region else {
        return Vec::new();
    };
    for svc in &bundle.services {
        if !e.place.services.is_empty() && !e.place.services.contains(&svc.name) {
            continue;
        }
        for b in &svc.health.alarms {
            let role_ok = if e.place.roles.is_empty() {
                b.role.is_failure()
            } else {
                e.place.roles.contains(&b.role)
            };
            if !role_ok || &svc.regions[b.r].name != region {
                continue;
            }
            let cell_ok = if e.place.cells.is_empty() {
                true
            } else {
                b.cell
                    .is_some_and(|c| e.place.cells.contains(&svc.cells[c].id))
            };
            if cell_ok {
                out.insert(AlarmTarget {
                    region: region.clone(),
                    service: svc.name.clone(),
                    alarm: b.name.clone(),
                });
            }
        }
    }
    out.into_iter().collect()
}
