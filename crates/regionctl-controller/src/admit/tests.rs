//! Admission of journal items as a forged, confused or skewed writer would leave them.

use super::*;
use crate::journal::{self, ProbeRecord};
use crate::ports::{ErrorClass, PortError};
use regionctl_core::policy::raw::SignalRole;
use serde_json::json;

const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);
const SKEW: u64 = 30;

fn controllers() -> Vec<String> {
    ["eu-central-1", "eu-west-1", "us-east-1"]
        .map(String::from)
        .to_vec()
}

fn bounds(controllers: &[String]) -> Bounds<'_> {
    Bounds {
        controllers,
        now: NOW,
        skew_secs: SKEW,
    }
}

fn heartbeat(region: &str, at: Timestamp) -> Heartbeat {
    crate::fake::heartbeat(region, "b", at)
}

fn digest(observer: &str, at: Timestamp) -> ObservationDigest {
    ObservationDigest {
        observer: observer.into(),
        bundle_hash: "b".into(),
        at,
        probes: vec![ProbeRecord {
            service: "playback".into(),
            region: "eu-central-1".into(),
            ok: false,
            since: at,
            role: SignalRole::Failure,
        }],
        alarm_read_failures: Vec::new(),
        relayed: Vec::new(),
    }
}

fn reasons(rejected: &[Rejected]) -> Vec<(String, Reason)> {
    rejected.iter().map(|r| (r.key.clone(), r.reason)).collect()
}

#[test]
fn a_heartbeat_counts_only_under_its_writers_key_owner_and_body() {
    let c = controllers();
    let good = journal::heartbeat_item(&heartbeat("eu-west-1", NOW));
    // us-east-1 writes a heartbeat that claims to be eu-central-1's, under its own key.
    let mut forged_body = journal::heartbeat_item(&heartbeat("eu-central-1", NOW));
    forged_body.sk = "us-east-1".into();
    forged_body.owner = "us-east-1".into();
    // The right key and body, written by another owner.
    let mut forged_owner = journal::heartbeat_item(&heartbeat("eu-central-1", NOW));
    forged_owner.owner = "us-east-1".into();
    // Key, owner and body all eu-central-1's, in us-east-1's partition: only us-east-1's
    // credentials can write there (`dynamodb:LeadingKeys`), so us-east-1 forged it.
    let mut foreign_partition = journal::heartbeat_item(&heartbeat("eu-central-1", NOW));
    foreign_partition.pk = journal::heartbeat_partition("us-east-1");
    // A region outside the fleet.
    let stranger = journal::heartbeat_item(&heartbeat("ap-south-1", NOW));
    let malformed = JournalItem {
        body: json!({"region": 7}),
        ..journal::heartbeat_item(&heartbeat("eu-central-1", NOW))
    };
    let unreadable = PortError::new("dynamodb", "Query", ErrorClass::Permanent, "bad kind");
    let admitted = heartbeats(
        vec![
            Ok(good),
            Ok(forged_body),
            Ok(forged_owner),
            Ok(foreign_partition),
            Ok(stranger),
            Ok(malformed),
            Err(unreadable),
        ],
        &bounds(&c),
    );
    let regions: Vec<&str> = admitted.records.iter().map(|h| h.region.as_str()).collect();
    assert_eq!(regions, ["eu-west-1"]);
    assert_eq!(
        reasons(&admitted.rejected),
        [
            (
                "HEARTBEAT#eu-central-1 / us-east-1".into(),
                Reason::WrongWriter
            ),
            (
                "HEARTBEAT#eu-central-1 / eu-central-1".into(),
                Reason::WrongWriter
            ),
            (
                "HEARTBEAT#us-east-1 / eu-central-1".into(),
                Reason::WrongPartition
            ),
            (
                "HEARTBEAT#ap-south-1 / ap-south-1".into(),
                Reason::UnknownWriter
            ),
            (
                "HEARTBEAT#eu-central-1 / eu-central-1".into(),
                Reason::Malformed
            ),
            ("HEARTBEAT".into(), Reason::Unreadable),
        ]
    );
}

#[test]
fn times_from_the_future_are_dropped_not_clamped() {
    let c = controllers();
    let late = NOW.plus_secs(SKEW + 1);
    let mut h = heartbeat("eu-west-1", NOW);
    h.first_since = Some(late);
    h.last_moves.insert("playback".into(), late);
    h.last_moves.insert("auth".into(), NOW);
    h.drained.insert("playback/eu-central-1".into(), late);
    h.episodes_closed.insert("playback".into(), late);
    let ahead = heartbeat("us-east-1", late);
    let within = heartbeat("eu-central-1", NOW.plus_secs(SKEW));
    let admitted = heartbeats(
        vec![
            Ok(journal::heartbeat_item(&h)),
            Ok(journal::heartbeat_item(&ahead)),
            Ok(journal::heartbeat_item(&within)),
        ],
        &bounds(&c),
    );
    assert_eq!(admitted.records.len(), 2, "{:?}", admitted.rejected);
    let kept = &admitted.records[0];
    assert_eq!(kept.first_since, None);
    assert_eq!(kept.last_moves.keys().collect::<Vec<_>>(), ["auth"]);
    assert!(kept.drained.is_empty());
    assert!(kept.episodes_closed.is_empty());
    assert_eq!(
        kept.last_moves["auth"], NOW,
        "a time within the bound is kept as is"
    );
    assert_eq!(
        reasons(&admitted.rejected),
        [
            (
                "HEARTBEAT#eu-west-1 / eu-west-1.first_since".into(),
                Reason::FromTheFuture
            ),
            (
                "HEARTBEAT#eu-west-1 / eu-west-1.last_moves.playback".into(),
                Reason::FromTheFuture
            ),
            (
                "HEARTBEAT#eu-west-1 / eu-west-1.episodes_closed.playback".into(),
                Reason::FromTheFuture
            ),
            (
                "HEARTBEAT#eu-west-1 / eu-west-1.drained.playback/eu-central-1".into(),
                Reason::FromTheFuture
            ),
            (
                "HEARTBEAT#us-east-1 / us-east-1".into(),
                Reason::FromTheFuture
            ),
        ]
    );
}

#[test]
fn a_digest_relays_only_other_fleet_observers_and_no_future() {
    let c = controllers();
    let mut d = digest("us-east-1", NOW);
    d.relayed = vec![
        digest("eu-central-1", Timestamp(NOW.millis() - 5_000)),
        // Speaking for itself through a relay, with a later date than its own item.
        digest("us-east-1", NOW.plus_secs(5)),
        digest("ap-south-1", NOW),
        digest("eu-west-1", NOW.plus_secs(SKEW + 1)),
    ];
    let mut probe_ahead = digest("eu-central-1", NOW);
    probe_ahead.probes[0].since = NOW.plus_secs(3_600);
    let admitted = digests(
        vec![
            Ok(journal::digest_item(&d)),
            Ok(journal::digest_item(&probe_ahead)),
        ],
        &bounds(&c),
    );
    assert_eq!(admitted.records.len(), 2);
    let relayed: Vec<&str> = admitted.records[0]
        .relayed
        .iter()
        .map(|r| r.observer.as_str())
        .collect();
    assert_eq!(relayed, ["eu-central-1"]);
    assert!(admitted.records[1].probes.is_empty());
    assert_eq!(
        reasons(&admitted.rejected),
        [
            (
                "OBS#us-east-1 / us-east-1.relayed.us-east-1".into(),
                Reason::SelfRelay
            ),
            (
                "OBS#us-east-1 / us-east-1.relayed.ap-south-1".into(),
                Reason::UnknownWriter
            ),
            (
                "OBS#us-east-1 / us-east-1.relayed.eu-west-1".into(),
                Reason::FromTheFuture
            ),
            (
                "OBS#eu-central-1 / eu-central-1.eu-central-1.playback/eu-central-1.since".into(),
                Reason::FromTheFuture
            ),
        ]
    );
}

#[test]
fn a_last_move_counts_only_from_its_writer_and_not_from_the_future() {
    let c = controllers();
    let good = journal::last_move_item("playback", "eu-west-1", Timestamp(NOW.millis() - 60_000));
    let mut forged = journal::last_move_item("playback", "us-east-1", NOW);
    forged.owner = "eu-central-1".into();
    let ahead = journal::last_move_item("playback", "eu-central-1", NOW.plus_secs(86_400));
    let malformed = JournalItem {
        body: json!({"at": "soon"}),
        ..journal::last_move_item("playback", "eu-central-1", NOW)
    };
    let admitted = last_move(
        vec![Ok(good), Ok(forged), Ok(ahead), Ok(malformed)],
        &bounds(&c),
    );
    assert_eq!(admitted.records, [Timestamp(NOW.millis() - 60_000)]);
    let why: Vec<Reason> = admitted.rejected.iter().map(|r| r.reason).collect();
    assert_eq!(
        why,
        [
            Reason::WrongWriter,
            Reason::FromTheFuture,
            Reason::Malformed
        ]
    );
}

#[test]
fn an_unreadable_pause_means_paused_and_an_unreadable_override_is_reported() {
    let pause = JournalItem {
        body: json!({"who": 1}),
        ..journal::pause_item(
            &Pause {
                who: "ops".into(),
                why: "x".into(),
                at: NOW,
            },
            "eu-west-1",
        )
    };
    let bad_override = JournalItem {
        pk: "CONTROL".into(),
        sk: "OVERRIDE#eu-central-1#playback#*".into(),
        kind: ItemKind::Control,
        owner: "eu-west-1".into(),
        body: json!({"action": "explode"}),
        expires_at: None,
    };
    let (controls, rejected) = controls(&[Ok(pause), Ok(bad_override)], NOW);
    let paused = controls.paused.expect("paused");
    assert!(paused.why.contains("cannot be read"), "{}", paused.why);
    assert!(controls.overrides.is_empty());
    let kinds: Vec<(&str, Reason)> = rejected.iter().map(|r| (r.kind, r.reason)).collect();
    assert_eq!(
        kinds,
        [
            ("pause", Reason::Malformed),
            ("override", Reason::Malformed)
        ]
    );
}
