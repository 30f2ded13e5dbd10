use super::*;
use crate::journal::{self, budget};
use serde_json::json;

use crate::journal::packing::TEST_REGIONS as REGIONS;

/// Every pair of `services` services in the five regions, in bundle order.
fn every_pair(services: usize) -> Vec<String> {
    (0..services)
        .flat_map(|s| REGIONS.iter().map(move |r| format!("svc{s:04}/{r}")))
        .collect()
}

fn heartbeat(services: usize) -> Heartbeat {
    let mut h = crate::fake::heartbeat("eu-west-1", "h", Timestamp::from_secs(1_800_000_000));
    h.not_healthy = every_pair(services);
    h.drained = every_pair(services)
        .into_iter()
        .filter(|p| p.ends_with("/eu-central-1"))
        .enumerate()
        .map(|(i, p)| (p, Timestamp::from_secs(1_799_999_000 + (i % 3) as i64)))
        .collect();
    h.peers_not_healthy = ["us-east-1", "eu-central-1"]
        .iter()
        .map(|peer| ((*peer).to_string(), every_pair(services)))
        .collect();
    h.last_moves = (0..services)
        .map(|s| (format!("svc{s:04}"), Timestamp::from_secs(1_799_990_000)))
        .collect();
    h.episodes = h.last_moves.clone();
    h.episodes_closed = (0..services)
        .step_by(2)
        .map(|s| (format!("svc{s:04}"), Timestamp::from_secs(1_799_980_000)))
        .collect();
    h
}

#[test]
fn a_heartbeat_reads_back_as_written() {
    let h = heartbeat(7);
    let wire = serde_json::to_value(packed(h.clone())).expect("write");
    assert!(wire["names"].is_object(), "{wire}");
    let read: Heartbeat = serde_json::from_value(wire).expect("read");
    assert_eq!(read, h);
    // Pairs come back in the order the writer lists them (bundle order).
    assert_eq!(read.not_healthy, every_pair(7));
    // Small enough for the form before packing: written in it.
    let small = serde_json::to_value(&h).expect("write");
    assert!(small["names"].is_null() && small["not_healthy"].is_array());
    assert_eq!(serde_json::from_value::<Heartbeat>(small).expect("read"), h);
}

#[test]
fn a_fleet_first_pass_heartbeat_fits_its_budget() {
    // A controller's first pass lists every pair; its two peers' do too.
    let h = heartbeat(1_000);
    let item = journal::heartbeat_item(&h);
    let bytes = budget::size(&item);
    // Half the budget, though the drained times alternate (the worst case for runs).
    assert!(bytes < 32 * 1024, "{bytes} bytes");
    assert_eq!(budget::check(&item), Ok(()));
    let legacy = serde_json::to_string(&json!({
        "not_healthy": h.not_healthy, "peers_not_healthy": h.peers_not_healthy,
        "drained": h.drained,
    }))
    .expect("write")
    .len();
    assert!(
        legacy > budget::budget("HEARTBEAT#x", "x").bytes,
        "{legacy}"
    );
}

#[test]
fn a_heartbeat_written_before_packing_is_read() {
    let read: Heartbeat = serde_json::from_value(json!({
        "region": "us-east-1", "bundle_hash": "h", "at": 1000, "state": "acting",
        "not_healthy": ["playback/eu-central-1"], "sees_acting": ["us-east-1"],
        "drained": {"playback/eu-central-1": 900},
        "peers_not_healthy": {"eu-west-1": ["auth/us-east-1"]},
        "last_moves": {"playback": 800}, "episodes": {"playback": 700}
    }))
    .expect("legacy heartbeat");
    assert_eq!(read.not_healthy, vec!["playback/eu-central-1".to_string()]);
    assert_eq!(read.drained["playback/eu-central-1"], Timestamp(900));
    assert_eq!(read.peers_not_healthy["eu-west-1"], vec!["auth/us-east-1"]);
    assert_eq!(read.episodes["playback"], Timestamp(700));
}

#[test]
fn columns_that_do_not_fit_the_grid_are_refused() {
    let written = serde_json::to_value(packed(heartbeat(3))).expect("write");
    let breaks: [(&str, &str, serde_json::Value); 5] = [
        ("not_healthy", "", json!("AAAA")),
        ("drained", "runs", json!([[99, 0]])),
        ("last_moves", "present", json!("////")),
        ("episodes", "since", json!([])),
        ("names", "services", json!(["svc0000"])),
    ];
    for (field, inner, value) in breaks {
        let mut v = written.clone();
        if inner.is_empty() {
            v[field] = value.clone();
        } else {
            v[field][inner] = value.clone();
        }
        let read = serde_json::from_value::<Heartbeat>(v);
        assert!(read.is_err(), "{field}.{inner} = {value}: read {read:?}");
    }
}
