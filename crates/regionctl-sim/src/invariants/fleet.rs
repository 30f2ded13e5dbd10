//! The fleet as the invariants judge it: which controllers count toward a quorum, which
//! could act, how large a controller's connected group is, and since when each has been
//! cut off from a majority (for `quorum-only`).

use super::Checker;
use crate::scenario::WrittenItem;
use crate::world::World;

/// True if the journal refuses `kind` from the controller in `region` (`journal-write-fail`).
fn writes_fail(world: &World, region: &str, kind: WrittenItem) -> bool {
    world
        .faults
        .journal_write_fail
        .get(region)
        .is_some_and(|kinds| kinds.contains(&kind))
}

impl Checker {
    /// Controllers that could act now: quorum members (below) whose clock is within half
    /// the heartbeat TTL.
    fn effective(&self, world: &World, alive: &[bool]) -> Vec<bool> {
        let ttl_ms = i64::try_from(self.heartbeat_ttl * 1000).unwrap_or(i64::MAX) / 2;
        let mut eff = self.members(world, alive);
        for (i, c) in self.controllers.iter().enumerate() {
            eff[i] &= world.skew_ms.get(c).is_none_or(|s| s.abs() < ttl_ms);
        }
        eff
    }

    /// Controllers that count toward a quorum: alive, journal up, APIs reachable, heartbeat
    /// writes accepted (they write heartbeats). A skewed clock does not remove a controller from the fleet: it
    /// still runs and still holds its policy revision (simulate seed 2843).
    pub(super) fn members(&self, world: &World, alive: &[bool]) -> Vec<bool> {
        self.controllers
            .iter()
            .enumerate()
            .map(|(i, c)| {
                alive.get(i).copied().unwrap_or(false)
                    && !world.faults.journal_down.contains(c)
                    && !world.faults.unreachable.contains(c)
                    && !writes_fail(world, c, WrittenItem::Heartbeat)
            })
            .collect()
    }

    /// Size of `i`'s connected group among `effective` controllers (itself included): those
    /// it can reach that run the same policy revision (quorum counts only the same hash).
    pub(super) fn group(&self, world: &World, effective: &[bool], i: usize) -> usize {
        let me = &self.controllers[i];
        let mine = self.revision.get(i).copied().unwrap_or(0);
        self.controllers
            .iter()
            .enumerate()
            .filter(|(j, c)| {
                *j == i
                    || (effective[*j]
                        && !world.faults.partitioned(me, c)
                        && self.revision.get(*j).copied().unwrap_or(0) == mine)
            })
            .count()
    }

    /// The smallest group that is a majority of the fleet.
    pub(super) fn majority(&self) -> usize {
        self.controllers.len() / 2 + 1
    }

    /// Why no controller majority can move traffic now, if none can.
    pub(super) fn fleet_blocked(&self, world: &World, alive: &[bool]) -> bool {
        if world.faults.route53_down {
            return true;
        }
        let eff = self.effective(world, alive);
        let majority = self.majority();
        // A controller whose own region is failing stands down.
        let own_ok = |i: usize| {
            let region = &self.controllers[i];
            !world.faults.endpoints.iter().any(|e| {
                &e.region == region && e.from <= world.now() && e.to.is_none_or(|t| world.now() < t)
            })
        };
        // A controller whose intents cannot be written applies nothing (ADR 0012 §1).
        let records = |i: usize| !writes_fail(world, &self.controllers[i], WrittenItem::Intent);
        !(0..self.controllers.len())
            .any(|i| eff[i] && own_ok(i) && records(i) && self.group(world, &eff, i) >= majority)
    }

    /// Minority tracking (for quorum-only): starts the clock of every controller cut off
    /// from a majority at `t`, stops the others'.
    pub(super) fn track_minority(&mut self, world: &World, alive: &[bool], t: u64) {
        let eff = self.members(world, alive);
        let majority = self.majority();
        for (at, member) in self.member_at.iter_mut().zip(&eff) {
            if *member {
                *at = Some(t);
            }
        }
        for i in 0..self.controllers.len() {
            let cut_off = self.group(world, &eff, i) < majority;
            let c = self.controllers[i].clone();
            if cut_off {
                self.minority_since.entry(c).or_insert(t);
            } else {
                self.minority_since.remove(&c);
            }
        }
    }
}
