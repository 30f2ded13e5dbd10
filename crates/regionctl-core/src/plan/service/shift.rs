//! Stage 7, weight steps: the evacuation (exempt, after the capacity waits) and the
//! failback stage (discretionary, after every capacity step and the evacuation), each with
//! the reasons it moves traffic.

use super::capacity::Capacity;
use super::partial::Settled;
use super::shares::{Shares, cell_shares, stage_of};
use super::weights::Weights;
use super::{Context, LocalStep, SHARE_EPSILON};
use crate::grid::{Grid, same_row};
use crate::health::Entry;
use crate::plan::{Action, Plane, Reason, ShiftPurpose, WeightChange};
use crate::switch;

/// The weight steps, numbered from `first` in the service's step list: the evacuation
/// (after `evacuation_after`, the capacity waits), then the failback stage.
pub(super) fn shift_steps(
    cx: &Context<'_>,
    weights: &Weights,
    capacity: &Capacity,
    settled: &Settled,
    shares: &Shares,
    evacuation_after: &[usize],
    first: usize,
) -> Vec<LocalStep> {
    let mut steps = Vec::new();
    if let Some(step) = evacuation_step(cx, weights, capacity, settled, evacuation_after) {
        steps.push(step);
    }
    let shift_ids: Vec<usize> = (first..first + steps.len()).collect();
    if let Some(step) = failback_step(cx, weights, capacity, settled, shares, &shift_ids) {
        steps.push(step);
    }
    steps
}

/// The evacuation: every cell's move off ineligible regions (the whole evacuation, or the
/// part capacity carries), with the reasons each source loses traffic.
fn evacuation_step(
    cx: &Context<'_>,
    weights: &Weights,
    capacity: &Capacity,
    settled: &Settled,
    after: &[usize],
) -> Option<LocalStep> {
    if !weights.evacuating {
        return None;
    }
    let to = if settled.weights == weights.target && settled.failing_back {
        &weights.evacuated
    } else {
        &settled.weights
    };
    let changes = diff(&cx.current, to);
    if changes.is_empty() {
        return None;
    }
    let mut reasons = unhealthy_reasons(cx, &weights.evacuated);
    if capacity.source_down && capacity.capacity_first {
        for r in &capacity.sources {
            reasons.push(Reason::SourceHardDown { r: *r });
        }
    }
    reasons.extend(capacity.shift_reasons.iter().cloned());
    Some(LocalStep {
        action: Action::SetWeights {
            purpose: settled.purpose,
            changes,
        },
        after: after.to_vec(),
        reasons,
        plane: Plane::Route53ControlPlane,
        discretionary: false,
        takes_effect_secs: Some(switch::weights_visible_secs(cx.service)),
    })
}

/// The failback stage: from where the evacuation leaves each cell to the final weights,
/// after every pre-scale, capacity wait and the evacuation (`shift_ids`).
fn failback_step(
    cx: &Context<'_>,
    weights: &Weights,
    capacity: &Capacity,
    settled: &Settled,
    shares: &Shares,
    shift_ids: &[usize],
) -> Option<LocalStep> {
    if !settled.failing_back {
        return None;
    }
    let from = if weights.evacuating {
        &weights.evacuated
    } else {
        &cx.current
    };
    let changes = diff(from, &settled.weights);
    if changes.is_empty() {
        return None;
    }
    let mut after: Vec<usize> = capacity.scale_step.iter().flatten().copied().collect();
    after.extend(capacity.wait_steps.iter().copied());
    after.extend(shift_ids.iter().copied());
    after.sort_unstable();
    // Every region that gains share in some cell, whatever the service-wide average.
    let gains = |r: usize| {
        (0..cx.nc).any(|c| {
            let before = cell_shares(from.row(c));
            let after = cell_shares(settled.weights.row(c));
            after[r] > before[r] + SHARE_EPSILON
        })
    };
    let reasons = (0..cx.nr)
        .filter(|r| gains(*r))
        .map(|r| Reason::Failback {
            r,
            stage_percent: stage_of(shares.target[r], shares.baseline[r]),
            healthy_since: weights.gate.healthy_since[r],
        })
        .collect();
    Some(LocalStep {
        action: Action::SetWeights {
            purpose: ShiftPurpose::Failback,
            changes,
        },
        after,
        reasons,
        plane: Plane::Route53ControlPlane,
        discretionary: true,
        takes_effect_secs: Some(switch::weights_visible_secs(cx.service)),
    })
}

/// The weight changes from `from` to `to`, per (cell, region) that differs.
fn diff(from: &Grid<u8>, to: &Grid<u8>) -> Vec<WeightChange> {
    // Row by row: a cell's position is known without dividing the flat offset (this runs
    // over every (cell, region) of every evacuated service).
    // Counted first: an evacuated service changes one record per cell, and growing the
    // list change by change reallocated it five times.
    let count = from.iter().zip(to).filter(|(a, b)| a != b).count();
    let mut changes = Vec::with_capacity(count);
    for (c, (a, b)) in from.rows().zip(to.rows()).enumerate() {
        if same_row(a, b) {
            continue;
        }
        let cell = u32::try_from(c).unwrap_or(u32::MAX);
        for (r, (a, b)) in a.iter().zip(b).enumerate() {
            if a != b {
                changes.push(WeightChange {
                    cell,
                    r: u16::try_from(r).unwrap_or(u16::MAX),
                    from: Some(*a),
                    to: *b,
                });
            }
        }
    }
    changes
}

/// Reasons for an evacuation: every region losing traffic and why.
fn unhealthy_reasons(cx: &Context<'_>, evacuated: &Grid<u8>) -> Vec<Reason> {
    let mut reasons = Vec::new();
    for r in 0..cx.nr {
        // The first cell losing traffic in `r` and how many do: all a reason says.
        let mut losing = (0..cx.nc).filter(|c| cx.current[(*c, r)] > evacuated[(*c, r)]);
        if let Some(first) = losing.next() {
            let cells = 1 + losing.count();
            reasons.push(region_reason(
                cx,
                r,
                Cells {
                    first,
                    count: cells,
                },
            ));
        }
    }
    reasons
}

/// The cells a reason speaks for: the first one (whose health and override it names) and
/// how many there are.
#[derive(Clone, Copy)]
pub(super) struct Cells {
    pub first: usize,
    pub count: usize,
}

/// Why traffic leaves local region `r` in `cells` (non-empty): an operator drain, its
/// health, or unknown health.
pub(super) fn region_reason(cx: &Context<'_>, r: usize, cells: Cells) -> Reason {
    let service = cx.service;
    let first_cell = cells.first;
    let first = cx
        .health
        .entries
        .get(first_cell, r)
        .copied()
        .unwrap_or(Entry::UNKNOWN);
    if cx.drained.get(first_cell, r).copied().unwrap_or(false)
        && let Some(o) = cx.inputs.controls.active(
            cx.inputs.bundle,
            &service.name,
            service.regions[r].region,
            &service.cells[first_cell].id,
            cx.now,
        )
    {
        return Reason::OverrideDrain {
            r,
            who: o.who.clone(),
            why: o.why.clone(),
            until: o.expires_at,
        };
    }
    if first.verdict.is_unhealthy() {
        Reason::RegionUnhealthy {
            r,
            verdict: first.verdict,
            since: first.since,
            evidence: cx.health.evidence.get(r).cloned().unwrap_or_default(),
            cells: cells.count,
        }
    } else {
        Reason::RegionUnknown {
            r,
            cells: cells.count,
        }
    }
}
