//! The faults the simulated world can suffer, and what they do to endpoints: probes and
//! Route 53 health checks.

use super::World;
use crate::scenario::{Forgery, WrittenItem};
use regionctl_controller::journal::LAST_MOVE_PREFIX;
use regionctl_controller::ports::{ItemKind, JournalItem};
use regionctl_core::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

/// An endpoint failure in force: a region's endpoints (optionally only some services')
/// fail probes and health checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointFailure {
    /// Fault id.
    pub id: String,
    /// Region.
    pub region: String,
    /// Services (empty: all).
    pub services: Vec<String>,
    /// From.
    pub from: Timestamp,
    /// Until (`None`: still failing).
    pub to: Option<Timestamp>,
}

/// Faults in force.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Endpoint failures, past and present (health checks look back).
    pub endpoints: Vec<EndpointFailure>,
    /// Regions whose AWS APIs are unreachable (calls from and to them fail).
    pub unreachable: BTreeSet<String>,
    /// Partitions between two regions (sorted pairs).
    pub partitions: BTreeSet<(String, String)>,
    /// Regions whose journal replica is unavailable.
    pub journal_down: BTreeSet<String>,
    /// Route 53's control plane is unavailable.
    pub route53_down: bool,
    /// Per region: fraction of new ECS tasks that will start (capacity shortfall).
    pub capacity_fraction: BTreeMap<String, f64>,
    /// Per controller region: the item kinds whose journal writes fail (`journal-write-fail`).
    pub journal_write_fail: BTreeMap<String, BTreeSet<WrittenItem>>,
    /// Rogue writers in force, by fault id: what each forges. Not a fault of the fleet's
    /// own making: the invariants treat a fleet that suffers only these as healthy.
    pub rogues: BTreeMap<String, Forgery>,
}

/// The kind of `item` as `journal-write-fail` names it; `None` for the kinds it does not
/// touch (digests, controls, approvals).
pub fn written_item(item: &JournalItem) -> Option<WrittenItem> {
    match item.kind {
        ItemKind::Heartbeat => Some(WrittenItem::Heartbeat),
        ItemKind::Decision if item.sk.starts_with(LAST_MOVE_PREFIX) => Some(WrittenItem::LastMove),
        ItemKind::Decision if item.sk.ends_with("#INTENT") => Some(WrittenItem::Intent),
        ItemKind::Decision if item.sk.contains("#OUTCOME#") => Some(WrittenItem::Outcome),
        _ => None,
    }
}

impl Faults {
    /// True if the journal refuses `item` from the controller in `region`.
    pub fn write_fails(&self, region: &str, item: &JournalItem) -> bool {
        written_item(item).is_some_and(|k| {
            self.journal_write_fail
                .get(region)
                .is_some_and(|kinds| kinds.contains(&k))
        })
    }

    /// True if a partition separates `a` and `b`.
    pub fn partitioned(&self, a: &str, b: &str) -> bool {
        let key = if a <= b {
            (a.to_string(), b.to_string())
        } else {
            (b.to_string(), a.to_string())
        };
        self.partitions.contains(&key)
    }

    /// True if `service`'s endpoints in `region` fail at `at`.
    pub fn endpoint_failing(&self, region: &str, service: &str, at: Timestamp) -> bool {
        self.endpoint_failed_between(region, service, at, at)
    }

    /// True if `service`'s endpoints in `region` failed at some time in `from..=to`.
    pub fn endpoint_failed_between(
        &self,
        region: &str,
        service: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> bool {
        self.endpoints.iter().any(|e| {
            e.region == region
                && (e.services.is_empty() || e.services.iter().any(|s| s == service))
                && e.from <= to
                && e.to.is_none_or(|t| from < t)
        })
    }
}

impl World {
    /// Whether `service`'s endpoints in `region` answer a probe from `observer` now.
    pub fn probe_ok(&self, observer: &str, service: &str, region: &str) -> bool {
        !self.faults.unreachable.contains(observer)
            && !self.faults.partitioned(observer, region)
            && !self.faults.endpoint_failing(region, service, self.now)
    }

    /// Whether a Route 53 health check on `service`'s endpoint in `region` reads healthy
    /// at `at` (after the health check's delay).
    pub fn health_check_ok(&self, service: &str, region: &str, at: Timestamp) -> bool {
        let probe_time = Timestamp(
            at.millis() - i64::try_from(self.knobs.health_check_delay_secs).unwrap_or(0) * 1000,
        );
        !self.faults.endpoint_failing(region, service, probe_time)
    }
}
