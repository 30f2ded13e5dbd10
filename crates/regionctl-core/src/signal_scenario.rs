//! `plan --signal`: "what if only the probes fail?". A scenario that sets individual
//! signals of a (service, region) — `playback:eu-central-1:probe=fail,served=ok` — is
//! turned into observations and run through the same [`evaluate`] as the controllers, so
//! the answer includes the served veto, critical signals and shadow ones (ADR 0015).
//! Signals not named are OK; everything has held for a day, so hysteresis has passed.

use crate::health::{
    AlarmObservation, AlarmState, HealthView, Observations, ProbeVerdict, evaluate,
};
use crate::policy::raw::SignalRole;
use crate::policy::{Bundle, RegionIx};
use crate::time::Timestamp;

/// What a signal says in a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Said {
    /// Failing (alarm in ALARM, probe failing; for `served`: users not served).
    Fail,
    /// OK.
    Ok,
}

/// One `--signal`: a (service, region) and what each role's signals say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalSetting {
    /// Service index.
    pub service: usize,
    /// Local region index.
    pub r: usize,
    /// What each kind says, in the order given.
    pub says: Vec<(SignalKind, Said)>,
    /// The text as given, for the scenario's description.
    pub text: String,
}

/// The signals a setting may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalKind {
    /// `failure` probes (`probe`).
    Probe,
    /// `failure` alarms (`alarm`).
    Alarm,
    /// `critical` alarms and probes.
    Critical,
    /// `shadow` alarms and probes.
    Shadow,
    /// `served` alarms.
    Served,
}

impl SignalKind {
    fn parse(word: &str) -> Option<SignalKind> {
        Some(match word {
            "probe" => SignalKind::Probe,
            "alarm" => SignalKind::Alarm,
            "critical" => SignalKind::Critical,
            "shadow" => SignalKind::Shadow,
            "served" => SignalKind::Served,
            _ => return None,
        })
    }

    /// Whether an alarm of `role` is one of this kind's.
    fn alarm(self, role: SignalRole) -> bool {
        matches!(
            (self, role),
            (SignalKind::Alarm, SignalRole::Failure)
                | (SignalKind::Critical, SignalRole::Critical)
                | (SignalKind::Shadow, SignalRole::Shadow)
                | (SignalKind::Served, SignalRole::Served)
        )
    }

    /// The probe role this kind sets, if any.
    fn probe(self) -> Option<SignalRole> {
        match self {
            SignalKind::Probe => Some(SignalRole::Failure),
            SignalKind::Critical => Some(SignalRole::Critical),
            SignalKind::Shadow => Some(SignalRole::Shadow),
            SignalKind::Alarm | SignalKind::Served => None,
        }
    }
}

const SYNTAX: &str = "expected SERVICE:REGION:KIND=fail|ok[,KIND=fail|ok…] with KIND one of \
                      probe, alarm, critical, shadow, served";

/// Parses `SERVICE:REGION:KIND=STATE[,KIND=STATE…]` against the bundle.
pub fn parse_signal(bundle: &Bundle, text: &str) -> Result<SignalSetting, String> {
    let mut parts = text.splitn(3, ':');
    let (Some(service), Some(region), Some(says)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("`{text}`: {SYNTAX}"));
    };
    let s = bundle
        .service_index(service)
        .ok_or_else(|| format!("`{text}`: unknown service `{service}`"))?;
    let r = bundle.services[s]
        .regions
        .iter()
        .position(|x| x.name == region)
        .ok_or_else(|| format!("`{text}`: service `{service}` does not run in `{region}`"))?;
    let says = says
        .split(',')
        .map(|pair| {
            let (kind, state) = pair
                .split_once('=')
                .ok_or_else(|| format!("`{text}`: `{pair}`: {SYNTAX}"))?;
            let kind = SignalKind::parse(kind)
                .ok_or_else(|| format!("`{text}`: unknown signal `{kind}`: {SYNTAX}"))?;
            let said = match state {
                "fail" => Said::Fail,
                "ok" => Said::Ok,
                _ => return Err(format!("`{text}`: `{state}` is not fail or ok")),
            };
            Ok((kind, said))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(SignalSetting {
        service: s,
        r,
        says,
        text: text.to_string(),
    })
}

/// Observations in which every signal is OK for a day, except what `settings` say.
fn observations(bundle: &Bundle, settings: &[SignalSetting], since: Timestamp) -> Observations {
    let observers = bundle.regions.len();
    let mut o = Observations::empty(bundle, u32::try_from(observers).unwrap_or(u32::MAX));
    let said = |s: usize, r: usize, kind: SignalKind| {
        settings
            .iter()
            .filter(|x| x.service == s && x.r == r)
            .flat_map(|x| x.says.iter())
            .filter(|(k, _)| *k == kind)
            .map(|(_, v)| *v)
            .next_back()
            .unwrap_or(Said::Ok)
    };
    let kinds = [
        SignalKind::Alarm,
        SignalKind::Critical,
        SignalKind::Shadow,
        SignalKind::Served,
    ];
    for (s, service) in bundle.services.iter().enumerate() {
        for (b, binding) in service.health.alarms.iter().enumerate() {
            let fail = kinds
                .iter()
                .any(|k| k.alarm(binding.role) && said(s, binding.r, *k) == Said::Fail);
            let state = if fail {
                AlarmState::Alarm
            } else {
                AlarmState::Ok
            };
            o.alarms[s][b] = Some(AlarmObservation { state, since });
        }
        for (r, probes) in service.health.probes.iter().enumerate() {
            for kind in [SignalKind::Probe, SignalKind::Critical, SignalKind::Shadow] {
                let Some(role) = kind.probe() else { continue };
                if !probes.iter().any(|p| p.role == role) {
                    continue;
                }
                let ok = said(s, r, kind) == Said::Ok;
                for observer in 0..observers {
                    o.probes.push(ProbeVerdict {
                        observer: RegionIx::try_from(observer).unwrap_or(RegionIx::MAX),
                        service: s,
                        r,
                        ok,
                        since,
                        role,
                    });
                }
            }
        }
    }
    o
}

/// `view` with the (service, region)s that `settings` name evaluated from their signals:
/// the same evaluation as the controllers', after a day of the same evidence.
pub fn apply_signals(
    bundle: &Bundle,
    settings: &[SignalSetting],
    view: &HealthView,
    now: Timestamp,
) -> HealthView {
    if settings.is_empty() {
        return view.clone();
    }
    let day_ago = Timestamp(now.millis() - 86_400_000);
    let o = observations(bundle, settings, day_ago);
    let evaluated = evaluate(bundle, &o, view, now);
    let mut out = view.clone();
    for x in settings {
        let (from, to) = (&evaluated.services[x.service], &mut out.services[x.service]);
        for c in 0..bundle.services[x.service].cells.len() {
            to.entries[(c, x.r)] = from.entries[(c, x.r)];
        }
        to.evidence[x.r] = from.evidence[x.r].clone();
    }
    out
}
