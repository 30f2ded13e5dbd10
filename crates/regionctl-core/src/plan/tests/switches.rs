//! Data-plane switches (DESIGN.md §6): they flip independently of the weight writes, follow
//! their scope, and are guarded over the traffic Route 53 would answer.

use super::*;

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
    assert_eq!(sp.target_switches, one_cell(vec![false, true, true]));

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
    live.services[x.s].switches[(0, ec)] = Some(false);
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
    let weights = live.services[x.s].weights.map(|w| w.unwrap());
    // Every switch off: Route 53 fails open.
    let v = crate::guard::check_answered(
        &inputs,
        x.s,
        &weights,
        &one_cell(vec![false, false, false]),
        &[],
    );
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
        off[(c, 0)] = 0;
    }
    let down_and_off = view(&b, ago(300), |s, r, _| {
        (s == "playback" && r != "us-east-1").then_some(Verdict::Down)
    });
    let inputs2 = Inputs {
        health: &down_and_off,
        ..inputs
    };
    // us-east-1 (healthy) switched off, eu-west-1 (down, weight 30) on: answered to a down region.
    let v = crate::guard::check_answered(
        &inputs2,
        x.s,
        &off,
        &one_cell(vec![false, true, false]),
        &[],
    );
    assert!(
        v.iter().any(|v| matches!(v, crate::guard::Violation::AnsweredToUnhealthy { region, .. } if region == "eu-west-1")),
        "{v:?}"
    );
    // Its switch off: answered traffic avoids it even though the weights were not written.
    let v = crate::guard::check_answered(
        &inputs,
        x.s,
        &weights,
        &one_cell(vec![false, true, true]),
        &[],
    );
    assert!(v.is_empty(), "{v:?}");
}
