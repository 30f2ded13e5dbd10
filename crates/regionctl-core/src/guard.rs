//! The safety guard (DESIGN.md §7): rules checked over the state a plan produces.
//!
//! The planner calls [`check_service`] before turning a desired state into steps; the
//! controller checks the steps again just before applying them, over the live state read
//! afresh ([`check_steps`], whose [`Checked`] is the only thing the executor applies), and
//! checks every intermediate state between Route 53 batches ([`check_written`]). A
//! violation blocks the change and raises an alert; it never crashes the controller.
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
use crate::grid::{Grid, same_row};
use crate::health::{Entry, Verdict};
use crate::plan::{Action, Exemption, Inputs, Step};
use std::collections::BTreeSet;

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
pub fn drained_slots(inputs: &Inputs<'_>, s: usize) -> Grid<bool> {
    let service = &inputs.bundle.services[s];
    let (nc, nr) = (service.cells.len(), service.regions.len());
    if inputs.controls.overrides.is_empty() {
        return Grid::new(nc, nr, false);
    }
    Grid::from_fn(nc, nr, |c, r| {
        inputs
            .controls
            .active(
                inputs.bundle,
                &service.name,
                service.regions[r].region,
                &service.cells[c].id,
                inputs.now,
            )
            .is_some_and(|o| o.action == OverrideAction::Drain)
    })
}

/// May a (cell, region) with health `entry` carry traffic: healthy and not `drained`. The
/// one definition the planner and the rules share.
#[inline]
pub fn eligible(entry: &Entry, drained: bool) -> bool {
    entry.verdict == Verdict::Healthy && !drained
}

/// Per (cell, local region) of service `s`: [`eligible`] (a health of another shape than
/// the service's reads as unknown, so nothing is eligible).
pub fn eligible_slots(inputs: &Inputs<'_>, s: usize) -> Grid<bool> {
    let service = &inputs.bundle.services[s];
    let (nc, nr) = (service.cells.len(), service.regions.len());
    let entries = &inputs.health.services[s].entries;
    let drained = drained_slots(inputs, s);
    if entries.shape() != (nc, nr) {
        return Grid::new(nc, nr, false);
    }
    let flags = entries.iter().zip(&drained).map(|(e, d)| eligible(e, *d));
    Grid::from_vec(nc, nr, flags.collect()).unwrap_or_else(|_| Grid::new(nc, nr, false))
}

/// Checks the state `target` (weights per (cell, local region)) for service `s`.
pub fn check_service(
    inputs: &Inputs<'_>,
    s: usize,
    target: &Grid<u8>,
    discretionary_from: Option<&Grid<u8>>,
    exemptions: &[Exemption],
) -> Vec<Violation> {
    with_rules(inputs, s, exemptions, |rules| {
        rules.check_service(target, discretionary_from)
    })
}

/// `check` with the rules of service `s` over the eligibility worked out here from
/// `inputs` (callers that have it already build [`Rules`] themselves).
fn with_rules<T>(
    inputs: &Inputs<'_>,
    s: usize,
    exemptions: &[Exemption],
    check: impl FnOnce(&Rules<'_>) -> T,
) -> T {
    let eligible = eligible_slots(inputs, s);
    check(&Rules {
        inputs,
        s,
        eligible: &eligible,
        exemptions,
    })
}

/// What the rules read for one service: its inputs, which (cell, region)s are
/// [`eligible`] (computed once for every rule) and the plan's exemptions.
#[derive(Clone, Copy)]
pub struct Rules<'a> {
    /// The planner's inputs.
    pub inputs: &'a Inputs<'a>,
    /// Service index.
    pub s: usize,
    /// Per (cell, local region): [`eligible`] ([`eligible_slots`]).
    pub eligible: &'a Grid<bool>,
    /// The plan's exemptions.
    pub exemptions: &'a [Exemption],
}

impl Rules<'_> {
    /// [`check_service`] with the eligibility already worked out.
    pub fn check_service(
        &self,
        target: &Grid<u8>,
        discretionary_from: Option<&Grid<u8>>,
    ) -> Vec<Violation> {
        check_service_rules(self, target, discretionary_from)
    }

    /// [`check_answered`] with the eligibility already worked out.
    pub fn check_answered(&self, target: &Grid<u8>, switches: &Grid<bool>) -> Vec<Violation> {
        check_answered_rules(self, target, switches)
    }
}

/// Rules 1–4 over `target`.
fn check_service_rules(
    rules: &Rules<'_>,
    target: &Grid<u8>,
    discretionary_from: Option<&Grid<u8>>,
) -> Vec<Violation> {
    let &Rules {
        inputs,
        s,
        exemptions,
        ..
    } = rules;
    let discretionary = discretionary_from.is_some();
    let service = &inputs.bundle.services[s];
    let live = &inputs.live.services[s];
    let nr = service.regions.len();
    let mut violations = Vec::new();
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
    let mut cells = CellRules::new(inputs, s, rules.eligible, exemptions);
    for c in 0..service.cells.len() {
        let row = target.row(c);
        if !cells.check(c, row, &mut violations) {
            continue;
        }
        if let Some(base) = discretionary_from {
            let from = crate::plan::cell_shares_pub(base.row(c));
            let to = crate::plan::cell_shares_pub(row);
            let moved: f64 = (0..nr).map(|r| (to[r] - from[r]).max(0.0)).sum::<f64>() * 100.0;
            if moved > f64::from(service.safety.max_shift_percent_per_step) + STEP_SLACK_PERCENT {
                violations.push(Violation::StepTooLarge {
                    cell: service.cells[c].id.clone(),
                    moved,
                    limit: service.safety.max_shift_percent_per_step,
                });
            }
        }
    }
    violations
}

/// Rules 1–3, cell by cell, for one service, with a scratch buffer reused for every cell
/// (30,000 cells per region loss at scale).
struct CellRules<'a> {
    inputs: &'a Inputs<'a>,
    s: usize,
    exemptions: &'a [Exemption],
    eligible: &'a Grid<bool>,
    cur: Vec<u8>,
}

impl<'a> CellRules<'a> {
    fn new(
        inputs: &'a Inputs<'a>,
        s: usize,
        eligible: &'a Grid<bool>,
        exemptions: &'a [Exemption],
    ) -> Self {
        let nr = inputs.bundle.services[s].regions.len();
        CellRules {
            inputs,
            s,
            exemptions,
            eligible,
            cur: vec![0; nr],
        }
    }

    /// Exempt from rule 2: a degraded region held during a capacity wait, or the part a
    /// partial shift leaves behind.
    fn exempt(&self, r: usize) -> bool {
        self.exemptions
            .iter()
            .any(|e| e.keeps_weight_on(r, self.inputs.now))
    }

    /// Checks cell `c` at weights `row` against rules 1–3 (pushing what it breaks); false
    /// when no further rule applies to the cell (all zero, or no eligible region).
    fn check(&mut self, c: usize, row: &[u8], violations: &mut Vec<Violation>) -> bool {
        let service = &self.inputs.bundle.services[self.s];
        let health = &self.inputs.health.services[self.s];
        let live = &self.inputs.live.services[self.s];
        let nr = service.regions.len();
        let cell = &service.cells[c];
        // Rows sliced to the region count once, so the loops below index without checks.
        let weights = &live.weights.row(c)[..nr];
        let eligible = &self.eligible.row(c)[..nr];
        for (cur, w) in self.cur.iter_mut().zip(weights) {
            *cur = w.unwrap_or(0);
        }
        #[cfg(feature = "planted-bugs")]
        if crate::planted::active(crate::planted::Bug::ZeroServing) {
            return false;
        }
        if row.iter().all(|w| *w == 0) {
            violations.push(Violation::AllZeroWeights {
                cell: cell.id.clone(),
            });
            return false;
        }
        if !eligible.iter().any(|e| *e) {
            if !same_row(row, &self.cur) {
                violations.push(Violation::WriteWithoutHealthyRegion {
                    cell: cell.id.clone(),
                });
            }
            return false;
        }
        for (r, weight) in row.iter().enumerate() {
            if *weight > 0 && !eligible[r] && !self.exempt(r) {
                violations.push(Violation::TrafficToUnhealthy {
                    cell: cell.id.clone(),
                    region: service.regions[r].name.clone(),
                    verdict: health.entries[(c, r)].verdict,
                });
            }
        }
        true
    }
}

/// A value the guard accepted. Only this module makes one (the field is private), and the
/// controller's executor applies nothing else: every step that reaches the world was
/// checked just before, over the state it was about to change.
#[derive(Debug, Clone)]
pub struct Checked<T>(T);

impl<T> Checked<T> {
    /// The accepted value.
    pub fn get(&self) -> &T {
        &self.0
    }
}

/// Checks service `s`'s `steps` (in plan order, about to be applied) again, over the state
/// they produce from `inputs.live` — the live state read afresh this pass — with the
/// plan's `exemptions`, by the rules the planner applied:
/// - when they set weights, rules 1–4 over the resulting weights, a discretionary step
///   (failback) measured from where the steps before it leave the cells;
/// - when they set data-plane switches, rule 5 over the resulting weights and switches.
///
/// Steps that change no routing (capacity, balancer splits, restore records) are not
/// routing states the rules speak of. A non-leader's steps, without the discretionary
/// ones, are checked as what they produce on their own.
pub fn check_steps<'s>(
    inputs: &Inputs<'_>,
    s: usize,
    steps: Vec<&'s Step>,
    exemptions: &[Exemption],
) -> Result<Checked<Vec<&'s Step>>, Vec<Violation>> {
    let service = &inputs.bundle.services[s];
    let live = &inputs.live.services[s];
    let mut weights: Grid<u8> = live.weights.map(|w| w.unwrap_or(0));
    let mut switches: Grid<bool> = live_switches(service, &live.switches);
    let (mut sets_weights, mut sets_switches) = (false, false);
    let mut discretionary_from: Option<Grid<u8>> = None;
    for step in &steps {
        match &step.action {
            Action::SetWeights { changes, .. } => {
                sets_weights = true;
                if step.discretionary && discretionary_from.is_none() {
                    discretionary_from = Some(weights.clone());
                }
                for change in changes {
                    if let Some(w) = weights.get_mut(change.cell as usize, usize::from(change.r)) {
                        *w = change.to;
                    }
                }
            }
            Action::SetSwitch { r, cell, on, .. } => {
                sets_switches = true;
                let slot = cell.map_or(0, |c| c as usize);
                if let Some(x) = switches.get_mut(slot, *r) {
                    *x = *on;
                }
            }
            _ => {}
        }
    }
    let violations = with_rules(inputs, s, exemptions, |rules| {
        let mut violations = Vec::new();
        if sets_weights {
            violations.extend(rules.check_service(&weights, discretionary_from.as_ref()));
        }
        if sets_switches {
            violations.extend(rules.check_answered(&weights, &switches));
        }
        violations
    });
    if violations.is_empty() {
        Ok(Checked(steps))
    } else {
        Err(violations)
    }
}

/// The switch states in force per (slot, local region) of `service`, from the `live` ones:
/// a switch never published or unreadable counts as on (Route 53 treats it as healthy).
pub fn live_switches(service: &crate::policy::Service, live: &Grid<Option<bool>>) -> Grid<bool> {
    Grid::from_fn(
        crate::switch::slots(service),
        service.regions.len(),
        |slot, r| live.get(slot, r).copied().flatten().unwrap_or(true),
    )
}

/// The per-batch check of a weight step (rules 1–3): the weights of service `s` are
/// `before` (per (cell, local region)) with `written` — (cell, local region, weight) — set
/// over them, and every cell `written` touches must be a state the rules accept. Route 53
/// batches never split a cell's record name and type, so a cell is either as it was or
/// fully written; this catches a batching that would split one (an all-zero cell between
/// two batches).
pub fn check_written(
    inputs: &Inputs<'_>,
    s: usize,
    before: &Grid<u8>,
    written: &[(usize, usize, u8)],
    exemptions: &[Exemption],
) -> Vec<Violation> {
    let mut state = before.clone();
    let mut touched = BTreeSet::new();
    for &(c, r, w) in written {
        if let Some(slot) = state.get_mut(c, r) {
            *slot = w;
            touched.insert(c);
        }
    }
    let eligible = eligible_slots(inputs, s);
    let mut cells = CellRules::new(inputs, s, &eligible, exemptions);
    let mut violations = Vec::new();
    for c in touched {
        cells.check(c, state.row(c), &mut violations);
    }
    violations
}

/// Rule 5: checks weights `target` (per (cell, local region)) and switch states `switches`
/// (per (slot, local region)) of service `s` over the traffic Route 53 would answer.
pub fn check_answered(
    inputs: &Inputs<'_>,
    s: usize,
    target: &Grid<u8>,
    switches: &Grid<bool>,
    exemptions: &[Exemption],
) -> Vec<Violation> {
    with_rules(inputs, s, exemptions, |rules| {
        rules.check_answered(target, switches)
    })
}

/// Rule 5 over `target` and `switches`.
fn check_answered_rules(
    rules: &Rules<'_>,
    target: &Grid<u8>,
    switches: &Grid<bool>,
) -> Vec<Violation> {
    let &Rules {
        inputs,
        s,
        exemptions,
        ..
    } = rules;
    let service = &inputs.bundle.services[s];
    // With every switch on, Route 53 answers exactly the records with weight > 0, which
    // rules 1–3 already checked: nothing more to do (the common case, at fleet scale).
    if crate::switch::slots(service) == 0 || switches.iter().all(|on| *on) {
        return Vec::new();
    }
    let nr = service.regions.len();
    let exempt = |r: usize| exemptions.iter().any(|e| e.keeps_weight_on(r, inputs.now));
    let mut violations = Vec::new();
    let mut weights = vec![0u32; nr];
    let mut on = vec![true; nr];
    for (c, cell) in service.cells.iter().enumerate() {
        let slot = crate::switch::slot_of_cell(service, c);
        let (row, switch_row) = (&target.row(c)[..nr], &switches.row(slot)[..nr]);
        for r in 0..nr {
            weights[r] = u32::from(row[r]);
            on[r] = switch_row[r];
        }
        if !on.iter().any(|x| *x) {
            violations.push(Violation::AllSwitchesOff {
                cell: cell.id.clone(),
            });
            continue;
        }
        let eligible = &rules.eligible.row(c)[..nr];
        if !eligible.iter().any(|e| *e) {
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
        for (r, eligible) in eligible.iter().enumerate() {
            if answered(r) && !eligible && !exempt(r) {
                violations.push(Violation::AnsweredToUnhealthy {
                    cell: cell.id.clone(),
                    region: service.regions[r].name.clone(),
                });
            }
        }
    }
    violations
}

#[cfg(test)]
mod tests;
