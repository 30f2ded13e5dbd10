//! Builders for policy files: say what matters, get valid YAML text. The fleet generator
//! ([`crate::generate`], behind `regionctl simulate --generate-services`) renders its
//! services with them, and tests and benchmarks build small bundles with them.
//!
//! ```
//! use regionctl_core::policy::{self, SourceFile, raw::Strategy};
//! use regionctl_sim::policy_yaml::{ControllerYaml, ServiceYaml};
//!
//! let files: Vec<SourceFile> = [
//!     ServiceYaml::new("api", Strategy::ActiveActive, &[("eu-central-1", 50), ("eu-west-1", 50)])
//!         .cells(&[("country", &["DE", "AT"])])
//!         .safety("cooldown_secs", 60)
//!         .file(),
//!     ControllerYaml::new(&["eu-central-1", "eu-west-1"]).file(),
//! ]
//! .into_iter()
//! .map(|(path, text)| SourceFile { path, text })
//! .collect();
//! let bundle = policy::load(&files).expect("valid policies");
//! assert_eq!(bundle.services[0].cells.len(), 2);
//! ```
//!
//! Every string is written double-quoted (JSON quoting is valid YAML), so names with `{`,
//! `:` or `#` need no care. What a builder does not offer, a test writes by hand.

use regionctl_core::policy::raw::{Mode, RecordType, SignalRole, Strategy, SwitchScope};
use std::fmt::Display;

/// `s` as a double-quoted YAML scalar.
fn q(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// Appends `text` and a newline.
fn line(out: &mut String, text: impl Display) {
    out.push_str(&text.to_string());
    out.push('\n');
}

/// A `ServicePolicy` document.
#[derive(Debug, Clone)]
pub struct ServiceYaml {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.owner`.
    pub owner: Option<String>,
    /// `spec.tier` (default 2).
    pub tier: u8,
    /// `spec.strategy`.
    pub strategy: Strategy,
    /// `spec.mode` (default `enforce`: tests usually want the plan applied).
    pub mode: Option<Mode>,
    /// `spec.depends_on`.
    pub depends_on: Vec<String>,
    /// `spec.regions`: name and weight, in order.
    pub regions: Vec<(String, u32)>,
    /// `spec.cells.dimensions`: name and values (none: one cell).
    pub dimensions: Vec<(String, Vec<String>)>,
    /// `spec.health.alarms` names (default `<name>-{region}-5xx`), each a failure signal.
    pub alarms: Vec<String>,
    /// Further `spec.health.alarms` with another role (`served`, `load`, ...), after
    /// `alarms`.
    pub signals: Vec<(String, SignalRole)>,
    /// `spec.health.probes`: HTTP targets and their timeout in milliseconds.
    pub http_probes: Vec<(String, u32)>,
    /// `spec.health.fail_after_secs`.
    pub fail_after_secs: Option<u64>,
    /// `spec.health.recover_after_secs`.
    pub recover_after_secs: Option<u64>,
    /// `spec.routing`.
    pub routing: RoutingYaml,
    /// `spec.compute.ecs`.
    pub ecs: Option<EcsYaml>,
    /// `spec.safety`: key and value, in order.
    pub safety: Vec<(String, String)>,
}

/// A service's `spec.routing`.
#[derive(Debug, Clone)]
pub struct RoutingYaml {
    /// `hosted_zone_id` (default `Z0` and the service name in capitals).
    pub hosted_zone_id: String,
    /// `record_name` (default `<name>.example.com`, `{cell}.<name>.example.com` with cells).
    pub record_name: Option<String>,
    /// `record_type` (the loader's default when `None`).
    pub record_type: Option<RecordType>,
    /// `set_identifier` (the loader's default when `None`).
    pub set_identifier: Option<String>,
    /// `value` (default `<name>.{region}.example.com`).
    pub value: String,
    /// `ttl_secs`.
    pub ttl_secs: Option<u32>,
    /// `switch`, with its scope.
    pub switch: Option<SwitchScope>,
}

/// A service's `spec.compute.ecs`.
#[derive(Debug, Clone)]
pub struct EcsYaml {
    /// `cluster` (a template: `{region}` allowed).
    pub cluster: String,
    /// `service`.
    pub service: String,
    /// `standby_count`.
    pub standby_count: u32,
    /// `full_count`.
    pub full_count: u32,
    /// `readiness_percent`.
    pub readiness_percent: Option<u32>,
    /// `max_wait_secs`.
    pub max_wait_secs: Option<u64>,
}

impl ServiceYaml {
    /// A service in `regions` (name, weight) with one region-wide alarm and default routing.
    pub fn new(name: &str, strategy: Strategy, regions: &[(&str, u32)]) -> ServiceYaml {
        let zone: String = name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .take(30)
            .collect();
        ServiceYaml {
            name: name.to_string(),
            owner: None,
            tier: 2,
            strategy,
            mode: Some(Mode::Enforce),
            depends_on: Vec::new(),
            regions: regions
                .iter()
                .map(|(r, w)| ((*r).to_string(), *w))
                .collect(),
            dimensions: Vec::new(),
            alarms: vec![format!("{name}-{{region}}-5xx")],
            signals: Vec::new(),
            http_probes: Vec::new(),
            fail_after_secs: None,
            recover_after_secs: None,
            routing: RoutingYaml {
                hosted_zone_id: format!("Z0{zone}"),
                record_name: None,
                record_type: None,
                set_identifier: None,
                value: format!("{name}.{{region}}.example.com"),
                ttl_secs: None,
                switch: None,
            },
            ecs: None,
            safety: Vec::new(),
        }
    }

    /// Cells: the cartesian product of these dimensions.
    pub fn cells(mut self, dimensions: &[(&str, &[&str])]) -> ServiceYaml {
        self.dimensions = dimensions
            .iter()
            .map(|(d, vs)| {
                (
                    (*d).to_string(),
                    vs.iter().map(|v| (*v).to_string()).collect(),
                )
            })
            .collect();
        self
    }

    /// Replaces the alarms.
    pub fn alarms(mut self, names: &[&str]) -> ServiceYaml {
        self.alarms = names.iter().map(|n| (*n).to_string()).collect();
        self
    }

    /// Adds an alarm with `role` (a `served` traffic signal, a `load` alarm, ...).
    pub fn signal(mut self, name: &str, role: SignalRole) -> ServiceYaml {
        self.signals.push((name.to_string(), role));
        self
    }

    /// Adds an HTTP probe.
    pub fn http_probe(mut self, target: &str, timeout_ms: u32) -> ServiceYaml {
        self.http_probes.push((target.to_string(), timeout_ms));
        self
    }

    /// Sets `fail_after_secs` and `recover_after_secs`.
    pub fn windows(mut self, fail_after_secs: u64, recover_after_secs: u64) -> ServiceYaml {
        self.fail_after_secs = Some(fail_after_secs);
        self.recover_after_secs = Some(recover_after_secs);
        self
    }

    /// ECS capacity: `cluster` (a template) and the standby and full counts.
    pub fn ecs(mut self, cluster: &str, standby_count: u32, full_count: u32) -> ServiceYaml {
        self.ecs = Some(EcsYaml {
            cluster: cluster.to_string(),
            service: self.name.clone(),
            standby_count,
            full_count,
            readiness_percent: None,
            max_wait_secs: None,
        });
        self
    }

    /// One `spec.safety` setting.
    pub fn safety(mut self, key: &str, value: impl Display) -> ServiceYaml {
        self.safety.push((key.to_string(), value.to_string()));
        self
    }

    /// The document.
    pub fn to_yaml(&self) -> String {
        let mut out = String::with_capacity(2048);
        self.write_head(&mut out);
        self.write_cells(&mut out);
        self.write_health(&mut out);
        self.write_routing(&mut out);
        self.write_compute(&mut out);
        if !self.safety.is_empty() {
            line(&mut out, "  safety:");
            for (key, value) in &self.safety {
                line(&mut out, format_args!("    {key}: {value}"));
            }
        }
        out
    }

    /// `(<name>.yaml, document)`.
    pub fn file(&self) -> (String, String) {
        (format!("{}.yaml", self.name), self.to_yaml())
    }

    fn write_head(&self, out: &mut String) {
        line(
            out,
            "apiVersion: regionctl/v1\nkind: ServicePolicy\nmetadata:",
        );
        line(out, format_args!("  name: {}", q(&self.name)));
        if let Some(owner) = &self.owner {
            line(out, format_args!("  owner: {}", q(owner)));
        }
        line(out, format_args!("spec:\n  tier: {}", self.tier));
        line(out, format_args!("  strategy: {}", self.strategy.as_str()));
        if let Some(mode) = self.mode {
            line(out, format_args!("  mode: {}", mode.as_str()));
        }
        if !self.depends_on.is_empty() {
            let names: Vec<String> = self.depends_on.iter().map(|d| q(d)).collect();
            line(out, format_args!("  depends_on: [{}]", names.join(", ")));
        }
        line(out, "  regions:");
        for (region, weight) in &self.regions {
            line(
                out,
                format_args!("    - name: {}\n      weight: {weight}", q(region)),
            );
        }
    }

    fn write_cells(&self, out: &mut String) {
        if self.dimensions.is_empty() {
            return;
        }
        line(out, "  cells:\n    dimensions:");
        for (name, values) in &self.dimensions {
            let values: Vec<String> = values.iter().map(|v| q(v)).collect();
            line(out, format_args!("      - name: {}", q(name)));
            line(out, format_args!("        values: [{}]", values.join(", ")));
        }
    }

    fn write_health(&self, out: &mut String) {
        line(out, "  health:");
        if !self.alarms.is_empty() || !self.signals.is_empty() {
            line(out, "    alarms:");
            for alarm in &self.alarms {
                line(out, format_args!("      - name: {}", q(alarm)));
            }
            for (alarm, role) in &self.signals {
                line(out, format_args!("      - name: {}", q(alarm)));
                line(out, format_args!("        role: {}", role.as_str()));
            }
        }
        if !self.http_probes.is_empty() {
            line(out, "    probes:");
            for (target, timeout_ms) in &self.http_probes {
                line(
                    out,
                    format_args!("      - protocol: http\n        target: {}", q(target)),
                );
                line(out, format_args!("        timeout_ms: {timeout_ms}"));
            }
        }
        if let Some(secs) = self.fail_after_secs {
            line(out, format_args!("    fail_after_secs: {secs}"));
        }
        if let Some(secs) = self.recover_after_secs {
            line(out, format_args!("    recover_after_secs: {secs}"));
        }
    }

    fn write_routing(&self, out: &mut String) {
        let r = &self.routing;
        let default_record = if self.dimensions.is_empty() {
            format!("{}.example.com", self.name)
        } else {
            format!("{{cell}}.{}.example.com", self.name)
        };
        line(out, "  routing:");
        line(
            out,
            format_args!("    hosted_zone_id: {}", q(&r.hosted_zone_id)),
        );
        let record = r.record_name.as_deref().unwrap_or(&default_record);
        line(out, format_args!("    record_name: {}", q(record)));
        if let Some(rtype) = r.record_type {
            line(out, format_args!("    record_type: {}", rtype.as_str()));
        }
        if let Some(set_identifier) = &r.set_identifier {
            line(
                out,
                format_args!("    set_identifier: {}", q(set_identifier)),
            );
        }
        line(out, format_args!("    value: {}", q(&r.value)));
        if let Some(ttl) = r.ttl_secs {
            line(out, format_args!("    ttl_secs: {ttl}"));
        }
        match r.switch {
            Some(SwitchScope::Region) => line(out, "    switch:\n      scope: region"),
            Some(SwitchScope::Cell) => line(out, "    switch:\n      scope: cell"),
            None => {}
        }
    }

    fn write_compute(&self, out: &mut String) {
        let Some(ecs) = &self.ecs else { return };
        line(out, "  compute:\n    ecs:");
        line(out, format_args!("      cluster: {}", q(&ecs.cluster)));
        line(out, format_args!("      service: {}", q(&ecs.service)));
        line(
            out,
            format_args!("      standby_count: {}", ecs.standby_count),
        );
        line(out, format_args!("      full_count: {}", ecs.full_count));
        if let Some(percent) = ecs.readiness_percent {
            line(out, format_args!("      readiness_percent: {percent}"));
        }
        if let Some(secs) = ecs.max_wait_secs {
            line(out, format_args!("      max_wait_secs: {secs}"));
        }
    }
}

/// A `ControllerConfig` document.
#[derive(Debug, Clone)]
pub struct ControllerYaml {
    /// `metadata.name`.
    pub name: String,
    /// `spec.regions`: the controllers, in fleet order.
    pub regions: Vec<String>,
    /// Further `spec` settings: key and value (a scalar or flow YAML), in order.
    pub settings: Vec<(String, String)>,
}

impl ControllerYaml {
    /// Controllers in `regions`, every other setting at its default.
    pub fn new(regions: &[&str]) -> ControllerYaml {
        ControllerYaml {
            name: "test-fleet".into(),
            regions: regions.iter().map(|r| (*r).to_string()).collect(),
            settings: Vec::new(),
        }
    }

    /// One `spec` setting, e.g. `("tick_secs", 1)`.
    pub fn setting(mut self, key: &str, value: impl Display) -> ControllerYaml {
        self.settings.push((key.to_string(), value.to_string()));
        self
    }

    /// The document.
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        line(
            &mut out,
            "apiVersion: regionctl/v1\nkind: ControllerConfig\nmetadata:",
        );
        line(&mut out, format_args!("  name: {}\nspec:", q(&self.name)));
        let regions: Vec<String> = self.regions.iter().map(|r| q(r)).collect();
        line(
            &mut out,
            format_args!("  regions: [{}]", regions.join(", ")),
        );
        for (key, value) in &self.settings {
            line(&mut out, format_args!("  {key}: {value}"));
        }
        out
    }

    /// `(controller.yaml, document)`.
    pub fn file(&self) -> (String, String) {
        ("controller.yaml".into(), self.to_yaml())
    }
}

/// `(path, text)` pairs loaded as a bundle, panicking with every diagnostic.
#[cfg(test)]
pub(crate) fn load(files: Vec<(String, String)>) -> regionctl_core::policy::Bundle {
    let files: Vec<regionctl_core::policy::SourceFile> = files
        .into_iter()
        .map(|(path, text)| regionctl_core::policy::SourceFile { path, text })
        .collect();
    regionctl_core::policy::load(&files).unwrap_or_else(|diagnostics| {
        let text: String = diagnostics.iter().map(ToString::to_string).collect();
        panic!("the bundle must load:\n{text}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_service_and_controller_load() {
        let files = vec![
            ServiceYaml::new(
                "api",
                Strategy::ActiveActive,
                &[("eu-central-1", 60), ("eu-west-1", 40)],
            )
            .file(),
            ControllerYaml::new(&["eu-central-1", "eu-west-1"])
                .setting("tick_secs", 1)
                .file(),
        ];
        let bundle = load(files);
        let api = &bundle.services[0];
        assert_eq!(api.name, "api");
        assert_eq!(api.regions.len(), 2);
        assert_eq!(api.cells.len(), 1);
        assert_eq!(api.health.alarms.len(), 2, "one alarm per region");
        assert_eq!(bundle.controller.map(|c| c.tick_secs), Some(1));
    }

    #[test]
    fn every_section_renders_and_loads() {
        let mut svc = ServiceYaml::new(
            "full",
            Strategy::WarmStandby,
            &[("eu-central-1", 100), ("eu-west-1", 0)],
        )
        .cells(&[("plan", &["free", "paid"]), ("platform", &["ios", "web"])])
        .alarms(&["full-{region}-5xx", "full-{region}-{cell}-errors"])
        .signal("full-{region}-requests", SignalRole::Served)
        .http_probe("https://full.{region}.example.com/healthz", 2000)
        .windows(60, 300)
        .ecs("full-{region}", 2, 10)
        .safety("max_shift_percent_per_step", 50);
        svc.owner = Some("team-test".into());
        svc.routing.record_type = Some(RecordType::Cname);
        svc.routing.ttl_secs = Some(30);
        svc.routing.switch = Some(SwitchScope::Region);
        let bundle = load(vec![svc.file()]);
        let full = &bundle.services[0];
        assert_eq!(full.cells.len(), 4);
        assert_eq!(full.health.alarms.len(), 2 + 2 * 4 + 2);
        let served: Vec<&str> = full
            .health
            .alarms
            .iter()
            .filter(|a| a.role == SignalRole::Served)
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(
            served,
            ["full-eu-central-1-requests", "full-eu-west-1-requests"]
        );
        assert!(full.ecs.is_some());
        assert!(full.routing.switch.is_some());
        assert_eq!(full.safety.max_shift_percent_per_step, 50);
    }

    #[test]
    fn strings_are_quoted() {
        let svc = ServiceYaml::new("q", Strategy::ActiveActive, &[("eu-west-1", 1)])
            .alarms(&["a: #b {region}"]);
        assert!(svc.to_yaml().contains(r#"      - name: "a: #b {region}""#));
    }
}
