//! Stage 6, data-plane switches (DESIGN.md §6): a switch goes off when its scope has moved
//! off a region that is not eligible, after the same capacity prerequisites as the weight
//! shift (so warm-standby and pilot-light still put capacity first), and on again as soon
//! as the region is eligible (the weights decide its share; a weight-0 record with a
//! healthy switch is only answered when every weighted region fails). Neither the switches
//! nor the weight shift waits for the other.

use super::shift::{Cells, region_reason};
use super::{Context, LocalStep, guard_alert};
use crate::grid::Grid;
use crate::guard;
use crate::plan::{Action, Alert, Exemption, Plane, Reason};
use crate::policy::raw::SwitchScope;
use crate::switch;

/// The switch part of a plan.
pub(super) struct SwitchPlan {
    /// The switch steps.
    pub steps: Vec<LocalStep>,
    /// Switch states once the plan has completed, per (slot, local region).
    pub target: Grid<bool>,
    /// The guard held the switches.
    pub alert: Option<Alert>,
}

/// The switch steps for the final weights, guarded over the traffic they answer; a
/// switch going off waits for `capacity_first` (the capacity waits).
pub(super) fn plan_switches(
    cx: &Context<'_>,
    final_weights: &Grid<u8>,
    capacity_first: &[usize],
    exemptions: &[Exemption],
) -> SwitchPlan {
    let (steps, target, violations) = switch_steps(cx, final_weights, capacity_first, exemptions);
    let alert = (!violations.is_empty())
        .then(|| guard_alert(cx.service, "switches held by the safety guard", &violations));
    SwitchPlan {
        steps,
        target,
        alert,
    }
}

/// The steps and the target switch states, or — when the guard rejects the answered
/// traffic — no steps, the switches as they are, and the violations.
fn switch_steps(
    cx: &Context<'_>,
    final_weights: &Grid<u8>,
    capacity_first: &[usize],
    exemptions: &[Exemption],
) -> (Vec<LocalStep>, Grid<bool>, Vec<guard::Violation>) {
    let service = cx.service;
    let live = &cx.live.switches;
    let target = switch::target_switches(service, final_weights, live, |c, r| cx.eligible(c, r));
    let mut steps = Vec::new();
    let violations = cx.rules(exemptions).check_answered(final_weights, &target);
    if !violations.is_empty() {
        // Hold the switches as they are; the weights were guarded on their own.
        return (steps, guard::live_switches(service, live), violations);
    }
    let scope_is_cell = switch::slots(service) > 1
        || service
            .routing
            .switch
            .as_ref()
            .is_some_and(|sw| sw.scope == SwitchScope::Cell);
    for ((slot, r), &on) in target.indexed() {
        let from = live.get(slot, r).copied().flatten();
        if from.unwrap_or(true) == on {
            continue;
        }
        let cells = switch::cells_of_slot(service, slot);
        let reasons = if on {
            vec![Reason::SwitchOn { r }]
        } else {
            let cells = Cells {
                first: cells.start,
                count: cells.len(),
            };
            vec![region_reason(cx, r, cells)]
        };
        steps.push(LocalStep {
            action: Action::SetSwitch {
                r,
                cell: scope_is_cell.then(|| u32::try_from(slot).unwrap_or(u32::MAX)),
                from,
                on,
            },
            after: if on {
                Vec::new()
            } else {
                capacity_first.to_vec()
            },
            reasons,
            plane: Plane::CloudWatchDataPlane,
            discretionary: false,
            takes_effect_secs: switch::switch_visible_secs(service),
        });
    }
    (steps, target, Vec::new())
}
