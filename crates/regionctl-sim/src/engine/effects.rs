//! A controller pass's side effects, summarised for the timeline: one line per ECS or ALB
//! change and per switch, and the weight writes grouped per hosted zone.

use crate::duration::clock;
use crate::gameday::t_of;
use crate::world::{Effect, EffectKind};
use regionctl_core::time::Timestamp;
use std::collections::BTreeMap;

/// The timeline's lines for `effects`; `zone_services` names the services of each zone.
pub(super) fn summarise(
    effects: &[Effect],
    zone_services: &BTreeMap<String, Vec<String>>,
) -> Vec<String> {
    let mut out = Vec::new();
    // Weight writes grouped per zone: (count, latest INSYNC).
    let mut weights: BTreeMap<&str, (usize, Timestamp)> = BTreeMap::new();
    for e in effects {
        match &e.what {
            EffectKind::Scale {
                region,
                service,
                from,
                to,
                ..
            } => out.push(format!("ECS {service} in {region}: desired {from} → {to}")),
            EffectKind::Alb {
                region,
                listener,
                fargate,
                lambda,
            } => {
                let short = listener.rsplit(':').next().unwrap_or(listener);
                out.push(format!(
                    "ALB {short} in {region}: Fargate {fargate} / Lambda {lambda}"
                ));
            }
            EffectKind::Switch {
                alarm_region,
                alarm_name,
                on,
                ..
            } => out.push(format!(
                "switch {alarm_name} {} (PutMetricData to {alarm_region}; data plane)",
                if *on { "on" } else { "off" }
            )),
            EffectKind::Weight {
                zone, insync_at, ..
            } => {
                let entry = weights.entry(zone.as_str()).or_insert((0, *insync_at));
                entry.0 += 1;
                entry.1 = entry.1.max(*insync_at);
            }
        }
    }
    for (zone, (n, insync)) in weights {
        let services = zone_services
            .get(zone)
            .map(|v| v.join(", "))
            .unwrap_or_default();
        out.push(format!(
            "Route 53 {services}: {n} weight(s) written, PENDING until {}",
            clock(t_of(insync))
        ));
    }
    out
}

/// The services of each hosted zone, in bundle order.
pub(super) fn zone_services(
    bundle: &regionctl_core::policy::Bundle,
) -> BTreeMap<String, Vec<String>> {
    bundle.services.iter().fold(BTreeMap::new(), |mut m, svc| {
        m.entry(svc.routing.hosted_zone_id.clone())
            .or_insert_with(Vec::new)
            .push(svc.name.clone());
        m
    })
}
