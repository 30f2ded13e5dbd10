//! One reconcile pass from one controller.
//!
//! 1. Heartbeat (proves the local journal replica accepts writes).
//! 2. Peers' heartbeats: act only with fresh heartbeats from a strict majority of the fleet
//!    running the same policy-bundle hash.
//! 3. Observe: alarms in every region, own probes, peers' digests; write own digest.
//! 4. Live state: Route 53 weights, ECS counts, ALB weights (capacity is readiness evidence).
//! 5. Evaluate health, plan, guard (in the core).
//! 6. Per service with steps: record the intent (content-hash id, recorded once), apply in
//!    dependency order if the mode and the quorum allow, verify, record the outcome, publish.

use crate::apply::{StepStatus, apply_steps};
use crate::journal::{
    self, DecisionRecord, Heartbeat, ObservationDigest, OutcomeRecord, StepRecord,
};
use crate::leader::{self, FleetView};
use crate::memory::{Memory, RecordWeights, ZoneCache};
use crate::observe::{self, AlarmReads};
use crate::ports::{PortError, World};
use crate::switches;
use regionctl_core::controls::Controls;
use regionctl_core::health::{HealthView, Observations, Verdict};
use regionctl_core::live::{LiveService, LiveState};
use regionctl_core::plan::{self, Disposition, Inputs, Plan, render};
use regionctl_core::policy::Bundle;
use regionctl_core::time::Timestamp;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};

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

/// Why a controller does not act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StandDown {
    /// Fewer than a strict majority of fresh heartbeats on this bundle hash.
    QuorumNotMet {
        /// Fresh controllers on the same hash (including this one).
        same_hash: usize,
        /// Needed.
        needed: usize,
    },
    /// The local journal replica rejected the heartbeat.
    JournalUnwritable(String),
    /// This controller's own region is down.
    OwnRegionDown,
}

impl std::fmt::Display for StandDown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StandDown::QuorumNotMet { same_hash, needed } => write!(
                f,
                "quorum not met: {same_hash} fresh controller(s) on this policy, {needed} needed"
            ),
            StandDown::JournalUnwritable(e) => write!(f, "journal not writable: {e}"),
            StandDown::OwnRegionDown => f.write_str("own region is down: a peer takes over"),
        }
    }
}

/// One service's decision in this pass.
#[derive(Debug, Clone)]
pub struct DecisionSummary {
    /// Service.
    pub service: String,
    /// Decision id.
    pub id: String,
    /// True when this pass recorded the intent (false: another controller had).
    pub new: bool,
    /// Outcome status.
    pub status: String,
    /// Side effects in order.
    pub log: Vec<String>,
    /// AWS calls made applying it.
    pub calls: u32,
    /// Switches its steps published: (`slot * regions + region`, on).
    pub switched: Vec<(usize, bool)>,
    /// Records written and verified: (zone, record name, set identifier, weight).
    pub written: Vec<(String, String, String, u8)>,
    /// What could not be recorded or published.
    pub warnings: Vec<String>,
}

/// What a pass did.
#[derive(Debug, Clone)]
pub struct PassReport {
    /// Controller region.
    pub region: String,
    /// When.
    pub at: Timestamp,
    /// Why it stood down, if it did.
    pub stand_down: Option<StandDown>,
    /// Decisions (one per service with steps).
    pub decisions: Vec<DecisionSummary>,
    /// Regions whose CloudWatch could not be read.
    pub alarm_read_failures: Vec<String>,
    /// Alerts raised by planning.
    pub alerts: Vec<String>,
    /// Notes from planning.
    pub notes: Vec<String>,
    /// Live-state read failures.
    pub read_failures: Vec<String>,
    /// The plan (for `explain` and tests).
    pub plan: Option<Plan>,
    /// The live state the plan was made from (for status pages).
    pub live: Option<LiveState>,
    /// Data-plane switch values republished this pass (DESIGN.md §6).
    pub switches_published: usize,
}

impl PassReport {
    /// A short summary for people.
    pub fn summary(&self) -> String {
        let mut out = format!("controller {} at {}: ", self.region, render::clock(self.at));
        if let Some(s) = &self.stand_down {
            out.push_str(&format!("standing down ({s}); changed nothing\n"));
        } else if self.decisions.is_empty() {
            out.push_str("nothing to do; changed nothing\n");
        } else {
            out.push_str(&format!("{} decision(s)\n", self.decisions.len()));
        }
        for d in &self.decisions {
            for w in &d.warnings {
                out.push_str(&format!("  warning: {} {}: {w}\n", d.service, d.id));
            }
            out.push_str(&format!(
                "  {} decision {} ({}): {}{}\n",
                d.service,
                d.id,
                if d.new { "new" } else { "already recorded" },
                d.status,
                if d.log.is_empty() {
                    String::new()
                } else {
                    format!(" — {}", d.log.join(", "))
                }
            ));
        }
        for r in &self.alarm_read_failures {
            out.push_str(&format!(
                "  warning: CloudWatch in {r} could not be read (no alarm evidence)\n"
            ));
        }
        for r in &self.read_failures {
            out.push_str(&format!("  warning: {r}\n"));
        }
        for a in &self.alerts {
            out.push_str(&format!("  alert: {a}\n"));
        }
        for n in &self.notes {
            out.push_str(&format!("  note: {n}\n"));
        }
        out
    }
}

/// Runs one pass. `memory` is what the last pass left (see [`Memory`]: its health view and
/// its copies of the Route 53 zones); this pass updates it for the next.
pub async fn reconcile_once<W: World>(
    ctx: &Context<'_>,
    world: &W,
    memory: &mut Memory,
) -> PassReport {
    let bundle = ctx.bundle;
    let previous = &memory.health;
    let now = world.now();
    let mut report = PassReport {
        region: ctx.region.clone(),
        at: now,
        stand_down: None,
        decisions: Vec::new(),
        alarm_read_failures: Vec::new(),
        alerts: Vec::new(),
        notes: Vec::new(),
        read_failures: Vec::new(),
        plan: None,
        live: None,
        switches_published: 0,
    };

    // 1–2. Heartbeats and quorum.
    let mut heartbeat = Heartbeat {
        region: ctx.region.clone(),
        bundle_hash: bundle.hash.clone(),
        at: now,
        state: "acting".into(),
        not_healthy: not_healthy(bundle, previous),
        sees_acting: Vec::new(),
        first_since: None,
        drained: BTreeMap::new(),
        peers_not_healthy: BTreeMap::new(),
        last_moves: BTreeMap::new(),
    };
    // Peers' heartbeats first: this one's says whom it sees acting.
    let mut heartbeats: Vec<Heartbeat> = read_all(world, "HEARTBEAT", &mut report).await;
    let fresh = |at: Timestamp| {
        !now.elapsed_at_least(at, ctx.heartbeat_ttl_secs)
            && at <= now.plus_secs(ctx.heartbeat_ttl_secs)
    };
    // The cooldown runs from the newest discretionary move anyone fresh knows of (see
    // `Heartbeat::last_moves`): this replica's, and what fresh peers report.
    //
    // A replica that cannot say when the last move was leaves the cooldown unknown: this
    // pass then plans as if a move had just been made (no discretionary step), without
    // telling peers of a move that never happened.
    let mut cooldown_unknown: BTreeSet<&str> = BTreeSet::new();
    for service in &bundle.services {
        match last_discretionary(world, &service.name).await {
            Ok(Some(t)) => {
                heartbeat.last_moves.insert(service.name.clone(), t);
            }
            Ok(None) => {}
            Err(e) => {
                report.read_failures.push(format!(
                    "{}: last discretionary move unreadable ({}): no failback this pass",
                    service.name,
                    e.message()
                ));
                cooldown_unknown.insert(service.name.as_str());
            }
        }
    }
    leader::add_peers_last_moves(
        &mut heartbeat.last_moves,
        (&ctx.region, &ctx.controllers, bundle),
        &heartbeats,
        fresh,
    );
    // Discretionary moves (failback, rebalancing) are made by one controller only (see
    // `leader`): several controllers reading lagging replicas could otherwise each take
    // the next failback stage within one replication lag (found by `regionctl simulate`).
    // Its cooldown (above) counts its own last move at once, from its own replica.
    let FleetView {
        acting_peers,
        seen_acting,
        first,
    } = leader::fleet_view(
        &ctx.region,
        &ctx.controllers,
        &bundle.hash,
        &heartbeats,
        fresh,
    );
    // Being first must have held for a while (see `Heartbeat::first_since`): three ticks
    // (a peer's next heartbeat plus replication lag up to two ticks), at most the
    // heartbeat TTL. The start is carried in this controller's own last heartbeat, if
    // still fresh.
    let tick = bundle
        .controller
        .as_ref()
        .map_or(10, |c| c.tick_secs)
        .max(1);
    let lead_after = ctx.heartbeat_ttl_secs.min(tick.saturating_mul(3));
    let own_previous_heartbeat = heartbeats
        .iter()
        .find(|h| h.region == ctx.region && h.bundle_hash == bundle.hash && fresh(h.at))
        .cloned();
    // Only time spent acting counts: a controller standing down is not seen acting by its
    // peers, so one of them may lead meanwhile; had it kept its start, it would lead at
    // once on acting again, beside that peer (found by `regionctl simulate`, seed 4098).
    heartbeat.first_since = first.then(|| {
        own_previous_heartbeat
            .as_ref()
            .filter(|h| h.state == "acting")
            .and_then(|h| h.first_since)
            .map_or(now, |t| t.min(now))
    });
    if let Some(h) = &own_previous_heartbeat {
        heartbeat.drained.clone_from(&h.drained);
    }
    let discretionary_leader = heartbeat
        .first_since
        .is_some_and(|t| now.elapsed_at_least(t, lead_after));
    #[cfg(feature = "planted-bugs")]
    let discretionary_leader = discretionary_leader
        || regionctl_core::planted::active(regionctl_core::planted::Bug::EveryoneLeads);
    heartbeat.peers_not_healthy = acting_peers
        .iter()
        .map(|h| (h.region.clone(), h.not_healthy.clone()))
        .collect();
    heartbeat.sees_acting = std::iter::once(ctx.region.as_str())
        .chain(seen_acting.iter().copied())
        .map(str::to_string)
        .collect();
    // Writing it proves the journal writable; it counts toward quorum like the peers'.
    if let Err(e) = world.put(&journal::heartbeat_item(&heartbeat)).await {
        report.stand_down = Some(StandDown::JournalUnwritable(e.message()));
        return report;
    }
    heartbeats.retain(|h| h.region != ctx.region);
    heartbeats.push(heartbeat.clone());
    let same_hash = ctx
        .controllers
        .iter()
        .filter(|c| {
            heartbeats
                .iter()
                .any(|h| &h.region == *c && h.bundle_hash == bundle.hash && fresh(h.at))
        })
        .count();
    let needed = ctx.controllers.len() / 2 + 1;
    #[cfg(feature = "planted-bugs")]
    let needed = if regionctl_core::planted::active(regionctl_core::planted::Bug::MinorityApplies) {
        0
    } else {
        needed
    };
    if same_hash < needed {
        report.stand_down = Some(StandDown::QuorumNotMet { same_hash, needed });
    }

    // 3. Observations.
    let mut observations = Observations::empty(
        bundle,
        u32::try_from(ctx.controllers.len()).unwrap_or(u32::MAX),
    );
    report.alarm_read_failures =
        observe::read_alarms(world, ctx.alarm_reads, &mut observations).await;
    let digests: Vec<ObservationDigest> = read_all(world, "OBS", &mut report).await;
    // Its own last digest carries each probe verdict's `since` across passes, but only if
    // fresh: a controller that was down (crashed, cut off) did not watch in between, and
    // an old "ok since" would hide a failure it missed (found by `regionctl simulate`).
    let own_previous = digests
        .iter()
        .find(|d| d.observer == ctx.region && fresh(d.at));
    let probes = observe::probe_all(world, bundle, &ctx.region, own_previous, now).await;
    let mut usable =
        observe::peer_digests(&digests, &ctx.region, &bundle.hash, &ctx.controllers, fresh);
    let own = ObservationDigest {
        observer: ctx.region.clone(),
        bundle_hash: bundle.hash.clone(),
        at: now,
        probes,
        alarm_read_failures: report.alarm_read_failures.clone(),
        relayed: usable.clone(),
    };
    if let Err(e) = world.put(&journal::digest_item(&own)).await {
        report
            .read_failures
            .push(format!("digest not written: {}", e.message()));
    }
    usable.push(ObservationDigest {
        relayed: Vec::new(),
        ..own
    });
    observe::add_probe_verdicts(bundle, &usable, &mut observations);

    // 4. Live state.
    let mut cached_zones = Vec::new();
    let live = read_live(
        world,
        bundle,
        (&mut memory.zones, tick, &mut cached_zones),
        &mut report,
    )
    .await;
    observe::add_running(&live, &mut observations);

    // 5. Health and plan.
    let health = regionctl_core::health::evaluate(bundle, &observations, &memory.health, now);
    if own_region_down(bundle, &health, &ctx.region) && report.stand_down.is_none() {
        report.stand_down = Some(StandDown::OwnRegionDown);
    }
    // Peers read this heartbeat to see who leads and which regions this controller
    // disputes: say it as of this pass's view, before acting on that view (the leader
    // must not fail back a region this pass is about to evacuate; found by `simulate`).
    let now_not_healthy = not_healthy(bundle, &health);
    // Drained, and since when this controller has seen it so (with no fresh previous
    // heartbeat, a restart, from now). Drained within `lead_after`: someone just evacuated
    // it, for reasons that may still be replicating (if it was this controller, it sees
    // the region failing and would not fail it back anyway).
    let now_drained: BTreeMap<String, Timestamp> = drained(bundle, &live)
        .into_iter()
        .map(|pair| {
            let since = own_previous_heartbeat
                .as_ref()
                .and_then(|h| h.drained.get(&pair).copied())
                .map_or(now, |t| t.min(now));
            (pair, since)
        })
        .collect();
    let newly_drained: Vec<String> = now_drained
        .iter()
        .filter(|(_, since)| !now.elapsed_at_least(**since, lead_after))
        .map(|(pair, _)| pair.clone())
        .collect();
    if report.stand_down.is_none()
        && (now_not_healthy != heartbeat.not_healthy || now_drained != heartbeat.drained)
    {
        heartbeat.not_healthy = now_not_healthy;
        heartbeat.drained = now_drained;
        if let Err(e) = world.put(&journal::heartbeat_item(&heartbeat)).await {
            report
                .read_failures
                .push(format!("heartbeat not updated: {}", e.message()));
        }
    }
    let controls: Controls = match world.query("CONTROL", "").await {
        Ok(items) => journal::controls_from(&items),
        Err(e) => {
            // Without the controls we cannot honour a pause or an override: stand down.
            report
                .read_failures
                .push(format!("journal CONTROL unreadable: {}", e.message()));
            report
                .stand_down
                .get_or_insert(StandDown::JournalUnwritable(e.message()));
            Controls::default()
        }
    };
    let mut live = live;
    for (s, service) in bundle.services.iter().enumerate() {
        live.services[s].last_discretionary_change =
            if cooldown_unknown.contains(service.name.as_str()) {
                Some(now)
            } else {
                heartbeat.last_moves.get(&service.name).copied()
            };
    }
    // The leader fails back only into regions no acting peer still sees failing: a peer
    // with another view would evacuate again within a tick (found by `regionctl simulate`).
    // The region's recovery window restarts instead, on the leader's planning copy only.
    let planning_health = if discretionary_leader {
        hold_failback_for_peers(
            bundle,
            &health,
            (&heartbeats, &newly_drained),
            ctx,
            now,
            &fresh,
        )
    } else {
        None
    };
    let planning = planning_health.as_ref().unwrap_or(&health);
    let mut plan = plan::plan(Inputs {
        bundle,
        health: planning,
        live: &live,
        controls: &controls,
        now,
    });
    // A zone taken from this controller's copy (see `memory`) is read afresh before any
    // step of a service routed by it is applied, and the plan made again: a step planned
    // from a copy that misses a peer's recent change would undo it or act on a stale
    // split (found by `regionctl simulate`, seed 963: partial evacuations flip-flopping;
    // and by `chaos/staged-failback.yaml`: a pre-scale for a failback stage already
    // superseded).
    let to_refresh: Vec<String> = cached_zones
        .iter()
        .filter(|zone| {
            plan.steps
                .iter()
                .any(|st| bundle.services[st.service].routing.hosted_zone_id == **zone)
        })
        .cloned()
        .collect();
    if !to_refresh.is_empty() {
        for zone in &to_refresh {
            match world.read_weighted(zone).await {
                Ok(rs) => memory.zones.store(zone, zone_weights(rs), now),
                Err(e) => {
                    report.read_failures.push(format!(
                        "Route 53 zone {zone} not re-read before writing: {}",
                        e.message()
                    ));
                }
            }
        }
        for (s, service) in bundle.services.iter().enumerate() {
            let zone = &service.routing.hosted_zone_id;
            if let (true, Some(copy)) = (to_refresh.contains(zone), memory.zones.last(zone)) {
                live.services[s].weights = service_weights(service, &copy.weights);
            }
        }
        plan = plan::plan(Inputs {
            bundle,
            health: planning,
            live: &live,
            controls: &controls,
            now,
        });
    }
    report.alerts = plan
        .alerts
        .iter()
        .map(|a| format!("{} [{}]: {}", a.service, a.kind.as_str(), a.message))
        .collect();
    report.notes = plan
        .services
        .iter()
        .flat_map(|sp| sp.notes.iter().map(move |n| format!("{}: {n}", sp.name)))
        .collect();

    // 6. Decisions.
    if report.stand_down.is_none() {
        for sp in &plan.services {
            // Others apply what is not discretionary (an evacuation, a switch back on) and
            // leave the discretionary steps of the same plan (the next failback stage, the
            // scale-down after an incident) to the leader. The decision recorded is the
            // whole plan either way: its id is the target state, the same for both.
            let steps: Vec<&plan::Step> = plan.steps_of(sp.service).collect();
            if steps.is_empty() || (!discretionary_leader && steps.iter().all(|s| s.discretionary))
            {
                continue;
            }
            let applicable: Vec<&plan::Step> = steps
                .iter()
                .copied()
                .filter(|s| discretionary_leader || !s.discretionary)
                .collect();
            let summary = decide(
                ctx,
                world,
                &plan,
                sp,
                (&steps, &applicable),
                &health,
                &live,
                now,
            )
            .await;
            report.decisions.push(summary);
        }
        // 7. Keep the data-plane switches in force (paused: publish nothing, they hold).
        if plan.paused.is_none() {
            let switched: Vec<(usize, usize, bool)> = report
                .decisions
                .iter()
                .filter_map(|d| bundle.service_index(&d.service).map(|s| (s, d)))
                .flat_map(|(s, d)| d.switched.iter().map(move |(i, on)| (s, *i, *on)))
                .collect();
            let values = switches::in_force(bundle, &plan, &live, &switched);
            match switches::keep_alive(world, &values).await {
                Ok(()) => report.switches_published = values.len(),
                Err(e) => report
                    .read_failures
                    .push(format!("switches not republished: {}", e.message())),
            }
        }
    }
    // The heartbeat written first said "acting" (it proved the journal writable); say why
    // this controller stands down, for `regionctl status`.
    if let Some(reason) = &report.stand_down {
        // It still relays the peers it sees acting (see `sees_acting`), but not itself.
        let standing_down = Heartbeat {
            state: format!("standing down: {reason}"),
            sees_acting: heartbeat
                .sees_acting
                .iter()
                .filter(|c| **c != ctx.region)
                .cloned()
                .collect(),
            ..heartbeat.clone()
        };
        if let Err(e) = world.put(&journal::heartbeat_item(&standing_down)).await {
            report
                .read_failures
                .push(format!("heartbeat not updated: {}", e.message()));
        }
    }
    // What this controller wrote is what its copies of the zones now show.
    for d in &report.decisions {
        for (zone, name, set_identifier, weight) in &d.written {
            memory
                .zones
                .wrote(zone, [((normalize(name), set_identifier.clone()), *weight)]);
        }
    }
    memory.health = health;
    report.plan = Some(plan);
    report.live = Some(live);
    report
}

#[allow(clippy::too_many_arguments)]
async fn decide<W: World>(
    ctx: &Context<'_>,
    world: &W,
    plan: &Plan,
    sp: &plan::ServicePlan,
    (steps, applicable): (&[&plan::Step], &[&plan::Step]),
    health: &HealthView,
    live: &LiveState,
    now: Timestamp,
) -> DecisionSummary {
    let bundle = ctx.bundle;
    let service = &bundle.services[sp.service];
    let record = decision_record(ctx, plan, sp, steps, health, live, now);
    let new = world
        .put_new(&journal::intent_item(&record))
        .await
        .unwrap_or(false);
    // An approval counts only if it came before the proposal lapsed.
    let first = if new {
        Some(record.at)
    } else {
        first_recorded(world, &service.name, &record.id).await
    };
    let deadline = first.map(|t| t.plus_secs(ctx.approval_timeout_secs));
    let approved = sp.disposition == Disposition::AwaitApproval
        && world
            .query("APPROVAL", &record.id)
            .await
            .is_ok_and(|items| {
                items
                    .iter()
                    .flatten()
                    .filter_map(|it| {
                        serde_json::from_value::<journal::Approval>(it.body.clone()).ok()
                    })
                    .any(|a| deadline.is_none_or(|d| a.at < d))
            });
    // A proposal lapses when nobody approved it in time; a changed situation yields a new
    // decision (a new id) that can be approved afresh.
    let expired = sp.disposition == Disposition::AwaitApproval
        && !approved
        && deadline.is_some_and(|d| now >= d);
    let may_apply = sp.disposition == Disposition::Apply || approved;
    let started = world.now();
    let mut planes: BTreeMap<String, String> = BTreeMap::new();
    let mut switched = Vec::new();
    let mut written = Vec::new();
    let (status, statuses, calls, log) = if may_apply {
        let applied = apply_steps(world, bundle, applicable).await;
        // Which plane did what: per plane, the first failure, else waiting, else done.
        for (step, st) in applicable.iter().zip(&applied.statuses) {
            let slot = planes
                .entry(step.plane.as_str().to_string())
                .or_insert_with(|| "done".to_string());
            let rank = |s: &str| match s {
                "done" => 0,
                "skipped" => 1,
                "waiting" => 2,
                _ => 3,
            };
            let this = st.to_string();
            if rank(&this) > rank(slot) {
                *slot = this;
            }
        }
        switched = applied.switched.clone();
        written.clone_from(&applied.written);
        let status = if applied
            .statuses
            .iter()
            .any(|s| matches!(s, StepStatus::Failed(_)))
        {
            "failed"
        } else if applied
            .statuses
            .iter()
            .any(|s| matches!(s, StepStatus::Waiting | StepStatus::Skipped))
        {
            "waiting"
        } else if sp.partial {
            "partial"
        } else {
            "applied"
        };
        // One status per recorded step; the ones left to the discretionary leader say so.
        let mut done = applicable.iter().zip(&applied.statuses);
        let statuses = steps
            .iter()
            .map(|st| match done.clone().next() {
                Some((a, status)) if a.id == st.id => {
                    done.next();
                    status.to_string()
                }
                _ => "left to the discretionary leader".to_string(),
            })
            .collect();
        (status.to_string(), statuses, applied.calls, applied.log)
    } else {
        let status = match sp.disposition {
            Disposition::RecordOnly => "recorded-only",
            Disposition::AwaitApproval if expired => "approval-expired",
            Disposition::AwaitApproval => "awaiting-approval",
            Disposition::Paused => "paused",
            Disposition::Apply => "applied",
        };
        (status.to_string(), Vec::new(), 0, Vec::new())
    };
    // A decision applied over several passes keeps what earlier passes of this controller
    // did on planes this pass did not need (the switch flipped in the first pass, the
    // weights retried until the control plane answers).
    if may_apply
        && let Ok(items) = world
            .query(
                &format!("DECISION#{}", service.name),
                &format!("{}#OUTCOME#{}", record.id, ctx.region),
            )
            .await
    {
        for it in items.into_iter().flatten() {
            if let Ok(previous) = serde_json::from_value::<OutcomeRecord>(it.body) {
                for (plane, status) in previous.planes {
                    planes.entry(plane).or_insert(status);
                }
            }
        }
    }
    let mut warnings = Vec::new();
    let outcome = OutcomeRecord {
        id: record.id.clone(),
        service: service.name.clone(),
        region: ctx.region.clone(),
        status: status.clone(),
        at: world.now(),
        started,
        steps: statuses,
        calls,
        discretionary: record.discretionary && status == "applied",
        planes,
    };
    if outcome.discretionary
        && let Err(e) = world
            .put(&journal::last_move_item(
                &service.name,
                &ctx.region,
                outcome.at,
            ))
            .await
    {
        warnings.push(format!("cooldown start not recorded: {}", e.message()));
    }
    // An outcome is written when something happened, or once for record-only decisions.
    if (may_apply || new || expired)
        && let Err(e) = world.put(&journal::outcome_item(&outcome)).await
    {
        warnings.push(format!("outcome not recorded: {}", e.message()));
    }
    if new || may_apply {
        let detail = serde_json::json!({ "decision": record, "outcome": outcome });
        if let Err(e) = world.publish("regionctl Decision", &detail).await {
            warnings.push(format!("decision event not published: {}", e.message()));
        }
    }
    DecisionSummary {
        warnings,
        service: service.name.clone(),
        id: record.id,
        new,
        status,
        log,
        calls,
        switched,
        written,
    }
}

fn decision_record(
    ctx: &Context<'_>,
    plan: &Plan,
    sp: &plan::ServicePlan,
    steps: &[&plan::Step],
    health: &HealthView,
    live: &LiveState,
    now: Timestamp,
) -> DecisionRecord {
    let bundle = ctx.bundle;
    let service = &bundle.services[sp.service];
    let number: BTreeMap<usize, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id, i + 1))
        .collect();
    let step_records: Vec<StepRecord> = steps
        .iter()
        .map(|st| {
            let (kind, description) = render::describe(service, &st.action);
            StepRecord {
                kind: kind.to_string(),
                description,
                plane: st.plane.as_str().to_string(),
                reasons: st
                    .reasons
                    .iter()
                    .map(|r| render::reason_text(bundle, service, r))
                    .collect(),
                after: st
                    .after
                    .iter()
                    .filter_map(|a| number.get(a).copied())
                    .collect(),
            }
        })
        .collect();
    let id = decision_id(&service.name, &bundle.hash, sp);
    let nr = service.regions.len();
    let before: Vec<u8> = live.services[sp.service]
        .weights
        .iter()
        .map(|w| w.unwrap_or(0))
        .collect();
    let mut traffic = serde_json::Map::new();
    for (c, cell) in service.cells.iter().enumerate() {
        if before[c * nr..(c + 1) * nr] != sp.target_weights[c * nr..(c + 1) * nr] {
            let w: Vec<u32> = (0..nr)
                .map(|r| u32::from(sp.target_weights[c * nr + r]))
                .collect();
            let pct = regionctl_core::traffic::percent_split(&w);
            let split: serde_json::Map<String, serde_json::Value> = service
                .regions
                .iter()
                .zip(pct)
                .map(|(r, p)| (r.name.clone(), p.into()))
                .collect();
            traffic.insert(cell.id.clone(), split.into());
        }
    }
    let sh = &health.services[sp.service];
    let health_lines = service
        .regions
        .iter()
        .enumerate()
        .map(|(r, region)| {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for c in 0..service.cells.len() {
                *counts
                    .entry(sh.entries[c * nr + r].verdict.as_str())
                    .or_default() += 1;
            }
            let parts: Vec<String> = counts.iter().map(|(v, n)| format!("{v} {n}")).collect();
            format!("{}: {}", region.name, parts.join(", "))
        })
        .collect();
    DecisionRecord {
        id,
        service: service.name.clone(),
        bundle_hash: bundle.hash.clone(),
        at: now,
        recorded_by: ctx.region.clone(),
        mode: sp.mode.as_str().to_string(),
        disposition: format!("{:?}", sp.disposition).to_lowercase(),
        health: health_lines,
        steps: step_records,
        traffic: traffic.into(),
        alerts: plan
            .alerts
            .iter()
            .filter(|a| a.service == service.name)
            .map(|a| format!("{}: {}", a.kind.as_str(), a.message))
            .collect(),
        notes: sp.notes.clone(),
        discretionary: steps.iter().any(|s| s.discretionary),
    }
}

/// Content hash of (service, bundle hash, target state): the same decision reached twice,
/// by one controller or two, has the same id.
pub fn decision_id(service: &str, bundle_hash: &str, sp: &plan::ServicePlan) -> String {
    let mut h = Sha256::new();
    h.update(service.as_bytes());
    h.update([0]);
    h.update(bundle_hash.as_bytes());
    h.update([0]);
    h.update(&sp.target_weights);
    for d in &sp.target_desired {
        h.update(d.unwrap_or(u32::MAX).to_le_bytes());
    }
    // Only services with switches hash them, so other services' ids stay as they were.
    if !sp.target_switches.is_empty() {
        h.update([0]);
        h.update(
            sp.target_switches
                .iter()
                .map(|on| u8::from(*on))
                .collect::<Vec<u8>>(),
        );
    }
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn read_all<W: World, T: serde::de::DeserializeOwned>(
    world: &W,
    pk: &str,
    report: &mut PassReport,
) -> Vec<T> {
    match world.query(pk, "").await {
        Ok(items) => items
            .into_iter()
            .flatten()
            .filter_map(|it| serde_json::from_value(it.body).ok())
            .collect(),
        Err(e) => {
            report
                .read_failures
                .push(format!("journal {pk} unreadable: {}", e.message()));
            Vec::new()
        }
    }
}

/// When a decision's intent was first recorded (by any controller).
async fn first_recorded<W: World>(world: &W, service: &str, id: &str) -> Option<Timestamp> {
    let items = world
        .query(&format!("DECISION#{service}"), &format!("{id}#INTENT"))
        .await
        .ok()?;
    items
        .into_iter()
        .flatten()
        .find_map(|it| serde_json::from_value::<DecisionRecord>(it.body).ok())
        .map(|d| d.at)
}

/// The newest discretionary move of `service` in this controller's journal replica (none
/// yet: `Ok(None)`), or why the replica could not say.
async fn last_discretionary<W: World>(
    world: &W,
    service: &str,
) -> Result<Option<Timestamp>, PortError> {
    let items = world
        .query(&format!("DECISION#{service}"), journal::LAST_MOVE_PREFIX)
        .await?;
    Ok(items
        .into_iter()
        .flatten()
        .filter_map(|it| {
            it.body
                .get("at")
                .and_then(|v| serde_json::from_value::<Timestamp>(v.clone()).ok())
        })
        .max())
}

fn own_region_down(bundle: &Bundle, health: &HealthView, region: &str) -> bool {
    bundle.services.iter().enumerate().any(|(s, service)| {
        service
            .regions
            .iter()
            .position(|r| r.name == region)
            .is_some_and(|r| {
                let nr = service.regions.len();
                (0..service.cells.len())
                    .all(|c| health.services[s].entries[c * nr + r].verdict == Verdict::Down)
            })
    })
}

/// A zone's weighted records by (record name, set identifier), or why it could not be read.
type ZoneWeights = Result<RecordWeights, PortError>;

/// Reads weights, capacity and balancer splits for every service. Zones come from Route 53,
/// or from `cache` while its copy is young (see [`memory`]; those zones are pushed to
/// `cached`); a zone that cannot be read falls back to its last copy.
///
/// [`memory`]: crate::memory
pub async fn read_live<W: World>(
    world: &W,
    bundle: &Bundle,
    (cache, tick_secs, cached): (&mut ZoneCache, u64, &mut Vec<String>),
    report: &mut PassReport,
) -> LiveState {
    let now = world.now();
    let mut zones: HashMap<String, ZoneWeights> = HashMap::new();
    let mut services = Vec::with_capacity(bundle.services.len());
    // Every service's switches in one read (the adapter batches per alarm region).
    let mut switch_states = switches::read_all(world, bundle, report).await.into_iter();
    for service in &bundle.services {
        let zone = &service.routing.hosted_zone_id;
        if !zones.contains_key(zone) {
            let records = if let Some(copy) = cache.fresh(zone, now, tick_secs) {
                cached.push(zone.clone());
                Ok(copy.weights.clone())
            } else {
                match world.read_weighted(zone).await {
                    Ok(rs) => {
                        let weights = zone_weights(rs);
                        cache.store(zone, weights.clone(), now);
                        Ok(weights)
                    }
                    Err(e) => match cache.last(zone) {
                        Some(copy) => {
                            report.read_failures.push(format!(
                                    "{}: Route 53 zone {zone} unreadable, using this controller's copy from {}: {}",
                                    service.name,
                                    render::clock(copy.read_at),
                                    e.message()
                                ));
                            Ok(copy.weights.clone())
                        }
                        None => Err(e),
                    },
                }
            };
            zones.insert(zone.clone(), records);
        }
        let nr = service.regions.len();
        let mut weights = Vec::new();
        match zones.get(zone) {
            Some(Ok(map)) => weights = service_weights(service, map),
            Some(Err(e)) => {
                report.read_failures.push(format!(
                    "{}: Route 53 zone {zone} unreadable: {}",
                    service.name,
                    e.message()
                ));
                // Unknown live weights: assume the policy's steady state so nothing is
                // "changed" blindly; the guard still checks the plan.
                weights = regionctl_core::live::steady_service(service).weights;
            }
            None => {}
        }
        let mut ecs = vec![None; nr];
        if let Some(e) = &service.ecs {
            for (r, sr) in service.regions.iter().enumerate() {
                match world
                    .describe_service(&sr.name, &e.clusters[r], &e.services[r])
                    .await
                {
                    Ok(state) => ecs[r] = state,
                    Err(err) => report.read_failures.push(format!(
                        "{}: ECS in {} unreadable: {}",
                        service.name,
                        sr.name,
                        err.message()
                    )),
                }
            }
        }
        let mut alb = vec![None; nr];
        if let Some(a) = &service.alb {
            for (r, sr) in service.regions.iter().enumerate() {
                match world
                    .read_split(
                        &sr.name,
                        &a.listeners[r],
                        &a.fargate_target_groups[r],
                        &a.lambda_target_groups[r],
                    )
                    .await
                {
                    Ok(state) => alb[r] = state,
                    Err(err) => report.read_failures.push(format!(
                        "{}: ALB in {} unreadable: {}",
                        service.name,
                        sr.name,
                        err.message()
                    )),
                }
            }
        }
        let switches = switch_states.next().unwrap_or_default();
        services.push(LiveService {
            weights,
            ecs,
            alb,
            last_discretionary_change: None,
            last_known_desired: vec![None; nr],
            switches,
        });
    }
    LiveState { services }
}

/// A zone's records as read, by (normalized name, set identifier).
fn zone_weights(records: Vec<crate::ports::WeightedRecord>) -> RecordWeights {
    records
        .into_iter()
        .map(|r| ((normalize(&r.name), r.set_identifier), r.weight))
        .collect()
}

/// One service's live weights (cell-major, then region) from its zone's records.
fn service_weights(
    service: &regionctl_core::policy::Service,
    zone: &RecordWeights,
) -> Vec<Option<u8>> {
    let nr = service.regions.len();
    let mut weights = Vec::with_capacity(service.cells.len() * nr);
    for cell in &service.cells {
        let name = normalize(&cell.record_name);
        for r in 0..nr {
            weights.push(
                zone.get(&(name.clone(), cell.set_identifiers[r].clone()))
                    .copied(),
            );
        }
    }
    weights
}

fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// `service/region` pairs with weight 0 in some cell whose baseline gives them traffic.
fn drained(bundle: &Bundle, live: &LiveState) -> Vec<String> {
    pairs_where(bundle, |s, nr, r, c| {
        let baseline = bundle.services[s].cells[c].baseline_weights.get(r);
        baseline.is_some_and(|b| *b > 0)
            && live
                .services
                .get(s)
                .and_then(|ls| ls.weights.get(c * nr + r).copied().flatten())
                == Some(0)
    })
}

/// `service/region` pairs where `view` has a cell that is not healthy, or healthy but with
/// evidence against it still inside its hysteresis window (a doubt, not yet a verdict). A
/// view with no evidence yet (a controller's first pass after a start) knows nothing
/// healthy, so it lists every pair: a restarted peer holds failback for the one tick until
/// it has a view, rather than letting the leader fail back into a region it is about to
/// evacuate. Doubts count for the same reason: the leader otherwise fails back into a
/// region a peer evacuates one `fail_after` later (a peer cut off from it by a partition;
/// found by `regionctl simulate`, seed 1620).
fn not_healthy(bundle: &Bundle, view: &HealthView) -> Vec<String> {
    pairs_where(bundle, |s, nr, r, c| {
        view.services
            .get(s)
            .and_then(|sv| sv.entries.get(c * nr + r))
            .is_some_and(|e| {
                e.verdict != Verdict::Healthy
                    || e.pending.is_some_and(|(v, _)| v != Verdict::Healthy)
            })
    })
}

/// `service/region` pairs for which some cell satisfies `cell(service, regions, region,
/// cell)`, in bundle order.
fn pairs_where(bundle: &Bundle, cell: impl Fn(usize, usize, usize, usize) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    for (s, service) in bundle.services.iter().enumerate() {
        let nr = service.regions.len();
        for (r, region) in service.regions.iter().enumerate() {
            if (0..service.cells.len()).any(|c| cell(s, nr, r, c)) {
                out.push(format!("{}/{}", service.name, region.name));
            }
        }
    }
    out
}

/// A copy of `health` in which regions that a fresh, acting peer on the same bundle lists as
/// not healthy count as healthy only from `now` (so the failback gate waits a full
/// recovery window once every peer agrees); `None` when no peer disagrees.
fn hold_failback_for_peers(
    bundle: &Bundle,
    health: &HealthView,
    (heartbeats, newly_drained): (&[Heartbeat], &[String]),
    ctx: &Context<'_>,
    now: Timestamp,
    fresh: &impl Fn(Timestamp) -> bool,
) -> Option<HealthView> {
    let disputed: BTreeSet<&str> = heartbeats
        .iter()
        .filter(|h| {
            h.region != ctx.region
                && h.bundle_hash == bundle.hash
                && h.state == "acting"
                && fresh(h.at)
        })
        .flat_map(|h| {
            // Its own view, and the views it relays from peers other than this one.
            h.not_healthy.iter().map(String::as_str).chain(
                h.peers_not_healthy
                    .iter()
                    .filter(|(peer, _)| **peer != ctx.region)
                    .flat_map(|(_, pairs)| pairs.iter().map(String::as_str)),
            )
        })
        .chain(newly_drained.iter().map(String::as_str))
        .collect();
    if disputed.is_empty() {
        return None;
    }
    let mut held = health.clone();
    for (s, service) in bundle.services.iter().enumerate() {
        let nr = service.regions.len();
        for (r, region) in service.regions.iter().enumerate() {
            if !disputed.contains(format!("{}/{}", service.name, region.name).as_str()) {
                continue;
            }
            for c in 0..service.cells.len() {
                if let Some(e) = held.services[s].entries.get_mut(c * nr + r)
                    && e.verdict == Verdict::Healthy
                {
                    e.since = e.since.max(now);
                }
            }
        }
    }
    Some(held)
}
