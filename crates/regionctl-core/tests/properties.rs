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

#![allow(clippy::unwrap_used)] // tests may unwrap

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use regionctl_core::controls::Controls;
use regionctl_core::health::{HealthView, Verdict};
use regionctl_core::live::{EcsState, LiveState};
use regionctl_core::plan::{self, Action, AlertKind, Exemption, Inputs, Plan, ShiftPurpose};
use regionctl_core::policy::{self, Bundle, SourceFile};
use regionctl_core::time::Timestamp;
use regionctl_core::{switch, traffic};
use std::fmt::Write as _;

const REGIONS: [&str; 5] = [
    "eu-central-1",
    "eu-west-1",
    "us-east-1",
    "us-west-2",
    "ap-south-1",
];
const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strat {
    ActiveActive,
    WarmStandby,
}

#[derive(Debug, Clone)]
struct Policy {
    weights: Vec<u32>,
    cells: usize,
    strategy: Strat,
    /// Per cell (when there are ≥ 2 cells): failover tiers as region indices.
    tiers: Vec<Vec<Vec<usize>>>,
    ecs: bool,
    standby_count: u32,
    full_count: u32,
    max_wait_secs: u64,
    max_degraded_hold_secs: u64,
    min_healthy: u32,
    max_shift: u32,
    cooldown: u64,
    after_healthy: u64,
    manual: bool,
    stages: Vec<u32>,
    /// Data-plane switches: 0 none, 1 region scope, 2 cell scope.
    switch: u8,
}

impl Policy {
    fn yaml(&self) -> String {
        let n = self.weights.len();
        let mut y = String::new();
        let strategy = match self.strategy {
            Strat::ActiveActive => "active-active",
            Strat::WarmStandby => "warm-standby",
        };
        write!(
            y,
            "apiVersion: regionctl/v1\nkind: ServicePolicy\nmetadata:\n  name: svc\nspec:\n  tier: 2\n  strategy: {strategy}\n  mode: enforce\n  regions:\n"
        ).unwrap();
        for (r, w) in self.weights.iter().enumerate() {
            writeln!(y, "    - name: {}\n      weight: {w}", REGIONS[r]).unwrap();
        }
        if self.cells > 1 {
            let values: Vec<String> = (0..self.cells).map(|c| format!("v{c}")).collect();
            write!(
                y,
                "  cells:\n    dimensions:\n      - name: d\n        values: [{}]\n",
                values.join(", ")
            )
            .unwrap();
            if !self.tiers.is_empty() {
                y.push_str("    serving:\n");
                for (c, tiers) in self.tiers.iter().enumerate() {
                    let t: Vec<String> = tiers
                        .iter()
                        .map(|t| {
                            let names: Vec<&str> = t.iter().map(|r| REGIONS[*r]).collect();
                            format!("[{}]", names.join(", "))
                        })
                        .collect();
                    write!(
                        y,
                        "      - match: {{d: [v{c}]}}\n        tiers: [{}]\n",
                        t.join(", ")
                    )
                    .unwrap();
                }
            }
        }
        let record = if self.cells > 1 {
            "{cell}.svc.example.com"
        } else {
            "svc.example.com"
        };
        let switch = match self.switch {
            1 => "    switch: {scope: region}\n",
            2 => "    switch: {scope: cell}\n",
            _ => "",
        };
        write!(
            y,
            "  health:\n    alarms:\n      - name: \"svc-{{region}}-5xx\"\n  routing:\n    hosted_zone_id: Z0SVCEXAMPLE000001\n    record_name: \"{record}\"\n    value: \"svc.{{region}}.example.com\"\n{switch}"
        ).unwrap();
        if self.ecs {
            write!(
                y,
                "  compute:\n    ecs:\n      cluster: \"c-{{region}}\"\n      service: svc\n      standby_count: {}\n      full_count: {}\n      max_wait_secs: {}\n",
                self.standby_count, self.full_count, self.max_wait_secs
            ).unwrap();
        }
        let stages: Vec<String> = self.stages.iter().map(u32::to_string).collect();
        write!(
            y,
            "  safety:\n    min_healthy_regions: {}\n    max_shift_percent_per_step: {}\n    cooldown_secs: {}\n    max_degraded_hold_secs: {}\n    failback:\n      mode: {}\n      after_healthy_secs: {}\n      stages_percent: [{}]\n",
            self.min_healthy.min(u32::try_from(n).unwrap()),
            self.max_shift,
            self.cooldown,
            self.max_degraded_hold_secs,
            if self.manual { "manual" } else { "auto" },
            self.after_healthy,
            stages.join(", ")
        ).unwrap();
        y
    }
}

/// A random partition of `0..n` into 1–3 ordered tiers.
fn tiers_strategy(n: usize) -> impl Strategy<Value = Vec<Vec<usize>>> {
    (
        Just((0..n).collect::<Vec<usize>>()).prop_shuffle(),
        1..=3usize.min(n),
    )
        .prop_flat_map(move |(perm, k)| {
            proptest::collection::btree_set(1..n, k - 1).prop_map(move |cuts| {
                let mut bounds: Vec<usize> = vec![0];
                bounds.extend(cuts.iter().copied());
                bounds.push(n);
                bounds
                    .windows(2)
                    .map(|w| perm[w[0]..w[1]].to_vec())
                    .collect()
            })
        })
}

fn policy_strategy(aa_only: bool) -> impl Strategy<Value = Policy> {
    let strategies = if aa_only {
        Just(Strat::ActiveActive).boxed()
    } else {
        prop_oneof![Just(Strat::ActiveActive), Just(Strat::WarmStandby)].boxed()
    };
    (2..=5usize, 1..=6usize, strategies)
        .prop_flat_map(|(n, cells, strategy)| {
            let per_cell_tiers = if cells > 1 && strategy == Strat::ActiveActive {
                prop_oneof![
                    Just(Vec::new()),
                    proptest::collection::vec(tiers_strategy(n), cells)
                ]
                .boxed()
            } else {
                Just(Vec::new()).boxed()
            };
            (
                proptest::collection::vec(0..=255u32, n),
                Just(cells),
                Just(strategy),
                per_cell_tiers,
                any::<bool>(),
                (0..=4u32, 1..=12u32, 0..=900u64, 0..=900u64),
                (
                    1..=2u32,
                    1..=100u32,
                    prop_oneof![Just(0u64), Just(60), Just(300)],
                ),
                (prop_oneof![Just(0u64), Just(300), Just(600)], any::<bool>()),
                proptest::collection::btree_set(1..100u32, 0..4),
                0..3u8,
            )
        })
        .prop_map(
            |(
                mut weights,
                cells,
                strategy,
                tiers,
                ecs,
                (standby, full, wait, hold),
                (mh, ms, cd),
                (ah, manual),
                stages,
                switch,
            )| {
                let n = weights.len();
                match strategy {
                    Strat::ActiveActive => {
                        // At least one positive weight per tier (and overall).
                        for cell_tiers in &tiers {
                            for t in cell_tiers {
                                if t.iter().all(|r| weights[*r] == 0) {
                                    weights[t[0]] = 1;
                                }
                            }
                        }
                        if weights.iter().all(|w| *w == 0) {
                            weights[0] = 1;
                        }
                    }
                    Strat::WarmStandby => {
                        // Region 0 serves, the last region is a standby (weight 0).
                        weights[0] = weights[0].max(1);
                        weights[n - 1] = 0;
                    }
                }
                let mut stages: Vec<u32> = stages.into_iter().collect();
                stages.push(100);
                Policy {
                    weights,
                    cells,
                    strategy,
                    tiers,
                    ecs: ecs || strategy == Strat::WarmStandby,
                    standby_count: standby.min(full),
                    full_count: full,
                    max_wait_secs: wait,
                    max_degraded_hold_secs: hold,
                    min_healthy: mh,
                    max_shift: ms,
                    cooldown: cd,
                    after_healthy: ah,
                    manual,
                    stages,
                    switch,
                }
            },
        )
}

#[derive(Debug, Clone)]
struct World {
    policy: Policy,
    /// Verdict codes per (cell, region) slot: 0 healthy, 1 degraded, 2 down, 3 unknown.
    verdicts: Vec<u8>,
    /// How long ago the verdicts took effect.
    since_secs: u64,
    /// Live weights per slot, and whether to use them (else the baseline).
    live: Vec<(bool, u8)>,
    last_change_ago: Option<u64>,
}

fn world_strategy(aa_only: bool) -> impl Strategy<Value = World> {
    policy_strategy(aa_only).prop_flat_map(|policy| {
        let slots = policy.cells * policy.weights.len();
        (
            Just(policy),
            proptest::collection::vec(
                prop_oneof![4 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8), 1 => Just(3u8)],
                slots,
            ),
            prop_oneof![Just(0u64), Just(30), Just(400), Just(86_400)],
            proptest::collection::vec((any::<bool>(), 0..=255u8), slots),
            proptest::option::of(prop_oneof![
                Just(0u64),
                Just(100),
                Just(1000),
                Just(100_000)
            ]),
        )
            .prop_map(
                |(policy, verdicts, since_secs, live, last_change_ago)| World {
                    policy,
                    verdicts,
                    since_secs,
                    live,
                    last_change_ago,
                },
            )
    })
}

fn load(yaml: &str) -> Bundle {
    match policy::load(&[SourceFile {
        path: "svc.yaml".into(),
        text: yaml.to_string(),
    }]) {
        Ok(b) => b,
        Err(d) => panic!("generated policy must load:\n{yaml}\n{d:#?}"),
    }
}

fn ago(secs: u64) -> Timestamp {
    Timestamp(NOW.millis() - i64::try_from(secs * 1000).unwrap())
}

struct Case {
    bundle: Bundle,
    health: HealthView,
    live: LiveState,
}

fn build(w: &World) -> Case {
    let bundle = load(&w.policy.yaml());
    let svc = &bundle.services[0];
    let nr = svc.regions.len();
    let health = HealthView::assume(&bundle, ago(w.since_secs), |_, r, c| {
        match w.verdicts[c * nr + r] {
            0 => Verdict::Healthy,
            1 => Verdict::Degraded,
            2 => Verdict::Down,
            _ => Verdict::Unknown,
        }
    });
    let mut live = LiveState::steady(&bundle);
    let l = &mut live.services[0];
    for c in 0..svc.cells.len() {
        for r in 0..nr {
            let (random, weight) = w.live[c * nr + r];
            if random {
                l.weights[c * nr + r] = Some(weight);
            }
        }
        // A live state a guard ever let through is never all-zero.
        if (0..nr).all(|r| l.weights[c * nr + r] == Some(0)) {
            l.weights[c * nr] = Some(1);
        }
    }
    l.last_discretionary_change = w.last_change_ago.map(ago);
    Case {
        bundle,
        health,
        live,
    }
}

fn run(case: &Case, live: &LiveState) -> Plan {
    let controls = Controls::default();
    plan::plan(Inputs {
        bundle: &case.bundle,
        health: &case.health,
        live,
        controls: &controls,
        now: NOW,
    })
}

fn apply(p: &Plan, live: &mut LiveState) {
    for sp in &p.services {
        let l = &mut live.services[sp.service];
        l.weights = sp.target_weights.iter().map(|w| Some(*w)).collect();
        l.switches = sp.target_switches.iter().map(|on| Some(*on)).collect();
        for (r, d) in sp.target_desired.iter().enumerate() {
            if let Some(d) = d {
                l.ecs[r] = Some(EcsState {
                    desired: *d,
                    running: *d,
                    pending: 0,
                });
            }
        }
        if p.steps_of(sp.service).any(|s| s.discretionary) {
            l.last_discretionary_change = Some(p.at);
        }
    }
    for st in &p.steps {
        if let Action::SetAlb { r, to, .. } = st.action {
            live.services[st.service].alb[r] = Some(to);
        }
    }
}

fn shares(row: &[u8]) -> Vec<f64> {
    let total: u32 = row.iter().map(|w| u32::from(*w)).sum();
    row.iter()
        .map(|w| {
            if total == 0 {
                1.0 / row.len() as f64
            } else {
                f64::from(*w) / f64::from(total)
            }
        })
        .collect()
}

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

/// The same world with the policy's baseline weights as live weights.
fn steady(mut w: World) -> World {
    for slot in &mut w.live {
        slot.0 = false;
    }
    w
}

fn check_safe(w: &World) -> Result<(), TestCaseError> {
    let case = build(w);
    let p = run(&case, &case.live);
    prop_assert!(plan::is_acyclic(&p.steps));
    let svc = &case.bundle.services[0];
    let sp = &p.services[0];
    let nr = svc.regions.len();
    let current: Vec<u8> = case.live.services[0]
        .weights
        .iter()
        .map(|x| x.unwrap_or(0))
        .collect();
    let holds = sp.target_weights == current && !p.alerts.is_empty();
    let traffic = plan::traffic_of(svc, &sp.target_weights);
    for (c, cell) in svc.cells.iter().enumerate() {
        let row = &sp.target_weights[c * nr..(c + 1) * nr];
        let verdicts: Vec<Verdict> = (0..nr)
            .map(|r| case.health.services[0].entries[c * nr + r].verdict)
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
                let exempt = min_healthy_hold
                    || sp.exemptions.iter().any(|e| match e {
                        Exemption::CapacityWait { r: x, until } => *x == r && NOW < *until,
                        Exemption::Partial { r: x } => *x == r,
                        _ => false,
                    });
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
            let on: Vec<bool> = (0..nr).map(|r| sp.target_switches[slot * nr + r]).collect();
            prop_assert!(on.iter().any(|x| *x), "cell {}: every switch off", cell.id);
            let w32: Vec<u32> = row.iter().map(|x| u32::from(*x)).collect();
            let answered = traffic::answered_weights(&w32, &on);
            if verdicts.contains(&Verdict::Healthy) {
                for r in 0..nr {
                    if answered[r] == 0 || verdicts[r] == Verdict::Healthy {
                        continue;
                    }
                    let hold = sp.target_weights == current && !p.alerts.is_empty();
                    let exempt = hold
                        || sp.exemptions.iter().any(|e| match e {
                            Exemption::CapacityWait { r: x, until } => *x == r && NOW < *until,
                            Exemption::Partial { r: x } => *x == r,
                            _ => false,
                        });
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

fn check_fixpoint(w: &World) -> Result<(), TestCaseError> {
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

fn check_failback_step(w: &World) -> Result<(), TestCaseError> {
    let case = build(w);
    let p = run(&case, &case.live);
    let svc = &case.bundle.services[0];
    let nr = svc.regions.len();
    let limit = f64::from(svc.safety.max_shift_percent_per_step) + 1.0;
    let mut state: Vec<u8> = case.live.services[0]
        .weights
        .iter()
        .map(|x| x.unwrap_or(0))
        .collect();
    for st in p.steps_of(0) {
        let Action::SetWeights { purpose, changes } = &st.action else {
            continue;
        };
        let before = state.clone();
        for ch in changes {
            state[ch.cell as usize * nr + usize::from(ch.r)] = ch.to;
        }
        if *purpose != ShiftPurpose::Failback {
            continue;
        }
        prop_assert!(st.discretionary);
        for c in 0..svc.cells.len() {
            let from = shares(&before[c * nr..(c + 1) * nr]);
            let to = shares(&state[c * nr..(c + 1) * nr]);
            let moved: f64 = (0..nr).map(|r| (to[r] - from[r]).max(0.0)).sum::<f64>() * 100.0;
            prop_assert!(
                moved <= limit + 1e-9,
                "cell {c}: failback moved {moved:.2} points, limit {limit}: {:?} -> {:?}\nverdicts {:?}\nsteps {:#?}\n{}",
                &before[c * nr..(c + 1) * nr],
                &state[c * nr..(c + 1) * nr],
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
        verdicts: vec![1, 0, 0, 3],
        since_secs: 86_400,
        live: vec![(false, 0), (true, 35), (false, 0), (true, 207)],
        last_change_ago: None,
    };
    if let Err(e) = check_fixpoint(&w) {
        panic!("{e}");
    }
}
