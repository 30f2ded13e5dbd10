//! Stage 1, weights: per cell, the exempt evacuation (ineligible regions to 0, the first
//! tier with an eligible region taking over when nothing eligible is left serving) and then
//! any failback stage the gate permits; and the two holds that stop a plan here.

use super::failback::{FailbackGate, failback_gate, staged};
use super::shares::cell_shares;
use super::{Context, SHARE_EPSILON};
use crate::grid::{Grid, same_row};
use crate::health::Verdict;
use crate::plan::{Alert, AlertKind, Exemption};
use crate::policy::Service;

/// Desired weights per (cell, region), before capacity has its say.
pub(super) struct Weights {
    /// Where the exempt evacuation leaves each (cell, region).
    pub evacuated: Grid<u8>,
    /// The evacuation plus any permitted failback stage.
    pub target: Grid<u8>,
    /// Per cell: no eligible region, held as it is.
    pub held: Vec<bool>,
    /// Regions that should get traffic back but may not yet (one entry per cell).
    pub blocked: Vec<usize>,
    /// What failback may do this tick.
    pub gate: FailbackGate,
    /// Some cell evacuates.
    pub evacuating: bool,
    /// Some cell fails back (a discretionary move).
    pub failing_back: bool,
}

/// Per-cell result of [`plan_cell`] (the weights themselves are written into the rows).
struct CellPlan {
    /// The cell has no eligible region: held as it is.
    held: bool,
    /// Regions that should get traffic back but may not yet (failback gates).
    blocked: Vec<usize>,
}

/// What one cell's regions may do, per local region.
#[derive(Clone, Copy)]
struct CellRegions<'a> {
    /// May carry traffic (healthy, not drained).
    eligible: &'a [bool],
    /// Keeps the traffic it has and gains none: its failure is not confirmed yet
    /// (`Context::unconfirmed`).
    kept: &'a [bool],
    /// May gain traffic: not disputed by another controller's view (`Context::gainable`).
    gainable: &'a [bool],
}

/// One cell's weight rows, written in place so the scratch row is reused across cells.
struct CellRows<'a> {
    /// Scratch: the full target of the active tier.
    full: &'a mut [u8],
    /// The evacuation; starts as the current weights.
    evacuated: &'a mut [u8],
    /// The evacuation plus failback; starts as the current weights.
    target: &'a mut [u8],
}

/// Plans every cell's weights.
pub(super) fn plan_weights(cx: &Context<'_>) -> Weights {
    let nr = cx.nr;
    let gate = failback_gate(cx);
    // Per-(cell, region) grids, written row by row; scratch buffers are reused, so the
    // common paths allocate nothing per cell.
    let mut evacuated = cx.current.clone();
    let mut target = cx.current.clone();
    let mut held = vec![false; cx.nc];
    let mut blocked: Vec<usize> = Vec::new();
    let mut full = vec![0u8; nr];
    let gainable = cx.gainable();
    for (c, cell_held) in held.iter_mut().enumerate() {
        let cur = cx.current.row(c);
        let eligible = cx.eligible.row(c);
        let rows = CellRows {
            full: &mut full,
            evacuated: evacuated.row_mut(c),
            target: target.row_mut(c),
        };
        let regions = CellRegions {
            eligible,
            kept: cx.unconfirmed.row(c),
            gainable: &gainable,
        };
        let plan = plan_cell(cx.service, c, cur, regions, &gate, rows);
        #[cfg(feature = "planted-bugs")]
        if crate::planted::active(crate::planted::Bug::ZeroServing)
            && eligible.iter().filter(|e| **e).count() <= 1
            && (0..nr).any(|r| cur[r] > 0 && cx.entry(c, r).verdict.is_unhealthy())
        {
            evacuated.row_mut(c).fill(0);
            target.row_mut(c).fill(0);
            continue;
        }
        *cell_held = plan.held;
        blocked.extend(plan.blocked);
    }
    let evacuating = evacuated != cx.current;
    let failing_back = target != evacuated;
    Weights {
        evacuated,
        target,
        held,
        blocked,
        gate,
        evacuating,
        failing_back,
    }
}

/// Plans one cell's weights: first the exempt evacuation, then any permitted failback.
fn plan_cell(
    service: &Service,
    c: usize,
    cur: &[u8],
    regions: CellRegions<'_>,
    gate: &FailbackGate,
    rows: CellRows<'_>,
) -> CellPlan {
    let CellRegions {
        eligible,
        kept,
        gainable,
    } = regions;
    let CellRows {
        full,
        evacuated,
        target,
    } = rows;
    let nr = cur.len();
    // `evacuated` and `target` start as the current weights.
    if !active_tier_weights(service, c, eligible, full) {
        return CellPlan {
            held: true,
            blocked: Vec::new(),
        };
    }
    // Fast path (steady state and every untouched cell): already at the full target.
    if same_row(cur, full) {
        return CellPlan {
            held: false,
            blocked: Vec::new(),
        };
    }
    // Evacuation: ineligible regions go to 0 (unconfirmed ones keep theirs); if nothing
    // eligible is left serving, the first tier with an eligible region takes over.
    for r in 0..nr {
        evacuated[r] = if eligible[r] || kept[r] { cur[r] } else { 0 };
    }
    if evacuated.iter().all(|w| *w == 0) && !take_over(service, c, (eligible, gainable), full) {
        // Nothing undisputed can take the cell over: hold it as it is.
        evacuated.copy_from_slice(cur);
        target.copy_from_slice(cur);
        return CellPlan {
            held: true,
            blocked: Vec::new(),
        };
    }
    if evacuated.iter().all(|w| *w == 0) {
        evacuated.copy_from_slice(full);
    }
    target.copy_from_slice(evacuated);
    if same_row(evacuated, full) {
        return CellPlan {
            held: false,
            blocked: Vec::new(),
        };
    }
    // A region whose failure is unconfirmed is not failed back from either: moving
    // towards the full target would drain it as a discretionary step.
    if kept.iter().any(|k| *k) {
        return CellPlan {
            held: false,
            blocked: Vec::new(),
        };
    }
    // Failback (or moving back to a better tier): discretionary.
    // Compare shares, not weights: a region at its baseline weight can still be below its
    // baseline share (others' weights raised), and that is a failback too.
    let s_evac = cell_shares(evacuated);
    let s_full = cell_shares(full);
    let gainers: Vec<usize> = (0..nr)
        .filter(|r| s_full[*r] > s_evac[*r] + SHARE_EPSILON)
        .collect();
    let permitted = gate.cooldown_ok && gainers.iter().all(|r| gate.allowed[*r] && gainable[*r]);
    if !permitted {
        return CellPlan {
            held: false,
            blocked: gainers,
        };
    }
    target.copy_from_slice(&staged(service, evacuated, full));
    CellPlan {
        held: false,
        blocked: Vec::new(),
    }
}

/// Whether `full` (the active tier's target) may take over a cell left with nothing
/// serving: yes when no region of it is disputed; otherwise `full` becomes the first tier
/// with an undisputed eligible region, if there is one. A disputed region gains nothing:
/// the peer that sees it failing would set it back to 0 within a tick.
fn take_over(service: &Service, c: usize, regions: (&[bool], &[bool]), full: &mut [u8]) -> bool {
    let (eligible, gainable) = regions;
    if full.iter().zip(gainable).all(|(w, g)| *w == 0 || *g) {
        return true;
    }
    let undisputed: Vec<bool> = eligible
        .iter()
        .zip(gainable)
        .map(|(e, g)| *e && *g)
        .collect();
    active_tier_weights(service, c, &undisputed, full)
}

/// Writes the full target weights of cell `c`'s active tier (its first tier with an
/// eligible region) into `w`; false when no tier has one. The tiers are read as bitmasks
/// from the service's flat tables (no per-cell memory to chase), or from the cell when the
/// service has too many regions for a mask.
fn active_tier_weights(service: &Service, c: usize, eligible: &[bool], w: &mut [u8]) -> bool {
    if let Some(masks) = service.cell_tables.tier_masks(c) {
        let eligible_mask = eligible
            .iter()
            .enumerate()
            .filter(|(_, e)| **e)
            .fold(0u64, |m, (r, _)| m | (1u64 << r));
        let Some(active) = masks.iter().find(|m| *m & eligible_mask != 0) else {
            return false;
        };
        let members = active & eligible_mask;
        tier_weights(service, (0..w.len()).filter(|r| members >> r & 1 == 1), w);
        return true;
    }
    let tiers = &service.cells[c].tiers;
    let Some(tier) = tiers.iter().find(|t| t.iter().any(|r| eligible[*r])) else {
        return false;
    };
    tier_weights(service, tier.iter().copied().filter(|r| eligible[*r]), w);
    true
}

/// Full target weights for a tier's eligible `members`: each at its weight (equally when
/// all are zero-weight standbys), everything else 0.
fn tier_weights(service: &Service, members: impl Iterator<Item = usize> + Clone, w: &mut [u8]) {
    w.fill(0);
    let all_zero = members.clone().all(|r| service.regions[r].weight == 0);
    for r in members {
        w[r] = if all_zero {
            1
        } else {
            service.regions[r].weight
        };
    }
}

/// Regions kept in some cell because their failure is not confirmed yet: the guard lets
/// them keep their traffic.
pub(super) fn unconfirmed_exemptions(cx: &Context<'_>) -> Vec<Exemption> {
    (0..cx.nr)
        .filter(|r| (0..cx.nc).any(|c| cx.unconfirmed(c, *r)))
        .map(|r| Exemption::Unconfirmed { r })
        .collect()
}

/// Fail static: cells with no healthy region hold their last good state; an alert when a
/// held cell still sends traffic to a region that is not healthy.
pub(super) fn fail_static_alert(cx: &Context<'_>, weights: &Weights) -> Option<Alert> {
    let held_cells = weights.held.iter().filter(|h| **h).count();
    if held_cells == 0 {
        return None;
    }
    let bad = (0..cx.nc).any(|c| {
        weights.held[c]
            && (0..cx.nr)
                .any(|r| cx.current[(c, r)] > 0 && cx.entry(c, r).verdict != Verdict::Healthy)
    });
    let gainable = cx.gainable();
    let disputed = (0..cx.nc)
        .any(|c| weights.held[c] && (0..cx.nr).any(|r| cx.eligible(c, r) && !gainable[r]));
    let why = if disputed {
        "no healthy region another controller's view does not dispute"
    } else {
        "no healthy region"
    };
    bad.then(|| Alert {
        kind: AlertKind::HoldFailStatic,
        service: cx.service.name.clone(),
        message: format!("{held_cells} cell(s) have {why}: holding the last good state, no writes"),
    })
}

/// Minimum healthy regions: an evacuation must leave enough healthy regions serving, or
/// it is held (the alert says so).
pub(super) fn min_healthy_hold(cx: &Context<'_>, weights: &Weights) -> Option<Alert> {
    if !weights.evacuating {
        return None;
    }
    let healthy = (0..cx.nr)
        .filter(|r| (0..cx.nc).any(|c| cx.eligible(c, *r)))
        .count();
    let min = cx.service.safety.min_healthy_regions;
    ((healthy as u32) < min).then(|| Alert {
        kind: AlertKind::HoldMinHealthyRegions,
        service: cx.service.name.clone(),
        message: format!(
            "only {healthy} healthy region(s) left, policy requires {min}: evacuation held"
        ),
    })
}
