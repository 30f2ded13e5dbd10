//! CloudWatch alarms in the simulated world: a natural state (what the world makes it), a
//! forced state (a fault), and the observed state with the time it last changed.

use super::World;
use regionctl_controller::alarm_view::AlarmChange;
use regionctl_core::health::{AlarmObservation, AlarmState};
use regionctl_core::time::Timestamp;
use std::collections::BTreeMap;

/// A CloudWatch alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alarm {
    /// The state the world would give it (OK while serving, INSUFFICIENT_DATA when idle).
    pub natural: AlarmState,
    /// A forced state (a fault), which wins.
    pub forced: Option<AlarmState>,
    /// The state and since when.
    pub observed: AlarmObservation,
}

impl World {
    /// Seeds an alarm in `state` since `since`.
    pub fn seed_alarm(&mut self, region: &str, name: &str, state: AlarmState, since: Timestamp) {
        self.alarms.entry(region.to_string()).or_default().insert(
            name.to_string(),
            Alarm {
                natural: state,
                forced: None,
                observed: AlarmObservation { state, since },
            },
        );
    }

    /// The alarm `name` in `region`, if it exists.
    pub fn alarm(&self, region: &str, name: &str) -> Option<&Alarm> {
        self.alarms.get(region).and_then(|m| m.get(name))
    }

    /// Every alarm.
    pub fn all_alarms(&self) -> impl Iterator<Item = &Alarm> {
        self.alarms.values().flat_map(BTreeMap::values)
    }

    /// Sets an alarm's natural state (what the world would make it) and its forced state;
    /// the observed state changes (with a new `since`) only when the effective one does.
    pub fn update_alarm(
        &mut self,
        region: &str,
        name: &str,
        natural: Option<AlarmState>,
        forced: Option<Option<AlarmState>>,
    ) {
        let now = self.now;
        if let Some(alarm) = self.alarms.get_mut(region).and_then(|m| m.get_mut(name)) {
            if let Some(n) = natural {
                alarm.natural = n;
            }
            if let Some(f) = forced {
                alarm.forced = f;
            }
            let effective = alarm.forced.unwrap_or(alarm.natural);
            if effective != alarm.observed.state {
                alarm.observed = AlarmObservation {
                    state: effective,
                    since: now,
                };
                self.alarm_events.push(AlarmChange {
                    region: region.to_string(),
                    name: name.to_string(),
                    observation: alarm.observed,
                });
            }
        }
    }
}
