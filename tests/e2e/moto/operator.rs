//! The operator's controls against moto: pause and resume, propose and approve, explain,
//! a proposal nobody approves, and an override that drains a region.

use super::{
    Fixture, REGIONS, SERVICES, all_alarms_ok, cloudwatch_clients, ok, regionctl, run_once,
    weight_of_euc1,
};
use crate::harness;
use regionctl_aws::types::{AlarmState, Routing};
use std::time::Duration;

/// `regionctl <cmd> … <extra>` as operator `test-sre` from eu-west-1; its output.
fn operator(fx: &Fixture, cmd: &str, extra: &[&str]) -> String {
    let dir = fx.dir_arg();
    let mut args = vec![
        cmd,
        "--policies",
        &dir,
        "--endpoint-url",
        harness::endpoint(),
        "--region",
        "eu-west-1",
        "--who",
        "test-sre",
    ];
    args.extend_from_slice(extra);
    ok(&regionctl(&args))
}

/// The decision for `service` in a pass's JSON report.
fn decision_of(pass: &serde_json::Value, service: &str) -> Option<serde_json::Value> {
    pass["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .find(|x| x["service"] == service)
        .cloned()
}

/// Goal: operator controls are honoured. Method: with eu-central-1's alarms red, a paused
/// fleet records but changes nothing; after `resume` an `enforce` service is evacuated while
/// a `propose` service waits for `approve`; `explain` shows the decision and its outcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_propose_approve_and_explain() {
    let endpoint = harness::endpoint().to_string();
    let fx = Fixture::new("ops").await;
    let catalog_zone = fx.zone("{{ZONE_CATALOG}}");
    // catalog in propose mode for this test.
    fx.edit("catalog.yaml", "mode: enforce", "mode: propose");
    let d = fx.dir_arg();
    fx.provision();
    for region in REGIONS {
        run_once(&d, region, &endpoint);
    }

    let paused_by = operator(&fx, "pause", &["--why", "game-day dry run"]);
    assert!(paused_by.contains("paused by test-sre"));
    fx.set_alarms("eu-central-1", &SERVICES, AlarmState::Alarm, "test")
        .await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let paused = run_once(&d, "eu-west-1", &endpoint);
    for dec in paused["decisions"].as_array().expect("decisions") {
        assert_eq!(dec["status"], "paused", "{paused}");
    }
    let (records, _) = fx
        .route53
        .list_record_sets(&catalog_zone)
        .await
        .expect("list");
    assert_eq!(weight_of_euc1(&records), Some(60), "paused: nothing moved");

    assert!(operator(&fx, "resume", &[]).contains("resumed"));
    let resumed = run_once(&d, "eu-west-1", &endpoint);
    let by = |s: &str| decision_of(&resumed, s).expect("decision");
    assert_eq!(by("playback")["status"], "applied", "{resumed}");
    let catalog_decision = by("catalog");
    assert_eq!(catalog_decision["status"], "awaiting-approval", "{resumed}");
    let (records, _) = fx
        .route53
        .list_record_sets(&catalog_zone)
        .await
        .expect("list");
    assert_eq!(
        weight_of_euc1(&records),
        Some(60),
        "propose: waits for approval"
    );

    let id = catalog_decision["id"].as_str().expect("id").to_string();
    let approved_text = operator(&fx, "approve", &[&id]);
    assert!(
        approved_text.contains("approved decision")
            && approved_text.contains(" round 0 as arn:aws:"),
        "{approved_text}"
    );
    assert!(
        approved_text.contains("  steps:\n    1. "),
        "{approved_text}"
    );
    let approved = run_once(&d, "eu-west-1", &endpoint);
    let catalog_after = decision_of(&approved, "catalog").expect("catalog");
    assert_eq!(catalog_after["status"], "applied", "{approved}");
    let (records, _) = fx
        .route53
        .list_record_sets(&catalog_zone)
        .await
        .expect("list");
    assert_eq!(weight_of_euc1(&records), Some(0), "approved: evacuated");

    let text = operator(&fx, "explain", &[&id]);
    assert!(
        text.contains(&format!("decision {id} — catalog (mode propose")),
        "{text}"
    );
    assert!(text.contains("eu-central-1 is degraded"), "{text}");
    assert!(text.contains("outcome in eu-west-1: applied"), "{text}");
    // Which plane did what (catalog has no switches: weights and capacity only).
    assert!(text.contains("    route53 control plane: done"), "{text}");
    let status = operator(&fx, "status", &[]);
    assert!(status.contains("automation: running"), "{status}");
    assert!(status.contains(&id), "{status}");
    let _ = std::fs::remove_dir_all(&fx.dir);
}

/// Goal: a `propose` decision nobody approves lapses after `approval_timeout_secs` and is
/// not applied; the next pass proposes it afresh (round 1), and an approval given then
/// applies it. Method: catalog in propose mode with a 2 s timeout; region loss; two passes
/// 3 s apart; a third pass; `approve`; a fourth pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unapproved_proposal_expires() {
    let endpoint = harness::endpoint().to_string();
    let fx = Fixture::new("expire").await;
    fx.edit("catalog.yaml", "mode: enforce", "mode: propose");
    fx.edit(
        "controller.yaml",
        "heartbeat_ttl_secs: 600",
        "heartbeat_ttl_secs: 600\n  approval_timeout_secs: 2",
    );
    let d = fx.dir_arg();
    fx.provision();
    for region in REGIONS {
        run_once(&d, region, &endpoint);
    }
    fx.set_alarms("eu-central-1", &["catalog"], AlarmState::Alarm, "test")
        .await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let status_of = |pass: &serde_json::Value| -> String {
        decision_of(pass, "catalog")
            .map(|x| x["status"].as_str().unwrap_or("").to_string())
            .expect("catalog decision")
    };
    assert_eq!(
        status_of(&run_once(&d, "eu-west-1", &endpoint)),
        "awaiting-approval"
    );
    tokio::time::sleep(Duration::from_millis(3_000)).await;
    assert_eq!(
        status_of(&run_once(&d, "eu-west-1", &endpoint)),
        "approval-expired"
    );
    let (records, _) = fx
        .route53
        .list_record_sets(&fx.zone("{{ZONE_CATALOG}}"))
        .await
        .expect("list");
    assert_eq!(
        weight_of_euc1(&records),
        Some(60),
        "an expired proposal is never applied"
    );
    // The next pass proposes it afresh (round 1); an approval given now counts.
    let again = run_once(&d, "eu-west-1", &endpoint);
    assert_eq!(status_of(&again), "awaiting-approval");
    let id = decision_of(&again, "catalog").expect("catalog")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let approved = operator(&fx, "approve", &[&id]);
    // Rounds are 2 s here: the approval names whichever round it is given in (1 or later).
    assert!(
        approved.contains(" round ") && !approved.contains(" round 0 "),
        "{approved}"
    );
    assert_eq!(status_of(&run_once(&d, "eu-west-1", &endpoint)), "applied");
    let (records, _) = fx
        .route53
        .list_record_sets(&fx.zone("{{ZONE_CATALOG}}"))
        .await
        .expect("list");
    assert_eq!(
        weight_of_euc1(&records),
        Some(0),
        "approved in round 1: evacuated"
    );
    let _ = std::fs::remove_dir_all(&fx.dir);
}

/// Goal: an operator drain moves weights *and* the data-plane switch, and `override clear`
/// ends it early. Method: everything healthy; `override drain` playback in eu-central-1;
/// one pass; `override clear`; one pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_override_drains_through_weights_and_switch_and_clears() {
    let endpoint = harness::endpoint().to_string();
    let fx = Fixture::new("override").await;
    let d = fx.dir_arg();
    fx.provision();
    all_alarms_ok(&cloudwatch_clients().await, &fx.prefix).await;
    for region in REGIONS {
        run_once(&d, region, &endpoint);
    }
    let drained = operator(
        &fx,
        "override",
        &[
            "drain",
            "--drain-region",
            "eu-central-1",
            "--service",
            "playback",
            "--for-mins",
            "30",
            "--why",
            "database failover",
        ],
    );
    assert!(
        drained.contains("Drain eu-central-1 (service playback"),
        "{drained}"
    );
    let pass = run_once(&d, "eu-west-1", &endpoint);
    let playback =
        decision_of(&pass, "playback").unwrap_or_else(|| panic!("no playback decision: {pass}"));
    assert_eq!(playback["status"], "applied", "{pass}");
    let log = playback["log"].to_string();
    assert!(log.contains("switch eu-central-1 off"), "{log}");
    let (records, _) = fx
        .route53
        .list_record_sets(&fx.zone("{{ZONE_PLAYBACK}}"))
        .await
        .expect("list");
    for r in &records {
        if let Routing::Weighted {
            set_identifier,
            weight,
        } = &r.routing
            && set_identifier.ends_with("eu-central-1")
        {
            assert_eq!(*weight, 0, "{} drained", r.name);
        }
    }
    let status = operator(&fx, "status", &[]);
    assert!(status.contains("database failover"), "{status}");

    let cleared = operator(
        &fx,
        "override",
        &[
            "clear",
            "--drain-region",
            "eu-central-1",
            "--service",
            "playback",
            "--why",
            "done",
        ],
    );
    assert!(cleared.contains("cleared: done"), "{cleared}");
    let status = operator(&fx, "status", &[]);
    assert!(
        !status.contains("database failover"),
        "override still listed: {status}"
    );
    let pass = run_once(&d, "eu-west-1", &endpoint);
    let log = decision_of(&pass, "playback")
        .map(|x| x["log"].to_string())
        .unwrap_or_else(|| panic!("no playback decision after clear: {pass}"));
    // Healthy again and no longer drained: the switch goes on at once; the weights come
    // back in failback stages after the recovery window.
    assert!(log.contains("switch eu-central-1 on"), "{log}");
    let _ = std::fs::remove_dir_all(&fx.dir);
}

/// Restores catalog's baseline weights in Route 53 (what a finished failback leaves).
async fn restore_catalog_baseline(fx: &Fixture, zone: &str) {
    let (records, _) = fx.route53.list_record_sets(zone).await.expect("list");
    let changes: Vec<regionctl_aws::types::RecordChange> = records
        .into_iter()
        .filter_map(|mut r| {
            let Routing::Weighted {
                set_identifier,
                weight,
            } = &mut r.routing
            else {
                return None;
            };
            *weight = if set_identifier.ends_with("eu-central-1") {
                60
            } else {
                40
            };
            Some(regionctl_aws::types::RecordChange::upsert(r))
        })
        .collect();
    assert_eq!(changes.len(), 2, "catalog's two weighted records");
    fx.route53
        .apply_changes(zone, changes)
        .await
        .expect("restore the baseline");
}

/// Goal: an approval authorises one incident's decision only (ADR 0012 §2). Method:
/// catalog in `propose`; eu-central-1's alarm red; the evacuation is approved and applied
/// (episode 1); the alarm recovers and the baseline is restored, so the episode closes; the
/// same alarm goes red again: the identical evacuation is a new decision (a new id: the
/// episode's start is part of it) awaiting its own approval, and nothing moves until it
/// is given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_does_not_carry_over_to_the_next_incident() {
    let endpoint = harness::endpoint().to_string();
    let fx = Fixture::new("episodes").await;
    let zone = fx.zone("{{ZONE_CATALOG}}");
    fx.edit("catalog.yaml", "mode: enforce", "mode: propose");
    fx.edit(
        "catalog.yaml",
        "fail_after_secs: 2",
        "fail_after_secs: 2\n    recover_after_secs: 2",
    );
    let d = fx.dir_arg();
    fx.provision();
    all_alarms_ok(&cloudwatch_clients().await, &fx.prefix).await;
    for region in REGIONS {
        run_once(&d, region, &endpoint);
    }
    let euc1_weight = || async {
        let (records, _) = fx.route53.list_record_sets(&zone).await.expect("list");
        weight_of_euc1(&records)
    };

    // Episode 1: proposed, approved, applied.
    fx.set_alarms(
        "eu-central-1",
        &["catalog"],
        AlarmState::Alarm,
        "incident 1",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let first = decision_of(&run_once(&d, "eu-west-1", &endpoint), "catalog").expect("catalog");
    assert_eq!(first["status"], "awaiting-approval", "{first}");
    let first_id = first["id"].as_str().expect("id").to_string();
    operator(&fx, "approve", &[&first_id]);
    let applied = decision_of(&run_once(&d, "eu-west-1", &endpoint), "catalog").expect("catalog");
    assert_eq!(applied["status"], "applied", "{applied}");
    assert_eq!(euc1_weight().await, Some(0), "episode 1: evacuated");

    // The incident ends: alarm OK past recover_after_secs, weights back at the baseline.
    fx.set_alarms("eu-central-1", &["catalog"], AlarmState::Ok, "recovered")
        .await;
    restore_catalog_baseline(&fx, &zone).await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    for region in REGIONS {
        let pass = run_once(&d, region, &endpoint);
        assert!(decision_of(&pass, "catalog").is_none(), "{region}: {pass}");
    }

    // Episode 2, the identical incident: a new decision that waits for its own approval.
    fx.set_alarms(
        "eu-central-1",
        &["catalog"],
        AlarmState::Alarm,
        "incident 2",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let second = decision_of(&run_once(&d, "eu-west-1", &endpoint), "catalog").expect("catalog");
    assert_eq!(second["status"], "awaiting-approval", "{second}");
    let second_id = second["id"].as_str().expect("id").to_string();
    assert_ne!(
        second_id, first_id,
        "the episode is part of the decision's identity"
    );
    let again = decision_of(&run_once(&d, "eu-west-1", &endpoint), "catalog").expect("catalog");
    assert_eq!(again["status"], "awaiting-approval", "{again}");
    assert_eq!(
        euc1_weight().await,
        Some(60),
        "episode 2: nothing moved unapproved"
    );
    operator(&fx, "approve", &[&second_id]);
    let applied = decision_of(&run_once(&d, "eu-west-1", &endpoint), "catalog").expect("catalog");
    assert_eq!(applied["status"], "applied", "{applied}");
    assert_eq!(
        euc1_weight().await,
        Some(0),
        "episode 2: evacuated once approved"
    );
    let _ = std::fs::remove_dir_all(&fx.dir);
}
