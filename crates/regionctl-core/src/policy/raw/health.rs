//! `spec.health`: alarms, probes, readiness and debouncing.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
    /// What the alarm's state means (`failure` by default); see [`SignalRole`].
    #[serde(default)]
    pub role: SignalRole,
}

/// What a health signal (an alarm or a probe) is allowed to decide (ADR 0015).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SignalRole {
    /// Failure evidence under the usual rules: an alarm in ALARM turns its region or cell
    /// degraded after `fail_after_secs`; failing probes count only from a quorum of
    /// observers. Probe-only failure is vetoed by a `served` signal that is OK.
    #[default]
    Failure,
    /// Failure evidence that acts alone: a failing `critical` probe from any one observer
    /// turns the region down (no quorum), and no `served` signal vetoes it. Hysteresis
    /// still applies. For alarms it acts like `failure` (an alarm needs no quorum) and
    /// names the alarm as trusted to override the veto.
    Critical,
    /// Evaluated, recorded and shown (`explain`, status), never acted on: how a team
    /// trials a new alarm or probe before trusting it.
    Shadow,
    /// Alarms only: a traffic signal that is OK while the region serves its real users
    /// (request count above a floor, healthy hosts). While it is OK, failing probes alone
    /// do not evacuate the region ("observers cannot reach it, its users can"); it is also
    /// evidence of health. ALARM or INSUFFICIENT_DATA is no evidence either way (an idle
    /// region serves nobody).
    Served,
    /// Alarms only: the region is overloaded (Fargate → Lambda burst).
    Load,
}

impl SignalRole {
    /// Failure evidence that may act: `failure` or `critical`.
    pub fn is_failure(self) -> bool {
        matches!(self, SignalRole::Failure | SignalRole::Critical)
    }

    /// Lowercase name, as written in policies.
    pub fn as_str(self) -> &'static str {
        match self {
            SignalRole::Failure => "failure",
            SignalRole::Critical => "critical",
            SignalRole::Shadow => "shadow",
            SignalRole::Served => "served",
            SignalRole::Load => "load",
        }
    }
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
    /// `failure` (default: a quorum of observers must agree), `critical` (one observer's
    /// failing probe is enough) or `shadow` (recorded, never acted on).
    #[serde(default)]
    pub role: SignalRole,
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
