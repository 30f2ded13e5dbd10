//! The simulated AWS world: all state, the faults in force, and the log of side effects.
//!
//! The world is driven by the engine ([`crate::engine`]): it sets the virtual time, calls
//! [`World::settle`] once per virtual second (replication, capacity arrivals), and lets
//! controllers call in through [`ControllerView`] (the ports). Calls complete at once; the
//! latency AWS would add is modelled as *when things take effect* (Route 53 changes are
//! PENDING for a while, ECS tasks start late, replicas converge after a lag).

pub mod journal;
mod ports;
pub mod route53;
pub mod switches;

pub use ports::ControllerView;

use crate::world::journal::Replicas;
pub use crate::world::route53::CellWeights;
use crate::world::route53::{TokenBucket, Zone};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use regionctl_controller::ports::{ErrorClass, PortError, WeightedRecord};
use regionctl_core::health::{AlarmObservation, AlarmState};
use regionctl_core::live::AlbState;
use regionctl_core::time::Timestamp;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The simulation's knobs (how AWS behaves), resolved from a scenario's `world.sim`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Knobs {
    /// Seconds a Route 53 change stays PENDING before answering uses it.
    pub route53_pending_secs: u64,
    /// Extra random PENDING time, 0..=this many seconds.
    pub route53_pending_jitter_secs: u64,
    /// Account-wide Route 53 API rate, requests per second.
    pub route53_rate_per_sec: f64,
    /// Route 53 token bucket size.
    pub route53_burst: u32,
    /// Whether records carry Route 53 health checks on their region's endpoints (today
    /// `regionctl provision` attaches none, so the default is off).
    pub route53_health_checks: bool,
    /// Seconds of endpoint failure before a health check turns unhealthy (and back).
    pub health_check_delay_secs: u64,
    /// Seconds before new ECS tasks run.
    pub ecs_capacity_delay_secs: u64,
    /// Extra random start time per scale-up, 0..=this many seconds.
    pub ecs_capacity_jitter_secs: u64,
    /// Journal replication lag between regional replicas, milliseconds.
    pub journal_replication_lag_ms: u64,
    /// An alarm whose region serves no traffic for this long reads INSUFFICIENT_DATA.
    pub alarm_idle_after_secs: u64,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            route53_pending_secs: 30,
            route53_pending_jitter_secs: 10,
            route53_rate_per_sec: 5.0,
            route53_burst: 20,
            route53_health_checks: false,
            health_check_delay_secs: 30,
            ecs_capacity_delay_secs: 90,
            ecs_capacity_jitter_secs: 30,
            journal_replication_lag_ms: 1500,
            alarm_idle_after_secs: 300,
        }
    }
}

/// A CloudWatch alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alarm {
    /// The state the world would give it (OK while serving, INSUFFICIENT_DATA when idle).
    pub natural: AlarmState,
    /// A forced state (a fault), which wins.
    pub forced: Option<AlarmState>,
    /// The state and since when.
    pub observed: AlarmObservation,
}

/// An ECS service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsService {
    /// Desired count.
    pub desired: u32,
    /// Running tasks.
    pub running: u32,
    /// Tasks starting: (when they run, how many).
    pub arrivals: Vec<(Timestamp, u32)>,
    /// Tasks asked for that will never start (capacity shortfall).
    pub stuck: u32,
}

impl EcsService {
    /// Pending tasks (starting or stuck).
    pub fn pending(&self) -> u32 {
        self.arrivals.iter().map(|(_, n)| n).sum::<u32>() + self.stuck
    }
}

/// An endpoint failure in force: a region's endpoints (optionally only some services')
/// fail probes and health checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointFailure {
    /// Fault id.
    pub id: String,
    /// Region.
    pub region: String,
    /// Services (empty: all).
    pub services: Vec<String>,
    /// From.
    pub from: Timestamp,
    /// Until (`None`: still failing).
    pub to: Option<Timestamp>,
}

/// Faults in force.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Endpoint failures, past and present (health checks look back).
    pub endpoints: Vec<EndpointFailure>,
    /// Regions whose AWS APIs are unreachable (calls from and to them fail).
    pub unreachable: BTreeSet<String>,
    /// Partitions between two regions (sorted pairs).
    pub partitions: BTreeSet<(String, String)>,
    /// Regions whose journal replica is unavailable.
    pub journal_down: BTreeSet<String>,
    /// Route 53's control plane is unavailable.
    pub route53_down: bool,
    /// Per region: fraction of new ECS tasks that will start (capacity shortfall).
    pub capacity_fraction: BTreeMap<String, f64>,
}

impl Faults {
    /// True if a partition separates `a` and `b`.
    pub fn partitioned(&self, a: &str, b: &str) -> bool {
        let key = if a <= b {
            (a.to_string(), b.to_string())
        } else {
            (b.to_string(), a.to_string())
        };
        self.partitions.contains(&key)
    }

    /// True if `service`'s endpoints in `region` fail at `at`.
    pub fn endpoint_failing(&self, region: &str, service: &str, at: Timestamp) -> bool {
        self.endpoint_failed_between(region, service, at, at)
    }

    /// True if `service`'s endpoints in `region` failed at some time in `from..=to`.
    pub fn endpoint_failed_between(
        &self,
        region: &str,
        service: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> bool {
        self.endpoints.iter().any(|e| {
            e.region == region
                && (e.services.is_empty() || e.services.iter().any(|s| s == service))
                && e.from <= to
                && e.to.is_none_or(|t| from < t)
        })
    }
}

/// A side effect on the world, in the order it happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Effect {
    /// Order (strictly increasing).
    pub seq: u64,
    /// World time.
    pub at: Timestamp,
    /// Calling controller's region.
    pub by: String,
    /// What.
    pub what: EffectKind,
}

/// Side effects.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum EffectKind {
    /// ECS desired count set.
    Scale {
        /// Region.
        region: String,
        /// Cluster.
        cluster: String,
        /// ECS service.
        service: String,
        /// Before.
        from: u32,
        /// After.
        to: u32,
    },
    /// A Route 53 record's weight written.
    Weight {
        /// Zone.
        zone: String,
        /// Record name (normalised).
        name: String,
        /// Set identifier.
        set_identifier: String,
        /// Before (`None`: created).
        from: Option<u8>,
        /// After.
        to: u8,
        /// When answering uses it (INSYNC).
        insync_at: Timestamp,
    },
    /// A data-plane switch changed (published with a new value).
    Switch {
        /// Region whose CloudWatch holds the switch.
        alarm_region: String,
        /// Its alarm.
        alarm_name: String,
        /// Before (`None`: never published).
        from: Option<bool>,
        /// After.
        on: bool,
    },
    /// An ALB split set.
    Alb {
        /// Region.
        region: String,
        /// Listener.
        listener: String,
        /// Fargate weight.
        fargate: u32,
        /// Lambda weight.
        lambda: u32,
    },
}

/// An event published to EventBridge.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Published {
    /// World time.
    pub at: Timestamp,
    /// Publishing controller's region.
    pub by: String,
    /// Detail type.
    pub detail_type: String,
    /// Detail.
    pub detail: serde_json::Value,
}

/// Counters for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Route 53 API calls that were accepted.
    pub route53_calls: u64,
    /// Route 53 calls throttled by the token bucket.
    pub route53_throttled: u64,
    /// Calls that failed because of a fault.
    pub failed_calls: u64,
    /// Journal writes accepted.
    pub journal_writes: u64,
    /// Events published.
    pub events: u64,
}

/// The simulated AWS world.
#[derive(Debug, Clone)]
pub struct World {
    now: Timestamp,
    /// How AWS behaves.
    pub knobs: Knobs,
    rng: ChaCha8Rng,
    seq: u64,
    /// Hosted zones by id.
    pub zones: BTreeMap<String, Zone>,
    /// Route 53's account-wide token bucket.
    pub bucket: TokenBucket,
    /// Alarms by region, then name (nested, so a lookup allocates nothing).
    pub alarms: BTreeMap<String, BTreeMap<String, Alarm>>,
    /// ECS services by (region, cluster, service).
    pub ecs: BTreeMap<(String, String, String), EcsService>,
    /// ALB splits by (region, listener): (fargate group, lambda group, weights).
    pub albs: BTreeMap<(String, String), (String, String, AlbState)>,
    /// The journal's replicas.
    pub journal: Replicas,
    /// Data-plane switches: metrics, alarms and health checks.
    pub switches: switches::SwitchBoard,
    /// Probe target → (service, region) it checks.
    pub probe_targets: BTreeMap<String, Vec<(String, String)>>,
    /// Faults in force.
    pub faults: Faults,
    /// Per controller region: clock skew in milliseconds.
    pub skew_ms: BTreeMap<String, i64>,
    /// Side effects in order.
    pub effects: Vec<Effect>,
    /// Published events.
    pub published: Vec<Published>,
    /// Counters.
    pub stats: Stats,
}

impl World {
    /// An empty world at `now` with one journal replica per region in `regions`.
    pub fn new(knobs: Knobs, seed: u64, now: Timestamp, regions: &[String]) -> Self {
        let bucket = TokenBucket::new(knobs.route53_burst, knobs.route53_rate_per_sec, now);
        World {
            now,
            knobs,
            rng: ChaCha8Rng::seed_from_u64(seed),
            seq: 0,
            zones: BTreeMap::new(),
            bucket,
            alarms: BTreeMap::new(),
            ecs: BTreeMap::new(),
            albs: BTreeMap::new(),
            journal: Replicas::new(regions),
            switches: switches::SwitchBoard::default(),
            probe_targets: BTreeMap::new(),
            faults: Faults::default(),
            skew_ms: BTreeMap::new(),
            effects: Vec::new(),
            published: Vec::new(),
            stats: Stats::default(),
        }
    }

    /// World time.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Moves the virtual clock (never backwards).
    pub fn set_now(&mut self, now: Timestamp) {
        self.now = self.now.max(now);
    }

    /// A random number in `0..=max`.
    pub fn jitter(&mut self, max: u64) -> u64 {
        if max == 0 {
            0
        } else {
            self.rng.next_u64() % (max + 1)
        }
    }

    /// Seeds a record as already INSYNC.
    pub fn seed_record(&mut self, zone: &str, record: WeightedRecord) {
        self.zones
            .entry(zone.to_string())
            .or_default()
            .upsert(&record, Timestamp::EPOCH);
    }

    /// Seeds an alarm in `state` since `since`.
    pub fn seed_alarm(&mut self, region: &str, name: &str, state: AlarmState, since: Timestamp) {
        self.alarms.entry(region.to_string()).or_default().insert(
            name.to_string(),
            Alarm {
                natural: state,
                forced: None,
                observed: AlarmObservation { state, since },
            },
        );
    }

    /// Seeds an ECS service with `count` tasks desired and running.
    pub fn seed_ecs(&mut self, region: &str, cluster: &str, service: &str, count: u32) {
        self.ecs.insert(
            (region.to_string(), cluster.to_string(), service.to_string()),
            EcsService {
                desired: count,
                running: count,
                arrivals: Vec::new(),
                stuck: 0,
            },
        );
    }

    /// The alarm `name` in `region`, if it exists.
    pub fn alarm(&self, region: &str, name: &str) -> Option<&Alarm> {
        self.alarms.get(region).and_then(|m| m.get(name))
    }

    /// Every alarm.
    pub fn all_alarms(&self) -> impl Iterator<Item = &Alarm> {
        self.alarms.values().flat_map(BTreeMap::values)
    }

    /// Sets an alarm's natural state (what the world would make it) and its forced state;
    /// the observed state changes (with a new `since`) only when the effective one does.
    pub fn update_alarm(
        &mut self,
        region: &str,
        name: &str,
        natural: Option<AlarmState>,
        forced: Option<Option<AlarmState>>,
    ) {
        let now = self.now;
        if let Some(alarm) = self.alarms.get_mut(region).and_then(|m| m.get_mut(name)) {
            if let Some(n) = natural {
                alarm.natural = n;
            }
            if let Some(f) = forced {
                alarm.forced = f;
            }
            let effective = alarm.forced.unwrap_or(alarm.natural);
            if effective != alarm.observed.state {
                alarm.observed = AlarmObservation {
                    state: effective,
                    since: now,
                };
            }
        }
    }

    /// Once per virtual second: replication deliveries and capacity arrivals.
    pub fn settle(&mut self) {
        let now = self.now;
        self.switches.settle(now);
        let faults = &self.faults;
        self.journal.deliver(now, |from, to| {
            faults.partitioned(from, to)
                || faults.journal_down.contains(from)
                || faults.journal_down.contains(to)
        });
        for svc in self.ecs.values_mut() {
            let mut arrived = 0;
            svc.arrivals.retain(|(t, n)| {
                if *t <= now {
                    arrived += n;
                    false
                } else {
                    true
                }
            });
            svc.running = (svc.running + arrived).min(svc.desired);
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn record_effect(&mut self, by: &str, what: EffectKind) {
        let seq = self.next_seq();
        self.effects.push(Effect {
            seq,
            at: self.now,
            by: by.to_string(),
            what,
        });
    }

    /// The weights the authoritative servers answer with at `at` for the records `keys`
    /// in `zone`, as Route 53 applies its rules (`None` where a record is missing).
    pub fn answering_weights(
        &self,
        zone: &str,
        keys: &[(String, String)],
        at: Timestamp,
    ) -> Vec<Option<u8>> {
        let mut out = CellWeights::default();
        self.cell_weights(zone, keys, at, &mut out);
        out.answering
    }

    /// Both views of the records `keys` in `zone` at `at`, into `out` (its buffers are
    /// reused: the engine asks for every cell every simulated second, and one lookup per
    /// record serves the meter and the checkers alike).
    pub fn cell_weights(
        &self,
        zone: &str,
        keys: &[(String, String)],
        at: Timestamp,
        out: &mut CellWeights,
    ) {
        out.written.clear();
        out.answering.clear();
        let z = self.zones.get(zone);
        for k in keys {
            let record = z.and_then(|z| z.records.get(k));
            out.written.push(record.map(|r| r.current.weight));
            out.answering.push(record.and_then(|r| r.weight_at(at)));
        }
    }

    /// Applies record changes from `by` (the control plane accepts them at once; answering
    /// follows when the change is INSYNC). Returns the INSYNC time.
    fn change_records(&mut self, by: &str, zone: &str, records: &[WeightedRecord]) -> Timestamp {
        let pending =
            self.knobs.route53_pending_secs + self.jitter(self.knobs.route53_pending_jitter_secs);
        let insync_at = self.now.plus_secs(pending);
        for r in records {
            let before = self
                .zones
                .entry(zone.to_string())
                .or_default()
                .upsert(r, insync_at);
            if before != Some(r.weight) {
                self.record_effect(
                    by,
                    EffectKind::Weight {
                        zone: zone.to_string(),
                        name: route53::normalize(&r.name),
                        set_identifier: r.set_identifier.clone(),
                        from: before,
                        to: r.weight,
                        insync_at,
                    },
                );
            }
        }
        insync_at
    }

    /// Sets an ECS desired count from `by`; new tasks start after the capacity delay (or
    /// only partly, under a capacity shortfall).
    fn scale(&mut self, by: &str, key: &(String, String, String), to: u32) -> bool {
        let fraction = self
            .faults
            .capacity_fraction
            .get(&key.0)
            .copied()
            .unwrap_or(1.0);
        let delay =
            self.knobs.ecs_capacity_delay_secs + self.jitter(self.knobs.ecs_capacity_jitter_secs);
        let now = self.now;
        let Some(svc) = self.ecs.get_mut(key) else {
            return false;
        };
        let from = svc.desired;
        svc.desired = to;
        if to <= svc.running {
            svc.running = to;
            svc.arrivals.clear();
            svc.stuck = 0;
        } else {
            let have = svc.running + svc.pending();
            if to > have {
                let add = to - have;
                let starting = ((f64::from(add) * fraction).floor() as u32).min(add);
                if starting > 0 {
                    svc.arrivals.push((now.plus_secs(delay), starting));
                }
                svc.stuck += add - starting;
            }
        }
        if from != to {
            self.record_effect(
                by,
                EffectKind::Scale {
                    region: key.0.clone(),
                    cluster: key.1.clone(),
                    service: key.2.clone(),
                    from,
                    to,
                },
            );
        }
        true
    }

    /// Publishes a switch value from `by`, recording an effect when it changes the latest
    /// value.
    pub fn publish_switch(
        &mut self,
        by: &str,
        switch: &regionctl_core::switch::SwitchRef,
        on: bool,
    ) {
        let now = self.now;
        let before = self.switches.publish(now, by, switch, on);
        // An effect only when the value the alarm sees changes: a `1` published into a
        // period that already has a `0` changes nothing (the minimum wins).
        let after = self.switches.read(now, switch);
        if after != before && !(before.is_none() && after == Some(true)) {
            self.record_effect(
                by,
                EffectKind::Switch {
                    alarm_region: switch.alarm_region.clone(),
                    alarm_name: switch.alarm_name.clone(),
                    from: before,
                    on: after.unwrap_or(on),
                },
            );
        }
    }

    /// Whether `service`'s endpoints in `region` answer a probe from `observer` now.
    pub fn probe_ok(&self, observer: &str, service: &str, region: &str) -> bool {
        !self.faults.unreachable.contains(observer)
            && !self.faults.partitioned(observer, region)
            && !self.faults.endpoint_failing(region, service, self.now)
    }

    /// Whether a Route 53 health check on `service`'s endpoint in `region` reads healthy
    /// at `at` (after the health check's delay).
    pub fn health_check_ok(&self, service: &str, region: &str, at: Timestamp) -> bool {
        let probe_time = Timestamp(
            at.millis() - i64::try_from(self.knobs.health_check_delay_secs).unwrap_or(0) * 1000,
        );
        !self.faults.endpoint_failing(region, service, probe_time)
    }

    fn fail(
        &mut self,
        service: &'static str,
        operation: &'static str,
        class: ErrorClass,
        message: String,
    ) -> PortError {
        if class == ErrorClass::Throttled {
            self.stats.route53_throttled += 1;
        } else {
            self.stats.failed_calls += 1;
        }
        PortError::new(service, operation, class, message)
    }
}

#[cfg(test)]
mod tests;
