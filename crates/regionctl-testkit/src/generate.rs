//! A generated bundle of N services × C cells × R regions, as YAML text, for benchmarks at
//! fleet scale.
//!
//! Every service is active-active in the same R regions with C cells, a region-wide and a
//! per-cell alarm, an HTTP probe, a data-plane switch per region and ECS capacity: the
//! shape of the core's `evaluate_plan` benchmark. [`FleetShape::BENCH`] (1,000 × 30 × 5) is
//! the shape `docs/PERFORMANCE.md` reports on.

use crate::yaml::{ControllerYaml, EcsYaml, ServiceYaml};
use regionctl_core::policy::raw::{RecordType, Strategy, SwitchScope};

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
}

impl FleetShape {
    /// 1,000 services × 30 cells × 5 regions: 150,000 weighted records, 155,000 alarms.
    pub const BENCH: FleetShape = FleetShape {
        services: 1_000,
        cells: 30,
        regions: 5,
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

    /// Service `i`.
    fn service(&self, i: usize) -> ServiceYaml {
        let name = format!("svc{i:04}");
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
        service.tier = 1;
        service.owner = Some("team-bench".into());
        service.routing.hosted_zone_id = format!("Z0BENCHEXAMPLE{i:05}");
        service.routing.record_type = Some(RecordType::Cname);
        service.routing.set_identifier = Some("{cell}-{region}".into());
        service.routing.value = format!("{name}-alb.{{region}}.example.com");
        service.routing.ttl_secs = Some(60);
        service.routing.switch = Some(SwitchScope::Region);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::example::{load, source_files};

    #[test]
    fn a_small_fleet_loads_with_the_shape_asked_for() {
        for (cells, per_service) in [(30, 30), (1, 1), (4, 4)] {
            let shape = FleetShape {
                services: 3,
                cells,
                regions: 4,
            };
            let bundle = load(&source_files(shape.files()));
            assert_eq!(bundle.services.len(), 3);
            for service in &bundle.services {
                assert_eq!(service.cells.len(), per_service);
                assert_eq!(service.regions.len(), 4);
                // A region-wide and a per-cell alarm in every region.
                assert_eq!(service.health.alarms.len(), 4 * (1 + per_service));
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
}
