//! The pass's decide stage, per service with steps: record the intent (its id is a content
//! hash, so two controllers reaching it record it once), decide whether it may be applied
//! (the mode; for `propose`, an approval in time), check its steps again with the guard
//! over the live state read afresh and apply them ([`crate::apply`]) — or hold them, with
//! an alert, if the guard refuses — record the outcome and publish the decision.
//!
//! Controllers other than the discretionary leader apply what is not discretionary (an
//! evacuation, a switch back on) and leave the discretionary steps of the same plan (the
//! next failback stage, the scale-down after an incident) to the leader. The decision
//! recorded is the whole plan either way: its id is the target state, the same for both.

use crate::apply::{BatchGuard, apply_steps};
use crate::approval::{self, Proposal};
use crate::journal::{self, DecisionRecord, OutcomeRecord};
use crate::pace::Route53Pace;
use crate::pending::PendingWrite;
use crate::ports::{PortError, World};
use crate::reconcile::Context;
use crate::record::{RecordInput, decision_record};
use crate::report::DecisionSummary;
use crate::status::{OutcomeStatus, PlaneSummary, RecordedStep, StepStatus};
use regionctl_core::controls::Controls;
use regionctl_core::guard::{self, Checked, Violation};
use regionctl_core::health::HealthView;
use regionctl_core::live::LiveState;
use regionctl_core::plan::{AlertKind, Disposition, Inputs, Plan, ServicePlan, Step};
use regionctl_core::time::Timestamp;
use std::collections::BTreeMap;
use tracing::Instrument;

/// What the decide stage reads.
#[derive(Debug, Clone, Copy)]
pub struct DecideInput<'a> {
    /// Who decides.
    pub ctx: &'a Context<'a>,
    /// This pass's plan.
    pub plan: &'a Plan,
    /// The health view it was made from (as evaluated, not the leader's planning copy).
    pub health: &'a HealthView,
    /// The live state it was made from (zones from this controller's copy re-read): the
    /// state the guard checks the steps against again just before applying them.
    pub live: &'a LiveState,
    /// The operator controls it was made with.
    pub controls: &'a Controls,
    /// This controller makes discretionary moves.
    pub leader: bool,
    /// The start of each service's open episode ([`crate::episode`]), by name: part of
    /// its decisions' ids.
    pub episodes: &'a BTreeMap<String, Timestamp>,
    /// What this pass may still do with Route 53 ([`crate::pace`]).
    pub pace: &'a Route53Pace,
    /// Now.
    pub now: Timestamp,
}

impl<'a> DecideInput<'a> {
    /// What the plan was made from, as the planner and the guard read it.
    pub fn plan_inputs(&self) -> Inputs<'a> {
        Inputs {
            bundle: self.ctx.bundle,
            health: self.health,
            live: self.live,
            controls: self.controls,
            now: self.now,
        }
    }
}

/// One service's steps as this controller takes them.
#[derive(Debug, Clone)]
pub struct ServiceSteps<'p> {
    /// The service's plan.
    pub sp: &'p ServicePlan,
    /// All its steps, in plan order (the decision recorded).
    pub steps: Vec<&'p Step>,
    /// The ones this controller applies: all for the leader, the others without the
    /// discretionary ones.
    pub applicable: Vec<&'p Step>,
}

/// Decides (and, where allowed, applies) every service with steps this controller may take.
pub async fn decide_all<W: World>(world: &W, input: &DecideInput<'_>) -> Vec<DecisionSummary> {
    let mut decisions = Vec::new();
    for sp in &input.plan.services {
        let steps: Vec<&Step> = input.plan.steps_of(sp.service).collect();
        if steps.is_empty() || (!input.leader && steps.iter().all(|s| s.discretionary)) {
            continue;
        }
        let applicable: Vec<&Step> = steps
            .iter()
            .copied()
            .filter(|s| input.leader || !s.discretionary)
            .collect();
        if input.pace.defers(sp.service, &sp.name, &applicable) {
            continue;
        }
        let service = ServiceSteps {
            sp,
            steps,
            applicable,
        };
        let decision = decide(world, input, &service).await;
        // An intent the journal would not take: change nothing more this pass (the pass
        // stands down on it; the next one tries again, level-triggered).
        let stop = decision.unrecorded.is_some();
        decisions.push(decision);
        if stop {
            return decisions;
        }
    }
    decisions.extend(crate::hold::record_holds(world, input).await);
    decisions
}

/// One service's decision: intent, approval, apply, outcome.
pub async fn decide<W: World>(
    world: &W,
    input: &DecideInput<'_>,
    service: &ServiceSteps<'_>,
) -> DecisionSummary {
    let ctx = input.ctx;
    let sp = service.sp;
    let record = decision_record(&RecordInput {
        inputs: &input.plan_inputs(),
        episode: input.episodes.get(&sp.name).copied(),
        region: &ctx.region,
        plan: input.plan,
        sp,
        steps: &service.steps,
    });
    let span = decision_span(&record.service, &record.id);
    let summary = decide_recorded(world, input, service, record)
        .instrument(span.clone())
        .await;
    span.in_scope(|| log_decision(&summary));
    summary
}

/// The span of one decision: its intent, approval, steps and outcome log in it.
pub(crate) fn decision_span(service: &str, id: &str) -> tracing::Span {
    tracing::info_span!("decision", service = %service, decision_id = %id)
}

/// Logs a decision's outcome, in its span (its steps logged theirs: [`crate::apply`]).
pub(crate) fn log_decision(d: &DecisionSummary) {
    let effects = d.log.join(", ");
    let trouble = matches!(
        d.status,
        OutcomeStatus::Failed
            | OutcomeStatus::Partial
            | OutcomeStatus::Held
            | OutcomeStatus::ApprovalExpired
            | OutcomeStatus::Unrecorded
    );
    if trouble {
        tracing::warn!(new = d.new, status = %d.status, calls = d.calls, effects, "decision");
    } else {
        tracing::info!(new = d.new, status = %d.status, calls = d.calls, effects, "decision");
    }
    for warning in &d.warnings {
        tracing::warn!(warning = %warning, "decision not fully recorded");
    }
}

/// [`decide`] once its record (and id) is made.
async fn decide_recorded<W: World>(
    world: &W,
    input: &DecideInput<'_>,
    service: &ServiceSteps<'_>,
    record: DecisionRecord,
) -> DecisionSummary {
    let ctx = input.ctx;
    let sp = service.sp;
    let new = match record_intent(world, &record).await {
        Intent::Written => true,
        Intent::Found => false,
        Intent::Unrecorded(why) => return unrecorded(record, &sp.name, why),
    };
    let proposal = propose(world, input, sp.disposition, &record, new).await;
    let may_apply = sp.disposition == Disposition::Apply
        || proposal.is_some_and(|(p, _)| p == Proposal::Approved);
    let started = world.now();
    let mut execution = if may_apply {
        guard_and_execute(world, input, service).await
    } else {
        Execution::not_applied(sp.disposition, proposal.map(|(p, _)| p))
    };
    // A decision applied over several passes keeps what earlier passes of this controller
    // did on planes this pass did not need (the switch flipped in the first pass, the
    // weights retried until the control plane answers).
    if may_apply {
        for earlier in own_outcomes(world, &record, &ctx.region).await {
            execution.planes.keep(earlier.planes);
        }
    }
    let outcome = OutcomeRecord {
        id: record.id.clone(),
        service: record.service.clone(),
        region: ctx.region.clone(),
        status: execution.status,
        at: world.now(),
        started,
        steps: execution.steps,
        calls: execution.calls,
        discretionary: record.discretionary && execution.status == OutcomeStatus::Applied,
        planes: execution.planes,
        round: proposal.map_or(0, |(p, _)| p.round()),
    };
    let Recorded {
        warnings,
        unwritten,
    } = record_outcome(
        world,
        &record,
        &outcome,
        Publish {
            new,
            may_apply,
            announce: proposal.is_some_and(|(p, _)| p.announces()),
            recorder: proposal.is_some_and(|(_, recorder)| recorder),
        },
    )
    .await;
    DecisionSummary {
        warnings,
        unwritten,
        unrecorded: None,
        alerts: execution.alerts,
        moved_at: outcome.discretionary.then_some(outcome.at),
        service: record.service,
        id: record.id,
        new,
        status: outcome.status,
        log: execution.log,
        calls: execution.calls,
        switched: execution.switched,
        written: execution.written,
    }
}

/// Whether a decision's intent is in the journal, the condition for applying anything.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Intent {
    /// This pass wrote it.
    Written,
    /// It was there already (a peer, or an earlier pass, recorded it).
    Found,
    /// Neither written nor found on reading back: why.
    Unrecorded(String),
}

/// Records `record`'s intent. A write that fails may have landed anyway (a timeout after
/// DynamoDB accepted it) or found a peer's already there, so it is read back: only an
/// intent seen in the journal lets the steps run. Reading a failed write as "already
/// recorded" applied steps nobody had recorded (issue 17).
async fn record_intent<W: World>(world: &W, record: &DecisionRecord) -> Intent {
    let error = match world.put_new(&journal::intent_item(record)).await {
        Ok(true) => return Intent::Written,
        Ok(false) => return Intent::Found,
        Err(e) => e,
    };
    #[cfg(feature = "planted-bugs")]
    if regionctl_core::planted::active(regionctl_core::planted::Bug::ApplyUnrecorded) {
        return Intent::Found;
    }
    match read_intent(world, &record.service, &record.id).await {
        Ok(Some(_)) => Intent::Found,
        Ok(None) => Intent::Unrecorded(format!(
            "intent not written ({}) and not in the journal when read back",
            error.message()
        )),
        Err(read) => Intent::Unrecorded(format!(
            "intent not written ({}) and not readable back ({})",
            error.message(),
            read.message()
        )),
    }
}

/// A decision whose intent could not be recorded: nothing applied, nothing else recorded
/// (the journal refused), an alert; the pass stands down ([`crate::reconcile`]) and the
/// next one tries again.
fn unrecorded(record: DecisionRecord, name: &str, why: String) -> DecisionSummary {
    let alert = format!(
        "{name} [{}]: decision {} not applied: {why}",
        AlertKind::IntentUnrecorded.as_str(),
        record.id
    );
    DecisionSummary {
        service: record.service,
        id: record.id,
        new: false,
        status: OutcomeStatus::Unrecorded,
        log: Vec::new(),
        calls: 0,
        switched: Vec::new(),
        written: Vec::new(),
        warnings: Vec::new(),
        unwritten: Vec::new(),
        unrecorded: Some(why),
        alerts: vec![alert],
        moved_at: None,
    }
}

/// Where a `propose` decision stands this pass, and whether this controller recorded its
/// intent (it publishes the new rounds); `None` for other dispositions. An intent that
/// cannot be read back leaves it awaiting: never approved on a time it cannot know.
async fn propose<W: World>(
    world: &W,
    input: &DecideInput<'_>,
    disposition: Disposition,
    record: &DecisionRecord,
    new: bool,
) -> Option<(Proposal, bool)> {
    let ctx = input.ctx;
    if disposition != Disposition::AwaitApproval {
        return None;
    }
    let intent = if new {
        Some((record.at, true))
    } else {
        read_intent(world, &record.service, &record.id)
            .await
            .ok()
            .flatten()
            .map(|d| (d.at, d.recorded_by == ctx.region))
    };
    let Some((first, recorder)) = intent else {
        return Some((
            Proposal::Awaiting {
                round: 0,
                fresh: false,
            },
            false,
        ));
    };
    let timeout = (first, ctx.approval_timeout_secs);
    let p = approval::proposal(world, record, timeout, (&ctx.region, new), input.now).await;
    Some((p, recorder))
}

/// A decision's intent as the journal holds it (none: not there).
async fn read_intent<W: World>(
    world: &W,
    service: &str,
    id: &str,
) -> Result<Option<DecisionRecord>, PortError> {
    let items = world
        .query(&format!("DECISION#{service}"), &format!("{id}#INTENT"))
        .await?;
    Ok(items
        .into_iter()
        .flatten()
        .find_map(|it| serde_json::from_value::<DecisionRecord>(it.body).ok()))
}

/// This controller's earlier outcomes of `record` (none if unreadable).
pub(crate) async fn own_outcomes<W: crate::ports::Journal>(
    world: &W,
    record: &DecisionRecord,
    region: &str,
) -> Vec<OutcomeRecord> {
    world
        .query(
            &format!("DECISION#{}", record.service),
            &format!("{}#OUTCOME#{region}", record.id),
        )
        .await
        .map(|items| {
            items
                .into_iter()
                .flatten()
                .filter_map(|it| serde_json::from_value::<OutcomeRecord>(it.body).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// What applying (or not applying) a decision this pass did.
#[derive(Debug, Clone)]
struct Execution {
    status: OutcomeStatus,
    steps: Vec<RecordedStep>,
    calls: u32,
    log: Vec<String>,
    planes: PlaneSummary,
    switched: Vec<((usize, usize), bool)>,
    written: Vec<(String, String, String, u8)>,
    alerts: Vec<String>,
}

impl Execution {
    /// A decision its disposition (or, awaiting approval, its `proposal`) keeps from
    /// being applied this pass.
    fn not_applied(disposition: Disposition, proposal: Option<Proposal>) -> Self {
        let status = match disposition {
            Disposition::RecordOnly => OutcomeStatus::RecordedOnly,
            Disposition::AwaitApproval => proposal
                .and_then(Proposal::status)
                .unwrap_or(OutcomeStatus::AwaitingApproval),
            Disposition::Paused => OutcomeStatus::Paused,
            Disposition::Apply => OutcomeStatus::Applied,
        };
        Execution {
            status,
            steps: Vec::new(),
            calls: 0,
            log: Vec::new(),
            planes: PlaneSummary::default(),
            switched: Vec::new(),
            written: Vec::new(),
            alerts: Vec::new(),
        }
    }

    /// Steps the guard refused just before applying them: nothing applied; the outcome
    /// says why, and an alert is raised.
    fn held(service: &ServiceSteps<'_>, name: &str, violations: &[Violation]) -> Self {
        let why: Vec<String> = violations.iter().map(ToString::to_string).collect();
        let why = why.join("; ");
        let held = vec![RecordedStep::Held(why.clone()); service.applicable.len()];
        Execution {
            status: OutcomeStatus::Held,
            steps: recorded_steps(&service.steps, &service.applicable, held),
            calls: 0,
            log: Vec::new(),
            planes: PlaneSummary::default(),
            switched: Vec::new(),
            written: Vec::new(),
            alerts: vec![format!(
                "{name} [{}]: steps held by the safety guard before apply: {why}",
                AlertKind::GuardViolation.as_str()
            )],
        }
    }
}

/// Checks the service's applicable steps again over the live state as this pass has it
/// (DESIGN.md: the safety rules hold in the plan and again before apply), then applies
/// them, or holds them if the guard refuses. The health view is the one evaluated; the
/// leader's planning copy differs from it only in when regions became healthy, which no
/// rule reads.
async fn guard_and_execute<W: World>(
    world: &W,
    input: &DecideInput<'_>,
    service: &ServiceSteps<'_>,
) -> Execution {
    let sp = service.sp;
    let inputs = input.plan_inputs();
    match guard::check_steps(
        &inputs,
        sp.service,
        service.applicable.clone(),
        &sp.exemptions,
    ) {
        Ok(checked) => {
            let batches = BatchGuard {
                inputs: &inputs,
                exemptions: &sp.exemptions,
                pace: input.pace,
            };
            execute(world, &batches, service, &checked).await
        }
        Err(violations) => Execution::held(service, &sp.name, &violations),
    }
}

/// Applies the service's checked steps and sums up how they ended.
async fn execute<W: World>(
    world: &W,
    batches: &BatchGuard<'_>,
    service: &ServiceSteps<'_>,
    checked: &Checked<Vec<&Step>>,
) -> Execution {
    let applied = apply_steps(world, batches, checked).await;
    let mut planes = PlaneSummary::default();
    for (step, status) in service.applicable.iter().zip(&applied.statuses) {
        planes.add(step.plane.as_str(), status);
    }
    let status = if applied
        .statuses
        .iter()
        .any(|s| matches!(s, StepStatus::Failed(_)))
    {
        OutcomeStatus::Failed
    } else if applied
        .statuses
        .iter()
        .any(|s| matches!(s, StepStatus::Waiting | StepStatus::Skipped))
    {
        OutcomeStatus::Waiting
    } else if service.sp.partial {
        OutcomeStatus::Partial
    } else {
        OutcomeStatus::Applied
    };
    let applied_steps = applied
        .statuses
        .iter()
        .cloned()
        .map(RecordedStep::Applied)
        .collect();
    Execution {
        status,
        steps: recorded_steps(&service.steps, &service.applicable, applied_steps),
        calls: applied.calls,
        log: applied.log,
        planes,
        switched: applied.switched,
        written: applied.written,
        alerts: Vec::new(),
    }
}

/// One status per recorded step: `outcomes` for the `applicable` ones (in order), and the
/// ones left to the discretionary leader say so.
fn recorded_steps(
    steps: &[&Step],
    applicable: &[&Step],
    outcomes: Vec<RecordedStep>,
) -> Vec<RecordedStep> {
    let mut done = applicable.iter().zip(outcomes).peekable();
    steps
        .iter()
        .map(|st| match done.next_if(|(a, _)| a.id == st.id) {
            Some((_, outcome)) => outcome,
            None => RecordedStep::LeftToLeader,
        })
        .collect()
}

/// Which records an outcome gets.
#[derive(Debug, Clone, Copy)]
struct Publish {
    /// This pass recorded the intent.
    new: bool,
    /// This pass applied it.
    may_apply: bool,
    /// A `propose` decision's round changed this pass (lapsed, or proposed afresh).
    announce: bool,
    /// This controller recorded the intent (it announces new rounds).
    recorder: bool,
}

/// What the outcome stage could not do.
#[derive(Debug, Clone, Default)]
struct Recorded {
    /// What could not be recorded or published, one line each.
    warnings: Vec<String>,
    /// The records the journal refused, to be written again next pass.
    unwritten: Vec<PendingWrite>,
}

/// Records the cooldown's start (after a discretionary move), the outcome (when something
/// happened, or once for record-only decisions) and publishes the decision event. What
/// the journal refuses is handed back to be retried: the effects are made, so their record
/// must follow ([`crate::pending`]).
async fn record_outcome<W: World>(
    world: &W,
    record: &DecisionRecord,
    outcome: &OutcomeRecord,
    publish: Publish,
) -> Recorded {
    let mut recorded = Recorded::default();
    if outcome.discretionary {
        let item = journal::last_move_item(&outcome.service, &outcome.region, outcome.at);
        if let Err(e) = world.put(&item).await {
            recorded.warnings.push(format!(
                "cooldown start not recorded (retried next pass; no failback until it is): {}",
                e.message()
            ));
            recorded
                .unwritten
                .push(PendingWrite::last_move(&outcome.service, item));
        }
    }
    if publish.may_apply || publish.new || publish.announce {
        let item = journal::outcome_item(outcome);
        if let Err(e) = world.put(&item).await {
            recorded.warnings.push(format!(
                "outcome not recorded (retried next pass): {}",
                e.message()
            ));
            recorded.unwritten.push(PendingWrite::outcome(item));
        }
    }
    if publish.new || publish.may_apply || (publish.announce && publish.recorder) {
        let detail = serde_json::json!({ "decision": record, "outcome": outcome });
        if let Err(e) = world.publish("regionctl Decision", &detail).await {
            recorded
                .warnings
                .push(format!("decision event not published: {}", e.message()));
        }
    }
    recorded
}

#[cfg(test)]
mod tests;
