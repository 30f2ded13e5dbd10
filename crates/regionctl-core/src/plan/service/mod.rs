//! Planning one service: a chain of pure stages from its health and live state to steps.
//!
//! [`plan_service`] reads like the table of contents:
//! 1. **weights** (`weights`): per cell, the exempt evacuation and any permitted failback
//!    stage (`failback`); cells with no eligible region hold (fail static), an
//!    evacuation that would leave too few healthy regions holds, and a region whose probe
//!    quorum a `served` signal overruled is named (`veto`);
//! 2. **capacity** (`capacity`): receivers pre-scaled, waits for their capacity
//!    (warm-standby, pilot-light), or Lambda cover when a source is hard down;
//! 3. **final weights** (`partial`): the target, or part of the evacuation when capacity did
//!    not arrive in time;
//! 4. **guard**: the resulting state is checked before it becomes steps;
//! 5. **ALB** (`alb`): load bursts and Lambda cover;
//! 6. **switches** (`switches`): data-plane switches, guarded over answered traffic;
//! 7. **weight steps** (`shift`): the evacuation and the failback stage;
//! 8. **after the incident** (`capacity`): capacity back to steady state.
//!
//! # Design
//! Each stage takes the values it needs and returns a value; the intermediate types
//! (`Weights`, `Shares`, `Capacity`, `Settled`, `SwitchPlan`) make the data flow explicit.
//! Steps refer to each other by their position in the service's step list, so a stage that
//! adds steps is told where its steps will start.

mod alb;
mod backup_restore;
mod capacity;
mod failback;
mod partial;
mod shares;
mod shift;
mod switches;
mod veto;
mod weights;

#[cfg(test)]
pub(crate) use failback::staged;
pub(crate) use shares::cell_shares;

use super::{Action, Alert, AlertKind, Exemption, Inputs, Plane, Reason, ServicePlan, disposition};
use crate::grid::Grid;
use crate::guard;
use crate::health::{Entry, ServiceHealth, Verdict};
use crate::live::{LiveService, steady_desired};
use crate::policy::Service;
use crate::policy::raw::Strategy;
use crate::time::Timestamp;
use partial::Settled;
use shares::Shares;
use weights::Weights;

/// A share difference smaller than this (fraction of a cell) is noise from integer weights.
const SHARE_EPSILON: f64 = 0.005;

/// A step of one service; `after` holds positions in the service's step list.
pub(super) struct LocalStep {
    pub action: Action,
    pub after: Vec<usize>,
    pub reasons: Vec<Reason>,
    pub plane: Plane,
    pub discretionary: bool,
    pub takes_effect_secs: Option<u64>,
}

/// One service's plan: its steps, its alerts, and its part of the plan (the state the
/// steps leave).
pub(super) struct Outcome {
    pub steps: Vec<LocalStep>,
    pub alerts: Vec<Alert>,
    pub plan: ServicePlan,
}

/// The service being planned and what the planner reads about it.
struct Context<'a> {
    inputs: &'a Inputs<'a>,
    s: usize,
    service: &'a Service,
    live: &'a LiveService,
    health: &'a ServiceHealth,
    /// Regions of the service.
    nr: usize,
    /// Cells of the service.
    nc: usize,
    now: Timestamp,
    /// Today's weights per (cell, region); an unread weight counts as 0.
    current: Grid<u8>,
    /// Per (cell, region): drained by an operator override.
    drained: Grid<bool>,
    /// Per (cell, region): [`Context::eligible`], read by most stages, so computed once.
    eligible: Grid<bool>,
    /// Per (cell, region): [`Context::unconfirmed`], likewise.
    unconfirmed: Grid<bool>,
    /// Per local region: every cell healthy, and the latest `since` of its healthy cells
    /// (`None` when none is): what the failback gate reads.
    recovered: Vec<Recovered>,
}

/// One local region's cells as the failback gate sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Recovered {
    /// Every cell's verdict is healthy.
    all_healthy: bool,
    /// The latest `since` of its healthy cells, if any is.
    healthy_since: Option<Timestamp>,
}

impl<'a> Context<'a> {
    fn new(inputs: &'a Inputs<'a>, s: usize) -> Self {
        let service = &inputs.bundle.services[s];
        let live = &inputs.live.services[s];
        let health = &inputs.health.services[s];
        let (nc, nr) = (service.cells.len(), service.regions.len());
        let current = live.weights.map(|w| w.unwrap_or(0));
        let drained = guard::drained_slots(inputs, s);
        let SlotFlags {
            eligible,
            unconfirmed,
            recovered,
        } = slot_flags(health, &current, &drained);
        Context {
            inputs,
            s,
            service,
            live,
            health,
            nr,
            nc,
            now: inputs.now,
            current,
            drained,
            eligible,
            unconfirmed,
            recovered,
        }
    }

    /// Per local region: may gain traffic, not being disputed by another controller's
    /// view ([`crate::health::RegionEvidence::disputed`]).
    fn gainable(&self) -> Vec<bool> {
        (0..self.nr)
            .map(|r| self.health.evidence.get(r).is_none_or(|e| !e.disputed))
            .collect()
    }

    /// The health of (cell, local region).
    fn entry(&self, c: usize, r: usize) -> Entry {
        entry_of(self.health, c, r)
    }

    /// True when (cell, local region) may carry traffic: healthy and not drained.
    fn eligible(&self, c: usize, r: usize) -> bool {
        self.eligible[(c, r)]
    }

    /// True when (cell, local region) carries traffic and is `unknown` only because its
    /// failure evidence is younger than `fail_after_secs`: a controller with no earlier
    /// verdict (started or reloaded during a young failure) cannot tell it from a region
    /// it had watched healthy, so it neither drains nor feeds it until the evidence
    /// confirms or clears (at most `fail_after_secs`). Without this a restarted
    /// controller evacuated on seconds of evidence (simulate seeds 944, 2676 and others).
    fn unconfirmed(&self, c: usize, r: usize) -> bool {
        self.unconfirmed[(c, r)]
    }

    /// Running tasks in local region `r` (0 when unknown).
    fn running(&self, r: usize) -> u32 {
        self.live
            .ecs
            .get(r)
            .copied()
            .flatten()
            .map_or(0, |e| e.running)
    }

    /// The desired count in force in local region `r`: read, else last known, else steady.
    fn desired_now(&self, r: usize) -> Option<u32> {
        self.service.ecs.as_ref()?;
        self.live
            .ecs
            .get(r)
            .copied()
            .flatten()
            .map(|e| e.desired)
            .or_else(|| self.live.last_known_desired.get(r).copied().flatten())
            .or_else(|| Some(steady_desired(self.service, r)))
    }

    /// [`Context::desired_now`] of every local region.
    fn desired_counts(&self) -> Vec<Option<u32>> {
        (0..self.nr).map(|r| self.desired_now(r)).collect()
    }

    /// Region names, comma-separated, for alerts.
    fn region_names(&self, regions: &[usize]) -> String {
        regions
            .iter()
            .map(|r| self.service.regions[*r].name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The guard's rules for this service, over the eligibility worked out once.
    fn rules<'e>(&'e self, exemptions: &'e [Exemption]) -> guard::Rules<'e> {
        guard::Rules {
            inputs: self.inputs,
            s: self.s,
            eligible: &self.eligible,
            exemptions,
        }
    }

    /// True when the last discretionary move is at least the cooldown ago.
    fn cooldown_passed(&self) -> bool {
        self.live.last_discretionary_change.is_none_or(|t| {
            self.now
                .elapsed_at_least(t, self.service.safety.cooldown_secs)
        })
    }
}

/// What one pass over a service's entries gives the planner.
struct SlotFlags {
    eligible: Grid<bool>,
    unconfirmed: Grid<bool>,
    recovered: Vec<Recovered>,
}

/// [`Context::eligible`], [`Context::unconfirmed`] and each region's [`Recovered`], in
/// one pass over the entries in memory order (every entry of every service, every pass).
/// A health of another shape than the weights reads as unknown.
fn slot_flags(health: &ServiceHealth, current: &Grid<u8>, drained: &Grid<bool>) -> SlotFlags {
    let (nc, nr) = current.shape();
    let unknown;
    let entries = if health.entries.shape() == (nc, nr) {
        &health.entries
    } else {
        unknown = Grid::new(nc, nr, Entry::UNKNOWN);
        &unknown
    };
    let mut eligible = Vec::with_capacity(nc * nr);
    let mut unconfirmed = Vec::with_capacity(nc * nr);
    let mut recovered = vec![
        Recovered {
            all_healthy: true,
            healthy_since: None,
        };
        nr
    ];
    // The region of the entry at hand: entries run region by region within a cell.
    let mut r = 0;
    for ((e, w), d) in entries.iter().zip(current).zip(drained) {
        let healthy = e.verdict == Verdict::Healthy;
        eligible.push(guard::eligible(e, *d));
        unconfirmed.push(
            e.verdict == Verdict::Unknown
                && e.pending.is_some_and(|(v, _)| v.is_unhealthy())
                && *w > 0
                && !d,
        );
        let region = &mut recovered[r];
        if healthy {
            region.healthy_since = Some(region.healthy_since.map_or(e.since, |t| t.max(e.since)));
        } else {
            region.all_healthy = false;
        }
        r = if r + 1 == nr { 0 } else { r + 1 };
    }
    // Both have the weights' shape (`drained` is built to the service's, as they are).
    let shaped = |v| Grid::from_vec(nc, nr, v).unwrap_or_else(|_| Grid::new(nc, nr, false));
    SlotFlags {
        eligible: shaped(eligible),
        unconfirmed: shaped(unconfirmed),
        recovered,
    }
}

/// The health of (cell, local region) in `health`; unknown outside its shape.
fn entry_of(health: &ServiceHealth, c: usize, r: usize) -> Entry {
    health.entries.get(c, r).copied().unwrap_or(Entry::UNKNOWN)
}

/// Plans service `s`: the stages in order, each feeding the next.
pub(super) fn plan_service(inputs: &Inputs<'_>, s: usize) -> Outcome {
    let cx = Context::new(inputs, s);
    let mut out = outcome(&cx);
    if cx.service.strategy == Strategy::BackupRestore {
        backup_restore::plan_backup_restore(&cx, &mut out);
        return unchanged(&cx, out);
    }

    // 1. Weights: evacuation (exempt) and failback (gated), cell by cell. A region the
    // served veto kept healthy is held, and says so.
    if let Some(alert) = veto::served_veto_alert(&cx) {
        out.alerts.push(alert);
    }
    let weights = weights::plan_weights(&cx);
    if let Some(alert) = weights::fail_static_alert(&cx, &weights) {
        out.plan.exemptions.push(Exemption::FailStatic);
        out.alerts.push(alert);
    }
    if let Some(alert) = weights::min_healthy_hold(&cx, &weights) {
        out.alerts.push(alert);
        out.plan
            .notes
            .push("evacuation held: min_healthy_regions not met".into());
        return unchanged(&cx, out);
    }

    // 2. Capacity: pre-scale and waits.
    let shares = Shares::new(cx.service, &cx.current, &weights.target);
    let mut capacity = capacity::plan_capacity(&cx, &weights, &shares, cx.desired_counts());
    out.plan
        .exemptions
        .extend(capacity.exemptions.iter().copied());
    out.alerts.extend(capacity.alerts.iter().cloned());

    // 3. Final weights: the target, or partial if capacity could not carry everything in
    // time.
    let settled = partial::settle(&cx, &weights, &capacity);
    out.plan.partial = settled.partial;
    out.plan
        .exemptions
        .extend(settled.exemptions.iter().copied());
    out.alerts.extend(settled.alert.iter().cloned());
    out.plan.exemptions.extend(partial::drain_exemptions(&cx));
    for exemption in weights::unconfirmed_exemptions(&cx) {
        if let Exemption::Unconfirmed { r } = exemption {
            out.plan.notes.push(format!(
                "{}: failure evidence younger than fail_after_secs and no earlier verdict \
                 (controller started or reloaded): keeps its traffic until confirmed",
                cx.service.regions[r].name
            ));
        }
        out.plan.exemptions.push(exemption);
    }

    // 4. Guard the resulting state before it becomes steps.
    if let Some(alert) = guard_weights(&cx, &weights, &settled, &out.plan.exemptions) {
        out.alerts.push(alert);
        return unchanged(&cx, out);
    }

    // 5. ALB: load bursts and Lambda cover. The step list starts with the capacity steps.
    let mut steps = std::mem::take(&mut capacity.steps);
    steps.extend(alb::alb_steps(&cx, &capacity));

    // 6. Data-plane switches.
    let switch_after = capacity::switch_prerequisites(&capacity);
    let switches =
        switches::plan_switches(&cx, &settled.weights, &switch_after, &out.plan.exemptions);
    out.alerts.extend(switches.alert);
    steps.extend(switches.steps);
    out.plan.target_switches = switches.target;

    // 7. Weight steps: the evacuation, then the failback stage.
    let first_shift = steps.len();
    let shift_steps = shift::shift_steps(
        &cx,
        &weights,
        &capacity,
        &settled,
        &shares,
        &switch_after,
        first_shift,
    );
    let shift_ids: Vec<usize> = (first_shift..first_shift + shift_steps.len()).collect();
    steps.extend(shift_steps);
    out.plan.notes.extend(failback::failback_notes(&weights));
    out.plan.notes.dedup();

    // 8. After the incident: capacity back to steady state (discretionary).
    let (scale_down, target_desired) = capacity::steady_state(
        &cx,
        &settled.weights,
        &shares,
        capacity.target_desired,
        &shift_ids,
    );
    steps.extend(scale_down);

    out.steps = steps;
    out.plan.target_weights = settled.weights;
    out.plan.target_desired = target_desired;
    out
}

/// The outcome before any stage has run: no steps, no alerts, and the targets still to be
/// set (by the last stage, or by [`unchanged`] when a stage holds the service).
fn outcome(cx: &Context<'_>) -> Outcome {
    Outcome {
        steps: Vec::new(),
        alerts: Vec::new(),
        plan: ServicePlan {
            service: cx.s,
            name: cx.service.name.clone(),
            mode: cx.service.mode,
            disposition: disposition(cx.inputs, cx.service),
            target_weights: Grid::empty(),
            target_desired: Vec::new(),
            target_switches: Grid::empty(),
            partial: false,
            notes: Vec::new(),
            exemptions: Vec::new(),
        },
    }
}

/// `out` for a service held where it is: today's weights, desired counts and switches as
/// its targets (what it has said so far, its alerts, notes and steps, kept).
fn unchanged(cx: &Context<'_>, mut out: Outcome) -> Outcome {
    out.plan.target_weights = cx.current.clone();
    out.plan.target_desired = cx.desired_counts();
    out.plan.target_switches = guard::live_switches(cx.service, &cx.live.switches);
    out
}

/// The guard's verdict on the final weights: an alert when it rejects them.
/// Discretionary moves are measured from where the exempt evacuation leaves the cell.
fn guard_weights(
    cx: &Context<'_>,
    weights: &Weights,
    settled: &Settled,
    exemptions: &[Exemption],
) -> Option<Alert> {
    let discretionary_from: Option<&Grid<u8>> =
        settled.failing_back.then_some(if weights.evacuating {
            &weights.evacuated
        } else {
            &cx.current
        });
    let violations = cx
        .rules(exemptions)
        .check_service(&settled.weights, discretionary_from);
    (!violations.is_empty()).then(|| {
        guard_alert(
            cx.service,
            "plan rejected by the safety guard, holding",
            &violations,
        )
    })
}

/// The alert for a state the guard rejected: `what`, then every violation.
fn guard_alert(service: &Service, what: &str, violations: &[guard::Violation]) -> Alert {
    let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
    Alert {
        kind: AlertKind::GuardViolation,
        service: service.name.clone(),
        message: format!("{what}: {}", list.join("; ")),
    }
}
