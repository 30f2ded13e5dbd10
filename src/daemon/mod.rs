//! The long-running controller: `regionctl run --region R` without `--once`.
//!
//! # Design
//! One task on a current-thread runtime runs passes one after another (the pass itself is
//! `regionctl_controller::reconcile::reconcile_once`, the same code as `--once`, game-days
//! and the simulator). Between passes it waits ([`wait`]) for whichever comes first: the
//! tick, an alarm event on the SQS queue (wakes the loop early, but never sooner than the
//! minimum interval after the last pass, [`wait::DEFAULT_MIN_PASS_INTERVAL_SECS`] unless
//! told; the pass is level-triggered, so a lost event does not matter), SIGHUP (reload), or SIGTERM/ctrl-c (exit). A failed receive backs
//! off to the tick. A signal never interrupts a pass in flight: the pass finishes, then the
//! controller exits or reloads.
//!
//! The admin HTTP server ([`admin`]) runs on the same thread and reads the shared
//! [`state::State`] (behind an `Arc<Mutex<…>>`, which axum's handlers need; ADR 0013).
//!
//! The loop reads as its stages: `Daemon::start` (the world, the alarm queue, the admin
//! server), then `Daemon::pass` (the pass and what follows it: delete the alarm events it
//! followed, publish the dead-man's switch and new alerts, log, show), `Daemon::wait` and
//! `Daemon::reload`, until a signal or `max_passes` ends it.

pub mod admin;
pub mod metrics;
pub mod state;
pub mod status;
pub mod wait;

use crate::aws_world::AwsWorld;
use crate::controller_config::fleet_config;
use admin::token::AdminToken;
use anyhow::{Result, bail};
use regionctl_aws::cloudwatch::MetricPoint;
use regionctl_aws::config::AwsSettings;
use regionctl_aws::sqs::SqsClient;
use regionctl_controller::memory::Memory;
use regionctl_controller::observe::AlarmReads;
use regionctl_controller::ports::Events as _;
use regionctl_controller::reconcile::{Context, PassReport, reconcile_once};
use regionctl_core::policy::Bundle;
use regionctl_core::policy::raw::ControllerSpec;
use state::State;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::time::Instant;
use tracing::{Instrument, error, info, warn};
use wait::{Heard, Pacing, PassTimes};

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
    /// Bearer token for mutating admin endpoints (already checked against the rules of
    /// [`admin::token`]).
    pub admin_token: Option<AdminToken>,
    /// Least time between the end of one pass and the start of the next, in seconds
    /// ([`wait::DEFAULT_MIN_PASS_INTERVAL_SECS`] unless told; the tick caps it).
    pub min_pass_interval_secs: u64,
    /// How log lines are written ([`run`] installs the subscriber).
    pub log_format: crate::telemetry::LogFormat,
    /// Stop after this many passes (tests, smoke runs).
    pub max_passes: Option<u64>,
}

/// Runs the controller until SIGTERM/ctrl-c (or `max_passes`).
pub fn run(options: DaemonOptions) -> Result<()> {
    // Large per-pass blocks (health views, plans) go back to the system when freed
    // instead of staying resident (ADR 0021).
    let mapped = regionctl_heap::keep_large_blocks_mapped();
    let metrics = metrics::Metrics::new(&options.region);
    crate::telemetry::init(options.log_format, Some(metrics.span_metrics()))?;
    if !mapped {
        warn!("glibc refused the mmap threshold setting; resident memory may grow (ADR 0021)");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    // Every line this controller logs, the admin server's included, carries its region.
    let span = tracing::info_span!("controller", region = %options.region);
    local.block_on(&runtime, run_async(options, metrics).instrument(span))
}

/// Reads and loads the policies, then gives what the load freed back to the system (the
/// load's transient data is larger than the bundle it leaves: ADR 0021).
fn load_policies(policies: &PathBuf) -> std::result::Result<Bundle, String> {
    let files = regionctl_controller::policy_files::read(std::slice::from_ref(policies))
        .map_err(|e| e.with_cause())?;
    let loaded = regionctl_core::policy::load(&files).map_err(|diagnostics| {
        diagnostics
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("")
    });
    drop(files);
    regionctl_heap::return_freed();
    loaded
}

/// The loop, read as its stages: start, then pass → wait → reload until told to stop.
async fn run_async(options: DaemonOptions, metrics: metrics::Metrics) -> Result<()> {
    let mut bundle = match load_policies(&options.policies) {
        Ok(b) => b,
        Err(e) => bail!("{e}policy bundle rejected; not starting"),
    };
    if let Err(e) = crate::zones::resolve(&mut bundle, options.endpoint_url.clone()).await {
        bail!("{e}hosted zones not resolved; not starting");
    }
    let controller = fleet_config(&bundle, &options.policies, &options.region)?;
    let daemon = Daemon::start(options, controller, &bundle, metrics).await?;
    let mut signals = Signals::new()?;
    let mut running = Running::new(bundle, &daemon.options.policies);
    loop {
        daemon.pass(&mut running).await;
        if daemon
            .options
            .max_passes
            .is_some_and(|m| running.passes >= m)
        {
            return Ok(());
        }
        let reload = match daemon.wait(&mut running, &mut signals).await {
            Wake::Exit => return Ok(()),
            Wake::Reload => true,
            Wake::Run => false,
        };
        let stamp = dir_stamp(&daemon.options.policies);
        if reload || stamp != running.policy_mtime {
            running.policy_mtime = stamp;
            daemon.reload(&mut running).await;
        }
    }
}

/// What stays fixed while the daemon runs: how it was started, the fleet configuration it
/// started with, and its connections.
struct Daemon {
    options: DaemonOptions,
    /// The fleet configuration of the bundle the daemon started with (a reload replaces the
    /// policies, not the tick, the fleet or the journal).
    controller: ControllerSpec,
    world: Arc<AwsWorld>,
    sqs: SqsClient,
    /// The alarm event queue, if it could be found (otherwise ticks alone drive passes).
    queue_url: Option<String>,
    state: Arc<Mutex<State>>,
}

/// What changes from pass to pass.
struct Running {
    /// Shared with the status page, which renders the last pass when asked.
    bundle: Arc<Bundle>,
    /// The bundle's alarms indexed for reading, built with the bundle: at 1,000 services
    /// (155,000 alarms) building it took tens of milliseconds and about 15 MiB, every pass.
    alarm_reads: AlarmReads,
    /// The health view and zone copies the next pass starts from.
    memory: Memory,
    /// Alarm events received, deleted once a pass has followed them.
    pending_receipts: Vec<String>,
    /// Alerts published and still active, so each is published once.
    active_alerts: BTreeSet<String>,
    passes: u64,
    /// When the last pass started and ended (the next one is timed from them).
    last_pass: PassTimes,
    /// The alarm queue's error last logged, so that a lasting one is logged once.
    queue_error: Option<String>,
    /// The policy files' [`dir_stamp`] when last loaded.
    policy_mtime: (u128, usize),
}

impl Running {
    fn new(bundle: Bundle, policies: &PathBuf) -> Self {
        Running {
            memory: Memory::unknown(&bundle),
            alarm_reads: AlarmReads::new(&bundle),
            bundle: Arc::new(bundle),
            pending_receipts: Vec::new(),
            active_alerts: BTreeSet::new(),
            passes: 0,
            last_pass: PassTimes {
                started: Instant::now(),
                ended: Instant::now(),
            },
            queue_error: None,
            policy_mtime: dir_stamp(policies),
        }
    }
}

/// The signals the daemon obeys between passes.
struct Signals {
    hangup: Signal,
    terminate: Signal,
}

impl Signals {
    fn new() -> Result<Self> {
        Ok(Signals {
            hangup: signal(SignalKind::hangup())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }
}

/// Why the wait between passes ended.
enum Wake {
    /// The tick, or an alarm event: run the next pass.
    Run,
    /// SIGHUP: reload the policies, then run.
    Reload,
    /// SIGTERM or ctrl-c.
    Exit,
}

impl Daemon {
    /// Connects the world and the alarm queue, and starts the admin server.
    async fn start(
        options: DaemonOptions,
        controller: ControllerSpec,
        bundle: &Bundle,
        metrics: metrics::Metrics,
    ) -> Result<Daemon> {
        let settings = crate::aws_world::settings(
            bundle,
            &controller,
            &options.region,
            options.endpoint_url.clone(),
        );
        let world = Arc::new(AwsWorld::connect(&settings).await);
        let sqs = SqsClient::new(&load_sdk(&options.region, options.endpoint_url.clone()).await);
        let queue_url = match sqs.queue_url(&controller.alarm_queue).await {
            Ok(url) => Some(url),
            Err(e) => {
                let queue = &controller.alarm_queue;
                warn!("Alarm event queue {queue} unavailable ({e}); relying on ticks.");
                None
            }
        };
        let state = Arc::new(Mutex::new(State::new(&options.region, bundle, metrics)));
        if let Some(addr) = options.admin_addr {
            let listener = tokio::net::TcpListener::bind(addr).await?;
            info!("Admin HTTP listening on {}.", listener.local_addr()?);
            let routes = admin::router(Arc::new(admin::Admin {
                state: state.clone(),
                token: options.admin_token.clone(),
                world: world.clone(),
            }));
            let limits = admin::server::Limits::DEFAULT;
            let accept_failed = move |e: &std::io::Error| {
                let pause = limits.accept_error_pause.as_secs_f64();
                warn!("Admin HTTP accept failed ({e}); pausing {pause} s.");
            };
            // On this runtime's one thread, like the loop (and in the controller's span).
            tokio::spawn(
                admin::server::serve(listener, routes, limits, accept_failed).in_current_span(),
            );
        }
        Ok(Daemon {
            options,
            controller,
            world,
            sqs,
            queue_url,
            state,
        })
    }

    /// The shared state, updated under the lock (never held across an await). A poisoned
    /// lock is used anyway: each update replaces whole values.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One pass, never interrupted, and what follows it: the alarm events it followed are
    /// deleted, the dead-man's switch and new alerts published, the pass logged and shown.
    async fn pass(&self, running: &mut Running) {
        let ctx = Context {
            bundle: &running.bundle,
            alarm_reads: &running.alarm_reads,
            region: self.options.region.clone(),
            controllers: self.controller.regions.clone(),
            heartbeat_ttl_secs: self.controller.heartbeat_ttl_secs,
            approval_timeout_secs: self.controller.approval_timeout_secs,
        };
        let span = tracing::info_span!("pass", n = running.passes + 1);
        let started = Instant::now();
        let report = reconcile_once(&ctx, self.world.as_ref(), &mut running.memory)
            .instrument(span.clone())
            .await;
        let elapsed = started.elapsed();
        let after = async {
            self.delete_followed(&mut running.pending_receipts).await;
            self.publish_heartbeat().await;
            self.publish_new_alerts(&running.bundle, &report, &running.active_alerts)
                .await
        };
        running.active_alerts = after.instrument(span.clone()).await;
        span.in_scope(|| log_pass(&report, elapsed));
        self.state().record_pass(
            &running.bundle,
            report,
            &running.memory.health,
            elapsed,
            running.active_alerts.len(),
        );
        running.passes += 1;
        running.last_pass = PassTimes {
            started,
            ended: Instant::now(),
        };
    }

    /// Alarm events are deleted only after a pass has handled them.
    async fn delete_followed(&self, receipts: &mut Vec<String>) {
        let Some(url) = &self.queue_url else {
            return;
        };
        for receipt in receipts.drain(..) {
            if let Err(e) = self.sqs.delete(url, &receipt).await {
                // Redelivered later: harmless, the pass is level-triggered.
                warn!("Alarm event not deleted: {e}.");
            }
        }
    }

    /// Dead-man's switch: a metric that stops when this controller stops.
    async fn publish_heartbeat(&self) {
        let Some(clients) = self.world.regions.get(&self.options.region) else {
            return;
        };
        let point = MetricPoint {
            name: "Heartbeat".into(),
            dimensions: vec![("Region".into(), self.options.region.clone())],
            value: 1.0,
            timestamp_ms: None,
        };
        if let Err(e) = clients
            .cloudwatch
            .put_metric_data(HEARTBEAT_NAMESPACE, &[point])
            .await
        {
            warn!("Heartbeat metric not published: {e}.");
        }
    }

    /// Publishes each alert of `report` not already `active` once; returns the alerts active
    /// now (the gauge counts them).
    async fn publish_new_alerts(
        &self,
        bundle: &Bundle,
        report: &PassReport,
        active: &BTreeSet<String>,
    ) -> BTreeSet<String> {
        let mut now_active: BTreeSet<String> = report.alerts.iter().cloned().collect();
        if let Some(s) = &report.stand_down {
            now_active.insert(format!("stand-down: {s}"));
        }
        for alert in now_active.difference(active) {
            let detail = serde_json::json!({ "region": self.options.region, "alert": alert, "bundle_hash": bundle.hash });
            self.publish_alert(&detail).await;
        }
        now_active
    }

    async fn publish_alert(&self, detail: &serde_json::Value) {
        if let Err(e) = self.world.publish("regionctl Alert", detail).await {
            warn!("Alert event not published: {}.", e.display_chain());
        }
    }

    /// Waits for the next reason to run (the tick, or an alarm event no sooner than the
    /// minimum interval: [`wait`]), a reload or an exit signal. Alarm events' receipts are
    /// kept for deletion after the pass.
    async fn wait(&self, running: &mut Running, signals: &mut Signals) -> Wake {
        let pacing = Pacing::new(
            self.controller.tick_secs,
            self.options.min_pass_interval_secs,
        );
        let receive = self
            .queue_url
            .as_deref()
            .map(|url| move |wait_secs| self.sqs.receive(url, 10, wait_secs));
        let mut heard = Heard::default();
        let wake = tokio::select! {
            () = wait::until_next_pass(receive, pacing, running.last_pass, &mut heard) => Wake::Run,
            _ = signals.hangup.recv() => Wake::Reload,
            _ = signals.terminate.recv() => {
                info!("SIGTERM: the pass in flight finished; exiting.");
                Wake::Exit
            }
            _ = tokio::signal::ctrl_c() => {
                info!("Interrupted: the pass in flight finished; exiting.");
                Wake::Exit
            }
        };
        self.note_heard(running, heard);
        wake
    }

    /// Keeps the receipts the wait heard and logs its alarm events and queue trouble.
    fn note_heard(&self, running: &mut Running, heard: Heard) {
        if !heard.alarms.is_empty() {
            let names: Vec<&str> = heard.alarms.iter().map(|c| c.name.as_str()).collect();
            info!("Woken by alarm event(s): {}.", names.join(", "));
        }
        running.memory.alarms.receive(heard.alarms);
        running.pending_receipts.extend(heard.receipts);
        if let Some((level, message)) =
            wait::queue_log(&mut running.queue_error, heard.last_receive)
        {
            match level {
                tracing::Level::INFO => info!("{message}"),
                _ => warn!("{message}"),
            }
        }
    }

    /// Reloads the policies: a valid new bundle replaces the running one (with a fresh
    /// memory); a rejected one is logged, alerted and shown, and the last good one keeps
    /// running.
    async fn reload(&self, running: &mut Running) {
        let loaded = match load_policies(&self.options.policies) {
            // Zones named by domain are looked up for every bundle read: one that cannot be
            // resolved is a rejected reload, and the last good bundle keeps running.
            Ok(mut new) => crate::zones::resolve(&mut new, self.options.endpoint_url.clone())
                .await
                .map(|()| new),
            Err(e) => Err(e),
        };
        match loaded {
            // Back to the bundle already running (e.g. a bad edit reverted): clear the alert.
            Ok(new) if new.hash == running.bundle.hash => {
                self.state().reload_error = None;
            }
            Ok(new) => {
                let (old, new_hash) = (running.bundle.short_hash(), new.short_hash());
                info!("Policy reloaded: bundle {old} → {new_hash}.");
                // The alarms' states do not depend on the bundle: keeping them spares a
                // fleet-sized bundle a full resync (minutes) after every reload.
                let alarms = std::mem::take(&mut running.memory.alarms);
                running.memory = Memory::unknown(&new);
                running.memory.alarms = alarms;
                running.alarm_reads = AlarmReads::new(&new);
                running.bundle = Arc::new(new);
                self.state().reloaded(&running.bundle, true, None);
            }
            Err(e) => {
                let kept = running.bundle.short_hash();
                error!("Policy reload rejected; keeping bundle {kept}:\n{e}");
                let detail = serde_json::json!({ "region": self.options.region, "alert": "policy reload rejected", "diagnostics": e });
                self.publish_alert(&detail).await;
                self.state().reloaded(&running.bundle, false, Some(e));
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
    let files =
        regionctl_controller::policy_files::list(std::slice::from_ref(dir)).unwrap_or_default();
    let newest = files
        .iter()
        .filter_map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .filter_map(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .max()
        .unwrap_or(0);
    (newest, files.len())
}

/// The pass's line: how long, whether it stood down, how many decisions and alerts (each
/// decision and step logged its own, in its span), then what went wrong reading and the
/// plan's alerts and notes, one line each.
fn log_pass(report: &PassReport, elapsed: Duration) {
    let stand_down = report.stand_down.as_ref().map(ToString::to_string);
    info!(
        elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        stand_down = stand_down.as_deref(),
        decisions = report.decisions.len(),
        alerts = report.alerts.len(),
        "Pass complete."
    );
    for region in &report.alarm_read_failures {
        warn!(cloudwatch_region = %region, "CloudWatch could not be read (no alarm evidence).");
    }
    for failure in &report.read_failures {
        warn!(failure = %failure, "Read failed.");
    }
    for alert in &report.alerts {
        warn!(alert = %alert, "Alert.");
    }
    for note in &report.notes {
        info!(note = %note, "Plan note.");
    }
}
