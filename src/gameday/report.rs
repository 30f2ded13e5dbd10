//! The end of a real-time game-day: the judge's verdict over what was observed, said on
//! the console, and written to `report.md` and `report.json`.

use super::Console;
use anyhow::Result;
use regionctl_core::policy::Bundle;
use regionctl_sim::gameday::judge::{self, Game};
use regionctl_sim::gameday::{Evidence, SeenDecision};
use regionctl_sim::report::text::{outcome_lines, verdict_line};
use regionctl_sim::scenario::{Loaded, Verdict};
use std::collections::BTreeMap;
use std::path::Path;

/// Everything a real-time run observed, and how to describe it in the report.
pub(super) struct Observed<'a> {
    /// `moto` or `aws`.
    pub(super) target: &'a str,
    /// Where it ran, for people (`moto at http://…`, `AWS account 1234… as …`).
    pub(super) place: String,
    /// The run id.
    pub(super) run_id: &'a str,
    /// What the judge reads.
    pub(super) evidence: Evidence,
    /// Wall clock at the start of the timeline, epoch ms.
    pub(super) t0_ms: i64,
    /// The run was aborted (Ctrl-C, an error): the verdict is FAIL whatever was met.
    pub(super) aborted: Option<String>,
    /// Report paragraph on what this target can and cannot observe.
    pub(super) caveats: String,
    /// Extra report.json fields.
    pub(super) extra: serde_json::Value,
}

/// Judges every expectation, says the verdict, writes `report.md` and `report.json`.
/// Returns whether the game-day passed: it ran to its end and the verdict is the
/// scenario's expected one.
pub(super) fn finish(
    (loaded, bundle, controllers): (&Loaded, &Bundle, &[String]),
    o: &Observed<'_>,
    report_dir: &Path,
    console: &dyn Console,
) -> Result<bool> {
    let s = &loaded.scenario;
    let outcomes = if o.aborted.is_some() {
        judge::not_evaluated(s)
    } else {
        judge::evaluate(&Game {
            scenario: s,
            bundle,
            end: s.world.duration.secs(),
            evidence: &o.evidence,
        })
    };
    let verdict = judge::verdict(o.aborted.is_some(), &outcomes, 0);
    let passed = verdict == s.expected_verdict && o.aborted.is_none();
    let mut text = String::new();
    if let Some(why) = &o.aborted {
        text.push_str(&format!("ABORTED: {why}\n\n"));
    }
    text.push_str("Expectations:\n");
    outcome_lines(&outcomes, &mut text);
    text.push('\n');
    verdict_line(&outcomes, (verdict, s.expected_verdict), passed, &mut text);
    console.say(text.trim_end_matches('\n'));
    std::fs::write(
        report_dir.join("report.md"),
        markdown(loaded, controllers, o, (verdict, passed), &text),
    )?;
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
        "decisions": decisions_json(bundle, &o.evidence.decisions, o.t0_ms),
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

/// `report.md`: the verdict, what ran where, what the evidence is, and the console text.
fn markdown(
    loaded: &Loaded,
    controllers: &[String],
    o: &Observed<'_>,
    (verdict, passed): (Verdict, bool),
    text: &str,
) -> String {
    let s = &loaded.scenario;
    format!(
        "# Game-day {} on {}\n\n**{}** — observed {}, expected {}.\n\n{}\n\n\
         Target: {}, run id `{}`, controllers {}, {} of real time.\n\n\
         Evidence: traffic is the weights *written* to Route 53 (no DNS answers are \
         observed: no health-check answering rules, no TTL lag); decisions come from the \
         journal ({} recorded). {}\n\n```\n{text}```\n",
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
        o.evidence.decisions.len(),
        o.caveats,
    )
}

/// Per service, its decisions by time: id, seconds from the start, who recorded it, the
/// statuses of its outcomes, its steps.
fn decisions_json(
    bundle: &Bundle,
    decisions: &BTreeMap<String, SeenDecision>,
    t0_ms: i64,
) -> serde_json::Value {
    let per_service: BTreeMap<&str, Vec<serde_json::Value>> = bundle
        .services
        .iter()
        .map(|svc| {
            let mut list: Vec<(&SeenDecision, i64)> = decisions
                .values()
                .filter(|d| d.service == svc.name)
                .map(|d| (d, d.record.as_ref().map_or(t0_ms, |r| r.at.millis())))
                .collect();
            list.sort_by_key(|(_, at)| *at);
            let items = list
                .into_iter()
                .map(|(d, at)| {
                    serde_json::json!({
                        "id": d.id,
                        "at_secs": (at - t0_ms) as f64 / 1000.0,
                        "recorded_by": d.recorded_by,
                        "statuses": d.outcomes.iter().map(|o| o.status.as_str()).collect::<Vec<_>>(),
                        "steps": d.record.as_ref().map(|r| r.steps.iter().map(|x| x.description.as_str()).collect::<Vec<_>>()),
                    })
                })
                .collect();
            (svc.name.as_str(), items)
        })
        .collect();
    serde_json::json!(per_service)
}
