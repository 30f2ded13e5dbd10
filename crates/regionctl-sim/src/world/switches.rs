//! Data-plane switches as AWS evaluates them (DESIGN.md §6): the switch metric in the alarm
//! region's CloudWatch, the alarm on it, and the Route 53 health check on the alarm.
//!
//! - Datapoints are kept per switch with their publisher; the alarm is evaluated at the end
//!   of each period over that period's datapoints: `Minimum < 1` → ALARM, otherwise OK, and
//!   a period without datapoints changes nothing (`TreatMissingData=ignore`).
//! - The health check reads the alarm `interval × failure threshold` seconds late, and is
//!   healthy unless the alarm is in ALARM (`InsufficientDataHealthStatus=LastKnownStatus`
//!   holds the last status while nothing is published).
//!
//! `SetAlarmState` cannot flip a switch here either: only published data moves it.
//!
//! [`World::publish_switch`] is the world's side: a publication is a side effect only when
//! it changes the value the alarm sees.

use super::{EffectKind, World, value_at};
use regionctl_core::switch::SwitchRef;
use regionctl_core::time::Timestamp;
use std::collections::BTreeMap;

/// How long datapoints are kept (reads look back at most this far).
const RETAIN_SECS: i64 = 3600;

/// One switch's alarm and health check.
#[derive(Debug, Clone, Default)]
pub struct SwitchState {
    /// Alarm period, seconds.
    pub period_secs: u64,
    /// Health-check lag behind the alarm: interval × failure threshold, seconds.
    pub check_delay_secs: u64,
    /// Datapoints: (time, publisher region, value).
    pub points: Vec<(Timestamp, String, f64)>,
    /// Alarm state changes: (from when, in ALARM). Starts OK.
    pub alarm_history: Vec<(Timestamp, bool)>,
    /// Index of the last evaluated period.
    evaluated_period: i64,
}

impl SwitchState {
    fn period_ms(&self) -> i64 {
        i64::try_from(self.period_secs.max(1)).unwrap_or(60) * 1000
    }

    /// The alarm's state at `at`.
    pub fn in_alarm_at(&self, at: Timestamp) -> bool {
        value_at(&self.alarm_history, at) == Some(true)
    }

    /// Whether Route 53's health check reads healthy at `at`.
    pub fn healthy_at(&self, at: Timestamp) -> bool {
        let lag = i64::try_from(self.check_delay_secs).unwrap_or(0) * 1000;
        !self.in_alarm_at(Timestamp(at.millis() - lag))
    }

    /// What `GetMetricData` with `Minimum` returns for the latest period with data.
    pub fn latest(&self, now: Timestamp) -> Option<bool> {
        let p = self.period_ms();
        let (last_t, _, _) = self.points.iter().rev().find(|(t, _, _)| *t <= now)?;
        let bucket = last_t.millis().div_euclid(p);
        let min = self
            .points
            .iter()
            .filter(|(t, _, _)| t.millis().div_euclid(p) == bucket && *t <= now)
            .map(|(_, _, v)| *v)
            .fold(f64::INFINITY, f64::min);
        Some(min >= 1.0)
    }

    /// Evaluates every period that ended by `now`.
    fn evaluate(&mut self, now: Timestamp) {
        let p = self.period_ms();
        let current = now.millis().div_euclid(p);
        if self.evaluated_period == 0 {
            self.evaluated_period = current - 1;
        }
        while self.evaluated_period < current - 1 {
            self.evaluated_period += 1;
            let bucket = self.evaluated_period;
            let min = self
                .points
                .iter()
                .filter(|(t, _, _)| t.millis().div_euclid(p) == bucket)
                .map(|(_, _, v)| *v)
                .fold(f64::INFINITY, f64::min);
            if min.is_finite() {
                let alarm = min < 1.0;
                let was = self.alarm_history.last().is_some_and(|(_, a)| *a);
                if alarm != was {
                    self.alarm_history
                        .push((Timestamp((bucket + 1) * p), alarm));
                }
            }
        }
        let keep_from = now.millis() - RETAIN_SECS * 1000;
        self.points.retain(|(t, _, _)| t.millis() >= keep_from);
    }
}

/// Every switch, by alarm region, then alarm name (nested, so a lookup allocates nothing:
/// the engine asks every record's health every simulated second).
#[derive(Debug, Clone, Default)]
pub struct SwitchBoard {
    /// The switches.
    pub switches: BTreeMap<String, BTreeMap<String, SwitchState>>,
}

impl SwitchBoard {
    /// Creates a switch's alarm and health check (what `regionctl provision` does).
    pub fn provision(&mut self, switch: &SwitchRef, period_secs: u64, check_delay_secs: u64) {
        self.slot(switch).or_insert_with(|| SwitchState {
            period_secs,
            check_delay_secs,
            ..SwitchState::default()
        });
    }

    /// A datapoint from `by`; returns the switch's latest value before it.
    pub fn publish(
        &mut self,
        now: Timestamp,
        by: &str,
        switch: &SwitchRef,
        on: bool,
    ) -> Option<bool> {
        let s = self.slot(switch).or_insert_with(|| SwitchState {
            period_secs: 60,
            ..SwitchState::default()
        });
        let before = s.latest(now);
        s.points
            .push((now, by.to_string(), if on { 1.0 } else { 0.0 }));
        before
    }

    /// The latest published value (`None`: nothing published within the retention).
    pub fn read(&self, now: Timestamp, switch: &SwitchRef) -> Option<bool> {
        self.get(switch).and_then(|s| s.latest(now))
    }

    /// Whether the health check on `switch` reads healthy at `at` (no such switch: there
    /// is no health check, so healthy).
    pub fn healthy(&self, switch: &SwitchRef, at: Timestamp) -> bool {
        self.get(switch).is_none_or(|s| s.healthy_at(at))
    }

    /// Evaluates alarms whose period ended.
    pub fn settle(&mut self, now: Timestamp) {
        for s in self.switches.values_mut().flat_map(BTreeMap::values_mut) {
            s.evaluate(now);
        }
    }

    fn get(&self, switch: &SwitchRef) -> Option<&SwitchState> {
        self.switches
            .get(&switch.alarm_region)
            .and_then(|by_name| by_name.get(&switch.alarm_name))
    }

    fn slot(
        &mut self,
        switch: &SwitchRef,
    ) -> std::collections::btree_map::Entry<'_, String, SwitchState> {
        self.switches
            .entry(switch.alarm_region.clone())
            .or_default()
            .entry(switch.alarm_name.clone())
    }
}

/// Publishing a switch value: an effect when the value the alarm sees changes.
impl World {
    /// Publishes a switch value from `by`, recording an effect when it changes the latest
    /// value.
    pub fn publish_switch(&mut self, by: &str, switch: &SwitchRef, on: bool) {
        let now = self.now;
        let before = self.switches.publish(now, by, switch, on);
        // An effect only when the value the alarm sees changes: a `1` published into a
        // period that already has a `0` changes nothing (the minimum wins).
        let after = self.switches.read(now, switch);
        if after != before && !(before.is_none() && after == Some(true)) {
            self.record_effect(
                by,
                EffectKind::Switch {
                    alarm_region: switch.alarm_region.clone(),
                    alarm_name: switch.alarm_name.clone(),
                    from: before,
                    on: after.unwrap_or(on),
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sw() -> SwitchRef {
        SwitchRef {
            alarm_region: "eu-west-1".into(),
            namespace: "regionctl/switch".into(),
            metric: "Switch".into(),
            alarm_name: "regionctl-switch-svc-eu-central-1".into(),
            dimensions: Vec::new(),
            caller_reference: "x".into(),
        }
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp(1_800_000_000_000 + secs * 1000)
    }

    fn run_to(b: &mut SwitchBoard, secs: i64) {
        b.settle(at(secs));
    }

    #[test]
    fn off_takes_the_rest_of_the_period_plus_the_check_delay() {
        let mut b = SwitchBoard::default();
        b.provision(&sw(), 60, 90);
        run_to(&mut b, 0);
        // Published at +10 s into a period; the alarm fires at the period's end (+60 s);
        // the health check follows 90 s later.
        b.publish(at(10), "eu-west-1", &sw(), false);
        run_to(&mut b, 59);
        assert!(!b.get(&sw()).unwrap().in_alarm_at(at(59)));
        run_to(&mut b, 60);
        assert!(b.get(&sw()).unwrap().in_alarm_at(at(60)));
        assert!(b.healthy(&sw(), at(149)));
        assert!(!b.healthy(&sw(), at(150)));
        assert_eq!(b.read(at(61), &sw()), Some(false));
    }

    #[test]
    fn one_publisher_saying_off_wins_the_period_and_silence_holds() {
        let mut b = SwitchBoard::default();
        b.provision(&sw(), 60, 0);
        run_to(&mut b, 0);
        b.publish(at(1), "eu-west-1", &sw(), true);
        b.publish(at(2), "us-east-1", &sw(), false);
        run_to(&mut b, 60);
        assert!(!b.healthy(&sw(), at(60)));
        // Nobody publishes for an hour: the switch holds (missing data is ignored).
        run_to(&mut b, 3000);
        assert!(!b.healthy(&sw(), at(3000)));
        // Everyone says on: it turns on at the end of that period.
        b.publish(at(3010), "eu-west-1", &sw(), true);
        b.publish(at(3011), "us-east-1", &sw(), true);
        run_to(&mut b, 3060);
        assert!(b.healthy(&sw(), at(3060)));
    }

    #[test]
    fn an_unprovisioned_or_silent_switch_is_healthy() {
        let b = SwitchBoard::default();
        assert!(b.healthy(&sw(), at(0)));
        assert_eq!(b.read(at(0), &sw()), None);
    }
}
