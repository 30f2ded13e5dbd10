//! The service's tier and regions: names, weights, zones, roles, and whether the set of
//! regions fits the strategy.

use super::ServiceInput;
use crate::policy::diagnostics::{Reporter, did_you_mean};
use crate::policy::raw::{RegionSpec, Role, ServiceSpec, Strategy, ZoneSpec};
use crate::policy::template::Template;
use crate::policy::yaml::FieldPath;
use crate::policy::{RegionIx, ServiceRegion};
use std::collections::BTreeSet;

/// Route 53 weights.
pub(super) const MAX_ROUTE53_WEIGHT: u32 = 255;

/// `eu-central-1`, `us-gov-west-1`: two lowercase letters, words, a number.
pub fn is_region_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].chars().all(|c| c.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.len() <= 2 && p.chars().all(|c| c.is_ascii_digit()))
}

/// The tier is 1 to 4.
pub(super) fn check_tier(tier: u8, base: &FieldPath, r: &mut Reporter<'_>) {
    if !(1..=4).contains(&tier) {
        r.error(
            &base.key("tier"),
            format!("tier {tier} is out of range"),
            Some("use 1 (most critical) to 4".into()),
        );
    }
}

/// The service's regions, in policy order; a region with a bad or repeated name is
/// reported and left out.
pub(super) fn compile_regions(
    input: &ServiceInput<'_>,
    base: &FieldPath,
    r: &mut Reporter<'_>,
) -> Vec<ServiceRegion> {
    let mut regions: Vec<ServiceRegion> = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, region) in input.spec.regions.iter().enumerate() {
        let path = base.key("regions").index(i);
        if let Some(sr) = compile_region(input, region, &mut seen, &path, r) {
            regions.push(sr);
        }
    }
    regions
}

/// One region, or `None` when its name is bad or repeated.
fn compile_region(
    input: &ServiceInput<'_>,
    region: &RegionSpec,
    seen: &mut BTreeSet<String>,
    path: &FieldPath,
    r: &mut Reporter<'_>,
) -> Option<ServiceRegion> {
    if !is_region_name(&region.name) {
        let hint = did_you_mean(&region.name, input.regions.iter().map(String::as_str))
            .map(|b| format!("did you mean `{b}`?"))
            .or_else(|| Some("an AWS region name such as `eu-central-1`".into()));
        r.error(
            &path.key("name"),
            format!("unknown region `{}`", region.name),
            hint,
        );
        return None;
    }
    if let Some(cr) = input.controller_regions
        && !cr.contains(&region.name)
    {
        if let Some(close) = did_you_mean(&region.name, cr.iter().map(String::as_str)) {
            r.error(
                &path.key("name"),
                format!("unknown region `{}`", region.name),
                Some(format!("did you mean `{close}`? (a controller region)")),
            );
            return None;
        }
        r.warn(
            &path.key("name"),
            format!("no controller runs in `{}`", region.name),
            Some(
                "add it to the ControllerConfig `regions`, or its probes have no local observer"
                    .into(),
            ),
        );
    }
    if !seen.insert(region.name.clone()) {
        r.error(
            &path.key("name"),
            format!("region `{}` listed twice", region.name),
            None,
        );
        return None;
    }
    if region.weight > MAX_ROUTE53_WEIGHT {
        r.error(
            &path.key("weight"),
            format!("weight {} is out of range", region.weight),
            Some("Route 53 weights are 0-255".into()),
        );
    }
    check_zones(&region.zones, path, r);
    let role = region.role.unwrap_or(if region.weight == 0 {
        Role::Standby
    } else {
        Role::Primary
    });
    let global = input
        .regions
        .binary_search(&region.name)
        .ok()
        .and_then(|i| RegionIx::try_from(i).ok())?;
    Some(ServiceRegion {
        region: global,
        name: region.name.clone(),
        weight: u8::try_from(region.weight.min(MAX_ROUTE53_WEIGHT)).unwrap_or(u8::MAX),
        role,
        zones: region.zones.clone(),
    })
}

/// A region's zone records: weights in range, names unique, values valid templates, not
/// every weight 0.
fn check_zones(zones: &[ZoneSpec], path: &FieldPath, r: &mut Reporter<'_>) {
    let mut zone_names = BTreeSet::new();
    for (z, zone) in zones.iter().enumerate() {
        if zone.weight > MAX_ROUTE53_WEIGHT {
            r.error(
                &path.key("zones").index(z).key("weight"),
                format!("weight {} is out of range", zone.weight),
                Some("Route 53 weights are 0-255".into()),
            );
        }
        if !zone_names.insert(&zone.name) {
            r.error(
                &path.key("zones").index(z).key("name"),
                format!("zone `{}` listed twice", zone.name),
                None,
            );
        }
        if let Err(e) = Template::parse(&zone.value, &["service", "region", "zone"]) {
            r.error(&path.key("zones").index(z).key("value"), e.0, None);
        }
    }
    if !zones.is_empty() && zones.iter().all(|z| z.weight == 0) {
        r.error(&path.key("zones"), "every zone has weight 0", Some("Route 53 answers an all-zero weight set with an equal spread; give at least one zone a weight".into()));
    }
}

/// Checks over the whole set of regions: there is one, something serves, roles agree with
/// weights, and the strategy has the regions (and capacity) it needs.
pub(super) fn check_region_set(
    spec: &ServiceSpec,
    regions: &[ServiceRegion],
    base: &FieldPath,
    r: &mut Reporter<'_>,
) {
    if spec.regions.is_empty() {
        r.error(
            &base.key("regions"),
            "a service needs at least one region",
            None,
        );
    }
    let primaries = regions.iter().filter(|sr| sr.role == Role::Primary).count();
    let serving = regions.iter().filter(|sr| sr.weight > 0).count();
    if !regions.is_empty() && serving == 0 {
        r.error(&base.key("regions"), "every region has weight 0", Some("Route 53 answers an all-zero weight set with an equal spread; give the serving regions a weight".into()));
    }
    for (i, sr) in regions.iter().enumerate() {
        if sr.role == Role::Primary && sr.weight == 0 {
            r.error(
                &base.key("regions").index(i).key("weight"),
                format!("primary region `{}` has weight 0", sr.name),
                Some(
                    "a primary serves in steady state; give it a weight or make it `role: standby`"
                        .into(),
                ),
            );
        }
        if sr.role == Role::Standby && sr.weight > 0 && spec.strategy != Strategy::ActiveActive {
            r.warn(
                &base.key("regions").index(i).key("weight"),
                format!(
                    "standby region `{}` has weight {}: it serves traffic in steady state",
                    sr.name, sr.weight
                ),
                None,
            );
        }
    }
    check_strategy(spec, regions, primaries, base, r);
}

/// The regions and capacity a strategy needs.
fn check_strategy(
    spec: &ServiceSpec,
    regions: &[ServiceRegion],
    primaries: usize,
    base: &FieldPath,
    r: &mut Reporter<'_>,
) {
    match spec.strategy {
        Strategy::ActiveActive => {
            if !regions.is_empty() && primaries < 2 {
                r.warn(
                    &base.key("regions"),
                    "active-active with fewer than two serving regions has nowhere to send traffic",
                    None,
                );
            }
        }
        Strategy::WarmStandby | Strategy::PilotLight => {
            if regions.iter().all(|sr| sr.role != Role::Standby) {
                r.error(
                    &base.key("regions"),
                    format!(
                        "{} needs at least one standby region",
                        spec.strategy.as_str()
                    ),
                    Some("add a region with `weight: 0` (or `role: standby`)".into()),
                );
            }
            if spec.compute.as_ref().and_then(|c| c.ecs.as_ref()).is_none() {
                r.error(
                    &base.key("compute"),
                    format!(
                        "{} needs `compute.ecs`: capacity is raised before traffic moves",
                        spec.strategy.as_str()
                    ),
                    None,
                );
            }
        }
        Strategy::BackupRestore => {}
    }
}
