//! Ground truth: what the world is really suffering, which no controller sees directly.
//! Per service, which (cell, region)s are failing and whether a controller could learn it;
//! and whether any fault at all is in force (the convergence clock starts when none is).

use super::{Checker, Second};
use crate::world::World;
use regionctl_core::grid::Grid;
use regionctl_core::health::AlarmState;

/// One service's ground truth at one second (see [`Checker::truth`]).
pub(super) struct Truth {
    /// Per (cell, local region).
    pub(super) failing: Grid<bool>,
    /// Per (cell, local region).
    pub(super) evident: Grid<bool>,
    /// Per local region.
    pub(super) forced: Vec<bool>,
}

/// Whether any fault is in force this second: a world fault, a dead controller, a fleet on
/// mixed policy revisions, a failing endpoint or a forced alarm. A rogue writer is not one
/// (see the module docs of `forged_items`).
pub(super) fn fault_in_force(sec: &Second<'_>, alarms_forced: bool) -> bool {
    world_fault_in_force(sec.world, alarms_forced)
        || sec.alive.iter().any(|a| !a)
        || sec.revision.windows(2).any(|w| w[0] != w[1])
}

/// The part of [`fault_in_force`] the world alone says: faults injected into it, skewed
/// clocks, failing endpoints, forced alarms.
pub(super) fn world_fault_in_force(world: &World, alarms_forced: bool) -> bool {
    let now = world.now();
    !world.faults.unreachable.is_empty()
        || !world.faults.partitions.is_empty()
        || !world.faults.journal_down.is_empty()
        || world.faults.route53_down
        || !world.skew_ms.is_empty()
        || !world.faults.capacity_fraction.is_empty()
        || !world.faults.journal_write_fail.is_empty()
        || world
            .faults
            .endpoints
            .iter()
            .any(|e| e.from <= now && e.to.is_none_or(|x| now < x))
        || alarms_forced
}

impl Checker {
    /// Ground truth for service `s` now. Per (cell, local region): `failing` (its endpoints
    /// fail, or a failure alarm covering it is forced to ALARM) and `evident` (a controller
    /// could learn it: endpoint failures are probed from every region, an alarm only where
    /// its region's CloudWatch answers). Per local region: whether any of its alarms is
    /// forced (its health is in question).
    pub(super) fn truth(&self, world: &World, s: usize, alarms_forced: bool) -> Truth {
        let svc = &self.bundle.services[s];
        let (nr, nc) = (svc.regions.len(), svc.cells.len());
        let now = world.now();
        let endpoints_failing: Vec<bool> = svc
            .regions
            .iter()
            .map(|sr| world.faults.endpoint_failing(&sr.name, &svc.name, now))
            .collect();
        let mut failing = Grid::from_fn(nc, nr, |_, r| endpoints_failing[r]);
        let mut evident = failing.clone();
        let mut forced = vec![false; nr];
        if alarms_forced {
            for (b, key) in svc.health.alarms.iter().zip(&self.alarm_keys[s]) {
                let Some(alarm) = world.alarm(&key.0, &key.1) else {
                    continue;
                };
                if alarm.forced.is_some() {
                    forced[b.r] = true;
                }
                if b.role.is_failure() && alarm.forced == Some(AlarmState::Alarm) {
                    // An alarm in a region whose APIs nobody can reach is no evidence.
                    let readable = !world.faults.unreachable.contains(&key.0);
                    let cells = b.cell.map_or(0..nc, |c| c..c + 1);
                    for c in cells {
                        failing[(c, b.r)] = true;
                        evident[(c, b.r)] |= readable;
                    }
                }
            }
        }
        Truth {
            failing,
            evident,
            forced,
        }
    }
}
