//! Operator controls and inspection: `pause`, `resume`, `override`, `approve`, `status`,
//! `explain`. Every control is a journal item with who, why and when; controllers read them
//! on every pass.

use super::{Output, load_bundle};
use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, ValueEnum};
use regionctl::aws_world::{AwsWorld, now_millis};
use regionctl::controller_config::fleet_config;
use regionctl_aws::config::{AwsSettings, load};
use regionctl_aws::sts::StsClient;
use regionctl_controller::approval;
use regionctl_controller::journal::{self, Approval, DecisionRecord, Heartbeat, OutcomeRecord};
use regionctl_controller::ports::{Journal as _, JournalItem};
use regionctl_core::controls::{Override, OverrideAction, Pause};
use regionctl_core::plan::render::clock;
use regionctl_core::policy::Bundle;
use regionctl_core::time::Timestamp;
use std::path::PathBuf;
use std::process::ExitCode;

/// Where the journal is and who is acting.
#[derive(Debug, Args)]
pub struct Target {
    /// The operator's region: its controller's journal replica is written, and it owns the
    /// item.
    #[arg(long, env = "REGIONCTL_REGION")]
    region: String,
    /// Policy directory (for the controller configuration: journal table and region).
    #[arg(long, default_value = "policies", env = "REGIONCTL_POLICIES")]
    policies: PathBuf,
    /// AWS endpoint override (moto).
    #[arg(long, env = "REGIONCTL_ENDPOINT_URL")]
    endpoint_url: Option<String>,
    /// Who is acting (recorded with the control).
    #[arg(long, env = "USER", default_value = "unknown")]
    who: String,
}

/// Pause all automation: controllers keep planning and recording, but change nothing.
#[derive(Debug, Args)]
pub struct PauseArgs {
    #[command(flatten)]
    target: Target,
    /// Why (recorded).
    #[arg(long)]
    why: String,
}

/// Resume automation after `pause`.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    #[command(flatten)]
    target: Target,
}

/// What an override does.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OverrideKind {
    /// Keep the region drained (weight 0) whatever its health says.
    Drain,
    /// Allow failback into the region now (manual-failback policies, or skipping the
    /// recovery window); staging and health gates still apply.
    Restore,
    /// End the override on this region (and service/cell) now, before it expires.
    Clear,
}

/// A time-boxed manual override that automation respects and that expires by itself, e.g.
/// `regionctl override drain --drain-region eu-central-1 --for-mins 30 --why "db failover"`.
#[derive(Debug, Args)]
pub struct OverrideArgs {
    #[command(flatten)]
    target: Target,
    /// Drain or restore.
    action: OverrideKind,
    /// The region the override applies to (drained, or restored).
    #[arg(long, alias = "target-region")]
    drain_region: String,
    /// Only this service (default: every service).
    #[arg(long)]
    service: Option<String>,
    /// Only this cell (default: every cell).
    #[arg(long)]
    cell: Option<String>,
    /// How long it lasts, in minutes (at most a day). Required for `drain` and `restore`.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1440))]
    for_mins: Option<u64>,
    /// Why (recorded).
    #[arg(long)]
    why: String,
}

/// Approve a decision waiting in `propose` mode.
///
/// Prints the decision's steps (what you approve), then records the approval with your
/// identity as AWS sees it (STS GetCallerIdentity's ARN, not --who) and the proposal round
/// it is given in. It authorises this decision only (its id names the incident) and only
/// in this round: a proposal nobody approves within `approval_timeout_secs` lapses and is
/// proposed afresh in a new round, which needs a new approval.
#[derive(Debug, Args)]
pub struct ApproveArgs {
    #[command(flatten)]
    target: Target,
    /// The decision id (from `status`, `explain`, or the decision event).
    decision_id: String,
}

/// Show a decision: inputs, rules, steps, timings, outcome.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    target: Target,
    /// The decision id.
    decision_id: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

/// Show the fleet: controllers (heartbeats, policy hash), controls in force, and each
/// service's latest decision.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    target: Target,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

fn connect(target: &Target) -> Result<(Bundle, tokio::runtime::Runtime, AwsWorld)> {
    let Some(bundle) = load_bundle(std::slice::from_ref(&target.policies), Output::Text)? else {
        bail!("the policy bundle is invalid");
    };
    let controller = fleet_config(&bundle, &target.policies, &target.region)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let settings = regionctl::aws_world::settings(
        &bundle,
        &controller,
        &target.region,
        target.endpoint_url.clone(),
    );
    let world = runtime.block_on(AwsWorld::connect(&settings));
    Ok((bundle, runtime, world))
}

pub fn pause(args: PauseArgs) -> Result<ExitCode> {
    let (_, rt, world) = connect(&args.target)?;
    let pause = Pause {
        who: args.target.who.clone(),
        why: args.why.clone(),
        at: Timestamp(now_millis()),
    };
    rt.block_on(world.put(&journal::pause_item(&pause, &args.target.region)))
        .map_err(|e| anyhow!(e))?;
    println!(
        "paused by {} at {}: {} — controllers record but change nothing until `regionctl resume`",
        pause.who,
        clock(pause.at),
        pause.why
    );
    Ok(ExitCode::SUCCESS)
}

pub fn resume(args: ResumeArgs) -> Result<ExitCode> {
    let (_, rt, world) = connect(&args.target)?;
    let mut item = journal::pause_item(
        &Pause {
            who: args.target.who.clone(),
            why: String::new(),
            at: Timestamp(now_millis()),
        },
        &args.target.region,
    );
    item.body = serde_json::Value::Null;
    rt.block_on(world.put(&item)).map_err(|e| anyhow!(e))?;
    println!("resumed by {}", args.target.who);
    Ok(ExitCode::SUCCESS)
}

pub fn set_override(args: OverrideArgs) -> Result<ExitCode> {
    let (bundle, rt, world) = connect(&args.target)?;
    if bundle.region_index(&args.drain_region).is_none() {
        bail!(
            "unknown region `{}` (policies name: {})",
            args.drain_region,
            bundle.regions.join(", ")
        );
    }
    if let Some(s) = &args.service
        && bundle.service_index(s).is_none()
    {
        bail!("unknown service `{s}`");
    }
    let now = Timestamp(now_millis());
    // Clearing overwrites the override's item (same region/service/cell key) with one that
    // has already expired: automation ignores it from the next pass, and the journal keeps
    // who ended it and why.
    let (action, expires_at, why) = match (args.action, args.for_mins) {
        (OverrideKind::Clear, _) => (
            OverrideAction::Restore,
            now,
            format!("cleared: {}", args.why),
        ),
        (_, None) => bail!("--for-mins is required for `drain` and `restore` (1–1440)"),
        (OverrideKind::Drain, Some(m)) => (
            OverrideAction::Drain,
            now.plus_secs(m * 60),
            args.why.clone(),
        ),
        (OverrideKind::Restore, Some(m)) => (
            OverrideAction::Restore,
            now.plus_secs(m * 60),
            args.why.clone(),
        ),
    };
    let o = Override {
        service: args.service.clone(),
        region: args.drain_region.clone(),
        cell: args.cell.clone(),
        action,
        who: args.target.who.clone(),
        why,
        expires_at,
    };
    rt.block_on(world.put(&journal::override_item(&o, &args.target.region)))
        .map_err(|e| anyhow!(e))?;
    let (service, cell, until) = scope(&o);
    println!(
        "override {:?} {} (service {service}, cell {cell}) until {until} by {}: {}",
        o.action, o.region, o.who, o.why
    );
    Ok(ExitCode::SUCCESS)
}

/// An override's service and cell (`*`: every one) and its end, as `override` and `status`
/// print them.
fn scope(o: &Override) -> (&str, &str, String) {
    (
        o.service.as_deref().unwrap_or("*"),
        o.cell.as_deref().unwrap_or("*"),
        clock(o.expires_at),
    )
}

pub fn approve(args: ApproveArgs) -> Result<ExitCode> {
    let (bundle, rt, world) = connect(&args.target)?;
    let controller = fleet_config(&bundle, &args.target.policies, &args.target.region)?;
    let Some((record, _)) = rt.block_on(find_decision(&world, &bundle, &args.decision_id))? else {
        bail!("no decision {} in the journal", args.decision_id);
    };
    // Who approves is who the credentials are, not `$USER` (issue 17).
    let settings = AwsSettings {
        region: args.target.region.clone(),
        endpoint_url: args.target.endpoint_url.clone(),
    };
    let identity = rt
        .block_on(async {
            StsClient::new(&load(&settings).await)
                .caller_identity()
                .await
        })
        .map_err(|e| anyhow!(e))
        .context("who is approving (STS GetCallerIdentity)")?;
    let now = Timestamp(now_millis());
    let timeout = controller.approval_timeout_secs;
    let round = approval::round_at(record.at, timeout, now);
    let round_ends = record
        .at
        .plus_secs(timeout.saturating_mul(u64::from(round) + 1));
    println!(
        "approving decision {} — {} (mode {}), {}",
        record.id,
        record.service,
        record.mode,
        match record.episode {
            Some(start) => format!("incident since {}", clock(start)),
            None => "outside an incident".to_string(),
        }
    );
    print_steps(&record);
    let a = Approval {
        id: record.id.clone(),
        who: identity.arn,
        at: now,
        round,
    };
    rt.block_on(world.put(&journal::approval_item(&a, &args.target.region)))
        .map_err(|e| anyhow!(e))?;
    println!(
        "approved decision {} ({}) round {round} as {}; controllers apply it on their next pass (this round ends {})",
        record.id,
        record.service,
        a.who,
        clock(round_ends)
    );
    Ok(ExitCode::SUCCESS)
}

/// A decision's steps as `plan` shows them: numbered, with plane, reasons and order.
fn print_steps(d: &DecisionRecord) {
    println!("  steps:");
    for (i, s) in d.steps.iter().enumerate() {
        println!(
            "    {}. {:<7} {}  [{}]",
            i + 1,
            s.kind,
            s.description,
            s.plane
        );
        for r in &s.reasons {
            println!("         why: {r}");
        }
        if !s.after.is_empty() {
            println!(
                "         after: step {}",
                s.after
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
}

async fn find_decision(
    world: &AwsWorld,
    bundle: &Bundle,
    id: &str,
) -> Result<Option<(DecisionRecord, Vec<OutcomeRecord>)>> {
    for service in &bundle.services {
        let read = world
            .query(&format!("DECISION#{}", service.name), id)
            .await
            .map_err(|e| anyhow!(e))?;
        let mut unreadable = None;
        let items: Vec<JournalItem> = read
            .into_iter()
            .filter_map(|i| i.map_err(|e| unreadable.get_or_insert(e)).ok())
            .collect();
        let intent = items.iter().find(|i| i.sk == format!("{id}#INTENT"));
        if intent.is_none()
            && let Some(e) = unreadable
        {
            // Only this decision's items share its id's prefix: the intent may be the one
            // that could not be read.
            return Err(anyhow!(e)).context("decision record");
        }
        if let Some(intent) = intent {
            let record: DecisionRecord =
                serde_json::from_value(intent.body.clone()).context("decision record")?;
            let outcomes = items
                .iter()
                .filter(|i| i.sk.starts_with(&format!("{id}#OUTCOME#")))
                .filter_map(|i| serde_json::from_value(i.body.clone()).ok())
                .collect();
            return Ok(Some((record, outcomes)));
        }
    }
    Ok(None)
}

pub fn explain(args: ExplainArgs) -> Result<ExitCode> {
    let (bundle, rt, world) = connect(&args.target)?;
    let Some((d, outcomes)) = rt.block_on(find_decision(&world, &bundle, &args.decision_id))?
    else {
        bail!("no decision {} in the journal", args.decision_id);
    };
    if args.output == Output::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "decision": d, "outcomes": outcomes })
            )?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "decision {} — {} (mode {}, {})",
        d.id, d.service, d.mode, d.disposition
    );
    println!(
        "  reached {} by {} on policy bundle {}",
        clock(d.at),
        d.recorded_by,
        &d.bundle_hash[..d.bundle_hash.len().min(12)]
    );
    if let Some(start) = d.episode {
        println!("  incident (episode) since {}", clock(start));
    }
    println!("  inputs (health per region, counted in cells):");
    for h in &d.health {
        println!("    {h}");
    }
    print_steps(&d);
    for a in &d.alerts {
        println!("  alert: {a}");
    }
    for n in &d.notes {
        println!("  note: {n}");
    }
    if outcomes.is_empty() {
        println!("  outcome: none recorded yet");
    }
    for o in &outcomes {
        println!(
            "  outcome in {}: {} — started {}, finished {} ({} ms), {} AWS call(s); steps: {}",
            o.region,
            o.status,
            clock(o.started),
            clock(o.at),
            o.at.millis() - o.started.millis(),
            o.calls,
            o.steps
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        for (plane, status) in &o.planes {
            println!("    {plane}: {status}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn status(args: StatusArgs) -> Result<ExitCode> {
    let (bundle, rt, world) = connect(&args.target)?;
    let now = Timestamp(now_millis());
    let (heartbeats, controls, latest) = rt.block_on(async {
        // Each controller's heartbeat lives in its own partition.
        let controllers = bundle
            .controller
            .as_ref()
            .map(|c| c.regions.clone())
            .unwrap_or_default();
        let (items, unread) = regionctl_controller::ports::query_partitions(
            &world,
            controllers
                .iter()
                .map(|c| regionctl_controller::journal::heartbeat_partition(c)),
        )
        .await;
        for failure in &unread {
            eprintln!("status: {failure}");
        }
        let hb: Vec<Heartbeat> = items
            .into_iter()
            .flatten()
            .filter_map(|i| serde_json::from_value(i.body).ok())
            .collect();
        let (controls, _) = regionctl_controller::admit::controls(
            &world.query("CONTROL", "").await.map_err(|e| anyhow!(e))?,
            Timestamp(now_millis()),
        );
        let mut latest = Vec::new();
        for service in &bundle.services {
            let items = world
                .query(&format!("DECISION#{}", service.name), "")
                .await
                .map_err(|e| anyhow!(e))?;
            let last = items
                .iter()
                .flatten()
                .filter(|i| i.sk.ends_with("#INTENT"))
                .filter_map(|i| serde_json::from_value::<DecisionRecord>(i.body.clone()).ok())
                .max_by_key(|d| d.at);
            let outcome = last.as_ref().and_then(|d| {
                items
                    .iter()
                    .flatten()
                    .filter(|i| i.sk.starts_with(&format!("{}#OUTCOME#", d.id)))
                    .filter_map(|i| serde_json::from_value::<OutcomeRecord>(i.body.clone()).ok())
                    .max_by_key(|o| o.at)
            });
            latest.push((service.name.clone(), service.mode.as_str(), last, outcome));
        }
        Ok::<_, anyhow::Error>((hb, controls, latest))
    })?;
    if args.output == Output::Json {
        let services: Vec<serde_json::Value> = latest
            .iter()
            .map(|(name, mode, d, o)| serde_json::json!({ "service": name, "mode": mode, "last_decision": d, "last_outcome": o }))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "bundle_hash": bundle.hash, "heartbeats": heartbeats, "controls": controls, "services": services })
            )?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("policy bundle {} (local)", bundle.short_hash());
    println!("controllers:");
    for h in &heartbeats {
        let age = now.secs_since(h.at);
        let same = if h.bundle_hash == bundle.hash {
            "same policy"
        } else {
            "DIFFERENT policy"
        };
        println!(
            "  {:<16} heartbeat {age:>5}s ago  {same}  {}",
            h.region, h.state
        );
    }
    match &controls.paused {
        Some(p) => println!(
            "automation: PAUSED by {} at {}: {}",
            p.who,
            clock(p.at),
            p.why
        ),
        None => println!("automation: running"),
    }
    for o in controls.overrides.iter().filter(|o| now < o.expires_at) {
        let (service, cell, until) = scope(o);
        println!(
            "override: {:?} {} service {service} cell {cell} until {until} by {}: {}",
            o.action, o.region, o.who, o.why
        );
    }
    println!("services:");
    for (name, mode, d, o) in &latest {
        match d {
            Some(d) => println!(
                "  {name:<12} mode {mode:<8} last decision {} at {} — {}",
                d.id,
                clock(d.at),
                o.as_ref().map_or("no outcome yet".to_string(), |o| format!(
                    "{} in {}",
                    o.status, o.region
                ))
            ),
            None => println!("  {name:<12} mode {mode:<8} no decisions"),
        }
    }
    Ok(ExitCode::SUCCESS)
}
