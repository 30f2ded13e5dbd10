//! Ports: the I/O a controller needs, as small traits over domain types.
//!
//! Two families implement them: the AWS adapters (`regionctl_aws::world`, official SDK) and
//! the simulated world (`regionctl_sim::world`). The types they speak are declared here, once
//! (or in the core), and each implementation converts to them at its edge.
//! The futures need not be `Send`: a controller runs one pass at a time on one task.

use crate::probes::ProbeBatch;
use regionctl_core::guard::Violation;
use regionctl_core::health::AlarmObservation;
use regionctl_core::live::{AlbState, EcsState};
pub use regionctl_core::policy::raw::RecordType;
use regionctl_core::policy::{Cell, Probe, Service};
pub use regionctl_core::switch::SwitchRef;
use regionctl_core::time::Timestamp;
use std::future::Future;
use std::sync::Arc;

/// How a failed call should be treated, decided once where the failure is known: by
/// `regionctl_aws::errors::classify` for AWS calls, by the simulated world for its faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Transient: retry with backoff (5xx, timeouts, connection failures).
    Retryable,
    /// The service asked us to slow down: retry with backoff and spend fewer tokens.
    Throttled,
    /// Retrying the same request cannot help (validation, not found, conflict, auth).
    Permanent,
}

impl ErrorClass {
    /// Whether a retry of the same request may succeed.
    pub fn is_retryable(self) -> bool {
        !matches!(self, ErrorClass::Permanent)
    }
}

/// A failed port call: which call, how to treat it, and the adapter's own error as its
/// source.
///
/// # Design
/// `Display` says only which call failed and its class (the house style: a layer's message
/// describes that layer, the cause stays in the source chain). Logs, journal records and
/// traces print the whole chain ([`PortError::display_chain`]) or only the cause
/// ([`PortError::message`]), as they always have.
#[derive(Debug, Clone)]
pub struct PortError {
    /// AWS service (or simulated component).
    pub service: &'static str,
    /// Operation.
    pub operation: &'static str,
    /// Classification.
    pub class: ErrorClass,
    /// What the adapter (or the simulated component) reported: the error's source.
    /// Shared, so that a port error stays cheap to clone.
    pub source: Arc<dyn std::error::Error + Send + Sync>,
}

impl std::fmt::Display for PortError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} failed ({:?})",
            self.service, self.operation, self.class
        )
    }
}

/// Written out rather than derived: the source is the adapter's error itself (which a
/// caller can downcast), not the `Arc` that shares it.
impl std::error::Error for PortError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}

impl PortError {
    /// A port error caused by `source` (an adapter's error, or a message such as a simulated
    /// fault's).
    pub fn new(
        service: &'static str,
        operation: &'static str,
        class: ErrorClass,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        PortError {
            service,
            operation,
            class,
            source: Arc::from(source.into()),
        }
    }

    /// The cause's text: what the adapter or the simulated component said.
    pub fn message(&self) -> String {
        self.source.to_string()
    }

    /// This error and its causes, `: `-separated (`route53 ChangeResourceRecordSets failed
    /// (Throttled): …`), as anyhow's `{:#}` prints a chain.
    pub fn display_chain(&self) -> String {
        let mut text = self.to_string();
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(self.source.as_ref());
        while let Some(e) = cause {
            text.push_str(": ");
            text.push_str(&e.to_string());
            cause = e.source();
        }
        text
    }
}

/// Result of a port call.
pub type PortResult<T> = Result<T, PortError>;

/// A weighted record as the controller manages it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedRecord {
    /// Record name (as in the policy, without trailing dot).
    pub name: String,
    /// Record type.
    pub record_type: RecordType,
    /// Set identifier.
    pub set_identifier: String,
    /// Value.
    pub value: String,
    /// TTL.
    pub ttl: u32,
    /// Weight.
    pub weight: u8,
}

impl WeightedRecord {
    /// The record `service`'s policy gives `cell` in local region `r`, at `weight`.
    pub fn of_cell(service: &Service, cell: &Cell, r: usize, weight: u8) -> Self {
        WeightedRecord {
            name: cell.record_name.clone(),
            record_type: service.routing.record_type,
            set_identifier: cell.set_identifiers[r].clone(),
            value: cell.values_per_region[r].clone(),
            ttl: service.routing.ttl_secs,
            weight,
        }
    }
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

/// Services per `DescribeServices` call: the API's limit.
pub const DESCRIBE_SERVICES_MAX: usize = 10;

/// ECS capacity.
pub trait Compute {
    /// Desired/running/pending of each of `services` (names in `cluster`), in the order
    /// asked, `None` for one that does not exist. Adapters make one `DescribeServices` call
    /// per [`DESCRIBE_SERVICES_MAX`] names (issue 18: one call per service was 300 calls/s
    /// per region at 1,000 services).
    fn describe_services(
        &self,
        region: &str,
        cluster: &str,
        services: &[String],
    ) -> impl Future<Output = PortResult<Vec<Option<EcsState>>>>;
    /// One service's counts, `None` if it does not exist (one call).
    fn describe_service(
        &self,
        region: &str,
        cluster: &str,
        service: &str,
    ) -> impl Future<Output = PortResult<Option<EcsState>>> {
        async move {
            let mut one = self
                .describe_services(region, cluster, &[service.to_string()])
                .await?;
            Ok(one.pop().flatten())
        }
    }
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

/// What a journal item records: its `kind` attribute (see [`crate::journal`] for the keys
/// each kind uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    /// A decision's intent or outcome, or a service's cooldown start.
    Decision,
    /// One observer's probe digest.
    Observation,
    /// A controller's heartbeat.
    Heartbeat,
    /// An operator's pause, override or approval.
    Control,
}

impl ItemKind {
    /// Every kind.
    pub const ALL: [ItemKind; 4] = [
        ItemKind::Decision,
        ItemKind::Observation,
        ItemKind::Heartbeat,
        ItemKind::Control,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Decision => "DECISION",
            ItemKind::Observation => "OBSERVATION",
            ItemKind::Heartbeat => "HEARTBEAT",
            ItemKind::Control => "CONTROL",
        }
    }

    /// Parses the stored name (`None`: not a kind any controller writes).
    pub fn parse(s: &str) -> Option<ItemKind> {
        ItemKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for ItemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One journal item (see [`crate::journal`] for kinds and keys).
#[derive(Debug, Clone, PartialEq)]
pub struct JournalItem {
    /// Partition key.
    pub pk: String,
    /// Sort key.
    pub sk: String,
    /// Kind.
    pub kind: ItemKind,
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
    /// Items of a partition whose sort key starts with `prefix`, unexpired, in sort-key
    /// order. An item whose body cannot be read is an error of its own, in its place: the
    /// rest of the partition still reads.
    fn query(
        &self,
        pk: &str,
        prefix: &str,
    ) -> impl Future<Output = PortResult<Vec<PortResult<JournalItem>>>>;
}

/// The items of several partitions (every controller's heartbeat or digest partition),
/// each read on its own: one that cannot be read is named in the failures and the others
/// still count.
pub async fn query_partitions<W: Journal>(
    world: &W,
    partitions: impl IntoIterator<Item = String>,
) -> (Vec<PortResult<JournalItem>>, Vec<String>) {
    let mut items = Vec::new();
    let mut failures = Vec::new();
    for pk in partitions {
        match world.query(&pk, "").await {
            Ok(found) => items.extend(found),
            Err(e) => failures.push(format!("journal {pk} unreadable: {}", e.message())),
        }
    }
    (items, failures)
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

    /// Every probe of `batch`, concurrently within its limits: one answer per probe, `None`
    /// for a probe not answered by the batch's deadline. This default waits for every
    /// answer, for worlds whose probes answer at once (the simulated world, the test
    /// fake); a world on real time stops waiting at `batch.limits.deadline_ms`.
    fn probe_batch(&self, batch: &ProbeBatch) -> impl Future<Output = Vec<Option<bool>>> {
        batch.collect_until(self, std::future::pending())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_kinds_round_trip_through_their_stored_names() {
        for kind in ItemKind::ALL {
            assert_eq!(ItemKind::parse(kind.as_str()), Some(kind));
            assert_eq!(kind.to_string(), kind.as_str());
        }
        // Documented once, never written: not a kind.
        assert_eq!(ItemKind::parse("LEASE"), None);
    }

    /// An adapter error with a cause of its own, as an SDK error might carry.
    #[derive(Debug, thiserror::Error)]
    #[error("route53 ChangeResourceRecordSets failed (Throttled, Throttling): Rate exceeded")]
    struct AdapterError {
        #[source]
        cause: std::io::Error,
    }

    #[test]
    fn port_errors_keep_their_source_and_print_as_they_always_did() {
        let e = PortError::new(
            "route53",
            "ChangeResourceRecordSets",
            ErrorClass::Throttled,
            "Throttling: Rate exceeded",
        );
        assert_eq!(
            e.to_string(),
            "route53 ChangeResourceRecordSets failed (Throttled)"
        );
        assert_eq!(e.message(), "Throttling: Rate exceeded");
        assert_eq!(
            e.display_chain(),
            "route53 ChangeResourceRecordSets failed (Throttled): Throttling: Rate exceeded"
        );
        assert!(e.class.is_retryable());
        assert!(!ErrorClass::Permanent.is_retryable());

        let adapter = AdapterError {
            cause: std::io::Error::other("connection reset"),
        };
        let e = PortError::new(
            "route53",
            "ChangeResourceRecordSets",
            ErrorClass::Throttled,
            adapter,
        );
        let source = std::error::Error::source(&e).expect("a source");
        assert!(source.downcast_ref::<AdapterError>().is_some());
        assert_eq!(
            e.display_chain(),
            "route53 ChangeResourceRecordSets failed (Throttled): route53 \
             ChangeResourceRecordSets failed (Throttled, Throttling): Rate exceeded: connection reset"
        );
    }
}
