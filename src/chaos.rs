//! The chaos metric: how a game-day on a real account fails an alarm (ADR 0008).
//!
//! A real CloudWatch alarm re-evaluates its metric every period, so a forced
//! `SetAlarmState` lasts seconds. Instead, every service health alarm `regionctl provision`
//! creates is a metric-math alarm over two metrics:
//!
//! ```text
//! real  = Sum(regionctl/service-health Errors|Load {Service, Region})      period 60 s
//! chaos = Maximum(regionctl/chaos Fault {Alarm, Region, Service})          period 60 s
//! watched = IF(FILL(chaos, 0) > 0, threshold + 1, real)     > threshold → ALARM
//! ```
//!
//! While a game-day publishes `Fault = 1` for an alarm, the watched value breaches every
//! period, whatever the service's own telemetry says. Without chaos data the watched value
//! *is* the real metric, missing where it is missing: an idle region's alarm still goes to
//! INSUFFICIENT_DATA (unknown), never to OK from a filled-in 0. The `Alarm` dimension lets a
//! game-day fail one alarm (a cell's, a service's) without touching its neighbours.
//!
//! # Latency
//! Standard resolution, period 60 s, 2 of 3 periods to alarm: an injected fault turns the
//! alarm to ALARM after about 2–3 minutes, and it returns to OK about 2–3 minutes after the
//! game-day stops publishing 1 (the last minute with a 1 still has `Maximum = 1`).

use regionctl_aws::cloudwatch::{AlarmEvaluation, MathAlarmSpec, MathQuery};
use regionctl_aws::types::{AlarmStatus, MetricId};

/// Namespace of the chaos metric.
pub const NAMESPACE: &str = "regionctl/chaos";
/// Name of the chaos metric.
pub const METRIC_NAME: &str = "Fault";
/// Published while a fault holds.
pub const FAULT_ON: f64 = 1.0;
/// Published when a fault is lifted and on rollback.
pub const FAULT_OFF: f64 = 0.0;
/// Period of the health alarms' queries, seconds.
pub const PERIOD_S: i32 = 60;
/// Namespace of the services' own health metrics (placeholders the services should feed).
pub const HEALTH_NAMESPACE: &str = "regionctl/service-health";

/// The chaos metric of one alarm (dimensions sorted by name).
pub fn metric(service: &str, region: &str, alarm: &str) -> MetricId {
    MetricId {
        namespace: NAMESPACE.into(),
        metric_name: METRIC_NAME.into(),
        dimensions: vec![
            ("Alarm".into(), alarm.into()),
            ("Region".into(), region.into()),
            ("Service".into(), service.into()),
        ],
    }
}

/// A service health alarm that also reads its chaos metric: `real` summed per period,
/// ALARM when it exceeds `threshold` in 2 of 3 periods, or while chaos is published.
pub fn health_alarm(
    name: &str,
    service: &str,
    region: &str,
    real: MetricId,
    threshold: f64,
) -> MathAlarmSpec {
    MathAlarmSpec {
        name: name.into(),
        queries: vec![
            MathQuery::Metric {
                id: "real".into(),
                metric: real,
                stat: "Sum".into(),
                period_s: PERIOD_S,
            },
            MathQuery::Metric {
                id: "chaos".into(),
                metric: metric(service, region, name),
                stat: "Maximum".into(),
                period_s: PERIOD_S,
            },
            MathQuery::Expression {
                id: "watched".into(),
                expression: expression(threshold),
            },
        ],
        returns: "watched".into(),
        evaluation: AlarmEvaluation {
            periods: 3,
            datapoints_to_alarm: 2,
            threshold,
            comparison: "GreaterThanThreshold".into(),
            // Missing real data stays missing (INSUFFICIENT_DATA means unknown, DESIGN §4).
            treat_missing_data: "missing".into(),
        },
    }
}

/// The watched expression: a breaching constant while chaos is on, the real metric
/// otherwise (missing where it is missing).
pub fn expression(threshold: f64) -> String {
    format!("IF(FILL(chaos, 0) > 0, {}, real)", threshold + 1.0)
}

/// Whether `alarm` reads the chaos metric publishing for (`service`, `region`) would feed.
pub fn reads_chaos(alarm: &AlarmStatus, service: &str, region: &str) -> bool {
    let want = metric(service, region, &alarm.name);
    alarm.math_metrics.contains(&want)
}

#[cfg(test)]
mod tests {
    use super::*;
    use regionctl_aws::cloudwatch::check_math_alarm;

    #[test]
    fn health_alarm_is_a_valid_math_alarm_watching_one_expression() {
        let real = MetricId {
            namespace: HEALTH_NAMESPACE.into(),
            metric_name: "Errors".into(),
            dimensions: vec![("Region".into(), "eu-west-1".into())],
        };
        let spec = health_alarm("a-5xx", "playback", "eu-west-1", real, 10.0);
        check_math_alarm(&spec).expect("CloudWatch's query rules");
        assert_eq!(spec.returns, "watched");
        assert_eq!(
            expression(10.0),
            "IF(FILL(chaos, 0) > 0, 11, real)",
            "the breaching constant must exceed the threshold"
        );
    }

    #[test]
    fn reads_chaos_needs_this_alarms_own_chaos_metric() {
        let status = |metrics: Vec<MetricId>| AlarmStatus {
            name: "a-5xx".into(),
            state: regionctl_aws::types::AlarmState::Ok,
            state_updated_ms: 0,
            reason: String::new(),
            namespace: String::new(),
            metric_name: String::new(),
            dimensions: Vec::new(),
            math_metrics: metrics,
        };
        assert!(reads_chaos(
            &status(vec![metric("playback", "eu-west-1", "a-5xx")]),
            "playback",
            "eu-west-1"
        ));
        // Another alarm's chaos metric, or none: publishing would not fail this alarm.
        assert!(!reads_chaos(
            &status(vec![metric("playback", "eu-west-1", "b-5xx")]),
            "playback",
            "eu-west-1"
        ));
        assert!(!reads_chaos(&status(Vec::new()), "playback", "eu-west-1"));
    }
}
