//! Reports for people: the terminal summary and `report.md`. The expectation and verdict
//! lines are shared with the real-time targets' reports.

use super::{DecisionLine, Report};
use crate::duration::{Dur, clock};
use crate::gameday::Event;
use crate::gameday::EventKind;
use crate::gameday::judge::Outcome;
use crate::scenario::Verdict;

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
    for e in report
        .timeline
        .iter()
        .filter(|e| e.kind != EventKind::Effect)
    {
        wl!(out, "  {}", event_line(e));
    }
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
    outcome_lines(&report.expectations, &mut out);
    invariants_text(&report.invariants, &mut out);
    if let Some(a) = &report.aborted {
        wl!(out, "\nAborted: {a}");
    }
    wl!(out);
    verdict_line(
        &report.expectations,
        (report.verdict, report.expected_verdict),
        report.passed,
        &mut out,
    );
    out
}

/// Each expectation's result: met or not, what was expected, what was observed and when.
pub fn outcome_lines(outcomes: &[Outcome], out: &mut String) {
    for o in outcomes {
        wl!(
            out,
            "  [{}] {} ({})",
            if o.met { "met" } else { "NOT MET" },
            o.id,
            o.kind.as_str()
        );
        wl!(out, "        expected: {}", o.expected);
        wl!(
            out,
            "        observed: {}{}",
            o.observed,
            o.at.map_or(String::new(), |t| format!(" [at {}]", clock(t)))
        );
    }
}

/// `Verdict: PASS (n/m expectations met); expected PASS → game-day PASSED`.
pub fn verdict_line(
    outcomes: &[Outcome],
    (verdict, expected): (Verdict, Verdict),
    passed: bool,
    out: &mut String,
) {
    let met = outcomes.iter().filter(|o| o.met).count();
    wl!(
        out,
        "Verdict: {} ({met}/{} expectations met); expected {} → game-day {}",
        verdict.upper(),
        outcomes.len(),
        expected.upper(),
        if passed { "PASSED" } else { "FAILED" }
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
    facts_table(report, &mut out);
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
            o.kind.as_str()
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
        decision_section(d, &mut out);
    }
    wl!(out, "## Timeline\n\n```");
    for e in &report.timeline {
        wl!(out, "{}", event_line(e));
    }
    wl!(out, "```");
    out
}

/// The table of what ran where, with the world's counters.
fn facts_table(report: &Report, out: &mut String) {
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
}

/// One decision: who recorded it when, its statuses, steps and reasons.
fn decision_section(d: &DecisionLine, out: &mut String) {
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
