//! Steady-state checks and expectations, evaluated over what a run measured and recorded.
//!
//! Every result says whether it was met, when (seconds from the start), and what was
//! observed — for a failure, what was seen instead and when, so a game-day report can say
//! "traffic to eu-central-1 was still 12% at the 01:30 deadline; it reached 0% at 03:10".

use crate::duration::{Dur, clock};
use crate::engine::{PartialRun, Run, ServiceSeries};
use crate::scenario::{ExpectKind, Expectation, SteadyCheck, SteadyKind, resolve_ref};
use crate::world::EffectKind;
use crate::world::route53::normalize;
use regionctl_core::health::Verdict;
use regionctl_core::policy::{Bundle, Service};
use serde::Serialize;

/// One expectation's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// Name.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// What was expected, for people.
    pub expected: String,
    /// Met or not.
    pub met: bool,
    /// When it was met or found unmet (seconds from the start).
    pub at: Option<u64>,
    /// What was observed.
    pub observed: String,
}

fn region_ix(svc: &Service, region: &str) -> Option<usize> {
    svc.regions.iter().position(|r| r.name == region)
}

fn service<'b>(bundle: &'b Bundle, name: Option<&str>) -> Option<(usize, &'b Service)> {
    let ix = bundle.service_index(name?)?;
    Some((ix, &bundle.services[ix]))
}

/// Runs the steady-state checks at the current point of a run.
pub fn steady(checks: &[SteadyCheck], run: &PartialRun<'_>) -> Vec<(String, bool, String)> {
    let bundle = run.bundle;
    let mut out = Vec::new();
    for check in checks {
        let services: Vec<usize> = match &check.service {
            Some(name) => bundle.service_index(name).into_iter().collect(),
            None => (0..bundle.services.len()).collect(),
        };
        let scope = check
            .service
            .clone()
            .unwrap_or_else(|| "every service".into());
        let (name, ok, detail) = match check.check {
            SteadyKind::TrafficAtBaseline => {
                let tol = check.tolerance_percent.unwrap_or(1.0);
                let mut worst: Option<(f32, String)> = None;
                for &s in &services {
                    let series = &run.series[s];
                    let Some(last) = series.samples.last() else {
                        continue;
                    };
                    let svc = &bundle.services[s];
                    let nr = svc.regions.len();
                    for (i, (v, b)) in last.iter().zip(&series.baseline).enumerate() {
                        let dev = (v - b).abs();
                        if worst.as_ref().is_none_or(|(d, _)| dev > *d) {
                            worst = Some((
                                dev,
                                format!(
                                    "{} cell {} in {}: {v:.1}% (baseline {b:.1}%)",
                                    svc.name,
                                    svc.cells[i / nr].id,
                                    svc.regions[i % nr].name
                                ),
                            ));
                        }
                    }
                }
                match worst {
                    None => (
                        "traffic-at-baseline".to_string(),
                        false,
                        "no traffic measured yet".to_string(),
                    ),
                    Some((dev, where_)) => (
                        "traffic-at-baseline".to_string(),
                        f64::from(dev) <= tol,
                        format!(
                            "{scope}: largest deviation {dev:.1} points (tolerance {tol}): {where_}"
                        ),
                    ),
                }
            }
            SteadyKind::Healthy => {
                let mut bad = Vec::new();
                for (region, _, _, view) in run.controllers() {
                    for &s in &services {
                        let svc = &bundle.services[s];
                        let nr = svc.regions.len();
                        for (c, cell) in svc.cells.iter().enumerate() {
                            for r in 0..nr {
                                let v = view.entry(s, c, r, nr).verdict;
                                if cell.baseline_weights[r] > 0 && v != Verdict::Healthy {
                                    bad.push(format!(
                                        "{region} sees {} {} in {} as {}",
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
                    "healthy".to_string(),
                    n == 0,
                    if n == 0 {
                        format!("{scope}: every serving region healthy in every controller's view")
                    } else {
                        format!("{n} slot(s) not healthy, e.g. {}", bad.join("; "))
                    },
                )
            }
            SteadyKind::NoDecisions => {
                let n = run
                    .decisions
                    .values()
                    .filter(|d| check.service.as_ref().is_none_or(|s| &d.service == s))
                    .count();
                (
                    "no-decisions".to_string(),
                    n == 0,
                    format!("{n} decision(s) recorded for {scope}"),
                )
            }
            SteadyKind::ControllersActing => {
                let mut bad = Vec::new();
                for (region, passes, stand, _) in run.controllers() {
                    if passes == 0 {
                        bad.push(format!("{region} has not run a pass"));
                    } else if let Some(why) = stand {
                        bad.push(format!("{region} stands down ({why})"));
                    }
                }
                (
                    "controllers-acting".to_string(),
                    bad.is_empty(),
                    if bad.is_empty() {
                        "every controller acting".to_string()
                    } else {
                        bad.join("; ")
                    },
                )
            }
        };
        out.push((name, ok, detail));
    }
    out
}

/// Evaluates every expectation of the run's scenario.
pub fn evaluate(run: &Run) -> Vec<Outcome> {
    let s = &run.loaded.scenario;
    s.expect
        .iter()
        .enumerate()
        .map(|(i, x)| evaluate_one(run, i, x))
        .collect()
}

fn label_of(run: &Run, reference: Option<&str>, default_t: u64) -> (u64, String) {
    match reference {
        Some(r) => {
            let t = resolve_ref(&run.loaded.scenario, r).unwrap_or(default_t);
            if run.fault_times.contains_key(r) {
                (t, format!("`{r}` at {}", clock(t)))
            } else {
                (t, clock(t))
            }
        }
        None => match run.first_fault {
            Some(t) => (t, format!("the first fault at {}", clock(t))),
            None => (default_t, clock(default_t)),
        },
    }
}

fn cells_of(svc: &Service, x: &Expectation) -> Vec<usize> {
    (0..svc.cells.len())
        .filter(|c| x.cells.is_empty() || x.cells.contains(&svc.cells[*c].id))
        .filter(|c| !x.except_cells.contains(&svc.cells[*c].id))
        .collect()
}

fn value(series: &ServiceSeries, nr: usize, t: u64, c: usize, r: usize) -> Option<f32> {
    series
        .samples
        .get(usize::try_from(t).ok()?)
        .and_then(|v| v.get(c * nr + r))
        .copied()
}

fn evaluate_one(run: &Run, i: usize, x: &Expectation) -> Outcome {
    let id =
        x.id.clone()
            .unwrap_or_else(|| format!("{}#{}", x.kind.as_str(), i + 1));
    let mut out = Outcome {
        id,
        kind: x.kind.as_str().to_string(),
        expected: String::new(),
        met: false,
        at: None,
        observed: String::new(),
    };
    let end = run.ran_secs;
    let svc = service(&run.bundle, x.service.as_deref());
    match x.kind {
        ExpectKind::Traffic => {
            let Some((s, svc)) = svc else {
                return missing(out, "service");
            };
            let Some(r) = x.region.as_deref().and_then(|r| region_ix(svc, r)) else {
                return missing(out, "region");
            };
            let nr = svc.regions.len();
            let series = &run.series[s];
            let cells = cells_of(svc, x);
            let tol = x.tolerance_percent.unwrap_or(0.0) as f32;
            let (after, after_label) = label_of(run, x.after.as_deref(), 0);
            let (until, until_label) = match &x.until {
                Some(u) => label_of(run, Some(u), end),
                None => (end, "the end".to_string()),
            };
            let bound = match (x.at_most, x.at_least) {
                (Some(m), Some(l)) => format!("between {l}% and {m}%"),
                (Some(0.0), None) => "0%".to_string(),
                (Some(m), None) => format!("at most {m}%"),
                (None, Some(l)) => format!("at least {l}%"),
                (None, None) => "?".to_string(),
            };
            let scope = if x.cells.is_empty() && x.except_cells.is_empty() {
                format!("every {} cell", svc.name)
            } else {
                format!("{} of {}'s cells", cells.len(), svc.name)
            };
            // The worst cell at `t`: (ok, value, cell).
            let check = |t: u64| -> (bool, f32, usize) {
                let mut worst = (true, 0.0f32, cells.first().copied().unwrap_or(0));
                let mut worst_dev = f32::MIN;
                for &c in &cells {
                    let Some(v) = value(series, nr, t, c, r) else {
                        continue;
                    };
                    let over = x.at_most.map_or(f32::MIN, |m| v - m as f32);
                    let under = x.at_least.map_or(f32::MIN, |l| l as f32 - v);
                    let dev = over.max(under);
                    if dev > worst_dev {
                        worst_dev = dev;
                        worst = (dev <= tol, v, c);
                    }
                }
                worst
            };
            let region = &svc.regions[r].name;
            match x.within {
                Some(within) => {
                    let deadline = after + within.secs();
                    out.expected = format!(
                        "{bound} of answers to {region} in {scope}, within {within} after {after_label}, held until {until_label}"
                    );
                    let reached = (after..=deadline.min(end)).find(|t| check(*t).0);
                    match reached {
                        None => {
                            out.at = Some(deadline.min(end));
                            let (_, v, c) = check(deadline.min(end));
                            let later = (deadline.min(end)..=end).find(|t| check(*t).0);
                            out.observed = if deadline > end {
                                format!(
                                    "the game-day ended at {} before the deadline {}; {region} still answered {v:.1}% in cell {}",
                                    clock(end),
                                    clock(deadline),
                                    svc.cells[c].id
                                )
                            } else {
                                format!(
                                    "not reached by the deadline {} ({within} after {after_label}): {region} still answered {v:.1}% in cell {} then; {}",
                                    clock(deadline),
                                    svc.cells[c].id,
                                    match later {
                                        Some(t) => format!(
                                            "reached only at {} ({} late)",
                                            clock(t),
                                            Dur(t - deadline)
                                        ),
                                        None => "never reached".to_string(),
                                    }
                                )
                            };
                        }
                        Some(t0) => {
                            let broke = (t0..=until.min(end)).find(|t| !check(*t).0);
                            match broke {
                                Some(t1) => {
                                    let (_, v, c) = check(t1);
                                    out.at = Some(t1);
                                    out.observed = format!(
                                        "reached at {} but broken at {}: {region} answered {v:.1}% in cell {}",
                                        clock(t0),
                                        clock(t1),
                                        svc.cells[c].id
                                    );
                                }
                                None => {
                                    out.met = true;
                                    out.at = Some(t0);
                                    out.observed = format!(
                                        "reached at {} ({} after {after_label}), held until {until_label}",
                                        clock(t0),
                                        Dur(t0 - after)
                                    );
                                }
                            }
                        }
                    }
                }
                None => {
                    out.expected = format!(
                        "{bound} of answers to {region} in {scope}, from {after_label} until {until_label}"
                    );
                    match (after..=until.min(end)).find(|t| !check(*t).0) {
                        Some(t1) => {
                            let (_, v, c) = check(t1);
                            out.at = Some(t1);
                            out.observed = format!(
                                "broken at {}: {region} answered {v:.1}% in cell {}",
                                clock(t1),
                                svc.cells[c].id
                            );
                        }
                        None => {
                            out.met = true;
                            out.at = Some(until.min(end));
                            let (_, v, c) = check(until.min(end));
                            out.observed = format!(
                                "held throughout ({region} at {v:.1}% in cell {} at {})",
                                svc.cells[c].id,
                                clock(until.min(end))
                            );
                        }
                    }
                }
            }
        }
        ExpectKind::TrafficSteady => {
            let Some((s, svc)) = svc else {
                return missing(out, "service");
            };
            let nr = svc.regions.len();
            let series = &run.series[s];
            let cells = cells_of(svc, x);
            let tol = x.tolerance_percent.unwrap_or(1.0) as f32;
            let (after, after_label) = match &x.after {
                Some(a) => label_of(run, Some(a), 0),
                None => (0, "the start".to_string()),
            };
            let until = x
                .until
                .as_deref()
                .and_then(|u| resolve_ref(&run.loaded.scenario, u))
                .unwrap_or(end)
                .min(end);
            out.expected = format!(
                "{} cell(s) of {} stay at their baseline split (± {tol} points) from {after_label} to {}",
                cells.len(),
                svc.name,
                clock(until)
            );
            let mut worst = (0.0f32, 0u64, 0usize, 0usize);
            let mut broken = None;
            'scan: for t in after..=until {
                for &c in &cells {
                    for r in 0..nr {
                        let Some(v) = value(series, nr, t, c, r) else {
                            continue;
                        };
                        let dev = (v - series.baseline[c * nr + r]).abs();
                        if dev > worst.0 {
                            worst = (dev, t, c, r);
                        }
                        if dev > tol {
                            broken = Some((t, c, r, v));
                            break 'scan;
                        }
                    }
                }
            }
            match broken {
                Some((t, c, r, v)) => {
                    out.at = Some(t);
                    out.observed = format!(
                        "moved at {}: cell {} answered {v:.1}% from {} (baseline {:.1}%)",
                        clock(t),
                        svc.cells[c].id,
                        svc.regions[r].name,
                        series.baseline[c * nr + r]
                    );
                }
                None => {
                    out.met = true;
                    out.at = Some(until);
                    out.observed = format!(
                        "largest deviation {:.2} points (cell {}, {}, at {})",
                        worst.0,
                        svc.cells[worst.2].id,
                        svc.regions[worst.3].name,
                        clock(worst.1)
                    );
                }
            }
        }
        ExpectKind::CapacityBeforeTraffic => {
            let Some((_, svc)) = svc else {
                return missing(out, "service");
            };
            let Some(r) = x.region.as_deref().and_then(|r| region_ix(svc, r)) else {
                return missing(out, "region");
            };
            let region = &svc.regions[r].name;
            let (after, after_label) = label_of(run, x.after.as_deref(), 0);
            out.expected = format!(
                "{}'s ECS desired count in {region} is raised before its Route 53 share rises (after {after_label})",
                svc.name
            );
            let Some(ecs) = &svc.ecs else {
                out.observed = format!("{} has no ECS capacity in its policy", svc.name);
                return out;
            };
            // Replay weight writes from the baseline: the first write after which the
            // region's share of some cell (by written weights) rose.
            let zone = &svc.routing.hosted_zone_id;
            let nr = svc.regions.len();
            let mut current: std::collections::BTreeMap<(String, String), (usize, usize, u8)> =
                std::collections::BTreeMap::new();
            for (c, cell) in svc.cells.iter().enumerate() {
                for rr in 0..nr {
                    current.insert(
                        (
                            normalize(&cell.record_name),
                            cell.set_identifiers[rr].clone(),
                        ),
                        (c, rr, cell.baseline_weights[rr]),
                    );
                }
            }
            let share =
                |current: &std::collections::BTreeMap<(String, String), (usize, usize, u8)>,
                 c: usize|
                 -> f64 {
                    let w: Vec<f64> = (0..nr)
                        .map(|rr| {
                            current
                                .values()
                                .find(|(cc, r2, _)| *cc == c && *r2 == rr)
                                .map_or(0.0, |(_, _, w)| f64::from(*w))
                        })
                        .collect();
                    let total: f64 = w.iter().sum();
                    if total == 0.0 {
                        1.0 / nr as f64
                    } else {
                        w[r] / total
                    }
                };
            let since = run.at(after);
            let mut weight = None;
            for e in &run.world.effects {
                if let EffectKind::Weight {
                    zone: z,
                    name,
                    set_identifier,
                    to,
                    ..
                } = &e.what
                {
                    if z != zone {
                        continue;
                    }
                    let Some(slot) = current
                        .get(&(name.clone(), set_identifier.clone()))
                        .copied()
                    else {
                        continue;
                    };
                    let before = share(&current, slot.0);
                    current.insert(
                        (name.clone(), set_identifier.clone()),
                        (slot.0, slot.1, *to),
                    );
                    if e.at >= since && share(&current, slot.0) > before + 1e-9 {
                        weight = Some(e);
                        break;
                    }
                }
            }
            // A data-plane switch turning another region off raises this region's share
            // just as a weight write does (once Route 53's health checks follow).
            let others: Vec<String> = regionctl_core::switch::switches_of(svc)
                .into_iter()
                .filter(|(_, rr, _)| *rr != r)
                .map(|(_, _, x)| x.alarm_name)
                .collect();
            let switch_off = run.world.effects.iter().find(|e| {
                e.at >= since
                    && matches!(&e.what, EffectKind::Switch { alarm_name, on: false, .. }
                        if others.contains(alarm_name))
            });
            let weight = match (weight, switch_off) {
                (Some(w), Some(sw)) if sw.seq < w.seq => Some(sw),
                (None, Some(sw)) => Some(sw),
                (w, _) => w,
            };
            let how = |e: &crate::world::Effect| match &e.what {
                EffectKind::Switch { alarm_name, .. } => {
                    format!("the data-plane switch {alarm_name} turned off")
                }
                _ => "weights written".to_string(),
            };
            let scale = run.world.effects.iter().find(|e| {
                e.at >= since
                    && matches!(&e.what, EffectKind::Scale { region: rg, cluster, service, from, to }
                        if rg == region && cluster == &ecs.clusters[r] && service == &ecs.services[r] && to > from)
            });
            let describe_scale = |e: &crate::world::Effect| match &e.what {
                EffectKind::Scale { from, to, .. } => format!(
                    "desired {from} → {to} at {} by {}",
                    clock(run.t_of(e.at)),
                    e.by
                ),
                _ => String::new(),
            };
            match (scale, weight) {
                (_, None) => {
                    out.observed = format!(
                        "{region}'s share of {} never rose{}",
                        svc.name,
                        scale.map_or(String::new(), |s| format!(
                            " (capacity: {})",
                            describe_scale(s)
                        ))
                    );
                }
                (Some(sc), Some(w)) if sc.seq < w.seq => {
                    out.met = true;
                    out.at = Some(run.t_of(w.at));
                    out.observed = format!(
                        "capacity first ({}), then its share rose with {} at {} by {}",
                        describe_scale(sc),
                        how(w),
                        clock(run.t_of(w.at)),
                        w.by
                    );
                }
                (sc, Some(w)) => {
                    out.at = Some(run.t_of(w.at));
                    out.observed = format!(
                        "its share rose with {} at {} by {} before any capacity was asked for{}",
                        how(w),
                        clock(run.t_of(w.at)),
                        w.by,
                        sc.map_or(" (never)".to_string(), |s| format!(
                            " (capacity came later: {})",
                            describe_scale(s)
                        ))
                    );
                }
            }
        }
        ExpectKind::Decisions => {
            let mut list: Vec<_> = run
                .decisions
                .values()
                .filter(|d| x.service.as_ref().is_none_or(|s| &d.service == s))
                .collect();
            list.sort_by_key(|d| (d.first_t, d.service.clone(), d.id.clone()));
            let n = list.len() as f64;
            let scope = x.service.clone().unwrap_or_else(|| "all services".into());
            out.expected = match (x.at_least, x.at_most) {
                (Some(l), Some(m)) => format!("between {l} and {m} decisions for {scope}"),
                (None, Some(0.0)) => format!("no decision for {scope}"),
                (None, Some(m)) => format!("at most {m} decision(s) for {scope} (no flapping)"),
                (Some(l), None) => format!("at least {l} decision(s) for {scope}"),
                (None, None) => String::new(),
            };
            out.met = x.at_most.is_none_or(|m| n <= m) && x.at_least.is_none_or(|l| n >= l);
            out.at = list.last().map(|d| d.first_t);
            let items: Vec<String> = list
                .iter()
                .take(8)
                .map(|d| {
                    format!(
                        "{} {} at {}: {}",
                        d.service,
                        d.id,
                        clock(d.first_t),
                        d.headline()
                    )
                })
                .collect();
            out.observed = format!(
                "{} decision(s){}{}",
                list.len(),
                if items.is_empty() { "" } else { ": " },
                items.join("; ")
            );
        }
        ExpectKind::Decision => {
            let Some((_, svc)) = svc else {
                return missing(out, "service");
            };
            let (after, after_label) = match &x.after {
                Some(a) => label_of(run, Some(a), 0),
                None => (0, "the start".to_string()),
            };
            let deadline = x.within.map(|w| after + w.secs());
            let needle = x.reason_contains.as_deref().map(str::to_lowercase);
            out.expected = format!(
                "a decision for {}{}{}{}",
                svc.name,
                x.reason_contains
                    .as_ref()
                    .map_or(String::new(), |r| format!(
                        " with a reason containing \"{r}\""
                    )),
                x.status
                    .as_ref()
                    .map_or(String::new(), |st| format!(" reaching status `{st}`")),
                deadline.map_or(String::new(), |d| format!(
                    ", recorded by {} ({} after {after_label})",
                    clock(d),
                    x.within.map(|w| w.to_string()).unwrap_or_default()
                ))
            );
            let candidates: Vec<_> = run
                .decisions
                .values()
                .filter(|d| d.service == svc.name)
                .filter(|d| {
                    needle
                        .as_ref()
                        .is_none_or(|n| d.texts().iter().any(|t| t.to_lowercase().contains(n)))
                })
                .filter(|d| {
                    x.status.as_ref().is_none_or(|st| {
                        d.statuses.iter().any(|(_, _, s)| s == st)
                            || d.outcomes.iter().any(|o| o.status.as_str() == st)
                    })
                })
                .collect();
            let timely: Vec<_> = candidates
                .iter()
                .filter(|d| d.first_t >= after && deadline.is_none_or(|dl| d.first_t <= dl))
                .collect();
            match (timely.first(), candidates.first()) {
                (Some(d), _) => {
                    out.met = true;
                    out.at = Some(d.first_t);
                    let statuses: Vec<String> = d
                        .statuses
                        .iter()
                        .map(|(t, by, st)| format!("{st} ({by} {})", clock(*t)))
                        .collect();
                    out.observed = format!(
                        "decision {} recorded at {} by {}, statuses {}: {}",
                        d.id,
                        clock(d.first_t),
                        d.recorded_by,
                        statuses.join(" → "),
                        d.headline()
                    );
                }
                (None, Some(d)) => {
                    out.at = Some(d.first_t);
                    out.observed = format!(
                        "only outside the window: decision {} at {}",
                        d.id,
                        clock(d.first_t)
                    );
                }
                (None, None) => {
                    let others: Vec<String> = run
                        .decisions
                        .values()
                        .filter(|d| d.service == svc.name)
                        .map(|d| {
                            format!(
                                "{} at {} ({}): {}",
                                d.id,
                                clock(d.first_t),
                                d.statuses
                                    .iter()
                                    .map(|s| s.2.as_str())
                                    .collect::<Vec<_>>()
                                    .join(" → "),
                                d.headline()
                            )
                        })
                        .collect();
                    out.observed = if others.is_empty() {
                        format!("no decision for {} at all", svc.name)
                    } else {
                        format!("no matching decision; recorded: {}", others.join("; "))
                    };
                }
            }
        }
        ExpectKind::Failback => {
            let Some((s, svc)) = svc else {
                return missing(out, "service");
            };
            let Some(r) = x.region.as_deref().and_then(|r| region_ix(svc, r)) else {
                return missing(out, "region");
            };
            let nr = svc.regions.len();
            let series = &run.series[s];
            let region = &svc.regions[r].name;
            let cells = cells_of(svc, x);
            let tol = x.tolerance_percent.unwrap_or(1.0) as f32;
            let default_after = run
                .loaded
                .scenario
                .timeline
                .last()
                .map_or(0, |e| e.at.secs());
            let (after, after_label) = match &x.after {
                Some(a) => label_of(run, Some(a), default_after),
                None => (
                    default_after,
                    format!("the last timeline entry at {}", clock(default_after)),
                ),
            };
            let within = x.within.unwrap_or(Dur(0));
            let deadline = after + within.secs();
            let min_stages = x.min_stages.unwrap_or(1);
            out.expected = format!(
                "{region} back at its baseline share of {} in {} cell(s) within {within} after {after_label}, in at least {min_stages} stage(s)",
                svc.name,
                cells.len()
            );
            let at_baseline = |t: u64| {
                cells.iter().all(|&c| {
                    value(series, nr, t, c, r)
                        .is_some_and(|v| (v - series.baseline[c * nr + r]).abs() <= tol)
                })
            };
            let done = (after..=deadline.min(end)).find(|t| at_baseline(*t));
            // Stages: rising weight writes to the first selected cell's record.
            let stage_cell = cells
                .iter()
                .copied()
                .find(|c| svc.cells[*c].baseline_weights[r] > 0)
                .unwrap_or(0);
            let key = (
                normalize(&svc.cells[stage_cell].record_name),
                svc.cells[stage_cell].set_identifiers[r].clone(),
            );
            let stages: Vec<String> = run
                .world
                .effects
                .iter()
                .filter(|e| e.at >= run.at(after) && done.is_none_or(|d| e.at <= run.at(d)))
                .filter_map(|e| match &e.what {
                    EffectKind::Weight {
                        zone,
                        name,
                        set_identifier,
                        from,
                        to,
                        ..
                    } if zone == &svc.routing.hosted_zone_id
                        && (name, set_identifier) == (&key.0, &key.1)
                        && *to > from.unwrap_or(0) =>
                    {
                        Some(format!(
                            "{}→{} at {}",
                            from.unwrap_or(0),
                            to,
                            clock(run.t_of(e.at))
                        ))
                    }
                    _ => None,
                })
                .collect();
            let stages_text = if stages.is_empty() {
                "no rising weight writes".to_string()
            } else {
                format!(
                    "weights of cell {}: {}",
                    svc.cells[stage_cell].id,
                    stages.join(", ")
                )
            };
            match done {
                Some(t) if stages.len() >= min_stages as usize => {
                    out.met = true;
                    out.at = Some(t);
                    out.observed = format!(
                        "back at baseline at {} ({} after {after_label}); {stages_text}",
                        clock(t),
                        Dur(t - after)
                    );
                }
                Some(t) => {
                    out.at = Some(t);
                    out.observed = format!(
                        "back at baseline at {} but in {} stage(s), fewer than {min_stages}; {stages_text}",
                        clock(t),
                        stages.len()
                    );
                }
                None => {
                    let t = deadline.min(end);
                    out.at = Some(t);
                    let worst = cells
                        .iter()
                        .filter_map(|&c| value(series, nr, t, c, r).map(|v| (v, c)))
                        .max_by(|a, b| {
                            (a.0 - series.baseline[a.1 * nr + r])
                                .abs()
                                .total_cmp(&(b.0 - series.baseline[b.1 * nr + r]).abs())
                        });
                    let now = worst.map_or(String::new(), |(v, c)| {
                        format!(
                            "{region} answered {v:.1}% in cell {} (baseline {:.1}%)",
                            svc.cells[c].id,
                            series.baseline[c * nr + r]
                        )
                    });
                    out.observed = format!(
                        "{} {}: {now}; {stages_text}",
                        if deadline > end {
                            "the game-day ended before the deadline"
                        } else {
                            "not back by the deadline"
                        },
                        clock(deadline)
                    );
                }
            }
        }
        ExpectKind::StandDown => {
            let Some(region) = x.region.clone() else {
                return missing(out, "region");
            };
            let want = x.stood_down.unwrap_or(true);
            let (after, after_label) = match &x.after {
                Some(a) => label_of(run, Some(a), 0),
                None => (0, "the start".to_string()),
            };
            let until = match (x.within, &x.until) {
                (Some(w), _) => after + w.secs(),
                (None, Some(u)) => resolve_ref(&run.loaded.scenario, u).unwrap_or(end),
                (None, None) => end,
            };
            let needle = x.reason_contains.as_deref().map(str::to_lowercase);
            out.expected = format!(
                "the controller in {region} {} between {after_label} and {}{}",
                if want {
                    "stands down"
                } else {
                    "never stands down"
                },
                clock(until),
                x.reason_contains
                    .as_ref()
                    .map_or(String::new(), |r| format!(" (reason containing \"{r}\")"))
            );
            let hits: Vec<&(u64, Option<String>)> = run
                .stand_downs
                .get(&region)
                .map(|v| {
                    v.iter()
                        .filter(|(t, why)| {
                            *t >= after
                                && *t <= until
                                && why.as_ref().is_some_and(|w| {
                                    needle.as_ref().is_none_or(|n| w.to_lowercase().contains(n))
                                })
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.met = hits.is_empty() != want;
            out.at = hits.first().map(|(t, _)| *t);
            out.observed = match hits.first() {
                Some((t, why)) => format!(
                    "stood down at {}: {}",
                    clock(*t),
                    why.clone().unwrap_or_default()
                ),
                None => "did not stand down".to_string(),
            };
        }
    }
    out
}

fn missing(mut out: Outcome, what: &str) -> Outcome {
    out.observed = format!("the expectation names no valid {what}");
    out
}
