//! `capacity-before-traffic`: for warm-standby and pilot-light services, a region's desired
//! count is raised to full before its weight rises. Exemption `source-hard-down` (DESIGN.md
//! §7): another region of the service is hard down, so waiting would only keep users on
//! dead endpoints.

use super::{CAPACITY_FIRST, Checker, MARGIN_SECS, WeightWrite};
use crate::world::World;
use regionctl_core::policy::raw::Strategy;
use regionctl_core::time::Timestamp;
use std::collections::BTreeMap;

impl Checker {
    /// Capacity before traffic (warm-standby, pilot-light): weight write `w` at `t`, given
    /// the desired counts this pass set before it (`desired`, by (region, ECS service)).
    pub(super) fn check_capacity_first(
        &mut self,
        t: u64,
        w: &WeightWrite,
        desired: &BTreeMap<(String, String), u32>,
        world: &World,
    ) {
        let (sname, cell, rname) = self.names_of(w);
        let svc = &self.bundle.services[w.s];
        let rising = w.from.is_none_or(|f| w.to > f);
        if !rising || !matches!(svc.strategy, Strategy::WarmStandby | Strategy::PilotLight) {
            return;
        }
        let Some(ecs) = &svc.ecs else {
            return;
        };
        let key = (rname.clone(), ecs.services[w.r].clone());
        let needed = ecs.full_count;
        self.check(CAPACITY_FIRST);
        let now_desired = desired.get(&key).copied().or_else(|| {
            world
                .ecs
                .iter()
                .find(|((reg, _, sv), _)| *reg == key.0 && *sv == key.1)
                .map(|(_, e)| e.desired)
        });
        if let Some(d) = now_desired.filter(|d| *d < needed) {
            if self.source_hard_down(world, w.s, w.r) {
                self.exempt("source-hard-down");
            } else {
                self.violate(
                    CAPACITY_FIRST,
                    format!("{sname}/{cell}/{rname}"),
                    t,
                    format!(
                        "{sname} cell {cell}: weight of {rname} raised to {} while its desired count is {d} (< full {needed})",
                        w.to
                    ),
                );
            }
        }
    }

    /// `capacity-before-traffic`'s exemption (DESIGN.md §7): a region of service `s` other
    /// than the receiver `r` is hard down, so waiting for capacity would only keep users
    /// on dead endpoints. Judged in truth, not in the planner's view; a source that
    /// recovered within the time a controller takes to see it still counts.
    fn source_hard_down(&self, world: &World, s: usize, r: usize) -> bool {
        let svc = &self.bundle.services[s];
        let now = world.now();
        let seen_within = svc.health.recover_after_secs
            + svc.health.fail_after_secs
            + 3 * self.tick
            + MARGIN_SECS;
        let since =
            Timestamp(now.millis() - i64::try_from(seen_within * 1000).unwrap_or(i64::MAX / 2));
        (0..svc.regions.len()).any(|x| {
            x != r
                && world
                    .faults
                    .endpoint_failed_between(&svc.regions[x].name, &svc.name, since, now)
        })
    }
}
