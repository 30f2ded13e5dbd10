//! The spans a pass opens, for whoever subscribes: the daemon logs them (a decision can be
//! followed by its id through its steps) and times the phases for `/metrics`; the
//! simulator and game-days install no subscriber, so a span costs them one disabled check
//! and changes nothing they do.
//!
//! - one span per [`Phase`] of the pass, with target [`PHASE_TARGET`] and the phase's name;
//! - `decision{service, decision_id}` around one service's intent, approval, steps and
//!   outcome ([`crate::decide`]);
//! - `step{step, kind}` around each step applied, inside its decision's span
//!   ([`crate::apply`]), so its lines carry the decision id too.

use tracing::{Span, info_span};

/// The target of the phase spans (a subscriber selects them by it).
pub const PHASE_TARGET: &str = "regionctl::phase";

/// A stage of one pass, in order ([`crate::reconcile`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Heartbeats, quorum, leader (and the journal writes earlier passes left).
    Coordinate,
    /// Alarms, probes, peers' digests.
    Observe,
    /// Route 53, ECS, ALB, switches.
    Live,
    /// Health in the core, and the heartbeat restated with it.
    Evaluate,
    /// Controls and the plan (zones re-read, plan made again).
    Plan,
    /// Intent, approval, apply and outcome per service; switches kept up.
    Decide,
    /// The stand-down heartbeat; what the next pass needs.
    Record,
}

impl Phase {
    /// Every phase, in pass order.
    pub const ALL: [Phase; 7] = [
        Phase::Coordinate,
        Phase::Observe,
        Phase::Live,
        Phase::Evaluate,
        Phase::Plan,
        Phase::Decide,
        Phase::Record,
    ];

    /// The span's name (and the `phase` label of the daemon's histogram).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Coordinate => "coordinate",
            Phase::Observe => "observe",
            Phase::Live => "live",
            Phase::Evaluate => "evaluate",
            Phase::Plan => "plan",
            Phase::Decide => "decide",
            Phase::Record => "record",
        }
    }

    /// A new span for this phase (span names must be literals, hence one arm each).
    pub fn span(self) -> Span {
        match self {
            Phase::Coordinate => info_span!(target: PHASE_TARGET, "coordinate"),
            Phase::Observe => info_span!(target: PHASE_TARGET, "observe"),
            Phase::Live => info_span!(target: PHASE_TARGET, "live"),
            Phase::Evaluate => info_span!(target: PHASE_TARGET, "evaluate"),
            Phase::Plan => info_span!(target: PHASE_TARGET, "plan"),
            Phase::Decide => info_span!(target: PHASE_TARGET, "decide"),
            Phase::Record => info_span!(target: PHASE_TARGET, "record"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_names_are_the_phase_names() {
        let names: Vec<&str> = Phase::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(
            names,
            [
                "coordinate",
                "observe",
                "live",
                "evaluate",
                "plan",
                "decide",
                "record"
            ]
        );
        // That each span is named so (and has PHASE_TARGET) needs a subscriber to see:
        // the daemon's span metrics test (`src/telemetry/span_metrics.rs`) checks it.
    }
}
