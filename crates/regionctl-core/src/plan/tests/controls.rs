//! Operator controls: a drain override evacuates a healthy region; a pause records plans
//! but disposes nothing.

use super::*;

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
        assert_eq!(x.sp(&p).target_weights.row(c)[ew], 0);
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
        let w = x.sp(&p).target_weights.row(c)[ew];
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
