//! The admin server over real TCP on 127.0.0.1: routes as before, security headers, the
//! token, and the limits. Its journal is an endpoint where nothing listens, so a pause that
//! passes the token check answers `503 journal write failed`.

use super::server::{Limits, serve};
use super::token::{AdminToken, TokenSource};
use super::{Admin, router};
use crate::aws_world::{AwsWorld, Process, settings};
use crate::daemon::state::State;
use regionctl_testkit::example::example_bundle;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TOKEN: &[u8] = b"correct-horse-battery-staple";

/// Longest any exchange may take here (liveness, not performance).
const LIVENESS: Duration = Duration::from_secs(20);

/// Starts a server for a controller in eu-west-1 before its first pass; its port.
async fn start(token: Option<&[u8]>, limits: Limits) -> u16 {
    let bundle = example_bundle();
    let controller = bundle.controller.clone().expect("ControllerConfig");
    let world_settings = settings(&bundle, &controller, "eu-west-1", None);
    let world = AwsWorld::connect_for_tests(&world_settings, "http://127.0.0.1:1", Process).await;
    let admin = Admin {
        state: Arc::new(Mutex::new(State::new(
            "eu-west-1",
            &bundle,
            crate::daemon::metrics::Metrics::new("eu-west-1"),
        ))),
        token: token.map(|t| AdminToken::parse(t, TokenSource::Env).expect("token")),
        world: Arc::new(world),
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(serve(listener, router(Arc::new(admin)), limits, |_| {}));
    port
}

/// Sends `request` and reads until the server closes the connection.
async fn exchange(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    read_reply(&mut stream).await
}

async fn read_reply(stream: &mut TcpStream) -> String {
    let mut reply = Vec::new();
    // A reset ends the reply as a close does (hyper may reset a connection it gives up on).
    let _read: usize = tokio::time::timeout(LIVENESS, stream.read_to_end(&mut reply))
        .await
        .expect("the server answers and closes")
        .unwrap_or_default();
    String::from_utf8_lossy(&reply).into_owned()
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n")
}

fn post(path: &str, authorization: Option<&str>) -> String {
    let auth = authorization.map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
    format!("POST {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 0\r\n\r\n")
}

/// The status line, the head's lines (lower-cased) and the body.
fn parts(reply: &str) -> (String, Vec<String>, String) {
    let (head, body) = reply.split_once("\r\n\r\n").unwrap_or((reply, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default().to_string();
    (
        status,
        lines.map(str::to_ascii_lowercase).collect(),
        body.to_string(),
    )
}

fn has_header(head: &[String], line: &str) -> bool {
    head.iter().any(|h| h == line)
}

#[tokio::test]
async fn every_route_answers_as_before() {
    let port = start(None, Limits::DEFAULT).await;
    let (status, head, body) = parts(&exchange(port, &get("/healthz")).await);
    assert_eq!(
        (status.as_str(), body.as_str()),
        ("HTTP/1.1 200 OK", "ok\n")
    );
    assert!(has_header(&head, "content-type: text/plain; charset=utf-8"));
    let (status, _, body) = parts(&exchange(port, &get("/readyz")).await);
    assert_eq!(status, "HTTP/1.1 503 Service Unavailable");
    assert_eq!(body, "no recent reconcile pass\n");
    let (status, head, body) = parts(&exchange(port, &get("/metrics")).await);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(has_header(
        &head,
        "content-type: application/openmetrics-text; version=1.0.0; charset=utf-8"
    ));
    assert!(
        body.contains("regionctl_passes_total{region=\"eu-west-1\"} 0\n"),
        "{body}"
    );
    let (status, head, body) = parts(&exchange(port, &get("/status")).await);
    assert_eq!(
        (status.as_str(), body.as_str()),
        ("HTTP/1.1 200 OK", "null")
    );
    assert!(has_header(&head, "content-type: application/json"));
    let (status, head, body) = parts(&exchange(port, &get("/")).await);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(has_header(&head, "content-type: text/html; charset=utf-8"));
    assert!(
        body.contains("<h1>regionctl — controller eu-west-1</h1>"),
        "{body}"
    );
    assert!(body.contains("No reconcile pass yet."), "{body}");
    for request in [get("/nowhere"), get("/pause"), post("/healthz", None)] {
        let (status, _, body) = parts(&exchange(port, &request).await);
        assert_eq!(
            (status.as_str(), body.as_str()),
            ("HTTP/1.1 404 Not Found", "not found\n"),
            "{request}"
        );
    }
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let port = start(None, Limits::DEFAULT).await;
    let csp = format!(
        "content-security-policy: {}",
        super::server::CONTENT_SECURITY_POLICY
    );
    for request in [
        get("/"),
        get("/status"),
        get("/nowhere"),
        post("/pause", None),
    ] {
        let (_, head, _) = parts(&exchange(port, &request).await);
        assert!(
            has_header(&head, "x-content-type-options: nosniff"),
            "{request}: {head:?}"
        );
        assert!(has_header(&head, &csp), "{request}: {head:?}");
    }
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'none'"));
    assert!(csp.contains("frame-ancestors 'none'"));
}

#[tokio::test]
async fn mutating_endpoints_without_a_configured_token_are_forbidden() {
    let port = start(None, Limits::DEFAULT).await;
    for path in ["/pause", "/resume"] {
        let (status, _, body) = parts(&exchange(port, &post(path, Some("Bearer anything"))).await);
        assert_eq!(status, "HTTP/1.1 403 Forbidden");
        assert!(
            body.starts_with("mutating endpoints are disabled"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_refused_and_the_right_one_reaches_the_journal() {
    let port = start(Some(TOKEN), Limits::DEFAULT).await;
    let right = format!("Bearer {}", String::from_utf8_lossy(TOKEN));
    let wrong_case = format!("bearer {}", String::from_utf8_lossy(TOKEN));
    for authorization in [
        None,
        Some("Bearer correct-horse-battery-stapl"),
        Some("Bearer correct-horse-battery-staple!"),
        Some("Basic Y29ycmVjdA=="),
        Some(wrong_case.as_str()),
    ] {
        let (status, _, body) = parts(&exchange(port, &post("/pause?why=x", authorization)).await);
        assert_eq!(status, "HTTP/1.1 401 Unauthorized", "{authorization:?}");
        assert_eq!(body, "missing or wrong bearer token\n");
    }
    for path in ["/pause?why=INC-1+drill&who=alice", "/resume?who=alice"] {
        let (status, _, body) = parts(&exchange(port, &post(path, Some(&right))).await);
        assert_eq!(status, "HTTP/1.1 503 Service Unavailable", "{path}");
        assert!(
            body.starts_with("journal write failed: dynamodb PutItem"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused() {
    let port = start(Some(TOKEN), Limits::DEFAULT).await;
    let body = "x".repeat(Limits::DEFAULT.max_body_bytes + 1);
    let request = format!(
        "POST /pause HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (status, head, _) = parts(&exchange(port, &request).await);
    assert_eq!(status, "HTTP/1.1 413 Payload Too Large");
    assert!(has_header(&head, "x-content-type-options: nosniff"));
    // A request head beyond hyper's buffer is refused too.
    let huge = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Filler: {}\r\n\r\n",
        "y".repeat(super::server::MAX_HEAD_BYTES)
    );
    let (status, _, _) = parts(&exchange(port, &huge).await);
    assert_eq!(status, "HTTP/1.1 431 Request Header Fields Too Large");
}

/// The cap: with both slots held by clients that send nothing, a third client's complete
/// request waits (in the listen backlog, not refused) and is answered as soon as one of
/// them goes away.
#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let limits = Limits {
        max_connections: 2,
        request_timeout: LIVENESS,
        connection_timeout: LIVENESS,
        ..Limits::DEFAULT
    };
    let port = start(None, limits).await;
    let idle_a = TcpStream::connect(("127.0.0.1", port)).await.expect("a");
    let _idle_b = TcpStream::connect(("127.0.0.1", port)).await.expect("b");
    let mut third = TcpStream::connect(("127.0.0.1", port)).await.expect("c");
    third
        .write_all(get("/healthz").as_bytes())
        .await
        .expect("write");
    let mut first_byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut first_byte)).await;
    assert!(
        early.is_err(),
        "the third connection was served beside two held slots"
    );
    drop(idle_a);
    let (status, _, body) = parts(&read_reply(&mut third).await);
    assert_eq!(
        (status.as_str(), body.as_str()),
        ("HTTP/1.1 200 OK", "ok\n")
    );
}

/// A client that never finishes its request loses the connection after the request
/// timeout: a slot cannot be held for ever.
#[tokio::test]
async fn a_client_that_sends_nothing_is_disconnected() {
    let limits = Limits {
        request_timeout: Duration::from_millis(200),
        ..Limits::DEFAULT
    };
    let port = start(None, limits).await;
    let mut silent = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    silent
        .write_all(b"GET / HTTP/1.1\r\n")
        .await
        .expect("write");
    let reply = read_reply(&mut silent).await;
    assert!(!reply.contains("200 OK"), "{reply}");
}

/// `chaos/policies-roles/` with a `critical` alarm added to playback; the controller in
/// eu-west-1 after one pass in which playback's eu-central-1 has its shadow trial alarm and
/// that critical alarm in ALARM, and its users served.
fn state_with_signals() -> State {
    use regionctl_core::health::{HealthView, Served};
    let dir = regionctl_testkit::repo_root().join("chaos/policies-roles");
    let mut files = regionctl_controller::policy_files::read(&[&dir]).expect("policies-roles");
    let playback = files
        .iter_mut()
        .find(|f| f.path.ends_with("playback.yaml"))
        .expect("playback.yaml");
    let trial = "      - name: \"playback-{region}-p99-latency\"\n        role: shadow\n";
    assert!(playback.text.contains(trial), "the shadow alarm moved");
    playback.text = playback.text.replace(
        trial,
        &format!("{trial}      - name: \"playback-{{region}}-slo\"\n        role: critical\n"),
    );
    let bundle = regionctl_testkit::example::load(&files);
    let s = bundle
        .services
        .iter()
        .position(|x| x.name == "playback")
        .expect("playback");
    let service = &bundle.services[s];
    let r = service
        .regions
        .iter()
        .position(|x| x.name == "eu-central-1")
        .expect("eu-central-1");
    let alarm = |name: &str| {
        let b = service.health.alarms.iter().position(|b| b.name == name);
        u32::try_from(b.expect(name)).expect("index")
    };
    let mut health = HealthView::unknown(&bundle);
    let ev = &mut health.services[s].evidence[r];
    ev.alarms_in_alarm = vec![alarm("playback-eu-central-1-slo")];
    ev.shadow_in_alarm = vec![alarm("playback-eu-central-1-p99-latency")];
    ev.served = Served::Serving;
    ev.quorum = 2;
    ev.probes_ok = 3;
    let mut state = State::new(
        "eu-west-1",
        &bundle,
        crate::daemon::metrics::Metrics::new("eu-west-1"),
    );
    let report = regionctl_controller::reconcile::PassReport::new(
        "eu-west-1",
        regionctl_core::time::Timestamp::from_secs(1_800_000_000),
    );
    state.record_pass(
        &Arc::new(bundle),
        report,
        &health,
        Duration::from_millis(5),
        0,
    );
    state
}

#[test]
fn status_shows_each_signal_with_its_role_and_what_decided() {
    let state = state_with_signals();
    let doc: serde_json::Value = serde_json::from_str(&crate::daemon::status::json(
        state.last.as_deref(),
        &state.recent,
    ))
    .expect("/status is JSON");
    let playback = doc["services"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["service"] == "playback")
        .expect("playback in /status");
    let euc1 = playback["signals"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["region"] == "eu-central-1")
        .expect("eu-central-1's signals");
    let row = |name: &str| {
        euc1["rows"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|x| x["signal"] == name)
            .unwrap_or_else(|| panic!("no row {name} in {euc1}"))
            .clone()
    };
    let shadow = row("playback-eu-central-1-p99-latency");
    assert_eq!(shadow["role"], "shadow", "{shadow}");
    assert_eq!(shadow["label"], "shadow (never acts)", "{shadow}");
    assert_eq!(shadow["said"], "in-alarm", "{shadow}");
    assert_eq!(shadow["decided"], false, "{shadow}");
    let critical = row("playback-eu-central-1-slo");
    assert_eq!(critical["role"], "critical", "{critical}");
    assert_eq!(critical["decided"], true, "{critical}");
    let served = row("playback-eu-central-1-requests");
    assert_eq!(
        (&served["role"], &served["text"]),
        (&"served".into(), &"users served".into())
    );
    let probes = row("probes");
    assert_eq!(probes["said"], "probe-quorum", "{probes}");
    assert_eq!((&probes["ok"], &probes["quorum"]), (&3.into(), &2.into()));
    assert_eq!(euc1["decided_by"], "failure-alarm", "{euc1}");
    assert_eq!(euc1["served"], "serving", "{euc1}");
    assert_eq!(euc1["served_veto"], false, "{euc1}");
    // A region with nothing to say still lists its failure probes, and nothing decided.
    let euw1 = playback["signals"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["region"] == "eu-west-1")
        .expect("eu-west-1's signals");
    assert_eq!(euw1["decided_by"], "no-failure", "{euw1}");
    assert_eq!(euw1["rows"].as_array().map(Vec::len), Some(1), "{euw1}");
    assert_eq!(euw1["served_veto"], serde_json::Value::Null, "{euw1}");

    let head = super::page::Head::of(&state);
    let html = super::page::page(&head, state.last.as_deref(), &state.recent);
    assert!(
        html.contains(
            "<tr class=\"shadow\"><td>eu-central-1</td><td>playback-eu-central-1-p99-latency</td>\
             <td>shadow (never acts)</td><td>in ALARM</td><td></td></tr>"
        ),
        "{html}"
    );
    assert!(
        html.contains(
            "<tr class=\"critical decided\"><td>eu-central-1</td><td>playback-eu-central-1-slo</td>\
             <td>critical</td><td>in ALARM</td><td>◀ decided</td></tr>"
        ),
        "{html}"
    );
    assert!(
        html.contains(
            "<td>eu-central-1</td><td colspan=\"4\">decided by: failure alarm · served veto: not held</td>"
        ),
        "{html}"
    );
}
