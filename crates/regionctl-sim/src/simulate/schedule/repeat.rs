//! Repeated incidents in `propose` mode (issue 17, item 8): the same failure of one
//! `propose` service in one region twice, an operator approving the first incident's
//! evacuation, and the second incident approved only half the time. An approval must
//! authorise its own incident only (`approved-in-episode`): the identical evacuation a
//! while later waits for an approval of its own.
//!
//! Drawn from their own stream, so every other seed's schedule stays as it was.

use super::{FIRST_FAULT_SECS, FaultCounts, Gen, Window, count, entry};
use crate::scenario::{ScenarioAlarmState, TimelineEntry, What};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use regionctl_core::policy::raw::Mode;
use regionctl_core::policy::{Bundle, Service};

/// The repeated incidents' stream.
const REPEAT_STREAM: u64 = 0x4e9e_u64;
/// Odds (percent) that a seed of policies with a `propose` service repeats an incident.
const REPEAT_PERCENT: u64 = 30;
/// Odds (percent) that the operator approves the second incident too.
const APPROVE_AGAIN_PERCENT: u64 = 50;
/// Each incident lasts this long at least, and at most twice as long.
const INCIDENT_SECS: u64 = 300;
/// Approvals an operator gives per evacuation, a minute apart: the first may come before
/// the proposal is in the journal, or its round may lapse.
const APPROVALS: u64 = 3;

/// Seed `seed`'s repeated incident, if the bundle has a `propose` service with alarms.
pub(super) fn faults(
    seed: u64,
    bundle: &Bundle,
    window: &Window,
    counts: &mut FaultCounts,
) -> Vec<TimelineEntry> {
    let proposing: Vec<&Service> = bundle
        .services
        .iter()
        .filter(|s| s.mode == Mode::Propose && !s.health.alarms.is_empty())
        .collect();
    if proposing.is_empty() {
        return Vec::new();
    }
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(seed ^ REPEAT_STREAM.rotate_left(32)),
    };
    if !g.chance(REPEAT_PERCENT) {
        return Vec::new();
    }
    let Some(service) = g.pick(&proposing).copied() else {
        return Vec::new();
    };
    repeat(&mut g, service, bundle.tick_secs(), window, counts)
}

/// The two incidents and the approvals, when they fit the window. After each heals, the
/// operator approves the failback stages too (each is a decision of its own), so the
/// service is back at its baseline before the second incident: the second evacuation is
/// then the first one's identical twin, in an episode of its own.
fn repeat(
    g: &mut Gen,
    service: &Service,
    tick: u64,
    window: &Window,
    counts: &mut FaultCounts,
) -> Vec<TimelineEntry> {
    let Some(region) = g.pick(&service.regions).map(|r| r.name.clone()) else {
        return Vec::new();
    };
    let (first_len, second_len) = (
        g.range(INCIDENT_SECS, 2 * INCIDENT_SECS),
        g.range(INCIDENT_SECS, 2 * INCIDENT_SECS),
    );
    let back = failback_secs(service, tick);
    let gap = back + g.range(120, 600);
    // The second failback's approvals may come after `heal_by`: only faults must heal.
    let span = first_len + gap + second_len;
    let Some(latest) = window.heal_by.checked_sub(span) else {
        return Vec::new();
    };
    if latest < FIRST_FAULT_SECS {
        return Vec::new();
    }
    let first = g.range(FIRST_FAULT_SECS, latest);
    let second = first + first_len + gap;
    let approve_again = g.chance(APPROVE_AGAIN_PERCENT);
    let mut out = Vec::new();
    let incidents = [
        (first, first_len, true),
        (second, second_len, approve_again),
    ];
    for (n, (start, len, approved)) in incidents.into_iter().enumerate() {
        let id = format!("r{}-repeat", n + 1);
        let mut fault = entry(start, Some(id.clone()), What::Alarm);
        fault.place.region = Some(region.clone());
        fault.place.services = vec![service.name.clone()];
        fault.state = Some(ScenarioAlarmState::Alarm);
        out.push(fault);
        if approved {
            // After the proposal can exist: the failure confirmed, a pass or two later.
            let from = start + service.health.fail_after_secs + 3 * tick;
            out.extend(approvals(service, from, APPROVALS, counts));
            // And the failback stages, once the region may come back.
            let from = start + len + service.health.recover_after_secs;
            let stages = back.saturating_sub(service.health.recover_after_secs) / 60 + 1;
            out.extend(approvals(service, from, stages, counts));
        }
        let mut heal = entry(start + len, None, What::Recover);
        heal.faults = vec![id];
        out.push(heal);
    }
    count(counts, "repeated-incident");
    out
}

/// How long a region takes to be back at its baseline after its failure heals: its
/// recovery window, the failback delay, every stage with its cooldown, and slack.
fn failback_secs(service: &Service, tick: u64) -> u64 {
    let safety = &service.safety;
    let stages = safety.failback_stages_percent.len().max(1) as u64;
    service.health.recover_after_secs
        + safety.failback_after_healthy_secs
        + stages * (safety.cooldown_secs + 3 * tick)
        + 6 * tick
        + 120
}

/// `n` approvals of `service`'s newest proposal, a minute apart from `from`.
fn approvals(service: &Service, from: u64, n: u64, counts: &mut FaultCounts) -> Vec<TimelineEntry> {
    (0..n)
        .map(|k| {
            let mut approve = entry(from + k * 60, None, What::Approve);
            approve.place.services = vec![service.name.clone()];
            count(counts, "approval");
            approve
        })
        .collect()
}
