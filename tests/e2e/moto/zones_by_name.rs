//! A hosted zone named by domain (`routing.hosted_zone`), end to end on moto.
//!
//! Goal: a policy that names its zone by domain provisions and runs without knowing the
//! account's zone id. Method: the fixture policies with catalog's zone named by a domain
//! no zone has yet; `provision` refuses with the zone and the service named; with
//! `--create-zones` it creates the zone and the records in it; a controller pass and
//! `iam` then find the zone by its name.

use super::{Fixture, all_alarms_ok, cloudwatch_clients, regionctl, run_once};
use crate::harness;
use regionctl_core::policy::ZoneName;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zone_named_by_domain_is_created_found_and_written() {
    let endpoint = harness::endpoint().to_string();
    let fx = Fixture::new("zname").await;
    let domain = format!("{}.example.com", fx.prefix);
    fx.edit(
        "catalog.yaml",
        &format!("hosted_zone_id: \"{}\"", fx.zone("{{ZONE_CATALOG}}")),
        &format!("hosted_zone: {domain}"),
    );
    fx.edit(
        "catalog.yaml",
        "record_name: \"catalog.example.com\"",
        &format!("record_name: \"catalog.{domain}\""),
    );
    let dir = fx.dir_arg();

    // No such zone yet: refused, naming the zone, the service and the way out.
    let refused = regionctl(&["provision", "--policies", &dir, "--endpoint-url", &endpoint]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("public zone {domain}: not found"))
            && stderr.contains("catalog")
            && stderr.contains("--create-zones"),
        "{stderr}"
    );

    // Created on request, with the service's records in it.
    let out = super::ok(&regionctl(&[
        "provision",
        "--policies",
        &dir,
        "--endpoint-url",
        &endpoint,
        "--create-zones",
    ]));
    assert!(
        out.contains(&format!("(public zone {domain})")),
        "provision reports the zone it created:\n{out}"
    );
    let zone = ZoneName {
        name: domain.clone(),
        vpc: None,
    };
    let id = fx.route53.find_zone(&zone).await.expect("the zone exists");
    let (records, _) = fx.route53.list_record_sets(&id).await.expect("records");
    let catalog: Vec<_> = records
        .iter()
        .filter(|r| r.name == format!("catalog.{domain}."))
        .collect();
    // catalog runs in eu-central-1 and eu-west-1: one weighted record each.
    assert_eq!(catalog.len(), 2, "{records:?}");

    // A second provision finds the zone by name and creates no other.
    let again = super::ok(&regionctl(&[
        "provision",
        "--policies",
        &dir,
        "--endpoint-url",
        &endpoint,
        "--create-zones",
    ]));
    assert!(!again.contains("hosted zone"), "{again}");

    // A controller resolves it at start-up and passes cleanly.
    all_alarms_ok(&cloudwatch_clients().await, &fx.prefix).await;
    let pass = run_once(&dir, "eu-west-1", &endpoint);
    assert_eq!(
        pass["decisions"].as_array().map(Vec::len),
        Some(0),
        "{pass}"
    );
    assert!(
        pass["read_failures"]
            .as_array()
            .is_none_or(|f| f.iter().all(|x| !x.to_string().contains("route53"))),
        "{pass}"
    );

    // `iam` names the zone by its id, and lets the controller find it by name.
    let iam = super::ok(&regionctl(&[
        "iam",
        "--policies",
        &dir,
        "--role",
        "controller",
        "--endpoint-url",
        &endpoint,
    ]));
    assert!(iam.contains(&format!("hostedzone/{id}")), "{iam}");
    assert!(iam.contains("route53:ListHostedZonesByName"), "{iam}");
    assert!(iam.contains("route53:GetHostedZone"), "{iam}");
    let _ = std::fs::remove_dir_all(&fx.dir);
}
