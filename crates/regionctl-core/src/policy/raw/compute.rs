//! `spec.compute`: ECS capacity and the Fargate/Lambda split on an ALB.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
