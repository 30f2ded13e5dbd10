//! Holds recorded against the scripted world: content degraded in every region, so each of
//! its cells fails static.

use super::*;
use crate::fake::world::{FakeWorld, block_on};
use crate::fake::{degraded, example};
use crate::observe::AlarmReads;
use crate::pace::Route53Pace;
use crate::reconcile::Context;
use regionctl_core::controls::Controls;
use regionctl_core::live::LiveState;
use regionctl_core::policy::Bundle;
use regionctl_core::time::Timestamp;
use std::collections::BTreeMap;

const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);

/// The pass context of the controller in eu-west-1.
fn context<'a>(b: &'a Bundle, reads: &'a AlarmReads) -> Context<'a> {
    Context {
        bundle: b,
        region: "eu-west-1".into(),
        controllers: b.regions.clone(),
        heartbeat_ttl_secs: 30,
        approval_timeout_secs: 900,
        alarm_reads: reads,
    }
}

#[test]
fn a_hold_is_recorded_once_per_incident_with_its_reasons() {
    let b = example();
    let regions: Vec<&str> = b.regions.iter().map(String::as_str).collect();
    let health = degraded(&b, "content", &regions, Timestamp(NOW.millis() - 90_000));
    let live = LiveState::steady(&b);
    let controls = Controls::default();
    let plan = regionctl_core::plan::plan(regionctl_core::plan::Inputs {
        bundle: &b,
        health: &health,
        live: &live,
        controls: &controls,
        now: NOW,
    });
    assert!(
        plan.alerts
            .iter()
            .any(|a| a.service == "content" && a.kind == AlertKind::HoldFailStatic),
        "{:?}",
        plan.alerts
    );
    let reads = AlarmReads::new(&b);
    let ctx = context(&b, &reads);
    let world = FakeWorld::steady(&b, NOW);
    let run = |episode: Timestamp| {
        let episodes = BTreeMap::from([("content".to_string(), episode)]);
        let input = DecideInput {
            ctx: &ctx,
            plan: &plan,
            health: &health,
            live: &live,
            controls: &controls,
            leader: true,
            episodes: &episodes,
            pace: &Route53Pace::default(),
            now: world.now.get(),
        };
        block_on(record_holds(&world, &input))
    };
    let first = run(NOW);
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(
        (first[0].service.as_str(), first[0].status),
        ("content", OutcomeStatus::Held)
    );
    let intents = world.items("DECISION#content", &format!("{}#INTENT", first[0].id));
    let record: DecisionRecord =
        serde_json::from_value(intents[0].body.clone()).expect("a decision record");
    assert_eq!(record.disposition, "held");
    assert!(record.steps.is_empty());
    assert!(
        record
            .alerts
            .iter()
            .any(|a| a.starts_with("hold-fail-static: ")),
        "{:?}",
        record.alerts
    );
    assert!(
        record.health.iter().any(|h| h.contains("degraded")),
        "{:?}",
        record.health
    );
    assert_eq!(world.events.borrow().len(), 1);
    // The next passes of the same incident record nothing more.
    world.advance(10);
    assert!(run(NOW).is_empty());
    assert_eq!(world.events.borrow().len(), 1);
    // The same hold in a later incident is a new record.
    world.advance(86_400);
    let later = run(NOW.plus_secs(86_400));
    assert_eq!(later.len(), 1);
    assert_ne!(later[0].id, first[0].id);
}

/// A served-veto hold has no incident (nothing is unhealthy): two identical partitions
/// are told apart by when the overruled probes began failing, and one partition stays one
/// record however many passes it lasts.
#[test]
fn each_partition_held_by_the_served_veto_is_its_own_record() {
    let b = example();
    let live = LiveState::steady(&b);
    let controls = Controls::default();
    let mut health = regionctl_core::health::HealthView::assume(
        &b,
        Timestamp(NOW.millis() - 86_400_000),
        |_, _, _| regionctl_core::health::Verdict::Healthy,
    );
    let playback = b.service_index("playback").expect("playback");
    let plan = regionctl_core::plan::plan(regionctl_core::plan::Inputs {
        bundle: &b,
        health: &health,
        live: &live,
        controls: &controls,
        now: NOW,
    });
    let sp = plan
        .services
        .iter()
        .find(|sp| sp.service == playback)
        .expect("playback planned");
    let alert = Alert {
        kind: AlertKind::HoldUsersServed,
        service: "playback".into(),
        message: "not evacuated: eu-central-1: observers cannot reach it, its users can".into(),
    };
    let reads = AlarmReads::new(&b);
    let ctx = context(&b, &reads);
    let episodes = BTreeMap::new();
    let mut id_when = |since: Timestamp| {
        health.services[playback].evidence[0].vetoed = true;
        health.services[playback].evidence[0].vetoed_since = Some(since);
        let input = DecideInput {
            ctx: &ctx,
            plan: &plan,
            health: &health,
            live: &live,
            controls: &controls,
            leader: true,
            episodes: &episodes,
            pace: &Route53Pace::default(),
            now: NOW,
        };
        held_record(&input, sp, &alert).id
    };
    let first = id_when(Timestamp(NOW.millis() - 60_000));
    assert_eq!(
        first,
        id_when(Timestamp(NOW.millis() - 60_000)),
        "one partition, one id"
    );
    assert_ne!(
        first,
        id_when(Timestamp(NOW.millis() + 86_400_000)),
        "the next partition is a new record"
    );
}
