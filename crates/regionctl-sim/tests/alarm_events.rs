//! Alarm ingestion at a size where the alarms do not fit one pass's reads (issue 18): a
//! region's alarms going to ALARM reach the controllers through events in the next pass,
//! and with every event lost, through the budgeted resync within its bound. Level-triggered
//! stays true: losing events delays a decision, never prevents it.

use regionctl_sim::engine::{self, Options};
use regionctl_sim::generate::{FleetShape, REGIONS};
use regionctl_sim::policy_yaml::ControllerYaml;
use regionctl_sim::report::{self, Report};
use std::path::{Path, PathBuf};

/// 80 services × 31 alarms: 2,480 names per region. At 0.1 calls/s and a 10 s tick a pass
/// reads 100 of them, so a full round takes 25 passes: 250 s.
const SHAPE: FleetShape = FleetShape {
    services: 80,
    cells: 30,
    regions: 3,
    served: false,
    switches: true,
};
const RESYNC_SECS: u64 = 250;
/// A service whose alarms the resync reaches two minutes after the fault: every
/// controller's reads are at name 1,200 of 2,480 then (twelve passes of 100), this one's
/// alarms are names 2,325 to 2,355. (An alarm read late still carries when it changed, so
/// a read within `fail_after_secs` of the change costs nothing; this one is read later.)
const WATCHED: &str = "svc0075";

/// The generated bundle and a scenario in a fresh directory: every alarm of [`WATCHED`] in
/// the first region goes to ALARM at 2m (its endpoints keep answering: only alarms can
/// tell), with `loss` of the alarm events lost; the decision is expected `within` of it.
/// One service only: the whole region failing would pace the evacuation's Route 53 calls
/// over many passes (ADR 0020), which is not what this test is about.
fn world(name: &str, loss: f64, within: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "regionctl-alarm-events-{}-{name}",
        std::process::id()
    ));
    let policies = dir.join("policies");
    std::fs::create_dir_all(&policies).expect("scratch dir");
    for (path, text) in SHAPE.files() {
        let file = path.rsplit('/').next().unwrap_or(&path).to_string();
        if file != "controller.yaml" {
            std::fs::write(policies.join(file), text).expect("write policy");
        }
    }
    let regions: Vec<&str> = REGIONS[..SHAPE.regions].iter().map(|r| r.0).collect();
    let controller = ControllerYaml::new(&regions).setting("alarm_reads", "{calls_per_sec: 0.1}");
    std::fs::write(policies.join("controller.yaml"), controller.to_yaml()).expect("write");
    let lost = regions[0];
    let scenario = format!(
        "apiVersion: regionctl/v1\nkind: GameDay\nname: {name}\ndescription: alarm events ({name})\n\
         world:\n  policies: {}\n  duration: 10m\n  seed: 7\n  sim:\n    alarm_event_loss: {loss}\n\
         steady_state:\n  - check: controllers-acting\n\
         timeline:\n  - at: 2m\n    id: alarms\n    what: alarm\n    where: {{region: {lost}, services: [{WATCHED}]}}\n    state: ALARM\n\
         expect:\n  - id: evacuated\n    kind: decision\n    service: {WATCHED}\n    reason_contains: \"{lost} is degraded\"\n    after: alarms\n    within: {within}\n\
         rollback:\n  - what: recover\n    faults: [all]\n\
         guardrails:\n  accounts: [\"123456789012\"]\n  regions: [{}]\n",
        policies.display(),
        regions.join(", ")
    );
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, scenario).expect("write scenario");
    path
}

fn run(path: &Path) -> Report {
    let (loaded, bundle, controllers) = engine::prepare(path).unwrap_or_else(|errors| {
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        panic!("{} rejected:\n{}", path.display(), text.join("\n"))
    });
    let finished = engine::run(
        loaded,
        bundle,
        controllers,
        &Options::default(),
        &mut |_| {},
    );
    std::fs::remove_dir_all(path.parent().expect("scratch dir")).ok();
    report::build(&finished)
}

#[test]
fn events_bring_an_alarm_within_a_tick_and_the_resync_without_them() {
    // fail_after_secs 60, plus a pass of lag and a tick of slack.
    let fast = "1m30s";
    let with_events = run(&world("with-events", 0.0, fast));
    assert!(
        with_events.passed,
        "{}",
        report::text::terminal(&with_events)
    );
    // Every event lost: the same bound fails (the resync has not come round yet) ...
    let lost_fast = run(&world("lost-fast", 1.0, fast));
    assert!(
        !lost_fast.passed,
        "evacuated within {fast} though every event was lost: the reads were not budgeted\n{}",
        report::text::terminal(&lost_fast)
    );
    // ... but the decision still comes, within the resync's bound.
    let bound = format!("{}s", 60 + RESYNC_SECS + 30);
    let lost = run(&world("lost", 1.0, &bound));
    assert!(lost.passed, "{}", report::text::terminal(&lost));
}
