//! `provision` and `run --once` against moto: a region loss, end to end.
//!
//! Goal: the first complete slice works over the real wire protocol. Method: provision the
//! fixture policies (`tests/fixtures/moto/`), force every eu-central-1 alarm to ALARM with
//! `SetAlarmState`, let the fail-after window pass, then run one pass from us-east-1 (no
//! quorum yet: it stands down) and one from eu-west-1 (a majority of fresh heartbeats: it
//! acts). Then check Route 53, ECS, the journal and the event queue, and that another round
//! changes nothing.

use crate::harness;
use regionctl_aws::cloudwatch::CloudWatchClient;
use regionctl_aws::dynamodb::Journal;
use regionctl_aws::ecs::EcsClient;
use regionctl_aws::route53::{Route53Client, SharedBucket};
use regionctl_aws::sqs::SqsClient;
use regionctl_aws::types::{AlarmState, Routing};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

const REGIONS: [&str; 3] = ["eu-central-1", "eu-west-1", "us-east-1"];

pub fn regionctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_regionctl"))
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("the regionctl binary runs")
}

pub fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "regionctl failed ({:?}):\n{stdout}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Writes the fixture policies with this run's zone ids and unique names.
pub fn write_policies(dir: &Path, replacements: &[(&str, String)]) {
    std::fs::create_dir_all(dir).expect("create policy dir");
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/moto");
    for entry in std::fs::read_dir(&fixtures).expect("fixtures") {
        let path = entry.expect("entry").path();
        let mut text = std::fs::read_to_string(&path).expect("read fixture");
        for (k, v) in replacements {
            text = text.replace(k, v);
        }
        std::fs::write(dir.join(path.file_name().expect("name")), text).expect("write policy");
    }
}

/// The default VPC's subnets and security group per region, as controller config YAML.
pub fn network_yaml() -> String {
    REGIONS
        .iter()
        .map(|r| {
            let (_, subnets, sg) = harness::default_network(r);
            format!(
                "      {r}: {{subnets: [{}], security_groups: [{sg}]}}",
                subnets.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One test's world on moto: hosted zones created, the fixture policies written with this
/// run's zone ids and unique names (so tests share one moto server safely).
pub struct Fixture {
    /// Unique prefix of every name this test creates.
    pub prefix: String,
    /// us-east-1 SDK configuration (Route 53 and the journal live there).
    pub global: regionctl_aws::config::SdkConfig,
    /// Route 53 client.
    pub route53: Route53Client,
    /// Placeholder → hosted zone id.
    pub zones: Vec<(&'static str, String)>,
    /// Journal table.
    pub table: String,
    /// The policy directory.
    pub dir: PathBuf,
}

impl Fixture {
    /// Creates the zones and writes the policies.
    pub async fn new(label: &str) -> Fixture {
        let prefix = harness::unique(label);
        let global = harness::sdk("us-east-1").await;
        let route53 = Route53Client::new(&global, Arc::new(SharedBucket::new(Default::default())));
        let mut zones = Vec::new();
        for (key, name) in [
            ("{{ZONE_PLAYBACK}}", "play.example.com"),
            ("{{ZONE_AUTH}}", "auth.example.com"),
            ("{{ZONE_CATALOG}}", "catalog.example.com"),
        ] {
            let id = route53
                .create_hosted_zone(name, &format!("{prefix}-{name}"))
                .await
                .expect("create zone");
            zones.push((key, id.trim_start_matches("/hostedzone/").to_string()));
        }
        let table = format!("{prefix}-journal");
        let mut replacements: Vec<(&str, String)> = zones.clone();
        replacements.push(("{{TABLE}}", table.clone()));
        replacements.push(("{{QUEUE}}", format!("{prefix}-alarms")));
        replacements.push(("{{PREFIX}}", format!("{prefix}-")));
        replacements.push(("{{NETWORK}}", network_yaml()));
        let dir = std::env::temp_dir().join(format!("regionctl-{prefix}"));
        write_policies(&dir, &replacements);
        Fixture {
            prefix,
            global,
            route53,
            zones,
            table,
            dir,
        }
    }

    /// The zone id for a placeholder such as `{{ZONE_PLAYBACK}}`.
    pub fn zone(&self, key: &str) -> String {
        self.zones
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, z)| z.clone())
            .expect("known zone placeholder")
    }
}

fn run_once(dir: &str, region: &str, endpoint: &str) -> serde_json::Value {
    let out = regionctl(&[
        "run",
        "--once",
        "--region",
        region,
        "--policies",
        dir,
        "--endpoint-url",
        endpoint,
        "--output",
        "json",
    ]);
    serde_json::from_str(&ok(&out)).expect("run --once --output json prints JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn region_loss_end_to_end() {
    let endpoint = harness::endpoint().to_string();
    let fx = Fixture::new("e2e").await;
    #[allow(unused_variables)] // each test uses a different subset
    let Fixture {
        prefix,
        global,
        route53,
        table,
        dir,
        zones,
    } = &fx;
    let dir_s = dir.to_str().expect("utf-8 path").to_string();

    let out = regionctl(&["check", &dir_s]);
    ok(&out);
    let provisioned = ok(&regionctl(&[
        "provision",
        "--policies",
        &dir_s,
        "--endpoint-url",
        &endpoint,
    ]));
    assert!(
        provisioned.contains("playback: 90 record(s)"),
        "{provisioned}"
    );
    // Idempotent: a second provision creates no records.
    let again = ok(&regionctl(&[
        "provision",
        "--policies",
        &dir_s,
        "--endpoint-url",
        &endpoint,
    ]));
    assert!(!again.contains("record(s) in"), "{again}");
    let switches = check_switch_wiring(&fx, &endpoint).await;

    // Healthy: alarms OK, a pass from every region changes nothing.
    let cw: Vec<(String, CloudWatchClient)> = futures_cw(&REGIONS).await;
    all_alarms_ok(&cw, prefix).await;
    for region in REGIONS {
        let pass = run_once(&dir_s, region, &endpoint);
        assert_eq!(
            pass["decisions"].as_array().map(Vec::len),
            Some(0),
            "healthy pass from {region}: {pass}"
        );
    }

    // Region loss: every eu-central-1 alarm to ALARM, then wait out fail_after_secs (2 s).
    let (_, euc1) = cw
        .iter()
        .find(|(r, _)| r == "eu-central-1")
        .expect("client");
    for svc in ["playback", "auth", "catalog"] {
        euc1.set_alarm_state(
            &format!("{prefix}-{svc}-eu-central-1-5xx"),
            AlarmState::Alarm,
            "test: region loss",
        )
        .await
        .expect("set ALARM");
    }
    tokio::time::sleep(Duration::from_millis(2_500)).await;

    // Let heartbeats go stale? No: the healthy round above left fresh heartbeats from all
    // three controllers (TTL 600 s), so the first pass already has a majority.
    let first = run_once(&dir_s, "us-east-1", &endpoint);
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

    // Route 53: every eu-central-1 weighted record of the active-active services is 0.
    for (key, zone) in zones {
        let (records, _) = route53.list_record_sets(zone).await.expect("list");
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
    // ECS: receivers rose.
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

    // Journal: exactly one intent per decision, with reasons.
    let journal = Journal::new(global, table.clone());
    for svc in ["playback", "auth", "catalog"] {
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
            reasons.contains(&format!("{prefix}-{svc}-eu-central-1-5xx")),
            "{svc}: {reasons}"
        );
        let outcomes: Vec<_> = items
            .iter()
            .filter(|i| i.sk.contains("#OUTCOME#"))
            .collect();
        assert_eq!(outcomes.len(), 1, "{svc}: {items:?}");
    }

    // The decision event arrived on the queue subscribed to source=regionctl.
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

    // The evacuation flipped eu-central-1's switches (data plane) as well as the weights.
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

    // Another round changes nothing, and every acting controller republishes the switches.
    for region in ["eu-west-1", "us-east-1"] {
        let pass = run_once(&dir_s, region, &endpoint);
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
    // Read back with GetMetricData where the alarm lives: eu-central-1's switches are 0 and
    // were published more than once (first pass, then by eu-west-1 and us-east-1).
    for (guarded, alarm_region, namespace, dims) in &switches {
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
    let _ = std::fs::remove_dir_all(dir);
}

/// After `provision`: every switch has its alarm on the switch metric in a region other
/// than the one it guards, a Route 53 health check bound to that alarm (read back from the
/// check where the backend keeps it, and from its tags), and every weighted record of the
/// switched services carries its region's check. Returns (guarded region, alarm region,
/// namespace, dimensions) per switch.
async fn check_switch_wiring(
    fx: &Fixture,
    endpoint: &str,
) -> Vec<(String, String, String, Vec<(String, String)>)> {
    let _ = endpoint;
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
    let mut check_of: std::collections::BTreeMap<(String, String), String> = Default::default();
    for h in &checks {
        assert_eq!(h.type_name, "CLOUDWATCH_METRIC", "{h:?}");
        let tags: std::collections::BTreeMap<String, String> = fx
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
    for (svc, key) in [("playback", "{{ZONE_PLAYBACK}}"), ("auth", "{{ZONE_AUTH}}")] {
        let (records, _) = fx
            .route53
            .list_record_sets(&fx.zone(key))
            .await
            .expect("list");
        let mut weighted = 0;
        for r in records {
            if let Routing::Weighted { set_identifier, .. } = &r.routing {
                let region = ["eu-central-1", "eu-west-1", "us-east-1"]
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
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_controller_stands_down_without_quorum() {
    let endpoint = harness::endpoint().to_string();
    let fx = Fixture::new("quorum").await;
    #[allow(unused_variables)] // each test uses a different subset
    let Fixture {
        prefix,
        global,
        route53,
        table,
        dir,
        zones,
    } = &fx;
    let playback_zone = fx.zone("{{ZONE_PLAYBACK}}");
    let dir_s = dir.to_str().expect("utf-8 path").to_string();
    ok(&regionctl(&[
        "provision",
        "--policies",
        &dir_s,
        "--endpoint-url",
        &endpoint,
    ]));
    let euc1 = CloudWatchClient::new(&harness::sdk("eu-central-1").await);
    euc1.set_alarm_state(
        &format!("{prefix}-playback-eu-central-1-5xx"),
        AlarmState::Alarm,
        "test",
    )
    .await
    .expect("set ALARM");
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let pass = run_once(&dir_s, "us-east-1", &endpoint);
    let reason = pass["stand_down"].as_str().expect("stands down");
    assert!(
        reason.contains("quorum not met: 1 fresh controller(s)"),
        "{reason}"
    );
    assert_eq!(pass["decisions"].as_array().map(Vec::len), Some(0));
    let (records, _) = route53
        .list_record_sets(&playback_zone)
        .await
        .expect("list");
    assert!(records.iter().all(|r| !matches!(&r.routing, Routing::Weighted { set_identifier, weight } if set_identifier.ends_with("eu-central-1") && *weight == 0)));
    let _ = std::fs::remove_dir_all(dir);
}

/// Every fixture service's 5xx alarm that exists in a region to OK (moto never evaluates
/// alarms; a provisioned alarm starts INSUFFICIENT_DATA).
async fn all_alarms_ok(cw: &[(String, CloudWatchClient)], prefix: &str) {
    for (region, client) in cw {
        for svc in ["playback", "auth", "catalog"] {
            let name = format!("{prefix}-{svc}-{region}-5xx");
            if client
                .alarms_by_names(std::slice::from_ref(&name))
                .await
                .expect("describe")
                .is_empty()
            {
                continue;
            }
            client
                .set_alarm_state(&name, AlarmState::Ok, "test: healthy")
                .await
                .expect("set OK");
        }
    }
}

async fn futures_cw(regions: &[&str]) -> Vec<(String, CloudWatchClient)> {
    let mut out = Vec::new();
    for r in regions {
        out.push((r.to_string(), CloudWatchClient::new(&harness::sdk(r).await)));
    }
    out
}

/// Goal: operator controls are honoured. Method: with eu-central-1's alarms red, a paused
/// fleet records but changes nothing; after `resume` an `enforce` service is evacuated while
/// a `propose` service waits for `approve`; `explain` shows the decision and its outcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_propose_approve_and_explain() {
    let endpoint = harness::endpoint().to_string();
    let fx = Fixture::new("ops").await;
    #[allow(unused_variables)] // each test uses a different subset
    let Fixture {
        prefix,
        global,
        route53,
        table,
        dir,
        zones,
    } = &fx;
    let catalog_zone = fx.zone("{{ZONE_CATALOG}}");
    // catalog in propose mode for this test.
    let catalog = dir.join("catalog.yaml");
    let text = std::fs::read_to_string(&catalog)
        .expect("read")
        .replace("mode: enforce", "mode: propose");
    std::fs::write(&catalog, text).expect("write");
    let d = dir.to_str().expect("utf-8 path").to_string();
    let common = |cmd: &str| {
        vec![
            cmd.to_string(),
            "--policies".into(),
            d.clone(),
            "--endpoint-url".into(),
            endpoint.clone(),
            "--region".into(),
            "eu-west-1".into(),
            "--who".into(),
            "test-sre".into(),
        ]
    };
    let call = |args: Vec<String>| {
        ok(&regionctl(
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        ))
    };
    ok(&regionctl(&[
        "provision",
        "--policies",
        &d,
        "--endpoint-url",
        &endpoint,
    ]));
    for region in REGIONS {
        run_once(&d, region, &endpoint);
    }

    let mut pause = common("pause");
    pause.extend(["--why".to_string(), "game-day dry run".to_string()]);
    assert!(call(pause).contains("paused by test-sre"));
    let euc1 = CloudWatchClient::new(&harness::sdk("eu-central-1").await);
    for svc in ["playback", "auth", "catalog"] {
        euc1.set_alarm_state(
            &format!("{prefix}-{svc}-eu-central-1-5xx"),
            AlarmState::Alarm,
            "test",
        )
        .await
        .expect("ALARM");
    }
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let paused = run_once(&d, "eu-west-1", &endpoint);
    for dec in paused["decisions"].as_array().expect("decisions") {
        assert_eq!(dec["status"], "paused", "{paused}");
    }
    let weight_of_euc1 = |records: &[regionctl_aws::types::RecordSet]| {
        records.iter().find_map(|r| match &r.routing {
            Routing::Weighted {
                set_identifier,
                weight,
            } if set_identifier.ends_with("eu-central-1") => Some(*weight),
            _ => None,
        })
    };
    let (records, _) = route53.list_record_sets(&catalog_zone).await.expect("list");
    assert_eq!(weight_of_euc1(&records), Some(60), "paused: nothing moved");

    assert!(call(common("resume")).contains("resumed"));
    let resumed = run_once(&d, "eu-west-1", &endpoint);
    let decisions = resumed["decisions"].as_array().expect("decisions");
    let by = |s: &str| {
        decisions
            .iter()
            .find(|x| x["service"] == s)
            .cloned()
            .expect("decision")
    };
    assert_eq!(by("playback")["status"], "applied", "{resumed}");
    let catalog_decision = by("catalog");
    assert_eq!(catalog_decision["status"], "awaiting-approval", "{resumed}");
    let (records, _) = route53.list_record_sets(&catalog_zone).await.expect("list");
    assert_eq!(
        weight_of_euc1(&records),
        Some(60),
        "propose: waits for approval"
    );

    let id = catalog_decision["id"].as_str().expect("id").to_string();
    let mut approve = common("approve");
    approve.push(id.clone());
    assert!(call(approve).contains("approved decision"));
    let approved = run_once(&d, "eu-west-1", &endpoint);
    let catalog_after = approved["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .find(|x| x["service"] == "catalog")
        .cloned()
        .expect("catalog");
    assert_eq!(catalog_after["status"], "applied", "{approved}");
    let (records, _) = route53.list_record_sets(&catalog_zone).await.expect("list");
    assert_eq!(weight_of_euc1(&records), Some(0), "approved: evacuated");

    let mut explain = common("explain");
    explain.push(id.clone());
    let text = call(explain);
    assert!(
        text.contains(&format!("decision {id} — catalog (mode propose")),
        "{text}"
    );
    assert!(text.contains("eu-central-1 is degraded"), "{text}");
    assert!(text.contains("outcome in eu-west-1: applied"), "{text}");
    // Which plane did what (catalog has no switches: weights and capacity only).
    assert!(text.contains("    route53 control plane: done"), "{text}");
    let status = call(common("status"));
    assert!(status.contains("automation: running"), "{status}");
    assert!(status.contains(&id), "{status}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Goal: a `propose` decision nobody approves lapses after `approval_timeout_secs` and is
/// never applied. Method: catalog in propose mode with a 2 s timeout; region loss; two
/// passes 3 s apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unapproved_proposal_expires() {
    let endpoint = harness::endpoint().to_string();
    let fx = Fixture::new("expire").await;
    let catalog = fx.dir.join("catalog.yaml");
    let text = std::fs::read_to_string(&catalog)
        .expect("read")
        .replace("mode: enforce", "mode: propose");
    std::fs::write(&catalog, text).expect("write");
    let controller = fx.dir.join("controller.yaml");
    let text = std::fs::read_to_string(&controller).expect("read").replace(
        "heartbeat_ttl_secs: 600",
        "heartbeat_ttl_secs: 600\n  approval_timeout_secs: 2",
    );
    std::fs::write(&controller, text).expect("write");
    let d = fx.dir.to_str().expect("utf-8 path").to_string();
    ok(&regionctl(&[
        "provision",
        "--policies",
        &d,
        "--endpoint-url",
        &endpoint,
    ]));
    for region in REGIONS {
        run_once(&d, region, &endpoint);
    }
    let euc1 = CloudWatchClient::new(&harness::sdk("eu-central-1").await);
    euc1.set_alarm_state(
        &format!("{}-catalog-eu-central-1-5xx", fx.prefix),
        AlarmState::Alarm,
        "test",
    )
    .await
    .expect("ALARM");
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let status_of = |pass: &serde_json::Value| -> String {
        pass["decisions"]
            .as_array()
            .expect("decisions")
            .iter()
            .find(|x| x["service"] == "catalog")
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
    let euc1_weight = records.iter().find_map(|r| match &r.routing {
        Routing::Weighted {
            set_identifier,
            weight,
        } if set_identifier.ends_with("eu-central-1") => Some(*weight),
        _ => None,
    });
    assert_eq!(
        euc1_weight,
        Some(60),
        "an expired proposal is never applied"
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
    let d = fx.dir.to_str().expect("utf-8 path").to_string();
    let call = |cmd: &str, extra: &[&str]| {
        let mut args = vec![
            cmd,
            "--policies",
            &d,
            "--endpoint-url",
            &endpoint,
            "--region",
            "eu-west-1",
            "--who",
            "test-sre",
        ];
        args.extend_from_slice(extra);
        ok(&regionctl(&args))
    };
    ok(&regionctl(&[
        "provision",
        "--policies",
        &d,
        "--endpoint-url",
        &endpoint,
    ]));
    all_alarms_ok(&futures_cw(&REGIONS).await, &fx.prefix).await;
    for region in REGIONS {
        run_once(&d, region, &endpoint);
    }
    let drained = call(
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
    let playback = pass["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .find(|x| x["service"] == "playback")
        .cloned()
        .unwrap_or_else(|| panic!("no playback decision: {pass}"));
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
    let status = call("status", &[]);
    assert!(status.contains("database failover"), "{status}");

    let cleared = call(
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
    let status = call("status", &[]);
    assert!(
        !status.contains("database failover"),
        "override still listed: {status}"
    );
    let pass = run_once(&d, "eu-west-1", &endpoint);
    let log = pass["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .find(|x| x["service"] == "playback")
        .map(|x| x["log"].to_string())
        .unwrap_or_else(|| panic!("no playback decision after clear: {pass}"));
    // Healthy again and no longer drained: the switch goes on at once; the weights come
    // back in failback stages after the recovery window.
    assert!(log.contains("switch eu-central-1 on"), "{log}");
    let _ = std::fs::remove_dir_all(&fx.dir);
}
