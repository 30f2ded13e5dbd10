//! `apply_steps` against the scripted world, on auth (warm standby with a switch:
//! eu-central-1 serves, eu-west-1 stands by with 2 of 10 tasks), with the steps an
//! evacuation of eu-central-1 has.

use super::*;
use crate::fake::world::{FakeWorld, block_on};
use crate::fake::{degraded, example};
use crate::pace::Route53Pace;
use regionctl_core::controls::Controls;
use regionctl_core::live::LiveState;
use regionctl_core::plan::{Plane, ShiftPurpose};
use regionctl_core::policy::Bundle;
use regionctl_core::time::Timestamp;

const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);
const ZONE: &str = "Z0AUTHEXAMPLE000001";

fn step(id: usize, action: Action, after: &[usize], plane: Plane) -> Step {
    Step {
        id,
        service: 0,
        action,
        after: after.to_vec(),
        reasons: Vec::new(),
        plane,
        discretionary: false,
        takes_effect_secs: None,
    }
}

/// Scale eu-west-1 to 10, wait for 8 running, shift the cell to eu-west-1; switch
/// eu-central-1 off (needing nothing before it).
fn evacuation(bundle: &Bundle) -> Vec<Step> {
    let s = bundle.service_index("auth").expect("auth");
    let mut steps = vec![
        step(
            0,
            Action::Scale {
                r: 1,
                from: 2,
                to: 10,
            },
            &[],
            Plane::EcsControlPlane,
        ),
        step(
            1,
            Action::WaitForCapacity {
                r: 1,
                running: 2,
                needed: 8,
                timeout_secs: 240,
            },
            &[0],
            Plane::None,
        ),
        step(
            2,
            Action::SetWeights {
                purpose: ShiftPurpose::Evacuate,
                changes: vec![
                    WeightChange {
                        cell: 0,
                        r: 0,
                        from: Some(100),
                        to: 0,
                    },
                    WeightChange {
                        cell: 0,
                        r: 1,
                        from: Some(0),
                        to: 100,
                    },
                ],
            },
            &[1],
            Plane::Route53ControlPlane,
        ),
        step(
            3,
            Action::SetSwitch {
                r: 0,
                cell: None,
                from: None,
                on: false,
            },
            &[],
            Plane::CloudWatchDataPlane,
        ),
    ];
    for st in &mut steps {
        st.service = s;
    }
    steps
}

/// Applies `steps` (one service's) after the guard's check, with auth's eu-central-1
/// degraded 90 s ago and the steady live state.
fn apply(world: &FakeWorld, bundle: &Bundle, steps: &[Step]) -> Applied {
    let health = degraded(
        bundle,
        "auth",
        &["eu-central-1"],
        Timestamp(NOW.millis() - 90_000),
    );
    let live = LiveState::steady(bundle);
    let controls = Controls::default();
    let inputs = Inputs {
        bundle,
        health: &health,
        live: &live,
        controls: &controls,
        now: NOW,
    };
    let checked = guard::check_steps(&inputs, steps[0].service, steps.iter().collect(), &[])
        .expect("the guard accepts these steps");
    let batches = BatchGuard {
        inputs: &inputs,
        exemptions: &[],
        pace: &Route53Pace::default(),
    };
    block_on(apply_steps(world, &batches, &checked))
}

#[test]
fn a_wait_step_blocks_the_steps_after_it_but_not_the_others() {
    let b = example();
    let world = FakeWorld::steady(&b, NOW);
    let applied = apply(&world, &b, &evacuation(&b));
    assert_eq!(
        applied.statuses,
        [
            StepStatus::Done,
            StepStatus::Waiting,
            StepStatus::Skipped,
            StepStatus::Done
        ]
    );
    assert_eq!(
        applied.calls, 3,
        "UpdateService, DescribeServices, PutMetricData"
    );
    assert_eq!(applied.log[0], "scale eu-west-1 10");
    assert!(applied.log[1].starts_with("switch eu-central-1 off (published to "));
    assert_eq!(applied.switched, [((0, 0), false)]);
    assert!(applied.written.is_empty());
    assert_eq!(world.weight(ZONE, "auth-eu-central-1"), Some(100));
}

#[test]
fn once_the_capacity_runs_the_shift_goes_out_and_is_reported_written() {
    let b = example();
    let world = FakeWorld::steady(&b, NOW);
    for state in world.ecs.borrow_mut().values_mut() {
        state.running = 10;
    }
    let applied = apply(&world, &b, &evacuation(&b));
    assert!(applied.statuses.iter().all(|s| *s == StepStatus::Done));
    assert_eq!(
        applied.log[..2],
        ["scale eu-west-1 10", "shift 2 records in 1 call(s)"]
    );
    assert_eq!(
        applied.written,
        [
            (
                ZONE.to_string(),
                "auth.example.com".to_string(),
                "auth-eu-central-1".to_string(),
                0
            ),
            (
                ZONE.to_string(),
                "auth.example.com".to_string(),
                "auth-eu-west-1".to_string(),
                100
            ),
        ]
    );
    assert_eq!(world.weight(ZONE, "auth-eu-central-1"), Some(0));
    assert_eq!(world.weight(ZONE, "auth-eu-west-1"), Some(100));
}

#[test]
fn a_failed_call_fails_its_step_and_skips_the_steps_after_it() {
    let b = example();
    let world = FakeWorld::steady(&b, NOW);
    world.fail("UpdateService");
    let applied = apply(&world, &b, &evacuation(&b));
    assert_eq!(
        applied.statuses,
        [
            StepStatus::Failed("ecs UpdateService failed (Retryable): scripted failure".into()),
            StepStatus::Skipped,
            StepStatus::Skipped,
            StepStatus::Done,
        ]
    );
    assert_eq!(applied.calls, 1, "only the switch went out");
}

#[test]
fn a_step_on_a_resource_the_service_lacks_is_done_without_a_call() {
    let b = example();
    let world = FakeWorld::steady(&b, NOW);
    // content has no ECS service.
    let mut scale = step(
        0,
        Action::Scale {
            r: 0,
            from: 0,
            to: 4,
        },
        &[],
        Plane::EcsControlPlane,
    );
    scale.service = b.service_index("content").expect("content");
    let applied = apply(&world, &b, &[scale]);
    assert_eq!(applied.statuses, [StepStatus::Done]);
    assert_eq!(applied.calls, 0);
    assert!(world.calls.borrow().is_empty());
}

#[test]
fn a_batch_that_would_leave_a_cell_all_zero_is_never_sent() {
    let b = example();
    let world = FakeWorld::steady(&b, NOW);
    for state in world.ecs.borrow_mut().values_mut() {
        state.running = 10;
    }
    // An adapter that batches record by record, drain first: after the first batch the
    // cell would have no weight at all.
    world.batch_records.set(Some(1));
    let applied = apply(&world, &b, &evacuation(&b));
    assert_eq!(
        applied.statuses[2],
        StepStatus::Failed(
            "route53 ChangeResourceRecordSets failed (Permanent): guard rejected a batch: \
             cell all: all weights zero (Route 53 would spread evenly)"
                .into()
        )
    );
    assert_eq!(world.weight(ZONE, "auth-eu-central-1"), Some(100));
    assert!(applied.written.is_empty());
}
