//! The guard's checks before apply, on auth (warm standby: eu-central-1 serves the one
//! cell at weight 100, eu-west-1 stands by at 0; steps limited to 50% of the cell,
//! region-scope switches) with eu-central-1 degraded.

use super::*;
use crate::controls::Controls;
use crate::health::HealthView;
use crate::live::LiveState;
use crate::plan::{Plane, ShiftPurpose, WeightChange};
use crate::policy::{Bundle, SourceFile, load};
use crate::time::Timestamp;

const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);

fn auth() -> Bundle {
    let files = [
        SourceFile {
            path: "policies/auth.yaml".into(),
            text: include_str!("../../../../policies/auth.yaml").into(),
        },
        SourceFile {
            path: "policies/controller.yaml".into(),
            text: include_str!("../../../../policies/controller.yaml").into(),
        },
    ];
    load(&files).expect("auth loads")
}

/// eu-central-1 (local region 0) degraded 90 s ago (inside the capacity-wait bound),
/// eu-west-1 healthy.
fn degraded(bundle: &Bundle) -> HealthView {
    HealthView::assume(
        bundle,
        Timestamp::from_secs(1_800_000_000 - 90),
        |_, r, _| {
            if r == 0 {
                Verdict::Degraded
            } else {
                Verdict::Healthy
            }
        },
    )
}

fn step(id: usize, action: Action, discretionary: bool) -> Step {
    Step {
        id,
        service: 0,
        action,
        after: Vec::new(),
        reasons: Vec::new(),
        plane: Plane::Route53ControlPlane,
        discretionary,
        takes_effect_secs: None,
    }
}

fn weights(purpose: ShiftPurpose, to: [u8; 2]) -> Action {
    Action::SetWeights {
        purpose,
        changes: (0..2)
            .map(|r| WeightChange {
                cell: 0,
                r: r as u16,
                from: None,
                to: to[r],
            })
            .collect(),
    }
}

struct World {
    bundle: Bundle,
    health: HealthView,
    live: LiveState,
    controls: Controls,
}

impl World {
    fn new() -> Self {
        let bundle = auth();
        World {
            health: degraded(&bundle),
            live: LiveState::steady(&bundle),
            controls: Controls::default(),
            bundle,
        }
    }

    fn inputs(&self) -> Inputs<'_> {
        Inputs {
            bundle: &self.bundle,
            health: &self.health,
            live: &self.live,
            controls: &self.controls,
            now: NOW,
        }
    }

    fn check(&self, steps: &[Step]) -> Result<Vec<usize>, Vec<Violation>> {
        check_steps(&self.inputs(), 0, steps.iter().collect(), &[])
            .map(|checked| checked.get().iter().map(|s| s.id).collect())
    }
}

#[test]
fn the_planners_own_steps_pass_and_come_back_checked() {
    let w = World::new();
    let plan = crate::plan::plan(w.inputs());
    let steps: Vec<&Step> = plan.steps_of(0).collect();
    // Scale, wait, switch off, shift.
    assert_eq!(steps.len(), 4, "{steps:?}");
    let ids: Vec<usize> = steps.iter().map(|s| s.id).collect();
    let checked =
        check_steps(&w.inputs(), 0, steps, &plan.services[0].exemptions).expect("checked");
    assert_eq!(checked.get().iter().map(|s| s.id).collect::<Vec<_>>(), ids);
}

#[test]
fn steps_leaving_a_cell_all_zero_or_on_the_degraded_region_are_refused() {
    let w = World::new();
    assert_eq!(
        w.check(&[step(0, weights(ShiftPurpose::Evacuate, [0, 0]), false)]),
        Err(vec![Violation::AllZeroWeights {
            cell: w.bundle.services[0].cells[0].id.clone()
        }])
    );
    let onto_degraded = w.check(&[step(0, weights(ShiftPurpose::Evacuate, [50, 50]), false)]);
    assert!(
        matches!(&onto_degraded, Err(v) if matches!(&v[..], [Violation::TrafficToUnhealthy { region, .. }] if region == "eu-central-1")),
        "{onto_degraded:?}"
    );
    // The evacuation itself is fine.
    assert_eq!(
        w.check(&[step(0, weights(ShiftPurpose::Evacuate, [0, 100]), false)]),
        Ok(vec![0])
    );
}

#[test]
fn a_failback_is_measured_from_where_the_steps_before_it_leave_the_cell() {
    let mut w = World::new();
    w.health = HealthView::assume(&w.bundle, Timestamp::from_secs(1_799_900_000), |_, _, _| {
        Verdict::Healthy
    });
    // From 0/100 back to 100/0 in one discretionary step: twice the 50% limit.
    w.live.services[0].weights = Grid::from_vec(1, 2, vec![Some(0), Some(100)]).unwrap();
    let back = w.check(&[step(0, weights(ShiftPurpose::Failback, [100, 0]), true)]);
    assert!(
        matches!(&back, Err(v) if matches!(v[..], [Violation::StepTooLarge { .. }])),
        "{back:?}"
    );
    // Measured from the state the exempt step before it leaves: 50/50 → 100/0 is 50%.
    assert_eq!(
        w.check(&[
            step(0, weights(ShiftPurpose::Evacuate, [50, 50]), false),
            step(1, weights(ShiftPurpose::Failback, [100, 0]), true),
        ]),
        Ok(vec![0, 1])
    );
    // And only after the cooldown.
    w.live.services[0].last_discretionary_change = Some(Timestamp::from_secs(1_800_000_000 - 60));
    let early = w.check(&[step(0, weights(ShiftPurpose::Failback, [50, 50]), true)]);
    assert!(
        matches!(&early, Err(v) if matches!(v[..], [Violation::Cooldown { remaining_secs: 240 }])),
        "{early:?}"
    );
}

#[test]
fn steps_that_change_no_routing_pass_whatever_the_weights() {
    let w = World::new();
    // The live weights keep traffic on degraded eu-central-1 (a capacity wait): scaling the
    // receiver up is not a routing state.
    let scale = step(
        0,
        Action::Scale {
            r: 1,
            from: 2,
            to: 10,
        },
        false,
    );
    assert_eq!(w.check(&[scale]), Ok(vec![0]));
}

#[test]
fn switches_are_checked_over_the_traffic_route53_would_answer() {
    let w = World::new();
    let off = |id, r| {
        step(
            id,
            Action::SetSwitch {
                r,
                cell: None,
                from: None,
                on: false,
            },
            false,
        )
    };
    let all_off = w.check(&[off(0, 0), off(1, 1)]);
    assert!(
        matches!(&all_off, Err(v) if v.contains(&Violation::AllSwitchesOff { cell: w.bundle.services[0].cells[0].id.clone() })),
        "{all_off:?}"
    );
    // Draining eu-central-1 by its switch, with the weights moved too, is fine.
    assert_eq!(
        w.check(&[
            off(0, 0),
            step(1, weights(ShiftPurpose::Evacuate, [0, 100]), false)
        ]),
        Ok(vec![0, 1])
    );
}

#[test]
fn a_batch_that_would_split_a_cell_is_refused() {
    let w = World::new();
    let before = Grid::from_vec(1, 2, vec![100, 0]).unwrap();
    // Drain-first: eu-central-1 to 0 before eu-west-1 gets its weight.
    assert_eq!(
        check_written(&w.inputs(), 0, &before, &[(0, 0, 0)], &[]),
        vec![Violation::AllZeroWeights {
            cell: w.bundle.services[0].cells[0].id.clone()
        }]
    );
    assert!(check_written(&w.inputs(), 0, &before, &[(0, 0, 0), (0, 1, 100)], &[]).is_empty());
    // Cells not written are not judged (this one is as it was, traffic on the degraded
    // region during a capacity wait).
    assert!(check_written(&w.inputs(), 0, &before, &[], &[]).is_empty());
}
