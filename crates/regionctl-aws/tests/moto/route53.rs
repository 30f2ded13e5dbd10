//! Route 53 against moto: record round-trips, batching call counts, pagination, conditional
//! changes and health checks.

use crate::harness::{sdk, unique};
use regionctl_aws::route53::{
    BucketConfig, HealthCheckTarget, HealthCheckUpdate, Route53Client, SharedBucket,
};
use regionctl_aws::types::{
    GeoLocation, RecordChange, RecordSet, RecordSetType, RecordType, Routing,
};
use regionctl_aws::{AwsError, ErrorClass};
use std::sync::Arc;

async fn client() -> Route53Client {
    Route53Client::new(
        &sdk("us-east-1").await,
        Arc::new(SharedBucket::new(BucketConfig::default())),
    )
}

async fn zone(c: &Route53Client) -> (String, String) {
    let name = format!("{}.example.com.", unique("z"));
    let id = c
        .create_hosted_zone(&name, &unique("ref"))
        .await
        .expect("create hosted zone");
    (id, name)
}

fn weighted(name: &str, id: &str, weight: u8, ip: &str) -> RecordSet {
    RecordSet {
        name: name.to_string(),
        rtype: RecordType::A.into(),
        ttl: 60,
        values: vec![ip.to_string()],
        routing: Routing::Weighted {
            set_identifier: id.to_string(),
            weight,
        },
        health_check_id: None,
    }
}

#[tokio::test]
async fn record_kinds_round_trip() {
    let c = client().await;
    let (zone_id, zone_name) = zone(&c).await;
    let n = |p: &str| format!("{p}.{zone_name}");
    let simple = |name: String, rtype: RecordType, v: &str| RecordSet {
        name,
        rtype: rtype.into(),
        ttl: 300,
        values: vec![v.to_string()],
        routing: Routing::Simple,
        health_check_id: None,
    };
    let geo = |id: &str, country: &str, ip: &str| RecordSet {
        name: n("geo"),
        rtype: RecordType::A.into(),
        ttl: 60,
        values: vec![ip.to_string()],
        routing: Routing::Geolocation {
            set_identifier: id.to_string(),
            location: GeoLocation {
                country: Some(country.to_string()),
                ..GeoLocation::default()
            },
        },
        health_check_id: None,
    };
    let records = vec![
        weighted(&n("api"), "eu-central-1", 70, "10.0.0.1"),
        weighted(&n("api"), "us-east-1", 30, "10.0.1.1"),
        geo("de", "DE", "10.0.0.2"),
        geo("default", "*", "10.0.1.2"),
        simple(n("v4"), RecordType::A, "10.0.0.3"),
        simple(n("v6"), RecordType::Aaaa, "2001:db8::1"),
        simple(n("alias"), RecordType::Cname, "api.example.org"),
    ];
    let report = c
        .apply_changes(
            &zone_id,
            records.iter().cloned().map(RecordChange::upsert).collect(),
        )
        .await
        .unwrap();
    assert_eq!(
        (report.batches, report.change_calls, report.changes),
        (1, 1, 7)
    );
    assert_eq!(report.get_change_calls, 0, "moto answers INSYNC at once");

    let (listed, _) = c.list_record_sets(&zone_id).await.unwrap();
    for r in &records {
        let found = listed
            .iter()
            .find(|l| l.key() == r.key())
            .unwrap_or_else(|| panic!("missing {r:?}"));
        assert_eq!(found.routing, r.routing);
        assert_eq!(found.values, r.values);
    }
    // The zone's own SOA and NS are listed as "other" types.
    assert!(
        listed
            .iter()
            .any(|l| l.rtype == RecordSetType::Other("SOA".into()))
    );
}

#[tokio::test]
async fn evacuating_2500_weighted_records_takes_five_calls() {
    let c = client().await;
    let (zone_id, zone_name) = zone(&c).await;
    let regions = [
        "eu-central-1",
        "eu-west-1",
        "us-east-1",
        "us-west-2",
        "ap-south-1",
    ];
    let zone_name = zone_name.as_str();
    let build = |failing_weight: u8| -> Vec<RecordChange> {
        (0..500)
            .flat_map(|i| {
                regions.iter().enumerate().map(move |(r, region)| {
                    let weight = if r == 0 { failing_weight } else { 50 };
                    RecordChange::upsert(weighted(
                        &format!("s{i}.{zone_name}"),
                        region,
                        weight,
                        &format!("10.{r}.{}.{}", i / 250, i % 250),
                    ))
                })
            })
            .collect()
    };
    let setup = c.apply_changes(&zone_id, build(100)).await.unwrap();
    assert_eq!(setup.change_calls, 5);

    let started = std::time::Instant::now();
    let report = c.apply_changes(&zone_id, build(0)).await.unwrap();
    let elapsed = started.elapsed();
    // ceil(2 * 2500 / 1000) = 5 ChangeResourceRecordSets calls, none retried.
    assert_eq!(report.batches, 5);
    assert_eq!(report.change_calls, 5);
    assert_eq!(report.retries, 0);
    assert_eq!(report.change_ids.len(), 5);
    // Read-back: 2500 weighted + SOA + NS = 2502 record sets at 300 per page = 9 pages.
    assert_eq!(report.list_calls, 9);
    eprintln!(
        "evacuation of 2500 UPSERTs: {} change calls, {} GetChange calls, {} list calls, {:?} wall time",
        report.change_calls, report.get_change_calls, report.list_calls, elapsed
    );

    let (listed, calls) = c
        .clone()
        .with_page_size(100)
        .list_record_sets(&zone_id)
        .await
        .unwrap();
    // Every record set exactly once (moto repeats weighted sets across page boundaries; the
    // client drops repeats), so at least ceil(2502 / 100) pages.
    assert_eq!(listed.len(), 2502);
    assert!(calls >= 2502u32.div_ceil(100), "{calls}");
    let zeroed = listed.iter().filter(|r| matches!(&r.routing, Routing::Weighted { set_identifier, weight: 0 } if set_identifier == "eu-central-1")).count();
    assert_eq!(zeroed, 500);
}

#[tokio::test]
async fn conditional_change_and_error_paths() {
    let c = client().await;
    let (zone_id, zone_name) = zone(&c).await;
    let name = format!("cas.{zone_name}");
    let v1 = weighted(&name, "eu", 10, "10.0.0.1");
    let v2 = weighted(&name, "eu", 20, "10.0.0.2");
    c.apply_changes(&zone_id, vec![RecordChange::create(v1.clone())])
        .await
        .unwrap();

    // Compare-and-swap on the current record succeeds in one batch.
    let report = c
        .apply_changes(
            &zone_id,
            RecordChange::compare_and_swap(v1.clone(), v2.clone()).to_vec(),
        )
        .await
        .unwrap();
    assert_eq!((report.batches, report.change_calls), (1, 1));

    // A stale compare-and-swap (old value no longer current) is rejected whole. moto checks
    // DELETE values only for simple records (for weighted sets it deletes by set identifier
    // alone), so the conditional-check failure is exercised on a simple record.
    let s1 = RecordSet {
        routing: Routing::Simple,
        name: format!("simple.{zone_name}"),
        ..v1.clone()
    };
    let s2 = RecordSet {
        values: vec!["10.0.0.2".into()],
        ..s1.clone()
    };
    let s3 = RecordSet {
        values: vec!["10.0.0.3".into()],
        ..s1.clone()
    };
    c.apply_changes(&zone_id, vec![RecordChange::create(s2.clone())])
        .await
        .unwrap();
    let err = c
        .apply_changes(&zone_id, RecordChange::compare_and_swap(s1, s3).to_vec())
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permanent, "{err}");
    let (listed, _) = c.list_record_sets(&zone_id).await.unwrap();
    let current = listed.iter().find(|r| r.key() == s2.key()).unwrap();
    assert_eq!(
        current.values, s2.values,
        "the stale swap must not have applied"
    );
    assert_eq!(
        listed.iter().find(|r| r.key() == v2.key()).unwrap().values,
        v2.values
    );

    // Deleting a record that does not exist fails permanently.
    let missing = weighted(&format!("missing.{zone_name}"), "eu", 1, "10.9.9.9");
    let err = c
        .apply_changes(&zone_id, vec![RecordChange::delete(missing)])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AwsError::Call {
                class: ErrorClass::Permanent,
                ..
            }
        ),
        "{err}"
    );

    // An unknown zone is a permanent error.
    let err = c.list_record_sets("ZNOTAZONE").await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permanent, "{err}");

    // Records we never write are rejected before any call.
    let other = RecordSet {
        routing: Routing::Other {
            set_identifier: None,
        },
        ..v2
    };
    assert!(matches!(
        c.apply_changes(&zone_id, vec![RecordChange::upsert(other)])
            .await,
        Err(AwsError::InvalidInput(_))
    ));
}

#[tokio::test]
async fn health_checks_are_idempotent_by_caller_reference() {
    let c = client().await;
    let reference = unique("hc");
    let switch = HealthCheckTarget::CloudWatchAlarm {
        alarm_name: unique("switch"),
        alarm_region: "eu-west-1".into(),
    };
    let id = c.ensure_health_check(&reference, &switch).await.unwrap();
    assert_eq!(
        c.ensure_health_check(&reference, &switch).await.unwrap(),
        id
    );

    let https = HealthCheckTarget::Https {
        fqdn: "api.example.com".into(),
        port: 443,
        path: "/health".into(),
        request_interval: 10,
        failure_threshold: 3,
    };
    let https_id = c.ensure_health_check(&unique("hc"), &https).await.unwrap();
    assert_ne!(https_id, id);

    c.update_health_check(
        &id,
        &HealthCheckUpdate {
            inverted: Some(true),
            disabled: Some(true),
            ..HealthCheckUpdate::default()
        },
    )
    .await
    .unwrap();
    let all = c.list_health_checks().await.unwrap();
    let mine: Vec<_> = all
        .iter()
        .filter(|h| h.caller_reference == reference)
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].type_name, "CLOUDWATCH_METRIC");
    assert!(mine[0].inverted && mine[0].disabled);
    assert!(
        all.iter()
            .any(|h| h.id == https_id && h.type_name == "HTTPS")
    );

    let err = c
        .update_health_check(
            "00000000-0000-0000-0000-000000000000",
            &HealthCheckUpdate::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permanent, "{err}");
}

#[tokio::test]
async fn zones_named_by_domain_resolve_to_their_one_id() {
    use regionctl_core::policy::ZoneName;
    let c = client().await;
    let name = format!("{}.example.com", unique("byname"));
    let public = ZoneName {
        name: name.clone(),
        vpc: None,
    };
    let private = ZoneName {
        name: name.clone(),
        vpc: Some("vpc-0123abcd".into()),
    };
    let other_vpc = ZoneName {
        name: name.clone(),
        vpc: Some("vpc-4567cdef".into()),
    };
    // Nothing yet: a clear "not found".
    let err = c.find_zone(&public).await.expect_err("no zone yet");
    assert!(
        matches!(&err, AwsError::ZoneNotFound { .. }) && err.to_string().contains("not found"),
        "{err}"
    );
    // A public and a private zone of the same name: each found by what the policy says.
    let public_id = c
        .create_zone(&public, "us-east-1", &unique("ref"))
        .await
        .expect("public zone");
    let private_id = c
        .create_zone(&private, "us-east-1", &unique("ref"))
        .await
        .expect("private zone");
    assert_ne!(public_id, private_id);
    // A zone whose name only starts like it is not it.
    let longer = ZoneName {
        name: format!("x{name}"),
        vpc: None,
    };
    c.create_zone(&longer, "us-east-1", &unique("ref"))
        .await
        .expect("longer zone");
    let ids = c
        .find_zones([&public, &private])
        .await
        .expect("both resolve");
    assert_eq!(ids[&public], public_id);
    assert_eq!(ids[&private], private_id);
    let err = c.find_zone(&other_vpc).await.expect_err("not in that VPC");
    assert!(err.to_string().contains("private zone"), "{err}");
    // A second public zone of the same name: ambiguous, never a guess.
    let twin = c
        .create_zone(&public, "us-east-1", &unique("ref"))
        .await
        .expect("twin");
    let err = c.find_zone(&public).await.expect_err("ambiguous");
    let text = err.to_string();
    assert!(
        text.contains("2 zones match") && text.contains(&twin),
        "{text}"
    );
    assert_eq!(err.class(), ErrorClass::Permanent);
}
