//! One trial: region loss injected, the alarm event received from the controller's queue
//! (t0), one `reconcile_once` pass through [`Timed`], the first corrective call (t1).

use crate::rig::Rig;
use crate::timed::{Call, Timed};
use regionctl::aws_world::AwsWorld;
use regionctl_controller::memory::Memory;
use regionctl_controller::reconcile::{Context, reconcile_once};
use regionctl_controller::status::OutcomeStatus;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// One trial's measurements.
#[derive(Debug, Clone, Default)]
pub struct Trial {
    pub inject_to_t0_ms: f64,
    pub e2e_ms: f64,
    pub sdk_ms: f64,
    pub overhead_ms: f64,
    pub pass_ms: f64,
    pub calls_before_t1: usize,
    pub calls_total: usize,
    pub api_calls_total: u32,
    pub mutating: usize,
    pub decisions: usize,
    pub heartbeat_writes: usize,
    pub digest_writes: usize,
    pub journal_reads: usize,
    pub journal_writes: usize,
    pub publishes: usize,
    /// Per operation: calls and total milliseconds.
    pub ops: BTreeMap<String, (usize, f64)>,
    /// Per operation: calls before t1.
    pub ops_before_t1: BTreeMap<String, usize>,
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// Resets the world (untimed), fails the region and times one pass from `healthy` memory
/// (every trial starts from a controller that watched a healthy fleet).
pub async fn trial(rig: &Rig<'_>, ctx: &Context<'_>, world: &AwsWorld, healthy: &Memory) -> Trial {
    rig.reset().await;
    let injected = Instant::now();
    rig.fail_region().await;
    let (t0, received) = receive_alarm_event(rig).await;

    let timed = Timed::new(world);
    let report = reconcile_once(ctx, &timed, &mut healthy.clone()).await;
    let pass_end = Instant::now();
    let calls = timed.take();
    // The daemon deletes handled events after the pass; untimed here.
    for m in &received {
        rig.sqs
            .delete(&rig.queue_url, &m.receipt_handle)
            .await
            .expect("delete the handled event");
    }
    assert!(
        report.stand_down.is_none(),
        "the controller stood down: {}",
        report.summary()
    );
    assert!(
        !report.decisions.is_empty()
            && report
                .decisions
                .iter()
                .all(|d| d.status == OutcomeStatus::Applied),
        "expected applied decisions: {}",
        report.summary()
    );
    let mut t = measure(&calls, t0, pass_end);
    t.inject_to_t0_ms = ms(t0 - injected);
    t.decisions = report.decisions.len();
    t
}

/// Long-polls the controller's queue: t0 is when a receive returns a message.
async fn receive_alarm_event(rig: &Rig<'_>) -> (Instant, Vec<regionctl_aws::sqs::ReceivedMessage>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let (t0, received) = loop {
        let messages = rig
            .sqs
            .receive(&rig.queue_url, 10, 5)
            .await
            .expect("long-poll the controller queue");
        if !messages.is_empty() {
            break (Instant::now(), messages);
        }
        assert!(
            Instant::now() < deadline,
            "no alarm event reached the controller queue within 30 s"
        );
    };
    assert!(
        received.iter().any(|m| m.alarm_change.is_some()),
        "the queue delivered something that is not an alarm state change: {:?}",
        received.first().map(|m| &m.body)
    );
    (t0, received)
}

/// What the pass's calls say: t1 is the start of the first corrective call; the SDK time
/// is the sum of the AWS calls within [t0, t1] (they are sequential).
fn measure(calls: &[Call], t0: Instant, pass_end: Instant) -> Trial {
    let t1 = calls
        .iter()
        .find(|c| c.mutating)
        .map(|c| c.start)
        .expect("the pass made a corrective call");
    let before: Vec<&Call> = calls
        .iter()
        .filter(|c| c.aws && c.start >= t0 && c.end <= t1)
        .collect();
    let sdk: Duration = before.iter().map(|c| c.end - c.start).sum();
    let e2e = t1 - t0;
    let mut t = Trial {
        e2e_ms: ms(e2e),
        sdk_ms: ms(sdk),
        overhead_ms: ms(e2e.saturating_sub(sdk)),
        pass_ms: ms(pass_end - t0),
        calls_before_t1: before.len(),
        calls_total: calls.iter().filter(|c| c.aws).count(),
        api_calls_total: calls.iter().map(|c| c.api_calls).sum(),
        mutating: calls.iter().filter(|c| c.mutating).count(),
        ..Trial::default()
    };
    for c in calls {
        let e = t.ops.entry(c.op.clone()).or_default();
        e.0 += 1;
        e.1 += ms(c.end - c.start);
        if c.op == "journal.put(HEARTBEAT)" {
            t.heartbeat_writes += 1;
        }
        if c.op == "journal.put(OBSERVATION)" {
            t.digest_writes += 1;
        }
        if c.op.starts_with("journal.query") {
            t.journal_reads += 1;
        }
        if c.op.starts_with("journal.put") {
            t.journal_writes += 1;
        }
        if c.op.starts_with("events.publish") {
            t.publishes += 1;
        }
    }
    for c in &before {
        *t.ops_before_t1.entry(c.op.clone()).or_default() += 1;
    }
    t
}
