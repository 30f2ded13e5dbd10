//! A region loss end to end, and a lone controller that stands down.
//!
//! Goal: the first complete slice works over the real wire protocol. Method: provision the
//! fixture policies, force every eu-central-1 alarm to ALARM with `SetAlarmState`, let the
//! fail-after window pass, then run one pass from us-east-1 (a majority of fresh
//! heartbeats: it acts). Then check Route 53, ECS, the journal and the event queue, and
//! that another round changes nothing.

use super::{
    Fixture, REGIONS, SERVICES, all_alarms_ok, cloudwatch_clients, ok, regionctl, run_once,
};
use crate::harness;
use regionctl_aws::cloudwatch::CloudWatchClient;
use regionctl_aws::dynamodb::Journal;
use regionctl_aws::ecs::EcsClient;
use regionctl_aws::sqs::SqsClient;
use regionctl_aws::types::{AlarmState, Routing};
use std::collections::BTreeMap;
use std::time::Duration;

/// A switch as provisioned: (guarded region, alarm region, namespace, dimensions).
type SwitchWiring = (String, String, String, Vec<(String, String)>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn region_loss_end_to_end() {
    let endpoint = harness::endpoint().to_string();
    let fx = Fixture::new("e2e").await;
    let dir = fx.dir_arg();
    ok(&regionctl(&["check", &dir]));
    provision_idempotently(&fx);
    let switches = check_switch_wiring(&fx).await;

    // Healthy: alarms OK, a pass from every region changes nothing.
    all_alarms_ok(&cloudwatch_clients().await, &fx.prefix).await;
    for region in REGIONS {
        let pass = run_once(&dir, region, &endpoint);
        assert_eq!(
            pass["decisions"].as_array().map(Vec::len),
            Some(0),
            "healthy pass from {region}: {pass}"
        );
    }

    // Region loss: every eu-central-1 alarm to ALARM, then wait out fail_after_secs (2 s).
    fx.lose_region("eu-central-1").await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;

    // Let heartbeats go stale? No: the healthy round above left fresh heartbeats from all
    // three controllers (TTL 600 s), so the first pass already has a majority.
    let first = run_once(&dir, "us-east-1", &endpoint);
    let decisions = assert_capacity_before_traffic(&first);
    assert_evacuated_in_route53(&fx).await;
    assert_receivers_scaled(&fx.prefix).await;
    assert_one_intent_per_decision(&fx).await;
    assert_decision_event_published(&fx.prefix).await;
    assert_switches_flipped(&first, &decisions);

    // Another round changes nothing, and every acting controller republishes the switches.
    for region in ["eu-west-1", "us-east-1"] {
        let pass = run_once(&dir, region, &endpoint);
        assert_eq!(
            pass["decisions"].as_array().map(Vec::len),
            Some(0),
            "second round from {region}: {pass}"
        );
        assert_eq!(
            pass["switches_published"].as_u64(),
            Some(switches.len() as u64),
            "{region} republishes every switch: {pass}"
        );
    }
    assert_switch_metrics(&fx, &switches).await;
    let _ = std::fs::remove_dir_all(&fx.dir);
}

/// `provision` creates the records; a second one creates none.
fn provision_idempotently(fx: &Fixture) {
    let provisioned = fx.provision();
    assert!(
        provisioned.contains("playback: 90 record(s)"),
        "{provisioned}"
    );
    let again = fx.provision();
    assert!(!again.contains("record(s) in"), "{again}");
}

/// The first pass after the loss acted for every service, scaling before shifting; its
/// decisions.
fn assert_capacity_before_traffic(first: &serde_json::Value) -> Vec<serde_json::Value> {
    assert!(first["stand_down"].is_null(), "{first}");
    let decisions = first["decisions"].as_array().expect("decisions").clone();
    let services: Vec<&str> = decisions
        .iter()
        .filter_map(|d| d["service"].as_str())
        .collect();
    assert_eq!(services, vec!["auth", "catalog", "playback"], "{first}");
    for d in &decisions {
        assert_eq!(d["status"], "applied", "{d}");
        assert_eq!(d["new"], true, "{d}");
    }
    // Capacity before traffic, in the order the calls were made.
    let playback = decisions
        .iter()
        .find(|d| d["service"] == "playback")
        .expect("playback decision");
    let log: Vec<&str> = playback["log"]
        .as_array()
        .expect("log")
        .iter()
        .filter_map(|l| l.as_str())
        .collect();
    let first_shift = log
        .iter()
        .position(|l| l.starts_with("shift"))
        .expect("a shift");
    let scales: Vec<usize> = log
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("scale"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(scales.len(), 2, "both receivers pre-scaled: {log:?}");
    assert!(
        scales.iter().all(|i| *i < first_shift),
        "scale before shift: {log:?}"
    );
    assert!(
        log[first_shift].contains("90 records") || log[first_shift].contains("30 records"),
        "{log:?}"
    );
    decisions
}

/// Route 53: every eu-central-1 weighted record of the active-active services is 0.
async fn assert_evacuated_in_route53(fx: &Fixture) {
    for (key, zone) in &fx.zones {
        let (records, _) = fx.route53.list_record_sets(zone).await.expect("list");
        for r in records {
            if let Routing::Weighted {
                set_identifier,
                weight,
            } = &r.routing
            {
                if set_identifier.ends_with("eu-central-1") {
                    assert_eq!(*weight, 0, "{key} {} {set_identifier}", r.name);
                } else if *key != "{{ZONE_AUTH}}" {
                    assert!(*weight > 0, "{key} {} {set_identifier}", r.name);
                }
            }
        }
    }
}

/// ECS: receivers rose.
async fn assert_receivers_scaled(prefix: &str) {
    let euw1_ecs = EcsClient::new(&harness::sdk("eu-west-1").await);
    let counts = euw1_ecs
        .describe_service(&format!("{prefix}-streaming-eu-west-1"), "playback")
        .await
        .expect("describe")
        .expect("exists");
    assert_eq!(
        counts.desired, 20,
        "eu-west-1 playback: ceil(10 × 60% / 30%)"
    );
    let auth = euw1_ecs
        .describe_service(&format!("{prefix}-identity-eu-west-1"), "auth")
        .await
        .expect("describe")
        .expect("exists");
    assert_eq!(auth.desired, 6, "warm standby scaled to full");
}

/// Journal: exactly one intent per decision, with reasons, and one outcome.
async fn assert_one_intent_per_decision(fx: &Fixture) {
    let journal = Journal::new(&fx.global, fx.table.clone());
    for svc in SERVICES {
        let (items, _) = journal
            .query_prefix(&format!("DECISION#{svc}"), "")
            .await
            .expect("query");
        let intents: Vec<_> = items.iter().filter(|i| i.sk.ends_with("#INTENT")).collect();
        assert_eq!(intents.len(), 1, "{svc}: {items:?}");
        let body = &intents[0].body;
        let reasons = body["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .flat_map(|s| s["reasons"].as_array().cloned().unwrap_or_default())
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            reasons.contains("eu-central-1 is degraded"),
            "{svc}: {reasons}"
        );
        assert!(
            reasons.contains(&format!("{}-{svc}-eu-central-1-5xx", fx.prefix)),
            "{svc}: {reasons}"
        );
        let outcomes: Vec<_> = items
            .iter()
            .filter(|i| i.sk.contains("#OUTCOME#"))
            .collect();
        assert_eq!(outcomes.len(), 1, "{svc}: {items:?}");
    }
}

/// The decision event arrived on the queue subscribed to source=regionctl.
async fn assert_decision_event_published(prefix: &str) {
    let sqs = SqsClient::new(&harness::sdk("us-east-1").await);
    let url = sqs
        .queue_url("regionctl-events")
        .await
        .expect("events queue");
    let mut bodies = Vec::new();
    for _ in 0..5 {
        for m in sqs.receive(&url, 10, 1).await.expect("receive") {
            bodies.push(m.body.clone());
        }
        if bodies
            .iter()
            .any(|b| b.contains(&format!("{prefix}-")) && b.contains("regionctl Decision"))
        {
            break;
        }
    }
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("regionctl Decision") && b.contains("playback")),
        "no decision event among {} message(s)",
        bodies.len()
    );
}

/// The evacuation flipped eu-central-1's switches (data plane) as well as the weights.
fn assert_switches_flipped(first: &serde_json::Value, decisions: &[serde_json::Value]) {
    for svc in ["playback", "auth"] {
        let d = decisions
            .iter()
            .find(|d| d["service"] == svc)
            .expect("decision");
        assert!(
            d["log"].as_array().expect("log").iter().any(|l| l
                .as_str()
                .is_some_and(|l| l.starts_with("switch eu-central-1 off"))),
            "{svc}: {d}"
        );
    }
    assert!(first["switches_published"].as_u64() > Some(0), "{first}");
}

/// Read back with GetMetricData where the alarm lives: eu-central-1's switches are 0 and
/// were published more than once (first pass, then by eu-west-1 and us-east-1).
async fn assert_switch_metrics(fx: &Fixture, switches: &[SwitchWiring]) {
    for (guarded, alarm_region, namespace, dims) in switches {
        let cw = CloudWatchClient::new(&harness::sdk(alarm_region).await);
        let now = regionctl::aws_world::now_millis();
        let query = |stat: &str| regionctl_aws::cloudwatch::MetricQuery {
            namespace: namespace.clone(),
            metric_name: format!("{}-Switch", fx.prefix),
            dimensions: dims.clone(),
            stat: stat.into(),
            period_s: 60,
        };
        let series = cw
            .get_metric_data_many(
                &[query("Minimum"), query("SampleCount")],
                now - 600_000,
                now + 60_000,
            )
            .await
            .expect("GetMetricData");
        let latest_min = series[0].first().map(|p| p.1);
        let samples: f64 = series[1].iter().map(|p| p.1).sum();
        let want = if guarded == "eu-central-1" { 0.0 } else { 1.0 };
        assert_eq!(
            latest_min,
            Some(want),
            "{guarded} switch in {alarm_region}: {series:?}"
        );
        assert!(
            samples >= 3.0,
            "{guarded}: published {samples} time(s): {series:?}"
        );
    }
}

/// After `provision`: every switch has its alarm on the switch metric in a region other
/// than the one it guards, a Route 53 health check bound to that alarm (read back from the
/// check where the backend keeps it, and from its tags), and every weighted record of the
/// switched services carries its region's check.
async fn check_switch_wiring(fx: &Fixture) -> Vec<SwitchWiring> {
    let namespace = format!("{}-switch", fx.prefix);
    let checks: Vec<_> = fx
        .route53
        .list_health_checks()
        .await
        .expect("list health checks")
        .into_iter()
        .filter(|h| h.caller_reference.starts_with(&namespace))
        .collect();
    // playback in three regions, auth in two; one check per region, shared by its records.
    assert_eq!(checks.len(), 5, "{checks:#?}");
    let mut out = Vec::new();
    let mut check_of: BTreeMap<(String, String), String> = BTreeMap::new();
    for h in &checks {
        assert_eq!(h.type_name, "CLOUDWATCH_METRIC", "{h:?}");
        let tags: BTreeMap<String, String> = fx
            .route53
            .health_check_tags(&h.id)
            .await
            .expect("tags")
            .into_iter()
            .collect();
        let alarm = &tags["regionctl:switch-alarm"];
        let alarm_region = &tags["regionctl:switch-alarm-region"];
        if let Some((name, region)) = &h.alarm {
            assert_eq!((name, region), (alarm, alarm_region), "{h:?}");
        }
        let guards = &tags["regionctl:guards"];
        let (svc, guarded) = guards.split_once('/').expect("service/region");
        assert_ne!(
            guarded, alarm_region,
            "{guards}: the alarm must live outside"
        );
        // The alarm watches the switch metric, in its region.
        let cw = CloudWatchClient::new(&harness::sdk(alarm_region).await);
        let found = cw
            .alarms_by_names(std::slice::from_ref(alarm))
            .await
            .expect("describe alarms");
        assert_eq!(found.len(), 1, "alarm {alarm} in {alarm_region}");
        let a = &found[0];
        assert_eq!(a.namespace, namespace);
        assert_eq!(a.metric_name, format!("{}-Switch", fx.prefix));
        assert!(
            a.dimensions.contains(&("Service".into(), svc.to_string()))
                && a.dimensions
                    .contains(&("Region".into(), guarded.to_string())),
            "{a:?}"
        );
        check_of.insert((svc.to_string(), guarded.to_string()), h.id.clone());
        out.push((
            guarded.to_string(),
            alarm_region.clone(),
            namespace.clone(),
            a.dimensions.clone(),
        ));
    }
    assert_records_carry_their_checks(fx, &check_of).await;
    out
}

/// Every weighted record of the switched services carries its region's health check.
async fn assert_records_carry_their_checks(
    fx: &Fixture,
    check_of: &BTreeMap<(String, String), String>,
) {
    for (svc, key) in [("playback", "{{ZONE_PLAYBACK}}"), ("auth", "{{ZONE_AUTH}}")] {
        let (records, _) = fx
            .route53
            .list_record_sets(&fx.zone(key))
            .await
            .expect("list");
        let mut weighted = 0;
        for r in records {
            if let Routing::Weighted { set_identifier, .. } = &r.routing {
                let region = REGIONS
                    .into_iter()
                    .find(|g| set_identifier.ends_with(g))
                    .expect("region in set id");
                assert_eq!(
                    r.health_check_id.as_ref(),
                    check_of.get(&(svc.to_string(), region.to_string())),
                    "{svc} {} {set_identifier}",
                    r.name
                );
                weighted += 1;
            }
        }
        assert!(weighted > 0, "{svc}: no weighted records");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_controller_stands_down_without_quorum() {
    let endpoint = harness::endpoint().to_string();
    let fx = Fixture::new("quorum").await;
    let playback_zone = fx.zone("{{ZONE_PLAYBACK}}");
    let dir = fx.dir_arg();
    fx.provision();
    fx.set_alarms("eu-central-1", &["playback"], AlarmState::Alarm, "test")
        .await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let pass = run_once(&dir, "us-east-1", &endpoint);
    let reason = pass["stand_down"].as_str().expect("stands down");
    assert!(
        reason.contains("quorum not met: 1 fresh controller(s)"),
        "{reason}"
    );
    assert_eq!(pass["decisions"].as_array().map(Vec::len), Some(0));
    let (records, _) = fx
        .route53
        .list_record_sets(&playback_zone)
        .await
        .expect("list");
    assert!(records.iter().all(|r| !matches!(&r.routing, Routing::Weighted { set_identifier, weight } if set_identifier.ends_with("eu-central-1") && *weight == 0)));
    let _ = std::fs::remove_dir_all(&fx.dir);
}
