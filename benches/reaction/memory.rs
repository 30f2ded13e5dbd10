//! Resident memory (`VmRSS`), each bundle in a fresh child process of this benchmark: the
//! example policies and the generated bundle (`regionctl_sim::generate`) (1,000 services × 30 cells ×
//! 5 regions), each loaded, evaluated and planned for the loss of eu-central-1 (pure core,
//! no AWS).

use crate::rig::LOST;
use crate::trial::ms;
use regionctl::daemon::status::{self, LastPass};
use regionctl_controller::observe::AlarmReads;
use regionctl_controller::report::PassReport;
use regionctl_core::controls::Controls;
use regionctl_core::health::{self, AlarmObservation, AlarmState, HealthView, Observations};
use regionctl_core::live::LiveState;
use regionctl_core::plan::{self, Action, Inputs};
use regionctl_core::policy::Bundle;
use regionctl_core::time::Timestamp;
use regionctl_sim::generate::FleetShape;
use regionctl_testkit::example::{example_bundle, load, source_files};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`).
pub fn status_kib(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("the field is in /proc/self/status")
}

/// Observations for the loss of `lost`: its alarms ALARM since `since`, the rest OK.
fn loss_observations(
    bundle: &Bundle,
    reads: &AlarmReads,
    lost: Option<&str>,
    observers: u32,
    since: Timestamp,
) -> Observations {
    let mut obs = Observations::empty(bundle, observers);
    for service in &bundle.services {
        for binding in &service.health.alarms {
            let region = &service.regions[binding.r].name;
            let state = if lost == Some(region.as_str()) {
                AlarmState::Alarm
            } else {
                AlarmState::Ok
            };
            reads.record(&mut obs, &binding.name, AlarmObservation { state, since });
        }
    }
    obs
}

/// Child-process mode: load one bundle, evaluate and plan a region loss, print VmRSS as a
/// JSON line.
pub fn child(which: &str) {
    // The heap as `regionctl run` sets it up (ADR 0021; `daemon::run`, `load_policies`).
    assert!(regionctl_heap::keep_large_blocks_mapped());
    let start_kib = status_kib("VmRSS");
    let now = Timestamp::from_secs(1_790_000_000);
    let long_ago = Timestamp::from_secs(1_790_000_000 - 86_400);
    let bundle = match which {
        "examples" => example_bundle(),
        "generated" => {
            let files = source_files(FleetShape::BENCH.files());
            let bundle = load(&files);
            drop(files);
            bundle
        }
        other => panic!("--rss examples|generated, not {other}"),
    };
    regionctl_heap::return_freed();
    let loaded_kib = status_kib("VmRSS");
    // The daemon indexes the bundle's alarms for reading when it loads it, and keeps that.
    let started = Instant::now();
    let alarm_reads = AlarmReads::new(&bundle);
    let alarm_reads_ms = ms(started.elapsed());
    let indexed_kib = status_kib("VmRSS");
    let load_hwm_kib = status_kib("VmHWM");
    let observers = bundle
        .controller
        .as_ref()
        .map_or(3, |c| u32::try_from(c.regions.len()).unwrap_or(3));
    let live = LiveState::steady(&bundle);
    let controls = Controls::default();
    let healthy_obs = loss_observations(&bundle, &alarm_reads, None, observers, long_ago);
    let healthy = health::evaluate(&bundle, &healthy_obs, &HealthView::unknown(&bundle), now);
    // A pass's observations live for that pass only (`observe::gather` builds them anew),
    // so the controller never holds two sets, and neither does this measurement.
    drop(healthy_obs);
    let loss_obs = loss_observations(&bundle, &alarm_reads, Some(LOST), observers, long_ago);
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
    let steps = planned.steps.len();
    let services = bundle.services.len();
    let cells: usize = bundle.services.iter().map(|s| s.cells.len()).sum();
    let alarms: usize = bundle.services.iter().map(|s| s.health.alarms.len()).sum();
    let status = status_cost(bundle, view, planned, live, now);
    println!(
        "{}",
        serde_json::json!({
            "bundle": which,
            "services": services,
            "cells": cells,
            "alarms": alarms,
            "steps": steps,
            "weight_changes": changes,
            "evaluate_plan_ms": ms(took),
            "rss_start_kib": start_kib,
            "rss_loaded_kib": loaded_kib,
            "alarm_reads_ms": alarm_reads_ms,
            "rss_indexed_kib": indexed_kib,
            "load_hwm_kib": load_hwm_kib,
            "rss_planned_kib": planned_kib,
            "hwm_kib": hwm_kib,
            "status": status,
        })
    );
}

/// What the daemon's `/status` document costs after a pass with this plan: keeping the
/// pass for it (every pass), and rendering it (every request): time, bytes as served, and
/// resident memory.
fn status_cost(
    bundle: Bundle,
    view: HealthView,
    planned: plan::Plan,
    live: LiveState,
    now: Timestamp,
) -> serde_json::Value {
    let mut report = PassReport::new(LOST, now);
    report.plan = Some(planned);
    report.live = Some(live);
    let before_kib = status_kib("VmRSS");
    // What a pass costs: what the status page keeps of its health view.
    let started = Instant::now();
    let last = LastPass {
        bundle: Arc::new(bundle),
        report,
        health: status::HealthShown::of(&view),
    };
    let kept = started.elapsed();
    let kept_kib = status_kib("VmRSS");
    // What a request costs: the document rendered to text.
    let started = Instant::now();
    let text = status::json(Some(&last), &VecDeque::new());
    let took = started.elapsed();
    let held_kib = status_kib("VmRSS");
    let bytes = text.len();
    serde_json::json!({
        "kept_ms": ms(kept),
        "rss_kept_kib": kept_kib,
        "build_ms": ms(took),
        "bytes": bytes,
        "rss_before_kib": before_kib,
        "rss_held_kib": held_kib,
        "hwm_kib": status_kib("VmHWM"),
    })
}

/// Runs the child for each bundle and prints its figures; their JSON objects.
pub fn measure() -> Vec<serde_json::Value> {
    let exe = std::env::current_exe().expect("this benchmark's path");
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
             VmRSS start {:.1} MiB, after load {:.1} MiB (peak while loading {:.1} MiB), alarms indexed for reading {:.1} MiB ({:.1} ms), after evaluate+plan {:.1} MiB (peak VmHWM {:.1} MiB)",
            v["services"],
            v["cells"],
            v["alarms"],
            v["steps"],
            v["weight_changes"],
            v["evaluate_plan_ms"].as_f64().unwrap_or(f64::NAN),
            mib("rss_start_kib"),
            mib("rss_loaded_kib"),
            mib("load_hwm_kib"),
            mib("rss_indexed_kib"),
            v["alarm_reads_ms"].as_f64().unwrap_or(f64::NAN),
            mib("rss_planned_kib"),
            mib("hwm_kib"),
        );
        let st = &v["status"];
        let st_mib = |k: &str| st[k].as_f64().unwrap_or(f64::NAN) / 1024.0;
        println!(
            "  {which:<9} /status: kept per pass in {:.1} ms (VmRSS {:.1} → {:.1} MiB); rendered on request in \
             {:.1} ms, {:.1} MiB as served, VmRSS → {:.1} MiB (peak VmHWM {:.1} MiB)",
            st["kept_ms"].as_f64().unwrap_or(f64::NAN),
            st_mib("rss_before_kib"),
            st_mib("rss_kept_kib"),
            st["build_ms"].as_f64().unwrap_or(f64::NAN),
            st["bytes"].as_f64().unwrap_or(f64::NAN) / 1_048_576.0,
            st_mib("rss_held_kib"),
            st_mib("hwm_kib"),
        );
        out.push(v);
    }
    out
}
