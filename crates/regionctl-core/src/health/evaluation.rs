//! One evaluation step: observations and the previous view → the next view. Probe votes
//! are tallied once per observer and held against the quorum (`votes`), each service's
//! alarms are read, and each (cell, region)'s raw evidence is debounced.

use super::Served;
use super::votes::{RegionSignals, Sinces, Vote, region_signals, take_leading, tally_votes};
use super::{
    AlarmObservation, AlarmState, Entry, HealthView, Observations, RegionEvidence, ServiceHealth,
    Verdict,
};
use crate::grid::Grid;
use crate::policy::raw::SignalRole;
use crate::policy::{Bundle, Service};
use crate::time::Timestamp;

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
    evaluate_into(bundle, observations, previous, now, HealthView::default())
}

/// [`evaluate`], writing the next view into the memory of `spare`, a view no longer
/// needed (the one before `previous`, in a controller that keeps two): its contents are
/// overwritten. The result is the same as [`evaluate`]'s; only the allocations differ
/// (at fleet scale a view is 1,000 tables of 150 entries, and allocating and freeing them
/// every pass cost more than evaluating them).
pub fn evaluate_into(
    bundle: &Bundle,
    observations: &Observations,
    previous: &HealthView,
    now: Timestamp,
    spare: HealthView,
) -> HealthView {
    let votes = tally_votes(observations);
    // Votes are sorted by service, and services are evaluated in order: each takes its
    // votes off the front of what is left.
    let mut rest: &[Vote] = &votes;
    let mut spares = spare.services.into_iter();
    let mut pass = Pass {
        observations,
        now,
        sinces: Sinces::default(),
    };
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
                let mine = take_leading(&mut rest, |v| v.key.0.cmp(&s));
                let out = spares.next().unwrap_or_default();
                evaluate_service(&mut pass, service, s, mine, prev, out)
            }
            None => prev.clone(),
        })
        .collect();
    HealthView { services }
}

/// What every service's evaluation in a pass reads, and the scratch they share.
struct Pass<'a> {
    observations: &'a Observations,
    now: Timestamp,
    sinces: Sinces,
}

/// One service's evaluation: read its alarms, then per region its probes and capacity,
/// then per (cell, region) the raw evidence, debounced from the `previous` entry (unknown
/// without a previous health of this service's shape) into the next one.
fn evaluate_service(
    pass: &mut Pass<'_>,
    service: &Service,
    s: usize,
    votes: &[Vote],
    previous: Option<&ServiceHealth>,
    spare: ServiceHealth,
) -> ServiceHealth {
    let Pass {
        observations,
        now,
        sinces,
    } = pass;
    let (observations, now) = (*observations, *now);
    let nr = service.regions.len();
    let quorum = service
        .health
        .quorum
        .unwrap_or(observations.observer_count / 2 + 1)
        .max(1) as usize;
    let ServiceHealth {
        entries: spare_entries,
        mut load,
        mut evidence,
    } = spare;
    load.clear();
    load.resize(nr, false);
    evidence.truncate(nr);
    evidence.iter_mut().for_each(RegionEvidence::reset);
    evidence.resize_with(nr, RegionEvidence::default);
    let mut health = ServiceHealth {
        entries: Grid::empty(),
        load,
        evidence,
    };
    let alarms = read_alarms(service, observations.alarms.get(s), &mut health);
    let mut regions = Vec::with_capacity(nr);
    let mut rest = votes;
    for r in 0..nr {
        let votes = take_leading(&mut rest, |v| v.key.1.cmp(&r));
        let region = region_signals(service, s, r, observations, votes, quorum, sinces);
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
    // Cells without cell alarms of their own (every cell, in most services) get their
    // region's evidence: worked out once per region, for a healthy and an unhealthy entry.
    let by_region: Vec<[(Raw, bool); 2]> = (0..nr)
        .map(|r| {
            let region = RegionInputs::of(&alarms, &regions[r], r);
            [false, true].map(|unhealthy| raw_evidence(region, CellInputs::NONE, unhealthy))
        })
        .collect();
    // The next entries written in one pass over the previous ones, cell by cell, regions
    // within a cell (their memory order), rather than copied and then updated.
    let nc = service.cells.len();
    // A row to start from when there is no previous health (not allocated otherwise).
    let unknown = match previous {
        Some(_) => Vec::new(),
        None => vec![Entry::UNKNOWN; nr],
    };
    let mut entries = spare_entries.into_vec();
    entries.clear();
    entries.reserve_exact(nc * nr);
    for c in 0..nc {
        let before = previous.map_or(&unknown[..], |p| p.entries.row(c));
        for (r, &entry) in before.iter().enumerate() {
            let unhealthy = entry.verdict.is_unhealthy();
            let cell = CellInputs::of(&alarms, c, r);
            let (raw, vetoed) = if cell == CellInputs::NONE {
                by_region[r][usize::from(unhealthy)]
            } else {
                raw_evidence(RegionInputs::of(&alarms, &regions[r], r), cell, unhealthy)
            };
            let raw = dated_after_failure(raw, entry);
            if vetoed {
                health.evidence[r].vetoed = true;
                health.evidence[r].vetoed_since = regions[r].down_since;
            }
            entries.push(debounce(entry, raw, now, &service.health));
        }
    }
    // `previous` fits the service (the caller checked), so the rows have its shape.
    health.entries =
        Grid::from_vec(nc, nr, entries).unwrap_or_else(|_| Grid::new(nc, nr, Entry::UNKNOWN));
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
    // The packed slots, not the bindings: this loop runs over every alarm of the fleet.
    for (b, binding) in service.health.alarm_slots().iter().enumerate() {
        let obs = alarms.and_then(|a| a.get(b)).copied().flatten();
        let r = binding.r();
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
            match binding.cell() {
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
        match (binding.cell(), obs) {
            (_, Some(o)) if o.state == AlarmState::Alarm => {
                health.evidence[r]
                    .alarms_in_alarm
                    .push(u32::try_from(b).unwrap_or(u32::MAX));
                match binding.cell() {
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

/// What a region says for every one of its cells: its region-wide and `served` alarms
/// and its observers' probes.
#[derive(Clone, Copy)]
struct RegionInputs<'a> {
    alarms: RegionAlarms,
    signals: &'a RegionSignals,
}

impl<'a> RegionInputs<'a> {
    fn of(alarms: &AlarmEvidence, signals: &'a RegionSignals, r: usize) -> Self {
        RegionInputs {
            alarms: alarms.regions[r],
            signals,
        }
    }
}

/// What a cell's own alarms say in a region.
#[derive(Clone, Copy, PartialEq, Eq)]
struct CellInputs {
    /// The earliest `since` of its cell alarms in ALARM.
    bad: Option<Timestamp>,
    /// One of its cell alarms could not be read.
    unread: bool,
}

impl CellInputs {
    /// A cell without cell alarms, or whose cell alarms are read and not in ALARM.
    const NONE: CellInputs = CellInputs {
        bad: None,
        unread: false,
    };

    fn of(alarms: &AlarmEvidence, c: usize, r: usize) -> Self {
        CellInputs {
            bad: alarms.cell_bad.get(c, r).copied().flatten(),
            unread: alarms.cell_unread.get(c, r).copied().unwrap_or(false),
        }
    }
}

/// The raw evidence for one (cell, region) this tick, strongest first: down (a failing
/// critical probe, or a probe quorum unless vetoed), degraded (alarms), nothing (an alarm
/// that reported the failure is unreadable, and the entry is `unhealthy`), healthy (alarms
/// OK, probe quorum, users served, or running capacity), else nothing. The flag says the
/// served veto overruled a probe quorum.
fn raw_evidence(region: RegionInputs<'_>, cell: CellInputs, unhealthy: bool) -> (Raw, bool) {
    let RegionInputs {
        alarms: region_alarms,
        signals: region,
    } = region;
    let alarm_bad = match (region_alarms.bad, cell.bad) {
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
    } else if unhealthy && (region_alarms.unread || cell.unread) {
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
    (raw, vetoed)
}

/// Evidence fine since before a failure it did not see (probes through an alarm-only
/// failure, alarms through one only the probes saw, or alarms gone INSUFFICIENT_DATA in a
/// drained region) dates its end no earlier than the last evaluation that saw the failure:
/// the recovery window runs from there, not from the evidence's old `since` (simulate
/// seeds 198, 2030 and 4892).
fn dated_after_failure(raw: Raw, entry: Entry) -> Raw {
    match raw {
        Raw::Healthy(Some(t)) if entry.verdict.is_unhealthy() => {
            Raw::Healthy(Some(t.max(entry.since).max(entry.last_bad)))
        }
        raw => raw,
    }
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
