//! CloudWatch against moto (pinned awsQuery SDK): alarms by prefix and by name (chunked),
//! SetAlarmState, metric data.

use crate::harness::{sdk, unique};
use regionctl_aws::ErrorClass;
use regionctl_aws::cloudwatch::{AlarmSpec, CloudWatchClient, MetricPoint, MetricQuery};
use regionctl_aws::types::AlarmState;

fn spec(name: &str, namespace: &str) -> AlarmSpec {
    AlarmSpec {
        name: name.to_string(),
        namespace: namespace.to_string(),
        metric_name: "Errors".into(),
        dimensions: vec![("Service".into(), "api".into())],
        statistic: "Sum".into(),
        period_s: 60,
        evaluation_periods: 3,
        datapoints_to_alarm: 2,
        threshold: 10.0,
        comparison: "GreaterThanThreshold".into(),
        treat_missing_data: "missing".into(),
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
