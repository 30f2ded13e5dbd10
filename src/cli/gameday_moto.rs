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

use anyhow::{Context, Result, bail};
use regionctl_aws::cloudwatch::CloudWatchClient;
use regionctl_aws::dynamodb::Journal;
use regionctl_aws::route53::{Route53Client, SharedBucket};
use regionctl_aws::types::{AlarmState, Routing};
use regionctl_core::policy::Bundle;
use regionctl_sim::engine;
use regionctl_sim::scenario::{self, ExpectKind, Expectation, ScenarioAlarmState, What};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How often Route 53 weights and controller status are sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(500);
/// Longest wait for every controller's `/readyz`.
const READY_WITHIN: Duration = Duration::from_secs(120);

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

/// The controller processes (killed on drop, whatever happens).
struct Fleet(Vec<(String, Child, u16)>);

impl Drop for Fleet {
    fn drop(&mut self) {
        for (_, child, _) in &mut self.0 {
            let _killed = child.kill();
            let _waited = child.wait();
        }
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

/// One expectation's result.
#[derive(Debug, serde::Serialize)]
struct Outcome {
    id: String,
    kind: String,
    met: bool,
    observed: String,
}

/// One sample of written Route 53 weights: service → set identifier → weight.
struct Sample {
    t: f64,
    weights: BTreeMap<String, BTreeMap<String, u8>>,
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let code = out.split_whitespace().nth(1)?.parse().ok()?;
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((code, body))
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

#[allow(clippy::too_many_lines)]
async fn play(
    opts: &MotoOptions,
    loaded: &scenario::Loaded,
    bundle: &Bundle,
    controllers: &[String],
    endpoint: &str,
) -> Result<bool> {
    let s = &loaded.scenario;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let run_id = format!("gd{}x{}", std::process::id() % 100_000, nanos % 100_000);
    let dir = std::env::temp_dir().join(format!("regionctl-gameday-{run_id}"));
    let _cleanup = TempDir(dir.clone());
    let report_dir = opts
        .report
        .clone()
        .unwrap_or_else(|| PathBuf::from("reports").join(&s.name));
    std::fs::create_dir_all(&report_dir)?;
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

    // Controllers.
    let mut fleet = Fleet(Vec::new());
    for region in controllers {
        let port = free_port()?;
        let log = std::fs::File::create(report_dir.join(format!("controller-{region}.log")))?;
        let child = regionctl_command(endpoint)?
            .args([
                "run",
                "--region",
                region,
                "--policies",
                &d,
                "--endpoint-url",
                endpoint,
                "--admin-addr",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .context("starting a controller")?;
        fleet.0.push((region.clone(), child, port));
    }
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

    // Journal.
    let journal = Journal::new(
        &regionctl_aws::config::load_for_tests(&journal_region, endpoint).await,
        table,
    );
    let mut decisions: BTreeMap<String, Vec<(serde_json::Value, Vec<String>)>> = BTreeMap::new();
    for svc in &live_bundle.services {
        let (items, _) = journal
            .query_prefix(&format!("DECISION#{}", svc.name), "")
            .await
            .context("reading the journal")?;
        let mut list = Vec::new();
        for i in items.iter().filter(|i| i.sk.ends_with("#INTENT")) {
            let body: serde_json::Value = serde_json::from_str(&i.body).unwrap_or_default();
            let id = body["id"].as_str().unwrap_or_default().to_string();
            let statuses = items
                .iter()
                .filter(|o| o.sk.starts_with(&format!("{id}#OUTCOME#")))
                .filter_map(|o| serde_json::from_str::<serde_json::Value>(&o.body).ok())
                .filter_map(|o| o["status"].as_str().map(str::to_string))
                .collect();
            list.push((body, statuses));
        }
        list.sort_by_key(|(b, _)| b["at"].as_i64().unwrap_or_default());
        decisions.insert(svc.name.clone(), list);
    }
    let outcomes: Vec<Outcome> = s
        .expect
        .iter()
        .enumerate()
        .map(|(i, x)| {
            evaluate(
                s,
                &live_bundle,
                x,
                i,
                &samples,
                &stand_downs,
                &decisions,
                t0_ms,
            )
        })
        .collect();
    let all_met = outcomes.iter().all(|o| o.met);
    let verdict = if all_met {
        scenario::Verdict::Pass
    } else {
        scenario::Verdict::Fail
    };
    let passed = verdict == s.expected_verdict;
    let mut text = String::new();
    text.push_str("Expectations:\n");
    for o in &outcomes {
        text.push_str(&format!(
            "  [{}] {} ({})\n        observed: {}\n",
            if o.met { "met" } else { "NOT MET" },
            o.id,
            o.kind,
            o.observed
        ));
    }
    text.push_str(&format!(
        "\nVerdict: {} ({}/{} expectations met); expected {} → game-day {}\n",
        verdict.upper(),
        outcomes.iter().filter(|o| o.met).count(),
        outcomes.len(),
        s.expected_verdict.upper(),
        if passed { "PASSED" } else { "FAILED" }
    ));
    print!("{text}");
    let decision_count: usize = decisions.values().map(Vec::len).sum();
    let md = format!(
        "# Game-day {} on moto\n\n**{}** — observed {}, expected {}.\n\n{}\n\n\
         Target: moto at {endpoint}, run id `{run_id}`, controllers {} as real `regionctl run` \
         processes, {} of real time.\n\n\
         Caveats: traffic is the weights *written* to Route 53 (moto answers no DNS, so no \
         health-check answering rules and no TTL lag), sampled every {} ms; decisions come from \
         the journal ({decision_count} recorded); stand-downs from each controller's `/status`; \
         steady-state checks are not evaluated on moto.\n\n```\n{text}```\n",
        s.name,
        if passed { "PASSED" } else { "FAILED" },
        verdict.upper(),
        s.expected_verdict.upper(),
        s.description.trim(),
        controllers.join(", "),
        s.world.duration,
        SAMPLE_EVERY.as_millis(),
    );
    std::fs::write(report_dir.join("report.md"), md)?;
    let json = serde_json::json!({
        "scenario": s.name,
        "file": loaded.path.display().to_string(),
        "target": "moto",
        "endpoint": endpoint,
        "run_id": run_id,
        "duration_secs": s.world.duration.secs(),
        "controllers": controllers,
        "verdict": verdict,
        "expected_verdict": s.expected_verdict,
        "passed": passed,
        "expectations": outcomes,
        "decisions": decisions.iter().map(|(svc, l)| (svc.clone(), l.iter().map(|(b, st)| serde_json::json!({
            "id": b["id"], "at_secs": (b["at"].as_i64().unwrap_or_default() - t0_ms) as f64 / 1000.0,
            "recorded_by": b["recorded_by"], "statuses": st,
            "steps": b["steps"].as_array().map(|v| v.iter().map(|x| x["description"].clone()).collect::<Vec<_>>()),
        })).collect::<Vec<_>>())).collect::<BTreeMap<_, _>>(),
        "traffic_source": "route53 written weights",
    });
    std::fs::write(
        report_dir.join("report.json"),
        serde_json::to_string_pretty(&json)?,
    )?;
    println!(
        "report: {}/report.md, report.json, controller-*.log",
        report_dir.display()
    );
    Ok(passed)
}

type Played = (Vec<Sample>, BTreeMap<String, (f64, String)>, i64);

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
    let waiting = Instant::now();
    for (region, _, port) in &fleet.0 {
        while http_get(*port, "/readyz").map(|(c, _)| c) != Some(200) {
            if waiting.elapsed() > READY_WITHIN {
                bail!("controller {region} not ready within {READY_WITHIN:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    say(format!("controllers ready after {:.1?}", waiting.elapsed()));
    let t0 = Instant::now();
    let t0_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default();
    let mut pending: Vec<&scenario::TimelineEntry> = s.timeline.iter().collect();
    pending.sort_by_key(|e| e.at.secs());
    let mut active: BTreeMap<String, &scenario::TimelineEntry> = BTreeMap::new();
    let mut samples = Vec::new();
    let mut stand_downs: BTreeMap<String, (f64, String)> = BTreeMap::new();
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
        // Sample written weights.
        let mut weights = BTreeMap::new();
        for svc in &bundle.services {
            let zone = zones
                .get(&svc.routing.hosted_zone_id)
                .cloned()
                .unwrap_or_else(|| svc.routing.hosted_zone_id.clone());
            let ids: BTreeSet<&str> = svc
                .cells
                .iter()
                .flat_map(|c| c.set_identifiers.iter().map(String::as_str))
                .collect();
            let Ok((records, _)) = route53.list_record_sets(&zone).await else {
                continue;
            };
            let mut w = BTreeMap::new();
            for r in records {
                if let Routing::Weighted {
                    set_identifier,
                    weight,
                } = &r.routing
                    && ids.contains(set_identifier.as_str())
                {
                    w.insert(set_identifier.clone(), *weight);
                }
            }
            if last_weights.get(&svc.name) != Some(&w) {
                say(format!(
                    "[{t:6.1}s] route53 {}: {}",
                    svc.name,
                    summary(svc, &w)
                ));
                last_weights.insert(svc.name.clone(), w.clone());
            }
            weights.insert(svc.name.clone(), w);
        }
        samples.push(Sample { t, weights });
        for (region, _, port) in &fleet.0 {
            if let Some((200, body)) = http_get(*port, "/status")
                && let Ok(v) = serde_json::from_str::<serde_json::Value>(&body)
                && let Some(reason) = v["stand_down"].as_str()
                && !stand_downs.contains_key(region)
                && t >= first_fault(s)
            {
                say(format!("[{t:6.1}s] {region} stands down: {reason}"));
                stand_downs.insert(region.clone(), (t, reason.to_string()));
            }
        }
        tokio::time::sleep(SAMPLE_EVERY).await;
    }
    Ok((samples, stand_downs, t0_ms))
}

fn first_fault(s: &scenario::Scenario) -> f64 {
    s.timeline
        .iter()
        .filter(|e| e.what != What::Recover)
        .map(|e| e.at.secs() as f64)
        .fold(f64::INFINITY, f64::min)
}

/// Per region: the sum of its weights over every cell.
fn summary(svc: &regionctl_core::policy::Service, w: &BTreeMap<String, u8>) -> String {
    svc.regions
        .iter()
        .enumerate()
        .map(|(r, reg)| {
            let sum: u32 = svc
                .cells
                .iter()
                .filter_map(|c| w.get(&c.set_identifiers[r]))
                .map(|x| u32::from(*x))
                .sum();
            format!("{} {sum}", reg.name)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A region's share (percent) of a cell from written weights; `None` when every weight is 0.
fn share(cell: &regionctl_core::policy::Cell, r: usize, w: &BTreeMap<String, u8>) -> Option<f64> {
    let total: u32 = cell
        .set_identifiers
        .iter()
        .filter_map(|id| w.get(id))
        .map(|x| u32::from(*x))
        .sum();
    let mine = f64::from(*w.get(&cell.set_identifiers[r])?);
    (total > 0).then(|| mine * 100.0 / f64::from(total))
}

#[allow(clippy::too_many_arguments)]
fn evaluate(
    s: &scenario::Scenario,
    bundle: &Bundle,
    x: &Expectation,
    i: usize,
    samples: &[Sample],
    stand_downs: &BTreeMap<String, (f64, String)>,
    decisions: &BTreeMap<String, Vec<(serde_json::Value, Vec<String>)>>,
    t0_ms: i64,
) -> Outcome {
    let id = x.id.clone().unwrap_or_else(|| format!("expect[{i}]"));
    let kind = x.kind.as_str().to_string();
    let after = x
        .after
        .as_deref()
        .and_then(|a| scenario::resolve_ref(s, a))
        .unwrap_or(0) as f64;
    let deadline = x.within.map(|w| after + w.secs() as f64);
    let end = s.world.duration.secs() as f64;
    let until = x
        .until
        .as_deref()
        .and_then(|a| scenario::resolve_ref(s, a))
        .map_or(end, |u| u as f64);
    let svc = x
        .service
        .as_deref()
        .and_then(|n| bundle.services.iter().find(|v| v.name == n));
    let r_ix = |svc: &regionctl_core::policy::Service| {
        x.region
            .as_deref()
            .and_then(|r| svc.regions.iter().position(|v| v.name == r))
    };
    let list = x
        .service
        .as_deref()
        .and_then(|n| decisions.get(n))
        .map(Vec::as_slice)
        .unwrap_or_default();
    let at_secs =
        |b: &serde_json::Value| (b["at"].as_i64().unwrap_or_default() - t0_ms) as f64 / 1000.0;
    let (met, observed) = match x.kind {
        ExpectKind::Traffic => match svc.zip(svc.and_then(r_ix)) {
            None => (false, "unknown service or region".into()),
            Some((svc, r)) => {
                let from = deadline.unwrap_or(after);
                let mut checked = 0;
                let mut violation = None;
                for smp in samples.iter().filter(|p| p.t >= from && p.t < until) {
                    let Some(w) = smp.weights.get(&svc.name) else {
                        continue;
                    };
                    checked += 1;
                    for cell in svc.cells.iter().filter(|c| {
                        (x.cells.is_empty() || x.cells.contains(&c.id))
                            && !x.except_cells.contains(&c.id)
                    }) {
                        let Some(p) = share(cell, r, w) else { continue };
                        if x.at_most.is_some_and(|m| p > m + 1e-9)
                            || x.at_least.is_some_and(|m| p < m - 1e-9)
                        {
                            violation.get_or_insert((smp.t, cell.id.clone(), p));
                        }
                    }
                }
                match violation {
                    Some((t, cell, p)) => (
                        false,
                        format!(
                            "at {t:.1}s {} had {p:.1}% of the written weight in cell {cell}",
                            svc.regions[r].name
                        ),
                    ),
                    None if checked == 0 => (false, "no Route 53 samples in the window".into()),
                    None => (
                        true,
                        format!(
                            "held in {checked} sample(s) of written Route 53 weights between {from:.0}s and {until:.0}s"
                        ),
                    ),
                }
            }
        },
        ExpectKind::Failback => match svc.zip(svc.and_then(r_ix)) {
            None => (false, "unknown service or region".into()),
            Some((svc, r)) => {
                let Some(cell) = svc.cells.first() else {
                    return Outcome {
                        id,
                        kind,
                        met: false,
                        observed: "no cells".into(),
                    };
                };
                let base = cell.baseline_weights.get(r).copied().unwrap_or(0);
                let mut seen: Vec<u8> = Vec::new();
                let mut back_at = None;
                for smp in samples.iter().filter(|p| p.t >= after) {
                    let Some(w) = smp.weights.get(&svc.name) else {
                        continue;
                    };
                    if let Some(v) = w.get(&cell.set_identifiers[r])
                        && seen.last() != Some(v)
                    {
                        seen.push(*v);
                    }
                    let all_back = svc
                        .cells
                        .iter()
                        .all(|c| w.get(&c.set_identifiers[r]) == c.baseline_weights.get(r));
                    if all_back {
                        back_at = Some(smp.t);
                        break;
                    }
                }
                let rises = seen.windows(2).filter(|p| p[1] > p[0]).count();
                let min = x.min_stages.unwrap_or(1) as usize;
                let in_time = back_at.is_some_and(|t| deadline.is_none_or(|d| t <= d));
                (
                    in_time && rises >= min,
                    format!(
                        "{} weights of cell {} seen: {seen:?} (baseline {base}); {rises} rising stage(s); {}",
                        svc.regions[r].name,
                        cell.id,
                        back_at.map_or("never back at baseline".into(), |t| format!(
                            "back at baseline at {t:.1}s"
                        ))
                    ),
                )
            }
        },
        ExpectKind::Decisions => {
            let count = list.len();
            let ok = x.at_most.is_none_or(|m| count as f64 <= m)
                && x.at_least.is_none_or(|m| count as f64 >= m);
            (ok, format!("{count} decision(s) in the journal"))
        }
        ExpectKind::Decision => {
            let found = list.iter().find(|(b, statuses)| {
                let t = at_secs(b);
                let text = b.to_string();
                t >= after - 1.0
                    && deadline.is_none_or(|d| t <= d)
                    && x.reason_contains
                        .as_deref()
                        .is_none_or(|r| text.contains(r))
                    && x.status
                        .as_deref()
                        .is_none_or(|st| statuses.iter().any(|v| v == st))
            });
            match found {
                Some((b, st)) => (
                    true,
                    format!(
                        "decision {} at {:.1}s by {}, statuses {st:?}",
                        b["id"].as_str().unwrap_or_default(),
                        at_secs(b),
                        b["recorded_by"].as_str().unwrap_or_default()
                    ),
                ),
                None => (
                    false,
                    format!(
                        "no matching decision recorded between {after:.0}s and {}; recorded: {}",
                        deadline.map_or("the end".to_string(), |d| format!("{d:.0}s")),
                        list.iter()
                            .map(|(b, st)| format!(
                                "{} at {:.1}s {st:?}: {}",
                                b["id"].as_str().unwrap_or_default(),
                                at_secs(b),
                                reasons(b)
                            ))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                ),
            }
        }
        ExpectKind::CapacityBeforeTraffic => {
            let region = x.region.clone().unwrap_or_default();
            let evac = list.iter().find(|(b, _)| {
                at_secs(b) >= after - 1.0
                    && b["steps"]
                        .as_array()
                        .is_some_and(|v| v.iter().any(|st| st["kind"] == "shift"))
            });
            match evac {
                None => (false, "no decision that shifts traffic".into()),
                Some((b, _)) => {
                    let steps = b["steps"].as_array().cloned().unwrap_or_default();
                    let shift = steps.iter().position(|st| st["kind"] == "shift");
                    let scale = steps.iter().position(|st| {
                        st["kind"] == "scale"
                            && st["description"]
                                .as_str()
                                .is_some_and(|d| d.contains(&region))
                    });
                    let ok = matches!((scale, shift), (Some(a), Some(b)) if a < b);
                    (
                        ok,
                        format!(
                            "decision {} steps: {}",
                            b["id"].as_str().unwrap_or_default(),
                            steps
                                .iter()
                                .filter_map(|st| st["description"].as_str())
                                .collect::<Vec<_>>()
                                .join(" → ")
                        ),
                    )
                }
            }
        }
        ExpectKind::StandDown => {
            let region = x.region.clone().unwrap_or_default();
            match stand_downs.get(&region) {
                Some((t, reason)) => {
                    let ok = *t >= after - 1.0
                        && deadline.is_none_or(|d| *t <= d)
                        && x.reason_contains
                            .as_deref()
                            .is_none_or(|r| reason.contains(r));
                    (ok, format!("stood down at {t:.1}s: {reason}"))
                }
                None => (false, format!("{region} never stood down")),
            }
        }
        ExpectKind::TrafficSteady => (false, "not supported on moto".into()),
    };
    Outcome {
        id,
        kind,
        met,
        observed,
    }
}

fn reasons(b: &serde_json::Value) -> String {
    b["steps"]
        .as_array()
        .map(|v| {
            v.iter()
                .flat_map(|st| st["reasons"].as_array().cloned().unwrap_or_default())
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .unwrap_or_default()
}
