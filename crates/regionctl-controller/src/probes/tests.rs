use super::*;
use crate::fake::example;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

const LIMITS: ProbeLimits = ProbeLimits {
    concurrency: 2,
    deadline_ms: 5_000,
};

/// A prober on a script: every probe suspends once, then answers; probes of a `silent`
/// region never answer. It counts probes made and the most in flight per region.
#[derive(Default)]
struct Scripted {
    silent: Option<&'static str>,
    failing: Vec<&'static str>,
    made: RefCell<Vec<String>>,
    in_flight: RefCell<BTreeMap<String, usize>>,
    most_in_flight: RefCell<BTreeMap<String, usize>>,
}

fn region_of(target: &str) -> String {
    let bundle_regions = ["us-east-1", "eu-central-1", "ap-southeast-1", "eu-west-1"];
    bundle_regions
        .iter()
        .find(|r| target.contains(*r))
        .map_or_else(|| "other".to_string(), |r| (*r).to_string())
}

impl Prober for Scripted {
    async fn probe(&self, probe: &Probe) -> bool {
        let region = region_of(&probe.target);
        self.made.borrow_mut().push(probe.target.clone());
        let now = {
            let mut flight = self.in_flight.borrow_mut();
            let n = flight.entry(region.clone()).or_default();
            *n += 1;
            *n
        };
        {
            let mut most = self.most_in_flight.borrow_mut();
            let m = most.entry(region.clone()).or_default();
            *m = (*m).max(now);
        }
        Suspend(if self.silent == Some(region.as_str()) {
            usize::MAX
        } else {
            1
        })
        .await;
        *self
            .in_flight
            .borrow_mut()
            .entry(region.clone())
            .or_default() -= 1;
        !self.failing.iter().any(|f| probe.target.contains(f))
    }
}

/// Pending `n` times (waking itself), then ready: `usize::MAX` is never, for the time
/// these tests poll.
struct Suspend(usize);

impl Future for Suspend {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 == 0 {
            return Poll::Ready(());
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// A deadline that passes after `polls` polls.
fn after_polls(polls: usize) -> impl Future<Output = ()> {
    let left = Cell::new(polls);
    std::future::poll_fn(move |_| {
        if left.get() == 0 {
            return Poll::Ready(());
        }
        left.set(left.get() - 1);
        Poll::Pending
    })
}

/// Polls `future` until it is ready (its wakers are internal; a noop waker is enough).
fn run<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..100_000 {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("never ready");
}

#[test]
fn an_endpoint_several_services_probe_is_probed_once() {
    let mut bundle = example();
    let names = |i: usize| -> Vec<String> {
        bundle.services[i]
            .regions
            .iter()
            .map(|r| r.name.clone())
            .collect()
    };
    // Two services with probes in the same regions; the second comes to probe exactly
    // what the first does.
    let probed = |i: usize| {
        bundle.services[i]
            .health
            .probes
            .iter()
            .any(|p| !p.is_empty())
    };
    let n = bundle.services.len();
    let (a, b) = (0..n)
        .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
        .find(|&(a, b)| probed(a) && probed(b) && names(a) == names(b))
        .expect("two example services with probes in the same regions");
    let before = ProbeBatch::new(&bundle, None, LIMITS).probes.len();
    let theirs: usize = bundle.services[b].health.probes.iter().map(Vec::len).sum();
    bundle.services[b].health.probes = bundle.services[a].health.probes.clone();
    let batch = ProbeBatch::new(&bundle, None, LIMITS);
    assert_eq!(batch.probes.len(), before - theirs);
    let world = Scripted::default();
    let answers = run(world.probe_batch(&batch));
    let made = world.made.borrow();
    let distinct: std::collections::BTreeSet<&String> = made.iter().collect();
    assert_eq!(
        made.len(),
        distinct.len(),
        "a target probed twice: {made:?}"
    );
    let records = verdicts(&bundle, &batch, &answers, None, Timestamp(7));
    for name in [&bundle.services[a].name, &bundle.services[b].name] {
        assert!(records.iter().any(|r| &r.service == name && r.ok));
    }
}

#[test]
fn a_silent_region_ties_up_only_its_own_slots_and_is_no_evidence() {
    let bundle = example();
    let silent = bundle.services[0].regions[0].name.clone();
    let world = Scripted {
        silent: Some(Box::leak(silent.clone().into_boxed_str())),
        ..Scripted::default()
    };
    let batch = ProbeBatch::new(&bundle, None, LIMITS);
    let answers = run(batch.collect_until(&world, after_polls(50)));
    for (p, a) in batch.probes.iter().zip(&answers) {
        let region = region_of(&p.target);
        if region == silent {
            assert_eq!(*a, None, "{} answered", p.target);
        } else {
            assert_eq!(
                *a,
                Some(true),
                "{} not answered beside a silent region",
                p.target
            );
        }
    }
    for (region, most) in world.most_in_flight.borrow().iter() {
        assert!(*most <= LIMITS.concurrency, "{region}: {most} in flight");
    }
    let records = verdicts(&bundle, &batch, &answers, None, Timestamp(7));
    assert!(records.iter().all(|r| r.region != silent), "{records:?}");
    assert!(records.iter().all(|r| r.ok));
}

#[test]
fn an_unanswered_probe_keeps_a_failure_and_goes_first() {
    let bundle = example();
    let failing = bundle.services[0].regions[0].name.clone();
    let world = Scripted {
        failing: vec![Box::leak(failing.clone().into_boxed_str())],
        ..Scripted::default()
    };
    let batch = ProbeBatch::new(&bundle, None, LIMITS);
    let answers = run(world.probe_batch(&batch));
    let first = verdicts(&bundle, &batch, &answers, None, Timestamp(10));
    let failed: Vec<_> = first.iter().filter(|r| !r.ok).collect();
    assert!(!failed.is_empty() && failed.iter().all(|r| r.region == failing));
    let previous = ObservationDigest {
        observer: "us-east-1".into(),
        bundle_hash: bundle.hash.clone(),
        at: Timestamp(10),
        probes: first.clone(),
        alarm_read_failures: Vec::new(),
        relayed: Vec::new(),
    };
    // Nothing answers in the next pass: the failures stand with their `since`, the rest
    // is no evidence.
    let none = vec![None; batch.probes.len()];
    let second = verdicts(&bundle, &batch, &none, Some(&previous), Timestamp(20));
    assert_eq!(second.len(), failed.len());
    assert!(second.iter().all(|r| !r.ok && r.since == Timestamp(10)));
    // The pass after starts with what that one left unanswered.
    let after = ObservationDigest {
        probes: second,
        ..previous
    };
    let next = ProbeBatch::new(&bundle, Some(&after), LIMITS);
    let leading = &next.probes[0];
    assert!(
        !leading.target.contains(failing.as_str()),
        "{} probed first, though it was the one verdict kept",
        leading.target
    );
}

#[test]
fn a_failure_anywhere_behind_a_verdict_fails_it() {
    let mut bundle = example();
    let extra = bundle.services[0].health.probes[0][0].clone();
    let mut other = extra.clone();
    other.target = format!("{}-second", extra.target);
    bundle.services[0].health.probes[0].push(other);
    let batch = ProbeBatch::new(&bundle, None, LIMITS);
    let mut answers = vec![Some(true); batch.probes.len()];
    let i = batch
        .probes
        .iter()
        .position(|p| p.target.ends_with("-second"))
        .expect("second probe in the batch");
    answers[i] = Some(false);
    let records = verdicts(&bundle, &batch, &answers, None, Timestamp(1));
    let service = &bundle.services[0];
    let r = records
        .iter()
        .find(|r| r.service == service.name && r.region == service.regions[0].name)
        .expect("verdict");
    assert!(!r.ok);
    // One of two unanswered and the other ok: no evidence.
    answers[i] = None;
    let records = verdicts(&bundle, &batch, &answers, None, Timestamp(1));
    assert!(
        !records
            .iter()
            .any(|r| r.service == service.name && r.region == service.regions[0].name)
    );
}
