//! A journal no single writer can poison, over the real wire protocol.
//!
//! Goal: a forged heartbeat (another region's body under a writer's own key) and a
//! malformed one neither make a quorum nor stop a healthy fleet; both are counted and
//! alerted. Method: provision; one controller (eu-west-1) alone with a forged heartbeat
//! claiming to be eu-central-1: it still stands down for want of a quorum, and a region
//! loss moves nothing. Then a real peer heartbeat beside a malformed item: the pass acts.

use super::{Fixture, ok, regionctl, run_once};
use crate::harness;
use regionctl_aws::dynamodb::Journal;
use regionctl_controller::journal::{self, Heartbeat};
use regionctl_controller::status::ControllerState;
use regionctl_core::time::Timestamp;
use std::time::Duration;

fn heartbeat(region: &str, bundle_hash: &str) -> Heartbeat {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis();
    Heartbeat {
        region: region.into(),
        bundle_hash: bundle_hash.into(),
        at: Timestamp(i64::try_from(now).expect("ms")),
        state: ControllerState::Acting,
        not_healthy: Vec::new(),
        sees_acting: vec![region.into()],
        first_since: None,
        drained: Default::default(),
        peers_not_healthy: Default::default(),
        last_moves: Default::default(),
        episodes: Default::default(),
        episodes_closed: Default::default(),
    }
}

fn alerts(pass: &serde_json::Value) -> Vec<String> {
    pass["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .map(|a| a.as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_malformed_heartbeats_change_nothing_and_are_reported() {
    let endpoint = harness::endpoint().to_string();
    let fx = Fixture::new("poison").await;
    let d = fx.dir_arg();
    fx.provision();
    let hash = ok(&regionctl(&["check", &d, "--output", "json"]));
    let hash: serde_json::Value = serde_json::from_str(&hash).expect("check --output json");
    let hash = hash["bundle_hash"]
        .as_str()
        .expect("bundle_hash")
        .to_string();
    let journal = Journal::new(&fx.global, &fx.table);

    // us-east-1's key in its own partition, eu-central-1's body: a writer holding
    // us-east-1's credentials speaking for another region.
    let mut forged = journal::heartbeat_item(&heartbeat("eu-central-1", &hash));
    forged.pk = journal::heartbeat_partition("us-east-1");
    forged.sk = "us-east-1".into();
    forged.owner = "us-east-1".into();
    journal.put(&forged).await.expect("forged heartbeat");
    fx.lose_region("eu-central-1").await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let pass = run_once(&d, "eu-west-1", &endpoint);
    assert!(
        pass["stand_down"]
            .as_str()
            .is_some_and(|s| s.starts_with("quorum not met: 1 fresh controller(s)")),
        "{pass}"
    );
    assert!(
        alerts(&pass)
            .iter()
            .any(|a| a.contains("[journal-item-rejected]")
                && a.contains("heartbeat HEARTBEAT#us-east-1 / us-east-1: wrong-writer")),
        "{pass}"
    );
    assert_eq!(
        pass["decisions"].as_array().map(Vec::len),
        Some(0),
        "{pass}"
    );

    // A real peer, and a malformed item beside it: the pass acts on the real quorum.
    journal
        .put(&journal::heartbeat_item(&heartbeat("us-east-1", &hash)))
        .await
        .expect("peer heartbeat");
    let mut garbage = journal::heartbeat_item(&heartbeat("eu-central-1", &hash));
    garbage.body = serde_json::json!({ "region": ["not", "a", "heartbeat"] });
    journal.put(&garbage).await.expect("malformed heartbeat");
    let pass = run_once(&d, "eu-west-1", &endpoint);
    assert!(pass["stand_down"].is_null(), "{pass}");
    assert!(
        alerts(&pass)
            .iter()
            .any(|a| a.contains("heartbeat HEARTBEAT#eu-central-1 / eu-central-1: malformed")),
        "{pass}"
    );
    assert!(
        pass["decisions"].as_array().is_some_and(|d| !d.is_empty()),
        "the region loss is acted on: {pass}"
    );
    let _ = std::fs::remove_dir_all(&fx.dir);
}
