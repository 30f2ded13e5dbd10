//! `regionctl gameday --target aws`: a game-day on a real AWS account.
//!
//! # Safety first
//! Before anything is read or written: `--confirm-account ACCOUNT_ID` must be given; every
//! timeline entry must be a fault this target can inject on a real account (refused up
//! front, naming the entry, otherwise); the scenario's `guardrails.accounts` must list the
//! confirmed account and `guardrails.regions` every region the scenario and its policies
//! touch. Then STS `GetCallerIdentity` must return the confirmed account, and every alarm a
//! fault targets must exist and read its chaos metric (see [`crate::chaos`]). Any refusal
//! exits with code 2 and touches nothing.
//!
//! # What it does
//! It does not start controllers: on a real account they are deployed (`deploy/`).
//! `--local-controllers` starts one `regionctl run` per controller region on this machine
//! instead, with the ambient credentials (as the moto target does).
//! `alarm` faults publish the chaos metric (`regionctl/chaos Fault = 1`) for every alarm
//! they target, again every [`REPUBLISH_EVERY`] while the fault holds (a metric alarm needs
//! data every period); `recover` publishes 0 once. Alarms take 2–3 minutes to respond.
//! Traffic comes from the weights written to Route 53 (read with the SDK every
//! `--route53-sample-secs`, sharing the account's Route 53 budget with the controllers),
//! decisions from the journal; stand-down expectations need `--local-controllers`.
//!
//! # Rollback
//! Always, also after an error, Ctrl-C or SIGTERM: 0 is published for every chaos metric
//! this run touched. Should the process die without it (kill -9), the chaos metric simply
//! stops: its alarms return to their real metric within 2–3 minutes by themselves.

mod guardrails;
mod publisher;

use super::fleet::{self, Fleet};
use super::observe::Observer;
use super::report::{self, Observed};
use super::{Console, Ending, run_id, timeline_line};
use crate::chaos;
use anyhow::{Context, Result, anyhow};
use guardrails::Refused;
use publisher::Chaos;
use regionctl_aws::cloudwatch::CloudWatchClient;
use regionctl_aws::config::{AwsSettings, load};
use regionctl_aws::dynamodb::Journal;
use regionctl_aws::route53::{Route53Client, SharedBucket};
use regionctl_aws::sts::StsClient;
use regionctl_aws::types::AlarmState;
use regionctl_core::policy::Bundle;
use regionctl_sim::gameday::{
    AlarmTarget, Event, Fault, Log, SeenDecision, Target, alarm_targets, driver,
};
use regionctl_sim::scenario::{Loaded, What};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the chaos metric is published again while a fault holds: three times per
/// 60 s alarm period, so a lost or late call never leaves a period without data.
pub const REPUBLISH_EVERY: Duration = Duration::from_secs(20);
/// The timeline's resolution (faults start and end within this of their `at`).
const STEP: Duration = Duration::from_millis(500);

/// Options of an aws game-day.
pub struct AwsOptions {
    /// Scenario file.
    pub scenario: PathBuf,
    /// The account the operator means to run in.
    pub confirm_account: Option<String>,
    /// For tests only: a local moto (loopback addresses only).
    pub endpoint_url: Option<String>,
    /// Start one `regionctl run` per controller region here.
    pub local_controllers: bool,
    /// Seconds between reads of the weighted records.
    pub route53_sample_secs: u64,
    /// Report directory (default `reports/<scenario name>/`).
    pub report: Option<PathBuf>,
}

/// Runs a game-day on a real account (or, for tests, on a local moto through
/// `--endpoint-url`).
pub fn run(opts: &AwsOptions, console: &dyn Console) -> Result<Ending> {
    let refuse = |why: String| -> Result<Ending> {
        console.warn(&format!("refused: {why}"));
        console.warn("nothing was changed.");
        Ok(Ending::Refused)
    };
    let Some(account) = opts.confirm_account.clone() else {
        return refuse(
            "--target aws acts on a real AWS account: pass --confirm-account ACCOUNT_ID, the \
             account you mean to use (it must be your credentials' account and listed in the \
             scenario's guardrails.accounts)"
                .into(),
        );
    };
    if let Some(url) = &opts.endpoint_url
        && !guardrails::is_loopback(url)
    {
        return refuse(format!(
            "--endpoint-url with --target aws is for tests against a local moto \
             (http://127.0.0.1:PORT) only, not {url}"
        ));
    }
    let mut prepared = super::prepare(&opts.scenario, console)?;
    if let Err(why) = crate::zones::resolve_blocking(&mut prepared.1, opts.endpoint_url.clone()) {
        return refuse(why);
    }
    let (loaded, bundle, controllers) = &prepared;
    if let Err(Refused(why)) = guardrails::injectable(loaded, opts.local_controllers)
        .and_then(|()| guardrails::guardrails(loaded, bundle, controllers, &account))
    {
        return refuse(why);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let started = Instant::now();
    match runtime.block_on(play(opts, &prepared, &account, console))? {
        Err(Refused(why)) => refuse(why),
        Ok(passed) => {
            console.say(&format!("wall time {:.0?}", started.elapsed()));
            Ok(Ending::Ran { passed })
        }
    }
}

/// Settings for one region's clients.
fn settings(opts: &AwsOptions, region: &str) -> AwsSettings {
    AwsSettings {
        region: region.to_string(),
        endpoint_url: opts.endpoint_url.clone(),
    }
}

/// Checks the account and the alarms against the account itself, then plays, rolls back,
/// judges. `Err(Refused)` before anything was changed.
async fn play(
    opts: &AwsOptions,
    (loaded, bundle, controllers): &(Loaded, Bundle, Vec<String>),
    account: &str,
    console: &dyn Console,
) -> Result<Result<bool, Refused>> {
    let s = &loaded.scenario;
    let Some(sts_region) = s.guardrails.regions.first() else {
        return Ok(Err(Refused("guardrails.regions is empty".into())));
    };
    let identity = StsClient::new(&load(&settings(opts, sts_region)).await)
        .caller_identity()
        .await
        .context("STS GetCallerIdentity (are credentials configured?)")?;
    if identity.account != account {
        return Ok(Err(Refused(format!(
            "the credentials belong to account {} ({}), not the confirmed {account}",
            identity.account, identity.arn
        ))));
    }
    let cw = match alarm_clients(opts, loaded, bundle).await? {
        Ok(cw) => cw,
        Err(refused) => return Ok(Err(refused)),
    };
    let run_id = run_id();
    let report_dir = super::report_dir(opts.report.as_ref(), s)?;
    console.say(&format!(
        "game-day {} on AWS account {} ({}): regions {}, controllers {} ({}), {} of real time, run {run_id}",
        s.name,
        identity.account,
        identity.arn,
        s.guardrails.regions.join(", "),
        controllers.join(", "),
        if opts.local_controllers {
            "local processes"
        } else {
            "deployed, not started by this run"
        },
        s.world.duration
    ));
    let route53 = Route53Client::new(
        &load(&settings(opts, "us-east-1")).await,
        Arc::new(SharedBucket::new(Default::default())),
    );
    let fleet = local_fleet(opts, loaded, controllers, &report_dir)?;
    let sample_every = Duration::from_secs(opts.route53_sample_secs.max(1));
    let mut target = Aws {
        opts,
        bundle,
        controllers,
        sts_region,
        cw: &cw,
        route53: &route53,
        fleet: Some(fleet),
        observer: Observer::new(bundle, BTreeMap::new(), STEP),
        chaos: Chaos::default(),
        alarm_states: BTreeMap::new(),
        next_publish: Instant::now(),
        next_sample: Instant::now(),
        sample_every,
        console,
    };
    let played = tokio::select! {
        r = timeline(loaded, &mut target) => r,
        why = interrupted() => Err(anyhow!("{why}")),
    };
    let rolled_back = roll_back(&mut target, opts.local_controllers).await;
    let aborted = played.err().map(|e| {
        console.warn(&format!("game-day aborted: {e:#}"));
        format!("{e:#}")
    });
    let decisions = target.decisions().await?;
    let observed = Observed {
        target: "aws",
        place: format!("AWS account {} as {}", identity.account, identity.arn),
        run_id: &run_id,
        evidence: target.observer.evidence(decisions),
        t0_ms: target.observer.started_ms(),
        aborted,
        caveats: caveats(opts.local_controllers, sample_every),
        extra: serde_json::json!({
            "account": identity.account,
            "chaos_alarms": target.chaos.touched.iter().map(|t| serde_json::json!({
                "region": t.region, "service": t.service, "alarm": t.alarm,
            })).collect::<Vec<_>>(),
            "chaos_publish_calls": target.chaos.published,
            "rolled_back": rolled_back,
            "local_controllers": opts.local_controllers,
        }),
    };
    let passed = report::finish(
        (loaded, bundle, controllers),
        &observed,
        &report_dir,
        console,
    )?;
    console.say(&format!(
        "report: {}/report.md, report.json",
        report_dir.display()
    ));
    Ok(Ok(passed && rolled_back))
}

/// With `--local-controllers`, one `regionctl run` per controller region on this machine
/// (ambient credentials); otherwise none.
fn local_fleet(
    opts: &AwsOptions,
    loaded: &Loaded,
    controllers: &[String],
    report_dir: &std::path::Path,
) -> Result<Fleet> {
    if !opts.local_controllers {
        return Ok(Fleet(Vec::new()));
    }
    let policies = loaded.policies.to_string_lossy().to_string();
    let base = || -> Result<Command> {
        Ok(Command::new(
            std::env::current_exe().context("locating the regionctl binary")?,
        ))
    };
    fleet::start(
        &base,
        controllers,
        &policies,
        opts.endpoint_url.as_deref(),
        report_dir,
    )
}

/// A CloudWatch client per region of an alarm any fault targets, once every such alarm is
/// known to read its chaos metric (otherwise refused).
async fn alarm_clients(
    opts: &AwsOptions,
    loaded: &Loaded,
    bundle: &Bundle,
) -> Result<Result<BTreeMap<String, CloudWatchClient>, Refused>> {
    let all_targets: BTreeSet<AlarmTarget> = loaded
        .scenario
        .timeline
        .iter()
        .filter(|e| e.what == What::Alarm)
        .flat_map(|e| alarm_targets(bundle, e))
        .collect();
    let mut cw: BTreeMap<String, CloudWatchClient> = BTreeMap::new();
    let target_regions: BTreeSet<&str> = all_targets.iter().map(|t| t.region.as_str()).collect();
    for r in target_regions {
        let client = CloudWatchClient::new(&load(&settings(opts, r)).await);
        cw.insert(r.to_string(), client);
    }
    let problems = guardrails::alarms_wired(&cw, &all_targets).await?;
    if !problems.is_empty() {
        return Ok(Err(Refused(format!(
            "the faults' alarms cannot be failed through the chaos metric:\n  {}",
            problems.join("\n  ")
        ))));
    }
    Ok(Ok(cw))
}

/// Waits for the local fleet (if any), then plays the timeline.
async fn timeline(loaded: &Loaded, target: &mut Aws<'_>) -> Result<()> {
    if let Some(fleet) = &target.fleet {
        fleet::wait_ready(fleet, target.console).await?;
    }
    let started = Instant::now();
    let console = target.console;
    let mut progress = |e: &Event| {
        console.progress(&timeline_line(started.elapsed().as_secs_f64(), e));
    };
    let mut log = Log::new(&mut progress);
    driver::play(&loaded.scenario, target, &mut log).await?;
    Ok(())
}

/// Rollback, always: local controllers stopped, 0 published for every chaos metric
/// touched. Whether it completed.
async fn roll_back(target: &mut Aws<'_>, local_controllers: bool) -> bool {
    drop(target.fleet.take());
    let rolled_back = publisher::rollback(target.cw, &target.chaos, target.console).await;
    target.console.progress(&format!(
        "rollback: chaos metric 0 for {} alarm(s){}{}",
        target.chaos.touched.len(),
        if local_controllers {
            ", local controllers stopped"
        } else {
            ""
        },
        if rolled_back {
            ""
        } else {
            " — INCOMPLETE, see above"
        }
    ));
    rolled_back
}

/// The report's paragraph on what this run can and cannot show.
fn caveats(local_controllers: bool, sample_every: Duration) -> String {
    format!(
        "Controllers: {}. Alarm faults published the chaos metric ({} {}) every {} s \
         while they held; an alarm responds 2–3 minutes later (60 s periods, 2 of 3 to \
         alarm), so deadlines must allow for it. Route 53 was sampled every {} s. \
         Steady-state checks are not evaluated on aws.",
        if local_controllers {
            "local `regionctl run` processes"
        } else {
            "the deployed fleet (this run started none)"
        },
        chaos::NAMESPACE,
        chaos::METRIC_NAME,
        REPUBLISH_EVERY.as_secs(),
        sample_every.as_secs()
    )
}

/// Resolves on Ctrl-C or SIGTERM, with what happened.
#[cfg(unix)]
async fn interrupted() -> String {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = tokio::signal::ctrl_c() => "interrupted (Ctrl-C)".into(),
            _ = term.recv() => "terminated (SIGTERM)".into(),
        },
        Err(_) => {
            let _ctrl_c = tokio::signal::ctrl_c().await;
            "interrupted (Ctrl-C)".into()
        }
    }
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
async fn interrupted() -> String {
    let _ctrl_c = tokio::signal::ctrl_c().await;
    "interrupted (Ctrl-C)".into()
}

/// A real account as a game-day target: alarm faults through the chaos metric.
struct Aws<'a> {
    opts: &'a AwsOptions,
    bundle: &'a Bundle,
    controllers: &'a [String],
    /// The first allowed region (STS), the journal's last resort.
    sts_region: &'a str,
    cw: &'a BTreeMap<String, CloudWatchClient>,
    route53: &'a Route53Client,
    /// Local controllers, if started (taken by the rollback, which stops them).
    fleet: Option<Fleet>,
    observer: Observer,
    chaos: Chaos,
    /// Each targeted alarm's state last said.
    alarm_states: BTreeMap<String, AlarmState>,
    next_publish: Instant,
    next_sample: Instant,
    sample_every: Duration,
    console: &'a dyn Console,
}

impl Target for Aws<'_> {
    type Error = anyhow::Error;

    async fn next_instant(&mut self, end: u64) -> Result<Option<u64>> {
        Ok(self.observer.next_instant(end).await)
    }

    async fn inject(&mut self, fault: &Fault<'_>, _log: &mut Log<'_>) -> Result<String> {
        let e = fault.entry;
        if e.what != What::Alarm {
            // Refused before anything starts (`guardrails::injectable`).
            return Ok(format!(
                "{}: `{}` is not injected on aws",
                fault.id,
                e.what.as_str()
            ));
        }
        let targets = alarm_targets(self.bundle, e);
        self.chaos.active.insert(fault.id.clone(), targets.clone());
        self.chaos.touched.extend(targets.iter().cloned());
        self.next_publish = Instant::now();
        Ok(format!(
            "{}: chaos metric 1 for {} alarm(s) in {} (ALARM expected in 2–3 min)",
            fault.id,
            targets.len(),
            e.place.region.as_deref().unwrap_or_default()
        ))
    }

    async fn lift(
        &mut self,
        faults: &[Fault<'_>],
        _t: u64,
        _log: &mut Log<'_>,
    ) -> Result<Option<String>> {
        let mut off = BTreeSet::new();
        for f in faults {
            off.extend(self.chaos.active.remove(&f.id).unwrap_or_default());
        }
        // An alarm another fault still holds stays on.
        let still = self.chaos.on();
        off.retain(|x| !still.contains(x));
        self.chaos.published += publisher::publish(self.cw, &off, chaos::FAULT_OFF).await?;
        Ok(Some(format!("chaos metric 0 for {} alarm(s)", off.len())))
    }

    /// Republishes the chaos metric of every fault in force when due.
    async fn advance(&mut self, _t: u64, _log: &mut Log<'_>) -> Result<()> {
        if Instant::now() >= self.next_publish {
            let on = self.chaos.on();
            if !on.is_empty() {
                self.chaos.published += publisher::publish(self.cw, &on, chaos::FAULT_ON).await?;
            }
            self.next_publish = Instant::now() + REPUBLISH_EVERY;
        }
        Ok(())
    }

    /// Route 53 and the targeted alarms when due; the local controllers' stand-downs.
    async fn sample(&mut self, t: u64, _log: &mut Log<'_>) -> Result<()> {
        if Instant::now() >= self.next_sample {
            self.observer
                .sample_weights(self.route53, t, self.console)
                .await;
            let elapsed = self.observer.elapsed();
            publisher::report_alarm_states(
                self.cw,
                &self.chaos.touched,
                &mut self.alarm_states,
                elapsed,
                self.console,
            )
            .await;
            self.next_sample = Instant::now() + self.sample_every;
        }
        if let Some(fleet) = &self.fleet {
            self.observer.poll_stand_downs(fleet, t, self.console);
        }
        Ok(())
    }

    async fn decisions(&mut self) -> Result<BTreeMap<String, SeenDecision>> {
        let Some(controller) = &self.bundle.controller else {
            anyhow::bail!("the scenario's policies have no ControllerConfig");
        };
        let journal_region = controller
            .journal_region
            .clone()
            .or_else(|| self.controllers.first().cloned())
            .unwrap_or_else(|| self.sts_region.to_string());
        let journal = Journal::new(
            &load(&settings(self.opts, &journal_region)).await,
            controller.journal_table.clone(),
        );
        self.observer.decisions(&journal).await
    }
}
