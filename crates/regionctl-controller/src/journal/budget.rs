//! Size budgets per item kind, checked before an item is written.
//!
//! DynamoDB refuses an item over 400 KB, and the refusal names no cause a controller could
//! act on; worse, an item that grows with the fleet (a digest relays every peer's) fails
//! only at the size where it matters most. Each kind has a budget well under the limit,
//! and every journal adapter (DynamoDB, the simulated world, the test fake) checks it
//! before writing, so an oversized item is refused with its kind, size and budget (issue
//! 17, ADR 0012 §3).

use crate::ports::{ErrorClass, JournalItem, PortError, PortResult};
use std::fmt;

/// DynamoDB's item size limit, for reference: every budget is well under it.
pub const DYNAMODB_ITEM_LIMIT: usize = 400 * 1024;

/// What a budget is for, and how many bytes it allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// The item kind, for people.
    pub what: &'static str,
    /// Bytes of keys plus body (as JSON text).
    pub bytes: usize,
}

/// The budget of an item with these keys.
pub fn budget(pk: &str, sk: &str) -> Budget {
    const KB: usize = 1024;
    let (what, kb) = match pk {
        _ if pk.starts_with(super::HEARTBEAT_PREFIX) => ("heartbeat", 64),
        _ if pk.starts_with(super::DIGEST_PREFIX) => ("observation digest", 100),
        "CONTROL" => ("control", 8),
        "APPROVAL" => ("approval", 8),
        _ if sk.starts_with(super::LAST_MOVE_PREFIX) => ("last move", 8),
        _ if sk.ends_with("#INTENT") => ("decision intent", 64),
        _ if sk.contains("#OUTCOME#") => ("decision outcome", 100),
        _ => ("journal item", 8),
    };
    Budget {
        what,
        bytes: kb * KB,
    }
}

/// An item over its budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverBudget {
    /// Its keys, `pk / sk`.
    pub key: String,
    /// Its size.
    pub bytes: usize,
    /// The budget it exceeds.
    pub budget: Budget,
}

impl fmt::Display for OverBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} is {} bytes, over its {}-byte budget (DynamoDB's item limit is {}): not written",
            self.budget.what, self.key, self.bytes, self.budget.bytes, DYNAMODB_ITEM_LIMIT
        )
    }
}

/// The item's size as stored: keys, owner and the body's JSON text.
pub fn size(item: &JournalItem) -> usize {
    item.pk.len() + item.sk.len() + item.owner.len() + item.body.to_string().len()
}

/// [`check`], as the journal port's error: what an adapter returns for an item over its
/// budget (a permanent refusal of `PutItem`).
pub fn admit_write(item: &JournalItem) -> PortResult<()> {
    check(item).map_err(|over| {
        PortError::new(
            "dynamodb",
            "PutItem",
            ErrorClass::Permanent,
            over.to_string(),
        )
    })
}

/// Checks `item` against its kind's budget.
pub fn check(item: &JournalItem) -> Result<(), OverBudget> {
    let budget = budget(&item.pk, &item.sk);
    let bytes = size(item);
    if bytes <= budget.bytes {
        return Ok(());
    }
    Err(OverBudget {
        key: format!("{} / {}", item.pk, item.sk),
        bytes,
        budget,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{self, ObservationDigest, ProbeRecord};
    use regionctl_core::policy::raw::SignalRole;
    use regionctl_core::time::Timestamp;

    const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);

    fn digest(probes: usize) -> JournalItem {
        journal::digest_item(&ObservationDigest {
            observer: "eu-west-1".into(),
            bundle_hash: "b".into(),
            at: NOW,
            probes: (0..probes)
                .map(|i| ProbeRecord {
                    // Long names: a packed digest names each service once, and
                    // only names can make one this small grow past its budget.
                    service: format!("service-{i:05}-{}", "x".repeat(50)),
                    region: "eu-central-1".into(),
                    ok: true,
                    since: NOW,
                    role: SignalRole::Failure,
                })
                .collect(),
            alarm_read_failures: Vec::new(),
            relayed: Vec::new(),
        })
    }

    #[test]
    fn every_kind_has_a_budget_well_under_dynamodbs_limit() {
        for (pk, sk) in [
            ("HEARTBEAT#eu-west-1", "eu-west-1"),
            ("OBS#eu-west-1", "eu-west-1"),
            ("CONTROL", "PAUSE"),
            ("APPROVAL", "ab12#0"),
            ("DECISION#playback", "LASTMOVE#eu-west-1"),
            ("DECISION#playback", "ab12#INTENT"),
            ("DECISION#playback", "ab12#OUTCOME#eu-west-1"),
        ] {
            let b = budget(pk, sk);
            assert!(b.bytes <= DYNAMODB_ITEM_LIMIT / 4, "{pk} {sk}: {b:?}");
        }
        assert_eq!(budget("DECISION#x", "ab#INTENT").what, "decision intent");
        assert_eq!(budget("DECISION#x", "LASTMOVE#eu-west-1").what, "last move");
    }

    #[test]
    fn an_item_over_its_budget_is_refused_with_its_kind_size_and_budget() {
        assert_eq!(check(&digest(10)), Ok(()));
        let big = digest(2_000);
        let err = check(&big).expect_err("over budget");
        assert_eq!(err.bytes, size(&big));
        assert!(err.bytes > 100 * 1024);
        let text = err.to_string();
        assert!(
            text.starts_with("observation digest OBS#eu-west-1 / eu-west-1 is ")
                && text.contains("over its 102400-byte budget"),
            "{text}"
        );
    }
}
