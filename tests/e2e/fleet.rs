//! Three long-running controller processes against one moto: a region loss is evacuated,
//! then failed back in stages, with one decision per change in the journal.
//!
//! Liveness timeouts are generous (a loaded 2-core CI machine); the measured times are
//! printed, not asserted.

use crate::harness;
use crate::moto::{network_yaml, ok, regionctl, write_policies};
use regionctl_aws::cloudwatch::CloudWatchClient;
use regionctl_aws::dynamodb::Journal;
use regionctl_aws::route53::{Route53Client, SharedBucket};
use regionctl_aws::types::{AlarmState, Routing};
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const REGIONS: [&str; 3] = ["eu-central-1", "eu-west-1", "us-east-1"];
/// Longest wait for the fleet to converge (not a performance assertion).
const CONVERGE_WITHIN: Duration = Duration::from_secs(120);

struct Fleet(Vec<(String, Child, u16)>);

impl Drop for Fleet {
    fn drop(&mut self) {
        for (_, child, _) in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let code = out.split_whitespace().nth(1)?.parse().ok()?;
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Some((code, body))
}

async fn euc1_weights(route53: &Route53Client, zone: &str) -> Vec<u8> {
    let (records, _) = route53.list_record_sets(zone).await.expect("list");
    records
        .iter()
        .filter_map(|r| match &r.routing {
            Routing::Weighted { set_identifier, weight } if set_identifier.ends_with("eu-central-1") => Some(*weight),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_controllers_evacuate_and_fail_back_in_stages() {
    let endpoint = harness::endpoint().to_string();
    let prefix = harness::unique("fleet");
    let global = harness::sdk("us-east-1").await;
    let route53 = Route53Client::new(&global, Arc::new(SharedBucket::new(Default::default())));
    let mut replacements: Vec<(&str, String)> = Vec::new();
    for (key, name) in [("{{ZONE_PLAYBACK}}", "play.example.com"), ("{{ZONE_AUTH}}", "auth.example.com"), ("{{ZONE_CATALOG}}", "catalog.example.com")] {
        let id = route53.create_hosted_zone(name, &format!("{prefix}-{name}")).await.expect("create zone");
        replacements.push((key, id.trim_start_matches("/hostedzone/").to_string()));
    }
    let playback_zone = replacements[0].1.clone();
    let table = format!("{prefix}-journal");
    replacements.push(("{{TABLE}}", table.clone()));
    replacements.push(("{{QUEUE}}", format!("{prefix}-alarms")));
    replacements.push(("{{PREFIX}}", format!("{prefix}-")));
    replacements.push(("{{NETWORK}}", network_yaml()));
    let dir = std::env::temp_dir().join(format!("regionctl-{prefix}"));
    write_policies(&dir, &replacements);
    // Fast ticks and a short recovery window for this test.
    let controller = dir.join("controller.yaml");
    let text = std::fs::read_to_string(&controller).expect("read").replace("tick_secs: 10", "tick_secs: 1");
    std::fs::write(&controller, text).expect("write");
    let playback = dir.join("playback.yaml");
    let text = std::fs::read_to_string(&playback).expect("read").replace("recover_after_secs: 300", "recover_after_secs: 2")
        + "  safety:\n    cooldown_secs: 2\n    max_shift_percent_per_step: 100\n    failback:\n      after_healthy_secs: 3\n      stages_percent: [10, 50, 100]\n";
    std::fs::write(&playback, text).expect("write");
    let d = dir.to_str().expect("utf-8 path").to_string();
    ok(&regionctl(&["provision", "--policies", &d, "--endpoint-url", &endpoint]));

    let mut fleet = Fleet(Vec::new());
    for region in REGIONS {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_regionctl"))
            .args(["run", "--region", region, "--policies", &d, "--endpoint-url", &endpoint, "--admin-addr", &format!("127.0.0.1:{port}"), "--log-json"])
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start controller");
        fleet.0.push((region.to_string(), child, port));
    }
    let started = Instant::now();
    for (region, _, port) in &fleet.0 {
        while http_get(*port, "/readyz").map(|(c, _)| c) != Some(200) {
            assert!(started.elapsed() < CONVERGE_WITHIN, "controller {region} never became ready");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    println!("fleet ready after {:?}", started.elapsed());
    assert_eq!(http_get(fleet.0[0].2, "/healthz").map(|(c, _)| c), Some(200));
    let (_, metrics) = http_get(fleet.0[0].2, "/metrics").expect("metrics");
    assert!(metrics.contains("regionctl_passes_total{region=\"eu-central-1\"}"), "{metrics}");
    let (_, page) = http_get(fleet.0[1].2, "/").expect("page");
    assert!(page.contains("playback") && page.contains("de-free-ios"), "{page}");
    // Mutating endpoints are refused without a token.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", fleet.0[1].2)).expect("connect");
    write!(s, "POST /pause HTTP/1.1\r\nHost: x\r\n\r\n").expect("write");
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    assert!(reply.starts_with("HTTP/1.1 403"), "{reply}");

    // Region loss.
    let euc1 = CloudWatchClient::new(&harness::sdk("eu-central-1").await);
    for svc in ["playback", "auth", "catalog"] {
        euc1.set_alarm_state(&format!("{prefix}-{svc}-eu-central-1-5xx"), AlarmState::Alarm, "test: region loss").await.expect("ALARM");
    }
    let lost = Instant::now();
    while euc1_weights(&route53, &playback_zone).await.iter().any(|w| *w != 0) {
        assert!(lost.elapsed() < CONVERGE_WITHIN, "traffic never left eu-central-1");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    println!("evacuated after {:?} (fail_after_secs 2, tick 1 s)", lost.elapsed());

    // Recovery: failback in stages, back to the baseline weight 50.
    for svc in ["playback", "auth", "catalog"] {
        euc1.set_alarm_state(&format!("{prefix}-{svc}-eu-central-1-5xx"), AlarmState::Ok, "test: recovered").await.expect("OK");
    }
    let recovered = Instant::now();
    let mut seen: Vec<Vec<u8>> = Vec::new();
    loop {
        let w = euc1_weights(&route53, &playback_zone).await;
        if seen.last() != Some(&w) {
            seen.push(w.clone());
        }
        if w.iter().all(|x| *x == 50) {
            break;
        }
        assert!(recovered.elapsed() < CONVERGE_WITHIN, "failback never completed; weights seen: {seen:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("failed back after {:?}; eu-central-1 weights seen: {:?}", recovered.elapsed(), seen.iter().map(|w| w[0]).collect::<Vec<_>>());
    let staged = seen.iter().filter(|w| w.iter().any(|x| *x > 0 && *x != 50)).count();
    assert!(staged >= 1, "failback went straight to 100%: {seen:?}");

    // The journal: one intent per change, failback decisions carry their stage.
    let journal = Journal::new(&global, table);
    let (items, _) = journal.query_prefix("DECISION#playback", "").await.expect("query");
    let intents: Vec<serde_json::Value> = items
        .iter()
        .filter(|i| i.sk.ends_with("#INTENT"))
        .map(|i| serde_json::from_str(&i.body).expect("json"))
        .collect();
    let ids: std::collections::BTreeSet<&str> = intents.iter().filter_map(|i| i["id"].as_str()).collect();
    assert_eq!(ids.len(), intents.len(), "an intent recorded twice");
    let text = serde_json::to_string(&intents).expect("json");
    assert!(text.contains("eu-central-1 is degraded"), "{text}");
    assert!(text.contains("failback stage 10%"), "{text}");
    assert!(intents.len() >= 3, "evacuation + at least two failback stages: {}", intents.len());

    // Graceful shutdown.
    for (region, child, _) in &mut fleet.0 {
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                assert!(status.success(), "{region} exited with {status}");
                break;
            }
            assert!(Instant::now() < deadline, "{region} ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
