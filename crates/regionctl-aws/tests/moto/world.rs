//! The controller's ports on moto (`regionctl_aws::world`): what the adapter converts at the
//! seam. Journal items read back as written, expired ones dropped, an unreadable body an
//! error in its place (never `null`), an unknown kind a failed read (never `CONTROL`);
//! weight writes keep each record's health check; the host's hook runs after a scale.

use crate::harness::{endpoint, fargate_service, sdk, unique};
use aws_sdk_dynamodb::types::AttributeValue;
use regionctl_aws::dynamodb::Journal as JournalTable;
use regionctl_aws::route53::{BucketConfig, HealthCheckTarget, Route53Client, SharedBucket};
use regionctl_aws::types::{RecordChange, RecordSet, RecordSetType, RecordType, Routing};
use regionctl_aws::world::{AwsWorld, Host, WorldSettings, now_millis};
use regionctl_controller::ports::{
    Compute, Dns, ErrorClass, ItemKind, Journal, JournalItem, Prober, WeightedRecord,
};
use regionctl_core::policy::Probe;
use std::cell::Cell;
use std::sync::Arc;

/// A host that never probes and counts the scales it was told about.
#[derive(Default)]
struct CountingHost {
    scales: Cell<u32>,
}

impl Prober for CountingHost {
    async fn probe(&self, _probe: &Probe) -> bool {
        false
    }
}

impl Host for CountingHost {
    fn after_scale(&self) {
        self.scales.set(self.scales.get() + 1);
    }
}

fn settings(journal_table: &str) -> WorldSettings {
    WorldSettings {
        region: "eu-central-1".into(),
        regions: vec!["eu-central-1".into()],
        endpoint_url: Some(endpoint().to_string()),
        journal_table: journal_table.into(),
        journal_region: None,
        bucket: BucketConfig::default(),
    }
}

async fn world(journal_table: &str) -> AwsWorld<CountingHost> {
    AwsWorld::connect_for_tests(
        &settings(journal_table),
        endpoint(),
        CountingHost::default(),
    )
    .await
}

fn heartbeat(region: &str, expires_at: i64) -> JournalItem {
    JournalItem {
        pk: "HEARTBEAT".into(),
        sk: region.into(),
        kind: ItemKind::Heartbeat,
        owner: region.into(),
        body: serde_json::json!({ "region": region }),
        expires_at: Some(expires_at),
    }
}

#[tokio::test]
async fn journal_port_reads_what_was_written_and_says_what_it_cannot_read() {
    let table = unique("journal");
    JournalTable::new(&sdk("eu-central-1").await, table.clone())
        .create_table()
        .await
        .unwrap();
    let world = world(&table).await;
    let later = now_millis() / 1000 + 3_600;

    let fresh = heartbeat("eu-central-1", later);
    assert!(world.put_new(&fresh).await.unwrap(), "created");
    assert!(!world.put_new(&fresh).await.unwrap(), "exists: not written");
    // TTL deletion is lazy (moto never deletes): the port drops expired items itself.
    world
        .put(&heartbeat("eu-west-1", now_millis() / 1000 - 1))
        .await
        .unwrap();
    let read = world.query("HEARTBEAT", "").await.unwrap();
    assert_eq!(read.len(), 1, "{read:?}");
    assert_eq!(read[0].as_ref().unwrap(), &fresh);

    // A body that is not JSON is an error in its place; the rest still reads.
    let raw = aws_sdk_dynamodb::Client::new(&sdk("eu-central-1").await);
    let s = |v: &str| AttributeValue::S(v.to_string());
    raw.put_item()
        .table_name(&table)
        .item("pk", s("HEARTBEAT"))
        .item("sk", s("us-east-1"))
        .item("kind", s("HEARTBEAT"))
        .item("owner", s("us-east-1"))
        .item("body", s("{not json"))
        .send()
        .await
        .unwrap();
    let read = world.query("HEARTBEAT", "").await.unwrap();
    assert_eq!(read.len(), 2, "{read:?}");
    assert_eq!(read[0].as_ref().unwrap(), &fresh);
    let err = read[1].as_ref().unwrap_err();
    assert_eq!(err.class, ErrorClass::Permanent);
    assert_eq!((err.service, err.operation), ("dynamodb", "Query"));
    let text = err.display_chain();
    assert!(
        text.starts_with(
            "dynamodb Query failed (Permanent): journal item HEARTBEAT / us-east-1: unreadable body"
        ),
        "{text}"
    );

    // A kind no controller writes (`LEASE` was documented, never written) fails the read.
    raw.put_item()
        .table_name(&table)
        .item("pk", s("LEASE#svc"))
        .item("sk", s("eu-central-1"))
        .item("kind", s("LEASE"))
        .item("owner", s("eu-central-1"))
        .item("body", s("{}"))
        .send()
        .await
        .unwrap();
    let err = world.query("LEASE#svc", "").await.unwrap_err();
    assert!(err.message().contains("unknown kind LEASE"), "{err:?}");
}

#[tokio::test]
async fn dns_port_keeps_each_records_health_check_when_it_writes_weights() {
    let sdk_global = sdk("us-east-1").await;
    let route53 = Route53Client::new(
        &sdk_global,
        Arc::new(SharedBucket::new(BucketConfig::default())),
    );
    let zone_name = format!("{}.example.com.", unique("world"));
    let zone = route53
        .create_hosted_zone(&zone_name, &unique("ref"))
        .await
        .unwrap();
    let switch = HealthCheckTarget::CloudWatchAlarm {
        alarm_name: unique("switch"),
        alarm_region: "eu-central-1".into(),
    };
    let check = route53
        .ensure_health_check(&unique("hc"), &switch)
        .await
        .unwrap();
    let name = format!("a.{zone_name}");
    let weighted = |rtype: RecordSetType, set: &str, value: &str, check: Option<&str>| {
        let name = match rtype {
            RecordSetType::Managed(_) => name.clone(),
            // A CNAME name can hold no other record (on AWS; moto does not check).
            RecordSetType::Other(_) => format!("note.{zone_name}"),
        };
        RecordChange::create(RecordSet {
            name,
            rtype,
            ttl: 60,
            values: vec![value.into()],
            routing: Routing::Weighted {
                set_identifier: set.into(),
                weight: 50,
            },
            health_check_id: check.map(str::to_string),
        })
    };
    route53
        .apply_changes(
            &zone,
            vec![
                weighted(
                    RecordType::Cname.into(),
                    "euc1",
                    "euc1.example.org",
                    Some(&check),
                ),
                weighted(RecordType::Cname.into(), "euw1", "euw1.example.org", None),
                // Listed by Route 53, but not a type regionctl manages: left out.
                weighted(RecordSetType::Other("TXT".into()), "euc1", "\"note\"", None),
            ],
        )
        .await
        .unwrap();

    let world = world(&unique("unused")).await;
    let mut records = world.read_weighted(&zone).await.unwrap();
    records.sort_by(|a, b| a.set_identifier.cmp(&b.set_identifier));
    let want = |set: &str, weight: u8| WeightedRecord {
        name: name.trim_end_matches('.').to_string(),
        record_type: RecordType::Cname,
        set_identifier: set.into(),
        value: format!("{set}.example.org"),
        ttl: 60,
        weight,
    };
    assert_eq!(records, vec![want("euc1", 50), want("euw1", 50)]);

    // A guard that refuses the batch: nothing is written, and the refusal is permanent.
    let refuse: &dyn Fn(&[WeightedRecord]) -> Result<(), Vec<_>> = &|_| {
        Err(vec![regionctl_core::guard::Violation::AllZeroWeights {
            cell: "all".into(),
        }])
    };
    let err = world
        .upsert_weighted(&zone, &[want("euc1", 0), want("euw1", 100)], refuse)
        .await
        .unwrap_err();
    assert_eq!(
        err.class,
        regionctl_controller::ports::ErrorClass::Permanent,
        "{err}"
    );
    assert_eq!(world.read_weighted(&zone).await.unwrap(), records);

    let seen = std::cell::RefCell::new(Vec::new());
    let accept = |batch: &[WeightedRecord]| {
        seen.borrow_mut().push(batch.len());
        Ok(())
    };
    let report = world
        .upsert_weighted(&zone, &[want("euc1", 0), want("euw1", 100)], &accept)
        .await
        .unwrap();
    assert_eq!(*seen.borrow(), vec![2], "one batch, checked whole");
    assert_eq!(report.records, 2);
    let (listed, _) = route53.list_record_sets(&zone).await.unwrap();
    let euc1 = listed
        .iter()
        .find(|r| r.rtype == RecordType::Cname.into() && r.routing.set_identifier() == Some("euc1"))
        .expect("euc1 record");
    assert_eq!(
        euc1.routing,
        Routing::Weighted {
            set_identifier: "euc1".into(),
            weight: 0
        }
    );
    assert_eq!(
        euc1.health_check_id.as_deref(),
        Some(check.as_str()),
        "the data-plane switch stays attached"
    );
}

#[tokio::test]
async fn compute_port_tells_the_host_after_each_scale() {
    let region = "eu-central-1";
    let (_ecs, cluster, service) = fargate_service(region).await;

    let world = world(&unique("unused")).await;
    world
        .set_desired(region, &cluster, &service, 4)
        .await
        .unwrap();
    assert_eq!(
        world
            .describe_service(region, &cluster, &service)
            .await
            .unwrap()
            .map(|s| s.desired),
        Some(4)
    );
    assert_eq!(world.host().scales.get(), 1);
    // A failed scale is not a scale.
    let err = world
        .set_desired(region, &cluster, "no-such-service", 1)
        .await
        .unwrap_err();
    assert_eq!((err.service, err.class), ("ecs", ErrorClass::Permanent));
    assert_eq!(world.host().scales.get(), 1);
    // A region the world holds no clients for is the world's own error.
    let err = world
        .set_desired("ap-south-1", &cluster, &service, 1)
        .await
        .unwrap_err();
    assert_eq!(err.message(), "no clients for region ap-south-1");
}
