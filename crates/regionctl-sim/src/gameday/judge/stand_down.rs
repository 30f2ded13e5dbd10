//! `stand-down`: the controller in a region stood down (or never did) in a window, for a
//! reason containing given text.

use super::{Game, Outcome, after_or_start};
use crate::duration::clock;
use crate::scenario::{Expectation, resolve_ref};

pub(super) fn stand_down(game: &Game<'_>, x: &Expectation, mut out: Outcome) -> Outcome {
    let Some(region) = x.region.clone() else {
        return out.missing("region");
    };
    let want = x.stood_down.unwrap_or(true);
    let (after, after_label) = after_or_start(game, x);
    let until = match (x.within, &x.until) {
        (Some(w), _) => after + w.secs(),
        (None, Some(u)) => resolve_ref(game.scenario, u).unwrap_or(game.end),
        (None, None) => game.end,
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
    let from = after.saturating_sub(game.evidence.slack_secs);
    let first = game.evidence.stand_downs.get(&region).and_then(|v| {
        v.iter().find(|(t, why)| {
            *t >= from
                && *t <= until
                && why
                    .as_ref()
                    .is_some_and(|w| needle.as_ref().is_none_or(|n| w.to_lowercase().contains(n)))
        })
    });
    out.met = first.is_none() != want;
    out.at = first.map(|(t, _)| *t);
    out.observed = match first {
        Some((t, why)) => format!(
            "stood down at {}: {}",
            clock(*t),
            why.clone().unwrap_or_default()
        ),
        None => "did not stand down".to_string(),
    };
    out
}
