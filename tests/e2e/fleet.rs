//! Three long-running controller processes against one moto (the test kit's process
//! fleet): a region loss is evacuated, then failed back in stages, with one decision per
//! change in the journal.
//!
//! Liveness timeouts are generous (a loaded 2-core CI machine); the measured times are
//! printed, not asserted.
//!
//! - `faults`: controllers with failpoints: one blinded observer, a crash mid-apply, a
//!   journal that refuses intents.

mod faults;

use crate::harness;
use crate::moto::{Fixture, SERVICES};
use regionctl_aws::dynamodb::Journal;
use regionctl_aws::route53::Route53Client;
use regionctl_aws::types::{AlarmState, Routing};
use regionctl_testkit::fixtures::REGIONS;
use regionctl_testkit::fleet::{ControllerSpec, Fleet};
use regionctl_testkit::http;
use std::time::{Duration, Instant};

/// Longest wait for the fleet to converge (not a performance assertion).
const CONVERGE_WITHIN: Duration = Duration::from_secs(120);

/// The weights of playback's eu-central-1 records.
async fn euc1_weights(route53: &Route53Client, zone: &str) -> Vec<u8> {
    let (records, _) = route53.list_record_sets(zone).await.expect("list");
    records
        .iter()
        .filter_map(|r| match &r.routing {
            Routing::Weighted {
                set_identifier,
                weight,
            } if set_identifier.ends_with("eu-central-1") => Some(*weight),
            _ => None,
        })
        .collect()
}

/// Polls until every eu-central-1 weight satisfies `done`; panics with `what` after
/// [`CONVERGE_WITHIN`].
async fn wait_for_euc1(fx: &Fixture, done: impl Fn(u8) -> bool, what: &str) -> Duration {
    let zone = fx.zone("{{ZONE_PLAYBACK}}");
    let started = Instant::now();
    while !euc1_weights(&fx.route53, &zone)
        .await
        .into_iter()
        .all(&done)
    {
        assert!(started.elapsed() < CONVERGE_WITHIN, "{what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_controllers_evacuate_and_fail_back_in_stages() {
    let endpoint = harness::endpoint().to_string();
    let fx = Fixture::new("fleet").await;
    // Fast ticks and a short recovery window for this test.
    fx.edit("controller.yaml", "tick_secs: 10", "tick_secs: 1");
    let playback = fx.dir.join("playback.yaml");
    let text = std::fs::read_to_string(&playback)
        .expect("read")
        .replace("recover_after_secs: 300", "recover_after_secs: 2")
        + "  safety:\n    cooldown_secs: 2\n    max_shift_percent_per_step: 100\n    failback:\n      after_healthy_secs: 3\n      stages_percent: [10, 50, 100]\n";
    std::fs::write(&playback, text).expect("write");
    fx.provision();

    let mut fleet = Fleet::new(env!("CARGO_BIN_EXE_regionctl"));
    for region in REGIONS {
        fleet.start(&ControllerSpec::new(region, &fx.dir, &endpoint).log_json());
    }
    let ready = fleet.wait_ready(CONVERGE_WITHIN).await;
    println!("fleet ready after {ready:?}");
    check_admin_surface(&fleet);

    // Region loss.
    fx.lose_region("eu-central-1").await;
    let evacuated = wait_for_euc1(&fx, |w| w == 0, "traffic never left eu-central-1").await;
    println!("evacuated after {evacuated:?} (fail_after_secs 2, tick 1 s)");
    check_status_page_in_a_browser(&fleet);

    // Recovery: failback in stages, back to the baseline weight 50.
    fx.set_alarms("eu-central-1", &SERVICES, AlarmState::Ok, "test: recovered")
        .await;
    check_failback_is_staged(&fx).await;
    check_one_intent_per_change(&fx).await;
    check_a_bad_edit_keeps_the_last_good_bundle(&fleet, &fx).await;

    // Graceful shutdown.
    fleet.terminate(Duration::from_secs(30));
    let _ = std::fs::remove_dir_all(&fx.dir);
}

/// Health, metrics and the status page answer; mutating endpoints want a token.
fn check_admin_surface(fleet: &Fleet) {
    assert_eq!(fleet[0].get("/healthz").map(|(c, _)| c), Some(200));
    let (_, metrics) = fleet[0].get("/metrics").expect("metrics");
    assert!(
        metrics.contains("regionctl_passes_total{region=\"eu-central-1\"}"),
        "{metrics}"
    );
    let (_, page) = fleet[1].get("/").expect("page");
    assert!(
        page.contains("playback") && page.contains("de-free-ios"),
        "{page}"
    );
    // Mutating endpoints are refused without a token.
    let reply = http::exchange(
        fleet[1].admin_port,
        "POST /pause HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .expect("connect");
    assert!(reply.starts_with("HTTP/1.1 403"), "{reply}");
}

/// The status page in a real browser: regions, services, cells, health, weights and the
/// decision just taken render; the screenshot is kept for people to look at. Whichever
/// controller applied the evacuation lists it among its recent decisions (a peer that
/// found it done has nothing to list), so the page is taken from the first controller
/// whose page shows everything, a few passes after the evacuation.
fn check_status_page_in_a_browser(fleet: &Fleet) {
    let needles = [
        "eu-central-1",
        "eu-west-1",
        "us-east-1",
        "playback",
        "catalog",
        "auth",
        "de-free-ios",
        "at-paid-console",
        "class=\"degraded\"",
        "class=\"healthy\"",
        "weight 0",
        "weight 30",
        // eu-west-1's data-plane switch (playback, auth) is on throughout.
        "switch on",
        "Recent decisions",
        "applied",
    ];
    let mut shown: Option<(String, String)> = None;
    for _ in 0..5 {
        for c in fleet.controllers() {
            let url = c.url();
            let dom = crate::browser::dump_dom(&url);
            if needles.iter().all(|n| dom.contains(n)) {
                shown = Some((url, dom));
                break;
            }
        }
        if shown.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let Some((url, _dom)) = shown else {
        let dom = crate::browser::dump_dom(&fleet[1].url());
        let missing: Vec<&&str> = needles.iter().filter(|n| !dom.contains(**n)).collect();
        panic!("no controller's status page shows everything; e.g. missing {missing:?}:\n{dom}");
    };
    let shot = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("status-page.png");
    crate::browser::screenshot(&url, &shot);
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 20_000,
        "screenshot {} is only {size} bytes",
        shot.display()
    );
    println!("status page screenshot: {}", shot.display());
}

/// eu-central-1 comes back to its baseline weight 50 through at least one partial stage.
async fn check_failback_is_staged(fx: &Fixture) {
    let zone = fx.zone("{{ZONE_PLAYBACK}}");
    let recovered = Instant::now();
    let mut seen: Vec<Vec<u8>> = Vec::new();
    loop {
        let w = euc1_weights(&fx.route53, &zone).await;
        if seen.last() != Some(&w) {
            seen.push(w.clone());
        }
        if w.iter().all(|x| *x == 50) {
            break;
        }
        assert!(
            recovered.elapsed() < CONVERGE_WITHIN,
            "failback never completed; weights seen: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "failed back after {:?}; eu-central-1 weights seen: {:?}",
        recovered.elapsed(),
        seen.iter().map(|w| w[0]).collect::<Vec<_>>()
    );
    let staged = seen
        .iter()
        .filter(|w| w.iter().any(|x| *x > 0 && *x != 50))
        .count();
    assert!(staged >= 1, "failback went straight to 100%: {seen:?}");
}

/// The journal: one intent per change, failback decisions carry their stage.
async fn check_one_intent_per_change(fx: &Fixture) {
    let journal = Journal::new(&fx.global, &fx.table);
    let (items, _) = journal
        .query_prefix("DECISION#playback", "")
        .await
        .expect("query");
    let intents: Vec<serde_json::Value> = items
        .iter()
        .filter(|i| i.sk.ends_with("#INTENT"))
        .map(|i| i.body.clone())
        .collect();
    let ids: std::collections::BTreeSet<&str> =
        intents.iter().filter_map(|i| i["id"].as_str()).collect();
    assert_eq!(ids.len(), intents.len(), "an intent recorded twice");
    let text = serde_json::to_string(&intents).expect("json");
    assert!(text.contains("eu-central-1 is degraded"), "{text}");
    assert!(text.contains("failback stage 10%"), "{text}");
    assert!(
        intents.len() >= 3,
        "evacuation + at least two failback stages: {}",
        intents.len()
    );
}

/// A bad policy edit is rejected with check's diagnostics; the last good bundle keeps
/// running.
async fn check_a_bad_edit_keeps_the_last_good_bundle(fleet: &Fleet, fx: &Fixture) {
    let controller = &fleet[0];
    let (_, before) = controller.get("/metrics").expect("metrics");
    let passes = |m: &str| -> u64 {
        m.lines()
            .find(|l| l.starts_with("regionctl_passes_total"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .expect("passes metric")
    };
    let playback = fx.dir.join("playback.yaml");
    let good = std::fs::read_to_string(&playback).expect("read");
    std::fs::write(&playback, good.replace("weight: 30", "weight: 300")).expect("write bad policy");
    let edited = Instant::now();
    loop {
        let (_, m) = controller.get("/metrics").expect("metrics");
        if m.contains(
            "regionctl_policy_reloads_total{region=\"eu-central-1\",result=\"rejected\"} 1",
        ) {
            // Passes go on, on the last good bundle (the rejection may land between two).
            let (_, later) = loop {
                let (c, m2) = controller.get("/metrics").expect("metrics");
                if passes(&m2) > passes(&m) || edited.elapsed() > CONVERGE_WITHIN {
                    break (c, m2);
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            };
            assert!(
                passes(&later) > passes(&before),
                "passes continue on the last good bundle"
            );
            assert!(
                m.contains("regionctl_alerts_active{region=\"eu-central-1\"} 1"),
                "{m}"
            );
            break;
        }
        assert!(
            edited.elapsed() < CONVERGE_WITHIN,
            "bad policy never rejected: {m}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (_, status) = controller.get("/status").expect("status");
    let hash = serde_json::from_str::<serde_json::Value>(&status).expect("json")["bundle_hash"]
        .as_str()
        .map(str::to_string)
        .expect("hash");
    std::fs::write(&playback, &good).expect("restore policy");
    assert!(!hash.is_empty());
}
