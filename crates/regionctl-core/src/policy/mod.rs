//! Policies: the YAML format, loading, validation and the compiled [`Bundle`].
//!
//! A *bundle* is everything in a policy directory: one document per service
//! (`kind: ServicePolicy`), at most one controller configuration (`kind: ControllerConfig`)
//! and any number of policy test files (`kind: PolicyTest`). [`load`] takes the files' text
//! (the caller reads them) and returns either a [`Bundle`] or every problem found.
//!
//! # Design
//! The bundle is *compiled*: names are resolved to indices, templates are rendered once, and
//! per-(cell, region) data sit in vectors indexed by region within each cell (the planner's
//! per-(cell, region) state is a [`crate::grid::Grid`] of the same shape). Planning for
//! 1,000 services × 30 cells × 5 regions then touches arrays, not maps or strings.
//!
//! # Layout
//! - [`raw`]: the format as written (one module per part of a document); [`schema`] derives
//!   its JSON Schema.
//! - [`yaml`]: bounded parsing with positions; [`diagnostics`]: problems with file, line,
//!   column, field and hint; [`template`]: name templates.
//! - `load`: files → documents → bundle; `validate`: bundle-wide checks (names, the
//!   controller configuration, dependency order, policy tests); `compile`: one service,
//!   one stage per section of its spec; `zones`: hosted zones named by domain.

mod compile;
pub mod diagnostics;
mod load;
mod planning;
pub mod raw;
pub mod schema;
pub mod template;
mod validate;
pub mod yaml;
mod zones;

pub use diagnostics::{Diagnostic, Severity};
pub use load::{SourceFile, load};
pub use planning::CellTables;
pub use zones::ZoneName;

use raw::{FailbackMode, Mode, RecordType, Role, SignalRole, Strategy};
use std::sync::Arc;

/// Index of a region in [`Bundle::regions`].
pub type RegionIx = u16;

/// A validated, indexed policy bundle.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Content hash of every file (name and text), hex. Controllers compare it to agree
    /// they run the same policy.
    pub hash: String,
    /// Every region named anywhere, sorted.
    pub regions: Vec<String>,
    /// Services in name order.
    pub services: Vec<Service>,
    /// Service indices in dependency order (dependencies first, ties by name).
    pub dependency_order: Vec<usize>,
    /// The controller configuration, if the bundle has one.
    pub controller: Option<raw::ControllerSpec>,
    /// Policy test files.
    pub tests: Vec<TestFile>,
    /// Warnings found while loading (errors prevent a bundle from existing).
    pub warnings: Vec<Diagnostic>,
}

impl Bundle {
    /// The index of a service by name.
    pub fn service_index(&self, name: &str) -> Option<usize> {
        self.services
            .binary_search_by(|s| s.name.as_str().cmp(name))
            .ok()
    }

    /// The controller tick in seconds: the controller config's, 10 without one, at least 1.
    pub fn tick_secs(&self) -> u64 {
        self.controller.as_ref().map_or(10, |c| c.tick_secs).max(1)
    }

    /// The longest `fail_after_secs` of any service (0 without services): how long a
    /// controller must observe before it can have seen every failure its policies judge.
    pub fn fail_after_max(&self) -> u64 {
        self.services
            .iter()
            .map(|s| s.health.fail_after_secs)
            .max()
            .unwrap_or(0)
    }

    /// The index of a region by name.
    pub fn region_index(&self, name: &str) -> Option<RegionIx> {
        self.regions
            .binary_search_by(|r| r.as_str().cmp(name))
            .ok()
            .and_then(|i| RegionIx::try_from(i).ok())
    }

    /// A region's name.
    pub fn region_name(&self, ix: RegionIx) -> &str {
        self.regions
            .get(usize::from(ix))
            .map(String::as_str)
            .unwrap_or("?")
    }

    /// The first 12 hex digits of the hash, for display.
    pub fn short_hash(&self) -> &str {
        self.hash.get(..12).unwrap_or(&self.hash)
    }
}

/// One service's compiled policy.
#[derive(Debug, Clone)]
pub struct Service {
    /// Service name.
    pub name: String,
    /// Free-form description.
    pub description: Option<String>,
    /// The file it came from.
    pub file: String,
    /// Criticality, 1 (most) to 4.
    pub tier: u8,
    /// Failover strategy.
    pub strategy: Strategy,
    /// Effective mode (explicit, or the tier's default).
    pub mode: Mode,
    /// True when `mode` came from the tier default.
    pub mode_defaulted: bool,
    /// Indices of services this one depends on.
    pub depends_on: Vec<usize>,
    /// The service's regions, in policy order. Per-region data elsewhere use this order
    /// ("local" region index `r`).
    pub regions: Vec<ServiceRegion>,
    /// Cells (one cell named `all` when the policy has none).
    pub cells: Vec<Cell>,
    /// Health settings.
    pub health: Health,
    /// Routing settings.
    pub routing: Routing,
    /// ECS capacity per region, if configured.
    pub ecs: Option<Ecs>,
    /// ALB split per region, if configured.
    pub alb: Option<Alb>,
    /// Safety limits.
    pub safety: Safety,
    /// Per local region: baseline share of the service's traffic (mean over cells).
    pub baseline_shares: Vec<f64>,
    /// The cells' tiers and baseline weights in flat tables, for the planner (computed at
    /// load time from `cells`: a copy of them, so cells changed after loading are not
    /// seen by the planner).
    pub cell_tables: CellTables,
}

impl Service {
    /// Number of regions.
    pub fn region_count(&self) -> usize {
        self.regions.len()
    }

    /// Local index of a global region, if the service runs there.
    pub fn local_region(&self, region: RegionIx) -> Option<usize> {
        self.regions.iter().position(|sr| sr.region == region)
    }

    /// Baseline share of traffic region `r` carries, averaged over cells (0.0–1.0).
    pub fn baseline_share(&self, r: usize) -> f64 {
        self.baseline_shares.get(r).copied().unwrap_or(0.0)
    }

    /// Computes every region's baseline share (done once, at load time).
    pub fn compute_baseline_shares(&self) -> Vec<f64> {
        (0..self.regions.len())
            .map(|r| self.compute_baseline_share(r))
            .collect()
    }

    fn compute_baseline_share(&self, r: usize) -> f64 {
        if self.cells.is_empty() {
            return 0.0;
        }
        let total: f64 = self
            .cells
            .iter()
            .map(|c| {
                let sum: u32 = c.baseline_weights.iter().map(|w| u32::from(*w)).sum();
                if sum == 0 {
                    0.0
                } else {
                    f64::from(c.baseline_weights[r]) / f64::from(sum)
                }
            })
            .sum();
        total / self.cells.len() as f64
    }
}

/// A region as a service uses it.
#[derive(Debug, Clone)]
pub struct ServiceRegion {
    /// Global region index.
    pub region: RegionIx,
    /// Region name (copied for convenience).
    pub name: String,
    /// Baseline Route 53 weight.
    pub weight: u8,
    /// Steady-state role.
    pub role: Role,
    /// Zone records under the region (validated, provisioned, not moved by automation).
    pub zones: Vec<raw::ZoneSpec>,
}

/// One cell.
///
/// The lists are shared (`Arc<[_]>`): the loader keeps one copy of each distinct list in a
/// bundle, since most cells repeat their service's tiers, weights and values, and the same
/// cell of every service its dimension values and set identifiers (docs/PERFORMANCE.md,
/// "Memory and planning"). They read like the vectors they were: indexing, `iter`, `get`,
/// `len`.
#[derive(Debug, Clone)]
pub struct Cell {
    /// DNS-safe id, e.g. `de-paid-ios` (or `all`).
    pub id: String,
    /// Human label, e.g. `DE/paid/ios`.
    pub label: String,
    /// Dimension values in dimension order.
    pub values: Arc<[String]>,
    /// The cell's own record name.
    pub record_name: String,
    /// Ordered failover tiers of local region indices.
    pub tiers: Arc<[Vec<usize>]>,
    /// Set identifier per local region.
    pub set_identifiers: Arc<[String]>,
    /// Record value per local region.
    pub values_per_region: Arc<[String]>,
    /// Steady-state weight per local region (tier-1 regions at their weight, others 0).
    pub baseline_weights: Arc<[u8]>,
}

/// Health settings, resolved.
#[derive(Debug, Clone)]
pub struct Health {
    /// Alarm bindings: which alarm speaks for which (region, cell).
    pub alarms: Vec<AlarmBinding>,
    /// Probe targets per local region (rendered).
    pub probes: Vec<Vec<Probe>>,
    /// Observers whose probes must agree. `None`: a strict majority of observers.
    pub quorum: Option<u32>,
    /// Failure evidence must persist this long.
    pub fail_after_secs: u64,
    /// Health evidence must persist this long after a failure.
    pub recover_after_secs: u64,
    /// Count running capacity as readiness evidence for idle regions.
    pub readiness_from_capacity: bool,
    /// `alarms` packed to where each speaks and in which role, in the same order.
    slots: Vec<AlarmSlot>,
}

impl Health {
    /// Where each of [`Health::alarms`] speaks and in which role, in the same order.
    pub fn alarm_slots(&self) -> &[AlarmSlot] {
        &self.slots
    }
}

/// Where an alarm binding speaks and in which role, packed into 12 bytes (a binding, with
/// its name, takes 56): evaluation walks every binding of every service every pass, and
/// at 155,000 alarms the names were most of what it pulled through the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlarmSlot {
    /// Cell index, or [`AlarmSlot::REGION_WIDE`].
    cell: u32,
    /// Local region index.
    r: u32,
    /// What its state may decide.
    pub role: SignalRole,
}

impl AlarmSlot {
    const REGION_WIDE: u32 = u32::MAX;

    /// The slot of `binding`. The loader allows at most 10,000 cells, and a service's
    /// regions are distinct AWS regions: both fit a `u32` with room to spare.
    fn of(binding: &AlarmBinding) -> AlarmSlot {
        AlarmSlot {
            cell: binding.cell.map_or(Self::REGION_WIDE, |c| {
                u32::try_from(c).unwrap_or(Self::REGION_WIDE - 1)
            }),
            r: u32::try_from(binding.r).unwrap_or(u32::MAX),
            role: binding.role,
        }
    }

    /// Local region index.
    pub fn r(self) -> usize {
        self.r as usize
    }

    /// Cell index, or `None` for a region-wide alarm.
    pub fn cell(self) -> Option<usize> {
        (self.cell != Self::REGION_WIDE).then_some(self.cell as usize)
    }
}

/// The packed slots of `alarms`, in order.
pub(crate) fn alarm_slots(alarms: &[AlarmBinding]) -> Vec<AlarmSlot> {
    alarms.iter().map(AlarmSlot::of).collect()
}

/// One rendered alarm.
#[derive(Debug, Clone)]
pub struct AlarmBinding {
    /// CloudWatch alarm name.
    pub name: String,
    /// Local region index.
    pub r: usize,
    /// Cell index, or `None` for a region-wide alarm.
    pub cell: Option<usize>,
    /// What its state may decide.
    pub role: SignalRole,
}

/// One rendered probe.
#[derive(Debug, Clone)]
pub struct Probe {
    /// HTTP or TCP.
    pub protocol: raw::ProbeProtocol,
    /// URL or host:port.
    pub target: String,
    /// Timeout.
    pub timeout_ms: u64,
    /// Failure, critical or shadow (the loader refuses the others for probes).
    pub role: SignalRole,
}

/// Routing settings, resolved.
#[derive(Debug, Clone)]
pub struct Routing {
    /// Hosted zone id. For a zone named by domain (`zone_name`), the name until the
    /// bundle's zones are resolved ([`Bundle::resolve_zones`]).
    pub hosted_zone_id: String,
    /// The zone as the policy names it by domain, if it does (`routing.hosted_zone`).
    pub zone_name: Option<ZoneName>,
    /// Record type.
    pub record_type: RecordType,
    /// TTL.
    pub ttl_secs: u32,
    /// Geolocation records (record name, rules).
    pub geolocation: Option<raw::GeolocationSpec>,
    /// Data-plane switches, if the service has them.
    pub switch: Option<Switch>,
}

/// Data-plane switch wiring, resolved (DESIGN.md §6; names and timing in [`crate::switch`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switch {
    /// One switch per region, or per (cell, region).
    pub scope: raw::SwitchScope,
    /// CloudWatch namespace of the switch metric.
    pub namespace: String,
    /// Its metric name.
    pub metric: String,
    /// Per local region: the region whose CloudWatch holds its switch alarm (never itself).
    pub alarm_regions: Vec<String>,
    /// Alarm period, seconds.
    pub period_secs: u32,
    /// Route 53 health-check interval, seconds.
    pub interval_secs: u32,
    /// Route 53 health-check failure threshold.
    pub failure_threshold: u32,
}

/// ECS capacity, resolved per local region.
#[derive(Debug, Clone)]
pub struct Ecs {
    /// Cluster per local region.
    pub clusters: Vec<String>,
    /// Service name per local region.
    pub services: Vec<String>,
    /// Desired count of an idle region.
    pub standby_count: u32,
    /// Desired count for a region's full baseline share (for a standby: the whole service).
    pub full_count: u32,
    /// Readiness threshold, percent of target.
    pub readiness_percent: u32,
    /// Longest wait for capacity.
    pub max_wait_secs: u64,
}

impl Ecs {
    /// Running count that counts as ready for a target desired count.
    pub fn ready_threshold(&self, target: u32) -> u32 {
        let t = u64::from(target) * u64::from(self.readiness_percent);
        u32::try_from(t.div_ceil(100)).unwrap_or(u32::MAX)
    }
}

/// ALB split, resolved per local region.
#[derive(Debug, Clone)]
pub struct Alb {
    /// Listener ARN per local region.
    pub listeners: Vec<String>,
    /// Fargate target group per local region.
    pub fargate_target_groups: Vec<String>,
    /// Lambda target group per local region.
    pub lambda_target_groups: Vec<String>,
    /// Lambda weight under load.
    pub burst_lambda_percent: u32,
}

impl Alb {
    /// Local region `r`'s listener, Fargate target group and Lambda target group.
    pub fn names(&self, r: usize) -> (&str, &str, &str) {
        (
            &self.listeners[r],
            &self.fargate_target_groups[r],
            &self.lambda_target_groups[r],
        )
    }
}

/// Safety limits.
#[derive(Debug, Clone)]
pub struct Safety {
    /// Least healthy regions left serving.
    pub min_healthy_regions: u32,
    /// Largest discretionary move per step, percentage points of a cell.
    pub max_shift_percent_per_step: u32,
    /// Least time between discretionary moves.
    pub cooldown_secs: u64,
    /// Longest time traffic may stay on a degraded region while capacity comes up.
    pub max_degraded_hold_secs: u64,
    /// Failback mode.
    pub failback_mode: FailbackMode,
    /// Healthy time before failback starts.
    pub failback_after_healthy_secs: u64,
    /// Failback stages, percent of the baseline share, ending at 100.
    pub failback_stages_percent: Vec<u32>,
}

/// A policy test file.
#[derive(Debug, Clone)]
pub struct TestFile {
    /// The file it came from.
    pub file: String,
    /// Its name.
    pub name: String,
    /// The cases.
    pub cases: Vec<raw::TestCase>,
}

/// The default mode for a tier: nobody gets automatic evacuation by accident.
pub fn default_mode_for_tier(tier: u8) -> Mode {
    if tier <= 2 {
        Mode::Propose
    } else {
        Mode::Observe
    }
}
