//! Journal records: what controllers write to the global table, and the keys they use.
//!
//! # Design (DESIGN.md §5)
//! The journal is a DynamoDB global table in multi-region eventual consistency: conditional
//! writes are checked only locally and conflicts resolve last-writer-wins. So:
//! - every item is written only by the region that owns it (`owner`), except decision
//!   intents, whose content is determined by their key (a content hash): two regions that
//!   write the same intent write the same thing, so last-writer-wins cannot change it;
//! - heartbeats and observation digests are one item per controller, overwritten each tick,
//!   each in its writer's own partition (`HEARTBEAT#{region}`, `OBS#{region}`), so IAM's
//!   `dynamodb:LeadingKeys` can keep every controller's credentials to its own: a writer
//!   holding one controller's credentials cannot overwrite another's heartbeat and take it
//!   out of its readers' quorum (`regionctl simulate --policies chaos/policies-served`, seed
//!   1402; issue 17);
//! - readers ignore expired items themselves (TTL deletion is lazy).
//!
//! # Keys
//! The one key table: the builders below write exactly these items, and the DynamoDB
//! adapter (`regionctl-aws/src/dynamodb.rs`) stores them as the string attributes `pk`
//! (partition key), `sk` (sort key), `kind`, `owner` and `body` (the record as JSON text),
//! and the number `expires_at` (epoch seconds, the table's TTL attribute). Readers query
//! "the items of a `pk` whose `sk` begins with a prefix".
//!
//! | item | kind | pk | sk | owner | expires |
//! |---|---|---|---|---|---|
//! | decision intent | `DECISION` | `DECISION#{service}` | `{id}#INTENT` | first controller to reach it | 90 days |
//! | decision outcome | `DECISION` | `DECISION#{service}` | `{id}#OUTCOME#{region}` | the applying region | 90 days |
//! | cooldown start | `DECISION` | `DECISION#{service}` | `LASTMOVE#{region}` | the region that moved | 90 days |
//! | heartbeat | `HEARTBEAT` | `HEARTBEAT#{region}` | `{region}` | that controller | 1 hour |
//! | observation digest | `OBSERVATION` | `OBS#{region}` | `{region}` | that observer | 1 hour |
//! | control (pause) | `CONTROL` | `CONTROL` | `PAUSE` (body `null`: resumed) | the operator's region | never |
//! | control (override) | `CONTROL` | `CONTROL` | `OVERRIDE#{region}#{service}#{cell}` (`*`: all) | the operator's region | the override's end |
//! | approval | `CONTROL` | `APPROVAL` | `{decision id}#{round}` | the approving operator's region | 90 days |
//!
//! Decision ids are hex content hashes, so an `{id}#…` key never collides with
//! `LASTMOVE#…`. A decision is two items (intent before acting, outcome after), so a crash
//! in between leaves an intent without an outcome, which the next pass rolls forward.

pub mod budget;
pub mod digest_wire;
pub mod heartbeat_wire;
pub mod packing;

use crate::ports::{ItemKind, JournalItem};
use crate::status::{ControllerState, OutcomeStatus, PlaneSummary, RecordedStep};
use regionctl_core::controls::{Override, Pause};
use regionctl_core::policy::raw::SignalRole;
use regionctl_core::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Decisions are kept 90 days.
pub const DECISION_TTL_SECS: i64 = 90 * 86_400;
/// Heartbeats and digests expire after an hour (fresh means much younger: `heartbeat_ttl_secs`).
pub const LIVENESS_TTL_SECS: i64 = 3_600;

/// A controller's heartbeat (written packed: [`heartbeat_wire`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    into = "heartbeat_wire::HeartbeatWire",
    try_from = "heartbeat_wire::HeartbeatWire"
)]
pub struct Heartbeat {
    /// The controller's region.
    pub region: String,
    /// Policy bundle hash it runs.
    pub bundle_hash: String,
    /// When.
    pub at: Timestamp,
    /// What it is doing: `acting`, or why it stands down (`standing down: …`).
    pub state: ControllerState,
    /// `service/region` pairs this controller's last health view did not find healthy
    /// (some cell not `healthy`): the discretionary leader does not fail back into a region
    /// a peer still sees failing, so the two never undo each other.
    #[serde(default)]
    pub not_healthy: Vec<String>,
    /// Controllers this one saw acting, with fresh heartbeats on its policy hash, itself
    /// included when acting: a peer that cannot see the discretionary leader directly (a
    /// partition) learns from this that it is still there, so two never lead at once.
    /// A controller standing down still relays this list (without itself).
    #[serde(default)]
    pub sees_acting: Vec<String>,
    /// Since when this controller has, pass after pass, found itself first in fleet order
    /// among the acting controllers it knows of. It leads (makes discretionary moves) only
    /// once that has held for three ticks (at most the heartbeat TTL): long enough for
    /// every peer's next heartbeat on the same hash to have reached it, so two controllers
    /// whose lagging views each put themselves first (after a rollout, a partition) do not
    /// both lead.
    #[serde(default)]
    pub first_since: Option<Timestamp>,
    /// `service/region` pairs this controller sees drained in Route 53 (weight 0 in a cell
    /// whose baseline gives it traffic), with when it first saw each. A pair drained only
    /// moments ago is a fresh evacuation whose reasons (a peer's heartbeat, its decision)
    /// may not have replicated here yet: the leader does not fail it back until that has
    /// had time to arrive.
    #[serde(default)]
    pub drained: BTreeMap<String, Timestamp>,
    /// The `not_healthy` lists of the fresh, acting peers this controller sees, by peer:
    /// relayed so that a leader cut off from a peer (a partition) still learns that the
    /// peer — which may hold a majority through this controller — sees a region failing.
    #[serde(default)]
    pub peers_not_healthy: BTreeMap<String, Vec<String>>,
    /// The last discretionary move per service (by name) this controller knows of: the
    /// newest in its own journal replica or in a fresh peer's heartbeat. The cooldown is
    /// read from the leader's replica; when the leader changes across a partition, the new
    /// leader's replica may not have the old leader's last move yet, and would take the
    /// next failback stage within the cooldown (`regionctl simulate` seeds 3866, 7103).
    #[serde(default)]
    pub last_moves: BTreeMap<String, Timestamp>,
    /// The start of every episode (incident) this controller sees open, by service name
    /// ([`crate::episode`]): peers in the same episode adopt the earliest start, which
    /// goes into decision ids, so an approval belongs to one incident.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub episodes: BTreeMap<String, Timestamp>,
    /// The start of the last episode this controller saw close, by service name: a peer
    /// still in that episode (it was blind while the service was steady) learns from it
    /// that the incident it holds on to is over ([`crate::episode`]; simulate seed 1202 of
    /// the served policies).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub episodes_closed: BTreeMap<String, Timestamp>,
}

/// One probe verdict in a digest (names, so digests survive bundle changes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeRecord {
    /// Service name.
    pub service: String,
    /// Probed region.
    pub region: String,
    /// Answered.
    pub ok: bool,
    /// Since when this observer has seen this verdict.
    pub since: Timestamp,
    /// The role of the probes behind the verdict; `failure` is left out, so digests of
    /// policies without probe roles read as before (ADR 0015).
    #[serde(default, skip_serializing_if = "is_failure")]
    pub role: SignalRole,
}

fn is_failure(role: &SignalRole) -> bool {
    *role == SignalRole::Failure
}

/// An observer's digest: its own probe verdicts for this tick, in one item (written packed:
/// [`digest_wire`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "digest_wire::DigestWire", try_from = "digest_wire::DigestWire")]
pub struct ObservationDigest {
    /// Observer region.
    pub observer: String,
    /// Bundle hash.
    pub bundle_hash: String,
    /// When.
    pub at: Timestamp,
    /// Verdicts.
    pub probes: Vec<ProbeRecord>,
    /// Regions whose CloudWatch this observer could not read.
    pub alarm_read_failures: Vec<String>,
    /// The newest fresh digest of every peer this observer could read (directly or relayed
    /// itself), with their own `relayed` left empty. A controller cut off from one peer still
    /// gets that peer's probe verdicts through any other; each copy keeps its writer's `at`,
    /// so freshness is judged on the observation, not on the relay (`regionctl simulate`
    /// seed 9402: two halves of a partition saw the third region as *unknown* and evacuated
    /// a cell to different receivers). Absent in digests written before relaying existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relayed: Vec<ObservationDigest>,
}

/// A decision: a plan for one service with its inputs and reasons (the intent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// Content hash of (service, bundle hash, episode start, target state).
    pub id: String,
    /// The start of the service's episode it belongs to (none: made outside one, or
    /// recorded before episodes existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episode: Option<Timestamp>,
    /// Service.
    pub service: String,
    /// Bundle hash.
    pub bundle_hash: String,
    /// When it was first reached.
    pub at: Timestamp,
    /// Who first reached it.
    pub recorded_by: String,
    /// Policy mode.
    pub mode: String,
    /// What happens to it: apply, record-only, await-approval, paused.
    pub disposition: String,
    /// Health inputs, per region: verdicts by count of cells.
    pub health: Vec<String>,
    /// Steps with their reasons, for people.
    pub steps: Vec<StepRecord>,
    /// Traffic once applied: cell → region → percent (only cells that change).
    pub traffic: serde_json::Value,
    /// Alerts raised with it.
    pub alerts: Vec<String>,
    /// Notes (waits, holds).
    pub notes: Vec<String>,
    /// Whether any step is discretionary (cooldown counts from its outcome).
    pub discretionary: bool,
}

/// One step of a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// `scale`, `wait`, `shift`, `alb`, `restore`.
    pub kind: String,
    /// What it does.
    pub description: String,
    /// The plane it needs.
    pub plane: String,
    /// Why.
    pub reasons: Vec<String>,
    /// Step numbers (1-based) it comes after.
    pub after: Vec<usize>,
}

/// The outcome of a decision in one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeRecord {
    /// Decision id.
    pub id: String,
    /// Service.
    pub service: String,
    /// Applying region.
    pub region: String,
    /// `applied`, `waiting`, `partial`, `failed`, `recorded-only`, `awaiting-approval`,
    /// `approval-expired`, `paused`.
    pub status: OutcomeStatus,
    /// When it finished.
    pub at: Timestamp,
    /// Started applying.
    pub started: Timestamp,
    /// Per step: `done`, `waiting`, `skipped`, the error (`failed: …`), or `left to the
    /// discretionary leader`.
    pub steps: Vec<RecordedStep>,
    /// AWS calls made.
    pub calls: u32,
    /// Whether any applied step was discretionary.
    pub discretionary: bool,
    /// Which plane did what: per plane a step needed (`route53 control plane`,
    /// `data plane (switch)`, …), `done`, `waiting`, `skipped` or the first failure.
    #[serde(default)]
    pub planes: PlaneSummary,
    /// For a `propose` decision: the approval round the status is for
    /// ([`crate::approval`]). Round 0 is not written, so outcomes of other decisions read
    /// and write back as before rounds existed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub round: u32,
}

/// An operator approval of a `propose` decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// Decision id.
    pub id: String,
    /// Who: the caller's identity (its STS ARN).
    pub who: String,
    /// When.
    pub at: Timestamp,
    /// The proposal round it approves ([`crate::approval`]); it counts only if given
    /// within that round. Approvals written before rounds existed read as round 0.
    #[serde(default)]
    pub round: u32,
}

fn item(
    pk: String,
    sk: String,
    kind: ItemKind,
    owner: &str,
    body: serde_json::Value,
    expires_at: Option<i64>,
) -> JournalItem {
    JournalItem {
        pk,
        sk,
        kind,
        owner: owner.to_string(),
        body,
        expires_at,
    }
}

fn expiry(at: Timestamp, ttl: i64) -> Option<i64> {
    Some(at.millis() / 1000 + ttl)
}

/// The partition of `region`'s heartbeat: written by that controller only.
pub fn heartbeat_partition(region: &str) -> String {
    format!("{HEARTBEAT_PREFIX}{region}")
}

/// The partition of `observer`'s digest: written by that controller only.
pub fn digest_partition(observer: &str) -> String {
    format!("{DIGEST_PREFIX}{observer}")
}

/// What every heartbeat partition key begins with.
pub const HEARTBEAT_PREFIX: &str = "HEARTBEAT#";
/// What every digest partition key begins with.
pub const DIGEST_PREFIX: &str = "OBS#";

/// The heartbeat item.
pub fn heartbeat_item(h: &Heartbeat) -> JournalItem {
    item(
        heartbeat_partition(&h.region),
        h.region.clone(),
        ItemKind::Heartbeat,
        &h.region,
        to_json(h),
        expiry(h.at, LIVENESS_TTL_SECS),
    )
}

/// The digest item.
pub fn digest_item(d: &ObservationDigest) -> JournalItem {
    item(
        digest_partition(&d.observer),
        d.observer.clone(),
        ItemKind::Observation,
        &d.observer,
        to_json(d),
        expiry(d.at, LIVENESS_TTL_SECS),
    )
}

/// The intent item.
pub fn intent_item(d: &DecisionRecord) -> JournalItem {
    item(
        format!("DECISION#{}", d.service),
        format!("{}#INTENT", d.id),
        ItemKind::Decision,
        &d.recorded_by,
        to_json(d),
        expiry(d.at, DECISION_TTL_SECS),
    )
}

/// The outcome item.
pub fn outcome_item(o: &OutcomeRecord) -> JournalItem {
    item(
        format!("DECISION#{}", o.service),
        format!("{}#OUTCOME#{}", o.id, o.region),
        ItemKind::Decision,
        &o.region,
        to_json(o),
        expiry(o.at, DECISION_TTL_SECS),
    )
}

/// When this region last applied a discretionary move for a service (the cooldown's
/// start): one small item per (service, region), so a pass reads the cooldown with a
/// prefix query instead of the whole decision partition.
pub fn last_move_item(service: &str, region: &str, at: Timestamp) -> JournalItem {
    item(
        format!("DECISION#{service}"),
        format!("{LAST_MOVE_PREFIX}{region}"),
        ItemKind::Decision,
        region,
        serde_json::json!({ "at": at }),
        expiry(at, DECISION_TTL_SECS),
    )
}

/// Sort-key prefix of [`last_move_item`]s (decision ids are hex, so never collide).
pub const LAST_MOVE_PREFIX: &str = "LASTMOVE#";

/// The pause item.
pub fn pause_item(p: &Pause, owner: &str) -> JournalItem {
    item(
        "CONTROL".into(),
        "PAUSE".into(),
        ItemKind::Control,
        owner,
        to_json(p),
        None,
    )
}

/// An override item.
pub fn override_item(o: &Override, owner: &str) -> JournalItem {
    let sk = format!(
        "OVERRIDE#{}#{}#{}",
        o.region,
        o.service.as_deref().unwrap_or("*"),
        o.cell.as_deref().unwrap_or("*")
    );
    item(
        "CONTROL".into(),
        sk,
        ItemKind::Control,
        owner,
        to_json(o),
        Some(o.expires_at.millis() / 1000),
    )
}

/// An approval item.
pub fn approval_item(a: &Approval, owner: &str) -> JournalItem {
    item(
        "APPROVAL".into(),
        format!("{}#{}", a.id, a.round),
        ItemKind::Control,
        owner,
        to_json(a),
        expiry(a.at, DECISION_TTL_SECS),
    )
}

/// Who writes a partition of the key table: its `owner` column, by role. The IAM policy
/// generator (`regionctl_aws::iam`) turns this into `dynamodb:LeadingKeys`, so a
/// controller's credentials cannot write an approval and an operator's cannot write a
/// decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// A controller (`regionctl run`): decisions and last moves.
    Controller,
    /// The controller of the partition's own region only: its heartbeat and its digest.
    OwnController,
    /// An operator (`pause`, `resume`, `override`, `approve`): controls and approvals. The
    /// daemon's admin `POST /pause` writes a `CONTROL` item too, as an operator would.
    Operator,
}

/// Every partition key of the key table for the fleet's `controllers` (their heartbeat and
/// digest partitions) and `services` (their `DECISION#{service}`), with who writes it, in
/// the table's order.
pub fn partitions<'a>(
    controllers: &[String],
    services: impl IntoIterator<Item = &'a str>,
) -> Vec<(String, Writer)> {
    let mut out: Vec<(String, Writer)> = controllers
        .iter()
        .map(|c| (heartbeat_partition(c), Writer::OwnController))
        .chain(
            controllers
                .iter()
                .map(|c| (digest_partition(c), Writer::OwnController)),
        )
        .collect();
    out.extend(
        services
            .into_iter()
            .map(|s| (format!("DECISION#{s}"), Writer::Controller)),
    );
    out.push(("CONTROL".to_string(), Writer::Operator));
    out.push(("APPROVAL".to_string(), Writer::Operator));
    out
}

/// Round 0 is left out of outcome records.
fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Serializes a record (records are plain data; this cannot fail for them).
pub fn to_json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    //! Every builder writes the item the key table (module docs) says, and `controls_from`
    //! reads controls back. Records are built from JSON, as a peer's replica would hold
    //! them.

    use super::*;
    use crate::ports::{ErrorClass, PortError};
    use regionctl_core::controls::OverrideAction;
    use serde_json::json;

    const AT: Timestamp = Timestamp(1_700_000_000_000);
    const AT_SECS: i64 = 1_700_000_000;

    fn record<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
        serde_json::from_value(value).expect("a record")
    }

    fn keys(it: &JournalItem) -> (&str, &str, ItemKind, &str, Option<i64>) {
        (&it.pk, &it.sk, it.kind, &it.owner, it.expires_at)
    }

    #[test]
    fn every_item_is_in_a_partition_of_its_writer() {
        let table = partitions(&["eu-west-1".to_string()], ["playback"]);
        let writer = |it: &JournalItem| table.iter().find(|(pk, _)| *pk == it.pk).map(|(_, w)| *w);
        let h: Heartbeat = record(json!({
            "region": "eu-west-1", "bundle_hash": "h", "at": AT, "state": "acting"
        }));
        let d: ObservationDigest = record(json!({
            "observer": "eu-west-1", "bundle_hash": "h", "at": AT, "probes": [],
            "alarm_read_failures": []
        }));
        let pause = Pause {
            who: "ops".into(),
            why: "drill".into(),
            at: AT,
        };
        let o = Override {
            region: "eu-west-1".into(),
            service: None,
            cell: None,
            action: OverrideAction::Drain,
            who: "ops".into(),
            why: "drill".into(),
            expires_at: AT,
        };
        let a = Approval {
            id: "abc".into(),
            who: "ops".into(),
            at: AT,
            round: 0,
        };
        for (it, w) in [
            (heartbeat_item(&h), Writer::OwnController),
            (digest_item(&d), Writer::OwnController),
            (
                last_move_item("playback", "eu-west-1", AT),
                Writer::Controller,
            ),
            (pause_item(&pause, "eu-west-1"), Writer::Operator),
            (override_item(&o, "eu-west-1"), Writer::Operator),
            (approval_item(&a, "eu-west-1"), Writer::Operator),
        ] {
            assert_eq!(writer(&it), Some(w), "{}", it.pk);
        }
        // Intents and outcomes share the decision partition with the last moves.
        assert!(table.contains(&("DECISION#playback".into(), Writer::Controller)));
    }

    #[test]
    fn liveness_items_are_one_per_controller_and_expire_in_an_hour() {
        let h: Heartbeat = record(json!({
            "region": "eu-west-1", "bundle_hash": "b", "at": AT, "state": "acting"
        }));
        let it = heartbeat_item(&h);
        assert_eq!(
            keys(&it),
            (
                "HEARTBEAT#eu-west-1",
                "eu-west-1",
                ItemKind::Heartbeat,
                "eu-west-1",
                Some(AT_SECS + 3_600)
            )
        );
        assert_eq!(record::<Heartbeat>(it.body), h);
        let d: ObservationDigest = record(json!({
            "observer": "us-east-1", "bundle_hash": "b", "at": AT, "probes": [],
            "alarm_read_failures": []
        }));
        let it = digest_item(&d);
        assert_eq!(
            keys(&it),
            (
                "OBS#us-east-1",
                "us-east-1",
                ItemKind::Observation,
                "us-east-1",
                Some(AT_SECS + 3_600)
            )
        );
    }

    #[test]
    fn decision_items_share_the_services_partition_and_keep_90_days() {
        let ninety_days = Some(AT_SECS + 90 * 86_400);
        let d: DecisionRecord = record(json!({
            "id": "ab12", "service": "playback", "bundle_hash": "b", "at": AT,
            "recorded_by": "eu-west-1", "mode": "enforce", "disposition": "apply",
            "health": [], "steps": [], "traffic": {}, "alerts": [], "notes": [],
            "discretionary": false
        }));
        assert_eq!(
            keys(&intent_item(&d)),
            (
                "DECISION#playback",
                "ab12#INTENT",
                ItemKind::Decision,
                "eu-west-1",
                ninety_days
            )
        );
        let o: OutcomeRecord = record(json!({
            "id": "ab12", "service": "playback", "region": "us-east-1", "status": "applied",
            "at": AT, "started": AT, "steps": [], "calls": 3, "discretionary": false
        }));
        assert_eq!(
            keys(&outcome_item(&o)),
            (
                "DECISION#playback",
                "ab12#OUTCOME#us-east-1",
                ItemKind::Decision,
                "us-east-1",
                ninety_days
            )
        );
        let it = last_move_item("playback", "eu-west-1", AT);
        assert_eq!(
            keys(&it),
            (
                "DECISION#playback",
                "LASTMOVE#eu-west-1",
                ItemKind::Decision,
                "eu-west-1",
                ninety_days
            )
        );
        assert!(it.sk.starts_with(LAST_MOVE_PREFIX));
        assert_eq!(it.body, json!({ "at": AT }));
    }

    #[test]
    fn controls_are_read_back_and_unreadable_items_count_for_nothing() {
        let pause = Pause {
            who: "ops".into(),
            why: "db failover".into(),
            at: AT,
        };
        let drain = Override {
            service: Some("playback".into()),
            region: "eu-central-1".into(),
            cell: None,
            action: OverrideAction::Drain,
            who: "ops".into(),
            why: "maintenance".into(),
            expires_at: Timestamp(AT.millis() + 1_800_000),
        };
        let p = pause_item(&pause, "eu-west-1");
        assert_eq!(
            keys(&p),
            ("CONTROL", "PAUSE", ItemKind::Control, "eu-west-1", None)
        );
        let o = override_item(&drain, "eu-west-1");
        assert_eq!(
            keys(&o),
            (
                "CONTROL",
                "OVERRIDE#eu-central-1#playback#*",
                ItemKind::Control,
                "eu-west-1",
                Some(AT_SECS + 1_800)
            )
        );
        let approval = Approval {
            id: "ab12".into(),
            who: "ops".into(),
            at: AT,
            round: 2,
        };
        assert_eq!(
            keys(&approval_item(&approval, "us-east-1")),
            (
                "APPROVAL",
                "ab12#2",
                ItemKind::Control,
                "us-east-1",
                Some(AT_SECS + 90 * 86_400)
            )
        );

        let unreadable = PortError::new("dynamodb", "Query", ErrorClass::Permanent, "not JSON");
        let (controls, rejected) =
            crate::admit::controls(&[Ok(p.clone()), Err(unreadable.clone()), Ok(o)], AT);
        assert_eq!(controls.paused, Some(pause));
        assert_eq!(controls.overrides, vec![drain]);
        assert_eq!(rejected.len(), 1, "the unreadable item is reported");
        // Resumed: the pause item's body is `null`.
        let resumed = JournalItem {
            body: serde_json::Value::Null,
            ..p
        };
        assert_eq!(
            crate::admit::controls(&[Ok(resumed), Err(unreadable)], AT).0,
            regionctl_core::controls::Controls::default()
        );
    }
}

#[cfg(test)]
mod record_tests;
