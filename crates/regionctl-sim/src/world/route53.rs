//! Route 53 as the simulation needs it: weighted records whose changes are accepted at
//! once by the control plane (list calls see them) but take effect for answering only
//! when the change is INSYNC, a token bucket shared by the account, and answering; and the
//! world's side of them (seeding records, reading both views, accepting changes).

use super::{EffectKind, World, value_at};
use regionctl_controller::ports::WeightedRecord;
use regionctl_core::time::Timestamp;
use std::collections::BTreeMap;

/// Records returned per `ListResourceRecordSets` page.
pub const LIST_PAGE: usize = 300;
/// Changes per `ChangeResourceRecordSets` batch (an UPSERT counts twice).
pub const BATCH_CHANGES: usize = 1000;

/// One weighted record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// As the control plane returns it.
    pub current: WeightedRecord,
    /// Weights the authoritative servers answer with, from when: sorted by time. A change
    /// still PENDING has a time in the future.
    pub answering: Vec<(Timestamp, u8)>,
}

impl Record {
    /// The weight the authoritative servers answer with at `at` (`None` before the record
    /// existed there).
    pub fn weight_at(&self, at: Timestamp) -> Option<u8> {
        value_at(&self.answering, at)
    }

    /// True while a change to this record is PENDING at `at`.
    pub fn pending_at(&self, at: Timestamp) -> bool {
        self.answering.last().is_some_and(|(t, _)| *t > at)
    }
}

/// One cell's records, per local region (`None` where a record is missing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CellWeights {
    /// The weight as the control plane lists it (what was written).
    pub written: Vec<Option<u8>>,
    /// The weight the authoritative servers answer with (written once INSYNC).
    pub answering: Vec<Option<u8>>,
}

/// A hosted zone: records keyed by (lower-case name without trailing dot, set identifier).
#[derive(Debug, Clone, Default)]
pub struct Zone {
    /// Records.
    pub records: BTreeMap<(String, String), Record>,
}

/// Normalises a record name for keys.
pub fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl Zone {
    /// Creates or replaces a record as the control plane sees it, taking effect for
    /// answering at `effective`.
    pub fn upsert(&mut self, record: &WeightedRecord, effective: Timestamp) -> Option<u8> {
        let key = (normalize(&record.name), record.set_identifier.clone());
        match self.records.get_mut(&key) {
            Some(existing) => {
                let before = existing.current.weight;
                existing.current = record.clone();
                // A later change supersedes a pending one that would land after it.
                existing.answering.retain(|(t, _)| *t <= effective);
                existing.answering.push((effective, record.weight));
                Some(before)
            }
            None => {
                self.records.insert(
                    key,
                    Record {
                        current: record.clone(),
                        answering: vec![(effective, record.weight)],
                    },
                );
                None
            }
        }
    }
}

/// A token bucket: `burst` tokens, refilled at `per_sec`. Route 53 throttles an account's
/// API calls this way (reads and writes share it).
#[derive(Debug, Clone)]
pub struct TokenBucket {
    /// Capacity.
    pub burst: f64,
    /// Refill rate per second.
    pub per_sec: f64,
    tokens: f64,
    at: Timestamp,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(burst: u32, per_sec: f64, now: Timestamp) -> Self {
        TokenBucket {
            burst: f64::from(burst),
            per_sec,
            tokens: f64::from(burst),
            at: now,
        }
    }

    /// Takes `n` tokens at `now`, or none and false when there are not enough even after
    /// waiting `patience_secs` for the refill. A call that waits borrows: the bucket goes
    /// below zero, and the calls after it wait or are throttled until it has refilled.
    pub fn take(&mut self, n: u32, now: Timestamp, patience_secs: f64) -> bool {
        let elapsed = (now.millis() - self.at.millis()).max(0) as f64 / 1000.0;
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.burst);
        self.at = now;
        let n = f64::from(n);
        if self.tokens + patience_secs.max(0.0) * self.per_sec + 1e-9 >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }
}

/// The world's Route 53 records: seeding, reading both views, and accepting changes.
impl World {
    /// Seeds a record as already INSYNC.
    pub fn seed_record(&mut self, zone: &str, record: WeightedRecord) {
        self.zones
            .entry(zone.to_string())
            .or_default()
            .upsert(&record, Timestamp::EPOCH);
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
    pub(super) fn change_records(
        &mut self,
        by: &str,
        zone: &str,
        records: &[WeightedRecord],
    ) -> Timestamp {
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
                        name: normalize(&r.name),
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
}
