//! `failback`: a region back at its baseline share of every selected cell in time, in at
//! least `min_stages` rising weight changes.

use super::{Game, Outcome, cells_of, label_of, service_and_region};
use crate::duration::{Dur, clock};
use crate::gameday::evidence::{ServiceSeries, value};
use crate::gameday::{at, t_of};
use crate::scenario::Expectation;
use regionctl_core::grid::Grid;
use regionctl_core::policy::Service;

pub(super) fn failback(game: &Game<'_>, x: &Expectation, out: Outcome) -> Outcome {
    let (s, svc, r) = match service_and_region(game, x, out.clone()) {
        Ok(found) => found,
        Err(missing) => return missing,
    };
    let mut out = out;
    let end = game.end;
    let series = &game.evidence.series[s];
    let region = &svc.regions[r].name;
    let cells = cells_of(svc, x);
    let tol = x.tolerance_percent.unwrap_or(1.0) as f32;
    let default_after = game.scenario.timeline.last().map_or(0, |e| e.at.secs());
    let (after, after_label) = match &x.after {
        Some(a) => label_of(game, Some(a), default_after),
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
    let at_baseline = |sample: &Grid<f32>| {
        cells.iter().all(|&c| {
            value(Some(sample), c, r).is_some_and(|v| (v - series.baseline[(c, r)]).abs() <= tol)
        })
    };
    let done = series
        .window(after, deadline.min(end))
        .find(|(_, sample)| at_baseline(sample))
        .map(|(t, _)| t);
    let (stages, stages_text) = stages(game, (s, svc), &cells, r, (after, done));
    match done {
        Some(t) if stages >= min_stages as usize => {
            out.met_at(
                t,
                format!(
                    "back at baseline at {} ({} after {after_label}); {stages_text}",
                    clock(t),
                    Dur(t - after)
                ),
            );
        }
        Some(t) => {
            out.at = Some(t);
            out.observed = format!(
                "back at baseline at {} but in {stages} stage(s), fewer than {min_stages}; {stages_text}",
                clock(t),
            );
        }
        None => {
            let t = deadline.min(end);
            out.at = Some(t);
            let now = worst_now(series, svc, &cells, r, t);
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
    out
}

/// Stages: rising weight writes to the first selected cell serving the region, from
/// `after` until it was back (if it was). How many, and their description.
fn stages(
    game: &Game<'_>,
    (s, svc): (usize, &Service),
    cells: &[usize],
    r: usize,
    (after, done): (u64, Option<u64>),
) -> (usize, String) {
    let stage_cell = cells
        .iter()
        .copied()
        .find(|c| svc.cells[*c].baseline_weights[r] > 0)
        .unwrap_or(0);
    let stages: Vec<String> = game
        .evidence
        .changes
        .rising_weights(s, svc, stage_cell, r)
        .into_iter()
        .filter(|(when, _, _)| *when >= at(after) && done.is_none_or(|d| *when <= at(d)))
        .map(|(when, from, to)| format!("{}→{} at {}", from.unwrap_or(0), to, clock(t_of(when))))
        .collect();
    let text = if stages.is_empty() {
        "no rising weight writes".to_string()
    } else {
        format!(
            "weights of cell {}: {}",
            svc.cells[stage_cell].id,
            stages.join(", ")
        )
    };
    (stages.len(), text)
}

/// The selected cell furthest from its baseline at `t`, for people.
fn worst_now(series: &ServiceSeries, svc: &Service, cells: &[usize], r: usize, t: u64) -> String {
    let sample = series.at(t);
    let worst = cells
        .iter()
        .filter_map(|&c| value(sample, c, r).map(|v| (v, c)))
        .max_by(|a, b| {
            (a.0 - series.baseline[(a.1, r)])
                .abs()
                .total_cmp(&(b.0 - series.baseline[(b.1, r)]).abs())
        });
    worst.map_or(String::new(), |(v, c)| {
        format!(
            "{} answered {v:.1}% in cell {} (baseline {:.1}%)",
            svc.regions[r].name,
            svc.cells[c].id,
            series.baseline[(c, r)]
        )
    })
}
