//! `quorum-only`: no controller applies while in a minority of the fleet: cut off from a
//! majority, or on another policy revision than a majority. Grace: as long as heartbeats
//! stay fresh (TTL, a tick, replication lag, and how far a peer's clock runs ahead).
//!
//! The grace is a peer's: a controller that can reach a peer now may count it while the
//! heartbeat the peer last wrote is fresh, however long the controller itself was cut off
//! before (seed 7233: eu-central-1, isolated for 15 minutes, healed at 29:07 and acted at
//! 29:10 on us-east-1's heartbeat of 28:54, its last before its journal writes failed:
//! fresh, so a majority as far as anyone could know for another half minute).

use super::{Checker, QUORUM_ONLY};
use crate::world::World;

impl Checker {
    /// A pass by `region` at `t` that changed `changed` things.
    pub(super) fn check_quorum_only(
        &mut self,
        t: u64,
        region: &str,
        changed: usize,
        world: &World,
    ) {
        // Quorum: a controller cut off from a majority for longer than heartbeats stay
        // fresh must not change anything.
        self.check(QUORUM_ONLY);
        let fresh_for = self.heartbeats_fresh_for(world);
        // Cut off now, too: a fault that healed this second (before the pass) ends it.
        let majority = self.majority();
        let members: Vec<bool> = self
            .member_at
            .iter()
            .map(|at| at.is_some_and(|m| t.saturating_sub(m) <= fresh_for))
            .collect();
        let cut_off_now = self
            .controllers
            .iter()
            .position(|c| c == region)
            .is_some_and(|i| self.group(world, &members, i) < majority);
        if cut_off_now
            && let Some(since) = self.minority_since.get(region).copied()
            && t.saturating_sub(since) > fresh_for
        {
            self.violate(
                QUORUM_ONLY,
                format!("{region}@{t}"),
                t,
                format!(
                    "controller {region} changed {changed} thing(s) while in a minority of the fleet (cut off, or on another policy revision) for {}s (heartbeats stay fresh {fresh_for}s)",
                    t - since
                ),
            );
        }
    }

    /// How long a stopped peer's last heartbeat stays fresh to the others, seconds.
    fn heartbeats_fresh_for(&self, world: &World) -> u64 {
        // A peer whose clock runs ahead stamps its heartbeats in the future: they stay
        // fresh that much longer after it stops.
        let ahead = world
            .skew_ms
            .values()
            .copied()
            .max()
            .map_or(0, |ms| u64::try_from(ms.max(0)).unwrap_or(0).div_ceil(1000));
        self.heartbeat_ttl + self.tick + world.knobs.journal_replication_lag_ms / 1000 + ahead + 2
    }
}
