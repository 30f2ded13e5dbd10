//! The simulated fleet: each controller's state between passes, and what the simulation
//! records from each pass (stand-downs, decisions and their statuses, alerts, effects).

use super::effects;
use super::sim::Sim;
use crate::gameday::{EventKind, Log, SeenDecision};
use crate::world::ControllerView;
use regionctl_controller::memory::Memory;
use regionctl_controller::reconcile::{Context, PassReport, reconcile_once};

/// One controller of the fleet.
pub(super) struct Controller {
    pub(super) region: String,
    pub(super) alive: bool,
    /// The policy revision it runs: 0 is the scenario's bundle, `n` the `n`-th rollout's.
    pub(super) revision: u32,
    /// What it carries between passes (a restart loses it).
    pub(super) memory: Memory,
    /// Its first pass, seconds from the start (controllers are not in step).
    pub(super) offset: u64,
    pub(super) stand_down: Option<String>,
    pub(super) passes: u64,
    /// How many of the world's alarm events its queue has delivered (or lost).
    pub(super) events_seen: usize,
}

impl Sim {
    /// Runs one pass of every live controller due at `t`, in fleet order, and records what
    /// each did.
    pub(super) fn run_controllers(&mut self, t: u64, log: &mut Log<'_>) {
        for i in 0..self.fleet.len() {
            let c = &self.fleet[i];
            if !c.alive || t < c.offset || !(t - c.offset).is_multiple_of(self.tick) {
                continue;
            }
            let Some(report) = self.pass(i) else {
                continue;
            };
            self.fleet[i].passes += 1;
            self.passes += 1;
            self.record_stand_down(i, t, &report, log);
            self.record_decisions(i, t, &report, log);
            self.record_alerts(i, t, &report, log);
            self.record_effects(i, t, &report, log);
        }
    }

    /// One real reconcile pass of controller `i` through its view of the world, on the
    /// policy revision it runs. `None` if the pass suspended (a bug in a simulated port).
    fn pass(&mut self, i: usize) -> Option<PassReport> {
        self.deliver_alarm_events(i);
        let c = &mut self.fleet[i];
        let view = ControllerView::new(&self.world, &c.region);
        let ctx = Context {
            bundle: self
                .revisions
                .get(c.revision as usize)
                .unwrap_or(&self.bundle),
            region: c.region.clone(),
            controllers: self.controllers.clone(),
            heartbeat_ttl_secs: self.heartbeat_ttl_secs,
            approval_timeout_secs: self.approval_timeout_secs,
            alarm_reads: self
                .alarm_reads
                .get(c.revision as usize)
                .unwrap_or(&self.alarm_reads[0]),
        };
        crate::block_on(reconcile_once(&ctx, &view, &mut c.memory))
    }

    /// Hands controller `i` the alarm events raised since its last pass in its own region,
    /// less those lost: the queue its daemon polls between passes, which `regionctl
    /// provision`'s EventBridge rule feeds with that region's alarms only (rules are
    /// regional). Its peers learn of those changes by their resync reads.
    fn deliver_alarm_events(&mut self, i: usize) {
        let c = &mut self.fleet[i];
        let w = self.world.borrow();
        let new = w.alarm_events.iter().enumerate().skip(c.events_seen);
        let received: Vec<_> = new
            .filter(|(n, e)| e.region == c.region && !w.alarm_event_lost(*n, &c.region))
            .map(|(_, e)| e.clone())
            .collect();
        c.events_seen = w.alarm_events.len();
        c.memory.alarms.receive(received);
    }

    fn record_stand_down(&mut self, i: usize, t: u64, report: &PassReport, log: &mut Log<'_>) {
        let c = &mut self.fleet[i];
        let stand = report.stand_down.as_ref().map(ToString::to_string);
        if stand == c.stand_down {
            return;
        }
        let text = match &stand {
            Some(why) => format!("stands down: {why}"),
            None => "acts again".to_string(),
        };
        log.emit(t, EventKind::StandDown, &c.region, text);
        self.stand_downs
            .entry(c.region.clone())
            .or_default()
            .push((t, stand.clone()));
        c.stand_down = stand;
    }

    /// Each decision the pass reported: first seen, or a new status.
    fn record_decisions(&mut self, i: usize, t: u64, report: &PassReport, log: &mut Log<'_>) {
        let region = &self.fleet[i].region;
        for d in &report.decisions {
            let seen = self
                .decisions
                .entry(d.id.clone())
                .or_insert_with(|| SeenDecision {
                    id: d.id.clone(),
                    service: d.service.clone(),
                    first_t: t,
                    recorded_by: region.clone(),
                    statuses: Vec::new(),
                    record: None,
                    outcomes: Vec::new(),
                });
            let first = seen.statuses.is_empty();
            let changed = seen
                .statuses
                .last()
                .is_none_or(|(_, _, st)| *st != d.status);
            if first || changed {
                seen.statuses.push((t, region.clone(), d.status));
                let (kind, text) = if first {
                    (
                        EventKind::Decision,
                        format!("{} decision {} recorded: {}", d.service, d.id, d.status),
                    )
                } else {
                    (
                        EventKind::Status,
                        format!("{} decision {}: {}", d.service, d.id, d.status),
                    )
                };
                log.emit(t, kind, region, text);
            }
        }
    }

    /// Each alert text the first time any controller raises it.
    fn record_alerts(&mut self, i: usize, t: u64, report: &PassReport, log: &mut Log<'_>) {
        for a in &report.alerts {
            if self.alerts_seen.insert(a.clone()) {
                log.emit(t, EventKind::Alert, &self.fleet[i].region, a.clone());
            }
        }
    }

    /// The pass's side effects: checked by the invariants, summarised on the timeline.
    fn record_effects(&mut self, i: usize, t: u64, report: &PassReport, log: &mut Log<'_>) {
        let region = &self.fleet[i].region;
        let new_effects: Vec<_> = self.world.borrow().effects[self.effects_seen..].to_vec();
        self.effects_seen += new_effects.len();
        self.checker
            .after_pass(t, region, report, &new_effects, &self.world.borrow());
        for text in effects::summarise(&new_effects, &self.zone_services) {
            log.emit(t, EventKind::Effect, region, text);
        }
    }
}
