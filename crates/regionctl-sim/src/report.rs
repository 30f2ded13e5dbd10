//! Game-day reports: the terminal timeline, `report.md`, `report.json`, `traffic.svg`.
//!
//! Reports contain only virtual times (`mm:ss` from the start, or the simulated UTC clock)
//! and data derived from the seeded run: the same scenario and seed give byte-identical
//! files.

use crate::duration::{Dur, clock};
use crate::engine::{Event, Run};
use crate::expect::{self, Outcome};
use crate::scenario::Verdict;
use crate::world::{Knobs, Stats};
use serde::Serialize;
use std::path::Path;

/// A steady-state result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SteadyResult {
    /// Check.
    pub check: String,
    /// Held.
    pub met: bool,
    /// What was seen.
    pub detail: String,
}

/// A decision in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionLine {
    /// Id.
    pub id: String,
    /// Service.
    pub service: String,
    /// First seen, seconds from the start.
    pub t: u64,
    /// Recorded by.
    pub recorded_by: String,
    /// Statuses: (t, controller, status).
    pub statuses: Vec<(u64, String, String)>,
    /// Steps, for people.
    pub steps: Vec<String>,
    /// Reasons.
    pub reasons: Vec<String>,
}

/// Answered traffic of the charted service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrafficChart {
    /// Service.
    pub service: String,
    /// Regions (columns of `samples`).
    pub regions: Vec<String>,
    /// Cells averaged.
    pub cells: usize,
    /// Rows: seconds from the start, then each region's share in percent (mean over cells).
    pub samples: Vec<Vec<f64>>,
}

/// Everything a game-day report says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// Scenario file.
    pub file: String,
    /// Description.
    pub description: String,
    /// Target (`sim`).
    pub target: String,
    /// Seed.
    pub seed: u64,
    /// Planned duration, seconds.
    pub duration_secs: u64,
    /// Seconds simulated.
    pub ran_secs: u64,
    /// Reconcile interval.
    pub tick_secs: u64,
    /// Controllers.
    pub controllers: Vec<String>,
    /// Simulation knobs.
    pub knobs: Knobs,
    /// Policy bundle hash.
    pub bundle_hash: String,
    /// Why it aborted, if it did.
    pub aborted: Option<String>,
    /// Observed verdict.
    pub verdict: Verdict,
    /// Expected verdict.
    pub expected_verdict: Verdict,
    /// Observed == expected.
    pub passed: bool,
    /// Steady-state results.
    pub steady_state: Vec<SteadyResult>,
    /// Expectation results.
    pub expectations: Vec<Outcome>,
    /// The timeline.
    pub timeline: Vec<Event>,
    /// Decisions.
    pub decisions: Vec<DecisionLine>,
    /// Chart data.
    pub traffic: TrafficChart,
    /// Controller passes run.
    pub passes: u64,
    /// World counters.
    pub stats: Stats,
    /// The safety invariants: checks, exemptions, violations (any violation fails the
    /// game-day).
    pub invariants: crate::invariants::Summary,
}

/// Builds the report of a finished run.
pub fn build(run: &Run) -> Report {
    let s = &run.loaded.scenario;
    let expectations = if run.aborted.is_some() {
        s.expect
            .iter()
            .enumerate()
            .map(|(i, x)| Outcome {
                id: x
                    .id
                    .clone()
                    .unwrap_or_else(|| format!("{}#{}", x.kind.as_str(), i + 1)),
                kind: x.kind.as_str().into(),
                expected: x.description.clone().unwrap_or_default(),
                met: false,
                at: None,
                observed: "not evaluated: the game-day aborted".into(),
            })
            .collect()
    } else {
        expect::evaluate(run)
    };
    let verdict = if run.aborted.is_none()
        && expectations.iter().all(|o| o.met)
        && run.invariants.violations.is_empty()
    {
        Verdict::Pass
    } else {
        Verdict::Fail
    };
    let chart_service = s
        .report
        .chart_service
        .clone()
        .or_else(|| s.expect.iter().find_map(|x| x.service.clone()))
        .or_else(|| run.bundle.services.first().map(|x| x.name.clone()))
        .unwrap_or_default();
    let traffic = match run.bundle.service_index(&chart_service) {
        Some(si) => {
            let svc = &run.bundle.services[si];
            let nr = svc.regions.len();
            let nc = svc.cells.len().max(1);
            let step = usize::try_from(run.tick).unwrap_or(10).max(1);
            let samples = run.series[si]
                .samples
                .iter()
                .enumerate()
                .step_by(step)
                .map(|(t, v)| {
                    let mut row = vec![t as f64];
                    for r in 0..nr {
                        let mean = (0..svc.cells.len())
                            .map(|c| f64::from(v[c * nr + r]))
                            .sum::<f64>()
                            / nc as f64;
                        row.push((mean * 100.0).round() / 100.0);
                    }
                    row
                })
                .collect();
            TrafficChart {
                service: svc.name.clone(),
                regions: svc.regions.iter().map(|r| r.name.clone()).collect(),
                cells: svc.cells.len(),
                samples,
            }
        }
        None => TrafficChart {
            service: chart_service,
            regions: Vec::new(),
            cells: 0,
            samples: Vec::new(),
        },
    };
    let decisions = run
        .decisions
        .values()
        .map(|d| DecisionLine {
            id: d.id.clone(),
            service: d.service.clone(),
            t: d.first_t,
            recorded_by: d.recorded_by.clone(),
            statuses: d.statuses.clone(),
            steps: d
                .record
                .as_ref()
                .map(|r| r.steps.iter().map(|s| s.description.clone()).collect())
                .unwrap_or_default(),
            reasons: d
                .record
                .as_ref()
                .map(|r| {
                    let mut v: Vec<String> = r
                        .steps
                        .iter()
                        .flat_map(|s| s.reasons.iter().cloned())
                        .collect();
                    v.dedup();
                    v
                })
                .unwrap_or_default(),
        })
        .collect::<Vec<_>>();
    let mut decisions = decisions;
    decisions.sort_by(|a, b| (a.t, &a.service, &a.id).cmp(&(b.t, &b.service, &b.id)));
    Report {
        scenario: s.name.clone(),
        file: run.loaded.path.display().to_string(),
        description: s.description.trim().to_string(),
        target: "sim".into(),
        seed: run.seed,
        duration_secs: s.world.duration.secs(),
        ran_secs: run.ran_secs,
        tick_secs: run.tick,
        controllers: run.controllers.clone(),
        knobs: run.knobs.clone(),
        bundle_hash: run.bundle.hash.clone(),
        aborted: run.aborted.clone(),
        verdict,
        expected_verdict: s.expected_verdict,
        passed: verdict == s.expected_verdict,
        steady_state: run
            .steady
            .iter()
            .map(|(c, m, d)| SteadyResult {
                check: c.clone(),
                met: *m,
                detail: d.clone(),
            })
            .collect(),
        expectations,
        timeline: run.events.clone(),
        decisions,
        traffic,
        passes: run.passes,
        stats: run.world.stats.clone(),
        invariants: run.invariants.clone(),
    }
}

/// One timeline line for terminals and progress output.
pub fn event_line(e: &Event) -> String {
    let who = if e.who.is_empty() {
        String::new()
    } else {
        format!("{}: ", e.who)
    };
    format!("[{}] {:<12} {who}{}", clock(e.t), e.kind, e.text)
}

/// The end-of-run summary for a terminal: timeline (without per-pass effects), steady
/// state, expectations, verdict.
pub fn terminal(report: &Report) -> String {
    let mut out = String::new();
    wl!(
        out,
        "\nTimeline of {} (seed {}, {} simulated):",
        report.scenario,
        report.seed,
        Dur(report.ran_secs)
    );
    for e in report.timeline.iter().filter(|e| e.kind != "effect") {
        wl!(out, "  {}", event_line(e));
    }
    expectations_text(report, &mut out);
    out
}

fn expectations_text(report: &Report, out: &mut String) {
    if !report.steady_state.is_empty() {
        wl!(out, "\nSteady state:");
        for s in &report.steady_state {
            wl!(
                out,
                "  [{}] {}: {}",
                if s.met { "ok" } else { "FAILED" },
                s.check,
                s.detail
            );
        }
    }
    wl!(out, "\nExpectations:");
    for o in &report.expectations {
        wl!(
            out,
            "  [{}] {} ({})",
            if o.met { "met" } else { "NOT MET" },
            o.id,
            o.kind
        );
        wl!(out, "        expected: {}", o.expected);
        wl!(
            out,
            "        observed: {}{}",
            o.observed,
            o.at.map_or(String::new(), |t| format!(" [at {}]", clock(t)))
        );
    }
    invariants_text(&report.invariants, out);
    if let Some(a) = &report.aborted {
        wl!(out, "\nAborted: {a}");
    }
    let met = report.expectations.iter().filter(|o| o.met).count();
    wl!(
        out,
        "\nVerdict: {} ({met}/{} expectations met); expected {} → game-day {}",
        report.verdict.upper(),
        report.expectations.len(),
        report.expected_verdict.upper(),
        if report.passed { "PASSED" } else { "FAILED" }
    );
}

/// The invariants' counters and violations, for terminals and `report.md`.
pub fn invariants_text(summary: &crate::invariants::Summary, out: &mut String) {
    let checks: Vec<String> = summary
        .checks
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    wl!(out, "\nSafety invariants (checks): {}", checks.join(", "));
    if !summary.exempted.is_empty() {
        let ex: Vec<String> = summary
            .exempted
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        wl!(out, "  exempted (named): {}", ex.join(", "));
    }
    if summary.violations.is_empty() {
        wl!(out, "  no violation");
    }
    for v in &summary.violations {
        wl!(
            out,
            "  [VIOLATED] {} at {}: {}",
            v.invariant,
            clock(v.t),
            v.detail
        );
    }
}

/// `report.md`.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    wl!(out, "# Game-day: {}\n", report.scenario);
    wl!(
        out,
        "**{}** — observed {}, expected {}.\n",
        if report.passed { "PASSED" } else { "FAILED" },
        report.verdict.upper(),
        report.expected_verdict.upper()
    );
    if !report.description.is_empty() {
        wl!(out, "{}\n", report.description);
    }
    wl!(out, "| | |\n|---|---|");
    wl!(out, "| scenario | `{}` |", report.file);
    wl!(out, "| target | {} (virtual clock) |", report.target);
    wl!(out, "| seed | {} |", report.seed);
    wl!(
        out,
        "| simulated | {} of {} |",
        Dur(report.ran_secs),
        Dur(report.duration_secs)
    );
    wl!(
        out,
        "| controllers | {} (tick {}s) |",
        report.controllers.join(", "),
        report.tick_secs
    );
    wl!(
        out,
        "| policy bundle | `{}` |",
        report.bundle_hash.get(..12).unwrap_or(&report.bundle_hash)
    );
    wl!(out, "| controller passes | {} |", report.passes);
    wl!(
        out,
        "| Route 53 | {} calls, {} throttled; changes PENDING {}s (+≤{}s) |",
        report.stats.route53_calls,
        report.stats.route53_throttled,
        report.knobs.route53_pending_secs,
        report.knobs.route53_pending_jitter_secs
    );
    wl!(
        out,
        "| failed calls (faults) | {} |",
        report.stats.failed_calls
    );
    wl!(out, "| events published | {} |\n", report.stats.events);
    wl!(
        out,
        "![answered traffic share of {}](traffic.svg)\n",
        report.traffic.service
    );
    if !report.steady_state.is_empty() {
        wl!(out, "## Steady state\n");
        for s in &report.steady_state {
            wl!(
                out,
                "- {} **{}**: {}",
                if s.met { "✅" } else { "❌" },
                s.check,
                s.detail
            );
        }
        wl!(out);
    }
    wl!(out, "## Safety invariants\n");
    let mut inv = String::new();
    invariants_text(&report.invariants, &mut inv);
    wl!(out, "```text{}```\n", inv);
    wl!(out, "## Expectations\n");
    for o in &report.expectations {
        wl!(
            out,
            "- {} **{}** (`{}`)",
            if o.met { "✅" } else { "❌" },
            o.id,
            o.kind
        );
        wl!(out, "  - expected: {}", o.expected);
        wl!(
            out,
            "  - observed: {}{}",
            o.observed,
            o.at.map_or(String::new(), |t| format!(" (at {})", clock(t)))
        );
    }
    if let Some(a) = &report.aborted {
        wl!(out, "\n**Aborted:** {a}");
    }
    wl!(out, "\n## Decisions\n");
    if report.decisions.is_empty() {
        wl!(out, "None.");
    }
    for d in &report.decisions {
        let statuses: Vec<String> = d
            .statuses
            .iter()
            .map(|(t, by, s)| format!("{s} ({by}, {})", clock(*t)))
            .collect();
        wl!(
            out,
            "### {} `{}` — {} by {}\n",
            d.service,
            d.id,
            clock(d.t),
            d.recorded_by
        );
        wl!(
            out,
            "Statuses: {}\n",
            if statuses.is_empty() {
                "—".into()
            } else {
                statuses.join(" → ")
            }
        );
        for (i, s) in d.steps.iter().enumerate() {
            wl!(out, "{}. {s}", i + 1);
        }
        if !d.reasons.is_empty() {
            wl!(out, "\nWhy:");
            for r in &d.reasons {
                wl!(out, "- {r}");
            }
        }
        wl!(out);
    }
    wl!(out, "## Timeline\n\n```");
    for e in &report.timeline {
        wl!(out, "{}", event_line(e));
    }
    wl!(out, "```");
    out
}

/// Writes `report.md`, `report.json` and `traffic.svg` into `dir`.
pub fn write(dir: &Path, report: &Report) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("report.md"), markdown(report))?;
    let json = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("report.json"), json + "\n")?;
    std::fs::write(dir.join("traffic.svg"), crate::svg::chart(report))?;
    Ok(())
}
