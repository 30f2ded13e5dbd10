//! When a recovery starts: evidence that was fine since before a failure it did not see,
//! or an alarm that cannot be read, never dates the recovery before the failure (found by
//! `regionctl simulate`, seeds 198, 2030 and 4892).

use super::*;

/// Every failure alarm of `web` OK since `since`, except `region`'s, which are unread (its
/// CloudWatch unreachable).
fn alarms_unread_in(f: &Fixture, region: &str, since: Timestamp) -> Observations {
    let mut o = f.empty();
    for b in &f.svc().health.alarms {
        if b.role == SignalRole::Failure && f.svc().regions[b.r].name != region {
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
    let failed_at = view.entry(f.web, 0, f.r("eu-west-1")).since;
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
        view.entry(f.web, 0, f.r("eu-west-1")).since,
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
    let failed_at = view.entry(f.web, 0, f.r("eu-west-1")).since;
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
