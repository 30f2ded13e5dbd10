//! [`Sim`]: the simulated world as a game-day target, one method per part of a simulated
//! second.

use super::faults::{self, Active};
use super::fleet::Controller;
use super::meter::{IdleAlarms, Meter};
use super::{Options, Run, setup};
use crate::gameday::judge::{ControllerSnapshot, SteadyView, steady};
use crate::gameday::{
    Changes, ComputeSeries, Event, EventKind, Evidence, Fault, Log, SeenDecision, ServiceSeries,
    StandDowns, SteadyResult, Target, at,
};
use crate::invariants::{Checker, Second};
use crate::scenario::{Loaded, SteadyCheck, What};
use crate::world::{Knobs, World};
use regionctl_controller::journal::{DecisionRecord, OutcomeRecord};
use regionctl_controller::memory::Memory;
use regionctl_controller::observe::AlarmReads;
use regionctl_core::grid::Grid;
use regionctl_core::health::AlarmState;
use regionctl_core::policy::Bundle;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;

/// A scenario's simulated world, its controllers, and what the run has seen so far.
pub struct Sim {
    pub(super) bundle: Bundle,
    pub(super) controllers: Vec<String>,
    seed: u64,
    knobs: Knobs,
    pub(super) tick: u64,
    pub(super) heartbeat_ttl_secs: u64,
    pub(super) approval_timeout_secs: u64,
    pub(super) world: RefCell<World>,
    pub(super) fleet: Vec<Controller>,
    meter: Meter,
    idle_alarms: IdleAlarms,
    /// Policy revisions rolled out during the run: the same policies under a new hash.
    pub(super) revisions: Vec<Bundle>,
    /// Per revision: the alarm-read plan its controllers use.
    pub(super) alarm_reads: Vec<AlarmReads>,
    pub(super) checker: Checker,
    series: Vec<ServiceSeries>,
    /// ECS desired counts and ALB splits as the world was seeded (second 0).
    compute_start: ComputeSeries,
    pub(super) decisions: BTreeMap<String, SeenDecision>,
    pub(super) stand_downs: StandDowns,
    pub(super) alerts_seen: BTreeSet<String>,
    pub(super) passes: u64,
    /// Effects already summarised and checked.
    pub(super) effects_seen: usize,
    pub(super) zone_services: BTreeMap<String, Vec<String>>,
    /// Faults in force, by id, in injection order.
    active: Vec<(String, Active)>,
    /// The next second to run.
    next_t: u64,
}

/// What a finished game-day adds to the sim's own state to make a [`Run`].
pub(super) struct Ended {
    pub(super) ran_secs: u64,
    pub(super) aborted: Option<String>,
    pub(super) steady: Vec<SteadyResult>,
    pub(super) events: Vec<Event>,
    pub(super) decisions: BTreeMap<String, SeenDecision>,
}

impl Sim {
    /// The world of `loaded`, seeded from `bundle`'s steady state, with `controllers`
    /// starting at seeded offsets within their first tick (real ones are not in step).
    pub fn new(
        loaded: &Loaded,
        bundle: Bundle,
        controllers: Vec<String>,
        options: &Options,
    ) -> Self {
        let s = &loaded.scenario;
        let seed = options.seed.unwrap_or(s.world.seed);
        let knobs = Knobs::from_spec(&loaded.scenario.world.sim);
        let spec = bundle.controller.as_ref();
        let tick = s
            .world
            .tick
            .map(crate::duration::Dur::secs)
            .or(spec.map(|c| c.tick_secs))
            .unwrap_or(10)
            .max(1);
        let heartbeat_ttl_secs = spec.map_or(30, |c| c.heartbeat_ttl_secs);
        let approval_timeout_secs = spec.map_or(900, |c| c.approval_timeout_secs);
        let duration = s.world.duration.secs();
        let mut world = World::new(knobs.clone(), seed, crate::gameday::START, &controllers);
        let samples = usize::try_from(duration + 1).unwrap_or(0);
        let seeded = setup::seed(&mut world, &bundle, crate::gameday::START, samples);
        let compute_start = ComputeSeries::from_world(&bundle, &world);
        let zone_services = super::effects::zone_services(&bundle);
        let fleet = controllers
            .iter()
            .map(|r| Controller {
                region: r.clone(),
                alive: true,
                revision: 0,
                memory: Memory::unknown(&bundle),
                offset: world.jitter(tick - 1),
                stand_down: None,
                passes: 0,
                events_seen: 0,
            })
            .collect();
        let checker = Checker::new(&bundle, &controllers, tick, heartbeat_ttl_secs);
        Sim {
            revisions: vec![bundle.clone()],
            alarm_reads: vec![AlarmReads::new(&bundle)],
            bundle,
            controllers,
            seed,
            knobs,
            tick,
            heartbeat_ttl_secs,
            approval_timeout_secs,
            world: RefCell::new(world),
            fleet,
            meter: seeded.meter,
            idle_alarms: seeded.idle_alarms,
            checker,
            series: seeded.series,
            compute_start,
            decisions: BTreeMap::new(),
            stand_downs: StandDowns::new(),
            alerts_seen: BTreeSet::new(),
            passes: 0,
            effects_seen: 0,
            zone_services,
            active: Vec::new(),
            next_t: 0,
        }
    }

    /// Rollouts reaching the next controllers in their order, `period` apart.
    fn roll_out(&mut self, t: u64, log: &mut Log<'_>) {
        for (_, a) in &self.active {
            let Active::Rollout {
                order,
                period,
                from,
                revision,
            } = a
            else {
                continue;
            };
            for (k, ci) in order.iter().enumerate() {
                let due = from + period * u64::try_from(k).unwrap_or(u64::MAX);
                if let Some(c) = self.fleet.get_mut(*ci)
                    && t >= due
                    && c.revision < *revision
                {
                    c.revision = *revision;
                    let hash = self
                        .revisions
                        .get(*revision as usize)
                        .map_or("?", |b| b.short_hash());
                    let text = format!("now runs policy revision {hash}");
                    log.emit(t, EventKind::Rollout, &c.region, text);
                }
            }
        }
    }

    /// Flapping alarms: ALARM for `period`, then OK for `period`, from their fault's time.
    fn flap_alarms(&mut self, t: u64) {
        for (_, a) in &self.active {
            let Active::Flap {
                alarms,
                period,
                from,
            } = a
            else {
                continue;
            };
            let state = if ((t - from) / period).is_multiple_of(2) {
                AlarmState::Alarm
            } else {
                AlarmState::Ok
            };
            let mut w = self.world.borrow_mut();
            for (region, name) in alarms {
                w.update_alarm(region, name, None, Some(Some(state)));
            }
        }
    }

    /// Rogue writers forge their items, every tick from their fault's time.
    fn rogue_writes(&mut self, t: u64) {
        for (_, a) in &self.active {
            let Active::Rogue {
                region,
                victim,
                forgery,
                from,
                ..
            } = a
            else {
                continue;
            };
            if !(t - from).is_multiple_of(self.tick) {
                continue;
            }
            let rogue = super::rogue::Rogue {
                forgery: *forgery,
                victim,
                controllers: &self.controllers,
                bundle: &self.bundle,
            };
            let mut w = self.world.borrow_mut();
            for item in rogue.items(at(t)) {
                w.rogue_write(region, &super::rogue::within_credentials(item, region));
            }
        }
    }

    /// The world settles (replication, capacity arrivals, alarm evaluation); idle regions'
    /// alarms go quiet.
    fn settle(&mut self, t: u64) {
        let mut w = self.world.borrow_mut();
        w.settle();
        self.idle_alarms
            .update(&mut w, &self.meter.idle_since, at(t));
    }

    /// Tells the invariants who is alive and on which revision before the passes.
    fn before_passes(&mut self) {
        let alive: Vec<bool> = self.fleet.iter().map(|c| c.alive).collect();
        let revision: Vec<u32> = self.fleet.iter().map(|c| c.revision).collect();
        self.checker.before_passes(&alive, &revision);
    }

    /// Meters answered traffic and checks the invariants over the second.
    fn meter(&mut self, t: u64) {
        let w = self.world.borrow();
        self.meter
            .measure(&w, &self.bundle, (t, at(t)), &mut self.series);
        let none = Grid::empty();
        self.checker.after_second(&Second {
            t,
            world: &w,
            answered: self
                .series
                .iter()
                .map(|x| x.samples.last().unwrap_or(&none))
                .collect(),
            records: &self.meter.records,
            alive: self.fleet.iter().map(|c| c.alive).collect(),
            revision: self.fleet.iter().map(|c| c.revision).collect(),
        });
    }

    /// The finished run.
    pub(super) fn into_run(self, loaded: Loaded, ended: Ended) -> Run {
        // The invariants' verdict over the seconds run (rollback changes nothing they read).
        let none = Grid::empty();
        let last: Vec<(&Grid<f32>, &Grid<f32>)> = self
            .series
            .iter()
            .map(|x| (x.samples.last().unwrap_or(&none), &x.baseline))
            .collect();
        let invariants = self.checker.finish(ended.ran_secs, &last, &self.knobs);
        let mut world = self.world.into_inner();
        world.set_now(at(ended.ran_secs));
        let evidence = Evidence {
            series: self.series,
            decisions: ended.decisions,
            stand_downs: self.stand_downs,
            compute: self.compute_start.replay(&self.bundle, &world.effects),
            changes: Changes::Recorded(world.effects.clone()),
            slack_secs: 0,
        };
        Run {
            loaded,
            bundle: self.bundle,
            seed: self.seed,
            controllers: self.controllers,
            tick: self.tick,
            knobs: self.knobs,
            ran_secs: ended.ran_secs,
            aborted: ended.aborted,
            steady: ended.steady,
            events: ended.events,
            evidence,
            passes: self.passes,
            world,
            invariants,
        }
    }
}

impl Target for Sim {
    type Error = Infallible;

    async fn next_instant(&mut self, end: u64) -> Result<Option<u64>, Infallible> {
        let t = self.next_t;
        if t > end {
            return Ok(None);
        }
        self.next_t += 1;
        self.world.borrow_mut().set_now(at(t));
        Ok(Some(t))
    }

    fn steady_state(&self, checks: &[SteadyCheck]) -> Option<Vec<SteadyResult>> {
        let view = SteadyView {
            bundle: &self.bundle,
            series: &self.series,
            decisions: &self.decisions,
            controllers: self
                .fleet
                .iter()
                .map(|c| ControllerSnapshot {
                    region: &c.region,
                    passes: c.passes,
                    stand_down: c.stand_down.as_deref(),
                    health: &c.memory.health,
                })
                .collect(),
        };
        Some(steady(checks, &view))
    }

    async fn inject(
        &mut self,
        fault: &Fault<'_>,
        _log: &mut Log<'_>,
    ) -> Result<String, Infallible> {
        if fault.entry.what.is_operator_action() {
            let mut w = self.world.borrow_mut();
            return Ok(super::operator::acts(
                &mut w,
                &self.controllers,
                fault.entry,
                self.approval_timeout_secs,
            ));
        }
        if fault.entry.what == What::PolicyRollout {
            self.revisions
                .push(faults::revision_of(&self.bundle, &fault.id));
            self.alarm_reads.push(AlarmReads::new(&self.bundle));
        }
        let revision = u32::try_from(self.revisions.len() - 1).unwrap_or(u32::MAX);
        let injected = faults::inject(fault, revision, &self.bundle, &self.world, &mut self.fleet);
        Ok(match injected {
            Some((active, text)) => {
                self.active.push((fault.id.clone(), active));
                text
            }
            None => String::new(),
        })
    }

    async fn lift(
        &mut self,
        lifted: &[Fault<'_>],
        t: u64,
        _log: &mut Log<'_>,
    ) -> Result<Option<String>, Infallible> {
        for f in lifted {
            if let Some(pos) = self.active.iter().position(|(id, _)| *id == f.id) {
                let (_, a) = self.active.remove(pos);
                faults::undo(&a, t, &self.bundle, &self.world, &mut self.fleet);
            }
        }
        Ok(None)
    }

    async fn advance(&mut self, t: u64, log: &mut Log<'_>) -> Result<(), Infallible> {
        self.roll_out(t, log);
        self.flap_alarms(t);
        self.rogue_writes(t);
        self.settle(t);
        self.before_passes();
        self.run_controllers(t, log);
        Ok(())
    }

    async fn sample(&mut self, t: u64, _log: &mut Log<'_>) -> Result<(), Infallible> {
        self.meter(t);
        Ok(())
    }

    fn restart_crashed(&mut self) -> Vec<String> {
        let mut restarted = Vec::new();
        for c in self.fleet.iter_mut().filter(|c| !c.alive) {
            c.alive = true;
            c.memory = Memory::unknown(&self.bundle);
            restarted.push(c.region.clone());
        }
        restarted
    }

    /// The decisions the passes reported, completed with the journal's records (the union
    /// of its replicas) and outcomes.
    async fn decisions(&mut self) -> Result<BTreeMap<String, SeenDecision>, Infallible> {
        let mut decisions = std::mem::take(&mut self.decisions);
        let world = self.world.borrow();
        for ((pk, sk), st) in world.journal.union() {
            if !pk.starts_with("DECISION#") {
                continue;
            }
            if sk.ends_with("#INTENT") {
                if let Ok(rec) = serde_json::from_value::<DecisionRecord>(st.item.body.clone()) {
                    let first_t = crate::gameday::t_of(rec.at);
                    let seen = decisions
                        .entry(rec.id.clone())
                        .or_insert_with(|| SeenDecision::from_record(rec.clone(), first_t));
                    seen.record = Some(rec);
                }
            } else if sk.contains("#OUTCOME#")
                && let Ok(o) = serde_json::from_value::<OutcomeRecord>(st.item.body.clone())
                && let Some(seen) = decisions.get_mut(&o.id)
            {
                seen.outcomes.push(o);
            }
        }
        Ok(decisions)
    }
}
