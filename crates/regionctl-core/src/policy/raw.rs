//! The policy file format, exactly as written in YAML (`apiVersion: regionctl/v1`).
//!
//! These types are the single source of truth for the format: the loader deserializes them,
//! `regionctl schema` derives the JSON Schema from them, and validation
//! ([`super::validate`]) turns them into the checked, indexed [`super::Bundle`].
//!
//! Field names are `snake_case`, with units last (`fail_after_secs`), as in firecracker's
//! config types. Every struct denies unknown fields; the loader reports all of them at once.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The only API version this build understands.
pub const API_VERSION: &str = "regionctl/v1";

/// The header every document starts with. `spec` is read separately, by `kind`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Header {
    /// Must be `regionctl/v1`.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// What this document is.
    pub kind: Kind,
    /// Name and description.
    pub metadata: Metadata,
}

/// One YAML document, as the JSON Schema describes it (`regionctl schema`): the `kind`
/// field selects the shape of `spec`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "kind")]
// Only used to derive the schema; never held in bulk, so variant sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[schemars(title = "regionctl policy document")]
pub enum DocumentSchema {
    /// A failover policy for one service.
    ServicePolicy {
        /// Must be `regionctl/v1`.
        #[serde(rename = "apiVersion")]
        api_version: String,
        /// Name and description.
        metadata: Metadata,
        /// The policy.
        spec: ServiceSpec,
    },
    /// The controller-wide configuration; at most one per bundle.
    ControllerConfig {
        /// Must be `regionctl/v1`.
        #[serde(rename = "apiVersion")]
        api_version: String,
        /// Name and description.
        metadata: Metadata,
        /// The configuration.
        spec: ControllerSpec,
    },
    /// Policy unit tests, run by `regionctl test`.
    PolicyTest {
        /// Must be `regionctl/v1`.
        #[serde(rename = "apiVersion")]
        api_version: String,
        /// Name and description.
        metadata: Metadata,
        /// The test cases.
        spec: PolicyTestSpec,
    },
}

/// The kinds of document a policy directory may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum Kind {
    /// A failover policy for one service (`spec`: `ServiceSpec`).
    ServicePolicy,
    /// The controller-wide configuration (`spec`: `ControllerSpec`); at most one per bundle.
    ControllerConfig,
    /// Policy unit tests (`spec`: `PolicyTestSpec`), run by `regionctl test`.
    PolicyTest,
}

/// Name and free-form description.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Metadata {
    /// Unique within its kind: lowercase letters, digits and `-`, at most 63 characters.
    pub name: String,
    /// What this is for; shown by `plan` and `explain`.
    #[serde(default)]
    pub description: Option<String>,
    /// Team or person paged about this service.
    #[serde(default)]
    pub owner: Option<String>,
}

/// Failover policy for one service.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ServiceSpec {
    /// How critical the service is: 1 (most) to 4. Sets the default `mode`: tiers 1 and 2
    /// default to `propose`, tiers 3 and 4 to `observe`. Nobody gets `enforce` by accident.
    pub tier: u8,
    /// How the service survives a region loss.
    pub strategy: Strategy,
    /// What automation may do. Defaults from `tier`.
    #[serde(default)]
    pub mode: Option<Mode>,
    /// Services that must fail over before this one (their steps come first in a plan).
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Regions that run the service, with their baseline Route 53 weights.
    pub regions: Vec<RegionSpec>,
    /// Optional split into cells (e.g. country × plan × platform).
    #[serde(default)]
    pub cells: Option<CellsSpec>,
    /// Which signals decide health, and how they are debounced.
    pub health: HealthSpec,
    /// The DNS records that carry the service's traffic.
    pub routing: RoutingSpec,
    /// ECS capacity and the optional Fargate/Lambda balancer, per region.
    #[serde(default)]
    pub compute: Option<ComputeSpec>,
    /// Limits on what automation may do.
    #[serde(default)]
    pub safety: SafetySpec,
}

/// Failover strategy (DESIGN.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// All healthy regions serve by weight; a failing region's share is redistributed.
    ActiveActive,
    /// A standby runs reduced capacity; on failover it is scaled up, then receives traffic.
    WarmStandby,
    /// A standby has data but no compute (desired 0); scale from zero, then shift.
    PilotLight,
    /// No automatic traffic move: record "restore required" and point at the runbook.
    BackupRestore,
}

impl Strategy {
    /// The name as written in policies.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::ActiveActive => "active-active",
            Strategy::WarmStandby => "warm-standby",
            Strategy::PilotLight => "pilot-light",
            Strategy::BackupRestore => "backup-restore",
        }
    }
}

/// What automation may do with a service's plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Decide and record only.
    Observe,
    /// Record, publish, and wait for `regionctl approve`.
    Propose,
    /// Apply automatically.
    Enforce,
}

impl Mode {
    /// The name as written in policies.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Observe => "observe",
            Mode::Propose => "propose",
            Mode::Enforce => "enforce",
        }
    }
}

/// One region that runs the service.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RegionSpec {
    /// AWS region name, e.g. `eu-central-1`.
    pub name: String,
    /// Baseline Route 53 weight (0–255). For `warm-standby` and `pilot-light`, standbys
    /// usually have weight 0 and receive traffic only on failover.
    pub weight: u32,
    /// `primary` serves in steady state; `standby` only on failover. Default `primary`,
    /// except that a region with weight 0 defaults to `standby`.
    #[serde(default)]
    pub role: Option<Role>,
    /// Baseline weight per availability zone (Uplynk-style region → zone hierarchy).
    /// Zone records are validated and provisioned; automation does not move them.
    #[serde(default)]
    pub zones: Vec<ZoneSpec>,
}

/// A region's role in steady state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Serves traffic in steady state.
    Primary,
    /// Receives traffic only on failover.
    Standby,
}

/// One availability-zone endpoint under a region record.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ZoneSpec {
    /// Zone id, e.g. `euc1-az1`.
    pub name: String,
    /// Route 53 weight (0–255).
    pub weight: u32,
    /// Record value (e.g. the zone's load balancer name); may use `{region}`, `{zone}`.
    pub value: String,
}

/// Cells: isolated slices of traffic, the cartesian product of the dimensions.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CellsSpec {
    /// Ordered dimensions, e.g. country, plan, platform. The cell id joins one value of
    /// each with `-`, lowercased (`de-paid-ios`); templates use `{cell}` or `{<dimension>}`.
    pub dimensions: Vec<DimensionSpec>,
    /// Which regions serve each cell, as ordered failover tiers; the first rule whose
    /// `match` fits a cell wins. Cells no rule matches are served by all regions in one tier.
    #[serde(default)]
    pub serving: Vec<ServingRule>,
}

/// One cell dimension.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct DimensionSpec {
    /// Dimension name, e.g. `country`.
    pub name: String,
    /// Its values, e.g. `[DE, AT, CH]`.
    pub values: Vec<String>,
}

/// Failover tiers for the cells a rule matches.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ServingRule {
    /// Dimension → allowed values. An absent dimension matches everything.
    #[serde(default, rename = "match")]
    pub match_: std::collections::BTreeMap<String, Vec<String>>,
    /// Ordered tiers of regions. Traffic goes to the healthy regions of the first tier that
    /// has one, split by their weights; later tiers receive traffic only when every region of
    /// the earlier tiers is unhealthy.
    pub tiers: Vec<Vec<String>>,
}

/// Health signals and their debouncing.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct HealthSpec {
    /// CloudWatch alarms; a name template with `{cell}` (or a dimension) is per cell,
    /// otherwise per region. ALARM is evidence of failure, OK of health, and
    /// INSUFFICIENT_DATA is no evidence at all (unknown, never healthy).
    #[serde(default)]
    pub alarms: Vec<AlarmSpec>,
    /// Endpoints each observer (controller) probes from its own region.
    #[serde(default)]
    pub probes: Vec<ProbeSpec>,
    /// How many observers' probes must agree before a region counts as unreachable (or
    /// reachable). Default: a strict majority of the controllers.
    #[serde(default)]
    pub quorum: Option<u32>,
    /// How long failure evidence must persist before a region (or cell) turns unhealthy.
    #[serde(default = "default_fail_after_secs")]
    pub fail_after_secs: u64,
    /// How long health evidence must persist before an unhealthy region turns healthy.
    #[serde(default = "default_recover_after_secs")]
    pub recover_after_secs: u64,
    /// Readiness of idle regions (standby or drained), whose alarms go quiet.
    #[serde(default)]
    pub readiness: ReadinessSpec,
}

fn default_fail_after_secs() -> u64 {
    60
}

fn default_recover_after_secs() -> u64 {
    300
}

/// A CloudWatch alarm template.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct AlarmSpec {
    /// Alarm name template, e.g. `playback-{region}-5xx` or `playback-{region}-{cell}-errors`.
    pub name: String,
    /// `failure` (default): ALARM means the region or cell is failing. `load`: ALARM means
    /// the region is overloaded, which moves ALB traffic from Fargate to Lambda.
    #[serde(default)]
    pub role: AlarmRole,
}

/// What an alarm in ALARM means.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AlarmRole {
    /// The region or cell is failing.
    #[default]
    Failure,
    /// The region is overloaded (Fargate → Lambda burst).
    Load,
}

/// An endpoint probed by every observer.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ProbeSpec {
    /// `http` (GET, 2xx/3xx is healthy) or `tcp` (connect).
    pub protocol: ProbeProtocol,
    /// URL (`http`) or `host:port` (`tcp`) template; may use `{region}`.
    pub target: String,
    /// Exact targets for some regions, overriding `target` (e.g. endpoints whose names do
    /// not follow one pattern).
    #[serde(default)]
    pub per_region: std::collections::BTreeMap<String, String>,
    /// Give up after this long.
    #[serde(default = "default_probe_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_probe_timeout_ms() -> u64 {
    2000
}

/// Probe protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeProtocol {
    /// HTTP GET; 2xx and 3xx are healthy.
    Http,
    /// TCP connect.
    Tcp,
}

/// Readiness of standby and drained regions.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ReadinessSpec {
    /// Count running ECS capacity at or above `compute.ecs.readiness_percent` of the
    /// standby count as evidence of health for an idle region. Default true.
    #[serde(default)]
    pub running_capacity: Option<bool>,
}

/// DNS routing: one weighted record set per cell (each cell has its own record name,
/// because DNS cannot see a user's plan or platform).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RoutingSpec {
    /// Route 53 hosted zone id, e.g. `Z0123456789ABCDEFGHIJ`.
    pub hosted_zone_id: String,
    /// Record name template. With cells it must contain `{cell}` (or every dimension), so
    /// each cell has its own name.
    pub record_name: String,
    /// Record type.
    #[serde(default = "default_record_type")]
    pub record_type: RecordType,
    /// Weighted set identifier template; must contain `{region}`.
    #[serde(default = "default_set_identifier")]
    pub set_identifier: String,
    /// Record value template per region, e.g. `{region}.lb.example.com` or an IP.
    pub value: String,
    /// TTL of the weighted records.
    #[serde(default = "default_ttl_secs")]
    pub ttl_secs: u32,
    /// Optional geolocation tree in front of the cell records (Uplynk-style hierarchy).
    #[serde(default)]
    pub geolocation: Option<GeolocationSpec>,
    /// Data-plane switches (DESIGN.md §6): a Route 53 health check per region bound to a
    /// CloudWatch alarm on a metric the controllers publish.
    #[serde(default)]
    pub switch: Option<SwitchSpec>,
}

fn default_record_type() -> RecordType {
    RecordType::Cname
}

fn default_set_identifier() -> String {
    "{cell}-{region}".to_string()
}

fn default_ttl_secs() -> u32 {
    60
}

/// Route 53 record types regionctl manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
pub enum RecordType {
    /// IPv4 address.
    A,
    /// IPv6 address.
    #[serde(rename = "AAAA")]
    Aaaa,
    /// Canonical name.
    #[serde(rename = "CNAME")]
    Cname,
}

impl RecordType {
    /// The Route 53 spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Cname => "CNAME",
        }
    }
}

/// Geolocation records that point (by CNAME) at cell records.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct GeolocationSpec {
    /// The name users resolve, e.g. `content.example.com`.
    pub record_name: String,
    /// Location → target cell. Must include a `default` rule, or users outside every listed
    /// location get NXDOMAIN-like empty answers.
    pub rules: Vec<GeoRule>,
}

/// One geolocation record.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct GeoRule {
    /// Continent code (`AF`, `AN`, `AS`, `EU`, `NA`, `OC`, `SA`).
    #[serde(default)]
    pub continent: Option<String>,
    /// ISO 3166 country code, e.g. `DE`.
    #[serde(default)]
    pub country: Option<String>,
    /// The catch-all record (`*`).
    #[serde(default)]
    pub default: bool,
    /// The cell whose record this location resolves to (cell id, e.g. `eu`).
    pub cell: String,
}

/// Data-plane switch wiring.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SwitchSpec {
    /// `region` (one health check per region, shared by all its records) or `cell`.
    #[serde(default)]
    pub scope: SwitchScope,
    /// CloudWatch namespace of the switch metric; the switch alarms are named after it
    /// (`regionctl/switch` → `regionctl-switch-<service>-<region>[-<cell>]`).
    #[serde(default = "default_switch_namespace")]
    pub namespace: String,
    /// Region where the switch alarms live for each guarded region; must differ from it.
    /// Default: the first other region of the service.
    #[serde(default)]
    pub alarm_region: std::collections::BTreeMap<String, String>,
    /// CloudWatch metric name of the switches (dimensions `Service`, `Region`, `Cell`).
    #[serde(default = "default_switch_metric")]
    pub metric: String,
    /// Period of the switch alarm, seconds: a multiple of 60 (the metric is standard
    /// resolution). A flip takes effect at the end of the period it was published in.
    #[serde(default = "default_switch_period_secs")]
    pub period_secs: u32,
    /// Seconds between Route 53's evaluations of the health check (10 or 30).
    #[serde(default = "default_switch_interval_secs")]
    pub interval_secs: u32,
    /// Evaluations that must agree before Route 53 changes the check's status (1–10).
    #[serde(default = "default_switch_failure_threshold")]
    pub failure_threshold: u32,
}

fn default_switch_metric() -> String {
    crate::switch::METRIC_NAME.to_string()
}

fn default_switch_period_secs() -> u32 {
    60
}

fn default_switch_interval_secs() -> u32 {
    30
}

fn default_switch_failure_threshold() -> u32 {
    3
}

fn default_switch_namespace() -> String {
    "regionctl/switch".to_string()
}

/// Granularity of data-plane switches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SwitchScope {
    /// One health check per region, shared by all the region's records.
    #[default]
    Region,
    /// One health check per (region, cell).
    Cell,
}

/// Compute capacity per region.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ComputeSpec {
    /// ECS (Fargate) service.
    #[serde(default)]
    pub ecs: Option<EcsSpec>,
    /// ALB listener that splits traffic between a Fargate and a Lambda target group.
    #[serde(default)]
    pub alb: Option<AlbSpec>,
}

/// ECS service capacity.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct EcsSpec {
    /// Cluster name template (may use `{region}`).
    pub cluster: String,
    /// Service name template (may use `{region}`).
    pub service: String,
    /// Desired count of a standby (or idle) region. `pilot-light` must use 0.
    #[serde(default)]
    pub standby_count: u32,
    /// Desired count of a region carrying its full baseline share.
    pub full_count: u32,
    /// Running capacity, as a percentage of the target, that counts as ready.
    #[serde(default = "default_readiness_percent")]
    pub readiness_percent: u32,
    /// Longest wait for capacity before shifting what capacity can carry (`partial`).
    #[serde(default = "default_max_wait_secs")]
    pub max_wait_secs: u64,
}

fn default_readiness_percent() -> u32 {
    80
}

fn default_max_wait_secs() -> u64 {
    600
}

/// Fargate/Lambda split on an ALB listener.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct AlbSpec {
    /// Listener ARN template (may use `{region}`).
    pub listener_arn: String,
    /// Fargate target group ARN template.
    pub fargate_target_group: String,
    /// Lambda target group ARN template.
    pub lambda_target_group: String,
    /// Lambda's ALB weight (0–999) while a `load` alarm is in ALARM.
    #[serde(default = "default_burst_lambda_percent")]
    pub burst_lambda_percent: u32,
}

fn default_burst_lambda_percent() -> u32 {
    50
}

/// Limits on automation.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SafetySpec {
    /// Never evacuate if fewer healthy regions than this would remain serving the service;
    /// hold the last good state and alert instead.
    #[serde(default = "default_min_healthy_regions")]
    pub min_healthy_regions: u32,
    /// Largest share of a cell's traffic (percentage points) one discretionary step may move
    /// (failback, rebalancing). Evacuating an unhealthy region is exempt.
    #[serde(default = "default_max_shift_percent_per_step")]
    pub max_shift_percent_per_step: u32,
    /// Least time between two discretionary moves of a service. Evacuation is exempt.
    #[serde(default = "default_cooldown_secs")]
    pub cooldown_secs: u64,
    /// How long `warm-standby` / `pilot-light` traffic may stay on a degraded (but reachable)
    /// region while the standby's capacity comes up.
    #[serde(default = "default_max_degraded_hold_secs")]
    pub max_degraded_hold_secs: u64,
    /// How traffic returns to a recovered region.
    #[serde(default)]
    pub failback: FailbackSpec,
}

fn default_min_healthy_regions() -> u32 {
    1
}

fn default_max_shift_percent_per_step() -> u32 {
    50
}

fn default_cooldown_secs() -> u64 {
    300
}

fn default_max_degraded_hold_secs() -> u64 {
    600
}

impl Default for SafetySpec {
    fn default() -> Self {
        SafetySpec {
            min_healthy_regions: default_min_healthy_regions(),
            max_shift_percent_per_step: default_max_shift_percent_per_step(),
            cooldown_secs: default_cooldown_secs(),
            max_degraded_hold_secs: default_max_degraded_hold_secs(),
            failback: FailbackSpec::default(),
        }
    }
}

/// Failback policy.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct FailbackSpec {
    /// `auto` (in stages) or `manual` (an operator override restores the region).
    #[serde(default = "default_failback_mode")]
    pub mode: FailbackMode,
    /// How long a region must have been healthy (and ready) before failback starts.
    #[serde(default = "default_after_healthy_secs")]
    pub after_healthy_secs: u64,
    /// Stages as a percentage of the region's baseline share, ending at 100.
    #[serde(default = "default_stages_percent")]
    pub stages_percent: Vec<u32>,
}

fn default_failback_mode() -> FailbackMode {
    FailbackMode::Auto
}

fn default_after_healthy_secs() -> u64 {
    600
}

fn default_stages_percent() -> Vec<u32> {
    vec![10, 50, 100]
}

impl Default for FailbackSpec {
    fn default() -> Self {
        FailbackSpec {
            mode: default_failback_mode(),
            after_healthy_secs: default_after_healthy_secs(),
            stages_percent: default_stages_percent(),
        }
    }
}

/// Failback mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FailbackMode {
    /// Staged and automatic, each stage gated on health.
    Auto,
    /// Only an operator restores the region (`regionctl override`).
    Manual,
}

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

/// A file of policy unit tests.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct PolicyTestSpec {
    /// The test cases.
    pub cases: Vec<TestCase>,
}

/// One policy test: a health scenario and what the plan must do.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TestCase {
    /// Shown in the output.
    pub name: String,
    /// Regions or cells that are hard down: `eu-central-1`, or `eu-central-1/at-free-android`
    /// (optionally `service:` first to confine it to one service).
    #[serde(default)]
    pub down: Vec<String>,
    /// Same syntax; failing but reachable (alarms in ALARM, probes pass).
    #[serde(default)]
    pub degraded: Vec<String>,
    /// Same syntax; no evidence either way.
    #[serde(default)]
    pub unknown: Vec<String>,
    /// Expected traffic: service → cell (or `*` for every cell) → region → percent.
    #[serde(default)]
    pub expect_traffic: std::collections::BTreeMap<
        String,
        std::collections::BTreeMap<String, std::collections::BTreeMap<String, u32>>,
    >,
    /// Expected steps, matched in order as a subsequence of the plan's steps.
    #[serde(default)]
    pub expect_steps: Vec<ExpectStep>,
    /// Step kinds that must not appear (`scale`, `wait`, `shift`, `alb`, `restore`, `switch`), optionally
    /// per service as `service:kind`.
    #[serde(default)]
    pub expect_no_steps: Vec<String>,
    /// Alerts that must be raised (by kind, e.g. `hold-fail-static`).
    #[serde(default)]
    pub expect_alerts: Vec<String>,
}

/// A step pattern.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ExpectStep {
    /// Service name.
    pub service: String,
    /// `scale`, `wait`, `shift`, `alb`, `restore`, `switch`.
    pub kind: String,
    /// Region the step acts on (for `shift`: a region whose weight changes).
    #[serde(default)]
    pub region: Option<String>,
}
