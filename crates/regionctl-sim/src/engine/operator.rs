//! The simulated world's side of an operator's action: the item
//! ([`crate::gameday::operator`]) goes into the replica of the operator's region, the first
//! controller region whose replica is up, from where it replicates like any item.

use crate::gameday::operator;
use crate::scenario::TimelineEntry;
use crate::world::World;

/// Performs operator action `e` now; the timeline's text (what was written, or why nothing
/// could be).
pub(super) fn acts(
    w: &mut World,
    controllers: &[String],
    e: &TimelineEntry,
    approval_timeout_secs: u64,
) -> String {
    let Some(own) = controllers
        .iter()
        .find(|r| !w.faults.journal_down.contains(*r))
        .cloned()
    else {
        return format!(
            "{}: no journal replica is up, nothing written",
            e.what.as_str()
        );
    };
    let decisions = operator::decisions_partition(e)
        .map(|pk| w.journal.query(&own, &pk, ""))
        .unwrap_or_default();
    let action = operator::action(e, &own, w.now(), &decisions, approval_timeout_secs);
    if let Some(item) = &action.item {
        w.operator_write(&own, item);
    }
    action.text
}
