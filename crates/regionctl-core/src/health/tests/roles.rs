//! Signal roles (ADR 0015): `critical` acts alone, `shadow` never acts but is recorded,
//! and a `served` signal that is OK vetoes an evacuation whose only evidence is a quorum of
//! failing probes ("observers cannot reach it, its users can").

use super::*;

/// `web` with a served, a shadow and a critical alarm, and critical and shadow probes.
fn roles_policy() -> String {
    WEB.replace(
        "      - name: \"web-{region}-cpu\"\n        role: load\n",
        "      - name: \"web-{region}-cpu\"\n        role: load\n\
         \x20     - name: \"web-{region}-requests\"\n        role: served\n\
         \x20     - name: \"web-{region}-canary\"\n        role: shadow\n\
         \x20     - name: \"web-{region}-slo\"\n        role: critical\n",
    )
    .replace(
        "        target: \"https://web.{region}.example.com/healthz\"\n",
        "        target: \"https://web.{region}.example.com/healthz\"\n\
         \x20     - protocol: http\n        target: \"https://web.{region}.example.com/deep\"\n        role: critical\n\
         \x20     - protocol: tcp\n        target: \"web.{region}.example.com:443\"\n        role: shadow\n",
    )
}

const DAY_AGO: Timestamp = Timestamp::from_secs(1_800_000_000 - 86_400);

/// The roles fixture, its view healthy for a day, and observations in which every
/// failure, critical and shadow alarm is OK and every served alarm is `served`.
fn setup(served: AlarmState) -> (Fixture, HealthView, Observations) {
    let f = Fixture::with(&roles_policy());
    let mut o = f.empty();
    for b in &f.svc().health.alarms {
        let state = match b.role {
            SignalRole::Served => served,
            _ => AlarmState::Ok,
        };
        f.set(&mut o, &b.name, state, DAY_AGO);
    }
    let view = f.eval(&o, &HealthView::unknown(&f.bundle), DAY_AGO);
    (f, view, o)
}

/// eu-west-1's failure probes fail from two of three observers (a quorum): what the other
/// two regions see when eu-west-1 is cut off from them, or black-holed.
fn probes_fail_from_two(f: &Fixture, o: &mut Observations, since: Timestamp) {
    f.probe(o, "eu-central-1", "eu-west-1", false, since);
    f.probe(o, "us-east-1", "eu-west-1", false, since);
    f.probe(o, "eu-west-1", "eu-west-1", true, since);
}

#[test]
fn a_probe_quorum_alone_does_not_evacuate_a_region_whose_users_are_served() {
    let (f, mut view, mut o) = setup(AlarmState::Ok);
    probes_fail_from_two(&f, &mut o, T0);
    for dt in [0, 60, 3600] {
        view = f.eval(&o, &view, T0.plus_secs(dt));
        assert_eq!(
            f.all(&view, "eu-west-1"),
            vec![Verdict::Healthy; 2],
            "+{dt}s"
        );
    }
    let ev = &view.services[f.web].evidence[f.r("eu-west-1")];
    assert!(ev.vetoed, "{ev:?}");
    assert_eq!((ev.probes_failing, ev.quorum), (2, 2));
    assert_eq!(ev.served, Served::Serving);
    // The other regions were never vetoed.
    assert!(!view.services[f.web].evidence[f.r("eu-central-1")].vetoed);
}

#[test]
fn a_black_hole_is_not_vetoed_a_served_signal_in_alarm_shows_nothing() {
    let (f, mut view, mut o) = setup(AlarmState::Ok);
    // No requests arrive in eu-west-1: its served alarm goes to ALARM with the probes.
    f.set(&mut o, "web-eu-west-1-requests", AlarmState::Alarm, T0);
    probes_fail_from_two(&f, &mut o, T0);
    let fail_after = f.svc().health.fail_after_secs;
    view = f.eval(&o, &view, T0.plus_secs(fail_after - 1));
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Healthy; 2]);
    view = f.eval(&o, &view, T0.plus_secs(fail_after));
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Down; 2]);
    let ev = &view.services[f.web].evidence[f.r("eu-west-1")];
    assert!(!ev.vetoed);
    assert_eq!(ev.served, Served::NotShown);
}

#[test]
fn an_unreadable_served_signal_vetoes_nothing() {
    let (f, mut view, mut o) = setup(AlarmState::Ok);
    let b = f
        .svc()
        .health
        .alarms
        .iter()
        .position(|b| b.name == "web-eu-west-1-requests")
        .unwrap();
    o.alarms[f.web][b] = None;
    probes_fail_from_two(&f, &mut o, DAY_AGO);
    view = f.eval(&o, &view, T0);
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Down; 2]);
}

#[test]
fn failing_probes_corroborated_by_a_failure_alarm_evacuate_despite_served() {
    let (f, mut view, mut o) = setup(AlarmState::Ok);
    f.set(&mut o, "web-eu-west-1-5xx", AlarmState::Alarm, DAY_AGO);
    probes_fail_from_two(&f, &mut o, DAY_AGO);
    view = f.eval(&o, &view, T0);
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Down; 2]);
    assert!(!view.services[f.web].evidence[f.r("eu-west-1")].vetoed);
}

#[test]
fn one_observers_failing_critical_probe_evacuates_after_the_hysteresis() {
    let (f, mut view, mut o) = setup(AlarmState::Ok);
    // One observer of three, below the quorum of two, and the users served: a critical
    // probe needs neither a quorum nor the served signal's consent.
    f.probe_as(
        &mut o,
        SignalRole::Critical,
        ("us-east-1", "eu-west-1"),
        false,
        T0,
    );
    let fail_after = f.svc().health.fail_after_secs;
    view = f.eval(&o, &view, T0.plus_secs(fail_after - 1));
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Healthy; 2]);
    view = f.eval(&o, &view, T0.plus_secs(fail_after));
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Down; 2]);
    let ev = &view.services[f.web].evidence[f.r("eu-west-1")];
    assert_eq!(ev.critical_probes_failing, 1);
    assert!(!ev.vetoed);
    // The decision's reason says which signal decided.
    let why = reason(&f, &view, "eu-west-1");
    assert!(
        why.contains("critical probes failing from 1 observer(s) (each enough alone)"),
        "{why}"
    );
}

/// The reason a plan gives for evacuating `region`, as `plan`, `explain` and the decision
/// record print it.
fn reason(f: &Fixture, view: &HealthView, region: &str) -> String {
    let r = f.r(region);
    let entry = view.services[f.web].entries[(0, r)];
    let reason = crate::plan::Reason::RegionUnhealthy {
        r,
        verdict: entry.verdict,
        since: entry.since,
        evidence: view.services[f.web].evidence[r].clone(),
        cells: view.services[f.web].entries.shape().0,
    };
    crate::plan::render::reason_text(&f.bundle, f.svc(), &reason)
}

#[test]
fn a_critical_alarm_in_alarm_degrades_the_region_alone() {
    let (f, mut view, mut o) = setup(AlarmState::Ok);
    f.set(&mut o, "web-eu-west-1-slo", AlarmState::Alarm, T0);
    let fail_after = f.svc().health.fail_after_secs;
    view = f.eval(&o, &view, T0.plus_secs(fail_after - 1));
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Healthy; 2]);
    view = f.eval(&o, &view, T0.plus_secs(fail_after));
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Degraded; 2]);
    let why = reason(&f, &view, "eu-west-1");
    assert!(why.contains("web-eu-west-1-slo (critical)"), "{why}");
}

#[test]
fn shadow_signals_are_recorded_and_change_nothing() {
    let (f, mut view, mut o) = setup(AlarmState::Ok);
    f.set(&mut o, "web-eu-west-1-canary", AlarmState::Alarm, DAY_AGO);
    for observer in ["eu-central-1", "eu-west-1", "us-east-1"] {
        f.probe_as(
            &mut o,
            SignalRole::Shadow,
            (observer, "eu-west-1"),
            false,
            DAY_AGO,
        );
    }
    view = f.eval(&o, &view, T0);
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Healthy; 2]);
    let ev = &view.services[f.web].evidence[f.r("eu-west-1")];
    let canary = f
        .svc()
        .health
        .alarms
        .iter()
        .position(|b| b.name == "web-eu-west-1-canary")
        .unwrap();
    assert_eq!(ev.shadow_in_alarm, vec![u32::try_from(canary).unwrap()]);
    assert_eq!(ev.shadow_probes_failing, 3);
    assert!(ev.alarms_in_alarm.is_empty());
    assert_eq!(ev.probes_failing, 0);
}

#[test]
fn a_served_signal_is_evidence_of_health_for_a_service_without_failure_alarms() {
    // Probes and a served alarm only: the partition leaves nothing else to say "healthy",
    // and silence would turn the region unknown and evacuate it all the same.
    let text = roles_policy()
        .replace("      - name: \"web-{region}-5xx\"\n", "")
        .replace("      - name: \"web-{region}-{cell}-errors\"\n", "");
    let f = Fixture::with(&text);
    let mut o = f.empty();
    for b in &f.svc().health.alarms {
        if b.role == SignalRole::Served {
            f.set(&mut o, &b.name, AlarmState::Ok, DAY_AGO);
        }
    }
    probes_fail_from_two(&f, &mut o, DAY_AGO);
    let mut view = f.eval(&o, &HealthView::unknown(&f.bundle), DAY_AGO);
    for dt in [0, 600, 3600] {
        view = f.eval(&o, &view, T0.plus_secs(dt));
        assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Healthy; 2]);
    }
}

#[test]
fn without_a_served_signal_the_probe_quorum_evacuates_as_before() {
    let f = Fixture::new();
    let mut o = f.all_web_alarms(AlarmState::Ok, DAY_AGO);
    probes_fail_from_two(&f, &mut o, DAY_AGO);
    let view = f.eval(&o, &f.healthy(), T0);
    assert_eq!(f.all(&view, "eu-west-1"), vec![Verdict::Down; 2]);
    let ev = &view.services[f.web].evidence[f.r("eu-west-1")];
    assert_eq!((ev.served, ev.vetoed), (Served::Absent, false));
}

#[cfg(feature = "planted-bugs")]
#[test]
fn the_planted_bug_ignores_the_veto_and_this_evaluation_notices() {
    use crate::planted::{Bug, select};
    let (f, view, mut o) = setup(AlarmState::Ok);
    probes_fail_from_two(&f, &mut o, DAY_AGO);
    select(Bug::IgnoreServedVeto);
    let bugged = f.eval(&o, &view, T0);
    select(Bug::Off);
    assert_eq!(f.all(&bugged, "eu-west-1"), vec![Verdict::Down; 2]);
    let fixed = f.eval(&o, &view, T0);
    assert_eq!(f.all(&fixed, "eu-west-1"), vec![Verdict::Healthy; 2]);
}

/// `explain`'s line for eu-west-1 (decision records carry it, so it must not change by
/// accident).
fn line(f: &Fixture, view: &HealthView) -> String {
    let r = f.r("eu-west-1");
    explain::signals_line(f.svc(), r, &view.services[f.web].evidence[r])
}

#[test]
fn explain_names_each_signal_its_role_and_what_decided() {
    // The served veto: both sides, and the veto decides.
    let (f, view, mut o) = setup(AlarmState::Ok);
    probes_fail_from_two(&f, &mut o, T0);
    let vetoed = f.eval(&o, &view, T0);
    assert_eq!(
        line(&f, &vetoed),
        "probes (failure): failing from 2 of 3 observers (quorum 2); \
         served (web-eu-west-1-requests): users served; \
         decided by: served veto (observers cannot reach it, its users can)"
    );
    // A critical alarm decides as a failure alarm, named with its role.
    let (f, view, mut o) = setup(AlarmState::Ok);
    f.set(&mut o, "web-eu-west-1-slo", AlarmState::Alarm, T0);
    let critical = f.eval(&o, &view, T0);
    assert_eq!(
        line(&f, &critical),
        "probes (failure): no observer reported (quorum 2); \
         in ALARM: web-eu-west-1-slo (critical); \
         served (web-eu-west-1-requests): users served; decided by: failure alarm"
    );
    // One observer's critical probe decides alone (it counts among the failure probes'
    // observers too, below their quorum).
    let (f, view, mut o) = setup(AlarmState::Ok);
    f.probe_as(
        &mut o,
        SignalRole::Critical,
        ("us-east-1", "eu-west-1"),
        false,
        T0,
    );
    let probe = f.eval(&o, &view, T0);
    assert_eq!(
        line(&f, &probe),
        "probes (failure): failing from 1 of 1 observers (quorum 2); \
         probes (critical): failing from 1 observer(s); \
         served (web-eu-west-1-requests): users served; decided by: critical probe"
    );
    // Shadow signals are shown, labelled as never acting, and decide nothing.
    let (f, view, mut o) = setup(AlarmState::Ok);
    f.set(&mut o, "web-eu-west-1-canary", AlarmState::Alarm, T0);
    f.probe_as(
        &mut o,
        SignalRole::Shadow,
        ("us-east-1", "eu-west-1"),
        false,
        T0,
    );
    let shadow = f.eval(&o, &view, T0);
    assert_eq!(
        line(&f, &shadow),
        "probes (failure): no observer reported (quorum 2); \
         served (web-eu-west-1-requests): users served; \
         shadow (never acts): in ALARM [web-eu-west-1-canary], probes failing from 1 \
         observer(s); decided by: no failure evidence"
    );
}

#[test]
fn signal_rows_mark_what_decided_and_never_a_shadow_signal() {
    use explain::{Said, SignalRow, signal_rows};
    let (f, view, mut o) = setup(AlarmState::Ok);
    probes_fail_from_two(&f, &mut o, T0);
    f.set(&mut o, "web-eu-west-1-canary", AlarmState::Alarm, T0);
    let view = f.eval(&o, &view, T0);
    let r = f.r("eu-west-1");
    let rows = signal_rows(f.svc(), r, &view.services[f.web].evidence[r]);
    let row = |role, signal: &str, said, decided| SignalRow {
        role,
        signal: signal.to_string(),
        said,
        decided,
    };
    // The fixture's region has critical and shadow probes: their rows show, at 0 failing.
    assert_eq!(
        rows,
        vec![
            row(
                SignalRole::Failure,
                "probes",
                Said::ProbeQuorum {
                    failing: 2,
                    ok: 1,
                    quorum: 2
                },
                false
            ),
            row(
                SignalRole::Critical,
                "probes",
                Said::ProbesFailing { failing: 0 },
                false
            ),
            row(
                SignalRole::Served,
                "web-eu-west-1-requests",
                Said::Served {
                    served: Served::Serving
                },
                true
            ),
            row(
                SignalRole::Shadow,
                "web-eu-west-1-canary",
                Said::InAlarm,
                false
            ),
            row(
                SignalRole::Shadow,
                "probes",
                Said::ProbesFailing { failing: 0 },
                false
            ),
        ]
    );
    assert_eq!(
        explain::role_label(SignalRole::Shadow),
        "shadow (never acts)"
    );
}
