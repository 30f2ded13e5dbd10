//! What a bundle names, gathered once for every role: hosted zones and the records in them,
//! alarms, ECS services, listeners and target groups, switch metrics, and the controller
//! configuration's journal, queue and bus.

use super::arn::normalized_record_name;
use regionctl_core::policy::Bundle;
use regionctl_core::policy::raw::ControllerSpec;
use regionctl_core::switch;
use std::collections::{BTreeMap, BTreeSet};

/// The records of one hosted zone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Zone {
    /// The weighted records the controller moves, normalised
    /// ([`normalized_record_name`]).
    pub weighted: BTreeSet<String>,
    /// Their record types.
    pub weighted_types: BTreeSet<&'static str>,
    /// The geolocation records `provision` creates (type `CNAME`), normalised.
    pub geolocation: BTreeSet<String>,
}

/// An alarm, in its region.
pub type RegionalName = (String, String);

/// Everything the bundle names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Named {
    /// Service names.
    pub services: Vec<String>,
    /// Hosted zones by id.
    pub zones: BTreeMap<String, Zone>,
    /// Zones the policies name by domain (`routing.hosted_zone`), found by name at start-up
    /// and on reload (`ListHostedZonesByName`; `GetHostedZone` for private ones).
    pub zones_by_name: bool,
    /// Health alarms: (region, name).
    pub alarms: BTreeSet<RegionalName>,
    /// Data-plane switch alarms: (alarm region, name).
    pub switch_alarms: BTreeSet<RegionalName>,
    /// Data-plane switch metric namespaces.
    pub switch_namespaces: BTreeSet<String>,
    /// ECS services: (region, cluster, service).
    pub ecs_services: BTreeSet<(String, String, String)>,
    /// ALB listener ARNs.
    pub listeners: BTreeSet<String>,
    /// ALB target group ARNs (Fargate and Lambda).
    pub target_groups: BTreeSet<String>,
    /// Regions that run a controller (queues, rules, buses).
    pub controller_regions: Vec<String>,
    /// Regions whose journal replica is written and read: the `journal_region`, or every
    /// controller region.
    pub journal_regions: Vec<String>,
    /// The journal table.
    pub journal_table: String,
    /// The alarm-event queue.
    pub alarm_queue: String,
    /// The decision-event bus.
    pub event_bus: String,
}

impl Named {
    /// Gathers what `bundle` and its controller configuration name.
    pub fn of(bundle: &Bundle, controller: &ControllerSpec) -> Named {
        let mut named = Named {
            services: bundle.services.iter().map(|s| s.name.clone()).collect(),
            controller_regions: controller.regions.clone(),
            journal_regions: match &controller.journal_region {
                Some(r) => vec![r.clone()],
                None => controller.regions.clone(),
            },
            journal_table: controller.journal_table.clone(),
            alarm_queue: controller.alarm_queue.clone(),
            event_bus: controller.event_bus.clone(),
            zones_by_name: !bundle.named_zones().is_empty(),
            ..Named::default()
        };
        for service in &bundle.services {
            let zone = named
                .zones
                .entry(service.routing.hosted_zone_id.clone())
                .or_default();
            for cell in &service.cells {
                zone.weighted
                    .insert(normalized_record_name(&cell.record_name));
            }
            zone.weighted_types
                .insert(service.routing.record_type.as_str());
            if let Some(geo) = &service.routing.geolocation {
                zone.geolocation
                    .insert(normalized_record_name(&geo.record_name));
            }
            for binding in &service.health.alarms {
                let region = &service.regions[binding.r].name;
                named.alarms.insert((region.clone(), binding.name.clone()));
            }
            for (_, _, x) in switch::switches_of(service) {
                named.switch_alarms.insert((x.alarm_region, x.alarm_name));
                named.switch_namespaces.insert(x.namespace);
            }
            if let Some(ecs) = &service.ecs {
                for (r, sr) in service.regions.iter().enumerate() {
                    named.ecs_services.insert((
                        sr.name.clone(),
                        ecs.clusters[r].clone(),
                        ecs.services[r].clone(),
                    ));
                }
            }
            if let Some(alb) = &service.alb {
                named.listeners.extend(alb.listeners.iter().cloned());
                named
                    .target_groups
                    .extend(alb.fargate_target_groups.iter().cloned());
                named
                    .target_groups
                    .extend(alb.lambda_target_groups.iter().cloned());
            }
        }
        named
    }

    /// Every decision partition (`DECISION#{service}`) and the others of the journal's key
    /// table, with who writes them.
    pub fn partitions(&self) -> Vec<(String, regionctl_controller::journal::Writer)> {
        regionctl_controller::journal::partitions(
            &self.controller_regions,
            self.services.iter().map(String::as_str),
        )
    }
}
