//! The zone re-reads of a pass, in rounds within its Route 53 share.

use super::*;
use crate::fake::example;
use crate::fake::world::{FakeWorld, block_on};
use crate::ports::WeightedRecord;
use regionctl_core::health::Verdict;
use regionctl_core::plan::Action;

const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);
const LOST: &str = "eu-central-1";

/// Writes `service`'s weight steps of `plan` into the world, as a peer's pass would.
fn peer_moves(world: &FakeWorld, bundle: &Bundle, plan: &Plan, s: usize) {
    let service = &bundle.services[s];
    let mut zones = world.zones.borrow_mut();
    let records = zones
        .get_mut(&service.routing.hosted_zone_id)
        .expect("zone");
    for st in plan.steps.iter().filter(|st| st.service == s) {
        let Action::SetWeights { changes, .. } = &st.action else {
            continue;
        };
        for c in changes {
            let cell = &service.cells[c.cell as usize];
            let new = WeightedRecord::of_cell(service, cell, usize::from(c.r), c.to);
            let old = records
                .iter_mut()
                .find(|r| r.name == new.name && r.set_identifier == new.set_identifier)
                .expect("record");
            old.weight = c.to;
        }
    }
}

#[test]
fn a_zone_found_moved_by_a_peer_frees_its_calls_for_the_next_service() {
    // Every service applies without a person: a decision awaiting approval costs its read
    // and no writes, which this test does not need.
    let mut b = example();
    for service in &mut b.services {
        service.mode = regionctl_core::policy::raw::Mode::Enforce;
    }
    let now = NOW.plus_secs(90);
    let health = HealthView::assume(&b, NOW, |s, r, _| {
        if b.services[s].regions[r].name == LOST {
            Verdict::Degraded
        } else {
            Verdict::Healthy
        }
    });
    let controls = Controls::default();
    let plan_from = |live: &LiveState| {
        plan::plan(Inputs {
            bundle: &b,
            health: &health,
            live,
            controls: &controls,
            now,
        })
    };
    // The copy: every zone as before the loss. The world: the first writer already moved
    // by a peer.
    let mut live = LiveState::steady(&b);
    let before = plan_from(&live);
    let writing = pace::writing(&before);
    assert!(writing.len() >= 2, "the loss moves several services");
    let ((x, x_calls), (y, _)) = (writing[0], writing[1]);
    let world = FakeWorld::steady(&b, now);
    peer_moves(&world, &b, &before, x);
    let cached: Vec<String> = b
        .services
        .iter()
        .map(|s| s.routing.hosted_zone_id.clone())
        .collect();
    let start = pace::Start {
        after: None,
        turn: pace::Turn::ALONE,
    };
    let none = BTreeSet::new();
    let select = |calls: usize| {
        let budget = pace::Budget {
            calls,
            spent: 0,
            taken: &none,
        };
        pace::select(&before, &b, &cached, budget, start)
    };
    // The smallest share with which one selection takes the second writer: the services
    // before it, the first writer's read and writes, its own read and writes. Less the
    // first writer's writes, one selection leaves it waiting; the rounds, finding the
    // first writer's zone moved already, have room for it.
    let whole = (1..100)
        .find(|c| !select(*c).deferred.contains(&y))
        .expect("a share that takes it");
    let calls = whole - x_calls;
    assert!(select(calls).deferred.contains(&y));
    let input = RoundInput {
        bundle: &b,
        plan_from: &plan_from,
        cached: &cached,
        calls,
        start,
        now,
    };
    let mut memory = Memory::unknown(&b);
    let rounds = block_on(zone_rounds(&world, &input, &mut live, &mut memory.zones));
    let name = |s: usize| b.services[s].name.clone();
    assert!(
        !rounds.selection.deferred.contains(&y),
        "{} waits: {:?}",
        name(y),
        rounds.selection
    );
    assert_eq!(rounds.selection.last, Some(y));
    assert!(
        pace::writing(&rounds.plan).iter().all(|(s, _)| *s != x),
        "{} needs no writes once read",
        name(x)
    );
    let reads = world
        .calls
        .borrow()
        .iter()
        .filter(|c| **c == "ListResourceRecordSets")
        .count();
    // Every zone up to the second writer's, once each (every service has its own).
    let mut acting: Vec<usize> = before.steps.iter().map(|st| st.service).collect();
    acting.dedup();
    let up_to_y = acting.iter().position(|s| *s == y).expect("y acts") + 1;
    assert_eq!(reads, up_to_y, "each zone read once");
    assert!(rounds.refreshed.unconfirmed.is_empty());
}

/// The cooldown runs from the newest of: the fleet's last move, "now" when this replica
/// could not say, and a new leader's handover start.
#[test]
fn the_cooldown_runs_from_the_newest_of_last_move_unknown_and_handover() {
    let bundle = example();
    let now = Timestamp::from_secs(1_000_000);
    let name = bundle.services[0].name.clone();
    let last = |last_move: Option<i64>, unknown: bool, handover: Option<i64>| {
        let mut live = LiveState::steady(&bundle);
        let last_moves: BTreeMap<String, Timestamp> = last_move
            .map(|t| (name.clone(), Timestamp::from_secs(t)))
            .into_iter()
            .collect();
        let unknown: BTreeSet<String> = unknown.then(|| name.clone()).into_iter().collect();
        let cooldowns = Cooldowns {
            last_moves: &last_moves,
            unknown: &unknown,
            handover: handover.map(Timestamp::from_secs),
        };
        set_cooldowns(&bundle, &mut live, cooldowns, now);
        live.services[0]
            .last_discretionary_change
            .map(|t| t.millis() / 1000)
    };
    assert_eq!(last(None, false, None), None);
    assert_eq!(last(Some(999_000), false, None), Some(999_000));
    assert_eq!(last(Some(999_000), false, Some(999_500)), Some(999_500));
    assert_eq!(last(Some(999_900), false, Some(999_500)), Some(999_900));
    assert_eq!(last(None, true, Some(999_500)), Some(1_000_000));
}
