//! Moves of one region's traffic, read from a pass's weight writes: an **evacuation**
//! lowers a region's weight and leaves its share of the cell (as written, after the pass)
//! below its baseline share; a **return** raises a region's weight and leaves its share at
//! or below its baseline share (a failback stage into it). A receiver raised above its
//! baseline, or lowered back to it, is neither. `forged_items` and `hysteresis` judge these.

use super::Checker;
use crate::world::{CellWeights, Effect, EffectKind, World};
use regionctl_core::plan::{Exemption, cell_shares_pub};

/// Shares (0–1) closer than this count as equal: weights are integers.
const SHARE_SLACK: f64 = 0.005;

/// Which way a write moved a region's traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    /// Away from the region (below its baseline share).
    Away,
    /// Back into it (at or below its baseline share, rising).
    Back,
}

/// One region of one cell moved by a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Move {
    pub(super) s: usize,
    pub(super) c: usize,
    pub(super) r: usize,
    pub(super) direction: Direction,
}

impl Checker {
    /// The evacuations and returns among a pass's `effects`, at most one per (service, cell,
    /// region), in the order written.
    pub(super) fn moves(&self, effects: &[Effect], world: &World) -> Vec<Move> {
        let mut out: Vec<Move> = Vec::new();
        for e in effects {
            let EffectKind::Weight {
                set_identifier,
                from: Some(from),
                to,
                ..
            } = &e.what
            else {
                continue;
            };
            let Some((s, Some(c))) = self.effect_service(&e.what) else {
                continue;
            };
            let cell = &self.bundle.services[s].cells[c];
            let Some(r) = cell
                .set_identifiers
                .iter()
                .position(|x| x == set_identifier)
            else {
                continue;
            };
            if out.iter().any(|m| (m.s, m.c, m.r) == (s, c, r)) || to == from {
                continue;
            }
            let now = self.written_shares(world, s, c);
            let base = cell_shares_pub(&cell.baseline_weights);
            let (share, baseline) = (
                now.get(r).copied().unwrap_or(0.0),
                base.get(r).copied().unwrap_or(0.0),
            );
            let direction = if to < from && share + SHARE_SLACK < baseline {
                Direction::Away
            } else if to > from && share <= baseline + SHARE_SLACK {
                Direction::Back
            } else {
                continue;
            };
            out.push(Move { s, c, r, direction });
        }
        out
    }

    /// True when this second's plan of service `s` named an operator's drain of local
    /// region `r` (`Exemption::OverrideDrain`): a move away that an operator ordered, not
    /// one made on failure evidence (`hysteresis`, `users-served`).
    pub(super) fn drained_by_operator(&self, t: u64, s: usize, r: usize) -> bool {
        self.exemptions.get(&s).is_some_and(|(at, list)| {
            *at == t
                && list
                    .iter()
                    .any(|e| matches!(e, Exemption::OverrideDrain { r: x } if *x == r))
        })
    }

    /// The shares of cell `c` of service `s` as written now (missing records weigh 0).
    pub(super) fn written_shares(&self, world: &World, s: usize, c: usize) -> Vec<f64> {
        let svc = &self.bundle.services[s];
        let cell = &svc.cells[c];
        let name = crate::world::route53::normalize(&cell.record_name);
        let keys: Vec<(String, String)> = cell
            .set_identifiers
            .iter()
            .map(|id| (name.clone(), id.clone()))
            .collect();
        let mut weights = CellWeights::default();
        world.cell_weights(
            &svc.routing.hosted_zone_id,
            &keys,
            world.now(),
            &mut weights,
        );
        let written: Vec<u8> = weights.written.iter().map(|w| w.unwrap_or(0)).collect();
        cell_shares_pub(&written)
    }

    /// True if every cell of every service is written at its baseline shares.
    pub(super) fn all_at_baseline(&self, world: &World) -> bool {
        self.bundle.services.iter().enumerate().all(|(s, svc)| {
            svc.cells.iter().enumerate().all(|(c, cell)| {
                let base = cell_shares_pub(&cell.baseline_weights);
                self.written_shares(world, s, c)
                    .iter()
                    .zip(&base)
                    .all(|(a, b)| (a - b).abs() <= SHARE_SLACK)
            })
        })
    }
}
