//! What a game-day saw of each region's compute: the ECS desired count and the ALB
//! listener's Lambda share, over time, for the `ecs-desired` and `lambda-share`
//! expectations (issue 19: a runbook that says "Lambda takes the burst while Fargate
//! scales" can be rehearsed and judged, not only Route 53 traffic).
//!
//! # Design
//! A value is a step function: the value from each change on ([`Steps`]). The simulated
//! world gives it exactly (the world's values at the start, then its effect log); a
//! real-time target samples the same values through the controller's own adapters every
//! few seconds and keeps the changes. A series that was never observed is absent, and the
//! judge says so rather than guessing.

use super::t_of;
use crate::world::{Effect, EffectKind, World};
use regionctl_core::policy::Bundle;
use std::collections::BTreeMap;

/// Which compute value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Quantity {
    /// The region's ECS service's desired count.
    EcsDesired,
    /// The Lambda target group's percent of the region's ALB listener weights.
    LambdaShare,
}

/// A value over time: each change as (seconds from the start, the value from then on), in
/// time order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Steps(Vec<(u64, f64)>);

impl Steps {
    /// Records `value` at `t`, when it differs from the value in force.
    pub fn record(&mut self, t: u64, value: f64) {
        if self.0.last().is_none_or(|(_, v)| *v != value) {
            self.0.push((t, value));
        }
    }

    /// The value in force at `t` (`None` before the first observation).
    pub fn value_at(&self, t: u64) -> Option<f64> {
        let i = self.0.partition_point(|(at, _)| *at <= t);
        i.checked_sub(1).map(|i| self.0[i].1)
    }

    /// The values in force from `from` to `to`: the one at `from` (stamped `from`), then
    /// each change up to `to`; nothing when `to` is before `from`.
    pub fn window(&self, from: u64, to: u64) -> impl Iterator<Item = (u64, f64)> + '_ {
        let first = self
            .value_at(from)
            .filter(|_| from <= to)
            .map(|v| (from, v));
        let later = self
            .0
            .iter()
            .copied()
            .filter(move |(t, _)| *t > from && *t <= to);
        first.into_iter().chain(later)
    }
}

/// Per (quantity, service index, local region index): the value over time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ComputeSeries {
    series: BTreeMap<(Quantity, usize, usize), Steps>,
}

impl ComputeSeries {
    /// Records one observation.
    pub fn record(&mut self, key: (Quantity, usize, usize), t: u64, value: f64) {
        self.series.entry(key).or_default().record(t, value);
    }

    /// The series of `key`, if it was ever observed.
    pub fn get(&self, key: (Quantity, usize, usize)) -> Option<&Steps> {
        self.series.get(&key)
    }

    /// The simulated world's values now, as the values at second 0.
    pub fn from_world(bundle: &Bundle, world: &World) -> Self {
        let mut out = ComputeSeries::default();
        for (s, svc) in bundle.services.iter().enumerate() {
            for (r, region) in svc.regions.iter().enumerate() {
                let region = &region.name;
                if let Some(ecs) = &svc.ecs {
                    let key = (
                        region.clone(),
                        ecs.clusters[r].clone(),
                        ecs.services[r].clone(),
                    );
                    if let Some(e) = world.ecs.get(&key) {
                        out.record((Quantity::EcsDesired, s, r), 0, f64::from(e.desired));
                    }
                }
                if let Some(alb) = &svc.alb
                    && let Some((_, _, split)) =
                        world.albs.get(&(region.clone(), alb.listeners[r].clone()))
                {
                    let share = lambda_share(split.fargate, split.lambda);
                    out.record((Quantity::LambdaShare, s, r), 0, share);
                }
            }
        }
        out
    }

    /// `self` (the values at the start) moved on by the simulated world's `effects`.
    pub fn replay(mut self, bundle: &Bundle, effects: &[Effect]) -> Self {
        for e in effects {
            let t = t_of(e.at);
            for (key, value) in effect_values(bundle, &e.what) {
                self.record(key, t, value);
            }
        }
        self
    }
}

/// The Lambda share of a listener split, percent (0 when both weights are 0: ELBv2 then
/// sends nothing anywhere, and Lambda takes none of it).
pub fn lambda_share(fargate: u32, lambda: u32) -> f64 {
    let total = f64::from(fargate) + f64::from(lambda);
    if total == 0.0 {
        0.0
    } else {
        f64::from(lambda) * 100.0 / total
    }
}

/// The compute values effect `what` sets, by the services whose policies name its target.
fn effect_values(bundle: &Bundle, what: &EffectKind) -> Vec<((Quantity, usize, usize), f64)> {
    let mut out = Vec::new();
    for (s, svc) in bundle.services.iter().enumerate() {
        for r in 0..svc.regions.len() {
            match what {
                EffectKind::Scale {
                    region,
                    cluster,
                    service,
                    to,
                    ..
                } if svc.ecs.as_ref().is_some_and(|ecs| {
                    region == &svc.regions[r].name
                        && cluster == &ecs.clusters[r]
                        && service == &ecs.services[r]
                }) =>
                {
                    out.push(((Quantity::EcsDesired, s, r), f64::from(*to)));
                }
                EffectKind::Alb {
                    region,
                    listener,
                    fargate,
                    lambda,
                } if svc.alb.as_ref().is_some_and(|alb| {
                    region == &svc.regions[r].name && listener == &alb.listeners[r]
                }) =>
                {
                    out.push((
                        (Quantity::LambdaShare, s, r),
                        lambda_share(*fargate, *lambda),
                    ));
                }
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_function_keeps_changes_only_and_answers_by_time() {
        let mut s = Steps::default();
        s.record(0, 20.0);
        s.record(5, 20.0);
        s.record(60, 40.0);
        s.record(300, 20.0);
        assert_eq!(s.0.len(), 3, "{s:?}");
        assert_eq!(s.value_at(0), Some(20.0));
        assert_eq!(s.value_at(59), Some(20.0));
        assert_eq!(s.value_at(60), Some(40.0));
        assert_eq!(
            s.window(30, 300).collect::<Vec<_>>(),
            [(30, 20.0), (60, 40.0), (300, 20.0)]
        );
        assert_eq!(Steps::default().value_at(10), None);
    }

    #[test]
    fn the_lambda_share_is_a_percent_of_both_weights() {
        assert_eq!(lambda_share(100, 0), 0.0);
        assert_eq!(lambda_share(50, 50), 50.0);
        assert_eq!(lambda_share(0, 0), 0.0);
        assert!((lambda_share(68, 32) - 32.0).abs() < 1e-9);
    }
}
