//! The pass's plan stage: the operator controls, the cooldowns the fleet knows of, the
//! leader's planning copy of the health view, and the plan itself, made again after zones
//! and ECS counts taken from this controller's copies are re-read
//! ([`crate::live::refresh_zones`], [`crate::capacity::CapacityCache::refresh`]).

use crate::admit::{self, Rejected};
use crate::fleet::Freshness;
use crate::journal::Heartbeat;
use crate::leader;
use crate::live;
use crate::memory::Memory;
use crate::pace::{self, Route53Pace};
use crate::ports::{Compute, Dns, Journal, PortError};
use crate::reconcile::Context;
use regionctl_core::controls::Controls;
use regionctl_core::health::HealthView;
use regionctl_core::live::LiveState;
use regionctl_core::plan::{self, Inputs, Plan};
use regionctl_core::policy::Bundle;
use regionctl_core::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

/// The operator controls (pause, overrides) in the journal.
pub async fn read_controls<W: Journal>(
    world: &W,
    now: Timestamp,
) -> Result<(Controls, Vec<Rejected>), PortError> {
    let items = world.query("CONTROL", "").await?;
    Ok(admit::controls(&items, now))
}

/// What the plan stage reads besides the live state.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    /// Who plans.
    pub ctx: &'a Context<'a>,
    /// This pass's health view.
    pub health: &'a HealthView,
    /// The operator controls.
    pub controls: &'a Controls,
    /// The heartbeats read this pass.
    pub heartbeats: &'a [Heartbeat],
    /// The newest discretionary move per service the fleet knows of
    /// (`Heartbeat::last_moves`).
    pub last_moves: &'a BTreeMap<String, Timestamp>,
    /// Services whose last move this replica could not say.
    pub cooldown_unknown: &'a BTreeSet<String>,
    /// This controller makes discretionary moves.
    pub leader: bool,
    /// Pairs drained only moments ago (`fleet::Revision::newly_drained`).
    pub newly_drained: &'a [String],
    /// Zones the live state took from this controller's copy.
    pub cached_zones: &'a [String],
    /// Now, and which heartbeats are fresh.
    pub freshness: Freshness,
}

/// What the plan stage made.
#[derive(Debug)]
pub struct Planned {
    /// The plan.
    pub plan: Plan,
    /// The live state it was made from (re-read zones included).
    pub live: LiveState,
    /// Zones and ECS counts that could not be re-read.
    pub failures: Vec<String>,
    /// What the decide stage may still do with Route 53 this pass.
    pub pace: Route53Pace,
}

/// Plans from `live`; re-reads the zones taken from the copy that the plan would write to,
/// and plans again from what they show.
pub async fn plan_pass<W: Dns + Compute>(
    world: &W,
    input: &PlanInput<'_>,
    mut live: LiveState,
    memory: &mut Memory,
) -> Planned {
    let Memory {
        zones,
        capacity,
        pace_after,
        ..
    } = memory;
    let bundle = input.ctx.bundle;
    let now = input.freshness.now;
    set_cooldowns(
        bundle,
        &mut live,
        input.last_moves,
        input.cooldown_unknown,
        now,
    );
    // The leader fails back only into regions no acting peer still sees failing: a peer
    // with another view would evacuate again within a tick (found by `regionctl simulate`).
    // The region's recovery window restarts instead, on the leader's planning copy only.
    let planning_health = if input.leader {
        leader::hold_failback_for_peers(
            bundle,
            input.health,
            &input.ctx.region,
            input.heartbeats,
            input.newly_drained,
            input.freshness,
        )
    } else {
        None
    };
    let health = planning_health.as_ref().unwrap_or(input.health);
    let plan_from = |live: &LiveState| {
        plan::plan(Inputs {
            bundle,
            health,
            live,
            controls: input.controls,
            now,
        })
    };
    let plan = plan_from(&live);
    // A zone taken from this controller's copy (see `memory`) is read afresh before any
    // step of a service routed by it is applied, and so are the ECS counts of a service
    // with steps (`capacity`); the plan is made again from what they show. Route 53 calls
    // go to the services first in plan order, within the pass's share (`pace`).
    let selection = pace::select(
        &plan,
        bundle,
        input.cached_zones,
        pace::calls_per_pass(bundle),
        *pace_after,
    );
    *pace_after = selection.last.or(*pace_after);
    zones.set_writes_waiting(!selection.deferred.is_empty());
    let acting: BTreeSet<usize> = plan
        .steps
        .iter()
        .map(|st| st.service)
        .filter(|s| !selection.deferred.contains(s))
        .collect();
    let refreshed = if selection.refresh.is_empty() {
        live::Refreshed::default()
    } else {
        live::refresh_zones(world, bundle, &selection.refresh, zones, &mut live, now).await
    };
    let ecs = capacity
        .refresh(world, bundle, &acting, now, &mut live)
        .await;
    let mut failures = refreshed.failures;
    failures.extend(ecs.failures);
    let replan = !selection.refresh.is_empty() || ecs.calls > 0;
    let pace = Route53Pace::new(selection, refreshed.unconfirmed, refreshed.throttled);
    Planned {
        plan: if replan { plan_from(&live) } else { plan },
        live,
        failures,
        pace,
    }
}

/// Sets each service's cooldown start: the newest move the fleet knows of; now where this
/// replica could not say (so the pass plans as if a move had just been made).
fn set_cooldowns(
    bundle: &Bundle,
    live: &mut LiveState,
    last_moves: &BTreeMap<String, Timestamp>,
    unknown: &BTreeSet<String>,
    now: Timestamp,
) {
    for (s, service) in bundle.services.iter().enumerate() {
        live.services[s].last_discretionary_change = if unknown.contains(&service.name) {
            Some(now)
        } else {
            last_moves.get(&service.name).copied()
        };
    }
}
