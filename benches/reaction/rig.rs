//! The untimed side: the world on moto (zones, the moto fixture policies with
//! `fail_after_secs: 0`, provisioned), resets between trials and the region loss.

use regionctl::aws_world::{AwsWorld, settings};
use regionctl_aws::cloudwatch::CloudWatchClient;
use regionctl_aws::eventbridge::{ALARM_DETAIL_TYPE, EventBridgeClient};
use regionctl_aws::route53::{Route53Client, SharedBucket};
use regionctl_aws::sqs::SqsClient;
use regionctl_aws::types::AlarmState;
use regionctl_controller::journal::{Heartbeat, heartbeat_item};
use regionctl_controller::ports::{Clock, Compute, Dns, Journal, WeightedRecord};
use regionctl_controller::status::ControllerState;
use regionctl_core::live::steady_desired;
use regionctl_core::policy::Bundle;
use regionctl_core::policy::raw::ControllerSpec;
use regionctl_testkit::fixtures::{self, REGIONS, ZONES};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// The region that fails in every trial.
pub const LOST: &str = "eu-central-1";
/// The controller whose pass is timed (a healthy region; eu-central-1's own controller
/// stands down when its region is down).
pub const CONTROLLER: &str = "eu-west-1";
/// Services of the bundle (each has one region-wide alarm per region).
const SERVICES: [&str; 3] = ["auth", "catalog", "playback"];

/// The provisioned bundle on moto.
pub struct Provisioned {
    /// Prefix of every name.
    pub prefix: String,
    /// The policy directory (removed when the benchmark ends).
    pub dir: PathBuf,
    /// The bundle.
    pub bundle: Bundle,
    /// Its controller config.
    pub controller: ControllerSpec,
    /// The world that provisioned it, kept for resets (its own Route 53 token bucket, so
    /// resets never drain the timed controller's).
    pub admin: AwsWorld,
}

/// Creates three hosted zones, writes the moto fixture policies (every service with
/// `fail_after_secs: 0`) and provisions them.
pub async fn provision(endpoint: &str) -> Provisioned {
    let prefix = regionctl_testkit::moto::unique("rb");
    println!("moto endpoint: {endpoint}; resource prefix: {prefix}");
    // Hosted zones (provision does not create zones).
    let global = regionctl_aws::config::load_for_tests("us-east-1", endpoint).await;
    let route53 = Route53Client::new(&global, Arc::new(SharedBucket::new(Default::default())));
    let mut zones = Vec::new();
    for (key, name) in ZONES {
        let id = route53
            .create_hosted_zone(name, &format!("{prefix}-{name}"))
            .await
            .expect("create a hosted zone");
        zones.push((key, id.trim_start_matches("/hostedzone/").to_string()));
    }
    let network = regionctl_testkit::moto::network_yaml(&REGIONS);
    let files: Vec<(String, String)> = fixtures::moto_policies(&prefix, &zones, &network)
        .into_iter()
        .map(|(name, text)| {
            (
                name,
                text.replace("fail_after_secs: 2", "fail_after_secs: 0"),
            )
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("regionctl-reaction-bench-{prefix}"));
    regionctl_testkit::write_files(&dir, &files).expect("write the policy files");
    let policy_files = regionctl_controller::policy_files::read(&[&dir]).expect("read policies");
    let bundle = regionctl_testkit::example::load(&policy_files);
    let controller = bundle.controller.clone().expect("a ControllerConfig");

    let admin = connect(&bundle, &controller, endpoint).await;
    let started = Instant::now();
    let provisioned =
        regionctl::provision::provision(&bundle, &controller, &admin, Some(endpoint.to_string()))
            .await
            .expect("provision the bundle on moto");
    println!(
        "provisioned in {:.1} s: {} line(s), {} existing",
        started.elapsed().as_secs_f64(),
        provisioned.created.len(),
        provisioned.existing
    );
    Provisioned {
        prefix,
        dir,
        bundle,
        controller,
        admin,
    }
}

/// A world for the timed controller, with its own clients and Route 53 token bucket.
pub async fn connect(bundle: &Bundle, controller: &ControllerSpec, endpoint: &str) -> AwsWorld {
    AwsWorld::connect(&settings(
        bundle,
        controller,
        CONTROLLER,
        Some(endpoint.to_string()),
    ))
    .await
}

/// Everything the untimed harness side needs.
pub struct Rig<'a> {
    bundle: &'a Bundle,
    admin: &'a AwsWorld,
    cloudwatch: CloudWatchClient,
    events: EventBridgeClient,
    /// The timed controller's alarm-event queue.
    pub sqs: SqsClient,
    /// Its URL.
    pub queue_url: String,
    prefix: String,
}

impl<'a> Rig<'a> {
    /// Clients for `provisioned` on moto at `endpoint`.
    pub async fn new(provisioned: &'a Provisioned, endpoint: &str) -> Rig<'a> {
        let bundle = &provisioned.bundle;
        let controller = &provisioned.controller;
        let local = regionctl_aws::config::load_for_tests(CONTROLLER, endpoint).await;
        let sqs = SqsClient::new(&local);
        let queue_url = sqs
            .queue_url(&controller.alarm_queue)
            .await
            .expect("the controller's alarm queue exists");
        Rig {
            bundle,
            admin: &provisioned.admin,
            cloudwatch: CloudWatchClient::new(
                &regionctl_aws::config::load_for_tests(LOST, endpoint).await,
            ),
            events: EventBridgeClient::new(&local),
            sqs,
            queue_url,
            prefix: provisioned.prefix.clone(),
        }
    }

    fn alarm(&self, service: &str) -> String {
        format!("{}-{service}-{LOST}-5xx", self.prefix)
    }

    /// Alarms OK, records and desired counts at baseline, fresh peer heartbeats, empty queue.
    pub async fn reset(&self) {
        for service in SERVICES {
            self.cloudwatch
                .set_alarm_state(&self.alarm(service), AlarmState::Ok, "bench: reset")
                .await
                .expect("SetAlarmState OK");
        }
        for service in &self.bundle.services {
            self.reset_records(service).await;
            self.reset_capacity(service).await;
        }
        self.heartbeats().await;
        self.drain().await;
    }

    /// Upserts the weighted records that differ from baseline.
    async fn reset_records(&self, service: &regionctl_core::policy::Service) {
        let zone = &service.routing.hosted_zone_id;
        let nr = service.regions.len();
        let mut records = Vec::with_capacity(service.cells.len() * nr);
        for cell in &service.cells {
            for r in 0..nr {
                records.push(WeightedRecord::of_cell(
                    service,
                    cell,
                    r,
                    cell.baseline_weights[r],
                ));
            }
        }
        let live = self.admin.read_weighted(zone).await.expect("read records");
        let changed: Vec<WeightedRecord> = records
            .into_iter()
            .filter(|want| {
                !live.iter().any(|have| {
                    have.name
                        .eq_ignore_ascii_case(want.name.trim_end_matches('.'))
                        && have.set_identifier == want.set_identifier
                        && have.weight == want.weight
                })
            })
            .collect();
        if !changed.is_empty() {
            self.admin
                .upsert_weighted(zone, &changed, &|_| Ok(()))
                .await
                .expect("reset records to baseline");
        }
    }

    /// Sets ECS desired counts back to their steady values.
    async fn reset_capacity(&self, service: &regionctl_core::policy::Service) {
        let Some(ecs) = &service.ecs else { return };
        for (r, region) in service.regions.iter().enumerate() {
            let want = steady_desired(service, r);
            let have = self
                .admin
                .describe_service(&region.name, &ecs.clusters[r], &ecs.services[r])
                .await
                .expect("describe service")
                .map(|s| s.desired);
            if have != Some(want) {
                self.admin
                    .set_desired(&region.name, &ecs.clusters[r], &ecs.services[r], want)
                    .await
                    .expect("reset desired count");
            }
        }
    }

    /// Fresh heartbeats from every controller (the peers are not running in this benchmark).
    async fn heartbeats(&self) {
        let now = self.admin.now();
        for region in REGIONS {
            let hb = Heartbeat {
                region: region.to_string(),
                bundle_hash: self.bundle.hash.clone(),
                at: now,
                state: ControllerState::Acting,
                not_healthy: Vec::new(),
                sees_acting: Vec::new(),
                first_since: None,
                drained: Default::default(),
                peers_not_healthy: Default::default(),
                last_moves: Default::default(),
                episodes: Default::default(),
                episodes_closed: Default::default(),
            };
            self.admin
                .put(&heartbeat_item(&hb))
                .await
                .expect("write a heartbeat");
        }
    }

    async fn drain(&self) {
        loop {
            let messages = self
                .sqs
                .receive(&self.queue_url, 10, 0)
                .await
                .expect("receive");
            if messages.is_empty() {
                return;
            }
            for m in messages {
                self.sqs
                    .delete(&self.queue_url, &m.receipt_handle)
                    .await
                    .expect("delete");
            }
        }
    }

    /// SetAlarmState ALARM and the matching events, as CloudWatch would emit them.
    pub async fn fail_region(&self) {
        let now = chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
            .to_string();
        for service in SERVICES {
            let name = self.alarm(service);
            self.cloudwatch
                .set_alarm_state(&name, AlarmState::Alarm, "bench: region loss")
                .await
                .expect("SetAlarmState ALARM");
            let detail = serde_json::json!({
                "alarmName": name,
                "state": {"value": "ALARM", "reason": "bench: region loss", "timestamp": now},
                "previousState": {"value": "OK", "reason": "bench: reset", "timestamp": now},
                "configuration": {"description": "reaction benchmark"},
            });
            let arn = format!("arn:aws:cloudwatch:{LOST}:123456789012:alarm:{name}");
            self.events
                .put_raw_event(
                    "aws.cloudwatch",
                    ALARM_DETAIL_TYPE,
                    &detail.to_string(),
                    &[arn],
                )
                .await
                .expect("PutEvents (alarm state change)");
        }
    }
}
