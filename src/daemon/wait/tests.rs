//! The wait's rules: the pure decisions, then the wait itself in paused (virtual) time
//! against a scripted queue. Durations asserted here are tokio's virtual time, not the wall
//! clock's.

use super::*;
use regionctl_aws::types::{AlarmState, AlarmStateChange};
use std::cell::Cell;
use std::future::Ready;

/// What one scripted receive returns.
type Received = Result<Vec<ReceivedMessage>, String>;

const TICK: Duration = Duration::from_secs(10);

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// A pass that started at `t0` and took `took`.
fn pass(t0: Instant, took: f64) -> PassTimes {
    PassTimes {
        started: t0,
        ended: t0 + secs(took),
    }
}

fn alarm_message(n: usize) -> ReceivedMessage {
    ReceivedMessage {
        message_id: format!("m{n}"),
        receipt_handle: format!("r{n}"),
        body: String::new(),
        alarm_change: Some(AlarmStateChange {
            alarm_name: "api-5xx".into(),
            state: AlarmState::Alarm,
            timestamp_ms: 0,
            region: "eu-west-1".into(),
        }),
    }
}

/// The pacing of a 10 s tick with the default minimum interval.
fn default_pacing() -> Pacing {
    Pacing::new(10, DEFAULT_MIN_PASS_INTERVAL_SECS)
}

#[test]
fn the_minimum_interval_is_as_configured_or_the_tick() {
    assert_eq!(DEFAULT_MIN_PASS_INTERVAL_SECS, 2);
    assert_eq!(default_pacing().min_interval, Duration::from_secs(2));
    assert_eq!(Pacing::new(10, 5).min_interval, Duration::from_secs(5));
    assert_eq!(Pacing::new(1, 2).min_interval, Duration::from_secs(1));
    assert_eq!(Pacing::new(1, 2).tick, Duration::from_secs(1));
}

#[test]
fn a_longer_minimum_interval_holds_an_alarm_event_longer() {
    let t0 = Instant::now();
    let last = pass(t0, 1.0);
    let now = t0 + secs(1.0);
    let slow = Pacing::new(10, 5);
    assert_eq!(next_pass_in(now, last, slow, Seen::AlarmEvent), secs(5.0));
    // Capped by the tick: an alarm event never waits longer than a silent queue would
    // (a tick after the last start, here also the interval after its end).
    let capped = Pacing::new(10, 60);
    assert_eq!(
        next_pass_in(now, last, capped, Seen::AlarmEvent),
        secs(10.0)
    );
    assert_eq!(next_pass_in(now, last, capped, Seen::Nothing), secs(10.0));
}

#[test]
fn ticks_count_from_the_last_pass_start() {
    let t0 = Instant::now();
    let pacing = default_pacing();
    let last = pass(t0, 1.0);
    let now = t0 + secs(1.0);
    assert_eq!(next_pass_in(now, last, pacing, Seen::Nothing), secs(9.0));
    assert_eq!(
        next_pass_in(t0 + secs(12.0), last, pacing, Seen::Nothing),
        Duration::ZERO
    );
}

#[test]
fn an_alarm_event_waits_for_the_minimum_interval_after_the_last_pass() {
    let t0 = Instant::now();
    let pacing = default_pacing();
    let last = pass(t0, 1.0);
    // Right after the pass: not before 1 s + 2 s.
    assert_eq!(
        next_pass_in(t0 + secs(1.5), last, pacing, Seen::AlarmEvent),
        secs(1.5)
    );
    // Later than that: at once.
    assert_eq!(
        next_pass_in(t0 + secs(5.0), last, pacing, Seen::AlarmEvent),
        Duration::ZERO
    );
}

#[test]
fn a_queue_error_backs_off_to_the_tick() {
    let t0 = Instant::now();
    let pacing = default_pacing();
    let last = pass(t0, 1.0);
    let now = t0 + secs(1.0);
    assert_eq!(next_pass_in(now, last, pacing, Seen::QueueError), secs(9.0));
    assert_eq!(next_poll_in(now, Some(now), pacing, Seen::QueueError), None);
}

#[test]
fn a_pass_slower_than_the_tick_is_still_followed_by_a_rest() {
    let t0 = Instant::now();
    let pacing = default_pacing();
    let slow = pass(t0, 15.0);
    let now = t0 + secs(15.0);
    assert_eq!(next_pass_in(now, slow, pacing, Seen::Nothing), secs(2.0));
    assert_eq!(next_pass_in(now, slow, pacing, Seen::AlarmEvent), secs(2.0));
}

#[test]
fn polls_are_paced_and_stop_once_an_event_or_error_is_seen() {
    let t0 = Instant::now();
    let pacing = default_pacing();
    assert_eq!(
        next_poll_in(t0, None, pacing, Seen::Nothing),
        Some(Duration::ZERO)
    );
    // A poll that came back at once is repeated only after the minimum interval...
    assert_eq!(
        next_poll_in(t0 + secs(0.1), Some(t0), pacing, Seen::Nothing),
        Some(secs(1.9))
    );
    // ...and a long poll that used its time, at once.
    assert_eq!(
        next_poll_in(t0 + secs(9.0), Some(t0), pacing, Seen::Nothing),
        Some(Duration::ZERO)
    );
    assert_eq!(next_poll_in(t0, Some(t0), pacing, Seen::AlarmEvent), None);
}

#[test]
fn long_polls_last_until_the_tick_in_whole_seconds() {
    assert_eq!(long_poll_secs(Duration::ZERO), 1);
    assert_eq!(long_poll_secs(secs(0.3)), 1);
    assert_eq!(long_poll_secs(secs(9.0)), 9);
    assert_eq!(long_poll_secs(secs(9.5)), 10);
    assert_eq!(long_poll_secs(secs(60.0)), 20);
}

#[test]
fn a_queue_error_is_logged_once_until_it_changes_or_ends() {
    let mut logged = None;
    let gone = || {
        Some(Err(
            "sqs ReceiveMessage failed: queue does not exist".to_string()
        ))
    };
    let first = queue_log(&mut logged, gone()).expect("logged");
    assert_eq!(first.0, tracing::Level::WARN);
    assert!(first.1.contains("queue does not exist"), "{}", first.1);
    assert_eq!(queue_log(&mut logged, gone()), None);
    assert_eq!(queue_log(&mut logged, None), None);
    let other = queue_log(&mut logged, Some(Err("throttled".into()))).expect("logged");
    assert!(other.1.contains("throttled"), "{}", other.1);
    assert_eq!(
        queue_log(&mut logged, Some(Ok(()))),
        Some((
            tracing::Level::INFO,
            "Alarm event queue answers again.".to_string()
        ))
    );
    assert_eq!(queue_log(&mut logged, Some(Ok(()))), None);
}

/// A scripted queue: `answer(call number, wait seconds)` after `delay(wait seconds)`.
async fn run_wait(
    pacing: Pacing,
    took: f64,
    delay: impl Fn(i32) -> Duration,
    answer: impl Fn(usize) -> Received,
) -> (Duration, usize, Heard) {
    let calls = Cell::new(0usize);
    let t0 = Instant::now();
    let last = pass(t0, took);
    tokio::time::sleep(secs(took)).await;
    let mut heard = Heard::default();
    let receive = |wait_secs: i32| {
        let n = calls.get();
        calls.set(n + 1);
        let delay = delay(wait_secs);
        let answer = answer(n);
        async move {
            tokio::time::sleep(delay).await;
            answer
        }
    };
    until_next_pass(Some(receive), pacing, last, &mut heard).await;
    (t0.elapsed(), calls.get(), heard)
}

#[tokio::test(start_paused = true)]
async fn a_failing_queue_is_called_once_per_wait_and_the_pass_waits_for_the_tick() {
    let (at, calls, heard) = run_wait(
        default_pacing(),
        1.0,
        |_| Duration::ZERO,
        |_| Err("queue does not exist".into()),
    )
    .await;
    assert_eq!(calls, 1, "no loop of AWS calls");
    assert_eq!(at, TICK);
    assert_eq!(
        heard.last_receive,
        Some(Err("queue does not exist".to_string()))
    );
}

#[tokio::test(start_paused = true)]
async fn an_alarm_storm_runs_the_pass_after_the_minimum_interval_only() {
    let (at, calls, heard) = run_wait(
        default_pacing(),
        0.5,
        |_| Duration::ZERO,
        |n| Ok(vec![alarm_message(n)]),
    )
    .await;
    assert_eq!(calls, 1);
    assert_eq!(at, secs(0.5 + 2.0));
    assert_eq!(heard.receipts, vec!["r0".to_string()]);
    // The change itself is kept, for the pass to apply (not just the name that woke it).
    let change = &heard.alarms[..];
    assert_eq!(change.len(), 1);
    assert_eq!(
        (change[0].region.as_str(), change[0].name.as_str()),
        ("eu-west-1", "api-5xx")
    );
    assert_eq!(change[0].observation.state, AlarmState::Alarm);
}

#[tokio::test(start_paused = true)]
async fn a_queue_that_answers_empty_at_once_is_polled_at_the_minimum_interval() {
    let (at, calls, _) = run_wait(default_pacing(), 1.0, |_| Duration::ZERO, |_| Ok(vec![])).await;
    assert_eq!(at, TICK);
    // Polls at 1, 3, 5, 7 and 9 s.
    assert_eq!(calls, 5);
}

#[tokio::test(start_paused = true)]
async fn a_long_poll_returns_the_event_that_arrives_and_the_pass_follows() {
    // The long poll is asked to wait until the tick (9 s); the event arrives after 3 s.
    let (at, calls, heard) = run_wait(
        default_pacing(),
        1.0,
        |wait_secs| {
            assert_eq!(wait_secs, 9);
            Duration::from_secs(3)
        },
        |n| Ok(vec![alarm_message(n)]),
    )
    .await;
    assert_eq!(calls, 1);
    assert_eq!(at, secs(4.0));
    assert_eq!(heard.last_receive, Some(Ok(())));
}

#[tokio::test(start_paused = true)]
async fn without_a_queue_the_tick_alone_decides() {
    let t0 = Instant::now();
    let mut heard = Heard::default();
    let none: Option<fn(i32) -> Ready<Received>> = None;
    until_next_pass(none, default_pacing(), pass(t0, 0.0), &mut heard).await;
    assert_eq!(t0.elapsed(), TICK);
    assert!(heard.last_receive.is_none());
}
