//! CloudWatch: read alarm states (the controllers' main signal), drive them in tests, publish
//! the switch and chaos metrics, provision alarms (single-metric and metric-math).
//!
//! The SDK is pinned to 1.99.0 (awsQuery): later releases speak RPC v2 CBOR, which moto
//! does not understand. Alarm reads are batched: at most 100 names per `DescribeAlarms`.

use crate::errors::{AwsError, Result};
use crate::types::{AlarmState, AlarmStatus, MetricId, alarm_state_name, parse_alarm_state};
use aws_config::SdkConfig;
use aws_sdk_cloudwatch::operation::put_metric_alarm::builders::PutMetricAlarmFluentBuilder;
use aws_sdk_cloudwatch::types as cw;
use aws_smithy_types::DateTime;

const SERVICE: &str = "cloudwatch";
/// `DescribeAlarms` accepts at most 100 alarm names per call.
pub const MAX_NAMES_PER_CALL: usize = 100;

/// A metric data point to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    /// Metric name.
    pub name: String,
    /// Dimensions as (name, value).
    pub dimensions: Vec<(String, String)>,
    /// Value.
    pub value: f64,
    /// Timestamp in epoch milliseconds (`None`: now, as set by CloudWatch).
    pub timestamp_ms: Option<i64>,
}

/// When an alarm fires and how it treats missing data: the same for single-metric and
/// metric-math alarms.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmEvaluation {
    /// Evaluation periods.
    pub periods: i32,
    /// Datapoints that must breach within the evaluation periods.
    pub datapoints_to_alarm: i32,
    /// Threshold.
    pub threshold: f64,
    /// `GreaterThanThreshold`, `LessThanThreshold`, ...
    pub comparison: String,
    /// `missing`, `notBreaching`, `breaching` or `ignore`.
    pub treat_missing_data: String,
}

/// A metric alarm to create or replace.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmSpec {
    /// Alarm name.
    pub name: String,
    /// Metric namespace.
    pub namespace: String,
    /// Metric name.
    pub metric_name: String,
    /// Dimensions as (name, value).
    pub dimensions: Vec<(String, String)>,
    /// Statistic (`Sum`, `Average`, `Maximum`, ...).
    pub statistic: String,
    /// Period in seconds.
    pub period_s: i32,
    /// When it fires and how it treats missing data.
    pub evaluation: AlarmEvaluation,
}

/// One query of a metric-math alarm: a metric to read, or an expression over other
/// queries' ids.
#[derive(Debug, Clone, PartialEq)]
pub enum MathQuery {
    /// Reads one metric's statistic.
    Metric {
        /// Query id (starts with a lowercase letter; letters, digits, `_`).
        id: String,
        /// The metric.
        metric: MetricId,
        /// Statistic (`Sum`, `Maximum`, ...).
        stat: String,
        /// Period in seconds.
        period_s: i32,
    },
    /// A metric-math expression, e.g. `IF(FILL(chaos, 0) > 0, 11, real)`.
    Expression {
        /// Query id (starts with a lowercase letter; letters, digits, `_`).
        id: String,
        /// The expression.
        expression: String,
    },
}

impl MathQuery {
    /// The query's id.
    pub fn id(&self) -> &str {
        match self {
            MathQuery::Metric { id, .. } | MathQuery::Expression { id, .. } => id,
        }
    }
}

/// A metric-math alarm to create or replace: the alarm watches the query `returns`.
#[derive(Debug, Clone, PartialEq)]
pub struct MathAlarmSpec {
    /// Alarm name.
    pub name: String,
    /// Queries (PutMetricAlarm takes at most 10 metrics and 10 expressions).
    pub queries: Vec<MathQuery>,
    /// Id of the one query whose result the alarm watches (`ReturnData=true`; every other
    /// query is sent with `ReturnData=false`, as PutMetricAlarm requires).
    pub returns: String,
    /// When it fires and how it treats missing data.
    pub evaluation: AlarmEvaluation,
}

/// PutMetricAlarm's limits on a metric-math alarm's queries.
const MAX_ALARM_METRICS: usize = 10;
const MAX_ALARM_EXPRESSIONS: usize = 10;

/// Checks what CloudWatch would reject, before any call: query ids (lowercase first letter;
/// letters, digits and `_`; unique), the returned id exists and is an expression or a
/// metric, and the per-alarm query limits.
pub fn check_math_alarm(spec: &MathAlarmSpec) -> Result<()> {
    let bad = |m: String| Err(AwsError::InvalidInput(format!("alarm {}: {m}", spec.name)));
    let mut seen = std::collections::BTreeSet::new();
    for q in &spec.queries {
        let id = q.id();
        let first_ok = id.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        if !first_ok || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return bad(format!(
                "query id `{id}` must start with a lowercase letter and hold only letters, digits and _"
            ));
        }
        if !seen.insert(id) {
            return bad(format!("query id `{id}` is used twice"));
        }
    }
    if !seen.contains(spec.returns.as_str()) {
        return bad(format!(
            "returns `{}`, which is no query's id",
            spec.returns
        ));
    }
    let metrics = spec
        .queries
        .iter()
        .filter(|q| matches!(q, MathQuery::Metric { .. }))
        .count();
    let expressions = spec.queries.len() - metrics;
    if metrics > MAX_ALARM_METRICS || expressions > MAX_ALARM_EXPRESSIONS {
        return bad(format!(
            "{metrics} metric(s) and {expressions} expression(s); an alarm takes at most {MAX_ALARM_METRICS} of each"
        ));
    }
    Ok(())
}

/// Sends a PutMetricAlarm whose metric part is set, with its evaluation.
async fn put_alarm(request: PutMetricAlarmFluentBuilder, e: &AlarmEvaluation) -> Result<()> {
    request
        .evaluation_periods(e.periods)
        .datapoints_to_alarm(e.datapoints_to_alarm)
        .threshold(e.threshold)
        .comparison_operator(cw::ComparisonOperator::from(e.comparison.as_str()))
        .treat_missing_data(&e.treat_missing_data)
        .send()
        .await
        .map_err(|err| AwsError::from_sdk(SERVICE, "PutMetricAlarm", err))?;
    Ok(())
}

fn math_query(q: &MathQuery, returns: &str) -> cw::MetricDataQuery {
    let b = cw::MetricDataQuery::builder()
        .id(q.id())
        .return_data(q.id() == returns);
    match q {
        MathQuery::Metric {
            metric,
            stat,
            period_s,
            ..
        } => b.metric_stat(metric_stat(
            &metric.namespace,
            &metric.metric_name,
            &metric.dimensions,
            *period_s,
            stat,
        )),
        MathQuery::Expression { expression, .. } => b.expression(expression),
    }
    .build()
}

/// One metric statistic to read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricQuery {
    /// Metric namespace.
    pub namespace: String,
    /// Metric name.
    pub metric_name: String,
    /// Dimensions as (name, value).
    pub dimensions: Vec<(String, String)>,
    /// Statistic (`Sum`, `Average`, ...).
    pub stat: String,
    /// Period in seconds.
    pub period_s: i32,
}

impl MetricQuery {
    fn metric_stat(&self) -> cw::MetricStat {
        metric_stat(
            &self.namespace,
            &self.metric_name,
            &self.dimensions,
            self.period_s,
            &self.stat,
        )
    }
}

/// One metric's statistic over a period, as GetMetricData and metric-math alarms read it.
fn metric_stat(
    namespace: &str,
    metric_name: &str,
    dimensions: &[(String, String)],
    period_s: i32,
    stat: &str,
) -> cw::MetricStat {
    cw::MetricStat::builder()
        .metric(
            cw::Metric::builder()
                .namespace(namespace)
                .metric_name(metric_name)
                .set_dimensions(Some(dims(dimensions)))
                .build(),
        )
        .period(period_s)
        .stat(stat)
        .build()
}

/// A CloudWatch client for one region.
#[derive(Debug, Clone)]
pub struct CloudWatchClient {
    client: aws_sdk_cloudwatch::Client,
}

fn dims(d: &[(String, String)]) -> Vec<cw::Dimension> {
    d.iter()
        .map(|(n, v)| cw::Dimension::builder().name(n).value(v).build())
        .collect()
}

fn dimension_pair(d: &cw::Dimension) -> (String, String) {
    (
        d.name().unwrap_or_default().to_string(),
        d.value().unwrap_or_default().to_string(),
    )
}

fn to_status(a: &cw::MetricAlarm) -> Option<AlarmStatus> {
    Some(AlarmStatus {
        name: a.alarm_name()?.to_string(),
        state: parse_alarm_state(a.state_value()?.as_str())?,
        state_updated_ms: a
            .state_updated_timestamp()
            .and_then(|t| t.to_millis().ok())
            .unwrap_or(0),
        reason: a.state_reason().unwrap_or_default().to_string(),
        namespace: a.namespace().unwrap_or_default().to_string(),
        metric_name: a.metric_name().unwrap_or_default().to_string(),
        dimensions: a.dimensions().iter().map(dimension_pair).collect(),
        math_metrics: a
            .metrics()
            .iter()
            .filter_map(|q| q.metric_stat()?.metric())
            .map(|m| {
                let mut dimensions: Vec<(String, String)> = m
                    .dimensions()
                    .iter()
                    .map(|d| {
                        (
                            d.name().unwrap_or_default().to_string(),
                            d.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect();
                dimensions.sort();
                MetricId {
                    namespace: m.namespace().unwrap_or_default().to_string(),
                    metric_name: m.metric_name().unwrap_or_default().to_string(),
                    dimensions,
                }
            })
            .collect(),
    })
}

impl CloudWatchClient {
    /// A client from an [`SdkConfig`].
    pub fn new(sdk: &SdkConfig) -> Self {
        CloudWatchClient {
            client: aws_sdk_cloudwatch::Client::new(sdk),
        }
    }

    /// Describes alarms by name, any number of names (chunked by 100, each chunk paginated).
    /// Names that do not exist are simply absent from the result.
    pub async fn alarms_by_names(&self, names: &[String]) -> Result<Vec<AlarmStatus>> {
        let mut out = Vec::new();
        for chunk in names.chunks(MAX_NAMES_PER_CALL) {
            out.extend(self.describe(Some(chunk), None).await?);
        }
        Ok(out)
    }

    /// Describes all metric alarms whose name starts with `prefix` (paginated).
    pub async fn alarms_by_prefix(&self, prefix: &str) -> Result<Vec<AlarmStatus>> {
        self.describe(None, Some(prefix)).await
    }

    async fn describe(
        &self,
        names: Option<&[String]>,
        prefix: Option<&str>,
    ) -> Result<Vec<AlarmStatus>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_alarms()
                .set_alarm_names(names.map(<[String]>::to_vec))
                .set_alarm_name_prefix(prefix.map(str::to_string))
                .alarm_types(cw::AlarmType::MetricAlarm)
                .max_records(100)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(SERVICE, "DescribeAlarms", e))?;
            out.extend(page.metric_alarms().iter().filter_map(to_status));
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }

    /// Sets an alarm's state (tests and game-days; the next evaluation overrides it).
    pub async fn set_alarm_state(&self, name: &str, state: AlarmState, reason: &str) -> Result<()> {
        self.client
            .set_alarm_state()
            .alarm_name(name)
            .state_value(cw::StateValue::from(alarm_state_name(state)))
            .state_reason(reason)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "SetAlarmState", e))?;
        Ok(())
    }

    /// Publishes data points (standard resolution) to `namespace`.
    pub async fn put_metric_data(&self, namespace: &str, points: &[MetricPoint]) -> Result<()> {
        let data = points
            .iter()
            .map(|p| {
                cw::MetricDatum::builder()
                    .metric_name(&p.name)
                    .set_dimensions(Some(dims(&p.dimensions)))
                    .value(p.value)
                    .set_timestamp(p.timestamp_ms.map(DateTime::from_millis))
                    .build()
            })
            .collect();
        self.client
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(data))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "PutMetricData", e))?;
        Ok(())
    }

    /// Creates or replaces a metric alarm.
    pub async fn put_metric_alarm(&self, spec: &AlarmSpec) -> Result<()> {
        let request = self
            .client
            .put_metric_alarm()
            .alarm_name(&spec.name)
            .namespace(&spec.namespace)
            .metric_name(&spec.metric_name)
            .set_dimensions(Some(dims(&spec.dimensions)))
            .statistic(cw::Statistic::from(spec.statistic.as_str()))
            .period(spec.period_s);
        put_alarm(request, &spec.evaluation).await
    }

    /// Creates or replaces a metric-math alarm (checked first with [`check_math_alarm`]).
    pub async fn put_metric_math_alarm(&self, spec: &MathAlarmSpec) -> Result<()> {
        check_math_alarm(spec)?;
        let request = self
            .client
            .put_metric_alarm()
            .alarm_name(&spec.name)
            .set_metrics(Some(
                spec.queries
                    .iter()
                    .map(|q| math_query(q, &spec.returns))
                    .collect(),
            ));
        put_alarm(request, &spec.evaluation).await
    }

    /// Reads one metric's statistic over `[start_ms, end_ms)`: (timestamp ms, value) pairs.
    pub async fn get_metric_data(
        &self,
        q: &MetricQuery,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<(i64, f64)>> {
        let query = cw::MetricDataQuery::builder()
            .id("m0")
            .metric_stat(q.metric_stat())
            .build();
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .get_metric_data()
                .metric_data_queries(query.clone())
                .start_time(DateTime::from_millis(start_ms))
                .end_time(DateTime::from_millis(end_ms))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(SERVICE, "GetMetricData", e))?;
            for r in page.metric_data_results() {
                for (t, v) in r.timestamps().iter().zip(r.values()) {
                    out.push((t.to_millis().unwrap_or(0), *v));
                }
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }

    /// Reads many metrics' statistics over `[start_ms, end_ms)` with as few
    /// `GetMetricData` calls as the API allows (500 queries each): per query, its
    /// (timestamp ms, value) pairs, newest first.
    pub async fn get_metric_data_many(
        &self,
        queries: &[MetricQuery],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Vec<(i64, f64)>>> {
        const PER_CALL: usize = 500;
        let mut out = vec![Vec::new(); queries.len()];
        for (chunk_ix, chunk) in queries.chunks(PER_CALL).enumerate() {
            let built: Vec<cw::MetricDataQuery> = chunk
                .iter()
                .enumerate()
                .map(|(i, q)| {
                    cw::MetricDataQuery::builder()
                        .id(format!("q{i}"))
                        .metric_stat(q.metric_stat())
                        .build()
                })
                .collect();
            let mut token: Option<String> = None;
            loop {
                let page = self
                    .client
                    .get_metric_data()
                    .set_metric_data_queries(Some(built.clone()))
                    .start_time(DateTime::from_millis(start_ms))
                    .end_time(DateTime::from_millis(end_ms))
                    .scan_by(cw::ScanBy::TimestampDescending)
                    .set_next_token(token.take())
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk(SERVICE, "GetMetricData", e))?;
                for r in page.metric_data_results() {
                    let Some(i) = r
                        .id()
                        .and_then(|id| id.strip_prefix('q'))
                        .and_then(|n| n.parse::<usize>().ok())
                    else {
                        continue;
                    };
                    if let Some(slot) = out.get_mut(chunk_ix * PER_CALL + i) {
                        for (t, v) in r.timestamps().iter().zip(r.values()) {
                            slot.push((t.to_millis().unwrap_or(0), *v));
                        }
                    }
                }
                match page.next_token() {
                    Some(t) if !t.is_empty() => token = Some(t.to_string()),
                    _ => break,
                }
            }
        }
        for series in &mut out {
            series.sort_by_key(|p| std::cmp::Reverse(p.0));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PutMetricAlarm rejects a metric-math alarm unless exactly one query returns data:
    /// the watched one is sent with `ReturnData=true`, every other with an explicit `false`
    /// (omitted means true).
    #[test]
    fn only_the_watched_query_returns_data() {
        let metric = MetricId {
            namespace: "ns".into(),
            metric_name: "Errors".into(),
            dimensions: vec![("Region".into(), "eu-west-1".into())],
        };
        let queries = [
            MathQuery::Metric {
                id: "real".into(),
                metric,
                stat: "Sum".into(),
                period_s: 60,
            },
            MathQuery::Expression {
                id: "watched".into(),
                expression: "real * 2".into(),
            },
        ];
        let sent: Vec<(Option<String>, Option<bool>, bool)> = queries
            .iter()
            .map(|q| math_query(q, "watched"))
            .map(|q| {
                (
                    q.id().map(str::to_string),
                    q.return_data(),
                    q.metric_stat().is_some(),
                )
            })
            .collect();
        assert_eq!(
            sent,
            vec![
                (Some("real".into()), Some(false), true),
                (Some("watched".into()), Some(true), false),
            ]
        );
    }
}
