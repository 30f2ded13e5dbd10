//! What a controller believes of what it reads from the journal: the admission of
//! heartbeats, digests, last moves and operator controls, item by item.
//!
//! # Design
//!
//! The journal is written by every controller and by operators; a single confused or rogue
//! writer must not be able to speak for another, to stop the fleet or to block failback for
//! ever (issue 17, ADR 0012 §3). So every item read is admitted or rejected on its own:
//!
//! - **An item's writer is its key.** A heartbeat (`HEARTBEAT#{region} / {region}`), a
//!   digest (`OBS#{region} / {region}`) and a last move (`LASTMOVE#{region}`) count only
//!   when the region in the sort key, the item's `owner` and the region in its body agree,
//!   and the region is one of the fleet's controllers. Quorum therefore counts keys, not
//!   bodies. A heartbeat or digest must also lie in its writer's own partition, the only
//!   one that writer's credentials may write (`dynamodb:LeadingKeys`, `regionctl iam`):
//!   one found elsewhere was put there by someone else (`wrong-partition`).
//! - **Time from peers is bounded.** An item dated later than now plus the skew bound (the
//!   heartbeat TTL, the bound freshness already uses) is rejected; a field dated so
//!   (`last_moves`, `drained`, `first_since`, a probe's `since`) is dropped. Dropped, never
//!   clamped: a clamped value is re-gossiped and moves forward with every pass, so one bad
//!   clock would block failback fleet-wide for ever.
//! - **A malformed item is skipped and counted**, never a reason for a whole read to fail:
//!   one writer could otherwise make every controller stand down. Each rejection is
//!   reported ([`Rejected`]): the pass raises a `journal-item-rejected` alert and the daemon
//!   counts `regionctl_journal_items_rejected_total{kind,reason}`.
//! - **Controls are read conservatively**: a `PAUSE` item that cannot be read means
//!   *paused* (pausing is the cautious side); an unreadable override is rejected and
//!   reported (an override only holds or drains a region, and a drain is not the cautious
//!   side to guess).

use crate::journal::{self, Heartbeat, LAST_MOVE_PREFIX, ObservationDigest};
use crate::ports::{ItemKind, JournalItem, PortResult};
use regionctl_core::controls::{Controls, Override, Pause};
use regionctl_core::time::Timestamp;
use serde::de::DeserializeOwned;
use std::fmt;

/// Why an item (or a field of one) was not believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// The adapter could not decode it (an unknown kind, a missing attribute).
    Unreadable,
    /// Its body is not the record its key says.
    Malformed,
    /// Its key, owner and body name different writers.
    WrongWriter,
    /// It names its writer right but lies outside that writer's own partition (only
    /// another writer's credentials can have put it there).
    WrongPartition,
    /// Its writer is not a controller of this fleet.
    UnknownWriter,
    /// Dated later than now plus the skew bound (the item, or one of its fields).
    FromTheFuture,
    /// A relayed copy of the relaying writer itself.
    SelfRelay,
}

impl Reason {
    /// The metric label (`malformed`, `wrong-writer`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Unreadable => "unreadable",
            Reason::Malformed => "malformed",
            Reason::WrongWriter => "wrong-writer",
            Reason::WrongPartition => "wrong-partition",
            Reason::UnknownWriter => "unknown-writer",
            Reason::FromTheFuture => "from-the-future",
            Reason::SelfRelay => "self-relay",
        }
    }
}

/// One item (or field) not believed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// What it was read as (`heartbeat`, `digest`, `last-move`, `pause`, `override`).
    pub kind: &'static str,
    /// Its key (`HEARTBEAT / eu-west-1`, with `.field` for a field).
    pub key: String,
    /// Why.
    pub reason: Reason,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.kind, self.key, self.reason.as_str())
    }
}

/// Who may write and what time it is: what admission checks against.
#[derive(Debug, Clone, Copy)]
pub struct Bounds<'a> {
    /// The fleet's controllers.
    pub controllers: &'a [String],
    /// This controller's now.
    pub now: Timestamp,
    /// How far ahead of `now` a peer's clock may be believed.
    pub skew_secs: u64,
}

impl Bounds<'_> {
    fn future(&self, t: Timestamp) -> bool {
        t > self.now.plus_secs(self.skew_secs)
    }

    fn known(&self, region: &str) -> bool {
        self.controllers.iter().any(|c| c == region)
    }
}

/// Records admitted, and what was not.
#[derive(Debug, Clone)]
pub struct Admitted<T> {
    /// Believed.
    pub records: Vec<T>,
    /// Not believed.
    pub rejected: Vec<Rejected>,
    /// Of those, the ones from a fleet controller under its own key dated too far ahead
    /// only, with their dates: what this replica holds of that writer, not yet believable
    /// (`coordinate::aged_on_own_clock` ages it from here).
    pub ahead: Vec<(String, Timestamp)>,
}

impl<T> Default for Admitted<T> {
    fn default() -> Self {
        Admitted {
            records: Vec::new(),
            rejected: Vec::new(),
            ahead: Vec::new(),
        }
    }
}

impl<T> Admitted<T> {
    fn reject(&mut self, kind: &'static str, key: String, reason: Reason) {
        self.rejected.push(Rejected { kind, key, reason });
    }
}

/// `item`'s key for people.
fn key(item: &JournalItem) -> String {
    format!("{} / {}", item.pk, item.sk)
}

/// A record one controller writes under its own key.
trait Owned: DeserializeOwned {
    /// What it is, for reports.
    const KIND: &'static str;
    /// The writer its body names.
    fn writer(&self) -> &str;
    /// When it was written.
    fn at(&self) -> Timestamp;
    /// The partition `writer`'s record lives in: its own (IAM keeps each controller's
    /// credentials to it), so one found in another was written by someone else.
    fn partition(writer: &str) -> String;
}

impl Owned for Heartbeat {
    const KIND: &'static str = "heartbeat";
    fn writer(&self) -> &str {
        &self.region
    }
    fn at(&self) -> Timestamp {
        self.at
    }
    fn partition(writer: &str) -> String {
        journal::heartbeat_partition(writer)
    }
}

impl Owned for ObservationDigest {
    const KIND: &'static str = "digest";
    fn writer(&self) -> &str {
        &self.observer
    }
    fn at(&self) -> Timestamp {
        self.at
    }
    fn partition(writer: &str) -> String {
        journal::digest_partition(writer)
    }
}

/// The record an owned item holds, if its partition, sort key (the writer's region), owner
/// and body agree and its writer is a controller, dated no later than the bound.
fn owned<T: Owned>(item: &JournalItem, bounds: &Bounds<'_>, out: &mut Admitted<T>) -> Option<T> {
    let (kind, key_writer) = (T::KIND, item.sk.as_str());
    let Ok(record) = serde_json::from_value::<T>(item.body.clone()) else {
        out.reject(kind, key(item), Reason::Malformed);
        return None;
    };
    #[cfg(feature = "planted-bugs")]
    let key_writer = if kind == "digest"
        && regionctl_core::planted::active(regionctl_core::planted::Bug::DigestByBody)
    {
        if bounds.known(record.writer()) {
            return Some(record);
        }
        key_writer
    } else {
        key_writer
    };
    let reason = if record.writer() != key_writer || item.owner != key_writer {
        Some(Reason::WrongWriter)
    } else if item.pk != T::partition(key_writer) {
        Some(Reason::WrongPartition)
    } else if !bounds.known(key_writer) {
        Some(Reason::UnknownWriter)
    } else if bounds.future(record.at()) {
        out.ahead.push((key_writer.to_string(), record.at()));
        Some(Reason::FromTheFuture)
    } else {
        None
    };
    match reason {
        Some(reason) => {
            out.reject(kind, key(item), reason);
            None
        }
        None => Some(record),
    }
}

/// The heartbeats of `items` (the `HEARTBEAT#{region}` partitions) a controller may count,
/// with their peer-dated fields from the future dropped.
pub fn heartbeats(items: Vec<PortResult<JournalItem>>, bounds: &Bounds<'_>) -> Admitted<Heartbeat> {
    let mut out = Admitted::default();
    for item in items {
        let Ok(item) = item else {
            out.reject("heartbeat", "HEARTBEAT".into(), Reason::Unreadable);
            continue;
        };
        if let Some(mut h) = owned(&item, bounds, &mut out) {
            drop_future_fields(&mut h, &key(&item), bounds, &mut out.rejected);
            out.records.push(h);
        }
    }
    out
}

/// Drops the fields of a heartbeat dated later than the bound.
fn drop_future_fields(
    h: &mut Heartbeat,
    key: &str,
    bounds: &Bounds<'_>,
    rejected: &mut Vec<Rejected>,
) {
    let mut drop = |field: String| {
        rejected.push(Rejected {
            kind: "heartbeat",
            key: format!("{key}.{field}"),
            reason: Reason::FromTheFuture,
        });
    };
    if h.first_since.is_some_and(|t| bounds.future(t)) {
        h.first_since = None;
        drop("first_since".into());
    }
    h.last_moves.retain(|service, t| {
        let keep = !bounds.future(*t);
        if !keep {
            drop(format!("last_moves.{service}"));
        }
        keep
    });
    h.episodes.retain(|service, t| {
        let keep = !bounds.future(*t);
        if !keep {
            drop(format!("episodes.{service}"));
        }
        keep
    });
    h.episodes_closed.retain(|service, t| {
        let keep = !bounds.future(*t);
        if !keep {
            drop(format!("episodes_closed.{service}"));
        }
        keep
    });
    h.drained.retain(|pair, t| {
        let keep = !bounds.future(*t);
        if !keep {
            drop(format!("drained.{pair}"));
        }
        keep
    });
}

/// The digests of `items` (the `OBS#{region}` partitions) a controller may use: owned as heartbeats are,
/// their relayed copies only of other fleet controllers than the writer and not from the
/// future, their probe verdicts from the future dropped.
pub fn digests(
    items: Vec<PortResult<JournalItem>>,
    bounds: &Bounds<'_>,
) -> Admitted<ObservationDigest> {
    let mut out: Admitted<ObservationDigest> = Admitted::default();
    for item in items {
        let Ok(item) = item else {
            out.reject("digest", "OBS".into(), Reason::Unreadable);
            continue;
        };
        let Some(mut d) = owned(&item, bounds, &mut out) else {
            continue;
        };
        let k = key(&item);
        let writer = d.observer.clone();
        d.relayed.retain(|r| {
            let reason = if r.observer == writer {
                Some(Reason::SelfRelay)
            } else if !bounds.known(&r.observer) {
                Some(Reason::UnknownWriter)
            } else if bounds.future(r.at) {
                Some(Reason::FromTheFuture)
            } else {
                None
            };
            if let Some(reason) = reason {
                out.rejected.push(Rejected {
                    kind: "digest",
                    key: format!("{k}.relayed.{}", r.observer),
                    reason,
                });
            }
            reason.is_none()
        });
        drop_future_probes(&mut d, &k, bounds, &mut out.rejected);
        for r in &mut d.relayed {
            drop_future_probes(r, &k, bounds, &mut out.rejected);
        }
        out.records.push(d);
    }
    out
}

/// Drops a digest's probe verdicts whose `since` is later than the bound.
fn drop_future_probes(
    d: &mut ObservationDigest,
    key: &str,
    bounds: &Bounds<'_>,
    rejected: &mut Vec<Rejected>,
) {
    let observer = d.observer.clone();
    d.probes.retain(|p| {
        let keep = !bounds.future(p.since);
        if !keep {
            rejected.push(Rejected {
                kind: "digest",
                key: format!("{key}.{observer}.{}/{}.since", p.service, p.region),
                reason: Reason::FromTheFuture,
            });
        }
        keep
    });
}

/// The newest last move among `items` (partition `DECISION#{service}`, prefix
/// `LASTMOVE#`) written by a fleet controller under its own key, not from the future.
pub fn last_move(items: Vec<PortResult<JournalItem>>, bounds: &Bounds<'_>) -> Admitted<Timestamp> {
    let mut out = Admitted::default();
    for item in items {
        let Ok(item) = item else {
            out.reject("last-move", "LASTMOVE".into(), Reason::Unreadable);
            continue;
        };
        let writer = item.sk.strip_prefix(LAST_MOVE_PREFIX).unwrap_or_default();
        let at = item
            .body
            .get("at")
            .and_then(|v| serde_json::from_value::<Timestamp>(v.clone()).ok());
        let reason = match at {
            None => Some(Reason::Malformed),
            Some(_) if item.owner != writer || item.kind != ItemKind::Decision => {
                Some(Reason::WrongWriter)
            }
            Some(_) if !bounds.known(writer) => Some(Reason::UnknownWriter),
            Some(t) if bounds.future(t) => Some(Reason::FromTheFuture),
            Some(_) => None,
        };
        match (reason, at) {
            (Some(reason), _) => out.reject("last-move", key(&item), reason),
            (None, Some(t)) => out.records.push(t),
            (None, None) => {}
        }
    }
    out
}

/// The operator controls of `items` (partition `CONTROL`): an unreadable `PAUSE` means
/// paused; an unreadable override is left out. Both are reported.
pub fn controls(items: &[PortResult<JournalItem>], now: Timestamp) -> (Controls, Vec<Rejected>) {
    let mut controls = Controls::default();
    let mut rejected = Vec::new();
    for item in items {
        let Ok(item) = item else {
            rejected.push(Rejected {
                kind: "control",
                key: "CONTROL".into(),
                reason: Reason::Unreadable,
            });
            continue;
        };
        if item.sk == "PAUSE" && item.body.is_null() {
            // `regionctl resume` writes a null body: not paused.
            controls.paused = None;
        } else if item.sk == "PAUSE" {
            controls.paused = Some(
                serde_json::from_value::<Pause>(item.body.clone()).unwrap_or_else(|_| {
                    rejected.push(Rejected {
                        kind: "pause",
                        key: key(item),
                        reason: Reason::Malformed,
                    });
                    Pause {
                        who: "unknown (unreadable PAUSE item)".into(),
                        why: "the PAUSE item in the journal cannot be read: paused until an operator resumes or rewrites it".into(),
                        at: now,
                    }
                }),
            );
        } else if item.sk.starts_with("OVERRIDE#") {
            match serde_json::from_value::<Override>(item.body.clone()) {
                Ok(o) => controls.overrides.push(o),
                Err(_) => rejected.push(Rejected {
                    kind: "override",
                    key: key(item),
                    reason: Reason::Malformed,
                }),
            }
        }
    }
    (controls, rejected)
}

#[cfg(test)]
mod tests;
