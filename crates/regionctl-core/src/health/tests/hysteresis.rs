//! Hysteresis both ways: failure evidence must persist `fail_after_secs`, health evidence
//! after a failure `recover_after_secs`; evidence carries its `since`.

use super::*;

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
        let e = view.entry(f.web, 0, f.r("eu-west-1"));
        assert_eq!(e.pending.map(|p| p.0), Some(Verdict::Degraded), "at +{dt}s");
    }
    view = f.eval(&o, &view, T0.plus_secs(fail_after));
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Degraded; 2]);
    let e = view.entry(f.web, 0, f.r("eu-west-1"));
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
    assert_eq!(view.entry(f.web, 0, f.r("eu-west-1")).pending, None);
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
        view.entry(f.web, 0, f.r("eu-west-1")).since,
        t1.plus_secs(recover_after)
    );
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
        view.entry(f.web, 0, f.r("eu-west-1")).since,
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
fn a_reload_with_a_different_shape_starts_unknown() {
    let f = Fixture::new();
    let mut view = f.healthy();
    // A stale view from a bundle with fewer cells.
    let first_cell = view.services[f.web].entries.row(0).to_vec();
    view.services[f.web].entries = Grid::from_vec(1, f.nr(), first_cell).unwrap();
    let o = f.all_web_alarms(AlarmState::InsufficientData, T0);
    let next = f.eval(&o, &view, T0);
    assert_eq!(
        next.services[f.web].entries.shape(),
        (f.svc().cells.len(), f.nr())
    );
    assert!(
        next.services[f.web]
            .entries
            .iter()
            .all(|e| e.verdict == Verdict::Unknown)
    );
}

/// A bundle of one service, `shape`, with `cells` cells in `regions` and one 5xx alarm per
/// region.
fn shaped(cells: &[&str], regions: &[&str]) -> Bundle {
    let regions_yaml: String = regions
        .iter()
        .map(|r| format!("    - name: {r}\n      weight: 10\n"))
        .collect();
    let text = format!(
        r#"apiVersion: regionctl/v1
kind: ServicePolicy
metadata:
  name: shape
spec:
  tier: 3
  strategy: active-active
  regions:
{regions_yaml}  cells:
    dimensions:
      - name: d
        values: [{}]
  health:
    alarms:
      - name: "shape-{{region}}-5xx"
  routing:
    hosted_zone_id: Z0SHAPEEXAMPLE0001
    record_name: "{{cell}}.shape.example.com"
    value: "shape.{{region}}.example.com"
"#,
        cells.join(", ")
    );
    let files = [SourceFile {
        path: "shape.yaml".into(),
        text,
    }];
    match load(&files) {
        Ok(b) => b,
        Err(d) => panic!("shape bundle must load: {d:#?}"),
    }
}

#[test]
fn a_reload_that_keeps_the_entry_count_but_not_the_shape_starts_afresh() {
    // Goal: a view built for another shape of a service is not reused. Method: evaluate
    // 3 cells × 2 regions, then 2 cells × 3 regions with the first view: six entries both
    // times, but the old view has evidence for two regions only (reading the third's
    // panicked) and its entries mean other (cell, region)s now.
    let before = shaped(&["a", "b", "c"], &["eu-central-1", "eu-west-1"]);
    let after = shaped(&["a", "b"], &["eu-central-1", "eu-west-1", "us-east-1"]);
    let mut o = Observations::empty(&before, 3);
    let index = AlarmIndex::new(&before);
    let red = AlarmObservation {
        state: AlarmState::Alarm,
        since: Timestamp(T0.millis() - 86_400_000),
    };
    assert!(index.record(&mut o, "shape-eu-west-1-5xx", red));
    let view = evaluate(&before, &o, &HealthView::unknown(&before), T0);
    assert_eq!(view.services[0].entries.shape(), (3, 2));
    assert_eq!(view.entry(0, 0, 1).verdict, Verdict::Degraded);

    let next = evaluate(
        &after,
        &Observations::empty(&after, 3),
        &view,
        T0.plus_secs(1),
    );
    let sh = &next.services[0];
    assert_eq!(sh.entries.shape(), (2, 3));
    assert_eq!((sh.load.len(), sh.evidence.len()), (3, 3));
    // Nothing carried over: no evidence yet anywhere, so nothing is known.
    assert!(
        sh.entries.iter().all(|e| *e == Entry::UNKNOWN),
        "{:?}",
        sh.entries
    );
}

/// `evaluate_into` reuses the memory of the view it is given, never its contents: whatever
/// that view holds (an older view with failures and evidence, a view of another bundle, an
/// empty one), the result is `evaluate`'s, pass after pass as a controller keeps two views.
#[test]
fn evaluating_into_a_spare_view_gives_the_same_view() {
    let f = Fixture::new();
    let other = Fixture::with(&WEB.replace("values: [ios, web]", "values: [ios, web, tv]"));
    let failing = f.all_web_alarms(AlarmState::Alarm, T0);
    let healthy = f.all_web_alarms(AlarmState::Ok, T0);
    let mut probed = f.empty();
    f.probe(&mut probed, "eu-west-1", "eu-central-1", false, T0);
    f.probe(&mut probed, "us-east-1", "eu-central-1", false, T0);
    let spares = [
        HealthView::default(),
        HealthView::unknown(&other.bundle),
        evaluate(&f.bundle, &failing, &HealthView::unknown(&f.bundle), T0),
    ];
    for spare in spares {
        let mut previous = HealthView::unknown(&f.bundle);
        let mut spare = spare;
        for (i, o) in [&healthy, &failing, &probed, &failing, &healthy]
            .into_iter()
            .enumerate()
        {
            let now = T0.plus_secs(120 * i as u64);
            let expected = evaluate(&f.bundle, o, &previous, now);
            let got = evaluate_into(&f.bundle, o, &previous, now, spare);
            assert_eq!(got, expected, "pass {i}");
            // The controller keeps the view it just made and evaluates into the one before.
            spare = std::mem::replace(&mut previous, got);
        }
    }
}
