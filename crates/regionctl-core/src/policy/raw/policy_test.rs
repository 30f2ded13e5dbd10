//! Policy unit tests (`kind: PolicyTest`), run by `regionctl test`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
