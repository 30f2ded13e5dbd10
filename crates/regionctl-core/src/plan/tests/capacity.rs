//! Capacity before traffic: pre-scaled receivers, capacity waits and their bound, Lambda
//! cover, partial shifts.

use super::*;

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
        let new_share: f64 = (0..nc).map(|c| share(tgt.row(c), r)).sum::<f64>() / nc as f64;
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
fn lambda_keeps_covering_a_receiver_until_its_new_tasks_run() {
    let b = example();
    let mut live = LiveState::steady(&b);
    let h = view(&b, NOW, |_, r, _| {
        (r == "eu-west-1").then_some(Verdict::Down)
    });
    let x = Svc::new(&b, "playback");
    let ew = x.r("eu-west-1");
    let evacuation = run(&b, &h, &live, &Controls::default(), NOW);
    let before: Vec<_> = live.services[x.s].ecs.clone();
    apply(&evacuation, &mut live, NOW);
    // Scaled and shifted, but the new tasks are still starting.
    for r in (0..x.nr()).filter(|r| *r != ew) {
        let ecs = live.services[x.s].ecs[r].as_mut().unwrap();
        ecs.running = before[r].unwrap().running;
        assert!(ecs.running < ecs.desired);
    }
    let next = run(&b, &h, &live, &Controls::default(), NOW.plus_secs(10));
    let removed: Vec<_> = x
        .steps(&next)
        .into_iter()
        .filter(|s| matches!(s.action, Action::SetAlb { to, .. } if to.lambda == 0))
        .collect();
    assert!(
        removed.is_empty(),
        "the cover stays while the tasks start: {removed:?}"
    );
    // Once they run, Fargate takes the traffic back.
    for r in (0..x.nr()).filter(|r| *r != ew) {
        let ecs = live.services[x.s].ecs[r].as_mut().unwrap();
        ecs.running = ecs.desired;
    }
    let ready = run(&b, &h, &live, &Controls::default(), NOW.plus_secs(120));
    for r in (0..x.nr()).filter(|r| *r != ew) {
        assert!(
            x.steps(&ready).iter().any(
                |s| matches!(s.action, Action::SetAlb { r: ar, to, .. } if ar == r && to.lambda == 0)
            ),
            "receiver {r}: Lambda's cover ends when its tasks run"
        );
    }
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
    assert_eq!(sp2.target_weights[(0, ec)], 0);
    assert!(sp2.target_weights[(0, ew)] > 0);
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
    assert_eq!(x.sp(&p).target_weights[(0, x.r("eu-central-1"))], 0);
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
    let moved = share(sp.target_weights.row(0), ew);
    let k = f64::from(running) / f64::from(ecs.ready_threshold(ecs.full_count));
    assert!(
        (moved - k).abs() <= 0.01 + 1e-9,
        "moved {moved}, capacity carries {k}"
    );
    assert!(sp.target_weights[(0, ec)] > 0 && moved > 0.0);
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
        (
            sp.target_weights[(0, ec)] == 0,
            sp.target_weights[(0, ew)] > 0
        ),
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
        x.sp(&p).target_weights.row(v1)[ew],
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
