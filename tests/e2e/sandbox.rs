//! `regionctl sandbox`, as the README's "Running the controllers" tells a newcomer to use
//! it: from the repository, no endpoint given (it starts moto through `scripts/moto.sh`).
//!
//! Goal: one command brings up a fleet whose pages load and which evacuates a lost region.
//! Method: start it with stdin piped; read the printed status pages; check each page and
//! the printed `regionctl status` command; type `fail eu-central-1`; wait until
//! eu-west-1's `/status` shows playback's eu-central-1 weights at 0 in every cell; `quit`,
//! and check the controllers are gone.

use regionctl_local::http::get;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Playback fails after 60 s of evidence, then a 10 s tick, then capacity first.
const EVACUATION_WITHIN: Duration = Duration::from_secs(240);

fn port_of(line: &str) -> u16 {
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .expect("a status page URL");
    url.trim_start_matches("http://127.0.0.1:")
        .trim_end_matches('/')
        .parse()
        .expect("a port")
}

/// playback's eu-central-1 weight in every cell, as eu-west-1's controller last read it.
fn playback_weights(port: u16, region: &str) -> Vec<Option<u64>> {
    let Some((200, body)) = get(port, "/status") else {
        return Vec::new();
    };
    let v: serde_json::Value = serde_json::from_str(&body).expect("/status is JSON");
    let services = v["services"].as_array().cloned().unwrap_or_default();
    let Some(playback) = services.iter().find(|s| s["service"] == "playback") else {
        return Vec::new();
    };
    playback["cells"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["regions"].as_array().cloned().unwrap_or_default())
        .filter(|r| r["region"] == region)
        .map(|r| r["weight"].as_u64())
        .collect()
}

/// The sandbox process, stopped with SIGINT (as Ctrl-C would) if the test fails first.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = Command::new("kill")
                .args(["-INT", &self.0.id().to_string()])
                .status();
            let _ = self.0.wait();
        }
    }
}

#[test]
fn the_sandbox_brings_up_a_fleet_that_evacuates_a_lost_region() {
    let root = regionctl_testkit::repo_root();
    let logs = std::env::temp_dir().join(format!("regionctl-sandbox-{}", std::process::id()));
    let child = Command::new(env!("CARGO_BIN_EXE_regionctl"))
        .current_dir(&root)
        .args(["sandbox", "--for-secs", "600", "--log-dir"])
        .arg(&logs)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("regionctl sandbox starts");
    let mut child = Running(child);
    let mut stdin = child.0.stdin.take().expect("stdin");
    let (tx, lines) = mpsc::channel::<String>();
    let stdout = child.0.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("sandbox> {line}");
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = |what: &str| -> String {
        lines
            .recv_timeout(Duration::from_secs(300))
            .unwrap_or_else(|e| panic!("sandbox output ended waiting for {what}: {e}"))
    };

    // The guide: three status pages, then the commands to try.
    let mut pages = Vec::new();
    let mut status_cmd = None;
    loop {
        let line = next("the guide");
        if line.contains("status page http://") {
            let region = line.split_whitespace().nth(1).expect("a region");
            let region = region.trim_end_matches(':').to_string();
            pages.push((region, port_of(&line)));
        } else if line.trim_start().starts_with("regionctl status ") {
            status_cmd = Some(line.trim().to_string());
        } else if line.starts_with("and here:") {
            break;
        }
    }
    assert_eq!(pages.len(), 3, "{pages:?}");
    for (region, port) in &pages {
        let (code, body) = get(*port, "/").expect("the status page answers");
        assert_eq!(code, 200, "{region}");
        assert!(
            body.contains("playback") && body.contains(region),
            "{region}: {body}"
        );
    }
    let status_cmd = status_cmd.expect("a `regionctl status` command to try");
    let args: Vec<&str> = status_cmd.split_whitespace().skip(1).collect();
    let out = Command::new(env!("CARGO_BIN_EXE_regionctl"))
        .args(&args)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .expect("regionctl status runs");
    assert!(
        out.status.success(),
        "{status_cmd}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Lose eu-central-1 from the prompt; eu-west-1's page shows playback leave it.
    writeln!(stdin, "fail eu-central-1").expect("type a command");
    loop {
        let line = next("the fault's confirmation");
        if line.starts_with("eu-central-1: endpoints answer 503") {
            break;
        }
    }
    let euw1 = pages
        .iter()
        .find(|(r, _)| r == "eu-west-1")
        .map(|(_, p)| *p)
        .expect("eu-west-1's page");
    let started = Instant::now();
    let evacuated = loop {
        let weights = playback_weights(euw1, "eu-central-1");
        if !weights.is_empty() && weights.iter().all(|w| *w == Some(0)) {
            break true;
        }
        if started.elapsed() > EVACUATION_WITHIN {
            break false;
        }
        std::thread::sleep(Duration::from_secs(2));
    };
    assert!(
        evacuated,
        "playback still on eu-central-1 after {EVACUATION_WITHIN:?}: {:?} (logs in {})",
        playback_weights(euw1, "eu-central-1"),
        logs.display()
    );
    println!("evacuated {:.0?} after the fault", started.elapsed());

    // `quit` tears it down: the process ends, the controllers with it.
    writeln!(stdin, "quit").expect("type quit");
    let status = child.0.wait().expect("the sandbox ends");
    assert!(status.success(), "{status}");
    for (region, port) in &pages {
        assert!(get(*port, "/healthz").is_none(), "{region} still answers");
    }
    let _ = std::fs::remove_dir_all(&logs);
}
