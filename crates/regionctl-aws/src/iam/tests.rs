//! The generator on the example bundle (`policies/`): narrow resources, the conditions each
//! role's writes are held to, and IAM's size limit.

use super::arn::{load_balancers_like, target_groups_like};
use super::document::{MANAGED_POLICY_LIMIT, NO_RESOURCE_TYPE};
use super::*;
use regionctl_testkit::example::example_bundle;

const ACCOUNT: &str = "123456789012";

fn fixed() -> Fixed<'static> {
    Fixed {
        heartbeat_namespace: "regionctl/controller",
        chaos_namespace: "regionctl/chaos",
        alarm_rule: "regionctl-alarm-state-changes",
        events_queue: "regionctl-events",
    }
}

fn generate(bundle: &Bundle, role: Role, account: Option<&str>, partition: &str) -> Document {
    let controller = bundle.controller.clone().expect("a controller config");
    document(
        role,
        &Inputs {
            bundle,
            controller: &controller,
            fixed: fixed(),
            partition,
            account,
        },
    )
}

fn example(role: Role) -> Document {
    generate(&example_bundle(), role, Some(ACCOUNT), "aws")
}

fn statements_with<'a>(doc: &'a Document, action: &str) -> Vec<&'a Statement> {
    doc.statements
        .iter()
        .filter(|s| s.actions.iter().any(|a| a == action))
        .collect()
}

fn condition<'a>(s: &'a Statement, operator: &str, key: &str) -> &'a [String] {
    s.conditions
        .get(operator)
        .and_then(|c| c.get(key))
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("{}: no {operator} {key}", s.sid))
}

#[test]
fn record_names_are_spelled_as_route53_compares_them() {
    assert_eq!(
        normalized_record_name("EU.Play.Example.com."),
        "eu.play.example.com"
    );
    assert_eq!(
        normalized_record_name("*.x_y-1.example.com"),
        "\\052.x_y-1.example.com"
    );
    assert_eq!(normalized_record_name("a b"), "a\\040b");
}

#[test]
fn sandbox_patterns_keep_the_names_and_drop_only_the_ids() {
    assert_eq!(
        load_balancers_like(
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/playback/1/1"
        )
        .as_deref(),
        Some("arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/playback/*")
    );
    assert_eq!(
        target_groups_like(
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/playback-fargate/1"
        )
        .as_deref(),
        Some("arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/playback-fargate/*")
    );
    assert_eq!(load_balancers_like("arn:aws:sqs:eu-west-1:1:q"), None);
}

#[test]
fn the_controller_may_only_upsert_the_managed_records_in_their_zones() {
    let doc = example(Role::Controller);
    let writes = statements_with(&doc, "route53:ChangeResourceRecordSets");
    // One statement per hosted zone the policies name, each on that zone only.
    assert_eq!(writes.len(), 6, "{writes:#?}");
    for s in &writes {
        assert_eq!(s.resources.len(), 1);
        assert!(s.resources[0].starts_with("arn:aws:route53:::hostedzone/Z0"));
        let all = "ForAllValues:StringEquals";
        assert_eq!(
            condition(s, all, "route53:ChangeResourceRecordSetsActions"),
            ["UPSERT"]
        );
        assert!(
            !condition(
                s,
                all,
                "route53:ChangeResourceRecordSetsNormalizedRecordNames"
            )
            .is_empty()
        );
    }
    let playback = writes
        .iter()
        .find(|s| s.resources[0].ends_with("/Z0PLAYBACKEXAMPLE01"))
        .expect("the playback zone");
    let names = condition(
        playback,
        "ForAllValues:StringEquals",
        "route53:ChangeResourceRecordSetsNormalizedRecordNames",
    );
    assert!(
        names.iter().all(|n| n.ends_with(".play.example.com")),
        "{names:?}"
    );
    assert!(names.iter().all(|n| *n == n.to_ascii_lowercase()));
    assert_eq!(
        condition(
            playback,
            "ForAllValues:StringEquals",
            "route53:ChangeResourceRecordSetsRecordTypes"
        ),
        ["CNAME"]
    );
    // The geolocation record is provisioned, never moved.
    let content = writes
        .iter()
        .find(|s| s.resources[0].ends_with("/Z0CONTENTEXAMPLE001"))
        .expect("the content zone");
    let names = condition(
        content,
        "ForAllValues:StringEquals",
        "route53:ChangeResourceRecordSetsNormalizedRecordNames",
    );
    assert!(
        !names.contains(&"content.example.com".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"eu.content.example.com".to_string()),
        "{names:?}"
    );
}

#[test]
fn journal_writes_are_held_to_each_writers_partitions() {
    let leading = |doc: &Document, action: &str| -> Vec<String> {
        let s = statements_with(doc, action);
        assert_eq!(s.len(), 1, "{s:#?}");
        assert_eq!(
            s[0].resources,
            [
                "arn:aws:dynamodb:eu-central-1:123456789012:table/regionctl-journal",
                "arn:aws:dynamodb:eu-west-1:123456789012:table/regionctl-journal",
                "arn:aws:dynamodb:us-east-1:123456789012:table/regionctl-journal",
            ]
        );
        condition(s[0], "ForAllValues:StringEquals", "dynamodb:LeadingKeys").to_vec()
    };
    let controller = example(Role::Controller);
    let writes = leading(&controller, "dynamodb:PutItem");
    // Its own heartbeat and digest partitions only, through the role's region tag; the
    // decision partitions, which every controller shares.
    for pk in [
        "HEARTBEAT#${aws:PrincipalTag/regionctl-region}",
        "OBS#${aws:PrincipalTag/regionctl-region}",
        "DECISION#playback",
        "DECISION#auth",
    ] {
        assert!(writes.contains(&pk.to_string()), "{writes:?}");
    }
    for pk in [
        "APPROVAL",
        "CONTROL",
        "HEARTBEAT#eu-west-1",
        "OBS#eu-west-1",
    ] {
        assert!(!writes.contains(&pk.to_string()), "{writes:?}");
    }
    let reads = leading(&controller, "dynamodb:Query");
    for pk in ["APPROVAL", "HEARTBEAT#eu-west-1", "OBS#us-east-1"] {
        assert!(reads.contains(&pk.to_string()), "{reads:?}");
    }
    let operator = example(Role::Operator);
    assert_eq!(
        leading(&operator, "dynamodb:PutItem"),
        ["APPROVAL", "CONTROL"]
    );
    let reads = leading(&operator, "dynamodb:Query");
    assert!(
        !reads.iter().any(|pk| pk.starts_with("OBS#"))
            && reads.contains(&"HEARTBEAT#eu-central-1".to_string()),
        "{reads:?}"
    );
    assert_eq!(
        operator.actions().into_iter().collect::<Vec<_>>(),
        ["dynamodb:PutItem", "dynamodb:Query"]
    );
}

#[test]
fn capacity_and_metrics_are_held_to_what_the_policies_name() {
    let doc = example(Role::Controller);
    let ecs = statements_with(&doc, "ecs:UpdateService");
    assert!(
        ecs[0].resources.contains(
            &"arn:aws:ecs:eu-central-1:123456789012:service/streaming-eu-central-1/playback"
                .to_string()
        ),
        "{ecs:#?}"
    );
    let listeners = statements_with(&doc, "elasticloadbalancing:ModifyListener");
    assert_eq!(
        listeners[0].resources,
        [
            "arn:aws:elasticloadbalancing:eu-central-1:123456789012:listener/app/playback/1/1",
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/playback/1/1",
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/playback/1/1",
        ]
    );
    let put = statements_with(&doc, "cloudwatch:PutMetricData");
    assert_eq!(
        condition(put[0], "StringEquals", "cloudwatch:namespace"),
        ["regionctl/controller", "regionctl/switch"]
    );
    let gameday = example(Role::Gameday);
    let put = statements_with(&gameday, "cloudwatch:PutMetricData");
    assert_eq!(
        condition(put[0], "StringEquals", "cloudwatch:namespace"),
        ["regionctl/chaos"]
    );
}

#[test]
fn no_role_names_a_wider_resource_than_aws_allows() {
    for role in Role::ALL {
        let doc = example(role);
        assert!(!doc.statements.is_empty());
        for s in &doc.statements {
            assert!(
                s.sid.chars().all(|c| c.is_ascii_alphanumeric()),
                "{}",
                s.sid
            );
            for r in &s.resources {
                if r == "*" {
                    // Only actions AWS gives no resource type, and the Sid says so.
                    assert!(
                        s.actions
                            .iter()
                            .all(|a| NO_RESOURCE_TYPE.contains(&a.as_str())),
                        "{role:?} {}: {:?} on *",
                        s.sid,
                        s.actions
                    );
                    assert!(s.sid.contains("NoResourceType"), "{}", s.sid);
                    continue;
                }
                assert!(!r.contains(":*:"), "{role:?} {}: {r}", s.sid);
                // An id pattern only where the id exists once AWS made the resource.
                if r.contains('*') {
                    assert!(
                        r.ends_with(":change/*")
                            || r.ends_with(":healthcheck/*")
                            || (role == Role::Provision && r.ends_with("/*")),
                        "{role:?} {}: {r}",
                        s.sid
                    );
                    assert!(s.sid.contains("KnownOnlyOnce"), "{}", s.sid);
                }
            }
        }
    }
}

#[test]
fn documents_are_split_into_managed_policies_that_fit() {
    for role in Role::ALL {
        let whole = example(role);
        let parts = whole.split().unwrap();
        for part in &parts {
            assert!(
                part.size() <= MANAGED_POLICY_LIMIT,
                "{role:?}: {}",
                part.size()
            );
        }
        // Nothing lost, nothing added: the same statements, resources and conditions.
        let flat = |docs: &[Document]| {
            let mut grants: Vec<(String, Vec<String>, String)> = docs
                .iter()
                .flat_map(|d| &d.statements)
                .flat_map(|s| {
                    s.resources
                        .iter()
                        .map(|r| (r.clone(), s.actions.clone(), format!("{:?}", s.conditions)))
                })
                .collect();
            grants.sort();
            grants
        };
        assert_eq!(flat(&parts), flat(std::slice::from_ref(&whole)), "{role:?}");
        if whole.size() <= MANAGED_POLICY_LIMIT {
            assert_eq!(parts, [whole]);
        }
    }
}

#[test]
fn a_statement_too_large_alone_is_split_by_its_resources() {
    let resources: Vec<String> = (0..200)
        .map(|i| format!("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:service-{i:03}-errors"))
        .collect();
    let doc = Document::new(vec![
        Statement::allow(
            "Small",
            &["sqs:ReceiveMessage"],
            ["arn:aws:sqs:eu-west-1:1:q".into()],
        ),
        Statement::allow(
            "ReadAlarms",
            &["cloudwatch:DescribeAlarms"],
            resources.clone(),
        ),
    ]);
    let parts = doc.split().unwrap();
    assert!(parts.len() >= 2, "{}", doc.size());
    let sids: Vec<&str> = parts
        .iter()
        .flat_map(|d| &d.statements)
        .map(|s| s.sid.as_str())
        .collect();
    assert_eq!(sids[0], "Small");
    // Pieces are placed first-fit, so a later, smaller piece may join an earlier part:
    // their numbers are 1..n, in whatever parts they landed.
    let mut pieces: Vec<&str> = sids[1..].to_vec();
    pieces.sort_by_key(|s| s.trim_start_matches("ReadAlarms").parse::<usize>().ok());
    let numbered: Vec<String> = (1..=pieces.len())
        .map(|i| format!("ReadAlarms{i}"))
        .collect();
    assert_eq!(pieces, numbered, "{sids:?}");
    let mut back: Vec<String> = parts
        .iter()
        .flat_map(|d| &d.statements)
        .filter(|s| s.sid != "Small")
        .flat_map(|s| s.resources.clone())
        .collect();
    back.sort();
    assert_eq!(back, resources);
    // A single resource whose conditions alone are too long cannot be split.
    let huge = Statement::allow("Huge", &["route53:ChangeResourceRecordSets"], ["z".into()]).when(
        "ForAllValues:StringEquals",
        "route53:ChangeResourceRecordSetsNormalizedRecordNames",
        (0..400).map(|i| format!("cell-{i}.example.com")),
    );
    let err = Document::new(vec![huge]).split().unwrap_err();
    assert!(err.contains("Huge"), "{err}");
}

#[test]
fn account_and_partition_go_into_every_arn() {
    let bundle = example_bundle();
    let any = generate(&bundle, Role::Controller, None, "aws-us-gov");
    let queue = statements_with(&any, "sqs:ReceiveMessage");
    assert!(
        queue[0]
            .resources
            .contains(&"arn:aws-us-gov:sqs:eu-west-1:*:regionctl-alarm-events".to_string()),
        "{queue:#?}"
    );
    let zones = statements_with(&any, "route53:ListResourceRecordSets");
    assert!(zones[0].resources[0].starts_with("arn:aws-us-gov:route53:::hostedzone/"));
}

#[test]
fn a_bundle_without_albs_or_switches_gets_no_statement_for_them() {
    let mut bundle = example_bundle();
    for s in &mut bundle.services {
        s.alb = None;
        s.routing.switch = None;
    }
    let doc = generate(&bundle, Role::Controller, Some(ACCOUNT), "aws");
    let actions = doc.actions();
    assert!(
        !actions
            .iter()
            .any(|a| a.starts_with("elasticloadbalancing:")),
        "{actions:?}"
    );
    assert!(!actions.contains("cloudwatch:GetMetricData"));
    let put = statements_with(&doc, "cloudwatch:PutMetricData");
    assert_eq!(
        condition(put[0], "StringEquals", "cloudwatch:namespace"),
        ["regionctl/controller"]
    );
}
