//! The journal as a DynamoDB global table in multi-region eventual mode: one replica per
//! region; a write lands in the caller's replica at once and reaches the others after the
//! replication lag (queued while they are partitioned or unavailable); conflicts resolve
//! last-writer-wins; conditional writes are checked only against the local replica.

use regionctl_controller::ports::JournalItem;
use regionctl_core::time::Timestamp;
use std::collections::BTreeMap;
use std::sync::Arc;

/// An item as a replica stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// The item.
    pub item: Arc<JournalItem>,
    /// When it was written (world time): last-writer-wins compares this.
    pub written_at: Timestamp,
    /// The replica it was written to.
    pub origin: String,
    /// Order of the write in the whole world: two writes in the same millisecond from the
    /// same replica (a heartbeat rewritten within one pass) are ordered too.
    pub seq: u64,
}

/// A replication in flight.
#[derive(Debug, Clone, PartialEq)]
struct InFlight {
    to: String,
    deliver_at: Timestamp,
    stored: Stored,
}

/// Every regional replica and the replication between them.
#[derive(Debug, Clone, Default)]
pub struct Replicas {
    /// Per region: (pk, sk) → item.
    pub replicas: BTreeMap<String, BTreeMap<(String, String), Stored>>,
    queue: Vec<InFlight>,
    writes: u64,
}

impl Replicas {
    /// One empty replica per region.
    pub fn new(regions: &[String]) -> Self {
        Replicas {
            replicas: regions
                .iter()
                .map(|r| (r.clone(), BTreeMap::new()))
                .collect(),
            queue: Vec::new(),
            writes: 0,
        }
    }

    /// Writes `item` into `region`'s replica (unconditionally) and queues its replication.
    pub fn write(&mut self, region: &str, item: &JournalItem, now: Timestamp, lag_ms: i64) {
        self.writes += 1;
        // Shared by the local replica and every delivery in flight: cloned once.
        let stored = Stored {
            item: Arc::new(item.clone()),
            written_at: now,
            origin: region.to_string(),
            seq: self.writes,
        };
        apply(
            self.replicas.entry(region.to_string()).or_default(),
            stored.clone(),
        );
        for to in self.replicas.keys() {
            if to != region {
                self.queue.push(InFlight {
                    to: to.clone(),
                    deliver_at: Timestamp(now.millis() + lag_ms),
                    stored: stored.clone(),
                });
            }
        }
    }

    /// True if `region`'s replica holds the key.
    pub fn contains(&self, region: &str, pk: &str, sk: &str) -> bool {
        self.replicas
            .get(region)
            .is_some_and(|r| r.contains_key(&(pk.to_string(), sk.to_string())))
    }

    /// Items of `region`'s replica in partition `pk` whose sort key starts with `prefix`.
    pub fn query(&self, region: &str, pk: &str, prefix: &str) -> Vec<JournalItem> {
        let Some(replica) = self.replicas.get(region) else {
            return Vec::new();
        };
        replica
            .range((pk.to_string(), String::new())..)
            .take_while(|((p, _), _)| p == pk)
            .filter(|((_, s), _)| s.starts_with(prefix))
            .map(|(_, st)| JournalItem::clone(&st.item))
            .collect()
    }

    /// Delivers replications due by `now` unless `blocked(from, to)`; blocked ones wait.
    pub fn deliver(&mut self, now: Timestamp, blocked: impl Fn(&str, &str) -> bool) {
        let queue = std::mem::take(&mut self.queue);
        for f in queue {
            if f.deliver_at <= now && !blocked(&f.stored.origin, &f.to) {
                apply(self.replicas.entry(f.to.clone()).or_default(), f.stored);
            } else {
                self.queue.push(f);
            }
        }
    }

    /// Replications still in flight.
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }

    /// Every item in any replica (the union, the latest write per key), for reports.
    pub fn union(&self) -> BTreeMap<(String, String), Stored> {
        let mut out: BTreeMap<(String, String), Stored> = BTreeMap::new();
        for replica in self.replicas.values() {
            for (k, st) in replica {
                match out.get(k) {
                    Some(existing) if !later(st, existing) => {}
                    _ => {
                        out.insert(k.clone(), st.clone());
                    }
                }
            }
        }
        out
    }
}

/// Last-writer-wins; writes in the same millisecond are ordered as they were made (a
/// replica's own rewrite must not be dropped as a tie).
fn later(a: &Stored, b: &Stored) -> bool {
    (a.written_at, a.seq) > (b.written_at, b.seq)
}

fn apply(replica: &mut BTreeMap<(String, String), Stored>, stored: Stored) {
    let key = (stored.item.pk.clone(), stored.item.sk.clone());
    match replica.get(&key) {
        Some(existing) if !later(&stored, existing) => {}
        _ => {
            replica.insert(key, stored);
        }
    }
}
