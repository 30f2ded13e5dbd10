//! Compute (`compute.ecs`, `compute.alb`): capacity counts and name templates, and the
//! compiled [`Ecs`] and [`Alb`] with names rendered per region.

use super::templates::{parse_template, render_per_region};
use crate::policy::diagnostics::Reporter;
use crate::policy::raw::{AlbSpec, EcsSpec, ServiceSpec, SignalRole, Strategy};
use crate::policy::yaml::FieldPath;
use crate::policy::{Alb, Ecs, ServiceRegion};

/// Placeholders of the per-region compute names.
const REGION_PLACEHOLDERS: [&str; 2] = ["service", "region"];

/// The service's ECS settings, if any.
pub(super) fn ecs_spec(spec: &ServiceSpec) -> Option<&EcsSpec> {
    spec.compute.as_ref().and_then(|c| c.ecs.as_ref())
}

/// The service's ALB settings, if any.
fn alb_spec(spec: &ServiceSpec) -> Option<&AlbSpec> {
    spec.compute.as_ref().and_then(|c| c.alb.as_ref())
}

/// Checks the compute section, and that a `load` alarm has an ALB to shift to Lambda.
pub(super) fn check_compute(spec: &ServiceSpec, base: &FieldPath, r: &mut Reporter<'_>) {
    let cpath = base.key("compute");
    if let Some(e) = ecs_spec(spec) {
        check_ecs(e, spec.strategy, &cpath.key("ecs"), r);
    }
    if let Some(a) = alb_spec(spec) {
        check_alb(a, &cpath.key("alb"), r);
    }
    if spec
        .health
        .alarms
        .iter()
        .any(|a| a.role == SignalRole::Load)
        && alb_spec(spec).is_none()
    {
        r.error(
            &base.key("health").key("alarms"),
            "a `load` alarm needs `compute.alb` to shift Fargate traffic to Lambda",
            None,
        );
    }
}

/// ECS names parse, counts are consistent with each other and with the strategy.
fn check_ecs(e: &EcsSpec, strategy: Strategy, p: &FieldPath, r: &mut Reporter<'_>) {
    parse_template(&e.cluster, &REGION_PLACEHOLDERS, &p.key("cluster"), r);
    parse_template(&e.service, &REGION_PLACEHOLDERS, &p.key("service"), r);
    if e.full_count == 0 {
        r.error(&p.key("full_count"), "full_count must be at least 1", None);
    }
    if e.standby_count > e.full_count {
        r.error(
            &p.key("standby_count"),
            format!(
                "standby_count {} exceeds full_count {}",
                e.standby_count, e.full_count
            ),
            None,
        );
    }
    if strategy == Strategy::PilotLight && e.standby_count != 0 {
        r.error(
            &p.key("standby_count"),
            "pilot-light keeps no compute running: standby_count must be 0",
            Some("use `warm-standby` for a standby with reduced capacity".into()),
        );
    }
    if !(1..=100).contains(&e.readiness_percent) {
        r.error(
            &p.key("readiness_percent"),
            format!("readiness_percent {} is out of range", e.readiness_percent),
            Some("use 1-100".into()),
        );
    }
}

/// ALB names parse and the Lambda burst is a percentage.
fn check_alb(a: &AlbSpec, p: &FieldPath, r: &mut Reporter<'_>) {
    parse_template(
        &a.listener_arn,
        &REGION_PLACEHOLDERS,
        &p.key("listener_arn"),
        r,
    );
    parse_template(
        &a.fargate_target_group,
        &REGION_PLACEHOLDERS,
        &p.key("fargate_target_group"),
        r,
    );
    parse_template(
        &a.lambda_target_group,
        &REGION_PLACEHOLDERS,
        &p.key("lambda_target_group"),
        r,
    );
    if a.burst_lambda_percent > 100 {
        r.error(
            &p.key("burst_lambda_percent"),
            format!("{}% is out of range", a.burst_lambda_percent),
            Some(
                "a percentage of the listener's traffic, 0-100 (ALB weights themselves are 0-999)"
                    .into(),
            ),
        );
    }
}

/// The compiled ECS settings, names per region.
pub(super) fn compile_ecs(
    spec: &ServiceSpec,
    service: &str,
    regions: &[ServiceRegion],
) -> Option<Ecs> {
    ecs_spec(spec).map(|e| Ecs {
        clusters: render_per_region(&e.cluster, service, regions),
        services: render_per_region(&e.service, service, regions),
        standby_count: e.standby_count,
        full_count: e.full_count,
        readiness_percent: e.readiness_percent,
        max_wait_secs: e.max_wait_secs,
    })
}

/// The compiled ALB settings, ARNs per region.
pub(super) fn compile_alb(
    spec: &ServiceSpec,
    service: &str,
    regions: &[ServiceRegion],
) -> Option<Alb> {
    alb_spec(spec).map(|a| Alb {
        listeners: render_per_region(&a.listener_arn, service, regions),
        fargate_target_groups: render_per_region(&a.fargate_target_group, service, regions),
        lambda_target_groups: render_per_region(&a.lambda_target_group, service, regions),
        burst_lambda_percent: a.burst_lambda_percent,
    })
}
