//! The served veto as a hold: a region that a quorum of observers cannot reach while its
//! users are served is not evacuated (health evaluation decides that, ADR 0015); the plan
//! says so with a `hold-users-served` alert, which the controller records as a held
//! decision naming both sides of the evidence.

use super::Context;
use crate::plan::{Alert, AlertKind};
use crate::policy::raw::SignalRole;

/// The veto's alert for every region whose probe quorum the served signals overruled this
/// pass, or none. The message names no counts that change from pass to pass, so one
/// partition is recorded once (the held decision's id hashes the message and the time the
/// overruled probes began failing, `RegionEvidence::vetoed_since`, so the next partition
/// is a new record).
pub(super) fn served_veto_alert(cx: &Context<'_>) -> Option<Alert> {
    let parts: Vec<String> = (0..cx.nr)
        .filter(|r| cx.health.evidence.get(*r).is_some_and(|e| e.vetoed))
        .map(|r| {
            let served: Vec<&str> = cx
                .service
                .health
                .alarms
                .iter()
                .filter(|b| b.r == r && b.role == SignalRole::Served)
                .map(|b| b.name.as_str())
                .collect();
            format!(
                "{}: observers cannot reach it, its users can (a quorum of observers' probes \
                 fail; served: {} OK; no failure alarm in ALARM)",
                cx.service.regions[r].name,
                served.join(", ")
            )
        })
        .collect();
    (!parts.is_empty()).then(|| Alert {
        kind: AlertKind::HoldUsersServed,
        service: cx.service.name.clone(),
        message: format!("not evacuated: {}", parts.join("; ")),
    })
}
