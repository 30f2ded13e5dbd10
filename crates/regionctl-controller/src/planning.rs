//! The pass's plan stage: the operator controls, the cooldowns the fleet knows of, the
//! leader's planning copy of the health view, and the plan itself, made again after zones
//! and ECS counts taken from this controller's copies are re-read
//! ([`crate::live::refresh_zones`], [`crate::capacity::CapacityCache::refresh`]).

use crate::admit::{self, Rejected};
use crate::dispute;
use crate::fleet::Freshness;
use crate::journal::Heartbeat;
use crate::leader;
use crate::live;
use crate::memory::Memory;
use crate::memory::ZoneCache;
use crate::pace::{self, Route53Pace, Selection};
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
    /// Where the leader's cooldown starts at the latest (`FleetVerdict::handover`).
    pub handover: Option<Timestamp>,
    /// Pairs drained only moments ago (`fleet::Revision::newly_drained`).
    pub newly_drained: &'a [String],
    /// Zones the live state took from this controller's copy.
    pub cached_zones: &'a [String],
    /// The controllers this one sees acting, itself included (`Heartbeat::sees_acting`):
    /// they share the Route 53 work ([`pace::Turn`]).
    pub acting: &'a [String],
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
        Cooldowns {
            last_moves: input.last_moves,
            unknown: input.cooldown_unknown,
            handover: input.handover,
        },
        now,
    );
    // The leader fails back only into regions no acting peer still sees failing: a peer
    // with another view would evacuate again within a tick (found by `regionctl simulate`).
    // The region's recovery window restarts instead, on the leader's planning copy only.
    let mut planning_health = if input.leader {
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
    // Every acting controller: a region an acting peer sees failing gains no traffic from
    // this one (`dispute`). The copy is made only when some region is disputed.
    let disputed = dispute::disputed(bundle, &input.ctx.region, input.heartbeats, input.freshness);
    if !disputed.is_empty() {
        let copy = planning_health.get_or_insert_with(|| input.health.clone());
        dispute::mark(bundle, copy, &disputed);
    }
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
    // A zone taken from this controller's copy (see `memory`) is read afresh before any
    // step of a service routed by it is applied, and so are the ECS counts of a service
    // with steps (`capacity`); the plan is made again from what they show. Route 53 calls
    // go to the services first in plan order, within the pass's share (`pace`).
    let turn = pace::Turn::of(&input.ctx.region, &input.ctx.controllers, input.acting);
    let start = pace::Start {
        after: *pace_after,
        turn,
    };
    let round_input = RoundInput {
        bundle,
        plan_from: &plan_from,
        cached: input.cached_zones,
        calls: pace::calls_per_pass(bundle, turn),
        start,
        now,
    };
    let Rounds {
        plan,
        selection,
        refreshed,
    } = zone_rounds(world, &round_input, &mut live, zones).await;
    // No Route 53 work this pass: the next incident starts at this controller's own part
    // of the order again, not where the last one ended.
    *pace_after = selection.last;
    zones.set_writes_waiting(!selection.deferred.is_empty());
    let acting: BTreeSet<usize> = plan
        .steps
        .iter()
        .map(|st| st.service)
        .filter(|s| !selection.deferred.contains(s))
        .collect();
    let ecs = capacity
        .refresh(world, bundle, &acting, now, &mut live)
        .await;
    let mut failures = refreshed.failures;
    failures.extend(ecs.failures);
    let pace = Route53Pace::new(
        selection,
        (refreshed.unconfirmed, refreshed.throttled),
        start.after,
    );
    Planned {
        plan: if ecs.calls > 0 {
            plan_from(&live)
        } else {
            plan
        },
        live,
        failures,
        pace,
    }
}

/// What the zone re-reads of a pass go by.
struct RoundInput<'a, P> {
    bundle: &'a Bundle,
    /// Plans from a live state.
    plan_from: &'a P,
    /// Zones the live state took from the copy.
    cached: &'a [String],
    /// The pass's Route 53 share.
    calls: usize,
    start: pace::Start,
    now: Timestamp,
}

/// The plan after the zone re-reads, the selection it ends with, and what the reads did.
struct Rounds {
    plan: Plan,
    selection: Selection,
    refreshed: live::Refreshed,
}

/// Selects services within the pass's Route 53 share, re-reads the zones they would write
/// that come from the copy and plans again, in rounds while the share allows: a zone read
/// again may show its service needs nothing any more (a peer evacuated it since the copy
/// was read), which frees the calls its writes were counted for, and the next services in
/// the order get them. Each round reads at least one zone not read before, and reads stay
/// within the share, so the rounds end. After Route 53 throttles a read, no more are made
/// and the zones the last selection would read stay unconfirmed (nothing is written to
/// them this pass).
async fn zone_rounds<W: Dns, P: Fn(&LiveState) -> Plan>(
    world: &W,
    input: &RoundInput<'_, P>,
    live: &mut LiveState,
    zones: &mut ZoneCache,
) -> Rounds {
    let bundle = input.bundle;
    let mut plan = (input.plan_from)(live);
    let mut cached: Vec<String> = input.cached.to_vec();
    let mut refreshed = live::Refreshed::default();
    let mut spent = 0;
    let mut taken = BTreeSet::new();
    loop {
        let budget = pace::Budget {
            calls: input.calls,
            spent,
            taken: &taken,
        };
        let mut selection = pace::select(&plan, bundle, &cached, budget, input.start);
        if selection.refresh.is_empty() {
            return Rounds {
                plan,
                selection,
                refreshed,
            };
        }
        if refreshed.throttled {
            refreshed.unconfirmed.extend(selection.refresh.drain(..));
            return Rounds {
                plan,
                selection,
                refreshed,
            };
        }
        let round =
            live::refresh_zones(world, bundle, &selection.refresh, zones, live, input.now).await;
        spent += selection.refresh.len();
        cached.retain(|z| !selection.refresh.contains(z));
        taken.extend(selection.taken.iter().copied());
        refreshed.absorb(round);
        plan = (input.plan_from)(live);
    }
}

/// Sets each service's cooldown start: the newest move the fleet knows of; now where this
/// replica could not say (so the pass plans as if a move had just been made).
/// What the cooldowns of this pass run from.
struct Cooldowns<'a> {
    /// The newest move per service the fleet knows of.
    last_moves: &'a BTreeMap<String, Timestamp>,
    /// Services whose last move this replica could not say: as if moved now.
    unknown: &'a BTreeSet<String>,
    /// A new leader's start, for every service (`FleetVerdict::handover`).
    handover: Option<Timestamp>,
}

fn set_cooldowns(bundle: &Bundle, live: &mut LiveState, cooldowns: Cooldowns<'_>, now: Timestamp) {
    for (s, service) in bundle.services.iter().enumerate() {
        let known = if cooldowns.unknown.contains(&service.name) {
            Some(now)
        } else {
            cooldowns.last_moves.get(&service.name).copied()
        };
        live.services[s].last_discretionary_change = known.max(cooldowns.handover);
    }
}

#[cfg(test)]
mod tests;
