//! Traffic shares: what fraction of a cell (or of the whole service) each region carries.

use crate::grid::Grid;
use crate::policy::Service;
use crate::traffic::mean_cell_shares;

/// Service-level shares of each local region (mean over cells) at three points: today,
/// at the weights' target, and at the baseline.
pub(super) struct Shares<'a> {
    /// Today's.
    pub current: Vec<f64>,
    /// At the target weights (evacuation plus failback stage).
    pub target: Vec<f64>,
    /// At the baseline weights (the policy's, computed when it was loaded).
    pub baseline: &'a [f64],
    /// The baseline weights per (cell, region), from the service's flat tables.
    pub baseline_weights: &'a Grid<u8>,
}

impl<'a> Shares<'a> {
    /// The shares of `current` and `target` weights, and of the service's baseline.
    pub fn new(service: &'a Service, current: &Grid<u8>, target: &Grid<u8>) -> Self {
        let current_shares = mean_cell_shares(current);
        // Most services, most passes: nothing moves.
        let target_shares = if target == current {
            current_shares.clone()
        } else {
            mean_cell_shares(target)
        };
        Shares {
            current: current_shares,
            target: target_shares,
            baseline: service.cell_tables.baseline_shares(),
            baseline_weights: service.cell_tables.baseline_weights(),
        }
    }
}

/// Share of each region within one cell (equal spread if all zero, as Route 53 answers).
pub(crate) fn cell_shares(weights: &[u8]) -> Vec<f64> {
    let total: u32 = weights.iter().map(|w| u32::from(*w)).sum();
    if total == 0 {
        let n = weights.len().max(1) as f64;
        return vec![1.0 / n; weights.len()];
    }
    weights
        .iter()
        .map(|w| f64::from(*w) / f64::from(total))
        .collect()
}

/// A failback stage as a percentage of the region's baseline share.
pub(super) fn stage_of(share: f64, baseline: f64) -> u32 {
    if baseline <= 0.0 {
        100
    } else {
        pct((share / baseline).min(1.0))
    }
}

/// A share as a whole percentage.
pub(super) fn pct(share: f64) -> u32 {
    (share * 100.0).round().clamp(0.0, 100.0) as u32
}
