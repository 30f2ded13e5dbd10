//! A seed → a game-day scenario: a random but reproducible fault schedule over the simulated
//! world. The simulator runs exactly what it generates through the game-day engine, so the
//! reproduction file of a violation is this scenario, written out.

use crate::duration::Dur;
use crate::invariants::Checker;
use crate::scenario::{
    Forgery, Guardrails, ReportSpec, RollbackStep, RollbackWhat, Scenario, ScenarioAlarmState,
    SimSpec, SteadyCheck, SteadyKind, TimelineEntry, Verdict, What, Where, WorldSpec, WrittenItem,
};
use crate::world::Knobs;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use regionctl_core::policy::Bundle;
use std::collections::BTreeMap;

mod isolation;
mod repeat;

/// First fault no earlier than this: the steady-state checks run just before it.
pub const FIRST_FAULT_SECS: u64 = 300;
/// Faults last at least this long (shorter ones are below every detection window).
const MIN_FAULT_SECS: u64 = 60;
/// And at most this long.
const MAX_FAULT_SECS: u64 = 1200;
/// The shortest run a schedule fits in: a fault at the earliest, lasting the least.
pub const MIN_DURATION_SECS: u64 = FIRST_FAULT_SECS + MIN_FAULT_SECS;
/// At most this many timeline faults per seed.
const MAX_FAULTS: u64 = 4;

/// The schedule stream is separate from the world's (which the engine seeds with `seed`).
const SCHEDULE_STREAM: u64 = 0x5ced_u64;
/// The edge faults' stream (issue 17: journal write failures, rogue writers), separate
/// from the schedule's so that adding them left every seed's other faults as they were.
const EDGE_STREAM: u64 = 0xed9e_u64;
/// Odds (percent) that a seed suffers a journal write failure.
const JOURNAL_WRITE_FAIL_PERCENT: u64 = 40;
/// Odds (percent) that a seed suffers a rogue writer.
const ROGUE_WRITER_PERCENT: u64 = 40;
/// Odds (percent) that a journal write failure starts with another fault (within a
/// minute of it), when there is something to record; otherwise at any time of the window.
const WRITE_FAIL_WITH_FAULT_PERCENT: u64 = 70;
/// The same for a rogue writer: mostly on its own, as `forged-items-inert` judges a fleet
/// that suffers nothing else, sometimes beside another fault.
const ROGUE_WITH_FAULT_PERCENT: u64 = 30;

/// What a seed's schedule injects, by kind (timeline faults and world conditions).
pub type FaultCounts = BTreeMap<String, u64>;

/// A seeded schedule generator.
struct Gen {
    rng: ChaCha8Rng,
}

impl Gen {
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.rng.next_u64() % n }
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        let n = u64::try_from(items.len()).unwrap_or(0);
        items.get(usize::try_from(self.below(n)).unwrap_or(0))
    }
}

/// The kinds of timeline fault the generator draws from (equal odds).
const KINDS: [What; 11] = [
    What::EndpointsFail,
    What::Alarm,
    What::AlarmFlap,
    What::ApisUnreachable,
    What::Partition,
    What::ControllerCrash,
    What::JournalUnavailable,
    What::Route53ControlPlaneDown,
    What::ClockSkew,
    What::CapacityShortfall,
    What::PolicyRollout,
];

/// Generates seed `seed`'s scenario over `bundle` with these controllers, running for
/// `duration_secs`; `policies` is written into `world.policies` as is.
///
/// The stages draw from one stream in this order (world conditions, then each fault), so
/// a seed's schedule never changes unless a stage's draws do.
pub fn generate(
    seed: u64,
    bundle: &Bundle,
    controllers: &[String],
    duration_secs: u64,
    policies: &str,
) -> (Scenario, FaultCounts) {
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(seed ^ SCHEDULE_STREAM.rotate_left(32)),
    };
    let mut counts = FaultCounts::new();
    let sim = world_conditions(&mut g, &mut counts);
    let window = Window {
        heal_by: heal_by(bundle, &sim, duration_secs),
        duration_secs,
    };
    let pools = Pools::of(bundle, controllers);
    let mut timeline = faults(&mut g, &window, &pools, &mut counts);
    let mut edge = Gen {
        rng: ChaCha8Rng::seed_from_u64(seed ^ EDGE_STREAM.rotate_left(32)),
    };
    let edges = edge_faults(&mut edge, &window, &pools, &timeline, &mut counts);
    timeline.extend(edges);
    timeline.extend(isolation::faults(
        seed,
        bundle,
        &window,
        &pools,
        &mut counts,
    ));
    timeline.extend(repeat::faults(seed, bundle, &window, &mut counts));
    // Stable: the schedule's own entries keep their order among themselves.
    timeline.sort_by_key(|e| e.at.secs());
    let scenario = build_scenario(seed, policies, &pools, duration_secs, sim, timeline);
    (scenario, counts)
}

/// Adds one to `kind`'s count.
fn count(counts: &mut FaultCounts, kind: &str) {
    *counts.entry(kind.into()).or_default() += 1;
}

/// World conditions for the whole run: each with fixed odds.
fn world_conditions(g: &mut Gen, counts: &mut FaultCounts) -> SimSpec {
    let mut sim = SimSpec::default();
    if g.chance(25) {
        sim.route53_pending = Some(Dur(g.range(60, 300)));
        count(counts, "long-pending");
    }
    if g.chance(25) {
        // The account's 5 requests/s shared with other tools: 2–4 left for regionctl. Far
        // less starves even the fleet's steady-state reads, which no schedule can heal.
        sim.route53_rate_per_sec = Some(f64::from(u32::try_from(g.range(2, 4)).unwrap_or(2)));
        sim.route53_burst = Some(u32::try_from(g.range(5, 20)).unwrap_or(5));
        count(counts, "route53-throttling");
    }
    if g.chance(25) {
        // Up to heartbeat TTL − tick (30 s − 10 s for the example fleet): beyond that the
        // fleet loses quorum and stands down by design, before any fault can be injected.
        sim.journal_replication_lag_ms = Some(g.range(3_000, 15_000));
        count(counts, "replication-lag");
    }
    if g.chance(25) {
        sim.ecs_capacity_delay = Some(Dur(g.range(180, 600)));
        count(counts, "capacity-late");
    }
    if g.chance(50) {
        sim.route53_health_checks = Some(true);
        count(counts, "route53-health-checks");
    }
    sim
}

/// When every fault must have healed by (seconds from the start), under these world
/// conditions: the convergence bound before the end, so `converges` can be checked. A run
/// too short for that (a generated fleet's bound is about 45 minutes) cannot check
/// convergence anyway: its faults may last through two thirds of it, long enough for the
/// other invariants' graces (minutes) to elapse while they are in force, rather than all
/// squeezed into two minutes after the first fault.
fn heal_by(bundle: &Bundle, sim: &SimSpec, duration_secs: u64) -> u64 {
    let knobs = Knobs::from_spec(sim);
    let bound = Checker::convergence_bound(bundle, &knobs, bundle.tick_secs());
    let earliest = FIRST_FAULT_SECS + MIN_FAULT_SECS * 2;
    match duration_secs.checked_sub(bound) {
        Some(by) if by >= earliest => by,
        _ => (duration_secs * 2 / 3).max(earliest).min(duration_secs),
    }
}

/// When faults may happen: all healed by `heal_by`, none past the end.
struct Window {
    heal_by: u64,
    duration_secs: u64,
}

/// What faults can name: regions, controllers, services, and cells of multi-cell services.
struct Pools<'a> {
    regions: Vec<String>,
    controllers: &'a [String],
    services: Vec<String>,
    /// (service, cell) of every service with more than one cell.
    cells: Vec<(String, String)>,
}

impl<'a> Pools<'a> {
    fn of(bundle: &Bundle, controllers: &'a [String]) -> Self {
        Pools {
            regions: bundle.regions.clone(),
            controllers,
            services: bundle.services.iter().map(|s| s.name.clone()).collect(),
            cells: bundle
                .services
                .iter()
                .filter(|s| s.cells.len() > 1)
                .flat_map(|s| s.cells.iter().map(|c| (s.name.clone(), c.id.clone())))
                .collect(),
        }
    }
}

/// A timeline entry with only its time, id and kind set.
fn entry(at: u64, id: Option<String>, what: What) -> TimelineEntry {
    TimelineEntry {
        at: Dur(at),
        id,
        what,
        place: Where::default(),
        state: None,
        period: None,
        skew: None,
        fraction: None,
        items: Vec::new(),
        forgery: None,
        victim: None,
        action: None,
        duration: None,
        faults: Vec::new(),
        note: None,
    }
}

/// One to [`MAX_FAULTS`] faults, each followed by its recovery, in time order.
fn faults(
    g: &mut Gen,
    window: &Window,
    pools: &Pools<'_>,
    counts: &mut FaultCounts,
) -> Vec<TimelineEntry> {
    let mut entries: Vec<TimelineEntry> = Vec::new();
    let n = g.range(1, MAX_FAULTS);
    for i in 0..n {
        let Some((fault, recovery, kind)) = fault(g, i, window, pools) else {
            continue;
        };
        count(counts, kind);
        entries.push(fault);
        entries.push(recovery);
    }
    // Time order (stable: a fault and its recovery never share a second).
    entries.sort_by_key(|e| e.at.secs());
    entries
}

/// The `i`th fault: its kind, its time and length, then where it strikes. Returns the
/// fault, its recovery and the kind it is counted as; `None` if it cannot be placed (the
/// draws are spent all the same).
fn fault(
    g: &mut Gen,
    i: u64,
    window: &Window,
    pools: &Pools<'_>,
) -> Option<(TimelineEntry, TimelineEntry, &'static str)> {
    let what = g.pick(&KINDS).copied()?;
    let latest_start = window
        .heal_by
        .saturating_sub(MIN_FAULT_SECS)
        .max(FIRST_FAULT_SECS);
    let at = g.range(FIRST_FAULT_SECS, latest_start);
    let len = g.range(MIN_FAULT_SECS, MAX_FAULT_SECS);
    let end = (at + len)
        .min(window.heal_by)
        .max(at + 1)
        .min(window.duration_secs);
    let id = format!("f{}-{}", i + 1, what.as_str());
    let mut e = entry(at, Some(id.clone()), what);
    let kind = place(g, &mut e, pools)?;
    let mut recovery = entry(end, None, What::Recover);
    recovery.faults = vec![id];
    Some((e, recovery, kind))
}

/// Where fault `e` strikes and how (a region and a controller are drawn for every kind,
/// used or not), and the kind it is counted as; `None` for a partition with no second
/// controller.
fn place(g: &mut Gen, e: &mut TimelineEntry, pools: &Pools<'_>) -> Option<&'static str> {
    let region = g.pick(&pools.regions).cloned().unwrap_or_default();
    let controller = g.pick(pools.controllers).cloned().unwrap_or_default();
    let kind = match e.what {
        What::EndpointsFail => {
            e.place.region = Some(region);
            if g.chance(30)
                && let Some(s) = g.pick(&pools.services)
            {
                e.place.services = vec![s.clone()];
            }
            "endpoints-fail"
        }
        What::Alarm => {
            e.place.region = Some(region);
            e.state = Some(ScenarioAlarmState::Alarm);
            if g.chance(50)
                && let Some((s, c)) = g.pick(&pools.cells)
            {
                e.place.services = vec![s.clone()];
                e.place.cells = vec![c.clone()];
                "alarm-cell"
            } else {
                "alarm-region"
            }
        }
        What::AlarmFlap => {
            e.place.region = Some(region);
            e.period = Some(Dur(g.range(10, 120)));
            "alarm-flap"
        }
        What::ApisUnreachable => {
            e.place.region = Some(region);
            "apis-unreachable"
        }
        What::Partition => {
            let a = g.pick(pools.controllers).cloned().unwrap_or_default();
            let others: Vec<String> = pools
                .controllers
                .iter()
                .filter(|c| **c != a)
                .cloned()
                .collect();
            let b = g.pick(&others).cloned()?;
            e.place.between = Some(vec![a, b]);
            "partition"
        }
        What::ControllerCrash => {
            e.place.region = Some(controller);
            "controller-crash"
        }
        What::JournalUnavailable => {
            e.place.region = Some(controller);
            "journal-unavailable"
        }
        What::Route53ControlPlaneDown => "route53-control-plane-down",
        What::ClockSkew => {
            e.place.region = Some(controller);
            let secs = g.range(5, 180);
            e.skew = Some(format!(
                "{}{}",
                if g.chance(50) { "-" } else { "" },
                Dur(secs)
            ));
            "clock-skew"
        }
        What::CapacityShortfall => {
            e.place.region = Some(region);
            e.fraction = Some(f64::from(u32::try_from(g.range(0, 8)).unwrap_or(0)) / 10.0);
            "capacity-short"
        }
        What::PolicyRollout => {
            // A deploy pipeline's stagger: seconds to minutes between controllers.
            e.place.region = Some(controller);
            e.period = Some(Dur(g.range(5, 300)));
            "policy-rollout"
        }
        _ => return None,
    };
    Some(kind)
}

/// The edge faults (issue 17), each with fixed odds: a controller's journal writes of one
/// item kind (a quarter of the time, all four) fail; a rogue writer forges one kind of
/// item. Counted as `journal-write-fail` and `journal-write-fail-{kind}`, `rogue-writer`
/// and `rogue-{forgery}`.
fn edge_faults(
    g: &mut Gen,
    window: &Window,
    pools: &Pools<'_>,
    timeline: &[TimelineEntry],
    counts: &mut FaultCounts,
) -> Vec<TimelineEntry> {
    let starts: Vec<u64> = timeline
        .iter()
        .filter(|e| e.what != What::Recover)
        .map(|e| e.at.secs())
        .collect();
    let mut out = Vec::new();
    if g.chance(JOURNAL_WRITE_FAIL_PERCENT) {
        let (mut e, recovery) = edge_entry(
            g,
            window,
            &starts,
            (
                "e1-journal-write-fail",
                What::JournalWriteFail,
                WRITE_FAIL_WITH_FAULT_PERCENT,
            ),
        );
        e.place.region = g.pick(pools.controllers).cloned();
        if !g.chance(25)
            && let Some(kind) = g.pick(&WrittenItem::ALL)
        {
            e.items = vec![*kind];
        }
        count(counts, "journal-write-fail");
        let kinds: &[WrittenItem] = if e.items.is_empty() {
            &WrittenItem::ALL
        } else {
            &e.items
        };
        for k in kinds {
            count(counts, &format!("journal-write-fail-{}", k.as_str()));
        }
        out.extend([e, recovery]);
    }
    if g.chance(ROGUE_WRITER_PERCENT) {
        let (mut e, recovery) = edge_entry(
            g,
            window,
            &starts,
            (
                "e2-rogue-writer",
                What::RogueWriter,
                ROGUE_WITH_FAULT_PERCENT,
            ),
        );
        let region = g.pick(pools.controllers).cloned().unwrap_or_default();
        let others: Vec<String> = pools
            .controllers
            .iter()
            .filter(|c| **c != region)
            .cloned()
            .collect();
        e.victim = g.pick(&others).cloned();
        e.place.region = Some(region);
        e.forgery = g.pick(&Forgery::ALL).copied();
        count(counts, "rogue-writer");
        if let Some(f) = e.forgery {
            count(counts, &format!("rogue-{}", f.as_str()));
        }
        out.extend([e, recovery]);
    }
    out
}

/// An edge fault `id` of kind `what` and its recovery: with another fault's start (when
/// there is one, at `with_fault` percent odds) or anywhere in the window; lasting as long
/// as the schedule's faults may, healed by `heal_by`.
fn edge_entry(
    g: &mut Gen,
    window: &Window,
    starts: &[u64],
    (id, what, with_fault): (&str, What, u64),
) -> (TimelineEntry, TimelineEntry) {
    let latest_start = window
        .heal_by
        .saturating_sub(MIN_FAULT_SECS)
        .max(FIRST_FAULT_SECS);
    let with_fault = g.chance(with_fault);
    let anywhere = g.range(FIRST_FAULT_SECS, latest_start);
    let offset = g.range(0, 60);
    let at = match g.pick(starts) {
        Some(s) if with_fault => (s + offset).min(latest_start),
        _ => anywhere,
    };
    let len = g.range(MIN_FAULT_SECS, MAX_FAULT_SECS);
    let end = (at + len)
        .min(window.heal_by)
        .max(at + 1)
        .min(window.duration_secs);
    let e = entry(at, Some(id.to_string()), what);
    let mut recovery = entry(end, None, What::Recover);
    recovery.faults = vec![id.to_string()];
    (e, recovery)
}

/// The scenario around a generated timeline: the fixed steady-state checks, rollback and
/// guardrails (every region the bundle and the controllers name).
fn build_scenario(
    seed: u64,
    policies: &str,
    pools: &Pools<'_>,
    duration_secs: u64,
    sim: SimSpec,
    timeline: Vec<TimelineEntry>,
) -> Scenario {
    let mut guard_regions = pools.regions.clone();
    for c in pools.controllers {
        if !guard_regions.contains(c) {
            guard_regions.push(c.clone());
        }
    }
    let steady = |check: SteadyKind| SteadyCheck {
        check,
        service: None,
        tolerance_percent: None,
    };
    Scenario {
        api_version: crate::scenario::API_VERSION.into(),
        kind: "GameDay".into(),
        name: format!("simulate-seed-{seed}"),
        description: format!(
            "Generated by `regionctl simulate` from seed {seed}: a random, reproducible fault schedule. Every safety invariant is checked after every simulated second; the game-day fails on any violation."
        ),
        world: WorldSpec {
            policies: policies.to_string(),
            controllers: Some(pools.controllers.to_vec()),
            tick: None,
            duration: Dur(duration_secs),
            seed,
            sim,
        },
        steady_state: vec![
            steady(SteadyKind::TrafficAtBaseline),
            steady(SteadyKind::NoDecisions),
            steady(SteadyKind::ControllersActing),
        ],
        timeline,
        expect: Vec::new(),
        rollback: vec![
            RollbackStep {
                what: RollbackWhat::Recover,
                faults: vec!["all".into()],
            },
            RollbackStep {
                what: RollbackWhat::RestartControllers,
                faults: Vec::new(),
            },
        ],
        guardrails: Guardrails {
            accounts: vec!["123456789012".into()],
            regions: guard_regions,
        },
        expected_verdict: Verdict::Pass,
        report: ReportSpec::default(),
    }
}

/// Writes a scenario as YAML (block style, every string double-quoted; `null`s left out).
pub fn to_yaml(scenario: &Scenario) -> String {
    let value = serde_json::to_value(scenario).unwrap_or(serde_json::Value::Null);
    let mut out = String::from("# yaml-language-server: $schema=scenario.schema.json\n");
    emit(&value, 0, &mut out);
    out
}

fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
        other => other.to_string(),
    }
}

fn is_inline(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Object(m) => m.values().all(serde_json::Value::is_null),
        serde_json::Value::Array(a) => a.is_empty(),
        _ => true,
    }
}

fn inline(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(_) => "{}".into(),
        serde_json::Value::Array(_) => "[]".into(),
        other => scalar(other),
    }
}

fn emit(v: &serde_json::Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m.iter().filter(|(_, x)| !x.is_null()) {
                if is_inline(x) {
                    out.push_str(&format!("{pad}{k}: {}\n", inline(x)));
                } else {
                    out.push_str(&format!("{pad}{k}:\n"));
                    emit(x, indent + 2, out);
                }
            }
        }
        serde_json::Value::Array(a) => {
            for x in a {
                if is_inline(x) {
                    out.push_str(&format!("{pad}- {}\n", inline(x)));
                } else {
                    // "- " then the item's first line, the rest indented under it.
                    let mut item = String::new();
                    emit(x, indent + 2, &mut item);
                    let body = item.get(indent + 2..).unwrap_or("");
                    out.push_str(&format!("{pad}- {body}"));
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}
