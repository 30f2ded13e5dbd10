//! Stage 5, ALB: Lambda's share of a listener — the burst percentage while a `load` alarm
//! is in ALARM, and enough to cover missing Fargate capacity in a receiver.

use super::capacity::Capacity;
use super::{Context, LocalStep};
use crate::live::AlbState;
use crate::plan::{Action, Plane, Reason};

/// One step per region whose Lambda share changes, each after its region's pre-scale.
pub(super) fn alb_steps(cx: &Context<'_>, capacity: &Capacity) -> Vec<LocalStep> {
    let service = cx.service;
    let mut steps = Vec::new();
    let Some(alb) = &service.alb else {
        return steps;
    };
    for r in 0..cx.nr {
        let cover = capacity.covering[r];
        let load = cx.health.load.get(r).copied().unwrap_or(false);
        let mut lambda = 0;
        if load {
            lambda = alb.burst_lambda_percent;
        }
        if cover {
            let want = capacity.target_desired[r].unwrap_or(0).max(1);
            let run = cx.running(r);
            let gap = 100 - (u64::from(run.min(want)) * 100 / u64::from(want)) as u32;
            lambda = lambda.max(gap);
        }
        let to = AlbState {
            fargate: 100 - lambda.min(100),
            lambda: lambda.min(100),
        };
        let from = cx.live.alb.get(r).copied().flatten();
        let current_lambda = from.map_or(0, AlbState::lambda_percent);
        if current_lambda != to.lambda || from.is_none() && lambda > 0 {
            let mut reasons = Vec::new();
            if cover {
                reasons.push(Reason::LambdaCover {
                    r,
                    running: cx.running(r),
                    needed: service.ecs.as_ref().map_or(0, |e| {
                        e.ready_threshold(capacity.target_desired[r].unwrap_or(0))
                    }),
                });
            }
            if load || current_lambda > 0 && !cover {
                reasons.push(Reason::Load { r, in_alarm: load });
            }
            steps.push(LocalStep {
                action: Action::SetAlb { r, from, to },
                after: capacity.scale_step[r].into_iter().collect(),
                reasons,
                plane: Plane::ElbControlPlane,
                discretionary: false,
                takes_effect_secs: None,
            });
        }
    }
    steps
}
