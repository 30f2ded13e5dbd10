//! What `--target aws` refuses before it touches anything: faults and expectations a real
//! account cannot play or check, accounts and regions outside the scenario's allow-list,
//! and alarms that do not read their chaos metric.

use crate::chaos;
use anyhow::{Context, Result, anyhow};
use regionctl_aws::cloudwatch::CloudWatchClient;
use regionctl_core::policy::Bundle;
use regionctl_sim::gameday::AlarmTarget;
use regionctl_sim::scenario::{ExpectKind, Loaded, ScenarioAlarmState, What};
use std::collections::{BTreeMap, BTreeSet};

/// Why a run was refused; printed, exit code 2.
pub(super) struct Refused(pub(super) String);

/// Whether `url` is plain HTTP to this machine (`http://127.0.0.1[:PORT]`,
/// `http://localhost[:PORT]`): the only endpoint override `--target aws` accepts.
pub(super) fn is_loopback(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host_port = rest.split('/').next().unwrap_or_default();
    let host = host_port.split(':').next().unwrap_or_default();
    host == "127.0.0.1" || host == "localhost"
}

/// Why a timeline entry cannot be injected on a real account, if it cannot.
fn not_injectable(what: What, state: Option<ScenarioAlarmState>) -> Option<&'static str> {
    Some(match what {
        What::Recover => return None,
        What::Alarm => match state {
            None | Some(ScenarioAlarmState::Alarm) => return None,
            Some(_) => {
                "the chaos metric can only make an alarm breach (state: ALARM), not force OK or INSUFFICIENT_DATA"
            }
        },
        What::EndpointsFail | What::EndpointsTimeout => {
            "your service's own endpoints cannot be failed from here (fail them through your load balancer or AWS FIS; the alarm fault stands in for what they would trip)"
        }
        What::AlarmFlap => {
            "flapping is not supported on aws (60 s alarm periods and 2–3 minutes to respond make the flap period meaningless)"
        }
        What::ApisUnreachable
        | What::Partition
        | What::JournalUnavailable
        | What::Route53ControlPlaneDown => {
            "AWS's own APIs and networks cannot be broken from a customer account (run this scenario on --target sim)"
        }
        What::ControllerCrash => {
            "the deployed controllers are not this process's to crash (stop an ECS task yourself, or run it on --target sim)"
        }
        What::ClockSkew
        | What::CapacityShortfall
        | What::PolicyRollout
        | What::JournalWriteFail
        | What::RogueWriter => "cannot be injected on a real account (run it on --target sim)",
        What::Pause | What::Resume | What::Override | What::Approve => {
            "operator actions in the timeline run on --target sim only; on a real account, run `regionctl pause`, `resume`, `override` or `approve` yourself"
        }
    })
}

/// Refuses, naming each entry, every fault and expectation a real account cannot play or
/// check.
pub(super) fn injectable(loaded: &Loaded, local_controllers: bool) -> Result<(), Refused> {
    let s = &loaded.scenario;
    let mut problems = Vec::new();
    for (i, e) in s.timeline.iter().enumerate() {
        let Some(why) = not_injectable(e.what, e.state) else {
            continue;
        };
        let id =
            e.id.as_deref()
                .map(|x| format!(" ({x})"))
                .unwrap_or_default();
        problems.push(format!(
            "timeline[{i}]{id}: `{}` cannot be injected: {why}",
            e.what.as_str()
        ));
    }
    for (i, x) in s.expect.iter().enumerate() {
        if x.kind == ExpectKind::TrafficSteady {
            problems.push(format!(
                "expect[{i}]: `traffic-steady` needs answered traffic, which a real run does not observe"
            ));
        }
        if matches!(x.kind, ExpectKind::EcsDesired | ExpectKind::LambdaShare) {
            problems.push(format!(
                "expect[{i}]: `{}` reads ECS or ELB, which the game-day role may not (deploy/iam-policy-gameday.json): play it on sim or moto, or drop the expectation",
                x.kind.as_str()
            ));
        }
        if x.kind == ExpectKind::StandDown && !local_controllers {
            problems.push(format!(
                "expect[{i}]: `stand-down` reads each controller's /status: run the controllers with --local-controllers, or drop the expectation"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Refused(format!(
            "{}: not playable on a real account:\n  {}",
            loaded.path.display(),
            problems.join("\n  ")
        )))
    }
}

/// Every region the run touches: the policies' regions, the controllers', the journal's and
/// the switch alarms'. Route 53 is global (its API lives in us-east-1) and is not counted.
fn regions_touched(bundle: &Bundle, controllers: &[String]) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = bundle.regions.iter().cloned().collect();
    out.extend(controllers.iter().cloned());
    if let Some(c) = &bundle.controller {
        out.extend(c.regions.iter().cloned());
        out.extend(c.journal_region.iter().cloned());
    }
    for svc in &bundle.services {
        if let Some(sw) = &svc.routing.switch {
            out.extend(sw.alarm_regions.iter().cloned());
        }
    }
    out
}

/// The scenario's allow-list, checked before any call: the confirmed account and every
/// region touched must be listed.
pub(super) fn guardrails(
    loaded: &Loaded,
    bundle: &Bundle,
    controllers: &[String],
    account: &str,
) -> Result<(), Refused> {
    let g = &loaded.scenario.guardrails;
    let file = loaded.path.display();
    if g.accounts.is_empty() {
        return Err(Refused(format!(
            "{file}: guardrails.accounts is empty; a real run needs the accounts it may touch listed"
        )));
    }
    if !g.accounts.iter().any(|a| a == account) {
        return Err(Refused(format!(
            "{file}: account {account} is not in guardrails.accounts ({})",
            g.accounts.join(", ")
        )));
    }
    let outside: Vec<String> = regions_touched(bundle, controllers)
        .into_iter()
        .filter(|r| !g.regions.contains(r))
        .collect();
    if !outside.is_empty() {
        return Err(Refused(format!(
            "{file}: the scenario and its policies touch {}, not in guardrails.regions ({})",
            outside.join(", "),
            g.regions.join(", ")
        )));
    }
    Ok(())
}

/// Checks, by reading them, that every alarm a fault targets exists and reads its chaos
/// metric; otherwise publishing would fail nothing and the game-day would prove nothing.
pub(super) async fn alarms_wired(
    cw: &BTreeMap<String, CloudWatchClient>,
    targets: &BTreeSet<AlarmTarget>,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let regions: BTreeSet<&str> = targets.iter().map(|t| t.region.as_str()).collect();
    for region in regions {
        let client = cw
            .get(region)
            .ok_or_else(|| anyhow!("no CloudWatch client for {region}"))?;
        let mine: Vec<&AlarmTarget> = targets.iter().filter(|t| t.region == region).collect();
        let names: Vec<String> = mine.iter().map(|t| t.alarm.clone()).collect();
        let found = client
            .alarms_by_names(&names)
            .await
            .with_context(|| format!("reading alarms in {region}"))?;
        for t in mine {
            match found.iter().find(|a| a.name == t.alarm) {
                None => problems.push(format!("alarm {} does not exist in {region}", t.alarm)),
                Some(a) if !chaos::reads_chaos(a, &t.service, &t.region) => {
                    problems.push(format!(
                        "alarm {} in {region} does not read its chaos metric ({} {} with \
                         Alarm/Region/Service dimensions): re-create it with `regionctl \
                         provision` or add the metric-math term (docs/OPERATIONS.md)",
                        t.alarm,
                        chaos::NAMESPACE,
                        chaos::METRIC_NAME
                    ));
                }
                Some(_) => {}
            }
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn only_plain_http_to_this_machine_is_a_test_endpoint() {
        assert!(is_loopback("http://127.0.0.1:5000"));
        assert!(is_loopback("http://localhost:5000/"));
        assert!(!is_loopback("https://127.0.0.1:5000"));
        assert!(!is_loopback("http://localhost.example.com:5000"));
        assert!(!is_loopback("http://127.0.0.1.example.com"));
        assert!(!is_loopback(
            "https://monitoring.eu-central-1.amazonaws.com"
        ));
    }
}
