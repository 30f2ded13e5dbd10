//! Benchmarks of the decision core at fleet scale: 1,000 services × 30 cells × 5 regions
//! (150,000 weighted records, 155,000 alarms).
//!
//! The bundle is generated as YAML text and loaded through `policy::load`, exactly as the
//! controller would read a policy directory. Time is an argument: every benchmark uses a
//! fixed `now`, so runs are deterministic.
//!
//! Benchmarks:
//! - `steady/evaluate+plan`: every alarm OK since long ago → healthy view → no steps.
//! - `region_loss/evaluate+plan`: every alarm of eu-central-1 in ALARM → 30,000 weight
//!   changes (one per cell and service).
//! - `steady/evaluate`, `steady/plan`, `region_loss/evaluate`, `region_loss/plan`: the two
//!   halves separately.
//!
//! Evaluations write into the view the previous iteration made (`health::evaluate_into`),
//! as the controller does with the view before its last one: a pass allocates no view.
//! The plan of each iteration is dropped inside it, as a pass drops its plan.
//! - `ingest/record_155k_alarms`: recording every alarm observation by name.
//! - `load/policy_bundle`: `policy::load` of the whole generated bundle.
//!
//! Run with `cargo bench -p regionctl-core --bench evaluate_plan`.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use regionctl_core::controls::Controls;
use regionctl_core::health::{
    self, AlarmIndex, AlarmObservation, AlarmState, HealthView, Observations,
};
use regionctl_core::live::LiveState;
use regionctl_core::plan::{self, Action, Inputs, Plan};
use regionctl_core::policy::{self, Bundle, SourceFile};
use regionctl_core::time::Timestamp;
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

/// Number of generated services.
const SERVICES: usize = 1_000;
/// The five regions every service runs in, with their baseline weights.
const REGIONS: [(&str, u32); 5] = [
    ("eu-central-1", 30),
    ("eu-west-1", 20),
    ("us-east-1", 20),
    ("us-west-2", 15),
    ("ap-southeast-1", 15),
];
/// Controllers (observers): one per region.
const OBSERVERS: u32 = 5;
/// The region that fails in the region-loss scenario.
const LOST_REGION: &str = "eu-central-1";
/// Cell dimensions: 3 × 2 × 5 = 30 cells.
const COUNTRIES: [&str; 3] = ["DE", "AT", "CH"];
const PLANS: [&str; 2] = ["free", "paid"];
const PLATFORMS: [&str; 5] = ["ios", "android", "web", "tv", "console"];
/// Cells per service.
const CELLS: usize = COUNTRIES.len() * PLANS.len() * PLATFORMS.len();

/// "Now" for every benchmark (the core reads no clock).
const NOW: Timestamp = Timestamp::from_secs(1_790_000_000);
/// "Long ago": alarms entered their state a day before `NOW`.
const LONG_AGO: Timestamp = Timestamp::from_secs(1_790_000_000 - 86_400);

fn service_name(i: usize) -> String {
    format!("svc{i:04}")
}

/// One `ServicePolicy` document: active-active in five regions, 30 cells, a region-wide
/// and a per-cell alarm, an HTTP probe and ECS capacity.
fn service_yaml(i: usize) -> String {
    let name = service_name(i);
    let mut y = String::with_capacity(2048);
    let join = |xs: &[&str]| xs.join(", ");
    write!(
        y,
        "apiVersion: regionctl/v1\n\
         kind: ServicePolicy\n\
         metadata:\n  name: {name}\n  description: Generated benchmark service {i}.\n  owner: team-bench\n\
         spec:\n  tier: 1\n  strategy: active-active\n  mode: enforce\n  regions:\n"
    )
        .expect("writing to a String cannot fail");
    for (region, weight) in REGIONS {
        writeln!(y, "    - name: {region}\n      weight: {weight}")
            .expect("writing to a String cannot fail");
    }
    write!(
        y,
        "  cells:\n    dimensions:\n\
         \x20     - name: country\n        values: [{}]\n\
         \x20     - name: plan\n        values: [{}]\n\
         \x20     - name: platform\n        values: [{}]\n",
        join(&COUNTRIES),
        join(&PLANS),
        join(&PLATFORMS)
    )
    .expect("writing to a String cannot fail");
    write!(
        y,
        "  health:\n    alarms:\n\
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
    y
}

fn controller_yaml() -> String {
    "apiVersion: regionctl/v1\n\
     kind: ControllerConfig\n\
     metadata:\n  name: bench-fleet\n\
     spec:\n  regions: [eu-central-1, eu-west-1, us-east-1, us-west-2, ap-southeast-1]\n"
        .to_string()
}

/// The whole bundle as files: one per service plus the controller configuration.
fn bundle_files() -> Vec<SourceFile> {
    let mut files: Vec<SourceFile> = (0..SERVICES)
        .map(|i| SourceFile {
            path: format!("policies/{}.yaml", service_name(i)),
            text: service_yaml(i),
        })
        .collect();
    files.push(SourceFile {
        path: "policies/controller.yaml".into(),
        text: controller_yaml(),
    });
    files
}

fn load_bundle(files: &[SourceFile]) -> Bundle {
    match policy::load(files) {
        Ok(bundle) => bundle,
        Err(diagnostics) => {
            for d in diagnostics.iter().take(20) {
                eprintln!("{d:?}");
            }
            panic!(
                "generated bundle must load ({} diagnostics)",
                diagnostics.len()
            );
        }
    }
}

/// Every alarm name with the state it has in a scenario: OK everywhere, except ALARM for
/// every alarm (region-wide and per cell) of `failed` regions.
fn alarm_feed(index: &AlarmIndex, failed: Option<&str>) -> Vec<(String, AlarmObservation)> {
    index
        .names()
        .into_iter()
        .map(|name| {
            let in_failed = failed.is_some_and(|r| name.contains(&format!("-{r}-")));
            let state = if in_failed {
                AlarmState::Alarm
            } else {
                AlarmState::Ok
            };
            (
                name.to_string(),
                AlarmObservation {
                    state,
                    since: LONG_AGO,
                },
            )
        })
        .collect()
}

fn ingest(
    index: &AlarmIndex,
    bundle: &Bundle,
    feed: &[(String, AlarmObservation)],
) -> Observations {
    let mut obs = Observations::empty(bundle, OBSERVERS);
    for (name, o) in feed {
        let known = index.record(&mut obs, name, *o);
        debug_assert!(known, "alarm {name} must be known");
    }
    obs
}

fn evaluate_and_plan(
    bundle: &Bundle,
    obs: &Observations,
    previous: &HealthView,
    live: &LiveState,
    controls: &Controls,
    spare: HealthView,
) -> (HealthView, Plan) {
    let view = health::evaluate_into(bundle, obs, previous, NOW, spare);
    let plan = plan::plan(Inputs {
        bundle,
        health: &view,
        live,
        controls,
        now: NOW,
    });
    (view, plan)
}

/// Number of records a plan's `SetWeights` steps change.
fn weight_changes(plan: &Plan) -> usize {
    plan.steps
        .iter()
        .map(|s| match &s.action {
            Action::SetWeights { changes, .. } => changes.len(),
            _ => 0,
        })
        .sum()
}

/// Everything the benchmarks share: the bundle, its alarm index, steady live state, and
/// the observations and views of both scenarios, checked once before anything is timed.
struct Fixture {
    files: Vec<SourceFile>,
    bundle: Bundle,
    index: AlarmIndex,
    live: LiveState,
    controls: Controls,
    /// What a controller that has seen the healthy fleet for a while holds.
    healthy_view: HealthView,
    steady_obs: Observations,
    /// The steady evaluation of `steady_obs` (equal to `healthy_view`).
    steady_view: HealthView,
    loss_feed: Vec<(String, AlarmObservation)>,
    loss_obs: Observations,
}

/// Generates and loads the bundle, and checks both scenarios plan what they must: no steps
/// in steady state, one weight change per (service, cell) on region loss.
fn fixture() -> Fixture {
    let files = bundle_files();
    let total_bytes: usize = files.iter().map(|f| f.text.len()).sum();
    let bundle = load_bundle(&files);
    assert_eq!(bundle.services.len(), SERVICES);
    assert_eq!(bundle.regions.len(), REGIONS.len());
    assert!(bundle.services.iter().all(|s| s.cells.len() == CELLS));
    let index = AlarmIndex::new(&bundle);
    let live = LiveState::steady(&bundle);
    let controls = Controls::default();

    // Previous view: what a controller that has seen the healthy fleet for a while holds.
    let healthy_feed = alarm_feed(&index, None);
    let steady_obs = ingest(&index, &bundle, &healthy_feed);
    let unknown = HealthView::unknown(&bundle);
    let healthy_view = health::evaluate(&bundle, &steady_obs, &unknown, NOW);

    // (a) Steady state: no steps.
    let (steady_view, steady_plan) = evaluate_and_plan(
        &bundle,
        &steady_obs,
        &healthy_view,
        &live,
        &controls,
        HealthView::default(),
    );
    assert_eq!(
        steady_view, healthy_view,
        "steady evaluation must be a fixed point"
    );
    assert!(
        steady_plan.steps.is_empty(),
        "steady state must plan no steps, got {}",
        steady_plan.steps.len()
    );

    // (b) Region loss: every eu-central-1 alarm in ALARM since long ago.
    let loss_feed = alarm_feed(&index, Some(LOST_REGION));
    let in_alarm = loss_feed
        .iter()
        .filter(|(_, o)| o.state == AlarmState::Alarm)
        .count();
    assert_eq!(in_alarm, SERVICES * (1 + CELLS));
    let loss_obs = ingest(&index, &bundle, &loss_feed);
    let (_, loss_plan) = evaluate_and_plan(
        &bundle,
        &loss_obs,
        &healthy_view,
        &live,
        &controls,
        HealthView::default(),
    );
    let changes = weight_changes(&loss_plan);
    assert_eq!(
        changes,
        SERVICES * CELLS,
        "region loss must change one record per (service, cell)"
    );
    eprintln!(
        "bundle: {} files, {} bytes of YAML, {} services, {} alarms, {} warnings; region loss plan: {} steps, {} weight changes, {} alerts",
        files.len(),
        total_bytes,
        bundle.services.len(),
        healthy_feed.len(),
        bundle.warnings.len(),
        loss_plan.steps.len(),
        changes,
        loss_plan.alerts.len()
    );
    Fixture {
        files,
        bundle,
        index,
        live,
        controls,
        healthy_view,
        steady_obs,
        steady_view,
        loss_feed,
        loss_obs,
    }
}

/// `evaluate+plan`, `evaluate` and `plan` of one scenario: `obs` evaluated against the
/// healthy view, and the plan of `view` (that evaluation's result).
fn bench_scenario(
    c: &mut Criterion,
    group: &str,
    fx: &Fixture,
    obs: &Observations,
    view: &HealthView,
) {
    let mut g = c.benchmark_group(group);
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    g.bench_function("evaluate+plan", |b| {
        let mut spare = HealthView::default();
        b.iter(|| {
            let (view, plan) = evaluate_and_plan(
                black_box(&fx.bundle),
                black_box(obs),
                black_box(&fx.healthy_view),
                &fx.live,
                &fx.controls,
                std::mem::take(&mut spare),
            );
            black_box(&plan);
            spare = view;
        });
    });
    g.bench_function("evaluate", |b| {
        let mut spare = HealthView::default();
        b.iter(|| {
            let view = health::evaluate_into(
                &fx.bundle,
                black_box(obs),
                &fx.healthy_view,
                NOW,
                std::mem::take(&mut spare),
            );
            spare = black_box(view);
        });
    });
    g.bench_function("plan", |b| {
        b.iter(|| {
            black_box(plan::plan(Inputs {
                bundle: &fx.bundle,
                health: black_box(view),
                live: &fx.live,
                controls: &fx.controls,
                now: NOW,
            }))
        });
    });
    g.finish();
}

/// Recording every alarm observation of the region-loss feed by name.
fn bench_ingest(c: &mut Criterion, fx: &Fixture) {
    let mut g = c.benchmark_group("ingest");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    g.bench_function("record_155k_alarms", |b| {
        b.iter_batched_ref(
            || Observations::empty(&fx.bundle, OBSERVERS),
            |obs| {
                for (name, o) in &fx.loss_feed {
                    black_box(fx.index.record(obs, black_box(name), *o));
                }
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();
}

/// `policy::load` of the whole generated bundle.
fn bench_load(c: &mut Criterion, fx: &Fixture) {
    let mut g = c.benchmark_group("load");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("policy_bundle", |b| {
        b.iter(|| black_box(policy::load(black_box(&fx.files)).map(|b| b.services.len())));
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let fx = fixture();
    bench_scenario(c, "steady", &fx, &fx.steady_obs, &fx.steady_view);
    let loss_view = health::evaluate(&fx.bundle, &fx.loss_obs, &fx.healthy_view, NOW);
    bench_scenario(c, "region_loss", &fx, &fx.loss_obs, &loss_view);
    bench_ingest(c, &fx);
    bench_load(c, &fx);
}

criterion_group!(evaluate_plan, benches);
criterion_main!(evaluate_plan);
