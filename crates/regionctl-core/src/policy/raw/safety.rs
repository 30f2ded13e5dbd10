//! `spec.safety`: limits on automation and how traffic fails back.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
