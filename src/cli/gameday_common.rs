//! What the real-time game-day targets (`moto`, `aws`) share: the controller fleet, sampling
//! Route 53 weights and controllers' stand-downs, reading decisions from the journal, judging
//! expectations, and the verdict and report.
//!
//! Both targets judge the same evidence the same way: traffic from the weights *written* to
//! Route 53 (no DNS answers are observed), decisions from the journal, stand-downs from each
//! local controller's `/status`.

use anyhow::{Context, Result, bail};
use regionctl_aws::dynamodb::Journal;
use regionctl_aws::route53::Route53Client;
use regionctl_aws::types::Routing;
use regionctl_core::policy::Bundle;
use regionctl_sim::scenario::{self, ExpectKind, Expectation, What};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Longest wait for every controller's `/readyz`.
const READY_WITHIN: Duration = Duration::from_secs(120);

/// Decisions per service: (intent body, statuses its outcomes reached), oldest first.
pub(super) type Decisions = BTreeMap<String, Vec<(serde_json::Value, Vec<String>)>>;
/// Stand-downs per controller region: (seconds into the game-day, reason), each time the
/// reason changed.
pub(super) type StandDowns = BTreeMap<String, Vec<(f64, String)>>;
/// What playing a timeline observed: Route 53 samples, stand-downs, and the wall clock at
/// its start (epoch ms).
pub(super) type Played = (Vec<Sample>, StandDowns, i64);

/// The controller processes (killed on drop, whatever happens).
pub(super) struct Fleet(pub(super) Vec<(String, Child, u16)>);

impl Drop for Fleet {
    fn drop(&mut self) {
        for (_, child, _) in &mut self.0 {
            let _killed = child.kill();
            let _waited = child.wait();
        }
    }
}

/// One expectation's result.
#[derive(Debug, serde::Serialize)]
pub(super) struct Outcome {
    pub(super) id: String,
    pub(super) kind: String,
    pub(super) met: bool,
    pub(super) observed: String,
}

/// One sample of written Route 53 weights: service → set identifier → weight.
pub(super) struct Sample {
    pub(super) t: f64,
    pub(super) weights: BTreeMap<String, BTreeMap<String, u8>>,
}

pub(super) fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub(super) fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
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

/// Wall-clock milliseconds since the epoch (journal decisions carry these).
pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// A run id short enough for resource names: process id and clock nanoseconds.
pub(super) fn run_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("gd{}x{}", std::process::id() % 100_000, nanos % 100_000)
}

/// Starts one `regionctl run --region R --policies DIR` per controller region, each with an
/// admin port on 127.0.0.1 and its log in `report_dir/controller-R.log`. `base` is the
/// command to start from (credentials and endpoint already set by the target).
pub(super) fn start_fleet(
    base: &dyn Fn() -> Result<Command>,
    controllers: &[String],
    policies: &str,
    endpoint_url: Option<&str>,
    report_dir: &Path,
) -> Result<Fleet> {
    let mut fleet = Fleet(Vec::new());
    for region in controllers {
        let port = free_port()?;
        let log = std::fs::File::create(report_dir.join(format!("controller-{region}.log")))?;
        let mut cmd = base()?;
        cmd.args(["run", "--region", region, "--policies", policies]);
        if let Some(url) = endpoint_url {
            cmd.args(["--endpoint-url", url]);
        }
        let child = cmd
            .args(["--admin-addr", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .context("starting a controller")?;
        fleet.0.push((region.clone(), child, port));
    }
    Ok(fleet)
}

/// Waits until every controller answers `/readyz` with 200.
pub(super) async fn wait_ready(fleet: &Fleet, say: &dyn Fn(String)) -> Result<()> {
    let waiting = Instant::now();
    for (region, _, port) in &fleet.0 {
        while http_get(*port, "/readyz").map(|(c, _)| c) != Some(200) {
            if waiting.elapsed() > READY_WITHIN {
                bail!("controller {region} not ready within {READY_WITHIN:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    if !fleet.0.is_empty() {
        say(format!("controllers ready after {:.1?}", waiting.elapsed()));
    }
    Ok(())
}

/// Reads every service's weighted records (only the set identifiers its cells name) and
/// prints a line for each service whose weights changed since `last`.
pub(super) async fn sample_weights(
    route53: &Route53Client,
    bundle: &Bundle,
    zones: &BTreeMap<String, String>,
    last: &mut BTreeMap<String, BTreeMap<String, u8>>,
    t: f64,
    say: &dyn Fn(String),
) -> Sample {
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
        if last.get(&svc.name) != Some(&w) {
            say(format!(
                "[{t:6.1}s] route53 {}: {}",
                svc.name,
                summary(svc, &w)
            ));
            last.insert(svc.name.clone(), w.clone());
        }
        weights.insert(svc.name.clone(), w);
    }
    Sample { t, weights }
}

/// Records each controller's stand-downs from its `/status`, whenever the reason changes
/// (a controller may stand down for want of quorum while the fleet starts, and later because
/// its own region is down: expectations pick by reason and time).
pub(super) fn poll_stand_downs(
    fleet: &Fleet,
    t: f64,
    stand_downs: &mut StandDowns,
    say: &dyn Fn(String),
) {
    for (region, _, port) in &fleet.0 {
        if let Some((200, body)) = http_get(*port, "/status")
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(&body)
            && let Some(reason) = v["stand_down"].as_str()
        {
            let seen = stand_downs.entry(region.clone()).or_default();
            if seen.last().is_none_or(|(_, r)| r != reason) {
                say(format!("[{t:6.1}s] {region} stands down: {reason}"));
                seen.push((t, reason.to_string()));
            }
        }
    }
}

/// Every decision recorded for the bundle's services, with the statuses its outcomes reached.
pub(super) async fn read_decisions(journal: &Journal, bundle: &Bundle) -> Result<Decisions> {
    let mut decisions = Decisions::new();
    for svc in &bundle.services {
        let (items, _) = journal
            .query_prefix(&format!("DECISION#{}", svc.name), "")
            .await
            .context("reading the journal")?;
        let mut list = Vec::new();
        for i in items.iter().filter(|i| i.sk.ends_with("#INTENT")) {
            let body = i.body.clone();
            let id = body["id"].as_str().unwrap_or_default().to_string();
            let statuses = items
                .iter()
                .filter(|o| o.sk.starts_with(&format!("{id}#OUTCOME#")))
                .filter_map(|o| o.body["status"].as_str().map(str::to_string))
                .collect();
            list.push((body, statuses));
        }
        list.sort_by_key(|(b, _)| b["at"].as_i64().unwrap_or_default());
        decisions.insert(svc.name.clone(), list);
    }
    Ok(decisions)
}

/// Everything a real-time run observed, and how to describe it in the report.
pub(super) struct Observed<'a> {
    /// `moto` or `aws`.
    pub(super) target: &'a str,
    /// Where it ran, for people (`moto at http://…`, `account 1234…`).
    pub(super) place: String,
    /// The run id.
    pub(super) run_id: &'a str,
    /// Route 53 samples.
    pub(super) samples: Vec<Sample>,
    /// Stand-downs seen.
    pub(super) stand_downs: StandDowns,
    /// Decisions from the journal.
    pub(super) decisions: Decisions,
    /// Wall clock at the start of the timeline, epoch ms.
    pub(super) t0_ms: i64,
    /// The run was aborted (Ctrl-C, an error): the verdict is FAIL whatever was met.
    pub(super) aborted: Option<String>,
    /// Report paragraph on what this target can and cannot observe.
    pub(super) caveats: String,
    /// Extra report.json fields.
    pub(super) extra: serde_json::Value,
}

/// Judges every expectation, prints the verdict, writes `report.md` and `report.json`.
/// Returns whether the game-day passed (the verdict is the scenario's expected one).
pub(super) fn finish(
    loaded: &scenario::Loaded,
    bundle: &Bundle,
    controllers: &[String],
    o: &Observed<'_>,
    report_dir: &Path,
) -> Result<bool> {
    let s = &loaded.scenario;
    let outcomes: Vec<Outcome> = s
        .expect
        .iter()
        .enumerate()
        .map(|(i, x)| {
            evaluate(
                s,
                bundle,
                x,
                i,
                &o.samples,
                &o.stand_downs,
                &o.decisions,
                o.t0_ms,
            )
        })
        .collect();
    let all_met = outcomes.iter().all(|o| o.met) && o.aborted.is_none();
    let verdict = if all_met {
        scenario::Verdict::Pass
    } else {
        scenario::Verdict::Fail
    };
    let passed = verdict == s.expected_verdict && o.aborted.is_none();
    let mut text = String::new();
    if let Some(why) = &o.aborted {
        text.push_str(&format!("ABORTED: {why}\n\n"));
    }
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
    let decision_count: usize = o.decisions.values().map(Vec::len).sum();
    let md = format!(
        "# Game-day {} on {}\n\n**{}** — observed {}, expected {}.\n\n{}\n\n\
         Target: {}, run id `{}`, controllers {}, {} of real time.\n\n\
         Evidence: traffic is the weights *written* to Route 53 (no DNS answers are \
         observed: no health-check answering rules, no TTL lag); decisions come from the \
         journal ({decision_count} recorded). {}\n\n```\n{text}```\n",
        s.name,
        o.target,
        if passed { "PASSED" } else { "FAILED" },
        verdict.upper(),
        s.expected_verdict.upper(),
        s.description.trim(),
        o.place,
        o.run_id,
        controllers.join(", "),
        s.world.duration,
        o.caveats,
    );
    std::fs::write(report_dir.join("report.md"), md)?;
    let t0_ms = o.t0_ms;
    let mut json = serde_json::json!({
        "scenario": s.name,
        "file": loaded.path.display().to_string(),
        "target": o.target,
        "place": o.place,
        "run_id": o.run_id,
        "duration_secs": s.world.duration.secs(),
        "controllers": controllers,
        "verdict": verdict,
        "expected_verdict": s.expected_verdict,
        "passed": passed,
        "aborted": o.aborted,
        "expectations": outcomes,
        "decisions": o.decisions.iter().map(|(svc, l)| (svc.clone(), l.iter().map(|(b, st)| serde_json::json!({
            "id": b["id"], "at_secs": (b["at"].as_i64().unwrap_or_default() - t0_ms) as f64 / 1000.0,
            "recorded_by": b["recorded_by"], "statuses": st,
            "steps": b["steps"].as_array().map(|v| v.iter().map(|x| x["description"].clone()).collect::<Vec<_>>()),
        })).collect::<Vec<_>>())).collect::<BTreeMap<_, _>>(),
        "traffic_source": "route53 written weights",
    });
    if let (Some(map), Some(extra)) = (json.as_object_mut(), o.extra.as_object()) {
        for (k, v) in extra {
            map.insert(k.clone(), v.clone());
        }
    }
    std::fs::write(
        report_dir.join("report.json"),
        serde_json::to_string_pretty(&json)?,
    )?;
    Ok(passed)
}

/// The report directory: `--report`, or `reports/<scenario name>/`; created.
pub(super) fn report_dir(report: Option<&PathBuf>, s: &scenario::Scenario) -> Result<PathBuf> {
    let dir = report
        .cloned()
        .unwrap_or_else(|| PathBuf::from("reports").join(&s.name));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn first_fault(s: &scenario::Scenario) -> f64 {
    s.timeline
        .iter()
        .filter(|e| e.what != What::Recover)
        .map(|e| e.at.secs() as f64)
        .fold(f64::INFINITY, f64::min)
}

/// Per region: the sum of its weights over every cell.
pub(super) fn summary(svc: &regionctl_core::policy::Service, w: &BTreeMap<String, u8>) -> String {
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
    stand_downs: &StandDowns,
    decisions: &Decisions,
    t0_ms: i64,
) -> Outcome {
    let id = x.id.clone().unwrap_or_else(|| format!("expect[{i}]"));
    let kind = x.kind.as_str().to_string();
    // Default `after`: the first fault, as the scenario format documents (0 without one).
    let first = first_fault(s);
    let after = x
        .after
        .as_deref()
        .and_then(|a| scenario::resolve_ref(s, a))
        .map_or(if first.is_finite() { first } else { 0.0 }, |a| a as f64);
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
            // As on sim: the stand-downs between `after` and the deadline (or `until`) whose
            // reason contains `reason_contains`; `stood_down: false` asks for none.
            let region = x.region.clone().unwrap_or_default();
            let wanted = x.stood_down.unwrap_or(true);
            let to = deadline.unwrap_or(until);
            let hits: Vec<&(f64, String)> = stand_downs
                .get(&region)
                .map(|v| {
                    v.iter()
                        .filter(|(t, why)| {
                            *t >= after - 1.0
                                && *t <= to
                                && x.reason_contains.as_deref().is_none_or(|r| why.contains(r))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let observed = match hits.first() {
                Some((t, why)) => format!("stood down at {t:.1}s: {why}"),
                None => format!(
                    "{region} did not stand down between {after:.0}s and {to:.0}s{}",
                    x.reason_contains
                        .as_deref()
                        .map_or(String::new(), |r| format!(
                            " for a reason containing \"{r}\""
                        ))
                ),
            };
            (hits.is_empty() != wanted, observed)
        }
        ExpectKind::TrafficSteady => (false, "not supported in real time".into()),
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
