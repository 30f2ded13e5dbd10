//! The generated world: random policies (as YAML text, loaded through `policy::load`),
//! random health per (cell, region) and random live weights; and the harness that plans a
//! world and applies a plan as the executor would.

use proptest::prelude::*;
use regionctl_core::controls::Controls;
use regionctl_core::grid::Grid;
use regionctl_core::health::{HealthView, Verdict};
use regionctl_core::live::{EcsState, LiveState};
use regionctl_core::plan::{self, Action, Inputs, Plan};
use regionctl_core::policy::{self, Bundle, SourceFile};
use regionctl_core::time::Timestamp;
use std::fmt::Write as _;

pub(crate) const REGIONS: [&str; 5] = [
    "eu-central-1",
    "eu-west-1",
    "us-east-1",
    "us-west-2",
    "ap-south-1",
];
pub(crate) const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strat {
    ActiveActive,
    WarmStandby,
}

#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub(crate) weights: Vec<u32>,
    pub(crate) cells: usize,
    pub(crate) strategy: Strat,
    /// Per cell (when there are ≥ 2 cells): failover tiers as region indices.
    pub(crate) tiers: Vec<Vec<Vec<usize>>>,
    pub(crate) ecs: bool,
    pub(crate) standby_count: u32,
    pub(crate) full_count: u32,
    pub(crate) max_wait_secs: u64,
    pub(crate) max_degraded_hold_secs: u64,
    pub(crate) min_healthy: u32,
    pub(crate) max_shift: u32,
    pub(crate) cooldown: u64,
    pub(crate) after_healthy: u64,
    pub(crate) manual: bool,
    pub(crate) stages: Vec<u32>,
    /// Data-plane switches: 0 none, 1 region scope, 2 cell scope.
    pub(crate) switch: u8,
}

impl Policy {
    pub(crate) fn yaml(&self) -> String {
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
pub(crate) fn tiers_strategy(n: usize) -> impl Strategy<Value = Vec<Vec<usize>>> {
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

pub(crate) fn policy_strategy(aa_only: bool) -> impl Strategy<Value = Policy> {
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
pub(crate) struct World {
    pub(crate) policy: Policy,
    /// Verdict codes per (cell, region): 0 healthy, 1 degraded, 2 down, 3 unknown.
    pub(crate) verdicts: Grid<u8>,
    /// How long ago the verdicts took effect.
    pub(crate) since_secs: u64,
    /// Live weights per (cell, region), and whether to use them (else the baseline).
    pub(crate) live: Grid<(bool, u8)>,
    pub(crate) last_change_ago: Option<u64>,
}

pub(crate) fn world_strategy(aa_only: bool) -> impl Strategy<Value = World> {
    policy_strategy(aa_only).prop_flat_map(|policy| {
        let (cells, regions) = (policy.cells, policy.weights.len());
        let slots = cells * regions;
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
                move |(policy, verdicts, since_secs, live, last_change_ago)| World {
                    policy,
                    verdicts: Grid::from_vec(cells, regions, verdicts).unwrap(),
                    since_secs,
                    live: Grid::from_vec(cells, regions, live).unwrap(),
                    last_change_ago,
                },
            )
    })
}

pub(crate) fn load(yaml: &str) -> Bundle {
    match policy::load(&[SourceFile {
        path: "svc.yaml".into(),
        text: yaml.to_string(),
    }]) {
        Ok(b) => b,
        Err(d) => panic!("generated policy must load:\n{yaml}\n{d:#?}"),
    }
}

pub(crate) fn ago(secs: u64) -> Timestamp {
    Timestamp(NOW.millis() - i64::try_from(secs * 1000).unwrap())
}

pub(crate) struct Case {
    pub(crate) bundle: Bundle,
    pub(crate) health: HealthView,
    pub(crate) live: LiveState,
}

pub(crate) fn build(w: &World) -> Case {
    let bundle = load(&w.policy.yaml());
    let svc = &bundle.services[0];
    let health = HealthView::assume(&bundle, ago(w.since_secs), |_, r, c| {
        match w.verdicts[(c, r)] {
            0 => Verdict::Healthy,
            1 => Verdict::Degraded,
            2 => Verdict::Down,
            _ => Verdict::Unknown,
        }
    });
    let mut live = LiveState::steady(&bundle);
    let l = &mut live.services[0];
    for (c, row) in l.weights.rows_mut().enumerate().take(svc.cells.len()) {
        for (weight, &(random, random_weight)) in row.iter_mut().zip(w.live.row(c)) {
            if random {
                *weight = Some(random_weight);
            }
        }
        // A live state a guard ever let through is never all-zero.
        if row.iter().all(|w| *w == Some(0)) {
            row[0] = Some(1);
        }
    }
    l.last_discretionary_change = w.last_change_ago.map(ago);
    Case {
        bundle,
        health,
        live,
    }
}

pub(crate) fn run(case: &Case, live: &LiveState) -> Plan {
    let controls = Controls::default();
    plan::plan(Inputs {
        bundle: &case.bundle,
        health: &case.health,
        live,
        controls: &controls,
        now: NOW,
    })
}

pub(crate) fn apply(p: &Plan, live: &mut LiveState) {
    for sp in &p.services {
        let l = &mut live.services[sp.service];
        l.weights = sp.target_weights.map(|w| Some(*w));
        l.switches = sp.target_switches.map(|on| Some(*on));
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

pub(crate) fn shares(row: &[u8]) -> Vec<f64> {
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

/// The same world with the policy's baseline weights as live weights.
pub(crate) fn steady(mut w: World) -> World {
    for slot in w.live.iter_mut() {
        slot.0 = false;
    }
    w
}
