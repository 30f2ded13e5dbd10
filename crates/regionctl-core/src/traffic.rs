//! Traffic shares implied by Route 53 weights, and as Route 53 actually answers them.
//!
//! Route 53's rules for a weighted record set (DESIGN.md §7), which invariants are stated
//! over:
//! - records with weight > 0 that are healthy share traffic by weight;
//! - if every non-zero record is unhealthy, healthy weight-0 records are answered (equally);
//! - if every record is unhealthy, all are answered (fail open), by weight;
//! - an all-zero weight set is answered with an equal spread.

use crate::grid::Grid;

/// Each column's share of traffic over the whole grid: per row (a cell), the share each
/// region's weight gives it (an equal spread for an all-zero row, as Route 53 answers it),
/// averaged over the rows.
pub fn mean_cell_shares(weights: &Grid<u8>) -> Vec<f64> {
    let (nc, nr) = weights.shape();
    let mut out = vec![0.0; nr];
    for row in weights.rows() {
        let total: u32 = row.iter().map(|w| u32::from(*w)).sum();
        if total == 0 {
            out.iter_mut().for_each(|o| *o += 1.0 / nr as f64);
            continue;
        }
        for (o, w) in out.iter_mut().zip(row) {
            *o += f64::from(*w) / f64::from(total);
        }
    }
    out.iter_mut().for_each(|x| *x /= nc.max(1) as f64);
    out
}

/// Integer percentages summing to exactly 100 (largest remainder), from weights. An
/// all-zero (or empty-weight) set reads as an equal spread, as Route 53 answers it.
pub fn percent_split(weights: &[u32]) -> Vec<u32> {
    let n = weights.len();
    if n == 0 {
        return Vec::new();
    }
    let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
    let effective: Vec<u64> = if total == 0 {
        vec![1; n]
    } else {
        weights.iter().map(|w| u64::from(*w)).collect()
    };
    let total: u64 = effective.iter().sum();
    let mut out: Vec<u32> = Vec::with_capacity(n);
    let mut remainders: Vec<(u64, usize)> = Vec::with_capacity(n);
    let mut assigned = 0u32;
    for (i, w) in effective.iter().enumerate() {
        let scaled = w * 100;
        let q = u32::try_from(scaled / total).unwrap_or(100);
        out.push(q);
        assigned += q;
        remainders.push((scaled % total, i));
    }
    // Largest remainder first; ties to the earlier region, so the result is deterministic.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders
        .into_iter()
        .take(100usize.saturating_sub(assigned as usize))
    {
        out[i] += 1;
    }
    out
}

/// Weights as Route 53 answers them given each record's health-check status: the weights
/// that effectively apply (an equal `1` where Route 53 spreads evenly).
pub fn answered_weights(weights: &[u32], healthy: &[bool]) -> Vec<u32> {
    let n = weights.len();
    let nonzero_healthy: Vec<bool> = (0..n).map(|i| weights[i] > 0 && healthy[i]).collect();
    if nonzero_healthy.iter().any(|b| *b) {
        return (0..n)
            .map(|i| if nonzero_healthy[i] { weights[i] } else { 0 })
            .collect();
    }
    if weights.iter().any(|w| *w > 0) && healthy.iter().any(|h| *h) {
        // Every non-zero record is unhealthy: healthy weight-0 records are answered.
        return (0..n).map(|i| u32::from(healthy[i])).collect();
    }
    if healthy.iter().any(|h| *h) {
        // All-zero weights with some healthy: the healthy ones, evenly.
        return (0..n).map(|i| u32::from(healthy[i])).collect();
    }
    // Every record unhealthy: fail open, by weight (evenly if all zero).
    if weights.iter().all(|w| *w == 0) {
        vec![1; n]
    } else {
        weights.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_sum_to_100() {
        assert_eq!(percent_split(&[50, 30, 20]), vec![50, 30, 20]);
        assert_eq!(percent_split(&[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(percent_split(&[0, 30, 20]), vec![0, 60, 40]);
        assert_eq!(percent_split(&[0, 0]), vec![50, 50]);
        assert_eq!(percent_split(&[255]), vec![100]);
    }

    #[test]
    fn route53_answering_rules() {
        // Healthy non-zero records share by weight.
        assert_eq!(
            answered_weights(&[50, 30, 0], &[false, true, true]),
            vec![0, 30, 0]
        );
        // Every non-zero unhealthy: the healthy weight-0 record is answered.
        assert_eq!(
            answered_weights(&[50, 30, 0], &[false, false, true]),
            vec![0, 0, 1]
        );
        // Everything unhealthy: fail open by weight.
        assert_eq!(
            answered_weights(&[50, 30, 0], &[false, false, false]),
            vec![50, 30, 0]
        );
        // All-zero weights: equal spread.
        assert_eq!(answered_weights(&[0, 0], &[false, false]), vec![1, 1]);
    }
}
