//! One service: every semantic check, then the compiled [`Service`].
//!
//! Checks report and carry on, so one run lists every problem in the file.

use super::diagnostics::{Reporter, did_you_mean};
use super::raw::{self, Role, ServiceSpec, Strategy};
use super::template::Template;
use super::yaml::FieldPath;
use super::{
    AlarmBinding, Alb, Cell, Ecs, Health, Probe, RegionIx, Routing, Safety, Service, ServiceRegion,
    Switch, default_mode_for_tier,
};
use std::collections::{BTreeMap, BTreeSet};

/// Route 53 allows at most 100 weighted records per name and type.
pub const MAX_WEIGHTED_RECORDS: usize = 100;
/// Route 53 weights.
pub const MAX_ROUTE53_WEIGHT: u32 = 255;
/// Most cells per service: a bound on generated record counts.
pub const MAX_CELLS: usize = 10_000;
/// Placeholders that dimension names may not shadow.
const RESERVED: [&str; 4] = ["service", "region", "cell", "zone"];
const CONTINENTS: [&str; 7] = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"];

pub(super) struct ServiceInput<'a> {
    pub name: &'a str,
    pub description: Option<String>,
    pub file: &'a str,
    pub spec: &'a ServiceSpec,
    pub regions: &'a [String],
    pub service_names: &'a [&'a str],
    pub controller_regions: Option<&'a [String]>,
}

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

pub(super) fn compile_service(input: &ServiceInput<'_>, r: &mut Reporter<'_>) -> Option<Service> {
    let spec = input.spec;
    let base = FieldPath::root().key("spec");
    let errors_before = r.diagnostics.iter().filter(|d| d.is_error()).count();

    if !(1..=4).contains(&spec.tier) {
        r.error(
            &base.key("tier"),
            format!("tier {} is out of range", spec.tier),
            Some("use 1 (most critical) to 4".into()),
        );
    }

    // Regions.
    let mut regions: Vec<ServiceRegion> = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, region) in spec.regions.iter().enumerate() {
        let path = base.key("regions").index(i);
        if !is_region_name(&region.name) {
            let hint = did_you_mean(&region.name, input.regions.iter().map(String::as_str))
                .map(|b| format!("did you mean `{b}`?"))
                .or_else(|| Some("an AWS region name such as `eu-central-1`".into()));
            r.error(
                &path.key("name"),
                format!("unknown region `{}`", region.name),
                hint,
            );
            continue;
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
                continue;
            }
            r.warn(
                &path.key("name"),
                format!("no controller runs in `{}`", region.name),
                Some("add it to the ControllerConfig `regions`, or its probes have no local observer".into()),
            );
        }
        if !seen.insert(region.name.clone()) {
            r.error(
                &path.key("name"),
                format!("region `{}` listed twice", region.name),
                None,
            );
            continue;
        }
        if region.weight > MAX_ROUTE53_WEIGHT {
            r.error(
                &path.key("weight"),
                format!("weight {} is out of range", region.weight),
                Some("Route 53 weights are 0-255".into()),
            );
        }
        let mut zone_names = BTreeSet::new();
        for (z, zone) in region.zones.iter().enumerate() {
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
        if !region.zones.is_empty() && region.zones.iter().all(|z| z.weight == 0) {
            r.error(&path.key("zones"), "every zone has weight 0", Some("Route 53 answers an all-zero weight set with an equal spread; give at least one zone a weight".into()));
        }
        let role = region.role.unwrap_or(if region.weight == 0 {
            Role::Standby
        } else {
            Role::Primary
        });
        let Some(global) = input
            .regions
            .binary_search(&region.name)
            .ok()
            .and_then(|i| RegionIx::try_from(i).ok())
        else {
            continue;
        };
        regions.push(ServiceRegion {
            region: global,
            name: region.name.clone(),
            weight: u8::try_from(region.weight.min(MAX_ROUTE53_WEIGHT)).unwrap_or(u8::MAX),
            role,
            zones: region.zones.clone(),
        });
    }
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

    // Dependencies.
    let mut depends_on = Vec::new();
    for (i, dep) in spec.depends_on.iter().enumerate() {
        let path = base.key("depends_on").index(i);
        if dep == input.name {
            r.error(
                &path,
                format!("dependency cycle: {dep} → depends on → {dep}"),
                Some("a service cannot depend on itself".into()),
            );
            continue;
        }
        match input.service_names.iter().position(|n| n == dep) {
            Some(ix) if !depends_on.contains(&ix) => depends_on.push(ix),
            Some(_) => r.warn(&path, format!("`{dep}` listed twice"), None),
            None => {
                let hint = did_you_mean(dep, input.service_names.iter().copied())
                    .map(|b| format!("did you mean `{b}`?"));
                r.error(&path, format!("unknown service `{dep}`"), hint);
            }
        }
    }

    // Cells.
    let (dims, cells_values) = compile_dimensions(spec, &base, r);
    let dim_names: Vec<&str> = dims.iter().map(String::as_str).collect();
    let mut allowed_cell: Vec<&str> = vec!["service", "cell"];
    allowed_cell.extend(dim_names.iter().copied());
    let mut allowed_cell_region = allowed_cell.clone();
    allowed_cell_region.push("region");

    let region_names: Vec<&str> = regions.iter().map(|sr| sr.name.as_str()).collect();
    let rules = compile_serving(spec, &base, &dim_names, &region_names, r);

    // Routing templates.
    let rpath = base.key("routing");
    let routing = &spec.routing;
    if !is_zone_id(&routing.hosted_zone_id) {
        r.error(
            &rpath.key("hosted_zone_id"),
            format!(
                "`{}` is not a Route 53 hosted zone id",
                routing.hosted_zone_id
            ),
            Some("hosted zone ids look like `Z0123456789ABCDEFGHIJ`".into()),
        );
    }
    let record_t = parse_template(
        &routing.record_name,
        &allowed_cell,
        &rpath.key("record_name"),
        r,
    );
    let set_id_t = parse_template(
        &routing.set_identifier,
        &allowed_cell_region,
        &rpath.key("set_identifier"),
        r,
    );
    let value_t = parse_template(&routing.value, &allowed_cell_region, &rpath.key("value"), r);
    if let Some(t) = &set_id_t
        && !t.uses("region")
    {
        r.error(
            &rpath.key("set_identifier"),
            "the set identifier must contain `{region}`",
            Some("e.g. `{cell}-{region}`; operators read the region off the record".into()),
        );
    }
    if let Some(t) = &record_t
        && !dims.is_empty()
        && !t.uses("cell")
        && !dims.iter().all(|d| t.uses(d))
    {
        r.error(&rpath.key("record_name"), "with cells, the record name must contain `{cell}` (or every dimension)", Some("DNS cannot see a user's plan or platform: each cell needs its own record name, e.g. `{cell}.play.example.com`".into()));
    }
    if routing.ttl_secs > 300 {
        r.warn(
            &rpath.key("ttl_secs"),
            format!(
                "TTL {}s: resolvers keep sending traffic to an evacuated region that long",
                routing.ttl_secs
            ),
            Some("failover records usually use 60s or less".into()),
        );
    }
    if regions.len() > MAX_WEIGHTED_RECORDS {
        r.error(
            &base.key("regions"),
            format!(
                "{} weighted records for one name and type; Route 53 allows {MAX_WEIGHTED_RECORDS}",
                regions.len()
            ),
            None,
        );
    }

    // Health.
    let hpath = base.key("health");
    let health_spec = &spec.health;
    if health_spec.alarms.is_empty() && health_spec.probes.is_empty() {
        r.error(
            &hpath,
            "no health signals: add `alarms` or `probes`",
            Some("without evidence every region stays `unknown` and nothing ever moves".into()),
        );
    }
    let mut alarm_templates = Vec::new();
    for (i, alarm) in health_spec.alarms.iter().enumerate() {
        if let Some(t) = parse_template(
            &alarm.name,
            &allowed_cell_region,
            &hpath.key("alarms").index(i).key("name"),
            r,
        ) {
            if !t.uses("region") {
                r.error(
                    &hpath.key("alarms").index(i).key("name"),
                    "alarm template must contain `{region}`",
                    Some("one alarm per region, e.g. `playback-{region}-5xx`".into()),
                );
            }
            alarm_templates.push((t, alarm.role));
        }
    }
    let mut probe_templates = Vec::new();
    for (i, probe) in health_spec.probes.iter().enumerate() {
        let p = hpath.key("probes").index(i);
        if let Some(t) = parse_template(&probe.target, &["service", "region"], &p.key("target"), r)
        {
            match probe.protocol {
                raw::ProbeProtocol::Http
                    if !(probe.target.starts_with("http://")
                        || probe.target.starts_with("https://")) =>
                {
                    r.error(
                        &p.key("target"),
                        "an http probe target must start with http:// or https://",
                        None,
                    );
                }
                raw::ProbeProtocol::Tcp if !probe.target.contains(':') => {
                    r.error(&p.key("target"), "a tcp probe target is `host:port`", None);
                }
                _ => {}
            }
            if probe.timeout_ms == 0 || probe.timeout_ms > 60_000 {
                r.error(
                    &p.key("timeout_ms"),
                    format!("timeout {}ms is out of range", probe.timeout_ms),
                    Some("use 1-60000".into()),
                );
            }
            for (region, target) in &probe.per_region {
                if !spec.regions.iter().any(|x| &x.name == region) {
                    r.error(
                        &p.key("per_region").key(region),
                        format!("service does not run in `{region}`"),
                        None,
                    );
                }
                let scheme_ok = match probe.protocol {
                    raw::ProbeProtocol::Http => {
                        target.starts_with("http://") || target.starts_with("https://")
                    }
                    raw::ProbeProtocol::Tcp => target.contains(':'),
                };
                if !scheme_ok {
                    r.error(
                        &p.key("per_region").key(region),
                        format!(
                            "`{target}` is not a valid {} probe target",
                            if probe.protocol == raw::ProbeProtocol::Http {
                                "http"
                            } else {
                                "tcp"
                            }
                        ),
                        None,
                    );
                }
            }
            probe_templates.push((t, probe));
        }
    }
    if let Some(q) = health_spec.quorum {
        let observers = input.controller_regions.map(<[String]>::len);
        if q == 0 {
            r.error(&hpath.key("quorum"), "quorum must be at least 1", None);
        } else if let Some(n) = observers
            && q as usize > n
        {
            r.error(
                &hpath.key("quorum"),
                format!("quorum {q} is larger than the {n} controllers that observe"),
                Some(format!(
                    "use at most {n}; a strict majority is {}",
                    n / 2 + 1
                )),
            );
        } else if let Some(n) = observers
            && (q as usize) <= n / 2
        {
            r.warn(&hpath.key("quorum"), format!("quorum {q} of {n} observers is not a majority: one vantage point could evacuate a healthy region"), None);
        }
    }
    if health_spec.fail_after_secs == 0 {
        r.warn(
            &hpath.key("fail_after_secs"),
            "fail_after_secs 0: a single bad sample evacuates",
            None,
        );
    }

    // Compute.
    let cpath = base.key("compute");
    let ecs_spec = spec.compute.as_ref().and_then(|c| c.ecs.as_ref());
    let alb_spec = spec.compute.as_ref().and_then(|c| c.alb.as_ref());
    if let Some(e) = ecs_spec {
        let p = cpath.key("ecs");
        parse_template(&e.cluster, &["service", "region"], &p.key("cluster"), r);
        parse_template(&e.service, &["service", "region"], &p.key("service"), r);
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
        if spec.strategy == Strategy::PilotLight && e.standby_count != 0 {
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
    if let Some(a) = alb_spec {
        let p = cpath.key("alb");
        parse_template(
            &a.listener_arn,
            &["service", "region"],
            &p.key("listener_arn"),
            r,
        );
        parse_template(
            &a.fargate_target_group,
            &["service", "region"],
            &p.key("fargate_target_group"),
            r,
        );
        parse_template(
            &a.lambda_target_group,
            &["service", "region"],
            &p.key("lambda_target_group"),
            r,
        );
        if a.burst_lambda_percent > 100 {
            r.error(&p.key("burst_lambda_percent"), format!("{}% is out of range", a.burst_lambda_percent), Some("a percentage of the listener's traffic, 0-100 (ALB weights themselves are 0-999)".into()));
        }
    }
    if health_spec
        .alarms
        .iter()
        .any(|a| a.role == raw::AlarmRole::Load)
        && alb_spec.is_none()
    {
        r.error(
            &hpath.key("alarms"),
            "a `load` alarm needs `compute.alb` to shift Fargate traffic to Lambda",
            None,
        );
    }

    // Safety.
    let spath = base.key("safety");
    let safety = &spec.safety;
    if safety.min_healthy_regions == 0 {
        r.error(
            &spath.key("min_healthy_regions"),
            "min_healthy_regions must be at least 1: never route to zero healthy regions",
            None,
        );
    } else if safety.min_healthy_regions as usize > regions.len() && !regions.is_empty() {
        r.error(
            &spath.key("min_healthy_regions"),
            format!(
                "min_healthy_regions {} can never be met by {} regions",
                safety.min_healthy_regions,
                regions.len()
            ),
            Some(format!("use at most {}", regions.len())),
        );
    } else if safety.min_healthy_regions as usize == regions.len()
        && regions.len() > 1
        && spec.strategy == Strategy::ActiveActive
    {
        r.warn(
            &spath.key("min_healthy_regions"),
            format!(
                "min_healthy_regions {} equals the region count: no region can ever be evacuated",
                safety.min_healthy_regions
            ),
            None,
        );
    }
    if !(1..=100).contains(&safety.max_shift_percent_per_step) {
        r.error(
            &spath.key("max_shift_percent_per_step"),
            format!("{}% is out of range", safety.max_shift_percent_per_step),
            Some("use 1-100".into()),
        );
    }
    let stages = &safety.failback.stages_percent;
    let fpath = spath.key("failback").key("stages_percent");
    if stages.is_empty() {
        r.error(
            &fpath,
            "failback needs at least one stage",
            Some("e.g. [10, 50, 100]".into()),
        );
    } else {
        if stages.windows(2).any(|w| w[0] >= w[1]) {
            r.error(&fpath, "failback stages must strictly increase", None);
        }
        if stages.iter().any(|s| *s == 0 || *s > 100) {
            r.error(&fpath, "failback stages are percentages 1-100", None);
        }
        if stages.last() != Some(&100) {
            r.error(
                &fpath,
                "the last failback stage must be 100",
                Some("otherwise a recovered region never gets its full share back".into()),
            );
        }
    }
    if let Some(e) = ecs_spec
        && e.max_wait_secs > safety.max_degraded_hold_secs
        && spec.strategy != Strategy::ActiveActive
    {
        r.warn(&cpath.key("ecs").key("max_wait_secs"), format!("max_wait_secs {} exceeds safety.max_degraded_hold_secs {}: traffic leaves a degraded region before capacity is ready", e.max_wait_secs, safety.max_degraded_hold_secs), None);
    }

    // Switches and geolocation.
    if let Some(sw) = &routing.switch {
        for (guarded, alarm_region) in &sw.alarm_region {
            if !region_names.contains(&guarded.as_str()) {
                r.error(
                    &rpath.key("switch").key("alarm_region").key(guarded),
                    format!("service does not run in `{guarded}`"),
                    None,
                );
            }
            if guarded == alarm_region {
                r.error(
                    &rpath.key("switch").key("alarm_region").key(guarded),
                    format!("the switch alarm for `{guarded}` must live outside `{guarded}`"),
                    Some("a region that fails takes its own CloudWatch with it".into()),
                );
            }
            if !is_region_name(alarm_region) {
                r.error(
                    &rpath.key("switch").key("alarm_region").key(guarded),
                    format!("`{alarm_region}` is not an AWS region name"),
                    None,
                );
            }
        }
        if regions.len() < 2 {
            r.error(&rpath.key("switch"), "a switch alarm must live outside the region it guards: the service needs two regions", None);
        }
        if sw.period_secs == 0 || sw.period_secs % 60 != 0 || sw.period_secs > 3600 {
            r.error(
                &rpath.key("switch").key("period_secs"),
                format!("{} is not a standard-resolution alarm period", sw.period_secs),
                Some("use a multiple of 60 up to 3600 (the switch metric is published at standard resolution)".into()),
            );
        }
        if sw.interval_secs != 10 && sw.interval_secs != 30 {
            r.error(
                &rpath.key("switch").key("interval_secs"),
                format!(
                    "Route 53 evaluates health checks every 10 or 30 seconds, not {}",
                    sw.interval_secs
                ),
                None,
            );
        }
        if !(1..=10).contains(&sw.failure_threshold) {
            r.error(
                &rpath.key("switch").key("failure_threshold"),
                format!("{} is outside Route 53's 1–10", sw.failure_threshold),
                None,
            );
        }
    } else if spec.tier == 1 && spec.strategy != Strategy::BackupRestore {
        r.warn(&rpath, "a tier-1 service without `switch`: its evacuation can only go through the Route 53 control plane (us-east-1)", Some("add `switch: {}` for data-plane health-check switches (DESIGN.md §6)".into()));
    }

    // Cell-level checks still run when other fields have errors, so one run reports every
    // problem; only templates that failed to parse stop them.
    let (Some(record_t), Some(set_id_t), Some(value_t)) = (record_t, set_id_t, value_t) else {
        return None;
    };

    // Build the cells.
    let ncells = cells_values.len();
    let mut cells = Vec::with_capacity(ncells);
    let mut record_names: BTreeMap<String, usize> = BTreeMap::new();
    for (ci, values) in cells_values.iter().enumerate() {
        let id = if dims.is_empty() {
            "all".to_string()
        } else {
            values
                .iter()
                .map(|v| v.to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join("-")
        };
        let label = if dims.is_empty() {
            "all".to_string()
        } else {
            values.join("/")
        };
        let lookup = |var: &str, region: Option<&str>| -> Option<String> {
            match var {
                "service" => Some(input.name.to_string()),
                "cell" => Some(id.clone()),
                "region" => region.map(str::to_string),
                d => dims
                    .iter()
                    .position(|x| x == d)
                    .map(|i| values[i].to_ascii_lowercase()),
            }
        };
        let record_name = render(&record_t, |v| lookup(v, None));
        if let Some(prev) = record_names.insert(record_name.clone(), ci) {
            r.error(
                &rpath.key("record_name"),
                format!(
                    "cells `{}` and `{id}` both render record name `{record_name}`",
                    cells_values_id(&cells_values[prev], &dims)
                ),
                Some("each cell needs its own record name".into()),
            );
        }
        let set_identifiers: Vec<String> = regions
            .iter()
            .map(|sr| render(&set_id_t, |v| lookup(v, Some(&sr.name))))
            .collect();
        let mut ids = BTreeSet::new();
        for s in &set_identifiers {
            if !ids.insert(s) {
                r.error(
                    &rpath.key("set_identifier"),
                    format!("duplicate set identifier `{s}` for record `{record_name}`"),
                    None,
                );
            }
            if s.is_empty() || s.len() > 128 {
                r.error(
                    &rpath.key("set_identifier"),
                    format!("set identifier `{s}` must be 1-128 characters"),
                    None,
                );
            }
        }
        let values_per_region = regions
            .iter()
            .map(|sr| render(&value_t, |v| lookup(v, Some(&sr.name))))
            .collect();
        let tiers = tiers_for(values, &rules, &regions);
        let in_first: BTreeSet<usize> = tiers
            .first()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let baseline_weights: Vec<u8> = regions
            .iter()
            .enumerate()
            .map(|(r, sr)| if in_first.contains(&r) { sr.weight } else { 0 })
            .collect();
        if baseline_weights.iter().all(|w| *w == 0) {
            r.error(&base.key("cells").key("serving"), format!("cell `{id}`: every region of its first tier has weight 0"), Some("Route 53 answers an all-zero weight set with an equal spread; put a weighted region in the first tier".into()));
        }
        cells.push(Cell {
            id,
            label,
            values: values.clone(),
            record_name,
            tiers,
            set_identifiers,
            values_per_region,
            baseline_weights,
        });
    }

    // Geolocation (needs cell ids).
    if let Some(geo) = &routing.geolocation {
        check_geolocation(geo, &cells, &rpath.key("geolocation"), r);
    }

    // Alarm bindings.
    let mut alarms = Vec::new();
    for (t, role) in &alarm_templates {
        let per_cell = t.uses("cell") || dims.iter().any(|d| t.uses(d));
        for (ri, sr) in regions.iter().enumerate() {
            if per_cell {
                for (ci, cell) in cells.iter().enumerate() {
                    let name = render(t, |v| match v {
                        "service" => Some(input.name.to_string()),
                        "region" => Some(sr.name.clone()),
                        "cell" => Some(cell.id.clone()),
                        d => dims
                            .iter()
                            .position(|x| x == d)
                            .map(|i| cell.values[i].to_ascii_lowercase()),
                    });
                    alarms.push(AlarmBinding {
                        name,
                        r: ri,
                        cell: Some(ci),
                        role: *role,
                    });
                }
            } else {
                let name = render(t, |v| match v {
                    "service" => Some(input.name.to_string()),
                    "region" => Some(sr.name.clone()),
                    _ => None,
                });
                alarms.push(AlarmBinding {
                    name,
                    r: ri,
                    cell: None,
                    role: *role,
                });
            }
        }
    }
    let probes = regions
        .iter()
        .map(|sr| {
            probe_templates
                .iter()
                .map(|(t, p)| Probe {
                    protocol: p.protocol,
                    target: p.per_region.get(&sr.name).cloned().unwrap_or_else(|| {
                        render(t, |v| match v {
                            "service" => Some(input.name.to_string()),
                            "region" => Some(sr.name.clone()),
                            _ => None,
                        })
                    }),
                    timeout_ms: p.timeout_ms,
                })
                .collect()
        })
        .collect();
    let per_region = |t: &str| -> Vec<String> {
        match Template::parse(t, &["service", "region"]) {
            Ok(t) => regions
                .iter()
                .map(|sr| {
                    render(&t, |v| match v {
                        "service" => Some(input.name.to_string()),
                        "region" => Some(sr.name.clone()),
                        _ => None,
                    })
                })
                .collect(),
            Err(_) => Vec::new(),
        }
    };
    let ecs = ecs_spec.map(|e| Ecs {
        clusters: per_region(&e.cluster),
        services: per_region(&e.service),
        standby_count: e.standby_count,
        full_count: e.full_count,
        readiness_percent: e.readiness_percent,
        max_wait_secs: e.max_wait_secs,
    });
    let alb = alb_spec.map(|a| Alb {
        listeners: per_region(&a.listener_arn),
        fargate_target_groups: per_region(&a.fargate_target_group),
        lambda_target_groups: per_region(&a.lambda_target_group),
        burst_lambda_percent: a.burst_lambda_percent,
    });
    if r.diagnostics.iter().filter(|d| d.is_error()).count() > errors_before {
        return None;
    }
    let switch = routing.switch.as_ref().map(|sw| Switch {
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
    });
    let mode = spec
        .mode
        .unwrap_or_else(|| default_mode_for_tier(spec.tier));
    let mut service = Service {
        name: input.name.to_string(),
        description: input.description.clone(),
        file: input.file.to_string(),
        tier: spec.tier,
        strategy: spec.strategy,
        mode,
        mode_defaulted: spec.mode.is_none(),
        depends_on,
        regions,
        cells,
        health: Health {
            alarms,
            probes,
            quorum: health_spec.quorum,
            fail_after_secs: health_spec.fail_after_secs,
            recover_after_secs: health_spec.recover_after_secs,
            readiness_from_capacity: health_spec.readiness.running_capacity.unwrap_or(true),
        },
        routing: Routing {
            hosted_zone_id: routing.hosted_zone_id.clone(),
            record_type: routing.record_type,
            ttl_secs: routing.ttl_secs,
            geolocation: routing.geolocation.clone(),
            switch,
        },
        ecs,
        alb,
        baseline_shares: Vec::new(),
        safety: Safety {
            min_healthy_regions: safety.min_healthy_regions,
            max_shift_percent_per_step: safety.max_shift_percent_per_step,
            cooldown_secs: safety.cooldown_secs,
            max_degraded_hold_secs: safety.max_degraded_hold_secs,
            failback_mode: safety.failback.mode,
            failback_after_healthy_secs: safety.failback.after_healthy_secs,
            failback_stages_percent: safety.failback.stages_percent.clone(),
        },
    };
    service.baseline_shares = service.compute_baseline_shares();
    Some(service)
}

fn cells_values_id(values: &[String], dims: &[String]) -> String {
    if dims.is_empty() {
        "all".into()
    } else {
        values
            .iter()
            .map(|v| v.to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join("-")
    }
}

fn render(t: &Template, lookup: impl Fn(&str) -> Option<String>) -> String {
    t.render(lookup)
}

fn parse_template(
    text: &str,
    allowed: &[&str],
    path: &FieldPath,
    r: &mut Reporter<'_>,
) -> Option<Template> {
    match Template::parse(text, allowed) {
        Ok(t) => Some(t),
        Err(e) => {
            r.error(path, e.0, None);
            None
        }
    }
}

fn is_zone_id(id: &str) -> bool {
    // Real zone ids start with `Z`; emulators generate other uppercase ids, so accept any.
    let id = id.strip_prefix("/hostedzone/").unwrap_or(id);
    (1..=32).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// Dimension names and the cartesian product of their values (one empty cell if none).
fn compile_dimensions(
    spec: &ServiceSpec,
    base: &FieldPath,
    r: &mut Reporter<'_>,
) -> (Vec<String>, Vec<Vec<String>>) {
    let Some(cells) = &spec.cells else {
        return (Vec::new(), vec![Vec::new()]);
    };
    let dpath = base.key("cells").key("dimensions");
    let mut names = Vec::new();
    let mut product: Vec<Vec<String>> = vec![Vec::new()];
    if cells.dimensions.is_empty() {
        r.error(&dpath, "`cells` needs at least one dimension", None);
    }
    for (i, dim) in cells.dimensions.iter().enumerate() {
        let p = dpath.index(i);
        let valid =
            !dim.name.is_empty() && dim.name.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        if !valid {
            r.error(
                &p.key("name"),
                format!("invalid dimension name `{}`", dim.name),
                Some("use lowercase letters and `_`".into()),
            );
        }
        if RESERVED.contains(&dim.name.as_str()) {
            r.error(
                &p.key("name"),
                format!("`{}` is a reserved placeholder name", dim.name),
                Some(format!("reserved: {}", RESERVED.join(", "))),
            );
        }
        if names.contains(&dim.name) {
            r.error(
                &p.key("name"),
                format!("dimension `{}` listed twice", dim.name),
                None,
            );
        }
        names.push(dim.name.clone());
        if dim.values.is_empty() {
            r.error(
                &p.key("values"),
                format!("dimension `{}` has no values", dim.name),
                None,
            );
        }
        let mut seen = BTreeSet::new();
        for (k, v) in dim.values.iter().enumerate() {
            let dns_safe = !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric());
            if !dns_safe {
                r.error(
                    &p.key("values").index(k),
                    format!("value `{v}` must be letters and digits"),
                    Some("values become part of DNS names".into()),
                );
            }
            if !seen.insert(v.to_ascii_lowercase()) {
                r.error(
                    &p.key("values").index(k),
                    format!("value `{v}` listed twice"),
                    None,
                );
            }
        }
        let mut next = Vec::new();
        for prefix in &product {
            for v in &dim.values {
                let mut cell = prefix.clone();
                cell.push(v.clone());
                next.push(cell);
            }
            if next.len() > MAX_CELLS {
                break;
            }
        }
        product = next;
        if product.len() > MAX_CELLS {
            r.error(&dpath, format!("more than {MAX_CELLS} cells"), None);
            return (names, vec![Vec::new()]);
        }
    }
    (names, product)
}

struct Rule {
    matches: Vec<(usize, BTreeSet<String>)>,
    tiers: Vec<Vec<usize>>,
}

fn compile_serving(
    spec: &ServiceSpec,
    base: &FieldPath,
    dims: &[&str],
    regions: &[&str],
    r: &mut Reporter<'_>,
) -> Vec<Rule> {
    let Some(cells) = &spec.cells else {
        return Vec::new();
    };
    let spath = base.key("cells").key("serving");
    let mut rules = Vec::new();
    for (i, rule) in cells.serving.iter().enumerate() {
        let p = spath.index(i);
        let mut matches = Vec::new();
        for (dim, values) in &rule.match_ {
            let Some(d) = dims.iter().position(|x| x == dim) else {
                let hint =
                    did_you_mean(dim, dims.iter().copied()).map(|b| format!("did you mean `{b}`?"));
                r.error(
                    &p.key("match").key(dim),
                    format!("unknown dimension `{dim}`"),
                    hint,
                );
                continue;
            };
            let known: Vec<&String> = cells.dimensions[d].values.iter().collect();
            for (k, v) in values.iter().enumerate() {
                if !known.iter().any(|x| x.eq_ignore_ascii_case(v)) {
                    r.error(
                        &p.key("match").key(dim).index(k),
                        format!("dimension `{dim}` has no value `{v}`"),
                        None,
                    );
                }
            }
            matches.push((d, values.iter().map(|v| v.to_ascii_lowercase()).collect()));
        }
        if rule.tiers.is_empty() {
            r.error(
                &p.key("tiers"),
                "a serving rule needs at least one tier",
                None,
            );
        }
        let mut tiers = Vec::new();
        let mut used = BTreeSet::new();
        for (t, tier) in rule.tiers.iter().enumerate() {
            if tier.is_empty() {
                r.error(&p.key("tiers").index(t), "empty tier", None);
            }
            let mut ixs = Vec::new();
            for (k, name) in tier.iter().enumerate() {
                match regions.iter().position(|x| x == name) {
                    Some(ix) => {
                        if !used.insert(ix) {
                            r.error(
                                &p.key("tiers").index(t).index(k),
                                format!("region `{name}` appears in two tiers"),
                                None,
                            );
                        }
                        ixs.push(ix);
                    }
                    None => {
                        let hint = did_you_mean(name, regions.iter().copied())
                            .map(|b| format!("did you mean `{b}`?"));
                        r.error(
                            &p.key("tiers").index(t).index(k),
                            format!("`{name}` is not one of this service's regions"),
                            hint.or_else(|| Some(format!("regions: {}", regions.join(", ")))),
                        );
                    }
                }
            }
            tiers.push(ixs);
        }
        rules.push(Rule { matches, tiers });
    }
    rules
}

/// The tiers serving a cell: the first matching rule, else the strategy's default
/// (active-active: every region in one tier; standby strategies: primaries, then standbys).
fn tiers_for(values: &[String], rules: &[Rule], regions: &[ServiceRegion]) -> Vec<Vec<usize>> {
    for rule in rules {
        let hit = rule.matches.iter().all(|(d, allowed)| {
            values
                .get(*d)
                .is_some_and(|v| allowed.contains(&v.to_ascii_lowercase()))
        });
        if hit {
            return rule.tiers.clone();
        }
    }
    let primaries: Vec<usize> = (0..regions.len())
        .filter(|r| regions[*r].role == Role::Primary)
        .collect();
    let standbys: Vec<usize> = (0..regions.len())
        .filter(|r| regions[*r].role == Role::Standby)
        .collect();
    let mut tiers = vec![primaries];
    if !standbys.is_empty() {
        tiers.push(standbys);
    }
    tiers.retain(|t| !t.is_empty());
    tiers
}

fn check_geolocation(
    geo: &raw::GeolocationSpec,
    cells: &[Cell],
    path: &FieldPath,
    r: &mut Reporter<'_>,
) {
    let mut has_default = false;
    let mut seen = BTreeSet::new();
    for (i, rule) in geo.rules.iter().enumerate() {
        let p = path.key("rules").index(i);
        let set = usize::from(rule.continent.is_some())
            + usize::from(rule.country.is_some())
            + usize::from(rule.default);
        if set != 1 {
            r.error(
                &p,
                "a geolocation rule names exactly one of `continent`, `country` or `default: true`",
                None,
            );
        }
        if rule.default {
            has_default = true;
        }
        if let Some(c) = &rule.continent
            && !CONTINENTS.contains(&c.as_str())
        {
            r.error(
                &p.key("continent"),
                format!("`{c}` is not a continent code"),
                Some(format!("one of {}", CONTINENTS.join(", "))),
            );
        }
        if let Some(c) = &rule.country
            && !(c.len() == 2 && c.chars().all(|x| x.is_ascii_uppercase()))
        {
            r.error(
                &p.key("country"),
                format!("`{c}` is not an ISO 3166 alpha-2 country code"),
                Some("e.g. `DE`".into()),
            );
        }
        let key = (rule.continent.clone(), rule.country.clone(), rule.default);
        if set == 1 && !seen.insert(key) {
            r.error(&p, "duplicate geolocation location", None);
        }
        if !cells.iter().any(|c| c.id == rule.cell) {
            let hint = did_you_mean(&rule.cell, cells.iter().map(|c| c.id.as_str()))
                .map(|b| format!("did you mean `{b}`?"));
            r.error(&p.key("cell"), format!("no cell `{}`", rule.cell), hint);
        }
    }
    if !has_default {
        r.error(&path.key("rules"), "the geolocation tree has no default record", Some("add `- default: true` with a cell: users outside every listed location otherwise get no answer".into()));
    }
}
