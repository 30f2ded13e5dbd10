//! `decisions` (how many were recorded) and `decision` (one with given reasons and status,
//! in time).

use super::{Game, Outcome, after_or_start, service};
use crate::duration::clock;
use crate::gameday::evidence::SeenDecision;
use crate::scenario::Expectation;

/// The number of decisions recorded for `service` (every service if unset) is within
/// `at_most` / `at_least`.
pub(super) fn decisions(game: &Game<'_>, x: &Expectation, mut out: Outcome) -> Outcome {
    let mut list: Vec<&SeenDecision> = game
        .evidence
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
    out
}

/// A decision for `service` whose texts contain `reason_contains` (any case) and that
/// reached `status`, recorded between `after` and the deadline.
pub(super) fn decision(game: &Game<'_>, x: &Expectation, mut out: Outcome) -> Outcome {
    let Some((_, svc)) = service(game.bundle, x.service.as_deref()) else {
        return out.missing("service");
    };
    let (after, after_label) = after_or_start(game, x);
    let deadline = x.within.map(|w| after + w.secs());
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
    let candidates = matching(game, x, &svc.name);
    let from = after.saturating_sub(game.evidence.slack_secs);
    let timely = candidates
        .iter()
        .find(|d| d.first_t >= from && deadline.is_none_or(|dl| d.first_t <= dl));
    match (timely, candidates.first()) {
        (Some(d), _) => {
            let statuses: Vec<String> = d
                .statuses
                .iter()
                .map(|(t, by, st)| format!("{st} ({by} {})", clock(*t)))
                .collect();
            out.met_at(
                d.first_t,
                format!(
                    "decision {} recorded at {} by {}, statuses {}: {}",
                    d.id,
                    clock(d.first_t),
                    d.recorded_by,
                    statuses.join(" → "),
                    d.headline()
                ),
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
        (None, None) => out.observed = none_matching(game, &svc.name),
    }
    out
}

/// The service's decisions whose texts and statuses match, in id order.
fn matching<'g>(game: &Game<'g>, x: &Expectation, service: &str) -> Vec<&'g SeenDecision> {
    let needle = x.reason_contains.as_deref().map(str::to_lowercase);
    game.evidence
        .decisions
        .values()
        .filter(|d| d.service == service)
        .filter(|d| {
            needle
                .as_ref()
                .is_none_or(|n| d.texts().iter().any(|t| t.to_lowercase().contains(n)))
        })
        .filter(|d| {
            x.status.as_ref().is_none_or(|st| {
                d.statuses.iter().any(|(_, _, s)| s.as_str() == st)
                    || d.outcomes.iter().any(|o| o.status.as_str() == st)
            })
        })
        .collect()
}

/// What was recorded instead, when nothing matched.
fn none_matching(game: &Game<'_>, service: &str) -> String {
    let others: Vec<String> = game
        .evidence
        .decisions
        .values()
        .filter(|d| d.service == service)
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
    if others.is_empty() {
        format!("no decision for {service} at all")
    } else {
        format!("no matching decision; recorded: {}", others.join("; "))
    }
}
