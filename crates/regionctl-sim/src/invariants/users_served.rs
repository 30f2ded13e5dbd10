//! `users-served`: no controller evacuates a region whose users are served on probe
//! evidence alone (issue 21, ADR 0015). When the only failure evidence is a quorum of
//! probes and a `served` signal says the region serves its users, the region is a
//! partition's victim, not an outage's: it keeps its traffic.
//!
//! # From ground truth
//! Every second, per (controller, service, region) that has a `served` alarm, the checker
//! notes since when, continuously, every such alarm has been OK in the world and readable
//! by that controller (its own and the region's APIs reachable). An evacuation (`moves`)
//! of (service, cell, region) by a controller breaks the rule when that run began no later
//! than the region's run of failure evidence (`hysteresis`'s: the one going on, or the
//! latest if it ended within the convergence bound, since a verdict outlives its evidence
//! by the recovery window: whatever made the probes fail started while the users were
//! visibly served, so no evaluation of the controller could have seen the probes alone
//! decide) and no strong evidence (the endpoint failing, an alarm in ALARM) was seen
//! within the convergence bound. A critical
//! signal could still decide alone; the checked policies have none, and a service with
//! one is exempt (`critical-signal`).

use super::hysteresis::Track;
use super::moves::Direction;
use super::{Checker, USERS_SERVED};
use crate::world::{Effect, World};
use regionctl_core::health::AlarmState;
use regionctl_core::policy::raw::SignalRole;

impl Checker {
    /// Updates, for service `s` at second `t`, since when each controller has seen every
    /// `served` alarm of each region OK.
    pub(super) fn track_served(&mut self, world: &World, s: usize, t: u64) {
        let svc = &self.bundle.services[s];
        for r in 0..svc.regions.len() {
            let Some(all_ok) = self.served_alarms_ok(world, s, r) else {
                continue;
            };
            for o in 0..self.controllers.len() {
                if all_ok && self.served_readable(world, o, s, r) {
                    self.served_since.entry((o, s, r)).or_insert(t);
                } else {
                    self.served_since.remove(&(o, s, r));
                }
            }
        }
    }

    /// Whether every `served` alarm of region `r` of service `s` is OK in the world now;
    /// `None` when it has none.
    fn served_alarms_ok(&self, world: &World, s: usize, r: usize) -> Option<bool> {
        let svc = &self.bundle.services[s];
        let mut keys = svc
            .health
            .alarms
            .iter()
            .zip(&self.alarm_keys[s])
            .filter(|(b, _)| b.r == r && b.role == SignalRole::Served)
            .map(|(_, key)| key)
            .peekable();
        keys.peek()?;
        Some(keys.all(|(region, name)| {
            world
                .alarm(region, name)
                .is_some_and(|a| a.observed.state == AlarmState::Ok)
        }))
    }

    /// Whether controller `o` can read region `r`'s alarms now (its own and the region's
    /// APIs reachable).
    fn served_readable(&self, world: &World, o: usize, s: usize, r: usize) -> bool {
        let region = &self.bundle.services[s].regions[r].name;
        !world.faults.unreachable.contains(&self.controllers[o])
            && !world.faults.unreachable.contains(region)
    }

    /// An alarm of service `s` covering cell `c` of region `r` that lifts the veto is in
    /// ALARM at the time of a pass: strong evidence, struck this second and tracked only after
    /// the passes (simulate `--generate-services 200` seed 305: a region's alarms forced to
    /// ALARM, and a controller evacuating it in that second, rightly).
    fn alarm_at_pass(&self, world: &World, s: usize, c: usize, r: usize) -> bool {
        // What lifts the veto: a failure or critical alarm, or a served one saying the
        // users are not served (load and shadow alarms never act).
        self.cell_alarm_firing(world, (s, c, r), |role| {
            matches!(
                role,
                SignalRole::Failure | SignalRole::Critical | SignalRole::Served
            )
        })
    }

    /// The users of region `r` of service `s` are visibly served to controller `o` at the
    /// time of a pass, not only at the last second tracked: a fault that struck this second
    /// (the region's endpoints black-holed, its served alarm in ALARM) was applied before
    /// the passes and is tracked only after them (simulate `--generate-services 200` seed
    /// 133: an evacuation in the very second the isolated region's endpoints failed).
    fn served_at_pass(&self, world: &World, o: usize, s: usize, r: usize) -> bool {
        let svc = &self.bundle.services[s];
        let endpoint_failing =
            world
                .faults
                .endpoint_failing(&svc.regions[r].name, &svc.name, world.now());
        !endpoint_failing
            && self.served_alarms_ok(world, s, r) == Some(true)
            && self.served_readable(world, o, s, r)
    }

    /// The evacuations of a pass by `region` at `t`: none of a region whose users were
    /// visibly served for as long as its failure evidence has lasted.
    pub(super) fn check_users_served(
        &mut self,
        t: u64,
        region: &str,
        effects: &[Effect],
        world: &World,
    ) {
        let Some(o) = self.controllers.iter().position(|c| c == region) else {
            return;
        };
        let bound = Self::convergence_bound(&self.bundle, &world.knobs, self.tick);
        let bundle = std::sync::Arc::clone(&self.bundle);
        for m in self.moves(effects, world) {
            if m.direction != Direction::Away || self.drained_by_operator(t, m.s, m.r) {
                continue;
            }
            let Some(served_since) = self.served_since.get(&(o, m.s, m.r)).copied() else {
                continue;
            };
            if !self.served_at_pass(world, o, m.s, m.r) {
                continue;
            }
            let svc = &bundle.services[m.s];
            if svc
                .health
                .alarms
                .iter()
                .any(|b| b.role == SignalRole::Critical)
                || svc
                    .health
                    .probes
                    .iter()
                    .flatten()
                    .any(|p| p.role == SignalRole::Critical)
            {
                self.exempt("critical-signal");
                continue;
            }
            self.check(USERS_SERVED);
            let track = self
                .evidence
                .get(&(m.s, m.c, m.r))
                .copied()
                .unwrap_or_default();
            let strong = track.strong_last().is_some_and(|l| t <= l + bound)
                || self.alarm_at_pass(world, m.s, m.c, m.r);
            let probes_only_since = evidence_start(&track, t, bound);
            if !strong && served_since <= probes_only_since {
                let (name, cell, r) = (&svc.name, &svc.cells[m.c].id, &svc.regions[m.r].name);
                self.violate(
                    USERS_SERVED,
                    format!("{name}/{r}"),
                    t,
                    format!(
                        "controller {region} moved {name} cell {cell} away from {r} on probe evidence alone (since {}s) while its served signal has said its users are served since {}s",
                        probes_only_since, served_since
                    ),
                );
            }
        }
    }
}

/// The start of the failure evidence a move at `t` can rest on: the run going on, else the
/// latest run if it ended within the convergence bound (a region stays unhealthy in a
/// controller's view until `recover_after_secs` of health, and a paced evacuation reaches
/// its last services passes after the first: simulate `--generate-services 200` seeds 3
/// and 71 moved a service 8 s after the evidence ended, on a verdict formed while the
/// served signal could not be read), else `t` (no evidence at all).
fn evidence_start(track: &Track, t: u64, bound: u64) -> u64 {
    match (track.since(), track.last_run()) {
        (Some(since), _) => since,
        (None, Some((start, end))) if t <= end + bound => start,
        _ => t,
    }
}
