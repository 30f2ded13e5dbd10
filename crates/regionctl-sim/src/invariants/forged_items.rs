//! `forged-items-inert`: a malformed or forged journal item never makes a healthy fleet
//! stand down or act (ADR 0012 §3: "a journal no single writer can poison"; issue 17,
//! item 3).
//!
//! # Definition
//! The fleet is **healthy and steady** at a pass when a `rogue-writer` is in force and
//! nothing else is wrong: no other fault has been in force (the `fault_in_force` of
//! `truth`: world faults, dead controllers, mixed revisions, failing endpoints, forced
//! alarms, skew, journal write failures) for [`Checker::rogue_grace`] — the longest
//! `recover_after_secs`, the heartbeat TTL, two ticks and the margin, after which a correct
//! fleet has stopped reacting to anything that was wrong before. A rogue writer alone is
//! not a fault in that sense: its items are exactly what must change nothing. Then:
//! - **stand down**: no pass of a healthy fleet stands down (any reason): a forged or
//!   malformed item must not cost a controller its quorum, its heartbeat or its read;
//! - **act**: when, besides, every cell is written at its baseline shares, no pass
//!   evacuates (lowers a region below its baseline share, `moves`): nothing real calls for
//!   it, so a move is the forgery's.
//!
//! Both are attributed to the forgery by elimination: every other cause is excluded by the
//! healthy-and-steady condition. What this does not see: a forgery that delays a move a
//! real fault calls for (a future last move blocking failback) is judged by `converges`,
//! which does not count a rogue writer as a fault either.

use super::moves::Direction;
use super::{Checker, FORGED_ITEMS_INERT, MARGIN_SECS};
use crate::world::{Effect, World};
use regionctl_controller::reconcile::PassReport;

impl Checker {
    /// How long after the last other fault a fleet with a rogue writer counts as healthy.
    pub(super) fn rogue_grace(&self) -> u64 {
        let recover = self
            .bundle
            .services
            .iter()
            .map(|s| s.health.recover_after_secs)
            .max()
            .unwrap_or(0);
        recover + self.heartbeat_ttl + 2 * self.tick + MARGIN_SECS
    }

    /// True if a rogue writer is in force and nothing else has been for the grace, nor is
    /// now. (`last_fault` is noted after the second's passes: a fault starting this second
    /// is seen here from the world, or a pass it stops would be blamed on the forgery;
    /// found by `regionctl simulate`, seeds 2831 and 3839: an `apis-unreachable` starting
    /// at the second of a pass.)
    fn healthy_with_rogue(&self, t: u64, world: &World) -> bool {
        let alarms_forced = world.all_alarms().any(|a| a.forced.is_some());
        // This second's fleet (`before_passes`): a controller down, or a rollout under way
        // (seed 4602: a rollout reaching the first controller in the second of its pass).
        let fleet_fault =
            self.alive.iter().any(|a| !a) || self.revision.windows(2).any(|w| w[0] != w[1]);
        !world.faults.rogues.is_empty()
            && !fleet_fault
            && !super::truth::world_fault_in_force(world, alarms_forced)
            && self
                .last_fault
                .is_none_or(|f| t.saturating_sub(f) > self.rogue_grace())
    }

    /// A pass by `region` at `t`: no stand-down, and no evacuation from the steady state,
    /// while only a rogue writer is in force.
    pub(super) fn check_forged_items_inert(
        &mut self,
        t: u64,
        region: &str,
        report: &PassReport,
        effects: &[Effect],
        world: &World,
    ) {
        if !self.healthy_with_rogue(t, world) {
            return;
        }
        self.check(FORGED_ITEMS_INERT);
        let forged: Vec<&str> = world.faults.rogues.values().map(|f| f.as_str()).collect();
        let forged = forged.join(", ");
        if let Some(why) = &report.stand_down {
            self.violate(
                FORGED_ITEMS_INERT,
                format!("{region}/stand-down"),
                t,
                format!(
                    "controller {region} of a healthy fleet stood down ({why}) while a rogue writer forged {forged}"
                ),
            );
        }
        if !self.steady_before_passes {
            return;
        }
        for m in self.moves(effects, world) {
            if m.direction != Direction::Away {
                continue;
            }
            let svc = &self.bundle.services[m.s];
            let (name, cell, r) = (
                svc.name.clone(),
                svc.cells[m.c].id.clone(),
                svc.regions[m.r].name.clone(),
            );
            self.violate(
                FORGED_ITEMS_INERT,
                format!("{name}/{cell}/{r}/moved"),
                t,
                format!(
                    "controller {region} of a healthy, steady fleet moved {name} cell {cell} away from {r} while a rogue writer forged {forged}"
                ),
            );
        }
    }
}
