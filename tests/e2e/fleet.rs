//! Three long-running controller processes against one moto: a region loss is evacuated,
//! then failed back in stages, with one decision per change in the journal.
//!
//! Liveness timeouts are generous (a loaded 2-core CI machine); the measured times are
//! printed, not asserted.

use crate::harness;
use crate::moto::{Fixture, ok, regionctl};
use regionctl_aws::cloudwatch::CloudWatchClient;
use regionctl_aws::dynamodb::Journal;
use regionctl_aws::route53::Route53Client;
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
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let code = out.split_whitespace().nth(1)?.parse().ok()?;
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((code, body))
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_controllers_evacuate_and_fail_back_in_stages() {
    let endpoint = harness::endpoint().to_string();
    let fx = Fixture::new("fleet").await;
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
    // Fast ticks and a short recovery window for this test.
    let controller = dir.join("controller.yaml");
    let text = std::fs::read_to_string(&controller)
        .expect("read")
        .replace("tick_secs: 10", "tick_secs: 1");
    std::fs::write(&controller, text).expect("write");
    let playback = dir.join("playback.yaml");
    let text = std::fs::read_to_string(&playback)
        .expect("read")
        .replace("recover_after_secs: 300", "recover_after_secs: 2")
        + "  safety:\n    cooldown_secs: 2\n    max_shift_percent_per_step: 100\n    failback:\n      after_healthy_secs: 3\n      stages_percent: [10, 50, 100]\n";
    std::fs::write(&playback, text).expect("write");
    let d = dir.to_str().expect("utf-8 path").to_string();
    ok(&regionctl(&[
        "provision",
        "--policies",
        &d,
        "--endpoint-url",
        &endpoint,
    ]));

    let mut fleet = Fleet(Vec::new());
    for region in REGIONS {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_regionctl"))
            .args([
                "run",
                "--region",
                region,
                "--policies",
                &d,
                "--endpoint-url",
                &endpoint,
                "--admin-addr",
                &format!("127.0.0.1:{port}"),
                "--log-json",
            ])
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
            assert!(
                started.elapsed() < CONVERGE_WITHIN,
                "controller {region} never became ready"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    println!("fleet ready after {:?}", started.elapsed());
    assert_eq!(
        http_get(fleet.0[0].2, "/healthz").map(|(c, _)| c),
        Some(200)
    );
    let (_, metrics) = http_get(fleet.0[0].2, "/metrics").expect("metrics");
    assert!(
        metrics.contains("regionctl_passes_total{region=\"eu-central-1\"}"),
        "{metrics}"
    );
    let (_, page) = http_get(fleet.0[1].2, "/").expect("page");
    assert!(
        page.contains("playback") && page.contains("de-free-ios"),
        "{page}"
    );
    // Mutating endpoints are refused without a token.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", fleet.0[1].2)).expect("connect");
    write!(s, "POST /pause HTTP/1.1\r\nHost: x\r\n\r\n").expect("write");
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    assert!(reply.starts_with("HTTP/1.1 403"), "{reply}");

    // Region loss.
    let euc1 = CloudWatchClient::new(&harness::sdk("eu-central-1").await);
    for svc in ["playback", "auth", "catalog"] {
        euc1.set_alarm_state(
            &format!("{prefix}-{svc}-eu-central-1-5xx"),
            AlarmState::Alarm,
            "test: region loss",
        )
        .await
        .expect("ALARM");
    }
    let lost = Instant::now();
    while euc1_weights(route53, &playback_zone)
        .await
        .iter()
        .any(|w| *w != 0)
    {
        assert!(
            lost.elapsed() < CONVERGE_WITHIN,
            "traffic never left eu-central-1"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    println!(
        "evacuated after {:?} (fail_after_secs 2, tick 1 s)",
        lost.elapsed()
    );

    // The status page in a real browser: regions, services, cells, health, weights and the
    // decision just taken render; the screenshot is kept for people to look at. Whichever
    // controller applied the evacuation lists it among its recent decisions (a peer that
    // found it done has nothing to list), so the page is taken from the first controller
    // whose page shows everything, a few passes after the evacuation.
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
        for c in &fleet.0 {
            let url = format!("http://127.0.0.1:{}/", c.2);
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
        let dom = crate::browser::dump_dom(&format!("http://127.0.0.1:{}/", fleet.0[1].2));
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

    // Recovery: failback in stages, back to the baseline weight 50.
    for svc in ["playback", "auth", "catalog"] {
        euc1.set_alarm_state(
            &format!("{prefix}-{svc}-eu-central-1-5xx"),
            AlarmState::Ok,
            "test: recovered",
        )
        .await
        .expect("OK");
    }
    let recovered = Instant::now();
    let mut seen: Vec<Vec<u8>> = Vec::new();
    loop {
        let w = euc1_weights(route53, &playback_zone).await;
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

    // The journal: one intent per change, failback decisions carry their stage.
    let journal = Journal::new(global, table);
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

    // A bad policy edit is rejected with check's diagnostics; the last good bundle keeps
    // running.
    let (_, before) = http_get(fleet.0[0].2, "/metrics").expect("metrics");
    let passes = |m: &str| -> u64 {
        m.lines()
            .find(|l| l.starts_with("regionctl_passes_total"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .expect("passes metric")
    };
    let good = std::fs::read_to_string(&playback).expect("read");
    std::fs::write(&playback, good.replace("weight: 30", "weight: 300")).expect("write bad policy");
    let edited = Instant::now();
    loop {
        let (_, m) = http_get(fleet.0[0].2, "/metrics").expect("metrics");
        if m.contains(
            "regionctl_policy_reloads_total{region=\"eu-central-1\",result=\"rejected\"} 1",
        ) {
            // Passes go on, on the last good bundle (the rejection may land between two).
            let (_, later) = loop {
                let (c, m2) = http_get(fleet.0[0].2, "/metrics").expect("metrics");
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
    let (_, status) = http_get(fleet.0[0].2, "/status").expect("status");
    let hash = serde_json::from_str::<serde_json::Value>(&status).expect("json")["bundle_hash"]
        .as_str()
        .map(str::to_string)
        .expect("hash");
    std::fs::write(&playback, &good).expect("restore policy");
    assert!(!hash.is_empty());

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
    let _ = std::fs::remove_dir_all(dir);
}

/// A tiny HTTP endpoint standing in for one region: 200 while `up`, 503 otherwise.
struct Endpoint {
    port: u16,
    up: Arc<std::sync::atomic::AtomicBool>,
}

impl Endpoint {
    fn start() -> Endpoint {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind endpoint");
        let port = listener.local_addr().expect("addr").port();
        let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let flag = up.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut stream = stream;
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf);
                let status = if flag.load(std::sync::atomic::Ordering::SeqCst) {
                    "200 OK"
                } else {
                    "503 Service Unavailable"
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        Endpoint { port, up }
    }
}

fn start_controller(
    region: &str,
    dir: &str,
    endpoint: &str,
    failpoints: &str,
) -> (String, Child, u16) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_regionctl"))
        .args([
            "run",
            "--region",
            region,
            "--policies",
            dir,
            "--endpoint-url",
            endpoint,
            "--admin-addr",
            &format!("127.0.0.1:{port}"),
        ])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("REGIONCTL_FAILPOINTS", failpoints)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start controller");
    (region.to_string(), child, port)
}

fn assert_failpoints_compiled() {
    let out = Command::new(env!("CARGO_BIN_EXE_regionctl"))
        .arg("--version")
        .output()
        .expect("version");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("(failpoints)"),
        "this test needs the failpoints feature: run `cargo test --features regionctl/failpoints` (scripts/test.sh does)"
    );
}

/// Goal: no single vantage point evacuates a healthy region, and a real region loss, which
/// looks like "unreachable", is evacuated on probe evidence alone. Method: three controllers
/// probe three local endpoints; eu-west-1's controller cannot reach eu-central-1 (failpoint):
/// nothing moves. Then eu-central-1's endpoint goes down for everyone, with its alarms still
/// OK: the quorum of observers evacuates it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_need_a_quorum_of_observers() {
    assert_failpoints_compiled();
    let endpoint = harness::endpoint().to_string();
    let fx = Fixture::new("probe").await;
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
    let endpoints: Vec<Endpoint> = REGIONS.iter().map(|_| Endpoint::start()).collect();
    let controller = dir.join("controller.yaml");
    let text = std::fs::read_to_string(&controller)
        .expect("read")
        .replace("tick_secs: 10", "tick_secs: 1");
    std::fs::write(&controller, text).expect("write");
    let per_region: Vec<String> = REGIONS
        .iter()
        .zip(&endpoints)
        .map(|(r, e)| format!("{r}: \"http://127.0.0.1:{}/healthz\"", e.port))
        .collect();
    let probes = format!(
        "    probes:\n      - protocol: http\n        target: \"http://127.0.0.1:9/{{region}}\"\n        per_region: {{{}}}\n        timeout_ms: 1000\n    fail_after_secs: 2",
        per_region.join(", ")
    );
    let playback = dir.join("playback.yaml");
    let text = std::fs::read_to_string(&playback).expect("read").replacen(
        "    fail_after_secs: 2",
        &probes,
        1,
    );
    std::fs::write(&playback, text).expect("write");
    let d = dir.to_str().expect("utf-8 path").to_string();
    ok(&regionctl(&["check", &d]));
    ok(&regionctl(&[
        "provision",
        "--policies",
        &d,
        "--endpoint-url",
        &endpoint,
    ]));

    let euc1_port = endpoints[0].port;
    let mut fleet = Fleet(vec![
        start_controller("eu-central-1", &d, &endpoint, ""),
        start_controller(
            "eu-west-1",
            &d,
            &endpoint,
            &format!("probe-fail@:{euc1_port}/"),
        ),
        start_controller("us-east-1", &d, &endpoint, ""),
    ]);
    let started = Instant::now();
    for (region, _, port) in &fleet.0 {
        while http_get(*port, "/readyz").map(|(c, _)| c) != Some(200) {
            assert!(
                started.elapsed() < CONVERGE_WITHIN,
                "controller {region} never became ready"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // One observer sees eu-central-1 as unreachable for well past fail_after_secs.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(
        euc1_weights(route53, &playback_zone)
            .await
            .iter()
            .all(|w| *w == 50),
        "one vantage point evacuated a healthy region"
    );
    let (_, status) = http_get(fleet.0[1].2, "/status").expect("status");
    assert!(status.contains("\"health\":\"healthy\""), "{status}");

    // Now the region really is unreachable: every observer's probes fail; alarms stay OK.
    endpoints[0]
        .up
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let lost = Instant::now();
    while euc1_weights(route53, &playback_zone)
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
    for (_, child, _) in &mut fleet.0 {
        let _ = child.kill();
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Goal: a controller killed in the middle of applying is rolled forward by a peer, with no
/// duplicate or conflicting decision. Method: us-east-1's controller aborts right after its
/// first ECS call (failpoint); eu-west-1 then runs a pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_apply_is_rolled_forward_by_a_peer() {
    assert_failpoints_compiled();
    let endpoint = harness::endpoint().to_string();
    let fx = Fixture::new("crash").await;
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
    let d = dir.to_str().expect("utf-8 path").to_string();
    ok(&regionctl(&[
        "provision",
        "--policies",
        &d,
        "--endpoint-url",
        &endpoint,
    ]));
    let once = |region: &str, failpoints: &str| {
        Command::new(env!("CARGO_BIN_EXE_regionctl"))
            .args([
                "run",
                "--once",
                "--region",
                region,
                "--policies",
                &d,
                "--endpoint-url",
                &endpoint,
            ])
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("REGIONCTL_FAILPOINTS", failpoints)
            .output()
            .expect("run")
    };
    for region in REGIONS {
        assert!(once(region, "").status.success());
    }
    let euc1 = CloudWatchClient::new(&harness::sdk("eu-central-1").await);
    for svc in ["playback", "auth", "catalog"] {
        euc1.set_alarm_state(
            &format!("{prefix}-{svc}-eu-central-1-5xx"),
            AlarmState::Alarm,
            "test: region loss",
        )
        .await
        .expect("ALARM");
    }
    tokio::time::sleep(Duration::from_millis(2_500)).await;

    let crashed = once("us-east-1", "crash-after-scale");
    assert!(
        !crashed.status.success(),
        "the failpoint should have killed the pass"
    );
    let journal = Journal::new(global, table);
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
        euc1_weights(route53, &playback_zone)
            .await
            .iter()
            .all(|w| *w == 50),
        "nothing shifted before the crash"
    );

    let peer = once("eu-west-1", "");
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
        euc1_weights(route53, &playback_zone)
            .await
            .iter()
            .all(|w| *w == 0),
        "rolled forward"
    );
    for svc in ["playback", "auth", "catalog"] {
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
    let again = once("eu-west-1", "");
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to do"));
    let _ = std::fs::remove_dir_all(dir);
}
