//! The controller's ports on moto (`regionctl_aws::world`): what the adapter converts at the
//! seam. Journal items read back as written, expired ones dropped, an unreadable body an
//! error in its place (never `null`), an unknown kind a failed read (never `CONTROL`);
//! weight writes keep each record's health check; the host's hook runs after a scale; an
//! ALB shift changes only the forward's weights (authenticate actions, order and stickiness
//! stay).

use crate::harness::{default_network, endpoint, fargate_service, sdk, unique};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_elasticloadbalancingv2::types as elb;
use regionctl_aws::dynamodb::Journal as JournalTable;
use regionctl_aws::elbv2::Elbv2Client;
use regionctl_aws::route53::{BucketConfig, HealthCheckTarget, Route53Client, SharedBucket};
use regionctl_aws::types::{RecordChange, RecordSet, RecordSetType, RecordType, Routing};
use regionctl_aws::world::{AwsWorld, Host, WorldSettings, now_millis};
use regionctl_controller::ports::{
    Balancer, Compute, Dns, ErrorClass, ItemKind, Journal, JournalItem, Prober, WeightedRecord,
};
use regionctl_core::live::AlbState;
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

    // A kind no controller writes (`LEASE` was documented, never written) beside a good
    // item: an error of its own in its place, never a failed read (ADR 0012 §3).
    raw.put_item()
        .table_name(&table)
        .item("pk", s("HEARTBEAT"))
        .item("sk", s("us-east-1"))
        .item("kind", s("LEASE"))
        .item("owner", s("us-east-1"))
        .item("body", s("{}"))
        .send()
        .await
        .unwrap();
    let read = world.query("HEARTBEAT", "").await.unwrap();
    assert_eq!(read.len(), 2, "{read:?}");
    assert_eq!(read[0].as_ref().unwrap(), &fresh);
    let err = read[1].as_ref().unwrap_err();
    assert!(
        err.message()
            .contains("journal item HEARTBEAT / us-east-1: unknown kind LEASE"),
        "{err:?}"
    );
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

/// The default actions of a listener in front of Fargate and Lambda, as a real account may
/// have them: Cognito and OIDC authentication first, then a sticky weighted forward.
fn authenticated_actions(fargate: &str, lambda: &str) -> Vec<elb::Action> {
    let cognito = elb::Action::builder()
        .r#type(elb::ActionTypeEnum::AuthenticateCognito)
        .order(1)
        .authenticate_cognito_config(
            elb::AuthenticateCognitoActionConfig::builder()
                .user_pool_arn(
                    "arn:aws:cognito-idp:eu-central-1:123456789012:userpool/eu-central-1_p",
                )
                .user_pool_client_id("client")
                .user_pool_domain("login")
                .build(),
        )
        .build();
    let oidc = elb::Action::builder()
        .r#type(elb::ActionTypeEnum::AuthenticateOidc)
        .order(2)
        .authenticate_oidc_config(
            elb::AuthenticateOidcActionConfig::builder()
                .issuer("https://idp.example.com")
                .authorization_endpoint("https://idp.example.com/auth")
                .token_endpoint("https://idp.example.com/token")
                .user_info_endpoint("https://idp.example.com/userinfo")
                .client_id("playback")
                .client_secret("s3cret")
                .scope("openid")
                .build(),
        )
        .build();
    let tuple = |arn: &str, weight: i32| {
        elb::TargetGroupTuple::builder()
            .target_group_arn(arn)
            .weight(weight)
            .build()
    };
    let forward = elb::Action::builder()
        .r#type(elb::ActionTypeEnum::Forward)
        .order(3)
        .forward_config(
            elb::ForwardActionConfig::builder()
                .target_groups(tuple(fargate, 100))
                .target_groups(tuple(lambda, 0))
                .target_group_stickiness_config(
                    elb::TargetGroupStickinessConfig::builder()
                        .enabled(true)
                        .duration_seconds(300)
                        .build(),
                )
                .build(),
        )
        .build();
    vec![cognito, oidc, forward]
}

#[tokio::test]
async fn balancer_port_shifts_only_the_forward_weights() {
    let region = "eu-central-1";
    let config = sdk(region).await;
    let elb = Elbv2Client::new(&config);
    let raw = aws_sdk_elasticloadbalancingv2::Client::new(&config);
    let (vpc, subnets, _sg) = default_network(region);
    let lb = elb.create_alb(&unique("alb"), &subnets[..2]).await.unwrap();
    let fargate = elb
        .create_ip_target_group(&unique("tgf"), &vpc)
        .await
        .unwrap();
    let lambda = elb
        .create_lambda_target_group(&unique("tgl"))
        .await
        .unwrap();
    let created = authenticated_actions(&fargate, &lambda);
    let listener = raw
        .create_listener()
        .load_balancer_arn(&lb.arn)
        .protocol(elb::ProtocolEnum::Http)
        .port(80)
        .set_default_actions(Some(created.clone()))
        .send()
        .await
        .unwrap()
        .listeners()[0]
        .listener_arn()
        .unwrap()
        .to_string();
    let read = |arn: String| {
        let raw = raw.clone();
        async move {
            raw.describe_listeners()
                .listener_arns(arn)
                .send()
                .await
                .unwrap()
                .listeners()[0]
                .default_actions()
                .to_vec()
        }
    };

    let world = world(&unique("unused")).await;
    let half = AlbState {
        fargate: 50,
        lambda: 50,
    };
    world
        .set_split(region, &listener, &fargate, &lambda, half)
        .await
        .unwrap();
    assert_eq!(
        world
            .read_split(region, &listener, &fargate, &lambda)
            .await
            .unwrap(),
        Some(half)
    );
    let after = read(listener.clone()).await;
    assert_eq!(
        after.iter().map(elb::Action::order).collect::<Vec<_>>(),
        [Some(1), Some(2), Some(3)],
        "{after:#?}"
    );
    // Cognito as created; OIDC as created but for its secret, which goes back as "keep the
    // existing one" (AWS never returns it).
    assert_eq!(after[0], created[0]);
    let mut oidc = created[1].clone();
    if let Some(c) = oidc.authenticate_oidc_config.as_mut() {
        c.client_secret = None;
        c.use_existing_client_secret = Some(true);
    }
    assert_eq!(after[1], oidc);
    let forward = after[2].forward_config().unwrap();
    assert_eq!(
        forward
            .target_groups()
            .iter()
            .map(|t| (t.target_group_arn().unwrap(), t.weight()))
            .collect::<Vec<_>>(),
        [(fargate.as_str(), Some(50)), (lambda.as_str(), Some(50))]
    );
    assert_eq!(
        forward.target_group_stickiness_config(),
        created[2]
            .forward_config()
            .and_then(|c| c.target_group_stickiness_config())
    );

    // A listener whose forward goes elsewhere is refused by name and left as it was.
    let other = elb
        .create_ip_target_group(&unique("tgo"), &vpc)
        .await
        .unwrap();
    let foreign = raw
        .create_listener()
        .load_balancer_arn(&lb.arn)
        .protocol(elb::ProtocolEnum::Http)
        .port(81)
        .default_actions(
            elb::Action::builder()
                .r#type(elb::ActionTypeEnum::Forward)
                .target_group_arn(&other)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .listeners()[0]
        .listener_arn()
        .unwrap()
        .to_string();
    let before = read(foreign.clone()).await;
    let err = world
        .set_split(region, &foreign, &fargate, &lambda, half)
        .await
        .unwrap_err();
    assert_eq!((err.service, err.class), ("elbv2", ErrorClass::Permanent));
    assert!(
        err.display_chain().contains(&foreign),
        "{}",
        err.display_chain()
    );
    assert_eq!(read(foreign).await, before);
}
