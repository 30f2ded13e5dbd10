//! Planning one service: desired weights per cell, capacity, balancer splits, then steps.

use super::{
    Action, Alert, AlertKind, Exemption, Inputs, Plane, Reason, ShiftPurpose, WeightChange,
};
use crate::controls::OverrideAction;
use crate::guard;
use crate::health::{Entry, Verdict};
use crate::live::{AlbState, steady_desired};
use crate::policy::Service;
use crate::policy::raw::{FailbackMode, Strategy};
use crate::switch;

/// A share difference smaller than this (fraction of a cell) is noise from integer weights.
const SHARE_EPSILON: f64 = 0.005;
/// A failback stage counts as reached within this fraction of the stage.
const STAGE_TOLERANCE: f64 = 0.02;

pub(super) struct LocalStep {
    pub action: Action,
    pub after: Vec<usize>,
    pub reasons: Vec<Reason>,
    pub plane: Plane,
    pub discretionary: bool,
    pub takes_effect_secs: Option<u64>,
}

#[derive(Default)]
pub(super) struct Outcome {
    pub steps: Vec<LocalStep>,
    pub alerts: Vec<Alert>,
    pub target_weights: Vec<u8>,
    pub target_desired: Vec<Option<u32>>,
    pub target_switches: Vec<bool>,
    pub partial: bool,
    pub notes: Vec<String>,
    pub exemptions: Vec<Exemption>,
}

/// Per-cell result of the weight computation (the weights themselves are written into the
/// service's flat buffers).
struct CellPlan {
    /// The cell has no eligible region: held as it is.
    held: bool,
    /// Regions that should get traffic back but may not yet (failback gates).
    blocked: Vec<usize>,
}

pub(super) fn plan_service(inputs: &Inputs<'_>, s: usize) -> Outcome {
    let bundle = inputs.bundle;
    let service = &bundle.services[s];
    let nr = service.regions.len();
    let nc = service.cells.len();
    let now = inputs.now;
    let live = &inputs.live.services[s];
    let health = &inputs.health.services[s];
    let current: Vec<u8> = live.weights.iter().map(|w| w.unwrap_or(0)).collect();
    let mut out = Outcome {
        target_weights: current.clone(),
        target_switches: (0..switch::slots(service) * nr)
            .map(|i| live.switches.get(i).copied().flatten().unwrap_or(true))
            .collect(),
        target_desired: (0..nr).map(|r| desired_now(inputs, s, r)).collect(),
        ..Outcome::default()
    };
    let entry = |c: usize, r: usize| -> Entry {
        health
            .entries
            .get(c * nr + r)
            .copied()
            .unwrap_or(Entry::UNKNOWN)
    };
    let drained = guard::drained_slots(inputs, s);

    if service.strategy == Strategy::BackupRestore {
        plan_backup_restore(service, &entry, &mut out);
        return out;
    }

    // 1. Weights: evacuation (exempt) and failback (gated), cell by cell.
    let failback = failback_gate(inputs, s, &entry);
    // Flat per-(cell, region) buffers, written cell by cell; scratch buffers are reused, so
    // the common paths allocate nothing per cell.
    let mut evac_flat = current.clone();
    let mut target_flat = current.clone();
    let mut held = vec![false; nc];
    let mut blocked: Vec<usize> = Vec::new();
    let mut held_cells = 0usize;
    let mut eligible = vec![false; nr];
    let mut full = vec![0u8; nr];
    for c in 0..nc {
        let cur = &current[c * nr..(c + 1) * nr];
        for (r, e) in eligible.iter_mut().enumerate() {
            *e = entry(c, r).verdict == Verdict::Healthy && !drained[c * nr + r];
        }
        let plan = plan_cell(
            service,
            c,
            cur,
            &eligible,
            &failback,
            &mut full,
            &mut evac_flat[c * nr..(c + 1) * nr],
            &mut target_flat[c * nr..(c + 1) * nr],
        );
        #[cfg(feature = "planted-bugs")]
        if crate::planted::active(crate::planted::Bug::ZeroServing)
            && eligible.iter().filter(|e| **e).count() <= 1
            && (0..nr).any(|r| cur[r] > 0 && entry(c, r).verdict.is_unhealthy())
        {
            evac_flat[c * nr..(c + 1) * nr].fill(0);
            target_flat[c * nr..(c + 1) * nr].fill(0);
            continue;
        }
        if plan.held {
            held_cells += 1;
            held[c] = true;
        }
        blocked.extend(plan.blocked);
    }
    if held_cells > 0 {
        let bad = (0..nc).any(|c| {
            held[c]
                && (0..nr)
                    .any(|r| current[c * nr + r] > 0 && entry(c, r).verdict != Verdict::Healthy)
        });
        if bad {
            out.exemptions.push(Exemption::FailStatic);
            out.alerts.push(Alert {
                kind: AlertKind::HoldFailStatic,
                service: service.name.clone(),
                message: format!("{held_cells} cell(s) have no healthy region: holding the last good state, no writes"),
            });
        }
    }

    let evacuating = evac_flat != current;
    let failing_back = target_flat != evac_flat;

    // Minimum healthy regions: evacuation must leave enough healthy regions serving.
    if evacuating {
        let healthy = (0..nr)
            .filter(|r| {
                (0..nc).any(|c| entry(c, *r).verdict == Verdict::Healthy && !drained[c * nr + *r])
            })
            .count();
        if (healthy as u32) < service.safety.min_healthy_regions {
            out.alerts.push(Alert {
                kind: AlertKind::HoldMinHealthyRegions,
                service: service.name.clone(),
                message: format!(
                    "only {healthy} healthy region(s) left, policy requires {}: evacuation held",
                    service.safety.min_healthy_regions
                ),
            });
            out.notes
                .push("evacuation held: min_healthy_regions not met".into());
            return out;
        }
    }

    // 2. Capacity and waits.
    let shares_cur = shares(service, &current);
    let shares_target = shares(service, &target_flat);
    let baseline_flat: Vec<u8> = service
        .cells
        .iter()
        .flat_map(|c| c.baseline_weights.iter().copied())
        .collect();
    let shares_base = shares(service, &baseline_flat);

    let mut steps: Vec<LocalStep> = Vec::new();
    let mut scale_step: Vec<Option<usize>> = vec![None; nr];
    let mut target_desired = out.target_desired.clone();
    let in_incident = target_flat != baseline_flat
        || (0..nc).any(|c| {
            (0..nr).any(|r| {
                entry(c, r).verdict != Verdict::Healthy && service.cells[c].baseline_weights[r] > 0
            })
        });
    #[cfg(feature = "planted-bugs")]
    let skip_pre_scale = crate::planted::active(crate::planted::Bug::SkipsPreScale)
        && matches!(
            service.strategy,
            Strategy::WarmStandby | Strategy::PilotLight
        );
    #[cfg(not(feature = "planted-bugs"))]
    let skip_pre_scale = false;
    if let Some(ecs) = service.ecs.as_ref().filter(|_| !skip_pre_scale) {
        for r in 0..nr {
            let cur_desired = target_desired[r].unwrap_or(0);
            if shares_target[r] > shares_cur[r] + SHARE_EPSILON
                || (shares_target[r] > 0.0 && in_incident)
            {
                let reference = if shares_base[r] > 0.0 {
                    shares_base[r]
                } else {
                    1.0
                };
                let needed = (f64::from(ecs.full_count) * shares_target[r] / reference).ceil();
                let needed = if needed.is_finite() && needed > 0.0 {
                    needed.min(f64::from(u32::MAX)) as u32
                } else {
                    0
                };
                // Never scale down during an incident.
                let to = cur_desired.max(needed);
                if to > cur_desired {
                    let discretionary = !evacuating && failing_back;
                    scale_step[r] = Some(steps.len());
                    steps.push(LocalStep {
                        action: Action::Scale {
                            r,
                            from: cur_desired,
                            to,
                        },
                        after: Vec::new(),
                        reasons: vec![Reason::PreScale {
                            r,
                            share_from: pct(shares_cur[r]),
                            share_to: pct(shares_target[r]),
                        }],
                        plane: Plane::EcsControlPlane,
                        discretionary,
                        takes_effect_secs: None,
                    });
                    target_desired[r] = Some(to);
                }
            }
        }
    }

    // Capacity first (warm-standby, pilot-light), or Lambda cover when the source is down.
    let sources: Vec<usize> = (0..nr)
        .filter(|r| shares_target[*r] + SHARE_EPSILON < shares_cur[*r])
        .collect();
    let source_down = sources
        .iter()
        .any(|r| (0..nc).any(|c| entry(c, *r).verdict == Verdict::Down));
    let capacity_first = matches!(
        service.strategy,
        Strategy::WarmStandby | Strategy::PilotLight
    );
    let mut wait_steps: Vec<usize> = Vec::new();
    let mut partial_fraction: Option<f64> = None;
    let mut covering = vec![false; nr];
    let mut shift_reasons: Vec<Reason> = Vec::new();
    if let Some(ecs) = &service.ecs {
        for r in 0..nr {
            if shares_target[r] <= shares_cur[r] + SHARE_EPSILON {
                continue;
            }
            let want = target_desired[r].unwrap_or(0);
            let needed = ecs.ready_threshold(want);
            let running = running(inputs, s, r);
            if running >= needed {
                continue;
            }
            let hard = source_down || !evacuating;
            if evacuating && (source_down || !capacity_first) {
                // Shift at once; Lambda covers the gap where there is one.
                if service.alb.is_some() {
                    covering[r] = true;
                    shift_reasons.push(Reason::LambdaCover { r, running, needed });
                } else if capacity_first {
                    out.alerts.push(Alert {
                        kind: AlertKind::ShiftBeforeCapacity,
                        service: service.name.clone(),
                        message: format!("{} is hard down: shifting to {} before its capacity is ready ({running}/{needed} running)", sources_names(service, &sources), service.regions[r].name),
                    });
                }
                continue;
            }
            if !hard || capacity_first {
                let since = sources
                    .iter()
                    .flat_map(|sr| (0..nc).map(move |c| (c, *sr)))
                    .filter(|(c, sr)| entry(*c, *sr).verdict.is_unhealthy())
                    .map(|(c, sr)| entry(c, sr).since)
                    .min()
                    .unwrap_or(now);
                let bound = service.safety.max_degraded_hold_secs.min(ecs.max_wait_secs);
                let until = since.plus_secs(bound);
                if !evacuating || now < until {
                    let timeout = if evacuating {
                        until.secs_since(now)
                    } else {
                        ecs.max_wait_secs
                    };
                    let after = scale_step[r].into_iter().collect();
                    wait_steps.push(steps.len());
                    steps.push(LocalStep {
                        action: Action::WaitForCapacity {
                            r,
                            running,
                            needed,
                            timeout_secs: timeout,
                        },
                        after,
                        reasons: vec![Reason::CapacityFirst {
                            strategy: service.strategy,
                        }],
                        plane: Plane::None,
                        discretionary: !evacuating,
                        takes_effect_secs: None,
                    });
                    if evacuating {
                        for src in &sources {
                            out.exemptions
                                .push(Exemption::CapacityWait { r: *src, until });
                        }
                    }
                } else {
                    let k = if needed == 0 {
                        1.0
                    } else {
                        f64::from(running) / f64::from(needed)
                    };
                    partial_fraction = Some(partial_fraction.map_or(k, |p: f64| p.min(k)));
                    shift_reasons.push(Reason::CapacityTimeout { r, running, needed });
                }
            }
        }
    }

    // 3. Final weights: the target (shift steps come after any capacity wait, and the
    // executor stops at a wait that is not yet satisfied), or partial if capacity could not
    // carry everything in time.
    let mut final_weights = target_flat.clone();
    let mut purpose = ShiftPurpose::Evacuate;
    // A partial shift moves only part of the evacuation; failback waits for a full one.
    let failing_back = failing_back && partial_fraction.is_none();
    if let Some(k) = partial_fraction {
        final_weights = partial_weights(service, &current, &evac_flat, k.clamp(0.0, 1.0));
        purpose = ShiftPurpose::Partial;
        out.partial = true;
        // Every region that keeps traffic it should lose is covered, cell by cell.
        for r in 0..nr {
            let keeps = (0..nc).any(|c| {
                current[c * nr + r] > 0
                    && evac_flat[c * nr + r] == 0
                    && final_weights[c * nr + r] > 0
            });
            if keeps {
                out.exemptions.push(Exemption::Partial { r });
            }
        }
        out.alerts.push(Alert {
            kind: AlertKind::Partial,
            service: service.name.clone(),
            message: format!(
                "receiver capacity did not arrive in time: moved {:.0}% of the traffic off {}",
                k * 100.0,
                sources_names(service, &sources)
            ),
        });
    }
    for r in 0..nr {
        if drained.iter().skip(r).step_by(nr).any(|d| *d) {
            out.exemptions.push(Exemption::OverrideDrain { r });
        }
    }

    // 4. Guard the resulting state before it becomes steps.
    // Discretionary moves are measured from where the exempt evacuation leaves the cell.
    let discretionary_from: Option<&[u8]> = failing_back.then_some(if evacuating {
        evac_flat.as_slice()
    } else {
        current.as_slice()
    });
    let violations = guard::check_service(
        inputs,
        s,
        &final_weights,
        discretionary_from,
        &out.exemptions,
    );
    if !violations.is_empty() {
        out.alerts.push(guard_alert(
            service,
            "plan rejected by the safety guard, holding",
            &violations,
        ));
        out.target_weights = current;
        return out;
    }

    // 5. ALB: load bursts and Lambda cover.
    if let Some(alb) = &service.alb {
        for r in 0..nr {
            let cover = covering[r];
            let load = health.load.get(r).copied().unwrap_or(false);
            let mut lambda = 0;
            if load {
                lambda = alb.burst_lambda_percent;
            }
            if cover {
                let want = target_desired[r].unwrap_or(0).max(1);
                let run = running(inputs, s, r);
                let gap = 100 - (u64::from(run.min(want)) * 100 / u64::from(want)) as u32;
                lambda = lambda.max(gap);
            }
            let to = AlbState {
                fargate: 100 - lambda.min(100),
                lambda: lambda.min(100),
            };
            let from = live.alb.get(r).copied().flatten();
            let current_lambda = from.map_or(0, AlbState::lambda_percent);
            if current_lambda != to.lambda || from.is_none() && lambda > 0 {
                let mut reasons = Vec::new();
                if cover {
                    reasons.push(Reason::LambdaCover {
                        r,
                        running: running(inputs, s, r),
                        needed: service
                            .ecs
                            .as_ref()
                            .map_or(0, |e| e.ready_threshold(target_desired[r].unwrap_or(0))),
                    });
                }
                if load || current_lambda > 0 && !cover {
                    reasons.push(Reason::Load { r, in_alarm: load });
                }
                steps.push(LocalStep {
                    action: Action::SetAlb { r, from, to },
                    after: scale_step[r].into_iter().collect(),
                    reasons,
                    plane: Plane::ElbControlPlane,
                    discretionary: false,
                    takes_effect_secs: None,
                });
            }
        }
    }

    // 6. Weight steps.
    // 6. Data-plane switches, before the weight shift that needs the control plane, with
    // the same capacity prerequisites; neither waits for the other.
    // An evacuation waits only for capacity that gates it (the wait steps, each after its
    // region's scale). A pre-scale or a Lambda cover is attempted first but does not hold
    // traffic on a failing region when its call fails: a receiver whose APIs are
    // unreachable must not pin an evacuation (simulate seed 114).
    let mut switch_after: Vec<usize> = wait_steps.clone();
    switch_after.sort_unstable();
    let eligible_at =
        |c: usize, r: usize| entry(c, r).verdict == Verdict::Healthy && !drained[c * nr + r];
    let (switch_local, target_switches, violations) = switch_steps(
        inputs,
        s,
        &final_weights,
        &eligible_at,
        &drained,
        &switch_after,
        &out.exemptions,
    );
    if !violations.is_empty() {
        out.alerts.push(guard_alert(
            service,
            "switches held by the safety guard",
            &violations,
        ));
    }
    steps.extend(switch_local);
    out.target_switches = target_switches;

    let mut shift_steps = Vec::new();
    let evac_changes = diff(
        &current,
        if final_weights == target_flat && failing_back && evacuating {
            &evac_flat
        } else {
            &final_weights
        },
        nr,
    );
    let evac_changes = if evacuating { evac_changes } else { Vec::new() };
    if !evac_changes.is_empty() {
        let mut reasons = unhealthy_reasons(inputs, s, &current, &evac_flat, &drained);
        if evacuating && source_down && capacity_first {
            for r in &sources {
                reasons.push(Reason::SourceHardDown { r: *r });
            }
        }
        reasons.extend(shift_reasons.iter().cloned());
        let after = switch_after.clone();
        shift_steps.push(steps.len());
        steps.push(LocalStep {
            action: Action::SetWeights {
                purpose,
                changes: evac_changes,
            },
            after,
            reasons,
            plane: Plane::Route53ControlPlane,
            discretionary: false,
            takes_effect_secs: Some(switch::weights_visible_secs(service)),
        });
    }
    let base_for_failback = if evacuating { &evac_flat } else { &current };
    let failback_changes = if failing_back {
        diff(base_for_failback, &final_weights, nr)
    } else {
        Vec::new()
    };
    if !failback_changes.is_empty() {
        let mut after: Vec<usize> = scale_step.iter().flatten().copied().collect();
        after.extend(wait_steps.iter().copied());
        after.extend(shift_steps.iter().copied());
        after.sort_unstable();
        // Every region that gains share in some cell, whatever the service-wide average.
        let gains = |r: usize| {
            (0..nc).any(|c| {
                let before = cell_shares(&base_for_failback[c * nr..(c + 1) * nr]);
                let after = cell_shares(&final_weights[c * nr..(c + 1) * nr]);
                after[r] > before[r] + SHARE_EPSILON
            })
        };
        let reasons = (0..nr)
            .filter(|r| gains(*r))
            .map(|r| Reason::Failback {
                r,
                stage_percent: stage_of(shares_target[r], shares_base[r]),
                healthy_since: failback.healthy_since[r],
            })
            .collect();
        shift_steps.push(steps.len());
        steps.push(LocalStep {
            action: Action::SetWeights {
                purpose: ShiftPurpose::Failback,
                changes: failback_changes,
            },
            after,
            reasons,
            plane: Plane::Route53ControlPlane,
            discretionary: true,
            takes_effect_secs: Some(switch::weights_visible_secs(service)),
        });
    }
    blocked.sort_unstable();
    blocked.dedup();
    for r in &blocked {
        match &failback.waiting[*r] {
            Some(note) => out.notes.push(note.clone()),
            None => out.notes.extend(failback.cooldown_note.clone()),
        }
    }
    out.notes.dedup();

    // 7. After the incident: capacity back to steady state (discretionary).
    if let Some(_ecs) = &service.ecs {
        let over = final_weights == baseline_flat
            && (0..nc).all(|c| {
                (0..nr).all(|r| {
                    entry(c, r).verdict == Verdict::Healthy
                        || service.cells[c].baseline_weights[r] == 0
                })
            });
        if over && cooldown_passed(inputs, s) {
            for (r, desired) in target_desired.iter_mut().enumerate() {
                let steady = steady_desired(service, r);
                let cur = desired.unwrap_or(steady);
                if cur > steady {
                    steps.push(LocalStep {
                        action: Action::Scale {
                            r,
                            from: cur,
                            to: steady,
                        },
                        after: shift_steps.clone(),
                        reasons: vec![Reason::IncidentOver],
                        plane: Plane::EcsControlPlane,
                        discretionary: true,
                        takes_effect_secs: None,
                    });
                    *desired = Some(steady);
                }
            }
        }
    }

    out.steps = steps;
    out.target_weights = final_weights;
    out.target_desired = target_desired;
    out
}

/// The alert for a state the guard rejected: `what`, then every violation.
fn guard_alert(service: &Service, what: &str, violations: &[guard::Violation]) -> Alert {
    let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
    Alert {
        kind: AlertKind::GuardViolation,
        service: service.name.clone(),
        message: format!("{what}: {}", list.join("; ")),
    }
}

fn plan_backup_restore(
    service: &Service,
    entry: &impl Fn(usize, usize) -> Entry,
    out: &mut Outcome,
) {
    out.exemptions.push(Exemption::BackupRestore);
    for (r, region) in service.regions.iter().enumerate() {
        let unhealthy = (0..service.cells.len()).find(|c| {
            entry(*c, r).verdict.is_unhealthy() && service.cells[*c].baseline_weights[r] > 0
        });
        if let Some(c) = unhealthy {
            let e = entry(c, r);
            out.steps.push(LocalStep {
                action: Action::RestoreRequired { r },
                after: Vec::new(),
                reasons: vec![
                    Reason::RegionUnhealthy {
                        r,
                        verdict: e.verdict,
                        since: e.since,
                        evidence: Default::default(),
                        cells: service.cells.len(),
                    },
                    Reason::RestoreRequired { r },
                ],
                plane: Plane::None,
                discretionary: false,
                takes_effect_secs: None,
            });
            out.alerts.push(Alert {
                kind: AlertKind::RestoreRequired,
                service: service.name.clone(),
                message: format!("{} is {}: backup-restore does not move traffic; restore from backup (runbooks/restore-from-backup.md)", region.name, e.verdict.as_str()),
            });
        }
    }
}

/// What failback may do this tick, service-wide.
struct FailbackGate {
    /// Per local region: may receive failback traffic now.
    allowed: Vec<bool>,
    /// Per local region: healthy since (for reasons).
    healthy_since: Vec<crate::time::Timestamp>,
    /// Stage fraction cap from the cooldown/stage logic (computed per cell later).
    cooldown_ok: bool,
    /// Per local region: why failback into it waits, if it does.
    waiting: Vec<Option<String>>,
    /// Why discretionary moves wait for the cooldown, if they do.
    cooldown_note: Option<String>,
}

fn failback_gate(
    inputs: &Inputs<'_>,
    s: usize,
    entry: &impl Fn(usize, usize) -> Entry,
) -> FailbackGate {
    let service = &inputs.bundle.services[s];
    let nr = service.regions.len();
    let nc = service.cells.len();
    let now = inputs.now;
    let cooldown_ok = cooldown_passed(inputs, s);
    let mut allowed = vec![false; nr];
    let mut healthy_since = vec![crate::time::Timestamp::EPOCH; nr];
    let mut waiting = vec![None; nr];
    for r in 0..nr {
        // A region is recovered when every cell's verdict is healthy; use the latest since.
        let since = (0..nc)
            .map(|c| entry(c, r))
            .filter(|e| e.verdict == Verdict::Healthy)
            .map(|e| e.since)
            .max();
        let all_healthy = (0..nc).all(|c| entry(c, r).verdict == Verdict::Healthy);
        healthy_since[r] = since.unwrap_or(now);
        let region = service.regions[r].region;
        let restore = inputs
            .controls
            .active(inputs.bundle, &service.name, region, "", now)
            .is_some_and(|o| o.action == OverrideAction::Restore);
        let manual = service.safety.failback_mode == FailbackMode::Manual;
        let window =
            now.elapsed_at_least(healthy_since[r], service.safety.failback_after_healthy_secs);
        allowed[r] = all_healthy && (restore || (!manual && window));
        if all_healthy && !allowed[r] {
            waiting[r] = Some(if manual {
                format!(
                    "{} is healthy; failback is manual: `regionctl override restore --drain-region {} --for-mins 60 --why ... --region <your region>`",
                    service.regions[r].name, service.regions[r].name
                )
            } else {
                format!(
                    "{} healthy for {}s of the {}s recovery window before failback",
                    service.regions[r].name,
                    now.secs_since(healthy_since[r]),
                    service.safety.failback_after_healthy_secs
                )
            });
        }
    }
    let cooldown_note = (!cooldown_ok).then(|| {
        format!(
            "failback waits for the {}s cooldown after the last discretionary move",
            service.safety.cooldown_secs
        )
    });
    FailbackGate {
        allowed,
        healthy_since,
        cooldown_ok,
        waiting,
        cooldown_note,
    }
}

fn cooldown_passed(inputs: &Inputs<'_>, s: usize) -> bool {
    let service = &inputs.bundle.services[s];
    inputs.live.services[s]
        .last_discretionary_change
        .is_none_or(|t| inputs.now.elapsed_at_least(t, service.safety.cooldown_secs))
}

/// Plans one cell's weights: first the exempt evacuation, then any permitted failback.
#[allow(clippy::too_many_arguments)]
fn plan_cell(
    service: &Service,
    c: usize,
    cur: &[u8],
    eligible: &[bool],
    gate: &FailbackGate,
    full: &mut [u8],
    evacuated: &mut [u8],
    target: &mut [u8],
) -> CellPlan {
    let nr = cur.len();
    let cell = &service.cells[c];
    // `evacuated` and `target` start as the current weights.
    let Some(active) = cell
        .tiers
        .iter()
        .position(|t| t.iter().any(|r| eligible[*r]))
    else {
        return CellPlan {
            held: true,
            blocked: Vec::new(),
        };
    };
    tier_weights(service, &cell.tiers[active], eligible, full);
    // Fast path (steady state and every untouched cell): already at the full target.
    if cur == &full[..] {
        return CellPlan {
            held: false,
            blocked: Vec::new(),
        };
    }
    // Evacuation: ineligible regions go to 0; if nothing eligible is left serving, the
    // first tier with an eligible region takes over.
    for r in 0..nr {
        evacuated[r] = if eligible[r] { cur[r] } else { 0 };
    }
    if evacuated.iter().all(|w| *w == 0) {
        evacuated.copy_from_slice(full);
    }
    target.copy_from_slice(evacuated);
    if evacuated == &full[..] {
        return CellPlan {
            held: false,
            blocked: Vec::new(),
        };
    }
    // Failback (or moving back to a better tier): discretionary.
    // Compare shares, not weights: a region at its baseline weight can still be below its
    // baseline share (others' weights raised), and that is a failback too.
    let s_evac = cell_shares(evacuated);
    let s_full = cell_shares(full);
    let gainers: Vec<usize> = (0..nr)
        .filter(|r| s_full[*r] > s_evac[*r] + SHARE_EPSILON)
        .collect();
    let permitted = gate.cooldown_ok && gainers.iter().all(|r| gate.allowed[*r]);
    if !permitted {
        return CellPlan {
            held: false,
            blocked: gainers,
        };
    }
    target.copy_from_slice(&staged(service, evacuated, full));
    CellPlan {
        held: false,
        blocked: Vec::new(),
    }
}

/// Full target weights for a tier: eligible members at their weight (equally when all are
/// zero-weight standbys), everything else 0.
fn tier_weights(service: &Service, tier: &[usize], eligible: &[bool], w: &mut [u8]) {
    w.fill(0);
    let all_zero = tier
        .iter()
        .filter(|r| eligible[**r])
        .all(|r| service.regions[*r].weight == 0);
    for &r in tier.iter().filter(|r| eligible[**r]) {
        w[r] = if all_zero {
            1
        } else {
            service.regions[r].weight
        };
    }
}

/// The next failback stage from `from` toward `full`, bounded by the per-step limit.
///
/// Gainers get `f ×` their full share; the rest of the cell goes to the other regions in
/// proportion to their full-target shares, or — when none has one (a fallback tier handing
/// traffic back) — in proportion to what they carry now. `f` is the next stage, shrunk until
/// the whole move (every region's gain, after integer rounding) fits the step limit.
pub(super) fn staged(service: &Service, from: &[u8], full: &[u8]) -> Vec<u8> {
    let n = full.len();
    let s_from = cell_shares(from);
    let s_full = cell_shares(full);
    let gainers: Vec<usize> = (0..n)
        .filter(|r| s_full[*r] > s_from[*r] + SHARE_EPSILON)
        .collect();
    if gainers.is_empty() {
        return full.to_vec();
    }
    let progress = gainers
        .iter()
        .map(|r| s_from[*r] / s_full[*r])
        .fold(1.0f64, f64::min);
    let next = service
        .safety
        .failback_stages_percent
        .iter()
        .map(|p| f64::from(*p) / 100.0)
        .find(|f| *f > progress + STAGE_TOLERANCE)
        .unwrap_or(1.0);
    let max_step = f64::from(service.safety.max_shift_percent_per_step) / 100.0;
    let others: Vec<usize> = (0..n).filter(|r| !gainers.contains(r)).collect();
    let others_full: f64 = others.iter().map(|r| s_full[*r]).sum();
    let others_from: f64 = others.iter().map(|r| s_from[*r]).sum();
    let desired_at = |f: f64| -> Vec<f64> {
        let mut d = vec![0.0f64; n];
        let mut gained = 0.0;
        for &r in &gainers {
            d[r] = (f * s_full[r]).max(s_from[r]);
            gained += d[r];
        }
        let rest = (1.0 - gained).max(0.0);
        // The others' split moves from today's toward the full target's at the same pace
        // as the gainers: jumping to the target's split at once can alone exceed the step
        // limit (an evacuation that left them far from it), and then no stage would ever
        // fit and failback would stall for good (found by `regionctl simulate`).
        let t = if progress < 1.0 {
            ((f - progress) / (1.0 - progress)).clamp(0.0, 1.0)
        } else {
            1.0
        };
        for &r in &others {
            let now_part = if others_from > 0.0 {
                s_from[r] / others_from
            } else {
                s_full[r] / others_full.max(f64::MIN_POSITIVE)
            };
            let full_part = if others_full > 0.0 {
                s_full[r] / others_full
            } else {
                now_part
            };
            d[r] = ((1.0 - t) * now_part + t * full_part) * rest;
        }
        d
    };
    let moved = |w: &[u8]| -> f64 {
        let s = cell_shares(w);
        (0..n).map(|r| (s[r] - s_from[r]).max(0.0)).sum()
    };
    // The move grows with the way `g` from today's progress toward the next stage; each
    // round shrinks `g` in proportion to the overshoot (24 rounds reach any limit ≥ 1%).
    let mut g = 1.0f64;
    for _ in 0..24 {
        let f = progress + g * (next - progress);
        let w = if f >= 1.0 - 1e-9 {
            full.to_vec()
        } else {
            percent_weights(&desired_at(f))
        };
        let m = moved(&w);
        if m <= max_step + 1e-9 {
            return w;
        }
        g *= (max_step / m).min(0.95);
    }
    from.to_vec()
}

/// Integer weights summing to 100 for shares (largest remainder; never to a zero share).
fn percent_weights(desired: &[f64]) -> Vec<u8> {
    let mut w: Vec<u32> = desired
        .iter()
        .map(|d| (d * 100.0).floor().max(0.0) as u32)
        .collect();
    let assigned: u32 = w.iter().sum();
    let mut order: Vec<usize> = (0..desired.len()).filter(|r| desired[*r] > 0.0).collect();
    order.sort_by(|a, b| {
        let fa = desired[*a] * 100.0 - f64::from(w[*a]);
        let fb = desired[*b] * 100.0 - f64::from(w[*b]);
        fb.total_cmp(&fa).then(a.cmp(b))
    });
    for r in order
        .into_iter()
        .take(100usize.saturating_sub(assigned as usize))
    {
        w[r] += 1;
    }
    w.into_iter()
        .map(|x| u8::try_from(x.min(255)).unwrap_or(255))
        .collect()
}

/// Weights moving a fraction `k` of the way from `current` to `target`, per cell.
fn partial_weights(service: &Service, current: &[u8], target: &[u8], k: f64) -> Vec<u8> {
    let nr = service.regions.len().max(1);
    current
        .chunks(nr)
        .zip(target.chunks(nr))
        .flat_map(|(cur, tgt)| partial_row(cur, tgt, k))
        .collect()
}

/// One cell of [`partial_weights`].
///
/// The receivers (regions the target keeps serving) get an integer multiple of their target
/// weights, so their split is exactly the target's. Quantising shares to percent instead
/// drifts that split by rounding; the next pass then derives a slightly different
/// evacuation from the weights it finds, needs a little more capacity somewhere and shifts
/// partially again, one capacity wait later each time (found by the fixpoint property).
/// The sources keep weights giving them their `1 - k` part of today's share.
fn partial_row(cur: &[u8], tgt: &[u8], k: f64) -> Vec<u8> {
    if cur == tgt {
        return cur.to_vec();
    }
    let sc = cell_shares(cur);
    let st = cell_shares(tgt);
    let desired: Vec<f64> = (0..cur.len())
        .map(|r| sc[r] + k * (st[r] - sc[r]))
        .collect();
    let receivers: f64 = (0..cur.len())
        .filter(|r| tgt[*r] > 0)
        .map(|r| desired[r])
        .sum();
    let tgt_sum: u32 = tgt.iter().map(|w| u32::from(*w)).sum();
    if tgt_sum == 0 || receivers >= 1.0 - 1e-9 {
        return tgt.to_vec();
    }
    if receivers <= 1e-9 {
        return cur.to_vec();
    }
    let source_weight = |m: u32, r: usize| -> u32 {
        let w = f64::from(m * tgt_sum) * desired[r] / receivers;
        // A source that should keep some traffic keeps at least weight 1.
        (w.round() as u32).max(u32::from(desired[r] > 0.0))
    };
    let max_tgt = u32::from(tgt.iter().copied().max().unwrap_or(1).max(1));
    // The receivers' total should reach about 100 so the sources' shares are as fine as
    // percent; no larger, so the sources' weights shrink as their share does (a plan
    // reading "44 → 45" for a region being evacuated would alarm a reader). m = 1 always
    // fits Route 53's 255 when today's weights are real: each source's weight only shrinks.
    let fits = |m: u32| (0..cur.len()).all(|r| tgt[r] > 0 || source_weight(m, r) <= 255);
    let m = (1..=(255 / max_tgt).max(1))
        .take_while(|m| *m == 1 || fits(*m))
        .take_while(|m| *m == 1 || (m - 1) * tgt_sum < 100)
        .last()
        .unwrap_or(1);
    (0..cur.len())
        .map(|r| {
            let w = if tgt[r] > 0 {
                m * u32::from(tgt[r])
            } else {
                source_weight(m, r)
            };
            u8::try_from(w.min(255)).unwrap_or(255)
        })
        .collect()
}

/// Share of each region within one cell (equal spread if all zero, as Route 53 answers).
pub(crate) fn cell_shares(weights: &[u8]) -> Vec<f64> {
    let total: u32 = weights.iter().map(|w| u32::from(*w)).sum();
    if total == 0 {
        let n = weights.len().max(1) as f64;
        return vec![1.0 / n; weights.len()];
    }
    weights
        .iter()
        .map(|w| f64::from(*w) / f64::from(total))
        .collect()
}

/// Service-level share of each region (mean over cells).
fn shares(service: &Service, weights: &[u8]) -> Vec<f64> {
    let nr = service.regions.len();
    let nc = service.cells.len().max(1);
    let mut out = vec![0.0; nr];
    for row in weights.chunks_exact(nr.max(1)).take(service.cells.len()) {
        let total: u32 = row.iter().map(|w| u32::from(*w)).sum();
        for (o, w) in out.iter_mut().zip(row) {
            *o += if total == 0 {
                1.0 / nr as f64
            } else {
                f64::from(*w) / f64::from(total)
            };
        }
    }
    out.iter_mut().for_each(|x| *x /= nc as f64);
    out
}

/// A failback stage as a percentage of the region's baseline share.
fn stage_of(share: f64, baseline: f64) -> u32 {
    if baseline <= 0.0 {
        100
    } else {
        pct((share / baseline).min(1.0))
    }
}

fn pct(share: f64) -> u32 {
    (share * 100.0).round().clamp(0.0, 100.0) as u32
}

fn diff(from: &[u8], to: &[u8], nr: usize) -> Vec<WeightChange> {
    from.iter()
        .zip(to)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(i, (a, b))| WeightChange {
            cell: u32::try_from(i / nr).unwrap_or(u32::MAX),
            r: u16::try_from(i % nr).unwrap_or(u16::MAX),
            from: Some(*a),
            to: *b,
        })
        .collect()
}

fn desired_now(inputs: &Inputs<'_>, s: usize, r: usize) -> Option<u32> {
    let service = &inputs.bundle.services[s];
    service.ecs.as_ref()?;
    let live = &inputs.live.services[s];
    live.ecs
        .get(r)
        .copied()
        .flatten()
        .map(|e| e.desired)
        .or_else(|| live.last_known_desired.get(r).copied().flatten())
        .or_else(|| Some(steady_desired(service, r)))
}

fn running(inputs: &Inputs<'_>, s: usize, r: usize) -> u32 {
    inputs.live.services[s]
        .ecs
        .get(r)
        .copied()
        .flatten()
        .map_or(0, |e| e.running)
}

fn sources_names(service: &Service, sources: &[usize]) -> String {
    sources
        .iter()
        .map(|r| service.regions[*r].name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reasons for an evacuation: every region losing traffic and why.
fn unhealthy_reasons(
    inputs: &Inputs<'_>,
    s: usize,
    current: &[u8],
    evacuated: &[u8],
    drained: &[bool],
) -> Vec<Reason> {
    let service = &inputs.bundle.services[s];
    let nr = service.regions.len();
    let mut reasons = Vec::new();
    for r in 0..nr {
        let cells: Vec<usize> = (0..service.cells.len())
            .filter(|c| current[c * nr + r] > evacuated[c * nr + r])
            .collect();
        if !cells.is_empty() {
            reasons.push(region_reason(inputs, s, r, &cells, drained));
        }
    }
    reasons
}

/// Why traffic leaves local region `r` in `cells` (non-empty): an operator drain, its
/// health, or unknown health.
fn region_reason(
    inputs: &Inputs<'_>,
    s: usize,
    r: usize,
    cells: &[usize],
    drained: &[bool],
) -> Reason {
    let service = &inputs.bundle.services[s];
    let health = &inputs.health.services[s];
    let nr = service.regions.len();
    let first_cell = cells.first().copied().unwrap_or(0);
    let first = health
        .entries
        .get(first_cell * nr + r)
        .copied()
        .unwrap_or(Entry::UNKNOWN);
    if drained.get(first_cell * nr + r).copied().unwrap_or(false)
        && let Some(o) = inputs.controls.active(
            inputs.bundle,
            &service.name,
            service.regions[r].region,
            &service.cells[first_cell].id,
            inputs.now,
        )
    {
        return Reason::OverrideDrain {
            r,
            who: o.who.clone(),
            why: o.why.clone(),
            until: o.expires_at,
        };
    }
    if first.verdict.is_unhealthy() {
        Reason::RegionUnhealthy {
            r,
            verdict: first.verdict,
            since: first.since,
            evidence: health.evidence.get(r).cloned().unwrap_or_default(),
            cells: cells.len(),
        }
    } else {
        Reason::RegionUnknown {
            r,
            cells: cells.len(),
        }
    }
}

/// Data-plane switch steps (DESIGN.md §6): a switch goes off when its scope has moved off
/// a region that is not eligible, after the same capacity prerequisites as the weight
/// shift (so warm-standby and pilot-light still put capacity first), and on again as soon
/// as the region is eligible (the weights decide its share; a weight-0 record with a
/// healthy switch is only answered when every weighted region fails). Returns the steps
/// and the target switch states.
fn switch_steps(
    inputs: &Inputs<'_>,
    s: usize,
    final_weights: &[u8],
    eligible: &impl Fn(usize, usize) -> bool,
    drained: &[bool],
    capacity_first: &[usize],
    exemptions: &[Exemption],
) -> (Vec<LocalStep>, Vec<bool>, Vec<guard::Violation>) {
    let service = &inputs.bundle.services[s];
    let nr = service.regions.len();
    let live = &inputs.live.services[s].switches;
    let target = switch::target_switches(service, final_weights, live, eligible);
    let mut steps = Vec::new();
    let violations = guard::check_answered(inputs, s, final_weights, &target, exemptions);
    if !violations.is_empty() {
        // Hold the switches as they are; the weights were guarded on their own.
        let held = (0..target.len())
            .map(|i| live.get(i).copied().flatten().unwrap_or(true))
            .collect();
        return (steps, held, violations);
    }
    let scope_is_cell = switch::slots(service) > 1
        || service
            .routing
            .switch
            .as_ref()
            .is_some_and(|sw| sw.scope == crate::policy::raw::SwitchScope::Cell);
    for slot in 0..switch::slots(service) {
        for r in 0..nr {
            let i = slot * nr + r;
            let from = live.get(i).copied().flatten();
            let on = target[i];
            if from.unwrap_or(true) == on {
                continue;
            }
            let cells: Vec<usize> = switch::cells_of_slot(service, slot).collect();
            let reasons = if on {
                vec![Reason::SwitchOn { r }]
            } else {
                vec![region_reason(inputs, s, r, &cells, drained)]
            };
            steps.push(LocalStep {
                action: Action::SetSwitch {
                    r,
                    cell: scope_is_cell.then(|| u32::try_from(slot).unwrap_or(u32::MAX)),
                    from,
                    on,
                },
                after: if on {
                    Vec::new()
                } else {
                    capacity_first.to_vec()
                },
                reasons,
                plane: Plane::CloudWatchDataPlane,
                discretionary: false,
                takes_effect_secs: switch::switch_visible_secs(service),
            });
        }
    }
    (steps, target, Vec::new())
}
