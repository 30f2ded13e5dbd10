//! The simulated AWS world: all state, the faults in force, and the log of side effects.
//!
//! The world is driven by the engine ([`crate::engine`]): it sets the virtual time, calls
//! [`World::settle`] once per virtual second (replication, capacity arrivals), and lets
//! controllers call in through [`ControllerView`] (the ports). Calls complete at once; the
//! latency AWS would add is modelled as *when things take effect* (Route 53 changes are
//! PENDING for a while, ECS tasks start late, replicas converge after a lag).
//!
//! # Layout
//! - `knobs`: how the simulated AWS behaves, resolved from a scenario's `world.sim`;
//! - `faults`: the faults in force, and what they do to probes and health checks;
//! - `alarms`, `ecs`, [`route53`], [`switches`], [`journal`]: the services;
//! - `effects`: the log of side effects, published events and counters;
//! - `ports`: [`ControllerView`], one controller's view of the world (the ports).

mod alarms;
mod ecs;
mod effects;
mod faults;
pub mod journal;
mod knobs;
mod ports;
pub mod route53;
pub mod switches;

pub use alarms::Alarm;
pub use ecs::EcsService;
pub use effects::{Effect, EffectKind, Published, Stats};
pub use faults::{EndpointFailure, Faults};
pub use knobs::Knobs;
pub use ports::ControllerView;

use crate::world::journal::Replicas;
pub use crate::world::route53::CellWeights;
use crate::world::route53::{TokenBucket, Zone};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use regionctl_controller::alarm_view::AlarmChange;
use regionctl_controller::ports::{ErrorClass, JournalItem, PortError};
use regionctl_core::live::AlbState;
use regionctl_core::time::Timestamp;
use std::collections::BTreeMap;

/// The value in force at `at` in a history of (from when, value) sorted by time: the last
/// change at or before `at` (`None` before the first). Route 53 answering weights and
/// switch alarm states are such histories.
fn value_at<T: Copy>(history: &[(Timestamp, T)], at: Timestamp) -> Option<T> {
    history
        .iter()
        .rev()
        .find(|(t, _)| *t <= at)
        .map(|(_, v)| *v)
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
    /// Decision intents, by journal key: the world sequence number when the first copy
    /// was written to any replica. An effect recorded after it has a larger `seq` (the
    /// `journaled` invariant: intent before effect).
    pub intents_recorded: BTreeMap<(String, String), u64>,
    /// Published events.
    pub published: Vec<Published>,
    /// Counters.
    pub stats: Stats,
    /// Every alarm state change, in order: each controller receives them as events
    /// (EventBridge → SQS), less those lost ([`Knobs::alarm_event_loss`]).
    pub alarm_events: Vec<AlarmChange>,
    /// The seed, for the event-loss draws (which must not shift `rng`'s sequence).
    seed: u64,
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
            intents_recorded: BTreeMap::new(),
            published: Vec::new(),
            stats: Stats::default(),
            alarm_events: Vec::new(),
            seed,
        }
    }

    /// True when alarm event `index` is lost on its way to `controller`: a draw from the
    /// seed, the event and the controller alone, so that losses neither depend on when a
    /// controller polls nor shift the world's other random draws.
    pub fn alarm_event_lost(&self, index: usize, controller: &str) -> bool {
        let loss = self.knobs.alarm_event_loss;
        if loss <= 0.0 {
            return false;
        }
        let mut x = self.seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for b in controller.bytes() {
            x = (x ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
        }
        // splitmix64's finaliser: a uniform draw in [0, 1).
        x ^= x >> 30;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^= x >> 27;
        x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
        ((x >> 11) as f64 / (1u64 << 53) as f64) < loss
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
        self.start_arrived_tasks();
    }

    /// Writes `item` into `region`'s replica as a controller does (counted; an intent's
    /// first write noted for the `journaled` invariant).
    pub(super) fn journal_write(&mut self, region: &str, item: &JournalItem) {
        let lag = i64::try_from(self.knobs.journal_replication_lag_ms).unwrap_or(0);
        self.journal.write(region, item, self.now, lag);
        self.stats.journal_writes += 1;
        if item.sk.ends_with("#INTENT") {
            let seq = self.seq;
            self.intents_recorded
                .entry((item.pk.clone(), item.sk.clone()))
                .or_insert(seq);
        }
    }

    /// Writes `item` into `region`'s replica as an operator's command would (game-day
    /// operator actions): not counted as the fleet's write; it replicates like any write.
    pub fn operator_write(&mut self, region: &str, item: &JournalItem) {
        self.rogue_write(region, item);
    }

    /// Writes `item` into `region`'s replica as a rogue writer does: not counted as the
    /// fleet's write.
    pub fn rogue_write(&mut self, region: &str, item: &JournalItem) {
        let lag = i64::try_from(self.knobs.journal_replication_lag_ms).unwrap_or(0);
        self.journal.write(region, item, self.now, lag);
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
