//! The controller's ports on AWS: one [`AwsWorld`] implements every port of
//! `regionctl_controller::ports` with the adapters of this crate, speaking the controller's
//! types directly. SDK-facing shapes are converted here, once, at the edge.
//!
//! One [`AwsWorld`] per controller: clients for every region the policies name (alarms, ECS
//! and ALBs live in the region they serve), Route 53 (global, one shared token bucket), the
//! journal in `journal_region`, and EventBridge in the controller's own region.
//!
//! # Design
//! Two things it needs are not AWS: the observer's own probes of the endpoints (the
//! [`Prober`] port) and the hook tests use to kill a controller in the middle of applying.
//! Both come from the process around the world, its [`Host`]: the root crate supplies
//! HTTP/TCP probes and its failpoints, and this crate knows nothing of either (ADR 0011).
//! The clock is the wall clock ([`now_millis`]): the only clock an AWS controller has.
//!
//! # Layout
//! - `dns`: the `Dns` port on Route 53 (weighted records, keeping their health checks).
//! - `alarms`: the `Alarms` and `Switches` ports on CloudWatch.
//! - `compute`: the `Compute` (ECS) and `Balancer` (ALB) ports.
//! - `journal`: the `Journal` (DynamoDB) and `Events` (EventBridge) ports.

mod alarms;
mod compute;
mod dns;
mod journal;

use crate::cloudwatch::CloudWatchClient;
use crate::config::{AwsSettings, SdkConfig, load, load_for_tests};
use crate::dynamodb;
use crate::ecs::EcsClient;
use crate::elbv2::Elbv2Client;
use crate::eventbridge::EventBridgeClient;
use crate::route53::{BucketConfig, Route53Client, SharedBucket};
use regionctl_controller::ports::{Clock, ErrorClass, PortError, PortResult, Prober};
use regionctl_controller::probes::ProbeBatch;
use regionctl_core::policy::Probe;
use regionctl_core::policy::raw::ControllerSpec;
use regionctl_core::time::Timestamp;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the process around an [`AwsWorld`] supplies that is not AWS: its own probes of
/// the endpoints (the [`Prober`] port), and a hook tests use to kill it mid-apply.
pub trait Host: Prober {
    /// Called right after each ECS `UpdateService` the world made succeeded: the root
    /// crate's `crash-after-scale` failpoint aborts the process here (killed in the middle
    /// of applying, before the traffic moves). Does nothing unless a host says so.
    fn after_scale(&self) {}

    /// True when the journal write of an item with sort key `sk` is to fail as if DynamoDB
    /// refused it: the root crate's `journal-write-fail@TEXT` failpoint (a test's denied or
    /// throttled table). No host refuses unless it says so.
    fn refuse_journal_write(&self, _sk: &str) -> bool {
        false
    }
}

/// Clients for one region.
pub struct RegionClients {
    /// CloudWatch.
    pub cloudwatch: CloudWatchClient,
    /// ECS.
    pub ecs: EcsClient,
    /// ELBv2.
    pub elbv2: Elbv2Client,
}

/// The AWS implementation of every controller port, probing through its host `H`.
pub struct AwsWorld<H> {
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
    /// Probes and test hooks.
    host: H,
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

impl<H> AwsWorld<H> {
    /// Builds clients for every region, with the default host.
    pub async fn connect(settings: &WorldSettings) -> Self
    where
        H: Default,
    {
        Self::connect_with(settings, H::default()).await
    }

    /// Builds clients for every region, probing through `host`.
    pub async fn connect_with(settings: &WorldSettings, host: H) -> Self {
        let endpoint_url = settings.endpoint_url.clone();
        Self::build(settings, host, |region: String| {
            let s = AwsSettings {
                region,
                endpoint_url: endpoint_url.clone(),
            };
            async move { load(&s).await }
        })
        .await
    }

    /// [`AwsWorld::connect_with`] for tests against moto at `endpoint_url`: static
    /// credentials and no SDK retries ([`crate::config::load_for_tests`]).
    pub async fn connect_for_tests(settings: &WorldSettings, endpoint_url: &str, host: H) -> Self {
        Self::build(settings, host, |region: String| async move {
            load_for_tests(&region, endpoint_url).await
        })
        .await
    }

    async fn build<F: Future<Output = SdkConfig>>(
        settings: &WorldSettings,
        host: H,
        sdk: impl Fn(String) -> F,
    ) -> Self {
        let mut regions = BTreeMap::new();
        for r in &settings.regions {
            let cfg = sdk(r.clone()).await;
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
        let global = sdk("us-east-1".to_string()).await;
        let route53 = Route53Client::new(&global, Arc::new(SharedBucket::new(settings.bucket)));
        let journal_region = settings
            .journal_region
            .clone()
            .unwrap_or_else(|| settings.region.clone());
        let journal =
            dynamodb::Journal::new(&sdk(journal_region).await, settings.journal_table.clone());
        let events = EventBridgeClient::new(&sdk(settings.region.clone()).await);
        AwsWorld {
            regions,
            route53,
            journal,
            events,
            health_checks: Mutex::new(HashMap::new()),
            host,
        }
    }

    /// The host: what supplies this world's probes and test hooks.
    pub fn host(&self) -> &H {
        &self.host
    }

    /// The clients for region `name`, or the port error of an `operation` there.
    fn region(&self, name: &str, operation: &'static str) -> PortResult<&RegionClients> {
        self.regions.get(name).ok_or_else(|| {
            PortError::new(
                "regionctl",
                operation,
                ErrorClass::Permanent,
                format!("no clients for region {name}"),
            )
        })
    }
}

impl<H: Host> Prober for AwsWorld<H> {
    async fn probe(&self, probe: &Probe) -> bool {
        self.host.probe(probe).await
    }

    /// Stops waiting at the batch's deadline: what has not answered by then is no evidence
    /// (each probe's own timeout still applies inside it).
    async fn probe_batch(&self, batch: &ProbeBatch) -> Vec<Option<bool>> {
        let deadline = Duration::from_millis(batch.limits.deadline_ms);
        batch
            .collect_until(self, tokio::time::sleep(deadline))
            .await
    }
}

impl<H> Clock for AwsWorld<H> {
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

/// Client settings for a controller in `region`: clients for every region of the bundle,
/// of the controller fleet and of the switches' alarms.
pub fn settings(
    bundle: &regionctl_core::policy::Bundle,
    controller: &ControllerSpec,
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
