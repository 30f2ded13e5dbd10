//! Evacuation: what leaves an unhealthy or unknown region, and what holds instead (fail
//! static, the healthy-region floor, backup-restore, dependencies first).

use super::*;

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
        assert_eq!(sp.target_weights, l.weights.map(|w| w.unwrap()));
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
                let before = cur[(c, r)].unwrap();
                let after = tgt[(c, r)];
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
                tgt.row(c).iter().any(|w| *w > 0),
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
        x.sp(&p).target_weights.row(na),
        &x.svc().cells[na].baseline_weights[..]
    );
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
    let cur = live.services[x.s].weights.map(|w| w.unwrap());
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
        let cur = live.services[x.s].weights.map(|w| w.unwrap());
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

/// A controller that started during a young failure (its view has no earlier verdict, so
/// the region is `unknown` with the failure pending) neither drains nor feeds that region:
/// its peers, which watched it healthy, keep its traffic until `fail_after_secs` (simulate
/// seed 2676). A confirmed failure next to it is still evacuated.
#[test]
fn an_unconfirmed_failure_keeps_its_traffic() {
    let b = example();
    let live = LiveState::steady(&b);
    let unconfirmed = |h: &mut HealthView, s: usize, r: usize| {
        for c in 0..h.services[s].entries.shape().0 {
            let entry = &mut h.services[s].entries[(c, r)];
            entry.verdict = Verdict::Unknown;
            entry.since = Timestamp::EPOCH;
            entry.pending = Some((Verdict::Down, ago(30)));
        }
    };
    // playback: us-east-1's failure is 30 s old: nothing moves.
    let x = Svc::new(&b, "playback");
    let ue = x.r("us-east-1");
    let mut h = view(&b, NOW, |_, _, _| None);
    unconfirmed(&mut h, x.s, ue);
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    assert!(x.shifts(&p).is_empty(), "{:#?}", p.steps);
    assert_eq!(
        x.sp(&p).target_weights,
        live.services[x.s].weights.map(|w| w.unwrap())
    );
    assert!(
        x.sp(&p)
            .exemptions
            .contains(&Exemption::Unconfirmed { r: ue })
    );
    // content: eu-west-1 is down, us-east-1 unconfirmed. eu-west-1 is evacuated to
    // eu-central-1; us-east-1 keeps exactly its weight and gains nothing.
    let x = Svc::new(&b, "content");
    let (ue, ew) = (x.r("us-east-1"), x.r("eu-west-1"));
    let mut h = view(&b, NOW, |s, r, _| {
        (s == "content" && r == "eu-west-1").then_some(Verdict::Down)
    });
    unconfirmed(&mut h, x.s, ue);
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    let cur = &live.services[x.s].weights;
    for c in 0..x.svc().cells.len() {
        let tgt = x.sp(&p).target_weights.row(c);
        assert_eq!(tgt[ew], 0, "cell {c}: the down region is evacuated");
        assert_eq!(
            tgt[ue],
            cur[(c, ue)].unwrap(),
            "cell {c}: unconfirmed keeps its weight"
        );
        assert!(tgt.iter().any(|w| *w > 0));
    }
    // Once the failure is confirmed (or was never seen healthy and carries no traffic),
    // it is evacuated as before.
    let mut h = view(&b, NOW, |s, r, _| {
        (s == "content" && r == "us-east-1").then_some(Verdict::Down)
    });
    unconfirmed(&mut h, x.s, ew);
    let mut drained = live.clone();
    for c in 0..x.svc().cells.len() {
        drained.services[x.s].weights[(c, ew)] = Some(0);
    }
    let p = run(&b, &h, &drained, &Controls::default(), NOW);
    for c in 0..x.svc().cells.len() {
        let tgt = x.sp(&p).target_weights.row(c);
        assert_eq!(tgt[ue], 0, "cell {c}: confirmed failure evacuated");
        assert_eq!(tgt[ew], 0, "cell {c}: an unconfirmed region gains nothing");
    }
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
        assert_eq!(x.sp(&p).target_weights.row(c)[ue], 0);
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
    assert_eq!(x.sp(&p).target_weights.row(na)[x.r("eu-west-1")], 0);
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

/// A cell left with nothing serving is taken over by the first tier with an eligible
/// region nobody disputes; where there is none, it is held (simulate seeds 1008, 1021:
/// one controller evacuated into a region its peer still saw failing, and the peer set
/// it back to 0 two seconds later).
#[test]
fn a_disputed_region_does_not_take_over_an_evacuated_cell() {
    let b = example();
    let live = LiveState::steady(&b);
    let x = Svc::new(&b, "content");
    let (ue, ew, ec) = (x.r("us-east-1"), x.r("eu-west-1"), x.r("eu-central-1"));
    let na = x.svc().cells.iter().position(|c| c.id == "na").unwrap();
    // `na` is served by us-east-1 first, then [eu-west-1, eu-central-1].
    let down = view(&b, NOW, |s, r, _| {
        (s == "content" && r == "us-east-1").then_some(Verdict::Down)
    });
    let takeover = |h: &HealthView| {
        let p = run(&b, h, &live, &Controls::default(), NOW);
        (x.sp(&p).target_weights.row(na).to_vec(), x.alerts(&p))
    };
    let (row, _) = takeover(&down);
    assert!(row[ew] > 0 && row[ec] > 0 && row[ue] == 0, "{row:?}");
    // eu-west-1 disputed: eu-central-1 alone takes the cell over.
    let mut h = down.clone();
    h.services[x.s].evidence[ew].disputed = true;
    let (row, _) = takeover(&h);
    assert!(row[ew] == 0 && row[ec] > 0 && row[ue] == 0, "{row:?}");
    // Both disputed: held as it is, and said so.
    h.services[x.s].evidence[ec].disputed = true;
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    assert_eq!(
        x.sp(&p).target_weights.row(na),
        live.services[x.s].weights.map(|w| w.unwrap()).row(na)
    );
    assert!(x.alerts(&p).contains(&AlertKind::HoldFailStatic));
    assert!(
        p.alerts.iter().any(|a| a
            .message
            .contains("another controller's view does not dispute")),
        "{:?}",
        p.alerts
    );
    // A disputed region keeps the traffic it has: another cell's evacuation leaves it.
    let eu = x.svc().cells.iter().position(|c| c.id == "eu").unwrap();
    let steady = live.services[x.s].weights.map(|w| w.unwrap());
    assert_eq!(x.sp(&p).target_weights.row(eu)[ew], steady.row(eu)[ew]);
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
    assert_eq!(x.sp(&p).target_weights[(0, x.r("us-east-1"))], 0);
    assert_eq!(x.shifts(&p).len(), 1);
    // Two down: one healthy would remain: hold, alert, no steps.
    let h = view(&b, NOW, |_, r, _| {
        (r != "eu-central-1").then_some(Verdict::Down)
    });
    let p = run(&b, &h, &live, &Controls::default(), NOW);
    assert!(x.steps(&p).is_empty());
    assert!(x.alerts(&p).contains(&AlertKind::HoldMinHealthyRegions));
    let cur = live.services[x.s].weights.map(|w| w.unwrap());
    assert_eq!(x.sp(&p).target_weights, cur);
}
