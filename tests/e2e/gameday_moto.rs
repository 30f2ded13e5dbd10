//! `regionctl gameday --target moto`: the region-loss game-day and the two operator
//! game-days (compressed to seconds, `chaos/*-moto.yaml`) against moto, with three real
//! controller processes.
//!
//! Goal: the scenarios pass on moto, not only on sim. Method: run the binary on the shared
//! moto server and check its verdict, exit code and report.

use crate::harness;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// A moto game-day that exited 0: what it printed, and its report directory.
struct Played {
    stdout: String,
    report: PathBuf,
}

/// Runs `regionctl gameday chaos/<scenario> --target moto` on the shared moto server.
fn play_on_moto(scenario: &str, label: &str) -> Played {
    let endpoint = harness::endpoint().to_string();
    let scenario = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("chaos")
        .join(scenario);
    let report = std::env::temp_dir().join(format!("regionctl-{}", harness::unique(label)));
    let out = Command::new(env!("CARGO_BIN_EXE_regionctl"))
        .args(["gameday"])
        .arg(&scenario)
        .args(["--target", "moto", "--endpoint-url", &endpoint, "--report"])
        .arg(&report)
        .output()
        .expect("run regionctl gameday");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "game-day failed ({:?}):\n{stdout}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    Played { stdout, report }
}

#[test]
fn region_loss_game_day_passes_on_moto() {
    let started = Instant::now();
    let Played { stdout, report } = play_on_moto("region-loss-moto.yaml", "gameday-moto-report");
    println!("moto game-day took {:?}", started.elapsed());
    let endpoint = harness::endpoint();
    assert!(
        stdout.contains("Verdict: PASS (9/9 expectations met); expected PASS → game-day PASSED"),
        "{stdout}"
    );
    // ECS desired counts are read from moto (DescribeServices) as the game-day runs.
    assert!(
        stdout.contains("[met] euw1-scaled-up (ecs-desired)")
            && stdout.contains("observed: 20 at 00:"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("on moto ({endpoint})")),
        "{stdout}"
    );
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(report.join("report.json")).expect("report.json"),
    )
    .expect("report.json is JSON");
    assert_eq!(json["target"], "moto");
    assert_eq!(json["passed"], true, "{json}");
    let md = std::fs::read_to_string(report.join("report.md")).expect("report.md");
    assert!(md.contains("**PASSED**"), "{md}");
    let _ = std::fs::remove_dir_all(&report);
}

/// Issue 19, item 5: the operator's timeline actions on moto. `pause`, `resume` and
/// `approve` are written to the run's journal table as the CLI writes them, and three real
/// controller processes honour them: nothing moves while paused, playback is evacuated once
/// resumed, catalog (`propose`) only once approved.
#[test]
fn an_operator_game_day_pauses_resumes_and_approves_on_moto() {
    let Played { stdout, report } =
        play_on_moto("paused-then-approved-moto.yaml", "gameday-moto-operator");
    assert!(
        stdout.contains("Verdict: PASS (5/5 expectations met); expected PASS → game-day PASSED"),
        "{stdout}"
    );
    for line in [
        "operator pause: operator paused automation",
        "operator resume: operator resumed automation",
        "operator approve-catalog: operator approved catalog decision",
    ] {
        assert!(stdout.contains(line), "missing {line:?}:\n{stdout}");
    }
    let _ = std::fs::remove_dir_all(&report);
}

/// Issue 19, item 5: runbooks/manual-override.md practised on moto. The operator's drain
/// and restore are override items in the run's journal; the controllers evacuate the
/// drained region naming who asked, then fail back in stages once it is restored.
#[test]
fn a_manual_override_game_day_drains_and_restores_on_moto() {
    let Played { stdout, report } =
        play_on_moto("manual-override-moto.yaml", "gameday-moto-override");
    assert!(
        stdout.contains("Verdict: PASS (4/4 expectations met); expected PASS → game-day PASSED"),
        "{stdout}"
    );
    for line in [
        "operator drain: operator override Drain us-east-1 (service playback, cell *)",
        "operator restore: operator override Restore us-east-1 (service playback, cell *)",
    ] {
        assert!(stdout.contains(line), "missing {line:?}:\n{stdout}");
    }
    let _ = std::fs::remove_dir_all(&report);
}
