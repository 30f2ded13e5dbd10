//! Health signals: alarm and probe templates, the observer quorum and debouncing; then the
//! compiled [`Health`] with every alarm bound to its (region, cell) and every probe
//! rendered per region.

use super::ServiceInput;
use super::cells::Dimensions;
use super::templates::{CellVars, parse_template, region_var};
use crate::policy::diagnostics::Reporter;
use crate::policy::raw::{ProbeProtocol, ProbeSpec, ServiceSpec, SignalRole};
use crate::policy::template::Template;
use crate::policy::yaml::FieldPath;
use crate::policy::{AlarmBinding, Cell, Health, Probe, ServiceRegion, alarm_slots};

/// The health templates that parsed.
pub(super) struct Signals<'a> {
    /// Alarm name templates and their roles.
    alarms: Vec<(Template, SignalRole)>,
    /// Probe target templates and their specs.
    probes: Vec<(Template, &'a ProbeSpec)>,
}

/// Checks the health section and parses its templates.
pub(super) fn check_health<'a>(
    input: &ServiceInput<'a>,
    dims: &Dimensions,
    base: &FieldPath,
    r: &mut Reporter<'_>,
) -> Signals<'a> {
    let hpath = base.key("health");
    let health = &input.spec.health;
    if health.alarms.is_empty() && health.probes.is_empty() {
        r.error(
            &hpath,
            "no health signals: add `alarms` or `probes`",
            Some("without evidence every region stays `unknown` and nothing ever moves".into()),
        );
    }
    let alarms = check_alarms(input.spec, dims, &hpath, r);
    let probes = health
        .probes
        .iter()
        .enumerate()
        .filter_map(|(i, probe)| {
            let t = check_probe(input.spec, probe, &hpath.key("probes").index(i), r)?;
            Some((t, probe))
        })
        .collect();
    check_quorum(health.quorum, input.controller_regions, &hpath, r);
    check_partition_evidence(input.spec, &hpath, r);
    if health.fail_after_secs == 0 {
        r.warn(
            &hpath.key("fail_after_secs"),
            "fail_after_secs 0: a single bad sample evacuates",
            None,
        );
    }
    Signals { alarms, probes }
}

/// Alarm name templates: one alarm per region at least (they contain `{region}`).
fn check_alarms(
    spec: &ServiceSpec,
    dims: &Dimensions,
    hpath: &FieldPath,
    r: &mut Reporter<'_>,
) -> Vec<(Template, SignalRole)> {
    let allowed = dims.placeholders(true);
    let mut alarms = Vec::new();
    for (i, alarm) in spec.health.alarms.iter().enumerate() {
        let path = hpath.key("alarms").index(i).key("name");
        if let Some(t) = parse_template(&alarm.name, &allowed, &path, r) {
            if !t.uses("region") {
                r.error(
                    &path,
                    "alarm template must contain `{region}`",
                    Some("one alarm per region, e.g. `playback-{region}-5xx`".into()),
                );
            }
            alarms.push((t, alarm.role));
        }
    }
    alarms
}

/// One probe: its target template, targets that fit the protocol, a sane timeout, and
/// per-region targets only for the service's regions.
fn check_probe(
    spec: &ServiceSpec,
    probe: &ProbeSpec,
    p: &FieldPath,
    r: &mut Reporter<'_>,
) -> Option<Template> {
    let t = parse_template(&probe.target, &["service", "region"], &p.key("target"), r)?;
    match probe.protocol {
        ProbeProtocol::Http
            if !(probe.target.starts_with("http://") || probe.target.starts_with("https://")) =>
        {
            r.error(
                &p.key("target"),
                "an http probe target must start with http:// or https://",
                None,
            );
        }
        ProbeProtocol::Tcp if !probe.target.contains(':') => {
            r.error(&p.key("target"), "a tcp probe target is `host:port`", None);
        }
        _ => {}
    }
    if matches!(probe.role, SignalRole::Served | SignalRole::Load) {
        r.error(
            &p.key("role"),
            format!("a probe cannot have role `{}`", probe.role.as_str()),
            Some(
                "probes say whether observers can reach a region; use `failure`, `critical` \
                 or `shadow`, and give `served` or `load` to an alarm"
                    .into(),
            ),
        );
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
            ProbeProtocol::Http => target.starts_with("http://") || target.starts_with("https://"),
            ProbeProtocol::Tcp => target.contains(':'),
        };
        if !scheme_ok {
            r.error(
                &p.key("per_region").key(region),
                format!(
                    "`{target}` is not a valid {} probe target",
                    if probe.protocol == ProbeProtocol::Http {
                        "http"
                    } else {
                        "tcp"
                    }
                ),
                None,
            );
        }
    }
    Some(t)
}

/// A service whose probes may evacuate under quorum and that has no `served` signal cannot
/// tell a partition between the observers from an outage: warn. Its failure alarms do not
/// help: they count errors in the requests that arrive, and a partition (like a black
/// hole) leaves them quiet, so the probe quorum alone evacuates a region whose users are
/// served (`chaos/isolated-region-users-served.yaml` does, without `served` signals).
fn check_partition_evidence(spec: &ServiceSpec, hpath: &FieldPath, r: &mut Reporter<'_>) {
    let health = &spec.health;
    let quorum_probes = health.probes.iter().any(|p| p.role == SignalRole::Failure);
    let served = health.alarms.iter().any(|a| a.role == SignalRole::Served);
    if quorum_probes && !served {
        r.warn(
            &hpath.key("probes"),
            "this service has no `served` signal: probe-only evidence cannot tell a partition \
             between the observers from an outage, so a quorum of failing probes evacuates a \
             region even while its users are served",
            Some(
                "add an alarm with `role: served` (e.g. request count above a floor), so that \
                 failing probes alone do not evacuate a region whose users are served"
                    .into(),
            ),
        );
    }
}

/// The quorum is at least 1, at most the number of observers, and should be a majority.
fn check_quorum(
    quorum: Option<u32>,
    controller_regions: Option<&[String]>,
    hpath: &FieldPath,
    r: &mut Reporter<'_>,
) {
    let Some(q) = quorum else {
        return;
    };
    let observers = controller_regions.map(<[String]>::len);
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

/// The compiled health settings: alarms bound, probes rendered.
pub(super) fn bind_health(
    input: &ServiceInput<'_>,
    signals: &Signals<'_>,
    dims: &Dimensions,
    regions: &[ServiceRegion],
    cells: &[Cell],
) -> Health {
    let health = &input.spec.health;
    let alarms = bind_alarms(input.name, &signals.alarms, dims, regions, cells);
    Health {
        slots: alarm_slots(&alarms),
        alarms,
        probes: render_probes(input.name, &signals.probes, regions),
        quorum: health.quorum,
        fail_after_secs: health.fail_after_secs,
        recover_after_secs: health.recover_after_secs,
        readiness_from_capacity: health.readiness.running_capacity.unwrap_or(true),
    }
}

/// Every alarm name, rendered per region, and per cell when the template names a cell.
fn bind_alarms(
    service: &str,
    templates: &[(Template, SignalRole)],
    dims: &Dimensions,
    regions: &[ServiceRegion],
    cells: &[Cell],
) -> Vec<AlarmBinding> {
    let mut alarms = Vec::new();
    for (t, role) in templates {
        let per_cell = dims.per_cell(t);
        for (ri, sr) in regions.iter().enumerate() {
            if per_cell {
                for (ci, cell) in cells.iter().enumerate() {
                    let vars = CellVars {
                        service,
                        dims: &dims.names,
                        id: &cell.id,
                        values: &cell.values,
                        region: Some(&sr.name),
                    };
                    alarms.push(AlarmBinding {
                        name: t.render(|v| vars.get(v)),
                        r: ri,
                        cell: Some(ci),
                        role: *role,
                    });
                }
            } else {
                alarms.push(AlarmBinding {
                    name: t.render(|v| region_var(service, &sr.name, v)),
                    r: ri,
                    cell: None,
                    role: *role,
                });
            }
        }
    }
    // Kept for the bundle's life: no spare capacity (5 MiB of it in a 1,000-service fleet).
    alarms.shrink_to_fit();
    alarms
}

/// Every probe per region: the region's exact target, else the rendered template.
fn render_probes(
    service: &str,
    templates: &[(Template, &ProbeSpec)],
    regions: &[ServiceRegion],
) -> Vec<Vec<Probe>> {
    regions
        .iter()
        .map(|sr| {
            templates
                .iter()
                .map(|(t, p)| Probe {
                    protocol: p.protocol,
                    target: p
                        .per_region
                        .get(&sr.name)
                        .cloned()
                        .unwrap_or_else(|| t.render(|v| region_var(service, &sr.name, v))),
                    timeout_ms: p.timeout_ms,
                    role: p.role,
                })
                .collect()
        })
        .collect()
}
