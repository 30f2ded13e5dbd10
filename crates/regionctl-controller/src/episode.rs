//! Episodes: the incidents of a service, each with an identity the fleet agrees on, so that
//! a decision (and an approval of it) belongs to one incident. Pure.
//!
//! # Design
//!
//! A decision id used to hash (service, bundle hash, target state) only, and intents and
//! approvals live 90 days: the same evacuation a month later found the old intent and the
//! old approval and applied with nobody asked (issue 17). The id now also hashes the start
//! of the service's current **episode** (ADR 0012 §2).
//!
//! A service is in an episode while, in this controller's view, some (cell, region) of it
//! is not healthy (unknown included: unknown regions lose their traffic too) or its live
//! Route 53 weights are not the policy's baseline (a failback under way is still the
//! incident's episode), except that a failure after every verdict had turned healthy again
//! begins a new episode even then. The episode's identity is its start. Each controller writes the
//! starts of the episodes it sees open in its heartbeat (`Heartbeat::episodes`), and a
//! controller in an episode takes the earliest start among its own and its fresh, acting
//! peers' on the same bundle, so views converge within a heartbeat round trip. A peer's
//! start is not adopted when this controller sees the service steady, nor when it is not
//! later than the episode this controller last closed (a slow peer must not reopen the
//! previous incident); starts from the future were already dropped on reading
//! ([`crate::admit`]). Heartbeats also carry the start of the last episode their writer saw
//! close (`Heartbeat::episodes_closed`): a controller whose open episode a fresh acting
//! peer has closed closes it too, and joins the peers' newer episode or opens its own.

use crate::journal::Heartbeat;
use regionctl_core::health::{HealthView, Verdict};
use regionctl_core::live::LiveState;
use regionctl_core::policy::{Bundle, Service};
use regionctl_core::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

/// The episodes this controller sees, carried from pass to pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Episodes {
    /// Open episodes' starts, by service name.
    pub open: BTreeMap<String, Timestamp>,
    /// The start of the last episode this controller saw close, by service name.
    pub closed: BTreeMap<String, Timestamp>,
    /// Services every (cell, region) of which was healthy in the last pass's view.
    pub healthy: BTreeSet<String>,
}

/// True when `service` (index `s`) is in an episode in this view: some verdict not healthy,
/// or some live weight not the baseline's.
pub fn in_episode(service: &Service, s: usize, health: &HealthView, live: &LiveState) -> bool {
    let not_healthy = health.services[s]
        .entries
        .iter()
        .any(|e| e.verdict != Verdict::Healthy);
    let off_baseline = service.cells.iter().enumerate().any(|(c, cell)| {
        cell.baseline_weights
            .iter()
            .enumerate()
            .any(|(r, base)| live.services[s].weights.get(c, r).copied().flatten() != Some(*base))
    });
    not_healthy || off_baseline
}

/// True when every (cell, region) of service `s` is healthy in `health`.
fn all_healthy(s: usize, health: &HealthView) -> bool {
    health.services[s]
        .entries
        .iter()
        .all(|e| e.verdict == Verdict::Healthy)
}

/// This pass's episodes: `previous` moved on by this pass's view and the starts that
/// `peers` (fresh heartbeats on this bundle: acting peers and this controller's own) report.
pub fn step(
    previous: &Episodes,
    bundle: &Bundle,
    (health, live): (&HealthView, &LiveState),
    peers: &[&Heartbeat],
    now: Timestamp,
) -> Episodes {
    let mut next = Episodes {
        open: BTreeMap::new(),
        closed: previous.closed.clone(),
        healthy: BTreeSet::new(),
    };
    for (s, service) in bundle.services.iter().enumerate() {
        let name = &service.name;
        let healthy = all_healthy(s, health);
        if healthy {
            next.healthy.insert(name.clone());
        }
        if !in_episode(service, s, health, live) {
            if let Some(start) = previous.open.get(name) {
                next.closed.insert(name.clone(), *start);
            }
            continue;
        }
        // A failure after every verdict had turned healthy again is a new incident, even
        // while the last one's failback is under way (or stalled, awaiting an approval):
        // the approval of the last evacuation must not authorise this one (simulate,
        // `approved-in-episode`, seeds 3, 26, 61, 179 of the example policies).
        let refailed = !healthy && previous.healthy.contains(name);
        let previous_start = previous.open.get(name).copied();
        let over = refailed || previous_start.is_some_and(|s| closed_by_a_peer(name, s, peers));
        if over && let Some(start) = previous_start {
            next.closed.insert(name.clone(), start);
        }
        let last_closed = next.closed.get(name).copied();
        let own = previous_start.filter(|_| !over).unwrap_or(now);
        let start = peers
            .iter()
            .filter_map(|h| h.episodes.get(name).copied())
            .filter(|t| last_closed.is_none_or(|c| *t > c))
            .fold(own, Timestamp::min);
        next.open.insert(name.clone(), start);
    }
    next
}

/// True when a fresh acting peer saw the episode that began at `start` (or a later one)
/// close. Peers in one episode agree on its earliest start within a heartbeat round trip,
/// but a peer that closed an episode never adopts its start again; a controller that was
/// blind while the service was steady (its APIs unreachable) came back still holding the
/// old start, kept it as the earliest, and re-applied the old incident's approved
/// evacuation and failback stages a quarter of an hour later, one of them after the
/// next incident had begun (simulate seed 1202 of the served policies,
/// `approved-in-episode`). Its own heartbeat counts too: what it closed is older than
/// what it holds open.
fn closed_by_a_peer(service: &str, start: Timestamp, peers: &[&Heartbeat]) -> bool {
    peers
        .iter()
        .filter_map(|h| h.episodes_closed.get(service))
        .any(|closed| *closed >= start)
}

#[cfg(test)]
mod tests;
