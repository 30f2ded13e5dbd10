//! Stage 3, final weights: the target, or — when a capacity wait timed out — only the part
//! of the evacuation the receivers' capacity can carry (a partial shift).

use super::Context;
use super::capacity::Capacity;
use super::shares::cell_shares;
use super::weights::Weights;
use crate::grid::Grid;
use crate::plan::{Alert, AlertKind, Exemption, ShiftPurpose};

/// The weights the plan ends at.
pub(super) struct Settled {
    /// Final weights per (cell, region).
    pub weights: Grid<u8>,
    /// Why the evacuation moves traffic: a full evacuation or a partial one.
    pub purpose: ShiftPurpose,
    /// A failback stage moves: only with a full evacuation (a partial one waits).
    pub failing_back: bool,
    /// Only part of the evacuation moves.
    pub partial: bool,
    /// Regions that keep traffic they should lose.
    pub exemptions: Vec<Exemption>,
    /// The partial shift's alert.
    pub alert: Option<Alert>,
}

/// Final weights: the target (shift steps come after any capacity wait, and the executor
/// stops at a wait that is not yet satisfied), or partial if capacity could not carry
/// everything in time.
pub(super) fn settle(cx: &Context<'_>, weights: &Weights, capacity: &Capacity) -> Settled {
    // A partial shift moves only part of the evacuation; failback waits for a full one.
    let failing_back = weights.failing_back && capacity.partial_fraction.is_none();
    let Some(k) = capacity.partial_fraction else {
        return Settled {
            weights: weights.target.clone(),
            purpose: ShiftPurpose::Evacuate,
            failing_back,
            partial: false,
            exemptions: Vec::new(),
            alert: None,
        };
    };
    let final_weights = partial_weights(&cx.current, &weights.evacuated, k.clamp(0.0, 1.0));
    // Every region that keeps traffic it should lose is covered, cell by cell.
    let exemptions = (0..cx.nr)
        .filter(|r| {
            (0..cx.nc).any(|c| {
                cx.current[(c, *r)] > 0
                    && weights.evacuated[(c, *r)] == 0
                    && final_weights[(c, *r)] > 0
            })
        })
        .map(|r| Exemption::Partial { r })
        .collect();
    let alert = Alert {
        kind: AlertKind::Partial,
        service: cx.service.name.clone(),
        message: format!(
            "receiver capacity did not arrive in time: moved {:.0}% of the traffic off {}",
            k * 100.0,
            cx.region_names(&capacity.sources)
        ),
    };
    Settled {
        weights: final_weights,
        purpose: ShiftPurpose::Partial,
        failing_back,
        partial: true,
        exemptions,
        alert: Some(alert),
    }
}

/// Regions an operator override drains in some cell.
pub(super) fn drain_exemptions(cx: &Context<'_>) -> Vec<Exemption> {
    (0..cx.nr)
        .filter(|r| cx.drained.column(*r).any(|d| *d))
        .map(|r| Exemption::OverrideDrain { r })
        .collect()
}

/// Weights moving a fraction `k` of the way from `current` to `target`, per cell.
fn partial_weights(current: &Grid<u8>, target: &Grid<u8>, k: f64) -> Grid<u8> {
    let mut out = current.clone();
    for (c, row) in out.rows_mut().enumerate() {
        row.copy_from_slice(&partial_row(current.row(c), target.row(c), k));
    }
    out
}

/// One cell of [`partial_weights`].
///
/// The receivers (regions the target keeps serving) get an integer multiple of their target
/// weights, so their split is exactly the target's. Quantising shares to percent instead
/// drifts that split by rounding; the next pass then derives a slightly different
/// evacuation from the weights it finds, needs a little more capacity somewhere and shifts
/// partially again, one capacity wait later each time (found by the fixpoint property).
/// The sources keep weights giving them their `1 - k` part of today's share.
fn partial_row(cur: &[u8], tgt: &[u8], k: f64) -> Vec<u8> {
    if cur == tgt {
        return cur.to_vec();
    }
    let sc = cell_shares(cur);
    let st = cell_shares(tgt);
    let desired: Vec<f64> = (0..cur.len())
        .map(|r| sc[r] + k * (st[r] - sc[r]))
        .collect();
    let receivers: f64 = (0..cur.len())
        .filter(|r| tgt[*r] > 0)
        .map(|r| desired[r])
        .sum();
    let tgt_sum: u32 = tgt.iter().map(|w| u32::from(*w)).sum();
    if tgt_sum == 0 || receivers >= 1.0 - 1e-9 {
        return tgt.to_vec();
    }
    if receivers <= 1e-9 {
        return cur.to_vec();
    }
    let source_weight = |m: u32, r: usize| -> u32 {
        let w = f64::from(m * tgt_sum) * desired[r] / receivers;
        // A source that should keep some traffic keeps at least weight 1.
        (w.round() as u32).max(u32::from(desired[r] > 0.0))
    };
    let max_tgt = u32::from(tgt.iter().copied().max().unwrap_or(1).max(1));
    // The receivers' total should reach about 100 so the sources' shares are as fine as
    // percent; no larger, so the sources' weights shrink as their share does (a plan
    // reading "44 → 45" for a region being evacuated would alarm a reader). m = 1 always
    // fits Route 53's 255 when today's weights are real: each source's weight only shrinks.
    let fits = |m: u32| (0..cur.len()).all(|r| tgt[r] > 0 || source_weight(m, r) <= 255);
    let m = (1..=(255 / max_tgt).max(1))
        .take_while(|m| *m == 1 || fits(*m))
        .take_while(|m| *m == 1 || (m - 1) * tgt_sum < 100)
        .last()
        .unwrap_or(1);
    (0..cur.len())
        .map(|r| {
            let w = if tgt[r] > 0 {
                m * u32::from(tgt[r])
            } else {
                source_weight(m, r)
            };
            u8::try_from(w.min(255)).unwrap_or(255)
        })
        .collect()
}
