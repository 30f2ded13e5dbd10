//! What the admin server shows: the last pass, metrics, readiness. Computed from values the
//! loop already has; updated once per pass.

use crate::daemon::metrics::Metrics;
use crate::daemon::status::{HealthShown, LastPass};
use regionctl_controller::reconcile::PassReport;
use regionctl_core::health::HealthView;
use regionctl_core::policy::Bundle;
use std::collections::VecDeque;
use std::sync::Arc;
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
    /// What the last pass leaves for `/status` and the status page (`None` before the
    /// first): shared, so a request renders it without holding the state's lock.
    pub last: Option<Arc<LastPass>>,
    /// The most recent decisions this controller took part in, newest first.
    pub recent: VecDeque<RecentDecision>,
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
            last: None,
            recent: VecDeque::new(),
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

    /// Records a pass: its metrics, its decisions, and what the status page shows of it.
    pub fn record_pass(
        &mut self,
        bundle: &Arc<Bundle>,
        report: PassReport,
        health: &HealthView,
        elapsed: Duration,
        alerts: usize,
    ) {
        self.passes += 1;
        self.last_pass = Some(Instant::now());
        self.bundle_hash = bundle.hash.clone();
        self.metrics.record_pass(&report, elapsed, alerts);
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
        self.last = Some(Arc::new(LastPass {
            bundle: Arc::clone(bundle),
            report,
            health: HealthShown::of(health),
        }));
    }

    /// The `/metrics` exposition (OpenMetrics text); a rejected reload counts as an alert.
    pub fn metrics(&self) -> String {
        self.metrics
            .encode(self.alerts_active, usize::from(self.reload_error.is_some()))
    }
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
        let bundle = Arc::new(bundle);
        state.record_pass(
            &bundle,
            report.clone(),
            &health,
            Duration::from_millis(5),
            1,
        );
        state.record_pass(&bundle, report, &health, Duration::from_millis(5), 1);
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
