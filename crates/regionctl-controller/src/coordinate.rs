//! The pass's first stage: coordinating with the fleet through the journal. It reads the
//! heartbeats and this replica's last discretionary moves, runs the pure fleet step
//! ([`crate::fleet::assess`]) and writes this controller's heartbeat, which proves the local
//! replica writable and counts toward the quorum like the peers'.

use crate::admit::{self, Bounds, Rejected};
use crate::fleet::{self, FleetInput, FleetVerdict, StandDown};
use crate::journal::{self, Heartbeat};
use crate::ports::{Journal, PortError, query_partitions};
use crate::reconcile::Context;
use regionctl_core::health::HealthView;
use regionctl_core::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

/// What coordinating found.
#[derive(Debug, Clone)]
pub struct Coordinated {
    /// The fleet step's verdict (its heartbeat as written).
    pub fleet: FleetVerdict,
    /// The heartbeats read (this controller's previous one among them).
    pub heartbeats: Vec<Heartbeat>,
    /// Services whose last discretionary move this replica could not say: this pass plans
    /// as if a move had just been made (no discretionary step), without telling peers of a
    /// move that never happened.
    pub cooldown_unknown: BTreeSet<String>,
    /// What could not be read.
    pub failures: Vec<String>,
    /// Heartbeats and last moves not believed (forged, malformed, from the future).
    pub rejected: Vec<Rejected>,
    /// Set when the heartbeat could not be written: the pass stops here.
    pub unwritable: Option<StandDown>,
}

/// What a pass of [`coordinate`] reads from and keeps in the controller's memory.
pub struct Remembered<'a> {
    /// The last pass's health view (its doubts go into the heartbeat).
    pub previous: &'a HealthView,
    /// The discretionary moves this controller made ([`crate::memory::Memory::own_moves`]).
    pub own_moves: &'a BTreeMap<String, Timestamp>,
    /// The last heartbeat believed of each controller, this one's included
    /// ([`crate::memory::Memory::heartbeats`]); updated here.
    pub heartbeats: &'a mut BTreeMap<String, Heartbeat>,
    /// Per peer, its heartbeat's date and when this controller first read it
    /// ([`crate::memory::Memory::heartbeats_seen`]); updated here.
    pub seen: &'a mut BTreeMap<String, (Timestamp, Timestamp)>,
}

/// Reads the fleet's heartbeats, decides, writes this controller's heartbeat.
pub async fn coordinate<W: Journal>(
    ctx: &Context<'_>,
    world: &W,
    memory: Remembered<'_>,
    now: Timestamp,
) -> Coordinated {
    let Remembered {
        previous,
        own_moves,
        heartbeats: remembered,
        seen,
    } = memory;
    let bundle = ctx.bundle;
    let mut failures = Vec::new();
    let bounds = Bounds {
        controllers: &ctx.controllers,
        now,
        skew_secs: ctx.heartbeat_ttl_secs,
    };
    // Peers' heartbeats first: this one's says whom it sees acting.
    // One partition per controller (its own writer's: `journal::heartbeat_partition`).
    let (items, unread) = query_partitions(
        world,
        ctx.controllers
            .iter()
            .map(|c| journal::heartbeat_partition(c)),
    )
    .await;
    failures.extend(unread);
    let admitted = admit::heartbeats(items, &bounds);
    let (heartbeats, mut rejected, ahead) = (admitted.records, admitted.rejected, admitted.ahead);
    // A kept heartbeat dated after now (this clock went back) is not fresh: admission
    // would not believe it either.
    let fresh = |at: Timestamp| at <= now && freshness(ctx, now).is_fresh(at);
    let heartbeats = with_remembered(heartbeats, remembered, fresh);
    let heartbeats = aged_on_own_clock((heartbeats, &ahead), seen, &ctx.region, now);
    let own_previous = heartbeats
        .iter()
        .find(|h| h.region == ctx.region && fresh(h.at));
    let mut own_last_moves = BTreeMap::new();
    let mut cooldown_unknown = BTreeSet::new();
    for service in &bundle.services {
        let before = rejected.len();
        let last = last_discretionary(world, &service.name, &bounds, &mut rejected).await;
        let last = match last {
            Ok(last) if rejected.len() > before => {
                let own = own_moves.get(&service.name).copied();
                Ok(Some(not_believed(
                    last,
                    (own_previous, own),
                    &service.name,
                    now,
                )))
            }
            other => other,
        };
        // This controller's own moves count too: one whose `LASTMOVE` write failed is
        // then still carried in its heartbeat, so a peer that leads next keeps the
        // cooldown (simulate seed 5545: the journal refused eu-west-1's last move, and
        // eu-central-1, leading again after a clock skew, took the next stage 113 s later).
        let last = last.map(|t| t.max(own_moves.get(&service.name).copied()));
        match last {
            Ok(Some(t)) => {
                own_last_moves.insert(service.name.clone(), t);
            }
            Ok(None) => {}
            Err(e) => {
                failures.push(format!(
                    "{}: last discretionary move unreadable ({}): no failback this pass",
                    service.name,
                    e.message()
                ));
                cooldown_unknown.insert(service.name.clone());
            }
        }
    }
    let doubted = doubted(&rejected, &ctx.controllers);
    let fleet = fleet::assess(&FleetInput {
        me: &ctx.region,
        controllers: &ctx.controllers,
        bundle,
        heartbeats: &heartbeats,
        own_last_moves,
        not_healthy: fleet::not_healthy(bundle, previous),
        doubted,
        now,
        tick_secs: ctx.tick_secs(),
        ttl_secs: ctx.heartbeat_ttl_secs,
    });
    let unwritable = world
        .put(&journal::heartbeat_item(&fleet.heartbeat))
        .await
        .err()
        .map(|e| StandDown::JournalUnwritable(e.message()));
    if unwritable.is_none() {
        remembered.insert(ctx.region.clone(), fleet.heartbeat.clone());
    }
    Coordinated {
        fleet,
        heartbeats,
        cooldown_unknown,
        failures,
        rejected,
        unwritable,
    }
}

/// The fleet controllers under whose own heartbeat key (`HEARTBEAT#{region} / {region}`)
/// an item was not believed this pass: it may have overwritten that controller's genuine
/// heartbeat. An item under another key of a partition overwrote nothing.
fn doubted(rejected: &[Rejected], controllers: &[String]) -> Vec<String> {
    rejected
        .iter()
        .filter(|r| r.kind == "heartbeat")
        .filter_map(|r| r.key.split_once(" / "))
        .filter(|(pk, sk)| *pk == journal::heartbeat_partition(sk))
        .map(|(_, writer)| writer)
        .filter(|writer| controllers.iter().any(|c| c == writer))
        .map(str::to_string)
        .collect()
}

/// The heartbeats read, each replaced by the one last believed of its writer when that is
/// newer; `remembered` keeps the fresh ones for the next pass. A writer holding a peer's
/// credentials (only they may write the peer's partition) can overwrite its heartbeat with
/// an item that is rightly not believed (last writer wins): the reader would lose that
/// peer from its quorum for as long as the forgery lasts and stand down, though the peer's
/// genuine heartbeats keep arriving between forgeries (simulate seed 1402, from before
/// the partitions were per writer). A peer seen once stays counted until its heartbeat is
/// stale, as it would have been unforged.
fn with_remembered(
    read: Vec<Heartbeat>,
    remembered: &mut BTreeMap<String, Heartbeat>,
    fresh: impl Fn(Timestamp) -> bool,
) -> Vec<Heartbeat> {
    let mut by_writer: BTreeMap<String, Heartbeat> =
        read.into_iter().map(|h| (h.region.clone(), h)).collect();
    for (writer, kept) in remembered.iter() {
        if fresh(kept.at) && by_writer.get(writer).is_none_or(|h| h.at < kept.at) {
            by_writer.insert(writer.clone(), kept.clone());
        }
    }
    remembered.clear();
    remembered.extend(
        by_writer
            .iter()
            .filter(|(_, h)| fresh(h.at))
            .map(|(w, h)| (w.clone(), h.clone())),
    );
    by_writer.into_values().collect()
}

/// Each peer's heartbeat dated no later than when this controller first read it, so that
/// it ages on this controller's clock as well as on its writer's. Admission believes
/// items dated up to the skew bound (the heartbeat TTL) ahead, so on a clock running
/// behind, the last heartbeat a peer wrote before a partition looked fresh for up to
/// twice the TTL: an isolated controller, its clock 84 s behind, rejected its peers'
/// last heartbeats as from the future, then believed them 41 s into the partition and
/// counted the two peers it could no longer hear for another TTL, acting in a minority
/// for 97 s (simulate `--generate-services 200` seed 527). A heartbeat first read while
/// still dated too far ahead (`ahead`: writer and date) is first read then too. So a
/// heartbeat that stops changing is stale at most one TTL after this controller first
/// read it, whatever the clocks: no later than a TTL, a tick and the replication lag
/// after its writer was cut off. Just started, this controller has read nothing yet and
/// dates each heartbeat as before; its own is left as written. `seen` keeps, per peer,
/// the date read and when it was first read.
fn aged_on_own_clock(
    (heartbeats, ahead): (Vec<Heartbeat>, &[(String, Timestamp)]),
    seen: &mut BTreeMap<String, (Timestamp, Timestamp)>,
    me: &str,
    now: Timestamp,
) -> Vec<Heartbeat> {
    let first_read = |writer: &str, at: Timestamp| match seen.get(writer) {
        Some((dated, first)) if *dated == at => *first,
        _ => now,
    };
    let mut next: BTreeMap<String, (Timestamp, Timestamp)> = ahead
        .iter()
        .filter(|(writer, _)| writer != me)
        .map(|(writer, at)| (writer.clone(), (*at, first_read(writer, *at))))
        .collect();
    let aged = heartbeats
        .into_iter()
        .map(|mut h| {
            if h.region != me {
                let first = first_read(&h.region, h.at);
                next.insert(h.region.clone(), (h.at, first));
                h.at = h.at.min(first);
            }
            h
        })
        .collect();
    *seen = next;
    aged
}

/// The last move of `service` when an item under one of its `LASTMOVE#` keys was not
/// believed: that item may have overwritten the real one (same key, last writer wins), so
/// what the replica still holds (`believed`) is not the whole story.
///
/// The move this controller knew of a pass ago (its own previous heartbeat's `last_moves`,
/// carried from pass to pass) or made itself since (`own`: that heartbeat was written
/// before the pass's moves) is kept; without either, the forgery counts as a move made
/// now, and the next heartbeat carries that time on. Either way a forged item delays
/// failback by one cooldown at most, and never shortens it (seed 614: the leader, its own
/// last stage forgotten, took the next one 10 s later). Found by `regionctl simulate`, seed 4892: a forged
/// future last move first erased the leader's cooldown (it took the next failback stage
/// 20 s after the last), then, read as "cooldown unknown", blocked failback for as long as
/// the forged item stayed.
fn not_believed(
    believed: Option<Timestamp>,
    (own_previous, own): (Option<&Heartbeat>, Option<Timestamp>),
    service: &str,
    now: Timestamp,
) -> Timestamp {
    let carried = own_previous.and_then(|h| h.last_moves.get(service).copied());
    let known = match (carried, own) {
        (Some(a), Some(b)) => a.max(b),
        (a, b) => a.or(b).unwrap_or(now),
    }
    .min(now);
    believed.map_or(known, |b| b.max(known))
}

/// Heartbeat freshness as of `now`.
fn freshness(ctx: &Context<'_>, now: Timestamp) -> fleet::Freshness {
    fleet::Freshness {
        now,
        ttl_secs: ctx.heartbeat_ttl_secs,
    }
}

/// Writes a heartbeat restated later in the pass (its view changed, or it stands down);
/// the failure to report if it could not be.
pub async fn rewrite_heartbeat<W: Journal>(world: &W, heartbeat: &Heartbeat) -> Option<String> {
    world
        .put(&journal::heartbeat_item(heartbeat))
        .await
        .err()
        .map(|e| format!("heartbeat not updated: {}", e.message()))
}

/// The newest discretionary move of `service` in this controller's journal replica (none
/// yet: `Ok(None)`), or why the replica could not say. Items not believed go to `rejected`.
async fn last_discretionary<W: Journal>(
    world: &W,
    service: &str,
    bounds: &Bounds<'_>,
    rejected: &mut Vec<Rejected>,
) -> Result<Option<Timestamp>, PortError> {
    let items = world
        .query(&format!("DECISION#{service}"), journal::LAST_MOVE_PREFIX)
        .await?;
    let admitted = admit::last_move(items, bounds);
    rejected.extend(admitted.rejected);
    Ok(admitted.records.into_iter().max())
}

#[cfg(test)]
mod tests {
    use super::{aged_on_own_clock, not_believed, with_remembered};
    use crate::journal::Heartbeat;
    use regionctl_core::time::Timestamp;
    use std::collections::BTreeMap;

    const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);

    fn ago(secs: i64) -> Timestamp {
        Timestamp::from_secs(1_800_000_000 - secs)
    }

    fn heartbeat_knowing(service: &str, at: Timestamp) -> Heartbeat {
        let mut h = crate::fake::heartbeat("eu-west-1", "hash", NOW);
        h.last_moves.insert(service.into(), at);
        h
    }

    #[test]
    fn a_forged_last_move_never_shortens_the_cooldown() {
        let carried = heartbeat_knowing("content", ago(600));
        // The heartbeat was written before this controller's own latest move (seed 614).
        let own = Some(ago(10));
        assert_eq!(
            not_believed(None, (Some(&carried), own), "content", NOW),
            ago(10)
        );
        assert_eq!(
            not_believed(None, (Some(&carried), None), "content", NOW),
            ago(600)
        );
        assert_eq!(not_believed(None, (None, own), "content", NOW), ago(10));
        // Nothing known: the forgery counts as a move made now.
        assert_eq!(not_believed(None, (None, None), "content", NOW), NOW);
        // A believed peer's move that is newer wins.
        assert_eq!(
            not_believed(Some(ago(5)), (Some(&carried), own), "content", NOW),
            ago(5)
        );
    }

    #[test]
    fn a_peer_heartbeat_overwritten_by_a_forgery_stays_counted_while_fresh() {
        let fresh = |at: Timestamp| NOW.secs_since(at) < 30;
        let hb = |region: &str, age| crate::fake::heartbeat(region, "hash", ago(age));
        let mut remembered = BTreeMap::new();
        // Pass 1: both peers read.
        let read = with_remembered(
            vec![hb("eu-west-1", 5), hb("us-east-1", 5)],
            &mut remembered,
            fresh,
        );
        assert_eq!(read.len(), 2);
        // Pass 2: eu-west-1's item is a forgery (not believed, so not read): its last
        // believed heartbeat stands in; a newer read of us-east-1 replaces the kept one.
        let read = with_remembered(vec![hb("us-east-1", 1)], &mut remembered, fresh);
        let ats: Vec<(String, Timestamp)> = read.iter().map(|h| (h.region.clone(), h.at)).collect();
        assert_eq!(
            ats,
            [
                ("eu-west-1".to_string(), ago(5)),
                ("us-east-1".to_string(), ago(1))
            ]
        );
        // An older copy in a lagging replica does not replace a newer one seen before.
        let read = with_remembered(vec![hb("us-east-1", 20)], &mut remembered, fresh);
        assert!(
            read.iter()
                .any(|h| h.region == "us-east-1" && h.at == ago(1))
        );
        // Never past its freshness: a kept heartbeat is dropped once stale.
        let later = |at: Timestamp| NOW.plus_secs(40).secs_since(at) < 30;
        let read = with_remembered(Vec::new(), &mut remembered, later);
        assert!(read.is_empty(), "{read:?}");
        assert!(remembered.is_empty());
    }

    #[test]
    fn a_heartbeat_that_stops_changing_goes_stale_on_this_clock_however_far_ahead_it_is_dated() {
        // This clock runs 40 s behind the peers': their heartbeats are dated 40 s ahead,
        // inside the skew bound, so admission believes them (simulate seed 527).
        let ttl = 43;
        let fresh = |at: Timestamp, now: Timestamp| !now.elapsed_at_least(at, ttl);
        let peer = |at| crate::fake::heartbeat("eu-west-1", "hash", at);
        let own = crate::fake::heartbeat("eu-central-1", "hash", NOW);
        let mut seen = BTreeMap::new();
        let ahead = NOW.plus_secs(40);
        // First read: dated as written (after a start, nothing is known to age it by).
        let read = aged_on_own_clock(
            (vec![peer(ahead), own.clone()], &[]),
            &mut seen,
            "eu-central-1",
            NOW,
        );
        assert_eq!(read[0].at, NOW, "no later than when first read");
        assert_eq!(read[1].at, NOW, "its own heartbeat is left as written");
        // The peer is cut off: the same item is read pass after pass. Dated as written it
        // would look fresh until NOW + 40 + 43; read this way it is stale 43 s after it was
        // first read.
        let later = NOW.plus_secs(ttl);
        let read = aged_on_own_clock((vec![peer(ahead)], &[]), &mut seen, "eu-central-1", later);
        assert!(fresh(ahead, later), "as written it still looks fresh");
        assert!(!fresh(read[0].at, later), "{:?}", read[0].at);
        // A peer that keeps writing stays fresh: each new heartbeat is a new first read.
        let newer = ahead.plus_secs(10);
        let read = aged_on_own_clock((vec![peer(newer)], &[]), &mut seen, "eu-central-1", later);
        assert!(fresh(read[0].at, later));
        // A heartbeat dated in the past is not moved.
        let mut seen = BTreeMap::new();
        let read = aged_on_own_clock((vec![peer(ago(5))], &[]), &mut seen, "eu-central-1", NOW);
        assert_eq!(read[0].at, ago(5));
        // Dated too far ahead to be believed when first read (its writer just cut off,
        // this clock 84 s behind): it ages from that first read, not from when it became
        // believable 41 s later.
        let mut seen = BTreeMap::new();
        let far = NOW.plus_secs(84);
        let ahead = [("eu-west-1".to_string(), far)];
        let read = aged_on_own_clock((Vec::new(), &ahead), &mut seen, "eu-central-1", NOW);
        assert!(read.is_empty());
        let believable = NOW.plus_secs(41);
        let read = aged_on_own_clock(
            (vec![peer(far)], &[]),
            &mut seen,
            "eu-central-1",
            believable,
        );
        assert_eq!(
            read[0].at, NOW,
            "dated when first read, while not yet believed"
        );
        assert!(!fresh(read[0].at, NOW.plus_secs(ttl)));
    }
}
