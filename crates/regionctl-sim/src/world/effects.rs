//! What the controllers did to the simulated world, in order: side effects (weights,
//! desired counts, ALB splits, switches), published events, and counters for the report.

use super::World;
use regionctl_core::time::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;

/// A side effect on the world, in the order it happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Effect {
    /// Order (strictly increasing).
    pub seq: u64,
    /// World time.
    pub at: Timestamp,
    /// Calling controller's region.
    pub by: String,
    /// What.
    pub what: EffectKind,
}

/// Side effects.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum EffectKind {
    /// ECS desired count set.
    Scale {
        /// Region.
        region: String,
        /// Cluster.
        cluster: String,
        /// ECS service.
        service: String,
        /// Before.
        from: u32,
        /// After.
        to: u32,
    },
    /// A Route 53 record's weight written.
    Weight {
        /// Zone.
        zone: String,
        /// Record name (normalised).
        name: String,
        /// Set identifier.
        set_identifier: String,
        /// Before (`None`: created).
        from: Option<u8>,
        /// After.
        to: u8,
        /// When answering uses it (INSYNC).
        insync_at: Timestamp,
    },
    /// A data-plane switch changed (published with a new value).
    Switch {
        /// Region whose CloudWatch holds the switch.
        alarm_region: String,
        /// Its alarm.
        alarm_name: String,
        /// Before (`None`: never published).
        from: Option<bool>,
        /// After.
        on: bool,
    },
    /// An ALB split set.
    Alb {
        /// Region.
        region: String,
        /// Listener.
        listener: String,
        /// Fargate weight.
        fargate: u32,
        /// Lambda weight.
        lambda: u32,
    },
}

/// An event published to EventBridge.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Published {
    /// World time.
    pub at: Timestamp,
    /// Publishing controller's region.
    pub by: String,
    /// Detail type.
    pub detail_type: String,
    /// Detail.
    pub detail: serde_json::Value,
}

/// Counters for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Route 53 API calls that were accepted.
    pub route53_calls: u64,
    /// Route 53 calls throttled by the token bucket.
    pub route53_throttled: u64,
    /// Calls that failed because of a fault.
    pub failed_calls: u64,
    /// Journal writes accepted.
    pub journal_writes: u64,
    /// Events published.
    pub events: u64,
    /// AWS API calls as the real adapters make them (every page one call), by
    /// `service:Operation@region` (`@global` for Route 53), attempts included: what the
    /// fleet benchmark holds against the per-account quotas (`benches/fleet`).
    pub calls: BTreeMap<String, u64>,
    /// Journal bytes written (keys and body, as the item budget counts them).
    pub journal_bytes: u64,
    /// DynamoDB write units those writes cost: one per started KB, per write.
    pub journal_write_units: u64,
    /// The largest item written, in bytes, and its `pk / sk`.
    pub largest_item: Option<(u64, String)>,
}

impl Stats {
    /// `n` calls of `service:operation` in `region`.
    pub fn count(&mut self, service: &str, operation: &str, region: &str, n: u32) {
        *self
            .calls
            .entry(format!("{service}:{operation}@{region}"))
            .or_default() += u64::from(n);
    }

    /// A journal write of `item`, accepted.
    pub fn wrote(&mut self, item: &regionctl_controller::ports::JournalItem) {
        let bytes = regionctl_controller::journal::budget::size(item) as u64;
        self.journal_bytes += bytes;
        self.journal_write_units += bytes.div_ceil(1024).max(1);
        if self.largest_item.as_ref().is_none_or(|(b, _)| bytes > *b) {
            self.largest_item = Some((bytes, format!("{} / {}", item.pk, item.sk)));
        }
    }
}

impl World {
    pub(super) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub(super) fn record_effect(&mut self, by: &str, what: EffectKind) {
        let seq = self.next_seq();
        self.effects.push(Effect {
            seq,
            at: self.now,
            by: by.to_string(),
            what,
        });
    }
}
