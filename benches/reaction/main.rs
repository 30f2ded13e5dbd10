//! Reaction-time benchmark: alarm event received → first corrective AWS call, against moto.
//!
//! Goal: measure what the controller itself adds between "an alarm event arrived" and "the
//! first corrective call left", separately from the AWS (here: moto) round trips it waits
//! for, plus the number of AWS calls a decision costs and the controller's resident memory.
//!
//! Method (see `docs/PERFORMANCE.md` and `scripts/bench-reaction.sh`):
//! 1. Against moto ([`rig::provision`]): create three hosted zones, write the moto fixture
//!    policies (`tests/fixtures/moto`, through the test kit) with `fail_after_secs: 0`
//!    (controllers in eu-central-1, eu-west-1 and us-east-1, journal in us-east-1) and run
//!    `regionctl::provision::provision`.
//! 2. Per trial ([`trial::trial`]): reset the world (alarms OK, weighted records and ECS
//!    desired counts back to baseline, fresh peer heartbeats, drained queue; untimed), set
//!    every eu-central-1 alarm to ALARM with `SetAlarmState`, inject the matching
//!    "CloudWatch Alarm State Change" events with `PutEvents` (source `aws.cloudwatch`; moto
//!    routes them through the rule `provision` created to the eu-west-1 controller's SQS
//!    queue), long-poll that queue (t0 = a message received), then run ONE `reconcile_once`
//!    pass from eu-west-1 through [`timed::Timed`], a decorator recording every port call.
//!    t1 = start of the first mutating (corrective) call.
//! 3. Report ([`report`]) end-to-end (t1 − t0), the SDK time inside it (sum of the
//!    forwarded calls' durations in [t0, t1]), the controller's own overhead (the
//!    difference) and call counts, per pass and per decision.
//! 4. Resident memory ([`memory`]), in fresh child processes of this same binary: the
//!    example policies and the generated bundle (`regionctl_sim::generate`) of 1,000 services × 30 cells ×
//!    5 regions, each loaded, evaluated and planned for the loss of eu-central-1.
//!
//! moto: `MOTO_ENDPOINT` when set (only `http://127.0.0.1:PORT`: the benchmark resets and
//! mutates everything it touches), else one the test kit starts. Credentials: export the
//! static test credentials (`scripts/bench-reaction.sh` does).
//!
//! Usage: `cargo bench -p regionctl --bench reaction -- [--trials N] [--warmup N]
//! [--json PATH]`, or `-- --memory-only` (no moto needed). `--rss examples|generated` is
//! the child-process mode.

mod memory;
mod report;
mod rig;
mod timed;
mod trial;

use regionctl_controller::memory::Memory;
use regionctl_controller::observe::AlarmReads;
use regionctl_controller::reconcile::{Context, reconcile_once};
use rig::{CONTROLLER, Rig};
use std::path::PathBuf;
use std::time::Instant;

/// moto's URL, refusing a `MOTO_ENDPOINT` that is not 127.0.0.1.
fn moto_endpoint() -> String {
    if let Ok(url) = std::env::var("MOTO_ENDPOINT") {
        let hostport = url
            .trim_end_matches('/')
            .strip_prefix("http://")
            .unwrap_or("");
        let loopback = hostport
            .strip_prefix("127.0.0.1:")
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if !loopback {
            eprintln!(
                "reaction bench: MOTO_ENDPOINT={url} refused: only http://127.0.0.1:PORT (a local moto \
                 server) is allowed; this benchmark resets and mutates everything it touches."
            );
            std::process::exit(2);
        }
    }
    regionctl_testkit::moto::endpoint()
        .trim_end_matches('/')
        .to_string()
}

/// Provisions, takes the view of a controller that watched a healthy fleet, runs the
/// trials and prints their summary; the summary as JSON.
async fn reaction(trials: usize, warmup: usize) -> serde_json::Map<String, serde_json::Value> {
    let endpoint = moto_endpoint();
    let provisioned = rig::provision(&endpoint).await;
    let bundle = &provisioned.bundle;
    let controller = &provisioned.controller;
    // The controller's own world: separate clients and Route 53 token bucket.
    let world = rig::connect(bundle, controller, &endpoint).await;
    let rig = Rig::new(&provisioned, &endpoint).await;
    let alarm_reads = AlarmReads::new(bundle);
    let ctx = Context {
        bundle,
        alarm_reads: &alarm_reads,
        region: CONTROLLER.to_string(),
        controllers: controller.regions.clone(),
        heartbeat_ttl_secs: controller.heartbeat_ttl_secs,
        approval_timeout_secs: controller.approval_timeout_secs,
    };

    // The health view of a controller that has watched a healthy fleet: one healthy pass.
    rig.reset().await;
    let mut healthy = Memory::unknown(bundle);
    let healthy_pass = reconcile_once(&ctx, &world, &mut healthy).await;
    assert!(
        healthy_pass.stand_down.is_none() && healthy_pass.decisions.is_empty(),
        "a healthy pass must change nothing: {}",
        healthy_pass.summary()
    );

    for _ in 0..warmup {
        trial::trial(&rig, &ctx, &world, &healthy).await;
    }
    let mut results = Vec::with_capacity(trials);
    let run_started = Instant::now();
    for i in 0..trials {
        let t = trial::trial(&rig, &ctx, &world, &healthy).await;
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
    rig.reset().await;

    let (mut out, mut json) = report::summary(&results, warmup, wall);
    let (rss_kib, hwm_kib) = (memory::status_kib("VmRSS"), memory::status_kib("VmHWM"));
    out.push_str(&format!(
        "benchmark process after the trials (controller world + harness clients): VmRSS {:.1} MiB, VmHWM {:.1} MiB\n",
        rss_kib as f64 / 1024.0,
        hwm_kib as f64 / 1024.0
    ));
    print!("{out}");
    json.insert("bench_process_rss_kib".into(), rss_kib.into());
    json.insert("bench_process_hwm_kib".into(), hwm_kib.into());
    if let Err(e) = std::fs::remove_dir_all(&provisioned.dir) {
        eprintln!("could not remove {}: {e}", provisioned.dir.display());
    }
    json
}

fn main() {
    // `cargo bench` appends `--bench`; it means nothing here.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    if let Some(which) = value("--rss") {
        memory::child(&which);
        return;
    }
    if args.iter().any(|a| a == "--memory-only") {
        memory::measure();
        return;
    }
    let trials: usize = value("--trials").map_or(100, |v| v.parse().expect("--trials N"));
    let warmup: usize = value("--warmup").map_or(3, |v| v.parse().expect("--warmup N"));
    let json_path = value("--json").map(PathBuf::from);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut json = runtime.block_on(reaction(trials, warmup));
    json.insert("memory".into(), memory::measure().into());
    if let Some(path) = json_path {
        std::fs::write(&path, serde_json::to_string_pretty(&json).expect("JSON"))
            .expect("write the JSON summary");
    }
}
