//! The pace of Route 53 work in a pass: the selection in plan order within the share, and
//! whole passes on the example bundle losing eu-central-1 (run from eu-west-1, with a
//! peer), Route 53 throttling or the share small.

use super::*;
use crate::fake::example;
use crate::fake::world::{FakeWorld, block_on};
use crate::journal;
use crate::memory::Memory;
use crate::observe::{self, AlarmReads};
use crate::ports::{Clock as _, Journal as _};
use crate::reconcile::{Context, PassReport, reconcile_once};
use regionctl_core::controls::Controls;
use regionctl_core::health::{AlarmObservation, AlarmState, HealthView, Verdict};
use regionctl_core::live::LiveState;
use regionctl_core::time::Timestamp;

const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);
const LOST: &str = "eu-central-1";

/// Every service's `LOST` region degraded for 90 s.
fn losing(bundle: &Bundle) -> HealthView {
    HealthView::assume(bundle, NOW.plus_secs(0), |s, r, _| {
        if bundle.services[s].regions[r].name == LOST {
            Verdict::Degraded
        } else {
            Verdict::Healthy
        }
    })
}

fn plan_for(bundle: &Bundle) -> Plan {
    let health = losing(bundle);
    let live = LiveState::steady(bundle);
    regionctl_core::plan::plan(regionctl_core::plan::Inputs {
        bundle,
        health: &health,
        live: &live,
        controls: &Controls::default(),
        now: NOW.plus_secs(90),
    })
}

/// Services with weight steps, in plan order.
fn writers(plan: &Plan) -> Vec<usize> {
    let mut out = Vec::new();
    for st in &plan.steps {
        if matches!(st.action, Action::SetWeights { .. }) && !out.contains(&st.service) {
            out.push(st.service);
        }
    }
    out
}

#[test]
fn the_share_is_the_account_rate_over_a_tick_divided_among_the_controllers() {
    let mut b = example();
    let controllers = b.controller.as_ref().map(|c| c.regions.len()).unwrap();
    assert_eq!(controllers, 3);
    let three = Turn { index: 0, of: 3 };
    assert_eq!(
        calls_per_pass(&b, three),
        12,
        "10 s × 5/s × 3/4 ÷ 3, rounded down"
    );
    let two = Turn { index: 1, of: 2 };
    assert_eq!(
        calls_per_pass(&b, two),
        18,
        "one standing down: its share is used"
    );
    b.controller.as_mut().unwrap().tick_secs = 1;
    assert_eq!(calls_per_pass(&b, three), 1, "never less than one call");
}

#[test]
fn a_turn_is_the_place_among_the_controllers_acting_in_fleet_order() {
    let fleet: Vec<String> = ["eu-central-1", "eu-west-1", "us-east-1"]
        .map(String::from)
        .to_vec();
    let seen = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        Turn::of("us-east-1", &fleet, &seen(&["us-east-1", "eu-west-1"])),
        Turn { index: 1, of: 2 },
        "eu-central-1 stands down"
    );
    assert_eq!(
        Turn::of(
            "eu-west-1",
            &fleet,
            &seen(&["eu-west-1", "eu-central-1", "us-east-1"])
        ),
        Turn { index: 1, of: 3 }
    );
    assert_eq!(
        Turn::of("eu-west-1", &fleet, &[]),
        Turn::ALONE,
        "itself counted even if not listed"
    );
    assert_eq!(
        Turn::of("ap-south-1", &fleet, &seen(&["eu-west-1"])),
        Turn { index: 1, of: 2 },
        "a controller outside the fleet order comes last"
    );
}

#[test]
fn services_are_taken_in_plan_order_until_the_share_is_spent() {
    let b = example();
    let plan = plan_for(&b);
    let writing = writers(&plan);
    assert!(
        writing.len() >= 3,
        "the loss moves several services: {writing:?}"
    );
    let all: Vec<String> = b
        .services
        .iter()
        .map(|s| s.routing.hosted_zone_id.clone())
        .collect();
    // Enough for everything: nothing waits, every zone from the copy is read once.
    let wide = select(&plan, &b, &all, budget(1_000), top());
    assert!(wide.deferred.is_empty());
    let mut zones = wide.refresh.clone();
    zones.dedup();
    assert_eq!(zones, wide.refresh, "each zone read once");
    // One call: the first service is taken anyway, the other writers wait.
    let narrow = select(&plan, &b, &all, budget(1), top());
    assert!(!narrow.deferred.contains(&writing[0]));
    for s in &writing[1..] {
        assert!(
            narrow.deferred.contains(s),
            "{} should wait",
            b.services[*s].name
        );
    }
    // The next pass starts after the last service taken (moved, so no longer planned):
    // the second writer's turn.
    assert_eq!(narrow.last, Some(writing[0]));
    let mut moved = plan.clone();
    moved.steps.retain(|st| st.service != writing[0]);
    let next = select(&moved, &b, &all, budget(1), after(narrow.last));
    assert!(!next.deferred.contains(&writing[1]), "{next:?}");
    // Still planned (its share spent elsewhere), the first holds its dependants back.
    let held = select(&plan, &b, &all, budget(1), after(narrow.last));
    assert!(held.deferred.contains(&writing[0]), "{held:?}");
    let mut dependants = 0;
    for st in plan.steps.iter().filter(|st| st.service != writing[0]) {
        let after_first = st
            .after
            .iter()
            .any(|a| plan.steps[*a].service == writing[0]);
        if after_first {
            dependants += 1;
            assert!(
                held.deferred.contains(&st.service),
                "{} depends on {}: {held:?}",
                b.services[st.service].name,
                b.services[writing[0]].name
            );
        }
    }
    assert!(
        dependants > 0,
        "the example has a dependant of the first writer"
    );
    // Zones read this pass (none from the copy) cost nothing to read again.
    let fresh = select(&plan, &b, &[], budget(1_000), top());
    assert!(fresh.refresh.is_empty());
}

fn budget(calls: usize) -> Budget<'static> {
    static NONE: BTreeSet<usize> = BTreeSet::new();
    Budget {
        calls,
        spent: 0,
        taken: &NONE,
    }
}

/// The first controller's start, with no previous pass: the top of the order.
fn top() -> Start {
    after(None)
}

fn after(last: Option<usize>) -> Start {
    Start {
        after: last,
        turn: Turn::ALONE,
    }
}

#[test]
fn each_acting_controller_starts_at_its_own_part_of_the_order_and_goes_on_after_its_last() {
    let b = example();
    let plan = plan_for(&b);
    let writing = writers(&plan);
    let all: Vec<String> = b
        .services
        .iter()
        .map(|s| s.routing.hosted_zone_id.clone())
        .collect();
    let rank = |s: usize| b.dependency_order.iter().position(|x| *x == s).unwrap();
    let taken = |start: Start| {
        let sel = select(&plan, &b, &all, budget(1), start);
        writing
            .iter()
            .copied()
            .find(|s| !sel.deferred.contains(s))
            .unwrap()
    };
    let half = b.services.len() / 2;
    let second = taken(Start {
        after: None,
        turn: Turn { index: 1, of: 2 },
    });
    assert!(
        rank(second) >= half,
        "the second of two starts in the second half: {}",
        b.services[second].name
    );
    assert_ne!(taken(top()), second, "the two take different services");
    // Its own part done, the first of two helps the second from the end of its part
    // backwards (the second works forwards from its start).
    let mut rest = plan.clone();
    rest.steps.retain(|st| rank(st.service) >= half);
    let first_turn = Start {
        after: None,
        turn: Turn { index: 0, of: 2 },
    };
    let sel = select(&rest, &b, &all, budget(1), first_turn);
    let latest = writing
        .iter()
        .copied()
        .filter(|s| rank(*s) >= half)
        .max_by_key(|s| rank(*s))
        .unwrap();
    assert_eq!(sel.taken.first(), Some(&latest), "{sel:?}");
    assert_eq!(sel.taken.len(), 1);
    // The last service taken need not be in the next plan (it was evacuated): the next
    // pass still goes on after its place in the order, not back to the top.
    let gone = taken(top());
    let mut plan_without = plan.clone();
    plan_without.steps.retain(|st| st.service != gone);
    let sel = select(&plan_without, &b, &all, budget(1), after(Some(gone)));
    let next = writing
        .iter()
        .copied()
        .find(|s| *s != gone && !sel.deferred.contains(s))
        .unwrap();
    let expected = writing
        .iter()
        .copied()
        .filter(|s| rank(*s) > rank(gone))
        .min_by_key(|s| rank(*s))
        .unwrap();
    assert_eq!(
        b.services[next].name, b.services[expected].name,
        "taken after {}",
        b.services[gone].name
    );
}

fn world(bundle: &Bundle) -> FakeWorld {
    let world = FakeWorld::steady(bundle, NOW.plus_secs(90));
    let reads = observe::AlarmReads::new(bundle);
    for (region, names) in reads.by_region() {
        for name in names.iter() {
            // Every region alarm of the lost region red for 90 s; the rest OK for a day.
            let red = region == LOST && name.ends_with("5xx");
            let (state, since) = if red {
                (AlarmState::Alarm, NOW)
            } else {
                (
                    AlarmState::Ok,
                    Timestamp::from_secs(NOW.millis() / 1000 - 86_400),
                )
            };
            world
                .alarms
                .borrow_mut()
                .insert(name.to_string(), AlarmObservation { state, since });
        }
    }
    world
}

fn pass(bundle: &Bundle, world: &FakeWorld, memory: &mut Memory) -> PassReport {
    let heartbeat = crate::fake::heartbeat("eu-central-1", &bundle.hash, world.now());
    block_on(world.put(&journal::heartbeat_item(&heartbeat))).expect("peer heartbeat");
    let reads = AlarmReads::new(bundle);
    let ctx = Context {
        bundle,
        region: "eu-west-1".into(),
        controllers: bundle.regions.clone(),
        heartbeat_ttl_secs: 30,
        approval_timeout_secs: 900,
        alarm_reads: &reads,
    };
    block_on(reconcile_once(&ctx, world, memory))
}

fn changes(world: &FakeWorld) -> usize {
    let calls = world.calls.borrow();
    calls
        .iter()
        .filter(|c| **c == "ChangeResourceRecordSets")
        .count()
}

/// Services whose decisions this pass wrote weights.
fn wrote(report: &PassReport) -> Vec<String> {
    report
        .decisions
        .iter()
        .filter(|d| !d.written.is_empty())
        .map(|d| d.service.clone())
        .collect()
}

#[test]
fn after_route53_throttles_a_change_the_pass_makes_no_more() {
    let b = example();
    let world = world(&b);
    world
        .throttling
        .borrow_mut()
        .insert("ChangeResourceRecordSets");
    let mut memory = Memory::unknown(&b);
    let report = pass(&b, &world, &mut memory);
    assert_eq!(report.stand_down, None, "{}", report.summary());
    assert_eq!(
        memory.pace_after, None,
        "the next pass starts where this one did: what it could not apply is next in line"
    );
    assert_eq!(
        changes(&world),
        1,
        "one throttled change, then none: {}",
        report.summary()
    );
    let note = report.notes.iter().find(|n| n.starts_with("route53:"));
    assert!(
        note.is_some(),
        "the waiting services are said: {:?}",
        report.notes
    );
    // Route 53 answers again: the next pass writes what waited.
    world.throttling.borrow_mut().clear();
    world.advance(10);
    let report = pass(&b, &world, &mut memory);
    assert!(wrote(&report).len() >= 2, "{}", report.summary());
}

/// Services that wrote weights in `passes` passes of the loss, one pass a second.
fn moved_in(b: &Bundle, passes: usize) -> Vec<Vec<String>> {
    let world = world(b);
    let mut memory = Memory::unknown(b);
    (0..passes)
        .map(|_| {
            let report = pass(b, &world, &mut memory);
            world.advance(1);
            wrote(&report)
        })
        .collect()
}

#[test]
fn a_small_share_moves_the_same_services_over_more_passes() {
    let wide = example();
    let all: Vec<String> = moved_in(&wide, 1).concat();
    assert!(all.len() >= 2, "one pass moves several services: {all:?}");
    // 1 s ticks: a share of 1 call; the first service with a cost is taken whatever it
    // costs, one a pass (a decision awaiting approval ahead of it must not starve it).
    let mut narrow = example();
    narrow.controller.as_mut().unwrap().tick_secs = 1;
    assert_eq!(calls_per_pass(&narrow, Turn { index: 1, of: 2 }), 1);
    let per_pass = moved_in(&narrow, all.len() + 3);
    assert_eq!(per_pass[0].len(), 1, "{per_pass:?}");
    let mut moved = per_pass.concat();
    moved.sort();
    let mut expected = all.clone();
    expected.sort();
    assert_eq!(
        moved, expected,
        "the same services in the end: {per_pass:?}"
    );
}

#[test]
fn while_writes_wait_the_copies_are_not_re_read_on_their_round() {
    let b = example();
    let world = world(&b);
    let reads = || {
        let calls = world.calls.borrow();
        calls
            .iter()
            .filter(|c| **c == "ListResourceRecordSets")
            .count()
    };
    let mut memory = Memory::unknown(&b);
    let live = |memory: &mut Memory| {
        let before = reads();
        block_on(crate::live::read_live(&world, &b, memory, 10));
        reads() - before
    };
    assert_eq!(live(&mut memory), 6, "no copies yet: every zone read");
    // An hour later every copy is due; with writes waiting, none is read.
    world.advance(3_600);
    memory.zones.set_writes_waiting(true);
    assert_eq!(live(&mut memory), 0);
    memory.zones.set_writes_waiting(false);
    assert_eq!(live(&mut memory), 6);
}
