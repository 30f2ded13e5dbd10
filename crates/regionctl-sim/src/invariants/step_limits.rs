//! `step-limits`: discretionary moves (failback, scale-down) respect the service's max
//! share per step and its cooldown. Judged on decisions a pass applied (or is applying)
//! whose discretionary weight steps it wrote; the cooldown allows for the time a peer needs
//! to read the last move from the journal. No exemption: evacuations are not
//! discretionary and are not judged here.

use super::{Checker, STEP_LIMITS};
use crate::world::{Effect, EffectKind, World};
use regionctl_controller::reconcile::PassReport;
use regionctl_core::grid::Grid;
use regionctl_core::live::LiveState;
use regionctl_core::plan::Plan;
use regionctl_core::policy::Service;
use std::sync::Arc;

impl Checker {
    /// Discretionary decisions of a pass at `t`: step limit and cooldown.
    pub(super) fn check_step_limits(
        &mut self,
        t: u64,
        report: &PassReport,
        effects: &[Effect],
        world: &World,
    ) {
        let (Some(plan), Some(live)) = (&report.plan, &report.live) else {
            return;
        };
        let bundle = Arc::clone(&self.bundle);
        for d in &report.decisions {
            if !matches!(d.status.as_str(), "applied" | "partial" | "waiting") {
                continue;
            }
            let Some(s) = bundle.service_index(&d.service) else {
                continue;
            };
            let discretionary = plan.steps_of(s).any(|st| st.discretionary);
            let wrote = effects.iter().any(|e| {
                self.effect_service(&e.what)
                    .is_some_and(|(x, c)| x == s && c.is_some())
            });
            if !discretionary || !wrote {
                continue;
            }
            self.check(STEP_LIMITS);
            let svc = &bundle.services[s];
            let Some(worst) = largest_move(svc, s, plan, live, effects) else {
                continue;
            };
            self.check_step_size(t, svc, &d.id, worst);
            self.check_cooldown(t, s, svc, &d.id, world);
        }
    }

    /// Decision `id` of `svc` moves `worst` percent of a cell in one step.
    fn check_step_size(&mut self, t: u64, svc: &Service, id: &str, worst: f64) {
        let limit = f64::from(svc.safety.max_shift_percent_per_step) + 1.0;
        let name = &svc.name;
        if worst > limit {
            self.violate(
                STEP_LIMITS,
                format!("{name}/step/{id}"),
                t,
                format!(
                    "{name}: discretionary decision {id} moves {worst:.1}% of a cell in one step (limit {}%)",
                    svc.safety.max_shift_percent_per_step
                ),
            );
        }
    }

    /// Decision `id` of service `s` applied at `t`: not within the cooldown of the last
    /// discretionary decision (which it then becomes).
    fn check_cooldown(&mut self, t: u64, s: usize, svc: &Service, id: &str, world: &World) {
        let name = &svc.name;
        let cooldown = svc.safety.cooldown_secs;
        // Cooldowns are read from the journal, so a peer learns of a move only after
        // replication lag and its next tick: the fleet-wide cooldown holds up to that.
        let blind = world.knobs.journal_replication_lag_ms.div_ceil(1000) + self.tick;
        if let Some((last_t, last_id)) = self.last_discretionary.get(&s).cloned()
            && last_id != id
            && t - last_t < cooldown.saturating_sub(blind)
        {
            self.violate(
                STEP_LIMITS,
                format!("{name}/cooldown/{id}"),
                t,
                format!(
                    "{name}: discretionary decision {id} applied {}s after {last_id} (cooldown {cooldown}s)",
                    t - last_t
                ),
            );
        }
        if self
            .last_discretionary
            .get(&s)
            .is_none_or(|(_, last)| last != id)
        {
            self.last_discretionary.insert(s, (t, id.to_string()));
        }
    }
}

/// The largest share of one cell (percent) that the discretionary weight steps of service
/// `s` in `plan` move, counting only those this pass wrote; `None` if they move nothing.
fn largest_move(
    svc: &Service,
    s: usize,
    plan: &Plan,
    live: &LiveState,
    effects: &[Effect],
) -> Option<f64> {
    // The move is what the plan's discretionary weight steps change, measured
    // from where its exempt steps (an evacuation in the same plan) leave each
    // cell — not the whole distance from live to target, which may include an
    // evacuation or nothing discretionary at all (a scale-down after an
    // incident).
    let mut base: Grid<u8> = live.services[s].weights.map(|w| w.unwrap_or(0));
    // Only discretionary changes this pass wrote count: a controller that is not
    // the discretionary leader records them but applies only the exempt steps.
    let written = |c: usize, r: usize, to: u8| {
        let cell = &svc.cells[c];
        effects.iter().any(|e| {
            matches!(&e.what, EffectKind::Weight { zone, name, set_identifier, to: w, .. }
                if *w == to
                    && *zone == svc.routing.hosted_zone_id
                    && *name == crate::world::route53::normalize(&cell.record_name)
                    && cell.set_identifiers.get(r) == Some(set_identifier))
        })
    };
    let apply = |w: &mut Grid<u8>, discretionary: bool| {
        for st in plan
            .steps_of(s)
            .filter(|st| st.discretionary == discretionary)
        {
            if let regionctl_core::plan::Action::SetWeights { changes, .. } = &st.action {
                for ch in changes {
                    let (c, r) = (ch.cell as usize, usize::from(ch.r));
                    if discretionary && !written(c, r, ch.to) {
                        continue;
                    }
                    if let Some(x) = w.get_mut(c, r) {
                        *x = ch.to;
                    }
                }
            }
        }
    };
    apply(&mut base, false);
    let mut moved_to = base.clone();
    apply(&mut moved_to, true);
    if moved_to == base {
        return None;
    }
    let mut worst = 0.0f64;
    for c in 0..svc.cells.len() {
        let from = regionctl_core::plan::cell_shares_pub(base.row(c));
        let to = regionctl_core::plan::cell_shares_pub(moved_to.row(c));
        let moved: f64 = to
            .iter()
            .zip(&from)
            .map(|(t, f)| (t - f).max(0.0))
            .sum::<f64>()
            * 100.0;
        worst = worst.max(moved);
    }
    Some(worst)
}
