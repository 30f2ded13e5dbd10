//! The fleet step without a world: heartbeats in, verdict out. Fleet `eu-central-1,
//! eu-west-1, us-east-1` (the example bundle's), tick 10 s, TTL 30 s, so a controller leads
//! after 30 s of being first.

use super::*;
use crate::fake::example;

const NOW: i64 = 1_000_000;
const TICK: u64 = 10;
const TTL: u64 = 30;
const FLEET: [&str; 3] = ["eu-central-1", "eu-west-1", "us-east-1"];

fn fleet() -> Vec<String> {
    FLEET.map(String::from).to_vec()
}

fn at(secs_ago: i64) -> Timestamp {
    Timestamp::from_secs(NOW - secs_ago)
}

/// A heartbeat written `age` seconds ago on `bundle`'s hash.
fn hb(bundle: &Bundle, region: &str, state: ControllerState, age: i64) -> Heartbeat {
    Heartbeat {
        region: region.into(),
        bundle_hash: bundle.hash.clone(),
        at: at(age),
        state,
        not_healthy: Vec::new(),
        sees_acting: vec![region.to_string()],
        first_since: None,
        drained: BTreeMap::new(),
        peers_not_healthy: BTreeMap::new(),
        last_moves: BTreeMap::new(),
        episodes: Default::default(),
        episodes_closed: Default::default(),
    }
}

fn acting(bundle: &Bundle, region: &str, age: i64) -> Heartbeat {
    hb(bundle, region, ControllerState::Acting, age)
}

fn assess_as(me: &str, bundle: &Bundle, heartbeats: &[Heartbeat]) -> FleetVerdict {
    let controllers = fleet();
    assess(&FleetInput {
        me,
        controllers: &controllers,
        bundle,
        heartbeats,
        own_last_moves: BTreeMap::new(),
        not_healthy: vec!["catalog/eu-west-1".into()],
        doubted: Vec::new(),
        now: at(0),
        tick_secs: TICK,
        ttl_secs: TTL,
    })
}

#[test]
fn a_majority_on_the_same_policy_meets_the_quorum() {
    let b = example();
    let v = assess_as("eu-west-1", &b, &[acting(&b, "eu-central-1", 5)]);
    assert_eq!(
        v.quorum,
        Quorum {
            same_hash: 2,
            needed: 2
        }
    );
    assert_eq!(v.quorum.stand_down(), None);
    // The heartbeat to write says acting, with this pass's view of the last.
    assert_eq!(v.heartbeat.state, ControllerState::Acting);
    assert_eq!(v.heartbeat.at, at(0));
    assert_eq!(v.heartbeat.not_healthy, ["catalog/eu-west-1"]);
    assert_eq!(v.heartbeat.sees_acting, ["eu-west-1", "eu-central-1"]);
}

#[test]
fn alone_the_quorum_is_not_met() {
    let b = example();
    let v = assess_as("eu-west-1", &b, &[]);
    assert_eq!(
        v.quorum.stand_down(),
        Some(StandDown::QuorumNotMet {
            same_hash: 1,
            needed: 2
        })
    );
    assert_eq!(
        v.quorum.stand_down().map(|s| s.to_string()).as_deref(),
        Some("quorum not met: 1 fresh controller(s) on this policy, 2 needed")
    );
}

#[test]
fn a_stale_peer_counts_for_nothing() {
    let b = example();
    // 30 s old with a 30 s TTL: stale.
    let v = assess_as("eu-west-1", &b, &[acting(&b, "eu-central-1", 30)]);
    assert_eq!(v.quorum.same_hash, 1);
    assert_eq!(v.heartbeat.sees_acting, ["eu-west-1"]);
    assert!(v.heartbeat.peers_not_healthy.is_empty());
    // Nobody acting before it in fleet order: it is first (and will lead in time).
    assert_eq!(v.heartbeat.first_since, Some(at(0)));
}

#[test]
fn a_peer_on_another_policy_counts_for_nothing_but_its_moves() {
    let b = example();
    let mut other = acting(&b, "eu-central-1", 5);
    other.bundle_hash = "an older bundle".into();
    other
        .last_moves
        .insert("catalog".into(), Timestamp::from_secs(NOW - 60));
    let v = assess_as("eu-west-1", &b, &[other]);
    assert_eq!(v.quorum.same_hash, 1);
    assert_eq!(v.heartbeat.sees_acting, ["eu-west-1"]);
    assert_eq!(
        v.heartbeat.first_since,
        Some(at(0)),
        "it does not lead there"
    );
    // A move is a fact whatever policy made it: the cooldown counts it.
    assert_eq!(
        v.heartbeat.last_moves,
        BTreeMap::from([("catalog".to_string(), Timestamp::from_secs(NOW - 60))])
    );
}

#[test]
fn a_future_dated_heartbeat_is_fresh_only_within_the_ttl() {
    let b = example();
    // A peer whose clock runs 20 s ahead: fresh.
    let v = assess_as("eu-west-1", &b, &[acting(&b, "eu-central-1", -20)]);
    assert_eq!(v.quorum.same_hash, 2);
    assert!(v.heartbeat.first_since.is_none(), "eu-central-1 leads");
    // 31 s ahead: not to be trusted.
    let v = assess_as("eu-west-1", &b, &[acting(&b, "eu-central-1", -31)]);
    assert_eq!(v.quorum.same_hash, 1);
    assert_eq!(v.heartbeat.first_since, Some(at(0)));
    // The same rule for every journal item.
    let f = Freshness {
        now: at(0),
        ttl_secs: TTL,
    };
    assert!(f.is_fresh(at(-30)) && f.is_fresh(at(29)));
    assert!(!f.is_fresh(at(-31)) && !f.is_fresh(at(30)));
}

#[test]
fn a_restarted_controller_is_first_from_now_and_does_not_lead_yet() {
    let b = example();
    // No heartbeat of its own (a restart, or its last one is stale).
    for heartbeats in [vec![], vec![acting(&b, "eu-central-1", 45)]] {
        let v = assess_as("eu-central-1", &b, &heartbeats);
        assert_eq!(v.heartbeat.first_since, Some(at(0)));
        assert!(!v.leader, "first for 0 s of the 30 needed");
        assert!(v.heartbeat.drained.is_empty());
    }
    assert_eq!(lead_after_secs(TTL, TICK), 30);
    assert_eq!(lead_after_secs(TTL, 5), 15);
}

#[test]
fn the_first_since_carries_over_from_an_acting_heartbeat_only() {
    let b = example();
    let previous = |state: ControllerState, first_since: i64| {
        let mut h = hb(&b, "eu-central-1", state, 10);
        h.first_since = Some(at(first_since));
        h.drained
            .insert("catalog/eu-west-1".into(), Timestamp::from_secs(NOW - 100));
        h
    };
    // First for 30 s: leads.
    let v = assess_as("eu-central-1", &b, &[previous(ControllerState::Acting, 30)]);
    assert_eq!(v.heartbeat.first_since, Some(at(30)));
    assert!(v.leader);
    assert_eq!(
        v.heartbeat.drained,
        BTreeMap::from([(
            "catalog/eu-west-1".to_string(),
            Timestamp::from_secs(NOW - 100)
        )]),
        "drained pairs keep when they were first seen"
    );
    // First for 29 s: not yet.
    let v = assess_as("eu-central-1", &b, &[previous(ControllerState::Acting, 29)]);
    assert!(!v.leader);
    // Seed 4098: time spent standing down does not count.
    let v = assess_as(
        "eu-central-1",
        &b,
        &[previous(
            ControllerState::StandingDown("quorum not met".into()),
            300,
        )],
    );
    assert_eq!(v.heartbeat.first_since, Some(at(0)));
    assert!(!v.leader);
    // A start in the future (this clock was set back) counts from now.
    let v = assess_as("eu-central-1", &b, &[previous(ControllerState::Acting, -5)]);
    assert_eq!(v.heartbeat.first_since, Some(at(0)));
    // Not first (an earlier controller acts): no start at all.
    let v = assess_as(
        "eu-west-1",
        &b,
        &[acting(&b, "eu-central-1", 5), {
            let mut h = acting(&b, "eu-west-1", 10);
            h.first_since = Some(at(300));
            h
        }],
    );
    assert_eq!(v.heartbeat.first_since, None);
    assert!(!v.leader);
}

/// Seed 7153: eu-central-1's heartbeat is overwritten by a malformed forgery in
/// eu-west-1's replica; eu-west-1, seeing no one before it, would lead beside it.
#[test]
fn a_doubted_earlier_controller_keeps_this_one_from_leading() {
    let b = example();
    let controllers = fleet();
    let mut own = acting(&b, "eu-west-1", 10);
    own.first_since = Some(at(300));
    let heartbeats = [own, acting(&b, "us-east-1", 5)];
    let input = |doubted: Vec<String>| FleetInput {
        me: "eu-west-1",
        controllers: &controllers,
        bundle: &b,
        heartbeats: &heartbeats,
        own_last_moves: BTreeMap::new(),
        not_healthy: Vec::new(),
        doubted,
        now: at(0),
        tick_secs: TICK,
        ttl_secs: TTL,
    };
    assert!(assess(&input(Vec::new())).leader, "first for 300 s: leads");
    let v = assess(&input(vec!["eu-central-1".into()]));
    assert!(
        !v.leader,
        "an earlier controller's heartbeat was not believed"
    );
    assert_eq!(v.heartbeat.first_since, None);
    assert_eq!(v.quorum.stand_down(), None, "the quorum is not touched");
    // A doubted controller after this one changes nothing.
    assert!(assess(&input(vec!["us-east-1".into()])).leader);
}

#[test]
fn standing_down_keeps_relaying_the_others() {
    let b = example();
    let mut peer = acting(&b, "eu-central-1", 5);
    peer.not_healthy = vec!["catalog/eu-west-1".into()];
    let v = assess_as("us-east-1", &b, &[peer, acting(&b, "eu-west-1", 3)]);
    assert_eq!(
        v.heartbeat.sees_acting,
        ["us-east-1", "eu-central-1", "eu-west-1"]
    );
    let down = standing_down(&v.heartbeat, &StandDown::OwnRegionDown);
    assert_eq!(
        down.state.to_string(),
        "standing down: own region is down: a peer takes over"
    );
    // Seed 2702: the relay is what tells one side of a partition that the other leads.
    assert_eq!(down.sees_acting, ["eu-central-1", "eu-west-1"]);
    assert_eq!(
        down.peers_not_healthy,
        BTreeMap::from([
            (
                "eu-central-1".to_string(),
                vec!["catalog/eu-west-1".to_string()]
            ),
            ("eu-west-1".to_string(), Vec::new()),
        ])
    );
    assert_eq!(down.at, v.heartbeat.at);
}

#[test]
fn a_revision_dates_drained_pairs_and_says_when_it_changed() {
    let b = example();
    let mut written = acting(&b, "eu-central-1", 0);
    written.not_healthy = vec!["catalog/eu-west-1".into()];
    written
        .drained
        .insert("catalog/eu-west-1".into(), Timestamp::from_secs(NOW - 100));
    // Same view: nothing to rewrite; the pair drained 100 s ago is not new.
    let same = revise(
        &written,
        vec!["catalog/eu-west-1".into()],
        vec!["catalog/eu-west-1".into()],
        at(0),
        30,
    );
    assert!(!same.changed);
    assert!(same.newly_drained.is_empty());
    assert_eq!(same.heartbeat, written);
    // A new drained pair is dated now and is new; a pair no longer drained is dropped.
    let next = revise(
        &written,
        Vec::new(),
        vec!["playback/eu-west-1".into()],
        at(0),
        30,
    );
    assert!(next.changed);
    assert_eq!(next.newly_drained, ["playback/eu-west-1"]);
    assert_eq!(
        next.heartbeat.drained,
        BTreeMap::from([("playback/eu-west-1".to_string(), at(0))])
    );
    assert!(next.heartbeat.not_healthy.is_empty());
}

#[test]
fn the_own_region_is_down_when_most_of_its_probed_services_are_down_there() {
    let mut b = example();
    let region = "us-east-1";
    let placed: Vec<usize> = (0..b.services.len())
        .filter(|s| {
            let service = &b.services[*s];
            let r = service.regions.iter().position(|r| r.name == region);
            r.is_some_and(|r| !service.health.probes[r].is_empty())
        })
        .collect();
    assert!(placed.len() >= 3, "several services probed in {region}");
    // The first `n` services placed in the region down there in every cell.
    let view = |n: usize| {
        HealthView::assume(&b, at(60), |s, r, _| {
            let down = placed[..n].contains(&s) && b.services[s].regions[r].name == region;
            if down { Health::Down } else { Health::Healthy }
        })
    };
    // Seed 7355: one service's endpoints failing stood the controller down for all.
    assert!(!own_region_down(&b, &view(1), region), "one service");
    let half = placed.len() / 2;
    assert!(
        !own_region_down(&b, &view(half), region),
        "half is not most"
    );
    assert!(own_region_down(&b, &view(half + 1), region));
    assert!(own_region_down(&b, &view(placed.len()), region));
    assert!(!own_region_down(&b, &view(placed.len()), "eu-west-1"));
    // Services without probes there cannot be judged down by alarms: not counted. With
    // only one probed service left, its failure is the region's.
    let one_down = view(1);
    for s in &placed[1..] {
        let r = b.services[*s]
            .regions
            .iter()
            .position(|r| r.name == region)
            .unwrap();
        b.services[*s].health.probes[r].clear();
    }
    assert!(
        own_region_down(&b, &one_down, region),
        "the one probed service"
    );
}

/// Seed 596 (served policies): a controller that has just come to lead cannot read the
/// moves its predecessor made in the TTL before it was cut off; while some peer is not
/// fresh, its cooldown runs from a TTL after it became first, for every service.
#[test]
fn a_new_leader_counts_the_cooldown_from_a_ttl_after_it_became_first() {
    let b = example();
    let previous = |first_since: i64| {
        let mut h = acting(&b, "eu-central-1", 10);
        h.first_since = Some(at(first_since));
        h
    };
    // eu-west-1 is fresh, us-east-1 is not (cut off: it may have moved unseen).
    let peers = |first_since: i64| {
        vec![
            previous(first_since),
            acting(&b, "eu-west-1", 5),
            acting(&b, "us-east-1", TTL as i64 + 1),
        ]
    };
    let v = assess_as("eu-central-1", &b, &peers(30));
    assert!(v.leader);
    assert_eq!(v.handover, Some(at(30 - TTL as i64)));
    let v = assess_as("eu-central-1", &b, &peers(3600));
    assert_eq!(v.handover, Some(at(3600 - TTL as i64)));
    // Not leading yet: nothing to hold.
    let v = assess_as("eu-central-1", &b, &peers(29));
    assert!(!v.leader);
    assert_eq!(v.handover, None);
    // Every peer fresh: their heartbeats report their moves; no wait.
    let mut all = peers(30);
    all[2] = acting(&b, "us-east-1", 5);
    let v = assess_as("eu-central-1", &b, &all);
    assert!(v.leader);
    assert_eq!(v.handover, None);
}
