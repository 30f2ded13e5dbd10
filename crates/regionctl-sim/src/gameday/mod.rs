//! One game-day engine for every target: the simulated world, moto, a real account.
//!
//! A game-day plays a scenario's timeline (faults injected and lifted at their times) on a
//! [`Target`], gathers [`Evidence`] of what the controllers did, and judges the scenario's
//! expectations over it. The timeline driver and the judge are written once, here; targets
//! differ only in how they inject, advance time and observe (ADR 0010).
//!
//! # Layout
//! - [`target`]: the [`Target`] trait and the faults it is handed; which alarms an `alarm`
//!   fault targets ([`alarm_targets`]), the same on every target.
//! - [`driver`]: plays the timeline over a target (steady state, due entries, the
//!   target's own second) and runs the scenario's rollback steps.
//! - [`event`]: the timeline's lines ([`Event`]) and the [`Log`] they are written to.
//! - [`evidence`]: what the judge reads: traffic series, decisions as typed journal
//!   records, stand-downs, and the changes the controllers made as far as a target sees them.
//! - [`judge`]: one function per expectation kind and per steady-state check, and the
//!   verdict.
//! - [`operator`]: what an operator's timeline action (`pause`, `resume`, `override`,
//!   `approve`) writes to the journal, for every target to write.
//!
//! The simulated target is [`crate::engine`]; the real-time targets (moto, aws) live in the
//! `regionctl` crate, which may depend on the AWS adapters and spawn controller processes.

pub mod compute;
pub mod driver;
pub mod event;
pub mod evidence;
pub mod judge;
pub mod operator;
pub mod target;

pub use compute::{ComputeSeries, Quantity, Steps};
pub use driver::Played;
pub use event::{Event, EventKind, Log};
pub use evidence::{Changes, Evidence, SeenDecision, ServiceSeries, StandDowns, WeightChange};
pub use judge::{Game, Outcome, SteadyResult};
pub use target::{AlarmTarget, Fault, Target, alarm_targets};

use regionctl_core::time::Timestamp;

/// Start of every game-day's clock: 2025-06-01T20:55:00Z (kick-off is at 21:00). The
/// simulated world runs from it; real-time targets map the moment their timeline starts
/// onto it, so evidence from every target is on one clock.
pub const START: Timestamp = Timestamp(1_748_811_300_000);

/// Seconds from the start → timestamp on the game-day clock.
pub fn at(t: u64) -> Timestamp {
    START.plus_secs(t)
}

/// Timestamp on the game-day clock → whole seconds from the start.
pub fn t_of(at: Timestamp) -> u64 {
    at.secs_since(START)
}
