//! The long-running controller: `regionctl run --region R` without `--once`.
//!
//! # Design
//! One task on a current-thread runtime runs passes one after another (the pass itself is
//! `regionctl_controller::reconcile::reconcile_once`, the same code as `--once`, game-days
//! and the simulator). Between passes it waits for whichever comes first: the tick, an alarm
//! event on the SQS queue (wakes the loop early; the pass is level-triggered, so a lost event
//! does not matter), SIGHUP (reload), or SIGTERM/ctrl-c (exit). A signal never interrupts a
//! pass in flight: the pass finishes, then the controller exits or reloads.
//!
//! The admin HTTP server ([`admin`]) runs on the same thread and reads the shared
//! [`state::State`].

pub mod admin;
pub mod state;

use crate::aws_world::{AwsWorld, now_millis};
use anyhow::{Result, bail};
use regionctl_aws::cloudwatch::MetricPoint;
use regionctl_aws::config::AwsSettings;
use regionctl_aws::sqs::SqsClient;
use regionctl_controller::memory::Memory;
use regionctl_controller::observe::AlarmReads;
use regionctl_controller::ports::Events as _;
use regionctl_controller::reconcile::{Context, reconcile_once};
use regionctl_core::policy::Bundle;
use state::State;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::signal::unix::{SignalKind, signal};

/// Namespace of the dead-man's-switch heartbeat metric.
pub const HEARTBEAT_NAMESPACE: &str = "regionctl/controller";

/// How the daemon runs.
pub struct DaemonOptions {
    /// This controller's region.
    pub region: String,
    /// Policy directory.
    pub policies: PathBuf,
    /// AWS endpoint override.
    pub endpoint_url: Option<String>,
    /// Admin HTTP address.
    pub admin_addr: Option<SocketAddr>,
    /// Bearer token for mutating admin endpoints.
    pub admin_token: Option<String>,
    /// JSON log lines.
    pub log_json: bool,
    /// Stop after this many passes (tests, smoke runs).
    pub max_passes: Option<u64>,
}

/// Runs the controller until SIGTERM/ctrl-c (or `max_passes`).
pub fn run(options: DaemonOptions) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, run_async(options))
}

fn load_policies(policies: &PathBuf) -> std::result::Result<Bundle, String> {
    let files =
        crate::files::read_bundle(std::slice::from_ref(policies)).map_err(|e| format!("{e:#}"))?;
    regionctl_core::policy::load(&files).map_err(|diagnostics| {
        diagnostics
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("")
    })
}

async fn run_async(options: DaemonOptions) -> Result<()> {
    let mut bundle = match load_policies(&options.policies) {
        Ok(b) => b,
        Err(e) => bail!("{e}policy bundle rejected; not starting"),
    };
    let Some(controller) = bundle.controller.clone() else {
        bail!(
            "{}: no ControllerConfig document",
            options.policies.display()
        );
    };
    if !controller.regions.contains(&options.region) {
        bail!(
            "--region {} is not one of the controller regions ({})",
            options.region,
            controller.regions.join(", ")
        );
    }
    let settings = crate::aws_world::settings(
        &bundle,
        &controller,
        &options.region,
        options.endpoint_url.clone(),
    );
    let world = Rc::new(AwsWorld::connect(&settings).await);
    let sqs = SqsClient::new(&load_sdk(&options.region, options.endpoint_url.clone()).await);
    let queue_url = match sqs.queue_url(&controller.alarm_queue).await {
        Ok(url) => Some(url),
        Err(e) => {
            log(
                options.log_json,
                "warn",
                &options.region,
                &format!(
                    "Alarm event queue {} unavailable ({e}); relying on ticks.",
                    controller.alarm_queue
                ),
            );
            None
        }
    };
    let state = Rc::new(RefCell::new(State::new(&options.region, &bundle)));
    if let Some(addr) = options.admin_addr {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        log(
            options.log_json,
            "info",
            &options.region,
            &format!("Admin HTTP listening on {}.", listener.local_addr()?),
        );
        let server = admin::Admin {
            state: state.clone(),
            token: options.admin_token.clone(),
            world: world.clone(),
        };
        tokio::task::spawn_local(admin::serve(listener, Rc::new(server)));
    }
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut memory = Memory::unknown(&bundle);
    let mut pending_receipts: Vec<String> = Vec::new();
    let mut active_alerts: BTreeSet<String> = BTreeSet::new();
    let mut passes = 0u64;
    let mut policy_mtime = dir_stamp(&options.policies);
    loop {
        // One pass, never interrupted.
        // Cheap beside a pass's AWS calls, and always matches the bundle just loaded.
        let alarm_reads = AlarmReads::new(&bundle);
        let ctx = Context {
            bundle: &bundle,
            alarm_reads: &alarm_reads,
            region: options.region.clone(),
            controllers: controller.regions.clone(),
            heartbeat_ttl_secs: controller.heartbeat_ttl_secs,
            approval_timeout_secs: controller.approval_timeout_secs,
        };
        let started = Instant::now();
        let report = reconcile_once(&ctx, world.as_ref(), &mut memory).await;
        let elapsed = started.elapsed();
        // Alarm events are deleted only after a pass has handled them.
        if let Some(url) = &queue_url {
            for receipt in pending_receipts.drain(..) {
                if let Err(e) = sqs.delete(url, &receipt).await {
                    // Redelivered later: harmless, the pass is level-triggered.
                    log(
                        options.log_json,
                        "warn",
                        &options.region,
                        &format!("Alarm event not deleted: {e}."),
                    );
                }
            }
        }
        // Dead-man's switch: a metric that stops when this controller stops.
        if let Some(clients) = world.regions.get(&options.region) {
            let point = MetricPoint {
                name: "Heartbeat".into(),
                dimensions: vec![("Region".into(), options.region.clone())],
                value: 1.0,
                timestamp_ms: None,
            };
            if let Err(e) = clients
                .cloudwatch
                .put_metric_data(HEARTBEAT_NAMESPACE, &[point])
                .await
            {
                log(
                    options.log_json,
                    "warn",
                    &options.region,
                    &format!("Heartbeat metric not published: {e}."),
                );
            }
        }
        // Alerts: publish each new one once; the gauge counts those active now.
        let mut now_active: BTreeSet<String> = report.alerts.iter().cloned().collect();
        if let Some(s) = &report.stand_down {
            now_active.insert(format!("stand-down: {s}"));
        }
        for alert in now_active.difference(&active_alerts) {
            let detail = serde_json::json!({ "region": options.region, "alert": alert, "bundle_hash": bundle.hash });
            if let Err(e) = world.publish("regionctl Alert", &detail).await {
                log(
                    options.log_json,
                    "warn",
                    &options.region,
                    &format!("Alert event not published: {}.", e.display_chain()),
                );
            }
        }
        active_alerts = now_active;
        log_pass(options.log_json, &report, elapsed);
        state.borrow_mut().record_pass(
            &bundle,
            &report,
            &memory.health,
            elapsed,
            active_alerts.len(),
        );
        passes += 1;
        if options.max_passes.is_some_and(|m| passes >= m) {
            return Ok(());
        }

        // Wait for the next reason to run.
        let tick = Duration::from_secs(controller.tick_secs);
        let wait_secs = i32::try_from(controller.tick_secs.min(20)).unwrap_or(20);
        let mut reload = false;
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            messages = async {
                match &queue_url {
                    Some(url) => sqs.receive(url, 10, wait_secs).await.ok(),
                    None => std::future::pending().await,
                }
            } => {
                if let Some(messages) = messages {
                    let alarms: Vec<String> = messages.iter().filter_map(|m| m.alarm_change.as_ref().map(|c| c.alarm_name.clone())).collect();
                    if !alarms.is_empty() {
                        log(options.log_json, "info", &options.region, &format!("Woken by alarm event(s): {}.", alarms.join(", ")));
                    }
                    pending_receipts.extend(messages.into_iter().map(|m| m.receipt_handle));
                }
            }
            _ = sighup.recv() => reload = true,
            _ = sigterm.recv() => {
                log(options.log_json, "info", &options.region, "SIGTERM: the pass in flight finished; exiting.");
                return Ok(());
            }
            _ = tokio::signal::ctrl_c() => {
                log(options.log_json, "info", &options.region, "Interrupted: the pass in flight finished; exiting.");
                return Ok(());
            }
        }
        let stamp = dir_stamp(&options.policies);
        if stamp != policy_mtime {
            policy_mtime = stamp;
            reload = true;
        }
        if reload {
            match load_policies(&options.policies) {
                // Back to the bundle already running (e.g. a bad edit reverted): clear the alert.
                Ok(new) if new.hash == bundle.hash => state.borrow_mut().reload_error = None,
                Ok(new) => {
                    log(
                        options.log_json,
                        "info",
                        &options.region,
                        &format!(
                            "Policy reloaded: bundle {} → {}.",
                            bundle.short_hash(),
                            new.short_hash()
                        ),
                    );
                    memory = Memory::unknown(&new);
                    bundle = new;
                    state.borrow_mut().reloaded(&bundle, true, None);
                }
                Err(e) => {
                    log(
                        options.log_json,
                        "error",
                        &options.region,
                        &format!(
                            "Policy reload rejected; keeping bundle {}:\n{e}",
                            bundle.short_hash()
                        ),
                    );
                    let detail = serde_json::json!({ "region": options.region, "alert": "policy reload rejected", "diagnostics": e });
                    if let Err(e) = world.publish("regionctl Alert", &detail).await {
                        log(
                            options.log_json,
                            "warn",
                            &options.region,
                            &format!("Alert event not published: {}.", e.display_chain()),
                        );
                    }
                    state.borrow_mut().reloaded(&bundle, false, Some(e));
                }
            }
        }
    }
}

async fn load_sdk(region: &str, endpoint_url: Option<String>) -> regionctl_aws::config::SdkConfig {
    regionctl_aws::config::load(&AwsSettings {
        region: region.to_string(),
        endpoint_url,
    })
    .await
}

/// Newest modification time and count of the policy files, to notice edits without inotify.
fn dir_stamp(dir: &PathBuf) -> (u128, usize) {
    let files = crate::files::list_policy_files(std::slice::from_ref(dir)).unwrap_or_default();
    let newest = files
        .iter()
        .filter_map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .filter_map(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .max()
        .unwrap_or(0);
    (newest, files.len())
}

fn log(json: bool, level: &str, region: &str, message: &str) {
    if json {
        eprintln!(
            "{}",
            serde_json::json!({ "ts_ms": now_millis(), "level": level, "region": region, "message": message })
        );
    } else {
        eprintln!("{level:>5} [{region}] {message}");
    }
}

fn log_pass(json: bool, report: &regionctl_controller::reconcile::PassReport, elapsed: Duration) {
    if json {
        let decisions: Vec<serde_json::Value> = report
            .decisions
            .iter()
            .map(|d| serde_json::json!({ "service": d.service, "decision_id": d.id, "status": d.status, "calls": d.calls }))
            .collect();
        eprintln!(
            "{}",
            serde_json::json!({
                "ts_ms": now_millis(),
                "level": "info",
                "span": "reconcile",
                "region": report.region,
                "elapsed_ms": elapsed.as_millis() as u64,
                "stand_down": report.stand_down.as_ref().map(ToString::to_string),
                "decisions": decisions,
                "alerts": report.alerts,
            })
        );
    } else {
        eprint!("{}", report.summary());
    }
}
