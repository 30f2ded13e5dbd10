//! `hysteresis`: no move on failure evidence younger than the policy's `fail_after_secs`,
//! and no oscillation: at most two moves per (service, cell, region) per episode — away
//! from the region, then back (health/mod.rs, "Hysteresis both ways"; issue 17, item 8: a
//! build that ignored `fail_after_secs` passed 60 seeds without this).
//!
//! # Evidence, from ground truth
//! Every second, per (service, cell, region):
//! - **evidence** is anything that could make some controller see the region failing
//!   there: an alarm of the service covering the cell in ALARM (forced or flapping, failure
//!   or load), or a probe of the service's endpoint in the region failing from some
//!   controller's region (an endpoint failure, a partition, unreachable APIs). It is a
//!   superset of what a controller needs (one observer is not a quorum), so the rule errs
//!   on the lenient side;
//! - **strong evidence** is what every controller sees alike: the endpoint failing, or such
//!   an alarm in ALARM.
//!
//! # Rules
//! - **Fail after.** An evacuation (`moves`) of (s, c, r) at `t` needs a run of continuous
//!   evidence that had lasted `fail_after_secs` (less [`SLACK_SECS`]: the checker samples
//!   once a second, after the passes) and was still going on no longer than the
//!   convergence bound before `t` (a region stays unhealthy in a controller's view until
//!   `recover_after_secs` of health, and evacuations waiting for capacity may finish
//!   later). Exempt while any clock is skewed and for `recover_after_secs` + 2 ticks + the
//!   margin after (`clock-skew`): evidence ages are then read on other clocks, and a view
//!   formed on a fast clock outlives the skew (simulate seed 249, an open finding).
//! - **Oscillation.** An **episode** of (s, c, r) is a run of strong evidence, joined with
//!   the next when the gap between them is shorter than `recover_after_secs` (less the
//!   slack): a correct controller returns traffic only after that much health, so within
//!   one episode it moves away at most once and back at most once. An evacuation after a
//!   return in the same episode is a third move: a violation. An evacuation counts toward
//!   an episode only while that episode's strong evidence is joined to it (less than
//!   `recover_after_secs` since): one made on other evidence (a partition) long after is
//!   another situation, not an oscillation (simulate seed 24); and a return made before an
//!   episode's failure could be detected (`fail_after_secs` + 2 ticks + 60 s from its
//!   start: a failback stage taken just as the region fails again) counts in the episode
//!   before (seed 6598).

use super::moves::{Direction, Move};
use super::{Checker, HYSTERESIS};
use crate::world::{Effect, World};
use regionctl_core::health::AlarmState;
use regionctl_core::policy::raw::SignalRole;

/// Seconds of slack on every age: evidence is sampled once a second, after the passes.
const SLACK_SECS: u64 = 2;

/// What the checker knows of one (service, cell, region)'s evidence and moves.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Track {
    /// Start of the current run of evidence.
    since: Option<u64>,
    /// Start of the latest run of evidence, going on or over, and its last second.
    last_run: Option<(u64, u64)>,
    /// The last second a run of evidence had lasted `fail_after_secs`.
    ripe_at: Option<u64>,
    /// The last second of strong evidence.
    strong_last: Option<u64>,
    /// Episodes begun (the current one's number).
    episode: u64,
    /// When the current episode began.
    episode_start: u64,
    /// The episode of the last move away, and of the last move back after it.
    away_in: Option<u64>,
    back_in: Option<u64>,
}

impl Track {
    /// Start of the current run of evidence, if one is going on.
    pub(super) fn since(&self) -> Option<u64> {
        self.since
    }

    /// The last second of strong evidence (the endpoint failing, an alarm in ALARM).
    pub(super) fn strong_last(&self) -> Option<u64> {
        self.strong_last
    }

    /// Start of the latest run of evidence, going on or over, and its last second.
    pub(super) fn last_run(&self) -> Option<(u64, u64)> {
        self.last_run
    }
}

impl Checker {
    /// Updates the evidence of service `s` at second `t` (after the passes).
    pub(super) fn track_evidence(&mut self, world: &World, s: usize, t: u64) {
        let svc = &self.bundle.services[s];
        let (fail_after, recover_after) =
            (svc.health.fail_after_secs, svc.health.recover_after_secs);
        let nc = svc.cells.len();
        for r in 0..svc.regions.len() {
            let region = &svc.regions[r].name;
            let endpoint = world
                .faults
                .endpoint_failing(region, &svc.name, world.now());
            let probed = endpoint
                || self
                    .controllers
                    .iter()
                    .any(|o| !world.probe_ok(o, &svc.name, region));
            for c in 0..nc {
                let alarm = self.cell_alarm_firing(world, (s, c, r), |_| true);
                let track = self.evidence.entry((s, c, r)).or_default();
                if probed || alarm {
                    let since = *track.since.get_or_insert(t);
                    track.last_run = Some((since, t));
                    if t - since + SLACK_SECS >= fail_after {
                        track.ripe_at = Some(t);
                    }
                } else {
                    track.since = None;
                }
                if endpoint || alarm {
                    let joined = track
                        .strong_last
                        .is_some_and(|l| t - l + SLACK_SECS < recover_after);
                    if !joined {
                        track.episode += 1;
                        track.episode_start = t;
                    }
                    track.strong_last = Some(t);
                }
            }
        }
    }

    /// An alarm of service `s` covering cell `c` of region `r` (its own or region-wide),
    /// with a role `counts` accepts, is in ALARM in the world now.
    pub(super) fn cell_alarm_firing(
        &self,
        world: &World,
        (s, c, r): (usize, usize, usize),
        counts: impl Fn(SignalRole) -> bool,
    ) -> bool {
        self.bundle.services[s]
            .health
            .alarms
            .iter()
            .zip(&self.alarm_keys[s])
            .filter(|(b, _)| b.r == r && b.cell.is_none_or(|x| x == c) && counts(b.role))
            .any(|(_, (region, name))| {
                world
                    .alarm(region, name)
                    .is_some_and(|a| a.observed.state == AlarmState::Alarm)
            })
    }

    /// The moves of a pass by `region` at `t`: each evacuation on ripe evidence, and no
    /// third move in an episode.
    pub(super) fn check_hysteresis(
        &mut self,
        t: u64,
        region: &str,
        effects: &[Effect],
        world: &World,
    ) {
        let moves = self.moves(effects, world);
        if moves.is_empty() {
            return;
        }
        let bound = Self::convergence_bound(&self.bundle, &world.knobs, self.tick);
        for m in moves {
            let track = self
                .evidence
                .get(&(m.s, m.c, m.r))
                .copied()
                .unwrap_or_default();
            let recent = |last: Option<u64>| last.is_some_and(|l| t <= l + bound);
            // The move belongs to the episode only while that episode's strong evidence is
            // joined to now: a later cause (a partition) is another situation (simulate
            // seed 24).
            let recover_after = self.bundle.services[m.s].health.recover_after_secs;
            let in_episode = track
                .strong_last
                .is_some_and(|l| t - l + SLACK_SECS < recover_after);
            match m.direction {
                Direction::Back => {
                    // A return made before the episode's failure could be detected (a
                    // failback stage taken just as the region failed again) belongs to the
                    // episode before (simulate seed 6598).
                    let detect = self.bundle.services[m.s].health.fail_after_secs
                        + 2 * self.tick
                        + super::MARGIN_SECS;
                    let episode = if t < track.episode_start + detect {
                        track.episode.saturating_sub(1)
                    } else {
                        track.episode
                    };
                    if track.away_in.is_some() {
                        self.set_track(m, |x| x.back_in = Some(episode));
                    }
                }
                Direction::Away => {
                    if self.drained_by_operator(t, m.s, m.r) {
                        self.exempt("override");
                        continue;
                    }
                    if self.skewed_lately(t, recover_after) {
                        self.exempt("clock-skew");
                        continue;
                    }
                    self.check(HYSTERESIS);
                    if !recent(track.ripe_at) {
                        self.violate_hysteresis(t, region, m, &track, "early");
                    }
                    if in_episode {
                        if track.back_in == Some(track.episode) {
                            self.violate_hysteresis(t, region, m, &track, "oscillation");
                        }
                        self.set_track(m, |x| x.away_in = Some(x.episode));
                    }
                }
            }
        }
    }

    /// True if some clock was skewed at `t`, or within `recover_after` + 2 ticks + the
    /// margin before: a controller whose clock ran ahead reads alarm evidence as older than
    /// it is, and its view outlives the skew until health has lasted `recover_after`
    /// (simulate seed 249, an open finding: docs/SIMULATION.md).
    fn skewed_lately(&self, t: u64, recover_after: u64) -> bool {
        self.last_skew
            .is_some_and(|s| t <= s + recover_after + 2 * self.tick + super::MARGIN_SECS)
    }

    fn set_track(&mut self, m: Move, f: impl FnOnce(&mut Track)) {
        f(self.evidence.entry((m.s, m.c, m.r)).or_default());
    }

    fn violate_hysteresis(&mut self, t: u64, region: &str, m: Move, track: &Track, what: &str) {
        let svc = &self.bundle.services[m.s];
        let (name, cell, r) = (&svc.name, &svc.cells[m.c].id, &svc.regions[m.r].name);
        let detail = if what == "early" {
            let age = track
                .since
                .map_or("none".to_string(), |s| format!("{}s", t - s));
            format!(
                "controller {region} moved {name} cell {cell} away from {r} on failure evidence younger than fail_after_secs {} (current evidence: {age})",
                svc.health.fail_after_secs
            )
        } else {
            format!(
                "controller {region} moved {name} cell {cell} away from {r} a second time in one episode, after moving it back (at most 2 moves per episode)"
            )
        };
        // One report per (service, region) for early moves (an evacuation moves every cell
        // at once), per cell for oscillation.
        let subject = if what == "early" {
            format!("{name}/{r}/early")
        } else {
            format!("{name}/{cell}/{r}/{what}")
        };
        self.violate(HYSTERESIS, subject, t, detail);
    }
}
