//! The items a `rogue-writer` forges (ADR 0012 §3): a writer with the journal's
//! credentials that is not the fleet's voice. Each forgery is built from the bundle, the
//! fleet and the victim, dated from world time, and written into one replica every tick
//! while the fault is in force ([`super::Sim`]).
//!
//! Forgeries never touch decisions, controls or approvals: an unreadable `PAUSE` means
//! paused by design, and the controller's credentials cannot write `CONTROL` or `APPROVAL`
//! (`regionctl iam`).
//!
//! The rogue holds the credentials of the controller of the replica it writes to, and
//! IAM holds those to that controller's own heartbeat and digest partitions
//! (`dynamodb:LeadingKeys` with the role's `regionctl-region` tag): a heartbeat or digest
//! forged in another's name lands in the rogue's own partition ([`within_credentials`]),
//! where readers see it and reject it, and overwrites nothing of the victim's. Only a
//! victim whose own credentials the rogue holds (the replica's region) can have its items
//! overwritten.

use crate::scenario::Forgery;
use regionctl_controller::journal::{
    self, Heartbeat, LIVENESS_TTL_SECS, ObservationDigest, ProbeRecord,
};
use regionctl_controller::ports::{ItemKind, JournalItem};
use regionctl_controller::status::ControllerState;
use regionctl_core::policy::Bundle;
use regionctl_core::policy::raw::SignalRole;
use regionctl_core::time::Timestamp;
use std::collections::BTreeMap;

/// The `owner` a rogue writes when it does not pretend to be the victim.
const ROGUE: &str = "rogue";
/// A day, in seconds: how far ahead a future-dated forgery is.
const DAY_SECS: u64 = 86_400;
/// Verdicts on unknown services that pad an oversized digest to about 350 KB.
const OVERSIZED_PROBES: usize = 3_000;
/// Relayed copies of observers outside the fleet in an oversized digest.
const OVERSIZED_RELAYS: usize = 20;

/// Who forges what, against whom.
pub(super) struct Rogue<'a> {
    pub(super) forgery: Forgery,
    pub(super) victim: &'a str,
    pub(super) controllers: &'a [String],
    pub(super) bundle: &'a Bundle,
}

impl Rogue<'_> {
    /// The items to write at `now`.
    pub(super) fn items(&self, now: Timestamp) -> Vec<JournalItem> {
        let later = now.plus_secs(DAY_SECS);
        match self.forgery {
            Forgery::HeartbeatWrongOwner => {
                let mut item = journal::heartbeat_item(&self.heartbeat(self.victim, now));
                item.owner = ROGUE.into();
                vec![item]
            }
            Forgery::HeartbeatForeignKey => self
                .controllers
                .iter()
                .map(|c| {
                    let mut h = self.heartbeat(c, now);
                    h.state = ControllerState::StandingDown("forged".into());
                    foreign(journal::heartbeat_item(&h), c)
                })
                .collect(),
            Forgery::FutureHeartbeat => {
                vec![journal::heartbeat_item(&self.heartbeat(self.victim, later))]
            }
            Forgery::FutureLastMove => self
                .bundle
                .services
                .iter()
                .map(|s| {
                    journal::last_move_item(&s.name, self.victim, now.plus_secs(30 * DAY_SECS))
                })
                .collect(),
            Forgery::FutureDigest => {
                let mut d = self.digest(self.victim, later, later);
                d.probes.iter_mut().for_each(|p| p.ok = false);
                vec![journal::digest_item(&d)]
            }
            Forgery::DigestForeignKey => self
                .controllers
                .iter()
                .map(|c| {
                    let mut d = self.digest(c, now, Timestamp(now.millis() - 3_600_000));
                    d.probes.retain(|p| p.region == self.victim);
                    d.probes.iter_mut().for_each(|p| p.ok = false);
                    foreign(journal::digest_item(&d), c)
                })
                .collect(),
            Forgery::Malformed => self.malformed(now),
            Forgery::OversizedDigest => vec![journal::digest_item(&self.oversized(now))],
        }
    }

    /// A heartbeat as `region` would write it, disputing every (service, region) and
    /// claiming a move of every service at `at`.
    fn heartbeat(&self, region: &str, at: Timestamp) -> Heartbeat {
        Heartbeat {
            region: region.to_string(),
            bundle_hash: self.bundle.hash.clone(),
            at,
            state: ControllerState::Acting,
            not_healthy: self.pairs().collect(),
            sees_acting: vec![region.to_string()],
            first_since: Some(at),
            drained: BTreeMap::new(),
            peers_not_healthy: BTreeMap::new(),
            // Episodes are issue 17 item 2's (approvals): not forged here yet.
            episodes: BTreeMap::new(),
            episodes_closed: BTreeMap::new(),
            last_moves: self
                .bundle
                .services
                .iter()
                .map(|s| (s.name.clone(), at))
                .collect(),
        }
    }

    /// A digest as `observer` would write it at `at`, every probe answering since `since`.
    fn digest(&self, observer: &str, at: Timestamp, since: Timestamp) -> ObservationDigest {
        ObservationDigest {
            observer: observer.to_string(),
            bundle_hash: self.bundle.hash.clone(),
            at,
            probes: self
                .bundle
                .services
                .iter()
                .flat_map(|s| {
                    s.regions.iter().map(move |r| ProbeRecord {
                        service: s.name.clone(),
                        region: r.name.clone(),
                        ok: true,
                        since,
                        role: SignalRole::Failure,
                    })
                })
                .collect(),
            alarm_read_failures: Vec::new(),
            relayed: Vec::new(),
        }
    }

    /// Every `service/region` pair of the bundle.
    fn pairs(&self) -> impl Iterator<Item = String> + '_ {
        self.bundle.services.iter().flat_map(|s| {
            s.regions
                .iter()
                .map(move |r| format!("{}/{}", s.name, r.name))
        })
    }

    /// Bodies that are not their records, under the victim's heartbeat, digest and
    /// last-move keys (kind and owner right).
    fn malformed(&self, now: Timestamp) -> Vec<JournalItem> {
        let expires = Some(now.millis() / 1000 + LIVENESS_TTL_SECS);
        let item = |pk: String, sk: String, kind, body| JournalItem {
            pk,
            sk,
            kind,
            owner: self.victim.to_string(),
            body,
            expires_at: expires,
        };
        let mut out = vec![
            item(
                journal::heartbeat_partition(self.victim),
                self.victim.into(),
                ItemKind::Heartbeat,
                serde_json::json!("not a heartbeat"),
            ),
            item(
                journal::digest_partition(self.victim),
                self.victim.into(),
                ItemKind::Observation,
                serde_json::json!({ "observer": 7, "probes": "none" }),
            ),
        ];
        if let Some(s) = self.bundle.services.first() {
            out.push(item(
                format!("DECISION#{}", s.name),
                format!("{}{}", journal::LAST_MOVE_PREFIX, self.victim),
                ItemKind::Decision,
                serde_json::json!({ "at": "soon" }),
            ));
        }
        out
    }

    /// The victim's digest, dated now, padded with verdicts on unknown services and relays
    /// of observers outside the fleet.
    fn oversized(&self, now: Timestamp) -> ObservationDigest {
        let mut d = self.digest(self.victim, now, now);
        d.probes.extend((0..OVERSIZED_PROBES).map(|i| ProbeRecord {
            service: format!("rogue-service-{i:05}"),
            region: self.victim.to_string(),
            ok: false,
            since: now,
            role: SignalRole::Failure,
        }));
        d.relayed = (0..OVERSIZED_RELAYS)
            .map(|i| {
                let mut r = self.digest(&format!("rogue-{i}"), now, now);
                r.probes.iter_mut().for_each(|p| p.ok = false);
                r
            })
            .collect();
        d
    }
}

/// `item` moved under a key of no controller (`rogue-{controller}`), owned by the rogue.
/// `item` as the credentials of `region`'s controller can write it: a heartbeat or digest
/// only into that controller's own partition (IAM refuses any other key).
pub(super) fn within_credentials(mut item: JournalItem, region: &str) -> JournalItem {
    match item.kind {
        ItemKind::Heartbeat => item.pk = journal::heartbeat_partition(region),
        ItemKind::Observation => item.pk = journal::digest_partition(region),
        _ => {}
    }
    item
}

fn foreign(mut item: JournalItem, controller: &str) -> JournalItem {
    item.sk = format!("{ROGUE}-{controller}");
    item.owner = ROGUE.into();
    item
}
