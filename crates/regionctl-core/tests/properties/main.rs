//! Property tests of the planner over generated policies (YAML text → `policy::load`),
//! random health per (cell, region) and random live weights.
//!
//! Properties (DESIGN.md §4, §7):
//! (a) outside the named exemptions, no weight on a non-healthy region in a cell that has a
//!     healthy region;
//! (b) every cell's traffic sums to 100 from a non-degenerate weight set, or the plan holds
//!     (target == current) with an alert;
//! (c) no all-zero weight set in any target;
//! (d) applying a plan and re-planning at the same `now` yields no steps;
//! (e) a failback step moves at most `max_shift_percent_per_step` (+1 rounding) of a cell;
//! (f) planning is deterministic;
//! (g) over *answered* traffic (Route 53's rules, with the target data-plane switches as
//!     health), the same as (a), and never every switch of a cell off.
//!
//! The generated world and the harness are in `world`, the property checks in `checks`.

#![allow(clippy::unwrap_used)] // tests may unwrap

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use regionctl_core::grid::Grid;

mod checks;
mod world;

use checks::*;
use world::*;

/// A fixed seed unless `PROPTEST_RNG_SEED` names another: CI must go red only on a
/// regression, never on the luck of the draw. Search wider by hand with
/// `PROPTEST_RNG_SEED=<n> PROPTEST_CASES=<n>`.
fn config() -> ProptestConfig {
    let base = ProptestConfig::default();
    let rng_seed = match base.rng_seed {
        RngSeed::Random => RngSeed::Fixed(0x7265_6769_6f6e),
        chosen => chosen,
    };
    ProptestConfig {
        failure_persistence: None,
        rng_seed,
        ..base
    }
}

proptest! {
    #![proptest_config(config())]

    /// (a), (b), (c) over active-active and warm-standby policies.
    #[test]
    fn resulting_state_is_safe(w in world_strategy(false)) {
        check_safe(&w)?;
    }

    /// (a), (b), (c) over active-active policies and arbitrary live weights.
    #[test]
    fn resulting_state_is_safe_active_active(w in world_strategy(true)) {
        check_safe(&w)?;
    }

    /// (a), (b), (c) over active-active policies, starting from the steady state.
    #[test]
    fn resulting_state_is_safe_active_active_from_steady(w in world_strategy(true)) {
        check_safe(&steady(w))?;
    }

    /// (d) over active-active policies, starting from the steady state.
    #[test]
    fn applied_plan_is_a_fixpoint_active_active_from_steady(w in world_strategy(true)) {
        check_fixpoint(&steady(w))?;
    }

    /// (d) over active-active and warm-standby policies.
    #[test]
    fn applied_plan_is_a_fixpoint(w in world_strategy(false)) {
        check_fixpoint(&w)?;
    }

    /// (d) over active-active policies.
    #[test]
    fn applied_plan_is_a_fixpoint_active_active(w in world_strategy(true)) {
        check_fixpoint(&w)?;
    }

    /// (e): failback moves at most the step limit of a cell.
    #[test]
    fn failback_respects_the_step_limit(w in world_strategy(false)) {
        check_failback_step(&w)?;
    }

    /// (f): same inputs, same plan (also through a fresh load of the same text).
    #[test]
    fn planning_is_deterministic(w in world_strategy(false)) {
        let case = build(&w);
        let a = serde_json::to_string(&run(&case, &case.live)).unwrap();
        let b = serde_json::to_string(&run(&case, &case.live)).unwrap();
        prop_assert_eq!(&a, &b);
        let again = build(&w);
        let c = serde_json::to_string(&run(&again, &again.live)).unwrap();
        prop_assert_eq!(&a, &c);
    }
}

/// The case the fixpoint property once found (CI, random seed): a partial evacuation whose
/// percent rounding changed the receivers' split, so the next pass needed one more task in
/// another receiver and shifted partially a second time.
#[test]
fn a_partial_evacuation_completes_in_one_more_pass() {
    let w = World {
        policy: Policy {
            weights: vec![44, 67, 51, 0],
            cells: 1,
            strategy: Strat::WarmStandby,
            tiers: vec![],
            ecs: true,
            standby_count: 0,
            full_count: 2,
            max_wait_secs: 861,
            max_degraded_hold_secs: 882,
            min_healthy: 1,
            max_shift: 88,
            cooldown: 60,
            after_healthy: 0,
            manual: true,
            stages: vec![38, 73, 100],
            switch: 1,
        },
        verdicts: Grid::from_vec(1, 4, vec![1, 0, 0, 3]).unwrap(),
        since_secs: 86_400,
        live: Grid::from_vec(1, 4, vec![(false, 0), (true, 35), (false, 0), (true, 207)]).unwrap(),
        last_change_ago: None,
    };
    if let Err(e) = check_fixpoint(&w) {
        panic!("{e}");
    }
}
