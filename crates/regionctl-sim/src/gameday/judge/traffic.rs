//! `traffic` and `traffic-steady`: a region's share of the selected cells over time.

use super::{Game, Outcome, cells_of, label_of, service, service_and_region};
use crate::duration::{Dur, clock};
use crate::gameday::evidence::{ServiceSeries, value};
use crate::scenario::{Expectation, resolve_ref};
use regionctl_core::grid::Grid;
use regionctl_core::policy::Service;

/// The bound a `traffic` expectation sets on one region's share of each selected cell.
struct Band<'a> {
    cells: &'a [usize],
    /// Local region index.
    r: usize,
    at_most: Option<f64>,
    at_least: Option<f64>,
    tolerance: f32,
}

impl Band<'_> {
    /// The worst selected cell of a sample: (within the band, value, cell). A sample with
    /// no value for any cell is within it.
    fn worst(&self, sample: Option<&Grid<f32>>) -> (bool, f32, usize) {
        let mut worst = (true, 0.0f32, self.cells.first().copied().unwrap_or(0));
        let mut worst_dev = f32::MIN;
        for &c in self.cells {
            let Some(v) = value(sample, c, self.r) else {
                continue;
            };
            let over = self.at_most.map_or(f32::MIN, |m| v - m as f32);
            let under = self.at_least.map_or(f32::MIN, |l| l as f32 - v);
            let dev = over.max(under);
            if dev > worst_dev {
                worst_dev = dev;
                worst = (dev <= self.tolerance, v, c);
            }
        }
        worst
    }

    /// The first sample from `from` to `to` within the band (or, `within: false`, out of
    /// it): (t, value, cell).
    fn first(
        &self,
        series: &ServiceSeries,
        (from, to): (u64, u64),
        within: bool,
    ) -> Option<(u64, f32, usize)> {
        self.first_indexed(series, (from, to), within, 0)
            .map(|(_, t, v, c)| (t, v, c))
    }

    /// [`Band::first`] among the samples from index `from_index` on, with the sample's
    /// index: (index, t, value, cell).
    fn first_indexed(
        &self,
        series: &ServiceSeries,
        (from, to): (u64, u64),
        within: bool,
        from_index: usize,
    ) -> Option<(usize, u64, f32, usize)> {
        series
            .indexed_window(from, to)
            .filter(|(i, _, _)| *i >= from_index)
            .find_map(|(i, t, sample)| {
                let (ok, v, c) = self.worst(Some(sample));
                (ok == within).then_some((i, t, v, c))
            })
    }
}

/// What is being asserted, for people.
struct Wording {
    bound: String,
    scope: String,
    region: String,
    after_label: String,
    until_label: String,
}

/// Answered (or written) share of `region` in the selected cells: reached `within` a
/// deadline after `after` and held until `until`; without `within`, held from `after` to
/// `until`.
pub(super) fn traffic(game: &Game<'_>, x: &Expectation, out: Outcome) -> Outcome {
    let (s, svc, r) = match service_and_region(game, x, out.clone()) {
        Ok(found) => found,
        Err(missing) => return missing,
    };
    let end = game.end;
    let series = &game.evidence.series[s];
    let cells = cells_of(svc, x);
    let band = Band {
        cells: &cells,
        r,
        at_most: x.at_most,
        at_least: x.at_least,
        tolerance: x.tolerance_percent.unwrap_or(0.0) as f32,
    };
    let (after, after_label) = label_of(game, x.after.as_deref(), 0);
    let (until, until_label) = match &x.until {
        // A real-time target's samples carry whole seconds, and those of the `until`
        // entry's own second may be taken after the entry was played (a resume at 30.2 s,
        // the evacuation it allows sampled at 30.8 s): that second is ambiguous, so the
        // window ends before it. The simulated world's series is unchanged.
        Some(u) if series.is_sampled() => {
            let (t, label) = label_of(game, Some(u), end);
            (t.saturating_sub(1).max(after), label)
        }
        Some(u) => label_of(game, Some(u), end),
        None => (end, "the end".to_string()),
    };
    let words = Wording {
        bound: bound_text(x),
        scope: scope_text(svc, x, cells.len()),
        region: svc.regions[r].name.clone(),
        after_label,
        until_label,
    };
    match x.within {
        Some(within) => reached_and_held(
            (series, &band, svc),
            (after, within, until, end),
            &words,
            out,
        ),
        None => held(series, &band, svc, (after, until, end), &words, out),
    }
}

fn bound_text(x: &Expectation) -> String {
    match (x.at_most, x.at_least) {
        (Some(m), Some(l)) => format!("between {l}% and {m}%"),
        (Some(0.0), None) => "0%".to_string(),
        (Some(m), None) => format!("at most {m}%"),
        (None, Some(l)) => format!("at least {l}%"),
        (None, None) => "?".to_string(),
    }
}

fn scope_text(svc: &Service, x: &Expectation, cells: usize) -> String {
    if x.cells.is_empty() && x.except_cells.is_empty() {
        format!("every {} cell", svc.name)
    } else {
        format!("{cells} of {}'s cells", svc.name)
    }
}

/// `within`: the first sample in the band by the deadline, then none out of it until
/// `until`.
fn reached_and_held(
    (series, band, svc): (&ServiceSeries, &Band<'_>, &Service),
    (after, within, until, end): (u64, Dur, u64, u64),
    w: &Wording,
    mut out: Outcome,
) -> Outcome {
    let region = &w.region;
    let (after_label, until_label) = (&w.after_label, &w.until_label);
    let deadline = after + within.secs();
    out.expected = format!(
        "{} of answers to {region} in {}, within {within} after {after_label}, held until {until_label}",
        w.bound, w.scope
    );
    let Some((i0, t0, _, _)) = band.first_indexed(series, (after, deadline.min(end)), true, 0)
    else {
        let t = deadline.min(end);
        out.at = Some(t);
        let (_, v, c) = band.worst(series.at(t));
        let cell = &svc.cells[c].id;
        out.observed = if deadline > end {
            format!(
                "the game-day ended at {} before the deadline {}; {region} still answered {v:.1}% in cell {cell}",
                clock(end),
                clock(deadline),
            )
        } else {
            let later = match band.first(series, (t, end), true) {
                Some((t, _, _)) => {
                    format!("reached only at {} ({} late)", clock(t), Dur(t - deadline))
                }
                None => "never reached".to_string(),
            };
            format!(
                "not reached by the deadline {} ({within} after {after_label}): {region} still answered {v:.1}% in cell {cell} then; {later}",
                clock(deadline),
            )
        };
        return out;
    };
    // Held from the sample that reached the band on: a real-time series may hold an
    // earlier sample of the same second, taken before the change (found by the moto
    // game-day: "reached at 00:18 but broken at 00:18").
    match band
        .first_indexed(series, (t0, until.min(end)), false, i0)
        .map(|(_, t, v, c)| (t, v, c))
    {
        Some((t1, v, c)) => {
            out.at = Some(t1);
            out.observed = format!(
                "reached at {} but broken at {}: {region} answered {v:.1}% in cell {}",
                clock(t0),
                clock(t1),
                svc.cells[c].id
            );
        }
        None => {
            out.met_at(
                t0,
                format!(
                    "reached at {} ({} after {after_label}), held until {until_label}",
                    clock(t0),
                    Dur(t0 - after)
                ),
            );
        }
    }
    out
}

/// No `within`: no sample out of the band from `after` to `until`.
fn held(
    series: &ServiceSeries,
    band: &Band<'_>,
    svc: &Service,
    (after, until, end): (u64, u64, u64),
    w: &Wording,
    mut out: Outcome,
) -> Outcome {
    let region = &w.region;
    out.expected = format!(
        "{} of answers to {region} in {}, from {} until {}",
        w.bound, w.scope, w.after_label, w.until_label
    );
    let to = until.min(end);
    // A sampled (real-time) series may hold no sample at all in the window (every read
    // failed): nothing was observed, so nothing held.
    if series.is_sampled() && series.window(after, to).next().is_none() {
        out.observed = format!(
            "no traffic sample between {} and {}",
            clock(after),
            clock(to)
        );
        return out;
    }
    match band.first(series, (after, to), false) {
        Some((t1, v, c)) => {
            out.at = Some(t1);
            out.observed = format!(
                "broken at {}: {region} answered {v:.1}% in cell {}",
                clock(t1),
                svc.cells[c].id
            );
        }
        None => {
            let (_, v, c) = band.worst(series.at(to));
            out.met_at(
                to,
                format!(
                    "held throughout ({region} at {v:.1}% in cell {} at {})",
                    svc.cells[c].id,
                    clock(to)
                ),
            );
        }
    }
    out
}

/// The selected cells stay at their baseline split, ± `tolerance_percent`, from `after`
/// to `until`.
pub(super) fn traffic_steady(game: &Game<'_>, x: &Expectation, mut out: Outcome) -> Outcome {
    let Some((s, svc)) = service(game.bundle, x.service.as_deref()) else {
        return out.missing("service");
    };
    let nr = svc.regions.len();
    let series = &game.evidence.series[s];
    let cells = cells_of(svc, x);
    let tol = x.tolerance_percent.unwrap_or(1.0) as f32;
    let (after, after_label) = super::after_or_start(game, x);
    let until = x
        .until
        .as_deref()
        .and_then(|u| resolve_ref(game.scenario, u))
        .unwrap_or(game.end)
        .min(game.end);
    out.expected = format!(
        "{} cell(s) of {} stay at their baseline split (± {tol} points) from {after_label} to {}",
        cells.len(),
        svc.name,
        clock(until)
    );
    // (deviation, t, cell, region) of the largest deviation seen.
    let mut worst = (0.0f32, 0u64, 0usize, 0usize);
    let mut broken = None;
    'scan: for (t, sample) in series.window(after, until) {
        for &c in &cells {
            for r in 0..nr {
                let Some(v) = value(Some(sample), c, r) else {
                    continue;
                };
                let dev = (v - series.baseline[(c, r)]).abs();
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
                series.baseline[(c, r)]
            );
        }
        None => {
            out.met_at(
                until,
                format!(
                    "largest deviation {:.2} points (cell {}, {}, at {})",
                    worst.0,
                    svc.cells[worst.2].id,
                    svc.regions[worst.3].name,
                    clock(worst.1)
                ),
            );
        }
    }
    out
}
