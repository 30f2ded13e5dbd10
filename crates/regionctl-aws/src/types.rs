//! Small domain types spoken by the adapters.
//!
//! Where the core has the domain type (an alarm's state, the record types regionctl
//! manages) the adapters speak it; the types here are the AWS-side shapes the core has no
//! use for (record sets of any routing policy, alarm descriptions, metric ids). They are
//! small and SDK-free, so callers never touch `aws_sdk_*` types.

pub use regionctl_core::health::AlarmState;
pub use regionctl_core::policy::raw::RecordType;

/// A record set's type as a zone lists it: one regionctl manages, or any other (SOA, NS,
/// TXT, ...), which the adapter lists but never writes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RecordSetType {
    /// `A`, `AAAA` or `CNAME`.
    Managed(RecordType),
    /// Any other type, by its Route 53 wire name.
    Other(String),
}

impl RecordSetType {
    /// The Route 53 wire name of the type (`A`, `AAAA`, `CNAME`, ...).
    pub fn as_str(&self) -> &str {
        match self {
            RecordSetType::Managed(t) => t.as_str(),
            RecordSetType::Other(s) => s,
        }
    }

    /// Parses a Route 53 wire name.
    pub fn parse(s: &str) -> RecordSetType {
        match s {
            "A" => RecordType::A.into(),
            "AAAA" => RecordType::Aaaa.into(),
            "CNAME" => RecordType::Cname.into(),
            other => RecordSetType::Other(other.to_string()),
        }
    }

    /// The managed type, if it is one.
    pub fn managed(&self) -> Option<RecordType> {
        match self {
            RecordSetType::Managed(t) => Some(*t),
            RecordSetType::Other(_) => None,
        }
    }
}

impl From<RecordType> for RecordSetType {
    fn from(t: RecordType) -> Self {
        RecordSetType::Managed(t)
    }
}

/// A geolocation selector (exactly as Route 53 models it; `country = "*"` is the default).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GeoLocation {
    /// Two-letter continent code (`EU`, `NA`, ...).
    pub continent: Option<String>,
    /// Two-letter country code, or `*` for the default location.
    pub country: Option<String>,
    /// Subdivision code (US states and a few others).
    pub subdivision: Option<String>,
}

/// How Route 53 chooses between record sets that share a name and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routing {
    /// One record set per name and type.
    Simple,
    /// Weighted: answered in proportion to `weight` (0–255).
    Weighted {
        /// Distinguishes record sets of the same name and type.
        set_identifier: String,
        /// Relative weight, 0–255 (the type enforces the upper bound).
        weight: u8,
    },
    /// Geolocation routing.
    Geolocation {
        /// Distinguishes record sets of the same name and type.
        set_identifier: String,
        /// The location this record answers for.
        location: GeoLocation,
    },
    /// A routing policy this adapter reads but never writes (failover, latency, alias, ...).
    Other {
        /// The set identifier, if any.
        set_identifier: Option<String>,
    },
}

impl Routing {
    /// The set identifier, if the policy has one.
    pub fn set_identifier(&self) -> Option<&str> {
        match self {
            Routing::Simple => None,
            Routing::Weighted { set_identifier, .. }
            | Routing::Geolocation { set_identifier, .. } => Some(set_identifier),
            Routing::Other { set_identifier } => set_identifier.as_deref(),
        }
    }
}

/// One Route 53 resource record set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSet {
    /// Fully qualified name; normalised to lower case with a trailing dot by [`RecordSet::key`].
    pub name: String,
    /// Record type.
    pub rtype: RecordSetType,
    /// TTL in seconds (0 for alias records when listed).
    pub ttl: u32,
    /// Record values (IP addresses, a host name for CNAME).
    pub values: Vec<String>,
    /// Routing policy.
    pub routing: Routing,
    /// Route 53 health check id attached to this record set.
    pub health_check_id: Option<String>,
}

impl RecordSet {
    /// The (name, type) group this record belongs to. Route 53 requires all changes to one
    /// group to be in the same batch, so batching never splits a group.
    pub fn group_key(&self) -> (String, RecordSetType) {
        (normalize_name(&self.name), self.rtype.clone())
    }

    /// The identity of the record set within a zone: (name, type, set identifier).
    pub fn key(&self) -> (String, RecordSetType, Option<String>) {
        (
            normalize_name(&self.name),
            self.rtype.clone(),
            self.routing.set_identifier().map(str::to_string),
        )
    }

    /// Total number of characters in all values (what Route 53's 32,000 limit counts).
    pub fn value_chars(&self) -> usize {
        self.values.iter().map(|v| v.chars().count()).sum()
    }
}

/// Normalises a DNS name the way Route 53 returns it: lower case, trailing dot, `\052` → `*`.
pub fn normalize_name(name: &str) -> String {
    let mut n = name.replace("\\052", "*").to_ascii_lowercase();
    if !n.ends_with('.') {
        n.push('.');
    }
    n
}

/// A Route 53 change action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeAction {
    /// Create; fails if the record set exists.
    Create,
    /// Delete; fails unless the record set exists with exactly these values.
    Delete,
    /// Create or replace. Counts twice toward the batch limits.
    Upsert,
}

impl ChangeAction {
    /// How many times a change with this action counts toward the batch limits.
    pub fn weight(self) -> usize {
        match self {
            ChangeAction::Upsert => 2,
            ChangeAction::Create | ChangeAction::Delete => 1,
        }
    }
}

/// One change to one record set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordChange {
    /// What to do.
    pub action: ChangeAction,
    /// The record set (for DELETE: exactly the current one).
    pub record: RecordSet,
}

impl RecordChange {
    /// An UPSERT of `record`.
    pub fn upsert(record: RecordSet) -> Self {
        RecordChange {
            action: ChangeAction::Upsert,
            record,
        }
    }
    /// A CREATE of `record`.
    pub fn create(record: RecordSet) -> Self {
        RecordChange {
            action: ChangeAction::Create,
            record,
        }
    }
    /// A DELETE of exactly `record`.
    pub fn delete(record: RecordSet) -> Self {
        RecordChange {
            action: ChangeAction::Delete,
            record,
        }
    }
    /// A compare-and-swap: DELETE exactly `old` and CREATE `new` in the same batch. Route 53
    /// rejects the whole batch if `old` is not the current record, and it costs the same as
    /// an UPSERT (1 + 1 changes).
    pub fn compare_and_swap(old: RecordSet, new: RecordSet) -> [RecordChange; 2] {
        [RecordChange::delete(old), RecordChange::create(new)]
    }
}

/// CloudWatch's name of an alarm state (`OK`, `ALARM`, `INSUFFICIENT_DATA`).
pub fn alarm_state_name(state: AlarmState) -> &'static str {
    match state {
        AlarmState::Ok => "OK",
        AlarmState::Alarm => "ALARM",
        AlarmState::InsufficientData => "INSUFFICIENT_DATA",
    }
}

/// Parses CloudWatch's name of an alarm state.
pub fn parse_alarm_state(name: &str) -> Option<AlarmState> {
    match name {
        "OK" => Some(AlarmState::Ok),
        "ALARM" => Some(AlarmState::Alarm),
        "INSUFFICIENT_DATA" => Some(AlarmState::InsufficientData),
        _ => None,
    }
}

/// The state of one alarm as read from `DescribeAlarms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmStatus {
    /// Alarm name.
    pub name: String,
    /// Current state.
    pub state: AlarmState,
    /// When the state last changed, epoch milliseconds.
    pub state_updated_ms: i64,
    /// CloudWatch's explanation.
    pub reason: String,
    /// Metric namespace (empty for metric-math alarms).
    pub namespace: String,
    /// Metric name (empty for metric-math alarms).
    pub metric_name: String,
    /// Metric dimensions.
    pub dimensions: Vec<(String, String)>,
    /// Metric-math alarms: every metric their queries read (empty for single-metric
    /// alarms). `gameday --target aws` checks that an alarm reads the chaos metric before
    /// it counts on publishing that metric to fail the alarm.
    pub math_metrics: Vec<MetricId>,
}

/// One CloudWatch metric, as a metric-math alarm's query names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MetricId {
    /// Namespace.
    pub namespace: String,
    /// Metric name.
    pub metric_name: String,
    /// Dimensions as (name, value), sorted by name.
    pub dimensions: Vec<(String, String)>,
}

/// An alarm state change carried by an EventBridge "CloudWatch Alarm State Change" event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmStateChange {
    /// Alarm name (`detail.alarmName`).
    pub alarm_name: String,
    /// New state (`detail.state.value`).
    pub state: AlarmState,
    /// When the state changed, epoch milliseconds (`detail.state.timestamp`).
    pub timestamp_ms: i64,
    /// Region of the alarm (envelope `region`).
    pub region: String,
}

/// ECS service capacity as reported by `DescribeServices`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceCounts {
    /// Desired task count.
    pub desired: i32,
    /// Running task count.
    pub running: i32,
    /// Pending task count.
    pub pending: i32,
}

/// One target group's weight in a weighted forward action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroupWeight {
    /// Target group ARN.
    pub target_group_arn: String,
    /// Weight, 0–999.
    pub weight: u16,
}
