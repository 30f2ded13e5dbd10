//! Between two passes: when the next one starts, and the wait for it.
//!
//! # Design
//! When to run is decided by small pure functions of the time ([`next_pass_in`],
//! [`next_poll_in`]); [`until_next_pass`] only sleeps and polls the alarm queue as they say.
//! Three rules keep the loop from running hot:
//! - the next pass starts a tick after the last one *started*, or earlier when an alarm event
//!   arrives, but never sooner than the [minimum interval](Pacing::min_interval) after the
//!   last one *ended*: an alarm storm, or a pass slower than the tick, cannot run passes
//!   back to back;
//! - a failed receive backs off to the tick: the queue is not polled again before the next
//!   pass (a deleted queue would otherwise be a loop of AWS calls), and the error is logged
//!   once, not once per pass ([`queue_log`]);
//! - a receive that returns nothing is repeated no sooner than the minimum interval after it
//!   started (an endpoint that answers a long poll at once cannot spin the loop either).
//!
//! Time is tokio's, so the tests run the wait in paused (virtual) time.

use regionctl_aws::sqs::ReceivedMessage;
use regionctl_controller::alarm_view::AlarmChange;
use regionctl_core::health::AlarmObservation;
use regionctl_core::time::Timestamp;
use std::fmt::Display;
use std::time::Duration;
use tokio::time::Instant;

/// The default least time, in seconds, between the end of one pass and the start of the
/// next (`regionctl run --min-pass-interval-secs`): long enough that an alarm-event storm
/// costs at most one pass per interval, short enough that the first alarm of an incident is
/// acted on within a couple of seconds of the last pass.
pub const DEFAULT_MIN_PASS_INTERVAL_SECS: u64 = 2;

/// The largest minimum interval `run` accepts, in seconds: beyond it the flag would
/// silently slow every reaction to an alarm event (the tick caps it anyway).
pub const MAX_MIN_PASS_INTERVAL_SECS: u64 = 300;

/// The longest SQS long poll (the service's limit, in seconds).
const MAX_LONG_POLL_SECS: u64 = 20;

/// How often passes may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    /// A pass at least this often (ControllerConfig `tick_secs`).
    pub tick: Duration,
    /// Never sooner than this after the last pass ended: the configured minimum interval,
    /// or the tick when that is shorter.
    pub min_interval: Duration,
}

impl Pacing {
    /// The pacing for a tick of `tick_secs` and a minimum interval of `min_interval_secs`
    /// (capped by the tick: a pass is due every tick whatever else happens).
    pub fn new(tick_secs: u64, min_interval_secs: u64) -> Pacing {
        Pacing {
            tick: Duration::from_secs(tick_secs),
            min_interval: Duration::from_secs(min_interval_secs.min(tick_secs)),
        }
    }
}

/// When the last pass ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassTimes {
    /// It started.
    pub started: Instant,
    /// It ended (alarm events deleted, heartbeat and alerts published).
    pub ended: Instant,
}

/// What the wait has seen of the alarm queue so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Nothing yet (or no queue): the tick decides.
    Nothing,
    /// An alarm event (any message): run as soon as the minimum interval allows.
    AlarmEvent,
    /// A failed receive: back off to the tick, poll no more.
    QueueError,
}

/// How long from `now` until the next pass may start.
pub fn next_pass_in(now: Instant, last: PassTimes, pacing: Pacing, seen: Seen) -> Duration {
    let rested = last.ended + pacing.min_interval;
    let at = match seen {
        Seen::AlarmEvent => rested,
        // An error is no reason to run early: the tick, as if the queue were silent.
        Seen::Nothing | Seen::QueueError => (last.started + pacing.tick).max(rested),
    };
    at.saturating_duration_since(now)
}

/// How long from `now` until the queue may be polled again (`last_poll`: when the previous
/// poll of this wait started); `None`: not again in this wait (an event is already in hand,
/// or the queue failed).
pub fn next_poll_in(
    now: Instant,
    last_poll: Option<Instant>,
    pacing: Pacing,
    seen: Seen,
) -> Option<Duration> {
    match seen {
        Seen::Nothing => Some(last_poll.map_or(Duration::ZERO, |p| {
            (p + pacing.min_interval).saturating_duration_since(now)
        })),
        Seen::AlarmEvent | Seen::QueueError => None,
    }
}

/// The long poll's wait (whole seconds, 1–20) for a pass due in `pass_in`: no longer than
/// needed, never 0 (a short poll would return at once and be repeated).
pub fn long_poll_secs(pass_in: Duration) -> i32 {
    let secs = pass_in.as_secs() + u64::from(pass_in.subsec_nanos() > 0);
    i32::try_from(secs.clamp(1, MAX_LONG_POLL_SECS)).unwrap_or(1)
}

/// What a wait heard from the queue, for the caller to keep and log.
#[derive(Debug, Default)]
pub struct Heard {
    /// Receipt handles of the messages received (deleted after the pass follows them).
    pub receipts: Vec<String>,
    /// The alarm state changes received: applied at the start of the next pass
    /// ([`regionctl_controller::alarm_view`]).
    pub alarms: Vec<AlarmChange>,
    /// The last receive's result (`None`: no receive completed).
    pub last_receive: Option<Result<(), String>>,
}

/// Waits until the next pass may start, polling the queue with `receive` (called with the
/// long poll's seconds) when there is one. Whatever was received is in `heard`, even when
/// the caller drops the wait for a signal.
pub async fn until_next_pass<F, Fut, E>(
    receive: Option<F>,
    pacing: Pacing,
    last: PassTimes,
    heard: &mut Heard,
) where
    F: Fn(i32) -> Fut,
    Fut: Future<Output = Result<Vec<ReceivedMessage>, E>>,
    E: Display,
{
    let mut seen = Seen::Nothing;
    let mut last_poll = None;
    loop {
        let now = Instant::now();
        let pass_in = next_pass_in(now, last, pacing, seen);
        if pass_in.is_zero() {
            return;
        }
        let poll_in = receive
            .as_ref()
            .and_then(|_| next_poll_in(now, last_poll, pacing, seen));
        let poll = async {
            let (Some(receive), Some(poll_in)) = (&receive, poll_in) else {
                return std::future::pending().await;
            };
            tokio::time::sleep(poll_in).await;
            let started = Instant::now();
            let tick_in = next_pass_in(started, last, pacing, Seen::Nothing);
            (started, receive(long_poll_secs(tick_in)).await)
        };
        tokio::select! {
            biased;
            () = tokio::time::sleep(pass_in) => return,
            (started, received) = poll => {
                last_poll = Some(started);
                seen = take(received, heard);
            }
        }
    }
}

/// Keeps what one receive brought in `heard`; what the wait has seen now.
fn take<E: Display>(received: Result<Vec<ReceivedMessage>, E>, heard: &mut Heard) -> Seen {
    match received {
        Ok(messages) => {
            heard.last_receive = Some(Ok(()));
            if messages.is_empty() {
                return Seen::Nothing;
            }
            heard.alarms.extend(
                messages
                    .iter()
                    .filter_map(|m| m.alarm_change.as_ref())
                    .map(|c| AlarmChange {
                        region: c.region.clone(),
                        name: c.alarm_name.clone(),
                        observation: AlarmObservation {
                            state: c.state,
                            since: Timestamp(c.timestamp_ms),
                        },
                    }),
            );
            heard
                .receipts
                .extend(messages.into_iter().map(|m| m.receipt_handle));
            Seen::AlarmEvent
        }
        Err(e) => {
            heard.last_receive = Some(Err(e.to_string()));
            Seen::QueueError
        }
    }
}

/// What to log about the queue after a wait, given the error logged last (`logged`, updated):
/// a new error once, its end once, nothing while it stays the same.
pub fn queue_log(
    logged: &mut Option<String>,
    last_receive: Option<Result<(), String>>,
) -> Option<(tracing::Level, String)> {
    match last_receive? {
        Err(e) if logged.as_ref() == Some(&e) => None,
        Err(e) => {
            let message = format!(
                "Alarm events not received ({e}); polling the queue again after the next pass, \
                 passes follow the tick meanwhile."
            );
            *logged = Some(e);
            Some((tracing::Level::WARN, message))
        }
        Ok(()) => logged.take().map(|_| {
            let message = "Alarm event queue answers again.".to_string();
            (tracing::Level::INFO, message)
        }),
    }
}

#[cfg(test)]
mod tests;
