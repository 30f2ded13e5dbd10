//! Ports: the I/O a controller needs, as small traits over domain types.
//!
//! Two families implement them: the AWS adapters (official SDK) and the simulated world.
//! The futures need not be `Send`: a controller runs one pass at a time on one task.

use regionctl_core::guard::Violation;
use regionctl_core::health::AlarmObservation;
use regionctl_core::live::{AlbState, EcsState};
use regionctl_core::policy::Probe;
pub use regionctl_core::switch::SwitchRef;
use regionctl_core::time::Timestamp;
use std::future::Future;

/// How a port call failed, classified once, where the adapter knows the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// Worth retrying (5xx, timeouts, connection failures).
    Retryable,
    /// Throttled: retry after backing off.
    Throttled,
    /// Retrying will not help (bad input, missing resource, access denied).
    Permanent,
}

/// A failed port call.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{service} {operation} failed ({class:?}): {message}")]
pub struct PortError {
    /// AWS service (or simulated component).
    pub service: &'static str,
    /// Operation.
    pub operation: &'static str,
    /// Classification.
    pub class: FailureClass,
    /// Detail.
    pub message: String,
}

/// Result of a port call.
pub type PortResult<T> = Result<T, PortError>;

/// A weighted record as the controller manages it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedRecord {
    /// Record name (as in the policy, without trailing dot).
    pub name: String,
    /// `A`, `AAAA`, `CNAME`.
    pub record_type: String,
    /// Set identifier.
    pub set_identifier: String,
    /// Value.
    pub value: String,
    /// TTL.
    pub ttl: u32,
    /// Weight.
    pub weight: u8,
}

/// What applying record changes took.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeReport {
    /// `ChangeResourceRecordSets` calls made.
    pub calls: u32,
    /// Records changed.
    pub records: u32,
    /// Read back and found as written.
    pub verified: bool,
}

/// A pure check of a zone's state between Route 53 batches, built from the safety guard
/// (`regionctl_core::guard::check_written`): given every record the batches so far write
/// (the earlier batches' and this one's), `Ok`, or the rules that state would break.
pub type BatchCheck<'a> = &'a dyn Fn(&[WeightedRecord]) -> Result<(), Vec<Violation>>;

/// DNS (Route 53 weighted records).
pub trait Dns {
    /// Every weighted record in a hosted zone.
    fn read_weighted(&self, zone: &str) -> impl Future<Output = PortResult<Vec<WeightedRecord>>>;
    /// Upserts records as absolute values (idempotent), batched, waits for INSYNC, reads
    /// back. Before sending anything it runs `check` on the state after every batch; if one
    /// fails, nothing is sent and the call fails (`Permanent`, naming the batch and the
    /// rules broken).
    fn upsert_weighted(
        &self,
        zone: &str,
        records: &[WeightedRecord],
        check: BatchCheck<'_>,
    ) -> impl Future<Output = PortResult<ChangeReport>>;
}

/// CloudWatch alarms.
pub trait Alarms {
    /// The state of each named alarm in `region` (missing alarms are left out).
    fn describe_alarms(
        &self,
        region: &str,
        names: &[String],
    ) -> impl Future<Output = PortResult<Vec<(String, AlarmObservation)>>>;
}

/// ECS capacity.
pub trait Compute {
    /// Desired/running/pending of a service, `None` if it does not exist.
    fn describe_service(
        &self,
        region: &str,
        cluster: &str,
        service: &str,
    ) -> impl Future<Output = PortResult<Option<EcsState>>>;
    /// Sets the desired count.
    fn set_desired(
        &self,
        region: &str,
        cluster: &str,
        service: &str,
        desired: u32,
    ) -> impl Future<Output = PortResult<()>>;
}

/// ALB Fargate/Lambda split.
pub trait Balancer {
    /// Current weights of the two target groups on a listener.
    fn read_split(
        &self,
        region: &str,
        listener: &str,
        fargate: &str,
        lambda: &str,
    ) -> impl Future<Output = PortResult<Option<AlbState>>>;
    /// Sets them.
    fn set_split(
        &self,
        region: &str,
        listener: &str,
        fargate: &str,
        lambda: &str,
        weights: AlbState,
    ) -> impl Future<Output = PortResult<()>>;
}

/// One journal item (see [`crate::journal`] for kinds and keys).
#[derive(Debug, Clone, PartialEq)]
pub struct JournalItem {
    /// Partition key.
    pub pk: String,
    /// Sort key.
    pub sk: String,
    /// Kind (`DECISION`, `OBSERVATION`, `HEARTBEAT`, `LEASE`, `CONTROL`).
    pub kind: String,
    /// The region that owns (and alone writes) the item.
    pub owner: String,
    /// Payload.
    pub body: serde_json::Value,
    /// Expiry, epoch seconds.
    pub expires_at: Option<i64>,
}

/// The journal (DynamoDB global table).
pub trait Journal {
    /// Creates the item unless one with its key exists; true if written.
    fn put_new(&self, item: &JournalItem) -> impl Future<Output = PortResult<bool>>;
    /// Writes (overwrites) the item.
    fn put(&self, item: &JournalItem) -> impl Future<Output = PortResult<()>>;
    /// Items of a partition whose sort key starts with `prefix`.
    fn query(&self, pk: &str, prefix: &str) -> impl Future<Output = PortResult<Vec<JournalItem>>>;
}

/// Decision and alert events (EventBridge).
pub trait Events {
    /// Publishes one event with source `regionctl`.
    fn publish(
        &self,
        detail_type: &str,
        detail: &serde_json::Value,
    ) -> impl Future<Output = PortResult<()>>;
}

/// An observer's own probes.
pub trait Prober {
    /// True if the endpoint answered in time.
    fn probe(&self, probe: &Probe) -> impl Future<Output = bool>;
}

/// Data-plane switches (DESIGN.md §6): a metric in the alarm region's CloudWatch per
/// switch, `1` = may serve, `0` = drain.
pub trait Switches {
    /// Publishes switch values (`PutMetricData` to each switch's alarm region).
    fn publish_switches(
        &self,
        values: &[(SwitchRef, bool)],
    ) -> impl Future<Output = PortResult<()>>;
    /// The latest published value of each switch (the minimum over publishers within the
    /// latest period, as the alarm sees it); `None` where nothing was published recently.
    fn read_switches(
        &self,
        switches: &[SwitchRef],
    ) -> impl Future<Output = PortResult<Vec<Option<bool>>>>;
}

/// The clock.
pub trait Clock {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// Everything a controller talks to.
pub trait World:
    Dns + Alarms + Compute + Balancer + Journal + Events + Prober + Switches + Clock
{
}

impl<T: Dns + Alarms + Compute + Balancer + Journal + Events + Prober + Switches + Clock> World
    for T
{
}
