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
//! 5. Over *answered* traffic ([`check_answered`]): with the target data-plane switches as
//!    Route 53 health, Route 53's rules ([`crate::traffic::answered_weights`]) must not
//!    answer a region that rule 2 keeps traffic off, and a cell never has every switch off
//!    (Route 53 would answer every record: fail open).

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
    /// Every data-plane switch of a cell would be off.
    AllSwitchesOff {
        /// Cell id.
        cell: String,
    },
    /// Route 53 would answer a region that is not healthy while a healthy one exists.
    AnsweredToUnhealthy {
        /// Cell id.
        cell: String,
        /// Region.
        region: String,
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
            Violation::AllSwitchesOff { cell } => write!(
                f,
                "cell {cell}: every data-plane switch off (Route 53 would answer all records)"
            ),
            Violation::AnsweredToUnhealthy { cell, region } => write!(
                f,
                "cell {cell}: Route 53 would answer unhealthy region {region} while a healthy one exists"
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

/// Rule 5: checks weights `target` and switch states `switches` (`slot * regions + region`)
/// of service `s` over the traffic Route 53 would answer.
pub fn check_answered(
    inputs: &Inputs<'_>,
    s: usize,
    target: &[u8],
    switches: &[bool],
    exemptions: &[Exemption],
) -> Vec<Violation> {
    let service = &inputs.bundle.services[s];
    // With every switch on, Route 53 answers exactly the records with weight > 0, which
    // rules 1–3 already checked: nothing more to do (the common case, at fleet scale).
    if crate::switch::slots(service) == 0 || switches.iter().all(|on| *on) {
        return Vec::new();
    }
    let health = &inputs.health.services[s];
    let nr = service.regions.len();
    let drained = drained_slots(inputs, s);
    let exempt = |r: usize| {
        exemptions.iter().any(|e| match e {
            Exemption::CapacityWait { r: x, until } => *x == r && inputs.now < *until,
            Exemption::Partial { r: x } => *x == r,
            _ => false,
        })
    };
    let mut violations = Vec::new();
    let mut weights = vec![0u32; nr];
    let mut on = vec![true; nr];
    for (c, cell) in service.cells.iter().enumerate() {
        let slot = crate::switch::slot_of_cell(service, c);
        for r in 0..nr {
            weights[r] = u32::from(target.get(c * nr + r).copied().unwrap_or(0));
            on[r] = switches.get(slot * nr + r).copied().unwrap_or(true);
        }
        if !on.iter().any(|x| *x) {
            violations.push(Violation::AllSwitchesOff {
                cell: cell.id.clone(),
            });
            continue;
        }
        let eligible = |r: usize| {
            health.entries[c * nr + r].verdict == Verdict::Healthy && !drained[c * nr + r]
        };
        if !(0..nr).any(eligible) {
            continue;
        }
        // Route 53's rules (`traffic::answered_weights`), without allocating per cell: the
        // healthy non-zero records if any; else the healthy ones (weight-0 fallback); else
        // all (fail open, excluded above by the all-off check).
        let any_nonzero_on = (0..nr).any(|r| weights[r] > 0 && on[r]);
        let answered = |r: usize| {
            if any_nonzero_on {
                weights[r] > 0 && on[r]
            } else {
                on[r]
            }
        };
        for r in 0..nr {
            if answered(r) && !eligible(r) && !exempt(r) {
                violations.push(Violation::AnsweredToUnhealthy {
                    cell: cell.id.clone(),
                    region: service.regions[r].name.clone(),
                });
            }
        }
    }
    violations
}
