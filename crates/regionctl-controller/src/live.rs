//! The pass's live-state stage: Route 53 weights, ECS counts ([`crate::capacity`]), ALB
//! splits and data-plane switches read into [`LiveState`], indexed like the bundle.
//!
//! A zone read less than [`crate::memory::ZONE_MAX_AGE_TICKS`] ticks ago (longer for a
//! bundle with more zones than a third of Route 53's rate re-reads in that time:
//! [`crate::memory::zone_max_age_secs`]) comes from this controller's copy
//! ([`crate::memory`]); such zones are re-read before any step of a
//! service they route is applied ([`refresh_zones`]), and the plan made again.

use crate::memory::{
    Memory, RecordWeights, ZoneCache, zone_max_age_secs, zone_reads_per_pass, zone_round_secs,
};
use crate::ports::{Balancer, Compute, Dns, ErrorClass, PortError, Switches, WeightedRecord};
use crate::switches;
use regionctl_core::grid::Grid;
use regionctl_core::live::{AlbState, LiveService, LiveState};
use regionctl_core::plan::render;
use regionctl_core::policy::{Bundle, Service};
use regionctl_core::time::Timestamp;
use std::collections::{BTreeSet, HashMap};

/// What the live-state stage read.
#[derive(Debug, Clone)]
pub struct LiveRead {
    /// Weights, capacity, balancer splits and switches per service.
    pub live: LiveState,
    /// Zones taken from this controller's young copy rather than read.
    pub cached_zones: Vec<String>,
    /// What could not be read.
    pub failures: Vec<String>,
}

/// Reads weights, capacity and balancer splits for every service. Zones come from Route 53,
/// or from `cache` while its copy is young (those zones are listed in `cached_zones`); a
/// zone that cannot be read falls back to its last copy.
pub async fn read_live<W: Dns + Compute + Balancer + Switches + crate::ports::Clock>(
    world: &W,
    bundle: &Bundle,
    memory: &mut Memory,
    tick_secs: u64,
) -> LiveRead {
    let Memory {
        zones: cache,
        capacity,
        ..
    } = memory;
    // While Route 53 writes wait (an evacuation larger than a pass's share), the copies'
    // round reads give way to them (ADR 0020).
    let round_reads = if cache.round_reads() {
        zone_reads_per_pass(bundle, tick_secs)
    } else {
        0
    };
    let mut zones = Zones {
        cache,
        now: world.now(),
        tick_secs,
        round_secs: zone_round_secs(bundle),
        reads_left: round_reads,
        read: HashMap::new(),
        cached: Vec::new(),
    };
    // Every service's switches in one read (the adapter batches per alarm region).
    let switch_states = switches::read_all(world, bundle).await;
    let mut failures = switch_states.failures;
    // ECS counts in batches, within their budget (the rest from the copies).
    failures.extend(capacity.read(world, bundle, zones.now).await.failures);
    let mut per_service_switches = switch_states.per_service.into_iter();
    let mut services = Vec::with_capacity(bundle.services.len());
    for service in &bundle.services {
        let weights = zones.weights_of(world, service, &mut failures).await;
        let ecs = capacity.counts_of(service);
        let alb = read_alb(world, service, &mut failures).await;
        services.push(LiveService {
            weights,
            ecs,
            alb,
            last_discretionary_change: None,
            last_known_desired: vec![None; service.regions.len()],
            switches: per_service_switches.next().unwrap_or_default(),
        });
    }
    LiveRead {
        live: LiveState { services },
        cached_zones: zones.cached,
        failures,
    }
}

/// A zone's weighted records by (record name, set identifier); `None` when the pass's zone
/// reads were spent before it and it has no copy yet; or why it could not be read.
type ZoneWeights = Result<Option<RecordWeights>, PortError>;

/// The zones of one pass: each read (or taken from the copy) once, whatever number of
/// services it routes.
struct Zones<'c> {
    cache: &'c mut ZoneCache,
    now: Timestamp,
    tick_secs: u64,
    /// The zone-read budget's round ([`zone_round_secs`]).
    round_secs: u64,
    /// Reads this pass may still make ([`zone_reads_per_pass`]).
    reads_left: usize,
    read: HashMap<String, ZoneWeights>,
    cached: Vec<String>,
}

impl Zones<'_> {
    /// `service`'s live weights per (cell, local region).
    async fn weights_of<W: Dns>(
        &mut self,
        world: &W,
        service: &Service,
        failures: &mut Vec<String>,
    ) -> Grid<Option<u8>> {
        let zone = &service.routing.hosted_zone_id;
        if !self.read.contains_key(zone) {
            let records = self.read_zone(world, service, failures).await;
            self.read.insert(zone.clone(), records);
        }
        match self.read.get(zone) {
            Some(Ok(Some(map))) => service_weights(service, map),
            // Not read yet (the read budget): the policy's steady state, re-read before any
            // write (the zone is listed with the copies).
            Some(Ok(None)) => regionctl_core::live::steady_service(service).weights,
            Some(Err(e)) => {
                failures.push(format!(
                    "{}: Route 53 zone {zone} unreadable: {}",
                    service.name,
                    e.message()
                ));
                // Unknown live weights: assume the policy's steady state so nothing is
                // "changed" blindly; the guard still checks the plan.
                regionctl_core::live::steady_service(service).weights
            }
            None => Grid::default(),
        }
    }

    /// The zone routing `service`: the young copy, else a read, else the last copy.
    async fn read_zone<W: Dns>(
        &mut self,
        world: &W,
        service: &Service,
        failures: &mut Vec<String>,
    ) -> ZoneWeights {
        let zone = &service.routing.hosted_zone_id;
        let max_age = zone_max_age_secs(zone, self.round_secs, self.tick_secs);
        if let Some(copy) = self.cache.fresh(zone, self.now, max_age) {
            self.cached.push(zone.clone());
            return Ok(Some(copy.weights.clone()));
        }
        if self.reads_left == 0 {
            // Due, but this pass's reads are spent: the last copy however old, or none; a
            // later pass reads it, and a write re-reads it first.
            self.cached.push(zone.clone());
            return Ok(self.cache.last(zone).map(|c| c.weights.clone()));
        }
        self.reads_left -= 1;
        match world.read_weighted(zone).await {
            Ok(rs) => {
                let weights = zone_weights(rs);
                self.cache.store(zone, weights.clone(), self.now);
                Ok(Some(weights))
            }
            Err(e) => match self.cache.last(zone) {
                Some(copy) => {
                    failures.push(format!(
                        "{}: Route 53 zone {zone} unreadable, using this controller's copy from {}: {}",
                        service.name,
                        render::clock(copy.read_at),
                        e.message()
                    ));
                    Ok(Some(copy.weights.clone()))
                }
                None => Err(e),
            },
        }
    }
}

/// `service`'s ALB splits per local region (`None` where unreadable or absent).
async fn read_alb<W: Balancer>(
    world: &W,
    service: &Service,
    failures: &mut Vec<String>,
) -> Vec<Option<AlbState>> {
    let Some(a) = &service.alb else {
        return vec![None; service.regions.len()];
    };
    per_region(service, "ALB", failures, async |r, region| {
        let (listener, fargate, lambda) = a.names(r);
        world.read_split(region, listener, fargate, lambda).await
    })
    .await
}

/// One `read` per local region of `service`, in region order: what it read, `None` where
/// it failed; each failure is recorded as `what` (ALB) unreadable in that region.
async fn per_region<T>(
    service: &Service,
    what: &str,
    failures: &mut Vec<String>,
    read: impl AsyncFn(usize, &str) -> Result<Option<T>, PortError>,
) -> Vec<Option<T>> {
    let mut out = Vec::with_capacity(service.regions.len());
    for (r, sr) in service.regions.iter().enumerate() {
        match read(r, &sr.name).await {
            Ok(state) => out.push(state),
            Err(err) => {
                failures.push(format!(
                    "{}: {what} in {} unreadable: {}",
                    service.name,
                    sr.name,
                    err.message()
                ));
                out.push(None);
            }
        }
    }
    out
}

/// What re-reading zones before writing found.
#[derive(Debug, Clone, Default)]
pub struct Refreshed {
    /// Zones not read again, and why.
    pub failures: Vec<String>,
    /// Zones not read again (failed, or not tried after Route 53 throttled a read).
    pub unconfirmed: BTreeSet<String>,
    /// Route 53 throttled a read.
    pub throttled: bool,
}

impl Refreshed {
    /// Adds what a later round of reads did.
    pub fn absorb(&mut self, round: Refreshed) {
        self.failures.extend(round.failures);
        self.unconfirmed.extend(round.unconfirmed);
        self.throttled |= round.throttled;
    }
}

/// Re-reads `zones` (taken from this controller's copy) before steps are applied to them,
/// in the order given, and puts what was read into `live`. After Route 53 throttles one
/// read, the rest are not tried this pass ([`crate::pace`]).
///
/// A step planned from a copy that misses a peer's recent change would undo it or act on a
/// stale split (found by `regionctl simulate`, seed 963: partial evacuations flip-flopping;
/// and by `chaos/staged-failback.yaml`: a pre-scale for a failback stage already
/// superseded).
pub async fn refresh_zones<W: Dns>(
    world: &W,
    bundle: &Bundle,
    zones: &[String],
    cache: &mut ZoneCache,
    live: &mut LiveState,
    now: Timestamp,
) -> Refreshed {
    let mut refreshed = Refreshed::default();
    for zone in zones {
        if refreshed.throttled {
            refreshed.unconfirmed.insert(zone.clone());
            continue;
        }
        match world.read_weighted(zone).await {
            Ok(rs) => cache.store(zone, zone_weights(rs), now),
            Err(e) => {
                refreshed.throttled = e.service == "route53" && e.class == ErrorClass::Throttled;
                refreshed.unconfirmed.insert(zone.clone());
                refreshed.failures.push(format!(
                    "Route 53 zone {zone} not re-read before writing: {}",
                    e.message()
                ));
            }
        }
    }
    for (s, service) in bundle.services.iter().enumerate() {
        let zone = &service.routing.hosted_zone_id;
        if let (true, Some(copy)) = (zones.contains(zone), cache.last(zone)) {
            live.services[s].weights = service_weights(service, &copy.weights);
        }
    }
    refreshed
}

/// A zone's records as read, by (normalized name, set identifier).
fn zone_weights(records: Vec<WeightedRecord>) -> RecordWeights {
    records
        .into_iter()
        .map(|r| ((normalize(&r.name), r.set_identifier), r.weight))
        .collect()
}

/// One service's live weights per (cell, local region) from its zone's records.
fn service_weights(service: &Service, zone: &RecordWeights) -> Grid<Option<u8>> {
    let names: Vec<String> = service
        .cells
        .iter()
        .map(|cell| normalize(&cell.record_name))
        .collect();
    Grid::from_fn(service.cells.len(), service.regions.len(), |c, r| {
        let key = (
            names[c].clone(),
            service.cells[c].set_identifiers[r].clone(),
        );
        zone.get(&key).copied()
    })
}

/// A record name as zones key it: lower case, without the trailing dot.
pub fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}
