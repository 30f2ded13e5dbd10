use super::*;
use serde_json::json;

use crate::journal::packing::TEST_REGIONS as REGIONS;

/// Verdicts of `services` services in every region, ok except in `failing`, since `t`
/// (failing since `t + 10`), in (service, region) order.
fn verdicts(services: usize, failing: Option<&str>, t: i64) -> Vec<ProbeRecord> {
    let mut out = Vec::new();
    for s in 0..services {
        for r in REGIONS {
            let bad = failing == Some(r);
            out.push(ProbeRecord {
                service: format!("svc{s:04}"),
                region: r.into(),
                ok: !bad,
                since: Timestamp(if bad { t + 10 } else { t }),
                role: SignalRole::Failure,
            });
        }
    }
    out
}

fn digest(observer: &str, probes: Vec<ProbeRecord>) -> ObservationDigest {
    ObservationDigest {
        observer: observer.into(),
        bundle_hash: "h".into(),
        at: Timestamp(1_000),
        probes,
        alarm_read_failures: vec!["us-west-2".into()],
        relayed: Vec::new(),
    }
}

/// `d` written packed (or, `legacy`, in the form before) and read back.
fn round_trip(d: &ObservationDigest, legacy: bool) -> ObservationDigest {
    let text = if legacy {
        serde_json::to_string(d)
    } else {
        serde_json::to_string(&packed(d))
    }
    .expect("serialize");
    assert_eq!(text.contains("\"names\""), !legacy, "{text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn a_digest_and_its_relays_read_back_as_written() {
    let mut d = digest("eu-west-1", verdicts(7, Some("us-east-1"), 500));
    d.probes[3].role = SignalRole::Shadow;
    d.probes[4].role = SignalRole::Critical;
    d.relayed = vec![
        digest("us-east-1", verdicts(5, None, 400)),
        digest("eu-central-1", Vec::new()),
    ];
    assert_eq!(round_trip(&d, false), d);
    // Small enough for the form before packing: written in it, read back the same.
    assert_eq!(round_trip(&d, true), d);
}

#[test]
fn a_fleet_digest_fits_a_fraction_of_its_budget() {
    // 1,000 services × 5 regions, relaying two peers: one region failing since a later
    // pass than the rest.
    let mut d = digest("eu-west-1", verdicts(1_000, Some("us-east-1"), 500));
    d.relayed = vec![
        digest("us-east-1", verdicts(1_000, None, 400)),
        digest("eu-central-1", verdicts(1_000, Some("us-east-1"), 450)),
    ];
    let packed = serde_json::to_string(&d).expect("serialize").len();
    let legacy: usize = std::iter::once(&d)
        .chain(&d.relayed)
        .map(|x| serde_json::to_string(&x.probes).expect("serialize").len())
        .sum();
    assert!(packed < 20 * 1024, "{packed} bytes");
    assert!(legacy > 10 * packed, "legacy {legacy} vs packed {packed}");
    assert_eq!(round_trip(&d, false), d);
}

#[test]
fn a_digest_written_before_packing_is_read() {
    let d: ObservationDigest = serde_json::from_value(json!({
        "observer": "eu-west-1", "bundle_hash": "h", "at": 1000,
        "probes": [{"service": "auth", "region": "us-east-1", "ok": false, "since": 900}],
        "alarm_read_failures": [],
        "relayed": [{"observer": "us-east-1", "bundle_hash": "h", "at": 990,
            "probes": [{"service": "auth", "region": "eu-west-1", "ok": true, "since": 10,
                "role": "shadow"}],
            "alarm_read_failures": []}]
    }))
    .expect("legacy digest");
    assert_eq!(d.probes.len(), 1);
    assert!(!d.probes[0].ok);
    assert_eq!(d.relayed[0].probes[0].role, SignalRole::Shadow);
}

/// The written JSON of a small digest, to break.
fn written() -> serde_json::Value {
    let mut d = digest("eu-west-1", verdicts(3, Some("us-east-1"), 500));
    d.relayed = vec![digest("us-east-1", verdicts(2, None, 400))];
    serde_json::to_value(packed(&d)).expect("serialize")
}

/// An edit of a written digest.
type Break = fn(&mut serde_json::Value);

#[test]
fn columns_that_do_not_fit_the_grid_are_refused() {
    let breaks: [(&str, Break); 7] = [
        ("present too short", |v| {
            v["verdicts"]["present"] = json!("AA==")
        }),
        ("ok too long", |v| {
            v["verdicts"]["ok"] = json!("AAAAAAAAAAAA")
        }),
        ("not base64", |v| v["verdicts"]["ok"] = json!("!!!!")),
        ("a run past the since values", |v| {
            v["verdicts"]["runs"] = json!([[15, 9]]);
        }),
        ("runs short of the verdicts", |v| {
            v["verdicts"]["runs"] = json!([[1, 0]]);
        }),
        ("runs past the verdicts", |v| {
            v["verdicts"]["runs"] = json!([[4_000_000_000u32, 0]]);
        }),
        ("a relay over a grid its names do not have", |v| {
            v["names"]["services"] = json!(["svc0000"]);
        }),
    ];
    for (what, break_it) in breaks {
        let mut v = written();
        break_it(&mut v);
        let read = serde_json::from_value::<ObservationDigest>(v.clone());
        assert!(read.is_err(), "{what}: read {read:?} from {v}");
    }
    let too_many_regions: Vec<String> = (0..65).map(|i| format!("r{i}")).collect();
    let mut v = written();
    v["names"]["regions"] = json!(too_many_regions);
    assert!(serde_json::from_value::<ObservationDigest>(v).is_err());
}
