//! Health evaluation tests: hysteresis both ways, evidence vs silence, observer quorum,
//! cell-scoped and load alarms. Every expectation is derived from the policy's own
//! settings (`fail_after_secs`, `recover_after_secs`, `quorum`), not from running the code.

use super::*;
use crate::policy::raw::AlarmRole;
use crate::policy::{Service, SourceFile, load};

const WEB: &str = r#"apiVersion: regionctl/v1
kind: ServicePolicy
metadata:
  name: web
spec:
  tier: 3
  strategy: active-active
  regions:
    - name: eu-central-1
      weight: 50
    - name: eu-west-1
      weight: 30
    - name: us-east-1
      weight: 20
  cells:
    dimensions:
      - name: platform
        values: [ios, web]
  health:
    alarms:
      - name: "web-{region}-5xx"
      - name: "web-{region}-{cell}-errors"
      - name: "web-{region}-cpu"
        role: load
    probes:
      - protocol: http
        target: "https://web.{region}.example.com/healthz"
    quorum: 2
    fail_after_secs: 60
    recover_after_secs: 300
  routing:
    hosted_zone_id: Z0WEBEXAMPLE000001
    record_name: "{cell}.web.example.com"
    value: "web.{region}.example.com"
  compute:
    alb:
      listener_arn: "arn-listener-{region}"
      fargate_target_group: "arn-fargate-{region}"
      lambda_target_group: "arn-lambda-{region}"
"#;

const CONTROLLER: &str = r#"apiVersion: regionctl/v1
kind: ControllerConfig
metadata:
  name: fleet
spec:
  regions: [eu-central-1, eu-west-1, us-east-1]
"#;

/// A standby service whose idle region is made healthy by running capacity.
const IDLE: &str = r#"apiVersion: regionctl/v1
kind: ServicePolicy
metadata:
  name: idle
spec:
  tier: 3
  strategy: warm-standby
  regions:
    - name: eu-central-1
      weight: 100
    - name: eu-west-1
      weight: 0
  health:
    alarms:
      - name: "idle-{region}-5xx"
  routing:
    hosted_zone_id: Z0IDLEEXAMPLE00001
    record_name: "idle.example.com"
    value: "idle.{region}.example.com"
  compute:
    ecs:
      cluster: "c-{region}"
      service: idle
      standby_count: 2
      full_count: 10
      readiness_percent: 50
      max_wait_secs: 300
"#;

const T0: Timestamp = Timestamp::from_secs(1_800_000_000);

fn bundle() -> Bundle {
    let files = [
        SourceFile {
            path: "web.yaml".into(),
            text: WEB.into(),
        },
        SourceFile {
            path: "idle.yaml".into(),
            text: IDLE.into(),
        },
        SourceFile {
            path: "controller.yaml".into(),
            text: CONTROLLER.into(),
        },
    ];
    match load(&files) {
        Ok(b) => b,
        Err(d) => panic!("test bundle must load: {d:#?}"),
    }
}

struct Fixture {
    bundle: Bundle,
    index: AlarmIndex,
    web: usize,
    idle: usize,
}

impl Fixture {
    fn new() -> Self {
        let bundle = bundle();
        let index = AlarmIndex::new(&bundle);
        let web = bundle.service_index("web").unwrap();
        let idle = bundle.service_index("idle").unwrap();
        Fixture {
            bundle,
            index,
            web,
            idle,
        }
    }

    fn svc(&self) -> &Service {
        &self.bundle.services[self.web]
    }

    fn nr(&self) -> usize {
        self.svc().regions.len()
    }

    fn r(&self, name: &str) -> usize {
        self.svc()
            .regions
            .iter()
            .position(|r| r.name == name)
            .unwrap()
    }

    fn c(&self, id: &str) -> usize {
        self.svc().cells.iter().position(|c| c.id == id).unwrap()
    }

    /// No evidence, three observers (the fleet).
    fn empty(&self) -> Observations {
        Observations::empty(&self.bundle, 3)
    }

    /// Every failure alarm of `web` (region-wide and per cell) in `state` since `since`.
    fn all_web_alarms(&self, state: AlarmState, since: Timestamp) -> Observations {
        let mut o = self.empty();
        for b in &self.svc().health.alarms {
            if b.role == AlarmRole::Failure {
                assert!(
                    self.index
                        .record(&mut o, &b.name, AlarmObservation { state, since })
                );
            }
        }
        o
    }

    fn set(&self, o: &mut Observations, name: &str, state: AlarmState, since: Timestamp) {
        assert!(
            self.index
                .record(o, name, AlarmObservation { state, since }),
            "alarm {name} must be bound"
        );
    }

    fn probe(
        &self,
        o: &mut Observations,
        observer: &str,
        region: &str,
        ok: bool,
        since: Timestamp,
    ) {
        o.probes.push(ProbeVerdict {
            observer: self.bundle.region_index(observer).unwrap(),
            service: self.web,
            r: self.r(region),
            ok,
            since,
        });
    }

    fn verdict(&self, view: &HealthView, cell: &str, region: &str) -> Verdict {
        view.entry(self.web, self.c(cell), self.r(region), self.nr())
            .verdict
    }

    /// Every (cell, region) of `web` has `verdict`.
    fn all(&self, view: &HealthView, region: &str) -> Vec<Verdict> {
        self.svc()
            .cells
            .iter()
            .map(|c| self.verdict(view, &c.id, region))
            .collect()
    }

    fn eval(&self, o: &Observations, prev: &HealthView, now: Timestamp) -> HealthView {
        evaluate(&self.bundle, o, prev, now)
    }

    /// A view in which every `web` region has been healthy (evidence: alarms OK) for a day.
    fn healthy(&self) -> HealthView {
        let long_ago = Timestamp(T0.millis() - 86_400_000);
        let o = self.all_web_alarms(AlarmState::Ok, long_ago);
        let v = self.eval(&o, &HealthView::unknown(&self.bundle), long_ago);
        for r in ["eu-central-1", "eu-west-1", "us-east-1"] {
            assert!(
                self.all(&v, r).iter().all(|x| *x == Verdict::Healthy),
                "{r}: {:?}",
                self.all(&v, r)
            );
        }
        v
    }
}

fn name(region: &str, suffix: &str) -> String {
    format!("web-{region}-{suffix}")
}

#[test]
fn alarm_index_binds_rendered_names_only() {
    let f = Fixture::new();
    let mut o = f.empty();
    let obs = AlarmObservation {
        state: AlarmState::Alarm,
        since: T0,
    };
    assert!(f.index.record(&mut o, "web-eu-west-1-ios-errors", obs));
    assert!(!f.index.record(&mut o, "web-eu-west-1-android-errors", obs));
    assert!(!f.index.record(&mut o, "web-{region}-5xx", obs));
    let names = f.index.names();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    // 3 region-wide + 3 × 2 per-cell + 3 load alarms for web, 2 for idle.
    assert_eq!(names.len(), 3 + 6 + 3 + 2);
}

#[test]
fn failure_needs_fail_after_secs_of_evidence() {
    let f = Fixture::new();
    let fail_after = f.svc().health.fail_after_secs;
    let mut view = f.healthy();
    let mut o = f.all_web_alarms(AlarmState::Ok, Timestamp::EPOCH);
    f.set(&mut o, &name("eu-west-1", "5xx"), AlarmState::Alarm, T0);
    // Every tick until the window has passed: still healthy, the change pending.
    for dt in [0, 10, fail_after / 2, fail_after - 1] {
        view = f.eval(&o, &view, T0.plus_secs(dt));
        assert_eq!(
            f.all(&view, "eu-west-1"),
            vec![Verdict::Healthy; 2],
            "at +{dt}s"
        );
        let e = view.entry(f.web, 0, f.r("eu-west-1"), f.nr());
        assert_eq!(e.pending.map(|p| p.0), Some(Verdict::Degraded), "at +{dt}s");
    }
    view = f.eval(&o, &view, T0.plus_secs(fail_after));
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Degraded; 2]);
    let e = view.entry(f.web, 0, f.r("eu-west-1"), f.nr());
    assert_eq!(e.since, T0.plus_secs(fail_after));
    assert_eq!(e.pending, None);
    // Other regions are untouched.
    assert_eq!(f.all(&view, "eu-central-1"), vec![Verdict::Healthy; 2]);
    assert_eq!(f.all(&view, "us-east-1"), vec![Verdict::Healthy; 2]);
    // The evidence names the alarm.
    let ev = &view.services[f.web].evidence[f.r("eu-west-1")];
    let bound: Vec<&str> = ev
        .alarms_in_alarm
        .iter()
        .map(|b| f.svc().health.alarms[*b as usize].name.as_str())
        .collect();
    assert_eq!(bound, vec![name("eu-west-1", "5xx").as_str()]);
}

#[test]
fn a_blip_shorter_than_fail_after_never_flips() {
    let f = Fixture::new();
    let fail_after = f.svc().health.fail_after_secs;
    let mut view = f.healthy();
    let mut o = f.all_web_alarms(AlarmState::Ok, Timestamp::EPOCH);
    f.set(&mut o, &name("eu-west-1", "5xx"), AlarmState::Alarm, T0);
    view = f.eval(&o, &view, T0.plus_secs(fail_after - 1));
    // Back to OK before the window ends: the pending failure is forgotten.
    f.set(
        &mut o,
        &name("eu-west-1", "5xx"),
        AlarmState::Ok,
        T0.plus_secs(fail_after - 1),
    );
    view = f.eval(&o, &view, T0.plus_secs(fail_after - 1));
    assert_eq!(view.entry(f.web, 0, f.r("eu-west-1"), f.nr()).pending, None);
    // A new ALARM starts a new window.
    let t1 = T0.plus_secs(fail_after);
    f.set(&mut o, &name("eu-west-1", "5xx"), AlarmState::Alarm, t1);
    view = f.eval(&o, &view, t1.plus_secs(fail_after - 1));
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Healthy; 2]);
    view = f.eval(&o, &view, t1.plus_secs(fail_after));
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Degraded; 2]);
}

#[test]
fn recovery_needs_recover_after_secs_of_evidence() {
    let f = Fixture::new();
    let fail_after = f.svc().health.fail_after_secs;
    let recover_after = f.svc().health.recover_after_secs;
    assert_ne!(
        fail_after, recover_after,
        "the test must tell the two windows apart"
    );
    let mut view = f.healthy();
    let mut o = f.all_web_alarms(AlarmState::Ok, Timestamp::EPOCH);
    f.set(&mut o, &name("eu-west-1", "5xx"), AlarmState::Alarm, T0);
    view = f.eval(&o, &view, T0.plus_secs(fail_after));
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Degraded; 2]);
    // OK again at t1: the failure window is not enough, the recovery window is.
    let t1 = T0.plus_secs(fail_after + 30);
    f.set(&mut o, &name("eu-west-1", "5xx"), AlarmState::Ok, t1);
    for dt in [0, fail_after, recover_after - 1] {
        view = f.eval(&o, &view, t1.plus_secs(dt));
        assert_eq!(
            f.all(&view, "eu-west-1"),
            vec![Verdict::Degraded; 2],
            "at +{dt}s"
        );
    }
    view = f.eval(&o, &view, t1.plus_secs(recover_after));
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Healthy; 2]);
    assert_eq!(
        view.entry(f.web, 0, f.r("eu-west-1"), f.nr()).since,
        t1.plus_secs(recover_after)
    );
}

#[test]
fn insufficient_data_is_unknown_never_healthy() {
    let f = Fixture::new();
    let long_ago = Timestamp(T0.millis() - 86_400_000);
    // From nothing: INSUFFICIENT_DATA everywhere stays unknown.
    let o = f.all_web_alarms(AlarmState::InsufficientData, long_ago);
    let view = f.eval(&o, &HealthView::unknown(&f.bundle), T0);
    for r in ["eu-central-1", "eu-west-1", "us-east-1"] {
        assert_eq!(f.all(&view, r), vec![Verdict::Unknown; 2], "{r}");
    }
    // One region-wide alarm OK is not enough when another speaks no evidence: still unknown.
    let mut o = f.all_web_alarms(AlarmState::InsufficientData, long_ago);
    for b in &f.svc().health.alarms {
        if b.cell.is_some() && b.role == AlarmRole::Failure {
            f.set(&mut o, &b.name, AlarmState::Ok, long_ago);
        }
    }
    let view = f.eval(&o, &HealthView::unknown(&f.bundle), T0);
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Unknown; 2]);
    // A healthy region whose alarms go quiet does not stay healthy forever.
    let mut view = f.healthy();
    let o = f.all_web_alarms(AlarmState::InsufficientData, T0);
    let h = &f.svc().health;
    for dt in [
        0,
        h.fail_after_secs,
        h.fail_after_secs + h.recover_after_secs,
        86_400,
    ] {
        view = f.eval(&o, &view, T0.plus_secs(dt));
    }
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Unknown; 2]);
}

#[test]
fn a_single_observer_cannot_make_a_region_down() {
    let f = Fixture::new();
    assert_eq!(f.svc().health.quorum, Some(2));
    let long_ago = Timestamp(T0.millis() - 86_400_000);
    let mut view = f.healthy();
    let mut o = f.all_web_alarms(AlarmState::Ok, long_ago);
    // us-east-1 cannot reach eu-west-1 (for a day); the other two observers can.
    f.probe(&mut o, "us-east-1", "eu-west-1", false, long_ago);
    f.probe(&mut o, "eu-central-1", "eu-west-1", true, long_ago);
    f.probe(&mut o, "eu-west-1", "eu-west-1", true, long_ago);
    for dt in [0, 60, 3600] {
        view = f.eval(&o, &view, T0.plus_secs(dt));
        assert_eq!(
            f.all(&view, "eu-west-1"),
            vec![Verdict::Healthy; 2],
            "at +{dt}s"
        );
    }
    let ev = &view.services[f.web].evidence[f.r("eu-west-1")];
    assert_eq!((ev.probes_failing, ev.probes_ok, ev.quorum), (1, 2, 2));
    // Same with no other evidence at all: one failing probe is not Down.
    let mut o = f.empty();
    f.probe(&mut o, "us-east-1", "eu-west-1", false, long_ago);
    let view = f.eval(&o, &HealthView::unknown(&f.bundle), T0);
    assert!(
        f.all(&view, "eu-west-1")
            .iter()
            .all(|v| *v != Verdict::Down)
    );
}

#[test]
fn one_observer_reporting_twice_is_still_one_vote() {
    let f = Fixture::new();
    let long_ago = Timestamp(T0.millis() - 86_400_000);
    let mut view = f.healthy();
    let mut o = f.all_web_alarms(AlarmState::Ok, long_ago);
    // One observer, two failing verdicts about the same region (e.g. a stale and a fresh
    // report, or one per probe target): still a single vantage point.
    f.probe(&mut o, "us-east-1", "eu-west-1", false, long_ago);
    f.probe(&mut o, "us-east-1", "eu-west-1", false, long_ago);
    view = f.eval(&o, &view, T0);
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Healthy; 2]);
}

#[test]
fn a_quorum_of_observers_makes_a_region_down() {
    let f = Fixture::new();
    let fail_after = f.svc().health.fail_after_secs;
    let long_ago = Timestamp(T0.millis() - 86_400_000);
    let mut view = f.healthy();
    // eu-west-1's CloudWatch cannot be read (no alarm evidence); two observers fail to
    // reach it, the first since T0, the second since T0+20: the quorum holds since T0+20.
    let mut o = f.empty();
    for b in &f.svc().health.alarms {
        if f.svc().regions[b.r].name != "eu-west-1" {
            f.set(&mut o, &b.name, AlarmState::Ok, long_ago);
        }
    }
    f.probe(&mut o, "eu-central-1", "eu-west-1", false, T0);
    f.probe(&mut o, "us-east-1", "eu-west-1", false, T0.plus_secs(20));
    view = f.eval(&o, &view, T0.plus_secs(20 + fail_after - 1));
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Healthy; 2]);
    view = f.eval(&o, &view, T0.plus_secs(20 + fail_after));
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Down; 2]);
    let ev = &view.services[f.web].evidence[f.r("eu-west-1")];
    assert_eq!((ev.probes_failing, ev.quorum), (2, 2));
    assert_eq!(f.all(&view, "eu-central-1"), vec![Verdict::Healthy; 2]);
}

#[test]
fn default_quorum_is_a_strict_majority_of_observers() {
    // Same service without an explicit quorum: 5 observers → 3 needed.
    let text = WEB.replace("    quorum: 2\n", "");
    let files = [SourceFile {
        path: "web.yaml".into(),
        text,
    }];
    let bundle = load(&files).unwrap();
    assert_eq!(bundle.services[0].health.quorum, None);
    let long_ago = Timestamp(T0.millis() - 86_400_000);
    let mut o = Observations::empty(&bundle, 5);
    for i in 0..2u16 {
        o.probes.push(ProbeVerdict {
            observer: i,
            service: 0,
            r: 1,
            ok: false,
            since: long_ago,
        });
    }
    let view = evaluate(&bundle, &o, &HealthView::unknown(&bundle), T0);
    assert_ne!(
        view.entry(0, 0, 1, 3).verdict,
        Verdict::Down,
        "2 of 5 is not a majority"
    );
    o.probes.push(ProbeVerdict {
        observer: 2,
        service: 0,
        r: 1,
        ok: false,
        since: long_ago,
    });
    let view = evaluate(&bundle, &o, &HealthView::unknown(&bundle), T0);
    assert_eq!(view.entry(0, 0, 1, 3).verdict, Verdict::Down, "3 of 5 is");
    assert_eq!(view.services[0].evidence[1].quorum, 3);
}

#[test]
fn backdated_alarm_flips_in_a_single_pass() {
    let f = Fixture::new();
    let h = &f.svc().health;
    let view = f.healthy();
    // A controller starting mid-incident: the alarm has been red for longer than the window.
    let since = Timestamp(T0.millis() - i64::try_from(h.fail_after_secs * 1000 + 5_000).unwrap());
    let mut o = f.all_web_alarms(AlarmState::Ok, Timestamp::EPOCH);
    f.set(&mut o, &name("eu-west-1", "5xx"), AlarmState::Alarm, since);
    let view = f.eval(&o, &view, T0);
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Degraded; 2]);
    // It took effect when the window ended, not now.
    assert_eq!(
        view.entry(f.web, 0, f.r("eu-west-1"), f.nr()).since,
        since.plus_secs(h.fail_after_secs)
    );
    // Not backdated enough: one pass is not enough.
    let view2 = f.healthy();
    let since = Timestamp(T0.millis() - i64::try_from(h.fail_after_secs * 1000 - 5_000).unwrap());
    f.set(&mut o, &name("eu-west-1", "5xx"), AlarmState::Alarm, since);
    let view2 = f.eval(&o, &view2, T0);
    assert_eq!(f.all(&view2, "eu-west-1"), vec![Verdict::Healthy; 2]);
    // Backdated recovery works the same way: OK since (after the last evaluation that saw
    // it red) longer than the recovery window flips in one pass.
    let ok_since = T0.plus_secs(1);
    let o = f.all_web_alarms(AlarmState::Ok, ok_since);
    let view = f.eval(&o, &view, ok_since.plus_secs(h.recover_after_secs + 1));
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Healthy; 2]);
}

#[test]
fn a_failed_region_does_not_recover_through_silence() {
    let f = Fixture::new();
    let long_ago = Timestamp(T0.millis() - 86_400_000);
    let mut view = f.healthy();
    let mut o = red_5xx_in(&f, "eu-west-1", long_ago);
    view = f.eval(&o, &view, T0);
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Degraded; 2]);
    // Drained: its alarms go to INSUFFICIENT_DATA and nothing else speaks for it.
    for b in &f.svc().health.alarms {
        if f.svc().regions[b.r].name == "eu-west-1" {
            f.set(&mut o, &b.name, AlarmState::InsufficientData, T0);
        }
    }
    for dt in [1, 600, 86_400, 7 * 86_400] {
        view = f.eval(&o, &view, T0.plus_secs(dt));
        assert_eq!(
            f.all(&view, "eu-west-1"),
            vec![Verdict::Degraded; 2],
            "at +{dt}s"
        );
    }
    // Same for a region that was down: silence keeps it down.
    let mut view = f.healthy();
    let mut o = f.all_web_alarms(AlarmState::Ok, long_ago);
    f.probe(&mut o, "eu-central-1", "us-east-1", false, long_ago);
    f.probe(&mut o, "eu-west-1", "us-east-1", false, long_ago);
    view = f.eval(&o, &view, T0);
    assert_eq!(f.all(&view, "us-east-1"), vec![Verdict::Down; 2]);
    let mut o = f.all_web_alarms(AlarmState::Ok, long_ago);
    for b in &f.svc().health.alarms {
        if f.svc().regions[b.r].name == "us-east-1" {
            f.set(&mut o, &b.name, AlarmState::InsufficientData, T0);
        }
    }
    view = f.eval(&o, &view, T0.plus_secs(86_400));
    assert_eq!(f.all(&view, "us-east-1"), vec![Verdict::Down; 2]);
    // Readiness evidence (a quorum of successful probes) does bring it back, after the
    // recovery window.
    let recover_after = f.svc().health.recover_after_secs;
    let t1 = T0.plus_secs(86_400);
    f.probe(&mut o, "eu-central-1", "us-east-1", true, t1);
    f.probe(&mut o, "eu-west-1", "us-east-1", true, t1);
    view = f.eval(&o, &view, t1.plus_secs(recover_after - 1));
    assert_eq!(f.all(&view, "us-east-1"), vec![Verdict::Down; 2]);
    view = f.eval(&o, &view, t1.plus_secs(recover_after));
    assert_eq!(f.all(&view, "us-east-1"), vec![Verdict::Healthy; 2]);
}

#[test]
fn cell_scoped_alarms_affect_only_their_cell() {
    let f = Fixture::new();
    let long_ago = Timestamp(T0.millis() - 86_400_000);
    let mut view = f.healthy();
    let mut o = f.all_web_alarms(AlarmState::Ok, long_ago);
    f.set(
        &mut o,
        &name("eu-west-1", "ios-errors"),
        AlarmState::Alarm,
        long_ago,
    );
    view = f.eval(&o, &view, T0);
    assert_eq!(f.verdict(&view, "ios", "eu-west-1"), Verdict::Degraded);
    assert_eq!(f.verdict(&view, "web", "eu-west-1"), Verdict::Healthy);
    for r in ["eu-central-1", "us-east-1"] {
        assert_eq!(f.all(&view, r), vec![Verdict::Healthy; 2], "{r}");
    }
    // A region-wide alarm hits every cell of its region.
    f.set(
        &mut o,
        &name("us-east-1", "5xx"),
        AlarmState::Alarm,
        long_ago,
    );
    view = f.eval(&o, &view, T0);
    assert_eq!(f.all(&view, "us-east-1"), vec![Verdict::Degraded; 2]);
    assert_eq!(f.verdict(&view, "web", "eu-west-1"), Verdict::Healthy);
}

#[test]
fn load_alarms_set_load_only() {
    let f = Fixture::new();
    let long_ago = Timestamp(T0.millis() - 86_400_000);
    let before = f.healthy();
    let mut o = f.all_web_alarms(AlarmState::Ok, long_ago);
    f.set(
        &mut o,
        &name("eu-central-1", "cpu"),
        AlarmState::Alarm,
        long_ago,
    );
    let view = f.eval(&o, &before, T0.plus_secs(86_400));
    let sh = &view.services[f.web];
    let expected: Vec<bool> = f
        .svc()
        .regions
        .iter()
        .map(|r| r.name == "eu-central-1")
        .collect();
    assert_eq!(sh.load, expected);
    assert_eq!(
        sh.entries, before.services[f.web].entries,
        "verdicts untouched by a load alarm"
    );
    assert!(sh.evidence.iter().all(|e| e.alarms_in_alarm.is_empty()));
    // And it clears when the alarm does.
    f.set(&mut o, &name("eu-central-1", "cpu"), AlarmState::Ok, T0);
    let view = f.eval(&o, &view, T0.plus_secs(86_401));
    assert_eq!(view.services[f.web].load, vec![false; 3]);
}

#[test]
fn running_capacity_makes_an_idle_region_healthy() {
    let f = Fixture::new();
    let svc = &f.bundle.services[f.idle];
    let ecs = svc.ecs.as_ref().unwrap();
    let standby = svc
        .regions
        .iter()
        .position(|r| r.name == "eu-west-1")
        .unwrap();
    let needed = ecs.ready_threshold(ecs.standby_count.max(1));
    assert!(needed >= 1);
    let long_ago = Timestamp(T0.millis() - 86_400_000);
    let mut o = Observations::empty(&f.bundle, 3);
    for b in &svc.health.alarms {
        f.index.record(
            &mut o,
            &b.name,
            AlarmObservation {
                state: AlarmState::InsufficientData,
                since: long_ago,
            },
        );
    }
    // Below the readiness threshold: unknown.
    o.running[f.idle][standby] = Some(needed - 1);
    let view = evaluate(&f.bundle, &o, &HealthView::unknown(&f.bundle), T0);
    assert_eq!(view.entry(f.idle, 0, standby, 2).verdict, Verdict::Unknown);
    // At the threshold: healthy (readiness, not silence).
    o.running[f.idle][standby] = Some(needed);
    let view = evaluate(&f.bundle, &o, &HealthView::unknown(&f.bundle), T0);
    assert_eq!(view.entry(f.idle, 0, standby, 2).verdict, Verdict::Healthy);
    assert!(view.services[f.idle].evidence[standby].capacity_ready);
}

#[test]
fn a_reload_with_a_different_shape_starts_unknown() {
    let f = Fixture::new();
    let mut view = f.healthy();
    // A stale view from a bundle with fewer cells.
    view.services[f.web].entries.truncate(1);
    let o = f.all_web_alarms(AlarmState::InsufficientData, T0);
    let next = f.eval(&o, &view, T0);
    assert_eq!(
        next.services[f.web].entries.len(),
        f.svc().cells.len() * f.nr()
    );
    assert!(
        next.services[f.web]
            .entries
            .iter()
            .all(|e| e.verdict == Verdict::Unknown)
    );
}

/// Every failure alarm of `web` OK since `since`, except `region`'s, which are unread (its
/// CloudWatch unreachable).
/// Every failure alarm of `web` OK since long ago except `region`'s 5xx, in ALARM since
/// `since`.
fn red_5xx_in(f: &Fixture, region: &str, since: Timestamp) -> Observations {
    let mut o = f.all_web_alarms(AlarmState::Ok, Timestamp(T0.millis() - 86_400_000));
    f.set(&mut o, &name(region, "5xx"), AlarmState::Alarm, since);
    o
}

fn alarms_unread_in(f: &Fixture, region: &str, since: Timestamp) -> Observations {
    let mut o = f.empty();
    for b in &f.svc().health.alarms {
        if b.role == AlarmRole::Failure && f.svc().regions[b.r].name != region {
            f.set(&mut o, &b.name, AlarmState::Ok, since);
        }
    }
    o
}

#[test]
fn unreadable_alarms_do_not_let_old_probes_clear_a_failure() {
    let f = Fixture::new();
    let long_ago = Timestamp(T0.millis() - 86_400_000);
    let mut view = f.healthy();
    let mut o = red_5xx_in(&f, "eu-west-1", long_ago);
    // The failure is alarm-only: every observer's probe has passed all along.
    for observer in ["eu-central-1", "us-east-1", "eu-west-1"] {
        f.probe(&mut o, observer, "eu-west-1", true, long_ago);
    }
    view = f.eval(&o, &view, T0);
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Degraded; 2]);
    // eu-west-1's CloudWatch becomes unreachable: the alarm that reported the failure is
    // silent, and probes that never saw it are no evidence that it ended.
    let mut o = alarms_unread_in(&f, "eu-west-1", long_ago);
    for observer in ["eu-central-1", "us-east-1", "eu-west-1"] {
        f.probe(&mut o, observer, "eu-west-1", true, long_ago);
    }
    for dt in [1, 600, 86_400] {
        view = f.eval(&o, &view, T0.plus_secs(dt));
        assert_eq!(
            f.all(&view, "eu-west-1"),
            vec![Verdict::Degraded; 2],
            "at +{dt}s"
        );
    }
}

#[test]
fn recovery_from_probes_is_not_dated_before_the_failure() {
    let f = Fixture::new();
    let long_ago = Timestamp(T0.millis() - 86_400_000);
    let recover_after = f.svc().health.recover_after_secs;
    let mut view = f.healthy();
    let mut o = red_5xx_in(&f, "eu-west-1", T0);
    for observer in ["eu-central-1", "us-east-1", "eu-west-1"] {
        f.probe(&mut o, observer, "eu-west-1", true, long_ago);
    }
    let fail_after = f.svc().health.fail_after_secs;
    view = f.eval(&o, &view, T0.plus_secs(fail_after));
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Degraded; 2]);
    let failed_at = view.entry(f.web, 0, f.r("eu-west-1"), f.nr()).since;
    // Drained, its alarms go quiet; the probes (passing since long ago) speak for it, but
    // only from when it failed: the recovery window runs from there.
    for b in &f.svc().health.alarms {
        if f.svc().regions[b.r].name == "eu-west-1" {
            f.set(&mut o, &b.name, AlarmState::InsufficientData, T0);
        }
    }
    let t = failed_at.plus_secs(recover_after - 1);
    view = f.eval(&o, &view, t);
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Degraded; 2]);
    view = f.eval(&o, &view, failed_at.plus_secs(recover_after));
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Healthy; 2]);
    assert_eq!(
        view.entry(f.web, 0, f.r("eu-west-1"), f.nr()).since,
        failed_at.plus_secs(recover_after),
        "healthy from the end of the window, not from the probes' old since"
    );
}

#[test]
fn recovery_from_alarms_is_not_dated_before_the_failure() {
    let f = Fixture::new();
    let long_ago = Timestamp(T0.millis() - 86_400_000);
    let fail_after = f.svc().health.fail_after_secs;
    let recover_after = f.svc().health.recover_after_secs;
    let mut view = f.healthy();
    // A failure only the probes see: every observer fails to reach eu-west-1, while its
    // alarms stay OK (since long ago).
    let mut o = f.all_web_alarms(AlarmState::Ok, long_ago);
    for observer in ["eu-central-1", "us-east-1", "eu-west-1"] {
        f.probe(&mut o, observer, "eu-west-1", false, T0);
    }
    view = f.eval(&o, &view, T0.plus_secs(fail_after));
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Down; 2]);
    let failed_at = view.entry(f.web, 0, f.r("eu-west-1"), f.nr()).since;
    // The probes split (no quorum either way, e.g. one observer just restarted): the
    // alarms, OK all along, speak for the region, but only from when it failed.
    let mut o = f.all_web_alarms(AlarmState::Ok, long_ago);
    f.probe(
        &mut o,
        "eu-central-1",
        "eu-west-1",
        true,
        failed_at.plus_secs(5),
    );
    f.probe(&mut o, "us-east-1", "eu-west-1", false, T0);
    view = f.eval(&o, &view, failed_at.plus_secs(recover_after - 1));
    assert_eq!(
        f.all(&view, "eu-west-1"),
        vec![Verdict::Down; 2],
        "recovered within a pass on alarms that never saw the failure"
    );
    view = f.eval(&o, &view, failed_at.plus_secs(recover_after));
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Healthy; 2]);
}

#[test]
fn recovery_starts_when_the_failure_was_last_seen() {
    let f = Fixture::new();
    let long_ago = Timestamp(T0.millis() - 86_400_000);
    let fail_after = f.svc().health.fail_after_secs;
    let recover_after = f.svc().health.recover_after_secs;
    let mut view = f.healthy();
    // An alarm-only failure, longer than the recovery window; probes pass all along.
    let mut o = red_5xx_in(&f, "eu-west-1", T0);
    for observer in ["eu-central-1", "us-east-1", "eu-west-1"] {
        f.probe(&mut o, observer, "eu-west-1", true, long_ago);
    }
    let last_red = T0.plus_secs(fail_after + 3 * recover_after);
    for t in [T0.plus_secs(fail_after), last_red] {
        view = f.eval(&o, &view, t);
        assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Degraded; 2]);
    }
    // Drained, its alarms read INSUFFICIENT_DATA: only the old probes speak for it, and
    // the window runs from the last evaluation that saw it red (simulate seed 4892).
    for b in &f.svc().health.alarms {
        if f.svc().regions[b.r].name == "eu-west-1" {
            f.set(&mut o, &b.name, AlarmState::InsufficientData, last_red);
        }
    }
    view = f.eval(&o, &view, last_red.plus_secs(10));
    assert_eq!(
        f.all(&view, "eu-west-1"),
        vec![Verdict::Degraded; 2],
        "recovered at once although it was red 10 s ago"
    );
    view = f.eval(&o, &view, last_red.plus_secs(recover_after));
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Healthy; 2]);
}
