//! Injecting and lifting each fault kind on the simulated world.
//!
//! [`inject`] dispatches to one function per kind, each changing the world (or the fleet)
//! and returning what is in force ([`Active`]) with the timeline's text; [`undo`] lifts it.

use super::fleet::Controller;
use crate::duration::Dur;
use crate::gameday::{Fault, alarm_targets, at};
use crate::scenario::{self, Forgery, ScenarioAlarmState, TimelineEntry, What, WrittenItem};
use crate::world::{EndpointFailure, World};
use regionctl_controller::memory::Memory;
use regionctl_core::policy::Bundle;
use std::cell::RefCell;
use std::collections::BTreeSet;

/// A fault in force, with what lifting it needs.
pub(super) enum Active {
    /// Index into the world's endpoint failures.
    Endpoint(usize),
    /// Forced alarms: (region, name).
    Alarms(Vec<(String, String)>),
    /// Flapping alarms, ALARM then OK, `period` seconds each, from `from`.
    Flap {
        alarms: Vec<(String, String)>,
        period: u64,
        from: u64,
    },
    Unreachable(String),
    Partition(String, String),
    Crash(String),
    JournalDown(String),
    Route53Down,
    Skew(String),
    Capacity(String),
    /// A controller's journal writes of some kinds fail.
    WriteFail(String),
    /// A rogue writer: forges `forgery` into `region`'s replica every tick from `from`.
    Rogue {
        id: String,
        region: String,
        victim: String,
        forgery: crate::scenario::Forgery,
        from: u64,
    },
    /// A rollout: controllers (fleet indexes, in order) take `revision` `period` apart.
    Rollout {
        order: Vec<usize>,
        period: u64,
        from: u64,
        revision: u32,
    },
}

/// Injects `fault` (`revision`: the policy revision a rollout delivers); what is in force
/// and the timeline's text. `None` for `recover`, which is not a fault.
pub(super) fn inject(
    fault: &Fault<'_>,
    revision: u32,
    bundle: &Bundle,
    world: &RefCell<World>,
    fleet: &mut [Controller],
) -> Option<(Active, String)> {
    let e = fault.entry;
    let region = e.place.region.clone().unwrap_or_default();
    let mut w = world.borrow_mut();
    let label = format!("{} {} ({})", e.what.as_str(), where_text(e), fault.id);
    Some(match e.what {
        What::EndpointsFail | What::EndpointsTimeout => {
            (endpoints_fail(&mut w, fault, region), label)
        }
        What::Alarm => force_alarms(&mut w, bundle, e, label),
        What::AlarmFlap => flap_alarms(bundle, e, fault.t, label),
        What::ApisUnreachable => {
            w.faults.unreachable.insert(region.clone());
            (Active::Unreachable(region), label)
        }
        What::Partition => (partition(&mut w, e), label),
        What::ControllerCrash => {
            for c in fleet.iter_mut().filter(|c| c.region == region) {
                c.alive = false;
            }
            (Active::Crash(region), label)
        }
        What::JournalUnavailable => {
            w.faults.journal_down.insert(region.clone());
            (Active::JournalDown(region), label)
        }
        What::Route53ControlPlaneDown => {
            w.faults.route53_down = true;
            (Active::Route53Down, label)
        }
        What::ClockSkew => skew(&mut w, e, region, label),
        What::CapacityShortfall => {
            w.faults
                .capacity_fraction
                .insert(region.clone(), e.fraction.unwrap_or(1.0));
            (Active::Capacity(region), label)
        }
        What::PolicyRollout => rollout(fleet, e, (region, fault.t, revision), label),
        What::JournalWriteFail => {
            let kinds: BTreeSet<WrittenItem> = if e.items.is_empty() {
                WrittenItem::ALL.into_iter().collect()
            } else {
                e.items.iter().copied().collect()
            };
            let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
            let text = format!("{label}: writes of {} fail", names.join(", "));
            w.faults.journal_write_fail.insert(region.clone(), kinds);
            (Active::WriteFail(region), text)
        }
        What::RogueWriter => rogue(&mut w, fault, region, fleet, label),
        // Not faults: `recover` lifts them, an operator's actions are done by `operator`.
        What::Recover | What::Pause | What::Resume | What::Override | What::Approve => {
            return None;
        }
    })
}

/// A rogue writer, from this second on (its first writes go out with this second's).
fn rogue(
    w: &mut World,
    fault: &Fault<'_>,
    region: String,
    fleet: &[Controller],
    label: String,
) -> (Active, String) {
    let e = fault.entry;
    let forgery = e.forgery.unwrap_or(Forgery::Malformed);
    let victim = e.victim.clone().unwrap_or_else(|| {
        fleet
            .iter()
            .map(|c| c.region.clone())
            .find(|c| *c != region)
            .unwrap_or_else(|| region.clone())
    });
    w.faults.rogues.insert(fault.id.clone(), forgery);
    let text = format!(
        "{label}: a rogue writer forges {} ({victim}'s) into the {region} replica every tick",
        forgery.as_str()
    );
    let active = Active::Rogue {
        id: fault.id.clone(),
        region,
        victim,
        forgery,
        from: fault.t,
    };
    (active, text)
}

fn endpoints_fail(w: &mut World, fault: &Fault<'_>, region: String) -> Active {
    w.faults.endpoints.push(EndpointFailure {
        id: fault.id.clone(),
        region,
        services: fault.entry.place.services.clone(),
        from: at(fault.t),
        to: None,
    });
    Active::Endpoint(w.faults.endpoints.len() - 1)
}

fn force_alarms(
    w: &mut World,
    bundle: &Bundle,
    e: &TimelineEntry,
    label: String,
) -> (Active, String) {
    let alarms = alarms_matching(bundle, e);
    let state = e.state.map(|s| s.core());
    for (r, n) in &alarms {
        w.update_alarm(r, n, None, Some(state));
    }
    let text = format!(
        "{label}: {} alarm(s) forced to {}",
        alarms.len(),
        e.state.map_or("?", |s| match s {
            ScenarioAlarmState::Alarm => "ALARM",
            ScenarioAlarmState::Ok => "OK",
            ScenarioAlarmState::InsufficientData => "INSUFFICIENT_DATA",
        })
    );
    (Active::Alarms(alarms), text)
}

fn flap_alarms(bundle: &Bundle, e: &TimelineEntry, t: u64, label: String) -> (Active, String) {
    let alarms = alarms_matching(bundle, e);
    let period = e.period.map_or(30, Dur::secs).max(1);
    let text = format!(
        "{label}: {} alarm(s) flap ALARM/OK every {}",
        alarms.len(),
        Dur(period)
    );
    let active = Active::Flap {
        alarms,
        period,
        from: t,
    };
    (active, text)
}

fn partition(w: &mut World, e: &TimelineEntry) -> Active {
    let b = e.place.between.clone().unwrap_or_default();
    let (x, y) = (
        b.first().cloned().unwrap_or_default(),
        b.get(1).cloned().unwrap_or_default(),
    );
    let key = if x <= y { (x, y) } else { (y, x) };
    w.faults.partitions.insert(key.clone());
    Active::Partition(key.0, key.1)
}

fn skew(w: &mut World, e: &TimelineEntry, region: String, label: String) -> (Active, String) {
    let ms = e
        .skew
        .as_deref()
        .and_then(|k| scenario::parse_skew(k).ok())
        .unwrap_or(0);
    w.skew_ms.insert(region.clone(), ms);
    let text = format!(
        "{label}: clock off by {}{}",
        if ms < 0 { "-" } else { "+" },
        Dur(ms.unsigned_abs() / 1000)
    );
    (Active::Skew(region), text)
}

/// A new revision reaching the controllers from `where.region` on, in fleet order,
/// wrapping around.
fn rollout(
    fleet: &[Controller],
    e: &TimelineEntry,
    (region, t, revision): (String, u64, u32),
    label: String,
) -> (Active, String) {
    let n = fleet.len();
    let first = fleet.iter().position(|c| c.region == region).unwrap_or(0);
    let order: Vec<usize> = (0..n).map(|k| (first + k) % n).collect();
    let period = e.period.map_or(60, Dur::secs);
    let names: Vec<&str> = order.iter().map(|i| fleet[*i].region.as_str()).collect();
    let text = format!(
        "{label}: a new policy revision reaches {} {} apart",
        names.join(" → "),
        Dur(period)
    );
    let active = Active::Rollout {
        order,
        period,
        from: t,
        revision,
    };
    (active, text)
}

/// Lifts a fault at `t`. A crashed controller restarts with no memory (`bundle`'s).
pub(super) fn undo(
    a: &Active,
    t: u64,
    bundle: &Bundle,
    world: &RefCell<World>,
    fleet: &mut [Controller],
) {
    let mut w = world.borrow_mut();
    match a {
        Active::Endpoint(ix) => {
            if let Some(f) = w.faults.endpoints.get_mut(*ix) {
                f.to = Some(at(t));
            }
        }
        Active::Alarms(alarms) | Active::Flap { alarms, .. } => {
            for (r, n) in alarms {
                w.update_alarm(r, n, None, Some(None));
            }
        }
        Active::Unreachable(r) => {
            w.faults.unreachable.remove(r);
        }
        Active::Partition(x, y) => {
            w.faults.partitions.remove(&(x.clone(), y.clone()));
        }
        Active::Crash(r) => {
            for c in fleet.iter_mut().filter(|c| &c.region == r) {
                c.alive = true;
                c.memory = Memory::unknown(bundle);
                c.stand_down = None;
            }
        }
        Active::JournalDown(r) => {
            w.faults.journal_down.remove(r);
        }
        Active::Route53Down => w.faults.route53_down = false,
        Active::WriteFail(r) => {
            w.faults.journal_write_fail.remove(r);
        }
        Active::Rogue { id, .. } => {
            w.faults.rogues.remove(id);
        }
        Active::Skew(r) => {
            w.skew_ms.remove(r);
        }
        Active::Capacity(r) => {
            w.faults.capacity_fraction.remove(r);
        }
        // Recovering a rollout completes it: every controller runs the new revision (or
        // a later one it already has: revisions only move forward).
        Active::Rollout {
            order, revision, ..
        } => {
            for i in order {
                if let Some(c) = fleet.get_mut(*i) {
                    c.revision = c.revision.max(*revision);
                }
            }
        }
    }
}

/// The (region, name) of every alarm an `alarm`/`alarm-flap` entry targets.
fn alarms_matching(bundle: &Bundle, e: &TimelineEntry) -> Vec<(String, String)> {
    let names: BTreeSet<(String, String)> = alarm_targets(bundle, e)
        .into_iter()
        .map(|t| (t.region, t.alarm))
        .collect();
    names.into_iter().collect()
}

fn where_text(e: &TimelineEntry) -> String {
    let mut parts = Vec::new();
    if let Some(r) = &e.place.region {
        parts.push(r.clone());
    }
    if let Some(b) = &e.place.between {
        parts.push(b.join(" ⟷ "));
    }
    if !e.place.services.is_empty() {
        parts.push(format!("services {}", e.place.services.join(", ")));
    }
    if !e.place.cells.is_empty() {
        parts.push(format!("cells {}", e.place.cells.join(", ")));
    }
    parts.join(", ")
}

/// The bundle as a rollout delivers it: the same policies under a new hash (as if a
/// comment had changed in git), so only coordination is exercised, never new behaviour.
pub(super) fn revision_of(bundle: &Bundle, id: &str) -> Bundle {
    use sha2::Digest;
    let mut b = bundle.clone();
    let digest = sha2::Sha256::digest(format!("{}\0rollout {id}", bundle.hash).as_bytes());
    b.hash = digest.iter().map(|x| format!("{x:02x}")).collect();
    b
}
