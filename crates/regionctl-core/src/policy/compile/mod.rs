//! One service: every semantic check, then the compiled [`Service`].
//!
//! Checks report and carry on, so one run lists every problem in the file.
//! [`compile_service`] is the table of contents: one stage per part of the spec, each in
//! its own module, taking what it needs and returning a value (or only reporting).
//!
//! # Design
//! The stages run in a fixed order because that is the order the diagnostics come out in
//! (`regionctl check`, the loader tests): first every field-level check, section by section
//! (tier and regions, dependencies, cells, routing, health, compute, safety, switch); then,
//! once the routing templates have parsed, the checks that need rendered names (record
//! names and set identifiers per cell, first tiers, geolocation cells). A service with any
//! error compiles to nothing, but only after every stage has reported.

mod cells;
mod compute;
mod dependencies;
mod geolocation;
mod health;
mod intern;
mod regions;
mod routing;
mod safety;
mod switch;
mod templates;

pub(super) use intern::Interner;
pub(super) use regions::is_region_name;

use super::diagnostics::Reporter;
use super::raw::ServiceSpec;
use super::yaml::FieldPath;
use super::{CellTables, Service, default_mode_for_tier};

/// What one service's compilation reads besides its own spec.
pub(super) struct ServiceInput<'a> {
    pub name: &'a str,
    pub description: Option<String>,
    pub file: &'a str,
    pub spec: &'a ServiceSpec,
    /// Every region of the bundle, sorted (global region indices).
    pub regions: &'a [String],
    /// Every service name, sorted (service indices).
    pub service_names: &'a [&'a str],
    /// The controller configuration's regions, when the bundle has one.
    pub controller_regions: Option<&'a [String]>,
}

/// Checks one service's spec, reporting every problem, and compiles it if it has no error.
pub(super) fn compile_service(
    input: &ServiceInput<'_>,
    interner: &mut Interner,
    r: &mut Reporter<'_>,
) -> Option<Service> {
    let spec = input.spec;
    let base = FieldPath::root().key("spec");
    let errors_before = error_count(r);

    regions::check_tier(spec.tier, &base, r);
    let regions = regions::compile_regions(input, &base, r);
    regions::check_region_set(spec, &regions, &base, r);
    let depends_on = dependencies::compile_dependencies(input, &base, r);
    let dims = cells::compile_dimensions(spec, &base, r);
    let rules = cells::compile_serving(spec, &dims, &regions, &base, r);
    let templates = routing::check_routing(&spec.routing, &dims, regions.len(), &base, r);
    let signals = health::check_health(input, &dims, &base, r);
    compute::check_compute(spec, &base, r);
    safety::check_safety(spec, regions.len(), &base, r);
    switch::check_switch(spec, &regions, &base, r);

    // Cell-level checks still run when other fields have errors, so one run reports every
    // problem; only templates that failed to parse stop them.
    let templates = templates.parsed()?;
    let sources = cells::CellSources {
        service: input.name,
        dims: &dims,
        rules: &rules,
        regions: &regions,
        templates: &templates,
    };
    let cells = cells::build_cells(&sources, interner, &base, r);
    if let Some(geo) = &spec.routing.geolocation {
        let path = base.key("routing").key("geolocation");
        geolocation::check_geolocation(geo, &cells, &path, r);
    }
    let health = health::bind_health(input, &signals, &dims, &regions, &cells);
    let ecs = compute::compile_ecs(spec, input.name, &regions);
    let alb = compute::compile_alb(spec, input.name, &regions);
    if error_count(r) > errors_before {
        return None;
    }

    let mut service = Service {
        name: input.name.to_string(),
        description: input.description.clone(),
        file: input.file.to_string(),
        tier: spec.tier,
        strategy: spec.strategy,
        mode: spec
            .mode
            .unwrap_or_else(|| default_mode_for_tier(spec.tier)),
        mode_defaulted: spec.mode.is_none(),
        depends_on,
        routing: routing::compile_routing(&spec.routing, &regions),
        regions,
        cells,
        health,
        ecs,
        alb,
        baseline_shares: Vec::new(),
        cell_tables: CellTables::default(),
        safety: safety::compile_safety(&spec.safety),
    };
    service.baseline_shares = service.compute_baseline_shares();
    service.cell_tables = CellTables::new(&service.cells, service.regions.len());
    Some(service)
}

/// Errors reported so far (a service with new errors compiles to nothing).
fn error_count(r: &Reporter<'_>) -> usize {
    r.diagnostics.iter().filter(|d| d.is_error()).count()
}
