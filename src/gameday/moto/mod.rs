//! `regionctl gameday --target moto`: a game-day against a moto server, with the
//! controllers as real `regionctl run` processes.
//!
//! # What it does
//! Starts moto (`scripts/moto.sh start`) unless `--endpoint-url` is given; copies the
//! scenario's policies to a temporary directory, giving every `gameday-` name a run id,
//! creating the hosted zones the policies name and substituting their new ids, pointing
//! every probe at local HTTP endpoint servers (one per region: 200 while up, 503 while the
//! scenario fails that region's endpoints) through `per_region`, pinning the journal to one
//! region (moto does not replicate DynamoDB) and filling `provision.network` from moto's
//! default VPCs; runs `regionctl provision`; starts one `regionctl run --region R` per
//! controller; then plays the timeline in real time through the game-day driver.
//!
//! # What it supports
//! Faults: `endpoints-fail` (503) and `alarm` (`SetAlarmState` on every alarm bound in the
//! region), and `recover`. Operator actions: `pause`, `resume`, `override` and `approve`,
//! written to the journal as the CLI writes them (`operator`). Expectations: `traffic` and `failback` from the weights
//! *written* to Route 53 (moto answers no DNS: no health-check answering rules, no TTL
//! lag), `decision`, `decisions` and `capacity-before-traffic` (step order of the decision)
//! from the journal, `stand-down` from each controller's `/status`. Steady-state checks are
//! not evaluated. Anything else is refused before anything starts.
//!
//! Rollback always runs: alarms back to OK, endpoints up, controllers stopped, moto stopped
//! if this run started it.

mod operator;
pub mod sandbox;
mod setup;

use super::fleet::{self, Fleet};
use super::observe::Observer;
use super::report::{self, Observed};
use super::{Console, Ending, run_id, timeline_line};
use anyhow::{Context, Result, bail};
use regionctl_aws::cloudwatch::CloudWatchClient;
use regionctl_aws::ecs::EcsClient;
use regionctl_aws::elbv2::Elbv2Client;
use regionctl_aws::route53::{Route53Client, SharedBucket};
use regionctl_aws::types::AlarmState;
use regionctl_aws::world::RegionClients;
use regionctl_core::policy::Bundle;
use regionctl_local::endpoint::StubEndpoint;
use regionctl_sim::gameday::{Fault, Log, SeenDecision, Target, driver};
use regionctl_sim::scenario::{Loaded, ScenarioAlarmState, What};
use setup::{Rewrite, TempDir};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often Route 53 weights and controller status are sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(500);

/// Options of a moto game-day.
pub struct MotoOptions {
    /// Scenario file.
    pub scenario: PathBuf,
    /// A running moto server; without it, this run starts one.
    pub endpoint_url: Option<String>,
    /// Report directory (default `reports/<scenario name>/`).
    pub report: Option<PathBuf>,
}

/// Runs a game-day on moto.
pub fn run(opts: &MotoOptions, console: &dyn Console) -> Result<Ending> {
    let prepared = super::prepare(&opts.scenario, console)?;
    setup::supported(&prepared.0)?;
    let started = Instant::now();
    let (endpoint, moto) = match &opts.endpoint_url {
        Some(url) => (url.clone(), None),
        None => {
            let (url, server) = setup::start_moto(&opts.scenario)?;
            (url, Some(server))
        }
    };
    if !(endpoint.starts_with("http://127.0.0.1") || endpoint.starts_with("http://localhost")) {
        bail!("--target moto talks to a local moto only (http://127.0.0.1:PORT), not {endpoint}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = runtime.block_on(play(opts, &prepared, &endpoint, console));
    drop(moto);
    let passed = result?;
    console.say(&format!("wall time {:.0?}", started.elapsed()));
    Ok(Ending::Ran { passed })
}

/// Everything set up on moto for this run.
struct MotoSetup {
    endpoint: String,
    run_id: String,
    /// The rewritten policies (removed on drop).
    dir: TempDir,
    report_dir: PathBuf,
    regions: Vec<String>,
    journal_region: String,
    journal_table: String,
    route53: Route53Client,
    /// Hosted zone ids the policies name → the zones created on moto.
    zones: BTreeMap<String, String>,
    endpoints: BTreeMap<String, StubEndpoint>,
    /// CloudWatch (faults), ECS and ELBv2 (observing compute) clients per region.
    clients: BTreeMap<String, RegionClients>,
    /// The bundle as rewritten (alarm names with the run id).
    live_bundle: Bundle,
}

async fn play(
    opts: &MotoOptions,
    (loaded, bundle, controllers): &(Loaded, Bundle, Vec<String>),
    endpoint: &str,
    console: &dyn Console,
) -> Result<bool> {
    let s = &loaded.scenario;
    let from = SetUpFrom {
        policies: &loaded.policies,
        bundle,
        tick_secs: s.world.tick.map(|t| t.secs().max(1)),
        report_dir: super::report_dir(opts.report.as_ref(), s)?,
    };
    let setup = set_up(from, endpoint).await?;
    console.say(&format!(
        "game-day {} on moto ({endpoint}): {} controllers ({}), {} of real time, run {}",
        s.name,
        controllers.len(),
        controllers.join(", "),
        s.world.duration,
        setup.run_id
    ));
    provision(&setup, console).await?;
    let policies = setup.dir.0.to_string_lossy().to_string();
    let fleet = fleet::start(
        &|| setup::regionctl_command(endpoint),
        controllers,
        &policies,
        Some(endpoint),
        &setup.report_dir,
    )?;
    let mut target = Moto {
        setup: &setup,
        fleet: Some(fleet),
        observer: Observer::new(&setup.live_bundle, setup.zones.clone(), SAMPLE_EVERY),
        console,
    };
    let played = timeline(loaded, &mut target).await;
    roll_back(&setup, target.fleet.take(), console).await;
    played?;
    let decisions = target.decisions().await?;
    let observed = Observed {
        target: "moto",
        place: format!("moto at {endpoint}"),
        run_id: &setup.run_id,
        evidence: target.observer.evidence(decisions),
        t0_ms: target.observer.started_ms(),
        aborted: None,
        caveats: format!(
            "Controllers ran as real `regionctl run` processes; Route 53 was sampled every {} \
             ms, ECS desired counts and ALB listener weights every sample too; stand-downs \
             come from each controller's `/status`; steady-state checks are not evaluated on \
             moto.",
            SAMPLE_EVERY.as_millis()
        ),
        extra: serde_json::json!({ "endpoint": endpoint }),
    };
    let passed = report::finish(
        (loaded, &setup.live_bundle, controllers),
        &observed,
        &setup.report_dir,
        console,
    )?;
    console.say(&format!(
        "report: {}/report.md, report.json, controller-*.log",
        setup.report_dir.display()
    ));
    Ok(passed)
}

/// Waits for the fleet, then plays the timeline.
async fn timeline(loaded: &Loaded, target: &mut Moto<'_>) -> Result<()> {
    if let Some(fleet) = &target.fleet {
        fleet::wait_ready(fleet, target.console).await?;
    }
    let started = Instant::now();
    let console = target.console;
    let mut progress = |e: &regionctl_sim::gameday::Event| {
        console.progress(&timeline_line(started.elapsed().as_secs_f64(), e));
    };
    let mut log = Log::new(&mut progress);
    driver::play(&loaded.scenario, target, &mut log).await?;
    Ok(())
}

/// What [`set_up`] builds a moto world from.
struct SetUpFrom<'a> {
    /// The policy directory as written.
    policies: &'a std::path::Path,
    /// Its bundle.
    bundle: &'a Bundle,
    /// A tick to impose on the controllers, if any.
    tick_secs: Option<u64>,
    /// Where controller logs (and reports) go.
    report_dir: PathBuf,
}

/// Zones, endpoint servers, rewritten policies, CloudWatch clients, the live bundle.
async fn set_up(from: SetUpFrom<'_>, endpoint: &str) -> Result<MotoSetup> {
    let bundle = from.bundle;
    let run_id = run_id();
    let dir = TempDir(std::env::temp_dir().join(format!("regionctl-gameday-{run_id}")));
    let report_dir = from.report_dir;
    let Some(controller) = bundle.controller.clone() else {
        bail!("the scenario's policies have no ControllerConfig");
    };
    let regions = controller.regions.clone();
    let journal_region = controller
        .journal_region
        .clone()
        .or_else(|| regions.first().cloned())
        .unwrap_or_else(|| "us-east-1".into());
    let global = regionctl_aws::config::load_for_tests("us-east-1", endpoint).await;
    let route53 = Route53Client::new(&global, Arc::new(SharedBucket::new(Default::default())));
    let zones = create_zones(&route53, bundle, &run_id).await?;
    // A stand-in endpoint server for every region a service runs in (controller regions
    // or not), each service's probes pointed at its own regions' servers.
    let mut endpoints: BTreeMap<String, StubEndpoint> = BTreeMap::new();
    for r in bundle.regions.iter().chain(&regions) {
        if !endpoints.contains_key(r) {
            endpoints.insert(r.clone(), StubEndpoint::start()?);
        }
    }
    let urls: BTreeMap<String, String> = endpoints
        .iter()
        .map(|(r, e)| (r.clone(), format!("http://127.0.0.1:{}/healthz", e.port)))
        .collect();
    let service_regions: BTreeMap<String, Vec<String>> = bundle
        .services
        .iter()
        .filter_map(|s| {
            let file = std::path::Path::new(&s.file).file_name()?;
            let regions = s.regions.iter().map(|r| r.name.clone()).collect();
            Some((file.to_string_lossy().into_owned(), regions))
        })
        .collect();
    let network = regionctl_local::network::provision_network_yaml(
        endpoint,
        &network_regions(&bundle.regions, &regions),
    )?;
    let rewrite = Rewrite {
        run_id: &run_id,
        zones: &zones,
        endpoints: &urls,
        service_regions: &service_regions,
        journal_region: &journal_region,
        tick_secs: from.tick_secs,
        network: &network,
    };
    setup::rewrite_policies(from.policies, &dir.0, &rewrite)?;
    let journal_table = controller
        .journal_table
        .replace("gameday-", &format!("{run_id}-"));
    let mut clients = BTreeMap::new();
    for r in &regions {
        let sdk = regionctl_aws::config::load_for_tests(r, endpoint).await;
        let region = RegionClients {
            cloudwatch: CloudWatchClient::new(&sdk),
            ecs: EcsClient::new(&sdk),
            elbv2: Elbv2Client::new(&sdk),
        };
        clients.insert(r.clone(), region);
    }
    let files = regionctl_controller::policy_files::read(std::slice::from_ref(&dir.0))?;
    let mut live_bundle = regionctl_core::policy::load(&files)
        .map_err(|d| anyhow::anyhow!("rewritten policies rejected: {d:?}"))?;
    crate::zones::resolve_with(&mut live_bundle, &route53)
        .await
        .map_err(anyhow::Error::msg)?;
    Ok(MotoSetup {
        endpoint: endpoint.to_string(),
        run_id,
        dir,
        report_dir,
        regions,
        journal_region,
        journal_table,
        route53,
        zones,
        endpoints,
        clients,
        live_bundle,
    })
}

/// The regions `provision` needs a network in: every region a service runs in (`services`)
/// for its Fargate services, controller region or not, and the controllers' (a fleet in
/// five regions with controllers in three stopped at `provision` before this).
fn network_regions(services: &[String], controllers: &[String]) -> Vec<String> {
    let mut out = services.to_vec();
    for r in controllers {
        if !out.contains(r) {
            out.push(r.clone());
        }
    }
    out
}

/// One hosted zone on moto per zone the policies name: old id → new id for zones named by
/// id; zones named by domain are created under their name (if missing) and found by it,
/// as the controllers will.
async fn create_zones(
    route53: &Route53Client,
    bundle: &Bundle,
    run_id: &str,
) -> Result<BTreeMap<String, String>> {
    for zone in bundle.named_zones().keys() {
        if let Err(regionctl_aws::AwsError::ZoneNotFound { .. }) = route53.find_zone(zone).await {
            route53
                .create_zone(zone, "us-east-1", &format!("{run_id}-{}", zone.name))
                .await
                .with_context(|| format!("creating {zone} on moto"))?;
        }
    }
    let mut zones: BTreeMap<String, String> = BTreeMap::new();
    for svc in bundle
        .services
        .iter()
        .filter(|s| s.routing.zone_name.is_none())
    {
        let old = &svc.routing.hosted_zone_id;
        if zones.contains_key(old) {
            continue;
        }
        let name = svc
            .cells
            .first()
            .map(|c| setup::zone_name(&c.record_name))
            .unwrap_or_else(|| "example.com".into());
        let id = route53
            .create_hosted_zone(&name, &format!("{run_id}-{old}"))
            .await
            .with_context(|| format!("creating hosted zone {name} on moto"))?;
        zones.insert(
            old.clone(),
            id.trim_start_matches("/hostedzone/").to_string(),
        );
    }
    Ok(zones)
}

/// `regionctl provision` of the rewritten policies, then every alarm OK.
async fn provision(setup: &MotoSetup, console: &dyn Console) -> Result<()> {
    let d = setup.dir.0.to_string_lossy().to_string();
    let endpoint = setup.endpoint.as_str();
    let out = setup::regionctl_command(endpoint)?
        .args(["provision", "--policies", &d, "--endpoint-url", endpoint])
        .output()?;
    if !out.status.success() {
        bail!(
            "regionctl provision failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    console.progress(&format!("provisioned {} on moto", setup.dir.0.display()));
    for r in &setup.regions {
        set_alarms(setup, r, AlarmState::Ok, "game-day: steady state").await?;
    }
    Ok(())
}

/// Rollback, always: endpoints up, alarms OK, controllers stopped.
async fn roll_back(setup: &MotoSetup, fleet: Option<Fleet>, console: &dyn Console) {
    for e in setup.endpoints.values() {
        e.set_up(true);
    }
    for r in &setup.regions {
        if let Err(e) = set_alarms(setup, r, AlarmState::Ok, "game-day: rollback").await {
            console.warn(&format!("rollback: alarms in {r}: {e:#}"));
        }
    }
    drop(fleet);
    console.progress("rollback: alarms OK, endpoints up, controllers stopped");
}

/// Every alarm name the bundle binds in `region`.
fn alarms_in(bundle: &Bundle, region: &str) -> Vec<String> {
    let mut names = BTreeSet::new();
    for s in &bundle.services {
        for a in &s.health.alarms {
            if s.regions.get(a.r).is_some_and(|r| r.name == region) {
                names.insert(a.name.clone());
            }
        }
    }
    names.into_iter().collect()
}

/// Sets every alarm bound in `region` to `state`; how many.
async fn set_alarms(
    setup: &MotoSetup,
    region: &str,
    state: AlarmState,
    reason: &str,
) -> Result<usize> {
    let Some(client) = setup.clients.get(region).map(|c| &c.cloudwatch) else {
        return Ok(0);
    };
    let names = alarms_in(&setup.live_bundle, region);
    for n in &names {
        client
            .set_alarm_state(n, state, reason)
            .await
            .with_context(|| format!("SetAlarmState {n}"))?;
    }
    Ok(names.len())
}

/// The moto world as a game-day target.
struct Moto<'a> {
    setup: &'a MotoSetup,
    /// The controllers (taken by the rollback, which stops them).
    fleet: Option<Fleet>,
    observer: Observer,
    console: &'a dyn Console,
}

impl Target for Moto<'_> {
    type Error = anyhow::Error;

    async fn next_instant(&mut self, end: u64) -> Result<Option<u64>> {
        Ok(self.observer.next_instant(end).await)
    }

    async fn inject(&mut self, fault: &Fault<'_>, _log: &mut Log<'_>) -> Result<String> {
        let e = fault.entry;
        let r = e.place.region.clone().unwrap_or_default();
        Ok(match e.what {
            What::EndpointsFail => {
                if let Some(ep) = self.setup.endpoints.get(&r) {
                    ep.set_up(false);
                }
                format!("{}: endpoints in {r} answer 503", fault.id)
            }
            What::Alarm => {
                let state = match e.state {
                    Some(ScenarioAlarmState::Ok) => AlarmState::Ok,
                    Some(ScenarioAlarmState::InsufficientData) => AlarmState::InsufficientData,
                    _ => AlarmState::Alarm,
                };
                let count = set_alarms(self.setup, &r, state, "game-day fault").await?;
                format!("{}: {count} alarm(s) in {r} set to {state:?}", fault.id)
            }
            What::Pause | What::Resume | What::Override | What::Approve => {
                let text = operator::act(self.setup, e).await?;
                format!("{}: {text}", fault.id)
            }
            // Refused before anything starts (`setup::supported`).
            other => format!("{}: `{}` is not injected on moto", fault.id, other.as_str()),
        })
    }

    async fn lift(
        &mut self,
        faults: &[Fault<'_>],
        _t: u64,
        _log: &mut Log<'_>,
    ) -> Result<Option<String>> {
        for f in faults {
            let r = f.entry.place.region.clone().unwrap_or_default();
            if f.entry.what == What::EndpointsFail {
                if let Some(ep) = self.setup.endpoints.get(&r) {
                    ep.set_up(true);
                }
            } else {
                set_alarms(self.setup, &r, AlarmState::Ok, "game-day recover").await?;
            }
        }
        Ok(None)
    }

    async fn advance(&mut self, _t: u64, _log: &mut Log<'_>) -> Result<()> {
        Ok(())
    }

    async fn sample(&mut self, t: u64, _log: &mut Log<'_>) -> Result<()> {
        self.observer
            .sample_weights(&self.setup.route53, t, self.console)
            .await;
        self.observer
            .sample_compute(&self.setup.clients, t, self.console)
            .await;
        if let Some(fleet) = &self.fleet {
            self.observer.poll_stand_downs(fleet, t, self.console);
        }
        Ok(())
    }

    async fn decisions(&mut self) -> Result<BTreeMap<String, SeenDecision>> {
        let journal = operator::journal(self.setup).await;
        self.observer.decisions(&journal).await
    }
}

#[cfg(test)]
mod tests {
    use super::network_regions;

    #[test]
    fn every_service_region_gets_a_network_not_only_the_controllers() {
        let v = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let services = v(&["eu-central-1", "eu-west-1", "us-west-2"]);
        let controllers = v(&["eu-west-1", "us-east-1"]);
        assert_eq!(
            network_regions(&services, &controllers),
            v(&["eu-central-1", "eu-west-1", "us-west-2", "us-east-1"])
        );
    }
}
