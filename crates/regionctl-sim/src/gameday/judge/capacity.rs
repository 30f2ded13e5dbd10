//! `capacity-before-traffic`: a region's ECS desired count is raised before its share of
//! the service rises.
//!
//! On the simulated world the effect log says when each happened. In real time ECS counts
//! and switches are not observed: the evidence is the order of the steps in the first
//! decision that shifts traffic (the controllers apply steps in plan order, and a shift
//! waits for the capacity before it).

use super::{Game, Outcome, label_of, service_and_region};
use crate::duration::clock;
use crate::gameday::evidence::{Changes, SeenDecision};
use crate::gameday::{at, t_of};
use crate::scenario::Expectation;
use crate::world::route53::normalize;
use crate::world::{Effect, EffectKind};
use regionctl_core::policy::{Ecs, Service};
use std::collections::BTreeMap;

/// Record key (name, set identifier) → (cell, local region, weight now).
type Weights = BTreeMap<(String, String), (usize, usize, u8)>;

pub(super) fn capacity_before_traffic(game: &Game<'_>, x: &Expectation, out: Outcome) -> Outcome {
    let (_, svc, r) = match service_and_region(game, x, out.clone()) {
        Ok(found) => found,
        Err(missing) => return missing,
    };
    let mut out = out;
    let region = &svc.regions[r].name;
    let (after, after_label) = label_of(game, x.after.as_deref(), 0);
    out.expected = format!(
        "{}'s ECS desired count in {region} is raised before its Route 53 share rises (after {after_label})",
        svc.name
    );
    let Some(ecs) = &svc.ecs else {
        out.observed = format!("{} has no ECS capacity in its policy", svc.name);
        return out;
    };
    match &game.evidence.changes {
        Changes::Recorded(effects) => from_effects(effects, svc, ecs, r, after, out),
        Changes::Sampled(_) => {
            let after = after.saturating_sub(game.evidence.slack_secs);
            from_steps(game, svc, region, after, out)
        }
    }
}

/// From the effect log: the first ECS scale-up of the region after `after`, and the first
/// effect after `after` that raised its share of some cell.
fn from_effects(
    effects: &[Effect],
    svc: &Service,
    ecs: &Ecs,
    r: usize,
    after: u64,
    mut out: Outcome,
) -> Outcome {
    let region = &svc.regions[r].name;
    let since = at(after);
    let weight = share_rise(effects, svc, r, since);
    let scale = effects.iter().find(|e| {
        e.at >= since
            && matches!(&e.what, EffectKind::Scale { region: rg, cluster, service, from, to }
                if rg == region && cluster == &ecs.clusters[r] && service == &ecs.services[r] && to > from)
    });
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
            out.met_at(
                t_of(w.at),
                format!(
                    "capacity first ({}), then its share rose with {} at {} by {}",
                    describe_scale(sc),
                    how(w),
                    clock(t_of(w.at)),
                    w.by
                ),
            );
        }
        (sc, Some(w)) => {
            out.at = Some(t_of(w.at));
            out.observed = format!(
                "its share rose with {} at {} by {} before any capacity was asked for{}",
                how(w),
                clock(t_of(w.at)),
                w.by,
                sc.map_or(" (never)".to_string(), |s| format!(
                    " (capacity came later: {})",
                    describe_scale(s)
                ))
            );
        }
    }
    out
}

/// The first effect from `since` that raised region `r`'s share of some cell: a weight
/// write (replayed from the baseline, by written weights), or a data-plane switch turning
/// another region off (which raises its share just as a weight write does, once Route
/// 53's health checks follow), whichever came first.
fn share_rise<'e>(
    effects: &'e [Effect],
    svc: &Service,
    r: usize,
    since: regionctl_core::time::Timestamp,
) -> Option<&'e Effect> {
    let zone = &svc.routing.hosted_zone_id;
    let nr = svc.regions.len();
    let mut current: Weights = BTreeMap::new();
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
    let mut weight = None;
    for e in effects {
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
            let before = share(&current, nr, r, slot.0);
            current.insert(
                (name.clone(), set_identifier.clone()),
                (slot.0, slot.1, *to),
            );
            if e.at >= since && share(&current, nr, r, slot.0) > before + 1e-9 {
                weight = Some(e);
                break;
            }
        }
    }
    let others: Vec<String> = regionctl_core::switch::switches_of(svc)
        .into_iter()
        .filter(|(_, rr, _)| *rr != r)
        .map(|(_, _, x)| x.alarm_name)
        .collect();
    let switch_off = effects.iter().find(|e| {
        e.at >= since
            && matches!(&e.what, EffectKind::Switch { alarm_name, on: false, .. }
                if others.contains(alarm_name))
    });
    match (weight, switch_off) {
        (Some(w), Some(sw)) if sw.seq < w.seq => Some(sw),
        (None, Some(sw)) => Some(sw),
        (w, _) => w,
    }
}

/// Region `r`'s share of cell `c` by the weights in `current` (an even split when every
/// weight is 0).
fn share(current: &Weights, nr: usize, r: usize, c: usize) -> f64 {
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
}

fn how(e: &Effect) -> String {
    match &e.what {
        EffectKind::Switch { alarm_name, .. } => {
            format!("the data-plane switch {alarm_name} turned off")
        }
        _ => "weights written".to_string(),
    }
}

fn describe_scale(e: &Effect) -> String {
    match &e.what {
        EffectKind::Scale { from, to, .. } => {
            format!("desired {from} → {to} at {} by {}", clock(t_of(e.at)), e.by)
        }
        _ => String::new(),
    }
}

/// From the journal: in the first decision from `after` that shifts traffic, a step
/// scaling the region comes before the first shift.
fn from_steps(
    game: &Game<'_>,
    svc: &Service,
    region: &str,
    after: u64,
    mut out: Outcome,
) -> Outcome {
    let mut list: Vec<&SeenDecision> = game
        .evidence
        .decisions
        .values()
        .filter(|d| d.service == svc.name && d.first_t >= after)
        .collect();
    list.sort_by_key(|d| (d.first_t, d.id.clone()));
    let shifting = list.into_iter().find_map(|d| {
        let record = d.record.as_ref()?;
        record
            .steps
            .iter()
            .any(|s| s.kind == "shift")
            .then_some((d, record))
    });
    let Some((d, record)) = shifting else {
        out.observed = "no decision that shifts traffic".into();
        return out;
    };
    let steps = &record.steps;
    let shift = steps.iter().position(|s| s.kind == "shift");
    let scale = steps
        .iter()
        .position(|s| s.kind == "scale" && s.description.contains(region));
    out.met = matches!((scale, shift), (Some(a), Some(b)) if a < b);
    out.at = Some(d.first_t);
    out.observed = format!(
        "decision {} steps: {}",
        d.id,
        steps
            .iter()
            .map(|s| s.description.as_str())
            .collect::<Vec<_>>()
            .join(" → ")
    );
    out
}
