//! Policy unit tests (`regionctl test`): given down, degraded or unknown regions or cells,
//! expect this traffic, these steps, these alerts. Pure: the same planner as production,
//! on the policy's steady state at a fixed time.

use crate::controls::Controls;
use crate::health::{HealthView, Verdict};
use crate::live::LiveState;
use crate::plan::{self, Inputs, Plan};
use crate::policy::raw::TestCase;
use crate::policy::{Bundle, Service};
use crate::signal_scenario::{SignalSetting, apply_signals, parse_signal};
use crate::time::Timestamp;

/// Step kinds a test may name.
pub const STEP_KINDS: [&str; 6] = ["scale", "wait", "shift", "alb", "restore", "switch"];

/// The fixed "now" of policy tests and `plan` (any value works; the planner reads no clock).
pub const SCENARIO_NOW: Timestamp = Timestamp::from_secs(1_790_000_000);

/// A parsed `[service:]region[/cell]` target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Service name, or every service.
    pub service: Option<String>,
    /// Region name.
    pub region: String,
    /// Cell id, or every cell.
    pub cell: Option<String>,
}

/// Parses and checks a target against the bundle's services and regions.
pub fn parse_target(
    text: &str,
    services: &[Service],
    regions: &[String],
) -> Result<Target, String> {
    let (service, rest) = match text.split_once(':') {
        Some((s, rest)) => (Some(s.to_string()), rest),
        None => (None, text),
    };
    let (region, cell) = match rest.split_once('/') {
        Some((r, c)) => (r.to_string(), Some(c.to_string())),
        None => (rest.to_string(), None),
    };
    if !regions.contains(&region) {
        let hint =
            crate::policy::diagnostics::did_you_mean(&region, regions.iter().map(String::as_str))
                .map(|b| format!(" (did you mean `{b}`?)"))
                .unwrap_or_default();
        return Err(format!(
            "`{text}`: unknown region `{region}`{hint}; expected [service:]region[/cell]"
        ));
    }
    let candidates: Vec<&Service> = match &service {
        Some(name) => match services.iter().find(|s| &s.name == name) {
            Some(s) => vec![s],
            None => return Err(format!("`{text}`: unknown service `{name}`")),
        },
        None => services.iter().collect(),
    };
    if let Some(cell) = &cell
        && !candidates
            .iter()
            .any(|s| s.cells.iter().any(|c| &c.id == cell))
    {
        return Err(format!("`{text}`: no service has a cell `{cell}`"));
    }
    Ok(Target {
        service,
        region,
        cell,
    })
}

/// A health scenario: lists of down, degraded and unknown targets.
#[derive(Debug, Clone, Default)]
pub struct Scenario {
    /// Hard down.
    pub down: Vec<Target>,
    /// Degraded.
    pub degraded: Vec<Target>,
    /// Unknown.
    pub unknown: Vec<Target>,
    /// Individual signals (`plan --signal`), evaluated like the controllers do.
    pub signals: Vec<SignalSetting>,
}

impl Scenario {
    /// Parses the three lists.
    pub fn parse(
        bundle: &Bundle,
        down: &[String],
        degraded: &[String],
        unknown: &[String],
    ) -> Result<Scenario, String> {
        let p = |list: &[String]| -> Result<Vec<Target>, String> {
            list.iter()
                .map(|t| parse_target(t, &bundle.services, &bundle.regions))
                .collect()
        };
        Ok(Scenario {
            down: p(down)?,
            degraded: p(degraded)?,
            unknown: p(unknown)?,
            signals: Vec::new(),
        })
    }

    /// Adds `plan --signal` settings (`SERVICE:REGION:KIND=fail|ok,…`).
    pub fn with_signals(mut self, bundle: &Bundle, signals: &[String]) -> Result<Self, String> {
        self.signals = signals
            .iter()
            .map(|t| parse_signal(bundle, t))
            .collect::<Result<_, _>>()?;
        Ok(self)
    }

    /// The health view this scenario describes at `now`: listed targets fail since `now`,
    /// everything else has been healthy for a day.
    pub fn health(&self, bundle: &Bundle, now: Timestamp) -> HealthView {
        let mut view =
            HealthView::assume(bundle, Timestamp(now.millis() - 86_400_000), |_, _, _| {
                Verdict::Healthy
            });
        for (s, service) in bundle.services.iter().enumerate() {
            for (c, cell) in service.cells.iter().enumerate() {
                for (r, sr) in service.regions.iter().enumerate() {
                    let hit = |list: &[Target]| {
                        list.iter().any(|t| {
                            t.region == sr.name
                                && t.service.as_deref().is_none_or(|x| x == service.name)
                                && t.cell.as_deref().is_none_or(|x| x == cell.id)
                        })
                    };
                    let verdict = if hit(&self.down) {
                        Verdict::Down
                    } else if hit(&self.degraded) {
                        Verdict::Degraded
                    } else if hit(&self.unknown) {
                        Verdict::Unknown
                    } else {
                        continue;
                    };
                    let e = &mut view.services[s].entries[(c, r)];
                    e.verdict = verdict;
                    e.since = now;
                }
            }
        }
        apply_signals(bundle, &self.signals, &view, now)
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        let fmt = |t: &Target| {
            let mut s = String::new();
            if let Some(svc) = &t.service {
                s.push_str(svc);
                s.push(':');
            }
            s.push_str(&t.region);
            if let Some(c) = &t.cell {
                s.push('/');
                s.push_str(c);
            }
            s
        };
        let mut parts = Vec::new();
        for (label, list) in [
            ("down", &self.down),
            ("degraded", &self.degraded),
            ("unknown", &self.unknown),
        ] {
            if !list.is_empty() {
                parts.push(format!(
                    "{} {label}",
                    list.iter().map(fmt).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        if !self.signals.is_empty() {
            let texts: Vec<&str> = self.signals.iter().map(|x| x.text.as_str()).collect();
            parts.push(format!("signals {}", texts.join(", ")));
        }
        if parts.is_empty() {
            "all regions healthy".into()
        } else {
            parts.join("; ")
        }
    }
}

/// Plans a scenario on the policy's steady state.
pub fn plan_scenario(bundle: &Bundle, scenario: &Scenario) -> (LiveState, Plan) {
    let live = LiveState::steady(bundle);
    let health = scenario.health(bundle, SCENARIO_NOW);
    let controls = Controls::default();
    let plan = plan::plan(Inputs {
        bundle,
        health: &health,
        live: &live,
        controls: &controls,
        now: SCENARIO_NOW,
    });
    (live, plan)
}

/// The outcome of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The test file.
    pub file: String,
    /// The case name.
    pub name: String,
    /// Failed expectations (empty: passed).
    pub failures: Vec<String>,
}

impl CaseResult {
    /// True when every expectation held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs every case of every test file in the bundle.
pub fn run_all(bundle: &Bundle) -> Vec<CaseResult> {
    let mut out = Vec::new();
    for file in &bundle.tests {
        for case in &file.cases {
            out.push(CaseResult {
                file: file.file.clone(),
                name: case.name.clone(),
                failures: run_case(bundle, case),
            });
        }
    }
    out
}

/// Runs one case; returns the failed expectations.
pub fn run_case(bundle: &Bundle, case: &TestCase) -> Vec<String> {
    let scenario = match Scenario::parse(bundle, &case.down, &case.degraded, &case.unknown) {
        Ok(s) => s,
        Err(e) => return vec![e],
    };
    let (_, plan) = plan_scenario(bundle, &scenario);
    let mut failures = Vec::new();
    let traffic = plan::resulting_traffic(bundle, &plan);
    for (svc, cells) in &case.expect_traffic {
        let Some(actual) = traffic.get(svc) else {
            failures.push(format!("no service `{svc}`"));
            continue;
        };
        for (cell, expected) in cells {
            let targets: Vec<&String> = if cell == "*" {
                actual.keys().collect()
            } else {
                actual.keys().filter(|k| *k == cell).collect()
            };
            for cell_id in targets {
                let got = &actual[cell_id];
                for (region, pct) in got {
                    let want = expected.get(region).copied().unwrap_or(0);
                    if want != *pct {
                        failures.push(format!("traffic {svc}/{cell_id}/{region}: expected {want}%, got {pct}% (split {})", split_text(got)));
                        break;
                    }
                }
            }
        }
    }
    let mut next = 0;
    for want in &case.expect_steps {
        let found = plan.steps[next..].iter().position(|st| {
            step_matches(
                bundle,
                st,
                &want.service,
                &want.kind,
                want.region.as_deref(),
            )
        });
        match found {
            Some(i) => next += i + 1,
            None => failures.push(format!(
                "expected step {} {}{} (in this order) not found; plan has: {}",
                want.service,
                want.kind,
                want.region
                    .as_ref()
                    .map(|r| format!(" in {r}"))
                    .unwrap_or_default(),
                steps_text(bundle, &plan)
            )),
        }
    }
    for banned in &case.expect_no_steps {
        let (svc, kind) = match banned.split_once(':') {
            Some((s, k)) => (Some(s), k),
            None => (None, banned.as_str()),
        };
        if plan.steps.iter().any(|st| {
            st.action.kind() == kind && svc.is_none_or(|s| bundle.services[st.service].name == s)
        }) {
            failures.push(format!(
                "unexpected `{banned}` step; plan has: {}",
                steps_text(bundle, &plan)
            ));
        }
    }
    for alert in &case.expect_alerts {
        if !plan.alerts.iter().any(|a| a.kind.as_str() == alert) {
            let got: Vec<&str> = plan.alerts.iter().map(|a| a.kind.as_str()).collect();
            failures.push(format!(
                "expected alert `{alert}`; got [{}]",
                got.join(", ")
            ));
        }
    }
    failures
}

fn step_matches(
    bundle: &Bundle,
    step: &plan::Step,
    service: &str,
    kind: &str,
    region: Option<&str>,
) -> bool {
    let svc = &bundle.services[step.service];
    if svc.name != service || step.action.kind() != kind {
        return false;
    }
    let Some(region) = region else { return true };
    let name = |r: usize| svc.regions.get(r).map(|x| x.name.as_str());
    match &step.action {
        plan::Action::Scale { r, .. }
        | plan::Action::WaitForCapacity { r, .. }
        | plan::Action::SetAlb { r, .. }
        | plan::Action::RestoreRequired { r }
        | plan::Action::SetSwitch { r, .. } => name(*r) == Some(region),
        plan::Action::SetWeights { changes, .. } => changes
            .iter()
            .any(|c| name(usize::from(c.r)) == Some(region)),
    }
}

fn steps_text(bundle: &Bundle, plan: &Plan) -> String {
    if plan.steps.is_empty() {
        return "no steps".into();
    }
    plan.steps
        .iter()
        .map(|s| format!("{} {}", bundle.services[s.service].name, s.action.kind()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn split_text(split: &std::collections::BTreeMap<String, u32>) -> String {
    split
        .iter()
        .map(|(r, p)| format!("{r} {p}%"))
        .collect::<Vec<_>>()
        .join(", ")
}
