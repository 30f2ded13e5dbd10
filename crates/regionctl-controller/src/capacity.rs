//! ECS desired/running counts within a read budget (issue 18).
//!
//! ECS throttles `DescribeServices` per account and region (a token bucket shared by every
//! tool; about 20 reads per second sustained). Reading each service of each region one call
//! at a time, every pass, three controllers made 300 calls/s per region at 1,000 services.
//! Now:
//!
//! - **Batched.** One call carries up to ten services of one cluster
//!   ([`DESCRIBE_SERVICES_MAX`]).
//! - **Spread.** A pass makes at most `capacity_reads.calls_per_sec` × tick calls per
//!   region ([`calls_per_pass`]), going on where the last pass stopped: a round. A region
//!   whose services fit in one pass's calls (the examples: one call) is read whole every
//!   pass, as before. Between reads a service's counts come from this controller's copy.
//! - **Fresh before acting.** The services a pass would act on are read again just before
//!   ([`refresh`]; [`crate::planning`] plans again from what they show): a scale computed
//!   from an old desired count could undo what autoscaling or a peer did since, and a
//!   readiness gate could open on tasks that have stopped.
//!
//! A read that fails leaves the counts unknown for that pass (`None`), as before budgets.

use crate::ports::{Compute, DESCRIBE_SERVICES_MAX};
use regionctl_core::live::{EcsState, LiveState};
use regionctl_core::policy::{Bundle, Service};
use regionctl_core::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Calls per second per region when the controller config does not say.
pub const DEFAULT_CALLS_PER_SEC: f64 = 2.0;

/// `DescribeServices` calls a pass may make per region (besides the reads before acting).
pub fn calls_per_pass(bundle: &Bundle) -> usize {
    let rate = bundle
        .controller
        .as_ref()
        .and_then(|c| c.capacity_reads.calls_per_sec)
        .unwrap_or(DEFAULT_CALLS_PER_SEC);
    // Float to count: a budget below one call per pass still makes one.
    ((rate * bundle.tick_secs() as f64).floor() as usize).max(1)
}

/// One ECS service: (region, cluster, service name).
type Key = (String, String, String);

/// The counts of one service as last read: `None` when it did not exist.
#[derive(Debug, Clone, Copy)]
struct Counted {
    state: Option<EcsState>,
    read_at: Timestamp,
}

/// This controller's copies of the ECS counts, and where each region's round goes on.
#[derive(Debug, Clone, Default)]
pub struct CapacityCache {
    copies: HashMap<Key, Counted>,
    /// Per region: the index (into [`services_by_region`]'s list) the next read starts at.
    cursor: HashMap<String, usize>,
}

/// What one pass's reads did.
#[derive(Debug, Clone, Default)]
pub struct CapacityPass {
    /// Reads that failed, one line per region (or per batch read before acting).
    pub failures: Vec<String>,
    /// `DescribeServices` calls made.
    pub calls: usize,
}

/// Every ECS service of the bundle, per region, sorted by (cluster, service) so that a run
/// of the list is a batch of one cluster.
fn services_by_region(bundle: &Bundle) -> BTreeMap<&str, Vec<(&str, &str)>> {
    let mut by_region: BTreeMap<&str, BTreeSet<(&str, &str)>> = BTreeMap::new();
    for service in &bundle.services {
        for (r, key) in keys_of(service) {
            by_region
                .entry(service.regions[r].name.as_str())
                .or_default()
                .insert(key);
        }
    }
    by_region
        .into_iter()
        .map(|(region, keys)| (region, keys.into_iter().collect()))
        .collect()
}

/// `service`'s ECS services as (local region, (cluster, name)).
fn keys_of(service: &Service) -> impl Iterator<Item = (usize, (&str, &str))> {
    service.ecs.iter().flat_map(|e| {
        (0..e.clusters.len()).map(move |r| (r, (e.clusters[r].as_str(), e.services[r].as_str())))
    })
}

/// The batches of `list` from `start`, each one cluster and at most ten services, at most
/// `calls` of them and never past one full turn of the list: (cluster, names, next index).
fn batches<'b>(
    list: &[(&'b str, &'b str)],
    start: usize,
    calls: usize,
) -> Vec<(&'b str, Vec<String>, usize)> {
    let n = list.len();
    let mut out = Vec::new();
    let mut i = start % n.max(1);
    let mut taken = 0;
    while out.len() < calls && taken < n {
        let cluster = list[i].0;
        let mut names = Vec::new();
        while names.len() < DESCRIBE_SERVICES_MAX && taken < n && list[i].0 == cluster {
            names.push(list[i].1.to_string());
            taken += 1;
            i = (i + 1) % n;
            if i == 0 {
                break;
            }
        }
        out.push((cluster, names, i));
    }
    out
}

impl CapacityCache {
    /// This pass's reads: up to [`calls_per_pass`] calls per region, going on with the
    /// round. Copies of services the pass could not read stay as they were.
    pub async fn read<W: Compute>(
        &mut self,
        world: &W,
        bundle: &Bundle,
        now: Timestamp,
    ) -> CapacityPass {
        let calls = calls_per_pass(bundle);
        let mut pass = CapacityPass::default();
        for (region, list) in services_by_region(bundle) {
            let start = self.cursor.get(region).copied().unwrap_or(0);
            let mut failed = false;
            for (cluster, names, next) in batches(&list, start, calls) {
                if failed {
                    // Due this pass, not asked again of a failing region: unknown too.
                    self.forget(region, cluster, &names, now);
                    continue;
                }
                pass.calls += 1;
                match world.describe_services(region, cluster, &names).await {
                    Ok(states) => {
                        self.store(region, cluster, &names, states, now);
                        self.cursor.insert(region.to_string(), next);
                    }
                    Err(e) => {
                        // Unknown this pass; the round resumes here next pass.
                        self.forget(region, cluster, &names, now);
                        pass.failures
                            .push(format!("ECS in {region} unreadable: {}", e.message()));
                        failed = true;
                    }
                }
            }
        }
        pass
    }

    /// Reads again, in batches, the ECS services of `services` (indices into the bundle)
    /// not read at `now`, and puts every copy of theirs into `live`.
    pub async fn refresh<W: Compute>(
        &mut self,
        world: &W,
        bundle: &Bundle,
        services: &BTreeSet<usize>,
        now: Timestamp,
        live: &mut LiveState,
    ) -> CapacityPass {
        let mut stale: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
        for &s in services {
            for (r, (cluster, name)) in keys_of(&bundle.services[s]) {
                let region = bundle.services[s].regions[r].name.as_str();
                if !self.read_at(region, cluster, name, now) {
                    stale.entry((region, cluster)).or_default().insert(name);
                }
            }
        }
        let mut pass = CapacityPass::default();
        for ((region, cluster), names) in stale {
            let names: Vec<String> = names.into_iter().map(str::to_string).collect();
            for chunk in names.chunks(DESCRIBE_SERVICES_MAX) {
                pass.calls += 1;
                match world.describe_services(region, cluster, chunk).await {
                    Ok(states) => self.store(region, cluster, chunk, states, now),
                    Err(e) => {
                        self.forget(region, cluster, chunk, now);
                        pass.failures.push(format!(
                            "ECS in {region} not re-read before acting: {}",
                            e.message()
                        ));
                    }
                }
            }
        }
        for &s in services {
            live.services[s].ecs = self.counts_of(&bundle.services[s]);
        }
        pass
    }

    /// `service`'s counts per local region from the copies (`None` where unknown).
    pub fn counts_of(&self, service: &Service) -> Vec<Option<EcsState>> {
        let mut counts = vec![None; service.regions.len()];
        for (r, (cluster, name)) in keys_of(service) {
            let key = (
                service.regions[r].name.clone(),
                cluster.to_string(),
                name.to_string(),
            );
            counts[r] = self.copies.get(&key).and_then(|c| c.state);
        }
        counts
    }

    /// Whether the service's copy was read at `now` (this pass).
    fn read_at(&self, region: &str, cluster: &str, name: &str, now: Timestamp) -> bool {
        let key = (region.to_string(), cluster.to_string(), name.to_string());
        self.copies.get(&key).is_some_and(|c| c.read_at == now)
    }

    fn store(
        &mut self,
        region: &str,
        cluster: &str,
        names: &[String],
        states: Vec<Option<EcsState>>,
        now: Timestamp,
    ) {
        for (name, state) in names.iter().zip(states) {
            let key = (region.to_string(), cluster.to_string(), name.clone());
            self.copies.insert(
                key,
                Counted {
                    state,
                    read_at: now,
                },
            );
        }
    }

    /// Unknown until read again: a failed read is not evidence of the old counts (and, read
    /// at `now`, not tried again before acting in the same pass).
    fn forget(&mut self, region: &str, cluster: &str, names: &[String], now: Timestamp) {
        let unknown = vec![None; names.len()];
        self.store(region, cluster, names, unknown, now);
    }

    /// The age in seconds of the oldest copy in use at `now` (0 when there is none).
    pub fn oldest_secs(&self, now: Timestamp) -> u64 {
        self.copies
            .values()
            .map(|c| now.secs_since(c.read_at))
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests;
