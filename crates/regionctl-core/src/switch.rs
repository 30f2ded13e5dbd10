//! Data-plane switches (DESIGN.md §6): layout, names and timing, shared by the planner, the
//! controller, `provision`, `check` and the simulated world, so all of them agree on which
//! alarm and health check guard which records.
//!
//! A switch is a Route 53 health check of type `CLOUDWATCH_METRIC` bound to an alarm on a
//! metric the controllers publish: `1` = the region (or cell) may serve, `0` = drain it. The
//! records of that region carry the health check, so draining needs no
//! `ChangeResourceRecordSets` call — only `PutMetricData` to a region that is not the one
//! being drained.
//!
//! # Why this alarm shape
//! - `Minimum < 1` over one period: one acting controller publishing `0` drains; every
//!   publisher must say `1` to restore. Draining is the urgent direction, restoring is not.
//! - Missing data is `ignore` on the alarm and `LastKnownStatus` on the health check: when
//!   every controller dies (or is paused, or in a minority), the switches stay as they were.
//! - The alarm lives outside the region it guards: a failing region takes its own
//!   CloudWatch with it.
//!
//! # When a switch should be off
//! A switch turns off only when the planner has moved all traffic in its scope off the
//! region (every weight zero) *and* no cell in its scope considers the region eligible
//! (healthy and not drained). So a healthy standby with weight 0 stays on (Route 53 answers
//! it if every weighted region fails), a degraded region held during a capacity wait stays
//! on, and a cell failure does not take a region-scope switch down with it.

use crate::grid::Grid;
use crate::policy::raw::SwitchScope;
use crate::policy::{Bundle, Service, Switch};

/// Default CloudWatch metric name of the switches (`routing.switch.metric`).
pub const METRIC_NAME: &str = "Switch";

/// What a Route 53 record change needs, after `ChangeResourceRecordSets` returns, before
/// the authoritative servers answer with it (PENDING → INSYNC, typically under a minute).
pub const ROUTE53_PROPAGATION_SECS: u64 = 60;

/// Route 53's limit on the length of a health check's caller reference.
const CALLER_REFERENCE_MAX: usize = 64;

/// One switch, as CloudWatch and Route 53 know it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SwitchRef {
    /// Region whose CloudWatch holds the metric and the alarm.
    pub alarm_region: String,
    /// Metric namespace.
    pub namespace: String,
    /// Metric name.
    pub metric: String,
    /// Alarm name (also the health check's `Name` tag).
    pub alarm_name: String,
    /// Metric dimensions, in a fixed order: `Service`, `Region`, then `Cell` for cell scope.
    pub dimensions: Vec<(String, String)>,
    /// Idempotency token of the health check (`CallerReference`, at most 64 characters).
    pub caller_reference: String,
}

/// Switch positions per region: 0 without switches, 1 for region scope, one per cell for
/// cell scope. Live and target switch states are [`Grid`]s of slots by local regions.
pub fn slots(service: &Service) -> usize {
    match &service.routing.switch {
        None => 0,
        Some(sw) if sw.scope == SwitchScope::Cell => service.cells.len(),
        Some(_) => 1,
    }
}

/// The switch slot that guards cell `c`.
pub fn slot_of_cell(service: &Service, c: usize) -> usize {
    match &service.routing.switch {
        Some(sw) if sw.scope == SwitchScope::Cell => c,
        _ => 0,
    }
}

/// The cells a slot guards.
pub fn cells_of_slot(service: &Service, slot: usize) -> std::ops::Range<usize> {
    match &service.routing.switch {
        Some(sw) if sw.scope == SwitchScope::Cell => slot..slot + 1,
        _ => 0..service.cells.len(),
    }
}

/// The switch guarding local region `r` in `slot`, `None` if the service has no switches.
pub fn switch_ref(service: &Service, slot: usize, r: usize) -> Option<SwitchRef> {
    let sw = service.routing.switch.as_ref()?;
    let region = &service.regions.get(r)?.name;
    let mut dimensions = vec![
        ("Service".to_string(), service.name.clone()),
        ("Region".to_string(), region.clone()),
    ];
    // Named after the namespace (by default `regionctl/switch` → `regionctl-switch-…`), so
    // two bundles that share an account can keep their switches apart.
    let mut alarm_name = format!(
        "{}-{}-{region}",
        sw.namespace.replace('/', "-"),
        service.name
    );
    if sw.scope == SwitchScope::Cell {
        let cell = &service.cells.get(slot)?.id;
        dimensions.push(("Cell".to_string(), cell.clone()));
        alarm_name.push('-');
        alarm_name.push_str(cell);
    }
    Some(SwitchRef {
        alarm_region: sw.alarm_regions.get(r)?.clone(),
        namespace: sw.namespace.clone(),
        metric: sw.metric.clone(),
        caller_reference: caller_reference(&alarm_name),
        alarm_name,
        dimensions,
    })
}

/// Every switch of a service, with its (slot, local region).
pub fn switches_of(service: &Service) -> Vec<(usize, usize, SwitchRef)> {
    let nr = service.regions.len();
    let mut out = Vec::with_capacity(slots(service) * nr);
    for slot in 0..slots(service) {
        for r in 0..nr {
            if let Some(x) = switch_ref(service, slot, r) {
                out.push((slot, r, x));
            }
        }
    }
    out
}

/// Route 53 health checks the bundle needs (the account default quota is 200).
pub fn health_checks_needed(bundle: &Bundle) -> usize {
    bundle
        .services
        .iter()
        .map(|s| slots(s) * s.regions.len())
        .sum()
}

/// The default Route 53 health-check quota per account.
pub const DEFAULT_HEALTH_CHECK_QUOTA: usize = 200;

/// Worst-case seconds from publishing a flip until Route 53 answers accordingly: the rest
/// of the alarm period, then `interval × failure threshold` of health-check evaluations.
/// Resolvers then need up to the records' TTL on top.
pub fn switch_effect_secs(sw: &Switch) -> u64 {
    u64::from(sw.period_secs) + u64::from(sw.interval_secs) * u64::from(sw.failure_threshold)
}

/// Worst-case seconds until resolvers see a switch flip of `service` (with TTL).
pub fn switch_visible_secs(service: &Service) -> Option<u64> {
    service
        .routing
        .switch
        .as_ref()
        .map(|sw| switch_effect_secs(sw) + u64::from(service.routing.ttl_secs))
}

/// Typical seconds until resolvers see a weight change of `service`: propagation plus TTL.
pub fn weights_visible_secs(service: &Service) -> u64 {
    ROUTE53_PROPAGATION_SECS + u64::from(service.routing.ttl_secs)
}

/// Target switch states per (slot, local region) (`true` = may serve) for weights
/// `weights` per (cell, local region), the last published states `live` and eligibility
/// `eligible(cell, region)`.
///
/// A switch goes off only when its whole scope has moved off the region and the region is
/// not eligible there. A scope with a cell that has no eligible region is held as it is
/// (fail static: no writes). And never every region of a slot off (Route 53 would then
/// answer all records: fail open); then the slot's switches stay on and the weights decide.
pub fn target_switches(
    service: &Service,
    weights: &Grid<u8>,
    live: &Grid<Option<bool>>,
    eligible: impl Fn(usize, usize) -> bool,
) -> Grid<bool> {
    let nr = service.regions.len();
    let mut on = Grid::new(slots(service), nr, true);
    for slot in 0..on.cells() {
        let cells = cells_of_slot(service, slot);
        // Fail static: a scope with a cell that has nowhere healthy to go is not touched.
        let hold = cells.clone().any(|c| !(0..nr).any(|r| eligible(c, r)));
        let row = on.row_mut(slot);
        for (r, on) in row.iter_mut().enumerate() {
            if hold {
                *on = live.get(slot, r).copied().flatten().unwrap_or(true);
                continue;
            }
            let off = cells
                .clone()
                .all(|c| weights.get(c, r).copied().unwrap_or(0) == 0)
                && !cells.clone().any(|c| eligible(c, r));
            *on = !off;
        }
        if row.iter().all(|on| !on) {
            row.fill(true);
        }
    }
    on
}

/// A health check's caller reference: the alarm name, or a stable shortening of it.
fn caller_reference(alarm_name: &str) -> String {
    if alarm_name.len() <= CALLER_REFERENCE_MAX {
        return alarm_name.to_string();
    }
    // FNV-1a: stable across builds and platforms, and no dependency for 16 hex digits.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in alarm_name.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let keep = CALLER_REFERENCE_MAX - 17;
    let mut cut = keep;
    while !alarm_name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}-{h:016x}", &alarm_name[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_references_fit_route53s_limit_and_stay_distinct() {
        let short = caller_reference("regionctl-switch-auth-eu-west-1");
        assert_eq!(short, "regionctl-switch-auth-eu-west-1");
        let a = caller_reference(&format!("regionctl-switch-{}-eu-west-1-a", "x".repeat(60)));
        let b = caller_reference(&format!("regionctl-switch-{}-eu-west-1-b", "x".repeat(60)));
        assert_eq!(a.len(), 64);
        assert_eq!(b.len(), 64);
        assert_ne!(a, b);
    }
}
