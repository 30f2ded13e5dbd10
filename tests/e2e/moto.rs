//! `provision` and `run --once` against moto: a region loss end to end, and the operator's
//! controls.
//!
//! Every test gets its own [`Fixture`]: hosted zones on the shared moto server and the
//! fixture policies (`tests/fixtures/moto/`, through the test kit) written with this test's
//! unique names.
//!
//! - `region_loss`: the first complete slice over the real wire protocol, and a lone
//!   controller standing down.
//! - `operator`: pause, propose, approve, explain, an expiring proposal, and an override.
//! - `journal`: forged and malformed heartbeats change nothing and are reported.

mod journal;
mod operator;
mod region_loss;
mod zones_by_name;

use crate::harness;
use regionctl_aws::cloudwatch::CloudWatchClient;
use regionctl_aws::route53::{Route53Client, SharedBucket};
use regionctl_aws::types::{AlarmState, RecordSet, Routing};
use regionctl_testkit::fixtures::{self, REGIONS, ZONES};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;

pub fn regionctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_regionctl"))
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("the regionctl binary runs")
}

pub fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "regionctl failed ({:?}):\n{stdout}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// One test's world on moto: hosted zones created, the fixture policies written with this
/// run's zone ids and unique names (so tests share one moto server safely).
pub struct Fixture {
    /// Unique prefix of every name this test creates.
    pub prefix: String,
    /// us-east-1 SDK configuration (Route 53 and the journal live there).
    pub global: regionctl_aws::config::SdkConfig,
    /// Route 53 client.
    pub route53: Route53Client,
    /// Placeholder → hosted zone id.
    pub zones: Vec<(&'static str, String)>,
    /// Journal table.
    pub table: String,
    /// The policy directory.
    pub dir: PathBuf,
}

impl Fixture {
    /// Creates the zones and writes the policies.
    pub async fn new(label: &str) -> Fixture {
        let prefix = harness::unique(label);
        let global = harness::sdk("us-east-1").await;
        let route53 = Route53Client::new(&global, Arc::new(SharedBucket::new(Default::default())));
        let mut zones = Vec::new();
        for (key, name) in ZONES {
            let id = route53
                .create_hosted_zone(name, &format!("{prefix}-{name}"))
                .await
                .expect("create zone");
            zones.push((key, id.trim_start_matches("/hostedzone/").to_string()));
        }
        let network = regionctl_testkit::moto::network_yaml(&REGIONS);
        let dir = std::env::temp_dir().join(format!("regionctl-{prefix}"));
        let files = fixtures::moto_policies(&prefix, &zones, &network);
        regionctl_testkit::write_files(&dir, &files).expect("write policies");
        Fixture {
            table: fixtures::journal_table(&prefix),
            prefix,
            global,
            route53,
            zones,
            dir,
        }
    }

    /// The zone id for a placeholder such as `{{ZONE_PLAYBACK}}`.
    pub fn zone(&self, key: &str) -> String {
        self.zones
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, z)| z.clone())
            .expect("known zone placeholder")
    }

    /// The policy directory as a UTF-8 string, for command lines.
    pub fn dir_arg(&self) -> String {
        self.dir.to_str().expect("utf-8 path").to_string()
    }

    /// Replaces `from` with `to` in one of the policy files.
    pub fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.dir.join(file);
        let text = std::fs::read_to_string(&path).expect("read");
        std::fs::write(&path, text.replace(from, to)).expect("write");
    }

    /// `regionctl provision` of the policies on moto; its output.
    pub fn provision(&self) -> String {
        let dir = self.dir_arg();
        ok(&regionctl(&[
            "provision",
            "--policies",
            &dir,
            "--endpoint-url",
            harness::endpoint(),
        ]))
    }

    /// Sets the `services`' 5xx alarms in `region` to `state`, with `reason`.
    pub async fn set_alarms(
        &self,
        region: &str,
        services: &[&str],
        state: AlarmState,
        reason: &str,
    ) {
        let cw = CloudWatchClient::new(&harness::sdk(region).await);
        for svc in services {
            cw.set_alarm_state(
                &format!("{}-{svc}-{region}-5xx", self.prefix),
                state,
                reason,
            )
            .await
            .expect("set alarm state");
        }
    }

    /// Region loss: every service's 5xx alarm in `region` to ALARM.
    pub async fn lose_region(&self, region: &str) {
        self.set_alarms(region, &SERVICES, AlarmState::Alarm, "test: region loss")
            .await;
    }
}

/// The fixture's services.
pub const SERVICES: [&str; 3] = ["playback", "auth", "catalog"];

/// One `run --once --output json` pass from `region`.
fn run_once(dir: &str, region: &str, endpoint: &str) -> serde_json::Value {
    let out = regionctl(&[
        "run",
        "--once",
        "--region",
        region,
        "--policies",
        dir,
        "--endpoint-url",
        endpoint,
        "--output",
        "json",
    ]);
    serde_json::from_str(&ok(&out)).expect("run --once --output json prints JSON")
}

/// Every fixture service's 5xx alarm that exists in a region to OK (moto never evaluates
/// alarms; a provisioned alarm starts INSUFFICIENT_DATA).
async fn all_alarms_ok(cw: &[(String, CloudWatchClient)], prefix: &str) {
    for (region, client) in cw {
        for svc in SERVICES {
            let name = format!("{prefix}-{svc}-{region}-5xx");
            if client
                .alarms_by_names(std::slice::from_ref(&name))
                .await
                .expect("describe")
                .is_empty()
            {
                continue;
            }
            client
                .set_alarm_state(&name, AlarmState::Ok, "test: healthy")
                .await
                .expect("set OK");
        }
    }
}

/// A CloudWatch client per fixture region.
async fn cloudwatch_clients() -> Vec<(String, CloudWatchClient)> {
    let mut out = Vec::new();
    for r in REGIONS {
        out.push((r.to_string(), CloudWatchClient::new(&harness::sdk(r).await)));
    }
    out
}

/// The weight of the first eu-central-1 weighted record among `records`.
fn weight_of_euc1(records: &[RecordSet]) -> Option<u8> {
    records.iter().find_map(|r| match &r.routing {
        Routing::Weighted {
            set_identifier,
            weight,
        } if set_identifier.ends_with("eu-central-1") => Some(*weight),
        _ => None,
    })
}
