//! Hosted zones named by domain (`routing.hosted_zone`): what `load` accepts, the errors it
//! gives, and resolution to ids.

use regionctl_core::policy::{Diagnostic, SourceFile, ZoneName, load};
use std::collections::BTreeMap;

fn policy(name: &str, zone: &str, record: &str) -> SourceFile {
    let text = format!(
        r#"apiVersion: regionctl/v1
kind: ServicePolicy
metadata:
  name: {name}
spec:
  tier: 3
  strategy: active-active
  regions:
    - name: eu-central-1
      weight: 50
    - name: eu-west-1
      weight: 50
  health:
    alarms:
      - name: "{name}-{{region}}-5xx"
  routing:
{zone}
    record_name: "{record}"
    value: "{name}.{{region}}.example.com"
"#
    );
    SourceFile {
        path: format!("{name}.yaml"),
        text,
    }
}

fn errors(files: &[SourceFile]) -> Vec<Diagnostic> {
    match load(files) {
        Ok(_) => panic!("the bundle must be rejected"),
        Err(d) => d.into_iter().filter(Diagnostic::is_error).collect(),
    }
}

fn error_at<'a>(d: &'a [Diagnostic], file: &str, field: &str) -> &'a Diagnostic {
    d.iter()
        .find(|x| x.file == file && x.field == field)
        .unwrap_or_else(|| panic!("no error at {file} `{field}`; got {d:#?}"))
}

#[test]
fn a_zone_named_by_domain_loads_and_resolves_to_its_id() {
    let files = [
        policy(
            "alpha",
            "    hosted_zone: Play.Example.com.",
            "alpha.play.example.com",
        ),
        policy(
            "beta",
            "    hosted_zone: play.example.com",
            "beta.play.example.com",
        ),
        policy(
            "gamma",
            "    hosted_zone: internal.example\n    hosted_zone_vpc: vpc-0123456789abcdef0",
            "gamma.internal.example",
        ),
        policy("delta", "    hosted_zone_id: Z0DELTA", "delta.example.com"),
    ];
    let mut bundle = load(&files).expect("valid");
    let public = ZoneName {
        name: "play.example.com".into(),
        vpc: None,
    };
    let private = ZoneName {
        name: "internal.example".into(),
        vpc: Some("vpc-0123456789abcdef0".into()),
    };
    let named = bundle.named_zones();
    assert_eq!(named.len(), 2, "{named:?}");
    assert_eq!(named[&public], ["alpha", "beta"]);
    assert_eq!(named[&private], ["gamma"]);
    // Unresolved, the name stands in for the id (a key for planning, never a valid id).
    let alpha = bundle.service_index("alpha").expect("alpha");
    assert_eq!(
        bundle.services[alpha].routing.hosted_zone_id,
        "play.example.com"
    );

    let ids = BTreeMap::from([(public.clone(), "Z0PLAY".to_string())]);
    assert_eq!(bundle.resolve_zones(&ids), vec![private.clone()]);
    assert_eq!(bundle.services[alpha].routing.hosted_zone_id, "Z0PLAY");
    let ids = BTreeMap::from([(public, "Z0PLAY".into()), (private, "Z0INTERNAL".into())]);
    assert!(bundle.resolve_zones(&ids).is_empty());
    let id = |s: &str| {
        let i = bundle.service_index(s).expect("service");
        bundle.services[i].routing.hosted_zone_id.clone()
    };
    assert_eq!(
        [id("alpha"), id("beta"), id("gamma"), id("delta")],
        ["Z0PLAY", "Z0PLAY", "Z0INTERNAL", "Z0DELTA"]
    );
}

#[test]
fn zone_mistakes_are_reported_at_their_field() {
    let files = [
        policy(
            "both",
            "    hosted_zone: play.example.com\n    hosted_zone_id: Z0BOTH",
            "both.play.example.com",
        ),
        policy("neither", "    ttl_secs: 60", "neither.example.com"),
        policy(
            "outside",
            "    hosted_zone: play.example.com",
            "outside.example.com",
        ),
        policy(
            "badname",
            "    hosted_zone: play..example.com",
            "x.play.example.com",
        ),
        policy(
            "vpconly",
            "    hosted_zone_id: Z0VPC\n    hosted_zone_vpc: vpc-0123abcd",
            "x.example.com",
        ),
        policy(
            "badvpc",
            "    hosted_zone: internal.example\n    hosted_zone_vpc: subnet-1",
            "x.internal.example",
        ),
    ];
    let d = errors(&files);
    let both = error_at(&d, "both.yaml", "spec.routing.hosted_zone");
    assert!(both.message.contains("not both"), "{both}");
    let neither = d
        .iter()
        .find(|x| x.file == "neither.yaml")
        .expect("neither");
    assert!(neither.message.contains("no hosted zone"), "{neither}");
    let outside = error_at(&d, "outside.yaml", "spec.routing.record_name");
    assert!(
        outside
            .message
            .contains("not inside hosted zone `play.example.com`")
    );
    assert!(outside.line.is_some(), "a line to go to: {outside}");
    let bad = d
        .iter()
        .find(|x| x.file == "badname.yaml")
        .expect("badname");
    assert!(bad.message.contains("not a domain name"), "{bad}");
    let vpconly = d
        .iter()
        .find(|x| x.file == "vpconly.yaml")
        .expect("vpconly");
    assert!(
        vpconly.message.contains("goes with `hosted_zone`"),
        "{vpconly}"
    );
    let badvpc = d.iter().find(|x| x.file == "badvpc.yaml").expect("badvpc");
    assert!(badvpc.message.contains("not a VPC id"), "{badvpc}");
}
