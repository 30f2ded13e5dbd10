//! Stage 2, capacity: receivers are pre-scaled to carry their new share (never scaled down
//! during an incident); warm-standby and pilot-light wait for running capacity before
//! traffic moves, bounded by the degraded hold, unless a source is hard down, when Lambda
//! covers the gap where there is one. And stage 8: once the incident is over, capacity
//! returns to steady state.

use super::shares::{Shares, pct};
use super::weights::Weights;
use super::{Context, LocalStep, SHARE_EPSILON};
use crate::grid::Grid;
use crate::health::Verdict;
use crate::live::steady_desired;
use crate::plan::{Action, Alert, AlertKind, Exemption, Plane, Reason};
use crate::policy::Ecs;
use crate::policy::raw::Strategy;

/// The capacity part of a plan.
pub(super) struct Capacity {
    /// Pre-scale steps, then capacity waits, in plan order (they start the step list).
    pub steps: Vec<LocalStep>,
    /// Per local region: its pre-scale step, if it has one.
    pub scale_step: Vec<Option<usize>>,
    /// Desired counts once the pre-scales are done.
    pub target_desired: Vec<Option<u32>>,
    /// The capacity waits, ascending.
    pub wait_steps: Vec<usize>,
    /// Regions losing share (the evacuation's sources).
    pub sources: Vec<usize>,
    /// Some source is hard down in some cell.
    pub source_down: bool,
    /// The strategy raises capacity before traffic moves (warm-standby, pilot-light).
    pub capacity_first: bool,
    /// A wait timed out: the fraction of the evacuation the capacity can carry.
    pub partial_fraction: Option<f64>,
    /// Per local region: Lambda covers missing capacity.
    pub covering: Vec<bool>,
    /// Reasons the evacuation carries (Lambda cover, capacity timeouts).
    pub shift_reasons: Vec<Reason>,
    /// Degraded sources held while capacity comes up.
    pub exemptions: Vec<Exemption>,
    /// Shifts before capacity is ready.
    pub alerts: Vec<Alert>,
}

/// Pre-scales the receivers, then decides per receiver whether traffic waits for its
/// capacity, is covered by Lambda, or moves only in part.
pub(super) fn plan_capacity(
    cx: &Context<'_>,
    weights: &Weights,
    shares: &Shares,
    desired: Vec<Option<u32>>,
) -> Capacity {
    let (steps, scale_step, target_desired) = pre_scale(cx, weights, shares, desired);
    let sources: Vec<usize> = (0..cx.nr)
        .filter(|r| shares.target[*r] + SHARE_EPSILON < shares.current[*r])
        .collect();
    let source_down = sources
        .iter()
        .any(|r| (0..cx.nc).any(|c| cx.entry(c, *r).verdict == Verdict::Down));
    let capacity_first = matches!(
        cx.service.strategy,
        Strategy::WarmStandby | Strategy::PilotLight
    );
    let mut capacity = Capacity {
        steps,
        scale_step,
        target_desired,
        wait_steps: Vec::new(),
        sources,
        source_down,
        capacity_first,
        partial_fraction: None,
        covering: vec![false; cx.nr],
        shift_reasons: Vec::new(),
        exemptions: Vec::new(),
        alerts: Vec::new(),
    };
    if let Some(ecs) = &cx.service.ecs {
        for r in 0..cx.nr {
            if shares.target[r] > shares.current[r] + SHARE_EPSILON {
                wait_for(cx, weights, ecs, r, &mut capacity);
            } else if cx.service.alb.is_some() && still_short(cx, ecs, shares, r) {
                capacity.covering[r] = true;
            }
        }
    }
    capacity
}

/// Tasks for `share` of the service, when `reference` is the share `full_count` carries.
fn needed_count(ecs: &Ecs, share: f64, reference: f64) -> u32 {
    let needed = (f64::from(ecs.full_count) * share / reference).ceil();
    if needed.is_finite() && needed > 0.0 {
        needed.min(f64::from(u32::MAX)) as u32
    } else {
        0
    }
}

/// Region `r` already carries more than its baseline share (an earlier pass shifted it
/// there under Lambda's cover) and its running tasks are still short of what that share
/// needs. The pass after the shift sees no share rising; without this it took the cover
/// away eight seconds after giving it, while half the new tasks were still starting, and
/// Fargate alone carried twice its share (game-day `region-loss`, `lambda-covers-euw1`).
fn still_short(cx: &Context<'_>, ecs: &Ecs, shares: &Shares, r: usize) -> bool {
    if shares.current[r] <= shares.baseline[r] + SHARE_EPSILON {
        return false;
    }
    let reference = if shares.baseline[r] > 0.0 {
        shares.baseline[r]
    } else {
        1.0
    };
    cx.running(r) < ecs.ready_threshold(needed_count(ecs, shares.current[r], reference))
}

/// Pre-scale: every receiver of new share (or of any share during an incident) scales to
/// `ceil(full × new share / baseline share)`, never down. Returns the steps, each region's
/// step and the desired counts.
fn pre_scale(
    cx: &Context<'_>,
    weights: &Weights,
    shares: &Shares,
    mut target_desired: Vec<Option<u32>>,
) -> (Vec<LocalStep>, Vec<Option<usize>>, Vec<Option<u32>>) {
    let service = cx.service;
    let (nr, nc) = (cx.nr, cx.nc);
    let mut steps: Vec<LocalStep> = Vec::new();
    let mut scale_step: Vec<Option<usize>> = vec![None; nr];
    let in_incident = weights.target != *shares.baseline_weights
        || (0..nc).any(|c| {
            (0..nr).any(|r| {
                cx.entry(c, r).verdict != Verdict::Healthy && shares.baseline_weights[(c, r)] > 0
            })
        });
    #[cfg(feature = "planted-bugs")]
    let skip_pre_scale = crate::planted::active(crate::planted::Bug::SkipsPreScale)
        && matches!(
            service.strategy,
            Strategy::WarmStandby | Strategy::PilotLight
        );
    #[cfg(not(feature = "planted-bugs"))]
    let skip_pre_scale = false;
    let Some(ecs) = service.ecs.as_ref().filter(|_| !skip_pre_scale) else {
        return (steps, scale_step, target_desired);
    };
    for r in 0..nr {
        let cur_desired = target_desired[r].unwrap_or(0);
        if shares.target[r] > shares.current[r] + SHARE_EPSILON
            || (shares.target[r] > 0.0 && in_incident)
        {
            let reference = if shares.baseline[r] > 0.0 {
                shares.baseline[r]
            } else {
                1.0
            };
            let needed = needed_count(ecs, shares.target[r], reference);
            // Never scale down during an incident.
            let to = cur_desired.max(needed);
            if to > cur_desired {
                let discretionary = !weights.evacuating && weights.failing_back;
                scale_step[r] = Some(steps.len());
                steps.push(LocalStep {
                    action: Action::Scale {
                        r,
                        from: cur_desired,
                        to,
                    },
                    after: Vec::new(),
                    reasons: vec![Reason::PreScale {
                        r,
                        share_from: pct(shares.current[r]),
                        share_to: pct(shares.target[r]),
                    }],
                    plane: Plane::EcsControlPlane,
                    discretionary,
                    takes_effect_secs: None,
                });
                target_desired[r] = Some(to);
            }
        }
    }
    (steps, scale_step, target_desired)
}

/// Receiver `r` gains share: if its running capacity is short, shift at once with Lambda
/// cover (hard-down source, or a strategy that does not put capacity first), wait for the
/// capacity (bounded), or, once the wait is over, shift only what the capacity carries.
fn wait_for(cx: &Context<'_>, weights: &Weights, ecs: &Ecs, r: usize, capacity: &mut Capacity) {
    let service = cx.service;
    let evacuating = weights.evacuating;
    let want = capacity.target_desired[r].unwrap_or(0);
    let needed = ecs.ready_threshold(want);
    let running = cx.running(r);
    if running >= needed {
        return;
    }
    let hard = capacity.source_down || !evacuating;
    if evacuating && (capacity.source_down || !capacity.capacity_first) {
        // Shift at once; Lambda covers the gap where there is one.
        if service.alb.is_some() {
            capacity.covering[r] = true;
            capacity
                .shift_reasons
                .push(Reason::LambdaCover { r, running, needed });
        } else if capacity.capacity_first {
            capacity.alerts.push(Alert {
                kind: AlertKind::ShiftBeforeCapacity,
                service: service.name.clone(),
                message: format!("{} is hard down: shifting to {} before its capacity is ready ({running}/{needed} running)", cx.region_names(&capacity.sources), service.regions[r].name),
            });
        }
        return;
    }
    if hard && !capacity.capacity_first {
        return;
    }
    let since = capacity
        .sources
        .iter()
        .flat_map(|sr| (0..cx.nc).map(move |c| (c, *sr)))
        .filter(|(c, sr)| cx.entry(*c, *sr).verdict.is_unhealthy())
        .map(|(c, sr)| cx.entry(c, sr).since)
        .min()
        .unwrap_or(cx.now);
    let bound = service.safety.max_degraded_hold_secs.min(ecs.max_wait_secs);
    let until = since.plus_secs(bound);
    if !evacuating || cx.now < until {
        let timeout = if evacuating {
            until.secs_since(cx.now)
        } else {
            ecs.max_wait_secs
        };
        let after = capacity.scale_step[r].into_iter().collect();
        capacity.wait_steps.push(capacity.steps.len());
        capacity.steps.push(LocalStep {
            action: Action::WaitForCapacity {
                r,
                running,
                needed,
                timeout_secs: timeout,
            },
            after,
            reasons: vec![Reason::CapacityFirst {
                strategy: service.strategy,
            }],
            plane: Plane::None,
            discretionary: !evacuating,
            takes_effect_secs: None,
        });
        if evacuating {
            for src in &capacity.sources {
                capacity
                    .exemptions
                    .push(Exemption::CapacityWait { r: *src, until });
            }
        }
    } else {
        let k = if needed == 0 {
            1.0
        } else {
            f64::from(running) / f64::from(needed)
        };
        capacity.partial_fraction = Some(capacity.partial_fraction.map_or(k, |p: f64| p.min(k)));
        capacity
            .shift_reasons
            .push(Reason::CapacityTimeout { r, running, needed });
    }
}

/// What data-plane switches (and the evacuation) wait for: only capacity that gates the
/// evacuation (the wait steps, each after its region's scale).
///
/// A pre-scale or a Lambda cover is attempted first but does not hold traffic on a failing
/// region when its call fails: a receiver whose APIs are unreachable must not pin an
/// evacuation (simulate seed 114).
pub(super) fn switch_prerequisites(capacity: &Capacity) -> Vec<usize> {
    let mut after = capacity.wait_steps.clone();
    after.sort_unstable();
    after
}

/// After the incident (the final weights are the baseline and every serving region is
/// healthy) and the cooldown: every region above its steady desired count scales back
/// down, after the weight shifts. Returns the steps and the desired counts.
pub(super) fn steady_state(
    cx: &Context<'_>,
    final_weights: &Grid<u8>,
    shares: &Shares,
    mut target_desired: Vec<Option<u32>>,
    after: &[usize],
) -> (Vec<LocalStep>, Vec<Option<u32>>) {
    let service = cx.service;
    let mut steps = Vec::new();
    if service.ecs.is_none() {
        return (steps, target_desired);
    }
    let over = final_weights == shares.baseline_weights
        && (0..cx.nc).all(|c| {
            (0..cx.nr).all(|r| {
                cx.entry(c, r).verdict == Verdict::Healthy || shares.baseline_weights[(c, r)] == 0
            })
        });
    if !(over && cx.cooldown_passed()) {
        return (steps, target_desired);
    }
    for (r, desired) in target_desired.iter_mut().enumerate() {
        let steady = steady_desired(service, r);
        let cur = desired.unwrap_or(steady);
        if cur > steady {
            steps.push(LocalStep {
                action: Action::Scale {
                    r,
                    from: cur,
                    to: steady,
                },
                after: after.to_vec(),
                reasons: vec![Reason::IncidentOver],
                plane: Plane::EcsControlPlane,
                discretionary: true,
                takes_effect_secs: None,
            });
            *desired = Some(steady);
        }
    }
    (steps, target_desired)
}
