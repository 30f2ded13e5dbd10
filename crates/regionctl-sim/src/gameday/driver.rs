//! The timeline driver: plays a scenario's timeline over any [`Target`].
//!
//! At every instant the target offers: the steady-state checks (once, just before the first
//! fault; a failure aborts the game-day before any fault is injected), the timeline entries
//! due (faults injected, `recover` lifting the faults it names), then the target's own life
//! and a sample. [`roll_back`] runs the scenario's rollback steps afterwards.

use super::event::{EventKind, Log};
use super::judge::SteadyResult;
use super::target::{Fault, Target};
use crate::scenario::{RollbackWhat, Scenario, TimelineEntry, What};

/// Why a game-day aborts when its steady state does not hold.
const STEADY_STATE_FAILED: &str =
    "steady state did not hold before the first fault: no fault injected";

/// What playing a timeline did.
#[derive(Debug, Clone)]
pub struct Played<'s> {
    /// Steady-state results (empty where the target cannot evaluate them).
    pub steady: Vec<SteadyResult>,
    /// Why the game-day aborted, if it did.
    pub aborted: Option<String>,
    /// Seconds played (less than the duration after an abort).
    pub ran_secs: u64,
    /// Faults still in force, in injection order.
    pub active: Vec<Fault<'s>>,
}

impl Played<'_> {
    /// A game-day whose simulated target suspended, which only a bug in a simulated port
    /// can cause: aborted before anything ran.
    pub fn suspended() -> Self {
        Played {
            steady: Vec::new(),
            aborted: Some("the simulation suspended: a simulated port awaited".to_string()),
            ran_secs: 0,
            active: Vec::new(),
        }
    }
}

/// Plays `scenario`'s timeline on `target`, writing the timeline to `log`.
pub async fn play<'s, T: Target>(
    scenario: &'s Scenario,
    target: &mut T,
    log: &mut Log<'_>,
) -> Result<Played<'s>, T::Error> {
    let end = scenario.world.duration.secs();
    // Just before the first fault; at the end when there is none.
    let steady_at = scenario.timeline.first().map_or(end, |e| e.at.secs());
    let mut played = Played {
        steady: Vec::new(),
        aborted: None,
        ran_secs: end,
        active: Vec::new(),
    };
    let mut steady_checked = false;
    let mut next = 0;
    while let Some(t) = target.next_instant(end).await? {
        if !steady_checked && t >= steady_at {
            steady_checked = true;
            if let Some(results) = target.steady_state(&scenario.steady_state) {
                played.steady = results;
                if !steady_state_holds(&played.steady, t, log) {
                    played.aborted = Some(STEADY_STATE_FAILED.to_string());
                    played.ran_secs = t;
                    break;
                }
            }
        }
        while let Some(e) = scenario.timeline.get(next)
            && e.at.secs() <= t
        {
            play_entry(e, next, t, &mut played.active, target, log).await?;
            next += 1;
        }
        target.advance(t, log).await?;
        target.sample(t, log).await?;
    }
    Ok(played)
}

/// Writes the steady-state results to the timeline; whether they all held (if not, the
/// abort is written too).
fn steady_state_holds(results: &[SteadyResult], t: u64, log: &mut Log<'_>) -> bool {
    for r in results {
        let state = if r.met { "ok" } else { "FAILED" };
        log.emit(
            t,
            EventKind::SteadyState,
            "",
            format!("{state} {}: {}", r.check, r.detail),
        );
    }
    let holds = results.iter().all(|r| r.met);
    if !holds {
        log.emit(t, EventKind::Abort, "", STEADY_STATE_FAILED.to_string());
    }
    holds
}

/// Injects the fault of entry `ix`, or lifts the faults a `recover` names, and writes the
/// line.
async fn play_entry<'s, T: Target>(
    e: &'s TimelineEntry,
    ix: usize,
    t: u64,
    active: &mut Vec<Fault<'s>>,
    target: &mut T,
    log: &mut Log<'_>,
) -> Result<(), T::Error> {
    let (kind, text) = if e.what == What::Recover {
        let wording = ("recover (nothing in force)", "recover");
        let text = recover(active, &e.faults, wording, t, target, log).await?;
        (EventKind::Recover, text)
    } else if e.what.is_operator_action() {
        // Not a fault: nothing to recover, and the target's text carries the reason.
        let id =
            e.id.clone()
                .unwrap_or_else(|| format!("{}#{ix}", e.what.as_str()));
        let text = target.inject(&Fault { id, entry: e, t }, log).await?;
        log.emit(t, EventKind::Operator, "", text);
        return Ok(());
    } else {
        let id =
            e.id.clone()
                .unwrap_or_else(|| format!("{}#{ix}", e.what.as_str()));
        let fault = Fault { id, entry: e, t };
        let text = target.inject(&fault, log).await?;
        active.push(fault);
        (EventKind::Fault, text)
    };
    let text = match &e.note {
        Some(n) => format!("{text} — {n}"),
        None => text,
    };
    log.emit(t, kind, e.place.region.as_deref().unwrap_or(""), text);
    Ok(())
}

/// Runs the scenario's rollback steps at `t` (the end of the game-day): it always runs,
/// also after an abort. A fault left in force afterwards is reported.
pub async fn roll_back<T: Target>(
    scenario: &Scenario,
    played: &mut Played<'_>,
    t: u64,
    target: &mut T,
    log: &mut Log<'_>,
) -> Result<(), T::Error> {
    for (i, step) in scenario.rollback.iter().enumerate() {
        let text = match step.what {
            RollbackWhat::Recover => {
                let wording = ("recover: nothing in force", "recovered");
                recover(&mut played.active, &step.faults, wording, t, target, log).await?
            }
            RollbackWhat::RestartControllers => {
                let restarted = target.restart_crashed();
                if restarted.is_empty() {
                    "restart-controllers: all running".to_string()
                } else {
                    format!("restarted {}", restarted.join(", "))
                }
            }
        };
        log.emit(
            t,
            EventKind::Rollback,
            "",
            format!("step {}: {text}", i + 1),
        );
    }
    if !played.active.is_empty() {
        let left: Vec<&str> = played.active.iter().map(|f| f.id.as_str()).collect();
        log.emit(
            t,
            EventKind::Rollback,
            "",
            format!(
                "warning: still in force after rollback: {}",
                left.join(", ")
            ),
        );
    }
    Ok(())
}

/// Removes from `active` the faults `ids` names (`all`: every one, in injection order;
/// otherwise in the order named, skipping those not in force) and returns them.
/// Lifts the faults `ids` names (`all`: every one in force) through the target, and says
/// so: `nothing` when none was in force, else `lifted` and their ids, with the target's
/// detail.
async fn recover<'s, T: Target>(
    active: &mut Vec<Fault<'s>>,
    ids: &[String],
    (nothing, lifted): (&str, &str),
    t: u64,
    target: &mut T,
    log: &mut Log<'_>,
) -> Result<String, T::Error> {
    let faults = take(active, ids);
    let detail = target.lift(&faults, t, log).await?;
    let ids: Vec<&str> = faults.iter().map(|f| f.id.as_str()).collect();
    let text = if ids.is_empty() {
        nothing.to_string()
    } else {
        format!("{lifted} {}", ids.join(", "))
    };
    Ok(with_detail(text, detail))
}

fn take<'s>(active: &mut Vec<Fault<'s>>, ids: &[String]) -> Vec<Fault<'s>> {
    let ids: Vec<String> = if ids.iter().any(|f| f == "all") {
        active.iter().map(|f| f.id.clone()).collect()
    } else {
        ids.to_vec()
    };
    let mut out = Vec::new();
    for id in ids {
        if let Some(pos) = active.iter().position(|f| f.id == id) {
            out.push(active.remove(pos));
        }
    }
    out
}

fn with_detail(text: String, detail: Option<String>) -> String {
    match detail {
        Some(d) => format!("{text}: {d}"),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    //! The driver against a scripted target: what it asks, in which order, and the
    //! timeline it writes.

    use super::*;
    use crate::gameday::SeenDecision;
    use crate::scenario::SteadyCheck;
    use std::collections::BTreeMap;
    use std::convert::Infallible;

    /// Records every call; its steady state holds when `steady_ok`.
    struct Script {
        next: u64,
        steady_ok: bool,
        calls: Vec<String>,
    }

    impl Target for Script {
        type Error = Infallible;

        async fn next_instant(&mut self, end: u64) -> Result<Option<u64>, Infallible> {
            let t = self.next;
            self.next += 1;
            Ok((t <= end).then_some(t))
        }

        fn steady_state(&self, _checks: &[SteadyCheck]) -> Option<Vec<SteadyResult>> {
            Some(vec![SteadyResult {
                check: "healthy".into(),
                met: self.steady_ok,
                detail: "seen".into(),
            }])
        }

        async fn inject(&mut self, f: &Fault<'_>, _: &mut Log<'_>) -> Result<String, Infallible> {
            self.calls.push(format!("{}: inject {}", f.t, f.id));
            Ok(format!("{} injected", f.id))
        }

        async fn lift(
            &mut self,
            faults: &[Fault<'_>],
            t: u64,
            _: &mut Log<'_>,
        ) -> Result<Option<String>, Infallible> {
            let ids: Vec<&str> = faults.iter().map(|f| f.id.as_str()).collect();
            self.calls.push(format!("{t}: lift {}", ids.join(" ")));
            Ok(None)
        }

        async fn advance(&mut self, t: u64, _: &mut Log<'_>) -> Result<(), Infallible> {
            self.calls.push(format!("{t}: advance"));
            Ok(())
        }

        async fn sample(&mut self, t: u64, _: &mut Log<'_>) -> Result<(), Infallible> {
            self.calls.push(format!("{t}: sample"));
            Ok(())
        }

        fn restart_crashed(&mut self) -> Vec<String> {
            vec!["eu-west-1".into()]
        }

        async fn decisions(&mut self) -> Result<BTreeMap<String, SeenDecision>, Infallible> {
            Ok(BTreeMap::new())
        }
    }

    fn scenario(rollback: &str) -> Scenario {
        let text = format!(
            "apiVersion: regionctl/v1
kind: GameDay
name: scripted
world: {{policies: p, duration: 4s}}
steady_state: [{{check: healthy}}]
timeline:
  - {{at: 1s, id: a, what: controller-crash, where: {{region: eu-west-1}}}}
  - {{at: 2s, what: journal-unavailable, where: {{region: eu-west-1}}, note: why}}
  - {{at: 3s, what: recover, faults: [journal-unavailable#1, a, nope]}}
rollback: {rollback}
guardrails: {{regions: [eu-west-1]}}
"
        );
        crate::scenario::parse(std::path::Path::new("scripted.yaml"), &text)
            .expect("scenario parses")
            .scenario
    }

    fn script(steady_ok: bool) -> Script {
        Script {
            next: 0,
            steady_ok,
            calls: Vec::new(),
        }
    }

    #[test]
    fn faults_come_before_the_targets_own_second_and_recover_lifts_in_the_order_named() {
        let s = scenario("[]");
        let mut target = script(true);
        let mut seen = Vec::new();
        let mut progress = |e: &crate::gameday::Event| seen.push(e.clone());
        let mut log = Log::new(&mut progress);
        let played = crate::block_on(play(&s, &mut target, &mut log))
            .expect("never suspends")
            .expect("infallible");
        assert_eq!(played.aborted, None);
        assert_eq!(played.ran_secs, 4);
        assert!(played.active.is_empty());
        assert_eq!(
            target.calls[..8],
            [
                "0: advance",
                "0: sample",
                "1: inject a",
                "1: advance",
                "1: sample",
                "2: inject journal-unavailable#1",
                "2: advance",
                "2: sample",
            ]
        );
        assert_eq!(target.calls[8], "3: lift journal-unavailable#1 a");
        assert_eq!(target.calls.len(), 13, "{:?}", target.calls);
        let lines: Vec<(u64, EventKind, String)> = log
            .into_events()
            .into_iter()
            .map(|e| (e.t, e.kind, e.text))
            .collect();
        assert_eq!(
            lines,
            [
                (1, EventKind::SteadyState, "ok healthy: seen".to_string()),
                (1, EventKind::Fault, "a injected".to_string()),
                (
                    2,
                    EventKind::Fault,
                    "journal-unavailable#1 injected — why".to_string()
                ),
                (
                    3,
                    EventKind::Recover,
                    "recover journal-unavailable#1, a".to_string()
                ),
            ]
        );
        assert_eq!(seen.len(), 4, "progress sees every line as it is written");
    }

    #[test]
    fn a_failed_steady_state_aborts_before_the_first_fault() {
        let s = scenario("[]");
        let mut target = script(false);
        let mut progress = |_: &crate::gameday::Event| {};
        let mut log = Log::new(&mut progress);
        let played = crate::block_on(play(&s, &mut target, &mut log))
            .expect("never suspends")
            .expect("infallible");
        assert_eq!(played.aborted.as_deref(), Some(STEADY_STATE_FAILED));
        assert_eq!(played.ran_secs, 1);
        assert_eq!(target.calls, ["0: advance", "0: sample"]);
        let kinds: Vec<EventKind> = log.events().iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EventKind::SteadyState, EventKind::Abort]);
    }

    #[test]
    fn rollback_runs_its_steps_and_names_what_is_left_in_force() {
        let s = scenario("[{what: recover, faults: [a]}, {what: restart-controllers}]");
        let mut target = script(true);
        let mut progress = |_: &crate::gameday::Event| {};
        let mut log = Log::new(&mut progress);
        let e = &s.timeline[0];
        let f = |id: &str| Fault {
            id: id.to_string(),
            entry: e,
            t: 1,
        };
        let mut played = Played {
            steady: Vec::new(),
            aborted: None,
            ran_secs: 4,
            active: vec![f("a"), f("b")],
        };
        crate::block_on(roll_back(&s, &mut played, 4, &mut target, &mut log))
            .expect("never suspends")
            .expect("infallible");
        assert_eq!(target.calls, ["4: lift a"]);
        let texts: Vec<&str> = log.events().iter().map(|e| e.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "step 1: recovered a",
                "step 2: restarted eu-west-1",
                "warning: still in force after rollback: b",
            ]
        );
    }
}
