//! A generated bundle of N services × C cells × R regions, as YAML text: the fleet
//! benchmark's bundle and `regionctl simulate --generate-services N`'s.
//!
//! Every service is active-active in the same R regions with C cells, a region-wide and a
//! per-cell alarm, an HTTP probe, a data-plane switch per region, ECS capacity and its own
//! hosted zone: the shape of the core's `evaluate_plan` benchmark. [`FleetShape::BENCH`]
//! (1,000 × 30 × 5) is the shape `docs/PERFORMANCE.md` reports on.
//!
//! It lives in the product (not the test kit) because `regionctl simulate` offers it: a
//! simulation at fleet size finds what only size shows (journal item sizes, Route 53 and
//! alarm read budgets against hundreds of zones and thousands of alarms).

use crate::policy_yaml::{ControllerYaml, EcsYaml, ServiceYaml};
use regionctl_core::policy::raw::{RecordType, SignalRole, Strategy, SwitchScope};
use std::path::Path;

/// Regions in the order they are taken, with their baseline weights (relative).
pub const REGIONS: [(&str, u32); 10] = [
    ("eu-central-1", 30),
    ("eu-west-1", 20),
    ("us-east-1", 20),
    ("us-west-2", 15),
    ("ap-southeast-1", 15),
    ("ap-northeast-1", 10),
    ("sa-east-1", 10),
    ("ca-central-1", 10),
    ("eu-north-1", 10),
    ("ap-south-1", 10),
];

/// Most services a generated fleet has: the policy loader's limit.
pub const MAX_SERVICES: usize = 10_000;

/// Most cells per generated service: 200 services × 1,000 cells × 3 regions are 600,000
/// weighted records, beyond what a simulated seed can run in minutes.
pub const MAX_CELLS: usize = 1_000;

/// The cells of 30: the example playback service's dimensions (3 × 2 × 5).
const CELLS_30: [(&str, &[&str]); 3] = [
    ("country", &["DE", "AT", "CH"]),
    ("plan", &["free", "paid"]),
    ("platform", &["ios", "android", "web", "tv", "console"]),
];

/// How big a generated bundle is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetShape {
    /// Services.
    pub services: usize,
    /// Cells per service: 30 is the example's country × plan × platform; any other count
    /// is one dimension `shard` (1: no cells section).
    pub cells: usize,
    /// Regions, taken in order from [`REGIONS`]; every region runs a controller.
    pub regions: usize,
    /// A `served` traffic signal per service (`<name>-{region}-requests`), as in
    /// `chaos/policies-served/`: the fleet can then tell a partition from an outage, and
    /// `simulate` injects isolations and checks `users-served`.
    pub served: bool,
    /// A data-plane switch per region (ADR 0007). Without them an evacuation is Route 53's
    /// weight writes alone, which at fleet size compete for its token bucket.
    pub switches: bool,
}

impl FleetShape {
    /// 1,000 services × 30 cells × 5 regions: 150,000 weighted records, 155,000 alarms.
    pub const BENCH: FleetShape = FleetShape {
        services: 1_000,
        cells: 30,
        regions: 5,
        served: false,
        switches: true,
    };

    /// The bundle: `generated/svcNNNN.yaml` per service and `generated/controller.yaml`.
    ///
    /// # Panics
    /// When `regions` is 0 or more than [`REGIONS`] has, or `cells` is 0.
    pub fn files(&self) -> Vec<(String, String)> {
        assert!(
            (1..=REGIONS.len()).contains(&self.regions),
            "1 to {} regions, not {}",
            REGIONS.len(),
            self.regions
        );
        assert!(self.cells > 0, "at least one cell");
        let mut files: Vec<(String, String)> = (0..self.services)
            .map(|i| {
                let service = self.service(i);
                (
                    format!("generated/{}.yaml", service.name),
                    service.to_yaml(),
                )
            })
            .collect();
        let regions: Vec<&str> = REGIONS[..self.regions].iter().map(|(r, _)| *r).collect();
        let mut controller = ControllerYaml::new(&regions);
        controller.name = "bench-fleet".into();
        files.push(("generated/controller.yaml".into(), controller.to_yaml()));
        files
    }

    /// A directory name that says the shape: `fleet-200x2x3` (services × cells × regions),
    /// `-served` added with served signals and `-no-switches` without switches.
    pub fn dir_name(&self) -> String {
        format!(
            "fleet-{}x{}x{}{}{}",
            self.services,
            self.cells,
            self.regions,
            if self.served { "-served" } else { "" },
            if self.switches { "" } else { "-no-switches" }
        )
    }

    /// The file names [`FleetShape::write`] writes (`svcNNNN.yaml`, `controller.yaml`).
    pub fn file_names(&self) -> Vec<String> {
        let mut names: Vec<String> = (0..self.services)
            .map(|i| format!("{}.yaml", service_name(i)))
            .collect();
        names.push("controller.yaml".into());
        names
    }

    /// Writes the bundle's files into `dir` (created), flat: `dir/svcNNNN.yaml` and
    /// `dir/controller.yaml`, a directory `--policies` (and a game-day's `world.policies`)
    /// loads as the same bundle, under the same hash, as [`FleetShape::files`].
    ///
    /// # Panics
    /// As [`FleetShape::files`].
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        for (path, text) in self.files() {
            let name = path.rsplit('/').next().unwrap_or(&path);
            std::fs::write(dir.join(name), text)?;
        }
        Ok(())
    }

    /// Service `i`.
    fn service(&self, i: usize) -> ServiceYaml {
        let name = service_name(i);
        let shards: Vec<String> = (0..self.cells).map(|c| format!("s{c:05}")).collect();
        let shards: Vec<&str> = shards.iter().map(String::as_str).collect();
        let dimensions: &[(&str, &[&str])] = match self.cells {
            30 => &CELLS_30,
            1 => &[],
            _ => &[("shard", &shards)],
        };
        let region_alarm = format!("{name}-{{region}}-5xx");
        let cell_alarm = format!("{name}-{{region}}-{{cell}}-errors");
        let mut service = ServiceYaml::new(&name, Strategy::ActiveActive, &REGIONS[..self.regions])
            .cells(dimensions)
            .alarms(&[region_alarm.as_str(), cell_alarm.as_str()])
            .http_probe(
                &format!("https://{name}.{{region}}.example.com/healthz"),
                2000,
            )
            .windows(60, 300)
            .safety("min_healthy_regions", 1)
            .safety("max_shift_percent_per_step", 25)
            .safety("cooldown_secs", 300);
        if self.served {
            service = service.signal(&format!("{name}-{{region}}-requests"), SignalRole::Served);
        }
        service.tier = 1;
        service.owner = Some("team-bench".into());
        service.routing.hosted_zone_id = format!("Z0BENCHEXAMPLE{i:05}");
        service.routing.record_type = Some(RecordType::Cname);
        service.routing.set_identifier = Some("{cell}-{region}".into());
        service.routing.value = format!("{name}-alb.{{region}}.example.com");
        service.routing.ttl_secs = Some(60);
        service.routing.switch = self.switches.then_some(SwitchScope::Region);
        service.ecs = Some(EcsYaml {
            cluster: "bench-{region}".into(),
            service: name,
            standby_count: 2,
            full_count: 20,
            readiness_percent: Some(80),
            max_wait_secs: Some(300),
        });
        service
    }
}

/// Service `i`'s name.
fn service_name(i: usize) -> String {
    format!("svc{i:04}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy_yaml::load;

    #[test]
    fn a_small_fleet_loads_with_the_shape_asked_for() {
        for (cells, per_service, served, switches) in [
            (30, 30, false, true),
            (1, 1, false, true),
            (4, 4, true, false),
        ] {
            let shape = FleetShape {
                services: 3,
                cells,
                regions: 4,
                served,
                switches,
            };
            let bundle = load(shape.files());
            assert_eq!(bundle.services.len(), 3);
            for service in &bundle.services {
                assert_eq!(service.cells.len(), per_service);
                assert_eq!(service.regions.len(), 4);
                // A region-wide and a per-cell alarm in every region, and a served signal
                // if asked for.
                let signals = usize::from(served);
                assert_eq!(service.health.alarms.len(), 4 * (1 + per_service + signals));
                let served_alarms = service
                    .health
                    .alarms
                    .iter()
                    .filter(|a| a.role == SignalRole::Served)
                    .count();
                assert_eq!(served_alarms, 4 * signals);
                assert_eq!(service.routing.switch.is_some(), switches);
            }
            assert_eq!(bundle.controller.map(|c| c.regions.len()), Some(4));
        }
    }

    #[test]
    fn the_bench_shape_is_the_documented_one() {
        let files = FleetShape::BENCH.files();
        assert_eq!(files.len(), 1_001);
        assert_eq!(files[0].0, "generated/svc0000.yaml");
        assert!(files[999].1.contains("Z0BENCHEXAMPLE00999"));
    }

    #[test]
    fn a_written_fleet_loads_from_disk_as_the_same_bundle() {
        let shape = FleetShape {
            services: 5,
            cells: 2,
            regions: 3,
            served: true,
            switches: true,
        };
        let dir = std::env::temp_dir().join(format!(
            "regionctl-generate-{}-{}",
            std::process::id(),
            shape.dir_name()
        ));
        std::fs::remove_dir_all(&dir).ok();
        shape.write(&dir).expect("write the fleet");
        let mut listed: Vec<String> = std::fs::read_dir(&dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        listed.sort();
        let mut names = shape.file_names();
        names.sort();
        assert_eq!(listed, names);
        let from_disk = crate::simulate::load_bundle(&dir).expect("loads from disk");
        let in_memory = load(shape.files());
        // The hash is what a rollout and the heartbeats compare: a replay from disk must
        // see the bundle the simulation ran.
        assert_eq!(from_disk.hash, in_memory.hash);
        assert_eq!(from_disk.services.len(), 5);
        std::fs::remove_dir_all(&dir).ok();
    }
}
