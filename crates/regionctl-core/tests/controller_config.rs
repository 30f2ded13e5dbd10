//! The controller configuration's probe budget: defaults, and a deadline that would let a
//! pass outlast its tick refused at its field.

use regionctl_core::policy::{SourceFile, load};

// Tests read the example files; the core itself does no I/O.
#[allow(clippy::disallowed_methods)]
fn example_with_controller(edit: impl Fn(&str) -> String) -> Vec<SourceFile> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("policies/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().to_string();
            let text = std::fs::read_to_string(p).expect("read");
            SourceFile {
                path: format!("policies/{name}"),
                text: if name == "controller.yaml" {
                    edit(&text)
                } else {
                    text
                },
            }
        })
        .collect()
}

#[test]
fn probe_budget_defaults_to_64_per_region_and_half_the_tick() {
    let bundle = load(&example_with_controller(str::to_string)).expect("examples load");
    let c = bundle.controller.expect("a controller config");
    assert_eq!(c.probes.concurrency(), 64);
    assert_eq!(c.probes.deadline_ms(c.tick_secs), c.tick_secs * 500);
}

#[test]
fn a_probe_deadline_not_below_the_tick_is_refused_at_its_field() {
    let files = example_with_controller(|t| {
        format!("{t}  probes:\n    concurrency: 0\n    deadline_secs: 10\n")
    });
    let Err(d) = load(&files) else {
        panic!("a 10 s probe deadline on a 10 s tick must be refused");
    };
    for field in ["spec.probes.deadline_secs", "spec.probes.concurrency"] {
        let x = d
            .iter()
            .find(|x| x.is_error() && x.field == field)
            .unwrap_or_else(|| panic!("no error at {field}: {d:#?}"));
        assert_eq!(x.file, "policies/controller.yaml");
        assert!(x.line.is_some(), "{x}");
    }
    let ok = example_with_controller(|t| format!("{t}  probes:\n    deadline_secs: 9\n"));
    let bundle = load(&ok).expect("a 9 s deadline on a 10 s tick loads");
    let c = bundle.controller.expect("a controller config");
    assert_eq!(c.probes.deadline_ms(c.tick_secs), 9_000);
}

#[test]
fn read_budgets_outside_their_range_are_refused_at_their_fields() {
    let files = example_with_controller(|t| {
        format!(
            "{t}  alarm_reads:\n    calls_per_sec: 0\n  capacity_reads:\n    calls_per_sec: 250\n"
        )
    });
    let Err(d) = load(&files) else {
        panic!("read budgets of 0 and 250 calls/s must be refused");
    };
    for (field, quota) in [
        ("spec.alarm_reads.calls_per_sec", "DescribeAlarms"),
        ("spec.capacity_reads.calls_per_sec", "ECS"),
    ] {
        let x = d
            .iter()
            .find(|x| x.is_error() && x.field == field)
            .unwrap_or_else(|| panic!("no error at {field}: {d:#?}"));
        assert!(x.line.is_some(), "{x}");
        assert!(
            x.to_string().contains(quota),
            "the hint names the quota: {x}"
        );
    }
    let ok = example_with_controller(|t| format!("{t}  capacity_reads:\n    calls_per_sec: 0.5\n"));
    let bundle = load(&ok).expect("half a call per second loads");
    let c = bundle.controller.expect("a controller config");
    assert_eq!(c.capacity_reads.calls_per_sec, Some(0.5));
}
