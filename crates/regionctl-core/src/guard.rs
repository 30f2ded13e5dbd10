//! The safety guard (DESIGN.md §7): rules checked over the state a plan produces.
//!
//! The planner calls [`check_service`] before turning a desired state into steps; the
//! executor calls it again just before applying (and for every intermediate state between
//! Route 53 batches). A violation blocks the change and raises an alert; it never crashes
//! the controller.
//!
//! Rules, with their named exemptions ([`crate::plan::Exemption`]):
//! 1. No all-zero weight set in a cell (Route 53 would answer it with an equal spread).
//! 2. While a cell has a healthy (eligible) region, no weight on an unhealthy, unknown or
//!    drained region — except a degraded region held during a capacity wait, or the part a
//!    partial shift leaves behind.
//! 3. A cell with no eligible region is not written at all (fail static).
//! 4. Discretionary moves (failback, rebalancing) move at most `max_shift_percent_per_step`
//!    of a cell, and only after the cooldown. Evacuation is exempt.

use crate::controls::OverrideAction;
use crate::health::Verdict;
use crate::plan::{Exemption, Inputs};

/// Rounding slack for the step limit: weights are integers, shares are not.
const STEP_SLACK_PERCENT: f64 = 1.0;

/// A broken safety rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Violation {
    /// Every weight in the cell is zero.
    AllZeroWeights {
        /// Cell id.
        cell: String,
    },
    /// Traffic to a region that is not healthy while a healthy one exists.
    TrafficToUnhealthy {
        /// Cell id.
        cell: String,
        /// Region.
        region: String,
        /// Its verdict.
        verdict: Verdict,
    },
    /// A cell with no healthy region was written.
    WriteWithoutHealthyRegion {
        /// Cell id.
        cell: String,
    },
    /// A discretionary step moves too much.
    StepTooLarge {
        /// Cell id.
        cell: String,
        /// Percentage points moved.
        moved: f64,
        /// Limit.
        limit: u32,
    },
    /// A discretionary step inside the cooldown.
    Cooldown {
        /// Seconds left.
        remaining_secs: u64,
    },
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Violation::AllZeroWeights { cell } => write!(
                f,
                "cell {cell}: all weights zero (Route 53 would spread evenly)"
            ),
            Violation::TrafficToUnhealthy {
                cell,
                region,
                verdict,
            } => write!(
                f,
                "cell {cell}: traffic to {} region {region} while a healthy one exists",
                verdict.as_str()
            ),
            Violation::WriteWithoutHealthyRegion { cell } => write!(
                f,
                "cell {cell}: written although no region is healthy (must hold)"
            ),
            Violation::StepTooLarge { cell, moved, limit } => write!(
                f,
                "cell {cell}: discretionary step moves {moved:.1}% (limit {limit}%)"
            ),
            Violation::Cooldown { remaining_secs } => write!(
                f,
                "discretionary move {remaining_secs}s before the cooldown ends"
            ),
        }
    }
}

/// Per (cell, local region): drained by an operator override in force.
pub fn drained_slots(inputs: &Inputs<'_>, s: usize) -> Vec<bool> {
    let service = &inputs.bundle.services[s];
    let nr = service.regions.len();
    let mut out = vec![false; service.cells.len() * nr];
    if inputs.controls.overrides.is_empty() {
        return out;
    }
    for (c, cell) in service.cells.iter().enumerate() {
        for (r, sr) in service.regions.iter().enumerate() {
            out[c * nr + r] = inputs
                .controls
                .active(
                    inputs.bundle,
                    &service.name,
                    sr.region,
                    &cell.id,
                    inputs.now,
                )
                .is_some_and(|o| o.action == OverrideAction::Drain);
        }
    }
    out
}

/// Checks the state `target` (weights per (cell, local region)) for service `s`.
pub fn check_service(
    inputs: &Inputs<'_>,
    s: usize,
    target: &[u8],
    discretionary_from: Option<&[u8]>,
    exemptions: &[Exemption],
) -> Vec<Violation> {
    let discretionary = discretionary_from.is_some();
    let service = &inputs.bundle.services[s];
    let health = &inputs.health.services[s];
    let live = &inputs.live.services[s];
    let nr = service.regions.len();
    let drained = drained_slots(inputs, s);
    let mut violations = Vec::new();
    let exempt = |r: usize| {
        exemptions.iter().any(|e| match e {
            Exemption::CapacityWait { r: x, until } => *x == r && inputs.now < *until,
            Exemption::Partial { r: x } => *x == r,
            _ => false,
        })
    };
    if discretionary
        && let Some(t) = live.last_discretionary_change
        && !inputs.now.elapsed_at_least(t, service.safety.cooldown_secs)
    {
        let remaining = service
            .safety
            .cooldown_secs
            .saturating_sub(inputs.now.secs_since(t));
        violations.push(Violation::Cooldown {
            remaining_secs: remaining,
        });
    }

    // Scratch buffers, reused for every cell (30,000 cells per region loss at scale).
    let mut cur: Vec<u8> = vec![0; nr];
    let mut eligible: Vec<bool> = vec![false; nr];
    for (c, cell) in service.cells.iter().enumerate() {
        let row = &target[c * nr..(c + 1) * nr];
        for r in 0..nr {
            cur[r] = live.weights[c * nr + r].unwrap_or(0);
            eligible[r] =
                health.entries[c * nr + r].verdict == Verdict::Healthy && !drained[c * nr + r];
        }
        #[cfg(feature = "planted-bugs")]
        if crate::planted::active(crate::planted::Bug::ZeroServing) {
            continue;
        }
        if row.iter().all(|w| *w == 0) {
            violations.push(Violation::AllZeroWeights {
                cell: cell.id.clone(),
            });
            continue;
        }
        if !eligible.iter().any(|e| *e) {
            if row != cur.as_slice() {
                violations.push(Violation::WriteWithoutHealthyRegion {
                    cell: cell.id.clone(),
                });
            }
            continue;
        }
        for r in 0..nr {
            if row[r] > 0 && !eligible[r] && !exempt(r) {
                violations.push(Violation::TrafficToUnhealthy {
                    cell: cell.id.clone(),
                    region: service.regions[r].name.clone(),
                    verdict: health.entries[c * nr + r].verdict,
                });
            }
        }
        if let Some(base) = discretionary_from {
            let from = crate::plan::cell_shares_pub(&base[c * nr..(c + 1) * nr]);
            let to = crate::plan::cell_shares_pub(row);
            let moved: f64 = (0..nr).map(|r| (to[r] - from[r]).max(0.0)).sum::<f64>() * 100.0;
            if moved > f64::from(service.safety.max_shift_percent_per_step) + STEP_SLACK_PERCENT {
                violations.push(Violation::StepTooLarge {
                    cell: cell.id.clone(),
                    moved,
                    limit: service.safety.max_shift_percent_per_step,
                });
            }
        }
    }
    violations
}
