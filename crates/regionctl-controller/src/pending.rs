//! Journal writes a pass made effects for but could not record: outcomes and last moves,
//! kept in the controller's memory and written again at the start of the next passes.
//!
//! # Design
//!
//! The guarantee is "nothing applied unrecorded" (issue 17, ADR 0012 §1). The *intent* is
//! the record that must exist before anything is applied, and [`crate::decide`] refuses to
//! apply without it. What happened afterwards (the outcome) and when the last
//! discretionary move was made (the cooldown's start) are written after the effects; if
//! the journal refuses them then, the effects cannot be undone, so the record is kept here
//! and retried until it lands — the intent already says what was meant.
//!
//! A last move that is not in the journal is a cooldown nobody else can see. While one is
//! pending, the service's cooldown is *unknown* ([`PendingWrites::cooldown_unknown`]): the
//! pass plans as if a move had just been made, so no discretionary move (failback) is made
//! on a cooldown that may not have run; evacuations are exempt from cooldowns and are never
//! held by it.
//!
//! The memory is bounded: a later write of the same item replaces the earlier one (an
//! outcome rewritten by a later pass, a newer last move), and beyond [`MAX_PENDING`] items
//! the oldest outcomes are dropped (reported). Last moves are never dropped: there is at
//! most one per service.

use crate::ports::Journal;
use crate::ports::JournalItem;

/// The most outcomes kept waiting to be written; beyond, the oldest are dropped.
pub const MAX_PENDING: usize = 1_000;

/// What kind of record is waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingKind {
    /// A decision's outcome (`{id}#OUTCOME#{region}`).
    Outcome,
    /// The start of `service`'s cooldown (`LASTMOVE#{region}`).
    LastMove {
        /// The service moved.
        service: String,
    },
}

/// One record waiting to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingWrite {
    /// What it is.
    pub kind: PendingKind,
    /// The item as it was to be written.
    pub item: JournalItem,
}

impl PendingWrite {
    /// An outcome item that could not be written.
    pub fn outcome(item: JournalItem) -> Self {
        PendingWrite {
            kind: PendingKind::Outcome,
            item,
        }
    }

    /// `service`'s last-move item that could not be written.
    pub fn last_move(service: &str, item: JournalItem) -> Self {
        PendingWrite {
            kind: PendingKind::LastMove {
                service: service.to_string(),
            },
            item,
        }
    }
}

/// The records waiting, oldest first.
#[derive(Debug, Clone, Default)]
pub struct PendingWrites {
    items: Vec<PendingWrite>,
}

impl PendingWrites {
    /// Keeps `write` for the next pass, replacing an earlier write of the same item;
    /// returns what had to be dropped to stay within [`MAX_PENDING`].
    pub fn push(&mut self, write: PendingWrite) -> Option<String> {
        self.items
            .retain(|w| (&w.item.pk, &w.item.sk) != (&write.item.pk, &write.item.sk));
        self.items.push(write);
        let outcomes = self
            .items
            .iter()
            .filter(|w| w.kind == PendingKind::Outcome)
            .count();
        if outcomes <= MAX_PENDING {
            return None;
        }
        let oldest = self
            .items
            .iter()
            .position(|w| w.kind == PendingKind::Outcome)?;
        let dropped = self.items.remove(oldest);
        Some(format!(
            "outcome {} / {} dropped unrecorded: more than {MAX_PENDING} outcomes waiting for the journal",
            dropped.item.pk, dropped.item.sk
        ))
    }

    /// Nothing waiting.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many records wait.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Services whose last move is not in the journal yet: their cooldown is unknown.
    pub fn cooldown_unknown(&self) -> impl Iterator<Item = &str> {
        self.items.iter().filter_map(|w| match &w.kind {
            PendingKind::LastMove { service } => Some(service.as_str()),
            PendingKind::Outcome => None,
        })
    }

    /// Writes every waiting record, oldest first; keeps those the journal still refuses and
    /// returns why, one line each.
    pub async fn retry<W: Journal>(&mut self, world: &W) -> Vec<String> {
        let mut failures = Vec::new();
        let mut left = Vec::new();
        for write in std::mem::take(&mut self.items) {
            match world.put(&write.item).await {
                Ok(()) => {}
                Err(e) => {
                    failures.push(format!(
                        "{} / {} still not recorded: {}",
                        write.item.pk,
                        write.item.sk,
                        e.message()
                    ));
                    left.push(write);
                }
            }
        }
        self.items = left;
        failures
    }
}

#[cfg(test)]
mod tests;
