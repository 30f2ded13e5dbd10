//! Which signal said what, with its role, and which one decided: one line per (service,
//! region) for `explain`, decision records, `plan` and the status page (ADR 0015).

use super::{RegionEvidence, Served};
use crate::policy::Service;
use crate::policy::raw::SignalRole;

/// What decided a region's verdict this pass, strongest first (as `evaluate` weighs it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decider {
    /// A `critical` probe failed from at least one observer.
    CriticalProbe,
    /// A quorum of observers' probes failed and nothing overruled them.
    ProbeQuorum,
    /// A quorum of observers' probes failed, but a `served` signal said the users are
    /// served: not evacuated.
    ServedVeto,
    /// A `failure` or `critical` alarm is in ALARM.
    FailureAlarm,
    /// Nothing says the region is failing.
    NoFailure,
}

impl Decider {
    /// Lowercase words, for people.
    pub fn as_str(self) -> &'static str {
        match self {
            Decider::CriticalProbe => "critical probe",
            Decider::ProbeQuorum => "probe quorum",
            Decider::ServedVeto => "served veto (observers cannot reach it, its users can)",
            Decider::FailureAlarm => "failure alarm",
            Decider::NoFailure => "no failure evidence",
        }
    }
}

/// What decided, from the evidence alone.
pub fn decider(ev: &RegionEvidence) -> Decider {
    if ev.critical_probes_failing > 0 {
        Decider::CriticalProbe
    } else if ev.vetoed {
        Decider::ServedVeto
    } else if ev.quorum > 0 && ev.probes_failing >= ev.quorum {
        Decider::ProbeQuorum
    } else if !ev.alarms_in_alarm.is_empty() {
        Decider::FailureAlarm
    } else {
        Decider::NoFailure
    }
}

/// True when the evidence carries anything only signal roles produce (a policy without
/// roles never does: its records read as before roles existed).
pub fn has_role_evidence(ev: &RegionEvidence) -> bool {
    ev.critical_probes_failing > 0
        || !ev.shadow_in_alarm.is_empty()
        || ev.shadow_probes_failing > 0
        || !ev.served.is_absent()
        || ev.vetoed
}

/// One line: each signal with its role and what it said, then what decided, e.g.
/// `probes (failure): failing from 2 of 3 observers (quorum 2); served
/// playback-eu-central-1-requests: serving; decided by: served veto (…)`.
pub fn signals_line(service: &Service, r: usize, ev: &RegionEvidence) -> String {
    let name = |b: &u32| {
        service
            .health
            .alarms
            .get(*b as usize)
            .map_or("?", |a| a.name.as_str())
    };
    let mut parts = vec![format!(
        "probes (failure): failing from {} of {} observers (quorum {})",
        ev.probes_failing,
        ev.probes_failing + ev.probes_ok,
        ev.quorum
    )];
    if ev.critical_probes_failing > 0 {
        parts.push(format!(
            "probes (critical): failing from {} observer(s)",
            ev.critical_probes_failing
        ));
    }
    if !ev.alarms_in_alarm.is_empty() {
        let names: Vec<String> = ev
            .alarms_in_alarm
            .iter()
            .map(|b| {
                let role = service
                    .health
                    .alarms
                    .get(*b as usize)
                    .map_or(SignalRole::Failure, |a| a.role);
                format!("{} ({})", name(b), role.as_str())
            })
            .collect();
        parts.push(format!("in ALARM: {}", names.join(", ")));
    }
    if !ev.served.is_absent() {
        let served: Vec<&str> = service
            .health
            .alarms
            .iter()
            .filter(|b| b.r == r && b.role == SignalRole::Served)
            .map(|b| b.name.as_str())
            .collect();
        let said = match ev.served {
            Served::Serving => "users served",
            _ => "no evidence users are served",
        };
        parts.push(format!("served ({}): {said}", served.join(", ")));
    }
    if !ev.shadow_in_alarm.is_empty() || ev.shadow_probes_failing > 0 {
        let names: Vec<&str> = ev.shadow_in_alarm.iter().map(name).collect();
        parts.push(format!(
            "shadow (never acts): in ALARM [{}], probes failing from {} observer(s)",
            names.join(", "),
            ev.shadow_probes_failing
        ));
    }
    parts.push(format!("decided by: {}", decider(ev).as_str()));
    parts.join("; ")
}
