//! What the controllers did to the simulated world, in order: side effects (weights,
//! desired counts, ALB splits, switches), published events, and counters for the report.

use super::World;
use regionctl_core::time::Timestamp;
use serde::Serialize;

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
