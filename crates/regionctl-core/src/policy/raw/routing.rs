//! `spec.routing`: the weighted records, geolocation records and data-plane switches.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// DNS routing: one weighted record set per cell (each cell has its own record name,
/// because DNS cannot see a user's plan or platform).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RoutingSpec {
    /// Route 53 hosted zone id, e.g. `Z0123456789ABCDEFGHIJ`. Give this or `hosted_zone`.
    #[serde(default)]
    pub hosted_zone_id: Option<String>,
    /// The hosted zone by domain name, e.g. `play.example.com`, as external-dns, octoDNS and
    /// Terraform name zones: ids differ per account and sandbox, names do not. Resolved to
    /// the zone's id through Route 53 when a controller starts and on every reload (and by
    /// `provision`, `iam` and game-days). A public zone unless `hosted_zone_vpc` is set.
    #[serde(default)]
    pub hosted_zone: Option<String>,
    /// With `hosted_zone`: the zone is the *private* zone of that name associated with this
    /// VPC (`vpc-…`), not the public one.
    #[serde(default)]
    pub hosted_zone_vpc: Option<String>,
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
