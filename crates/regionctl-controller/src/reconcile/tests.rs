//! Whole passes against the scripted world, on the example bundle: the fleet is
//! `eu-central-1, eu-west-1, us-east-1`; the pass runs in eu-west-1; every alarm has been OK
//! for a day unless a test says otherwise.

use super::*;
use crate::fake::example;
use crate::fake::world::{FakeWorld, block_on};
use crate::journal::{self, Heartbeat};
use crate::ports::Clock as _;
use crate::status::{ControllerState, OutcomeStatus};
use regionctl_core::health::{AlarmObservation, AlarmState};
use regionctl_core::time::Timestamp;

const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);
const ME: &str = "eu-west-1";

fn ago(secs: i64) -> Timestamp {
    Timestamp(NOW.millis() - secs * 1000)
}

/// The steady world with every alarm OK for a day.
fn world(bundle: &Bundle) -> FakeWorld {
    let world = FakeWorld::steady(bundle, NOW);
    for (_, names) in observe::AlarmReads::new(bundle).by_region() {
        for name in names.iter() {
            world.alarms.borrow_mut().insert(
                name.to_string(),
                AlarmObservation {
                    state: AlarmState::Ok,
                    since: ago(86_400),
                },
            );
        }
    }
    world
}

/// A fresh, acting heartbeat of `region` in `world`'s journal.
/// Alarm `name` in ALARM for the last `secs` seconds.
fn alarm_red(world: &FakeWorld, name: &str, secs: i64) {
    world.alarms.borrow_mut().insert(
        name.into(),
        AlarmObservation {
            state: AlarmState::Alarm,
            since: ago(secs),
        },
    );
}

fn peer(world: &FakeWorld, bundle: &Bundle, region: &str) {
    let heartbeat = crate::fake::heartbeat(region, &bundle.hash, world.now());
    block_on(world.put(&journal::heartbeat_item(&heartbeat))).expect("peer heartbeat");
}

fn pass(bundle: &Bundle, world: &FakeWorld, memory: &mut Memory) -> PassReport {
    let reads = AlarmReads::new(bundle);
    let ctx = Context {
        bundle,
        region: ME.into(),
        controllers: bundle.regions.clone(),
        heartbeat_ttl_secs: 30,
        approval_timeout_secs: 900,
        alarm_reads: &reads,
    };
    block_on(reconcile_once(&ctx, world, memory))
}

fn own_heartbeat(world: &FakeWorld) -> Heartbeat {
    let items = world.items(&journal::heartbeat_partition(ME), ME);
    serde_json::from_value(items[0].body.clone()).expect("heartbeat parses")
}

#[test]
fn alone_a_controller_stands_down_and_changes_nothing() {
    let b = example();
    let world = world(&b);
    alarm_red(&world, "auth-eu-central-1-5xx", 90);
    let mut memory = Memory::unknown(&b);
    let report = pass(&b, &world, &mut memory);
    assert_eq!(
        report.stand_down,
        Some(StandDown::QuorumNotMet {
            same_hash: 1,
            needed: 2
        })
    );
    assert!(report.decisions.is_empty());
    assert_eq!(report.switches_published, 0);
    assert!(
        report.plan.as_ref().is_some_and(|p| p.has_changes()),
        "it still plans, for people"
    );
    assert!(world.items("DECISION#auth", "").is_empty());
    assert!(!world.calls.borrow().contains(&"UpdateService"));
    // Its heartbeat says why, and does not list itself as acting.
    let heartbeat = own_heartbeat(&world);
    assert_eq!(
        heartbeat.state.to_string(),
        "standing down: quorum not met: 1 fresh controller(s) on this policy, 2 needed"
    );
    assert!(heartbeat.sees_acting.is_empty());
    assert!(report.summary().contains("standing down (quorum not met"));
}

#[test]
fn with_a_majority_it_evacuates_a_failing_region_and_records_the_decision() {
    let b = example();
    let world = world(&b);
    peer(&world, &b, "eu-central-1");
    alarm_red(&world, "auth-eu-central-1-5xx", 90);
    let mut memory = Memory::unknown(&b);
    let report = pass(&b, &world, &mut memory);
    assert_eq!(report.stand_down, None, "{}", report.summary());
    let auth: Vec<&DecisionSummary> = report
        .decisions
        .iter()
        .filter(|d| d.service == "auth")
        .collect();
    assert_eq!(auth.len(), 1, "{}", report.summary());
    // Warm standby: eu-west-1 scaled, its tasks awaited before the weights move.
    assert_eq!(auth[0].status, OutcomeStatus::Waiting);
    assert_eq!(auth[0].log, ["scale eu-west-1 10"]);
    assert!(auth[0].new);
    assert_eq!(
        world
            .items("DECISION#auth", &format!("{}#INTENT", auth[0].id))
            .len(),
        1
    );
    // The heartbeat says acting, with this pass's view (rewritten after health).
    let heartbeat = own_heartbeat(&world);
    assert_eq!(heartbeat.state, ControllerState::Acting);
    assert!(
        heartbeat
            .not_healthy
            .contains(&"auth/eu-central-1".to_string())
    );
    assert_eq!(heartbeat.sees_acting, [ME, "eu-central-1"]);
    // Its digest is written for its peers.
    assert_eq!(world.items(&journal::digest_partition(ME), ME).len(), 1);
    assert!(report.alarm_read_failures.is_empty() && report.read_failures.is_empty());
    // The next pass starts from this pass's view.
    let auth_ix = b.service_index("auth").expect("auth");
    assert_eq!(
        memory.health.services[auth_ix].entries[(0, 0)].verdict,
        regionctl_core::health::Verdict::Degraded
    );
}

#[test]
fn a_journal_that_rejects_the_heartbeat_stops_the_pass() {
    let b = example();
    let world = world(&b);
    peer(&world, &b, "eu-central-1");
    world.fail("PutItem");
    let mut memory = Memory::unknown(&b);
    let report = pass(&b, &world, &mut memory);
    assert_eq!(
        report.stand_down,
        Some(StandDown::JournalUnwritable("scripted failure".into()))
    );
    assert!(report.plan.is_none() && report.live.is_none());
    // Nothing observed or read beyond the journal.
    assert!(
        world
            .calls
            .borrow()
            .iter()
            .all(|op| matches!(*op, "Query" | "PutItem")),
        "{:?}",
        world.calls.borrow()
    );
    assert_eq!(memory.health, Memory::unknown(&b).health);
}

#[test]
fn a_zone_from_the_copy_is_read_again_before_it_is_written() {
    let b = example();
    let world = world(&b);
    peer(&world, &b, "eu-central-1");
    let reads = |world: &FakeWorld| {
        world
            .calls
            .borrow()
            .iter()
            .filter(|op| **op == "ListResourceRecordSets")
            .count()
    };
    let zones = world.zones.borrow().len();
    let mut memory = Memory::unknown(&b);
    let report = pass(&b, &world, &mut memory);
    assert!(report.decisions.is_empty(), "{}", report.summary());
    assert_eq!(reads(&world), zones, "every zone read once");
    // A tick later, nothing to do: every zone comes from the copy.
    world.advance(10);
    peer(&world, &b, "eu-central-1");
    pass(&b, &world, &mut memory);
    assert_eq!(reads(&world), zones);
    // Another tick, and content fails: only its zone is read again, before the write.
    world.advance(10);
    peer(&world, &b, "eu-central-1");
    alarm_red(&world, "content-eu-central-1-origin-5xx", 100);
    let report = pass(&b, &world, &mut memory);
    assert!(
        report.decisions.iter().any(|d| d.service == "content"),
        "{}",
        report.summary()
    );
    assert_eq!(reads(&world), zones + 1);
}

#[test]
fn a_pass_whose_intent_the_journal_refuses_stands_down_and_changes_nothing() {
    let b = example();
    let world = world(&b);
    peer(&world, &b, "eu-central-1");
    alarm_red(&world, "auth-eu-central-1-5xx", 90);
    world.fail_writes_of("#INTENT");
    let mut memory = Memory::unknown(&b);
    let report = pass(&b, &world, &mut memory);
    let Some(StandDown::IntentUnrecorded { service, why }) = &report.stand_down else {
        panic!("{}", report.summary());
    };
    assert_eq!(service, "auth");
    assert!(why.contains("scripted failure"), "{why}");
    // Nothing scaled or moved; the alert names the service and the kind.
    assert!(
        !world.calls.borrow().iter().any(|op| matches!(
            *op,
            "UpdateService" | "ChangeResourceRecordSets" | "ModifyListener"
        )),
        "{:?}",
        world.calls.borrow()
    );
    assert!(
        report
            .alerts
            .iter()
            .any(|a| a.starts_with("auth [intent-unrecorded]")),
        "{:?}",
        report.alerts
    );
    // The heartbeat says why, for `regionctl status`.
    assert!(matches!(
        own_heartbeat(&world).state,
        ControllerState::StandingDown(ref why) if why.starts_with("auth: decision not recorded")
    ));
    // The next pass, with the journal healed, records it and acts.
    world.heal_writes();
    world.advance(10);
    peer(&world, &b, "eu-central-1");
    let report = pass(&b, &world, &mut memory);
    assert_eq!(report.stand_down, None, "{}", report.summary());
    let auth = report.decisions.iter().find(|d| d.service == "auth");
    assert_eq!(
        auth.map(|d| (d.new, d.status)),
        Some((true, OutcomeStatus::Waiting))
    );
}

#[test]
fn an_outcome_the_journal_refused_is_written_by_a_later_pass() {
    let b = example();
    let world = world(&b);
    peer(&world, &b, "eu-central-1");
    alarm_red(&world, "auth-eu-central-1-5xx", 90);
    world.fail_writes_of("#OUTCOME#");
    let mut memory = Memory::unknown(&b);
    let report = pass(&b, &world, &mut memory);
    let auth = report
        .decisions
        .iter()
        .find(|d| d.service == "auth")
        .expect("auth decided");
    let key = format!("{}#OUTCOME#{ME}", auth.id);
    assert!(world.items("DECISION#auth", &key).is_empty());
    assert_eq!(memory.pending.len(), 1);
    // A minute later the peer is gone (no quorum: this pass decides nothing), the journal
    // takes writes again: the outcome of the first pass is written, as it was.
    world.heal_writes();
    world.advance(60);
    let report = pass(&b, &world, &mut memory);
    assert!(report.decisions.is_empty(), "{}", report.summary());
    let written = world.items("DECISION#auth", &key);
    assert_eq!(written.len(), 1);
    let outcome: journal::OutcomeRecord =
        serde_json::from_value(written[0].body.clone()).expect("outcome parses");
    assert_eq!(outcome.at, NOW);
    assert!(memory.pending.is_empty());
}

/// A move whose `LASTMOVE` write the journal refused is still gossiped in the mover's
/// heartbeat, so a peer that leads next keeps the cooldown (simulate seed 5545).
#[test]
fn a_move_the_journal_did_not_record_is_carried_in_the_heartbeat() {
    let b = example();
    let world = world(&b);
    peer(&world, &b, "eu-central-1");
    let mut memory = Memory::unknown(&b);
    let moved = ago(60);
    memory.own_moves.insert("content".into(), moved);
    world.fail_writes_of("LASTMOVE#");
    pass(&b, &world, &mut memory);
    assert_eq!(
        own_heartbeat(&world).last_moves.get("content"),
        Some(&moved),
        "the heartbeat must carry the unrecorded move"
    );
}

#[test]
fn a_last_move_not_yet_recorded_leaves_the_cooldown_unknown_until_it_is() {
    let b = example();
    let world = world(&b);
    peer(&world, &b, "eu-central-1");
    let content = b.service_index("content").expect("content");
    let mut memory = Memory::unknown(&b);
    let moved = ago(3_600);
    memory.pending.push(crate::pending::PendingWrite::last_move(
        "content",
        journal::last_move_item("content", ME, moved),
    ));
    world.fail_writes_of("LASTMOVE#");
    let report = pass(&b, &world, &mut memory);
    // Planned as if it had just moved: no failback on a cooldown nobody can see.
    let live = report.live.as_ref().expect("live read");
    assert_eq!(live.services[content].last_discretionary_change, Some(NOW));
    assert!(
        report
            .read_failures
            .iter()
            .any(|f| f.contains("LASTMOVE#eu-west-1 still not recorded")),
        "{:?}",
        report.read_failures
    );
    // Once written, the cooldown is the move's own time again.
    world.heal_writes();
    world.advance(10);
    peer(&world, &b, "eu-central-1");
    let report = pass(&b, &world, &mut memory);
    let live = report.live.as_ref().expect("live read");
    assert_eq!(
        live.services[content].last_discretionary_change,
        Some(moved)
    );
    assert!(memory.pending.is_empty());
}

#[test]
fn a_forged_heartbeat_makes_no_quorum_and_a_malformed_one_stops_nobody() {
    let b = example();
    let world = world(&b);
    alarm_red(&world, "auth-eu-central-1-5xx", 90);
    // A writer that is not eu-central-1 writes eu-central-1's heartbeat under its own key.
    let mut forged = journal::heartbeat_item(&crate::fake::heartbeat(
        "eu-central-1",
        &b.hash,
        world.now(),
    ));
    forged.pk = journal::heartbeat_partition("us-east-1");
    forged.sk = "us-east-1".into();
    forged.owner = "us-east-1".into();
    block_on(world.put(&forged)).expect("forged");
    let mut memory = Memory::unknown(&b);
    let report = pass(&b, &world, &mut memory);
    assert!(
        matches!(
            report.stand_down,
            Some(StandDown::QuorumNotMet { same_hash: 1, .. })
        ),
        "{}",
        report.summary()
    );
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].reason, crate::admit::Reason::WrongWriter);
    assert!(
        report
            .alerts
            .iter()
            .any(|a| a.starts_with("journal [journal-item-rejected]: 1 item(s) not believed: heartbeat HEARTBEAT#us-east-1 / us-east-1: wrong-writer")),
        "{:?}",
        report.alerts
    );
    // A real peer, and beside it a malformed item: the pass acts on the real quorum.
    world.journal.borrow_mut().clear();
    world.advance(10);
    peer(&world, &b, "eu-central-1");
    let mut garbage = forged.clone();
    garbage.body = serde_json::json!({"region": ["not", "a", "heartbeat"]});
    block_on(world.put(&garbage)).expect("garbage");
    let report = pass(&b, &world, &mut memory);
    assert_eq!(report.stand_down, None, "{}", report.summary());
    assert!(report.decisions.iter().any(|d| d.service == "auth"));
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].reason, crate::admit::Reason::Malformed);
}

#[test]
fn a_last_move_not_believed_counts_as_a_move_when_first_seen_and_no_longer() {
    let b = example();
    let world = world(&b);
    peer(&world, &b, "eu-central-1");
    let content = b.service_index("content").expect("content");
    // A writer overwrote this controller's last move with one dated a day ahead.
    let forged = journal::last_move_item("content", ME, NOW.plus_secs(86_400));
    block_on(world.put(&forged)).expect("forged last move");
    let mut memory = Memory::unknown(&b);
    let report = pass(&b, &world, &mut memory);
    let live = report.live.as_ref().expect("live read");
    assert_eq!(
        live.services[content].last_discretionary_change,
        Some(NOW),
        "planned as if it had just moved: no failback on a cooldown it cannot know"
    );
    assert!(
        report
            .rejected
            .iter()
            .any(|r| r.kind == "last-move" && r.reason == crate::admit::Reason::FromTheFuture),
        "{:?}",
        report.rejected
    );
    // The forged item stays; the cooldown still runs from when it was first seen, so it
    // ends (seed 4892: read as "unknown" every pass, it blocked failback for ever).
    for _ in 0..3 {
        world.advance(10);
        peer(&world, &b, "eu-central-1");
        let report = pass(&b, &world, &mut memory);
        let live = report.live.as_ref().expect("live read");
        assert_eq!(live.services[content].last_discretionary_change, Some(NOW));
        assert!(report.rejected.iter().any(|r| r.kind == "last-move"));
    }
}

#[test]
fn a_last_move_overwritten_by_a_forgery_is_remembered_from_the_last_heartbeat() {
    let b = example();
    let world = world(&b);
    peer(&world, &b, "eu-central-1");
    let content = b.service_index("content").expect("content");
    let moved = ago(600);
    block_on(world.put(&journal::last_move_item("content", ME, moved))).expect("last move");
    let mut memory = Memory::unknown(&b);
    let report = pass(&b, &world, &mut memory);
    let live = report.live.as_ref().expect("live read");
    assert_eq!(
        live.services[content].last_discretionary_change,
        Some(moved)
    );
    // Now the genuine item is overwritten (same key) by one from the future.
    let forged = journal::last_move_item("content", ME, NOW.plus_secs(86_400));
    block_on(world.put(&forged)).expect("forged last move");
    world.advance(10);
    peer(&world, &b, "eu-central-1");
    let report = pass(&b, &world, &mut memory);
    let live = report.live.as_ref().expect("live read");
    assert_eq!(
        live.services[content].last_discretionary_change,
        Some(moved),
        "the move this controller's heartbeat carried, not the forgery's and not now"
    );
}
