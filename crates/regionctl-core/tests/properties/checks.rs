//! The properties themselves, each checked over one generated world.

use proptest::prelude::*;
use regionctl_core::health::Verdict;
use regionctl_core::plan::{self, Action, AlertKind, ShiftPurpose};
use regionctl_core::{switch, traffic};

use crate::world::*;

pub(crate) fn check_safe(w: &World) -> Result<(), TestCaseError> {
    let case = build(w);
    let p = run(&case, &case.live);
    prop_assert!(plan::is_acyclic(&p.steps));
    let svc = &case.bundle.services[0];
    let sp = &p.services[0];
    let nr = svc.regions.len();
    let current = case.live.services[0].weights.map(|x| x.unwrap_or(0));
    let holds = sp.target_weights == current && !p.alerts.is_empty();
    let traffic = plan::traffic_of(svc, &sp.target_weights);
    for (c, cell) in svc.cells.iter().enumerate() {
        let row = sp.target_weights.row(c);
        let verdicts: Vec<Verdict> = case.health.services[0]
            .entries
            .row(c)
            .iter()
            .map(|e| e.verdict)
            .collect();
        // (c)
        prop_assert!(
            row.iter().any(|x| *x > 0),
            "cell {}: all-zero target {:?}",
            cell.id,
            row
        );
        // (b)
        let sum: u32 = traffic[&cell.id].values().sum();
        prop_assert!(
            sum == 100 || holds,
            "cell {}: traffic sums to {sum}",
            cell.id
        );
        // (a)
        if verdicts.contains(&Verdict::Healthy) {
            for r in 0..nr {
                if row[r] == 0 || verdicts[r] == Verdict::Healthy {
                    continue;
                }
                // The min-healthy-regions hold keeps the last state on purpose (named by
                // its alert; there is no `Exemption` variant for it — see the report).
                let min_healthy_hold = sp.target_weights == current
                    && p.alerts
                        .iter()
                        .any(|a| a.kind == AlertKind::HoldMinHealthyRegions);
                let exempt =
                    min_healthy_hold || sp.exemptions.iter().any(|e| e.keeps_weight_on(r, NOW));
                prop_assert!(
                    exempt,
                    "cell {}: weight {} on {:?} region {} without an exemption; exemptions {:?}, alerts {:?}\n{}",
                    cell.id,
                    row[r],
                    verdicts[r],
                    svc.regions[r].name,
                    sp.exemptions,
                    p.alerts,
                    w.policy.yaml()
                );
            }
        }
        // (g) Answered traffic, with the target switches as Route 53 health.
        if switch::slots(svc) > 0 {
            let slot = switch::slot_of_cell(svc, c);
            let on: Vec<bool> = sp.target_switches.row(slot).to_vec();
            prop_assert!(on.iter().any(|x| *x), "cell {}: every switch off", cell.id);
            let w32: Vec<u32> = row.iter().map(|x| u32::from(*x)).collect();
            let answered = traffic::answered_weights(&w32, &on);
            if verdicts.contains(&Verdict::Healthy) {
                for r in 0..nr {
                    if answered[r] == 0 || verdicts[r] == Verdict::Healthy {
                        continue;
                    }
                    let hold = sp.target_weights == current && !p.alerts.is_empty();
                    let exempt = hold || sp.exemptions.iter().any(|e| e.keeps_weight_on(r, NOW));
                    prop_assert!(
                        exempt,
                        "cell {}: Route 53 would answer {:?} region {} (weights {:?}, switches {:?})\n{}",
                        cell.id,
                        verdicts[r],
                        svc.regions[r].name,
                        row,
                        on,
                        w.policy.yaml()
                    );
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn check_fixpoint(w: &World) -> Result<(), TestCaseError> {
    // With no cooldown, the next failback stage is due at once: not a fixpoint by design.
    // Give such worlds a cooldown rather than reject them (rejects abort the search).
    let mut w = w.clone();
    if w.policy.cooldown == 0 {
        w.policy.cooldown = 60;
    }
    let case = build(&w);
    let p = run(&case, &case.live);
    let mut live = case.live.clone();
    apply(&p, &mut live);
    let mut again = run(&case, &live);
    if p.services[0].partial {
        // A partial shift is what capacity could carry, and it postpones failback; `apply`
        // brings the capacity up, so the rest (and any postponed failback stage) follows
        // once — and then nothing.
        apply(&again, &mut live);
        again = run(&case, &live);
    }
    prop_assert!(
        again.steps.is_empty(),
        "first plan: {:#?}\nsecond plan: {:#?}\n{}",
        p.steps,
        again.steps,
        w.policy.yaml()
    );
    Ok(())
}

pub(crate) fn check_failback_step(w: &World) -> Result<(), TestCaseError> {
    let case = build(w);
    let p = run(&case, &case.live);
    let svc = &case.bundle.services[0];
    let nr = svc.regions.len();
    let limit = f64::from(svc.safety.max_shift_percent_per_step) + 1.0;
    let mut state = case.live.services[0].weights.map(|x| x.unwrap_or(0));
    for st in p.steps_of(0) {
        let Action::SetWeights { purpose, changes } = &st.action else {
            continue;
        };
        let before = state.clone();
        for ch in changes {
            state[(ch.cell as usize, usize::from(ch.r))] = ch.to;
        }
        if *purpose != ShiftPurpose::Failback {
            continue;
        }
        prop_assert!(st.discretionary);
        for c in 0..svc.cells.len() {
            let from = shares(before.row(c));
            let to = shares(state.row(c));
            let moved: f64 = (0..nr).map(|r| (to[r] - from[r]).max(0.0)).sum::<f64>() * 100.0;
            prop_assert!(
                moved <= limit + 1e-9,
                "cell {c}: failback moved {moved:.2} points, limit {limit}: {:?} -> {:?}\nverdicts {:?}\nsteps {:#?}\n{}",
                before.row(c),
                state.row(c),
                w.verdicts,
                p.steps,
                w.policy.yaml()
            );
        }
    }
    prop_assert_eq!(
        &state,
        &p.services[0].target_weights,
        "steps must produce the target"
    );
    Ok(())
}
