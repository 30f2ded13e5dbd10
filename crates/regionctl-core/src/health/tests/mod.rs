//! Health evaluation tests: hysteresis both ways, evidence vs silence, observer quorum,
//! cell-scoped and load alarms. Every expectation is derived from the policy's own
//! settings (`fail_after_secs`, `recover_after_secs`, `quorum`), not from running the code.
//!
//! The fixtures live here; the tests, by topic, in `hysteresis`, `evidence`, `quorum` and
//! `recovery_dating`.

use super::*;
use crate::policy::raw::SignalRole;
use crate::policy::{Service, SourceFile, load};

mod evidence;
mod hysteresis;
mod quorum;
mod recovery_dating;
mod roles;

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

fn bundle(web: &str) -> Bundle {
    let files = [
        SourceFile {
            path: "web.yaml".into(),
            text: web.into(),
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
        Fixture::with(WEB)
    }

    /// The fixture with `web` as the web service's policy text.
    fn with(web: &str) -> Self {
        let bundle = bundle(web);
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
            if b.role == SignalRole::Failure {
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
        self.probe_as(o, SignalRole::Failure, (observer, region), ok, since);
    }

    /// One verdict of `observer`'s probes of `role` about `region`.
    fn probe_as(
        &self,
        o: &mut Observations,
        role: SignalRole,
        (observer, region): (&str, &str),
        ok: bool,
        since: Timestamp,
    ) {
        o.probes.push(ProbeVerdict {
            observer: self.bundle.region_index(observer).unwrap(),
            service: self.web,
            r: self.r(region),
            ok,
            since,
            role,
        });
    }

    fn verdict(&self, view: &HealthView, cell: &str, region: &str) -> Verdict {
        view.entry(self.web, self.c(cell), self.r(region)).verdict
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

/// Every failure alarm of `web` OK since long ago except `region`'s 5xx, in ALARM since
/// `since`.
fn red_5xx_in(f: &Fixture, region: &str, since: Timestamp) -> Observations {
    let mut o = f.all_web_alarms(AlarmState::Ok, Timestamp(T0.millis() - 86_400_000));
    f.set(&mut o, &name(region, "5xx"), AlarmState::Alarm, since);
    o
}
