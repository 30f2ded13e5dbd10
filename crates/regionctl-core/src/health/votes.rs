//! Probe votes: every observer's verdicts as one vote per (service, region, class), and a
//! region's votes held against the quorum (with its running capacity as readiness).

use super::Observations;
use crate::policy::raw::SignalRole;
use crate::policy::{RegionIx, Service};
use crate::time::Timestamp;

/// One observer's vote on one (service, local region) in one class: failing if any of its
/// verdicts fails, since the earliest failing one; else succeeding, since the earliest.
#[derive(Debug, Clone, Copy)]
pub(super) struct Vote {
    /// (service, local region, observer, class): the order votes are sorted in.
    pub(super) key: (usize, usize, RegionIx, VoteClass),
    pub(super) ok: bool,
    pub(super) since: Timestamp,
}

/// How an observer's probe verdicts are grouped into one vote: acting probes (failure and
/// critical together, as before roles existed), critical ones again on their own, shadow
/// ones apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum VoteClass {
    Acting,
    Critical,
    Shadow,
}

impl VoteClass {
    fn of(role: SignalRole) -> impl Iterator<Item = VoteClass> {
        let classes: &[VoteClass] = match role {
            SignalRole::Critical => &[VoteClass::Acting, VoteClass::Critical],
            SignalRole::Shadow => &[VoteClass::Shadow],
            // `served` and `load` probes are refused by the loader.
            _ => &[VoteClass::Acting],
        };
        classes.iter().copied()
    }
}

/// Every probe verdict as one vote per (service, region, observer, class), sorted by
/// that key. An observer that reports twice (several probe targets) still counts once:
/// failing if any of its verdicts fails, since the earliest such verdict (the result does
/// not depend on the order verdicts arrive in).
pub(super) fn tally_votes(observations: &Observations) -> Vec<Vote> {
    let mut votes: Vec<Vote> = Vec::with_capacity(observations.probes.len());
    for p in &observations.probes {
        for class in VoteClass::of(p.role) {
            votes.push(Vote {
                key: (p.service, p.r, p.observer, class),
                ok: p.ok,
                since: p.since,
            });
        }
    }
    // A sorted vector rather than a map: 25,000 verdicts a pass at fleet scale.
    votes.sort_unstable_by_key(|v| v.key);
    votes.dedup_by(|later, kept| {
        if later.key != kept.key {
            return false;
        }
        if kept.ok && !later.ok {
            (kept.ok, kept.since) = (false, later.since);
        } else if kept.ok == later.ok {
            kept.since = kept.since.min(later.since);
        }
        true
    });
    votes
}

/// Splits off the front of the sorted `rest` the items `order` says are `Equal` (after
/// skipping those it says are `Less`), and returns them.
pub(super) fn take_leading<'a>(
    rest: &mut &'a [Vote],
    order: impl Fn(&Vote) -> std::cmp::Ordering,
) -> &'a [Vote] {
    let start = rest.partition_point(|v| order(v).is_lt());
    let len = rest[start..].partition_point(|v| order(v).is_eq());
    let (mine, tail) = rest[start..].split_at(len);
    *rest = tail;
    mine
}

/// What the observers' probes and the running capacity say about one region.
pub(super) struct RegionSignals {
    /// When a quorum of observers first saw it failing.
    pub(super) down_since: Option<Timestamp>,
    /// When a quorum of observers first reached it.
    pub(super) reachable_since: Option<Timestamp>,
    /// Running capacity counts as readiness.
    pub(super) capacity_ready: bool,
    /// Observers failing / reaching it (for the evidence).
    pub(super) probes_failing: u16,
    pub(super) probes_ok: u16,
    /// When the first observer still failing its `critical` probes started failing them.
    pub(super) critical_since: Option<Timestamp>,
    /// Observers failing `critical` and `shadow` probes (for the evidence).
    pub(super) critical_failing: u16,
    pub(super) shadow_failing: u16,
}

/// Scratch for [`region_signals`]: the `since` of each failing and each succeeding acting
/// vote, reused from region to region.
#[derive(Default)]
pub(super) struct Sinces {
    pub(super) failing: Vec<Timestamp>,
    pub(super) ok: Vec<Timestamp>,
}

/// Region `r`'s probe votes (one per observer and class, sorted) against the quorum, and
/// its capacity readiness.
pub(super) fn region_signals(
    service: &Service,
    s: usize,
    r: usize,
    observations: &Observations,
    votes: &[Vote],
    quorum: usize,
    scratch: &mut Sinces,
) -> RegionSignals {
    let Sinces { failing, ok } = scratch;
    failing.clear();
    ok.clear();
    let mut critical_since: Option<Timestamp> = None;
    let (mut critical_failing, mut shadow_failing) = (0u16, 0u16);
    for v in votes {
        match (v.key.3, v.ok) {
            (VoteClass::Acting, true) => ok.push(v.since),
            (VoteClass::Acting, false) => failing.push(v.since),
            (VoteClass::Critical, false) => {
                critical_failing = critical_failing.saturating_add(1);
                critical_since = Some(critical_since.map_or(v.since, |t| t.min(v.since)));
            }
            (VoteClass::Shadow, false) => shadow_failing = shadow_failing.saturating_add(1),
            (VoteClass::Critical | VoteClass::Shadow, true) => {}
        }
    }
    let probes_failing = u16::try_from(failing.len()).unwrap_or(u16::MAX);
    let probes_ok = u16::try_from(ok.len()).unwrap_or(u16::MAX);
    // The time the quorum was first reached: the quorum-th earliest `since`.
    failing.sort_unstable();
    ok.sort_unstable();
    let down_since = (failing.len() >= quorum).then(|| failing[quorum - 1]);
    let reachable_since = (ok.len() >= quorum).then(|| ok[quorum - 1]);
    let capacity_ready = service.health.readiness_from_capacity
        && service.ecs.as_ref().is_some_and(|e| {
            let running = observations
                .running
                .get(s)
                .and_then(|v| v.get(r))
                .copied()
                .flatten()
                .unwrap_or(0);
            running > 0 && running >= e.ready_threshold(e.standby_count.max(1))
        });
    RegionSignals {
        down_since,
        reachable_since,
        capacity_ready,
        probes_failing,
        probes_ok,
        critical_since,
        critical_failing,
        shadow_failing,
    }
}
