//! Failback: staged, bounded per step, gated on the recovery window, the cooldown and (in
//! manual mode) an operator's restore.

use super::*;

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
        assert_eq!(live.services[x.s].weights[(c, x.r("eu-west-1"))], Some(0));
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
        let before = live.services[x.s].weights.map(|w| w.unwrap());
        let after = &x.sp(&p).target_weights;
        for c in 0..x.svc().cells.len() {
            let from = before.row(c);
            let to = after.row(c);
            let moved: f64 = (0..x.nr())
                .map(|r| (share(to, r) - share(from, r)).max(0.0))
                .sum::<f64>()
                * 100.0;
            assert!(
                moved <= f64::from(safety.max_shift_percent_per_step) + 1.0,
                "cell {c}: moved {moved}"
            );
        }
        let cell0 = after.row(0);
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
    let baseline_w = Grid::from_fn(x.svc().cells.len(), x.nr(), |c, r| {
        Some(x.svc().cells[c].baseline_weights[r])
    });
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

/// A recovered region another controller's view disputes gains nothing by failback
/// (simulate seed 1021): the peer would set it back to 0 within a tick.
#[test]
fn a_disputed_region_is_not_failed_back_into() {
    let b = example();
    let x = Svc::new(&b, "playback");
    let live = playback_after_evacuation(&b);
    let ew = x.r("eu-west-1");
    let mut h = view(
        &b,
        ago(x.svc().safety.failback_after_healthy_secs),
        |s, r, _| (s == "playback" && r == "eu-west-1").then_some(Verdict::Healthy),
    );
    assert_eq!(
        x.shifts(&run(&b, &h, &live, &Controls::default(), NOW))
            .len(),
        1
    );
    h.services[x.s].evidence[ew].disputed = true;
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    assert!(x.shifts(&p).is_empty(), "{:#?}", p.steps);
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
    live.services[x.s].weights = one_cell(vec![Some(0), Some(1)]);
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
    let got = share(x.sp(&p).target_weights.row(0), ec) * 100.0;
    assert!(
        (got - f64::from(first)).abs() <= 1.0,
        "first stage {first}%, got {got}"
    );
    // An expired override restores nothing.
    let p = run(&b, &h, &live, &restore(NOW), NOW);
    assert!(x.shifts(&p).is_empty());
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
    live.services[x.s].weights = one_cell(vec![Some(0), Some(30), Some(30)]);
    let h = view(&b, NOW, |_, _, _| None);
    let mut now = NOW;
    let mut shares = vec![0.0];
    for _ in 0..20 {
        let p = run(&b, &h, &live, &Controls::default(), now);
        if x.shifts(&p).is_empty() {
            break;
        }
        let from = live.services[x.s].weights.map(|w| w.unwrap());
        let to = x.sp(&p).target_weights.clone();
        let moved: f64 = (0..3)
            .map(|r| (share(to.row(0), r) - share(from.row(0), r)).max(0.0))
            .sum::<f64>()
            * 100.0;
        assert!(moved <= 11.0, "moved {moved}");
        shares.push(share(to.row(0), ec));
        apply(&p, &mut live, now);
        now = now.plus_secs(60);
    }
    assert!(
        shares.windows(2).all(|w| w[1] > w[0]),
        "monotone failback: {shares:?}"
    );
    assert_eq!(
        live.services[x.s].weights,
        one_cell(vec![Some(40), Some(30), Some(30)])
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
    live.services[x.s].weights = one_cell(w);
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
    assert_eq!(sp.target_weights[(0, uw)], 0, "{:?}", sp.target_weights);
    let first = f64::from(x.svc().safety.failback_stages_percent[0]);
    assert!((share(sp.target_weights.row(0), ec) * 100.0 - first).abs() <= 1.0);
    assert!((share(sp.target_weights.row(0), ew) * 100.0 - (100.0 - first)).abs() <= 1.0);
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
    live.services[x.s].weights = one_cell(vec![Some(40), Some(200), Some(200)]);
    let mut h = view(&b, NOW, |_, _, _| None);
    h.services[x.s].entries[(0, x.r("eu-central-1"))].since = ago(10);
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    assert!(x.shifts(&p).is_empty(), "{:#?}", x.shifts(&p));
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
        if w[..] == full[..] {
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
