//! Controllers with failpoints (`--features regionctl/failpoints`): an observer that cannot
//! see one region, and a controller killed in the middle of applying.

use super::{CONVERGE_WITHIN, euc1_weights};
use crate::harness;
use crate::moto::{Fixture, SERVICES, ok, regionctl};
use regionctl_aws::dynamodb::Journal;
use regionctl_testkit::fixtures::REGIONS;
use regionctl_testkit::fleet::{ControllerSpec, Fleet, require_failpoints};
use regionctl_testkit::http::StubEndpoint;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_regionctl");

/// Goal: no single vantage point evacuates a healthy region, and a real region loss, which
/// looks like "unreachable", is evacuated on probe evidence alone. Method: three controllers
/// probe three local endpoints; eu-west-1's controller cannot reach eu-central-1 (failpoint):
/// nothing moves. Then eu-central-1's endpoint goes down for everyone, with its alarms still
/// OK: the quorum of observers evacuates it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_need_a_quorum_of_observers() {
    require_failpoints(BINARY.as_ref());
    let endpoint = harness::endpoint().to_string();
    let fx = Fixture::new("probe").await;
    let playback_zone = fx.zone("{{ZONE_PLAYBACK}}");
    let endpoints: Vec<StubEndpoint> = REGIONS
        .iter()
        .map(|_| StubEndpoint::start().expect("a stub endpoint"))
        .collect();
    fx.edit("controller.yaml", "tick_secs: 10", "tick_secs: 1");
    let per_region: Vec<String> = REGIONS
        .iter()
        .zip(&endpoints)
        .map(|(r, e)| format!("{r}: \"http://127.0.0.1:{}/healthz\"", e.port))
        .collect();
    let probes = format!(
        "    probes:\n      - protocol: http\n        target: \"http://127.0.0.1:9/{{region}}\"\n        per_region: {{{}}}\n        timeout_ms: 1000\n    fail_after_secs: 2",
        per_region.join(", ")
    );
    let playback = fx.dir.join("playback.yaml");
    let text = std::fs::read_to_string(&playback).expect("read").replacen(
        "    fail_after_secs: 2",
        &probes,
        1,
    );
    std::fs::write(&playback, text).expect("write");
    let d = fx.dir_arg();
    ok(&regionctl(&["check", &d]));
    fx.provision();

    let euc1_port = endpoints[0].port;
    let mut fleet = Fleet::new(BINARY);
    for region in REGIONS {
        let failpoints = if region == "eu-west-1" {
            format!("probe-fail@:{euc1_port}/")
        } else {
            String::new()
        };
        fleet.start(&ControllerSpec::new(region, &fx.dir, &endpoint).failpoints(&failpoints));
    }
    fleet.wait_ready(CONVERGE_WITHIN).await;
    // One observer sees eu-central-1 as unreachable for well past fail_after_secs.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(
        euc1_weights(&fx.route53, &playback_zone)
            .await
            .iter()
            .all(|w| *w == 50),
        "one vantage point evacuated a healthy region"
    );
    let (_, status) = fleet[1].get("/status").expect("status");
    assert!(status.contains("\"health\":\"healthy\""), "{status}");

    // Now the region really is unreachable: every observer's probes fail; alarms stay OK.
    endpoints[0].set_up(false);
    let lost = Instant::now();
    while euc1_weights(&fx.route53, &playback_zone)
        .await
        .iter()
        .any(|w| *w != 0)
    {
        assert!(
            lost.elapsed() < CONVERGE_WITHIN,
            "an unreachable region was never evacuated"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    println!("evacuated on probe evidence after {:?}", lost.elapsed());
    drop(fleet);
    let _ = std::fs::remove_dir_all(&fx.dir);
}

/// One `run --once` pass from `region` with `failpoints`.
fn once(fx: &Fixture, region: &str, failpoints: &str) -> Output {
    Command::new(BINARY)
        .args(["run", "--once", "--region", region, "--policies"])
        .arg(&fx.dir)
        .args(["--endpoint-url", harness::endpoint()])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("REGIONCTL_FAILPOINTS", failpoints)
        .output()
        .expect("run")
}

/// A provisioned fixture whose every controller ran a steady pass, then lost eu-central-1
/// (its alarms red past the fail-after window); and its playback zone.
async fn region_lost(name: &str) -> (Fixture, String) {
    require_failpoints(BINARY.as_ref());
    let fx = Fixture::new(name).await;
    let playback_zone = fx.zone("{{ZONE_PLAYBACK}}");
    fx.provision();
    for region in REGIONS {
        assert!(once(&fx, region, "").status.success());
    }
    fx.lose_region("eu-central-1").await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    (fx, playback_zone)
}

/// Goal: a controller killed in the middle of applying is rolled forward by a peer, with no
/// duplicate or conflicting decision. Method: us-east-1's controller aborts right after its
/// first ECS call (failpoint); eu-west-1 then runs a pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_apply_is_rolled_forward_by_a_peer() {
    let (fx, playback_zone) = region_lost("crash").await;

    let crashed = once(&fx, "us-east-1", "crash-after-scale");
    assert!(
        !crashed.status.success(),
        "the failpoint should have killed the pass"
    );
    let journal = Journal::new(&fx.global, &fx.table);
    let (auth_items, _) = journal
        .query_prefix("DECISION#auth", "")
        .await
        .expect("query");
    assert_eq!(
        auth_items
            .iter()
            .filter(|i| i.sk.ends_with("#INTENT"))
            .count(),
        1,
        "intent recorded before the side effect"
    );
    assert_eq!(
        auth_items
            .iter()
            .filter(|i| i.sk.contains("#OUTCOME#"))
            .count(),
        0,
        "no outcome: killed mid-apply"
    );
    assert!(
        euc1_weights(&fx.route53, &playback_zone)
            .await
            .iter()
            .all(|w| *w == 50),
        "nothing shifted before the crash"
    );

    let peer = once(&fx, "eu-west-1", "");
    assert!(
        peer.status.success(),
        "{}",
        String::from_utf8_lossy(&peer.stderr)
    );
    let text = String::from_utf8_lossy(&peer.stdout);
    assert!(
        text.contains("auth decision") && text.contains("already recorded"),
        "{text}"
    );
    assert!(
        euc1_weights(&fx.route53, &playback_zone)
            .await
            .iter()
            .all(|w| *w == 0),
        "rolled forward"
    );
    for svc in SERVICES {
        let (items, _) = journal
            .query_prefix(&format!("DECISION#{svc}"), "")
            .await
            .expect("query");
        let intents = items.iter().filter(|i| i.sk.ends_with("#INTENT")).count();
        let outcomes: Vec<_> = items
            .iter()
            .filter(|i| i.sk.contains("#OUTCOME#"))
            .collect();
        assert_eq!(intents, 1, "{svc}: one decision, recorded once");
        assert_eq!(outcomes.len(), 1, "{svc}: one outcome, from the peer");
        assert!(
            outcomes[0].sk.ends_with("eu-west-1"),
            "{svc}: {}",
            outcomes[0].sk
        );
    }
    let again = once(&fx, "eu-west-1", "");
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to do"));
    let _ = std::fs::remove_dir_all(&fx.dir);
}

/// Goal: nothing is applied that is not recorded (issue 17). Method: after a region loss,
/// us-east-1 runs a pass whose journal refuses every intent write (failpoint, as a denied
/// or throttled table would): nothing moves or scales, no decision is recorded, the pass
/// stands down naming the service and alerts. The next pass, with the journal taking
/// writes, records the intent and acts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intent_the_journal_refuses_changes_nothing_and_alerts() {
    let (fx, playback_zone) = region_lost("intent").await;

    let refused = once(&fx, "us-east-1", "journal-write-fail@#INTENT");
    let text = String::from_utf8_lossy(&refused.stdout);
    assert!(
        text.contains("[intent-unrecorded]") && text.contains("decision not recorded"),
        "{text}\n{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let journal = Journal::new(&fx.global, &fx.table);
    for svc in SERVICES {
        let (items, _) = journal
            .query_prefix(&format!("DECISION#{svc}"), "")
            .await
            .expect("query");
        assert!(items.is_empty(), "{svc}: nothing recorded: {items:?}");
    }
    assert!(
        euc1_weights(&fx.route53, &playback_zone)
            .await
            .iter()
            .all(|w| *w == 50),
        "nothing shifted without an intent"
    );

    let healed = once(&fx, "us-east-1", "");
    assert!(
        healed.status.success(),
        "{}",
        String::from_utf8_lossy(&healed.stderr)
    );
    let (items, _) = journal
        .query_prefix("DECISION#playback", "")
        .await
        .expect("query");
    assert_eq!(
        items.iter().filter(|i| i.sk.ends_with("#INTENT")).count(),
        1,
        "recorded on the next pass"
    );
    let _ = std::fs::remove_dir_all(&fx.dir);
}
