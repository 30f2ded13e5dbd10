//! `no-traffic-to-failed`: no answered traffic to a failing region of a cell while a healthy
//! one exists. Grace ([`Checker::grace`]): detection, heartbeat freshness, Route 53
//! PENDING with its jitter, the TTL, replication lag and, for warm-standby and pilot-light,
//! the capacity wait. Exemptions: `backup-restore`, `not-enforced`, `fleet-cannot-act`,
//! `no-evidence`, and the planner's own (`capacity-wait`, `partial`, `fail-static`,
//! `backup-restore`, `override`) from the latest plan of a controller that acted.

use super::truth::Truth;
use super::{Checker, MARGIN_SECS, NO_TRAFFIC_TO_FAILED, SHARE_EPSILON};
use crate::world::World;
use regionctl_controller::memory::ROUTE53_ACCOUNT_RATE;
use regionctl_controller::reconcile::PassReport;
use regionctl_core::grid::Grid;
use regionctl_core::plan::Exemption;
use regionctl_core::policy::raw::{Mode, Strategy};
use regionctl_core::time::Timestamp;

/// Route 53 calls an evacuation spends per zone, as measured: the re-read before the
/// write, the change, and the round reads and retries around them (the fleet benchmark at
/// 1,000 zones: 3.95 calls/s while 843 zones were written in 14 minutes, about four a
/// zone; PERFORMANCE.md, "Fleet scale"), with one to spare.
const CALLS_PER_ZONE_EVACUATED: u64 = 5;

/// One cell of one service at one second, as this check needs it.
pub(super) struct CellNow<'a> {
    /// Service.
    pub(super) s: usize,
    /// Cell.
    pub(super) c: usize,
    /// The service's ground truth.
    pub(super) truth: &'a Truth,
    /// The service's answered percent per (cell, local region).
    pub(super) answered: &'a Grid<f32>,
    /// No controller majority can move traffic now.
    pub(super) blocked: bool,
    /// The service's grace, seconds.
    pub(super) grace: u64,
}

impl Checker {
    /// Detection, PENDING and TTL: how long traffic may stay on a failing region of `s`.
    pub fn grace(&self, s: usize, world: &World) -> u64 {
        let svc = &self.bundle.services[s];
        let k = &world.knobs;
        let mut g = svc.health.fail_after_secs
            + 3 * self.tick
            + self.heartbeat_ttl
            + k.route53_pending_secs
            + k.route53_pending_jitter_secs
            + u64::from(svc.routing.ttl_secs)
            + k.journal_replication_lag_ms / 1000
            + MARGIN_SECS;
        // A throttled Route 53 (below its real 5 requests/s) fails whole passes: allow a few
        // more ticks of retries.
        if k.route53_rate_per_sec < 5.0 {
            g += 3 * self.tick;
        }
        if matches!(svc.strategy, Strategy::WarmStandby | Strategy::PilotLight)
            && let Some(e) = &svc.ecs
        {
            g += e.max_wait_secs + k.ecs_capacity_delay_secs + k.ecs_capacity_jitter_secs;
        }
        g + self.pacing_secs(k.route53_rate_per_sec)
    }

    /// How much later than the first the last zone of a region's evacuation may be
    /// written: the controllers spend three quarters of Route 53's account rate (or of the
    /// world's, when it throttles harder) on it (ADR 0020, `pace::calls_per_pass`), about
    /// [`CALLS_PER_ZONE_EVACUATED`] calls a zone, and the service checked may be the last
    /// in line. The first tick's worth is already in the grace's ticks. Six zones fit one
    /// tick (0 s); 200 zones take 27 ticks at 5 requests/s (simulate
    /// `--generate-services 200` seed 60: a service reached 1 s past the grace without it).
    fn pacing_secs(&self, world_rate: f64) -> u64 {
        let rate = world_rate.min(ROUTE53_ACCOUNT_RATE as f64);
        let per_tick = (self.tick as f64 * rate * 3.0 / 4.0).floor().max(1.0) as u64;
        let ticks = (self.zones * CALLS_PER_ZONE_EVACUATED).div_ceil(per_tick);
        ticks.saturating_sub(1) * self.tick
    }

    /// Truly healthy regions of service `s` (no endpoint failure, no forced alarm), and
    /// since when.
    pub(super) fn track_healthy(&mut self, s: usize, truth: &Truth, t: u64) {
        let svc = &self.bundle.services[s];
        for r in 0..svc.regions.len() {
            let ok = !truth.forced[r] && truth.failing.column(r).all(|f| !f);
            if ok {
                self.healthy_since.entry((s, r)).or_insert(t);
            } else {
                self.healthy_since.remove(&(s, r));
            }
        }
    }

    /// The planner's named exemptions, from a controller that acted.
    pub(super) fn record_planner_exemptions(&mut self, t: u64, report: &PassReport) {
        if report.stand_down.is_none()
            && let Some(plan) = &report.plan
        {
            for sp in &plan.services {
                self.exemptions
                    .insert(sp.service, (t, sp.exemptions.clone()));
            }
            self.paused = plan.paused.is_some();
        }
    }

    /// Answered traffic to a failing region of `cell` while a healthy one exists, at `t`.
    pub(super) fn check_no_traffic_to_failed(&mut self, world: &World, t: u64, cell: &CellNow<'_>) {
        let (s, c) = (cell.s, cell.c);
        let svc = &self.bundle.services[s];
        let nr = svc.regions.len();
        let recover_after = svc.health.recover_after_secs;
        let healthy_exists = svc.cells[c].tiers.iter().flatten().any(|r| {
            self.healthy_since
                .get(&(s, *r))
                .is_some_and(|since| t.saturating_sub(*since) >= recover_after)
        });
        for r in 0..nr {
            let key = (s, c, r);
            let share = cell.answered.get(c, r).copied().unwrap_or(0.0);
            let condition = healthy_exists && share > SHARE_EPSILON && cell.truth.failing[(c, r)];
            if !condition {
                self.bad_since.remove(&key);
                continue;
            }
            if let Some(e) = self.excuse(world, cell, r) {
                self.exempt(e);
                self.bad_since.remove(&key);
                continue;
            }
            self.check(NO_TRAFFIC_TO_FAILED);
            let since = *self.bad_since.entry(key).or_insert(t);
            if t - since > cell.grace {
                let svc = &self.bundle.services[s];
                let (name, cell_id, region) = (
                    svc.name.clone(),
                    svc.cells[c].id.clone(),
                    svc.regions[r].name.clone(),
                );
                self.violate(
                    NO_TRAFFIC_TO_FAILED,
                    format!("{name}/{cell_id}/{region}"),
                    t,
                    format!(
                        "{name} cell {cell_id}: {share:.1}% of answers still go to failing {region} {}s after it could have moved (grace {}s) while a healthy region exists",
                        t - since,
                        cell.grace
                    ),
                );
            }
        }
    }

    /// The named exemption that excuses traffic on local region `r` of `cell`, if any.
    fn excuse(&self, world: &World, cell: &CellNow<'_>, r: usize) -> Option<&'static str> {
        let svc = &self.bundle.services[cell.s];
        if svc.strategy == Strategy::BackupRestore {
            Some("backup-restore")
        } else if svc.mode != Mode::Enforce {
            Some("not-enforced")
        } else if cell.blocked {
            Some("fleet-cannot-act")
        } else if self.paused {
            // An operator paused automation: traffic stays where it is on purpose, and the
            // grace starts again on resume.
            Some("paused")
        } else if !cell.truth.evident[(cell.c, r)] {
            Some("no-evidence")
        } else {
            self.planner_exemption(cell.s, r, world.now())
        }
    }

    /// The planner's exemption covering traffic left on local region `r` of service `s`.
    fn planner_exemption(&self, s: usize, r: usize, now: Timestamp) -> Option<&'static str> {
        let (_, list) = self.exemptions.get(&s)?;
        list.iter().find_map(|e| match e {
            Exemption::CapacityWait { r: x, until } if *x == r && now < *until => {
                Some("capacity-wait")
            }
            Exemption::Partial { r: x } if *x == r => Some("partial"),
            Exemption::FailStatic => Some("fail-static"),
            Exemption::BackupRestore => Some("backup-restore"),
            Exemption::OverrideDrain { r: x } if *x == r => Some("override"),
            _ => None,
        })
    }
}
