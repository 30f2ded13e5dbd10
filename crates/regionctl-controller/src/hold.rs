//! A hold is a decision: when the plan holds a service (fail static: a cell with no healthy
//! region; too few healthy regions to evacuate; a region whose users are served though a
//! quorum of observers cannot reach it, ADR 0015), the controller records a decision with
//! status `held` and its reasons, once per incident and hold.
//!
//! # Design
//!
//! A hold changes nothing, so before this it left no record: after the incident, `status`
//! and `explain` could not answer "why did it not fail over at 06:02?" (issue 17). A held
//! decision is recorded like any other (an intent, an outcome, a `regionctl Decision`
//! event), with no steps. Its id hashes the decision id the plan would have had (service,
//! bundle, episode, target state) with the hold's kind and message, so the same hold in one
//! incident is recorded once, by whichever controller reaches it first; a different hold,
//! or the same one in a later incident, is a new record (ADR 0012 §4). A hold is not an
//! action, so a journal that refuses it only warns.

use crate::decide::DecideInput;
use crate::journal::{self, DecisionRecord, OutcomeRecord};
use crate::ports::World;
use crate::record::{RecordInput, decision_record};
use crate::report::DecisionSummary;
use crate::status::{OutcomeStatus, PlaneSummary};
use regionctl_core::plan::{Alert, AlertKind, ServicePlan};
use sha2::{Digest, Sha256};

/// The plan's holds of services without steps, recorded once each (only the new ones
/// are returned).
pub async fn record_holds<W: World>(world: &W, input: &DecideInput<'_>) -> Vec<DecisionSummary> {
    let mut out = Vec::new();
    for alert in input.plan.alerts.iter().filter(|a| is_hold(a.kind)) {
        let Some(sp) = input
            .plan
            .services
            .iter()
            .find(|sp| sp.name == alert.service)
        else {
            continue;
        };
        if input.plan.steps_of(sp.service).next().is_some() {
            continue;
        }
        if let Some(summary) = record_hold(world, input, sp, alert).await {
            crate::decide::decision_span(&summary.service, &summary.id)
                .in_scope(|| crate::decide::log_decision(&summary));
            out.push(summary);
        }
    }
    out
}

/// The alerts that mean "held, nothing moves".
fn is_hold(kind: AlertKind) -> bool {
    matches!(
        kind,
        AlertKind::HoldFailStatic | AlertKind::HoldMinHealthyRegions | AlertKind::HoldUsersServed
    )
}

/// The held decision of `sp` for `alert`.
pub fn held_record(input: &DecideInput<'_>, sp: &ServicePlan, alert: &Alert) -> DecisionRecord {
    let mut record = decision_record(&RecordInput {
        inputs: &input.plan_inputs(),
        episode: input.episodes.get(&sp.name).copied(),
        region: &input.ctx.region,
        plan: input.plan,
        sp,
        steps: &[],
    });
    let mut h = Sha256::new();
    h.update(record.id.as_bytes());
    h.update([0]);
    h.update(alert.kind.as_str().as_bytes());
    h.update([0]);
    h.update(alert.message.as_bytes());
    if alert.kind == AlertKind::HoldUsersServed {
        // One partition, one hold: the message names nothing that changes from pass to
        // pass, so without the time the overruled probes began failing, the next identical
        // partition would hash to this one's id and never be recorded.
        let evidence = input.health.services.get(sp.service).map(|h| &h.evidence);
        for since in evidence
            .into_iter()
            .flatten()
            .filter_map(|e| e.vetoed_since)
        {
            h.update(since.millis().to_le_bytes());
        }
    }
    record.id = h
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    record.disposition = "held".into();
    record
}

/// Records one hold if it is new: intent, outcome `held`, event.
async fn record_hold<W: World>(
    world: &W,
    input: &DecideInput<'_>,
    sp: &ServicePlan,
    alert: &Alert,
) -> Option<DecisionSummary> {
    let record = held_record(input, sp, alert);
    let mut warnings = Vec::new();
    match world.put_new(&journal::intent_item(&record)).await {
        Ok(false) => return None,
        Ok(true) => {}
        Err(e) => warnings.push(format!("hold not recorded: {}", e.message())),
    }
    let now = world.now();
    let outcome = OutcomeRecord {
        id: record.id.clone(),
        service: record.service.clone(),
        region: input.ctx.region.clone(),
        status: OutcomeStatus::Held,
        at: now,
        started: now,
        steps: Vec::new(),
        calls: 0,
        discretionary: false,
        planes: PlaneSummary::default(),
        round: 0,
    };
    if warnings.is_empty() {
        if let Err(e) = world.put(&journal::outcome_item(&outcome)).await {
            warnings.push(format!("hold outcome not recorded: {}", e.message()));
        }
        let detail = serde_json::json!({ "decision": record, "outcome": outcome });
        if let Err(e) = world.publish("regionctl Decision", &detail).await {
            warnings.push(format!("decision event not published: {}", e.message()));
        }
    }
    Some(DecisionSummary {
        new: warnings.is_empty(),
        service: record.service,
        id: record.id,
        status: OutcomeStatus::Held,
        log: Vec::new(),
        calls: 0,
        switched: Vec::new(),
        written: Vec::new(),
        warnings,
        unwritten: Vec::new(),
        unrecorded: None,
        alerts: Vec::new(),
        moved_at: None,
    })
}

#[cfg(test)]
mod tests;
