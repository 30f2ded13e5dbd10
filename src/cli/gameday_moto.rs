//! `regionctl gameday --target moto`: a game-day against a moto server, with the controllers
//! as real `regionctl run` processes.
//!
//! # What it does
//! Starts moto (`scripts/moto.sh start`) unless `--endpoint-url` is given; copies the
//! scenario's policies to a temporary directory, giving every `gameday-` name a run id,
//! creating the hosted zones the policies name and substituting their new ids, pointing
//! every probe at local HTTP endpoint servers (one per region: 200 while up, 503 while the
//! scenario fails that region's endpoints) through `per_region`, pinning the journal to one
//! region (moto does not replicate DynamoDB) and filling `provision.network` from moto's
//! default VPCs; runs `regionctl provision`; starts one `regionctl run --region R` per
//! controller; then plays the timeline in real time.
//!
//! # What it supports
//! Faults: `endpoints-fail` (503) and `alarm` (`SetAlarmState`), and `recover`.
//! Expectations: `traffic` and `failback` from the weights *written* to Route 53 (moto
//! answers no DNS: no health-check answering rules, no TTL lag), `decision`, `decisions`
//! and `capacity-before-traffic` (step order of the decision) from the journal, `stand-down`
//! from each controller's `/status`. Steady-state checks are not evaluated. Anything else is
//! refused before anything starts.
//!
//! Rollback always runs: alarms back to OK, endpoints up, controllers stopped, moto stopped
//! if this run started it.

use super::gameday_common::{
    self as common, Fleet, Observed, Played, StandDowns, read_decisions, sample_weights,
};
use anyhow::{Context, Result, bail};
use regionctl_aws::cloudwatch::CloudWatchClient;
use regionctl_aws::dynamodb::Journal;
use regionctl_aws::route53::{Route53Client, SharedBucket};
use regionctl_aws::types::AlarmState;
use regionctl_core::policy::Bundle;
use regionctl_sim::engine;
use regionctl_sim::scenario::{self, ExpectKind, ScenarioAlarmState, What};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often Route 53 weights and controller status are sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(500);

/// Options of a moto game-day.
pub struct MotoOptions {
    pub scenario: PathBuf,
    pub endpoint_url: Option<String>,
    pub report: Option<PathBuf>,
    pub quiet: bool,
}

/// A moto server this run started (stopped on drop).
struct MotoServer {
    script: PathBuf,
    pid: String,
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _stopped = Command::new("bash")
            .arg(&self.script)
            .args(["stop", &self.pid])
            .status();
    }
}

/// The run's rewritten policy directory (removed on drop).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _removed = std::fs::remove_dir_all(&self.0);
    }
}

/// A local HTTP endpoint standing in for one region: 200 while `up`, 503 otherwise.
struct Endpoint {
    port: u16,
    up: Arc<AtomicBool>,
}

impl Endpoint {
    fn start() -> Result<Endpoint> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding an endpoint")?;
        let port = listener.local_addr()?.port();
        let up = Arc::new(AtomicBool::new(true));
        let flag = up.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut buf = [0u8; 1024];
                let _read = stream.read(&mut buf);
                let status = if flag.load(Ordering::SeqCst) {
                    "200 OK"
                } else {
                    "503 Service Unavailable"
                };
                let _written = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        Ok(Endpoint { port, up })
    }
}

/// `scripts/moto.sh`: from the working directory or an ancestor of the scenario file.
fn moto_script(scenario: &Path) -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok();
    let abs = scenario.canonicalize().ok();
    cwd.iter()
        .chain(abs.iter())
        .flat_map(|p| p.ancestors().map(Path::to_path_buf).collect::<Vec<_>>())
        .map(|d| d.join("scripts/moto.sh"))
        .find(|p| p.exists())
}

fn start_moto(scenario: &Path) -> Result<(String, MotoServer)> {
    let Some(script) = moto_script(scenario) else {
        bail!(
            "scripts/moto.sh not found (run from the repository, or pass --endpoint-url of a running moto)"
        );
    };
    let out = Command::new("bash")
        .arg(&script)
        .arg("start")
        .output()
        .context("running scripts/moto.sh start")?;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        bail!(
            "scripts/moto.sh start failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let field = |k: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .map(str::to_string)
    };
    let (Some(url), Some(pid)) = (field("MOTO_ENDPOINT="), field("MOTO_PID=")) else {
        bail!("scripts/moto.sh start printed no MOTO_ENDPOINT/MOTO_PID: {stdout}");
    };
    // Watchdog: moto runs detached (setsid), so stop it when this process is gone, however
    // it ends (Ctrl-C, kill); a normal end stops it earlier through `MotoServer`'s drop.
    let watchdog = "setsid bash -c 'while kill -0 \"$1\" 2>/dev/null; do sleep 0.5; done; kill \"$2\" 2>/dev/null' \
                    watchdog \"$0\" \"$1\" </dev/null >/dev/null 2>&1 &";
    let _watchdog = Command::new("bash")
        .args(["-c", watchdog, &std::process::id().to_string(), &pid])
        .status();
    Ok((url, MotoServer { script, pid }))
}

fn regionctl_command(endpoint: &str) -> Result<Command> {
    let exe = std::env::current_exe().context("locating the regionctl binary")?;
    let mut cmd = Command::new(exe);
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("REGIONCTL_ENDPOINT_URL", endpoint);
    Ok(cmd)
}

/// Refuses what this target cannot play or check, before anything starts.
fn supported(loaded: &scenario::Loaded) -> Result<()> {
    let s = &loaded.scenario;
    let mut problems = Vec::new();
    for (i, e) in s.timeline.iter().enumerate() {
        match e.what {
            What::EndpointsFail | What::Recover => {}
            What::Alarm if !e.place.services.is_empty() || !e.place.cells.is_empty() => problems
                .push(format!(
                    "timeline[{i}]: `alarm` limited to services or cells is not supported on moto"
                )),
            What::Alarm => {}
            other => problems.push(format!(
                "timeline[{i}]: `{}` is not supported on moto (endpoints-fail, alarm, recover are)",
                other.as_str()
            )),
        }
        if e.what == What::EndpointsFail && !e.place.services.is_empty() {
            problems.push(format!(
                "timeline[{i}]: `endpoints-fail` limited to services is not supported on moto"
            ));
        }
    }
    for (i, x) in s.expect.iter().enumerate() {
        if x.kind == ExpectKind::TrafficSteady {
            problems.push(format!(
                "expect[{i}]: `traffic-steady` is not supported on moto"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        bail!(
            "{}: not playable on moto:\n  {}",
            loaded.path.display(),
            problems.join("\n  ")
        )
    }
}

/// Copies the policies with this run's names, zones, probes, journal region and network.
#[allow(clippy::too_many_arguments)]
fn rewrite_policies(
    src: &Path,
    dst: &Path,
    run_id: &str,
    zones: &BTreeMap<String, String>,
    per_region: &str,
    journal_region: &str,
    tick_secs: Option<u64>,
    network: &str,
) -> Result<()> {
    std::fs::create_dir_all(dst)?;
    for entry in std::fs::read_dir(src).with_context(|| format!("reading {}", src.display()))? {
        let path = entry?.path();
        if !path.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            continue;
        }
        let mut text = std::fs::read_to_string(&path)?.replace("gameday-", &format!("{run_id}-"));
        for (old, new) in zones {
            text = text.replace(old.as_str(), new);
        }
        let mut out = Vec::new();
        let mut is_controller = false;
        for line in text.lines() {
            let trimmed = line.trim_start();
            let indent = &line[..line.len() - trimmed.len()];
            if trimmed.starts_with("kind: ControllerConfig") {
                is_controller = true;
            }
            if trimmed.starts_with("target:") {
                out.push(line.to_string());
                out.push(format!("{indent}per_region: {per_region}"));
            } else if let Some(i) = line.find("target: \"")
                && let Some(j) = line[i + 9..].find('"')
            {
                let end = i + 9 + j + 1;
                out.push(format!(
                    "{}, per_region: {per_region}{}",
                    &line[..end],
                    &line[end..]
                ));
            } else if trimmed.starts_with("journal_region:") {
                out.push(format!("{indent}journal_region: {journal_region}"));
            } else if let (Some(t), true) = (tick_secs, trimmed.starts_with("tick_secs:")) {
                out.push(format!("{indent}tick_secs: {t}"));
            } else {
                out.push(line.to_string());
            }
        }
        let mut text = out.join("\n") + "\n";
        if is_controller {
            if !text.contains("journal_region:") {
                text.push_str(&format!("  journal_region: {journal_region}\n"));
            }
            if text.contains("provision:") {
                bail!(
                    "{}: already has `provision:`; the moto target fills it",
                    path.display()
                );
            }
            text.push_str(&format!("  provision:\n    network:\n{network}\n"));
        }
        let name = path.file_name().context("file name")?;
        std::fs::write(dst.join(name), text)?;
    }
    Ok(())
}

fn zone_name(record_name: &str) -> String {
    let labels: Vec<&str> = record_name.trim_end_matches('.').split('.').collect();
    if labels.len() > 2 {
        labels[1..].join(".")
    } else {
        labels.join(".")
    }
}

/// Every alarm name the bundle binds in `region`.
fn alarms_in(bundle: &Bundle, region: &str) -> Vec<String> {
    let mut names = BTreeSet::new();
    for s in &bundle.services {
        for a in &s.health.alarms {
            if s.regions.get(a.r).is_some_and(|r| r.name == region) {
                names.insert(a.name.clone());
            }
        }
    }
    names.into_iter().collect()
}

async fn set_alarms(
    cw: &BTreeMap<String, CloudWatchClient>,
    bundle: &Bundle,
    region: &str,
    state: AlarmState,
    reason: &str,
) -> Result<usize> {
    let Some(client) = cw.get(region) else {
        return Ok(0);
    };
    let names = alarms_in(bundle, region);
    for n in &names {
        client
            .set_alarm_state(n, state, reason)
            .await
            .with_context(|| format!("SetAlarmState {n}"))?;
    }
    Ok(names.len())
}

/// Runs a game-day on moto.
pub fn run(opts: MotoOptions) -> Result<ExitCode> {
    let (loaded, bundle, controllers) = match engine::prepare(&opts.scenario) {
        Ok(x) => x,
        Err(errors) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            bail!(
                "{}: {} error(s); scenario rejected",
                opts.scenario.display(),
                errors.len()
            );
        }
    };
    supported(&loaded)?;
    let started = Instant::now();
    let (endpoint, moto) = match &opts.endpoint_url {
        Some(url) => (url.clone(), None),
        None => {
            let (url, server) = start_moto(&opts.scenario)?;
            (url, Some(server))
        }
    };
    if !(endpoint.starts_with("http://127.0.0.1") || endpoint.starts_with("http://localhost")) {
        bail!("--target moto talks to a local moto only (http://127.0.0.1:PORT), not {endpoint}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = runtime.block_on(play(&opts, &loaded, &bundle, &controllers, &endpoint));
    drop(moto);
    let rep = result?;
    println!("wall time {:.0?}", started.elapsed());
    Ok(if rep {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn play(
    opts: &MotoOptions,
    loaded: &scenario::Loaded,
    bundle: &Bundle,
    controllers: &[String],
    endpoint: &str,
) -> Result<bool> {
    let s = &loaded.scenario;
    let run_id = common::run_id();
    let dir = std::env::temp_dir().join(format!("regionctl-gameday-{run_id}"));
    let _cleanup = TempDir(dir.clone());
    let report_dir = common::report_dir(opts.report.as_ref(), s)?;
    let say = |line: String| {
        if !opts.quiet {
            println!("{line}");
        }
    };
    let Some(controller) = bundle.controller.clone() else {
        bail!("the scenario's policies have no ControllerConfig");
    };
    let regions = controller.regions.clone();
    let journal_region = controller
        .journal_region
        .clone()
        .or_else(|| regions.first().cloned())
        .unwrap_or_else(|| "us-east-1".into());

    // Zones, endpoints, policies.
    let global = regionctl_aws::config::load_for_tests("us-east-1", endpoint).await;
    let route53 = Route53Client::new(&global, Arc::new(SharedBucket::new(Default::default())));
    let mut zones: BTreeMap<String, String> = BTreeMap::new();
    for svc in &bundle.services {
        let old = &svc.routing.hosted_zone_id;
        if zones.contains_key(old) {
            continue;
        }
        let name = svc
            .cells
            .first()
            .map(|c| zone_name(&c.record_name))
            .unwrap_or_else(|| "example.com".into());
        let id = route53
            .create_hosted_zone(&name, &format!("{run_id}-{old}"))
            .await
            .with_context(|| format!("creating hosted zone {name} on moto"))?;
        zones.insert(
            old.clone(),
            id.trim_start_matches("/hostedzone/").to_string(),
        );
    }
    let mut endpoints: BTreeMap<String, Endpoint> = BTreeMap::new();
    for r in &regions {
        endpoints.insert(r.clone(), Endpoint::start()?);
    }
    let per_region = format!(
        "{{{}}}",
        endpoints
            .iter()
            .map(|(r, e)| format!("{r}: \"http://127.0.0.1:{}/healthz\"", e.port))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let network = regionctl::moto_network::provision_network_yaml(endpoint, &regions)?;
    rewrite_policies(
        &loaded.policies,
        &dir,
        &run_id,
        &zones,
        &per_region,
        &journal_region,
        s.world.tick.map(|t| t.secs().max(1)),
        &network,
    )?;
    let d = dir.to_string_lossy().to_string();
    let table = controller
        .journal_table
        .replace("gameday-", &format!("{run_id}-"));
    let mut cw: BTreeMap<String, CloudWatchClient> = BTreeMap::new();
    for r in &regions {
        cw.insert(
            r.clone(),
            CloudWatchClient::new(&regionctl_aws::config::load_for_tests(r, endpoint).await),
        );
    }
    // The bundle as rewritten (alarm names with the run id).
    let files = regionctl::files::read_bundle(std::slice::from_ref(&dir))?;
    let live_bundle = regionctl_core::policy::load(&files)
        .map_err(|d| anyhow::anyhow!("rewritten policies rejected: {d:?}"))?;

    println!(
        "game-day {} on moto ({endpoint}): {} controllers ({}), {} of real time, run {run_id}",
        s.name,
        controllers.len(),
        controllers.join(", "),
        s.world.duration
    );
    let out = regionctl_command(endpoint)?
        .args(["provision", "--policies", &d, "--endpoint-url", endpoint])
        .output()?;
    if !out.status.success() {
        bail!(
            "regionctl provision failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    say(format!("provisioned {} on moto", dir.display()));
    for r in &regions {
        set_alarms(
            &cw,
            &live_bundle,
            r,
            AlarmState::Ok,
            "game-day: steady state",
        )
        .await?;
    }

    let fleet = common::start_fleet(
        &|| regionctl_command(endpoint),
        controllers,
        &d,
        Some(endpoint),
        &report_dir,
    )?;
    let result = timeline(
        s,
        &live_bundle,
        &fleet,
        &endpoints,
        &cw,
        &route53,
        &zones,
        &say,
    )
    .await;

    // Rollback: always.
    for e in endpoints.values() {
        e.up.store(true, Ordering::SeqCst);
    }
    for r in &regions {
        if let Err(e) = set_alarms(&cw, &live_bundle, r, AlarmState::Ok, "game-day: rollback").await
        {
            eprintln!("rollback: alarms in {r}: {e:#}");
        }
    }
    drop(fleet);
    say("rollback: alarms OK, endpoints up, controllers stopped".into());
    let (samples, stand_downs, t0_ms) = result?;

    let journal = Journal::new(
        &regionctl_aws::config::load_for_tests(&journal_region, endpoint).await,
        table,
    );
    let decisions = read_decisions(&journal, &live_bundle).await?;
    let observed = Observed {
        target: "moto",
        place: format!("moto at {endpoint}"),
        run_id: &run_id,
        samples,
        stand_downs,
        decisions,
        t0_ms,
        aborted: None,
        caveats: format!(
            "Controllers ran as real `regionctl run` processes; Route 53 was sampled every {} \
             ms; stand-downs come from each controller's `/status`; steady-state checks are \
             not evaluated on moto.",
            SAMPLE_EVERY.as_millis()
        ),
        extra: serde_json::json!({ "endpoint": endpoint }),
    };
    let passed = common::finish(loaded, &live_bundle, controllers, &observed, &report_dir)?;
    println!(
        "report: {}/report.md, report.json, controller-*.log",
        report_dir.display()
    );
    Ok(passed)
}

#[allow(clippy::too_many_arguments)]
async fn timeline(
    s: &scenario::Scenario,
    bundle: &Bundle,
    fleet: &Fleet,
    endpoints: &BTreeMap<String, Endpoint>,
    cw: &BTreeMap<String, CloudWatchClient>,
    route53: &Route53Client,
    zones: &BTreeMap<String, String>,
    say: &dyn Fn(String),
) -> Result<Played> {
    common::wait_ready(fleet, say).await?;
    let t0 = Instant::now();
    let t0_ms = common::now_ms();
    let mut pending: Vec<&scenario::TimelineEntry> = s.timeline.iter().collect();
    pending.sort_by_key(|e| e.at.secs());
    let mut active: BTreeMap<String, &scenario::TimelineEntry> = BTreeMap::new();
    let mut samples = Vec::new();
    let mut stand_downs = StandDowns::new();
    let mut last_weights: BTreeMap<String, BTreeMap<String, u8>> = BTreeMap::new();
    let duration = Duration::from_secs(s.world.duration.secs());
    let mut n = 0usize;
    while t0.elapsed() < duration {
        let t = t0.elapsed().as_secs_f64();
        while let Some(e) = pending.first().copied()
            && e.at.secs() as f64 <= t
        {
            pending.remove(0);
            let label = e.id.clone().unwrap_or_else(|| format!("#{n}"));
            n += 1;
            match e.what {
                What::EndpointsFail => {
                    let r = e.place.region.clone().unwrap_or_default();
                    if let Some(ep) = endpoints.get(&r) {
                        ep.up.store(false, Ordering::SeqCst);
                    }
                    say(format!(
                        "[{t:6.1}s] fault {label}: endpoints in {r} answer 503"
                    ));
                    active.insert(label, e);
                }
                What::Alarm => {
                    let r = e.place.region.clone().unwrap_or_default();
                    let state = match e.state {
                        Some(ScenarioAlarmState::Ok) => AlarmState::Ok,
                        Some(ScenarioAlarmState::InsufficientData) => AlarmState::InsufficientData,
                        _ => AlarmState::Alarm,
                    };
                    let count = set_alarms(cw, bundle, &r, state, "game-day fault").await?;
                    say(format!(
                        "[{t:6.1}s] fault {label}: {count} alarm(s) in {r} set to {state:?}"
                    ));
                    active.insert(label, e);
                }
                What::Recover => {
                    let all = e.faults.iter().any(|f| f == "all");
                    let names: Vec<String> = active
                        .keys()
                        .filter(|k| all || e.faults.contains(k))
                        .cloned()
                        .collect();
                    for k in names {
                        let Some(f) = active.remove(&k) else { continue };
                        let r = f.place.region.clone().unwrap_or_default();
                        if f.what == What::EndpointsFail {
                            if let Some(ep) = endpoints.get(&r) {
                                ep.up.store(true, Ordering::SeqCst);
                            }
                        } else {
                            set_alarms(cw, bundle, &r, AlarmState::Ok, "game-day recover").await?;
                        }
                        say(format!("[{t:6.1}s] recover {k}"));
                    }
                }
                _ => {}
            }
        }
        samples.push(sample_weights(route53, bundle, zones, &mut last_weights, t, say).await);
        common::poll_stand_downs(fleet, t, &mut stand_downs, say);
        tokio::time::sleep(SAMPLE_EVERY).await;
    }
    Ok((samples, stand_downs, t0_ms))
}
