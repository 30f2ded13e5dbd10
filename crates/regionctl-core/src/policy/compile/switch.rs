//! Data-plane switches (`routing.switch`, DESIGN.md §6): where each region's switch alarm
//! lives and Route 53's health-check limits.

use super::regions::is_region_name;
use crate::policy::diagnostics::Reporter;
use crate::policy::raw::{ServiceSpec, Strategy, SwitchSpec};
use crate::policy::yaml::FieldPath;
use crate::policy::{ServiceRegion, Switch};

/// Checks the switch settings; a tier-1 service without switches is warned about.
pub(super) fn check_switch(
    spec: &ServiceSpec,
    regions: &[ServiceRegion],
    base: &FieldPath,
    r: &mut Reporter<'_>,
) {
    let rpath = base.key("routing");
    let Some(sw) = &spec.routing.switch else {
        if spec.tier == 1 && spec.strategy != Strategy::BackupRestore {
            r.warn(&rpath, "a tier-1 service without `switch`: its evacuation can only go through the Route 53 control plane (us-east-1)", Some("add `switch: {}` for data-plane health-check switches (DESIGN.md §6)".into()));
        }
        return;
    };
    let path = rpath.key("switch");
    check_alarm_regions(sw, regions, &path, r);
    if regions.len() < 2 {
        r.error(
            &path,
            "a switch alarm must live outside the region it guards: the service needs two regions",
            None,
        );
    }
    if sw.period_secs == 0 || sw.period_secs % 60 != 0 || sw.period_secs > 3600 {
        r.error(
            &path.key("period_secs"),
            format!("{} is not a standard-resolution alarm period", sw.period_secs),
            Some("use a multiple of 60 up to 3600 (the switch metric is published at standard resolution)".into()),
        );
    }
    if sw.interval_secs != 10 && sw.interval_secs != 30 {
        r.error(
            &path.key("interval_secs"),
            format!(
                "Route 53 evaluates health checks every 10 or 30 seconds, not {}",
                sw.interval_secs
            ),
            None,
        );
    }
    if !(1..=10).contains(&sw.failure_threshold) {
        r.error(
            &path.key("failure_threshold"),
            format!("{} is outside Route 53's 1–10", sw.failure_threshold),
            None,
        );
    }
}

/// `alarm_region`: each guarded region is the service's, and its alarm lives in another
/// real region.
fn check_alarm_regions(
    sw: &SwitchSpec,
    regions: &[ServiceRegion],
    path: &FieldPath,
    r: &mut Reporter<'_>,
) {
    for (guarded, alarm_region) in &sw.alarm_region {
        let p = path.key("alarm_region").key(guarded);
        if !regions.iter().any(|sr| sr.name == *guarded) {
            r.error(&p, format!("service does not run in `{guarded}`"), None);
        }
        if guarded == alarm_region {
            r.error(
                &p,
                format!("the switch alarm for `{guarded}` must live outside `{guarded}`"),
                Some("a region that fails takes its own CloudWatch with it".into()),
            );
        }
        if !is_region_name(alarm_region) {
            r.error(
                &p,
                format!("`{alarm_region}` is not an AWS region name"),
                None,
            );
        }
    }
}

/// The compiled switch: each region's alarm region defaults to the first other region.
pub(super) fn compile_switch(sw: &SwitchSpec, regions: &[ServiceRegion]) -> Switch {
    Switch {
        scope: sw.scope,
        namespace: sw.namespace.clone(),
        metric: sw.metric.clone(),
        alarm_regions: regions
            .iter()
            .map(|guarded| {
                sw.alarm_region
                    .get(&guarded.name)
                    .cloned()
                    .unwrap_or_else(|| {
                        regions
                            .iter()
                            .find(|other| other.name != guarded.name)
                            .map(|other| other.name.clone())
                            .unwrap_or_default()
                    })
            })
            .collect(),
        period_secs: sw.period_secs,
        interval_secs: sw.interval_secs,
        failure_threshold: sw.failure_threshold,
    }
}
