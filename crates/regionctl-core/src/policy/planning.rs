//! What the planner reads about every cell, flattened once at load time.
//!
//! Planning a region loss at 1,000 services × 30 cells × 5 regions spent about a tenth of
//! its time waiting for memory: each cell's tiers and baseline weights sit behind the
//! cell's own record (and its shared lists), one cache miss per cell per read. A service
//! keeps the same facts here in three small arrays: tiers as bitmasks of local regions,
//! and the baseline weights as one grid.

use super::Cell;
use crate::grid::Grid;

/// Local regions a tier bitmask can hold.
const MASK_BITS: usize = u64::BITS as usize;

/// Per cell of one service: its tiers as bitmasks, and its baseline weights.
#[derive(Debug, Clone, Default)]
pub struct CellTables {
    /// Every cell's tiers as bitmasks of local regions, cell after cell; `None` when the
    /// service has more regions than a mask holds (the planner then reads the cells).
    tier_masks: Option<Vec<u64>>,
    /// Per cell: where its tiers end in `tier_masks`.
    tier_ends: Vec<u32>,
    /// Baseline weight per (cell, local region).
    baseline_weights: Grid<u8>,
    /// Baseline share of each local region over the service (mean over cells): fixed by
    /// the policy, so not recomputed every pass.
    baseline_shares: Vec<f64>,
}

impl CellTables {
    /// The tables of `cells` in a service of `regions` local regions.
    pub(crate) fn new(cells: &[Cell], regions: usize) -> Self {
        let baseline_weights = Grid::from_fn(cells.len(), regions, |c, r| {
            cells[c].baseline_weights.get(r).copied().unwrap_or(0)
        });
        let mut masks = Vec::new();
        let mut tier_ends = Vec::with_capacity(cells.len());
        let mut fits = regions <= MASK_BITS;
        for cell in cells {
            for tier in cell.tiers.iter() {
                let mut mask = 0u64;
                for &r in tier {
                    fits &= r < MASK_BITS;
                    mask |= 1u64
                        .checked_shl(u32::try_from(r).unwrap_or(u32::MAX))
                        .unwrap_or(0);
                }
                masks.push(mask);
            }
            tier_ends.push(u32::try_from(masks.len()).unwrap_or(u32::MAX));
            fits &= masks.len() <= u32::MAX as usize;
        }
        masks.shrink_to_fit();
        let baseline_shares = crate::traffic::mean_cell_shares(&baseline_weights);
        CellTables {
            tier_masks: fits.then_some(masks),
            tier_ends: if fits { tier_ends } else { Vec::new() },
            baseline_weights,
            baseline_shares,
        }
    }

    /// Cell `c`'s tiers as bitmasks of local regions, in order; `None` when the service
    /// has too many regions for masks (or `c` is not a cell).
    pub(crate) fn tier_masks(&self, c: usize) -> Option<&[u64]> {
        let masks = self.tier_masks.as_ref()?;
        let end = *self.tier_ends.get(c)? as usize;
        let start = match c.checked_sub(1) {
            Some(p) => *self.tier_ends.get(p)? as usize,
            None => 0,
        };
        masks.get(start..end)
    }

    /// Baseline weight per (cell, local region).
    pub(crate) fn baseline_weights(&self) -> &Grid<u8> {
        &self.baseline_weights
    }

    /// Baseline share of each local region over the service (mean over its cells).
    pub(crate) fn baseline_shares(&self) -> &[f64] {
        &self.baseline_shares
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn cell(tiers: Vec<Vec<usize>>, weights: Vec<u8>) -> Cell {
        Cell {
            id: "c".into(),
            label: "c".into(),
            values: Arc::from(Vec::new()),
            record_name: "c.example.com".into(),
            tiers: Arc::from(tiers),
            set_identifiers: Arc::from(Vec::new()),
            values_per_region: Arc::from(Vec::new()),
            baseline_weights: Arc::from(weights),
        }
    }

    #[test]
    fn masks_and_baseline_follow_the_cells() {
        let cells = [
            cell(vec![vec![0, 2], vec![1]], vec![30, 0, 20]),
            cell(vec![vec![1]], vec![0, 10, 0]),
        ];
        let t = CellTables::new(&cells, 3);
        assert_eq!(t.tier_masks(0), Some(&[0b101, 0b010][..]));
        assert_eq!(t.tier_masks(1), Some(&[0b010][..]));
        assert_eq!(t.tier_masks(2), None);
        assert_eq!(t.baseline_weights().row(0), &[30, 0, 20]);
        assert_eq!(t.baseline_weights().row(1), &[0, 10, 0]);
    }

    #[test]
    fn too_many_regions_for_a_mask_means_no_masks() {
        let cells = [cell(vec![vec![0, 64]], vec![1; 65])];
        let t = CellTables::new(&cells, 65);
        assert_eq!(t.tier_masks(0), None);
        assert_eq!(t.baseline_weights().shape(), (1, 65));
    }
}
