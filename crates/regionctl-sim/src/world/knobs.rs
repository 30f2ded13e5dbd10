//! The simulation's knobs: how the simulated AWS behaves (Route 53 PENDING and throttling,
//! health checks, ECS start times, journal replication lag, idle alarms), and how a
//! scenario's `world.sim` resolves to them.

use crate::duration::Dur;
use crate::scenario::SimSpec;
use serde::Serialize;

/// The simulation's knobs (how AWS behaves), resolved from a scenario's `world.sim`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Knobs {
    /// Seconds a Route 53 change stays PENDING before answering uses it.
    pub route53_pending_secs: u64,
    /// Extra random PENDING time, 0..=this many seconds.
    pub route53_pending_jitter_secs: u64,
    /// Account-wide Route 53 API rate, requests per second.
    pub route53_rate_per_sec: f64,
    /// Route 53 token bucket size.
    pub route53_burst: u32,
    /// Whether records carry Route 53 health checks on their region's endpoints (today
    /// `regionctl provision` attaches none, so the default is off).
    pub route53_health_checks: bool,
    /// Seconds of endpoint failure before a health check turns unhealthy (and back).
    pub health_check_delay_secs: u64,
    /// Seconds before new ECS tasks run.
    pub ecs_capacity_delay_secs: u64,
    /// Extra random start time per scale-up, 0..=this many seconds.
    pub ecs_capacity_jitter_secs: u64,
    /// Journal replication lag between regional replicas, milliseconds.
    pub journal_replication_lag_ms: u64,
    /// An alarm whose region serves no traffic for this long reads INSUFFICIENT_DATA.
    pub alarm_idle_after_secs: u64,
    /// The share of alarm state change events lost before a controller receives them.
    pub alarm_event_loss: f64,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            route53_pending_secs: 30,
            route53_pending_jitter_secs: 10,
            route53_rate_per_sec: 5.0,
            route53_burst: 20,
            route53_health_checks: false,
            health_check_delay_secs: 30,
            ecs_capacity_delay_secs: 90,
            ecs_capacity_jitter_secs: 30,
            journal_replication_lag_ms: 1500,
            alarm_idle_after_secs: 300,
            alarm_event_loss: 0.0,
        }
    }
}

impl Knobs {
    /// The knobs a scenario's `world.sim` resolves to: every unset knob takes its default.
    pub fn from_spec(s: &SimSpec) -> Knobs {
        let d = Knobs::default();
        let secs = |v: Option<Dur>, default: u64| v.map_or(default, Dur::secs);
        Knobs {
            route53_pending_secs: secs(s.route53_pending, d.route53_pending_secs),
            route53_pending_jitter_secs: secs(
                s.route53_pending_jitter,
                d.route53_pending_jitter_secs,
            ),
            route53_rate_per_sec: s.route53_rate_per_sec.unwrap_or(d.route53_rate_per_sec),
            route53_burst: s.route53_burst.unwrap_or(d.route53_burst),
            route53_health_checks: s.route53_health_checks.unwrap_or(d.route53_health_checks),
            health_check_delay_secs: secs(s.health_check_delay, d.health_check_delay_secs),
            ecs_capacity_delay_secs: secs(s.ecs_capacity_delay, d.ecs_capacity_delay_secs),
            ecs_capacity_jitter_secs: secs(s.ecs_capacity_jitter, d.ecs_capacity_jitter_secs),
            journal_replication_lag_ms: s
                .journal_replication_lag_ms
                .unwrap_or(d.journal_replication_lag_ms),
            alarm_idle_after_secs: secs(s.alarm_idle_after, d.alarm_idle_after_secs),
            alarm_event_loss: s
                .alarm_event_loss
                .unwrap_or(d.alarm_event_loss)
                .clamp(0.0, 1.0),
        }
    }
}
