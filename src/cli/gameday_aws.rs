//! `regionctl gameday --target aws`: a game-day on a real AWS account.
//!
//! # Safety first
//! Before anything is read or written: `--confirm-account ACCOUNT_ID` must be given; every
//! timeline entry must be a fault this target can inject on a real account (refused up
//! front, naming the entry, otherwise); the scenario's `guardrails.accounts` must list the
//! confirmed account and `guardrails.regions` every region the scenario and its policies
//! touch. Then STS `GetCallerIdentity` must return the confirmed account, and every alarm a
//! fault targets must exist and read its chaos metric (see [`regionctl::chaos`]). Any
//! refusal exits with code 2 and touches nothing.
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

use super::gameday_common::{
    self as common, Fleet, Observed, Played, StandDowns, read_decisions, sample_weights,
};
use anyhow::{Context, Result, anyhow};
use regionctl::chaos;
use regionctl_aws::cloudwatch::{CloudWatchClient, MetricPoint};
use regionctl_aws::config::{AwsSettings, load};
use regionctl_aws::dynamodb::Journal;
use regionctl_aws::route53::{Route53Client, SharedBucket};
use regionctl_aws::sts::StsClient;
use regionctl_aws::types::AlarmState;
use regionctl_core::policy::Bundle;
use regionctl_sim::engine::{self, AlarmTarget};
use regionctl_sim::scenario::{self, ExpectKind, ScenarioAlarmState, What};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the chaos metric is published again while a fault holds: three times per
/// 60 s alarm period, so a lost or late call never leaves a period without data.
pub const REPUBLISH_EVERY: Duration = Duration::from_secs(20);
/// The timeline's resolution (faults start and end within this of their `at`).
const STEP: Duration = Duration::from_millis(500);
/// Attempts per region to publish 0 on rollback.
const ROLLBACK_ATTEMPTS: u32 = 3;
/// Datums per PutMetricData call (the API takes up to 1,000).
const DATUMS_PER_CALL: usize = 500;

/// Exit code of a refusal (nothing was touched).
const REFUSED: u8 = 2;

/// Options of an aws game-day.
pub struct AwsOptions {
    pub scenario: PathBuf,
    pub confirm_account: Option<String>,
    pub endpoint_url: Option<String>,
    pub local_controllers: bool,
    pub route53_sample_secs: u64,
    pub report: Option<PathBuf>,
    pub quiet: bool,
}

/// Why a run was refused; printed, exit code 2.
struct Refused(String);

/// Runs a game-day on a real account (or, for tests, on a local moto through
/// `--endpoint-url`).
pub fn run(opts: AwsOptions) -> Result<ExitCode> {
    let refuse = |why: String| -> Result<ExitCode> {
        eprintln!("refused: {why}");
        eprintln!("nothing was changed.");
        Ok(ExitCode::from(REFUSED))
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
        && !is_loopback(url)
    {
        return refuse(format!(
            "--endpoint-url with --target aws is for tests against a local moto \
             (http://127.0.0.1:PORT) only, not {url}"
        ));
    }
    let (loaded, bundle, controllers) = match engine::prepare(&opts.scenario) {
        Ok(x) => x,
        Err(errors) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            anyhow::bail!(
                "{}: {} error(s); scenario rejected",
                opts.scenario.display(),
                errors.len()
            );
        }
    };
    if let Err(Refused(why)) = injectable(&loaded, opts.local_controllers)
        .and_then(|()| guardrails(&loaded, &bundle, &controllers, &account))
    {
        return refuse(why);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let started = Instant::now();
    match runtime.block_on(play(&opts, &loaded, &bundle, &controllers, &account))? {
        Err(Refused(why)) => refuse(why),
        Ok(passed) => {
            println!("wall time {:.0?}", started.elapsed());
            Ok(if passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

/// Whether `url` is plain HTTP to this machine (`http://127.0.0.1[:PORT]`,
/// `http://localhost[:PORT]`): the only endpoint override `--target aws` accepts.
fn is_loopback(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host_port = rest.split('/').next().unwrap_or_default();
    let host = host_port.split(':').next().unwrap_or_default();
    host == "127.0.0.1" || host == "localhost"
}

/// Refuses, naming each entry, every fault and expectation a real account cannot play or
/// check.
fn injectable(loaded: &scenario::Loaded, local_controllers: bool) -> Result<(), Refused> {
    let s = &loaded.scenario;
    let mut problems = Vec::new();
    for (i, e) in s.timeline.iter().enumerate() {
        let why = match e.what {
            What::Recover => continue,
            What::Alarm => match e.state {
                None | Some(ScenarioAlarmState::Alarm) => continue,
                Some(_) => {
                    "the chaos metric can only make an alarm breach (state: ALARM), not force OK or INSUFFICIENT_DATA"
                }
            },
            What::EndpointsFail | What::EndpointsTimeout => {
                "your service's own endpoints cannot be failed from here (fail them through your load balancer or AWS FIS; the alarm fault stands in for what they would trip)"
            }
            What::AlarmFlap => {
                "flapping is not supported on aws (60 s alarm periods and 2–3 minutes to respond make the flap period meaningless)"
            }
            What::ApisUnreachable
            | What::Partition
            | What::JournalUnavailable
            | What::Route53ControlPlaneDown => {
                "AWS's own APIs and networks cannot be broken from a customer account (run this scenario on --target sim)"
            }
            What::ControllerCrash => {
                "the deployed controllers are not this process's to crash (stop an ECS task yourself, or run it on --target sim)"
            }
            What::ClockSkew | What::CapacityShortfall | What::PolicyRollout => {
                "cannot be injected on a real account (run it on --target sim)"
            }
        };
        let id =
            e.id.as_deref()
                .map(|x| format!(" ({x})"))
                .unwrap_or_default();
        problems.push(format!(
            "timeline[{i}]{id}: `{}` cannot be injected: {why}",
            e.what.as_str()
        ));
    }
    for (i, x) in s.expect.iter().enumerate() {
        if x.kind == ExpectKind::TrafficSteady {
            problems.push(format!(
                "expect[{i}]: `traffic-steady` needs answered traffic, which a real run does not observe"
            ));
        }
        if x.kind == ExpectKind::StandDown && !local_controllers {
            problems.push(format!(
                "expect[{i}]: `stand-down` reads each controller's /status: run the controllers with --local-controllers, or drop the expectation"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Refused(format!(
            "{}: not playable on a real account:\n  {}",
            loaded.path.display(),
            problems.join("\n  ")
        )))
    }
}

/// Every region the run touches: the policies' regions, the controllers', the journal's and
/// the switch alarms'. Route 53 is global (its API lives in us-east-1) and is not counted.
fn regions_touched(bundle: &Bundle, controllers: &[String]) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = bundle.regions.iter().cloned().collect();
    out.extend(controllers.iter().cloned());
    if let Some(c) = &bundle.controller {
        out.extend(c.regions.iter().cloned());
        out.extend(c.journal_region.iter().cloned());
    }
    for svc in &bundle.services {
        if let Some(sw) = &svc.routing.switch {
            out.extend(sw.alarm_regions.iter().cloned());
        }
    }
    out
}

/// The scenario's allow-list, checked before any call: the confirmed account and every
/// region touched must be listed.
fn guardrails(
    loaded: &scenario::Loaded,
    bundle: &Bundle,
    controllers: &[String],
    account: &str,
) -> Result<(), Refused> {
    let g = &loaded.scenario.guardrails;
    let file = loaded.path.display();
    if g.accounts.is_empty() {
        return Err(Refused(format!(
            "{file}: guardrails.accounts is empty; a real run needs the accounts it may touch listed"
        )));
    }
    if !g.accounts.iter().any(|a| a == account) {
        return Err(Refused(format!(
            "{file}: account {account} is not in guardrails.accounts ({})",
            g.accounts.join(", ")
        )));
    }
    let outside: Vec<String> = regions_touched(bundle, controllers)
        .into_iter()
        .filter(|r| !g.regions.contains(r))
        .collect();
    if !outside.is_empty() {
        return Err(Refused(format!(
            "{file}: the scenario and its policies touch {}, not in guardrails.regions ({})",
            outside.join(", "),
            g.regions.join(", ")
        )));
    }
    Ok(())
}

/// What the chaos injector has done: alarms it publishes 1 for now (by fault id), and every
/// alarm it ever published for (rollback publishes 0 for all of them).
#[derive(Default)]
struct Chaos {
    active: BTreeMap<String, Vec<AlarmTarget>>,
    touched: BTreeSet<AlarmTarget>,
    published: usize,
}

impl Chaos {
    fn on(&self) -> BTreeSet<AlarmTarget> {
        self.active.values().flatten().cloned().collect()
    }
}

/// Publishes `value` for every target's chaos metric, per region (one call per 500).
async fn publish(
    cw: &BTreeMap<String, CloudWatchClient>,
    targets: &BTreeSet<AlarmTarget>,
    value: f64,
) -> Result<usize> {
    let mut by_region: BTreeMap<&str, Vec<MetricPoint>> = BTreeMap::new();
    for t in targets {
        let m = chaos::metric(&t.service, &t.region, &t.alarm);
        by_region
            .entry(t.region.as_str())
            .or_default()
            .push(MetricPoint {
                name: m.metric_name,
                dimensions: m.dimensions,
                value,
                timestamp_ms: None,
            });
    }
    let mut calls = 0;
    for (region, points) in by_region {
        let client = cw
            .get(region)
            .ok_or_else(|| anyhow!("no CloudWatch client for {region}"))?;
        for chunk in points.chunks(DATUMS_PER_CALL) {
            client
                .put_metric_data(chaos::NAMESPACE, chunk)
                .await
                .with_context(|| format!("publishing the chaos metric in {region}"))?;
            calls += 1;
        }
    }
    Ok(calls)
}

/// Rollback: publish 0 for every chaos metric touched, retrying; says what it could not do.
async fn rollback(cw: &BTreeMap<String, CloudWatchClient>, chaos: &Chaos) -> bool {
    let mut ok = true;
    let regions: BTreeSet<&str> = chaos.touched.iter().map(|t| t.region.as_str()).collect();
    for region in regions {
        let mine: BTreeSet<AlarmTarget> = chaos
            .touched
            .iter()
            .filter(|t| t.region == region)
            .cloned()
            .collect();
        let mut attempt = 1;
        let failed = loop {
            match publish(cw, &mine, chaos::FAULT_OFF).await {
                Ok(_) => break None,
                Err(e) if attempt >= ROLLBACK_ATTEMPTS => break Some(e),
                Err(_) => {
                    tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
                    attempt += 1;
                }
            }
        };
        if let Some(e) = failed {
            ok = false;
            eprintln!(
                "ROLLBACK FAILED in {region}: {e:#}\n  publish 0 yourself for {} in namespace {}, \
                 metric {} (or wait 2–3 minutes: without data the alarms fall back to their \
                 real metric)",
                mine.iter()
                    .map(|t| t.alarm.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                chaos::NAMESPACE,
                chaos::METRIC_NAME
            );
        }
    }
    ok
}

/// Checks, by reading them, that every alarm a fault targets exists and reads its chaos
/// metric; otherwise publishing would fail nothing and the game-day would prove nothing.
async fn alarms_wired(
    cw: &BTreeMap<String, CloudWatchClient>,
    targets: &BTreeSet<AlarmTarget>,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let regions: BTreeSet<&str> = targets.iter().map(|t| t.region.as_str()).collect();
    for region in regions {
        let client = cw
            .get(region)
            .ok_or_else(|| anyhow!("no CloudWatch client for {region}"))?;
        let mine: Vec<&AlarmTarget> = targets.iter().filter(|t| t.region == region).collect();
        let names: Vec<String> = mine.iter().map(|t| t.alarm.clone()).collect();
        let found = client
            .alarms_by_names(&names)
            .await
            .with_context(|| format!("reading alarms in {region}"))?;
        for t in mine {
            match found.iter().find(|a| a.name == t.alarm) {
                None => problems.push(format!("alarm {} does not exist in {region}", t.alarm)),
                Some(a) if !chaos::reads_chaos(a, &t.service, &t.region) => {
                    problems.push(format!(
                        "alarm {} in {region} does not read its chaos metric ({} {} with \
                         Alarm/Region/Service dimensions): re-create it with `regionctl \
                         provision` or add the metric-math term (docs/OPERATIONS.md)",
                        t.alarm,
                        chaos::NAMESPACE,
                        chaos::METRIC_NAME
                    ));
                }
                Some(_) => {}
            }
        }
    }
    Ok(problems)
}

#[allow(clippy::too_many_lines)]
async fn play(
    opts: &AwsOptions,
    loaded: &scenario::Loaded,
    bundle: &Bundle,
    controllers: &[String],
    account: &str,
) -> Result<Result<bool, Refused>> {
    let s = &loaded.scenario;
    let settings = |region: &str| AwsSettings {
        region: region.to_string(),
        endpoint_url: opts.endpoint_url.clone(),
    };
    let Some(sts_region) = s.guardrails.regions.first() else {
        return Ok(Err(Refused("guardrails.regions is empty".into())));
    };
    let identity = StsClient::new(&load(&settings(sts_region)).await)
        .caller_identity()
        .await
        .context("STS GetCallerIdentity (are credentials configured?)")?;
    if identity.account != account {
        return Ok(Err(Refused(format!(
            "the credentials belong to account {} ({}), not the confirmed {account}",
            identity.account, identity.arn
        ))));
    }

    // Every alarm any fault targets, and a CloudWatch client per region they live in.
    let mut targets_of: BTreeMap<usize, Vec<AlarmTarget>> = BTreeMap::new();
    for (i, e) in s.timeline.iter().enumerate() {
        if e.what == What::Alarm {
            targets_of.insert(i, engine::alarm_targets(bundle, e));
        }
    }
    let all_targets: BTreeSet<AlarmTarget> = targets_of.values().flatten().cloned().collect();
    let mut cw: BTreeMap<String, CloudWatchClient> = BTreeMap::new();
    let target_regions: BTreeSet<&str> = all_targets.iter().map(|t| t.region.as_str()).collect();
    for r in target_regions {
        let client = CloudWatchClient::new(&load(&settings(r)).await);
        cw.insert(r.to_string(), client);
    }
    let problems = alarms_wired(&cw, &all_targets).await?;
    if !problems.is_empty() {
        return Ok(Err(Refused(format!(
            "the faults' alarms cannot be failed through the chaos metric:\n  {}",
            problems.join("\n  ")
        ))));
    }

    let run_id = common::run_id();
    let report_dir = common::report_dir(opts.report.as_ref(), s)?;
    let say = |line: String| {
        if !opts.quiet {
            println!("{line}");
        }
    };
    println!(
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
    );
    let route53 = Route53Client::new(
        &load(&settings("us-east-1")).await,
        Arc::new(SharedBucket::new(Default::default())),
    );
    let fleet = if opts.local_controllers {
        let policies = loaded.policies.to_string_lossy().to_string();
        let base = || -> Result<Command> {
            Ok(Command::new(
                std::env::current_exe().context("locating the regionctl binary")?,
            ))
        };
        common::start_fleet(
            &base,
            controllers,
            &policies,
            opts.endpoint_url.as_deref(),
            &report_dir,
        )?
    } else {
        Fleet(Vec::new())
    };

    let mut state = Chaos::default();
    let sample_every = Duration::from_secs(opts.route53_sample_secs.max(1));
    let played = {
        let playing = timeline(
            s,
            bundle,
            &fleet,
            &cw,
            &route53,
            &targets_of,
            &mut state,
            sample_every,
            &say,
        );
        tokio::select! {
            r = playing => r,
            why = interrupted() => Err(anyhow!("{why}")),
        }
    };

    // Rollback: always.
    drop(fleet);
    let rolled_back = rollback(&cw, &state).await;
    say(format!(
        "rollback: chaos metric 0 for {} alarm(s){}{}",
        state.touched.len(),
        if opts.local_controllers {
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
    let (samples, stand_downs, t0_ms, aborted) = match played {
        Ok((samples, stand_downs, t0_ms)) => (samples, stand_downs, t0_ms, None),
        Err(e) => {
            eprintln!("game-day aborted: {e:#}");
            (
                Vec::new(),
                StandDowns::new(),
                common::now_ms(),
                Some(format!("{e:#}")),
            )
        }
    };

    let Some(controller) = &bundle.controller else {
        anyhow::bail!("the scenario's policies have no ControllerConfig");
    };
    let journal_region = controller
        .journal_region
        .clone()
        .or_else(|| controllers.first().cloned())
        .unwrap_or_else(|| sts_region.clone());
    let journal = Journal::new(
        &load(&settings(&journal_region)).await,
        controller.journal_table.clone(),
    );
    let decisions = read_decisions(&journal, bundle).await?;
    let observed = Observed {
        target: "aws",
        place: format!("AWS account {} as {}", identity.account, identity.arn),
        run_id: &run_id,
        samples,
        stand_downs,
        decisions,
        t0_ms,
        aborted,
        caveats: format!(
            "Controllers: {}. Alarm faults published the chaos metric ({} {}) every {} s \
             while they held; an alarm responds 2–3 minutes later (60 s periods, 2 of 3 to \
             alarm), so deadlines must allow for it. Route 53 was sampled every {} s. \
             Steady-state checks are not evaluated on aws.",
            if opts.local_controllers {
                "local `regionctl run` processes"
            } else {
                "the deployed fleet (this run started none)"
            },
            chaos::NAMESPACE,
            chaos::METRIC_NAME,
            REPUBLISH_EVERY.as_secs(),
            sample_every.as_secs()
        ),
        extra: serde_json::json!({
            "account": identity.account,
            "chaos_alarms": state.touched.iter().map(|t| serde_json::json!({
                "region": t.region, "service": t.service, "alarm": t.alarm,
            })).collect::<Vec<_>>(),
            "chaos_publish_calls": state.published,
            "rolled_back": rolled_back,
            "local_controllers": opts.local_controllers,
        }),
    };
    let passed = common::finish(loaded, bundle, controllers, &observed, &report_dir)?;
    println!("report: {}/report.md, report.json", report_dir.display());
    Ok(Ok(passed && rolled_back))
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

/// Plays the timeline in real time: faults on and off through the chaos metric, Route 53
/// sampled, targeted alarms' states and controllers' stand-downs reported as they change.
#[allow(clippy::too_many_arguments)]
async fn timeline(
    s: &scenario::Scenario,
    bundle: &Bundle,
    fleet: &Fleet,
    cw: &BTreeMap<String, CloudWatchClient>,
    route53: &Route53Client,
    targets_of: &BTreeMap<usize, Vec<AlarmTarget>>,
    state: &mut Chaos,
    sample_every: Duration,
    say: &dyn Fn(String),
) -> Result<Played> {
    common::wait_ready(fleet, say).await?;
    let t0 = Instant::now();
    let t0_ms = common::now_ms();
    let mut next: usize = 0;
    let mut samples = Vec::new();
    let mut stand_downs = StandDowns::new();
    let mut last_weights: BTreeMap<String, BTreeMap<String, u8>> = BTreeMap::new();
    let mut alarm_states: BTreeMap<String, AlarmState> = BTreeMap::new();
    let mut next_publish = t0;
    let mut next_sample = t0;
    let duration = Duration::from_secs(s.world.duration.secs());
    while t0.elapsed() < duration {
        let t = t0.elapsed().as_secs_f64();
        while let Some(e) = s.timeline.get(next)
            && e.at.secs() as f64 <= t
        {
            let label = e.id.clone().unwrap_or_else(|| format!("#{next}"));
            if e.what == What::Recover {
                let all = e.faults.iter().any(|f| f == "all");
                let lifted: Vec<String> = state
                    .active
                    .keys()
                    .filter(|k| all || e.faults.contains(k))
                    .cloned()
                    .collect();
                let mut off = BTreeSet::new();
                for k in &lifted {
                    off.extend(state.active.remove(k).unwrap_or_default());
                }
                // An alarm another fault still holds stays on.
                let still = state.on();
                off.retain(|x| !still.contains(x));
                state.published += publish(cw, &off, chaos::FAULT_OFF).await?;
                say(format!(
                    "[{t:6.1}s] recover {}: chaos metric 0 for {} alarm(s)",
                    lifted.join(", "),
                    off.len()
                ));
            } else if let Some(targets) = targets_of.get(&next) {
                state.active.insert(label.clone(), targets.clone());
                state.touched.extend(targets.iter().cloned());
                let region = e.place.region.clone().unwrap_or_default();
                say(format!(
                    "[{t:6.1}s] fault {label}: chaos metric 1 for {} alarm(s) in {region} (ALARM expected in 2–3 min)",
                    targets.len()
                ));
                next_publish = Instant::now();
            }
            next += 1;
        }
        if Instant::now() >= next_publish {
            let on = state.on();
            if !on.is_empty() {
                state.published += publish(cw, &on, chaos::FAULT_ON).await?;
            }
            next_publish = Instant::now() + REPUBLISH_EVERY;
        }
        if Instant::now() >= next_sample {
            samples.push(
                sample_weights(route53, bundle, &BTreeMap::new(), &mut last_weights, t, say).await,
            );
            report_alarm_states(cw, &state.touched, &mut alarm_states, t, say).await;
            next_sample = Instant::now() + sample_every;
        }
        common::poll_stand_downs(fleet, t, &mut stand_downs, say);
        tokio::time::sleep(STEP).await;
    }
    Ok((samples, stand_downs, t0_ms))
}

/// Prints each targeted alarm's state when it changes: the live view of real evaluation.
async fn report_alarm_states(
    cw: &BTreeMap<String, CloudWatchClient>,
    touched: &BTreeSet<AlarmTarget>,
    seen: &mut BTreeMap<String, AlarmState>,
    t: f64,
    say: &dyn Fn(String),
) {
    for (region, client) in cw {
        let names: Vec<String> = touched
            .iter()
            .filter(|x| &x.region == region)
            .map(|x| x.alarm.clone())
            .collect();
        if names.is_empty() {
            continue;
        }
        let Ok(found) = client.alarms_by_names(&names).await else {
            continue;
        };
        for a in found {
            if seen.get(&a.name) != Some(&a.state) {
                say(format!(
                    "[{t:6.1}s] alarm {} in {region}: {}",
                    a.name,
                    regionctl_aws::types::alarm_state_name(a.state)
                ));
                seen.insert(a.name.clone(), a.state);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn only_plain_http_to_this_machine_is_a_test_endpoint() {
        assert!(is_loopback("http://127.0.0.1:5000"));
        assert!(is_loopback("http://localhost:5000/"));
        assert!(!is_loopback("https://127.0.0.1:5000"));
        assert!(!is_loopback("http://localhost.example.com:5000"));
        assert!(!is_loopback("http://127.0.0.1.example.com"));
        assert!(!is_loopback(
            "https://monitoring.eu-central-1.amazonaws.com"
        ));
    }
}
