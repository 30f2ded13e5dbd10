//! One reconcile pass from one controller, as a sequence of named stages:
//!
//! 1. Coordinate ([`coordinate`](crate::coordinate)): heartbeats, quorum, leader; the
//!    heartbeat written proves the local journal replica accepts writes.
//! 2. Observe ([`observe`](crate::observe)): alarms in every region, own probes, peers'
//!    digests; own digest written.
//! 3. Live state ([`live`](crate::live)): Route 53 weights, ECS counts, ALB weights,
//!    data-plane switches (capacity is readiness evidence).
//! 4. Evaluate health (in the core), restate the heartbeat with this pass's view.
//! 5. Plan ([`planning`](crate::planning)), guarded in the core, with zones from this
//!    controller's copy re-read and the plan made again.
//! 6. Decide and apply ([`decide`](crate::decide)), per service with steps: record the
//!    intent (content-hash id, recorded once), apply in dependency order if the mode and
//!    the quorum allow, verify, record the outcome, publish; keep the switches in force.
//! 7. Record: the heartbeat of a controller standing down; what the next pass needs.

use crate::coordinate::{self, Coordinated};
use crate::decide::{self, DecideInput};
use crate::episode;
use crate::fleet::{self, FleetVerdict, Freshness, Revision};
use crate::journal::Heartbeat;
use crate::live::{self, LiveRead};
use crate::memory::Memory;
use crate::observe::{self, AlarmReads};
use crate::planning::{self, PlanInput, Planned};
use crate::ports::{Journal, World};
use crate::status::ControllerState;
use crate::switches;
use crate::trace::Phase;
use regionctl_core::controls::Controls;
use regionctl_core::health::{HealthView, evaluate_into};
use regionctl_core::live::LiveState;
use regionctl_core::plan::{AlertKind, Plan};
use regionctl_core::policy::Bundle;
use regionctl_core::time::Timestamp;
use tracing::Instrument;

pub use crate::fleet::StandDown;
pub use crate::record::decision_id;
pub use crate::report::{DecisionSummary, PassReport};

/// Who this controller is and how the fleet is shaped.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The policy bundle.
    pub bundle: &'a Bundle,
    /// This controller's region.
    pub region: String,
    /// Every controller region (majorities are counted over these).
    pub controllers: Vec<String>,
    /// A heartbeat older than this is not fresh.
    pub heartbeat_ttl_secs: u64,
    /// A `propose` decision not approved within this long lapses (`approval-expired`).
    pub approval_timeout_secs: u64,
    /// The bundle's alarms, indexed for reading (`AlarmReads::new(bundle)`).
    pub alarm_reads: &'a AlarmReads,
}

impl Context<'_> {
    /// The controller tick (10 s unless the bundle's controller config says otherwise).
    pub fn tick_secs(&self) -> u64 {
        self.bundle.tick_secs()
    }
}

/// Stage 1: retries the journal writes earlier passes could not make, then coordinates
/// with what the controller remembers; returns the retry failures and the verdict.
async fn coordinate_stage<W: World>(
    ctx: &Context<'_>,
    world: &W,
    memory: &mut Memory,
    now: Timestamp,
) -> (Vec<String>, Coordinated) {
    let retried = memory.pending.retry(world).await;
    let remembered = coordinate::Remembered {
        previous: &memory.health,
        own_moves: &memory.own_moves,
        heartbeats: &mut memory.heartbeats,
        seen: &mut memory.heartbeats_seen,
    };
    (
        retried,
        coordinate::coordinate(ctx, world, remembered, now).await,
    )
}

/// Runs one pass. `memory` is what the last pass left (see [`Memory`]: its health view and
/// its copies of the Route 53 zones); this pass updates it for the next.
pub async fn reconcile_once<W: World>(
    ctx: &Context<'_>,
    world: &W,
    memory: &mut Memory,
) -> PassReport {
    let bundle = ctx.bundle;
    let now = world.now();
    let freshness = Freshness {
        now,
        ttl_secs: ctx.heartbeat_ttl_secs,
    };
    let mut report = PassReport::new(&ctx.region, now);

    // 1. Coordinate, after writing what earlier passes did but could not record (so the
    // last moves read below include them).
    let (retried, coordinated) = coordinate_stage(ctx, world, memory, now)
        .instrument(Phase::Coordinate.span())
        .await;
    report.read_failures.extend(retried);
    let Coordinated {
        fleet: mut verdict,
        heartbeats,
        mut cooldown_unknown,
        failures,
        rejected,
        unwritable,
    } = coordinated;
    report.read_failures.extend(failures);
    report.rejected.extend(rejected);
    cooldown_unknown.extend(memory.pending.cooldown_unknown().map(str::to_string));
    if let Some(reason) = unwritable {
        report.stand_down = Some(reason);
        return report;
    }
    report.stand_down = verdict.quorum.stand_down();

    // 2. Observe.
    let observed = observe::gather(ctx, world, freshness, memory, &heartbeats)
        .instrument(Phase::Observe.span())
        .await;
    report.alarm_read_failures = observed.alarms.failed.clone();
    report.alarms = observed.alarms;
    report.read_failures.extend(observed.failures);
    report.rejected.extend(observed.rejected);

    // 3. Live state.
    let LiveRead {
        live,
        cached_zones,
        failures,
    } = live::read_live(world, bundle, memory, ctx.tick_secs())
        .instrument(Phase::Live.span())
        .await;
    report.read_failures.extend(failures);
    let mut observations = observed.observations;
    observe::add_running(&live, &mut observations);

    // 4. Health, and the heartbeat restated with it.
    let evaluating = Phase::Evaluate.span();
    let spare = std::mem::take(&mut memory.spare_health);
    let health =
        evaluating.in_scope(|| evaluate_into(bundle, &observations, &memory.health, now, spare));
    let catching_up = memory.catching_up(now, ctx.heartbeat_ttl_secs, bundle.fail_after_max());
    let own_down = fleet::own_region_down(bundle, &health, &ctx.region);
    report.stand_down = (report.stand_down.take())
        .or(own_down.then_some(StandDown::OwnRegionDown))
        .or(catching_up);
    let revision = restate(
        ctx,
        &verdict,
        memory,
        (&health, &live),
        &heartbeats,
        freshness,
    );
    if report.stand_down.is_none() && revision.changed {
        verdict.heartbeat = revision.heartbeat;
        report.read_failures.extend(
            coordinate::rewrite_heartbeat(world, &verdict.heartbeat)
                .instrument(evaluating)
                .await,
        );
    }

    // 5. Plan.
    let planning_span = Phase::Plan.span();
    let controls = controls(world, now, &mut report)
        .instrument(planning_span.clone())
        .await;
    let planned = planning::plan_pass(
        world,
        &PlanInput {
            ctx,
            health: &health,
            controls: &controls,
            heartbeats: &heartbeats,
            last_moves: &verdict.heartbeat.last_moves,
            cooldown_unknown: &cooldown_unknown,
            leader: verdict.leader,
            handover: verdict.handover,
            newly_drained: &revision.newly_drained,
            cached_zones: &cached_zones,
            acting: &verdict.heartbeat.sees_acting,
            freshness,
        },
        live,
        memory,
    )
    .instrument(planning_span)
    .await;
    let Planned { plan, live, .. } = &planned;
    report
        .read_failures
        .extend(planned.failures.iter().cloned());
    note_plan(plan, &mut report);

    // 6. Decide and apply.
    let episodes = memory.episodes.open.clone();
    if report.stand_down.is_none() {
        let input = DecideInput {
            ctx,
            plan,
            health: &health,
            live,
            controls: &controls,
            leader: verdict.leader,
            episodes: &episodes,
            pace: &planned.pace,
            now,
        };
        decide_and_keep_switches(world, &input, memory, &mut report)
            .instrument(Phase::Decide.span())
            .await;
    }

    // 7. Record.
    record_stand_down(world, &verdict.heartbeat, &mut report).await;
    remember_writes(memory, &report);
    memory.keep_health(health, now);
    report.plan = Some(planned.plan);
    report.live = Some(planned.live);
    report
}

/// Stage 7: the heartbeat written first said "acting" (it proved the journal writable);
/// when this controller stands down, it says why, for `regionctl status` and its peers.
async fn record_stand_down<W: World>(world: &W, heartbeat: &Heartbeat, report: &mut PassReport) {
    let Some(reason) = &report.stand_down else {
        return;
    };
    let standing_down = fleet::standing_down(heartbeat, reason);
    report.read_failures.extend(
        coordinate::rewrite_heartbeat(world, &standing_down)
            .instrument(Phase::Record.span())
            .await,
    );
}

/// Stage 6: decides (and applies) per service, keeps what the journal refused for the next
/// pass, and keeps the data-plane switches in force (paused: publish nothing, they hold).
async fn decide_and_keep_switches<W: World>(
    world: &W,
    input: &DecideInput<'_>,
    memory: &mut Memory,
    report: &mut PassReport,
) {
    report.decisions = decide::decide_all(world, input).await;
    if let Some(after) = input.pace.restart_after() {
        memory.pace_after = after;
    }
    let waiting = input.pace.skipped();
    if !waiting.is_empty() {
        // Not an alert: the next pass takes them up (level-triggered); said for people.
        report.notes.push(format!(
            "route53: {} service(s) wait for a later pass (this pass's share of Route 53's rate spent, or Route 53 throttled): {}",
            waiting.len(),
            waiting.join(", ")
        ));
    }
    keep_unrecorded(memory, report);
    report.alerts.extend(
        report
            .decisions
            .iter()
            .flat_map(|d| d.alerts.iter().cloned()),
    );
    if input.plan.paused.is_none() {
        let (bundle, plan, live) = (input.ctx.bundle, input.plan, input.live);
        match switches::republish(world, bundle, plan, live, &report.decisions).await {
            Ok(n) => report.switches_published = n,
            Err(e) => report.read_failures.push(e),
        }
    }
}

/// The operator controls. Without them the pass cannot honour a pause or an override: it
/// stands down.
async fn controls<W: Journal>(world: &W, now: Timestamp, report: &mut PassReport) -> Controls {
    match planning::read_controls(world, now).await {
        Ok((controls, rejected)) => {
            report.rejected.extend(rejected);
            controls
        }
        Err(e) => {
            report
                .read_failures
                .push(format!("journal CONTROL unreadable: {}", e.message()));
            report
                .stand_down
                .get_or_insert(StandDown::JournalUnwritable(e.message()));
            Controls::default()
        }
    }
}

/// The plan's alerts and notes, for people, and one alert for the journal items not
/// believed this pass.
fn note_plan(plan: &Plan, report: &mut PassReport) {
    report.alerts = plan
        .alerts
        .iter()
        .map(|a| format!("{} [{}]: {}", a.service, a.kind.as_str(), a.message))
        .collect();
    if !report.rejected.is_empty() {
        let items: Vec<String> = report.rejected.iter().map(ToString::to_string).collect();
        report.alerts.push(format!(
            "journal [{}]: {} item(s) not believed: {}",
            AlertKind::JournalItemRejected.as_str(),
            items.len(),
            items.join("; ")
        ));
    }
    report.notes = plan
        .services
        .iter()
        .flat_map(|sp| sp.notes.iter().map(move |n| format!("{}: {n}", sp.name)))
        .collect();
}

/// This pass's view in the heartbeat: what it finds not healthy and drained, and the
/// episodes it sees open (moved on in `memory`).
fn restate(
    ctx: &Context<'_>,
    verdict: &FleetVerdict,
    memory: &mut Memory,
    (health, live): (&HealthView, &LiveState),
    heartbeats: &[Heartbeat],
    freshness: Freshness,
) -> Revision {
    let bundle = ctx.bundle;
    let mut revision = fleet::revise(
        &verdict.heartbeat,
        fleet::not_healthy(bundle, health),
        fleet::drained(bundle, live),
        freshness.now,
        verdict.lead_after_secs,
    );
    memory.episodes = episode::step(
        &memory.episodes,
        bundle,
        (health, live),
        &episode_peers(ctx, heartbeats, freshness),
        freshness.now,
    );
    if revision.heartbeat.episodes != memory.episodes.open {
        revision.heartbeat.episodes = memory.episodes.open.clone();
        revision.changed = true;
    }
    if revision.heartbeat.episodes_closed != memory.episodes.closed {
        revision.heartbeat.episodes_closed = memory.episodes.closed.clone();
        revision.changed = true;
    }
    revision
}

/// The heartbeats whose episode starts this controller may adopt: fresh, acting peers on
/// this bundle, and its own last heartbeat (a restarted controller, or `run --once`,
/// carries on the incident it was in instead of opening a new one, whose decisions would
/// need new approvals).
fn episode_peers<'h>(
    ctx: &Context<'_>,
    heartbeats: &'h [Heartbeat],
    freshness: Freshness,
) -> Vec<&'h Heartbeat> {
    heartbeats
        .iter()
        .filter(|h| {
            (h.region == ctx.region || h.state == ControllerState::Acting)
                && h.bundle_hash == ctx.bundle.hash
                && freshness.is_fresh(h.at)
        })
        .collect()
}

/// Keeps what the journal refused after the effects were made for the next pass, and
/// stands the pass down on an intent it refused (nothing was applied for it, or after it).
fn keep_unrecorded(memory: &mut Memory, report: &mut PassReport) {
    for d in &mut report.decisions {
        if let Some(t) = d.moved_at {
            memory.own_moves.insert(d.service.clone(), t);
        }
        for write in std::mem::take(&mut d.unwritten) {
            if let Some(dropped) = memory.pending.push(write) {
                d.warnings.push(dropped);
            }
        }
        if let Some(why) = &d.unrecorded {
            report.stand_down = Some(StandDown::IntentUnrecorded {
                service: d.service.clone(),
                why: why.clone(),
            });
        }
    }
}

/// What this controller wrote is what its copies of the zones now show.
fn remember_writes(memory: &mut Memory, report: &PassReport) {
    for d in &report.decisions {
        for (zone, name, set_identifier, weight) in &d.written {
            memory.zones.wrote(
                zone,
                [((live::normalize(name), set_identifier.clone()), *weight)],
            );
        }
    }
}

#[cfg(test)]
mod tests;
