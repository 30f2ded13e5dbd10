//! What a controller carries from one pass to the next: its health view and its last reads
//! of the Route 53 zones.
//!
//! Route 53 throttles per account (reads and writes share one budget, 5 requests/s at best,
//! less when other tooling shares the account), and every controller reads every zone every
//! tick. Three controllers and six zones at a 10 s tick already spend 1.8 requests/s on
//! reads; at 2 requests/s nothing is left for the writes, and a failback stalls for good
//! (found by `regionctl simulate`, 14 of 10,000 seeds). The controllers cannot share a
//! client-side bucket (they run in different regions), so each backs off on its own: once
//! Route 53 throttles it, it re-reads a zone only when its copy is [`FRUGAL_MAX_AGE_TICKS`]
//! ticks old, for [`FRUGAL_WINDOW_SECS`] after the last throttle. Its own writes update its
//! copy, so what it sees stale is only a peer's recent write; those are level-triggered
//! passes' business (the next re-read shows them).
//!
//! Without throttling every zone is read every pass, exactly as before.

use regionctl_core::health::HealthView;
use regionctl_core::policy::Bundle;
use regionctl_core::time::Timestamp;
use std::collections::HashMap;

/// How long after Route 53 last throttled this controller it keeps reading frugally.
pub const FRUGAL_WINDOW_SECS: u64 = 300;
/// In frugal mode, a zone's copy younger than this many ticks is used instead of a read.
pub const FRUGAL_MAX_AGE_TICKS: u64 = 3;

/// A controller's state between passes.
#[derive(Debug, Clone)]
pub struct Memory {
    /// The last pass's health view (recovery windows and flap damping depend on it).
    pub health: HealthView,
    /// The last reads of the Route 53 zones.
    pub zones: ZoneCache,
}

impl Memory {
    /// A controller that has not run a pass yet (just started or restarted).
    pub fn unknown(bundle: &Bundle) -> Self {
        Memory {
            health: HealthView::unknown(bundle),
            zones: ZoneCache::default(),
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

/// The controller's copies of the zones, and when Route 53 last throttled it.
#[derive(Debug, Clone, Default)]
pub struct ZoneCache {
    zones: HashMap<String, CachedZone>,
    throttled_at: Option<Timestamp>,
}

impl ZoneCache {
    /// Route 53 throttled a call of this controller at `now`.
    pub fn throttled(&mut self, now: Timestamp) {
        self.throttled_at = Some(now);
    }

    /// Whether this controller reads frugally at `now` (throttled within the window).
    pub fn frugal(&self, now: Timestamp) -> bool {
        self.throttled_at
            .is_some_and(|t| !now.elapsed_at_least(t, FRUGAL_WINDOW_SECS))
    }

    /// The copy of `zone` to use instead of reading it at `now`, if frugal and fresh enough.
    pub fn fresh(&self, zone: &str, now: Timestamp, tick_secs: u64) -> Option<&CachedZone> {
        let max_age = tick_secs.saturating_mul(FRUGAL_MAX_AGE_TICKS);
        self.zones
            .get(zone)
            .filter(|z| self.frugal(now) && !now.elapsed_at_least(z.read_at, max_age))
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
    fn without_a_throttle_every_pass_reads() {
        let mut c = ZoneCache::default();
        c.store("Z1", one(10), at(100));
        assert!(c.fresh("Z1", at(101), 10).is_none());
    }

    #[test]
    fn after_a_throttle_a_young_copy_is_used_until_it_ages() {
        let mut c = ZoneCache::default();
        c.store("Z1", one(10), at(100));
        c.throttled(at(105));
        assert!(c.fresh("Z1", at(129), 10).is_some());
        assert!(c.fresh("Z1", at(130), 10).is_none(), "3 ticks old: re-read");
        assert!(c.fresh("Z2", at(106), 10).is_none(), "never read: read");
    }

    #[test]
    fn frugal_mode_ends_after_the_window() {
        let mut c = ZoneCache::default();
        c.throttled(at(0));
        assert!(c.frugal(at(299)));
        assert!(!c.frugal(at(300)));
        c.store("Z1", one(10), at(300));
        assert!(c.fresh("Z1", at(301), 10).is_none());
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
