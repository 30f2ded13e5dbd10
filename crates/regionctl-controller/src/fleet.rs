//! The fleet step: from the heartbeats a controller read, whether it may act, whether it
//! leads, and what its own heartbeat says this pass. Pure: data in, verdict out; the pass
//! ([`crate::coordinate`]) reads and writes the journal around it.
//!
//! A controller acts only with fresh heartbeats from a strict majority of the fleet on the
//! same policy-bundle hash, its own included ([`Quorum`]); it stands down otherwise, when its
//! journal replica rejects its heartbeat, or when its own region is down ([`StandDown`]).
//! Discretionary moves are made by one leader only ([`crate::leader`]), once it has been
//! first for a while (`Heartbeat::first_since`, [`lead_after_secs`]).

use crate::journal::Heartbeat;
use crate::leader::{self, FleetView};
use crate::status::ControllerState;
use regionctl_core::health::{HealthView, Verdict as Health};
use regionctl_core::live::LiveState;
use regionctl_core::policy::Bundle;
use regionctl_core::time::Timestamp;
use std::collections::BTreeMap;

/// Why a controller does not act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StandDown {
    /// Fewer than a strict majority of fresh heartbeats on this bundle hash.
    QuorumNotMet {
        /// Fresh controllers on the same hash (including this one).
        same_hash: usize,
        /// Needed.
        needed: usize,
    },
    /// The local journal replica rejected the heartbeat.
    JournalUnwritable(String),
    /// This controller's own region is down.
    OwnRegionDown,
    /// Back from a gap in its observation (its passes stopped before observing, the
    /// journal out of reach, for longer than the heartbeat TTL): it observes, and acts
    /// once its evidence since `since` spans the policies' longest `fail_after_secs`.
    CatchingUp {
        /// When it observed again.
        since: Timestamp,
        /// Seconds of evidence it waits for.
        window_secs: u64,
    },
    /// A decision's intent could not be recorded: nothing applied this pass.
    IntentUnrecorded {
        /// Its service.
        service: String,
        /// Why (the journal's errors).
        why: String,
    },
}

/// How the text of [`StandDown::QuorumNotMet`] begins (peers read it in heartbeats:
/// [`crate::status::ControllerState::cut_off`]).
pub const QUORUM_NOT_MET: &str = "quorum not met";

impl std::fmt::Display for StandDown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StandDown::QuorumNotMet { same_hash, needed } => write!(
                f,
                "{QUORUM_NOT_MET}: {same_hash} fresh controller(s) on this policy, {needed} needed"
            ),
            StandDown::JournalUnwritable(e) => write!(f, "journal not writable: {e}"),
            StandDown::OwnRegionDown => f.write_str("own region is down: a peer takes over"),
            StandDown::CatchingUp { since, window_secs } => write!(
                f,
                "catching up: observing again since {} after a gap, acting once {window_secs}s of evidence is in",
                regionctl_core::plan::render::clock(*since)
            ),
            StandDown::IntentUnrecorded { service, why } => write!(
                f,
                "{service}: decision not recorded, nothing applied this pass: {why}"
            ),
        }
    }
}

/// Which journal items (heartbeats, digests) still count: younger than the heartbeat TTL,
/// and not dated further ahead than that (a peer whose clock runs ahead).
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    /// This controller's now.
    pub now: Timestamp,
    /// The heartbeat TTL.
    pub ttl_secs: u64,
}

impl Freshness {
    /// True when an item written at `at` is fresh.
    pub fn is_fresh(self, at: Timestamp) -> bool {
        !self.now.elapsed_at_least(at, self.ttl_secs) && at <= self.now.plus_secs(self.ttl_secs)
    }
}

/// How long a controller must have been first before it leads: three ticks (a peer's next
/// heartbeat plus replication lag up to two ticks), at most the heartbeat TTL.
pub fn lead_after_secs(ttl_secs: u64, tick_secs: u64) -> u64 {
    ttl_secs.min(tick_secs.saturating_mul(3))
}

/// What the fleet step reads.
#[derive(Debug, Clone)]
pub struct FleetInput<'a> {
    /// This controller's region.
    pub me: &'a str,
    /// Every controller region, in fleet order.
    pub controllers: &'a [String],
    /// The policy bundle this controller runs (its hash; its services' names).
    pub bundle: &'a Bundle,
    /// The heartbeats read from this controller's journal replica (any region, hash, age;
    /// its own previous one among them).
    pub heartbeats: &'a [Heartbeat],
    /// The newest discretionary move per service in this controller's own replica.
    pub own_last_moves: BTreeMap<String, Timestamp>,
    /// `service/region` pairs the last pass's health view did not find healthy
    /// ([`not_healthy`]).
    pub not_healthy: Vec<String>,
    /// Fleet controllers whose heartbeat item was not believed this pass (malformed, wrong
    /// writer, from the future). A forgery may have overwritten a live peer's heartbeat
    /// (last writer wins), so such a peer may be acting and leading: this controller does
    /// not lead while one of them comes before it in fleet order. A forgery can delay a
    /// failback, never make two leaders (simulate seed 7153).
    pub doubted: Vec<String>,
    /// Now.
    pub now: Timestamp,
    /// The controller tick.
    pub tick_secs: u64,
    /// The heartbeat TTL.
    pub ttl_secs: u64,
}

/// True when a controller before `me` in fleet order is `doubted`.
fn doubted_before(me: &str, controllers: &[String], doubted: &[String]) -> bool {
    let mine = controllers.iter().position(|c| c == me);
    doubted.iter().any(|d| {
        controllers
            .iter()
            .position(|c| c == d)
            .is_some_and(|p| mine.is_some_and(|m| p < m))
    })
}

/// Whether enough of the fleet is fresh on this policy hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quorum {
    /// Controllers with a fresh heartbeat on this hash, this one (as about to be written)
    /// included.
    pub same_hash: usize,
    /// A strict majority of the fleet.
    pub needed: usize,
}

impl Quorum {
    /// The reason to stand down, if the quorum is not met.
    pub fn stand_down(self) -> Option<StandDown> {
        (self.same_hash < self.needed).then_some(StandDown::QuorumNotMet {
            same_hash: self.same_hash,
            needed: self.needed,
        })
    }
}

/// What the fleet step decided.
#[derive(Debug, Clone)]
pub struct FleetVerdict {
    /// The heartbeat to write now (it says `acting`: writing it proves the journal
    /// writable; [`standing_down`] restates it if the pass stands down).
    pub heartbeat: Heartbeat,
    /// This controller makes discretionary moves this pass.
    pub leader: bool,
    /// When the leader's cooldown runs from at the latest, every service alike: a heartbeat
    /// TTL after it became first ([`handover_cooldown_start`]). `None` when not leading,
    /// or when every peer's heartbeat is fresh here.
    pub handover: Option<Timestamp>,
    /// How long being first must have held to lead ([`lead_after_secs`]); a region drained
    /// more recently than this is a fresh evacuation ([`revise`]).
    pub lead_after_secs: u64,
    /// The quorum, counting the heartbeat above.
    pub quorum: Quorum,
}

/// The fleet step: reads the heartbeats and returns this pass's verdict.
pub fn assess(input: &FleetInput<'_>) -> FleetVerdict {
    let freshness = Freshness {
        now: input.now,
        ttl_secs: input.ttl_secs,
    };
    let fresh = |at: Timestamp| freshness.is_fresh(at);
    let (me, now, hash) = (input.me, input.now, input.bundle.hash.as_str());
    // The cooldown runs from the newest discretionary move anyone fresh knows of (see
    // `Heartbeat::last_moves`): this replica's, and what fresh peers report.
    let mut last_moves = input.own_last_moves.clone();
    leader::add_peers_last_moves(
        &mut last_moves,
        (me, input.controllers, input.bundle),
        input.heartbeats,
        fresh,
    );
    // Discretionary moves (failback, rebalancing) are made by one controller only (see
    // `leader`): several controllers reading lagging replicas could otherwise each take
    // the next failback stage within one replication lag (found by `regionctl simulate`).
    // Its cooldown (above) counts its own last move at once, from its own replica.
    let FleetView {
        acting_peers,
        seen_acting,
        first,
    } = leader::fleet_view(me, input.controllers, hash, input.heartbeats, fresh);
    let first = first && !doubted_before(me, input.controllers, &input.doubted);
    // Being first must have held for a while (see `Heartbeat::first_since`). The start is
    // carried in this controller's own last heartbeat, if still fresh.
    let lead_after = lead_after_secs(input.ttl_secs, input.tick_secs);
    let own_previous = input
        .heartbeats
        .iter()
        .find(|h| h.region == me && h.bundle_hash == hash && fresh(h.at));
    // Only time spent acting counts: a controller standing down is not seen acting by its
    // peers, so one of them may lead meanwhile; had it kept its start, it would lead at
    // once on acting again, beside that peer (found by `regionctl simulate`, seed 4098).
    let first_since = first.then(|| {
        own_previous
            .filter(|h| h.state.is_acting())
            .and_then(|h| h.first_since)
            .map_or(now, |t| t.min(now))
    });
    let leader = first_since.is_some_and(|t| now.elapsed_at_least(t, lead_after));
    #[cfg(feature = "planted-bugs")]
    let leader =
        leader || regionctl_core::planted::active(regionctl_core::planted::Bug::EveryoneLeads);
    let heartbeat = Heartbeat {
        region: me.to_string(),
        bundle_hash: hash.to_string(),
        at: now,
        state: ControllerState::Acting,
        not_healthy: input.not_healthy.clone(),
        sees_acting: std::iter::once(me)
            .chain(seen_acting.iter().copied())
            .map(str::to_string)
            .collect(),
        first_since,
        drained: own_previous.map(|h| h.drained.clone()).unwrap_or_default(),
        peers_not_healthy: acting_peers
            .iter()
            .map(|h| (h.region.clone(), h.not_healthy.clone()))
            .collect(),
        last_moves,
        episodes: own_previous.map(|h| h.episodes.clone()).unwrap_or_default(),
        episodes_closed: own_previous
            .map(|h| h.episodes_closed.clone())
            .unwrap_or_default(),
    };
    let quorum = quorum(input, &heartbeat, fresh);
    // Every peer fresh here: their heartbeats carry their moves (`last_moves`), so none
    // can have moved unseen; the handover wait is for a predecessor cut off from this one.
    let all_fresh = input.controllers.iter().filter(|c| *c != me).all(|c| {
        input
            .heartbeats
            .iter()
            .any(|h| &h.region == c && fresh(h.at))
    });
    let handover = first_since
        .filter(|_| leader && !all_fresh)
        .map(|t| handover_cooldown_start(t, input.ttl_secs));
    FleetVerdict {
        heartbeat,
        leader,
        handover,
        lead_after_secs: lead_after,
        quorum,
    }
}

/// Where a new leader's cooldown starts, for every service: a heartbeat TTL after it
/// became first. The leader before it may have moved a service in the window before it
/// saw itself cut off, a move this one cannot read until the partition heals: an isolated
/// controller keeps acting until its peers' heartbeats go stale (one TTL), and becomes
/// unseen by them about when it stops (`regionctl simulate --policies
/// chaos/policies-served` seed 596: eu-central-1, isolated at 56:31, took content's
/// failback stage at 56:34; eu-west-1, leading from 57:04, took the next at 57:37, within
/// the 300 s cooldown). Failback after a change of leader (a partition, a restart, a
/// policy rollout) while some peer is not fresh here waits that long; evacuations are never
/// held by a cooldown. With every peer fresh, their heartbeats report their moves and
/// nothing is waited for (`chaos/region-loss-moto.yaml`: the returning first controller
/// fails back as soon as it leads).
pub fn handover_cooldown_start(first_since: Timestamp, ttl_secs: u64) -> Timestamp {
    first_since.plus_secs(ttl_secs)
}

/// Counts the fleet fresh on this hash, with `own` in place of this controller's heartbeat
/// as read.
fn quorum(input: &FleetInput<'_>, own: &Heartbeat, fresh: impl Fn(Timestamp) -> bool) -> Quorum {
    let counts = |h: &Heartbeat| h.bundle_hash == input.bundle.hash && fresh(h.at);
    let same_hash = input
        .controllers
        .iter()
        .filter(|c| {
            if *c == input.me {
                counts(own)
            } else {
                input
                    .heartbeats
                    .iter()
                    .any(|h| &h.region == *c && counts(h))
            }
        })
        .count();
    let needed = input.controllers.len() / 2 + 1;
    #[cfg(feature = "planted-bugs")]
    let needed = if regionctl_core::planted::active(regionctl_core::planted::Bug::MinorityApplies) {
        0
    } else {
        needed
    };
    Quorum { same_hash, needed }
}

/// The heartbeat restated with this pass's view.
#[derive(Debug, Clone)]
pub struct Revision {
    /// The heartbeat with this pass's `not_healthy` and `drained`.
    pub heartbeat: Heartbeat,
    /// True when that differs from the heartbeat written: write it again (if acting).
    pub changed: bool,
    /// `service/region` pairs drained within `lead_after_secs`: someone just evacuated them,
    /// for reasons that may still be replicating (if it was this controller, it sees the
    /// region failing and would not fail it back anyway).
    pub newly_drained: Vec<String>,
}

/// Restates `heartbeat` (as written this pass) with this pass's health view and drained
/// pairs ([`not_healthy`], [`drained`]).
///
/// Peers read this heartbeat to see who leads and which regions this controller disputes:
/// it says so as of this pass's view, before acting on that view (the leader must not fail
/// back a region this pass is about to evacuate; found by `simulate`). Drained pairs keep
/// the time this controller first saw them so, as carried in the heartbeat (with no fresh
/// previous heartbeat, a restart, from now).
pub fn revise(
    heartbeat: &Heartbeat,
    not_healthy: Vec<String>,
    drained: Vec<String>,
    now: Timestamp,
    lead_after_secs: u64,
) -> Revision {
    let now_drained: BTreeMap<String, Timestamp> = drained
        .into_iter()
        .map(|pair| {
            let since = heartbeat
                .drained
                .get(&pair)
                .copied()
                .map_or(now, |t| t.min(now));
            (pair, since)
        })
        .collect();
    let newly_drained = now_drained
        .iter()
        .filter(|(_, since)| !now.elapsed_at_least(**since, lead_after_secs))
        .map(|(pair, _)| pair.clone())
        .collect();
    let changed = not_healthy != heartbeat.not_healthy || now_drained != heartbeat.drained;
    Revision {
        heartbeat: Heartbeat {
            not_healthy,
            drained: now_drained,
            ..heartbeat.clone()
        },
        changed,
        newly_drained,
    }
}

/// The heartbeat of a controller that stands down for `reason`, for `regionctl status`: it
/// still relays the peers it sees acting (see `Heartbeat::sees_acting`), but not itself.
pub fn standing_down(heartbeat: &Heartbeat, reason: &StandDown) -> Heartbeat {
    Heartbeat {
        state: ControllerState::StandingDown(reason.to_string()),
        sees_acting: heartbeat
            .sees_acting
            .iter()
            .filter(|c| **c != heartbeat.region)
            .cloned()
            .collect(),
        ..heartbeat.clone()
    }
}

/// True when this controller's own region is down: more than half of the services that can
/// be judged down there (probed there, or down there already) are down in every cell. A
/// controller standing in a failing region may share its failure (its network, its
/// replica), so it leaves the acting to its peers. One service failing there says nothing
/// of the region: until `regionctl simulate` seed 7355, one service's failure (playback's
/// endpoints in us-east-1) stood the us-east-1 controller down for every service, and with
/// its two peers unable to act for their own reasons nobody evacuated playback for 406 s.
/// Services without probes in the region are not counted: alarms alone make a region
/// degraded, never down, so counting them would keep a controller acting in a region
/// whose every endpoint is gone (`chaos/region-loss-moto.yaml`: playback probed and down,
/// catalog alarmed only).
pub fn own_region_down(bundle: &Bundle, health: &HealthView, region: &str) -> bool {
    let (mut judged, mut down) = (0usize, 0usize);
    for (s, service) in bundle.services.iter().enumerate() {
        let Some(r) = service.regions.iter().position(|x| x.name == region) else {
            continue;
        };
        let all_down = (0..service.cells.len())
            .all(|c| health.services[s].entries[(c, r)].verdict == Health::Down);
        let probed = service.health.probes.get(r).is_some_and(|p| !p.is_empty());
        if probed || all_down {
            judged += 1;
            down += usize::from(all_down);
        }
    }
    down * 2 > judged
}

/// `service/region` pairs with weight 0 in some cell whose baseline gives them traffic.
pub fn drained(bundle: &Bundle, live: &LiveState) -> Vec<String> {
    pairs_where(bundle, |s, r, c| {
        let baseline = bundle.services[s].cells[c].baseline_weights.get(r);
        baseline.is_some_and(|b| *b > 0)
            && live
                .services
                .get(s)
                .and_then(|ls| ls.weights.get(c, r).copied().flatten())
                == Some(0)
    })
}

/// `service/region` pairs where `view` has a cell that is not healthy, or healthy but with
/// evidence against it still inside its hysteresis window (a doubt, not yet a verdict). A
/// view with no evidence yet (a controller's first pass after a start) knows nothing
/// healthy, so it lists every pair: a restarted peer holds failback for the one tick until
/// it has a view, rather than letting the leader fail back into a region it is about to
/// evacuate. Doubts count for the same reason: the leader otherwise fails back into a
/// region a peer evacuates one `fail_after` later (a peer cut off from it by a partition;
/// found by `regionctl simulate`, seed 1620).
pub fn not_healthy(bundle: &Bundle, view: &HealthView) -> Vec<String> {
    pairs_where(bundle, |s, r, c| {
        view.services
            .get(s)
            .and_then(|sv| sv.entries.get(c, r))
            .is_some_and(|e| {
                e.verdict != Health::Healthy || e.pending.is_some_and(|(v, _)| v != Health::Healthy)
            })
    })
}

/// `service/region` pairs for which some cell satisfies `cell(service, region, cell)`, in
/// bundle order.
fn pairs_where(bundle: &Bundle, cell: impl Fn(usize, usize, usize) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    for (s, service) in bundle.services.iter().enumerate() {
        for (r, region) in service.regions.iter().enumerate() {
            if (0..service.cells.len()).any(|c| cell(s, r, c)) {
                out.push(format!("{}/{}", service.name, region.name));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
