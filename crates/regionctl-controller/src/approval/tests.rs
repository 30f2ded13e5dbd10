//! Rounds, as pure functions.

use super::*;
use crate::status::PlaneSummary;

const FIRST: Timestamp = Timestamp::from_secs(1_800_000_000);
const T: u64 = 900;

fn at(secs: u64) -> Timestamp {
    FIRST.plus_secs(secs)
}

fn approval(at: Timestamp, round: u32) -> Approval {
    Approval {
        id: "ab12".into(),
        who: "arn:aws:iam::123456789012:user/ops".into(),
        at,
        round,
    }
}

fn outcome(status: OutcomeStatus, round: u32) -> OutcomeRecord {
    OutcomeRecord {
        id: "ab12".into(),
        service: "search".into(),
        region: "eu-west-1".into(),
        status,
        at: FIRST,
        started: FIRST,
        steps: Vec::new(),
        calls: 0,
        discretionary: false,
        planes: PlaneSummary::default(),
        round,
    }
}

#[test]
fn rounds_are_timeout_long_from_the_first_recording() {
    assert_eq!(round_at(FIRST, T, at(0)), 0);
    assert_eq!(round_at(FIRST, T, at(T - 1)), 0);
    assert_eq!(round_at(FIRST, T, at(T)), 1);
    assert_eq!(round_at(FIRST, T, at(5 * T + 3)), 5);
    // Before the first recording (a skewed clock) is round 0; a zero timeout is one second.
    assert_eq!(round_at(FIRST, T, Timestamp(FIRST.millis() - 5_000)), 0);
    assert_eq!(round_at(FIRST, 0, at(3)), 3);
}

#[test]
fn an_approval_counts_only_within_the_round_it_names() {
    assert!(counts(&approval(at(10), 0), FIRST, T));
    assert!(
        !counts(&approval(at(T + 10), 0), FIRST, T),
        "late for round 0"
    );
    assert!(counts(&approval(at(T + 10), 1), FIRST, T));
    assert!(
        !counts(&approval(at(10), 1), FIRST, T),
        "given before its round"
    );
    assert!(
        !counts(&approval(Timestamp(FIRST.millis() - 1), 0), FIRST, T),
        "before the proposal existed"
    );
}

#[test]
fn an_unapproved_proposal_lapses_once_then_is_proposed_afresh() {
    use OutcomeStatus::{ApprovalExpired, AwaitingApproval};
    assert_eq!(
        unapproved(None, 0, true),
        Proposal::Awaiting {
            round: 0,
            fresh: true
        }
    );
    assert_eq!(
        unapproved(None, 0, false),
        Proposal::Awaiting {
            round: 0,
            fresh: false
        }
    );
    let r0 = outcome(AwaitingApproval, 0);
    assert_eq!(
        unapproved(Some(&r0), 1, false),
        Proposal::Lapsed { round: 0 }
    );
    let lapsed = outcome(ApprovalExpired, 0);
    assert_eq!(
        unapproved(Some(&lapsed), 1, false),
        Proposal::Awaiting {
            round: 1,
            fresh: true
        }
    );
    let r1 = outcome(AwaitingApproval, 1);
    assert_eq!(
        unapproved(Some(&r1), 1, false),
        Proposal::Awaiting {
            round: 1,
            fresh: false
        }
    );
    // Passes further apart than a round (found by the moto test with 2 s rounds on a busy
    // machine): round 0 lapsed is recorded once, and the next pass proposes it in whatever
    // round it is then.
    assert_eq!(
        unapproved(Some(&r0), 4, false),
        Proposal::Lapsed { round: 0 }
    );
    assert_eq!(
        unapproved(Some(&lapsed), 7, false),
        Proposal::Awaiting {
            round: 7,
            fresh: true
        }
    );
    assert_eq!(unapproved(None, 2, false), Proposal::Lapsed { round: 1 });
    assert!(Proposal::Lapsed { round: 0 }.announces());
    assert!(
        !Proposal::Awaiting {
            round: 1,
            fresh: false
        }
        .announces()
    );
}
