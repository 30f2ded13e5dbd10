//! A service's policy (`kind: ServicePolicy`): strategy, mode, regions and cells. The
//! sections with more to say have their own modules.

use super::{ComputeSpec, HealthSpec, RoutingSpec, SafetySpec};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
