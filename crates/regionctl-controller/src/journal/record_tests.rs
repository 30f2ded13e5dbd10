//! The records' wire format: what the release before the typed states wrote (its record
//! types are copied here as they were, with strings) reads into today's records and is
//! written back byte for byte, and the other way round: peers on either release read each
//! other's heartbeats and outcomes.

use super::*;
use serde::de::DeserializeOwned;

/// `Heartbeat` as the previous release declared it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct HeartbeatBefore {
    region: String,
    bundle_hash: String,
    at: Timestamp,
    state: String,
    #[serde(default)]
    not_healthy: Vec<String>,
    #[serde(default)]
    sees_acting: Vec<String>,
    #[serde(default)]
    first_since: Option<Timestamp>,
    #[serde(default)]
    drained: BTreeMap<String, Timestamp>,
    #[serde(default)]
    peers_not_healthy: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    last_moves: BTreeMap<String, Timestamp>,
}

/// `OutcomeRecord` as the previous release declared it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct OutcomeBefore {
    id: String,
    service: String,
    region: String,
    status: String,
    at: Timestamp,
    started: Timestamp,
    steps: Vec<String>,
    calls: u32,
    discretionary: bool,
    #[serde(default)]
    planes: BTreeMap<String, String>,
}

/// `json` (written by one release) read by the other release's type `T` and written back:
/// the same text.
fn round_trip<T: Serialize + DeserializeOwned>(json: &str) -> T {
    let value: T = serde_json::from_str(json).expect("parses");
    assert_eq!(serde_json::to_string(&value).expect("serializes"), json);
    assert_eq!(
        to_json(&value),
        serde_json::from_str::<serde_json::Value>(json).expect("json")
    );
    value
}

fn heartbeat(state: &str) -> HeartbeatBefore {
    HeartbeatBefore {
        region: "eu-west-1".into(),
        bundle_hash: "6f1c".into(),
        at: Timestamp(1_800_000_000_000),
        state: state.into(),
        not_healthy: vec!["auth/eu-central-1".into()],
        sees_acting: vec!["eu-central-1".into()],
        first_since: Some(Timestamp(1_799_999_900_000)),
        drained: BTreeMap::from([("auth/eu-central-1".into(), Timestamp(1_799_999_000_000))]),
        peers_not_healthy: BTreeMap::from([("eu-central-1".into(), Vec::new())]),
        last_moves: BTreeMap::from([("auth".into(), Timestamp(1_799_990_000_000))]),
    }
}

#[test]
fn heartbeats_read_and_write_back_across_releases() {
    for (state, typed) in [
        ("acting", ControllerState::Acting),
        (
            "standing down: quorum not met: 1 fresh controller(s) on this policy, 2 needed",
            ControllerState::StandingDown(
                "quorum not met: 1 fresh controller(s) on this policy, 2 needed".into(),
            ),
        ),
        (
            "standing down: journal not writable: dynamodb PutItem failed",
            ControllerState::StandingDown("journal not writable: dynamodb PutItem failed".into()),
        ),
    ] {
        let before = serde_json::to_string(&heartbeat(state)).expect("serializes");
        let now: Heartbeat = round_trip(&before);
        assert_eq!(now.state, typed);
        let written = serde_json::to_string(&now).expect("serializes");
        assert_eq!(round_trip::<HeartbeatBefore>(&written), heartbeat(state));
    }
}

#[test]
fn a_heartbeat_from_before_the_relays_still_reads() {
    let old = r#"{"region":"eu-west-1","bundle_hash":"6f1c","at":1800000000000,"state":"acting"}"#;
    let h: Heartbeat = serde_json::from_str(old).expect("parses");
    assert!(h.state.is_acting());
    assert!(h.sees_acting.is_empty() && h.first_since.is_none() && h.last_moves.is_empty());
}

fn outcome(status: &str, steps: &[&str], planes: &[(&str, &str)]) -> OutcomeBefore {
    OutcomeBefore {
        id: "4cc6783ac6a1bdde".into(),
        service: "auth".into(),
        region: "eu-west-1".into(),
        status: status.into(),
        at: Timestamp(1_800_000_001_000),
        started: Timestamp(1_800_000_000_500),
        steps: steps.iter().map(|s| (*s).to_string()).collect(),
        calls: 3,
        discretionary: false,
        planes: planes
            .iter()
            .map(|(p, s)| ((*p).to_string(), (*s).to_string()))
            .collect(),
    }
}

#[test]
fn outcomes_read_and_write_back_across_releases() {
    let failed = "failed: route53 ChangeResourceRecordSets failed (Retryable): ServiceUnavailable";
    let cases = [
        outcome(
            "waiting",
            &["done", "waiting", "skipped", "skipped"],
            &[
                ("data plane (switch)", "skipped"),
                ("ecs control plane", "done"),
                ("no api call", "waiting"),
                ("route53 control plane", "skipped"),
            ],
        ),
        outcome(
            "failed",
            &["done", "done", "done", failed],
            &[
                ("data plane (switch)", "done"),
                ("route53 control plane", failed),
            ],
        ),
        outcome(
            "applied",
            &["done", "left to the discretionary leader"],
            &[("ecs control plane", "done")],
        ),
        outcome("partial", &["done"], &[]),
        outcome("recorded-only", &[], &[]),
        outcome("awaiting-approval", &[], &[]),
        outcome("approval-expired", &[], &[]),
        outcome("paused", &[], &[]),
    ];
    for before in cases {
        let json = serde_json::to_string(&before).expect("serializes");
        let now: OutcomeRecord = round_trip(&json);
        assert_eq!(now.status.as_str(), before.status);
        let written = serde_json::to_string(&now).expect("serializes");
        assert_eq!(round_trip::<OutcomeBefore>(&written), before);
    }
}

#[test]
fn an_outcome_from_before_the_planes_still_reads() {
    let old = r#"{"id":"4cc6783ac6a1bdde","service":"auth","region":"eu-west-1","status":"applied","at":1800000001000,"started":1800000000500,"steps":["done"],"calls":1,"discretionary":true}"#;
    let o: OutcomeRecord = serde_json::from_str(old).expect("parses");
    assert_eq!(o.status, OutcomeStatus::Applied);
    assert_eq!(o.planes, PlaneSummary::default());
}

#[test]
fn an_outcome_with_a_status_no_release_wrote_is_rejected() {
    let json = serde_json::to_string(&outcome("finished", &[], &[])).expect("serializes");
    assert!(serde_json::from_str::<OutcomeRecord>(&json).is_err());
}
