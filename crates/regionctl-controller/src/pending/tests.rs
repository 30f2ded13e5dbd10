//! The pending writes against the scripted journal.

use super::*;
use crate::fake::world::{FakeWorld, block_on};
use crate::journal;
use regionctl_core::time::Timestamp;

const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);

fn outcome(n: usize) -> PendingWrite {
    PendingWrite::outcome(JournalItem {
        pk: "DECISION#content".into(),
        sk: format!("{n:04x}#OUTCOME#eu-west-1"),
        ..journal::last_move_item("content", "eu-west-1", NOW)
    })
}

fn last_move(service: &str, at: Timestamp) -> PendingWrite {
    PendingWrite::last_move(service, journal::last_move_item(service, "eu-west-1", at))
}

#[test]
fn a_later_write_of_the_same_item_replaces_the_earlier_one() {
    let mut pending = PendingWrites::default();
    assert_eq!(pending.push(last_move("content", NOW)), None);
    assert_eq!(pending.push(outcome(1)), None);
    assert_eq!(pending.push(last_move("content", NOW.plus_secs(60))), None);
    assert_eq!(pending.len(), 2);
    assert_eq!(pending.cooldown_unknown().collect::<Vec<_>>(), ["content"]);
    assert_eq!(
        pending.items[1].item,
        journal::last_move_item("content", "eu-west-1", NOW.plus_secs(60))
    );
}

#[test]
fn beyond_the_bound_the_oldest_outcome_is_dropped_and_last_moves_are_kept() {
    let mut pending = PendingWrites::default();
    pending.push(last_move("auth", NOW));
    for n in 0..MAX_PENDING {
        assert_eq!(pending.push(outcome(n)), None);
    }
    let dropped = pending.push(outcome(MAX_PENDING)).expect("one dropped");
    assert!(dropped.contains("0000#OUTCOME#eu-west-1"), "{dropped}");
    assert_eq!(pending.len(), MAX_PENDING + 1);
    assert_eq!(pending.cooldown_unknown().collect::<Vec<_>>(), ["auth"]);
}

#[test]
fn a_retry_writes_what_the_journal_takes_and_keeps_the_rest() {
    let world = FakeWorld::default();
    let mut pending = PendingWrites::default();
    pending.push(outcome(7));
    pending.push(last_move("content", NOW));
    world.fail_writes_of("LASTMOVE#");
    let failures = block_on(pending.retry(&world));
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("LASTMOVE#eu-west-1 still not recorded: "));
    assert_eq!(world.items("DECISION#content", "0007#OUTCOME#").len(), 1);
    assert_eq!(pending.cooldown_unknown().collect::<Vec<_>>(), ["content"]);
    world.heal_writes();
    assert!(block_on(pending.retry(&world)).is_empty());
    assert!(pending.is_empty());
    assert_eq!(world.items("DECISION#content", "LASTMOVE#").len(), 1);
}
