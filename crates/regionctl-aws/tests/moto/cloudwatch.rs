//! CloudWatch against moto (pinned awsQuery SDK): alarms by prefix and by name (chunked),
//! SetAlarmState, metric data, metric-math alarms.

use crate::harness::{sdk, unique};
use regionctl_aws::ErrorClass;
use regionctl_aws::cloudwatch::{
    AlarmEvaluation, AlarmSpec, CloudWatchClient, MathAlarmSpec, MathQuery, MetricPoint,
    MetricQuery, check_math_alarm,
};
use regionctl_aws::types::{AlarmState, MetricId};

/// ALARM when over 10 in 2 of 3 periods; missing data stays missing.
fn two_of_three_over_ten() -> AlarmEvaluation {
    AlarmEvaluation {
        periods: 3,
        datapoints_to_alarm: 2,
        threshold: 10.0,
        comparison: "GreaterThanThreshold".into(),
        treat_missing_data: "missing".into(),
    }
}

fn spec(name: &str, namespace: &str) -> AlarmSpec {
    AlarmSpec {
        name: name.to_string(),
        namespace: namespace.to_string(),
        metric_name: "Errors".into(),
        dimensions: vec![("Service".into(), "api".into())],
        statistic: "Sum".into(),
        period_s: 60,
        evaluation: two_of_three_over_ten(),
    }
}

#[tokio::test]
async fn alarms_by_prefix_and_names_and_set_state() {
    let cw = CloudWatchClient::new(&sdk("eu-central-1").await);
    let prefix = unique("alarm");
    let ns = unique("ns");
    let names: Vec<String> = (0..3).map(|i| format!("{prefix}-{i}")).collect();
    for n in &names {
        cw.put_metric_alarm(&spec(n, &ns)).await.unwrap();
    }
    let by_prefix = cw.alarms_by_prefix(&prefix).await.unwrap();
    assert_eq!(by_prefix.len(), 3);

    cw.set_alarm_state(&names[1], AlarmState::Alarm, "test")
        .await
        .unwrap();

    // 150 names: two DescribeAlarms chunks; unknown names are simply absent.
    let mut query: Vec<String> = (0..147).map(|i| format!("{prefix}-missing-{i}")).collect();
    query.extend(names.iter().cloned());
    let by_name = cw.alarms_by_names(&query).await.unwrap();
    assert_eq!(by_name.len(), 3);
    let alarmed = by_name.iter().find(|a| a.name == names[1]).unwrap();
    assert_eq!(alarmed.state, AlarmState::Alarm);
    assert_eq!(alarmed.reason, "test");
    assert!(
        alarmed.state_updated_ms > 1_600_000_000_000,
        "{}",
        alarmed.state_updated_ms
    );

    // Regions are isolated in moto, as in AWS.
    let us = CloudWatchClient::new(&sdk("us-east-1").await);
    assert!(us.alarms_by_prefix(&prefix).await.unwrap().is_empty());

    let err = cw
        .set_alarm_state(&format!("{prefix}-nope"), AlarmState::Ok, "x")
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permanent, "{err}");
    assert_eq!(err.code(), Some("ResourceNotFound"));
}

#[tokio::test]
async fn metric_data_round_trips() {
    let cw = CloudWatchClient::new(&sdk("eu-west-1").await);
    let ns = unique("switch");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let ts = now_ms - now_ms % 60_000 - 60_000;
    let point = |v: f64| MetricPoint {
        name: "Switch".into(),
        dimensions: vec![("Region".into(), "eu-west-1".into())],
        value: v,
        timestamp_ms: Some(ts),
    };
    cw.put_metric_data(&ns, &[point(1.0), point(2.0)])
        .await
        .unwrap();
    let q = MetricQuery {
        namespace: ns,
        metric_name: "Switch".into(),
        dimensions: vec![("Region".into(), "eu-west-1".into())],
        stat: "Sum".into(),
        period_s: 60,
    };
    let data = cw
        .get_metric_data(&q, ts - 120_000, now_ms + 60_000)
        .await
        .unwrap();
    let total: f64 = data.iter().map(|(_, v)| v).sum();
    assert_eq!(total, 3.0, "{data:?}");
}

/// A metric-math alarm as `provision` builds them: two metrics and one watched expression.
fn math_spec(name: &str, ns: &str) -> MathAlarmSpec {
    let metric = |namespace: &str, metric_name: &str| MetricId {
        namespace: namespace.into(),
        metric_name: metric_name.into(),
        dimensions: vec![
            ("Alarm".into(), name.into()),
            ("Region".into(), "eu-central-1".into()),
        ],
    };
    MathAlarmSpec {
        name: name.into(),
        queries: vec![
            MathQuery::Metric {
                id: "real".into(),
                metric: metric(ns, "Errors"),
                stat: "Sum".into(),
                period_s: 60,
            },
            MathQuery::Metric {
                id: "chaos".into(),
                metric: metric(&format!("{ns}-chaos"), "Fault"),
                stat: "Maximum".into(),
                period_s: 60,
            },
            MathQuery::Expression {
                id: "watched".into(),
                expression: "IF(FILL(chaos, 0) > 0, 11, real)".into(),
            },
        ],
        returns: "watched".into(),
        evaluation: two_of_three_over_ten(),
    }
}

/// Goal: a metric-math alarm is created, read back with the metrics its queries read (the
/// game-day's wiring check relies on it), and still driven by SetAlarmState (moto never
/// evaluates it). Method: put, describe, set state, describe.
#[tokio::test]
async fn metric_math_alarm_round_trips_with_its_metrics() {
    let cw = CloudWatchClient::new(&sdk("eu-central-1").await);
    let name = unique("math");
    let ns = unique("mathns");
    let spec = math_spec(&name, &ns);
    cw.put_metric_math_alarm(&spec).await.unwrap();
    let found = cw
        .alarms_by_names(std::slice::from_ref(&name))
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    let a = &found[0];
    assert_eq!(a.namespace, "", "a math alarm has no single metric");
    let mut read: Vec<MetricId> = a.math_metrics.clone();
    read.sort();
    let mut want: Vec<MetricId> = spec
        .queries
        .iter()
        .filter_map(|q| match q {
            MathQuery::Metric { metric, .. } => Some(metric.clone()),
            MathQuery::Expression { .. } => None,
        })
        .collect();
    want.sort();
    assert_eq!(read, want);

    cw.set_alarm_state(&name, AlarmState::Alarm, "game-day stand-in")
        .await
        .unwrap();
    let found = cw
        .alarms_by_names(std::slice::from_ref(&name))
        .await
        .unwrap();
    assert_eq!(found[0].state, AlarmState::Alarm);
}

/// Goal: what CloudWatch would reject is rejected before any call. Method: break one rule
/// at a time against a client whose endpoint nothing listens on (a call would fail
/// differently).
#[tokio::test]
async fn metric_math_alarm_rules_are_checked_before_calling() {
    let cw = CloudWatchClient::new(
        &regionctl_aws::config::load_for_tests("eu-central-1", "http://127.0.0.1:9").await,
    );
    let base = math_spec("rules", "ns");
    let mut upper = base.clone();
    upper.queries[0] = MathQuery::Expression {
        id: "Real".into(),
        expression: "1".into(),
    };
    let mut missing = base.clone();
    missing.returns = "nope".into();
    let mut twice = base.clone();
    twice.queries.push(MathQuery::Expression {
        id: "chaos".into(),
        expression: "1".into(),
    });
    for (spec, why) in [
        (upper, "must start with a lowercase letter"),
        (missing, "which is no query's id"),
        (twice, "is used twice"),
    ] {
        let err = cw.put_metric_math_alarm(&spec).await.unwrap_err();
        assert!(
            matches!(err, regionctl_aws::AwsError::InvalidInput(_))
                && err.to_string().contains(why),
            "{err}"
        );
    }
    check_math_alarm(&base).unwrap();
}
