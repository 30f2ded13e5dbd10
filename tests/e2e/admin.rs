//! The admin port as an operator meets it: `regionctl run` started as a process, on the
//! example policies, with its AWS endpoint on a closed loopback port (the admin server does
//! not need AWS to answer; its passes fail and are retried, which is beside the point here).
//!
//! - A token that is too short, empty or unreadable refuses to start, naming its source.
//! - Every answer carries `X-Content-Type-Options: nosniff` and the Content-Security-Policy;
//!   a wrong token is refused and the right one reaches the journal (here: unreachable, 503).
//! - A body over the limit is refused with 413.
//! - Beyond the connection cap (32), a client waits until a connection ends, then is served.
//! - The CloudFormation template refuses a world-open `AdminIngressCidr`.
//!
//! Liveness bounds are generous (a loaded 2-core machine); nothing here times performance.

use regionctl_testkit::http;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_regionctl");

/// Where nothing listens: the controller's AWS calls fail at once, on loopback only.
const DEAD_ENDPOINT: &str = "http://127.0.0.1:1";

/// The token the running controller is given (28 bytes).
const TOKEN: &str = "correct-horse-battery-staple";

/// The server's connection cap (`Limits::DEFAULT.max_connections`, docs/OPERATIONS.md).
const MAX_CONNECTIONS: usize = 32;

fn policies() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies")
}

/// A scratch directory for token files, removed by the caller.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("regionctl-admin-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// `regionctl run` for eu-west-1 on the example policies; `configure` adds the token.
fn run_command(configure: impl FnOnce(&mut Command)) -> Command {
    let mut command = Command::new(BINARY);
    command
        .args(["run", "--region", "eu-west-1", "--policies"])
        .arg(policies())
        .args(["--endpoint-url", DEAD_ENDPOINT])
        .env_remove("REGIONCTL_ADMIN_TOKEN")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    configure(&mut command);
    command
}

/// Runs a controller that must refuse to start; its exit and stderr.
fn refused(configure: impl FnOnce(&mut Command)) -> (Output, String) {
    let mut command = run_command(configure);
    // A controller that did start would run until killed: bound it.
    command.args(["--max-passes", "1"]);
    let out = command.output().expect("run regionctl");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stderr)
}

/// Goal: a token that cannot protect anything stops the controller before it starts, with
/// an error that names the file or variable to fix. Method: a 7-byte file, an empty file,
/// a missing file and an empty variable.
#[test]
fn a_short_empty_or_unreadable_token_refuses_to_start_naming_its_source() {
    let dir = scratch("refusals");
    let short = dir.join("short-token");
    std::fs::write(&short, "hunter2\n").expect("write");
    let empty = dir.join("empty-token");
    std::fs::write(&empty, "").expect("write");
    let missing = dir.join("no-such-token");
    let cases: [(&Path, &str); 3] = [
        (
            &short,
            "the admin token is 7 bytes after trimming whitespace; at least 16",
        ),
        (&empty, "the admin token is empty"),
        (&missing, "the admin token cannot be read"),
    ];
    for (file, expected) in cases {
        let (out, stderr) = refused(|c| {
            c.arg("--admin-token-file").arg(file);
        });
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", file.display());
        let named = format!("--admin-token-file {}: {expected}", file.display());
        assert!(stderr.contains(&named), "wanted {named:?} in:\n{stderr}");
        assert!(!stderr.contains("Admin HTTP listening"), "{stderr}");
    }
    let (out, stderr) = refused(|c| {
        c.env("REGIONCTL_ADMIN_TOKEN", "")
            .args(["--admin-addr", "127.0.0.1:0"]);
    });
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("REGIONCTL_ADMIN_TOKEN: the admin token is empty"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A running controller with the token file and an admin port; killed when dropped.
struct Running {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Running {
    fn start() -> Running {
        let dir = scratch("serve");
        let token = dir.join("token");
        // A trailing newline, as `echo "$TOKEN" > file` leaves, is trimmed.
        std::fs::write(&token, format!("{TOKEN}\n")).expect("write");
        let port = http::free_port();
        let child = run_command(|c| {
            c.arg("--admin-token-file")
                .arg(&token)
                .args(["--admin-addr", &format!("127.0.0.1:{port}")]);
        })
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start regionctl run");
        let running = Running { child, port, dir };
        let started = Instant::now();
        while http::get(port, "/healthz").is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the admin port never answered"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        running
    }

    fn exchange(&self, request: &str) -> String {
        http::exchange(self.port, request).expect("the admin port answers")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The head's lines, lower-cased (header names are case-insensitive).
fn head_lines(reply: &str) -> Vec<String> {
    let head = reply.split_once("\r\n\r\n").map_or(reply, |(h, _)| h);
    head.lines().map(str::to_ascii_lowercase).collect()
}

fn pause_request(authorization: &str, body: &str) -> String {
    format!(
        "POST /pause?why=drill HTTP/1.1\r\nHost: x\r\nAuthorization: {authorization}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Goal: the headers, the token check and the body limit as a browser or `curl` sees them.
/// Method: requests over TCP to a running controller.
#[test]
fn the_admin_port_sends_security_headers_checks_the_token_and_limits_bodies() {
    let controller = Running::start();
    for path in ["/", "/status", "/metrics", "/healthz", "/nowhere"] {
        let reply = controller.exchange(&format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"));
        let head = head_lines(&reply);
        assert!(
            head.contains(&"x-content-type-options: nosniff".to_string()),
            "{path}: {head:?}"
        );
        let csp = head
            .iter()
            .find(|l| l.starts_with("content-security-policy: "))
            .unwrap_or_else(|| panic!("{path}: no Content-Security-Policy in {head:?}"));
        assert!(
            csp.contains("default-src 'none'") && csp.contains("script-src 'none'"),
            "{csp}"
        );
    }
    let page = controller.exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
    assert!(
        page.contains("<h1>regionctl — controller eu-west-1</h1>"),
        "{page}"
    );

    let wrong = controller.exchange(&pause_request("Bearer correct-horse-battery-stapled", ""));
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
    assert!(
        wrong.ends_with("missing or wrong bearer token\n"),
        "{wrong}"
    );
    // The right token passes the check; the journal is unreachable, so the write fails.
    let right = controller.exchange(&pause_request(&format!("Bearer {TOKEN}"), ""));
    assert!(right.starts_with("HTTP/1.1 503"), "{right}");
    assert!(right.contains("journal write failed"), "{right}");

    let big = controller.exchange(&pause_request(
        &format!("Bearer {TOKEN}"),
        &"x".repeat(2048),
    ));
    assert!(big.starts_with("HTTP/1.1 413"), "{big}");
}

/// Goal: a crowd of connections cannot exhaust the controller, and an operator beyond the
/// cap is served as soon as a slot frees rather than refused. Method: 32 idle connections
/// hold every slot; a 33rd sends a complete request and hears nothing for a second; one
/// idle connection closes and the 33rd is answered.
#[test]
fn beyond_the_connection_cap_a_client_waits_for_a_free_slot() {
    let controller = Running::start();
    let connect = || TcpStream::connect(("127.0.0.1", controller.port)).expect("connect");
    let mut idle: Vec<TcpStream> = (0..MAX_CONNECTIONS).map(|_| connect()).collect();
    let mut late = connect();
    late.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    late.set_read_timeout(Some(Duration::from_secs(1)))
        .expect("timeout");
    let mut first = [0u8; 1];
    let early = late.read(&mut first);
    assert!(
        early.is_err(),
        "the 33rd connection was served while 32 were held: {early:?}"
    );
    drop(idle.pop());
    late.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut reply = String::new();
    let _ = late.read_to_string(&mut reply);
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply:?}");
    assert!(reply.ends_with("ok\n"), "{reply:?}");
}

/// The `AllowedPattern` of a parameter of `deploy/controller-region.yaml`, as CloudFormation
/// reads it (the YAML double-quoted string unescaped).
fn allowed_pattern(parameter: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/controller-region.yaml");
    let template = std::fs::read_to_string(&path).expect("read the template");
    let declared = format!("\n  {parameter}:\n");
    let (_, rest) = template
        .split_once(&declared)
        .unwrap_or_else(|| panic!("{}: no parameter {parameter}", path.display()));
    let line = rest
        .lines()
        .take_while(|l| l.starts_with("    ") || l.trim().is_empty())
        .find_map(|l| l.trim().strip_prefix("AllowedPattern: "))
        .unwrap_or_else(|| panic!("{}: {parameter} has no AllowedPattern", path.display()));
    line.trim_matches('"').replace("\\\\", "\\")
}

/// Goal: the template cannot open the admin port to the world, whatever else is set.
/// Method: the parameter's `AllowedPattern`, evaluated as CloudFormation does (the whole
/// value must match), on world-open ranges and on the ranges operators do use.
#[test]
fn the_template_refuses_a_world_open_admin_ingress() {
    let pattern = allowed_pattern("AdminIngressCidr");
    let whole = regex::Regex::new(&format!("^(?:{pattern})$")).expect("a valid pattern");
    for refused in [
        "0.0.0.0/0",
        "::/0",
        "0.0.0.0/1",
        "128.0.0.0/1",
        "10.0.0.0/7",
        "::1/128",
    ] {
        assert!(!whole.is_match(refused), "{pattern} allows {refused}");
    }
    for allowed in [
        "",
        "10.0.0.0/8",
        "10.0.0.0/16",
        "172.31.0.0/16",
        "192.0.2.7/32",
    ] {
        assert!(whole.is_match(allowed), "{pattern} refuses {allowed}");
    }
}
