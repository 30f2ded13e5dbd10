//! The controller configuration (`kind: ControllerConfig`): how controllers run, not what
//! they decide.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Controller-wide configuration: how controllers run, not what they decide.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ControllerSpec {
    /// Regions that run a controller. Majorities are counted over this list.
    pub regions: Vec<String>,
    /// DynamoDB journal table (a global table in production).
    #[serde(default = "default_journal_table")]
    pub journal_table: String,
    /// Region whose replica of the journal every controller uses. Default: each
    /// controller's own region. On moto (no replication), set one region for all.
    #[serde(default)]
    pub journal_region: Option<String>,
    /// SQS queue (per region) fed by the EventBridge rule on alarm state changes.
    #[serde(default = "default_alarm_queue")]
    pub alarm_queue: String,
    /// EventBridge bus for decision and alert events. Only `default` is supported by this
    /// build (`check` warns otherwise).
    #[serde(default = "default_event_bus")]
    pub event_bus: String,
    /// Reconcile interval.
    #[serde(default = "default_tick_secs")]
    pub tick_secs: u64,
    /// A peer heartbeat older than this is not fresh.
    #[serde(default = "default_heartbeat_ttl_secs")]
    pub heartbeat_ttl_secs: u64,
    /// How long a `propose` decision waits for approval before it lapses.
    #[serde(default = "default_approval_timeout_secs")]
    pub approval_timeout_secs: u64,
    /// Route 53 client-side token bucket (shared by reads and writes, writes first).
    #[serde(default)]
    pub route53: Route53Budget,
    /// How this controller's own probes share a pass (issue 18: 1,000 services' probes one
    /// after another took minutes; now concurrent, bounded, with a deadline).
    #[serde(default)]
    pub probes: ProbeBudget,
    /// How fast this controller re-reads its alarms (events carry changes between reads).
    #[serde(default)]
    pub alarm_reads: AlarmReadBudget,
    /// How fast this controller re-reads ECS counts (services with steps are re-read before
    /// they are applied).
    #[serde(default)]
    pub capacity_reads: CapacityReadBudget,
    /// What `regionctl provision` needs to create resources (sandbox and moto only).
    #[serde(default)]
    pub provision: ProvisionSpec,
}

/// Settings used only by `regionctl provision`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ProvisionSpec {
    /// Per region: where Fargate services are created.
    #[serde(default)]
    pub network: std::collections::BTreeMap<String, NetworkSpec>,
}

/// A region's network for Fargate tasks.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Subnet ids.
    pub subnets: Vec<String>,
    /// Security group ids.
    pub security_groups: Vec<String>,
}

fn default_journal_table() -> String {
    "regionctl-journal".to_string()
}

fn default_alarm_queue() -> String {
    "regionctl-alarm-events".to_string()
}

fn default_event_bus() -> String {
    "default".to_string()
}

fn default_tick_secs() -> u64 {
    10
}

fn default_heartbeat_ttl_secs() -> u64 {
    30
}

fn default_approval_timeout_secs() -> u64 {
    900
}

/// Route 53 API budget.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Route53Budget {
    /// Token bucket size.
    #[serde(default = "default_burst")]
    pub burst: u32,
    /// Tokens per second.
    #[serde(default = "default_refill_per_sec")]
    pub refill_per_sec: u32,
}

fn default_burst() -> u32 {
    50
}

fn default_refill_per_sec() -> u32 {
    10
}

impl Default for Route53Budget {
    fn default() -> Self {
        Route53Budget {
            burst: default_burst(),
            refill_per_sec: default_refill_per_sec(),
        }
    }
}

/// How an observer's probes share a pass: at most `concurrency` in flight per probed region
/// (a black-holed region ties up only its own slots), and none waited for past the deadline
/// from the start of the probe stage. A probe still unanswered then is no evidence: never
/// healthy, and it goes first in the next pass.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ProbeBudget {
    /// Probes in flight at once per probed region. Default 64.
    #[serde(default)]
    pub concurrency: Option<u32>,
    /// Seconds the probe stage may take. Must be less than `tick_secs`, so a pass whose
    /// every endpoint times out still finishes in its tick. Default: half the tick.
    #[serde(default)]
    pub deadline_secs: Option<u64>,
}

impl ProbeBudget {
    /// Probes in flight per probed region.
    pub fn concurrency(&self) -> usize {
        self.concurrency.map_or(64, |c| c.max(1) as usize)
    }

    /// The probe stage's deadline in milliseconds, for a controller ticking every
    /// `tick_secs`.
    pub fn deadline_ms(&self, tick_secs: u64) -> u64 {
        self.deadline_secs
            .map_or(tick_secs.max(1) * 500, |s| s.max(1) * 1000)
    }
}

/// How fast a controller re-reads its alarms: `DescribeAlarms` calls (100 names each) per
/// second per region. A region whose alarms fit in one pass's calls is read whole every
/// pass; a larger one is re-read round by round, alarm state change events carrying the
/// changes in between (issue 18).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct AlarmReadBudget {
    /// Calls per second per region for this controller. Default 1: three controllers use a
    /// third of CloudWatch's default quota (about 9 per second per account and region).
    #[serde(default)]
    pub calls_per_sec: Option<f64>,
}

/// How fast a controller re-reads ECS desired/running counts: `DescribeServices` calls (10
/// services of one cluster each) per second per region. A region whose services fit in one
/// pass's calls is read whole every pass; a larger one round by round, and the services a
/// pass acts on are read again just before (issue 18).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CapacityReadBudget {
    /// Calls per second per region for this controller. Default 2: three controllers use
    /// under a third of ECS's read rate (about 20 per second per account and region,
    /// sustained).
    #[serde(default)]
    pub calls_per_sec: Option<f64>,
}
