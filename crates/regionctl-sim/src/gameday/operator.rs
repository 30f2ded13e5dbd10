//! An operator in the game-day (issue 19): `pause`, `resume`, `override` and `approve`
//! timeline entries become the journal items `regionctl pause`, `resume`, `override` and
//! `approve` write. Every target writes them into its journal (the simulated world into
//! the replica of the operator's region, moto into its one table) and changes nothing
//! else: the controllers must read and honour them, as in production.
//!
//! What to write is decided here, once, from the entry, the time and (for `approve`) the
//! decisions the journal holds; how to read and write the journal is the target's.

use crate::duration::Dur;
use crate::scenario::{OverrideKind, TimelineEntry, What};
use regionctl_controller::approval;
use regionctl_controller::journal::{self, Approval, DecisionRecord, OutcomeRecord};
use regionctl_controller::ports::JournalItem;
use regionctl_controller::status::OutcomeStatus;
use regionctl_core::controls::{Override, OverrideAction, Pause};
use regionctl_core::time::Timestamp;

/// Who the game-day's operator is (as STS would name a person's role session).
pub const OPERATOR: &str = "arn:aws:sts::123456789012:assumed-role/sre/gameday-operator";
/// An override without `duration` holds this long.
const DEFAULT_OVERRIDE_SECS: u64 = 30 * 60;

/// What an operator's action writes, and the timeline's text for it.
#[derive(Debug, Clone)]
pub struct Action {
    /// The item to write; `None` when there is nothing to write (an `approve` with no
    /// decision waiting).
    pub item: Option<JournalItem>,
    /// What was done, or why nothing was.
    pub text: String,
}

/// The journal partition an `approve` of `e` reads to find its decision (`None` for the
/// other actions, which read nothing).
pub fn decisions_partition(e: &TimelineEntry) -> Option<String> {
    let service = e.place.services.first()?;
    (e.what == What::Approve).then(|| format!("DECISION#{service}"))
}

/// Operator action `e` at `now`, written by (and owned by) `own`, the operator's region.
/// `decisions` are the items of [`decisions_partition`] (empty for other actions);
/// `approval_timeout_secs` is the fleet's `ControllerConfig.approval_timeout_secs`.
pub fn action(
    e: &TimelineEntry,
    own: &str,
    now: Timestamp,
    decisions: &[JournalItem],
    approval_timeout_secs: u64,
) -> Action {
    let why = e.note.clone().unwrap_or_else(|| "game-day".into());
    match e.what {
        What::Pause => {
            let p = Pause {
                who: OPERATOR.into(),
                why: why.clone(),
                at: now,
            };
            written(
                journal::pause_item(&p, own),
                format!("operator paused automation (in {own}): {why}"),
            )
        }
        What::Resume => {
            let p = Pause {
                who: OPERATOR.into(),
                why: String::new(),
                at: now,
            };
            let mut item = journal::pause_item(&p, own);
            item.body = serde_json::Value::Null;
            written(item, format!("operator resumed automation (in {own})"))
        }
        What::Override => override_item(e, own, (why, now)),
        What::Approve => approve(e, own, now, decisions, approval_timeout_secs),
        other => Action {
            item: None,
            text: format!("`{}` is not an operator action", other.as_str()),
        },
    }
}

fn written(item: JournalItem, text: String) -> Action {
    Action {
        item: Some(item),
        text,
    }
}

/// An `override`: drain or restore `where.region` for `duration`.
fn override_item(e: &TimelineEntry, own: &str, (why, now): (String, Timestamp)) -> Action {
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
    let text = format!(
        "operator override {action:?} {} (service {}, cell {}) for {} (in {own}): {why}",
        o.region,
        o.service.as_deref().unwrap_or("*"),
        o.cell.as_deref().unwrap_or("*"),
        Dur(secs)
    );
    written(journal::override_item(&o, own), text)
}

/// An `approve`: the newest decision of the service awaiting approval, in its round.
fn approve(
    e: &TimelineEntry,
    own: &str,
    now: Timestamp,
    decisions: &[JournalItem],
    approval_timeout_secs: u64,
) -> Action {
    let service = e.place.services.first().cloned().unwrap_or_default();
    let Some(record) = awaiting(decisions) else {
        return Action {
            item: None,
            text: format!("operator approve {service}: no decision waits to be applied (in {own})"),
        };
    };
    let round = approval::round_at(record.at, approval_timeout_secs, now);
    let a = Approval {
        id: record.id.clone(),
        who: OPERATOR.into(),
        at: now,
        round,
    };
    let text = format!(
        "operator approved {service} decision {} round {round} (in {own})",
        record.id
    );
    written(journal::approval_item(&a, own), text)
}

/// Two intents of one service recorded this close together are one proposal seen two
/// ways: controllers that disagree on an episode's start for a pass record the same
/// decision under two ids, and adopt the earliest start the next (ADR 0012 §2).
const SAME_PROPOSAL_SECS: i64 = 60;

/// The decision among one service's decision items that waits for a person: the newest
/// that no controller has applied (what `regionctl status` lists as awaiting approval: its
/// outcome item keeps the status it was first recorded with, `paused` for one proposed
/// while paused). When a second unapplied intent was recorded within
/// [`SAME_PROPOSAL_SECS`] of it, the one with the earliest episode start is the one the
/// controllers go on proposing, and the one approved (a moto run once approved the other,
/// which no controller proposed after its first pass).
fn awaiting(items: &[JournalItem]) -> Option<DecisionRecord> {
    let applied: Vec<String> = items
        .iter()
        .filter(|i| i.sk.contains("#OUTCOME#"))
        .filter_map(|i| serde_json::from_value::<OutcomeRecord>(i.body.clone()).ok())
        .filter(|o| o.status == OutcomeStatus::Applied)
        .map(|o| o.id)
        .collect();
    let unapplied: Vec<DecisionRecord> = items
        .iter()
        .filter(|i| i.sk.ends_with("#INTENT"))
        .filter_map(|i| serde_json::from_value::<DecisionRecord>(i.body.clone()).ok())
        .filter(|d| !applied.contains(&d.id))
        .collect();
    let newest = unapplied.iter().max_by_key(|d| d.at)?;
    unapplied
        .iter()
        .filter(|d| (newest.at.millis() - d.at.millis()).abs() <= SAME_PROPOSAL_SECS * 1000)
        // The earliest episode; one outside any episode only when nothing else is there.
        .min_by_key(|d| (d.episode.is_none(), d.episode, std::cmp::Reverse(d.at)))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use regionctl_controller::journal::intent_item;

    fn intent(id: &str, at_secs: i64, episode_secs: i64) -> JournalItem {
        intent_item(&DecisionRecord {
            id: id.into(),
            episode: Some(Timestamp(episode_secs * 1000)),
            service: "catalog".into(),
            bundle_hash: "h".into(),
            at: Timestamp(at_secs * 1000),
            recorded_by: "eu-west-1".into(),
            mode: "propose".into(),
            disposition: "await-approval".into(),
            health: Vec::new(),
            steps: Vec::new(),
            traffic: serde_json::Value::Null,
            alerts: Vec::new(),
            notes: Vec::new(),
            discretionary: false,
        })
    }

    #[test]
    fn the_proposal_approved_is_the_one_the_controllers_agree_on() {
        // One pass of disagreement: eu-west-1's id (later episode) recorded 0.1 s after
        // eu-central-1's; the earliest episode is the one proposed from then on.
        let items = [intent("agreed", 100, 90), intent("stale", 100, 95)];
        assert_eq!(awaiting(&items).map(|d| d.id), Some("agreed".into()));
        // A proposal of an earlier incident, long lapsed, is not this one.
        let items = [intent("old", 100, 10), intent("new", 1_000, 990)];
        assert_eq!(awaiting(&items).map(|d| d.id), Some("new".into()));
        assert!(awaiting(&[]).is_none());
    }
}
