//! The expectations' checks: service, region, cells, `after`/`until` references and the
//! fields each kind needs.

use super::Names;
use crate::scenario::format::{ExpectKind, Expectation};
use crate::scenario::load::{ScenarioError, resolve_ref};
use regionctl_core::policy::Service;

/// `expect[i]`: its service, its region, its cells, its references and the fields its
/// kind needs.
pub(super) fn check_expectation(n: &Names<'_>, i: usize, x: &Expectation) -> Vec<ScenarioError> {
    let f = |k: &str| format!("expect[{i}].{k}");
    let mut errors = Vec::new();
    if let Some(name) = &x.service {
        errors.extend(n.unknown_service(&f("service"), name));
    }
    let service = x
        .service
        .as_deref()
        .and_then(|name| n.bundle.service_index(name))
        .map(|ix| &n.bundle.services[ix]);
    let needs_service = !matches!(x.kind, ExpectKind::Decisions | ExpectKind::StandDown);
    if needs_service && x.service.is_none() {
        errors.push(n.error(
            &format!("expect[{i}]"),
            format!("`{}` needs `service`", x.kind.as_str()),
        ));
    }
    errors.extend(check_expectation_region(n, i, x, service));
    if let Some(svc) = service {
        errors.extend(check_expectation_cells(n, i, x, svc));
        errors.extend(check_expectation_compute(n, i, x, svc));
    }
    errors.extend(check_expectation_refs(n, i, x));
    errors.extend(check_expectation_fields(n, i, x));
    errors
}

/// An expectation's `region`: present where the kind needs it, one of the service's
/// regions, or for `stand-down` a controller's.
fn check_expectation_region(
    n: &Names<'_>,
    i: usize,
    x: &Expectation,
    service: Option<&Service>,
) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    let needs_region = matches!(
        x.kind,
        ExpectKind::Traffic
            | ExpectKind::CapacityBeforeTraffic
            | ExpectKind::Failback
            | ExpectKind::StandDown
            | ExpectKind::EcsDesired
            | ExpectKind::LambdaShare
    );
    match (&x.region, service) {
        (None, _) if needs_region => errors.push(n.error(
            &format!("expect[{i}]"),
            format!("`{}` needs `region`", x.kind.as_str()),
        )),
        (Some(r), Some(svc))
            if x.kind != ExpectKind::StandDown && !svc.regions.iter().any(|sr| &sr.name == r) =>
        {
            errors.push(n.error(
                &format!("expect[{i}].region"),
                format!(
                    "service {} does not run in `{r}`; its regions: {}",
                    svc.name,
                    svc.regions
                        .iter()
                        .map(|r| r.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        (Some(r), _) if x.kind == ExpectKind::StandDown && !n.controllers.contains(r) => {
            errors.push(n.error(
                &format!("expect[{i}].region"),
                format!(
                    "no controller runs in `{r}`; controllers: {}",
                    n.controller_list()
                ),
            ));
        }
        _ => {}
    }
    errors
}

/// An expectation's `cells` and `except_cells` are cells of its service.
fn check_expectation_cells(
    n: &Names<'_>,
    i: usize,
    x: &Expectation,
    svc: &Service,
) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    for (key, cells) in [("cells", &x.cells), ("except_cells", &x.except_cells)] {
        for (j, cell) in cells.iter().enumerate() {
            if !svc.cells.iter().any(|c| &c.id == cell) {
                errors.push(n.error(
                    &format!("expect[{i}].{key}[{j}]"),
                    format!("service {} has no cell `{cell}`", svc.name),
                ));
            }
        }
    }
    errors
}

/// `ecs-desired` and `lambda-share` need the service's policy to name what they watch.
fn check_expectation_compute(
    n: &Names<'_>,
    i: usize,
    x: &Expectation,
    svc: &Service,
) -> Vec<ScenarioError> {
    let missing = match x.kind {
        ExpectKind::EcsDesired if svc.ecs.is_none() => "an ECS service (`compute.ecs`)",
        ExpectKind::LambdaShare if svc.alb.is_none() => "an ALB listener (`compute.alb`)",
        _ => return Vec::new(),
    };
    vec![n.error(
        &format!("expect[{i}].service"),
        format!(
            "`{}` watches {missing}, and service {}'s policy names none",
            x.kind.as_str(),
            svc.name
        ),
    )]
}

/// An expectation's `after` and `until` are timeline ids or durations.
fn check_expectation_refs(n: &Names<'_>, i: usize, x: &Expectation) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    for (key, r) in [("after", &x.after), ("until", &x.until)] {
        if let Some(r) = r
            && resolve_ref(n.scenario, r).is_none()
        {
            errors.push(n.error(
                &format!("expect[{i}].{key}"),
                format!(
                    "`{r}` is neither a timeline id ({}) nor a duration",
                    if n.ids.is_empty() {
                        "none".to_string()
                    } else {
                        n.ids.join(", ")
                    }
                ),
            ));
        }
    }
    errors
}

/// The fields each expectation kind needs.
fn check_expectation_fields(n: &Names<'_>, i: usize, x: &Expectation) -> Vec<ScenarioError> {
    let missing = match x.kind {
        ExpectKind::Traffic if x.at_most.is_none() && x.at_least.is_none() => {
            "`traffic` needs `at_most` or `at_least` (percent)"
        }
        ExpectKind::Decisions if x.at_most.is_none() && x.at_least.is_none() => {
            "`decisions` needs `at_most` or `at_least` (a count)"
        }
        ExpectKind::Decision if x.reason_contains.is_none() && x.status.is_none() => {
            "`decision` needs `reason_contains` or `status`"
        }
        ExpectKind::Failback if x.within.is_none() => "`failback` needs `within`",
        ExpectKind::EcsDesired if x.at_most.is_none() && x.at_least.is_none() => {
            "`ecs-desired` needs `at_most` or `at_least` (a task count)"
        }
        ExpectKind::LambdaShare if x.at_most.is_none() && x.at_least.is_none() => {
            "`lambda-share` needs `at_most` or `at_least` (percent)"
        }
        _ => return Vec::new(),
    };
    vec![n.error(&format!("expect[{i}]"), missing)]
}
