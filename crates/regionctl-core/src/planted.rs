//! Bugs planted on purpose, compiled only with the `planted-bugs` feature, to show that the
//! simulator's invariant checkers can fail (`crates/regionctl-sim/tests/simulate.rs`).
//!
//! Every bug is off unless a test selects it for the current thread with [`select`]: a
//! build with the feature behaves exactly like one without until then, so the normal test
//! suite passes with the feature on. The selection is per thread (not global) because tests
//! run in parallel in one process, and the core reads no environment.

use std::cell::Cell;

/// A planted bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// None selected.
    Off,
    /// The planner drains a cell that is down to its last healthy region (or none) instead
    /// of evacuating to it or holding, and the guard lets it through (zero serving
    /// endpoints; DESIGN.md §7).
    ZeroServing,
    /// Route 53 writes are split drain-first: the zeros go out in one pass and the raises
    /// in the next, leaving an all-zero weight set in between.
    AllZeroSplit,
    /// A controller in a minority (too few fresh heartbeats) acts anyway.
    MinorityApplies,
    /// The planner forgets to scale a warm-standby or pilot-light receiver up, so the
    /// shift finds capacity "ready" at the standby count and moves traffic at once.
    SkipsPreScale,
    /// Every acting controller takes discretionary moves (failback stages, rebalancing),
    /// not only the one leader, so two take the next stage within the cooldown.
    EveryoneLeads,
    /// A decision's intent write that fails is read as "already recorded" and its steps are
    /// applied anyway (issue 17, item 1: the old `put_new(..).unwrap_or(false)`).
    ApplyUnrecorded,
    /// An observation digest counts by the observer its body names, not by its key and
    /// owner: a writer can speak for other observers (issue 17, item 3).
    DigestByBody,
    /// Health evaluation ignores `fail_after_secs`: the first failing sample turns a
    /// region unhealthy (issue 17, item 8: such a build passed 60 seeds of `simulate`).
    IgnoreFailAfter,
    /// Health evaluation ignores the `served` veto: a quorum of failing probes evacuates a
    /// region whose users are served, as before signal roles (issue 21).
    IgnoreServedVeto,
    /// A decision's id leaves out its episode (incident) start, as before issue 17: the
    /// same evacuation in a later incident has the earlier one's id, so the approval given
    /// then authorises it again with nobody asked.
    EpisodeNotInId,
}

thread_local! {
    static SELECTED: Cell<Bug> = const { Cell::new(Bug::Off) };
}

/// Selects `bug` for the current thread (`Bug::Off` to clear).
pub fn select(bug: Bug) {
    SELECTED.with(|s| s.set(bug));
}

/// True if `bug` is selected on the current thread.
pub fn active(bug: Bug) -> bool {
    SELECTED.with(|s| s.get() == bug)
}
