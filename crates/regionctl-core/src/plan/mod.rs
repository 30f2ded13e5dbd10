//! Planning: `(bundle, health view, live state, controls, now) → Plan`.
//!
//! A plan is a dependency-ordered DAG of [`Step`]s. Every step carries its reasons, whether
//! it needs a control plane, and whether it is a discretionary move (bounded by step limits
//! and cooldown) or an evacuation (exempt, DESIGN.md §4). The planner computes a desired
//! state per service ([`service`]), the [`crate::guard`] checks it, and only then does it
//! become steps. Planning the state a plan produces yields no further steps. The steps are
//! checked again just before they are applied, over the live state read afresh
//! ([`crate::guard::check_steps`]): the executor applies only what that check returns.
//!
//! # Exemptions (DESIGN.md §7), all explicit here
//! - `backup-restore` never moves traffic: it records [`Action::RestoreRequired`].
//! - `warm-standby` / `pilot-light` may keep traffic on a *degraded* region while capacity
//!   comes up, for at most `safety.max_degraded_hold_secs` ([`Exemption::CapacityWait`]).
//! - Evacuating an unhealthy region ignores `max_shift_percent_per_step` and cooldown.
//! - Pause and overrides win over automation ([`Disposition::Paused`],
//!   [`crate::controls::OverrideAction`]).

mod exemption;
pub mod render;
mod service;

pub use exemption::Exemption;

use crate::controls::{Controls, Pause};
use crate::grid::Grid;
use crate::health::{HealthView, RegionEvidence, Verdict};
use crate::live::{AlbState, LiveState};
use crate::policy::Bundle;
use crate::policy::raw::{Mode, Strategy};
use crate::time::Timestamp;
use petgraph::graph::DiGraph;
use serde::Serialize;
use std::collections::BTreeMap;

/// The plan for the whole bundle.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Policy bundle hash the plan was made with.
    pub bundle_hash: String,
    /// When.
    pub at: Timestamp,
    /// The pause in force, if any.
    pub paused: Option<Pause>,
    /// Steps in a valid execution order (every step after the steps in its `after`).
    pub steps: Vec<Step>,
    /// Per service: what happens to its steps, its resulting state, notes and alerts.
    pub services: Vec<ServicePlan>,
    /// Alerts raised by planning (holds, partial shifts, restores required).
    pub alerts: Vec<Alert>,
}

impl Plan {
    /// True when the plan would change something.
    pub fn has_changes(&self) -> bool {
        !self.steps.is_empty()
    }

    /// Steps of one service, in order.
    pub fn steps_of(&self, service: usize) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(move |s| s.service == service)
    }
}

/// What happens to a service's steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Disposition {
    /// `enforce`: applied automatically.
    Apply,
    /// `observe`: recorded only.
    RecordOnly,
    /// `propose`: recorded and published; applied after `regionctl approve`.
    AwaitApproval,
    /// The fleet is paused: recorded only.
    Paused,
}

/// One service's part of a plan.
#[derive(Debug, Clone, Serialize)]
pub struct ServicePlan {
    /// Service index.
    pub service: usize,
    /// Service name.
    pub name: String,
    /// Its mode.
    pub mode: Mode,
    /// What happens to its steps.
    pub disposition: Disposition,
    /// Route 53 weights once the plan has completed, per (cell, local region).
    pub target_weights: Grid<u8>,
    /// Desired ECS counts once the plan has completed, per local region.
    pub target_desired: Vec<Option<u32>>,
    /// Data-plane switch states once the plan has completed, per (slot, local region);
    /// no slots without switches.
    pub target_switches: Grid<bool>,
    /// Whether the plan for this service is partial (capacity could not carry everything).
    pub partial: bool,
    /// Why nothing (else) happens: waits for recovery windows, cooldowns, holds.
    pub notes: Vec<String>,
    /// Exemptions the plan used.
    pub exemptions: Vec<Exemption>,
}

/// One step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Position in [`Plan::steps`].
    pub id: usize,
    /// Service index.
    pub service: usize,
    /// What to do.
    pub action: Action,
    /// Steps that must complete first.
    pub after: Vec<usize>,
    /// Why.
    pub reasons: Vec<Reason>,
    /// Which plane the step needs.
    pub plane: Plane,
    /// Discretionary (bounded by step limits and cooldown) or not (evacuation, capacity).
    pub discretionary: bool,
    /// Worst-case seconds after the call until resolvers see the change (Route 53 steps),
    /// `None` where it does not apply.
    pub takes_effect_secs: Option<u64>,
}

/// The API a step needs to take effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Plane {
    /// Route 53 `ChangeResourceRecordSets` (control plane in us-east-1).
    Route53ControlPlane,
    /// ECS `UpdateService` in the region.
    EcsControlPlane,
    /// ELBv2 `ModifyListener` in the region.
    ElbControlPlane,
    /// CloudWatch `PutMetricData` outside the drained region, read by Route 53 health
    /// checks: no dependency on us-east-1 (a data-plane switch).
    CloudWatchDataPlane,
    /// Nothing to call: a wait, or a record in the journal.
    None,
}

impl Plane {
    /// Short label.
    pub fn as_str(self) -> &'static str {
        match self {
            Plane::Route53ControlPlane => "route53 control plane",
            Plane::EcsControlPlane => "ecs control plane",
            Plane::ElbControlPlane => "elbv2 control plane",
            Plane::CloudWatchDataPlane => "data plane (switch)",
            Plane::None => "no api call",
        }
    }
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Action {
    /// Set an ECS service's desired count.
    Scale {
        /// Local region index.
        r: usize,
        /// Current desired count (as known).
        from: u32,
        /// New desired count.
        to: u32,
    },
    /// Wait until running capacity reaches `needed` (bounded).
    WaitForCapacity {
        /// Local region index.
        r: usize,
        /// Running now.
        running: u32,
        /// Running needed.
        needed: u32,
        /// Longest wait from now.
        timeout_secs: u64,
    },
    /// Set Route 53 weights (one change per record).
    SetWeights {
        /// `evacuate`, `failback`, `partial`, `rebalance`.
        purpose: ShiftPurpose,
        /// The changes.
        changes: Vec<WeightChange>,
    },
    /// Set an ALB listener's Fargate/Lambda weights.
    SetAlb {
        /// Local region index.
        r: usize,
        /// Current.
        from: Option<AlbState>,
        /// New.
        to: AlbState,
    },
    /// Record that a region needs a restore from backup (no traffic moves).
    RestoreRequired {
        /// Local region index.
        r: usize,
    },
    /// Flip a data-plane switch: publish its metric (`on` = may serve).
    SetSwitch {
        /// Local region index.
        r: usize,
        /// Cell index for cell-scope switches, `None` for the region's switch.
        cell: Option<u32>,
        /// As last published (`None`: never, treated as on).
        from: Option<bool>,
        /// New state.
        on: bool,
    },
}

impl Action {
    /// Short kind name (`scale`, `wait`, `shift`, `alb`, `restore`), as policy tests use.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Scale { .. } => "scale",
            Action::WaitForCapacity { .. } => "wait",
            Action::SetWeights { .. } => "shift",
            Action::SetAlb { .. } => "alb",
            Action::RestoreRequired { .. } => "restore",
            Action::SetSwitch { .. } => "switch",
        }
    }
}

/// Why weights move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShiftPurpose {
    /// Off unhealthy, unknown or drained regions (exempt from step limits and cooldown).
    Evacuate,
    /// Only what receiver capacity can carry, after the bounded wait ran out.
    Partial,
    /// Back to a recovered region, in stages.
    Failback,
}

/// One record's weight change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WeightChange {
    /// Cell index.
    pub cell: u32,
    /// Local region index.
    pub r: u16,
    /// Current weight (`None`: record missing).
    pub from: Option<u8>,
    /// New weight.
    pub to: u8,
}

/// Why a step exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Reason {
    /// A region is unhealthy.
    RegionUnhealthy {
        /// Local region index.
        r: usize,
        /// Verdict.
        verdict: Verdict,
        /// Since when.
        since: Timestamp,
        /// Evidence.
        evidence: RegionEvidence,
        /// Cells affected (all cells when the whole region is unhealthy).
        cells: usize,
    },
    /// A region's health is unknown: it receives no traffic.
    RegionUnknown {
        /// Local region index.
        r: usize,
        /// Cells affected.
        cells: usize,
    },
    /// An operator drained the region.
    OverrideDrain {
        /// Local region index.
        r: usize,
        /// Who.
        who: String,
        /// Why.
        why: String,
        /// Until.
        until: Timestamp,
    },
    /// Receivers are pre-scaled for their new share.
    PreScale {
        /// Local region index.
        r: usize,
        /// Share before, percent of the service.
        share_from: u32,
        /// Share after.
        share_to: u32,
    },
    /// Capacity first: the strategy waits for running capacity before shifting.
    CapacityFirst {
        /// Strategy.
        strategy: Strategy,
    },
    /// The source is hard down: shift at once, capacity or not.
    SourceHardDown {
        /// Local region index.
        r: usize,
    },
    /// Capacity did not arrive within the bound: shift what it can carry.
    CapacityTimeout {
        /// Local region index of the receiver.
        r: usize,
        /// Running.
        running: u32,
        /// Needed.
        needed: u32,
    },
    /// Lambda covers the gap until Fargate is ready.
    LambdaCover {
        /// Local region index.
        r: usize,
        /// Running Fargate tasks.
        running: u32,
        /// Needed.
        needed: u32,
    },
    /// A load alarm moves traffic between Fargate and Lambda.
    Load {
        /// Local region index.
        r: usize,
        /// In ALARM (burst to Lambda) or back to OK.
        in_alarm: bool,
    },
    /// A recovered region gets traffic back, one stage at a time.
    Failback {
        /// Local region index.
        r: usize,
        /// Stage, percent of the region's baseline share.
        stage_percent: u32,
        /// Healthy since.
        healthy_since: Timestamp,
    },
    /// The region is eligible again: its data-plane switch lets Route 53 answer it (the
    /// weights decide its share).
    SwitchOn {
        /// Local region index.
        r: usize,
    },
    /// The incident is over: capacity returns to steady state.
    IncidentOver,
    /// A region needs restoring from backup (`backup-restore`).
    RestoreRequired {
        /// Local region index.
        r: usize,
    },
    /// Steps of a dependency come first.
    DependsOn {
        /// The dependency's name.
        service: String,
    },
}

/// An alert raised by planning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// Kind, e.g. `hold-fail-static`.
    pub kind: AlertKind,
    /// Service name.
    pub service: String,
    /// What happened, for people.
    pub message: String,
}

/// Alert kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertKind {
    /// No healthy region for a cell: the last good state is held.
    HoldFailStatic,
    /// Too few healthy regions would remain: evacuation held.
    HoldMinHealthyRegions,
    /// A quorum of observers cannot reach a region whose users are served: not evacuated
    /// (the served veto, ADR 0015).
    HoldUsersServed,
    /// Only part of the traffic could move (capacity).
    Partial,
    /// Traffic moved before receiver capacity was ready (source hard down).
    ShiftBeforeCapacity,
    /// A backup-restore service needs a restore.
    RestoreRequired,
    /// The guard rejected a plan.
    GuardViolation,
    /// A decision's intent could not be recorded in the journal: nothing was applied
    /// (raised by the controller: the planner never sees the journal).
    IntentUnrecorded,
    /// Journal items were not believed (forged, malformed, dated in the future): raised by
    /// the controller.
    JournalItemRejected,
}

impl AlertKind {
    /// Kebab-case name, as policy tests spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::HoldFailStatic => "hold-fail-static",
            AlertKind::HoldMinHealthyRegions => "hold-min-healthy-regions",
            AlertKind::HoldUsersServed => "hold-users-served",
            AlertKind::Partial => "partial",
            AlertKind::ShiftBeforeCapacity => "shift-before-capacity",
            AlertKind::RestoreRequired => "restore-required",
            AlertKind::GuardViolation => "guard-violation",
            AlertKind::IntentUnrecorded => "intent-unrecorded",
            AlertKind::JournalItemRejected => "journal-item-rejected",
        }
    }
}

/// Everything the planner reads.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The policy bundle.
    pub bundle: &'a Bundle,
    /// The health view.
    pub health: &'a HealthView,
    /// The live state.
    pub live: &'a LiveState,
    /// Operator controls.
    pub controls: &'a Controls,
    /// Now.
    pub now: Timestamp,
}

/// Plans every service.
pub fn plan(inputs: Inputs<'_>) -> Plan {
    let bundle = inputs.bundle;
    let outcomes = bundle
        .dependency_order
        .iter()
        .map(|&s| (s, service::plan_service(&inputs, s)));
    let mut steps: Vec<Step> = Vec::new();
    let mut services = Vec::with_capacity(bundle.services.len());
    let mut alerts = Vec::new();
    // The steps of each service (contiguous in `steps`), to order dependants after them.
    let mut steps_of: Vec<std::ops::Range<usize>> = vec![0..0; bundle.services.len()];
    for (s, outcome) in outcomes {
        let service = &bundle.services[s];
        let steps_of_dependency = |d: &usize| steps_of.get(*d).cloned().unwrap_or(0..0);
        let dependency_steps: Vec<usize> = service
            .depends_on
            .iter()
            .flat_map(steps_of_dependency)
            .collect();
        let offset = steps.len();
        for (i, local) in outcome.steps.into_iter().enumerate() {
            let mut after = local.after;
            after.iter_mut().for_each(|a| *a += offset);
            let mut reasons = local.reasons;
            if after.is_empty() && !dependency_steps.is_empty() {
                after.extend(dependency_steps.iter().copied());
                for d in &service.depends_on {
                    if !steps_of_dependency(d).is_empty() {
                        reasons.push(Reason::DependsOn {
                            service: bundle.services[*d].name.clone(),
                        });
                    }
                }
            }
            steps.push(Step {
                id: offset + i,
                service: s,
                action: local.action,
                after,
                reasons,
                plane: local.plane,
                discretionary: local.discretionary,
                takes_effect_secs: local.takes_effect_secs,
            });
        }
        if let Some(range) = steps_of.get_mut(s) {
            *range = offset..steps.len();
        }
        alerts.extend(outcome.alerts);
        services.push(outcome.plan);
    }
    // Dependency order is index order but for dependants: nearly sorted, few moves.
    services.sort_by_key(|p| p.service);
    debug_assert!(is_acyclic(&steps), "plan steps must form a DAG");
    Plan {
        bundle_hash: bundle.hash.clone(),
        at: inputs.now,
        paused: inputs.controls.paused.clone(),
        steps,
        services,
        alerts,
    }
}

/// What happens to `service`'s steps: its mode decides, unless the fleet is paused.
fn disposition(inputs: &Inputs<'_>, service: &crate::policy::Service) -> Disposition {
    if inputs.controls.paused.is_some() {
        Disposition::Paused
    } else {
        match service.mode {
            Mode::Observe => Disposition::RecordOnly,
            Mode::Propose => Disposition::AwaitApproval,
            Mode::Enforce => Disposition::Apply,
        }
    }
}

/// The DAG of a plan's steps (edges: prerequisite → step).
pub fn graph(steps: &[Step]) -> DiGraph<usize, ()> {
    let mut g = DiGraph::with_capacity(steps.len(), steps.len());
    let nodes: Vec<_> = steps.iter().map(|s| g.add_node(s.id)).collect();
    for s in steps {
        for &a in &s.after {
            if let (Some(from), Some(to)) = (nodes.get(a), nodes.get(s.id)) {
                g.add_edge(*from, *to, ());
            }
        }
    }
    g
}

/// True when the steps form a DAG in which every step comes after its prerequisites.
pub fn is_acyclic(steps: &[Step]) -> bool {
    petgraph::algo::toposort(&graph(steps), None).is_ok()
        && steps.iter().all(|s| s.after.iter().all(|a| *a < s.id))
}

/// The traffic split once the plan has completed: service → cell → region → percent.
pub fn resulting_traffic(
    bundle: &Bundle,
    plan: &Plan,
) -> BTreeMap<String, BTreeMap<String, BTreeMap<String, u32>>> {
    let mut out = BTreeMap::new();
    for sp in &plan.services {
        let service = &bundle.services[sp.service];
        out.insert(
            service.name.clone(),
            traffic_of(service, &sp.target_weights),
        );
    }
    out
}

/// The traffic split implied by weights (per (cell, local region)).
pub fn traffic_of(
    service: &crate::policy::Service,
    weights: &Grid<u8>,
) -> BTreeMap<String, BTreeMap<String, u32>> {
    let nr = service.regions.len();
    let mut cells = BTreeMap::new();
    for (c, cell) in service.cells.iter().enumerate() {
        let w: Vec<u32> = (0..nr)
            .map(|r| u32::from(weights.get(c, r).copied().unwrap_or(0)))
            .collect();
        let pct = crate::traffic::percent_split(&w);
        let split = service
            .regions
            .iter()
            .zip(pct)
            .map(|(sr, p)| (sr.name.clone(), p))
            .collect();
        cells.insert(cell.id.clone(), split);
    }
    cells
}

#[cfg(test)]
mod tests;

/// Share of each region within one cell (an equal spread if all weights are zero, as
/// Route 53 answers an all-zero set).
pub fn cell_shares_pub(weights: &[u8]) -> Vec<f64> {
    service::cell_shares(weights)
}
