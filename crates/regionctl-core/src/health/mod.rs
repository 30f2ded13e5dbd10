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
//!
//! The types live here; one evaluation step is in `evaluation`; `explain` says which
//! signal said what and which decided; `alarm_index` finds an alarm's bindings by name.

mod alarm_index;
mod evaluation;
pub mod explain;
mod votes;

pub use alarm_index::AlarmIndex;
pub use evaluation::{evaluate, evaluate_into};

use crate::grid::Grid;
use crate::policy::raw::SignalRole;
use crate::policy::{Bundle, RegionIx, Service};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

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
    /// The role of the probes behind it (failure, critical or shadow).
    #[serde(default)]
    pub role: SignalRole,
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

/// Why a region looks the way it does (kept compactly: ids, not strings). The fields a
/// policy without signal roles never sets are left out of records when empty, so their
/// records read as before roles existed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionEvidence {
    /// Alarm binding indices in ALARM (failure and critical alarms, region-wide or any
    /// cell).
    pub alarms_in_alarm: Vec<u32>,
    /// Observers whose probes fail.
    pub probes_failing: u16,
    /// Observers whose probes succeed.
    pub probes_ok: u16,
    /// The quorum that applied.
    pub quorum: u16,
    /// Running capacity counted as readiness.
    pub capacity_ready: bool,
    /// Observers whose `critical` probes fail (each enough on its own).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub critical_probes_failing: u16,
    /// `shadow` alarm binding indices in ALARM: shown, never acted on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shadow_in_alarm: Vec<u32>,
    /// Observers whose `shadow` probes fail: shown, never acted on.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shadow_probes_failing: u16,
    /// What the region's `served` signals say.
    #[serde(default, skip_serializing_if = "Served::is_absent")]
    pub served: Served,
    /// A quorum of observers' probes failed, nothing else did, and the region's users are
    /// served: the probes were overruled ("observers cannot reach it, its users can").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub vetoed: bool,
    /// When the overruled probe quorum began failing: tells one partition's hold from the
    /// next identical one's (the held decision's id hashes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vetoed_since: Option<Timestamp>,
    /// Another acting controller's view holds this region not healthy while this one's
    /// holds it healthy: the region keeps the traffic it has and gains none, neither by
    /// failback nor by taking over an evacuated cell, until the views agree. Never set by
    /// evaluation; a controller sets it on its planning copy from its peers' heartbeats,
    /// so two controllers with different views do not undo each other's writes
    /// (`regionctl simulate --policies chaos/policies-served`, seeds 1008, 1021).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disputed: bool,
}

impl Default for ServiceHealth {
    /// No cells, no regions: only a place to evaluate into ([`evaluate_into`]).
    fn default() -> Self {
        ServiceHealth {
            entries: Grid::empty(),
            load: Vec::new(),
            evidence: Vec::new(),
        }
    }
}

impl RegionEvidence {
    /// Back to the default, keeping the lists' memory for the next evaluation.
    pub(crate) fn reset(&mut self) {
        let mut alarms_in_alarm = std::mem::take(&mut self.alarms_in_alarm);
        let mut shadow_in_alarm = std::mem::take(&mut self.shadow_in_alarm);
        alarms_in_alarm.clear();
        shadow_in_alarm.clear();
        *self = RegionEvidence {
            alarms_in_alarm,
            shadow_in_alarm,
            ..RegionEvidence::default()
        };
    }
}

fn is_zero(n: &u16) -> bool {
    *n == 0
}

/// What a region's `served` signals say this tick.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Served {
    /// The service has no `served` signal for the region.
    #[default]
    Absent,
    /// Every readable `served` signal is OK, at least one was read: users are served.
    Serving,
    /// A `served` signal is in ALARM, or none could be read or has data: no evidence that
    /// users are served (and none that they are not: an idle region serves nobody).
    NotShown,
}

impl Served {
    /// No `served` signal at all.
    pub fn is_absent(&self) -> bool {
        *self == Served::Absent
    }

    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Served::Absent => "absent",
            Served::Serving => "serving",
            Served::NotShown => "not-shown",
        }
    }
}

/// Health of one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceHealth {
    /// Per (cell, local region).
    pub entries: Grid<Entry>,
    /// Per local region: a `load` alarm is in ALARM.
    pub load: Vec<bool>,
    /// Per local region: the evidence behind the verdicts.
    pub evidence: Vec<RegionEvidence>,
}

/// The health view: the verdicts plus the memory that debounces them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HealthView {
    /// Per service, aligned with `bundle.services`.
    pub services: Vec<ServiceHealth>,
}

impl HealthView {
    /// Everything unknown: the state of a controller that has seen nothing yet.
    pub fn unknown(bundle: &Bundle) -> Self {
        HealthView {
            services: bundle.services.iter().map(ServiceHealth::unknown).collect(),
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
            view.services[s].entries =
                Grid::from_fn(service.cells.len(), service.regions.len(), |c, r| Entry {
                    verdict: verdict(s, r, c),
                    since,
                    pending: None,
                    last_bad: Timestamp::EPOCH,
                });
        }
        view
    }

    /// The entry for (service, cell, local region).
    pub fn entry(&self, s: usize, cell: usize, r: usize) -> Entry {
        self.services
            .get(s)
            .and_then(|h| h.entries.get(cell, r))
            .copied()
            .unwrap_or(Entry::UNKNOWN)
    }
}

impl ServiceHealth {
    /// Everything unknown, shaped for `service`: one entry per (cell, local region).
    pub fn unknown(service: &Service) -> Self {
        ServiceHealth {
            entries: Grid::new(service.cells.len(), service.regions.len(), Entry::UNKNOWN),
            load: vec![false; service.regions.len()],
            evidence: vec![RegionEvidence::default(); service.regions.len()],
        }
    }

    /// True when this health is shaped for `service`: one entry per (cell, local region),
    /// and load and evidence per local region. (The view keeps no region names: a reload
    /// that only renames regions keeps the shape.)
    pub fn fits(&self, service: &Service) -> bool {
        let regions = service.regions.len();
        self.entries.shape() == (service.cells.len(), regions)
            && self.load.len() == regions
            && self.evidence.len() == regions
    }
}

#[cfg(test)]
mod tests;
