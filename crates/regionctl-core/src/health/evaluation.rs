//! One evaluation step: observations and the previous view → the next view. Probe votes
//! are tallied once per observer, each service's alarms are read, each region's probes are
//! held against the quorum, and each (cell, region)'s raw evidence is debounced.

use super::Served;
use super::{
    AlarmObservation, AlarmState, Entry, HealthView, Observations, RegionEvidence, ServiceHealth,
    Verdict,
};
use crate::grid::Grid;
use crate::policy::raw::SignalRole;
use crate::policy::{Bundle, RegionIx, Service};
use crate::time::Timestamp;
use std::collections::{BTreeMap, HashMap};

/// Per (service, local region): what the observers' probes said.
type ProbeTally = HashMap<(usize, usize), Votes>;

/// One (service, region)'s probe votes, one per observer and role class.
#[derive(Debug, Clone, Default)]
struct Votes {
    /// The `since` of each failing acting (failure or critical) vote.
    failing: Vec<Timestamp>,
    /// The `since` of each succeeding acting vote.
    ok: Vec<Timestamp>,
    /// The `since` of each observer's failing `critical` probes.
    critical_failing: Vec<Timestamp>,
    /// Observers whose `shadow` probes fail.
    shadow_failing: u16,
}

/// How an observer's probe verdicts are grouped into one vote: acting probes (failure and
/// critical together, as before roles existed), critical ones again on their own, shadow
/// ones apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum VoteClass {
    Acting,
    Critical,
    Shadow,
}

impl VoteClass {
    fn of(role: SignalRole) -> impl Iterator<Item = VoteClass> {
        let classes: &[VoteClass] = match role {
            SignalRole::Critical => &[VoteClass::Acting, VoteClass::Critical],
            SignalRole::Shadow => &[VoteClass::Shadow],
            // `served` and `load` probes are refused by the loader.
            _ => &[VoteClass::Acting],
        };
        classes.iter().copied()
    }
}

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
/// `previous` should have been built for the same bundle; a service whose previous health
/// has another shape (cells, regions) starts from [`ServiceHealth::unknown`].
pub fn evaluate(
    bundle: &Bundle,
    observations: &Observations,
    previous: &HealthView,
    now: Timestamp,
) -> HealthView {
    // Probe verdicts grouped per (service, region): (failing sinces, ok sinces).
    // One vote per observer: an observer that reports twice (several probe targets) still
    // counts once — failing if any of its verdicts fails, since the earliest such verdict.
    let mut votes: BTreeMap<(usize, usize, RegionIx, VoteClass), (bool, Timestamp)> =
        BTreeMap::new();
    for p in &observations.probes {
        for class in VoteClass::of(p.role) {
            votes
                .entry((p.service, p.r, p.observer, class))
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
    }
    let mut probes: ProbeTally = HashMap::new();
    for ((service, r, _, class), (ok, since)) in votes {
        let e = probes.entry((service, r)).or_default();
        match (class, ok) {
            (VoteClass::Acting, true) => e.ok.push(since),
            (VoteClass::Acting, false) => e.failing.push(since),
            (VoteClass::Critical, false) => e.critical_failing.push(since),
            (VoteClass::Shadow, false) => e.shadow_failing = e.shadow_failing.saturating_add(1),
            (VoteClass::Critical | VoteClass::Shadow, true) => {}
        }
    }
    // The next view is built afresh from the previous one, service by service, rather than
    // cloned and overwritten: cloning 150,000 entries (and evidence that is reset anyway)
    // was a fifth of an evaluation at fleet scale. Services past the bundle's end are
    // kept as they were; the view keeps the previous one's length.
    let services = previous
        .services
        .iter()
        .enumerate()
        .map(|(s, prev)| match bundle.services.get(s) {
            // A policy reload can change a service's cells or regions while keeping their
            // product: entries of the old shape would mean other (cell, region)s, and its
            // per-region evidence would be too short.
            Some(service) => {
                let prev = prev.fits(service).then_some(prev);
                evaluate_service(service, s, observations, &mut probes, prev, now)
            }
            None => prev.clone(),
        })
        .collect();
    HealthView { services }
}

/// One service's evaluation: read its alarms, then per region its probes and capacity,
/// then per (cell, region) the raw evidence, debounced from the `previous` entry (unknown
/// without a previous health of this service's shape) into the next one.
fn evaluate_service(
    service: &Service,
    s: usize,
    observations: &Observations,
    probes: &mut ProbeTally,
    previous: Option<&ServiceHealth>,
    now: Timestamp,
) -> ServiceHealth {
    let nr = service.regions.len();
    let quorum = service
        .health
        .quorum
        .unwrap_or(observations.observer_count / 2 + 1)
        .max(1) as usize;
    let mut health = ServiceHealth {
        entries: Grid::empty(),
        load: vec![false; nr],
        evidence: vec![RegionEvidence::default(); nr],
    };
    let alarms = read_alarms(service, observations.alarms.get(s), &mut health);
    let mut regions = Vec::with_capacity(nr);
    for r in 0..nr {
        let votes = probes.remove(&(s, r)).unwrap_or_default();
        let region = region_signals(service, s, r, observations, votes, quorum);
        let ev = &mut health.evidence[r];
        ev.probes_failing = region.probes_failing;
        ev.probes_ok = region.probes_ok;
        ev.quorum = u16::try_from(quorum).unwrap_or(u16::MAX);
        ev.capacity_ready = region.capacity_ready;
        ev.critical_probes_failing = region.critical_failing;
        ev.shadow_probes_failing = region.shadow_failing;
        ev.served = alarms.regions[r].served.0;
        regions.push(region);
    }
    // The previous entries copied in one go, then updated cell by cell, regions within a
    // cell (their memory order).
    health.entries = match previous {
        Some(p) => p.entries.clone(),
        None => Grid::new(service.cells.len(), nr, Entry::UNKNOWN),
    };
    for (c, row) in health.entries.rows_mut().enumerate() {
        for (r, entry) in row.iter_mut().enumerate() {
            let (raw, vetoed) = raw_evidence(&alarms, &regions[r], *entry, c, r);
            if vetoed {
                health.evidence[r].vetoed = true;
                health.evidence[r].vetoed_since = regions[r].down_since;
            }
            *entry = debounce(*entry, raw, now, &service.health);
        }
    }
    health
}

/// What a service's failure alarms say this tick.
struct AlarmEvidence {
    /// Per region (one vector, not one per fact: this runs for every service every tick).
    regions: Vec<RegionAlarms>,
    /// Per (cell, region): the earliest `since` of its cell alarms in ALARM (empty when no
    /// cell alarm is in ALARM).
    cell_bad: Grid<Option<Timestamp>>,
    /// Per (cell, region; empty when none): cell alarms that could not be read at all (their
    /// region's CloudWatch unreachable): silence, which must not clear a failure they may
    /// still report.
    cell_unread: Grid<bool>,
}

/// What one region's region-wide and `served` alarms say.
#[derive(Clone, Copy)]
struct RegionAlarms {
    /// The earliest `since` of its region-wide alarms in ALARM.
    bad: Option<Timestamp>,
    /// The latest `since` of its region-wide alarms in OK.
    good: Option<Timestamp>,
    /// It has region-wide alarms, and every one was read and is OK.
    alarm_good: bool,
    /// A region-wide alarm could not be read at all (see `cell_unread`).
    unread: bool,
    /// What its `served` alarms say, and the latest `since` of those OK.
    served: (Served, Option<Timestamp>),
}

/// While reading: a region-wide alarm in OK was seen, none was other than OK, one exists.
#[derive(Clone, Copy)]
struct Tally {
    any_good: bool,
    all_ok: bool,
    has_alarm: bool,
}

/// Reads every alarm binding's observation: `load` alarms set the region's load flag,
/// failure alarms in ALARM are recorded in the region's evidence.
fn read_alarms(
    service: &Service,
    alarms: Option<&Vec<Option<AlarmObservation>>>,
    health: &mut ServiceHealth,
) -> AlarmEvidence {
    let nr = service.regions.len();
    let nc = service.cells.len();
    let fresh = RegionAlarms {
        bad: None,
        good: None,
        alarm_good: false,
        unread: false,
        served: (Served::Absent, None),
    };
    let mut regions = vec![fresh; nr];
    let mut tally = [Tally {
        any_good: false,
        all_ok: true,
        has_alarm: false,
    }; 8];
    let mut tally_heap = Vec::new();
    let tally: &mut [Tally] = if nr <= tally.len() {
        &mut tally[..nr]
    } else {
        tally_heap.resize(nr, tally[0]);
        &mut tally_heap
    };
    let mut cell_bad: Grid<Option<Timestamp>> = Grid::default();
    let mut cell_unread: Grid<bool> = Grid::default();
    for (b, binding) in service.health.alarms.iter().enumerate() {
        let obs = alarms.and_then(|a| a.get(b)).copied().flatten();
        let r = binding.r;
        match binding.role {
            SignalRole::Load => {
                if obs.is_some_and(|o| o.state == AlarmState::Alarm) {
                    health.load[r] = true;
                }
                continue;
            }
            SignalRole::Shadow => {
                if obs.is_some_and(|o| o.state == AlarmState::Alarm) {
                    health.evidence[r]
                        .shadow_in_alarm
                        .push(u32::try_from(b).unwrap_or(u32::MAX));
                }
                continue;
            }
            SignalRole::Served => {
                regions[r].served = read_served(regions[r].served, obs);
                continue;
            }
            SignalRole::Failure | SignalRole::Critical => {}
        }
        if obs.is_none() {
            match binding.cell {
                None => regions[r].unread = true,
                Some(c) => {
                    if cell_unread.is_empty() {
                        cell_unread = Grid::new(nc, nr, false);
                    }
                    if let Some(u) = cell_unread.get_mut(c, r) {
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
                        regions[r].bad = Some(regions[r].bad.map_or(o.since, |t| t.min(o.since)));
                    }
                    Some(c) => {
                        if cell_bad.is_empty() {
                            cell_bad = Grid::new(nc, nr, None);
                        }
                        if let Some(bad) = cell_bad.get_mut(c, r) {
                            *bad = Some(bad.map_or(o.since, |t: Timestamp| t.min(o.since)));
                        }
                    }
                }
            }
            (None, Some(o)) if o.state == AlarmState::Ok => {
                tally[r].has_alarm = true;
                tally[r].any_good = true;
                regions[r].good = Some(regions[r].good.map_or(o.since, |t| t.max(o.since)));
            }
            (None, _) => {
                tally[r].has_alarm = true;
                tally[r].all_ok = false;
            }
            (Some(_), _) => {}
        }
    }
    for (region, t) in regions.iter_mut().zip(tally.iter()) {
        region.alarm_good = t.any_good && t.all_ok && t.has_alarm;
    }
    AlarmEvidence {
        regions,
        cell_bad,
        cell_unread,
    }
}

/// Folds one `served` alarm into its region's reading: serving only while every one is
/// OK (and at least one was read); ALARM, INSUFFICIENT_DATA or unreadable shows nothing.
fn read_served(
    (so_far, since): (Served, Option<Timestamp>),
    obs: Option<AlarmObservation>,
) -> (Served, Option<Timestamp>) {
    match (so_far, obs) {
        (Served::NotShown, _) => (Served::NotShown, None),
        (_, Some(o)) if o.state == AlarmState::Ok => (
            Served::Serving,
            Some(since.map_or(o.since, |t: Timestamp| t.max(o.since))),
        ),
        _ => (Served::NotShown, None),
    }
}

/// What the observers' probes and the running capacity say about one region.
struct RegionSignals {
    /// When a quorum of observers first saw it failing.
    down_since: Option<Timestamp>,
    /// When a quorum of observers first reached it.
    reachable_since: Option<Timestamp>,
    /// Running capacity counts as readiness.
    capacity_ready: bool,
    /// Observers failing / reaching it (for the evidence).
    probes_failing: u16,
    probes_ok: u16,
    /// When the first observer still failing its `critical` probes started failing them.
    critical_since: Option<Timestamp>,
    /// Observers failing `critical` and `shadow` probes (for the evidence).
    critical_failing: u16,
    shadow_failing: u16,
}

/// Region `r`'s probe votes (failing sinces, ok sinces) against the quorum, and its
/// capacity readiness.
fn region_signals(
    service: &Service,
    s: usize,
    r: usize,
    observations: &Observations,
    votes: Votes,
    quorum: usize,
) -> RegionSignals {
    let Votes {
        mut failing,
        mut ok,
        critical_failing,
        shadow_failing,
    } = votes;
    let probes_failing = u16::try_from(failing.len()).unwrap_or(u16::MAX);
    let probes_ok = u16::try_from(ok.len()).unwrap_or(u16::MAX);
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
    RegionSignals {
        down_since,
        reachable_since,
        capacity_ready,
        probes_failing,
        probes_ok,
        critical_since: critical_failing.iter().min().copied(),
        critical_failing: u16::try_from(critical_failing.len()).unwrap_or(u16::MAX),
        shadow_failing,
    }
}

/// The raw evidence for one (cell, region) this tick, strongest first: down (a failing
/// critical probe, or a probe quorum unless vetoed), degraded (alarms), nothing (an alarm
/// that reported the failure is unreadable), healthy (alarms OK, probe quorum, users
/// served, or running capacity), else nothing. The flag says the served veto overruled a
/// probe quorum.
// Called for every entry (150,000 per tick at fleet scale): keep it in the loop.
#[inline]
fn raw_evidence(
    alarms: &AlarmEvidence,
    region: &RegionSignals,
    entry: Entry,
    c: usize,
    r: usize,
) -> (Raw, bool) {
    let cell_alarm = alarms.cell_bad.get(c, r).copied().flatten();
    let region_alarms = alarms.regions[r];
    let alarm_bad = match (region_alarms.bad, cell_alarm) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let (served, served_since) = region_alarms.served;
    // The veto: a probe quorum is the only failure evidence and the users are served.
    let vetoed = region.down_since.is_some()
        && region.critical_since.is_none()
        && alarm_bad.is_none()
        && served == Served::Serving
        && !ignore_served_veto();
    let probes_down = region
        .critical_since
        .or(region.down_since.filter(|_| !vetoed));
    let raw = if let Some(t) = probes_down {
        Raw::Down(t)
    } else if let Some(t) = alarm_bad {
        Raw::Degraded(t)
    } else if entry.verdict.is_unhealthy()
        && (region_alarms.unread || alarms.cell_unread.get(c, r).copied().unwrap_or(false))
    {
        // An alarm that reported this failure cannot be read now: probes that were
        // fine all along are no evidence that it is over (simulate seed 198).
        Raw::Nothing
    } else if region_alarms.alarm_good {
        Raw::Healthy(region_alarms.good)
    } else if let Some(t) = region.reachable_since {
        Raw::Healthy(Some(t))
    } else if served == Served::Serving {
        Raw::Healthy(served_since)
    } else if region.capacity_ready {
        Raw::Healthy(None)
    } else {
        Raw::Nothing
    };
    // Evidence fine since before a failure it did not see (probes through an
    // alarm-only failure, alarms through one only the probes saw, or alarms gone
    // INSUFFICIENT_DATA in a drained region) dates its end no earlier than the last
    // evaluation that saw the failure: the recovery window runs from there, not
    // from the evidence's old `since` (simulate seeds 198, 2030 and 4892).
    let raw = match raw {
        Raw::Healthy(Some(t)) if entry.verdict.is_unhealthy() => {
            Raw::Healthy(Some(t.max(entry.since).max(entry.last_bad)))
        }
        raw => raw,
    };
    (raw, vetoed)
}

/// The served veto is in force (it is not, with the planted `IgnoreServedVeto`).
fn ignore_served_veto() -> bool {
    #[cfg(feature = "planted-bugs")]
    if crate::planted::active(crate::planted::Bug::IgnoreServedVeto) {
        return true;
    }
    false
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
        _ => fail_after_secs(h),
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

/// The policy's failure hysteresis (none with the planted `IgnoreFailAfter`).
fn fail_after_secs(h: &crate::policy::Health) -> u64 {
    #[cfg(feature = "planted-bugs")]
    if crate::planted::active(crate::planted::Bug::IgnoreFailAfter) {
        return 0;
    }
    h.fail_after_secs
}
