//! Which signal said what, with its role, and which one decided: rows per (service,
//! region) for the status page ([`signal_rows`]), and one line built from them for
//! `explain`, decision records and `plan` ([`signals_line`]) (ADR 0015).

use super::{RegionEvidence, Served};
use crate::policy::Service;
use crate::policy::raw::SignalRole;
use serde::Serialize;

/// What decided a region's verdict this pass, strongest first (as `evaluate` weighs it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
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

/// A role as people read it: `shadow (never acts)` says what a shadow signal is wherever
/// it is shown; the others by name.
pub fn role_label(role: SignalRole) -> &'static str {
    match role {
        SignalRole::Shadow => "shadow (never acts)",
        other => other.as_str(),
    }
}

/// What one signal said this pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "said", rename_all = "kebab-case")]
pub enum Said {
    /// `failure` probes: failing from `failing` observers, answering for `ok`, against the
    /// `quorum` that applied.
    ProbeQuorum {
        /// Observers whose probes fail.
        failing: u16,
        /// Observers whose probes answer.
        ok: u16,
        /// The quorum that applied.
        quorum: u16,
    },
    /// `critical` or `shadow` probes: each observer counts alone (no quorum).
    ProbesFailing {
        /// Observers whose probes of this role fail.
        failing: u16,
    },
    /// An alarm in ALARM.
    InAlarm,
    /// The region's `served` alarms (every one named in the row).
    Served {
        /// What they say together.
        served: Served,
    },
}

impl Said {
    /// Words for people, e.g. `failing from 2 of 3 observers (quorum 2)`.
    pub fn text(&self) -> String {
        match *self {
            // No verdict at all (no probes from anyone yet, or none fresh): "failing
            // from 0 of 0" read like a count of failures.
            Said::ProbeQuorum {
                failing: 0,
                ok: 0,
                quorum,
            } => format!("no observer reported (quorum {quorum})"),
            Said::ProbeQuorum {
                failing,
                ok,
                quorum,
            } => format!(
                "failing from {failing} of {} observers (quorum {quorum})",
                failing + ok
            ),
            Said::ProbesFailing { failing } => format!("failing from {failing} observer(s)"),
            Said::InAlarm => "in ALARM".to_string(),
            Said::Served {
                served: Served::Serving,
            } => "users served".to_string(),
            Said::Served { .. } => "no evidence users are served".to_string(),
        }
    }
}

/// One signal of a (service, region), as `explain` and the status page show it: its role,
/// its name (an alarm, the region's `served` alarms, or `probes`), what it said, and
/// whether it is the evidence that decided the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignalRow {
    /// The signal's role.
    pub role: SignalRole,
    /// The alarm's name, the `served` alarms' names (`, `-separated), or `probes`.
    pub signal: String,
    /// What it said.
    #[serde(flatten)]
    pub said: Said,
    /// It is (or, for alarms, is among) the evidence that decided ([`decider`]).
    pub decided: bool,
}

/// The signals of one (service, local region) from its evidence, in `explain`'s order:
/// failure probes (always), critical probes (when the region has any, or any failed),
/// failure and critical alarms in ALARM, the `served` reading (when the service has
/// `served` signals), then shadow alarms in ALARM and shadow probes (when the region has
/// any, or any failed). Alarms in OK are not listed: the evidence keeps only those in
/// ALARM.
pub fn signal_rows(service: &Service, r: usize, ev: &RegionEvidence) -> Vec<SignalRow> {
    let by = decider(ev);
    let binding = |b: &u32| service.health.alarms.get(*b as usize);
    let has_probes = |role: SignalRole| {
        service
            .health
            .probes
            .get(r)
            .is_some_and(|ps| ps.iter().any(|p| p.role == role))
    };
    let probes = |role: SignalRole, failing: u16, decided: bool| SignalRow {
        role,
        signal: "probes".to_string(),
        said: Said::ProbesFailing { failing },
        decided,
    };
    let mut rows = vec![SignalRow {
        role: SignalRole::Failure,
        signal: "probes".to_string(),
        said: Said::ProbeQuorum {
            failing: ev.probes_failing,
            ok: ev.probes_ok,
            quorum: ev.quorum,
        },
        decided: by == Decider::ProbeQuorum,
    }];
    if ev.critical_probes_failing > 0 || has_probes(SignalRole::Critical) {
        let decided = by == Decider::CriticalProbe;
        rows.push(probes(
            SignalRole::Critical,
            ev.critical_probes_failing,
            decided,
        ));
    }
    rows.extend(ev.alarms_in_alarm.iter().map(|b| SignalRow {
        role: binding(b).map_or(SignalRole::Failure, |a| a.role),
        signal: binding(b).map_or("?", |a| a.name.as_str()).to_string(),
        said: Said::InAlarm,
        decided: by == Decider::FailureAlarm,
    }));
    if !ev.served.is_absent() {
        let names: Vec<&str> = service
            .health
            .alarms
            .iter()
            .filter(|b| b.r == r && b.role == SignalRole::Served)
            .map(|b| b.name.as_str())
            .collect();
        rows.push(SignalRow {
            role: SignalRole::Served,
            signal: names.join(", "),
            said: Said::Served { served: ev.served },
            decided: by == Decider::ServedVeto,
        });
    }
    rows.extend(ev.shadow_in_alarm.iter().map(|b| SignalRow {
        role: SignalRole::Shadow,
        signal: binding(b).map_or("?", |a| a.name.as_str()).to_string(),
        said: Said::InAlarm,
        decided: false,
    }));
    if ev.shadow_probes_failing > 0 || has_probes(SignalRole::Shadow) {
        rows.push(probes(SignalRole::Shadow, ev.shadow_probes_failing, false));
    }
    rows
}

/// One line: each signal with its role and what it said, then what decided, e.g.
/// `probes (failure): failing from 2 of 3 observers (quorum 2); served
/// (playback-eu-central-1-requests): users served; decided by: served veto (…)`. Built
/// from [`signal_rows`]; critical and shadow probes appear only when some failed.
pub fn signals_line(service: &Service, r: usize, ev: &RegionEvidence) -> String {
    let rows = signal_rows(service, r, ev);
    let acting = |x: &&SignalRow| x.role != SignalRole::Shadow;
    let mut parts: Vec<String> = rows
        .iter()
        .filter(acting)
        .filter(|x| match x.said {
            Said::ProbeQuorum { .. } => true,
            Said::ProbesFailing { failing } => failing > 0,
            _ => false,
        })
        .map(|x| format!("probes ({}): {}", x.role.as_str(), x.said.text()))
        .collect();
    let alarms: Vec<String> = rows
        .iter()
        .filter(acting)
        .filter(|x| x.said == Said::InAlarm)
        .map(|x| format!("{} ({})", x.signal, x.role.as_str()))
        .collect();
    if !alarms.is_empty() {
        parts.push(format!("in ALARM: {}", alarms.join(", ")));
    }
    parts.extend(
        rows.iter()
            .filter(|x| matches!(x.said, Said::Served { .. }))
            .map(|x| format!("served ({}): {}", x.signal, x.said.text())),
    );
    let shadow = rows.iter().filter(|x| x.role == SignalRole::Shadow);
    let shadow_alarms: Vec<&str> = shadow
        .clone()
        .filter(|x| x.said == Said::InAlarm)
        .map(|x| x.signal.as_str())
        .collect();
    let shadow_probes = shadow
        .filter_map(|x| match x.said {
            Said::ProbesFailing { failing } => Some(failing),
            _ => None,
        })
        .sum::<u16>();
    if !shadow_alarms.is_empty() || shadow_probes > 0 {
        parts.push(format!(
            "{}: in ALARM [{}], probes failing from {shadow_probes} observer(s)",
            role_label(SignalRole::Shadow),
            shadow_alarms.join(", ")
        ));
    }
    parts.push(format!("decided by: {}", decider(ev).as_str()));
    parts.join("; ")
}
