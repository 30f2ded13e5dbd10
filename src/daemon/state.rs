//! What the admin server shows: the last pass, metrics, readiness. Computed from values the
//! loop already has; updated once per pass.

use crate::daemon::metrics::Metrics;
use regionctl_controller::reconcile::PassReport;
use regionctl_core::health::{HealthView, RegionEvidence, explain};
use regionctl_core::policy::{Bundle, Service};
use std::time::{Duration, Instant};

/// Shared daemon state.
pub struct State {
    /// Controller region.
    pub region: String,
    /// Bundle hash in force.
    pub bundle_hash: String,
    /// Passes completed.
    pub passes: u64,
    /// When the last pass ended.
    pub last_pass: Option<Instant>,
    /// Tick length, for readiness.
    pub tick: Duration,
    /// The `/metrics` series.
    pub metrics: Metrics,
    /// Alerts active after the last pass.
    pub alerts_active: usize,
    /// 1 when acting with quorum, 0 when standing down.
    pub quorum: u8,
    /// Last reload error.
    pub reload_error: Option<String>,
    /// The last pass's status document (`/status`).
    pub status: serde_json::Value,
    /// The most recent decisions this controller took part in, newest first.
    pub recent: std::collections::VecDeque<RecentDecision>,
}

/// How many recent decisions the status page keeps.
pub const RECENT_DECISIONS: usize = 20;

/// One decision, as the status page lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RecentDecision {
    /// When (epoch milliseconds).
    pub at_ms: i64,
    /// Service.
    pub service: String,
    /// Decision id (for `regionctl explain`).
    pub id: String,
    /// Outcome status in this controller.
    pub status: String,
}

impl State {
    /// Before the first pass; `metrics` are this controller's series ([`Metrics::new`]).
    pub fn new(region: &str, bundle: &Bundle, metrics: Metrics) -> Self {
        State {
            region: region.to_string(),
            bundle_hash: bundle.hash.clone(),
            passes: 0,
            last_pass: None,
            tick: Duration::from_secs(bundle.tick_secs()),
            metrics,
            alerts_active: 0,
            quorum: 0,
            reload_error: None,
            status: serde_json::Value::Null,
            recent: std::collections::VecDeque::new(),
        }
    }

    /// Ready: a pass completed within three ticks.
    pub fn ready(&self) -> bool {
        self.last_pass
            .is_some_and(|t| t.elapsed() < self.tick * 3 + Duration::from_secs(30))
    }

    /// Records a reload attempt.
    pub fn reloaded(&mut self, bundle: &Bundle, ok: bool, error: Option<String>) {
        self.metrics.reloaded(ok);
        self.bundle_hash = bundle.hash.clone();
        self.reload_error = error;
    }

    /// Records a pass.
    pub fn record_pass(
        &mut self,
        bundle: &Bundle,
        report: &PassReport,
        health: &HealthView,
        elapsed: Duration,
        alerts: usize,
    ) {
        self.passes += 1;
        self.last_pass = Some(Instant::now());
        self.bundle_hash = bundle.hash.clone();
        self.metrics.record_pass(report, elapsed, alerts);
        self.alerts_active = alerts;
        self.quorum = u8::from(report.stand_down.is_none());
        for d in &report.decisions {
            self.recent.push_front(RecentDecision {
                at_ms: report.at.millis(),
                service: d.service.clone(),
                id: d.id.clone(),
                status: d.status.to_string(),
            });
        }
        self.recent.truncate(RECENT_DECISIONS);
        self.status = status_document(bundle, report, health);
        if let Some(doc) = self.status.as_object_mut() {
            doc.insert(
                "recent_decisions".into(),
                serde_json::to_value(&self.recent).unwrap_or_default(),
            );
        }
    }

    /// The `/metrics` exposition (OpenMetrics text); a rejected reload counts as an alert.
    pub fn metrics(&self) -> String {
        self.metrics
            .encode(self.alerts_active, usize::from(self.reload_error.is_some()))
    }
}

/// `/status`: regions × services × cells with health, weights, modes, and decisions.
pub fn status_document(
    bundle: &Bundle,
    report: &PassReport,
    health: &HealthView,
) -> serde_json::Value {
    let plan = report.plan.as_ref();
    let services: Vec<serde_json::Value> = bundle
        .services
        .iter()
        .enumerate()
        .map(|(s, service)| {
            let live = report.live.as_ref().and_then(|l| l.services.get(s));
            let cells: Vec<serde_json::Value> = service
                .cells
                .iter()
                .enumerate()
                .map(|(c, cell)| {
                    let regions: Vec<serde_json::Value> = service
                        .regions
                        .iter()
                        .enumerate()
                        .map(|(r, region)| {
                            let verdict = health.services.get(s).and_then(|h| h.entries.get(c, r)).map(|e| e.verdict.as_str()).unwrap_or("unknown");
                            let weight = live.and_then(|l| l.weights.get(c, r).copied().flatten());
                            // The data-plane switch guarding this record: on, off, or null
                            // (no switch, or never published).
                            let slot = regionctl_core::switch::slot_of_cell(service, c);
                            let switch = live.and_then(|l| l.switches.get(slot, r).copied().flatten());
                            serde_json::json!({ "region": region.name, "health": verdict, "weight": weight, "switch": switch })
                        })
                        .collect();
                    serde_json::json!({ "cell": cell.id, "regions": regions })
                })
                .collect();
            let decision = report.decisions.iter().find(|d| d.service == service.name);
            let notes: Vec<&String> = plan.and_then(|p| p.services.iter().find(|sp| sp.service == s)).map(|sp| sp.notes.iter().collect()).unwrap_or_default();
            let evidence = health.services.get(s).map(|h| h.evidence.as_slice());
            serde_json::json!({
                "service": service.name,
                "strategy": service.strategy.as_str(),
                "mode": service.mode.as_str(),
                "cells": cells,
                "signals": signals_document(service, evidence.unwrap_or_default()),
                "last_decision": decision.map(|d| serde_json::json!({ "id": d.id, "status": d.status })),
                "notes": notes,
            })
        })
        .collect();
    serde_json::json!({
        "region": report.region,
        "at_ms": report.at.millis(),
        "bundle_hash": bundle.hash,
        "stand_down": report.stand_down.as_ref().map(ToString::to_string),
        "alerts": report.alerts,
        // How current the alarms are (`regionctl_controller::alarm_view`): the stalest
        // state used, the bound when events are lost, those with no state known.
        "alarms": {
            "oldest_secs": report.alarms.oldest_secs,
            "resync_secs": report.alarms.resync_secs,
            "unread": report.alarms.unread,
            "events_applied": report.alarms.events,
            "read_calls": report.alarms.calls,
        },
        "regions": bundle.regions,
        "services": services,
    })
}

/// `/status` `services[].signals`: per region, each signal with its role, what it said and
/// whether it decided ([`explain::signal_rows`], the rows `explain`'s line is built from),
/// what decided, the `served` reading and whether the served veto held (ADR 0015).
fn signals_document(service: &Service, evidence: &[RegionEvidence]) -> Vec<serde_json::Value> {
    service
        .regions
        .iter()
        .enumerate()
        .filter_map(|(r, region)| {
            let ev = evidence.get(r)?;
            let rows: Vec<serde_json::Value> = explain::signal_rows(service, r, ev)
                .iter()
                .map(|row| {
                    let mut v = serde_json::to_value(row).unwrap_or_default();
                    if let Some(o) = v.as_object_mut() {
                        o.insert("label".into(), explain::role_label(row.role).into());
                        o.insert("text".into(), row.said.text().into());
                    }
                    v
                })
                .collect();
            let decider = explain::decider(ev);
            Some(serde_json::json!({
                "region": region.name,
                "decided_by": decider,
                "decided_by_text": decider.as_str(),
                "served": ev.served.as_str(),
                // null without a `served` signal: there is no veto to hold.
                "served_veto": (!ev.served.is_absent()).then_some(ev.vetoed),
                "rows": rows,
            }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use regionctl_controller::admit::{Reason, Rejected};
    use regionctl_core::health::HealthView;
    use regionctl_core::time::Timestamp;

    #[test]
    fn rejected_journal_items_are_counted_by_kind_and_reason() {
        let bundle = regionctl_testkit::example::example_bundle();
        let mut state = State::new("eu-west-1", &bundle, Metrics::new("eu-west-1"));
        let mut report = PassReport::new("eu-west-1", Timestamp::from_secs(1_800_000_000));
        let forged = Rejected {
            kind: "heartbeat",
            key: "HEARTBEAT#us-east-1 / us-east-1".into(),
            reason: Reason::WrongWriter,
        };
        report.rejected = vec![forged.clone(), forged];
        let health = HealthView::unknown(&bundle);
        state.record_pass(&bundle, &report, &health, Duration::from_millis(5), 1);
        state.record_pass(&bundle, &report, &health, Duration::from_millis(5), 1);
        let text = state.metrics();
        assert!(
            text.contains("# TYPE regionctl_journal_items_rejected counter\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "regionctl_journal_items_rejected_total{region=\"eu-west-1\",kind=\"heartbeat\",reason=\"wrong-writer\"} 4\n"
            ),
            "{text}"
        );
    }
}
