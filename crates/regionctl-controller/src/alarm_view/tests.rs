use super::*;
use crate::fake::example;
use crate::fake::world::block_on;
use crate::ports::{ErrorClass, PortError, PortResult};
use regionctl_core::health::AlarmState;
use std::cell::RefCell;
use std::collections::BTreeSet;

/// Ten names a pass, a pass every ten seconds.
const BUDGET: (usize, u64) = (10, 10);

/// CloudWatch on a script: every alarm OK since 1, except those set; regions that fail;
/// alarms deleted. It logs every name asked for.
#[derive(Default)]
struct Cloud {
    states: RefCell<BTreeMap<String, AlarmObservation>>,
    failing: RefCell<BTreeSet<String>>,
    deleted: RefCell<BTreeSet<String>>,
    asked: RefCell<Vec<String>>,
}

impl Alarms for Cloud {
    async fn describe_alarms(
        &self,
        region: &str,
        names: &[String],
    ) -> PortResult<Vec<(String, AlarmObservation)>> {
        if self.failing.borrow().contains(region) {
            return Err(PortError::new(
                "cloudwatch",
                "DescribeAlarms",
                ErrorClass::Retryable,
                "unreachable",
            ));
        }
        self.asked.borrow_mut().extend(names.iter().cloned());
        let ok = AlarmObservation {
            state: AlarmState::Ok,
            since: Timestamp(1),
        };
        Ok(names
            .iter()
            .filter(|n| !self.deleted.borrow().contains(*n))
            .map(|n| (n.clone(), *self.states.borrow().get(n).unwrap_or(&ok)))
            .collect())
    }
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_secs(secs)
}

fn alarm(since: i64) -> AlarmObservation {
    AlarmObservation {
        state: AlarmState::Alarm,
        since: at(since),
    }
}

struct Setup {
    bundle: Bundle,
    reads: AlarmReads,
    /// The region with the most names, and its names.
    region: String,
    names: Vec<String>,
}

fn setup() -> Setup {
    let bundle = example();
    let reads = AlarmReads::new(&bundle);
    let (region, names) = reads
        .by_region()
        .max_by_key(|(_, names)| names.len())
        .map(|(r, n)| (r.clone(), n.to_vec()))
        .expect("the examples bind alarms");
    assert!(names.len() > 2 * BUDGET.0, "{} names", names.len());
    Setup {
        bundle,
        reads,
        region,
        names,
    }
}

/// One pass at `now`: what it did and the state it recorded for `name`.
fn pass(
    s: &Setup,
    view: &mut AlarmView,
    cloud: &Cloud,
    now: Timestamp,
    name: &str,
) -> (AlarmPass, Option<AlarmObservation>) {
    let mut observations = Observations::empty(&s.bundle, 3);
    let done = block_on(view.refresh_within(cloud, &s.reads, BUDGET, now, &mut observations));
    let recorded = s.bundle.services.iter().enumerate().find_map(|(i, svc)| {
        let b = svc.health.alarms.iter().position(|a| a.name == name)?;
        Some(observations.alarms[i][b])
    });
    (done, recorded.flatten())
}

#[test]
fn a_region_too_large_for_one_pass_is_read_round_by_round() {
    let s = setup();
    let cloud = Cloud::default();
    let mut view = AlarmView::default();
    let rounds = s.names.len().div_ceil(BUDGET.0);
    let last = s.names.last().expect("names");
    let (first, recorded) = pass(&s, &mut view, &cloud, at(100), last);
    assert_eq!(
        recorded, None,
        "read in the first pass though last in order"
    );
    assert_eq!(first.resync_secs, rounds as u64 * BUDGET.1);
    assert_eq!(
        first.unread,
        s.names.len() - BUDGET.0 + unread_elsewhere(&s)
    );
    for i in 1..rounds {
        pass(&s, &mut view, &cloud, at(100 + 10 * i as i64), last);
    }
    let (done, recorded) = pass(&s, &mut view, &cloud, at(100 + 10 * rounds as i64), last);
    assert!(recorded.is_some());
    assert_eq!(done.unread, 0);
    // Every name of the big region was asked for exactly once per round: no call wasted.
    let asked = cloud.asked.borrow();
    let in_region = asked.iter().filter(|n| s.names.contains(n)).count();
    assert_eq!(in_region, BUDGET.0 * (rounds + 1));
}

/// Names of the other regions still unread after one pass (those above the budget).
fn unread_elsewhere(s: &Setup) -> usize {
    s.reads
        .by_region()
        .filter(|(r, _)| **r != s.region)
        .map(|(_, names)| names.len().saturating_sub(BUDGET.0))
        .sum()
}

#[test]
fn an_event_reaches_the_next_pass_and_a_lost_one_the_next_round() {
    let s = setup();
    let cloud = Cloud::default();
    let mut view = AlarmView::default();
    let rounds = s.names.len().div_ceil(BUDGET.0) as i64;
    for i in 0..rounds {
        pass(&s, &mut view, &cloud, at(100 + 10 * i), &s.names[0]);
    }
    // The first name goes to ALARM: the event arrives, the next pass has it, though its
    // slice is not read in that pass.
    let name = s.names[0].clone();
    cloud.states.borrow_mut().insert(name.clone(), alarm(200));
    view.receive([AlarmChange {
        region: s.region.clone(),
        name: name.clone(),
        observation: alarm(200),
    }]);
    let t = 100 + 10 * rounds;
    let (done, recorded) = pass(&s, &mut view, &cloud, at(t + 1), &name);
    assert_eq!(done.events, 1);
    assert_eq!(recorded, Some(alarm(200)));
    // The second name too, but its event is lost: the resync finds it within a round.
    let lost = s.names[1].clone();
    cloud.states.borrow_mut().insert(lost.clone(), alarm(300));
    let mut seen_at = None;
    for i in 1..=rounds {
        let (_, recorded) = pass(&s, &mut view, &cloud, at(t + 1 + 10 * i), &lost);
        if recorded == Some(alarm(300)) {
            seen_at.get_or_insert(i);
        }
    }
    assert!(seen_at.is_some_and(|i| i <= rounds), "{seen_at:?}");
}

#[test]
fn stale_older_or_foreign_events_and_failed_regions_are_no_evidence() {
    let s = setup();
    let cloud = Cloud::default();
    let mut view = AlarmView::default();
    let name = s.names[0].clone();
    view.receive([
        AlarmChange {
            region: s.region.clone(),
            name: name.clone(),
            observation: alarm(50),
        },
        // Older than what it follows: ignored.
        AlarmChange {
            region: s.region.clone(),
            name: name.clone(),
            observation: AlarmObservation {
                state: AlarmState::Ok,
                since: at(40),
            },
        },
        // Not an alarm of the bundle: ignored.
        AlarmChange {
            region: s.region.clone(),
            name: "someone-elses-alarm".into(),
            observation: alarm(50),
        },
    ]);
    cloud.failing.borrow_mut().insert(s.region.clone());
    let (done, recorded) = pass(&s, &mut view, &cloud, at(60), &name);
    assert_eq!(done.events, 1);
    assert_eq!(done.failed, vec![s.region.clone()]);
    assert_eq!(
        recorded, None,
        "a region whose read failed gives no evidence"
    );
    cloud.failing.borrow_mut().clear();
    let (_, recorded) = pass(&s, &mut view, &cloud, at(70), &name);
    assert_eq!(
        recorded.map(|o| o.state),
        Some(AlarmState::Ok),
        "a read is fresher"
    );
    // A deleted alarm is no evidence once its slice is read.
    cloud.deleted.borrow_mut().insert(name.clone());
    let rounds = s.names.len().div_ceil(BUDGET.0) as i64;
    let mut t = 80;
    for _ in 0..rounds {
        pass(&s, &mut view, &cloud, at(t), &name);
        t += 10;
    }
    let (_, recorded) = pass(&s, &mut view, &cloud, at(t), &name);
    assert_eq!(recorded, None);
    // Three rounds of failed reads: what was known expires.
    let other = s.names[2].clone();
    cloud.failing.borrow_mut().insert(s.region.clone());
    for _ in 0..=(3 * rounds) {
        t += 10;
        pass(&s, &mut view, &cloud, at(t), &other);
    }
    cloud.failing.borrow_mut().clear();
    let (done, _) = pass(&s, &mut view, &cloud, at(t + 10), &other);
    assert!(done.unread >= s.names.len() - BUDGET.0, "{done:?}");
}

#[test]
fn the_budget_is_calls_per_second_times_the_tick() {
    let mut bundle = example();
    assert_eq!(calls_per_pass(&bundle), 10);
    if let Some(c) = bundle.controller.as_mut() {
        c.alarm_reads.calls_per_sec = Some(0.05);
    }
    assert_eq!(calls_per_pass(&bundle), 1, "at least one call a pass");
}
