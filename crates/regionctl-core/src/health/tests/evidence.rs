//! Evidence, not silence: which alarms bind where, what INSUFFICIENT_DATA and missing
//! alarms mean, cell-scoped and load alarms, running capacity as readiness.

use super::*;

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
    // Numbers follow name order and give the name back; nothing else has one.
    for (i, name) in names.iter().enumerate() {
        assert_eq!(f.index.number(name), u32::try_from(i).ok(), "{name}");
        assert_eq!(f.index.name_of(i as u32), *name);
    }
    assert_eq!(f.index.number("web-eu-west-1-android-errors"), None);
    assert_eq!(f.index.name_of(names.len() as u32), "");
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
        if b.cell.is_some() && b.role == SignalRole::Failure {
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
    assert_eq!(view.entry(f.idle, 0, standby).verdict, Verdict::Unknown);
    // At the threshold: healthy (readiness, not silence).
    o.running[f.idle][standby] = Some(needed);
    let view = evaluate(&f.bundle, &o, &HealthView::unknown(&f.bundle), T0);
    assert_eq!(view.entry(f.idle, 0, standby).verdict, Verdict::Healthy);
    assert!(view.services[f.idle].evidence[standby].capacity_ready);
}
