//! Planner tests, on the example bundle (`policies/`) and on small inline bundles.
//! Expectations come from the policies' own numbers and the rules in DESIGN.md §4 and §7.
//!
//! The fixtures live here; the tests, by topic, in `evacuation`, `capacity`, `failback`,
//! `controls` and `switches`.

use super::*;
use crate::controls::{Override, OverrideAction};
use crate::health::Entry;
use crate::live::EcsState;
use crate::policy::{SourceFile, load};

mod capacity;
mod controls;
mod evacuation;
mod failback;
mod switches;

const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);
const DAY_MS: i64 = 86_400_000;

fn ago(secs: u64) -> Timestamp {
    Timestamp(NOW.millis() - i64::try_from(secs * 1000).unwrap())
}

/// The example bundle, read from `policies/` (the core itself reads no files).
#[allow(clippy::disallowed_methods)]
fn example() -> Bundle {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    let files: Vec<SourceFile> = paths
        .iter()
        .map(|p| SourceFile {
            path: format!("policies/{}", p.file_name().unwrap().to_string_lossy()),
            text: std::fs::read_to_string(p).unwrap(),
        })
        .collect();
    assert!(files.len() >= 6, "example policies found: {}", files.len());
    match load(&files) {
        Ok(b) => b,
        Err(d) => panic!("example bundle must load: {d:#?}"),
    }
}

fn inline(docs: &[&str]) -> Bundle {
    let files: Vec<SourceFile> = docs
        .iter()
        .enumerate()
        .map(|(i, t)| SourceFile {
            path: format!("inline{i}.yaml"),
            text: (*t).to_string(),
        })
        .collect();
    match load(&files) {
        Ok(b) => b,
        Err(d) => panic!("inline bundle must load: {d:#?}"),
    }
}

/// Everything healthy for a day, except what `f(service, region, cell)` says (since `since`).
fn view(
    bundle: &Bundle,
    since: Timestamp,
    f: impl Fn(&str, &str, &str) -> Option<Verdict>,
) -> HealthView {
    let mut v = HealthView::assume(bundle, Timestamp(NOW.millis() - DAY_MS), |_, _, _| {
        Verdict::Healthy
    });
    for (s, svc) in bundle.services.iter().enumerate() {
        for (c, cell) in svc.cells.iter().enumerate() {
            for (r, sr) in svc.regions.iter().enumerate() {
                if let Some(verdict) = f(&svc.name, &sr.name, &cell.id) {
                    v.services[s].entries[(c, r)] = Entry {
                        verdict,
                        since,
                        ..Entry::UNKNOWN
                    };
                }
            }
        }
    }
    v
}

fn run(
    bundle: &Bundle,
    health: &HealthView,
    live: &LiveState,
    controls: &Controls,
    now: Timestamp,
) -> Plan {
    let p = plan(Inputs {
        bundle,
        health,
        live,
        controls,
        now,
    });
    assert!(is_acyclic(&p.steps), "steps must form a DAG in order");
    for (i, s) in p.steps.iter().enumerate() {
        assert_eq!(s.id, i);
    }
    p
}

/// Applies a plan as the executor would: weights, desired (and running) counts, ALB splits,
/// and the discretionary-change timestamp.
fn apply(plan: &Plan, live: &mut LiveState, now: Timestamp) {
    for sp in &plan.services {
        let l = &mut live.services[sp.service];
        l.weights = sp.target_weights.map(|w| Some(*w));
        l.switches = sp.target_switches.map(|on| Some(*on));
        for (r, d) in sp.target_desired.iter().enumerate() {
            if let Some(d) = d {
                l.ecs[r] = Some(EcsState {
                    desired: *d,
                    running: *d,
                    pending: 0,
                });
            }
        }
        if plan.steps_of(sp.service).any(|s| s.discretionary) {
            l.last_discretionary_change = Some(now);
        }
    }
    for st in &plan.steps {
        if let Action::SetAlb { r, to, .. } = st.action {
            live.services[st.service].alb[r] = Some(to);
        }
    }
}

struct Svc<'a> {
    b: &'a Bundle,
    s: usize,
}

impl<'a> Svc<'a> {
    fn new(b: &'a Bundle, name: &str) -> Self {
        Svc {
            b,
            s: b.service_index(name).unwrap(),
        }
    }
    fn svc(&self) -> &'a crate::policy::Service {
        &self.b.services[self.s]
    }
    fn r(&self, name: &str) -> usize {
        self.svc()
            .regions
            .iter()
            .position(|r| r.name == name)
            .unwrap()
    }
    fn nr(&self) -> usize {
        self.svc().regions.len()
    }
    fn sp<'p>(&self, p: &'p Plan) -> &'p ServicePlan {
        p.services.iter().find(|x| x.service == self.s).unwrap()
    }
    fn steps<'p>(&self, p: &'p Plan) -> Vec<&'p Step> {
        p.steps_of(self.s).collect()
    }
    fn alerts(&self, p: &Plan) -> Vec<AlertKind> {
        p.alerts
            .iter()
            .filter(|a| a.service == self.svc().name)
            .map(|a| a.kind)
            .collect()
    }
    fn shifts<'p>(&self, p: &'p Plan) -> Vec<(&'p Step, ShiftPurpose, &'p [WeightChange])> {
        self.steps(p)
            .into_iter()
            .filter_map(|st| match &st.action {
                Action::SetWeights { purpose, changes } => Some((st, *purpose, changes.as_slice())),
                _ => None,
            })
            .collect()
    }
}

/// The weights (or states) of a service with one cell.
fn one_cell<T>(values: Vec<T>) -> Grid<T> {
    let regions = values.len();
    Grid::from_vec(1, regions, values).unwrap()
}

fn share(row: &[u8], r: usize) -> f64 {
    let total: u32 = row.iter().map(|w| u32::from(*w)).sum();
    f64::from(row[r]) / f64::from(total)
}

const TRIO: &str = r#"apiVersion: regionctl/v1
kind: ServicePolicy
metadata:
  name: trio
spec:
  tier: 2
  strategy: active-active
  mode: enforce
  regions:
    - name: eu-central-1
      weight: 40
    - name: eu-west-1
      weight: 30
    - name: us-east-1
      weight: 30
  health:
    alarms:
      - name: "trio-{region}-5xx"
  routing:
    hosted_zone_id: Z0TRIOEXAMPLE00001
    record_name: "trio.example.com"
    value: "trio.{region}.example.com"
  safety:
    min_healthy_regions: 2
"#;
