//! Game-days on the simulated world: every shipped scenario passes, runs are reproducible
//! byte for byte, a wrong expectation fails with a clear explanation, bad files get located
//! errors, and the published JSON Schema matches the format.

use regionctl_sim::engine::{self, Options};
use regionctl_sim::report::{self, Report};
use std::path::{Path, PathBuf};

fn chaos_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../chaos")
}

fn run(path: &Path, seed: Option<u64>) -> Report {
    let (loaded, bundle, controllers) = engine::prepare(path).unwrap_or_else(|errors| {
        panic!(
            "{} rejected:\n{}",
            path.display(),
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    let finished = engine::run(loaded, bundle, controllers, &Options { seed }, &mut |_| {});
    report::build(&finished)
}

/// A fresh directory unique to this call: tests run in parallel and may edit the same
/// scenario.
fn scratch(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("regionctl-sim-{}-{n}-{name}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// A copy of a shipped scenario in a scratch dir, edited, with its policies path absolute.
fn edited(name: &str, edits: &[(&str, &str)]) -> PathBuf {
    let mut text =
        std::fs::read_to_string(chaos_dir().join(format!("{name}.yaml"))).expect("read scenario");
    let policies = chaos_dir()
        .join("../policies")
        .canonicalize()
        .expect("policies dir");
    text = text.replace(
        "policies: ../policies",
        &format!("policies: {}", policies.display()),
    );
    for (from, to) in edits {
        assert!(
            text.contains(from),
            "edit target `{from}` not in {name}.yaml"
        );
        text = text.replacen(from, to, 1);
    }
    let dir = scratch(name);
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, text).expect("write scenario");
    path
}

#[test]
fn every_shipped_scenario_passes_on_sim() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(chaos_dir())
        .expect("chaos/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    let names: Vec<String> = paths
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    for expected in [
        "region-loss",
        "cell-failure",
        "flapping-alarm",
        "partition",
        "route53-outage",
        "staged-failback",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "chaos/{expected}.yaml is missing"
        );
    }
    for path in &paths {
        let rep = run(path, None);
        assert!(
            rep.passed,
            "{} did not pass:\n{}",
            path.display(),
            report::terminal(&rep)
        );
        assert!(
            !rep.expectations.is_empty(),
            "{} has no expectations",
            path.display()
        );
    }
}

#[test]
fn same_seed_gives_identical_reports() {
    let path = chaos_dir().join("region-loss.yaml");
    let (a, b) = (scratch("seed-a"), scratch("seed-b"));
    report::write(&a, &run(&path, Some(99))).expect("write a");
    report::write(&b, &run(&path, Some(99))).expect("write b");
    for file in ["report.md", "report.json", "traffic.svg"] {
        let x = std::fs::read(a.join(file)).expect("read a");
        let y = std::fs::read(b.join(file)).expect("read b");
        assert!(!x.is_empty(), "{file} is empty");
        assert!(x == y, "{file} differs between two runs with seed 99");
    }
    let svg = std::fs::read_to_string(a.join("traffic.svg")).expect("svg");
    assert!(svg.starts_with("<svg") && svg.contains("<polyline") && svg.contains("eu-central-1"));
}

#[test]
fn an_impossible_deadline_fails_with_an_explanation() {
    let path = edited("region-loss", &[("within: 4m", "within: 30s")]);
    let rep = run(&path, None);
    assert!(!rep.passed);
    let failed: Vec<_> = rep.expectations.iter().filter(|o| !o.met).collect();
    assert_eq!(failed.len(), 1, "{}", report::terminal(&rep));
    let o = failed[0];
    assert_eq!(o.id, "playback-off-euc1");
    assert_eq!(o.at, Some(330), "found unmet at the deadline, 05:30");
    assert!(
        o.observed.contains("not reached by the deadline 05:30"),
        "{}",
        o.observed
    );
    assert!(
        o.observed.contains("still answered 50.0%"),
        "{}",
        o.observed
    );
    assert!(o.observed.contains("reached only at"), "{}", o.observed);
    let text = report::terminal(&rep);
    assert!(
        text.contains("NOT MET") && text.contains("game-day FAILED"),
        "{text}"
    );
}

#[test]
fn bad_scenarios_get_located_errors() {
    let path = edited(
        "region-loss",
        &[(
            "where: {region: eu-central-1}\n    note",
            "where: {region: eu-cental-1}\n    note",
        )],
    );
    let errors = engine::prepare(&path).expect_err("unknown region");
    let text = errors[0].to_string();
    assert!(text.contains("region-loss.yaml:"), "{text}");
    assert!(
        text.contains("timeline[0].where.region: unknown region `eu-cental-1`"),
        "{text}"
    );
    assert_eq!(errors[0].line.map(|l| l.0), Some(32), "{text}");

    let path = edited("region-loss", &[("    at_most: 0\n", "    at_mots: 0\n")]);
    let errors = engine::prepare(&path).expect_err("unknown field");
    let text = errors[0].to_string();
    assert!(
        text.contains("expect[0]") && text.contains("unknown field `at_mots`"),
        "{text}"
    );
    assert!(errors[0].line.is_some(), "{text}");

    let path = edited(
        "region-loss",
        &[(
            "faults: [euc1-endpoints, euc1-alarms]",
            "faults: [euc1-endpoints, nope]",
        )],
    );
    let errors = engine::prepare(&path).expect_err("unknown fault id");
    assert!(
        errors.iter().any(|e| e
            .to_string()
            .contains("timeline[2].faults[1]: no earlier fault has id `nope`")),
        "{errors:?}"
    );
}

#[test]
fn published_schema_matches_the_format() {
    let path = chaos_dir().join("scenario.schema.json");
    let current = serde_json::to_string_pretty(&regionctl_sim::scenario::scenario_schema())
        .expect("schema")
        + "\n";
    if std::env::var_os("REGIONCTL_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &current).expect("write schema");
    }
    let published = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        published == current,
        "chaos/scenario.schema.json is stale: run `REGIONCTL_UPDATE_SCHEMA=1 cargo test -p regionctl-sim --test gameday`"
    );
}
