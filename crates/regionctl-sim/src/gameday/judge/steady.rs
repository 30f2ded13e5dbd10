//! The steady-state checks, run just before the first fault: a failed one aborts the
//! game-day before anything is injected.

use crate::gameday::evidence::{SeenDecision, ServiceSeries};
use crate::scenario::{SteadyCheck, SteadyKind};
use regionctl_core::health::{HealthView, Verdict};
use regionctl_core::policy::Bundle;
use serde::Serialize;
use std::collections::BTreeMap;

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

/// What the steady-state checks can see mid-run.
pub struct SteadyView<'a> {
    /// The bundle.
    pub bundle: &'a Bundle,
    /// Traffic so far.
    pub series: &'a [ServiceSeries],
    /// Decisions so far.
    pub decisions: &'a BTreeMap<String, SeenDecision>,
    /// Every controller, in fleet order.
    pub controllers: Vec<ControllerSnapshot<'a>>,
}

/// One controller as the steady-state checks see it.
pub struct ControllerSnapshot<'a> {
    /// Its region.
    pub region: &'a str,
    /// Passes run.
    pub passes: u64,
    /// Why it stands down, if it does.
    pub stand_down: Option<&'a str>,
    /// Its health view.
    pub health: &'a HealthView,
}

/// Runs the steady-state checks at the current point of a run.
pub fn steady(checks: &[SteadyCheck], view: &SteadyView<'_>) -> Vec<SteadyResult> {
    checks
        .iter()
        .map(|check| {
            let services: Vec<usize> = match &check.service {
                Some(name) => view.bundle.service_index(name).into_iter().collect(),
                None => (0..view.bundle.services.len()).collect(),
            };
            let scope = check
                .service
                .clone()
                .unwrap_or_else(|| "every service".into());
            let (name, met, detail) = match check.check {
                SteadyKind::TrafficAtBaseline => {
                    traffic_at_baseline(check, view, &services, &scope)
                }
                SteadyKind::Healthy => healthy(view, &services, &scope),
                SteadyKind::NoDecisions => no_decisions(check, view, &scope),
                SteadyKind::ControllersActing => controllers_acting(view),
            };
            SteadyResult {
                check: name.to_string(),
                met,
                detail,
            }
        })
        .collect()
}

/// Answered traffic matches the baseline split in every cell, within the tolerance.
fn traffic_at_baseline(
    check: &SteadyCheck,
    view: &SteadyView<'_>,
    services: &[usize],
    scope: &str,
) -> (&'static str, bool, String) {
    let tol = check.tolerance_percent.unwrap_or(1.0);
    let mut worst: Option<(f32, String)> = None;
    for &s in services {
        let series = &view.series[s];
        let Some(last) = series.samples.last() else {
            continue;
        };
        let svc = &view.bundle.services[s];
        for (((c, r), v), b) in last.indexed().zip(&series.baseline) {
            let dev = (v - b).abs();
            if worst.as_ref().is_none_or(|(d, _)| dev > *d) {
                worst = Some((
                    dev,
                    format!(
                        "{} cell {} in {}: {v:.1}% (baseline {b:.1}%)",
                        svc.name, svc.cells[c].id, svc.regions[r].name
                    ),
                ));
            }
        }
    }
    match worst {
        None => (
            "traffic-at-baseline",
            false,
            "no traffic measured yet".to_string(),
        ),
        Some((dev, where_)) => (
            "traffic-at-baseline",
            f64::from(dev) <= tol,
            format!("{scope}: largest deviation {dev:.1} points (tolerance {tol}): {where_}"),
        ),
    }
}

/// Every controller sees every region carrying baseline traffic as healthy.
fn healthy(view: &SteadyView<'_>, services: &[usize], scope: &str) -> (&'static str, bool, String) {
    let mut bad = Vec::new();
    for ctl in &view.controllers {
        for &s in services {
            let svc = &view.bundle.services[s];
            for (c, cell) in svc.cells.iter().enumerate() {
                for r in 0..svc.regions.len() {
                    let v = ctl.health.entry(s, c, r).verdict;
                    if cell.baseline_weights[r] > 0 && v != Verdict::Healthy {
                        bad.push(format!(
                            "{} sees {} {} in {} as {}",
                            ctl.region,
                            svc.name,
                            cell.id,
                            svc.regions[r].name,
                            v.as_str()
                        ));
                    }
                }
            }
        }
    }
    let n = bad.len();
    bad.truncate(3);
    (
        "healthy",
        n == 0,
        if n == 0 {
            format!("{scope}: every serving region healthy in every controller's view")
        } else {
            format!("{n} slot(s) not healthy, e.g. {}", bad.join("; "))
        },
    )
}

/// No decision recorded yet.
fn no_decisions(
    check: &SteadyCheck,
    view: &SteadyView<'_>,
    scope: &str,
) -> (&'static str, bool, String) {
    let n = view
        .decisions
        .values()
        .filter(|d| check.service.as_ref().is_none_or(|s| &d.service == s))
        .count();
    (
        "no-decisions",
        n == 0,
        format!("{n} decision(s) recorded for {scope}"),
    )
}

/// Every controller has run a pass and acts.
fn controllers_acting(view: &SteadyView<'_>) -> (&'static str, bool, String) {
    let mut bad = Vec::new();
    for ctl in &view.controllers {
        if ctl.passes == 0 {
            bad.push(format!("{} has not run a pass", ctl.region));
        } else if let Some(why) = ctl.stand_down {
            bad.push(format!("{} stands down ({why})", ctl.region));
        }
    }
    (
        "controllers-acting",
        bad.is_empty(),
        if bad.is_empty() {
            "every controller acting".to_string()
        } else {
            bad.join("; ")
        },
    )
}
