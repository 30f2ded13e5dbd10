//! End-to-end tests of the `regionctl` binary on the example policies.
//!
//! Golden files live in `tests/golden/`. When a change to plan output is intended, review
//! the diff this test prints, then regenerate with `UPDATE_GOLDEN=1 cargo test --test cli`
//! and commit the new golden file with the change that caused it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn regionctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_regionctl"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the regionctl binary runs")
}

fn golden(name: &str, actual: &str) {
    let path = root().join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing {}; run with UPDATE_GOLDEN=1", path.display()));
    if expected != actual {
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(10)
            .map(|(i, (a, b))| format!("line {}:\n  golden: {a}\n  actual: {b}", i + 1))
            .collect();
        panic!(
            "{} differs from the output ({} vs {} lines):\n{}\nIf intended: UPDATE_GOLDEN=1 cargo test --test cli",
            path.display(),
            expected.lines().count(),
            actual.lines().count(),
            diff.join("\n")
        );
    }
}

#[test]
fn check_accepts_the_example_policies() {
    let out = regionctl(&["check", "policies"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid"));
}

#[test]
fn plan_region_loss_matches_golden_text() {
    let out = regionctl(&["plan", "--policies", "policies", "--down", "eu-central-1"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "changes exit 2: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    golden(
        "plan-down-eu-central-1.txt",
        &String::from_utf8_lossy(&out.stdout),
    );
}

#[test]
fn plan_single_cell_matches_golden_text() {
    let out = regionctl(&["plan", "--down", "playback:eu-central-1/at-free-android"]);
    assert_eq!(out.status.code(), Some(2));
    golden(
        "plan-down-one-cell.txt",
        &String::from_utf8_lossy(&out.stdout),
    );
}

#[test]
fn plan_without_faults_changes_nothing_and_exits_0() {
    let out = regionctl(&["plan"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("No changes"));
}

#[test]
fn plan_json_traffic_sums_to_100_per_cell() {
    let out = regionctl(&["plan", "--down", "eu-central-1", "--output", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("plan prints JSON");
    let traffic = v["traffic"].as_object().expect("top-level traffic object");
    assert_eq!(traffic.len(), 6);
    assert_eq!(traffic["playback"].as_object().map(|c| c.len()), Some(30));
    for (service, cells) in traffic {
        for (cell, split) in cells.as_object().expect("cells") {
            let sum: u64 = split
                .as_object()
                .expect("regions")
                .values()
                .filter_map(|p| p.as_u64())
                .sum();
            assert_eq!(sum, 100, "{service}/{cell}");
        }
    }
    assert_eq!(v["traffic"]["playback"]["de-free-ios"]["eu-central-1"], 0);
    assert_eq!(v["traffic"]["playback"]["de-free-ios"]["eu-west-1"], 60);
}

#[test]
fn plan_rejects_an_unknown_region_with_a_hint() {
    let out = regionctl(&["plan", "--down", "eu-centrl-1"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did you mean `eu-central-1`"), "{err}");
}

#[test]
fn policy_tests_pass() {
    let out = regionctl(&["test", "policies"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("PASS: 9/9"), "{stdout}");
}

#[test]
fn failing_policy_test_exits_1_and_says_why() {
    let dir = tempdir("failing-test");
    copy_policies(&dir);
    std::fs::write(
        dir.join("tests/wrong.yaml"),
        "apiVersion: regionctl/v1\nkind: PolicyTest\nmetadata: {name: wrong}\nspec:\n  cases:\n    - name: wrong expectation\n      down: [eu-central-1]\n      expect_traffic:\n        playback:\n          de-free-ios: {eu-central-1: 50, eu-west-1: 30, us-east-1: 20}\n",
    )
    .expect("write test file");
    let out = regionctl(&["test", dir.to_str().expect("utf-8 path")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL: wrong expectation"), "{stdout}");
    assert!(stdout.contains("expected 50%, got 0%"), "{stdout}");
    assert!(stdout.contains("FAIL: 1/10"), "{stdout}");
}

#[test]
fn check_reports_every_problem_with_file_line_and_field() {
    let dir = tempdir("broken");
    copy_policies(&dir);
    let playback = dir.join("playback.yaml");
    let text = std::fs::read_to_string(&playback).expect("read");
    let text = text.replacen("weight: 30", "weight: 300", 1).replacen(
        "max_shift_percent_per_step",
        "max_shift_percnt_per_step",
        1,
    );
    std::fs::write(&playback, text).expect("write");
    let out = regionctl(&["check", dir.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("weight 300 is out of range"), "{err}");
    assert!(err.contains("playback.yaml:19:7"), "{err}");
    assert!(
        err.contains("did you mean `max_shift_percent_per_step`?"),
        "{err}"
    );
    assert!(
        err.contains("field: spec.safety.max_shift_percnt_per_step"),
        "{err}"
    );
    assert!(err.contains("2 error(s)"), "{err}");
}

/// Goal: `check` refuses what the policy reader's limits refuse, naming the path, with the
/// messages it has always printed. Method: a missing path, a file one byte over the size
/// limit, a tree one level too deep.
#[test]
fn check_names_the_path_a_reader_limit_refuses() {
    let dir = tempdir("limits");
    let refused = |path: &Path| {
        let out = regionctl(&["check", path.to_str().expect("utf-8 path")]);
        assert_eq!(out.status.code(), Some(1), "{}", path.display());
        assert!(
            out.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let missing = dir.join("missing");
    assert_eq!(
        refused(&missing),
        format!("error: {}: no such file or directory\n", missing.display())
    );

    let big = dir.join("big");
    std::fs::create_dir_all(&big).expect("create dir");
    let limit = regionctl_core::policy::yaml::MAX_FILE_BYTES;
    std::fs::write(big.join("big.yaml"), "x".repeat(limit + 1)).expect("write");
    assert_eq!(
        refused(&big),
        format!(
            "error: {}: {} bytes; policy files are limited to {limit} bytes\n",
            big.join("big.yaml").display(),
            limit + 1
        )
    );

    let deep = dir.join("deep");
    let mut too_deep = deep.clone();
    for _ in 0..=regionctl_controller::policy_files::MAX_DIR_DEPTH {
        too_deep.push("d");
    }
    std::fs::create_dir_all(&too_deep).expect("create dirs");
    std::fs::write(too_deep.join("x.yaml"), "a: 1").expect("write");
    assert_eq!(
        refused(&deep),
        format!(
            "error: {}: directories nested deeper than 16 levels\n",
            too_deep.display()
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn schema_file_is_current() {
    let out = regionctl(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let committed = std::fs::read_to_string(root().join("schema/policy.schema.json"))
        .expect("schema/policy.schema.json exists");
    assert_eq!(
        committed,
        String::from_utf8_lossy(&out.stdout),
        "schema/policy.schema.json is stale: regionctl schema > schema/policy.schema.json"
    );
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("regionctl-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tests")).expect("create temp dir");
    dir
}

fn copy_policies(dir: &Path) {
    for sub in ["", "tests"] {
        let from = root().join("policies").join(sub);
        for entry in std::fs::read_dir(&from).expect("list policies") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "yaml") {
                std::fs::copy(&path, dir.join(sub).join(path.file_name().expect("name")))
                    .expect("copy");
            }
        }
    }
}

/// `simulate --generate-*` (and `--duration`): every bad value is refused before anything
/// runs, exit 2, naming the option.
#[test]
fn simulate_refuses_bad_generated_fleets_with_exit_2() {
    for (args, says) in [
        (&["--generate-services", "0"][..], "--generate-services 0"),
        (
            &["--generate-services", "10001"],
            "--generate-services 10001",
        ),
        (&["--generate-services", "x"], "--generate-services"),
        (
            &["--generate-services", "5", "--generate-cells", "0"],
            "--generate-cells 0",
        ),
        (
            &["--generate-services", "5", "--generate-cells", "1001"],
            "--generate-cells 1001",
        ),
        (
            &["--generate-services", "5", "--generate-regions", "2"],
            "--generate-regions 2",
        ),
        (
            &["--generate-services", "5", "--generate-regions", "11"],
            "--generate-regions 11",
        ),
        // The shape options mean nothing without a fleet, and a fleet replaces --policies.
        (&["--generate-cells", "3"], "--generate-services"),
        (&["--keep-policies", "x"], "--generate-services"),
        (&["--generate-no-switches"], "--generate-services"),
        (
            &["--generate-services", "5", "--policies", "policies"],
            "--policies",
        ),
        // Faults start at 5m: a shorter run has no room for one.
        (
            &["--generate-services", "5", "--duration", "2m"],
            "--duration 2m: at least 6m",
        ),
    ] {
        let mut all = vec!["simulate", "--seeds", "1"];
        all.extend_from_slice(args);
        let out = regionctl(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(says),
            "{args:?} does not name {says}: {stderr}"
        );
    }
}

/// `simulate --generate-services N --keep-policies DIR` writes a fleet that `check` (and so
/// `--policies` and a game-day's `world.policies`) loads; the same command again reuses the
/// directory, and one holding anything else is refused (it would be loaded with the fleet).
#[test]
fn simulate_keeps_a_generated_fleet_that_loads_again() {
    let dir = tempdir("fleet").join("fleet");
    let keep = dir.to_str().expect("utf-8 path");
    let run = || {
        regionctl(&[
            "simulate",
            "--generate-services",
            "3",
            "--keep-policies",
            keep,
            "--seed",
            "4",
            "--duration",
            "8m",
            "--threads",
            "1",
        ])
    };
    for _ in 0..2 {
        let out = run();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("generated (3 services × 2 cells × 3 regions, written to"),
            "{stdout}"
        );
    }
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("the fleet was written")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "controller.yaml",
            "svc0000.yaml",
            "svc0001.yaml",
            "svc0002.yaml"
        ]
    );
    let check = regionctl(&["check", keep]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    std::fs::write(dir.join("other.yaml"), "kind: Other\n").expect("write");
    let out = run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("holds other.yaml"), "{stderr}");
}
