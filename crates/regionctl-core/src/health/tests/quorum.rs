//! Independent observers: a region is down only when a quorum of observers' probes agree,
//! one vote per observer.

use super::*;

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
            role: Default::default(),
        });
    }
    let view = evaluate(&bundle, &o, &HealthView::unknown(&bundle), T0);
    assert_ne!(
        view.entry(0, 0, 1).verdict,
        Verdict::Down,
        "2 of 5 is not a majority"
    );
    o.probes.push(ProbeVerdict {
        observer: 2,
        service: 0,
        r: 1,
        ok: false,
        since: long_ago,
        role: Default::default(),
    });
    let view = evaluate(&bundle, &o, &HealthView::unknown(&bundle), T0);
    assert_eq!(view.entry(0, 0, 1).verdict, Verdict::Down, "3 of 5 is");
    assert_eq!(view.services[0].evidence[1].quorum, 3);
}
