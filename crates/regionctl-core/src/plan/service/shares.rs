//! Traffic shares: what fraction of a cell (or of the whole service) each region carries.

use crate::grid::Grid;
use crate::policy::Service;

/// Service-level shares of each local region (mean over cells) at three points: today,
/// at the weights' target, and at the baseline.
pub(super) struct Shares<'a> {
    /// Today's.
    pub current: Vec<f64>,
    /// At the target weights (evacuation plus failback stage).
    pub target: Vec<f64>,
    /// At the baseline weights.
    pub baseline: Vec<f64>,
    /// The baseline weights per (cell, region), from the service's flat tables.
    pub baseline_weights: &'a Grid<u8>,
}

impl<'a> Shares<'a> {
    /// The shares of `current` and `target` weights, and of the service's baseline.
    pub fn new(service: &'a Service, current: &Grid<u8>, target: &Grid<u8>) -> Self {
        let baseline_weights = service.cell_tables.baseline_weights();
        Shares {
            current: shares(service, current),
            target: shares(service, target),
            baseline: shares(service, baseline_weights),
            baseline_weights,
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

/// Service-level share of each region (mean over cells).
fn shares(service: &Service, weights: &Grid<u8>) -> Vec<f64> {
    let nr = service.regions.len();
    let nc = service.cells.len().max(1);
    let mut out = vec![0.0; nr];
    for row in weights.rows().take(service.cells.len()) {
        let total: u32 = row.iter().map(|w| u32::from(*w)).sum();
        for (o, w) in out.iter_mut().zip(row) {
            *o += if total == 0 {
                1.0 / nr as f64
            } else {
                f64::from(*w) / f64::from(total)
            };
        }
    }
    out.iter_mut().for_each(|x| *x /= nc as f64);
    out
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
