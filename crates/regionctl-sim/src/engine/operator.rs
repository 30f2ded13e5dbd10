//! An operator in the game-day (issue 19): `pause`, `resume`, `override` and `approve`
//! timeline entries write the journal items `regionctl pause`, `resume`, `override` and
//! `approve` write, into the replica of the operator's region (the first controller region
//! whose replica is up), from where they replicate like any item. Nothing else about the
//! world changes: the controllers must read and honour them, as in production.

use crate::duration::Dur;
use crate::scenario::{OverrideKind, TimelineEntry, What};
use crate::world::World;
use regionctl_controller::approval;
use regionctl_controller::journal::{self, Approval, DecisionRecord, OutcomeRecord};
use regionctl_controller::status::OutcomeStatus;
use regionctl_core::controls::{Override, OverrideAction, Pause};
use regionctl_core::time::Timestamp;

/// Who the game-day's operator is (as STS would name a person's role session).
pub(super) const OPERATOR: &str = "arn:aws:sts::123456789012:assumed-role/sre/gameday-operator";
/// An override without `duration` holds this long.
const DEFAULT_OVERRIDE_SECS: u64 = 30 * 60;

/// The fleet's settings an operator's action depends on.
pub(super) struct Desk<'a> {
    /// The controllers' regions, in fleet order.
    pub(super) controllers: &'a [String],
    /// `ControllerConfig.approval_timeout_secs`: the length of an approval round.
    pub(super) approval_timeout_secs: u64,
}

/// Performs operator action `e` at `now`; the timeline's text (what was written, or why
/// nothing could be).
pub(super) fn act(w: &mut World, desk: &Desk<'_>, e: &TimelineEntry, now: Timestamp) -> String {
    let Some(own) = desk
        .controllers
        .iter()
        .find(|r| !w.faults.journal_down.contains(*r))
        .cloned()
    else {
        return format!(
            "{}: no journal replica is up, nothing written",
            e.what.as_str()
        );
    };
    let why = e.note.clone().unwrap_or_else(|| "game-day".into());
    match e.what {
        What::Pause => {
            let p = Pause {
                who: OPERATOR.into(),
                why: why.clone(),
                at: now,
            };
            w.operator_write(&own, &journal::pause_item(&p, &own));
            format!("operator paused automation (in {own}): {why}")
        }
        What::Resume => {
            let mut item = journal::pause_item(
                &Pause {
                    who: OPERATOR.into(),
                    why: String::new(),
                    at: now,
                },
                &own,
            );
            item.body = serde_json::Value::Null;
            w.operator_write(&own, &item);
            format!("operator resumed automation (in {own})")
        }
        What::Override => override_item(w, &own, e, (why, now)),
        What::Approve => approve(w, desk, &own, e, now),
        _ => String::new(),
    }
}

/// An `override`: drain or restore `where.region` for `duration`.
fn override_item(
    w: &mut World,
    own: &str,
    e: &TimelineEntry,
    (why, now): (String, Timestamp),
) -> String {
    let action = match e.action {
        Some(OverrideKind::Restore) => OverrideAction::Restore,
        _ => OverrideAction::Drain,
    };
    let secs = e.duration.map_or(DEFAULT_OVERRIDE_SECS, |d: Dur| d.secs());
    let o = Override {
        service: e.place.services.first().cloned(),
        region: e.place.region.clone().unwrap_or_default(),
        cell: e.place.cells.first().cloned(),
        action,
        who: OPERATOR.into(),
        why: why.clone(),
        expires_at: now.plus_secs(secs),
    };
    w.operator_write(own, &journal::override_item(&o, own));
    format!(
        "operator override {action:?} {} (service {}, cell {}) for {} (in {own}): {why}",
        o.region,
        o.service.as_deref().unwrap_or("*"),
        o.cell.as_deref().unwrap_or("*"),
        Dur(secs)
    )
}

/// An `approve`: the newest decision of the service awaiting approval, in its round.
fn approve(w: &mut World, desk: &Desk<'_>, own: &str, e: &TimelineEntry, now: Timestamp) -> String {
    let service = e.place.services.first().cloned().unwrap_or_default();
    let Some(record) = awaiting(w, own, &service) else {
        return format!("operator approve {service}: no decision waits to be applied (in {own})");
    };
    let round = approval::round_at(record.at, desk.approval_timeout_secs, now);
    let a = Approval {
        id: record.id.clone(),
        who: OPERATOR.into(),
        at: now,
        round,
    };
    w.operator_write(own, &journal::approval_item(&a, own));
    format!(
        "operator approved {service} decision {} round {round} (in {own})",
        record.id
    )
}

/// The newest decision of `service` in `region`'s replica that no controller has applied
/// (what `regionctl status` lists as awaiting approval: its outcome item keeps the status
/// it was first recorded with, `paused` for one proposed while paused).
fn awaiting(w: &World, region: &str, service: &str) -> Option<DecisionRecord> {
    let items = w.journal.query(region, &format!("DECISION#{service}"), "");
    let applied: Vec<String> = items
        .iter()
        .filter(|i| i.sk.contains("#OUTCOME#"))
        .filter_map(|i| serde_json::from_value::<OutcomeRecord>(i.body.clone()).ok())
        .filter(|o| o.status == OutcomeStatus::Applied)
        .map(|o| o.id)
        .collect();
    items
        .iter()
        .filter(|i| i.sk.ends_with("#INTENT"))
        .filter_map(|i| serde_json::from_value::<DecisionRecord>(i.body.clone()).ok())
        .filter(|d| !applied.contains(&d.id))
        .max_by_key(|d| d.at)
}
