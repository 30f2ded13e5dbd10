//! Health evaluation: observations → a debounced, quorum-confirmed view per
//! (service, region, cell).
//!
//! # Design
//! - **Evidence, not silence.** An alarm in ALARM is evidence of failure, OK of health, and
//!   INSUFFICIENT_DATA is no evidence at all: a drained or standby region goes quiet, so
//!   silence must read as `unknown`, never `healthy`. Readiness (probes that succeed, running
//!   capacity) is what makes an idle region healthy.
//! - **Independent observers.** Every controller probes every region from its own region.
//!   A region counts as *down* (unreachable) only when a quorum of observers agree, so no
//!   single vantage point can evacuate a healthy region.
//! - **Hysteresis both ways.** Failure evidence must persist `fail_after_secs`; health
//!   evidence after a failure must persist `recover_after_secs`. Evidence carries the time it
//!   started (`since`, e.g. an alarm's `StateUpdatedTimestamp`), so a controller that starts
//!   mid-incident can tell at once how long an alarm has been red.
//! - **State is a value.** [`evaluate`] takes the previous [`HealthView`] and returns the next
//!   one; the controller persists it, the simulator snapshots it. No hidden globals, no clock.

use crate::policy::raw::AlarmRole;
use crate::policy::{Bundle, RegionIx, Service};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// CloudWatch alarm states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    /// Within threshold.
    Ok,
    /// Breaching.
    Alarm,
    /// Not enough data: no evidence either way.
    InsufficientData,
}

/// One alarm's state and since when it has been in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmObservation {
    /// The state.
    pub state: AlarmState,
    /// When the alarm entered it (`StateUpdatedTimestamp`).
    pub since: Timestamp,
}

/// One observer's probe verdict about one (service, region).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeVerdict {
    /// The observing controller's region.
    pub observer: RegionIx,
    /// Service index in the bundle.
    pub service: usize,
    /// Local region index in the service.
    pub r: usize,
    /// Whether the endpoints answered.
    pub ok: bool,
    /// Since when the verdict has held for this observer.
    pub since: Timestamp,
}

/// Everything observed this tick, indexed like the bundle.
#[derive(Debug, Clone, Default)]
pub struct Observations {
    /// Per service, aligned with `service.health.alarms`. `None`: not read (unreachable or
    /// unknown alarm) — no evidence.
    pub alarms: Vec<Vec<Option<AlarmObservation>>>,
    /// Fresh probe verdicts from every observer.
    pub probes: Vec<ProbeVerdict>,
    /// Number of observers (controllers) in the fleet; the default quorum is a strict
    /// majority of them.
    pub observer_count: u32,
    /// Per service, per local region: running ECS tasks, if known.
    pub running: Vec<Vec<Option<u32>>>,
}

impl Observations {
    /// No evidence at all, sized for `bundle`.
    pub fn empty(bundle: &Bundle, observer_count: u32) -> Self {
        Observations {
            alarms: bundle
                .services
                .iter()
                .map(|s| vec![None; s.health.alarms.len()])
                .collect(),
            probes: Vec::new(),
            observer_count,
            running: bundle
                .services
                .iter()
                .map(|s| vec![None; s.regions.len()])
                .collect(),
        }
    }
}

/// Alarm name → the (service, binding) slots it feeds. Built once per bundle, so ingesting
/// `DescribeAlarms` results is one hash lookup per alarm.
#[derive(Debug, Clone, Default)]
pub struct AlarmIndex {
    by_name: HashMap<String, Vec<(usize, usize)>>,
}

impl AlarmIndex {
    /// Indexes every alarm binding of `bundle`.
    pub fn new(bundle: &Bundle) -> Self {
        let mut by_name: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        for (s, service) in bundle.services.iter().enumerate() {
            for (b, binding) in service.health.alarms.iter().enumerate() {
                by_name
                    .entry(binding.name.clone())
                    .or_default()
                    .push((s, b));
            }
        }
        AlarmIndex { by_name }
    }

    /// Every alarm name, sorted (for `DescribeAlarms`).
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.by_name.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// Records `obs` for every binding of `name`; false if no policy uses the alarm.
    pub fn record(
        &self,
        observations: &mut Observations,
        name: &str,
        obs: AlarmObservation,
    ) -> bool {
        match self.by_name.get(name) {
            Some(slots) => {
                for &(s, b) in slots {
                    if let Some(slot) = observations.alarms.get_mut(s).and_then(|v| v.get_mut(b)) {
                        *slot = Some(obs);
                    }
                }
                true
            }
            None => false,
        }
    }
}

/// The debounced verdict for one (service, region, cell).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// No evidence either way. Never receives traffic.
    Unknown,
    /// Evidence of health.
    Healthy,
    /// Failing but reachable (alarms in ALARM, probes answer).
    Degraded,
    /// Unreachable: a quorum of observers' probes fail.
    Down,
}

impl Verdict {
    /// Degraded or down.
    pub fn is_unhealthy(self) -> bool {
        matches!(self, Verdict::Degraded | Verdict::Down)
    }

    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Unknown => "unknown",
            Verdict::Healthy => "healthy",
            Verdict::Degraded => "degraded",
            Verdict::Down => "down",
        }
    }
}

/// One slot of the view, with the hysteresis memory the next evaluation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The verdict.
    pub verdict: Verdict,
    /// When it took effect.
    pub since: Timestamp,
    /// A different verdict the evidence points to, and since when, not yet confirmed.
    pub pending: Option<(Verdict, Timestamp)>,
    /// When an evaluation last saw evidence of failure (down or degraded), if ever: a
    /// recovery is dated no earlier than this.
    #[serde(default)]
    pub last_bad: Timestamp,
}

impl Entry {
    /// The state before any evidence.
    pub const UNKNOWN: Entry = Entry {
        verdict: Verdict::Unknown,
        since: Timestamp::EPOCH,
        pending: None,
        last_bad: Timestamp::EPOCH,
    };
}

/// Why a region looks the way it does (kept compactly: ids, not strings).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionEvidence {
    /// Alarm binding indices in ALARM (failure alarms, region-wide or any cell).
    pub alarms_in_alarm: Vec<u32>,
    /// Observers whose probes fail.
    pub probes_failing: u16,
    /// Observers whose probes succeed.
    pub probes_ok: u16,
    /// The quorum that applied.
    pub quorum: u16,
    /// Running capacity counted as readiness.
    pub capacity_ready: bool,
}

/// Health of one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceHealth {
    /// Per (cell, local region): `cell * regions + r`.
    pub entries: Vec<Entry>,
    /// Per local region: a `load` alarm is in ALARM.
    pub load: Vec<bool>,
    /// Per local region: the evidence behind the verdicts.
    pub evidence: Vec<RegionEvidence>,
}

/// The health view: the verdicts plus the memory that debounces them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthView {
    /// Per service, aligned with `bundle.services`.
    pub services: Vec<ServiceHealth>,
}

impl HealthView {
    /// Everything unknown: the state of a controller that has seen nothing yet.
    pub fn unknown(bundle: &Bundle) -> Self {
        HealthView {
            services: bundle
                .services
                .iter()
                .map(|s| ServiceHealth {
                    entries: vec![Entry::UNKNOWN; s.cells.len() * s.regions.len()],
                    load: vec![false; s.regions.len()],
                    evidence: vec![RegionEvidence::default(); s.regions.len()],
                })
                .collect(),
        }
    }

    /// A view set directly by `verdict(service, local region, cell)`, as `plan --down`,
    /// policy tests and game-day steady states need. Each verdict holds since `since`.
    pub fn assume(
        bundle: &Bundle,
        since: Timestamp,
        mut verdict: impl FnMut(usize, usize, usize) -> Verdict,
    ) -> Self {
        let mut view = HealthView::unknown(bundle);
        for (s, service) in bundle.services.iter().enumerate() {
            let nr = service.regions.len();
            for c in 0..service.cells.len() {
                for r in 0..nr {
                    view.services[s].entries[c * nr + r] = Entry {
                        verdict: verdict(s, r, c),
                        since,
                        pending: None,
                        last_bad: Timestamp::EPOCH,
                    };
                }
            }
        }
        view
    }

    /// The entry for (service, cell, local region).
    pub fn entry(&self, s: usize, cell: usize, r: usize, regions: usize) -> Entry {
        self.services
            .get(s)
            .and_then(|h| h.entries.get(cell * regions + r))
            .copied()
            .unwrap_or(Entry::UNKNOWN)
    }
}

/// Per (service, local region): the `since` of failing and of succeeding observer votes.
type ProbeTally = HashMap<(usize, usize), (Vec<Timestamp>, Vec<Timestamp>)>;

/// Raw evidence for one slot this tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Raw {
    Down(Timestamp),
    Degraded(Timestamp),
    Healthy(Option<Timestamp>),
    Nothing,
}

/// Evaluates `observations` against the previous view at `now`.
///
/// `previous` must have been built for the same bundle (a policy reload starts from
/// [`HealthView::unknown`] for services whose shape changed).
pub fn evaluate(
    bundle: &Bundle,
    observations: &Observations,
    previous: &HealthView,
    now: Timestamp,
) -> HealthView {
    let mut next = previous.clone();
    // Probe verdicts grouped per (service, region): (failing sinces, ok sinces).
    // One vote per observer: an observer that reports twice (several probe targets) still
    // counts once — failing if any of its verdicts fails, since the earliest such verdict.
    let mut votes: BTreeMap<(usize, usize, RegionIx), (bool, Timestamp)> = BTreeMap::new();
    for p in &observations.probes {
        votes
            .entry((p.service, p.r, p.observer))
            .and_modify(|(ok, since)| {
                if *ok && !p.ok {
                    *ok = false;
                    *since = p.since;
                } else if *ok == p.ok {
                    *since = (*since).min(p.since);
                }
            })
            .or_insert((p.ok, p.since));
    }
    let mut probes: ProbeTally = HashMap::new();
    for ((service, r, _), (ok, since)) in votes {
        let e = probes.entry((service, r)).or_default();
        if ok {
            e.1.push(since);
        } else {
            e.0.push(since);
        }
    }
    for (s, service) in bundle.services.iter().enumerate() {
        let Some(health) = next.services.get_mut(s) else {
            continue;
        };
        if health.entries.len() != service.cells.len() * service.regions.len() {
            *health = HealthView::unknown_service(service);
        }
        evaluate_service(service, s, observations, &mut probes, health, now);
    }
    next
}

impl HealthView {
    fn unknown_service(s: &Service) -> ServiceHealth {
        ServiceHealth {
            entries: vec![Entry::UNKNOWN; s.cells.len() * s.regions.len()],
            load: vec![false; s.regions.len()],
            evidence: vec![RegionEvidence::default(); s.regions.len()],
        }
    }
}

fn evaluate_service(
    service: &Service,
    s: usize,
    observations: &Observations,
    probes: &mut ProbeTally,
    health: &mut ServiceHealth,
    now: Timestamp,
) {
    let nr = service.regions.len();
    let nc = service.cells.len();
    let quorum = service
        .health
        .quorum
        .unwrap_or(observations.observer_count / 2 + 1)
        .max(1) as usize;
    let alarms = observations.alarms.get(s);
    // Region-wide evidence.
    let mut region_bad: Vec<Option<Timestamp>> = vec![None; nr];
    let mut region_good: Vec<Option<Timestamp>> = vec![None; nr];
    let mut region_any_good_alarm = vec![false; nr];
    let mut region_all_ok = vec![true; nr];
    let mut region_has_alarm = vec![false; nr];
    let mut cell_bad: Vec<Option<Timestamp>> = Vec::new();
    // Alarms that could not be read at all (their region's CloudWatch unreachable), by
    // region and by cell: silence, which must not clear a failure they may still report.
    let mut region_unread = vec![false; nr];
    let mut cell_unread: Vec<bool> = Vec::new();
    for ev in &mut health.evidence {
        *ev = RegionEvidence::default();
    }
    for l in &mut health.load {
        *l = false;
    }
    for (b, binding) in service.health.alarms.iter().enumerate() {
        let obs = alarms.and_then(|a| a.get(b)).copied().flatten();
        let r = binding.r;
        if binding.role == AlarmRole::Load {
            if obs.is_some_and(|o| o.state == AlarmState::Alarm) {
                health.load[r] = true;
            }
            continue;
        }
        if obs.is_none() {
            match binding.cell {
                None => region_unread[r] = true,
                Some(c) => {
                    if cell_unread.is_empty() {
                        cell_unread = vec![false; nc * nr];
                    }
                    if let Some(u) = cell_unread.get_mut(c * nr + r) {
                        *u = true;
                    }
                }
            }
        }
        match (binding.cell, obs) {
            (_, Some(o)) if o.state == AlarmState::Alarm => {
                health.evidence[r]
                    .alarms_in_alarm
                    .push(u32::try_from(b).unwrap_or(u32::MAX));
                match binding.cell {
                    None => {
                        region_bad[r] = Some(region_bad[r].map_or(o.since, |t| t.min(o.since)));
                    }
                    Some(c) => {
                        if cell_bad.is_empty() {
                            cell_bad = vec![None; nc * nr];
                        }
                        let slot = c * nr + r;
                        cell_bad[slot] =
                            Some(cell_bad[slot].map_or(o.since, |t: Timestamp| t.min(o.since)));
                    }
                }
            }
            (None, Some(o)) if o.state == AlarmState::Ok => {
                region_has_alarm[r] = true;
                region_any_good_alarm[r] = true;
                region_good[r] = Some(region_good[r].map_or(o.since, |t| t.max(o.since)));
            }
            (None, _) => {
                region_has_alarm[r] = true;
                region_all_ok[r] = false;
            }
            (Some(_), _) => {}
        }
    }
    for r in 0..nr {
        let (mut failing, mut ok) = probes.remove(&(s, r)).unwrap_or_default();
        let ev = &mut health.evidence[r];
        ev.probes_failing = u16::try_from(failing.len()).unwrap_or(u16::MAX);
        ev.probes_ok = u16::try_from(ok.len()).unwrap_or(u16::MAX);
        ev.quorum = u16::try_from(quorum).unwrap_or(u16::MAX);
        // The time the quorum was first reached: the quorum-th earliest `since`.
        failing.sort_unstable();
        ok.sort_unstable();
        let down_since = (failing.len() >= quorum).then(|| failing[quorum - 1]);
        let reachable_since = (ok.len() >= quorum).then(|| ok[quorum - 1]);
        let capacity_ready = service.health.readiness_from_capacity
            && service.ecs.as_ref().is_some_and(|e| {
                let running = observations
                    .running
                    .get(s)
                    .and_then(|v| v.get(r))
                    .copied()
                    .flatten()
                    .unwrap_or(0);
                running > 0 && running >= e.ready_threshold(e.standby_count.max(1))
            });
        ev.capacity_ready = capacity_ready;
        let alarm_good = region_any_good_alarm[r] && region_all_ok[r] && region_has_alarm[r];
        for c in 0..nc {
            let slot = c * nr + r;
            let cell_alarm = cell_bad.get(slot).copied().flatten();
            let raw = if let Some(t) = down_since {
                Raw::Down(t)
            } else if let Some(t) = match (region_bad[r], cell_alarm) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            } {
                Raw::Degraded(t)
            } else if health.entries[slot].verdict.is_unhealthy()
                && (region_unread[r] || cell_unread.get(slot).copied().unwrap_or(false))
            {
                // An alarm that reported this failure cannot be read now: probes that were
                // fine all along are no evidence that it is over (simulate seed 198).
                Raw::Nothing
            } else if alarm_good {
                Raw::Healthy(region_good[r])
            } else if let Some(t) = reachable_since {
                Raw::Healthy(Some(t))
            } else if capacity_ready {
                Raw::Healthy(None)
            } else {
                Raw::Nothing
            };
            // Evidence fine since before a failure it did not see (probes through an
            // alarm-only failure, alarms through one only the probes saw, or alarms gone
            // INSUFFICIENT_DATA in a drained region) dates its end no earlier than the last
            // evaluation that saw the failure: the recovery window runs from there, not
            // from the evidence's old `since` (simulate seeds 198, 2030 and 4892).
            let entry = health.entries[slot];
            let raw = match raw {
                Raw::Healthy(Some(t)) if entry.verdict.is_unhealthy() => {
                    Raw::Healthy(Some(t.max(entry.since).max(entry.last_bad)))
                }
                raw => raw,
            };
            health.entries[slot] = debounce(entry, raw, now, &service.health);
        }
    }
}

/// One hysteresis step.
fn debounce(entry: Entry, raw: Raw, now: Timestamp, h: &crate::policy::Health) -> Entry {
    let entry = Entry {
        last_bad: if matches!(raw, Raw::Down(_) | Raw::Degraded(_)) {
            now
        } else {
            entry.last_bad
        },
        ..entry
    };
    let (target, evidence_since) = match raw {
        Raw::Down(t) => (Verdict::Down, Some(t)),
        Raw::Degraded(t) => (Verdict::Degraded, Some(t)),
        Raw::Healthy(t) => (Verdict::Healthy, t),
        Raw::Nothing => (Verdict::Unknown, None),
    };
    if target == entry.verdict {
        return Entry {
            pending: None,
            ..entry
        };
    }
    // Degraded ⇄ down: both unhealthy, the hysteresis has already been paid.
    if entry.verdict.is_unhealthy() && target.is_unhealthy() {
        return Entry {
            verdict: target,
            pending: None,
            ..entry
        };
    }
    // Silence does not make a failure go away.
    if entry.verdict.is_unhealthy() && target == Verdict::Unknown {
        return Entry {
            pending: None,
            ..entry
        };
    }
    let threshold = match (entry.verdict, target) {
        (Verdict::Unknown, Verdict::Healthy) => 0,
        (_, Verdict::Healthy) => h.recover_after_secs,
        _ => h.fail_after_secs,
    };
    let pending_since = match (entry.pending, evidence_since) {
        (_, Some(t)) => t.min(now),
        (Some((v, t)), None) if v == target => t,
        _ => now,
    };
    if now.elapsed_at_least(pending_since, threshold) {
        let flipped_at = pending_since.plus_secs(threshold).min(now);
        Entry {
            verdict: target,
            since: flipped_at,
            pending: None,
            ..entry
        }
    } else {
        Entry {
            pending: Some((target, pending_since)),
            ..entry
        }
    }
}

#[cfg(test)]
mod tests;
