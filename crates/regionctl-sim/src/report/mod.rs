//! Game-day reports: the terminal timeline, `report.md`, `report.json`, `traffic.svg`.
//!
//! Reports contain only virtual times (`mm:ss` from the start, or the simulated UTC clock)
//! and data derived from the seeded run: the same scenario and seed give byte-identical
//! files. [`text`] renders them for people; its expectation and verdict lines are shared
//! with the real-time targets' reports.

pub mod text;

pub use text::{event_line, invariants_text, markdown, terminal};

use crate::engine::Run;
use crate::gameday::judge::{self, Outcome, SteadyResult};
use crate::gameday::{Event, SeenDecision};
use crate::scenario::Verdict;
use crate::world::{Knobs, Stats};
use regionctl_controller::status::OutcomeStatus;
use serde::Serialize;
use std::path::Path;

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
    pub statuses: Vec<(u64, String, OutcomeStatus)>,
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
        judge::not_evaluated(s)
    } else {
        judge::evaluate(&run.game())
    };
    let verdict = judge::verdict(
        run.aborted.is_some(),
        &expectations,
        run.invariants.violations.len(),
    );
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
        steady_state: run.steady.clone(),
        expectations,
        timeline: run.events.clone(),
        decisions: decision_lines(run.evidence.decisions.values()),
        traffic: chart(run),
        passes: run.passes,
        stats: run.world.stats.clone(),
        invariants: run.invariants.clone(),
    }
}

/// The charted service (`report.chart_service`, else the first expectation's, else the
/// first service): each region's share, averaged over cells, every tick.
fn chart(run: &Run) -> TrafficChart {
    let s = &run.loaded.scenario;
    let chart_service = s
        .report
        .chart_service
        .clone()
        .or_else(|| s.expect.iter().find_map(|x| x.service.clone()))
        .or_else(|| run.bundle.services.first().map(|x| x.name.clone()))
        .unwrap_or_default();
    let Some(si) = run.bundle.service_index(&chart_service) else {
        return TrafficChart {
            service: chart_service,
            regions: Vec::new(),
            cells: 0,
            samples: Vec::new(),
        };
    };
    let svc = &run.bundle.services[si];
    let nr = svc.regions.len();
    let nc = svc.cells.len().max(1);
    let step = usize::try_from(run.tick).unwrap_or(10).max(1);
    let samples = run.evidence.series[si]
        .samples
        .iter()
        .enumerate()
        .step_by(step)
        .map(|(t, v)| {
            let mut row = vec![t as f64];
            for r in 0..nr {
                let mean = v.column(r).map(|x| f64::from(*x)).sum::<f64>() / nc as f64;
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

/// The decisions for the report, by first seen, service and id.
fn decision_lines<'a>(decisions: impl Iterator<Item = &'a SeenDecision>) -> Vec<DecisionLine> {
    let mut lines: Vec<DecisionLine> = decisions
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
        .collect();
    lines.sort_by(|a, b| (a.t, &a.service, &a.id).cmp(&(b.t, &b.service, &b.id)));
    lines
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
