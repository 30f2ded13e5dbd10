//! The controller configuration's checks: regions, timings, read budgets, probes.

use crate::policy::compile::is_region_name;
use crate::policy::diagnostics::Reporter;
use crate::policy::raw::ControllerSpec;
use crate::policy::yaml::FieldPath;
use std::collections::BTreeSet;

pub(super) fn check_controller(spec: &ControllerSpec, r: &mut Reporter<'_>) {
    let base = FieldPath::root().key("spec");
    if spec.regions.is_empty() {
        r.error(&base.key("regions"), "no controller regions", None);
    }
    let mut seen = BTreeSet::new();
    for (i, region) in spec.regions.iter().enumerate() {
        let path = base.key("regions").index(i);
        if !is_region_name(region) {
            r.error(
                &path,
                format!("`{region}` is not an AWS region name"),
                Some("e.g. `eu-central-1`".into()),
            );
        }
        if !seen.insert(region) {
            r.error(&path, format!("region `{region}` listed twice"), None);
        }
    }
    if spec.regions.len() == 2 {
        r.warn(
            &base.key("regions"),
            "two controllers cannot form a majority when one is cut off; add a third region as a witness",
            None,
        );
    }
    if let Some(jr) = &spec.journal_region
        && !is_region_name(jr)
    {
        r.error(
            &base.key("journal_region"),
            format!("`{jr}` is not an AWS region name"),
            None,
        );
    }
    if spec.tick_secs == 0 {
        r.error(&base.key("tick_secs"), "tick_secs must be at least 1", None);
    }
    if spec.heartbeat_ttl_secs <= spec.tick_secs {
        r.error(
            &base.key("heartbeat_ttl_secs"),
            format!(
                "heartbeat_ttl_secs ({}) must exceed tick_secs ({}), or every peer looks stale",
                spec.heartbeat_ttl_secs, spec.tick_secs
            ),
            Some(format!("use at least {}", spec.tick_secs * 3)),
        );
    }
    if spec.route53.burst == 0 || spec.route53.refill_per_sec == 0 {
        r.error(
            &base.key("route53"),
            "Route 53 budget must be positive",
            None,
        );
    }
    for (budget, rate, quota) in [
        (
            "alarm_reads",
            spec.alarm_reads.calls_per_sec,
            "CloudWatch's default DescribeAlarms quota is about 9",
        ),
        (
            "capacity_reads",
            spec.capacity_reads.calls_per_sec,
            "ECS reads are throttled at about 20",
        ),
    ] {
        if let Some(rate) = rate.filter(|rate| !(*rate > 0.0 && *rate <= 100.0)) {
            r.error(
                &base.key(budget).key("calls_per_sec"),
                format!("{budget}.calls_per_sec ({rate}) must be above 0 and at most 100"),
                Some(format!("{quota} per second per account and region")),
            );
        }
    }
    if spec.probes.concurrency == Some(0) {
        r.error(
            &base.key("probes").key("concurrency"),
            "probe concurrency must be at least 1",
            None,
        );
    }
    if let Some(deadline) = spec.probes.deadline_secs
        && (deadline == 0 || deadline >= spec.tick_secs)
    {
        r.error(
            &base.key("probes").key("deadline_secs"),
            format!(
                "probes.deadline_secs ({deadline}) must be at least 1 and less than tick_secs ({}), or a pass of timing-out probes outlasts its tick",
                spec.tick_secs
            ),
            Some("leave it out for half the tick".into()),
        );
    }
    if spec.event_bus != "default" {
        r.warn(
            &base.key("event_bus"),
            format!(
                "event_bus `{}` is not used by this build: decision and alert events go to the default bus",
                spec.event_bus
            ),
            Some("route them on with an EventBridge rule on the default bus (source `regionctl`)".into()),
        );
    }
}
