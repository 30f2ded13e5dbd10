//! The controller's ports, implemented with the AWS adapters (`regionctl-aws`).
//!
//! One [`AwsWorld`] per controller: clients for every region the policies name (alarms,
//! ECS and ALBs live in the region they serve), Route 53 (global, one shared token bucket),
//! the journal in `journal_region`, and EventBridge in the controller's own region.

use regionctl_aws::cloudwatch::{MetricPoint, MetricQuery};
use regionctl_aws::config::{AwsSettings, load};
use regionctl_aws::dynamodb::{self, ItemKind, PutOutcome};
use regionctl_aws::route53::Route53Client;
use regionctl_aws::route53::{BucketConfig, SharedBucket};
use regionctl_aws::types::{self as aws_types, RecordChange, RecordSet, RecordType, Routing};
use regionctl_aws::{AwsError, ErrorClass};
use regionctl_aws::{
    cloudwatch::CloudWatchClient, ecs::EcsClient, elbv2::Elbv2Client,
    eventbridge::EventBridgeClient,
};
use regionctl_controller::ports::{
    Alarms, Balancer, BatchCheck, ChangeReport, Clock, Compute, Dns, Events, FailureClass, Journal,
    JournalItem, PortError, PortResult, Prober, SwitchRef, Switches, WeightedRecord,
};
use regionctl_core::health::{AlarmObservation, AlarmState};
use regionctl_core::live::{AlbState, EcsState};
use regionctl_core::policy::Probe;
use regionctl_core::time::Timestamp;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Clients for one region.
pub struct RegionClients {
    /// CloudWatch.
    pub cloudwatch: CloudWatchClient,
    /// ECS.
    pub ecs: EcsClient,
    /// ELBv2.
    pub elbv2: Elbv2Client,
}

/// The AWS implementation of every controller port.
pub struct AwsWorld {
    /// Per region.
    pub regions: BTreeMap<String, RegionClients>,
    /// Route 53 (global).
    pub route53: Route53Client,
    /// The journal.
    pub journal: dynamodb::Journal,
    /// Events in the controller's region.
    pub events: EventBridgeClient,
    /// Health check ids of weighted records, by (zone, record name, set identifier), as
    /// last read: a weight UPSERT must carry the record's data-plane switch along, or it
    /// would detach it.
    health_checks: Mutex<HashMap<(String, String, String), String>>,
}

/// How to build an [`AwsWorld`].
pub struct WorldSettings {
    /// The controller's region.
    pub region: String,
    /// Every region to hold clients for.
    pub regions: Vec<String>,
    /// Endpoint override (moto).
    pub endpoint_url: Option<String>,
    /// Journal table.
    pub journal_table: String,
    /// Journal region (default: the controller's).
    pub journal_region: Option<String>,
    /// Route 53 token bucket.
    pub bucket: BucketConfig,
}

impl AwsWorld {
    /// Builds clients for every region.
    pub async fn connect(settings: &WorldSettings) -> AwsWorld {
        let sdk = |region: &str| {
            let s = AwsSettings {
                region: region.to_string(),
                endpoint_url: settings.endpoint_url.clone(),
            };
            async move { load(&s).await }
        };
        let mut regions = BTreeMap::new();
        for r in &settings.regions {
            let cfg = sdk(r).await;
            regions.insert(
                r.clone(),
                RegionClients {
                    cloudwatch: CloudWatchClient::new(&cfg),
                    ecs: EcsClient::new(&cfg),
                    elbv2: Elbv2Client::new(&cfg),
                },
            );
        }
        // Route 53's control plane lives in us-east-1.
        let global = sdk("us-east-1").await;
        let route53 = Route53Client::new(&global, Arc::new(SharedBucket::new(settings.bucket)));
        let journal_region = settings
            .journal_region
            .clone()
            .unwrap_or_else(|| settings.region.clone());
        let journal =
            dynamodb::Journal::new(&sdk(&journal_region).await, settings.journal_table.clone());
        let events = EventBridgeClient::new(&sdk(&settings.region).await);
        AwsWorld {
            regions,
            route53,
            journal,
            events,
            health_checks: Mutex::new(HashMap::new()),
        }
    }

    fn region(&self, name: &str, operation: &'static str) -> PortResult<&RegionClients> {
        self.regions.get(name).ok_or_else(|| PortError {
            service: "regionctl",
            operation,
            class: FailureClass::Permanent,
            message: format!("no clients for region {name}"),
        })
    }
}

/// Maps an adapter error onto the port error, keeping its classification.
pub fn port_error(service: &'static str, operation: &'static str, e: AwsError) -> PortError {
    let class = match e.class() {
        ErrorClass::Retryable => FailureClass::Retryable,
        ErrorClass::Throttled => FailureClass::Throttled,
        ErrorClass::Permanent => FailureClass::Permanent,
    };
    PortError {
        service,
        operation,
        class,
        message: e.to_string(),
    }
}

fn record_type(t: &str) -> RecordType {
    RecordType::parse(t)
}

/// A record name as the health-check cache keys it.
fn record_key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl Switches for AwsWorld {
    async fn publish_switches(&self, values: &[(SwitchRef, bool)]) -> PortResult<()> {
        // Per (alarm region, namespace), in chunks well under PutMetricData's 1,000
        // metrics per request. A region that fails does not stop the others.
        let mut groups: BTreeMap<(&str, &str), Vec<MetricPoint>> = BTreeMap::new();
        for (s, on) in values {
            groups
                .entry((s.alarm_region.as_str(), s.namespace.as_str()))
                .or_default()
                .push(MetricPoint {
                    name: s.metric.clone(),
                    dimensions: s.dimensions.clone(),
                    value: if *on { 1.0 } else { 0.0 },
                    timestamp_ms: None,
                });
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
            for chunk in points.chunks(500) {
                if let Err(e) = clients.cloudwatch.put_metric_data(namespace, chunk).await {
                    failure.get_or_insert(port_error("cloudwatch", "PutMetricData", e));
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
            let queries: Vec<MetricQuery> = ixs
                .iter()
                .map(|i| MetricQuery {
                    namespace: switches[*i].namespace.clone(),
                    metric_name: switches[*i].metric.clone(),
                    dimensions: switches[*i].dimensions.clone(),
                    stat: "Minimum".into(),
                    period_s: 60,
                })
                .collect();
            // The latest minute with data within the last hour: the alarm's view.
            let series = clients
                .cloudwatch
                .get_metric_data_many(&queries, now - 3_600_000, now + 60_000)
                .await
                .map_err(|e| port_error("cloudwatch", "GetMetricData", e))?;
            for (i, points) in ixs.iter().zip(series) {
                out[*i] = points.first().map(|(_, v)| *v >= 1.0);
            }
        }
        Ok(out)
    }
}

impl Dns for AwsWorld {
    async fn read_weighted(&self, zone: &str) -> PortResult<Vec<WeightedRecord>> {
        let (records, _calls) = self
            .route53
            .list_record_sets(zone)
            .await
            .map_err(|e| port_error("route53", "ListResourceRecordSets", e))?;
        if let Ok(mut known) = self.health_checks.lock() {
            for r in &records {
                if let (Routing::Weighted { set_identifier, .. }, Some(id)) =
                    (&r.routing, &r.health_check_id)
                {
                    known.insert(
                        (
                            zone.to_string(),
                            record_key(&r.name),
                            set_identifier.clone(),
                        ),
                        id.clone(),
                    );
                }
            }
        }
        Ok(records
            .into_iter()
            .filter_map(|r| match r.routing {
                Routing::Weighted {
                    set_identifier,
                    weight,
                } => Some(WeightedRecord {
                    name: r.name.trim_end_matches('.').to_string(),
                    record_type: r.rtype.as_str().to_string(),
                    set_identifier,
                    value: r.values.first().cloned().unwrap_or_default(),
                    ttl: r.ttl,
                    weight,
                }),
                _ => None,
            })
            .collect())
    }

    async fn upsert_weighted(
        &self,
        zone: &str,
        records: &[WeightedRecord],
        check: BatchCheck<'_>,
    ) -> PortResult<ChangeReport> {
        let known = self
            .health_checks
            .lock()
            .map(|k| k.clone())
            .unwrap_or_default();
        let changes: Vec<RecordChange> = records
            .iter()
            .map(|r| {
                let health_check_id = known
                    .get(&(
                        zone.to_string(),
                        record_key(&r.name),
                        r.set_identifier.clone(),
                    ))
                    .cloned();
                RecordChange::upsert(RecordSet {
                    name: r.name.clone(),
                    rtype: record_type(&r.record_type),
                    ttl: r.ttl,
                    values: vec![r.value.clone()],
                    routing: Routing::Weighted {
                        set_identifier: r.set_identifier.clone(),
                        weight: r.weight,
                    },
                    health_check_id,
                })
            })
            .collect();
        // The guard sees each batch's state as the records written so far.
        let by_key: HashMap<(&str, &str), &WeightedRecord> = records
            .iter()
            .map(|r| ((r.name.as_str(), r.set_identifier.as_str()), r))
            .collect();
        let guard = |applied: &[RecordChange]| {
            let written: Vec<WeightedRecord> = applied
                .iter()
                .filter_map(|c| match &c.record.routing {
                    Routing::Weighted { set_identifier, .. } => by_key
                        .get(&(c.record.name.as_str(), set_identifier.as_str()))
                        .map(|r| (*r).clone()),
                    _ => None,
                })
                .collect();
            check(&written).is_ok()
        };
        let report = self
            .route53
            .apply_guarded(zone, changes, guard)
            .await
            .map_err(|e| port_error("route53", "ChangeResourceRecordSets", e))?;
        Ok(ChangeReport {
            calls: report.change_calls + report.get_change_calls + report.list_calls,
            records: u32::try_from(report.changes).unwrap_or(u32::MAX),
            verified: true,
        })
    }
}

impl Alarms for AwsWorld {
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
            .map_err(|e| port_error("cloudwatch", "DescribeAlarms", e))?;
        Ok(alarms
            .into_iter()
            .map(|a| {
                let state = match a.state {
                    aws_types::AlarmState::Ok => AlarmState::Ok,
                    aws_types::AlarmState::Alarm => AlarmState::Alarm,
                    aws_types::AlarmState::InsufficientData => AlarmState::InsufficientData,
                };
                (
                    a.name,
                    AlarmObservation {
                        state,
                        since: Timestamp(a.state_updated_ms),
                    },
                )
            })
            .collect())
    }
}

impl Compute for AwsWorld {
    async fn describe_service(
        &self,
        region: &str,
        cluster: &str,
        service: &str,
    ) -> PortResult<Option<EcsState>> {
        let clients = self.region(region, "DescribeServices")?;
        let counts = clients
            .ecs
            .describe_service(cluster, service)
            .await
            .map_err(|e| port_error("ecs", "DescribeServices", e))?;
        Ok(counts.map(|c| EcsState {
            desired: u32::try_from(c.desired).unwrap_or(0),
            running: u32::try_from(c.running).unwrap_or(0),
            pending: u32::try_from(c.pending).unwrap_or(0),
        }))
    }

    async fn set_desired(
        &self,
        region: &str,
        cluster: &str,
        service: &str,
        desired: u32,
    ) -> PortResult<()> {
        let clients = self.region(region, "UpdateService")?;
        let desired = i32::try_from(desired).unwrap_or(i32::MAX);
        clients
            .ecs
            .set_desired_count(cluster, service, desired)
            .await
            .map_err(|e| port_error("ecs", "UpdateService", e))?;
        if crate::failpoints::hit("crash-after-scale", "") {
            // Killed in the middle of applying: no unwinding, no outcome record.
            std::process::abort();
        }
        Ok(())
    }
}

impl Balancer for AwsWorld {
    async fn read_split(
        &self,
        region: &str,
        listener: &str,
        fargate: &str,
        lambda: &str,
    ) -> PortResult<Option<AlbState>> {
        let clients = self.region(region, "DescribeListeners")?;
        let weights = clients
            .elbv2
            .listener_weights(listener)
            .await
            .map_err(|e| port_error("elbv2", "DescribeListeners", e))?;
        let find = |arn: &str| {
            weights
                .iter()
                .find(|w| w.target_group_arn == arn)
                .map(|w| u32::from(w.weight))
        };
        Ok(match (find(fargate), find(lambda)) {
            (None, None) => None,
            (f, l) => Some(AlbState {
                fargate: f.unwrap_or(0),
                lambda: l.unwrap_or(0),
            }),
        })
    }

    async fn set_split(
        &self,
        region: &str,
        listener: &str,
        fargate: &str,
        lambda: &str,
        weights: AlbState,
    ) -> PortResult<()> {
        let clients = self.region(region, "ModifyListener")?;
        let tg = |arn: &str, w: u32| aws_types::TargetGroupWeight {
            target_group_arn: arn.to_string(),
            weight: u16::try_from(w.min(999)).unwrap_or(999),
        };
        clients
            .elbv2
            .set_listener_weights(
                listener,
                &[tg(fargate, weights.fargate), tg(lambda, weights.lambda)],
            )
            .await
            .map_err(|e| port_error("elbv2", "ModifyListener", e))
    }
}

fn to_item(item: &JournalItem) -> dynamodb::JournalItem {
    let kind = ItemKind::parse(&item.kind).unwrap_or(ItemKind::Control);
    dynamodb::JournalItem {
        pk: item.pk.clone(),
        sk: item.sk.clone(),
        kind,
        owner: item.owner.clone(),
        body: item.body.to_string(),
        expires_at: item.expires_at,
    }
}

impl Journal for AwsWorld {
    async fn put_new(&self, item: &JournalItem) -> PortResult<bool> {
        match self
            .journal
            .put_new(&to_item(item))
            .await
            .map_err(|e| port_error("dynamodb", "PutItem", e))?
        {
            PutOutcome::Written => Ok(true),
            PutOutcome::AlreadyExists => Ok(false),
        }
    }

    async fn put(&self, item: &JournalItem) -> PortResult<()> {
        self.journal
            .put(&to_item(item))
            .await
            .map_err(|e| port_error("dynamodb", "PutItem", e))
    }

    async fn query(&self, pk: &str, prefix: &str) -> PortResult<Vec<JournalItem>> {
        let (items, _pages) = self
            .journal
            .query_prefix(pk, prefix)
            .await
            .map_err(|e| port_error("dynamodb", "Query", e))?;
        let now_secs = Timestamp(now_millis()).millis() / 1000;
        Ok(items
            .into_iter()
            // TTL deletion is lazy (and moto never deletes): ignore expired items here.
            .filter(|it| it.expires_at.is_none_or(|t| t > now_secs))
            .map(|it| JournalItem {
                pk: it.pk,
                sk: it.sk,
                kind: it.kind.as_str().to_string(),
                owner: it.owner,
                body: serde_json::from_str(&it.body).unwrap_or(serde_json::Value::Null),
                expires_at: it.expires_at,
            })
            .collect())
    }
}

impl Events for AwsWorld {
    async fn publish(&self, detail_type: &str, detail: &serde_json::Value) -> PortResult<()> {
        let text = detail.to_string();
        match self
            .events
            .put_event(detail_type, &text, &[])
            .await
            .map_err(|e| port_error("eventbridge", "PutEvents", e))?
        {
            regionctl_aws::eventbridge::PublishOutcome::TooLarge { bytes } => {
                // Claim check: the full record is in the journal; publish a reference.
                let reference = serde_json::json!({ "claim_check": true, "bytes": bytes, "decision": detail.pointer("/decision/id") });
                self.events
                    .put_event(detail_type, &reference.to_string(), &[])
                    .await
                    .map_err(|e| port_error("eventbridge", "PutEvents", e))?;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

impl Prober for AwsWorld {
    async fn probe(&self, probe: &Probe) -> bool {
        if crate::failpoints::hit("probe-fail", &probe.target) {
            return false;
        }
        crate::probe::probe(probe).await
    }
}

impl Clock for AwsWorld {
    fn now(&self) -> Timestamp {
        Timestamp(now_millis())
    }
}

/// Wall-clock milliseconds (the only clock read outside the clock port's callers).
pub fn now_millis() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// Client settings for a controller in `region`.
pub fn settings(
    bundle: &regionctl_core::policy::Bundle,
    controller: &regionctl_core::policy::raw::ControllerSpec,
    region: &str,
    endpoint_url: Option<String>,
) -> WorldSettings {
    let mut regions: Vec<String> = bundle.regions.clone();
    let switch_regions = bundle
        .services
        .iter()
        .filter_map(|s| s.routing.switch.as_ref())
        .flat_map(|sw| sw.alarm_regions.iter());
    for r in controller.regions.iter().chain(switch_regions) {
        if !regions.contains(r) {
            regions.push(r.clone());
        }
    }
    WorldSettings {
        region: region.to_string(),
        regions,
        endpoint_url,
        journal_table: controller.journal_table.clone(),
        journal_region: controller.journal_region.clone(),
        bucket: BucketConfig {
            burst: controller.route53.burst,
            refill_per_sec: controller.route53.refill_per_sec,
            ..BucketConfig::default()
        },
    }
}
