//! Who may make discretionary moves (failback, rebalancing): the first controller, in fleet
//! order, known to be acting. Evacuation is never delegated; every acting controller does
//! it. Pure: the pass hands in the heartbeats it read and its notion of fresh.
//!
//! "Known to be acting" is wider than "its heartbeat here is fresh and says acting". A peer
//! on the far side of a partition looks stale from here although it still leads for the
//! rest of the fleet, so a controller also counts the controllers its fresh peers report
//! seeing acting (`Heartbeat::sees_acting`). A peer standing down still relays that list:
//! with A and B partitioned and C standing down (its own region failing), each of A and B
//! holds a quorum through C, and only C's relay tells B that A leads (`regionctl
//! simulate`, seed 2702). Being first is necessary, not sufficient: the pass also requires
//! it to have held for a few ticks (`Heartbeat::first_since`, [`crate::fleet`]).
//!
//! The leader fails back only into regions no acting peer still sees failing
//! ([`hold_failback_for_peers`]).

use crate::fleet::Freshness;
use crate::journal::Heartbeat;
use regionctl_core::health::{HealthView, Verdict};
use regionctl_core::policy::Bundle;
use regionctl_core::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

/// The fleet as one controller's heartbeat read shows it.
#[derive(Debug)]
pub struct FleetView<'a> {
    /// Peers (not this controller) with a fresh heartbeat on this policy hash that says
    /// acting.
    pub acting_peers: Vec<&'a Heartbeat>,
    /// Their regions: what this controller's own heartbeat reports seeing acting.
    pub seen_acting: BTreeSet<&'a str>,
    /// No controller before this one in fleet order is seen or reported acting.
    pub first: bool,
}

/// Reads `heartbeats` (any regions, any hashes, any age) for controller `me` of
/// `controllers` (fleet order) running policy `bundle_hash`.
pub fn fleet_view<'a>(
    me: &str,
    controllers: &[String],
    bundle_hash: &str,
    heartbeats: &'a [Heartbeat],
    fresh: impl Fn(Timestamp) -> bool,
) -> FleetView<'a> {
    let peer_fresh = |h: &Heartbeat| h.region != me && h.bundle_hash == bundle_hash && fresh(h.at);
    let acting_peers: Vec<&Heartbeat> = heartbeats
        .iter()
        .filter(|h| peer_fresh(h) && h.state.is_acting())
        .collect();
    let seen_acting: BTreeSet<&str> = acting_peers.iter().map(|h| h.region.as_str()).collect();
    let reported_acting: BTreeSet<&str> = heartbeats
        .iter()
        .filter(|h| peer_fresh(h))
        .flat_map(|h| {
            // A controller standing down is not acting, whatever its list says (a
            // heartbeat written before this rule listed its writer in any state).
            h.sees_acting
                .iter()
                .map(String::as_str)
                .filter(move |c| h.state.is_acting() || *c != h.region)
        })
        .collect();
    let first = controllers
        .iter()
        .find(|c| {
            *c == me || seen_acting.contains(c.as_str()) || reported_acting.contains(c.as_str())
        })
        .is_some_and(|c| c == me);
    FleetView {
        acting_peers,
        seen_acting,
        first,
    }
}

/// Adds to `known` (service name → this replica's last discretionary move) the newer moves
/// that fresh fleet peers report in their heartbeats (`Heartbeat::last_moves`), on any
/// policy hash: a move is a fact whatever policy made it. Services not in `bundle` are
/// left out.
pub fn add_peers_last_moves(
    known: &mut BTreeMap<String, Timestamp>,
    (me, controllers, bundle): (&str, &[String], &Bundle),
    heartbeats: &[Heartbeat],
    fresh: impl Fn(Timestamp) -> bool,
) {
    let peers = heartbeats
        .iter()
        .filter(|h| h.region != me && controllers.contains(&h.region) && fresh(h.at));
    for h in peers {
        for (service, t) in &h.last_moves {
            if bundle.services.iter().any(|s| &s.name == service) {
                let newest = known.entry(service.clone()).or_insert(*t);
                *newest = (*newest).max(*t);
            }
        }
    }
}

/// The leader's planning copy of `health`: regions that a fresh peer on the same bundle
/// lists as not healthy (itself, or relaying its own peers other than `me`), and regions
/// drained only moments ago (`newly_drained`), count as healthy only from now, so the
/// failback gate waits a full recovery window once every peer agrees. `None` when no peer
/// disagrees.
///
/// A peer with another view would evacuate again within a tick what the leader fails back
/// (found by `regionctl simulate`). That holds for a peer standing down too: standing down
/// for its own region's failure, it keeps that region's recovery window, acts again once
/// the window has passed in its view, and evacuates what the leader failed back meanwhile
/// (`simulate --generate-services 200`, seeds 11 and 21: two of three controllers stood
/// down for five minutes after their regions recovered, the third failed back alone, and
/// they moved the same cells away a second time in one episode).
pub fn hold_failback_for_peers(
    bundle: &Bundle,
    health: &HealthView,
    me: &str,
    heartbeats: &[Heartbeat],
    newly_drained: &[String],
    freshness: Freshness,
) -> Option<HealthView> {
    let disputed: BTreeSet<&str> = heartbeats
        .iter()
        .filter(|h| h.region != me && h.bundle_hash == bundle.hash && freshness.is_fresh(h.at))
        .flat_map(|h| {
            // Its own view, and the views it relays from peers other than this one.
            h.not_healthy.iter().map(String::as_str).chain(
                h.peers_not_healthy
                    .iter()
                    .filter(|(peer, _)| **peer != me)
                    .flat_map(|(_, pairs)| pairs.iter().map(String::as_str)),
            )
        })
        .chain(newly_drained.iter().map(String::as_str))
        .collect();
    if disputed.is_empty() {
        return None;
    }
    let mut held = health.clone();
    for (s, service) in bundle.services.iter().enumerate() {
        for (r, region) in service.regions.iter().enumerate() {
            if !disputed.contains(format!("{}/{}", service.name, region.name).as_str()) {
                continue;
            }
            for c in 0..service.cells.len() {
                if let Some(e) = held.services[s].entries.get_mut(c, r)
                    && e.verdict == Verdict::Healthy
                {
                    e.since = e.since.max(freshness.now);
                }
            }
        }
    }
    Some(held)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::example;
    use crate::status::ControllerState;

    const NOW: i64 = 1_000_000;
    const FLEET: [&str; 3] = ["eu-central-1", "eu-west-1", "us-east-1"];

    fn fleet() -> Vec<String> {
        FLEET.iter().map(|s| (*s).to_string()).collect()
    }

    fn hb(region: &str, state: &str, age_secs: i64, sees: &[&str]) -> Heartbeat {
        Heartbeat {
            region: region.into(),
            bundle_hash: "h1".into(),
            at: Timestamp::from_secs(NOW - age_secs),
            state: ControllerState::from(state),
            not_healthy: Vec::new(),
            sees_acting: sees.iter().map(|s| (*s).to_string()).collect(),
            first_since: None,
            drained: BTreeMap::new(),
            peers_not_healthy: BTreeMap::new(),
            last_moves: BTreeMap::new(),
            episodes: Default::default(),
            episodes_closed: Default::default(),
        }
    }

    /// Fresh means younger than 30 s.
    fn view<'a>(me: &str, heartbeats: &'a [Heartbeat]) -> FleetView<'a> {
        fleet_view(me, &fleet(), "h1", heartbeats, |at| {
            at.millis() > (NOW - 30) * 1000
        })
    }

    #[test]
    fn a_fresh_peer_standing_down_still_holds_failback_into_what_it_sees_failing() {
        let b = example();
        let now = Timestamp::from_secs(NOW);
        let since = Timestamp::from_secs(NOW - 3_600);
        let health = HealthView::assume(&b, since, |_, _, _| Verdict::Healthy);
        let service = &b.services[0];
        let pair = format!("{}/{}", service.name, service.regions[0].name);
        let mut peer = hb("eu-west-1", "standing down: own region is down", 5, &[]);
        peer.bundle_hash = b.hash.clone();
        peer.not_healthy = vec![pair.clone()];
        let freshness = Freshness { now, ttl_secs: 30 };
        let held =
            hold_failback_for_peers(&b, &health, "eu-central-1", &[peer.clone()], &[], freshness)
                .expect("its view holds the pair");
        let entry = &held.services[0].entries[(0, 0)];
        assert_eq!(entry.since, now, "{pair}: healthy only from now");
        assert_eq!(
            held.services[1].entries[(0, 0)].since,
            since,
            "others untouched"
        );
        // Stale, it says nothing.
        peer.at = Timestamp::from_secs(NOW - 60);
        assert!(
            hold_failback_for_peers(&b, &health, "eu-central-1", &[peer], &[], freshness).is_none()
        );
    }

    #[test]
    fn an_acting_peer_earlier_in_fleet_order_leads() {
        let hbs = [hb("eu-central-1", "acting", 5, &["eu-central-1"])];
        assert!(!view("eu-west-1", &hbs).first);
        assert!(view("eu-central-1", &hbs).first);
    }

    #[test]
    fn a_stale_or_standing_down_or_other_policy_peer_does_not() {
        let mut other_hash = hb("eu-central-1", "acting", 5, &["eu-central-1"]);
        other_hash.bundle_hash = "h0".into();
        for hbs in [
            [hb("eu-central-1", "acting", 60, &["eu-central-1"])],
            [hb(
                "eu-central-1",
                "standing down: own region is down",
                5,
                &[],
            )],
            [other_hash],
        ] {
            let v = view("eu-west-1", &hbs);
            assert!(v.first, "{:?} should not lead", hbs[0]);
            assert!(v.acting_peers.is_empty());
        }
    }

    #[test]
    fn a_peer_across_a_partition_leads_when_an_acting_peer_reports_it() {
        // eu-west-1 cannot see eu-central-1's heartbeat; us-east-1 can.
        let hbs = [hb("us-east-1", "acting", 5, &["us-east-1", "eu-central-1"])];
        let v = view("eu-west-1", &hbs);
        assert!(!v.first);
        assert_eq!(v.seen_acting, BTreeSet::from(["us-east-1"]));
    }

    #[test]
    fn a_peer_standing_down_still_relays_whom_it_sees_acting() {
        // Seed 2702: the only link between the two sides of the partition stands down.
        let hbs = [hb(
            "us-east-1",
            "standing down: own region is down: a peer takes over",
            5,
            &["eu-central-1"],
        )];
        let v = view("eu-west-1", &hbs);
        assert!(
            !v.first,
            "eu-west-1 must leave the failback to eu-central-1"
        );
        assert!(v.seen_acting.is_empty(), "the relay itself is not acting");
        // And the relayed leader itself still leads.
        assert!(view("eu-central-1", &hbs).first);
    }

    #[test]
    fn a_peer_standing_down_is_not_acting_even_if_its_list_says_so() {
        // A controller standing down whose heartbeat lists itself (written before the
        // relay rule) must not make the others defer to it: nobody would lead.
        let hbs = [hb(
            "eu-central-1",
            "standing down: quorum not met",
            5,
            &["eu-central-1"],
        )];
        assert!(view("eu-west-1", &hbs).first);
    }

    #[test]
    fn a_stale_relay_is_ignored() {
        let hbs = [hb(
            "us-east-1",
            "standing down: own region is down",
            60,
            &["eu-central-1"],
        )];
        assert!(view("eu-west-1", &hbs).first);
    }

    #[test]
    fn the_cooldown_runs_from_the_newest_move_a_fresh_peer_reports() {
        // Seeds 3866, 7103: the old leader's last move is in us-east-1's replica, not in
        // eu-west-1's (partitioned from the old leader).
        let b = example();
        let svc = b.services[0].name.clone();
        let mut relay = hb("us-east-1", "acting", 5, &["us-east-1"]);
        relay
            .last_moves
            .insert(svc.clone(), Timestamp::from_secs(NOW - 100));
        relay
            .last_moves
            .insert("not-in-this-bundle".into(), Timestamp::from_secs(NOW));
        let mut stale = hb("eu-central-1", "acting", 60, &["eu-central-1"]);
        stale
            .last_moves
            .insert(svc.clone(), Timestamp::from_secs(NOW - 40));
        let mut stranger = hb("ap-south-1", "acting", 1, &["ap-south-1"]);
        stranger
            .last_moves
            .insert(svc.clone(), Timestamp::from_secs(NOW - 1));
        let hbs = [relay, stale, stranger];
        let fresh = |at: Timestamp| at.millis() > (NOW - 30) * 1000;

        // This replica knows an older move: the peer's newer one wins.
        let mut known = BTreeMap::from([(svc.clone(), Timestamp::from_secs(NOW - 900))]);
        add_peers_last_moves(&mut known, ("eu-west-1", &fleet(), &b), &hbs, fresh);
        assert_eq!(
            known,
            BTreeMap::from([(svc.clone(), Timestamp::from_secs(NOW - 100))])
        );
        // This replica knows a newer move: it stays.
        let mut known = BTreeMap::from([(svc.clone(), Timestamp::from_secs(NOW - 10))]);
        add_peers_last_moves(&mut known, ("eu-west-1", &fleet(), &b), &hbs, fresh);
        assert_eq!(known[&svc], Timestamp::from_secs(NOW - 10));
        // This replica knows nothing.
        let mut known = BTreeMap::new();
        add_peers_last_moves(&mut known, ("eu-west-1", &fleet(), &b), &hbs, fresh);
        assert_eq!(known[&svc], Timestamp::from_secs(NOW - 100));
    }
}
