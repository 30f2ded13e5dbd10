//! What a controller carries from one pass to the next: its health view and its last reads
//! of the Route 53 zones (and of the alarms and ECS counts: [`crate::alarm_view`],
//! [`crate::capacity`]).
//!
//! Route 53 throttles per account (reads and writes share one budget, 5 requests/s at best,
//! less when other tooling shares the account). Reading every zone every tick, three
//! controllers and six zones at a 10 s tick spend 1.8 requests/s on reads alone; at 2
//! requests/s nothing was left for writes and a failback stalled for good (found by
//! `regionctl simulate`, 14 of 10,000 seeds). The controllers run in different regions and
//! cannot share a client-side bucket, so each reads less: a zone is re-read when its copy
//! is [`ZONE_MAX_AGE_TICKS`] ticks old, and always just before this controller writes to
//! it ([`crate::live::refresh_zones`]; [`crate::planning`] plans again from the fresh
//! read). Its own writes update its copy. A copy can thus miss a peer's change for up to
//! that age, which only delays a pass that would have written nothing else; every write is
//! planned from a fresh read.

use crate::alarm_view::AlarmView;
use crate::capacity::CapacityCache;
use crate::episode::Episodes;
use crate::fleet::StandDown;
use crate::journal::{Heartbeat, ObservationDigest};
use crate::pending::PendingWrites;
use regionctl_core::health::HealthView;
use regionctl_core::policy::Bundle;
use regionctl_core::time::Timestamp;
use std::collections::{BTreeMap, HashMap};

/// A zone's copy younger than this many ticks is used instead of a read (unless the pass
/// writes to the zone).
pub const ZONE_MAX_AGE_TICKS: u64 = 3;

/// Route 53's request rate per account, per second: one quota for every call of every tool.
pub const ROUTE53_ACCOUNT_RATE: u64 = 5;

/// Seconds in which this controller re-reads every zone of `bundle` on its share of a third
/// of Route 53's account rate (the fleet's controllers a third together; writes and other
/// tools the rest). Six zones and three controllers: 11 s, inside three ticks, so nothing
/// changes; 1,000 zones: 30 minutes (issue 18: every third tick was 100 reads/s against 5).
pub fn zone_round_secs(bundle: &Bundle) -> u64 {
    let zones: std::collections::HashSet<&str> = bundle
        .services
        .iter()
        .map(|s| s.routing.hosted_zone_id.as_str())
        .collect();
    let controllers = bundle
        .controller
        .as_ref()
        .map_or(1, |c| c.regions.len().max(1));
    ((zones.len() * 3 * controllers) as u64).div_ceil(ROUTE53_ACCOUNT_RATE)
}

/// Zones a pass may read (copies due, or never read), besides those re-read before a write:
/// this controller's share of a third of Route 53's account rate over one tick, rounded
/// down (so the fleet's round reads stay within the third: rounded up, three controllers
/// read 6 zones a pass each, 1.8/s, 36 % of the rate, in the fleet benchmark), at least
/// one. A small bundle (six zones or fewer, as the examples) is read whole on every pass
/// its copies are due, so a controller's first pass sees every zone. Deferred zones are
/// read in later passes, their last copy (or, never read, the policy's steady state) used
/// meanwhile, and re-read before any write.
pub fn zone_reads_per_pass(bundle: &Bundle, tick_secs: u64) -> usize {
    let controllers = bundle
        .controller
        .as_ref()
        .map_or(1, |c| c.regions.len().max(1)) as u64;
    let share = tick_secs * ROUTE53_ACCOUNT_RATE / (3 * controllers);
    let share = usize::try_from(share).unwrap_or(usize::MAX).max(1);
    let zones: std::collections::HashSet<&str> = bundle
        .services
        .iter()
        .map(|s| s.routing.hosted_zone_id.as_str())
        .collect();
    if zones.len() <= SMALL_BUNDLE_ZONES {
        share.max(zones.len())
    } else {
        share
    }
}

/// Zones a bundle may have and still be read whole on every pass its copies are due.
const SMALL_BUNDLE_ZONES: usize = 6;

/// How old `zone`'s copy may grow before a pass reads it again: [`ZONE_MAX_AGE_TICKS`]
/// ticks, or the read budget's round (`round_secs`, [`zone_round_secs`]) where that is
/// longer, each zone spread over a second round so that copies read together (the first
/// pass) do not all expire in one pass. Every write is still planned from a fresh read.
pub fn zone_max_age_secs(zone: &str, round_secs: u64, tick_secs: u64) -> u64 {
    let ticks = tick_secs.saturating_mul(ZONE_MAX_AGE_TICKS);
    if round_secs <= ticks {
        return ticks;
    }
    let spread = zone
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    round_secs + spread % round_secs
}

/// A controller's state between passes.
#[derive(Debug, Clone)]
pub struct Memory {
    /// The last pass's health view (recovery windows and flap damping depend on it).
    pub health: HealthView,
    /// When `health` was evaluated (`None`: never).
    pub health_at: Option<Timestamp>,
    /// Since when this controller observes again after a gap in its observation, while
    /// it catches up ([`Memory::catching_up`]).
    pub observing_since: Option<Timestamp>,
    /// The view before it: never read, only its memory reused by the next evaluation
    /// (`health::evaluate_into`). At fleet scale a view is 1,000 tables of 150 entries,
    /// and allocating and freeing them every pass cost more than evaluating them.
    pub spare_health: HealthView,
    /// The last reads of the Route 53 zones.
    pub zones: ZoneCache,
    /// The last reads of the ECS counts, and where the next round of reads starts.
    pub capacity: CapacityCache,
    /// The last service a pass spent Route 53 calls on: the next pass's share starts
    /// after it ([`crate::pace::select`]).
    pub pace_after: Option<usize>,
    /// Outcomes and last moves the journal refused, written again next pass.
    pub pending: PendingWrites,
    /// The episodes (incidents) this controller sees open and last saw close.
    pub episodes: Episodes,
    /// This controller's own discretionary moves, by service: the cooldown's start when its
    /// `LASTMOVE` item is not believed (a forgery may have overwritten it) and its last
    /// heartbeat was written before the move (`coordinate::not_believed`).
    pub own_moves: BTreeMap<String, Timestamp>,
    /// This observer's last digest (without relays): its probe verdicts' `since` carry on
    /// from here, not from the journal's copy, which another writer may have overwritten
    /// (`observe::gather`).
    pub own_digest: Option<ObservationDigest>,
    /// The last heartbeat believed of each controller (this one's: the last it wrote),
    /// while fresh: a forgery that overwrites a peer's item does not take the peer out of
    /// the quorum (`coordinate::with_remembered`).
    pub heartbeats: BTreeMap<String, Heartbeat>,
    /// Per peer: the date of its heartbeat last read, and when this controller first read
    /// it (`coordinate::aged_on_own_clock`).
    pub heartbeats_seen: BTreeMap<String, (Timestamp, Timestamp)>,
    /// The alarms' last known states, the events not yet applied and where the next
    /// resync read starts ([`crate::alarm_view`]).
    pub alarms: AlarmView,
}

impl Memory {
    /// Whether this controller must not act yet at `now`, catching up after a gap: its last
    /// view is older than `ttl_secs` (a pass that cannot write its heartbeat stops before
    /// it observes), or it is still within `window_secs` of observing again after one.
    ///
    /// Its view from before the gap is not evidence of now: a controller back from twenty
    /// minutes without its journal or APIs still held its own region healthy, though its
    /// endpoints had failed meanwhile, and moved traffic there on its first pass; a peer
    /// evacuated it ten seconds later (example seed 7747). Hysteresis needs
    /// `fail_after_secs` of evidence to see a failure that began during the gap, so it
    /// observes that long before it acts. A just-started controller has no such view and
    /// acts as before.
    pub fn catching_up(
        &mut self,
        now: Timestamp,
        ttl_secs: u64,
        window_secs: u64,
    ) -> Option<StandDown> {
        let gap = self
            .health_at
            .is_some_and(|at| now.elapsed_at_least(at, ttl_secs.saturating_add(1)));
        if gap {
            self.observing_since = Some(now);
        }
        let since = self.observing_since?;
        if now.elapsed_at_least(since, window_secs) {
            self.observing_since = None;
            return None;
        }
        Some(StandDown::CatchingUp { since, window_secs })
    }

    /// Keeps `health`, evaluated at `now`, as the next pass's previous view (the old one
    /// becomes the spare).
    pub fn keep_health(&mut self, health: HealthView, now: Timestamp) {
        self.spare_health = std::mem::replace(&mut self.health, health);
        self.health_at = Some(now);
    }

    /// A controller that has not run a pass yet (just started or restarted).
    pub fn unknown(bundle: &Bundle) -> Self {
        Memory {
            health: HealthView::unknown(bundle),
            health_at: None,
            observing_since: None,
            spare_health: HealthView::default(),
            zones: ZoneCache::default(),
            capacity: CapacityCache::default(),
            pace_after: None,
            pending: PendingWrites::default(),
            episodes: Episodes::default(),
            own_moves: BTreeMap::new(),
            own_digest: None,
            heartbeats: BTreeMap::new(),
            heartbeats_seen: BTreeMap::new(),
            alarms: AlarmView::default(),
        }
    }
}

/// Record weights of one zone, by (normalized name, set identifier).
pub type RecordWeights = HashMap<(String, String), u8>;

/// One zone as last read (or written) by this controller.
#[derive(Debug, Clone)]
pub struct CachedZone {
    /// Its weighted records.
    pub weights: RecordWeights,
    /// When it was read from Route 53.
    pub read_at: Timestamp,
}

/// The controller's copies of the zones.
#[derive(Debug, Clone, Default)]
pub struct ZoneCache {
    zones: HashMap<String, CachedZone>,
    /// The last pass left Route 53 writes waiting ([`crate::pace`]): copies are not
    /// re-read on their round until it catches up, reads giving way to writes.
    writes_waiting: bool,
}

impl ZoneCache {
    /// Whether copies are re-read on their round this pass: not while writes wait.
    pub fn round_reads(&self) -> bool {
        !self.writes_waiting
    }

    /// Whether the pass just planned left Route 53 writes waiting for a later pass.
    pub fn set_writes_waiting(&mut self, waiting: bool) {
        self.writes_waiting = waiting;
    }

    /// The copy of `zone` to use instead of reading it at `now`, if younger than
    /// `max_age` seconds ([`zone_max_age_secs`]).
    pub fn fresh(&self, zone: &str, now: Timestamp, max_age: u64) -> Option<&CachedZone> {
        self.zones
            .get(zone)
            .filter(|z| !now.elapsed_at_least(z.read_at, max_age))
    }

    /// The last copy of `zone`, however old (used when a read fails).
    pub fn last(&self, zone: &str) -> Option<&CachedZone> {
        self.zones.get(zone)
    }

    /// `zone` as read at `now`.
    pub fn store(&mut self, zone: &str, weights: RecordWeights, now: Timestamp) {
        self.zones.insert(
            zone.to_string(),
            CachedZone {
                weights,
                read_at: now,
            },
        );
    }

    /// This controller wrote (and the adapter verified) `weights` into `zone`: its copy
    /// shows them, keeping its read time (a peer's writes since then are still unseen).
    pub fn wrote(&mut self, zone: &str, weights: impl IntoIterator<Item = ((String, String), u8)>) {
        if let Some(z) = self.zones.get_mut(zone) {
            z.weights.extend(weights);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp(secs * 1000)
    }

    fn one(weight: u8) -> RecordWeights {
        HashMap::from([(("a.example.com".to_string(), "eu".to_string()), weight)])
    }

    #[test]
    fn a_fleet_of_zones_is_re_read_within_a_third_of_route53s_rate_spread_over_a_round() {
        let mut bundle = crate::fake::example();
        assert!(
            zone_round_secs(&bundle) <= 30,
            "the examples' round fits three ticks"
        );
        assert_eq!(
            zone_reads_per_pass(&bundle, 10),
            6,
            "the six example zones at once"
        );
        assert_eq!(
            zone_reads_per_pass(&bundle, 60),
            33,
            "5 × 60 / (3 × 3), rounded down"
        );
        let template = bundle.services[0].clone();
        bundle.services = (0..1_000)
            .map(|i| {
                let mut s = template.clone();
                s.routing.hosted_zone_id = format!("Z{i:05}");
                s
            })
            .collect();
        assert_eq!(
            zone_reads_per_pass(&bundle, 10),
            5,
            "5 × 10 / (3 × 3), rounded down: 1.5 reads/s for the fleet, 30 % of the rate"
        );
        let round = zone_round_secs(&bundle);
        assert_eq!(round, 1_800, "1,000 zones × 3 controllers at 5/3 reads/s");
        let ages: Vec<u64> = (0..1_000)
            .map(|i| zone_max_age_secs(&format!("Z{i:05}"), round, 10))
            .collect();
        assert!(ages.iter().all(|a| (round..2 * round).contains(a)));
        // Spread: no tenth of the second round holds more than a fifth of the zones.
        let mut per_tenth = [0usize; 10];
        for a in &ages {
            per_tenth[((a - round) * 10 / round) as usize] += 1;
        }
        assert!(per_tenth.iter().all(|n| *n < 200), "{per_tenth:?}");
    }

    #[test]
    fn a_young_copy_is_used_until_it_is_three_ticks_old() {
        let mut c = ZoneCache::default();
        c.store("Z1", one(10), at(100));
        let max_age = zone_max_age_secs("Z1", 11, 10);
        assert_eq!(max_age, 30, "a small fleet's round fits three ticks");
        assert!(c.fresh("Z1", at(100), max_age).is_some());
        assert!(c.fresh("Z1", at(129), max_age).is_some());
        assert!(
            c.fresh("Z1", at(130), max_age).is_none(),
            "3 ticks old: re-read"
        );
        assert!(
            c.fresh("Z2", at(100), max_age).is_none(),
            "never read: read"
        );
        c.store("Z1", one(20), at(130));
        assert_eq!(
            c.fresh("Z1", at(131), max_age).map(|z| z
                .weights
                .values()
                .copied()
                .collect::<Vec<_>>()),
            Some(vec![20])
        );
    }

    #[test]
    fn own_writes_show_in_the_copy_without_refreshing_it() {
        let mut c = ZoneCache::default();
        c.store("Z1", one(10), at(100));
        c.wrote("Z1", [(("a.example.com".to_string(), "eu".to_string()), 0)]);
        let z = c.last("Z1").expect("cached");
        assert_eq!(z.weights.values().copied().collect::<Vec<_>>(), vec![0]);
        assert_eq!(z.read_at, at(100));
        c.wrote("Z9", [(("b".to_string(), "x".to_string()), 1)]);
        assert!(c.last("Z9").is_none(), "a zone never read is not invented");
    }
}
