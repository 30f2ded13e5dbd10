//! The timeline of a game-day as it happened: one [`Event`] per fault, recovery, decision,
//! stand-down, effect…, written to a [`Log`] that also shows each line as it happens.

use serde::Serialize;

/// One line of the game-day's timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Seconds from the start.
    pub t: u64,
    /// What kind of line.
    pub kind: EventKind,
    /// Who (a controller region) or what it concerns.
    pub who: String,
    /// What happened.
    pub text: String,
}

/// Kinds of timeline lines (serialized kebab-case: `steady-state`, `stand-down`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// A fault was injected.
    Fault,
    /// Faults were lifted.
    Recover,
    /// A steady-state check's result, just before the first fault.
    SteadyState,
    /// A decision was recorded for the first time.
    Decision,
    /// A decision reached a new status.
    Status,
    /// What a controller pass changed in the world.
    Effect,
    /// A controller stood down, or acts again.
    StandDown,
    /// An alert was raised (each text once).
    Alert,
    /// The game-day stopped before its first fault.
    Abort,
    /// A rollback step.
    Rollback,
    /// A policy rollout reached a controller.
    Rollout,
    /// An operator acted (`pause`, `resume`, `override`, `approve`).
    Operator,
}

impl EventKind {
    /// Kebab-case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Fault => "fault",
            EventKind::Recover => "recover",
            EventKind::SteadyState => "steady-state",
            EventKind::Decision => "decision",
            EventKind::Status => "status",
            EventKind::Effect => "effect",
            EventKind::StandDown => "stand-down",
            EventKind::Alert => "alert",
            EventKind::Abort => "abort",
            EventKind::Rollback => "rollback",
            EventKind::Operator => "operator",
            EventKind::Rollout => "rollout",
        }
    }
}

impl std::fmt::Display for EventKind {
    /// The kebab-case name, honouring width and alignment (`{:<12}`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Where a game-day writes its timeline: kept in order, and shown to `progress` as each
/// line happens.
pub struct Log<'a> {
    events: Vec<Event>,
    progress: &'a mut dyn FnMut(&Event),
}

impl<'a> Log<'a> {
    /// An empty log showing every line to `progress`.
    pub fn new(progress: &'a mut dyn FnMut(&Event)) -> Self {
        Log {
            events: Vec::new(),
            progress,
        }
    }

    /// Writes one line.
    pub fn emit(&mut self, t: u64, kind: EventKind, who: &str, text: String) {
        let e = Event {
            t,
            kind,
            who: who.to_string(),
            text,
        };
        (self.progress)(&e);
        self.events.push(e);
    }

    /// The timeline so far.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// The timeline.
    pub fn into_events(self) -> Vec<Event> {
        self.events
    }
}
