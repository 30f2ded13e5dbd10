//! `converges`: after the last fault heals, answered traffic is back at the policy's
//! baseline within a bound (recovery, failback stages with their cooldowns, capacity,
//! PENDING and TTL). Checked once, at the end of a run long enough for the bound.
//! Exemptions: `manual-failback` (the steady state after an evacuation is "evacuated" until
//! an operator brings the region back), `propose-failback` (a `propose` service moved on
//! an approval fails back on another, which the simulated operator does not give) and
//! `converges-not-due`
//! (the run ended too soon).

use super::{CONVERGES, Checker, MARGIN_SECS};
use crate::world::Knobs;
use regionctl_core::grid::Grid;
use regionctl_core::policy::Bundle;
use regionctl_core::policy::raw::{FailbackMode, Mode};
use std::sync::Arc;

impl Checker {
    /// How long after the last fault heals traffic must be back at baseline.
    pub fn convergence_bound(bundle: &Bundle, knobs: &Knobs, tick: u64) -> u64 {
        bundle
            .services
            .iter()
            .map(|svc| {
                let stages = svc.safety.failback_stages_percent.len().max(1) as u64;
                let wait = svc.ecs.as_ref().map_or(0, |e| e.max_wait_secs);
                svc.health.recover_after_secs
                    + svc.safety.failback_after_healthy_secs
                    + stages * (svc.safety.cooldown_secs + tick)
                    + wait
                    + knobs.ecs_capacity_delay_secs
                    + knobs.ecs_capacity_jitter_secs
                    + knobs.route53_pending_secs
                    + knobs.route53_pending_jitter_secs
                    + u64::from(svc.routing.ttl_secs)
                    + svc.health.fail_after_secs
                    + 3 * tick
                    + MARGIN_SECS
            })
            .max()
            .unwrap_or(0)
    }

    /// At the end of a run of `ran` seconds: `last` is per service (the last answered
    /// sample, the baseline).
    pub(super) fn check_converges(
        &mut self,
        ran: u64,
        last: &[(&Grid<f32>, &Grid<f32>)],
        knobs: &Knobs,
    ) {
        let bound = Self::convergence_bound(&self.bundle, knobs, self.tick);
        let healed_at = self.last_fault.map_or(0, |t| t + 1);
        if ran < healed_at + bound {
            self.exempt("converges-not-due");
            return;
        }
        let bundle = Arc::clone(&self.bundle);
        for (s, (now, base)) in last.iter().enumerate() {
            let svc = &bundle.services[s];
            // Manual failback: the steady state after an evacuation is "evacuated"
            // until an operator brings the region back.
            if svc.safety.failback_mode == FailbackMode::Manual {
                self.exempt("manual-failback");
                continue;
            }
            // `propose`, moved on an approval: every change, failback too, waits for
            // one, and the simulated operator approves evacuations only (`repeat`).
            if svc.mode == Mode::Propose && self.approved_moves.contains(&s) {
                self.exempt("propose-failback");
                continue;
            }
            self.check(CONVERGES);
            let worst = now
                .indexed()
                .zip(base.iter())
                .map(|((at, a), b)| (at, (a - b).abs()))
                .fold(((0, 0), 0.0f32), |acc, x| if x.1 > acc.1 { x } else { acc });
            if worst.1 > 1.0 {
                let (c, r) = worst.0;
                let detail = format!(
                    "{} cell {}: {} answers {:.1}% at the end, baseline {:.1}%, {}s after the last fault healed (bound {bound}s)",
                    svc.name,
                    svc.cells.get(c).map_or("?", |x| x.id.as_str()),
                    svc.regions.get(r).map_or("?", |x| x.name.as_str()),
                    now[(c, r)],
                    base[(c, r)],
                    ran - healed_at
                );
                let subject = svc.name.clone();
                self.violate(CONVERGES, subject, ran, detail);
            }
        }
    }
}
