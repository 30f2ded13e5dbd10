//! ECS services in the simulated world: desired counts set at once, tasks that start after
//! the capacity delay (with jitter), and tasks that never start under a capacity shortfall.

use super::{EffectKind, World};
use regionctl_core::time::Timestamp;

/// An ECS service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsService {
    /// Desired count.
    pub desired: u32,
    /// Running tasks.
    pub running: u32,
    /// Tasks starting: (when they run, how many).
    pub arrivals: Vec<(Timestamp, u32)>,
    /// Tasks asked for that will never start (capacity shortfall).
    pub stuck: u32,
}

impl EcsService {
    /// Pending tasks (starting or stuck).
    pub fn pending(&self) -> u32 {
        self.arrivals.iter().map(|(_, n)| n).sum::<u32>() + self.stuck
    }
}

impl World {
    /// Seeds an ECS service with `count` tasks desired and running.
    pub fn seed_ecs(&mut self, region: &str, cluster: &str, service: &str, count: u32) {
        self.ecs.insert(
            (region.to_string(), cluster.to_string(), service.to_string()),
            EcsService {
                desired: count,
                running: count,
                arrivals: Vec::new(),
                stuck: 0,
            },
        );
    }

    /// Starts the tasks whose start time has come (once per virtual second).
    pub(super) fn start_arrived_tasks(&mut self) {
        let now = self.now;
        for svc in self.ecs.values_mut() {
            let mut arrived = 0;
            svc.arrivals.retain(|(t, n)| {
                if *t <= now {
                    arrived += n;
                    false
                } else {
                    true
                }
            });
            svc.running = (svc.running + arrived).min(svc.desired);
        }
    }

    /// Sets an ECS desired count from `by`; new tasks start after the capacity delay (or
    /// only partly, under a capacity shortfall).
    pub(super) fn scale(&mut self, by: &str, key: &(String, String, String), to: u32) -> bool {
        let fraction = self
            .faults
            .capacity_fraction
            .get(&key.0)
            .copied()
            .unwrap_or(1.0);
        let delay =
            self.knobs.ecs_capacity_delay_secs + self.jitter(self.knobs.ecs_capacity_jitter_secs);
        let now = self.now;
        let Some(svc) = self.ecs.get_mut(key) else {
            return false;
        };
        let from = svc.desired;
        svc.desired = to;
        if to <= svc.running {
            svc.running = to;
            svc.arrivals.clear();
            svc.stuck = 0;
        } else {
            let have = svc.running + svc.pending();
            if to > have {
                let add = to - have;
                let starting = ((f64::from(add) * fraction).floor() as u32).min(add);
                if starting > 0 {
                    svc.arrivals.push((now.plus_secs(delay), starting));
                }
                svc.stuck += add - starting;
            }
        }
        if from != to {
            self.record_effect(
                by,
                EffectKind::Scale {
                    region: key.0.clone(),
                    cluster: key.1.clone(),
                    service: key.2.clone(),
                    from,
                    to,
                },
            );
        }
        true
    }
}
