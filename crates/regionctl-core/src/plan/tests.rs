//! Planner tests, on the example bundle (`policies/`) and on small inline bundles.
//! Expectations come from the policies' own numbers and the rules in DESIGN.md §4 and §7.

use super::*;
use crate::controls::{Override, OverrideAction};
use crate::health::Entry;
use crate::live::EcsState;
use crate::policy::{SourceFile, load};

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
        let nr = svc.regions.len();
        for (c, cell) in svc.cells.iter().enumerate() {
            for (r, sr) in svc.regions.iter().enumerate() {
                if let Some(verdict) = f(&svc.name, &sr.name, &cell.id) {
                    v.services[s].entries[c * nr + r] = Entry {
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
        l.weights = sp.target_weights.iter().map(|w| Some(*w)).collect();
        l.switches = sp.target_switches.iter().map(|on| Some(*on)).collect();
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
    fn row<'w>(&self, w: &'w [u8], c: usize) -> &'w [u8] {
        &w[c * self.nr()..(c + 1) * self.nr()]
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

fn share(row: &[u8], r: usize) -> f64 {
    let total: u32 = row.iter().map(|w| u32::from(*w)).sum();
    f64::from(row[r]) / f64::from(total)
}

#[test]
fn steady_state_needs_no_steps() {
    let b = example();
    let live = LiveState::steady(&b);
    let p = run(
        &b,
        &view(&b, NOW, |_, _, _| None),
        &live,
        &Controls::default(),
        NOW,
    );
    assert!(p.steps.is_empty(), "{:#?}", p.steps);
    assert!(p.alerts.is_empty(), "{:#?}", p.alerts);
    for sp in &p.services {
        let l = &live.services[sp.service];
        assert_eq!(
            sp.target_weights,
            l.weights.iter().map(|w| w.unwrap()).collect::<Vec<_>>()
        );
    }
}

#[test]
fn active_active_evacuation_zeroes_only_the_failing_region() {
    let b = example();
    let live = LiveState::steady(&b);
    let h = view(&b, NOW, |_, r, _| {
        (r == "eu-west-1").then_some(Verdict::Down)
    });
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    for name in ["playback", "content", "catalog"] {
        let x = Svc::new(&b, name);
        let ew = x.r("eu-west-1");
        let cur = &live.services[x.s].weights;
        let tgt = &x.sp(&p).target_weights;
        for c in 0..x.svc().cells.len() {
            for r in 0..x.nr() {
                let before = cur[c * x.nr() + r].unwrap();
                let after = tgt[c * x.nr() + r];
                if r == ew {
                    assert_eq!(after, 0, "{name} cell {c}: the failing region must go to 0");
                } else if before > 0 {
                    assert_eq!(
                        after, before,
                        "{name} cell {c} region {r}: healthy serving records keep their weight"
                    );
                }
            }
            assert!(
                x.row(tgt, c).iter().any(|w| *w > 0),
                "{name} cell {c}: not all-zero"
            );
        }
        let shifts = x.shifts(&p);
        assert_eq!(shifts.len(), 1, "{name}: one evacuation step");
        let (st, purpose, changes) = shifts[0];
        assert_eq!(purpose, ShiftPurpose::Evacuate);
        assert!(!st.discretionary, "evacuation is exempt from step limits");
        assert!(
            changes
                .iter()
                .all(|ch| usize::from(ch.r) == ew && ch.to == 0),
            "{name}: {changes:?}"
        );
        assert!(st.reasons.iter().any(
            |r| matches!(r, Reason::RegionUnhealthy { r, verdict: Verdict::Down, .. } if *r == ew)
        ));
        assert!(x.steps(&p).iter().all(|s| !s.discretionary));
    }
    // content's `na` cell never used eu-west-1: nothing changes there.
    let x = Svc::new(&b, "content");
    let na = x.svc().cells.iter().position(|c| c.id == "na").unwrap();
    assert_eq!(
        x.row(&x.sp(&p).target_weights, na),
        x.svc().cells[na].baseline_weights.as_slice()
    );
}

#[test]
fn receivers_are_pre_scaled_before_the_shift() {
    let b = example();
    let live = LiveState::steady(&b);
    let h = view(&b, NOW, |_, r, _| {
        (r == "eu-west-1").then_some(Verdict::Down)
    });
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    let x = Svc::new(&b, "playback");
    let ecs = x.svc().ecs.as_ref().unwrap();
    let ew = x.r("eu-west-1");
    let tgt = &x.sp(&p).target_weights;
    let (shift, _, _) = x.shifts(&p)[0];
    let mut scaled = Vec::new();
    for r in 0..x.nr() {
        if r == ew {
            continue;
        }
        // ceil(full × new share / baseline share), share averaged over cells.
        let nc = x.svc().cells.len();
        let new_share: f64 = (0..nc).map(|c| share(x.row(tgt, c), r)).sum::<f64>() / nc as f64;
        let expected =
            (f64::from(ecs.full_count) * new_share / x.svc().baseline_share(r)).ceil() as u32;
        let step = x
            .steps(&p)
            .into_iter()
            .find(|s| matches!(s.action, Action::Scale { r: sr, .. } if sr == r))
            .unwrap_or_else(|| panic!("receiver {r} must be scaled"));
        let Action::Scale { from, to, .. } = step.action else {
            unreachable!()
        };
        assert_eq!(from, live.services[x.s].ecs[r].unwrap().desired);
        assert_eq!(to, expected.max(from));
        assert!(to > from);
        // Attempted first, but an evacuation is not held on a failing region when a
        // receiver's scale call fails (no wait step gates active-active).
        assert!(
            step.id < shift.id,
            "the receiver is pre-scaled before the shift"
        );
        assert!(
            !shift.after.contains(&step.id),
            "an evacuation does not wait for a pre-scale to succeed"
        );
        assert_eq!(x.sp(&p).target_desired[r], Some(to));
        scaled.push(r);
    }
    assert_eq!(scaled.len(), x.nr() - 1);
    // Never scale down during an incident: the failing region keeps its capacity.
    assert!(
        !x.steps(&p)
            .iter()
            .any(|s| matches!(s.action, Action::Scale { r, .. } if r == ew))
    );
    assert_eq!(
        x.sp(&p).target_desired[ew],
        live.services[x.s].ecs[ew].map(|e| e.desired)
    );
}

#[test]
fn hard_down_active_active_with_alb_is_covered_by_lambda() {
    let b = example();
    let live = LiveState::steady(&b);
    let h = view(&b, NOW, |_, r, _| {
        (r == "eu-west-1").then_some(Verdict::Down)
    });
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    let x = Svc::new(&b, "playback");
    let ew = x.r("eu-west-1");
    let (shift, _, _) = x.shifts(&p)[0];
    assert!(
        !x.steps(&p)
            .iter()
            .any(|s| matches!(s.action, Action::WaitForCapacity { .. })),
        "hard down: no wait"
    );
    for r in (0..x.nr()).filter(|r| *r != ew) {
        let alb = x
            .steps(&p)
            .into_iter()
            .find(|s| matches!(s.action, Action::SetAlb { r: ar, .. } if ar == r))
            .unwrap_or_else(|| panic!("receiver {r} gets Lambda cover"));
        let Action::SetAlb { to, .. } = alb.action else {
            unreachable!()
        };
        let want = x.sp(&p).target_desired[r].unwrap();
        let running = live.services[x.s].ecs[r].unwrap().running;
        assert!(running < want);
        assert!(to.lambda > 0 && to.fargate + to.lambda == 100, "{to:?}");
        assert!(
            alb.reasons
                .iter()
                .any(|re| matches!(re, Reason::LambdaCover { r: lr, .. } if *lr == r))
        );
        assert!(alb.id < shift.id, "Lambda cover is set before the shift");
        assert!(!shift.after.contains(&alb.id));
    }
    assert!(
        shift
            .reasons
            .iter()
            .any(|re| matches!(re, Reason::LambdaCover { .. }))
    );
}

#[test]
fn warm_standby_degraded_source_waits_for_capacity_first() {
    let b = example();
    let x = Svc::new(&b, "auth");
    let (ec, ew) = (x.r("eu-central-1"), x.r("eu-west-1"));
    let ecs = x.svc().ecs.as_ref().unwrap();
    let live = LiveState::steady(&b);
    let h = view(&b, NOW, |s, r, _| {
        (s == "auth" && r == "eu-central-1").then_some(Verdict::Degraded)
    });
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    let steps = x.steps(&p);
    let scale = steps
        .iter()
        .find(|s| matches!(s.action, Action::Scale { r, .. } if r == ew))
        .expect("the standby is scaled up");
    let Action::Scale { from, to, .. } = scale.action else {
        unreachable!()
    };
    assert_eq!(
        (from, to),
        (ecs.standby_count, ecs.full_count),
        "standby scaled to full"
    );
    let wait = steps
        .iter()
        .find(|s| matches!(s.action, Action::WaitForCapacity { .. }))
        .expect("capacity first: a wait step");
    let Action::WaitForCapacity {
        r,
        running,
        needed,
        timeout_secs,
    } = wait.action
    else {
        unreachable!()
    };
    assert_eq!(r, ew);
    assert_eq!(running, ecs.standby_count);
    assert_eq!(needed, ecs.ready_threshold(ecs.full_count));
    let bound = x.svc().safety.max_degraded_hold_secs.min(ecs.max_wait_secs);
    assert_eq!(timeout_secs, bound);
    assert!(wait.after.contains(&scale.id));
    assert!(
        wait.reasons
            .iter()
            .any(|re| matches!(re, Reason::CapacityFirst { .. }))
    );
    // Traffic stays on the degraded region only under the named exemption; any shift in
    // this plan comes after the wait.
    assert!(x.sp(&p).exemptions.contains(&Exemption::CapacityWait {
        r: ec,
        until: NOW.plus_secs(bound)
    }));
    for (st, _, _) in x.shifts(&p) {
        assert!(st.after.contains(&wait.id));
    }
    assert!(x.alerts(&p).is_empty());

    // Capacity arrived: the shift happens, the whole share at once (evacuation).
    let mut live2 = live.clone();
    live2.services[x.s].ecs[ew] = Some(EcsState {
        desired: ecs.full_count,
        running: ecs.full_count,
        pending: 0,
    });
    let p2 = run(&b, &h, &live2, &Controls::default(), NOW.plus_secs(60));
    assert!(
        !x.steps(&p2)
            .iter()
            .any(|s| matches!(s.action, Action::WaitForCapacity { .. }))
    );
    let sp2 = x.sp(&p2);
    assert_eq!(sp2.target_weights[ec], 0);
    assert!(sp2.target_weights[ew] > 0);
    assert!(!sp2.partial);
    assert_eq!(x.shifts(&p2).len(), 1);
}

#[test]
fn warm_standby_plan_shifts_after_the_wait() {
    let b = example();
    let x = Svc::new(&b, "auth");
    let live = LiveState::steady(&b);
    let h = view(&b, NOW, |s, r, _| {
        (s == "auth" && r == "eu-central-1").then_some(Verdict::Degraded)
    });
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    let wait = x
        .steps(&p)
        .into_iter()
        .find(|s| matches!(s.action, Action::WaitForCapacity { .. }))
        .unwrap();
    let shifts = x.shifts(&p);
    assert_eq!(shifts.len(), 1, "scale → wait → shift");
    assert!(shifts[0].0.after.contains(&wait.id));
    assert_eq!(x.sp(&p).target_weights[x.r("eu-central-1")], 0);
}

#[test]
fn warm_standby_hold_expires_into_a_partial_shift_with_alert() {
    let b = example();
    let x = Svc::new(&b, "auth");
    let (ec, ew) = (x.r("eu-central-1"), x.r("eu-west-1"));
    let ecs = x.svc().ecs.as_ref().unwrap();
    let hold = x.svc().safety.max_degraded_hold_secs;
    let mut live = LiveState::steady(&b);
    // Scaled, but only a fifth of the capacity came up.
    let running = ecs.full_count / 5;
    live.services[x.s].ecs[ew] = Some(EcsState {
        desired: ecs.full_count,
        running,
        pending: 0,
    });
    let since = ago(hold);
    let h = view(&b, since, |s, r, _| {
        (s == "auth" && r == "eu-central-1").then_some(Verdict::Degraded)
    });
    // Just before the bound: still waiting.
    let bound = hold.min(ecs.max_wait_secs);
    let p = run(
        &b,
        &h,
        &live,
        &Controls::default(),
        since.plus_secs(bound - 1),
    );
    assert!(
        x.steps(&p)
            .iter()
            .any(|s| matches!(s.action, Action::WaitForCapacity { .. }))
    );
    assert!(!x.sp(&p).partial);
    // After max_degraded_hold_secs: shift what capacity carries, record partial, alert.
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    let sp = x.sp(&p);
    assert!(sp.partial);
    assert!(x.alerts(&p).contains(&AlertKind::Partial));
    assert!(sp.exemptions.contains(&Exemption::Partial { r: ec }));
    let shifts = x.shifts(&p);
    assert_eq!(shifts.len(), 1);
    assert_eq!(shifts[0].1, ShiftPurpose::Partial);
    assert!(
        shifts[0]
            .0
            .reasons
            .iter()
            .any(|r| matches!(r, Reason::CapacityTimeout { .. }))
    );
    let moved = share(&sp.target_weights, ew);
    let k = f64::from(running) / f64::from(ecs.ready_threshold(ecs.full_count));
    assert!(
        (moved - k).abs() <= 0.01 + 1e-9,
        "moved {moved}, capacity carries {k}"
    );
    assert!(sp.target_weights[ec] > 0 && moved > 0.0);
}

#[test]
fn warm_standby_hard_down_shifts_at_once_with_alert() {
    let b = example();
    let x = Svc::new(&b, "auth");
    let (ec, ew) = (x.r("eu-central-1"), x.r("eu-west-1"));
    let live = LiveState::steady(&b);
    let h = view(&b, NOW, |s, r, _| {
        (s == "auth" && r == "eu-central-1").then_some(Verdict::Down)
    });
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    assert!(
        !x.steps(&p)
            .iter()
            .any(|s| matches!(s.action, Action::WaitForCapacity { .. }))
    );
    let shifts = x.shifts(&p);
    assert_eq!(shifts.len(), 1);
    let (st, purpose, _) = shifts[0];
    assert_eq!(purpose, ShiftPurpose::Evacuate);
    assert!(
        st.reasons
            .iter()
            .any(|r| matches!(r, Reason::SourceHardDown { r } if *r == ec))
    );
    assert!(x.alerts(&p).contains(&AlertKind::ShiftBeforeCapacity));
    let sp = x.sp(&p);
    assert_eq!(
        (sp.target_weights[ec] == 0, sp.target_weights[ew] > 0),
        (true, true)
    );
    let scale = x
        .steps(&p)
        .into_iter()
        .find(|s| matches!(s.action, Action::Scale { r, .. } if r == ew))
        .unwrap();
    // The source is hard down: the shift goes at once, the scale is attempted first.
    assert!(scale.id < st.id && !st.after.contains(&scale.id));
}

#[test]
fn backup_restore_records_a_restore_and_moves_nothing() {
    let b = example();
    let x = Svc::new(&b, "bookmarks");
    let live = LiveState::steady(&b);
    let h = view(&b, NOW, |s, r, _| {
        (s == "bookmarks" && r == "eu-central-1").then_some(Verdict::Down)
    });
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    let steps = x.steps(&p);
    assert_eq!(steps.len(), 1);
    assert_eq!(
        steps[0].action,
        Action::RestoreRequired {
            r: x.r("eu-central-1")
        }
    );
    assert_eq!(steps[0].plane, Plane::None);
    assert!(x.alerts(&p).contains(&AlertKind::RestoreRequired));
    let sp = x.sp(&p);
    assert!(sp.exemptions.contains(&Exemption::BackupRestore));
    let cur: Vec<u8> = live.services[x.s]
        .weights
        .iter()
        .map(|w| w.unwrap())
        .collect();
    assert_eq!(sp.target_weights, cur);
    // The standby failing needs no restore (it serves nothing).
    let h = view(&b, NOW, |s, r, _| {
        (s == "bookmarks" && r == "eu-west-1").then_some(Verdict::Down)
    });
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    assert!(x.steps(&p).is_empty());
}

#[test]
fn all_regions_down_holds_and_alerts() {
    let b = example();
    let live = LiveState::steady(&b);
    let h = view(&b, NOW, |_, _, _| Some(Verdict::Down));
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    for name in ["auth", "catalog", "content", "playback", "search"] {
        let x = Svc::new(&b, name);
        assert!(x.steps(&p).is_empty(), "{name}: {:#?}", x.steps(&p));
        assert!(x.alerts(&p).contains(&AlertKind::HoldFailStatic), "{name}");
        let cur: Vec<u8> = live.services[x.s]
            .weights
            .iter()
            .map(|w| w.unwrap())
            .collect();
        assert_eq!(x.sp(&p).target_weights, cur, "{name}: fail static");
        assert!(x.sp(&p).exemptions.contains(&Exemption::FailStatic));
    }
    // Unknown everywhere is the same: never route into unknown regions.
    let h = view(&b, NOW, |_, _, _| Some(Verdict::Unknown));
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    assert!(
        p.steps
            .iter()
            .all(|s| matches!(s.action, Action::RestoreRequired { .. })),
        "{:#?}",
        p.steps
    );
}

#[test]
fn unknown_regions_receive_no_traffic() {
    let b = example();
    let live = LiveState::steady(&b);
    // playback: us-east-1 unknown → evacuated like an unhealthy region.
    let h = view(&b, NOW, |s, r, _| {
        (s == "playback" && r == "us-east-1").then_some(Verdict::Unknown)
    });
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    let x = Svc::new(&b, "playback");
    let ue = x.r("us-east-1");
    for c in 0..x.svc().cells.len() {
        assert_eq!(x.row(&x.sp(&p).target_weights, c)[ue], 0);
    }
    assert!(
        x.shifts(&p)[0]
            .0
            .reasons
            .iter()
            .any(|r| matches!(r, Reason::RegionUnknown { r, .. } if *r == ue))
    );
    // content: `na` is served by us-east-1 first, then [eu-west-1, eu-central-1]. With
    // us-east-1 down and eu-west-1 unknown, only eu-central-1 may receive na's traffic.
    let h = view(&b, NOW, |s, r, _| match (s, r) {
        ("content", "us-east-1") => Some(Verdict::Down),
        ("content", "eu-west-1") => Some(Verdict::Unknown),
        _ => None,
    });
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    let x = Svc::new(&b, "content");
    let traffic = resulting_traffic(&b, &p);
    for cell in ["eu", "na"] {
        let split = &traffic["content"][cell];
        assert_eq!(split["eu-central-1"], 100, "{cell}: {split:?}");
    }
    let na = x.svc().cells.iter().position(|c| c.id == "na").unwrap();
    assert_eq!(x.row(&x.sp(&p).target_weights, na)[x.r("eu-west-1")], 0);
    // auth: failing over into an unknown standby is not allowed: hold and alert.
    let h = view(&b, NOW, |s, r, _| match (s, r) {
        ("auth", "eu-central-1") => Some(Verdict::Down),
        ("auth", "eu-west-1") => Some(Verdict::Unknown),
        _ => None,
    });
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    let x = Svc::new(&b, "auth");
    assert!(x.shifts(&p).is_empty());
    assert!(x.alerts(&p).contains(&AlertKind::HoldFailStatic));
}

/// Evacuates playback's eu-west-1, applies it, then lets the region recover at `healthy_at`.
fn playback_after_evacuation(b: &Bundle) -> LiveState {
    let mut live = LiveState::steady(b);
    let h = view(b, ago(7200), |s, r, _| {
        (s == "playback" && r == "eu-west-1").then_some(Verdict::Down)
    });
    let p = run(b, &h, &live, &Controls::default(), ago(7200));
    apply(&p, &mut live, ago(7200));
    let x = Svc::new(b, "playback");
    for c in 0..x.svc().cells.len() {
        assert_eq!(
            live.services[x.s].weights[c * x.nr() + x.r("eu-west-1")],
            Some(0)
        );
    }
    live
}

#[test]
fn failback_is_staged_and_bounded_per_step() {
    let b = example();
    let x = Svc::new(&b, "playback");
    let safety = &x.svc().safety;
    let ew = x.r("eu-west-1");
    let mut live = playback_after_evacuation(&b);
    let healthy_since = ago(safety.failback_after_healthy_secs + 1);
    let h = view(&b, healthy_since, |s, r, _| {
        (s == "playback" && r == "eu-west-1").then_some(Verdict::Healthy)
    });
    let baseline = x.svc().baseline_share(ew);
    let mut now = NOW;
    let mut stages_seen = Vec::new();
    for _ in 0..10 {
        let p = run(&b, &h, &live, &Controls::default(), now);
        let fb: Vec<_> = x
            .shifts(&p)
            .into_iter()
            .filter(|(_, pu, _)| *pu == ShiftPurpose::Failback)
            .collect();
        if fb.is_empty() {
            assert!(
                x.steps(&p)
                    .iter()
                    .all(|s| !matches!(s.action, Action::SetWeights { .. }))
            );
            break;
        }
        assert!(fb[0].0.discretionary);
        assert!(
            fb[0]
                .0
                .reasons
                .iter()
                .any(|r| matches!(r, Reason::Failback { r, .. } if *r == ew))
        );
        let before: Vec<u8> = live.services[x.s]
            .weights
            .iter()
            .map(|w| w.unwrap())
            .collect();
        let after = &x.sp(&p).target_weights;
        for c in 0..x.svc().cells.len() {
            let from = x.row(&before, c);
            let to = x.row(after, c);
            let moved: f64 = (0..x.nr())
                .map(|r| (share(to, r) - share(from, r)).max(0.0))
                .sum::<f64>()
                * 100.0;
            assert!(
                moved <= f64::from(safety.max_shift_percent_per_step) + 1.0,
                "cell {c}: moved {moved}"
            );
        }
        let cell0 = x.row(after, 0);
        stages_seen.push((share(cell0, ew) / baseline * 100.0).round() as u32);
        apply(&p, &mut live, now);
        // The next stage waits for the cooldown.
        let early = run(
            &b,
            &h,
            &live,
            &Controls::default(),
            now.plus_secs(safety.cooldown_secs - 1),
        );
        assert!(x.shifts(&early).is_empty(), "inside the cooldown");
        let done = live.services[x.s]
            .weights
            .iter()
            .zip(x.svc().cells.iter().flat_map(|c| c.baseline_weights.iter()))
            .all(|(l, b)| *l == Some(*b));
        if !done {
            assert!(
                x.sp(&early).notes.iter().any(|n| n.contains("cooldown")),
                "{:?}",
                x.sp(&early).notes
            );
        }
        now = now.plus_secs(safety.cooldown_secs);
    }
    // Every stage that fits in one step is visited, in order, ending at the baseline.
    let mut expected: Vec<u32> = Vec::new();
    for st in &safety.failback_stages_percent {
        expected.push(*st);
    }
    assert_eq!(
        stages_seen, expected,
        "stages of eu-west-1's baseline share"
    );
    let baseline_w: Vec<Option<u8>> = x
        .svc()
        .cells
        .iter()
        .flat_map(|c| c.baseline_weights.iter().map(|w| Some(*w)))
        .collect();
    assert_eq!(live.services[x.s].weights, baseline_w);
}

#[test]
fn failback_waits_for_the_recovery_window() {
    let b = example();
    let x = Svc::new(&b, "playback");
    let window = x.svc().safety.failback_after_healthy_secs;
    let live = playback_after_evacuation(&b);
    let h = view(&b, ago(window - 1), |s, r, _| {
        (s == "playback" && r == "eu-west-1").then_some(Verdict::Healthy)
    });
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    assert!(x.shifts(&p).is_empty());
    assert!(
        x.sp(&p).notes.iter().any(|n| n.contains("recovery window")),
        "{:?}",
        x.sp(&p).notes
    );
    let h = view(&b, ago(window), |s, r, _| {
        (s == "playback" && r == "eu-west-1").then_some(Verdict::Healthy)
    });
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    assert_eq!(x.shifts(&p).len(), 1);
    // Cooldown from the journal gates it too.
    let mut live2 = live.clone();
    live2.services[x.s].last_discretionary_change = Some(ago(x.svc().safety.cooldown_secs - 1));
    assert!(
        x.shifts(&run(&b, &h, &live2, &Controls::default(), NOW))
            .is_empty()
    );
    live2.services[x.s].last_discretionary_change = Some(ago(x.svc().safety.cooldown_secs));
    assert_eq!(
        x.shifts(&run(&b, &h, &live2, &Controls::default(), NOW))
            .len(),
        1
    );
}

#[test]
fn manual_failback_needs_a_restore_override() {
    let b = example();
    let x = Svc::new(&b, "auth");
    assert_eq!(
        x.svc().safety.failback_mode,
        crate::policy::raw::FailbackMode::Manual
    );
    let (ec, ew) = (x.r("eu-central-1"), x.r("eu-west-1"));
    let ecs = x.svc().ecs.as_ref().unwrap();
    // After a failover: traffic on the standby, both regions at full capacity.
    let mut live = LiveState::steady(&b);
    live.services[x.s].weights = vec![Some(0), Some(1)];
    for r in [ec, ew] {
        live.services[x.s].ecs[r] = Some(EcsState {
            desired: ecs.full_count,
            running: ecs.full_count,
            pending: 0,
        });
    }
    let h = view(&b, NOW, |_, _, _| None); // healthy for a day: beyond any window
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    assert!(x.shifts(&p).is_empty());
    assert!(
        x.sp(&p).notes.iter().any(|n| n.contains("manual")),
        "{:?}",
        x.sp(&p).notes
    );
    let restore = |expires_at| Controls {
        paused: None,
        overrides: vec![Override {
            service: Some("auth".into()),
            region: "eu-central-1".into(),
            cell: None,
            action: OverrideAction::Restore,
            who: "sre".into(),
            why: "incident over".into(),
            expires_at,
        }],
    };
    let p = run(&b, &h, &live, &restore(NOW.plus_secs(3600)), NOW);
    let shifts = x.shifts(&p);
    assert_eq!(shifts.len(), 1);
    assert_eq!(shifts[0].1, ShiftPurpose::Failback);
    // First stage only, within the step limit.
    let first = x.svc().safety.failback_stages_percent[0];
    let got = share(&x.sp(&p).target_weights, ec) * 100.0;
    assert!(
        (got - f64::from(first)).abs() <= 1.0,
        "first stage {first}%, got {got}"
    );
    // An expired override restores nothing.
    let p = run(&b, &h, &live, &restore(NOW), NOW);
    assert!(x.shifts(&p).is_empty());
}

#[test]
fn drain_override_evacuates_a_healthy_region() {
    let b = example();
    let x = Svc::new(&b, "playback");
    let ew = x.r("eu-west-1");
    let live = LiveState::steady(&b);
    let h = view(&b, NOW, |_, _, _| None);
    let controls = Controls {
        paused: None,
        overrides: vec![Override {
            service: Some("playback".into()),
            region: "eu-west-1".into(),
            cell: None,
            action: OverrideAction::Drain,
            who: "sre".into(),
            why: "maintenance".into(),
            expires_at: NOW.plus_secs(3600),
        }],
    };
    let p = run(&b, &h, &live, &controls, NOW);
    for c in 0..x.svc().cells.len() {
        assert_eq!(x.row(&x.sp(&p).target_weights, c)[ew], 0);
    }
    assert!(
        x.sp(&p)
            .exemptions
            .contains(&Exemption::OverrideDrain { r: ew })
    );
    let (st, purpose, _) = x.shifts(&p)[0];
    assert_eq!(purpose, ShiftPurpose::Evacuate);
    assert!(
        st.reasons
            .iter()
            .any(|r| matches!(r, Reason::OverrideDrain { r, .. } if *r == ew))
    );
    // Other services untouched.
    for other in ["catalog", "content", "auth"] {
        assert!(Svc::new(&b, other).steps(&p).is_empty(), "{other}");
    }
    // A cell-scoped drain moves only that cell.
    let mut cell_controls = controls.clone();
    cell_controls.overrides[0].cell = Some(x.svc().cells[3].id.clone());
    let p = run(&b, &h, &live, &cell_controls, NOW);
    for c in 0..x.svc().cells.len() {
        let w = x.row(&x.sp(&p).target_weights, c)[ew];
        assert_eq!(w == 0, c == 3, "cell {c}");
    }
}

#[test]
fn pause_records_but_disposes_nothing() {
    let b = example();
    let live = LiveState::steady(&b);
    let h = view(&b, NOW, |_, r, _| {
        (r == "eu-west-1").then_some(Verdict::Down)
    });
    let normal = run(&b, &h, &live, &Controls::default(), NOW);
    for sp in &normal.services {
        let expected = match b.services[sp.service].mode {
            crate::policy::raw::Mode::Observe => Disposition::RecordOnly,
            crate::policy::raw::Mode::Propose => Disposition::AwaitApproval,
            crate::policy::raw::Mode::Enforce => Disposition::Apply,
        };
        assert_eq!(sp.disposition, expected, "{}", sp.name);
    }
    let pause = crate::controls::Pause {
        who: "sre".into(),
        why: "game day".into(),
        at: NOW,
    };
    let controls = Controls {
        paused: Some(pause.clone()),
        overrides: Vec::new(),
    };
    let p = run(&b, &h, &live, &controls, NOW);
    assert_eq!(p.paused, Some(pause));
    assert!(
        p.services
            .iter()
            .all(|sp| sp.disposition == Disposition::Paused)
    );
    assert!(p.has_changes(), "the plan is still recorded");
}

#[test]
fn dependencies_fail_over_first() {
    let b = example();
    let auth = b.service_index("auth").unwrap();
    let pos = |n: &str| {
        b.dependency_order
            .iter()
            .position(|s| *s == b.service_index(n).unwrap())
            .unwrap()
    };
    assert!(pos("auth") < pos("catalog") && pos("auth") < pos("playback"));
    let live = LiveState::steady(&b);
    let h = view(&b, NOW, |_, r, _| {
        (r == "eu-central-1").then_some(Verdict::Down)
    });
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    let auth_ids: Vec<usize> = p.steps_of(auth).map(|s| s.id).collect();
    assert!(!auth_ids.is_empty());
    let last_auth = *auth_ids.iter().max().unwrap();
    for name in ["catalog", "playback"] {
        let x = Svc::new(&b, name);
        let steps = x.steps(&p);
        assert!(!steps.is_empty(), "{name}");
        for st in &steps {
            assert!(st.id > last_auth, "{name} step {} before auth", st.id);
        }
        // Its roots wait for every auth step and say why.
        for st in steps
            .iter()
            .filter(|s| s.after.iter().all(|a| !p.steps_of(x.s).any(|o| o.id == *a)))
        {
            for a in &auth_ids {
                assert!(
                    st.after.contains(a),
                    "{name} step {} must come after auth step {a}",
                    st.id
                );
            }
            assert!(
                st.reasons
                    .iter()
                    .any(|r| matches!(r, Reason::DependsOn { service } if service == "auth"))
            );
        }
    }
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

#[test]
fn min_healthy_regions_holds_evacuation() {
    let b = inline(&[TRIO]);
    let x = Svc::new(&b, "trio");
    assert_eq!(x.svc().safety.min_healthy_regions, 2);
    let live = LiveState::steady(&b);
    // One down: two healthy remain, evacuate.
    let h = view(&b, NOW, |_, r, _| {
        (r == "us-east-1").then_some(Verdict::Down)
    });
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    assert_eq!(x.sp(&p).target_weights[x.r("us-east-1")], 0);
    assert_eq!(x.shifts(&p).len(), 1);
    // Two down: one healthy would remain: hold, alert, no steps.
    let h = view(&b, NOW, |_, r, _| {
        (r != "eu-central-1").then_some(Verdict::Down)
    });
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    assert!(x.steps(&p).is_empty());
    assert!(x.alerts(&p).contains(&AlertKind::HoldMinHealthyRegions));
    let cur: Vec<u8> = live.services[x.s]
        .weights
        .iter()
        .map(|w| w.unwrap())
        .collect();
    assert_eq!(x.sp(&p).target_weights, cur);
}

#[test]
fn small_step_limit_splits_a_large_stage() {
    // Stages [50, 100] with a 10-point step limit: every failback step moves ≤ 10 points.
    let text = TRIO
        .replace("  safety:\n    min_healthy_regions: 2\n", "")
        .to_string()
        + "  safety:\n    max_shift_percent_per_step: 10\n    cooldown_secs: 60\n    failback:\n      after_healthy_secs: 0\n      stages_percent: [50, 100]\n";
    let b = inline(&[&text]);
    let x = Svc::new(&b, "trio");
    let ec = x.r("eu-central-1");
    let mut live = LiveState::steady(&b);
    live.services[x.s].weights = vec![Some(0), Some(30), Some(30)];
    let h = view(&b, NOW, |_, _, _| None);
    let mut now = NOW;
    let mut shares = vec![0.0];
    for _ in 0..20 {
        let p = run(&b, &h, &live, &Controls::default(), now);
        if x.shifts(&p).is_empty() {
            break;
        }
        let from: Vec<u8> = live.services[x.s]
            .weights
            .iter()
            .map(|w| w.unwrap())
            .collect();
        let to = x.sp(&p).target_weights.clone();
        let moved: f64 = (0..3)
            .map(|r| (share(&to, r) - share(&from, r)).max(0.0))
            .sum::<f64>()
            * 100.0;
        assert!(moved <= 11.0, "moved {moved}");
        shares.push(share(&to, ec));
        apply(&p, &mut live, now);
        now = now.plus_secs(60);
    }
    assert!(
        shares.windows(2).all(|w| w[1] > w[0]),
        "monotone failback: {shares:?}"
    );
    assert_eq!(
        live.services[x.s].weights,
        vec![Some(40), Some(30), Some(30)]
    );
}

const TIERED: &str = r#"apiVersion: regionctl/v1
kind: ServicePolicy
metadata:
  name: tiered
spec:
  tier: 2
  strategy: active-active
  mode: enforce
  regions:
    - name: us-west-2
      weight: 100
    - name: eu-central-1
      weight: 100
    - name: eu-west-1
      weight: 100
  cells:
    dimensions:
      - name: d
        values: [v0]
    serving:
      - tiers: [[eu-central-1], [eu-west-1], [us-west-2]]
  health:
    alarms:
      - name: "tiered-{region}-5xx"
  routing:
    hosted_zone_id: Z0TIEREDEXAMPLE001
    record_name: "{cell}.tiered.example.com"
    value: "tiered.{region}.example.com"
"#;

#[test]
fn failback_stage_keeps_the_rest_where_it_is() {
    // Traffic sits on the second tier (eu-west-1) after eu-central-1 recovered; the
    // third-tier region (us-west-2, listed first) is degraded. The first failback stage
    // gives eu-central-1 its first stage; the rest stays on eu-west-1.
    let b = inline(&[TIERED]);
    let x = Svc::new(&b, "tiered");
    let (uw, ec, ew) = (x.r("us-west-2"), x.r("eu-central-1"), x.r("eu-west-1"));
    let mut live = LiveState::steady(&b);
    let mut w = vec![Some(0); 3];
    w[ew] = Some(100);
    live.services[x.s].weights = w;
    let h = view(&b, NOW, |_, r, _| {
        (r == "us-west-2").then_some(Verdict::Degraded)
    });
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    let sp = x.sp(&p);
    assert!(
        !x.alerts(&p).contains(&AlertKind::GuardViolation),
        "{:?}",
        p.alerts
    );
    assert_eq!(sp.target_weights[uw], 0, "{:?}", sp.target_weights);
    let first = f64::from(x.svc().safety.failback_stages_percent[0]);
    assert!((share(&sp.target_weights, ec) * 100.0 - first).abs() <= 1.0);
    assert!((share(&sp.target_weights, ew) * 100.0 - (100.0 - first)).abs() <= 1.0);
}

const STANDBY2: &str = r#"apiVersion: regionctl/v1
kind: ServicePolicy
metadata:
  name: ws
spec:
  tier: 2
  strategy: warm-standby
  mode: enforce
  regions:
    - name: eu-central-1
      weight: 100
    - name: eu-west-1
      weight: 100
    - name: us-east-1
      weight: 0
  cells:
    dimensions:
      - name: d
        values: [v0, v1]
  health:
    alarms:
      - name: "ws-{region}-5xx"
  routing:
    hosted_zone_id: Z0WSEXAMPLE0000001
    record_name: "{cell}.ws.example.com"
    value: "ws.{region}.example.com"
  compute:
    ecs:
      cluster: "c-{region}"
      service: ws
      standby_count: 2
      full_count: 10
      max_wait_secs: 300
  safety:
    max_degraded_hold_secs: 300
"#;

#[test]
fn warm_standby_wait_does_not_hold_a_down_region() {
    // eu-central-1 degraded everywhere (capacity-first wait for the standby); eu-west-1
    // hard down in cell v1 only. eu-west-1's service-level share does not drop (it takes
    // v0), so it is not a "source" — but in v1 it must lose its traffic at once.
    let b = inline(&[STANDBY2]);
    let x = Svc::new(&b, "ws");
    let (ew, ue) = (x.r("eu-west-1"), x.r("us-east-1"));
    let live = LiveState::steady(&b);
    let h = view(&b, NOW, |_, r, c| match (r, c) {
        ("eu-central-1", _) => Some(Verdict::Degraded),
        ("eu-west-1", "v1") => Some(Verdict::Down),
        _ => None,
    });
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    assert!(
        !x.alerts(&p).contains(&AlertKind::GuardViolation),
        "{:?}",
        p.alerts
    );
    let v1 = 1;
    assert_eq!(
        x.row(&x.sp(&p).target_weights, v1)[ew],
        0,
        "{:?}",
        x.sp(&p).target_weights
    );
    assert!(
        x.steps(&p)
            .iter()
            .any(|s| matches!(s.action, Action::Scale { r, .. } if r == ue))
    );
}

#[test]
fn failback_gate_uses_shares() {
    // eu-central-1 recovered 10 s ago (recovery window 600 s). Its live weight equals its
    // baseline weight, but the other regions carry more than theirs, so its share is
    // below baseline: raising it is failback and must wait for the window.
    let b = inline(&[TRIO
        .replace("  safety:\n    min_healthy_regions: 2\n", "")
        .as_str()]);
    let x = Svc::new(&b, "trio");
    let mut live = LiveState::steady(&b);
    live.services[x.s].weights = vec![Some(40), Some(200), Some(200)];
    let mut h = view(&b, NOW, |_, _, _| None);
    h.services[x.s].entries[x.r("eu-central-1")].since = ago(10);
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    assert!(x.shifts(&p).is_empty(), "{:#?}", x.shifts(&p));
}

// ---- Data-plane switches (DESIGN.md §6) ----

fn switch_steps<'p>(x: &Svc<'_>, p: &'p Plan) -> Vec<(&'p Step, usize, bool)> {
    x.steps(p)
        .into_iter()
        .filter_map(|st| match st.action {
            Action::SetSwitch { r, on, .. } => Some((st, r, on)),
            _ => None,
        })
        .collect()
}

#[test]
fn region_loss_flips_the_switch_and_writes_weights_independently() {
    let b = example();
    let x = Svc::new(&b, "playback");
    let ec = x.r("eu-central-1");
    let mut live = LiveState::steady(&b);
    let h = view(&b, ago(300), |s, r, _| {
        (s == "playback" && r == "eu-central-1").then_some(Verdict::Down)
    });
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    let switches = switch_steps(&x, &p);
    assert_eq!(switches.len(), 1, "{:#?}", x.steps(&p));
    let (sw, r, on) = switches[0];
    assert_eq!((r, on), (ec, false));
    assert_eq!(sw.plane, Plane::CloudWatchDataPlane);
    assert!(!sw.discretionary);
    // Alarm period 60 s + 30 s × 3 evaluations + TTL 60 s (playback.yaml's defaults).
    assert_eq!(sw.takes_effect_secs, Some(210));
    assert!(matches!(sw.reasons[0], Reason::RegionUnhealthy { r, .. } if r == ec));
    let shifts = x.shifts(&p);
    assert_eq!(shifts.len(), 1);
    let (shift, purpose, _) = shifts[0];
    assert_eq!(purpose, ShiftPurpose::Evacuate);
    assert_eq!(shift.plane, Plane::Route53ControlPlane);
    assert_eq!(shift.takes_effect_secs, Some(120));
    // Neither waits for the other: a control-plane outage must not block the switch.
    assert!(!sw.after.contains(&shift.id) && !shift.after.contains(&sw.id));
    let sp = x.sp(&p);
    assert_eq!(sp.target_switches, vec![false, true, true]);

    // Applied, the same situation flips and shifts nothing more (the Lambda cover that
    // bridged the capacity gap is unwound by ALB steps, which are not this test's subject).
    apply(&p, &mut live, NOW);
    let again = run(&b, &h, &live, &Controls::default(), NOW);
    assert!(
        switch_steps(&x, &again).is_empty(),
        "{:#?}",
        x.steps(&again)
    );
    assert!(x.shifts(&again).is_empty(), "{:#?}", x.steps(&again));

    // Recovered and eligible: the switch goes on at once, not discretionary.
    let healthy = view(&b, ago(3600), |_, _, _| None);
    let back = run(&b, &healthy, &live, &Controls::default(), NOW);
    let on: Vec<_> = switch_steps(&x, &back);
    assert_eq!(on.len(), 1);
    assert_eq!((on[0].1, on[0].2), (ec, true));
    assert!(on[0].0.after.is_empty());
    assert!(matches!(on[0].0.reasons[0], Reason::SwitchOn { r } if r == ec));
}

#[test]
fn control_plane_outage_leaves_weights_behind_but_the_switch_still_flips() {
    // The weights could not be written (control plane down): live keeps eu-central-1's
    // weights while its switch is off. Re-planning retries the weights, not the switch.
    let b = example();
    let x = Svc::new(&b, "playback");
    let ec = x.r("eu-central-1");
    let mut live = LiveState::steady(&b);
    live.services[x.s].switches[ec] = Some(false);
    let h = view(&b, ago(300), |s, r, _| {
        (s == "playback" && r == "eu-central-1").then_some(Verdict::Down)
    });
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    assert!(switch_steps(&x, &p).is_empty());
    assert_eq!(x.shifts(&p).len(), 1);
}

#[test]
fn a_cell_failure_does_not_take_a_region_switch_down() {
    let b = example();
    let x = Svc::new(&b, "playback");
    let live = LiveState::steady(&b);
    let h = view(&b, ago(300), |s, r, c| {
        (s == "playback" && r == "eu-central-1" && c == "at-free-android").then_some(Verdict::Down)
    });
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    assert!(switch_steps(&x, &p).is_empty(), "{:#?}", x.steps(&p));
    assert_eq!(x.shifts(&p).len(), 1);
}

#[test]
fn cell_scope_switches_follow_the_cell() {
    let policy = "apiVersion: regionctl/v1
kind: ServicePolicy
metadata: {name: svc}
spec:
  tier: 1
  strategy: active-active
  mode: enforce
  regions:
    - {name: eu-central-1, weight: 50}
    - {name: eu-west-1, weight: 50}
  cells:
    dimensions:
      - {name: platform, values: [ios, android]}
  health:
    alarms: [{name: \"svc-{region}-5xx\"}]
  routing:
    hosted_zone_id: Z0SVC
    record_name: \"{cell}.svc.example.com\"
    value: \"svc.{region}.example.com\"
    switch:
      scope: cell
      alarm_region: {eu-central-1: us-east-1}
";
    let b = inline(&[policy]);
    let x = Svc::new(&b, "svc");
    assert_eq!(crate::switch::health_checks_needed(&b), 4);
    let sw = crate::switch::switch_ref(x.svc(), 1, 0).unwrap();
    assert_eq!(sw.alarm_region, "us-east-1");
    assert_eq!(sw.alarm_name, "regionctl-switch-svc-eu-central-1-android");
    assert_eq!(
        crate::switch::switch_ref(x.svc(), 0, 1)
            .unwrap()
            .alarm_region,
        "eu-central-1",
        "default: the first other region"
    );
    let live = LiveState::steady(&b);
    let h = view(&b, ago(300), |_, r, c| {
        (r == "eu-central-1" && c == "android").then_some(Verdict::Down)
    });
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    let steps = switch_steps(&x, &p);
    assert_eq!(steps.len(), 1);
    assert!(matches!(
        steps[0].0.action,
        Action::SetSwitch {
            r: 0,
            cell: Some(1),
            on: false,
            ..
        }
    ));
}

#[test]
fn the_guard_rejects_switch_states_route53_would_answer_badly() {
    let b = example();
    let x = Svc::new(&b, "playback");
    let live = LiveState::steady(&b);
    let h = view(&b, ago(300), |s, r, _| {
        (s == "playback" && r == "eu-central-1").then_some(Verdict::Down)
    });
    let controls = Controls::default();
    let inputs = Inputs {
        bundle: &b,
        health: &h,
        live: &live,
        controls: &controls,
        now: NOW,
    };
    let weights: Vec<u8> = live.services[x.s]
        .weights
        .iter()
        .map(|w| w.unwrap())
        .collect();
    // Every switch off: Route 53 fails open.
    let v = crate::guard::check_answered(&inputs, x.s, &weights, &[false, false, false], &[]);
    assert!(
        matches!(v[0], crate::guard::Violation::AllSwitchesOff { .. }),
        "{v:?}"
    );
    // eu-central-1 still weighted and its switch on: answered while down. With every switch
    // on, Route 53 answers exactly the weighted records: rule 2 (weights) catches it.
    let v = crate::guard::check_service(&inputs, x.s, &weights, None, &[]);
    assert!(
        v.iter().any(|v| matches!(v, crate::guard::Violation::TrafficToUnhealthy { region, .. } if region == "eu-central-1")),
        "{v:?}"
    );
    // Weights already off eu-central-1 but its switch off and another region's too: the
    // answered check sees Route 53 fall back to the weight-0 record of a down region.
    let mut off = weights.clone();
    for c in 0..x.svc().cells.len() {
        off[c * 3] = 0;
    }
    let down_and_off = view(&b, ago(300), |s, r, _| {
        (s == "playback" && r != "us-east-1").then_some(Verdict::Down)
    });
    let inputs2 = Inputs {
        health: &down_and_off,
        ..inputs
    };
    // us-east-1 (healthy) switched off, eu-west-1 (down, weight 30) on: answered to a down region.
    let v = crate::guard::check_answered(&inputs2, x.s, &off, &[false, true, false], &[]);
    assert!(
        v.iter().any(|v| matches!(v, crate::guard::Violation::AnsweredToUnhealthy { region, .. } if region == "eu-west-1")),
        "{v:?}"
    );
    // Its switch off: answered traffic avoids it even though the weights were not written.
    let v = crate::guard::check_answered(&inputs, x.s, &weights, &[false, true, true], &[]);
    assert!(v.is_empty(), "{v:?}");
}

#[test]
fn failback_from_an_uneven_evacuation_progresses_within_the_step_limit() {
    // An evacuation left the cell far from its baseline split among the others
    // ([0, 30, 70] against [50, 30, 20]): each stage stays within the step limit and the
    // cell still reaches its baseline (it used to stall at [0, 30, 70] for good).
    let bundle = example();
    let s = bundle.service_index("playback").unwrap();
    let svc = &bundle.services[s];
    let c = svc
        .cells
        .iter()
        .position(|c| c.id == "de-free-ios")
        .unwrap();
    let full = svc.cells[c].baseline_weights.clone();
    assert_eq!(full.len(), 3);
    let limit = f64::from(svc.safety.max_shift_percent_per_step);
    let mut w = vec![0u8, 30, 70];
    let total_gain = |a: &[u8], b: &[u8]| -> f64 {
        let share = |w: &[u8], r: usize| {
            f64::from(w[r]) / f64::from(w.iter().map(|x| u32::from(*x)).sum::<u32>().max(1))
        };
        (0..a.len())
            .map(|r| (share(b, r) - share(a, r)).max(0.0))
            .sum::<f64>()
            * 100.0
    };
    for step in 0..20 {
        if w == full {
            assert!(
                step >= 2,
                "reached baseline in {step} stage(s): too fast for the limit"
            );
            return;
        }
        let next = service::staged(svc, &w, &full);
        assert_ne!(next, w, "stage {step} made no progress from {w:?}");
        let moved = total_gain(&w, &next);
        assert!(
            moved <= limit + 1.0,
            "stage {step}: {w:?} → {next:?} moves {moved:.1}"
        );
        w = next;
    }
    panic!("not at baseline {full:?} after 20 stages: {w:?}");
}
