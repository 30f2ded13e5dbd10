//! The CloudWatch ports: `Alarms` (alarm states as the core's observations) and `Switches`
//! (the data-plane switch metrics, DESIGN.md §6).

use super::{AwsWorld, now_millis};
use crate::cloudwatch::{MetricPoint, MetricQuery};
use crate::types::AlarmStatus;
use regionctl_controller::ports::{Alarms, PortResult, SwitchRef, Switches};
use regionctl_core::health::AlarmObservation;
use regionctl_core::time::Timestamp;
use std::collections::BTreeMap;

/// Switch values per `PutMetricData` request: well under its 1,000 metrics.
const SWITCHES_PER_PUT: usize = 500;

/// How far back a switch's latest value is looked for: the alarm's view.
const SWITCH_LOOKBACK_MS: i64 = 3_600_000;

impl<H> Alarms for AwsWorld<H> {
    async fn describe_alarms(
        &self,
        region: &str,
        names: &[String],
    ) -> PortResult<Vec<(String, AlarmObservation)>> {
        let clients = self.region(region, "DescribeAlarms")?;
        let alarms = clients
            .cloudwatch
            .alarms_by_names(names)
            .await
            .map_err(|e| e.into_port("cloudwatch", "DescribeAlarms"))?;
        Ok(alarms.into_iter().map(observation).collect())
    }
}

/// An alarm as the core observes it: its state, since it last changed.
fn observation(a: AlarmStatus) -> (String, AlarmObservation) {
    (
        a.name,
        AlarmObservation {
            state: a.state,
            since: Timestamp(a.state_updated_ms),
        },
    )
}

/// The metric data point that publishes one switch value (`1` may serve, `0` drain).
fn switch_point(s: &SwitchRef, on: bool) -> MetricPoint {
    MetricPoint {
        name: s.metric.clone(),
        dimensions: s.dimensions.clone(),
        value: if on { 1.0 } else { 0.0 },
        timestamp_ms: None,
    }
}

/// The query that reads one switch's latest minute as its alarm does (the minimum over
/// publishers).
fn switch_query(s: &SwitchRef) -> MetricQuery {
    MetricQuery {
        namespace: s.namespace.clone(),
        metric_name: s.metric.clone(),
        dimensions: s.dimensions.clone(),
        stat: "Minimum".into(),
        period_s: 60,
    }
}

impl<H> Switches for AwsWorld<H> {
    async fn publish_switches(&self, values: &[(SwitchRef, bool)]) -> PortResult<()> {
        // Per (alarm region, namespace), in chunks. A region that fails does not stop the
        // others.
        let mut groups: BTreeMap<(&str, &str), Vec<MetricPoint>> = BTreeMap::new();
        for (s, on) in values {
            groups
                .entry((s.alarm_region.as_str(), s.namespace.as_str()))
                .or_default()
                .push(switch_point(s, *on));
        }
        let mut failure = None;
        for ((region, namespace), points) in groups {
            let clients = match self.region(region, "PutMetricData") {
                Ok(c) => c,
                Err(e) => {
                    failure.get_or_insert(e);
                    continue;
                }
            };
            for chunk in points.chunks(SWITCHES_PER_PUT) {
                if let Err(e) = clients.cloudwatch.put_metric_data(namespace, chunk).await {
                    failure.get_or_insert(e.into_port("cloudwatch", "PutMetricData"));
                }
            }
        }
        failure.map_or(Ok(()), Err)
    }

    async fn read_switches(&self, switches: &[SwitchRef]) -> PortResult<Vec<Option<bool>>> {
        let now = now_millis();
        let mut out = vec![None; switches.len()];
        let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, s) in switches.iter().enumerate() {
            groups.entry(s.alarm_region.as_str()).or_default().push(i);
        }
        for (region, ixs) in groups {
            let clients = self.region(region, "GetMetricData")?;
            let queries: Vec<MetricQuery> =
                ixs.iter().map(|i| switch_query(&switches[*i])).collect();
            // The latest minute with data within the lookback.
            let series = clients
                .cloudwatch
                .get_metric_data_many(&queries, now - SWITCH_LOOKBACK_MS, now + 60_000)
                .await
                .map_err(|e| e.into_port("cloudwatch", "GetMetricData"))?;
            for (i, points) in ixs.iter().zip(series) {
                out[*i] = points.first().map(|(_, v)| *v >= 1.0);
            }
        }
        Ok(out)
    }
}
