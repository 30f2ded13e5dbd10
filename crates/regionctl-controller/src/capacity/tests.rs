use super::*;

#[test]
fn batches_are_one_cluster_at_most_ten_and_one_turn() {
    let list: Vec<(&str, &str)> = (0..23)
        .map(|i| (if i < 12 { "a" } else { "b" }, "x"))
        .collect();
    // From the start: a×10, a×2, b×10, b×1 — four calls cover the list once.
    let all = batches(&list, 0, 100);
    let sizes: Vec<(&str, usize, usize)> = all
        .iter()
        .map(|(c, n, next)| (*c, n.len(), *next))
        .collect();
    assert_eq!(
        sizes,
        vec![("a", 10, 10), ("a", 2, 12), ("b", 10, 22), ("b", 1, 0)]
    );
    // Two calls from index 20: b×3 (wrapping to 0), then a×10.
    let two = batches(&list, 20, 2);
    let sizes: Vec<(&str, usize, usize)> = two
        .iter()
        .map(|(c, n, next)| (*c, n.len(), *next))
        .collect();
    assert_eq!(sizes, vec![("b", 3, 0), ("a", 10, 10)]);
    assert!(batches(&[], 0, 5).is_empty());
}

use crate::fake::example;
use crate::fake::world::{FakeWorld, block_on};

const T: i64 = 1_000;

fn at(secs: i64) -> Timestamp {
    Timestamp::from_secs(secs)
}

fn describe_calls(world: &FakeWorld) -> usize {
    world
        .calls
        .borrow()
        .iter()
        .filter(|op| **op == "DescribeServices")
        .count()
}

/// The examples with `copies` more services like the first one with ECS, each its own ECS
/// service in the same clusters, and a budget of `calls_per_sec`.
fn fleet(copies: usize, calls_per_sec: f64) -> Bundle {
    let mut bundle = example();
    let template = bundle
        .services
        .iter()
        .find(|s| s.ecs.is_some())
        .expect("an example service with ECS")
        .clone();
    for i in 0..copies {
        let mut copy = template.clone();
        copy.name = format!("copy{i:03}");
        if let Some(e) = copy.ecs.as_mut() {
            for name in &mut e.services {
                *name = format!("copy{i:03}");
            }
        }
        bundle.services.push(copy);
    }
    if let Some(c) = bundle.controller.as_mut() {
        c.capacity_reads.calls_per_sec = Some(calls_per_sec);
    }
    bundle
}

fn ecs_services(bundle: &Bundle) -> usize {
    services_by_region(bundle).values().map(Vec::len).sum()
}

#[test]
fn a_small_fleet_is_read_whole_every_pass_in_one_call_per_cluster() {
    let bundle = example();
    let world = FakeWorld::steady(&bundle, at(T));
    let mut cache = CapacityCache::default();
    let clusters: BTreeSet<(&str, &str)> = bundle
        .services
        .iter()
        .flat_map(|s| keys_of(s).map(move |(r, (c, _))| (s.regions[r].name.as_str(), c)))
        .collect();
    for pass in 0..2 {
        let read = block_on(cache.read(&world, &bundle, at(T + 10 * pass)));
        assert!(read.failures.is_empty(), "{:?}", read.failures);
        assert_eq!(read.calls, clusters.len(), "one call per (region, cluster)");
    }
    for service in &bundle.services {
        let counts = cache.counts_of(service);
        for (r, (cluster, name)) in keys_of(service) {
            let key = (service.regions[r].name.clone(), cluster.into(), name.into());
            assert_eq!(counts[r], world.ecs.borrow().get(&key).copied(), "{key:?}");
        }
    }
}

#[test]
fn a_large_fleet_is_read_round_by_round_within_the_budget() {
    // 0.5 calls/s on a 10 s tick: five calls per region per pass.
    let bundle = fleet(120, 0.5);
    assert_eq!(calls_per_pass(&bundle), 5);
    let regions = services_by_region(&bundle).len();
    let world = FakeWorld::steady(&bundle, at(T));
    let mut cache = CapacityCache::default();
    let copy = bundle.services.last().expect("a copy");
    let mut passes = 0;
    while cache.counts_of(copy).iter().all(Option::is_none) {
        let read = block_on(cache.read(&world, &bundle, at(T + 10 * passes)));
        assert!(read.calls <= 5 * regions, "{} calls", read.calls);
        passes += 1;
        assert!(passes < 100, "the round never reached the last service");
    }
    assert!(passes > 1, "120 services do not fit one pass of 5 calls");
    // A change in the world shows once the round comes back to the service, not before.
    let r = set_first_desired(&world, copy, 99);
    block_on(cache.read(&world, &bundle, at(T + 10 * passes)));
    assert_ne!(cache.counts_of(copy)[r].map(|e| e.desired), Some(99));
    for p in 1..=passes {
        block_on(cache.read(&world, &bundle, at(T + 10 * (passes + p))));
    }
    assert_eq!(cache.counts_of(copy)[r].map(|e| e.desired), Some(99));
    assert!(ecs_services(&bundle) > 120);
}

/// Sets the desired count of `service`'s first ECS service in the world, as autoscaling or
/// a peer would; returns its local region.
fn set_first_desired(world: &FakeWorld, service: &Service, desired: u32) -> usize {
    let (r, (cluster, name)) = keys_of(service).next().expect("ECS");
    let key = (
        service.regions[r].name.clone(),
        cluster.to_string(),
        name.to_string(),
    );
    world
        .ecs
        .borrow_mut()
        .entry(key)
        .and_modify(|e| e.desired = desired);
    r
}

#[test]
fn services_about_to_be_acted_on_are_read_again_in_batches() {
    let bundle = fleet(30, 0.1);
    let world = FakeWorld::steady(&bundle, at(T));
    let mut cache = CapacityCache::default();
    block_on(cache.read(&world, &bundle, at(T)));
    let s = bundle.services.len() - 1;
    let copy = &bundle.services[s];
    let r = set_first_desired(&world, copy, 42);
    let mut live = LiveState::steady(&bundle);
    let acting: BTreeSet<usize> = [s].into();
    let before = describe_calls(&world);
    let later = at(T + 10);
    let pass = block_on(cache.refresh(&world, &bundle, &acting, later, &mut live));
    assert!(pass.failures.is_empty(), "{:?}", pass.failures);
    assert_eq!(describe_calls(&world) - before, pass.calls);
    assert_eq!(
        pass.calls,
        keys_of(copy).count(),
        "one call per region here"
    );
    assert_eq!(live.services[s].ecs[r].map(|e| e.desired), Some(42));
    // Read this pass already: not read again.
    let again = block_on(cache.refresh(&world, &bundle, &acting, later, &mut live));
    assert_eq!(again.calls, 0);
}

#[test]
fn a_failed_read_is_unknown_not_the_old_counts() {
    let bundle = example();
    let world = FakeWorld::steady(&bundle, at(T));
    let mut cache = CapacityCache::default();
    block_on(cache.read(&world, &bundle, at(T)));
    world.fail("DescribeServices");
    let read = block_on(cache.read(&world, &bundle, at(T + 10)));
    assert!(!read.failures.is_empty());
    for service in bundle.services.iter().filter(|s| s.ecs.is_some()) {
        assert!(
            cache.counts_of(service).iter().all(Option::is_none),
            "{}",
            service.name
        );
    }
    // Not tried again before acting in the same pass.
    let mut live = LiveState::steady(&bundle);
    let all: BTreeSet<usize> = (0..bundle.services.len()).collect();
    let again = block_on(cache.refresh(&world, &bundle, &all, at(T + 10), &mut live));
    assert_eq!(again.calls, 0);
}

#[test]
fn the_budget_is_calls_per_second_times_the_tick() {
    assert_eq!(calls_per_pass(&example()), 20);
    assert_eq!(
        calls_per_pass(&fleet(0, 0.01)),
        1,
        "at least one call a pass"
    );
}
