//! Runs a scenario on the simulated world.
//!
//! One loop over virtual seconds. Each second: the steady-state checks (just before the
//! first fault), the timeline's faults and recoveries, the world settles (replication,
//! capacity arrivals, alarm states), due controllers run one real
//! [`reconcile_once`] pass each through their [`ControllerView`], and the meter records the
//! answered traffic share of every (service, cell, region).
//!
//! # Answered traffic
//! Authoritative answers follow Route 53's rules ([`answered_weights`]) over the weights that
//! are INSYNC, with health-check status when the scenario attaches health checks. Resolvers
//! cache an answer for the record's TTL, refreshing at uniformly spread times, so the share
//! users get at `t` is the mean of the authoritative shares over `(t − TTL, t]`.

use crate::duration::{Dur, clock};
use crate::scenario::{self, Loaded, RollbackWhat, ScenarioError, What};
use crate::world::route53::normalize;
use crate::world::{ControllerView, EffectKind, EndpointFailure, Knobs, World};
use regionctl_controller::journal::{DecisionRecord, OutcomeRecord};
use regionctl_controller::memory::Memory;
use regionctl_controller::observe::AlarmReads;
use regionctl_controller::ports::WeightedRecord;
use regionctl_controller::reconcile::{Context, reconcile_once};
use regionctl_core::health::{AlarmState, HealthView};
use regionctl_core::live::{AlbState, steady_desired};
use regionctl_core::policy::raw::AlarmRole;
use regionctl_core::policy::{Bundle, SourceFile};
use regionctl_core::time::Timestamp;
use regionctl_core::traffic::answered_weights;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

/// Virtual start of every game-day: 2025-06-01T20:55:00Z (kick-off is at 21:00).
pub const START: Timestamp = Timestamp(1_748_811_300_000);

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
}

/// One line of the game-day's timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Seconds from the start.
    pub t: u64,
    /// `fault`, `recover`, `steady-state`, `decision`, `status`, `effect`, `stand-down`,
    /// `alert`, `abort`, `rollback`.
    pub kind: String,
    /// Who (a controller region) or what it concerns.
    pub who: String,
    /// What happened.
    pub text: String,
}

/// A decision as the game-day saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeenDecision {
    /// Decision id.
    pub id: String,
    /// Service.
    pub service: String,
    /// First seen (seconds from the start).
    pub first_t: u64,
    /// Controller that recorded it first.
    pub recorded_by: String,
    /// Statuses reached: (t, controller, status).
    pub statuses: Vec<(u64, String, String)>,
    /// The journal's record (union of replicas), if it reached one.
    pub record: Option<DecisionRecord>,
    /// Outcomes in the journal.
    pub outcomes: Vec<OutcomeRecord>,
}

impl SeenDecision {
    /// Every reason, note and alert text of the decision.
    pub fn texts(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(r) = &self.record {
            for s in &r.steps {
                out.push(s.description.clone());
                out.extend(s.reasons.iter().cloned());
            }
            out.extend(r.notes.iter().cloned());
            out.extend(r.alerts.iter().cloned());
        }
        out
    }

    /// The first reason, for summaries.
    pub fn headline(&self) -> String {
        self.record
            .as_ref()
            .and_then(|r| {
                r.steps
                    .iter()
                    .find(|s| s.kind == "shift")
                    .or(r.steps.first())
                    .and_then(|s| s.reasons.first())
                    .cloned()
            })
            .unwrap_or_else(|| "(not in the journal)".into())
    }
}

/// Answered traffic of one service, per second.
#[derive(Debug, Clone)]
pub struct ServiceSeries {
    /// Service index.
    pub service: usize,
    /// Per second, per (cell, local region): percent of answers.
    pub samples: Vec<Vec<f32>>,
    /// Baseline percent per (cell, local region).
    pub baseline: Vec<f32>,
}

/// Everything a finished run knows.
#[derive(Debug)]
pub struct Run {
    /// The scenario.
    pub loaded: Loaded,
    /// The bundle.
    pub bundle: Bundle,
    /// Seed used.
    pub seed: u64,
    /// Controllers.
    pub controllers: Vec<String>,
    /// Tick, seconds.
    pub tick: u64,
    /// Knobs.
    pub knobs: Knobs,
    /// Seconds simulated (less than the duration after an abort).
    pub ran_secs: u64,
    /// Why the run aborted, if it did.
    pub aborted: Option<String>,
    /// Steady-state results: (check, met, detail).
    pub steady: Vec<(String, bool, String)>,
    /// The timeline as it happened.
    pub events: Vec<Event>,
    /// Per service.
    pub series: Vec<ServiceSeries>,
    /// Decisions by id.
    pub decisions: BTreeMap<String, SeenDecision>,
    /// Per controller: (t, stand-down reason or `None` when acting again).
    pub stand_downs: BTreeMap<String, Vec<(u64, Option<String>)>>,
    /// Controller passes run.
    pub passes: u64,
    /// The world at the end.
    pub world: World,
    /// First fault time (seconds), if any.
    pub first_fault: Option<u64>,
    /// Timeline time of each id.
    pub fault_times: BTreeMap<String, u64>,
    /// What the safety invariants found ([`crate::invariants`]).
    pub invariants: crate::invariants::Summary,
}

impl Run {
    /// Seconds → timestamp.
    pub fn at(&self, t: u64) -> Timestamp {
        START.plus_secs(t)
    }

    /// Timestamp → seconds from the start.
    pub fn t_of(&self, at: Timestamp) -> u64 {
        at.secs_since(START)
    }
}

struct Controller {
    region: String,
    alive: bool,
    /// The policy revision it runs: 0 is the scenario's bundle, `n` the `n`-th rollout's.
    revision: u32,
    /// What it carries between passes (a restart loses it).
    memory: Memory,
    offset: u64,
    stand_down: Option<String>,
    passes: u64,
}

enum Active {
    Endpoint(usize),
    Alarms(Vec<(String, String)>),
    Flap {
        alarms: Vec<(String, String)>,
        period: u64,
        from: u64,
    },
    Unreachable(String),
    Partition(String, String),
    Crash(String),
    JournalDown(String),
    Route53Down,
    Skew(String),
    Capacity(String),
    /// A rollout: controllers (fleet indexes, in order) take `revision` `period` apart.
    Rollout {
        order: Vec<usize>,
        period: u64,
        from: u64,
        revision: u32,
    },
}

/// Reads every `*.yaml`/`*.yml` under `dir`, sorted.
pub fn read_policies(dir: &Path) -> std::io::Result<Vec<SourceFile>> {
    fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        if depth > 16 {
            return Ok(());
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with('.') {
                continue;
            }
            if p.is_dir() {
                walk(&p, depth + 1, out)?;
            } else if name.ends_with(".yaml") || name.ends_with(".yml") {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut paths = Vec::new();
    walk(dir, 0, &mut paths)?;
    paths
        .iter()
        .map(|p| {
            Ok(SourceFile {
                path: p.display().to_string(),
                text: std::fs::read_to_string(p)?,
            })
        })
        .collect()
}

/// Loads a scenario and its policies and checks them; every problem found.
pub fn prepare(path: &Path) -> Result<(Loaded, Bundle, Vec<String>), Vec<ScenarioError>> {
    let loaded = scenario::load(path).map_err(|e| vec![e])?;
    let files = read_policies(&loaded.policies).map_err(|e| {
        vec![loaded.error(
            "world.policies",
            format!("{}: {e}", loaded.policies.display()),
        )]
    })?;
    if files.is_empty() {
        return Err(vec![loaded.error(
            "world.policies",
            format!(
                "no policy files (*.yaml) under {}",
                loaded.policies.display()
            ),
        )]);
    }
    let bundle = regionctl_core::policy::load(&files).map_err(|diags| {
        let text: String = diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.to_string())
            .collect();
        vec![loaded.error(
            "world.policies",
            format!(
                "the policy bundle {} is invalid:\n{text}",
                loaded.policies.display()
            ),
        )]
    })?;
    let controllers = match (&loaded.scenario.world.controllers, &bundle.controller) {
        (Some(c), _) => c.clone(),
        (None, Some(spec)) => spec.regions.clone(),
        (None, None) => {
            return Err(vec![loaded.error(
                "world",
                "no `world.controllers` and the policies have no ControllerConfig".to_string(),
            )]);
        }
    };
    let errors = scenario::validate(&loaded, &bundle, &controllers);
    if errors.is_empty() {
        Ok((loaded, bundle, controllers))
    } else {
        Err(errors)
    }
}

fn knobs_of(loaded: &Loaded) -> Knobs {
    let d = Knobs::default();
    let s = &loaded.scenario.world.sim;
    let secs = |v: Option<Dur>, default: u64| v.map_or(default, Dur::secs);
    Knobs {
        route53_pending_secs: secs(s.route53_pending, d.route53_pending_secs),
        route53_pending_jitter_secs: secs(s.route53_pending_jitter, d.route53_pending_jitter_secs),
        route53_rate_per_sec: s.route53_rate_per_sec.unwrap_or(d.route53_rate_per_sec),
        route53_burst: s.route53_burst.unwrap_or(d.route53_burst),
        route53_health_checks: s.route53_health_checks.unwrap_or(d.route53_health_checks),
        health_check_delay_secs: secs(s.health_check_delay, d.health_check_delay_secs),
        ecs_capacity_delay_secs: secs(s.ecs_capacity_delay, d.ecs_capacity_delay_secs),
        ecs_capacity_jitter_secs: secs(s.ecs_capacity_jitter, d.ecs_capacity_jitter_secs),
        journal_replication_lag_ms: s
            .journal_replication_lag_ms
            .unwrap_or(d.journal_replication_lag_ms),
        alarm_idle_after_secs: secs(s.alarm_idle_after, d.alarm_idle_after_secs),
    }
}

/// Per service: record keys per (cell, local region) and the TTL.
struct Meter {
    keys: Vec<Vec<Vec<(String, String)>>>,
    /// Per service and cell: the records now (rewritten every simulated second).
    records: Vec<Vec<crate::world::CellWeights>>,
    windows: Vec<Vec<VecDeque<Vec<f64>>>>,
    idle_since: Vec<Vec<Option<Timestamp>>>,
    /// Per service, cell, local region: the switch on that record, if wired.
    switches: Vec<Vec<Vec<Option<regionctl_core::switch::SwitchRef>>>>,
}

/// Runs a loaded scenario. `progress` sees every timeline event as it happens.
pub fn run(
    loaded: Loaded,
    bundle: Bundle,
    controllers: Vec<String>,
    options: &Options,
    progress: &mut dyn FnMut(&Event),
) -> Run {
    let s = loaded.scenario.clone();
    let seed = options.seed.unwrap_or(s.world.seed);
    let knobs = knobs_of(&loaded);
    let tick = s
        .world
        .tick
        .map(Dur::secs)
        .or(bundle.controller.as_ref().map(|c| c.tick_secs))
        .unwrap_or(10)
        .max(1);
    let heartbeat_ttl_secs = bundle
        .controller
        .as_ref()
        .map_or(30, |c| c.heartbeat_ttl_secs);
    let approval_timeout_secs = bundle
        .controller
        .as_ref()
        .map_or(900, |c| c.approval_timeout_secs);
    let duration = s.world.duration.secs();
    let mut world = World::new(knobs.clone(), seed, START, &controllers);
    // Seed the world from the policies' steady state.
    let long_ago = Timestamp(START.millis() - 3_600_000);
    let mut meter = Meter {
        keys: Vec::new(),
        records: Vec::new(),
        windows: Vec::new(),
        idle_since: Vec::new(),
        switches: Vec::new(),
    };
    let mut alarm_owner: BTreeMap<(String, String), Vec<(usize, usize)>> = BTreeMap::new();
    let mut series = Vec::new();
    for (si, svc) in bundle.services.iter().enumerate() {
        let nr = svc.regions.len();
        let mut keys = Vec::new();
        for cell in &svc.cells {
            let mut ck = Vec::new();
            for r in 0..nr {
                world.seed_record(
                    &svc.routing.hosted_zone_id,
                    WeightedRecord {
                        name: cell.record_name.clone(),
                        record_type: svc.routing.record_type.as_str().to_string(),
                        set_identifier: cell.set_identifiers[r].clone(),
                        value: cell.values_per_region[r].clone(),
                        ttl: svc.routing.ttl_secs,
                        weight: cell.baseline_weights[r],
                    },
                );
                ck.push((
                    normalize(&cell.record_name),
                    cell.set_identifiers[r].clone(),
                ));
            }
            keys.push(ck);
        }
        meter.keys.push(keys);
        meter
            .records
            .push(vec![crate::world::CellWeights::default(); svc.cells.len()]);
        meter.windows.push(vec![VecDeque::new(); svc.cells.len()]);
        let idle: Vec<Option<Timestamp>> = (0..nr)
            .map(|r| (svc.baseline_share(r) == 0.0).then_some(long_ago))
            .collect();
        for b in &svc.health.alarms {
            let region = &svc.regions[b.r].name;
            let state = if idle[b.r].is_some() {
                AlarmState::InsufficientData
            } else {
                AlarmState::Ok
            };
            world.seed_alarm(region, &b.name, state, long_ago);
            alarm_owner
                .entry((region.clone(), b.name.clone()))
                .or_default()
                .push((si, b.r));
        }
        meter.idle_since.push(idle);
        // Switches as `regionctl provision` wires them: alarm and health check per switch,
        // on the records of its region (and cell).
        if let Some(sw) = &svc.routing.switch {
            let delay = u64::from(sw.interval_secs) * u64::from(sw.failure_threshold);
            for (_, _, x) in regionctl_core::switch::switches_of(svc) {
                world
                    .switches
                    .provision(&x, u64::from(sw.period_secs), delay);
            }
        }
        meter.switches.push(
            (0..svc.cells.len())
                .map(|c| {
                    (0..nr)
                        .map(|r| {
                            regionctl_core::switch::switch_ref(
                                svc,
                                regionctl_core::switch::slot_of_cell(svc, c),
                                r,
                            )
                        })
                        .collect()
                })
                .collect(),
        );
        if let Some(e) = &svc.ecs {
            for (r, sr) in svc.regions.iter().enumerate() {
                world.seed_ecs(
                    &sr.name,
                    &e.clusters[r],
                    &e.services[r],
                    steady_desired(svc, r),
                );
            }
        }
        if let Some(a) = &svc.alb {
            for (r, sr) in svc.regions.iter().enumerate() {
                world.albs.insert(
                    (sr.name.clone(), a.listeners[r].clone()),
                    (
                        a.fargate_target_groups[r].clone(),
                        a.lambda_target_groups[r].clone(),
                        AlbState::FARGATE_ONLY,
                    ),
                );
            }
        }
        for (r, probes) in svc.health.probes.iter().enumerate() {
            for p in probes {
                world
                    .probe_targets
                    .entry(p.target.clone())
                    .or_default()
                    .push((svc.name.clone(), svc.regions[r].name.clone()));
            }
        }
        let mut baseline = Vec::with_capacity(svc.cells.len() * nr);
        for cell in &svc.cells {
            let w: Vec<u32> = cell
                .baseline_weights
                .iter()
                .map(|w| u32::from(*w))
                .collect();
            baseline.extend(
                shares(&answered_weights(&w, &vec![true; nr]))
                    .into_iter()
                    .map(|x| (x * 100.0) as f32),
            );
        }
        series.push(ServiceSeries {
            service: si,
            samples: Vec::with_capacity(usize::try_from(duration + 1).unwrap_or(0)),
            baseline,
        });
    }
    let zone_services: BTreeMap<String, Vec<String>> =
        bundle.services.iter().fold(BTreeMap::new(), |mut m, svc| {
            m.entry(svc.routing.hosted_zone_id.clone())
                .or_insert_with(Vec::new)
                .push(svc.name.clone());
            m
        });
    // Controllers start at seeded offsets within the first tick: real ones are not in step.
    let mut fleet: Vec<Controller> = controllers
        .iter()
        .map(|r| Controller {
            region: r.clone(),
            alive: true,
            revision: 0,
            memory: Memory::unknown(&bundle),
            offset: world.jitter(tick - 1),
            stand_down: None,
            passes: 0,
        })
        .collect();
    let world = RefCell::new(world);
    let mut events: Vec<Event> = Vec::new();
    let mut emit = |events: &mut Vec<Event>, e: Event| {
        progress(&e);
        events.push(e);
    };
    let first_fault = s.timeline.first().map(|e| e.at.secs());
    let fault_times: BTreeMap<String, u64> = s
        .timeline
        .iter()
        .filter_map(|e| e.id.clone().map(|id| (id, e.at.secs())))
        .collect();
    let mut active: Vec<(String, Active)> = Vec::new();
    let mut decisions: BTreeMap<String, SeenDecision> = BTreeMap::new();
    let mut stand_downs: BTreeMap<String, Vec<(u64, Option<String>)>> = BTreeMap::new();
    let mut alerts_seen: BTreeSet<String> = BTreeSet::new();
    let mut steady: Vec<(String, bool, String)> = Vec::new();
    let mut aborted = None;
    let mut passes = 0u64;
    let mut ran_secs = duration;
    let mut effects_seen = 0usize;
    let mut timeline_ix = 0usize;
    let ctx_controllers = controllers.clone();
    // The natural state last given to each alarm of `alarm_owner`, in its order.
    let mut natural_state: Vec<Option<AlarmState>> = vec![None; alarm_owner.len()];
    // Policy revisions rolled out during the run: the same policies under a new hash.
    let mut revisions: Vec<Bundle> = vec![bundle.clone()];
    let mut alarm_reads: Vec<AlarmReads> = vec![AlarmReads::new(&bundle)];
    let mut checker =
        crate::invariants::Checker::new(&bundle, &controllers, tick, heartbeat_ttl_secs);
    for t in 0..=duration {
        let now = START.plus_secs(t);
        world.borrow_mut().set_now(now);
        // Steady state, just before the first fault.
        if first_fault == Some(t) || (first_fault.is_none() && t == duration) {
            let partial = PartialRun {
                bundle: &bundle,
                series: &series,
                decisions: &decisions,
                stand_downs: &stand_downs,
                fleet: &fleet,
                t,
            };
            steady = crate::expect::steady(&s.steady_state, &partial);
            for (name, ok, detail) in &steady {
                emit(
                    &mut events,
                    Event {
                        t,
                        kind: "steady-state".into(),
                        who: String::new(),
                        text: format!("{} {name}: {detail}", if *ok { "ok" } else { "FAILED" }),
                    },
                );
            }
            if steady.iter().any(|(_, ok, _)| !ok) {
                let why = "steady state did not hold before the first fault: no fault injected"
                    .to_string();
                emit(
                    &mut events,
                    Event {
                        t,
                        kind: "abort".into(),
                        who: String::new(),
                        text: why.clone(),
                    },
                );
                aborted = Some(why);
                ran_secs = t;
                break;
            }
        }
        // Faults and recoveries due now.
        while timeline_ix < s.timeline.len() && s.timeline[timeline_ix].at.secs() == t {
            let e = &s.timeline[timeline_ix];
            let id =
                e.id.clone()
                    .unwrap_or_else(|| format!("{}#{timeline_ix}", e.what.as_str()));
            if e.what == What::PolicyRollout {
                revisions.push(revision_of(&bundle, &id));
                alarm_reads.push(AlarmReads::new(&bundle));
            }
            let revision = u32::try_from(revisions.len() - 1).unwrap_or(u32::MAX);
            let text = apply_entry(
                e,
                &id,
                (t, revision),
                &bundle,
                &world,
                &mut fleet,
                &mut active,
            );
            let kind = if e.what == What::Recover {
                "recover"
            } else {
                "fault"
            };
            let text = match &e.note {
                Some(n) => format!("{text} — {n}"),
                None => text,
            };
            emit(
                &mut events,
                Event {
                    t,
                    kind: kind.into(),
                    who: e.place.region.clone().unwrap_or_default(),
                    text,
                },
            );
            timeline_ix += 1;
        }
        // Rollouts reaching the next controller.
        for (_, a) in &active {
            if let Active::Rollout {
                order,
                period,
                from,
                revision,
            } = a
            {
                for (k, ci) in order.iter().enumerate() {
                    let due = from + period * u64::try_from(k).unwrap_or(u64::MAX);
                    if let Some(c) = fleet.get_mut(*ci)
                        && t >= due
                        && c.revision < *revision
                    {
                        c.revision = *revision;
                        let hash = revisions
                            .get(*revision as usize)
                            .map_or("?", |b| b.short_hash());
                        emit(
                            &mut events,
                            Event {
                                t,
                                kind: "rollout".into(),
                                who: c.region.clone(),
                                text: format!("now runs policy revision {hash}"),
                            },
                        );
                    }
                }
            }
        }
        // Flapping alarms.
        for (_, a) in &active {
            if let Active::Flap {
                alarms,
                period,
                from,
            } = a
            {
                let state = if ((t - from) / period) % 2 == 0 {
                    AlarmState::Alarm
                } else {
                    AlarmState::Ok
                };
                let mut w = world.borrow_mut();
                for (region, name) in alarms {
                    w.update_alarm(region, name, None, Some(Some(state)));
                }
            }
        }
        // The world settles; idle regions' alarms go quiet.
        {
            let mut w = world.borrow_mut();
            w.settle();
            let idle_after = w.knobs.alarm_idle_after_secs;
            for (((region, name), owners), last) in alarm_owner.iter().zip(&mut natural_state) {
                let idle = owners.iter().all(|(si, r)| {
                    meter.idle_since[*si][*r]
                        .is_some_and(|since| now.elapsed_at_least(since, idle_after))
                });
                let natural = if idle {
                    AlarmState::InsufficientData
                } else {
                    AlarmState::Ok
                };
                // Only a change needs the (string-keyed) alarm: most seconds change nothing.
                if *last != Some(natural) {
                    *last = Some(natural);
                    w.update_alarm(region, name, Some(natural), None);
                }
            }
        }
        {
            let alive: Vec<bool> = fleet.iter().map(|c| c.alive).collect();
            let revision: Vec<u32> = fleet.iter().map(|c| c.revision).collect();
            checker.before_passes(&alive, &revision);
        }
        // Controllers due now.
        for c in fleet.iter_mut() {
            if !c.alive || t < c.offset || (t - c.offset) % tick != 0 {
                continue;
            }
            let view = ControllerView::new(&world, &c.region);
            let ctx = Context {
                bundle: revisions.get(c.revision as usize).unwrap_or(&bundle),
                region: c.region.clone(),
                controllers: ctx_controllers.clone(),
                heartbeat_ttl_secs,
                approval_timeout_secs,
                alarm_reads: alarm_reads
                    .get(c.revision as usize)
                    .unwrap_or(&alarm_reads[0]),
            };
            let Some(report) = crate::block_on(reconcile_once(&ctx, &view, &mut c.memory)) else {
                continue;
            };
            c.passes += 1;
            passes += 1;
            let stand = report.stand_down.as_ref().map(ToString::to_string);
            if stand != c.stand_down {
                let text = match &stand {
                    Some(why) => format!("stands down: {why}"),
                    None => "acts again".to_string(),
                };
                emit(
                    &mut events,
                    Event {
                        t,
                        kind: "stand-down".into(),
                        who: c.region.clone(),
                        text,
                    },
                );
                stand_downs
                    .entry(c.region.clone())
                    .or_default()
                    .push((t, stand.clone()));
                c.stand_down = stand;
            }
            for d in &report.decisions {
                let seen = decisions
                    .entry(d.id.clone())
                    .or_insert_with(|| SeenDecision {
                        id: d.id.clone(),
                        service: d.service.clone(),
                        first_t: t,
                        recorded_by: c.region.clone(),
                        statuses: Vec::new(),
                        record: None,
                        outcomes: Vec::new(),
                    });
                let first = seen.statuses.is_empty();
                let changed = seen
                    .statuses
                    .last()
                    .is_none_or(|(_, _, st)| st != d.status.as_str());
                if first || changed {
                    seen.statuses
                        .push((t, c.region.clone(), d.status.to_string()));
                    let kind = if first { "decision" } else { "status" };
                    let text = if first {
                        format!("{} decision {} recorded: {}", d.service, d.id, d.status)
                    } else {
                        format!("{} decision {}: {}", d.service, d.id, d.status)
                    };
                    emit(
                        &mut events,
                        Event {
                            t,
                            kind: kind.into(),
                            who: c.region.clone(),
                            text,
                        },
                    );
                }
            }
            for a in &report.alerts {
                if alerts_seen.insert(a.clone()) {
                    emit(
                        &mut events,
                        Event {
                            t,
                            kind: "alert".into(),
                            who: c.region.clone(),
                            text: a.clone(),
                        },
                    );
                }
            }
            // Side effects of this pass, summarised.
            let new_effects: Vec<_> = world.borrow().effects[effects_seen..].to_vec();
            effects_seen += new_effects.len();
            checker.after_pass(t, &c.region, &report, &new_effects, &world.borrow());
            for text in summarise_effects(&new_effects, &zone_services) {
                emit(
                    &mut events,
                    Event {
                        t,
                        kind: "effect".into(),
                        who: c.region.clone(),
                        text,
                    },
                );
            }
        }
        // Measure answered traffic.
        {
            let w = world.borrow();
            for (si, svc) in bundle.services.iter().enumerate() {
                let nr = svc.regions.len();
                let ttl = usize::try_from(svc.routing.ttl_secs.max(1)).unwrap_or(1);
                let mut sample = Vec::with_capacity(svc.cells.len() * nr);
                for c in 0..svc.cells.len() {
                    let records = &mut meter.records[si][c];
                    w.cell_weights(
                        &svc.routing.hosted_zone_id,
                        &meter.keys[si][c],
                        now,
                        records,
                    );
                    let weights: Vec<u32> = records
                        .answering
                        .iter()
                        .map(|x| u32::from(x.unwrap_or(0)))
                        .collect();
                    // A record is healthy to Route 53 when its endpoint check (if the
                    // world has them) and its data-plane switch (if wired) both are.
                    let healthy: Vec<bool> = svc
                        .regions
                        .iter()
                        .enumerate()
                        .map(|(r, sr)| {
                            (!w.knobs.route53_health_checks
                                || w.health_check_ok(&svc.name, &sr.name, now))
                                && meter.switches[si][c][r]
                                    .as_ref()
                                    .is_none_or(|x| w.switches.healthy(x, now))
                        })
                        .collect();
                    let authoritative = shares(&answered_weights(&weights, &healthy));
                    let window = &mut meter.windows[si][c];
                    window.push_back(authoritative);
                    while window.len() > ttl {
                        window.pop_front();
                    }
                    for r in 0..nr {
                        let mean = window.iter().map(|v| v[r]).sum::<f64>() / window.len() as f64;
                        sample.push((mean * 100.0) as f32);
                    }
                }
                for r in 0..nr {
                    let total: f32 = (0..svc.cells.len()).map(|c| sample[c * nr + r]).sum();
                    let slot = &mut meter.idle_since[si][r];
                    if total <= 0.0 {
                        slot.get_or_insert(now);
                    } else {
                        *slot = None;
                    }
                }
                series[si].samples.push(sample);
            }
            checker.after_second(&crate::invariants::Second {
                t,
                world: &w,
                answered: series
                    .iter()
                    .map(|x| x.samples.last().map_or(&[][..], Vec::as_slice))
                    .collect(),
                records: &meter.records,
                alive: fleet.iter().map(|c| c.alive).collect(),
                revision: fleet.iter().map(|c| c.revision).collect(),
            });
        }
    }
    let invariants = {
        let last: Vec<(&[f32], &[f32])> = series
            .iter()
            .map(|x| {
                (
                    x.samples.last().map_or(&[][..], Vec::as_slice),
                    x.baseline.as_slice(),
                )
            })
            .collect();
        checker.finish(ran_secs, &last, &knobs)
    };
    // Rollback always runs.
    let end = ran_secs;
    for (i, step) in s.rollback.iter().enumerate() {
        let text = match step.what {
            RollbackWhat::Recover => {
                let ids: Vec<String> = if step.faults.iter().any(|f| f == "all") {
                    active.iter().map(|(id, _)| id.clone()).collect()
                } else {
                    step.faults.clone()
                };
                let mut done = Vec::new();
                for id in ids {
                    if let Some(pos) = active.iter().position(|(a, _)| *a == id) {
                        let (_, a) = active.remove(pos);
                        undo(&a, end, &bundle, &world, &mut fleet);
                        done.push(id);
                    }
                }
                if done.is_empty() {
                    "recover: nothing in force".to_string()
                } else {
                    format!("recovered {}", done.join(", "))
                }
            }
            RollbackWhat::RestartControllers => {
                let mut restarted = Vec::new();
                for c in fleet.iter_mut().filter(|c| !c.alive) {
                    c.alive = true;
                    c.memory = Memory::unknown(&bundle);
                    restarted.push(c.region.clone());
                }
                if restarted.is_empty() {
                    "restart-controllers: all running".to_string()
                } else {
                    format!("restarted {}", restarted.join(", "))
                }
            }
        };
        emit(
            &mut events,
            Event {
                t: end,
                kind: "rollback".into(),
                who: String::new(),
                text: format!("step {}: {text}", i + 1),
            },
        );
    }
    if !active.is_empty() {
        let left: Vec<&str> = active.iter().map(|(id, _)| id.as_str()).collect();
        emit(
            &mut events,
            Event {
                t: end,
                kind: "rollback".into(),
                who: String::new(),
                text: format!(
                    "warning: still in force after rollback: {}",
                    left.join(", ")
                ),
            },
        );
    }
    let mut world = world.into_inner();
    // Decisions as the journal holds them (union of replicas).
    for ((pk, sk), st) in world.journal.union() {
        if !pk.starts_with("DECISION#") {
            continue;
        }
        if sk.ends_with("#INTENT") {
            if let Ok(rec) = serde_json::from_value::<DecisionRecord>(st.item.body.clone()) {
                let seen = decisions
                    .entry(rec.id.clone())
                    .or_insert_with(|| SeenDecision {
                        id: rec.id.clone(),
                        service: rec.service.clone(),
                        first_t: rec.at.secs_since(START),
                        recorded_by: rec.recorded_by.clone(),
                        statuses: Vec::new(),
                        record: None,
                        outcomes: Vec::new(),
                    });
                seen.record = Some(rec);
            }
        } else if sk.contains("#OUTCOME#")
            && let Ok(o) = serde_json::from_value::<OutcomeRecord>(st.item.body.clone())
            && let Some(seen) = decisions.get_mut(&o.id)
        {
            seen.outcomes.push(o);
        }
    }
    world.set_now(START.plus_secs(end));
    let _ = &mut world;
    Run {
        loaded,
        bundle,
        seed,
        controllers,
        tick,
        knobs,
        ran_secs,
        aborted,
        steady,
        events,
        series,
        decisions,
        stand_downs,
        passes,
        world,
        first_fault,
        fault_times,
        invariants,
    }
}

/// What the steady-state checks can see mid-run.
pub struct PartialRun<'a> {
    /// The bundle.
    pub bundle: &'a Bundle,
    /// Series so far.
    pub series: &'a [ServiceSeries],
    /// Decisions so far.
    pub decisions: &'a BTreeMap<String, SeenDecision>,
    /// Stand-downs so far.
    pub stand_downs: &'a BTreeMap<String, Vec<(u64, Option<String>)>>,
    fleet: &'a [Controller],
    /// Now, seconds from the start.
    pub t: u64,
}

impl PartialRun<'_> {
    /// Per controller: (region, passes run, standing down why, health view).
    pub fn controllers(&self) -> Vec<(&str, u64, Option<&str>, &HealthView)> {
        self.fleet
            .iter()
            .map(|c| {
                (
                    c.region.as_str(),
                    c.passes,
                    c.stand_down.as_deref(),
                    &c.memory.health,
                )
            })
            .collect()
    }
}

fn shares(weights: &[u32]) -> Vec<f64> {
    let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
    if total == 0 {
        return vec![0.0; weights.len()];
    }
    weights
        .iter()
        .map(|w| f64::from(*w) / total as f64)
        .collect()
}

/// One alarm an `alarm` fault targets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AlarmTarget {
    /// The alarm's region.
    pub region: String,
    /// The service that binds it.
    pub service: String,
    /// The alarm's name.
    pub alarm: String,
}

/// The failure alarms an `alarm` timeline entry targets: in `where.region`, of
/// `where.services` (default all), of `where.cells` (default region-wide and every cell's).
/// Every target that forces alarms uses this, so sim and real runs fail the same alarms.
pub fn alarm_targets(bundle: &Bundle, e: &scenario::TimelineEntry) -> Vec<AlarmTarget> {
    let mut out = BTreeSet::new();
    let Some(region) = &e.place.region else {
        return Vec::new();
    };
    for svc in &bundle.services {
        if !e.place.services.is_empty() && !e.place.services.contains(&svc.name) {
            continue;
        }
        for b in &svc.health.alarms {
            if b.role != AlarmRole::Failure || &svc.regions[b.r].name != region {
                continue;
            }
            let cell_ok = if e.place.cells.is_empty() {
                true
            } else {
                b.cell
                    .is_some_and(|c| e.place.cells.contains(&svc.cells[c].id))
            };
            if cell_ok {
                out.insert(AlarmTarget {
                    region: region.clone(),
                    service: svc.name.clone(),
                    alarm: b.name.clone(),
                });
            }
        }
    }
    out.into_iter().collect()
}

fn alarms_matching(bundle: &Bundle, e: &scenario::TimelineEntry) -> Vec<(String, String)> {
    let names: BTreeSet<(String, String)> = alarm_targets(bundle, e)
        .into_iter()
        .map(|t| (t.region, t.alarm))
        .collect();
    names.into_iter().collect()
}

fn where_text(e: &scenario::TimelineEntry) -> String {
    let mut parts = Vec::new();
    if let Some(r) = &e.place.region {
        parts.push(r.clone());
    }
    if let Some(b) = &e.place.between {
        parts.push(b.join(" ⟷ "));
    }
    if !e.place.services.is_empty() {
        parts.push(format!("services {}", e.place.services.join(", ")));
    }
    if !e.place.cells.is_empty() {
        parts.push(format!("cells {}", e.place.cells.join(", ")));
    }
    parts.join(", ")
}

fn apply_entry(
    e: &scenario::TimelineEntry,
    id: &str,
    (t, revision): (u64, u32),
    bundle: &Bundle,
    world: &RefCell<World>,
    fleet: &mut [Controller],
    active: &mut Vec<(String, Active)>,
) -> String {
    let now = START.plus_secs(t);
    let region = e.place.region.clone().unwrap_or_default();
    let mut w = world.borrow_mut();
    let what = e.what.as_str();
    let label = format!("{what} {} ({id})", where_text(e));
    let a = match e.what {
        What::EndpointsFail | What::EndpointsTimeout => {
            w.faults.endpoints.push(EndpointFailure {
                id: id.to_string(),
                region,
                services: e.place.services.clone(),
                from: now,
                to: None,
            });
            Active::Endpoint(w.faults.endpoints.len() - 1)
        }
        What::Alarm => {
            let alarms = alarms_matching(bundle, e);
            let state = e.state.map(|s| s.core());
            for (r, n) in &alarms {
                w.update_alarm(r, n, None, Some(state));
            }
            let n = alarms.len();
            active.push((id.to_string(), Active::Alarms(alarms)));
            return format!(
                "{label}: {n} alarm(s) forced to {}",
                e.state.map_or("?", |s| match s {
                    scenario::ScenarioAlarmState::Alarm => "ALARM",
                    scenario::ScenarioAlarmState::Ok => "OK",
                    scenario::ScenarioAlarmState::InsufficientData => "INSUFFICIENT_DATA",
                })
            );
        }
        What::AlarmFlap => {
            let alarms = alarms_matching(bundle, e);
            let n = alarms.len();
            let period = e.period.map_or(30, Dur::secs).max(1);
            active.push((
                id.to_string(),
                Active::Flap {
                    alarms,
                    period,
                    from: t,
                },
            ));
            return format!("{label}: {n} alarm(s) flap ALARM/OK every {}", Dur(period));
        }
        What::ApisUnreachable => {
            w.faults.unreachable.insert(region.clone());
            Active::Unreachable(region)
        }
        What::Partition => {
            let b = e.place.between.clone().unwrap_or_default();
            let (x, y) = (
                b.first().cloned().unwrap_or_default(),
                b.get(1).cloned().unwrap_or_default(),
            );
            let key = if x <= y { (x, y) } else { (y, x) };
            w.faults.partitions.insert(key.clone());
            Active::Partition(key.0, key.1)
        }
        What::ControllerCrash => {
            for c in fleet.iter_mut().filter(|c| c.region == region) {
                c.alive = false;
            }
            Active::Crash(region)
        }
        What::JournalUnavailable => {
            w.faults.journal_down.insert(region.clone());
            Active::JournalDown(region)
        }
        What::Route53ControlPlaneDown => {
            w.faults.route53_down = true;
            Active::Route53Down
        }
        What::ClockSkew => {
            let ms = e
                .skew
                .as_deref()
                .and_then(|k| scenario::parse_skew(k).ok())
                .unwrap_or(0);
            w.skew_ms.insert(region.clone(), ms);
            drop(w);
            active.push((id.to_string(), Active::Skew(region)));
            return format!(
                "{label}: clock off by {}{}",
                if ms < 0 { "-" } else { "+" },
                Dur(ms.unsigned_abs() / 1000)
            );
        }
        What::CapacityShortfall => {
            w.faults
                .capacity_fraction
                .insert(region.clone(), e.fraction.unwrap_or(1.0));
            Active::Capacity(region)
        }
        What::PolicyRollout => {
            // From `where.region` on, in fleet order, wrapping around.
            let n = fleet.len();
            let first = fleet.iter().position(|c| c.region == region).unwrap_or(0);
            let order: Vec<usize> = (0..n).map(|k| (first + k) % n).collect();
            let period = e.period.map_or(60, Dur::secs);
            let names: Vec<&str> = order.iter().map(|i| fleet[*i].region.as_str()).collect();
            let text = format!(
                "{label}: a new policy revision reaches {} {} apart",
                names.join(" → "),
                Dur(period)
            );
            drop(w);
            active.push((
                id.to_string(),
                Active::Rollout {
                    order,
                    period,
                    from: t,
                    revision,
                },
            ));
            return text;
        }
        What::Recover => {
            drop(w);
            let ids: Vec<String> = if e.faults.iter().any(|f| f == "all") {
                active.iter().map(|(id, _)| id.clone()).collect()
            } else {
                e.faults.clone()
            };
            let mut done = Vec::new();
            for fid in ids {
                if let Some(pos) = active.iter().position(|(a, _)| *a == fid) {
                    let (_, a) = active.remove(pos);
                    undo(&a, t, bundle, world, fleet);
                    done.push(fid);
                }
            }
            return format!(
                "recover {}",
                if done.is_empty() {
                    "(nothing in force)".to_string()
                } else {
                    done.join(", ")
                }
            );
        }
    };
    active.push((id.to_string(), a));
    label
}

fn undo(a: &Active, t: u64, bundle: &Bundle, world: &RefCell<World>, fleet: &mut [Controller]) {
    let now = START.plus_secs(t);
    let mut w = world.borrow_mut();
    match a {
        Active::Endpoint(ix) => {
            if let Some(f) = w.faults.endpoints.get_mut(*ix) {
                f.to = Some(now);
            }
        }
        Active::Alarms(alarms) | Active::Flap { alarms, .. } => {
            for (r, n) in alarms {
                w.update_alarm(r, n, None, Some(None));
            }
        }
        Active::Unreachable(r) => {
            w.faults.unreachable.remove(r);
        }
        Active::Partition(x, y) => {
            w.faults.partitions.remove(&(x.clone(), y.clone()));
        }
        Active::Crash(r) => {
            for c in fleet.iter_mut().filter(|c| &c.region == r) {
                c.alive = true;
                c.memory = Memory::unknown(bundle);
                c.stand_down = None;
            }
        }
        Active::JournalDown(r) => {
            w.faults.journal_down.remove(r);
        }
        Active::Route53Down => w.faults.route53_down = false,
        Active::Skew(r) => {
            w.skew_ms.remove(r);
        }
        Active::Capacity(r) => {
            w.faults.capacity_fraction.remove(r);
        }
        // Recovering a rollout completes it: every controller runs the new revision (or
        // a later one it already has: revisions only move forward).
        Active::Rollout {
            order, revision, ..
        } => {
            for i in order {
                if let Some(c) = fleet.get_mut(*i) {
                    c.revision = c.revision.max(*revision);
                }
            }
        }
    }
}

/// The bundle as a rollout delivers it: the same policies under a new hash (as if a
/// comment had changed in git), so only coordination is exercised, never new behaviour.
fn revision_of(bundle: &Bundle, id: &str) -> Bundle {
    use sha2::Digest;
    let mut b = bundle.clone();
    let digest = sha2::Sha256::digest(format!("{}\0rollout {id}", bundle.hash).as_bytes());
    b.hash = digest.iter().map(|x| format!("{x:02x}")).collect();
    b
}

fn summarise_effects(
    effects: &[crate::world::Effect],
    zone_services: &BTreeMap<String, Vec<String>>,
) -> Vec<String> {
    let mut out = Vec::new();
    // Weight writes grouped per zone.
    let mut weights: BTreeMap<&str, (usize, Timestamp)> = BTreeMap::new();
    for e in effects {
        match &e.what {
            EffectKind::Scale {
                region,
                service,
                from,
                to,
                ..
            } => out.push(format!("ECS {service} in {region}: desired {from} → {to}")),
            EffectKind::Alb {
                region,
                listener,
                fargate,
                lambda,
            } => {
                let short = listener.rsplit(':').next().unwrap_or(listener);
                out.push(format!(
                    "ALB {short} in {region}: Fargate {fargate} / Lambda {lambda}"
                ));
            }
            EffectKind::Switch {
                alarm_region,
                alarm_name,
                on,
                ..
            } => out.push(format!(
                "switch {alarm_name} {} (PutMetricData to {alarm_region}; data plane)",
                if *on { "on" } else { "off" }
            )),
            EffectKind::Weight {
                zone, insync_at, ..
            } => {
                let entry = weights.entry(zone.as_str()).or_insert((0, *insync_at));
                entry.0 += 1;
                entry.1 = entry.1.max(*insync_at);
            }
        }
    }
    for (zone, (n, insync)) in weights {
        let services = zone_services
            .get(zone)
            .map(|v| v.join(", "))
            .unwrap_or_default();
        out.push(format!(
            "Route 53 {services}: {n} weight(s) written, PENDING until {}",
            clock(insync.secs_since(START))
        ));
    }
    out
}
