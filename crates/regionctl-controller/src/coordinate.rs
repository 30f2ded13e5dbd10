//! The pass's first stage: coordinating with the fleet through the journal. It reads the
//! heartbeats and this replica's last discretionary moves, runs the pure fleet step
//! ([`crate::fleet::assess`]) and writes this controller's heartbeat, which proves the local
//! replica writable and counts toward the quorum like the peers'.

use crate::admit::{self, Bounds, Rejected};
use crate::fleet::{self, FleetInput, FleetVerdict, StandDown};
use crate::journal::{self, Heartbeat};
use crate::ports::{Journal, PortError};
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

/// Reads the fleet's heartbeats, decides, writes this controller's heartbeat. `previous`
/// is the last pass's health view (its doubts go into the heartbeat); `own_moves` the
/// discretionary moves this controller made ([`crate::memory::Memory::own_moves`]).
pub async fn coordinate<W: Journal>(
    ctx: &Context<'_>,
    world: &W,
    (previous, own_moves): (&HealthView, &BTreeMap<String, Timestamp>),
    now: Timestamp,
) -> Coordinated {
    let bundle = ctx.bundle;
    let mut failures = Vec::new();
    let bounds = Bounds {
        controllers: &ctx.controllers,
        now,
        skew_secs: ctx.heartbeat_ttl_secs,
    };
    // Peers' heartbeats first: this one's says whom it sees acting.
    let (heartbeats, mut rejected) = match world.query("HEARTBEAT", "").await {
        Ok(items) => {
            let admitted = admit::heartbeats(items, &bounds);
            (admitted.records, admitted.rejected)
        }
        Err(e) => {
            failures.push(format!("journal HEARTBEAT unreadable: {}", e.message()));
            (Vec::new(), Vec::new())
        }
    };
    let own_previous = heartbeats
        .iter()
        .find(|h| h.region == ctx.region && freshness(ctx, now).is_fresh(h.at));
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
    let fleet = fleet::assess(&FleetInput {
        me: &ctx.region,
        controllers: &ctx.controllers,
        bundle,
        heartbeats: &heartbeats,
        own_last_moves,
        not_healthy: fleet::not_healthy(bundle, previous),
        now,
        tick_secs: ctx.tick_secs(),
        ttl_secs: ctx.heartbeat_ttl_secs,
    });
    let unwritable = world
        .put(&journal::heartbeat_item(&fleet.heartbeat))
        .await
        .err()
        .map(|e| StandDown::JournalUnwritable(e.message()));
    Coordinated {
        fleet,
        heartbeats,
        cooldown_unknown,
        failures,
        rejected,
        unwritable,
    }
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
    use super::not_believed;
    use crate::journal::Heartbeat;
    use regionctl_core::time::Timestamp;

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
}
