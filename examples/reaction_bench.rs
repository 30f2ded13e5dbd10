//! Reaction-time benchmark: alarm event received → first corrective AWS call, against moto.
//!
//! Goal: measure what the controller itself adds between "an alarm event arrived" and "the
//! first corrective call left", separately from the AWS (here: moto) round trips it waits
//! for, plus the number of AWS calls a decision costs and the controller's resident memory.
//!
//! Method (see `docs/PERFORMANCE.md` and `scripts/bench-reaction.sh`):
//! 1. Against the moto server in `MOTO_ENDPOINT` (must be `http://127.0.0.1:PORT`), create
//!    three hosted zones, write a policy bundle modelled on `tests/fixtures/moto`
//!    (`fail_after_secs: 0`, controllers in eu-central-1, eu-west-1 and us-east-1, journal in
//!    us-east-1) to a temporary directory and run [`regionctl::provision::provision`].
//! 2. Per trial: reset the world (alarms OK, weighted records and ECS desired counts back to
//!    baseline, fresh peer heartbeats, drained queue; untimed), set every eu-central-1 alarm
//!    to ALARM with `SetAlarmState`, inject the matching "CloudWatch Alarm State Change"
//!    events with `PutEvents` (source `aws.cloudwatch`; moto routes them through the rule
//!    `provision` created to the eu-west-1 controller's SQS queue), long-poll that queue
//!    (t0 = a message received), then run ONE `reconcile_once` pass from eu-west-1 through
//!    [`Timed`], a decorator recording every port call. t1 = start of the first mutating
//!    (corrective) call: `set_desired`, `upsert_weighted` or `set_split`.
//! 3. Report end-to-end (t1 − t0), the SDK time inside it (sum of the forwarded calls'
//!    durations in [t0, t1]), the controller's own overhead (the difference) and call counts.
//! 4. Resident memory (`VmRSS`) is measured in fresh child processes of this same binary:
//!    the example policies in `policies/` and a generated bundle of 1,000 services × 30
//!    cells × 5 regions, each loaded, evaluated and planned for the loss of eu-central-1
//!    (pure core, no AWS).
//!
//! Usage: `cargo run -p regionctl --example reaction_bench -- [--trials N] [--warmup N]
//! [--json PATH]`, or `-- --memory-only` (no moto needed). `--rss examples|generated` is the
//! child-process mode.

use regionctl::aws_world::{AwsWorld, settings};
use regionctl_aws::cloudwatch::CloudWatchClient;
use regionctl_aws::eventbridge::{ALARM_DETAIL_TYPE, EventBridgeClient};
use regionctl_aws::route53::{Route53Client, SharedBucket};
use regionctl_aws::sqs::SqsClient;
use regionctl_aws::types::AlarmState as AwsAlarmState;
use regionctl_controller::journal::{Heartbeat, heartbeat_item};
use regionctl_controller::memory::Memory;
use regionctl_controller::observe::AlarmReads;
use regionctl_controller::ports::{
    Alarms, Balancer, BatchCheck, ChangeReport, Clock, Compute, Dns, Events, Journal, JournalItem,
    PortResult, Prober, SwitchRef, Switches, WeightedRecord,
};
use regionctl_controller::reconcile::{Context, reconcile_once};
use regionctl_core::controls::Controls;
use regionctl_core::health::{
    self, AlarmIndex, AlarmObservation, AlarmState, HealthView, Observations,
};
use regionctl_core::live::{AlbState, EcsState, LiveState, steady_desired};
use regionctl_core::plan::{self, Action, Inputs};
use regionctl_core::policy::{self, Bundle, Probe, SourceFile};
use regionctl_core::time::Timestamp;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The controller regions (and the order alarms are reset in).
const REGIONS: [&str; 3] = ["eu-central-1", "eu-west-1", "us-east-1"];
/// The region that fails in every trial.
const LOST: &str = "eu-central-1";
/// The controller whose pass is timed (a healthy region; eu-central-1's own controller
/// stands down when its region is down).
const CONTROLLER: &str = "eu-west-1";
/// Services of the bundle (each has one region-wide alarm per region).
const SERVICES: [&str; 3] = ["auth", "catalog", "playback"];

// ---------------------------------------------------------------------------------------
// The timing decorator.

/// One forwarded port call.
#[derive(Debug, Clone)]
struct Call {
    /// Port operation (journal writes carry the item kind).
    op: String,
    /// Corrective (`set_desired`, `upsert_weighted`, `set_split`).
    mutating: bool,
    /// True for calls that reach AWS (not the clock, not the controller's own probes).
    aws: bool,
    /// AWS API calls behind the port call (Route 53 change + GetChange + read-back).
    api_calls: u32,
    start: Instant,
    end: Instant,
}

/// Every port, forwarded to an [`AwsWorld`], with each call's start and end recorded.
struct Timed<'a> {
    inner: &'a AwsWorld,
    calls: RefCell<Vec<Call>>,
}

impl<'a> Timed<'a> {
    fn new(inner: &'a AwsWorld) -> Self {
        Timed {
            inner,
            calls: RefCell::new(Vec::new()),
        }
    }

    fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.borrow_mut())
    }

    async fn time<T>(
        &self,
        op: impl Into<String>,
        mutating: bool,
        fut: impl Future<Output = T>,
        api_calls: impl FnOnce(&T) -> u32,
    ) -> T {
        let start = Instant::now();
        let out = fut.await;
        let end = Instant::now();
        let api_calls = api_calls(&out);
        self.calls.borrow_mut().push(Call {
            op: op.into(),
            mutating,
            aws: true,
            api_calls,
            start,
            end,
        });
        out
    }
}

fn one<T>(_: &T) -> u32 {
    1
}

impl Dns for Timed<'_> {
    async fn read_weighted(&self, zone: &str) -> PortResult<Vec<WeightedRecord>> {
        self.time(
            "dns.read_weighted",
            false,
            self.inner.read_weighted(zone),
            one,
        )
        .await
    }

    async fn upsert_weighted(
        &self,
        zone: &str,
        records: &[WeightedRecord],
        check: BatchCheck<'_>,
    ) -> PortResult<ChangeReport> {
        self.time(
            "dns.upsert_weighted",
            true,
            self.inner.upsert_weighted(zone, records, check),
            |r: &PortResult<ChangeReport>| r.as_ref().map_or(1, |c| c.calls.max(1)),
        )
        .await
    }
}

impl Alarms for Timed<'_> {
    async fn describe_alarms(
        &self,
        region: &str,
        names: &[String],
    ) -> PortResult<Vec<(String, AlarmObservation)>> {
        self.time(
            "alarms.describe_alarms",
            false,
            self.inner.describe_alarms(region, names),
            one,
        )
        .await
    }
}

impl Compute for Timed<'_> {
    async fn describe_service(
        &self,
        region: &str,
        cluster: &str,
        service: &str,
    ) -> PortResult<Option<EcsState>> {
        self.time(
            "compute.describe_service",
            false,
            self.inner.describe_service(region, cluster, service),
            one,
        )
        .await
    }

    async fn set_desired(
        &self,
        region: &str,
        cluster: &str,
        service: &str,
        desired: u32,
    ) -> PortResult<()> {
        self.time(
            "compute.set_desired",
            true,
            self.inner.set_desired(region, cluster, service, desired),
            one,
        )
        .await
    }
}

impl Balancer for Timed<'_> {
    async fn read_split(
        &self,
        region: &str,
        listener: &str,
        fargate: &str,
        lambda: &str,
    ) -> PortResult<Option<AlbState>> {
        self.time(
            "balancer.read_split",
            false,
            self.inner.read_split(region, listener, fargate, lambda),
            one,
        )
        .await
    }

    async fn set_split(
        &self,
        region: &str,
        listener: &str,
        fargate: &str,
        lambda: &str,
        weights: AlbState,
    ) -> PortResult<()> {
        self.time(
            "balancer.set_split",
            true,
            self.inner
                .set_split(region, listener, fargate, lambda, weights),
            one,
        )
        .await
    }
}

impl Journal for Timed<'_> {
    async fn put_new(&self, item: &JournalItem) -> PortResult<bool> {
        self.time(
            format!("journal.put_new({})", item.kind),
            false,
            self.inner.put_new(item),
            one,
        )
        .await
    }

    async fn put(&self, item: &JournalItem) -> PortResult<()> {
        self.time(
            format!("journal.put({})", item.kind),
            false,
            self.inner.put(item),
            one,
        )
        .await
    }

    async fn query(&self, pk: &str, prefix: &str) -> PortResult<Vec<JournalItem>> {
        let family = pk.split('#').next().unwrap_or(pk);
        self.time(
            format!("journal.query({family})"),
            false,
            self.inner.query(pk, prefix),
            one,
        )
        .await
    }
}

impl Events for Timed<'_> {
    async fn publish(&self, detail_type: &str, detail: &serde_json::Value) -> PortResult<()> {
        self.time(
            format!("events.publish({detail_type})"),
            false,
            self.inner.publish(detail_type, detail),
            one,
        )
        .await
    }
}

impl Switches for Timed<'_> {
    async fn publish_switches(&self, values: &[(SwitchRef, bool)]) -> PortResult<()> {
        self.time(
            "cloudwatch.publish_switches".to_string(),
            true,
            self.inner.publish_switches(values),
            one,
        )
        .await
    }

    async fn read_switches(&self, switches: &[SwitchRef]) -> PortResult<Vec<Option<bool>>> {
        self.time(
            "cloudwatch.read_switches".to_string(),
            false,
            self.inner.read_switches(switches),
            one,
        )
        .await
    }
}

impl Prober for Timed<'_> {
    async fn probe(&self, probe: &Probe) -> bool {
        let start = Instant::now();
        let ok = self.inner.probe(probe).await;
        self.calls.borrow_mut().push(Call {
            op: "probe".into(),
            mutating: false,
            aws: false,
            api_calls: 0,
            start,
            end: Instant::now(),
        });
        ok
    }
}

impl Clock for Timed<'_> {
    fn now(&self) -> Timestamp {
        self.inner.now()
    }
}

// ---------------------------------------------------------------------------------------
// Policies and moto setup.

/// The policy bundle, modelled on `tests/fixtures/moto` with `fail_after_secs: 0`.
fn policy_files(
    prefix: &str,
    zones: &BTreeMap<&str, String>,
    network: &str,
) -> Vec<(String, String)> {
    let zone = |k: &str| zones.get(k).cloned().expect("every zone was created");
    let controller = format!(
        "apiVersion: regionctl/v1
kind: ControllerConfig
metadata:
  name: reaction-bench
spec:
  regions: [eu-central-1, eu-west-1, us-east-1]
  journal_table: \"{prefix}-journal\"
  # moto does not replicate DynamoDB between regions: every controller uses one table.
  journal_region: us-east-1
  alarm_queue: \"{prefix}-alarms\"
  tick_secs: 10
  heartbeat_ttl_secs: 600
  provision:
    network:
{network}
"
    );
    let auth = format!(
        "apiVersion: regionctl/v1
kind: ServicePolicy
metadata:
  name: auth
spec:
  tier: 1
  strategy: warm-standby
  mode: enforce
  regions:
    - {{name: eu-central-1, weight: 100}}
    - {{name: eu-west-1, weight: 0}}
  health:
    alarms:
      - name: \"{prefix}-auth-{{region}}-5xx\"
    fail_after_secs: 0
  routing:
    hosted_zone_id: \"{}\"
    record_name: \"auth.example.com\"
    set_identifier: \"auth-{{region}}\"
    value: \"auth.{{region}}.example.com\"
    switch: {{}}
  compute:
    ecs:
      cluster: \"{prefix}-identity-{{region}}\"
      service: auth
      standby_count: 2
      full_count: 6
",
        zone("auth")
    );
    let catalog = format!(
        "apiVersion: regionctl/v1
kind: ServicePolicy
metadata:
  name: catalog
spec:
  tier: 2
  strategy: active-active
  mode: enforce
  depends_on: [auth]
  regions:
    - {{name: eu-central-1, weight: 60}}
    - {{name: eu-west-1, weight: 40}}
  health:
    alarms:
      - name: \"{prefix}-catalog-{{region}}-5xx\"
    fail_after_secs: 0
  routing:
    hosted_zone_id: \"{}\"
    record_name: \"catalog.example.com\"
    set_identifier: \"catalog-{{region}}\"
    value: \"catalog.{{region}}.example.com\"
  compute:
    ecs:
      cluster: \"{prefix}-discovery-{{region}}\"
      service: catalog
      standby_count: 1
      full_count: 4
",
        zone("catalog")
    );
    let playback = format!(
        "apiVersion: regionctl/v1
kind: ServicePolicy
metadata:
  name: playback
spec:
  tier: 1
  strategy: active-active
  mode: enforce
  depends_on: [auth]
  regions:
    - {{name: eu-central-1, weight: 50}}
    - {{name: eu-west-1, weight: 30}}
    - {{name: us-east-1, weight: 20}}
  cells:
    dimensions:
      - {{name: country, values: [DE, AT, CH]}}
      - {{name: plan, values: [free, paid]}}
      - {{name: platform, values: [ios, android, web, tv, console]}}
  health:
    alarms:
      - name: \"{prefix}-playback-{{region}}-5xx\"
    fail_after_secs: 0
    recover_after_secs: 300
  routing:
    hosted_zone_id: \"{}\"
    record_name: \"{{cell}}.play.example.com\"
    set_identifier: \"{{cell}}-{{region}}\"
    value: \"playback.{{region}}.example.com\"
    ttl_secs: 60
    switch: {{}}
  compute:
    ecs:
      cluster: \"{prefix}-streaming-{{region}}\"
      service: playback
      standby_count: 2
      full_count: 10
",
        zone("playback")
    );
    vec![
        ("controller.yaml".into(), controller),
        ("auth.yaml".into(), auth),
        ("catalog.yaml".into(), catalog),
        ("playback.yaml".into(), playback),
    ]
}

/// The moto endpoint URL, refusing anything that is not 127.0.0.1.
fn moto_endpoint() -> String {
    let Ok(url) = std::env::var("MOTO_ENDPOINT") else {
        eprintln!(
            "reaction_bench: MOTO_ENDPOINT is not set. Start moto with `scripts/moto.sh start` \
             (or run `scripts/bench-reaction.sh`) and export MOTO_ENDPOINT=http://127.0.0.1:PORT."
        );
        std::process::exit(2);
    };
    let url = url.trim_end_matches('/').to_string();
    let hostport = url.strip_prefix("http://").unwrap_or("");
    let ok = hostport
        .strip_prefix("127.0.0.1:")
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !ok {
        eprintln!(
            "reaction_bench: MOTO_ENDPOINT={url} refused: only http://127.0.0.1:PORT (a local moto \
             server) is allowed; this benchmark resets and mutates everything it touches."
        );
        std::process::exit(2);
    }
    url
}

/// The default VPC's subnets and security group per region, as controller config YAML.
fn network_yaml(url: &str) -> String {
    let regions: Vec<String> = REGIONS.iter().map(|r| r.to_string()).collect();
    regionctl::moto_network::provision_network_yaml(url, &regions).expect("moto's default network")
}

fn load_dir(dir: &Path) -> Bundle {
    let files = regionctl::files::read_bundle(&[dir.to_path_buf()]).expect("read policy files");
    load_files(&files)
}

fn load_files(files: &[SourceFile]) -> Bundle {
    match policy::load(files) {
        Ok(bundle) => bundle,
        Err(diagnostics) => {
            for d in diagnostics.iter().take(20) {
                eprint!("{d}");
            }
            panic!("policy bundle rejected ({} diagnostics)", diagnostics.len());
        }
    }
}

// ---------------------------------------------------------------------------------------
// Trials.

/// Everything the untimed harness side needs.
struct Bench<'a> {
    bundle: &'a Bundle,
    /// For resets (its own Route 53 token bucket, so resets never drain the controller's).
    admin: AwsWorld,
    cloudwatch: CloudWatchClient,
    events: EventBridgeClient,
    sqs: SqsClient,
    queue_url: String,
    prefix: String,
}

impl Bench<'_> {
    fn alarm(&self, service: &str) -> String {
        format!("{}-{service}-{LOST}-5xx", self.prefix)
    }

    /// Alarms OK, records and desired counts at baseline, fresh peer heartbeats, empty queue.
    async fn reset(&self) {
        for service in SERVICES {
            self.cloudwatch
                .set_alarm_state(&self.alarm(service), AwsAlarmState::Ok, "bench: reset")
                .await
                .expect("SetAlarmState OK");
        }
        for service in &self.bundle.services {
            let zone = &service.routing.hosted_zone_id;
            let nr = service.regions.len();
            let mut records = Vec::with_capacity(service.cells.len() * nr);
            for cell in &service.cells {
                for r in 0..nr {
                    records.push(WeightedRecord {
                        name: cell.record_name.clone(),
                        record_type: service.routing.record_type.as_str().to_string(),
                        set_identifier: cell.set_identifiers[r].clone(),
                        value: cell.values_per_region[r].clone(),
                        ttl: service.routing.ttl_secs,
                        weight: cell.baseline_weights[r],
                    });
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
            if let Some(ecs) = &service.ecs {
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
        }
        self.heartbeats().await;
        self.drain().await;
    }

    /// Fresh heartbeats from every controller (the peers are not running in this benchmark).
    async fn heartbeats(&self) {
        let now = self.admin.now();
        for region in REGIONS {
            let hb = Heartbeat {
                region: region.to_string(),
                bundle_hash: self.bundle.hash.clone(),
                at: now,
                state: "acting".into(),
                not_healthy: Vec::new(),
                sees_acting: Vec::new(),
                first_since: None,
                drained: Default::default(),
                peers_not_healthy: Default::default(),
                last_moves: Default::default(),
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
    async fn fail_region(&self) {
        let now = chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
            .to_string();
        for service in SERVICES {
            let name = self.alarm(service);
            self.cloudwatch
                .set_alarm_state(&name, AwsAlarmState::Alarm, "bench: region loss")
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

/// One trial's measurements.
#[derive(Debug, Clone, Default)]
struct Trial {
    inject_to_t0_ms: f64,
    e2e_ms: f64,
    sdk_ms: f64,
    overhead_ms: f64,
    pass_ms: f64,
    calls_before_t1: usize,
    calls_total: usize,
    api_calls_total: u32,
    mutating: usize,
    decisions: usize,
    heartbeat_writes: usize,
    digest_writes: usize,
    journal_reads: usize,
    journal_writes: usize,
    publishes: usize,
    ops: BTreeMap<String, (usize, f64)>,
    ops_before_t1: BTreeMap<String, usize>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

async fn trial(bench: &Bench<'_>, ctx: &Context<'_>, world: &AwsWorld, healthy: &Memory) -> Trial {
    bench.reset().await;
    let injected = Instant::now();
    bench.fail_region().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let (t0, received) = loop {
        let messages = bench
            .sqs
            .receive(&bench.queue_url, 10, 5)
            .await
            .expect("long-poll the controller queue");
        if !messages.is_empty() {
            break (Instant::now(), messages);
        }
        assert!(
            Instant::now() < deadline,
            "no alarm event reached the controller queue within 30 s"
        );
    };
    assert!(
        received.iter().any(|m| m.alarm_change.is_some()),
        "the queue delivered something that is not an alarm state change: {:?}",
        received.first().map(|m| &m.body)
    );

    let timed = Timed::new(world);
    // Every trial starts from the same memory: a controller that watched a healthy fleet.
    let report = reconcile_once(ctx, &timed, &mut healthy.clone()).await;
    let pass_end = Instant::now();
    let calls = timed.take();
    // The daemon deletes handled events after the pass; untimed here.
    for m in &received {
        bench
            .sqs
            .delete(&bench.queue_url, &m.receipt_handle)
            .await
            .expect("delete the handled event");
    }
    assert!(
        report.stand_down.is_none(),
        "the controller stood down: {}",
        report.summary()
    );
    assert!(
        !report.decisions.is_empty()
            && report
                .decisions
                .iter()
                .all(|d| d.status.as_str() == "applied"),
        "expected applied decisions: {}",
        report.summary()
    );
    let t1 = calls
        .iter()
        .find(|c| c.mutating)
        .map(|c| c.start)
        .expect("the pass made a corrective call");
    let before: Vec<&Call> = calls
        .iter()
        .filter(|c| c.aws && c.start >= t0 && c.end <= t1)
        .collect();
    let sdk: Duration = before.iter().map(|c| c.end - c.start).sum();
    let e2e = t1 - t0;
    let mut t = Trial {
        inject_to_t0_ms: ms(t0 - injected),
        e2e_ms: ms(e2e),
        sdk_ms: ms(sdk),
        overhead_ms: ms(e2e.saturating_sub(sdk)),
        pass_ms: ms(pass_end - t0),
        calls_before_t1: before.len(),
        calls_total: calls.iter().filter(|c| c.aws).count(),
        api_calls_total: calls.iter().map(|c| c.api_calls).sum(),
        mutating: calls.iter().filter(|c| c.mutating).count(),
        decisions: report.decisions.len(),
        ..Trial::default()
    };
    for c in &calls {
        let e = t.ops.entry(c.op.clone()).or_default();
        e.0 += 1;
        e.1 += ms(c.end - c.start);
        if c.op == "journal.put(HEARTBEAT)" {
            t.heartbeat_writes += 1;
        }
        if c.op == "journal.put(OBSERVATION)" {
            t.digest_writes += 1;
        }
        if c.op.starts_with("journal.query") {
            t.journal_reads += 1;
        }
        if c.op.starts_with("journal.put") {
            t.journal_writes += 1;
        }
        if c.op.starts_with("events.publish") {
            t.publishes += 1;
        }
    }
    for c in &before {
        *t.ops_before_t1.entry(c.op.clone()).or_default() += 1;
    }
    t
}

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn stats(name: &str, values: impl Iterator<Item = f64>, out: &mut String) -> serde_json::Value {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
    let (p50, p90, p99) = (pct(&v, 0.50), pct(&v, 0.90), pct(&v, 0.99));
    let (min, max) = (
        v.first().copied().unwrap_or(f64::NAN),
        v.last().copied().unwrap_or(f64::NAN),
    );
    writeln!(
        out,
        "  {name:<34} p50 {p50:>8.1}  p90 {p90:>8.1}  p99 {p99:>8.1}  max {max:>8.1}  min {min:>8.1}  mean {mean:>8.1}"
    )
    .expect("writing to a String cannot fail");
    serde_json::json!({"p50": p50, "p90": p90, "p99": p99, "max": max, "min": min, "mean": mean})
}

fn counts(name: &str, values: impl Iterator<Item = usize>, out: &mut String) -> serde_json::Value {
    let v: Vec<usize> = values.collect();
    let min = v.iter().copied().min().unwrap_or(0);
    let max = v.iter().copied().max().unwrap_or(0);
    let mean = v.iter().sum::<usize>() as f64 / v.len().max(1) as f64;
    writeln!(out, "  {name:<34} min {min}  max {max}  mean {mean:.2}")
        .expect("writing to a String cannot fail");
    serde_json::json!({"min": min, "max": max, "mean": mean})
}

async fn reaction(trials: usize, warmup: usize, json_path: Option<PathBuf>) {
    let endpoint = moto_endpoint();
    let prefix = format!("rb{}", std::process::id() % 100_000);
    println!("moto endpoint: {endpoint}; resource prefix: {prefix}");

    // Hosted zones (provision does not create zones).
    let global = regionctl_aws::config::load_for_tests("us-east-1", &endpoint).await;
    let route53 = Route53Client::new(&global, Arc::new(SharedBucket::new(Default::default())));
    let mut zones = BTreeMap::new();
    for (key, name) in [
        ("playback", "play.example.com"),
        ("auth", "auth.example.com"),
        ("catalog", "catalog.example.com"),
    ] {
        let id = route53
            .create_hosted_zone(name, &format!("{prefix}-{name}"))
            .await
            .expect("create a hosted zone");
        zones.insert(key, id.trim_start_matches("/hostedzone/").to_string());
    }
    let dir = std::env::temp_dir().join(format!("regionctl-reaction-bench-{prefix}"));
    std::fs::create_dir_all(&dir).expect("create the policy directory");
    for (name, text) in policy_files(&prefix, &zones, &network_yaml(&endpoint)) {
        std::fs::write(dir.join(name), text).expect("write a policy file");
    }
    let bundle = load_dir(&dir);
    let controller = bundle.controller.clone().expect("a ControllerConfig");

    let admin = AwsWorld::connect(&settings(
        &bundle,
        &controller,
        CONTROLLER,
        Some(endpoint.clone()),
    ))
    .await;
    let started = Instant::now();
    let provisioned =
        regionctl::provision::provision(&bundle, &controller, &admin, Some(endpoint.clone()))
            .await
            .expect("provision the bundle on moto");
    println!(
        "provisioned in {:.1} s: {} line(s), {} existing",
        started.elapsed().as_secs_f64(),
        provisioned.created.len(),
        provisioned.existing
    );
    // The controller's own world: separate clients and Route 53 token bucket.
    let world = AwsWorld::connect(&settings(
        &bundle,
        &controller,
        CONTROLLER,
        Some(endpoint.clone()),
    ))
    .await;
    let local = regionctl_aws::config::load_for_tests(CONTROLLER, &endpoint).await;
    let sqs = SqsClient::new(&local);
    let queue_url = sqs
        .queue_url(&controller.alarm_queue)
        .await
        .expect("the controller's alarm queue exists");
    let bench = Bench {
        bundle: &bundle,
        admin,
        cloudwatch: CloudWatchClient::new(
            &regionctl_aws::config::load_for_tests(LOST, &endpoint).await,
        ),
        events: EventBridgeClient::new(&local),
        sqs,
        queue_url,
        prefix: prefix.clone(),
    };
    let alarm_reads = AlarmReads::new(&bundle);
    let ctx = Context {
        bundle: &bundle,
        alarm_reads: &alarm_reads,
        region: CONTROLLER.to_string(),
        controllers: controller.regions.clone(),
        heartbeat_ttl_secs: controller.heartbeat_ttl_secs,
        approval_timeout_secs: controller.approval_timeout_secs,
    };

    // The health view of a controller that has watched a healthy fleet: one healthy pass.
    bench.reset().await;
    let mut healthy = Memory::unknown(&bundle);
    let healthy_pass = reconcile_once(&ctx, &world, &mut healthy).await;
    assert!(
        healthy_pass.stand_down.is_none() && healthy_pass.decisions.is_empty(),
        "a healthy pass must change nothing: {}",
        healthy_pass.summary()
    );

    for _ in 0..warmup {
        trial(&bench, &ctx, &world, &healthy).await;
    }
    let mut results = Vec::with_capacity(trials);
    let run_started = Instant::now();
    for i in 0..trials {
        let t = trial(&bench, &ctx, &world, &healthy).await;
        if (i + 1) % 20 == 0 {
            eprintln!(
                "trial {}/{}: e2e {:.1} ms, sdk {:.1} ms, overhead {:.1} ms",
                i + 1,
                trials,
                t.e2e_ms,
                t.sdk_ms,
                t.overhead_ms
            );
        }
        results.push(t);
    }
    let wall = run_started.elapsed();
    bench.reset().await;

    let mut out = String::new();
    writeln!(
        out,
        "\n== reaction: alarm event received (t0) → first corrective AWS call (t1); {trials} trials (+{warmup} warm-up), {:.1} s ==",
        wall.as_secs_f64()
    )
    .expect("writing to a String cannot fail");
    writeln!(out, "milliseconds:").expect("writing to a String cannot fail");
    let e2e = stats(
        "end-to-end t1 - t0",
        results.iter().map(|t| t.e2e_ms),
        &mut out,
    );
    let sdk = stats(
        "SDK round trips in [t0, t1]",
        results.iter().map(|t| t.sdk_ms),
        &mut out,
    );
    let overhead = stats(
        "controller overhead (difference)",
        results.iter().map(|t| t.overhead_ms),
        &mut out,
    );
    let pass = stats(
        "whole pass (t0 → pass end)",
        results.iter().map(|t| t.pass_ms),
        &mut out,
    );
    let delivery = stats(
        "inject start → t0 (moto delivery)",
        results.iter().map(|t| t.inject_to_t0_ms),
        &mut out,
    );
    let ten = trials.min(10);
    let first10 = results.iter().take(ten).map(|t| t.e2e_ms).sum::<f64>() / ten.max(1) as f64;
    let last10 = results
        .iter()
        .rev()
        .take(ten)
        .map(|t| t.e2e_ms)
        .sum::<f64>()
        / ten.max(1) as f64;
    writeln!(
        out,
        "  e2e mean of first {ten} trials {first10:.1} ms, last {ten} trials {last10:.1} ms"
    )
    .expect("writing to a String cannot fail");
    writeln!(out, "calls per pass:").expect("writing to a String cannot fail");
    let c_before = counts(
        "port calls before t1",
        results.iter().map(|t| t.calls_before_t1),
        &mut out,
    );
    let c_total = counts(
        "port calls in the pass (AWS)",
        results.iter().map(|t| t.calls_total),
        &mut out,
    );
    let c_api = counts(
        "AWS API calls (incl. R53 GetChange)",
        results.iter().map(|t| t.api_calls_total as usize),
        &mut out,
    );
    let c_mut = counts(
        "mutating (corrective) calls",
        results.iter().map(|t| t.mutating),
        &mut out,
    );
    let c_dec = counts("decisions", results.iter().map(|t| t.decisions), &mut out);
    let c_hb = counts(
        "heartbeat writes",
        results.iter().map(|t| t.heartbeat_writes),
        &mut out,
    );
    let c_dg = counts(
        "digest writes",
        results.iter().map(|t| t.digest_writes),
        &mut out,
    );
    let c_jr = counts(
        "journal reads (Query)",
        results.iter().map(|t| t.journal_reads),
        &mut out,
    );
    let c_jw = counts(
        "journal writes (PutItem)",
        results.iter().map(|t| t.journal_writes),
        &mut out,
    );
    let c_pub = counts(
        "event publishes (PutEvents)",
        results.iter().map(|t| t.publishes),
        &mut out,
    );
    let n = results.len().max(1) as f64;
    let decisions = results.iter().map(|t| t.decisions).sum::<usize>().max(1) as f64;
    let per_decision_all = results.iter().map(|t| t.calls_total).sum::<usize>() as f64 / decisions;
    let per_decision_mut = results.iter().map(|t| t.mutating).sum::<usize>() as f64 / decisions;
    writeln!(
        out,
        "  per decision: {per_decision_all:.2} port calls in all, {per_decision_mut:.2} mutating"
    )
    .expect("writing to a String cannot fail");
    writeln!(
        out,
        "per operation (mean per pass; mean ms per call; mean per pass before t1):"
    )
    .expect("writing to a String cannot fail");
    let mut ops: BTreeMap<String, (usize, f64, usize)> = BTreeMap::new();
    for t in &results {
        for (op, (count, total)) in &t.ops {
            let e = ops.entry(op.clone()).or_default();
            e.0 += count;
            e.1 += total;
        }
        for (op, count) in &t.ops_before_t1 {
            ops.entry(op.clone()).or_default().2 += count;
        }
    }
    let mut ops_json = serde_json::Map::new();
    for (op, (count, total, before)) in &ops {
        let per_pass = *count as f64 / n;
        let per_call = total / (*count).max(1) as f64;
        let before = *before as f64 / n;
        writeln!(
            out,
            "  {op:<40} {per_pass:>6.2} /pass  {per_call:>7.2} ms/call  {before:>6.2} before t1"
        )
        .expect("writing to a String cannot fail");
        ops_json.insert(
            op.clone(),
            serde_json::json!({"per_pass": per_pass, "ms_per_call": per_call, "before_t1_per_pass": before}),
        );
    }
    let (rss_kib, hwm_kib) = (status_kib("VmRSS"), status_kib("VmHWM"));
    writeln!(
        out,
        "benchmark process after the trials (controller world + harness clients): VmRSS {:.1} MiB, VmHWM {:.1} MiB",
        rss_kib as f64 / 1024.0,
        hwm_kib as f64 / 1024.0
    )
    .expect("writing to a String cannot fail");
    print!("{out}");
    if let Some(path) = json_path {
        let json = serde_json::json!({
            "trials": trials, "warmup": warmup, "wall_secs": wall.as_secs_f64(),
            "e2e_ms": e2e, "sdk_ms": sdk, "overhead_ms": overhead, "pass_ms": pass,
            "delivery_ms": delivery,
            "calls": {"before_t1": c_before, "total": c_total, "api_total": c_api, "mutating": c_mut,
                      "decisions": c_dec, "heartbeat_writes": c_hb, "digest_writes": c_dg,
                      "journal_reads": c_jr, "journal_writes": c_jw, "publishes": c_pub,
                      "per_decision_all": per_decision_all, "per_decision_mutating": per_decision_mut},
            "ops": ops_json,
            "bench_process_rss_kib": rss_kib, "bench_process_hwm_kib": hwm_kib,
        });
        std::fs::write(&path, serde_json::to_string_pretty(&json).expect("JSON"))
            .expect("write the JSON summary");
    }
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        eprintln!("could not remove {}: {e}", dir.display());
    }
}

// ---------------------------------------------------------------------------------------
// Resident memory.

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`).
fn status_kib(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("the field is in /proc/self/status")
}

/// Observations for the loss of `LOST`: its alarms ALARM since a day ago, the rest OK.
fn loss_observations(
    bundle: &Bundle,
    lost: Option<&str>,
    observers: u32,
    since: Timestamp,
) -> Observations {
    let index = AlarmIndex::new(bundle);
    let mut obs = Observations::empty(bundle, observers);
    for service in &bundle.services {
        for binding in &service.health.alarms {
            let region = &service.regions[binding.r].name;
            let state = if lost == Some(region.as_str()) {
                AlarmState::Alarm
            } else {
                AlarmState::Ok
            };
            index.record(&mut obs, &binding.name, AlarmObservation { state, since });
        }
    }
    obs
}

/// Generated bundle: 1,000 services × 30 cells × 5 regions (as the core's `evaluate_plan`
/// benchmark generates it).
fn generated_files() -> Vec<SourceFile> {
    const REGIONS5: [(&str, u32); 5] = [
        ("eu-central-1", 30),
        ("eu-west-1", 20),
        ("us-east-1", 20),
        ("us-west-2", 15),
        ("ap-southeast-1", 15),
    ];
    let mut files = Vec::with_capacity(1_001);
    for i in 0..1_000 {
        let name = format!("svc{i:04}");
        let mut y = String::with_capacity(2048);
        write!(
            y,
            "apiVersion: regionctl/v1\nkind: ServicePolicy\nmetadata:\n  name: {name}\n  owner: team-bench\n\
             spec:\n  tier: 1\n  strategy: active-active\n  mode: enforce\n  regions:\n"
        )
        .expect("writing to a String cannot fail");
        for (region, weight) in REGIONS5 {
            writeln!(y, "    - name: {region}\n      weight: {weight}")
                .expect("writing to a String cannot fail");
        }
        write!(
            y,
            "  cells:\n    dimensions:\n\
             \x20     - name: country\n        values: [DE, AT, CH]\n\
             \x20     - name: plan\n        values: [free, paid]\n\
             \x20     - name: platform\n        values: [ios, android, web, tv, console]\n\
             \x20 health:\n    alarms:\n\
             \x20     - name: \"{name}-{{region}}-5xx\"\n\
             \x20     - name: \"{name}-{{region}}-{{cell}}-errors\"\n\
             \x20   probes:\n\
             \x20     - protocol: http\n        target: \"https://{name}.{{region}}.example.com/healthz\"\n        timeout_ms: 2000\n\
             \x20   fail_after_secs: 60\n    recover_after_secs: 300\n\
             \x20 routing:\n    hosted_zone_id: Z0BENCHEXAMPLE{i:05}\n\
             \x20   record_name: \"{{cell}}.{name}.example.com\"\n    record_type: CNAME\n\
             \x20   set_identifier: \"{{cell}}-{{region}}\"\n    value: \"{name}-alb.{{region}}.example.com\"\n    ttl_secs: 60\n    switch:\n      scope: region\n\
             \x20 compute:\n    ecs:\n      cluster: \"bench-{{region}}\"\n      service: {name}\n\
             \x20     standby_count: 2\n      full_count: 20\n      readiness_percent: 80\n      max_wait_secs: 300\n\
             \x20 safety:\n    min_healthy_regions: 1\n    max_shift_percent_per_step: 25\n    cooldown_secs: 300\n"
        )
        .expect("writing to a String cannot fail");
        files.push(SourceFile {
            path: format!("generated/{name}.yaml"),
            text: y,
        });
    }
    files.push(SourceFile {
        path: "generated/controller.yaml".into(),
        text: "apiVersion: regionctl/v1\nkind: ControllerConfig\nmetadata:\n  name: bench-fleet\n\
               spec:\n  regions: [eu-central-1, eu-west-1, us-east-1, us-west-2, ap-southeast-1]\n"
            .into(),
    });
    files
}

/// Child-process mode: load one bundle, evaluate and plan a region loss, print VmRSS.
fn rss(which: &str) {
    let start_kib = status_kib("VmRSS");
    let now = Timestamp::from_secs(1_790_000_000);
    let long_ago = Timestamp::from_secs(1_790_000_000 - 86_400);
    let bundle = match which {
        "examples" => load_dir(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies")),
        "generated" => {
            let files = generated_files();
            let bundle = load_files(&files);
            drop(files);
            bundle
        }
        other => panic!("--rss examples|generated, not {other}"),
    };
    let loaded_kib = status_kib("VmRSS");
    let observers = bundle
        .controller
        .as_ref()
        .map_or(3, |c| u32::try_from(c.regions.len()).unwrap_or(3));
    let live = LiveState::steady(&bundle);
    let controls = Controls::default();
    let healthy_obs = loss_observations(&bundle, None, observers, long_ago);
    let healthy = health::evaluate(&bundle, &healthy_obs, &HealthView::unknown(&bundle), now);
    let loss_obs = loss_observations(&bundle, Some(LOST), observers, long_ago);
    let started = Instant::now();
    let view = health::evaluate(&bundle, &loss_obs, &healthy, now);
    let planned = plan::plan(Inputs {
        bundle: &bundle,
        health: &view,
        live: &live,
        controls: &controls,
        now,
    });
    let took = started.elapsed();
    let changes: usize = planned
        .steps
        .iter()
        .map(|s| match &s.action {
            Action::SetWeights { changes, .. } => changes.len(),
            _ => 0,
        })
        .sum();
    let planned_kib = status_kib("VmRSS");
    let hwm_kib = status_kib("VmHWM");
    println!(
        "{}",
        serde_json::json!({
            "bundle": which,
            "services": bundle.services.len(),
            "cells": bundle.services.iter().map(|s| s.cells.len()).sum::<usize>(),
            "alarms": bundle.services.iter().map(|s| s.health.alarms.len()).sum::<usize>(),
            "steps": planned.steps.len(),
            "weight_changes": changes,
            "evaluate_plan_ms": ms(took),
            "rss_start_kib": start_kib,
            "rss_loaded_kib": loaded_kib,
            "rss_planned_kib": planned_kib,
            "hwm_kib": hwm_kib,
        })
    );
}

fn memory() -> Vec<serde_json::Value> {
    let exe = std::env::current_exe().expect("this example's path");
    let mut out = Vec::new();
    println!("\n== resident memory (fresh process each; pure core, no AWS) ==");
    for which in ["examples", "generated"] {
        let child = std::process::Command::new(&exe)
            .args(["--rss", which])
            .output()
            .expect("run the memory child process");
        assert!(
            child.status.success(),
            "memory child ({which}) failed: {}",
            String::from_utf8_lossy(&child.stderr)
        );
        let line = String::from_utf8_lossy(&child.stdout);
        let v: serde_json::Value = serde_json::from_str(line.trim()).expect("child prints JSON");
        let mib = |k: &str| v[k].as_f64().unwrap_or(f64::NAN) / 1024.0;
        println!(
            "  {which:<9} {} services, {} cells, {} alarms → {} steps, {} weight changes; evaluate+plan {:.1} ms; \
             VmRSS start {:.1} MiB, after load {:.1} MiB, after evaluate+plan {:.1} MiB (peak VmHWM {:.1} MiB)",
            v["services"],
            v["cells"],
            v["alarms"],
            v["steps"],
            v["weight_changes"],
            v["evaluate_plan_ms"].as_f64().unwrap_or(f64::NAN),
            mib("rss_start_kib"),
            mib("rss_loaded_kib"),
            mib("rss_planned_kib"),
            mib("hwm_kib"),
        );
        out.push(v);
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    if let Some(which) = value("--rss") {
        rss(&which);
        return;
    }
    if args.iter().any(|a| a == "--memory-only") {
        memory();
        return;
    }
    let trials: usize = value("--trials").map_or(100, |v| v.parse().expect("--trials N"));
    let warmup: usize = value("--warmup").map_or(3, |v| v.parse().expect("--warmup N"));
    let json = value("--json").map(PathBuf::from);
    // Fail before any work when moto is not configured.
    moto_endpoint();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(reaction(trials, warmup, json.clone()));
    let mem = memory();
    if let Some(path) = json {
        let text = std::fs::read_to_string(&path).expect("read the JSON summary back");
        let mut v: serde_json::Value = serde_json::from_str(&text).expect("JSON summary");
        v["memory"] = serde_json::Value::Array(mem);
        std::fs::write(&path, serde_json::to_string_pretty(&v).expect("JSON"))
            .expect("write the JSON summary");
    }
}
