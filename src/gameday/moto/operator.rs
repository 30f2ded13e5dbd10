//! Operator actions on moto: a `pause`, `resume`, `override` or `approve` in the timeline
//! writes the journal item `regionctl pause`, `resume`, `override` or `approve` would, into
//! the run's one journal table on moto, owned by the journal's region. The item is made by
//! the game-day's shared [`operator`] module, so sim and moto write the same thing; the
//! three controller processes must read and honour it, as in production.

use super::MotoSetup;
use anyhow::{Context, Result};
use regionctl_aws::dynamodb::Journal;
use regionctl_core::time::Timestamp;
use regionctl_sim::gameday::operator;
use regionctl_sim::scenario::TimelineEntry;

/// Performs operator action `e` now (wall clock, as the controllers' own); the timeline's
/// text.
///
/// # Errors
/// When moto's journal cannot be read or written.
pub(super) async fn act(setup: &MotoSetup, e: &TimelineEntry) -> Result<String> {
    let journal = journal(setup).await;
    let decisions = match operator::decisions_partition(e) {
        Some(pk) => {
            let (items, _calls) = journal
                .query_prefix(&pk, "")
                .await
                .with_context(|| format!("reading {pk} for `approve`"))?;
            items
        }
        None => Vec::new(),
    };
    let approval_timeout_secs = setup
        .live_bundle
        .controller
        .as_ref()
        .map_or(0, |c| c.approval_timeout_secs);
    let action = operator::action(
        e,
        &setup.journal_region,
        Timestamp(super::super::now_ms()),
        &decisions,
        approval_timeout_secs,
    );
    if let Some(item) = &action.item {
        journal
            .put(item)
            .await
            .with_context(|| format!("writing {} {}", item.pk, item.sk))?;
    }
    Ok(action.text)
}

/// The run's journal table on moto.
pub(super) async fn journal(setup: &MotoSetup) -> Journal {
    let sdk = regionctl_aws::config::load_for_tests(&setup.journal_region, &setup.endpoint).await;
    Journal::new(&sdk, setup.journal_table.clone())
}
