//! Executing a service's plan steps through the ports, in dependency order.
//!
//! Side effects are absolute and idempotent (UPSERT absolute weights; desired counts are
//! targets, never increments), so two controllers applying the same decision write the same
//! thing, and a controller that restarts mid-apply rolls forward by applying again.
//!
//! A wait step that is not yet satisfied blocks the steps after it for this pass; the next
//! pass re-plans (level-triggered) and either finds the capacity ready or, past the bound,
//! plans a partial shift.
//!
//! Only steps the guard accepted just before are applied ([`Checked`], which only
//! `regionctl_core::guard::check_steps` makes). Route 53 batches never split one record
//! name and type, and every cell is one name and type, so each intermediate state between
//! batches is a mix of cells at their old or new weights; the adapter checks each of those
//! states before sending any batch ([`BatchCheck`], from `guard::check_written`).

use crate::pace::Route53Pace;
use crate::ports::{Balancer, BatchCheck, Compute, Dns, PortError, Switches, WeightedRecord};
use regionctl_core::grid::Grid;
use regionctl_core::guard::{self, Checked, Violation};
use regionctl_core::live::AlbState;
use regionctl_core::plan::{Action, Exemption, Inputs, Step, WeightChange};
use regionctl_core::policy::Service;
use std::collections::{BTreeMap, HashMap};
use tracing::Instrument;

pub use crate::status::StepStatus;

/// What applying a service's steps did.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    /// Per step (same order as given).
    pub statuses: Vec<StepStatus>,
    /// AWS calls made.
    pub calls: u32,
    /// Order in which side effects happened, for tests and reports (`scale eu-west-1`, …).
    pub log: Vec<String>,
    /// Switches published by completed steps: ((slot, local region), on).
    pub switched: Vec<((usize, usize), bool)>,
    /// Records written and verified, as (zone, record name, set identifier, weight).
    pub written: Vec<(String, String, String, u8)>,
}

/// What the per-batch check of a weight step reads: the planner's inputs as the pass has
/// them (the live state read afresh) and the service's exemptions in the plan.
#[derive(Debug, Clone, Copy)]
pub struct BatchGuard<'a> {
    /// Bundle, health, live state, controls and now, as the steps were checked against.
    pub inputs: &'a Inputs<'a>,
    /// The exemptions the plan used for the service.
    pub exemptions: &'a [Exemption],
    /// What the pass may still do with Route 53.
    pub pace: &'a Route53Pace,
}

/// Applies `steps` (one service's, in plan order, checked by the guard).
pub async fn apply_steps<W: Dns + Compute + Balancer + Switches>(
    world: &W,
    guard: &BatchGuard<'_>,
    steps: &Checked<Vec<&Step>>,
) -> Applied {
    let mut applied = Applied::default();
    let mut status_by_id: BTreeMap<usize, StepStatus> = BTreeMap::new();
    // Per service, its weights as the steps applied so far leave them.
    let mut weights: BTreeMap<usize, Grid<u8>> = BTreeMap::new();
    for step in steps.get() {
        let span = tracing::info_span!("step", step = step.id, kind = step.action.kind());
        let blocked = step
            .after
            .iter()
            .any(|a| status_by_id.get(a).is_some_and(|s| *s != StepStatus::Done));
        let status = if blocked {
            StepStatus::Skipped
        } else {
            let before = weights.entry(step.service).or_insert_with(|| {
                guard.inputs.live.services[step.service]
                    .weights
                    .map(|w| w.unwrap_or(0))
            });
            let ran = run_step(world, guard, step, before, &mut applied)
                .instrument(span.clone())
                .await;
            match ran {
                Ok(s) => s,
                Err(e) => StepStatus::Failed(e.display_chain()),
            }
        };
        span.in_scope(|| log_step(&status));
        status_by_id.insert(step.id, status.clone());
        applied.statuses.push(status);
    }
    applied
}

/// Logs a step's status in its span (inside its decision's).
fn log_step(status: &StepStatus) {
    match status {
        StepStatus::Failed(_) => tracing::warn!(status = %status, "step"),
        _ => tracing::info!(status = %status, "step"),
    }
}

/// Runs one step; its effects and calls go into `applied`; `weights` are the service's
/// weights before it (a weight step updates them).
async fn run_step<W: Dns + Compute + Balancer + Switches>(
    world: &W,
    guard: &BatchGuard<'_>,
    step: &Step,
    weights: &mut Grid<u8>,
    applied: &mut Applied,
) -> Result<StepStatus, PortError> {
    let service = &guard.inputs.bundle.services[step.service];
    match &step.action {
        Action::Scale { r, to, .. } => scale(world, service, *r, *to, applied).await,
        Action::WaitForCapacity { r, needed, .. } => {
            wait_for_capacity(world, service, *r, *needed, applied).await
        }
        Action::SetAlb { r, to, .. } => set_alb(world, service, *r, *to, applied).await,
        Action::SetWeights { changes, .. } => {
            let shift = Shift {
                guard,
                s: step.service,
                changes,
            };
            set_weights(world, &shift, weights, applied).await
        }
        Action::RestoreRequired { .. } => Ok(StepStatus::Done),
        Action::SetSwitch { r, cell, on, .. } => {
            set_switch(world, service, (*r, *cell), *on, applied).await
        }
    }
}

/// Sets local region `r`'s ECS desired count.
async fn scale<W: Compute>(
    world: &W,
    service: &Service,
    r: usize,
    to: u32,
    applied: &mut Applied,
) -> Result<StepStatus, PortError> {
    let Some(ecs) = &service.ecs else {
        return Ok(StepStatus::Done);
    };
    let region = &service.regions[r].name;
    world
        .set_desired(region, &ecs.clusters[r], &ecs.services[r], to)
        .await?;
    applied.calls += 1;
    applied.log.push(format!("scale {region} {to}"));
    Ok(StepStatus::Done)
}

/// Done once local region `r` runs `needed` tasks; waiting until then.
async fn wait_for_capacity<W: Compute>(
    world: &W,
    service: &Service,
    r: usize,
    needed: u32,
    applied: &mut Applied,
) -> Result<StepStatus, PortError> {
    let Some(ecs) = &service.ecs else {
        return Ok(StepStatus::Done);
    };
    let region = &service.regions[r].name;
    let state = world
        .describe_service(region, &ecs.clusters[r], &ecs.services[r])
        .await?;
    applied.calls += 1;
    Ok(if state.is_some_and(|s| s.running >= needed) {
        StepStatus::Done
    } else {
        StepStatus::Waiting
    })
}

/// Sets local region `r`'s ALB Fargate/Lambda split.
async fn set_alb<W: Balancer>(
    world: &W,
    service: &Service,
    r: usize,
    to: AlbState,
    applied: &mut Applied,
) -> Result<StepStatus, PortError> {
    let Some(alb) = &service.alb else {
        return Ok(StepStatus::Done);
    };
    let region = &service.regions[r].name;
    let (listener, fargate, lambda) = alb.names(r);
    world
        .set_split(region, listener, fargate, lambda, to)
        .await?;
    applied.calls += 1;
    applied
        .log
        .push(format!("alb {region} {}/{}", to.fargate, to.lambda));
    Ok(StepStatus::Done)
}

/// One weight step of service `s`.
struct Shift<'a> {
    guard: &'a BatchGuard<'a>,
    s: usize,
    changes: &'a [WeightChange],
}

/// Upserts the records of the shift's changes in the service's zone, each batch's state
/// checked first; done once read back as written. `weights` (the service's, before the
/// step) are updated with what was written.
async fn set_weights<W: Dns>(
    world: &W,
    shift: &Shift<'_>,
    weights: &mut Grid<u8>,
    applied: &mut Applied,
) -> Result<StepStatus, PortError> {
    let service = &shift.guard.inputs.bundle.services[shift.s];
    let changes = shift.changes;
    #[cfg(feature = "planted-bugs")]
    let split = regionctl_core::planted::active(regionctl_core::planted::Bug::AllZeroSplit)
        && changes.iter().any(|c| c.to == 0)
        && changes.iter().any(|c| c.to > 0);
    #[cfg(feature = "planted-bugs")]
    let changes: &[WeightChange] = &if split {
        changes.iter().filter(|c| c.to == 0).cloned().collect()
    } else {
        changes.to_vec()
    };
    let zone = &service.routing.hosted_zone_id;
    if !shift.guard.pace.may_write(&service.name, zone) {
        applied.log.push(format!(
            "shift of {} records waits: Route 53 throttled this pass, or {zone} not read again",
            changes.len()
        ));
        return Ok(StepStatus::Skipped);
    }
    let records = records_of(service, changes);
    let report = {
        let check = batch_check(shift, changes, &records, weights);
        // The planted split writes the zeros alone, and gets past the per-batch guard too
        // (a batching bug that also skipped the check): the simulator must still see the
        // all-zero cell it leaves.
        #[cfg(feature = "planted-bugs")]
        let unchecked = |_: &[WeightedRecord]| Ok(());
        #[cfg(feature = "planted-bugs")]
        let check: BatchCheck<'_> = if split { &unchecked } else { &check };
        #[cfg(not(feature = "planted-bugs"))]
        let check: BatchCheck<'_> = &check;
        world
            .upsert_weighted(zone, &records, check)
            .await
            .inspect_err(|e| shift.guard.pace.note(e))?
    };
    applied.calls += report.calls;
    applied.log.push(format!(
        "shift {} records in {} call(s)",
        report.records, report.calls
    ));
    for c in changes {
        if let Some(w) = weights.get_mut(c.cell as usize, usize::from(c.r)) {
            *w = c.to;
        }
    }
    #[cfg(feature = "planted-bugs")]
    if split {
        return Ok(StepStatus::Waiting);
    }
    if !report.verified {
        return Ok(StepStatus::Failed("read-back did not match".into()));
    }
    applied.written.extend(
        records
            .into_iter()
            .map(|r| (zone.clone(), r.name, r.set_identifier, r.weight)),
    );
    Ok(StepStatus::Done)
}

/// The weighted records `changes` write.
fn records_of(service: &Service, changes: &[WeightChange]) -> Vec<WeightedRecord> {
    changes
        .iter()
        .map(|c| {
            let cell = &service.cells[c.cell as usize];
            WeightedRecord::of_cell(service, cell, usize::from(c.r), c.to)
        })
        .collect()
}

/// The per-batch check of `records` (written for `changes`, one to one) over `before`, the
/// service's weights before the step: the records a batch has written so far, read back as
/// (cell, local region, weight), through `guard::check_written`.
fn batch_check<'a>(
    shift: &'a Shift<'a>,
    changes: &[WeightChange],
    records: &'a [WeightedRecord],
    before: &'a Grid<u8>,
) -> impl Fn(&[WeightedRecord]) -> Result<(), Vec<Violation>> + 'a {
    let slots: HashMap<(&str, &str), (usize, usize)> = records
        .iter()
        .zip(changes)
        .map(|(rec, c)| {
            let key = (rec.name.as_str(), rec.set_identifier.as_str());
            (key, (c.cell as usize, usize::from(c.r)))
        })
        .collect();
    move |written: &[WeightedRecord]| {
        let written: Vec<(usize, usize, u8)> = written
            .iter()
            .filter_map(|w| {
                let (c, r) = slots.get(&(w.name.as_str(), w.set_identifier.as_str()))?;
                Some((*c, *r, w.weight))
            })
            .collect();
        let guard = shift.guard;
        let violations =
            guard::check_written(guard.inputs, shift.s, before, &written, guard.exemptions);
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations)
        }
    }
}

/// Publishes the data-plane switch of (local region, cell or `None` for the region's).
async fn set_switch<W: Switches>(
    world: &W,
    service: &Service,
    (r, cell): (usize, Option<u32>),
    on: bool,
    applied: &mut Applied,
) -> Result<StepStatus, PortError> {
    let slot = cell.map_or(0, |c| c as usize);
    let Some(switch) = regionctl_core::switch::switch_ref(service, slot, r) else {
        return Ok(StepStatus::Failed("the service has no switch there".into()));
    };
    world.publish_switches(&[(switch.clone(), on)]).await?;
    applied.calls += 1;
    applied.switched.push(((slot, r), on));
    applied.log.push(format!(
        "switch {} {} (published to {})",
        service.regions[r].name,
        if on { "on" } else { "off" },
        switch.alarm_region
    ));
    Ok(StepStatus::Done)
}

#[cfg(test)]
mod tests;
