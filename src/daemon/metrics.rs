//! `/metrics`: the controller's series, typed and labelled with the Prometheus project's
//! client (`prometheus-client`, ADR 0016), every one labelled with this controller's
//! `region` first.
//!
//! The pass's series are counted from its [`PassReport`] ([`Metrics::record_pass`]); the
//! phases' durations and the AWS API calls are counted by [`SpanMetrics`] from the spans
//! the pass and the AWS SDK open, with the same families.

use crate::telemetry::span_metrics::{ApiCallLabels, PhaseLabel, SpanMetrics};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use regionctl_controller::reconcile::PassReport;
use std::time::Duration;

/// Reconcile latency histogram bucket bounds, seconds.
pub const LATENCY_BUCKETS: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Phase duration histogram bucket bounds, seconds (a phase is a fraction of a pass).
pub const PHASE_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The media type of [`Metrics::encode`]'s text (OpenMetrics, which Prometheus scrapes).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `status` label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

/// `kind` label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

/// `kind`, `reason` labels.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectedLabels {
    kind: String,
    reason: String,
}

/// `result` label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: String,
}

/// Every series `/metrics` shows, registered once.
pub struct Metrics {
    registry: Registry,
    passes: Counter,
    decisions: Family<StatusLabel, Counter>,
    steps: Family<KindLabel, Counter>,
    read_failures: Counter,
    rejected: Family<RejectedLabels, Counter>,
    reconcile: Histogram,
    alerts_active: Gauge,
    quorum: Gauge,
    reloads: Family<ResultLabel, Counter>,
    phases: Family<PhaseLabel, Histogram>,
    api_calls: Family<ApiCallLabels, Counter>,
    alarm_staleness: Gauge,
    alarm_resync: Gauge,
    alarms_unread: Gauge,
    alarm_events: Counter,
}

impl Metrics {
    /// The series of the controller in `region`, all at zero (labelled ones absent).
    pub fn new(region: &str) -> Self {
        let labels = [("region".into(), region.to_string().into())];
        let mut registry = Registry::with_labels(labels.into_iter());
        let m = Metrics {
            passes: Counter::default(),
            decisions: Family::default(),
            steps: Family::default(),
            read_failures: Counter::default(),
            rejected: Family::default(),
            reconcile: Histogram::new(LATENCY_BUCKETS),
            alerts_active: Gauge::default(),
            quorum: Gauge::default(),
            reloads: Family::default(),
            phases: Family::new_with_constructor(|| Histogram::new(PHASE_BUCKETS)),
            api_calls: Family::default(),
            alarm_staleness: Gauge::default(),
            alarm_resync: Gauge::default(),
            alarms_unread: Gauge::default(),
            alarm_events: Counter::default(),
            registry: Registry::default(),
        };
        // prometheus-client adds `_total` to counters' samples and a final `.` to help.
        let r = &mut registry;
        r.register(
            "regionctl_passes",
            "Reconcile passes completed",
            m.passes.clone(),
        );
        r.register(
            "regionctl_decisions",
            "Decisions by outcome status",
            m.decisions.clone(),
        );
        r.register("regionctl_steps", "Planned steps by kind", m.steps.clone());
        r.register(
            "regionctl_aws_read_failures",
            "AWS reads that failed during passes",
            m.read_failures.clone(),
        );
        r.register(
            "regionctl_journal_items_rejected",
            "Journal items (or fields) not believed, by kind and reason",
            m.rejected.clone(),
        );
        r.register(
            "regionctl_reconcile_seconds",
            "Reconcile pass latency",
            m.reconcile.clone(),
        );
        r.register(
            "regionctl_alerts_active",
            "Alerts active now (held decisions, partial shifts, quorum, rejected reloads)",
            m.alerts_active.clone(),
        );
        r.register(
            "regionctl_quorum",
            "1 when this controller acts with a majority on its policy, 0 when it stands down",
            m.quorum.clone(),
        );
        r.register(
            "regionctl_policy_reloads",
            "Policy reloads by result",
            m.reloads.clone(),
        );
        r.register(
            "regionctl_pass_phase_seconds",
            "Duration of each phase of a pass (first entry to last exit)",
            m.phases.clone(),
        );
        r.register(
            "regionctl_aws_api_calls",
            "AWS SDK operations started, by service and operation (retries are one call)",
            m.api_calls.clone(),
        );
        r.register(
            "regionctl_alarm_staleness_seconds",
            "Age of the stalest alarm state the last pass used (events between resync reads)",
            m.alarm_staleness.clone(),
        );
        r.register(
            "regionctl_alarm_resync_seconds",
            "Seconds a full re-read of the alarms takes at the read budget: the staleness bound when events are lost",
            m.alarm_resync.clone(),
        );
        r.register(
            "regionctl_alarms_unread",
            "Bundle alarms with no known state (not read yet, deleted, or their region unreadable)",
            m.alarms_unread.clone(),
        );
        r.register(
            "regionctl_alarm_events_applied",
            "Alarm state change events applied at the start of a pass",
            m.alarm_events.clone(),
        );
        Metrics { registry, ..m }
    }

    /// The families [`SpanMetrics`] counts into (shared: the same series).
    pub fn span_metrics(&self) -> SpanMetrics {
        SpanMetrics {
            phases: self.phases.clone(),
            api_calls: self.api_calls.clone(),
        }
    }

    /// Counts a pass.
    pub fn record_pass(&self, report: &PassReport, elapsed: Duration, alerts: usize) {
        self.passes.inc();
        for d in &report.decisions {
            let status = d.status.to_string();
            self.decisions.get_or_create(&StatusLabel { status }).inc();
        }
        for s in report.plan.iter().flat_map(|p| &p.steps) {
            let kind = s.action.kind().to_string();
            self.steps.get_or_create(&KindLabel { kind }).inc();
        }
        let failures = report.read_failures.len() + report.alarm_read_failures.len();
        self.read_failures.inc_by(failures as u64);
        for r in &report.rejected {
            let labels = RejectedLabels {
                kind: r.kind.to_string(),
                reason: r.reason.as_str().to_string(),
            };
            self.rejected.get_or_create(&labels).inc();
        }
        self.reconcile.observe(elapsed.as_secs_f64());
        self.alerts_active
            .set(i64::try_from(alerts).unwrap_or(i64::MAX));
        self.quorum.set(i64::from(report.stand_down.is_none()));
        let alarms = &report.alarms;
        let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.alarm_staleness.set(gauge(alarms.oldest_secs));
        self.alarm_resync.set(gauge(alarms.resync_secs));
        self.alarms_unread.set(gauge(alarms.unread as u64));
        self.alarm_events.inc_by(alarms.events as u64);
    }

    /// Counts a reload that changed the bundle (`accepted`) or was refused (`rejected`).
    pub fn reloaded(&self, ok: bool) {
        let result = if ok { "accepted" } else { "rejected" }.to_string();
        self.reloads.get_or_create(&ResultLabel { result }).inc();
    }

    /// The exposition, with `extra_alerts` (a rejected reload) added to the pass's alerts.
    pub fn encode(&self, pass_alerts: usize, extra_alerts: usize) -> String {
        let active = pass_alerts + extra_alerts;
        self.alerts_active
            .set(i64::try_from(active).unwrap_or(i64::MAX));
        let mut out = String::new();
        // Writing to a String cannot fail; an encoding error would be a bug in a label.
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!("metrics not encoded: {e}");
        }
        out
    }
}
