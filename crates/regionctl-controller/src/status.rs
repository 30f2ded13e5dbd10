//! The states a pass records, as enums: how a step ended, how a decision's outcome ended,
//! and what a controller says it is doing in its heartbeat.
//!
//! # Design
//! Each of these is written to the journal as text, and peers running the previous release
//! read that text (so do `regionctl explain`, `status` and the game-day judges, and
//! simulator traces quote it). The wire text is therefore fixed: every enum here serializes
//! to exactly the string the release before it wrote, through [`Display`](std::fmt::Display)
//! and a `FromStr` that reads it back, and `tests` parse JSON written by that release.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// How one step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepStatus {
    /// Done and verified.
    Done,
    /// Capacity not ready yet.
    Waiting,
    /// A prerequisite did not complete.
    Skipped,
    /// The call failed.
    Failed(String),
}

impl StepStatus {
    /// How much it weighs in a plane's summary: the first failure, else waiting, else done
    /// (see [`PlaneSummary`]).
    fn rank(&self) -> u8 {
        match self {
            StepStatus::Done => 0,
            StepStatus::Skipped => 1,
            StepStatus::Waiting => 2,
            StepStatus::Failed(_) => 3,
        }
    }
}

impl fmt::Display for StepStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepStatus::Done => f.write_str("done"),
            StepStatus::Waiting => f.write_str("waiting"),
            StepStatus::Skipped => f.write_str("skipped"),
            StepStatus::Failed(e) => write!(f, "failed: {e}"),
        }
    }
}

impl FromStr for StepStatus {
    type Err = UnknownText;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "done" => Ok(StepStatus::Done),
            "waiting" => Ok(StepStatus::Waiting),
            "skipped" => Ok(StepStatus::Skipped),
            _ => s
                .strip_prefix("failed: ")
                .map(|e| StepStatus::Failed(e.to_string()))
                .ok_or_else(|| UnknownText(s.to_string())),
        }
    }
}

/// One recorded step of an outcome ([`crate::journal::OutcomeRecord::steps`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordedStep {
    /// This controller applied it (or tried to).
    Applied(StepStatus),
    /// A discretionary step this controller, not the leader, did not apply (see
    /// [`crate::leader`]).
    LeftToLeader,
    /// Not applied: the guard, checking the steps again just before applying them, found
    /// the state they produce breaks its rules (why).
    Held(String),
}

/// The wire text of [`RecordedStep::LeftToLeader`].
const LEFT_TO_LEADER: &str = "left to the discretionary leader";
/// The wire prefix of [`RecordedStep::Held`].
const HELD: &str = "held: ";

impl fmt::Display for RecordedStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordedStep::Applied(s) => s.fmt(f),
            RecordedStep::LeftToLeader => f.write_str(LEFT_TO_LEADER),
            RecordedStep::Held(why) => write!(f, "{HELD}{why}"),
        }
    }
}

impl FromStr for RecordedStep {
    type Err = UnknownText;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == LEFT_TO_LEADER {
            return Ok(RecordedStep::LeftToLeader);
        }
        if let Some(why) = s.strip_prefix(HELD) {
            return Ok(RecordedStep::Held(why.to_string()));
        }
        s.parse().map(RecordedStep::Applied)
    }
}

/// Per plane a decision's steps needed: how its steps there ended, as one status — the
/// first failure, else waiting (or skipped), else done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlaneSummary(std::collections::BTreeMap<String, StepStatus>);

impl PlaneSummary {
    /// Counts `status`, a step's on `plane`.
    pub fn add(&mut self, plane: &str, status: &StepStatus) {
        let slot = self.0.entry(plane.to_string()).or_insert(StepStatus::Done);
        if status.rank() > slot.rank() {
            *slot = status.clone();
        }
    }

    /// Keeps what `earlier` says of the planes this summary has not seen.
    pub fn keep(&mut self, earlier: PlaneSummary) {
        for (plane, status) in earlier.0 {
            self.0.entry(plane).or_insert(status);
        }
    }

    /// The status of `plane`, if a step needed it.
    pub fn get(&self, plane: &str) -> Option<&StepStatus> {
        self.0.get(plane)
    }
}

impl<'a> IntoIterator for &'a PlaneSummary {
    type Item = (&'a String, &'a StepStatus);
    type IntoIter = std::collections::btree_map::Iter<'a, String, StepStatus>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl Serialize for PlaneSummary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v.to_string())))
    }
}

impl<'de> Deserialize<'de> for PlaneSummary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = std::collections::BTreeMap::<String, String>::deserialize(deserializer)?;
        raw.into_iter()
            .map(|(k, v)| Ok((k, v.parse().map_err(serde::de::Error::custom)?)))
            .collect::<Result<_, _>>()
            .map(PlaneSummary)
    }
}

/// How a decision ended in one region ([`crate::journal::OutcomeRecord::status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutcomeStatus {
    /// Every applied step done.
    Applied,
    /// A step waits for capacity, or was skipped behind one that did not complete.
    Waiting,
    /// Applied, but the plan was partial (capacity could not carry everything).
    Partial,
    /// A step failed.
    Failed,
    /// `observe` mode: recorded, never applied.
    RecordedOnly,
    /// `propose` mode: waits for an operator's approval.
    AwaitingApproval,
    /// `propose` mode: nobody approved in time.
    ApprovalExpired,
    /// The fleet is paused.
    Paused,
    /// Held: the guard refused the steps just before applying them; nothing was applied.
    Held,
    /// Its intent could not be recorded: nothing was applied (and, the journal refusing,
    /// no outcome is written; the pass report and an alert say so).
    Unrecorded,
}

impl OutcomeStatus {
    /// The wire text (`applied`, `recorded-only`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeStatus::Applied => "applied",
            OutcomeStatus::Waiting => "waiting",
            OutcomeStatus::Partial => "partial",
            OutcomeStatus::Failed => "failed",
            OutcomeStatus::RecordedOnly => "recorded-only",
            OutcomeStatus::AwaitingApproval => "awaiting-approval",
            OutcomeStatus::ApprovalExpired => "approval-expired",
            OutcomeStatus::Paused => "paused",
            OutcomeStatus::Held => "held",
            OutcomeStatus::Unrecorded => "unrecorded",
        }
    }
}

impl fmt::Display for OutcomeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a controller says it is doing ([`crate::journal::Heartbeat::state`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControllerState {
    /// Acting: it applies what the fleet's rules let it.
    Acting,
    /// Standing down, and why (the text of a [`crate::fleet::StandDown`]).
    StandingDown(String),
    /// A state this release does not know (a newer peer's): not acting.
    Other(String),
}

/// The wire text of [`ControllerState::Acting`].
const ACTING: &str = "acting";
/// The wire prefix of [`ControllerState::StandingDown`].
const STANDING_DOWN: &str = "standing down: ";

impl ControllerState {
    /// True when acting.
    pub fn is_acting(&self) -> bool {
        *self == ControllerState::Acting
    }

    /// True when it stands down because it cannot hear a quorum of the fleet: cut off,
    /// its own probes see the other regions from outside and fail.
    pub fn cut_off(&self) -> bool {
        matches!(self, ControllerState::StandingDown(why) if why.starts_with(crate::fleet::QUORUM_NOT_MET))
    }
}

impl fmt::Display for ControllerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControllerState::Acting => f.write_str(ACTING),
            ControllerState::StandingDown(why) => write!(f, "{STANDING_DOWN}{why}"),
            ControllerState::Other(text) => f.write_str(text),
        }
    }
}

impl From<&str> for ControllerState {
    fn from(s: &str) -> Self {
        if s == ACTING {
            ControllerState::Acting
        } else if let Some(why) = s.strip_prefix(STANDING_DOWN) {
            ControllerState::StandingDown(why.to_string())
        } else {
            ControllerState::Other(s.to_string())
        }
    }
}

/// Text that names none of an enum's states.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status text {0:?}")]
pub struct UnknownText(pub String);

impl Serialize for ControllerState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ControllerState {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(ControllerState::from(
            String::deserialize(deserializer)?.as_str(),
        ))
    }
}

impl Serialize for RecordedStep {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RecordedStep {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_text_reads_back_as_written() {
        for text in [
            "done",
            "waiting",
            "skipped",
            "failed: route53 ChangeResourceRecordSets failed (Throttled): Rate exceeded",
            "failed: read-back did not match",
            "left to the discretionary leader",
            "held: cell all: all weights zero (Route 53 would spread evenly)",
        ] {
            let step: RecordedStep = text.parse().expect(text);
            assert_eq!(step.to_string(), text);
        }
        assert!("finished".parse::<RecordedStep>().is_err());
        assert!(
            "failed".parse::<StepStatus>().is_err(),
            "no detail, no colon"
        );
    }

    #[test]
    fn a_plane_keeps_its_first_failure_else_waiting_else_done() {
        let mut planes = PlaneSummary::default();
        planes.add("ecs control plane", &StepStatus::Done);
        planes.add("ecs control plane", &StepStatus::Skipped);
        planes.add("ecs control plane", &StepStatus::Done);
        planes.add("route53 control plane", &StepStatus::Waiting);
        planes.add("route53 control plane", &StepStatus::Failed("first".into()));
        planes.add(
            "route53 control plane",
            &StepStatus::Failed("second".into()),
        );
        planes.add("route53 control plane", &StepStatus::Waiting);
        planes.add("data plane (switch)", &StepStatus::Done);
        let json = serde_json::to_string(&planes).expect("serializes");
        assert_eq!(
            json,
            r#"{"data plane (switch)":"done","ecs control plane":"skipped","route53 control plane":"failed: first"}"#
        );
        // An earlier pass's summary fills only the planes this one did not need.
        let mut later = PlaneSummary::default();
        later.add("route53 control plane", &StepStatus::Done);
        later.keep(serde_json::from_str(&json).expect("parses"));
        assert_eq!(
            serde_json::to_string(&later).expect("serializes"),
            r#"{"data plane (switch)":"done","ecs control plane":"skipped","route53 control plane":"done"}"#
        );
    }

    #[test]
    fn outcome_statuses_are_written_as_before() {
        for (status, text) in [
            (OutcomeStatus::Applied, "applied"),
            (OutcomeStatus::Waiting, "waiting"),
            (OutcomeStatus::Partial, "partial"),
            (OutcomeStatus::Failed, "failed"),
            (OutcomeStatus::RecordedOnly, "recorded-only"),
            (OutcomeStatus::AwaitingApproval, "awaiting-approval"),
            (OutcomeStatus::ApprovalExpired, "approval-expired"),
            (OutcomeStatus::Paused, "paused"),
            (OutcomeStatus::Held, "held"),
        ] {
            assert_eq!(status.as_str(), text);
            let json = serde_json::to_string(&status).expect("serializes");
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(
                serde_json::from_str::<OutcomeStatus>(&json).expect("parses"),
                status
            );
        }
    }

    #[test]
    fn controller_states_read_back_as_written_even_unknown_ones() {
        for (text, state) in [
            ("acting", ControllerState::Acting),
            (
                "standing down: own region is down: a peer takes over",
                ControllerState::StandingDown("own region is down: a peer takes over".into()),
            ),
            ("draining", ControllerState::Other("draining".into())),
        ] {
            assert_eq!(ControllerState::from(text), state);
            assert_eq!(state.to_string(), text);
            let json = serde_json::to_string(&state).expect("serializes");
            assert_eq!(
                serde_json::from_str::<ControllerState>(&json).expect("parses"),
                state
            );
        }
        assert!(ControllerState::Acting.is_acting());
        assert!(!ControllerState::Other("acting ".into()).is_acting());
    }
}
