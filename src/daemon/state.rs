//! What the admin server shows: the last pass, metrics, readiness. Computed from values the
//! loop already has; updated once per pass.

use regionctl_controller::reconcile::PassReport;
use regionctl_core::health::HealthView;
use regionctl_core::policy::Bundle;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Reconcile latency histogram bucket bounds, seconds.
pub const LATENCY_BUCKETS: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

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
    /// Decisions by status.
    pub decisions: BTreeMap<String, u64>,
    /// Steps by kind (applied or not).
    pub steps: BTreeMap<String, u64>,
    /// AWS read failures.
    pub read_failures: u64,
    /// Journal items not believed, by (kind, reason) (`regionctl_controller::admit`).
    pub rejected: BTreeMap<(&'static str, &'static str), u64>,
    /// Latency histogram: counts per bucket (+Inf last), sum, count.
    pub latency: ([u64; LATENCY_BUCKETS.len() + 1], f64, u64),
    /// Alerts active now.
    pub alerts_active: usize,
    /// 1 when acting with quorum, 0 when standing down.
    pub quorum: u8,
    /// Reloads by result.
    pub reloads: BTreeMap<&'static str, u64>,
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
    /// Before the first pass.
    pub fn new(region: &str, bundle: &Bundle) -> Self {
        State {
            region: region.to_string(),
            bundle_hash: bundle.hash.clone(),
            passes: 0,
            last_pass: None,
            tick: Duration::from_secs(bundle.controller.as_ref().map_or(10, |c| c.tick_secs)),
            decisions: BTreeMap::new(),
            steps: BTreeMap::new(),
            read_failures: 0,
            rejected: BTreeMap::new(),
            latency: ([0; LATENCY_BUCKETS.len() + 1], 0.0, 0),
            alerts_active: 0,
            quorum: 0,
            reloads: BTreeMap::new(),
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
        *self
            .reloads
            .entry(if ok { "accepted" } else { "rejected" })
            .or_default() += 1;
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
        for d in &report.decisions {
            *self.decisions.entry(d.status.to_string()).or_default() += 1;
        }
        if let Some(plan) = &report.plan {
            for s in &plan.steps {
                *self.steps.entry(s.action.kind().to_string()).or_default() += 1;
            }
        }
        self.read_failures +=
            (report.read_failures.len() + report.alarm_read_failures.len()) as u64;
        for r in &report.rejected {
            *self
                .rejected
                .entry((r.kind, r.reason.as_str()))
                .or_default() += 1;
        }
        let secs = elapsed.as_secs_f64();
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.latency.0[bucket] += 1;
        self.latency.1 += secs;
        self.latency.2 += 1;
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

    /// Prometheus text exposition.
    pub fn metrics(&self) -> String {
        let mut m = Exposition {
            out: String::new(),
            region: &self.region,
        };
        let passes = "regionctl_passes_total";
        m.family(passes, "counter", "Reconcile passes completed.");
        m.sample(passes, "", self.passes);
        let decisions = "regionctl_decisions_total";
        m.family(decisions, "counter", "Decisions by outcome status.");
        for (status, n) in &self.decisions {
            m.sample(decisions, &format!(",status=\"{status}\""), n);
        }
        let steps = "regionctl_steps_total";
        m.family(steps, "counter", "Planned steps by kind.");
        for (kind, n) in &self.steps {
            m.sample(steps, &format!(",kind=\"{kind}\""), n);
        }
        let read_failures = "regionctl_aws_read_failures_total";
        m.family(
            read_failures,
            "counter",
            "AWS reads that failed during passes.",
        );
        m.sample(read_failures, "", self.read_failures);
        let rejected = "regionctl_journal_items_rejected_total";
        m.family(
            rejected,
            "counter",
            "Journal items (or fields) not believed, by kind and reason.",
        );
        for ((kind, reason), n) in &self.rejected {
            m.sample(
                rejected,
                &format!(",kind=\"{kind}\",reason=\"{reason}\""),
                n,
            );
        }
        let latency = "regionctl_reconcile_seconds";
        m.family(latency, "histogram", "Reconcile pass latency.");
        let bucket = "regionctl_reconcile_seconds_bucket";
        let mut cumulative = 0;
        for (i, b) in LATENCY_BUCKETS.iter().enumerate() {
            cumulative += self.latency.0[i];
            m.sample(bucket, &format!(",le=\"{b}\""), cumulative);
        }
        cumulative += self.latency.0[LATENCY_BUCKETS.len()];
        m.sample(bucket, ",le=\"+Inf\"", cumulative);
        m.sample("regionctl_reconcile_seconds_sum", "", self.latency.1);
        m.sample("regionctl_reconcile_seconds_count", "", self.latency.2);
        let alerts = "regionctl_alerts_active";
        m.family(
            alerts,
            "gauge",
            "Alerts active now (held decisions, partial shifts, quorum, rejected reloads).",
        );
        m.sample(
            alerts,
            "",
            self.alerts_active + usize::from(self.reload_error.is_some()),
        );
        let quorum = "regionctl_quorum";
        m.family(
            quorum,
            "gauge",
            "1 when this controller acts with a majority on its policy, 0 when it stands down.",
        );
        m.sample(quorum, "", self.quorum);
        let reloads = "regionctl_policy_reloads_total";
        m.family(reloads, "counter", "Policy reloads by result.");
        for (result, n) in &self.reloads {
            m.sample(reloads, &format!(",result=\"{result}\""), n);
        }
        m.out
    }
}

/// Prometheus text exposition under construction: metric families, each sample labelled
/// with this controller's region first.
struct Exposition<'a> {
    out: String,
    region: &'a str,
}

impl Exposition<'_> {
    /// A family's `# HELP` and `# TYPE` lines.
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        self.out
            .push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
    }

    /// One sample: `labels` follow the region label (`,status="done"`, or nothing).
    fn sample(&mut self, name: &str, labels: &str, value: impl std::fmt::Display) {
        let r = self.region;
        self.out
            .push_str(&format!("{name}{{region=\"{r}\"{labels}}} {value}\n"));
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
            serde_json::json!({
                "service": service.name,
                "strategy": service.strategy.as_str(),
                "mode": service.mode.as_str(),
                "cells": cells,
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
        "regions": bundle.regions,
        "services": services,
    })
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
        let mut state = State::new("eu-west-1", &bundle);
        let mut report = PassReport::new("eu-west-1", Timestamp::from_secs(1_800_000_000));
        let forged = Rejected {
            kind: "heartbeat",
            key: "HEARTBEAT / us-east-1".into(),
            reason: Reason::WrongWriter,
        };
        report.rejected = vec![forged.clone(), forged];
        let health = HealthView::unknown(&bundle);
        state.record_pass(&bundle, &report, &health, Duration::from_millis(5), 1);
        state.record_pass(&bundle, &report, &health, Duration::from_millis(5), 1);
        let text = state.metrics();
        assert!(
            text.contains("# TYPE regionctl_journal_items_rejected_total counter\n"),
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
