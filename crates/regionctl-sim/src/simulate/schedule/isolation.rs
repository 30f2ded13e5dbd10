//! Isolations (issue 21): one controller's region cut off from every other at once, with
//! and without a real outage. Drawn from their own stream, and only for policies with
//! `served` signals, so every other seed's schedule stays as it was.

use super::FaultCounts;
use super::{Gen, Pools, Window, count, edge_entry, entry};
use crate::scenario::{TimelineEntry, What};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use regionctl_core::policy::Bundle;
use regionctl_core::policy::raw::SignalRole;

/// The isolation faults' stream (issue 21), drawn only for policies with `served` signals,
/// so every other seed's schedule stays as it was.
const ISOLATION_STREAM: u64 = 0x150_u64;
/// Odds (percent) that a seed of such policies isolates one controller's region.
const ISOLATION_PERCENT: u64 = 50;
/// Odds (percent) that an isolation comes with a real outage of the region (a black hole).
const ISOLATION_OUTAGE_PERCENT: u64 = 50;
/// Seed `seed`'s isolation faults, if the bundle has `served` signals.
pub(super) fn faults(
    seed: u64,
    bundle: &Bundle,
    window: &Window,
    pools: &Pools<'_>,
    counts: &mut FaultCounts,
) -> Vec<TimelineEntry> {
    if !has_served_signals(bundle) {
        return Vec::new();
    }
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(seed ^ ISOLATION_STREAM.rotate_left(32)),
    };
    isolate(&mut g, window, pools, counts)
}

/// True when some service has a `served` signal: only then can the fleet tell a
/// partition from an outage, and only then do isolations test anything new.
fn has_served_signals(bundle: &Bundle) -> bool {
    bundle
        .services
        .iter()
        .any(|s| s.health.alarms.iter().any(|b| b.role == SignalRole::Served))
}

/// An isolation (issue 21): one controller's region is partitioned from every other
/// controller's at once (journal replication and the peers' probes of it stop, its users
/// are still served), and half the time its endpoints really fail too (a black hole, no
/// users served). Counted as `isolation` and `isolation-with-outage`.
fn isolate(
    g: &mut Gen,
    window: &Window,
    pools: &Pools<'_>,
    counts: &mut FaultCounts,
) -> Vec<TimelineEntry> {
    if !g.chance(ISOLATION_PERCENT) {
        return Vec::new();
    }
    let (first, recovery) = edge_entry(g, window, &[], ("i1-isolate", What::Partition, 0));
    let Some(region) = g.pick(pools.controllers).cloned() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut ids = Vec::new();
    for (n, other) in pools
        .controllers
        .iter()
        .filter(|c| **c != region)
        .enumerate()
    {
        let id = format!("i1-isolate-{n}");
        let mut e = entry(first.at.secs(), Some(id.clone()), What::Partition);
        e.place.between = Some(vec![region.clone(), other.clone()]);
        out.push(e);
        ids.push(id);
    }
    count(counts, "isolation");
    if g.chance(ISOLATION_OUTAGE_PERCENT) {
        let id = "i2-black-hole".to_string();
        let mut e = entry(first.at.secs(), Some(id.clone()), What::EndpointsFail);
        e.place.region = Some(region);
        out.push(e);
        ids.push(id);
        count(counts, "isolation-with-outage");
    }
    let mut heal = entry(recovery.at.secs(), None, What::Recover);
    heal.faults = ids;
    out.push(heal);
    out
}
