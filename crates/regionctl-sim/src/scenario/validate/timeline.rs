//! The timeline's checks: time order, ids, where each fault applies and the fields its
//! kind needs.

use super::Names;
use crate::duration::Dur;
use crate::scenario::format::{TimelineEntry, What};
use crate::scenario::load::{ScenarioError, parse_skew};

/// `timeline[i]`: its time, its id, where it applies and the fields its kind needs.
pub(super) fn check_timeline_entry(
    n: &Names<'_>,
    i: usize,
    e: &TimelineEntry,
) -> Vec<ScenarioError> {
    let previous_at = i
        .checked_sub(1)
        .map_or(0, |p| n.scenario.timeline[p].at.secs());
    let mut errors = check_entry_time(n, i, e, previous_at);
    errors.extend(check_entry_id(n, i, e));
    errors.extend(check_entry_region(n, i, e));
    errors.extend(check_entry_partition(n, i, e));
    errors.extend(check_entry_services_and_cells(n, i, e));
    errors.extend(check_entry_roles(n, i, e));
    errors.extend(check_entry_fields(n, i, e));
    errors.extend(check_operator_fields(n, i, e));
    errors
}

/// `timeline[i].{k}`.
fn entry_field(i: usize, k: &str) -> String {
    format!("timeline[{i}].{k}")
}

/// Entries in time order, none after the end of the game-day.
fn check_entry_time(
    n: &Names<'_>,
    i: usize,
    e: &TimelineEntry,
    previous_at: u64,
) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    if e.at.secs() < previous_at {
        errors.push(n.error(
            &entry_field(i, "at"),
            format!(
                "timeline entries must be in time order ({} comes after {})",
                e.at,
                Dur(previous_at)
            ),
        ));
    }
    let duration = n.scenario.world.duration;
    if e.at.secs() > duration.secs() {
        errors.push(n.error(
            &entry_field(i, "at"),
            format!(
                "{} is after the end of the game-day (world.duration {duration})",
                e.at
            ),
        ));
    }
    errors
}

/// Ids are unique, and `all` is reserved for `recover: [all]`.
fn check_entry_id(n: &Names<'_>, i: usize, e: &TimelineEntry) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    if let Some(id) = &e.id {
        if n.ids.iter().filter(|x| **x == id).count() > 1 {
            errors.push(n.error(
                &entry_field(i, "id"),
                format!("id `{id}` is used more than once"),
            ));
        }
        if id == "all" {
            errors.push(n.error(&entry_field(i, "id"), "`all` is reserved (recover: [all])"));
        }
    }
    errors
}

/// `where.region`: known and allowed, present for the kinds that need it, and a
/// controller's region for the kinds that act on a controller.
fn check_entry_region(n: &Names<'_>, i: usize, e: &TimelineEntry) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    let needs_region = matches!(
        e.what,
        What::EndpointsFail
            | What::EndpointsTimeout
            | What::Alarm
            | What::AlarmFlap
            | What::ApisUnreachable
            | What::ControllerCrash
            | What::JournalUnavailable
            | What::ClockSkew
            | What::CapacityShortfall
            | What::PolicyRollout
            | What::JournalWriteFail
            | What::RogueWriter
            | What::Override
    );
    match &e.place.region {
        Some(r) if !n.known_region(r) => errors.push(n.error(
            &entry_field(i, "where.region"),
            format!("unknown region `{r}`; regions: {}", n.region_list()),
        )),
        Some(r) if !n.allowed(r) => errors.push(n.error(
            &entry_field(i, "where.region"),
            format!("region {r} is not in guardrails.regions"),
        )),
        None if needs_region => errors.push(n.error(
            &entry_field(i, "where"),
            format!("`{}` needs `where.region`", e.what.as_str()),
        )),
        _ => {}
    }
    if matches!(
        e.what,
        What::ControllerCrash
            | What::ClockSkew
            | What::JournalUnavailable
            | What::PolicyRollout
            | What::JournalWriteFail
            | What::RogueWriter
    ) && let Some(r) = &e.place.region
        && !n.controllers.contains(r)
    {
        errors.push(n.error(
            &entry_field(i, "where.region"),
            format!(
                "no controller runs in {r}; controllers: {}",
                n.controller_list()
            ),
        ));
    }
    errors
}

/// `partition`: `where.between` names two different regions, both known and allowed.
fn check_entry_partition(n: &Names<'_>, i: usize, e: &TimelineEntry) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    if e.what != What::Partition {
        return errors;
    }
    match &e.place.between {
        Some(b) if b.len() == 2 && b[0] != b[1] => {
            for (j, r) in b.iter().enumerate() {
                let field = entry_field(i, &format!("where.between[{j}]"));
                if !n.known_region(r) {
                    errors.push(n.error(
                        &field,
                        format!("unknown region `{r}`; regions: {}", n.region_list()),
                    ));
                } else if !n.allowed(r) {
                    errors
                        .push(n.error(&field, format!("region {r} is not in guardrails.regions")));
                }
            }
        }
        _ => errors.push(n.error(
            &entry_field(i, "where"),
            "`partition` needs `where.between: [REGION, REGION]` (two different regions)",
        )),
    }
    errors
}

/// `where.services` are the bundle's; `where.cells` only for alarms, and cells of the
/// services named.
fn check_entry_services_and_cells(
    n: &Names<'_>,
    i: usize,
    e: &TimelineEntry,
) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    for (j, svc) in e.place.services.iter().enumerate() {
        errors.extend(n.unknown_service(&entry_field(i, &format!("where.services[{j}]")), svc));
    }
    if e.place.cells.is_empty() {
        return errors;
    }
    if e.what != What::Alarm && e.what != What::AlarmFlap {
        errors.push(n.error(
            &entry_field(i, "where.cells"),
            "cells apply to `alarm` and `alarm-flap` only",
        ));
    }
    for (j, cell) in e.place.cells.iter().enumerate() {
        let found = n
            .bundle
            .services
            .iter()
            .filter(|x| e.place.services.is_empty() || e.place.services.contains(&x.name))
            .any(|x| x.cells.iter().any(|c| &c.id == cell));
        if !found {
            errors.push(n.error(
                &entry_field(i, &format!("where.cells[{j}]")),
                format!("no service named here has a cell `{cell}`"),
            ));
        }
    }
    errors
}

/// `where.roles` only for alarms, and naming at least one alarm there: a role no alarm of
/// the region has would force nothing, and the game-day would prove nothing.
fn check_entry_roles(n: &Names<'_>, i: usize, e: &TimelineEntry) -> Vec<ScenarioError> {
    if e.place.roles.is_empty() {
        return Vec::new();
    }
    let field = entry_field(i, "where.roles");
    if e.what != What::Alarm && e.what != What::AlarmFlap {
        return vec![n.error(&field, "roles apply to `alarm` and `alarm-flap` only")];
    }
    if e.place.region.is_some() && crate::gameday::alarm_targets(n.bundle, e).is_empty() {
        let roles: Vec<&str> = e.place.roles.iter().map(|r| r.as_str()).collect();
        return vec![n.error(
            &field,
            format!(
                "no alarm with role {} in this region of the services named",
                roles.join(" or ")
            ),
        )];
    }
    Vec::new()
}

/// The fields each kind needs: `state`, `period`, `skew`, `fraction`, or for `recover`
/// faults named by earlier entries.
fn check_entry_fields(n: &Names<'_>, i: usize, e: &TimelineEntry) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    let f = |k: &str| entry_field(i, k);
    match e.what {
        What::Alarm if e.state.is_none() => errors.push(n.error(
            &f("state"),
            "`alarm` needs `state: ALARM | OK | INSUFFICIENT_DATA`",
        )),
        What::AlarmFlap if e.period.is_none_or(|p| p.secs() == 0) => {
            errors.push(n.error(&f("period"), "`alarm-flap` needs `period` (e.g. 30s)"));
        }
        What::ClockSkew => match &e.skew {
            None => errors.push(n.error(
                &f("skew"),
                "`clock-skew` needs `skew` (e.g. `90s` or `-2m`)",
            )),
            Some(k) => {
                if let Err(m) = parse_skew(k) {
                    errors.push(n.error(&f("skew"), m));
                }
            }
        },
        What::CapacityShortfall if e.fraction.is_none_or(|x| !(0.0..=1.0).contains(&x)) => {
            errors.push(n.error(
                &f("fraction"),
                "`capacity-shortfall` needs `fraction` between 0 and 1",
            ));
        }
        What::RogueWriter if e.forgery.is_none() => errors.push(n.error(
            &f("forgery"),
            format!(
                "`rogue-writer` needs `forgery`: one of {}",
                crate::scenario::Forgery::ALL.map(|x| x.as_str()).join(", ")
            ),
        )),
        What::Recover => errors.extend(check_recovered_faults(n, i, e)),
        _ => {}
    }
    if let Some(v) = &e.victim
        && (e.what != What::RogueWriter || !n.controllers.contains(v))
    {
        errors.push(n.error(
            &f("victim"),
            format!(
                "`victim` names a controller of a `rogue-writer` entry; controllers: {}",
                n.controller_list()
            ),
        ));
    }
    if !e.items.is_empty() && e.what != What::JournalWriteFail {
        errors.push(n.error(&f("items"), "`items` is for `journal-write-fail` only"));
    }
    if e.forgery.is_some() && e.what != What::RogueWriter {
        errors.push(n.error(&f("forgery"), "`forgery` is for `rogue-writer` only"));
    }
    errors
}

/// `recover`: names faults, each `all` or the id of an earlier fault (not a recovery).
fn check_recovered_faults(n: &Names<'_>, i: usize, e: &TimelineEntry) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    if e.faults.is_empty() {
        errors.push(n.error(
            &entry_field(i, "faults"),
            "`recover` needs `faults: [ID, …]` or `[all]`",
        ));
    }
    for (j, id) in e.faults.iter().enumerate() {
        let earlier = n.scenario.timeline[..i].iter().any(|x| {
            x.id.as_deref() == Some(id.as_str())
                && x.what != What::Recover
                && !x.what.is_operator_action()
        });
        if id != "all" && !earlier {
            errors.push(n.error(
                &entry_field(i, &format!("faults[{j}]")),
                format!(
                    "no earlier fault has id `{id}` (an operator's action is not a fault: \
                     `resume` ends a `pause`, an `override` ends by its `duration`)"
                ),
            ));
        }
    }
    errors
}

/// The longest override `regionctl override` accepts (1440 minutes).
const MAX_OVERRIDE_SECS: u64 = 24 * 3600;

/// An operator's actions: `override` needs `action`, one service and one cell at most and
/// a `duration` of at most a day; `approve` names exactly one service; `action` and
/// `duration` belong to `override` only.
fn check_operator_fields(n: &Names<'_>, i: usize, e: &TimelineEntry) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    let f = |k: &str| entry_field(i, k);
    if e.what == What::Override {
        if e.action.is_none() {
            errors.push(n.error(&f("action"), "`override` needs `action: drain | restore`"));
        }
        if e.place.services.len() > 1 || e.place.cells.len() > 1 {
            errors.push(n.error(
                &f("where"),
                "`override` names at most one service and one cell (none: all of them)",
            ));
        }
        if e.duration
            .is_some_and(|d| d.secs() == 0 || d.secs() > MAX_OVERRIDE_SECS)
        {
            errors.push(n.error(
                &f("duration"),
                "`duration` of an override is more than 0 and at most 24h",
            ));
        }
    } else {
        if e.action.is_some() {
            errors.push(n.error(&f("action"), "`action` is for `override` only"));
        }
        if e.duration.is_some() {
            errors.push(n.error(&f("duration"), "`duration` is for `override` only"));
        }
    }
    if e.what == What::Approve && e.place.services.len() != 1 {
        errors.push(n.error(
            &f("where.services"),
            "`approve` names exactly one service: the one whose decision awaits approval",
        ));
    }
    errors
}
