//! The edge faults' vocabulary (issue 17): which journal writes fail, and what a rogue
//! writer forges.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A kind of journal item a controller writes, as `journal-write-fail` names it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum WrittenItem {
    /// A decision's intent (`DECISION#{service} / {id}#INTENT`).
    Intent,
    /// A decision's outcome (`{id}#OUTCOME#{region}`).
    Outcome,
    /// A service's last discretionary move (`LASTMOVE#{region}`).
    LastMove,
    /// The controller's heartbeat (`HEARTBEAT#{region} / {region}`).
    Heartbeat,
}

impl WrittenItem {
    /// Every kind, in order.
    pub const ALL: [WrittenItem; 4] = [
        WrittenItem::Intent,
        WrittenItem::Outcome,
        WrittenItem::LastMove,
        WrittenItem::Heartbeat,
    ];

    /// Kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            WrittenItem::Intent => "intent",
            WrittenItem::Outcome => "outcome",
            WrittenItem::LastMove => "last-move",
            WrittenItem::Heartbeat => "heartbeat",
        }
    }
}

/// What a `rogue-writer` forges. Every forgery is one the controllers must not believe
/// (or, for `oversized-digest`, must survive): ADR 0012 §3.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Forgery {
    /// The victim's heartbeat key (`HEARTBEAT#{victim} / {victim}`) with another `owner`,
    /// its body disputing every (service, region) and claiming a move of every service just
    /// now. Written with the rogue region's credentials, it lands in that region's own
    /// partition unless the victim is the rogue region.
    HeartbeatWrongOwner,
    /// Heartbeats under keys of no controller (`… / rogue-{controller}`), one per
    /// controller, each body naming that controller and standing down.
    HeartbeatForeignKey,
    /// The victim's heartbeat, key, owner and body agreeing, dated a day ahead.
    FutureHeartbeat,
    /// Every service's `LASTMOVE#{victim}`, owner agreeing, dated 30 days ahead (would
    /// block failback fleet-wide if believed).
    FutureLastMove,
    /// The victim's digest, dated a day ahead, every probe failing.
    FutureDigest,
    /// Digests under keys of no controller (`OBS / rogue-{controller}`), one per
    /// controller, each body naming that controller and seeing one region (the victim's)
    /// fail for every service for an hour (would evacuate it if believed).
    DigestForeignKey,
    /// Bodies that are not the record their key says, under the victim's heartbeat, digest
    /// and last-move keys.
    Malformed,
    /// The victim's digest (key, owner and body agreeing, dated now) padded to about
    /// 350 KB (under DynamoDB's 400 KB item limit) with verdicts on unknown services and
    /// relayed copies of observers outside the fleet.
    OversizedDigest,
}

impl Forgery {
    /// Every forgery, in order.
    pub const ALL: [Forgery; 8] = [
        Forgery::HeartbeatWrongOwner,
        Forgery::HeartbeatForeignKey,
        Forgery::FutureHeartbeat,
        Forgery::FutureLastMove,
        Forgery::FutureDigest,
        Forgery::DigestForeignKey,
        Forgery::Malformed,
        Forgery::OversizedDigest,
    ];

    /// Kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Forgery::HeartbeatWrongOwner => "heartbeat-wrong-owner",
            Forgery::HeartbeatForeignKey => "heartbeat-foreign-key",
            Forgery::FutureHeartbeat => "future-heartbeat",
            Forgery::FutureLastMove => "future-last-move",
            Forgery::FutureDigest => "future-digest",
            Forgery::DigestForeignKey => "digest-foreign-key",
            Forgery::Malformed => "malformed",
            Forgery::OversizedDigest => "oversized-digest",
        }
    }
}
