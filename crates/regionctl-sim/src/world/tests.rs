use super::*;
use crate::block_on;
use regionctl_controller::ports::{
    Dns, ItemKind, Journal, JournalItem, RecordType, WeightedRecord,
};
use regionctl_core::traffic::answered_weights;
use std::cell::RefCell;

const T0: Timestamp = Timestamp(1_000_000_000);

fn record(set: &str, weight: u8) -> WeightedRecord {
    WeightedRecord {
        name: "a.example.com".into(),
        record_type: RecordType::Cname,
        set_identifier: set.into(),
        value: format!("{set}.example.com"),
        ttl: 60,
        weight,
    }
}

fn keys() -> Vec<(String, String)> {
    ["x", "y"]
        .iter()
        .map(|s| ("a.example.com".to_string(), s.to_string()))
        .collect()
}

fn world(knobs: Knobs) -> RefCell<World> {
    let regions = vec!["r1".to_string(), "r2".to_string(), "r3".to_string()];
    let mut w = World::new(knobs, 7, T0, &regions);
    w.seed_record("Z1", record("x", 50));
    w.seed_record("Z1", record("y", 50));
    RefCell::new(w)
}

fn no_jitter() -> Knobs {
    Knobs {
        route53_pending_jitter_secs: 0,
        ecs_capacity_jitter_secs: 0,
        ..Knobs::default()
    }
}

#[test]
fn changes_are_pending_before_answering_uses_them() {
    let w = world(Knobs {
        route53_pending_secs: 30,
        ..no_jitter()
    });
    let view = ControllerView::new(&w, "r1");
    let report = block_on(view.upsert_weighted("Z1", &[record("x", 0)], &|_| Ok(())))
        .expect("ready")
        .expect("accepted");
    assert_eq!(report.records, 1);
    // The control plane shows the change at once…
    let listed = block_on(view.read_weighted("Z1"))
        .expect("ready")
        .expect("listed");
    assert_eq!(
        listed
            .iter()
            .find(|r| r.set_identifier == "x")
            .map(|r| r.weight),
        Some(0)
    );
    // …but answering uses it only once INSYNC.
    let before = w
        .borrow()
        .answering_weights("Z1", &keys(), T0.plus_secs(29));
    assert_eq!(before, vec![Some(50), Some(50)]);
    let zone_pending = w.borrow().zones["Z1"].records[&keys()[0]].pending_at(T0.plus_secs(29));
    assert!(zone_pending);
    let after = w
        .borrow()
        .answering_weights("Z1", &keys(), T0.plus_secs(30));
    assert_eq!(after, vec![Some(0), Some(50)]);
}

#[test]
fn answering_follows_route53_rules() {
    // Weights in sync and health from health checks: the world hands the weights to the
    // core's rules; check the combinations the sim relies on.
    let w = world(no_jitter());
    let weights: Vec<u32> = w
        .borrow()
        .answering_weights("Z1", &keys(), T0)
        .iter()
        .map(|x| u32::from(x.unwrap_or(0)))
        .collect();
    assert_eq!(answered_weights(&weights, &[true, true]), vec![50, 50]);
    assert_eq!(answered_weights(&weights, &[false, true]), vec![0, 50]);
    // Every record unhealthy: fail open.
    assert_eq!(answered_weights(&weights, &[false, false]), vec![50, 50]);
    // Health checks look back by their delay.
    let mut ww = w.borrow_mut();
    ww.faults.endpoints.push(EndpointFailure {
        id: "f".into(),
        region: "r1".into(),
        services: vec![],
        from: T0,
        to: None,
    });
    assert!(ww.health_check_ok("svc", "r1", T0.plus_secs(10)));
    assert!(!ww.health_check_ok("svc", "r1", T0.plus_secs(30)));
    assert!(ww.health_check_ok("svc", "r2", T0.plus_secs(30)));
}

#[test]
fn route53_throttles_with_a_token_bucket() {
    let w = world(Knobs {
        route53_burst: 3,
        route53_rate_per_sec: 1.0,
        ..no_jitter()
    });
    let view = ControllerView::new(&w, "r1");
    // Three from the burst, three more the adapter's retries wait for (3.1 s at 1/s).
    for _ in 0..6 {
        assert!(block_on(view.read_weighted("Z1")).expect("ready").is_ok());
    }
    let err = block_on(view.read_weighted("Z1"))
        .expect("ready")
        .expect_err("throttled");
    assert_eq!(err.class, ErrorClass::Throttled);
    assert_eq!(w.borrow().stats.route53_throttled, 1);
    // The waiting calls borrowed: one second refills one token, which serves one call
    // (after a wait), not a burst.
    w.borrow_mut().set_now(T0.plus_secs(1));
    assert!(block_on(view.read_weighted("Z1")).expect("ready").is_ok());
    let err = block_on(view.read_weighted("Z1"))
        .expect("ready")
        .expect_err("still in debt");
    assert_eq!(err.class, ErrorClass::Throttled);
    // The control plane being down is not throttling.
    w.borrow_mut().faults.route53_down = true;
    w.borrow_mut().set_now(T0.plus_secs(10));
    let err = block_on(view.read_weighted("Z1"))
        .expect("ready")
        .expect_err("down");
    assert_eq!(err.class, ErrorClass::Retryable);
}

fn item(sk: &str, body: &str) -> JournalItem {
    JournalItem {
        pk: "HEARTBEAT".into(),
        sk: sk.into(),
        kind: ItemKind::Heartbeat,
        owner: sk.into(),
        body: serde_json::json!(body),
        expires_at: None,
    }
}

#[test]
fn journal_replicates_with_lag_and_last_writer_wins() {
    let w = world(Knobs {
        journal_replication_lag_ms: 2000,
        ..no_jitter()
    });
    let r1 = ControllerView::new(&w, "r1");
    let r2 = ControllerView::new(&w, "r2");
    block_on(r1.put(&item("k", "from r1")))
        .expect("ready")
        .expect("written");
    // Not yet visible in r2.
    assert!(
        block_on(r2.query("HEARTBEAT", ""))
            .expect("ready")
            .expect("read")
            .is_empty()
    );
    w.borrow_mut().set_now(T0.plus_secs(1));
    w.borrow_mut().settle();
    assert!(
        block_on(r2.query("HEARTBEAT", ""))
            .expect("ready")
            .expect("read")
            .is_empty()
    );
    w.borrow_mut().set_now(T0.plus_secs(2));
    w.borrow_mut().settle();
    assert_eq!(
        block_on(r2.query("HEARTBEAT", ""))
            .expect("ready")
            .expect("read")
            .len(),
        1
    );
    // Conditional writes are checked locally only: both regions "create" the same key.
    assert!(
        block_on(r1.put_new(&item("new", "r1 wins?")))
            .expect("ready")
            .expect("ok")
    );
    w.borrow_mut().set_now(T0.plus_secs(3));
    assert!(
        block_on(r2.put_new(&item("new", "r2 later")))
            .expect("ready")
            .expect("ok")
    );
    w.borrow_mut().set_now(T0.plus_secs(10));
    w.borrow_mut().settle();
    // Last writer wins everywhere.
    for view in [&r1, &r2] {
        let items = block_on(view.query("HEARTBEAT", "new"))
            .expect("ready")
            .expect("read");
        assert_eq!(
            items[0].as_ref().expect("readable").body,
            serde_json::json!("r2 later")
        );
    }
    // A replica's own rewrite in the same millisecond is the later write, here and after
    // replication (a heartbeat updated within one pass).
    block_on(r1.put(&item("hb", "first")))
        .expect("ready")
        .expect("written");
    block_on(r1.put(&item("hb", "rewritten")))
        .expect("ready")
        .expect("written");
    w.borrow_mut().set_now(T0.plus_secs(20));
    w.borrow_mut().settle();
    for view in [&r1, &r2] {
        let items = block_on(view.query("HEARTBEAT", "hb"))
            .expect("ready")
            .expect("read");
        assert_eq!(
            items[0].as_ref().expect("readable").body,
            serde_json::json!("rewritten")
        );
    }
}

#[test]
fn partitions_hold_replication_until_they_heal() {
    let w = world(Knobs {
        journal_replication_lag_ms: 1000,
        ..no_jitter()
    });
    w.borrow_mut()
        .faults
        .partitions
        .insert(("r1".into(), "r2".into()));
    let r1 = ControllerView::new(&w, "r1");
    block_on(r1.put(&item("k", "v")))
        .expect("ready")
        .expect("written");
    w.borrow_mut().set_now(T0.plus_secs(5));
    w.borrow_mut().settle();
    assert!(w.borrow().journal.query("r2", "HEARTBEAT", "").is_empty());
    assert_eq!(w.borrow().journal.query("r3", "HEARTBEAT", "").len(), 1);
    w.borrow_mut().faults.partitions.clear();
    w.borrow_mut().settle();
    assert_eq!(w.borrow().journal.query("r2", "HEARTBEAT", "").len(), 1);
}

#[test]
fn capacity_arrives_late_or_partly() {
    let w = world(Knobs {
        ecs_capacity_delay_secs: 60,
        ..no_jitter()
    });
    w.borrow_mut().seed_ecs("r2", "c", "s", 4);
    w.borrow_mut()
        .faults
        .capacity_fraction
        .insert("r2".into(), 0.5);
    let view = ControllerView::new(&w, "r1");
    use regionctl_controller::ports::Compute;
    block_on(view.set_desired("r2", "c", "s", 12))
        .expect("ready")
        .expect("scaled");
    let state = block_on(view.describe_service("r2", "c", "s"))
        .expect("ready")
        .expect("read")
        .expect("exists");
    assert_eq!((state.desired, state.running, state.pending), (12, 4, 8));
    w.borrow_mut().set_now(T0.plus_secs(60));
    w.borrow_mut().settle();
    let state = block_on(view.describe_service("r2", "c", "s"))
        .expect("ready")
        .expect("read")
        .expect("exists");
    assert_eq!((state.desired, state.running, state.pending), (12, 8, 4));
}
