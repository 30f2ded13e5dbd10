//! Approvals of `propose` decisions, in rounds: an approval authorises one decision (whose
//! id names its incident, [`crate::episode`]) in the round it was given in, and a proposal
//! nobody approved in time is proposed afresh.
//!
//! # Design
//!
//! A proposal's rounds last `approval_timeout_secs` each, counted from the time its intent
//! was first recorded: round 0, round 1, … An approval (`APPROVAL / {id}#{round}`) names the
//! decision and the round, and counts only if it was given within that round: an operator
//! approves what they were shown while it is current (ADR 0012 §2). When a round lapses
//! unapproved, each controller records `approval-expired` for it once, and in the next pass
//! records the decision `awaiting-approval` again for the round it is then in; the controller that
//! recorded the intent publishes both, so operators are asked again. Before rounds, a lapsed
//! proposal could never be approved until its intent expired 90 days later.
//!
//! Approvals written before rounds existed (key `{id}`, no `round`) read as round 0.

use crate::journal::{Approval, DecisionRecord, OutcomeRecord};
use crate::ports::Journal;
use crate::status::OutcomeStatus;
use regionctl_core::time::Timestamp;

/// Where a `propose` decision stands in this pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proposal {
    /// Approved, within the round the approval names.
    Approved,
    /// Waiting for an approval in `round`; `fresh`: this pass proposes it (again), so its
    /// outcome is written and, by the intent's recorder, published.
    Awaiting {
        /// The current round.
        round: u32,
        /// This pass proposes it.
        fresh: bool,
    },
    /// `round` lapsed unapproved: this pass records (and may publish) that.
    Lapsed {
        /// The round that lapsed.
        round: u32,
    },
}

impl Proposal {
    /// The outcome status a pass records for it (none: it applies).
    pub fn status(self) -> Option<OutcomeStatus> {
        match self {
            Proposal::Approved => None,
            Proposal::Awaiting { .. } => Some(OutcomeStatus::AwaitingApproval),
            Proposal::Lapsed { .. } => Some(OutcomeStatus::ApprovalExpired),
        }
    }

    /// The round its outcome names.
    pub fn round(self) -> u32 {
        match self {
            Proposal::Approved => 0,
            Proposal::Awaiting { round, .. } | Proposal::Lapsed { round } => round,
        }
    }

    /// This pass changes what operators were told: write the outcome, publish the event.
    pub fn announces(self) -> bool {
        matches!(
            self,
            Proposal::Awaiting { fresh: true, .. } | Proposal::Lapsed { .. }
        )
    }
}

/// The round `at` falls in, for a proposal first recorded at `first` (rounds of
/// `timeout_secs`, at least one second).
pub fn round_at(first: Timestamp, timeout_secs: u64, at: Timestamp) -> u32 {
    let elapsed_ms = (at.millis() - first.millis()).max(0);
    let round_ms = i64::try_from(timeout_secs.max(1).saturating_mul(1000)).unwrap_or(i64::MAX);
    u32::try_from(elapsed_ms / round_ms).unwrap_or(u32::MAX)
}

/// True when `approval` was given within the round it names.
pub fn counts(approval: &Approval, first: Timestamp, timeout_secs: u64) -> bool {
    approval.at >= first && round_at(first, timeout_secs, approval.at) == approval.round
}

/// What the pass after `stored` (this controller's last outcome of the decision, if any)
/// records in round `now_round` without an approval. Pure.
///
/// A proposal still waiting from an earlier round has lapsed: that is recorded once; the
/// pass after a lapse proposes it afresh in the round it finds, however many rounds went
/// by (a pass interval longer than the timeout must not keep a proposal lapsing for ever).
pub fn unapproved(stored: Option<&OutcomeRecord>, now_round: u32, new: bool) -> Proposal {
    if now_round == 0 {
        return Proposal::Awaiting {
            round: 0,
            fresh: new,
        };
    }
    match stored.map(|o| (o.status, o.round)) {
        Some((OutcomeStatus::AwaitingApproval, r)) if r >= now_round => Proposal::Awaiting {
            round: now_round,
            fresh: false,
        },
        Some((OutcomeStatus::AwaitingApproval, r)) => Proposal::Lapsed { round: r },
        Some((OutcomeStatus::ApprovalExpired, _)) => Proposal::Awaiting {
            round: now_round,
            fresh: true,
        },
        _ => Proposal::Lapsed {
            round: now_round - 1,
        },
    }
}

/// Where `record` (awaiting approval, first recorded at `first`) stands at `now`, read from
/// the approvals in the journal and this controller's (`region`) last outcome of it.
pub async fn proposal<J: Journal>(
    world: &J,
    record: &DecisionRecord,
    (first, timeout_secs): (Timestamp, u64),
    (region, new): (&str, bool),
    now: Timestamp,
) -> Proposal {
    let approved = world
        .query("APPROVAL", &record.id)
        .await
        .is_ok_and(|items| {
            items
                .iter()
                .flatten()
                .filter_map(|it| serde_json::from_value::<Approval>(it.body.clone()).ok())
                .any(|a| a.id == record.id && counts(&a, first, timeout_secs))
        });
    if approved {
        return Proposal::Approved;
    }
    let now_round = round_at(first, timeout_secs, now);
    let stored = if now_round == 0 {
        None
    } else {
        crate::decide::own_outcomes(world, record, region)
            .await
            .into_iter()
            .next()
    };
    unapproved(stored.as_ref(), now_round, new)
}

#[cfg(test)]
mod tests;
