//! Reading and keeping up the data-plane switches (DESIGN.md §6).
//!
//! A switch *change* is a plan step ([`regionctl_core::plan::Action::SetSwitch`]), recorded
//! in the journal like any other. Between changes, every acting controller republishes the
//! state in force each pass ([`keep_alive`]): that is what makes the metric arrive "from
//! at least two regions" (every controller of the majority publishes), so the loss of any
//! one controller's region does not stop it. A controller that stands down (minority,
//! other policy hash, own region down, pause) publishes nothing; the alarm ignores missing
//! data and the health check keeps its last status, so the switches hold.

use crate::ports::{PortResult, Switches};
use crate::report::DecisionSummary;
use regionctl_core::grid::Grid;
use regionctl_core::live::LiveState;
use regionctl_core::plan::{Disposition, Plan};
use regionctl_core::policy::Bundle;
use regionctl_core::switch::{self, SwitchRef};
use std::collections::BTreeMap;

/// The switches as read.
#[derive(Debug, Clone, Default)]
pub struct SwitchStates {
    /// Per service, in bundle order: its states per (slot, local region), `None`
    /// (unknown) where the read failed.
    pub per_service: Vec<Grid<Option<bool>>>,
    /// What could not be read.
    pub failures: Vec<String>,
}

/// Reads every service's switches with one port call per alarm region (the AWS adapter
/// batches 500 per `GetMetricData`, so a fleet of 1,000 services costs a handful of calls,
/// not one per service).
pub async fn read_all<W: Switches>(world: &W, bundle: &Bundle) -> SwitchStates {
    let per_service: Vec<Vec<(usize, usize, SwitchRef)>> =
        bundle.services.iter().map(switch::switches_of).collect();
    let all: Vec<&SwitchRef> = per_service.iter().flatten().map(|(_, _, x)| x).collect();
    // One read per alarm region, so a region whose CloudWatch is unreachable leaves only its
    // own switches unknown.
    let mut by_region: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, x) in all.iter().enumerate() {
        by_region
            .entry(x.alarm_region.as_str())
            .or_default()
            .push(i);
    }
    let mut states: Vec<Option<bool>> = vec![None; all.len()];
    let mut failures = Vec::new();
    for (region, ixs) in by_region {
        let refs: Vec<SwitchRef> = ixs.iter().map(|i| all[*i].clone()).collect();
        match world.read_switches(&refs).await {
            Ok(v) if v.len() == refs.len() => {
                for (i, state) in ixs.iter().zip(v) {
                    states[*i] = state;
                }
            }
            Ok(v) => failures.push(format!(
                "data-plane switches in {region}: {} value(s) for {} switch(es)",
                v.len(),
                refs.len()
            )),
            Err(e) => failures.push(format!(
                "data-plane switches in {region} unreadable: {}",
                e.message()
            )),
        }
    }
    let mut rest = states.into_iter();
    SwitchStates {
        per_service: bundle
            .services
            .iter()
            .zip(&per_service)
            .map(|(service, refs)| {
                let mut states = Grid::new(switch::slots(service), service.regions.len(), None);
                for ((slot, r, _), state) in refs.iter().zip(rest.by_ref()) {
                    if let Some(x) = states.get_mut(*slot, *r) {
                        *x = state;
                    }
                }
                states
            })
            .collect(),
        failures,
    }
}

/// What to republish: for every service that applies automatically, the switch states in
/// force — as read this pass, overridden by the switches this pass's steps set (`switched`:
/// service index, (slot, local region), on). Switches never published are left alone.
pub fn in_force(
    bundle: &Bundle,
    plan: &Plan,
    live: &LiveState,
    switched: &[(usize, (usize, usize), bool)],
) -> Vec<(SwitchRef, bool)> {
    let mut out = Vec::new();
    for sp in &plan.services {
        if sp.disposition != Disposition::Apply {
            continue;
        }
        let service = &bundle.services[sp.service];
        let known = &live.services[sp.service].switches;
        for (slot, r, x) in switch::switches_of(service) {
            let set = switched
                .iter()
                .rev()
                .find(|(s, at, _)| *s == sp.service && *at == (slot, r))
                .map(|(_, _, on)| *on);
            if let Some(on) = set.or_else(|| known.get(slot, r).copied().flatten()) {
                out.push((x, on));
            }
        }
    }
    out
}

/// Keeps the switches in force after this pass's `decisions` (see [`in_force`]): how many
/// values were republished, or why none could be.
pub async fn republish<W: Switches>(
    world: &W,
    bundle: &Bundle,
    plan: &Plan,
    live: &LiveState,
    decisions: &[DecisionSummary],
) -> Result<usize, String> {
    let switched: Vec<(usize, (usize, usize), bool)> = decisions
        .iter()
        .filter_map(|d| bundle.service_index(&d.service).map(|s| (s, d)))
        .flat_map(|(s, d)| d.switched.iter().map(move |(i, on)| (s, *i, *on)))
        .collect();
    let values = in_force(bundle, plan, live, &switched);
    match keep_alive(world, &values).await {
        Ok(()) => Ok(values.len()),
        Err(e) => Err(format!("switches not republished: {}", e.message())),
    }
}

/// Republishes `values` (one call per batch; the adapter splits by region and size).
pub async fn keep_alive<W: Switches>(world: &W, values: &[(SwitchRef, bool)]) -> PortResult<()> {
    if values.is_empty() {
        return Ok(());
    }
    world.publish_switches(values).await
}
