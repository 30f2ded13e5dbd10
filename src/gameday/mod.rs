//! The real-time game-day targets: `moto` (a moto server, controllers as local
//! `regionctl run` processes) and `aws` (a real account, guarded), implementing
//! [`regionctl_sim::gameday::Target`] so the one timeline driver and the one judge of
//! `regionctl-sim` play and judge them (ADR 0010).
//!
//! They live here rather than in `regionctl-sim` because they need the AWS adapters
//! (`regionctl-aws`) and spawn controller processes, which the simulator must not depend on.
//!
//! # Layout
//! - [`moto`]: the moto target and its setup (moto server, zones, endpoint servers,
//!   rewritten policies).
//! - [`aws`]: the real-account target: its guardrails, and alarm faults through the chaos
//!   metric ([`crate::chaos`]).
//! - `fleet`: local controller processes and their admin endpoints.
//! - `observe`: what both observe in real time (Route 53 written weights, stand-downs,
//!   decisions from the journal), as typed evidence.
//! - `report`: the verdict, `report.md` and `report.json` of a real-time run.
//!
//! # What a real-time target cannot observe
//! Traffic is the weights *written* to Route 53, sampled: no DNS answers (no health-check
//! answering rules, no resolver TTLs), nothing between samples. ECS desired counts and
//! data-plane switches are not observed: `capacity-before-traffic` reads the order of the
//! steps of the decision that shifts traffic. Steady-state checks and `traffic-steady` need
//! what only the simulated world measures, and are not evaluated (the latter is refused).

pub mod aws;
mod fleet;
pub mod moto;
mod observe;
mod report;

use anyhow::{Result, bail};
use regionctl_core::policy::Bundle;
use regionctl_sim::engine;
use regionctl_sim::scenario::{Loaded, Scenario};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where a real-time game-day says what it does; the CLI prints it.
pub trait Console {
    /// A line always shown (what runs where, the verdict, the report's path).
    fn say(&self, line: &str);
    /// A progress line (hidden by `--quiet`).
    fn progress(&self, line: &str);
    /// A warning or an error, for stderr.
    fn warn(&self, line: &str);
}

/// How a real-time game-day ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It ran; whether it passed (the verdict was the expected one).
    Ran {
        /// The observed verdict is the scenario's `expected_verdict` (and, on aws, the
        /// rollback completed).
        passed: bool,
    },
    /// `--target aws` refused to start; nothing was changed.
    Refused,
}

/// Loads and checks a scenario and its policies; every problem is said, then an error.
fn prepare(path: &Path, console: &dyn Console) -> Result<(Loaded, Bundle, Vec<String>)> {
    match engine::prepare(path) {
        Ok(x) => Ok(x),
        Err(errors) => {
            for e in &errors {
                console.warn(&format!("error: {e}"));
            }
            bail!(
                "{}: {} error(s); scenario rejected",
                path.display(),
                errors.len()
            );
        }
    }
}

/// Wall-clock milliseconds since the epoch (journal decisions carry these).
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// A run id short enough for resource names: process id and clock nanoseconds.
fn run_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("gd{}x{}", std::process::id() % 100_000, nanos % 100_000)
}

/// The report directory: `--report`, or `reports/<scenario name>/`; created.
fn report_dir(report: Option<&PathBuf>, s: &Scenario) -> Result<PathBuf> {
    let dir = report
        .cloned()
        .unwrap_or_else(|| PathBuf::from("reports").join(&s.name));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A timeline line of a real-time run: `fault …`, `recover …`, with the seconds since the
/// timeline started.
fn timeline_line(elapsed_secs: f64, e: &regionctl_sim::gameday::Event) -> String {
    use regionctl_sim::gameday::EventKind;
    match e.kind {
        // `recover` lines say `recover …` themselves.
        EventKind::Recover => format!("[{elapsed_secs:6.1}s] {}", e.text),
        kind => format!("[{elapsed_secs:6.1}s] {kind} {}", e.text),
    }
}
