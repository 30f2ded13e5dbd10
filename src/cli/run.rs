//! `regionctl run`: the controller.

use super::{Output, load_bundle};
use anyhow::Result;
use clap::Args;
use regionctl::aws_world::{AwsWorld, settings};
use regionctl::controller_config::{check_region, controller_config};
use regionctl::daemon::admin::token::{AdminToken, TOKEN_ENV};
use regionctl::daemon::wait::{DEFAULT_MIN_PASS_INTERVAL_SECS, MAX_MIN_PASS_INTERVAL_SECS};
use regionctl::telemetry::{self, LogFormat};
use regionctl_controller::memory::Memory;
use regionctl_controller::observe::AlarmReads;
use regionctl_controller::reconcile::{Context, reconcile_once};
use std::path::PathBuf;
use std::process::ExitCode;
use tracing::Instrument;

/// Run the controller for one region: read alarms, probes and peers' evidence, evaluate
/// health, plan, guard, apply (capacity before traffic), verify, and record every decision
/// in the journal and as an EventBridge event.
///
/// With `--once`, one complete reconcile pass, then exit (0 when the pass completed, whether
/// or not it changed anything; 1 on error).
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The region this controller runs in (must be in the ControllerConfig's `regions`).
    #[arg(long, env = "REGIONCTL_REGION")]
    region: String,
    /// Policy directory.
    #[arg(long, default_value = "policies", env = "REGIONCTL_POLICIES")]
    policies: PathBuf,
    /// AWS endpoint override, e.g. a moto server at http://127.0.0.1:5000 (the SDK's own
    /// AWS_ENDPOINT_URL works too).
    #[arg(long, env = "REGIONCTL_ENDPOINT_URL")]
    endpoint_url: Option<String>,
    /// One reconcile pass, then exit. Without it, run until SIGTERM or ctrl-c: a pass every
    /// tick (`tick_secs`) or as soon as an alarm event arrives on the SQS queue; SIGHUP or an
    /// edit of the policy files reloads them (an invalid bundle is rejected and the last good
    /// one keeps running).
    #[arg(long)]
    once: bool,
    /// Admin HTTP address (`/healthz`, `/readyz`, `/metrics`, `/status`, `/`), e.g.
    /// 127.0.0.1:9400.
    #[arg(long, env = "REGIONCTL_ADMIN_ADDR")]
    admin_addr: Option<std::net::SocketAddr>,
    /// File holding the bearer token for mutating admin endpoints (also
    /// REGIONCTL_ADMIN_TOKEN). Without a token they are refused. Surrounding whitespace is
    /// trimmed; a token shorter than 16 bytes (or empty) refuses to start.
    #[arg(long)]
    admin_token_file: Option<PathBuf>,
    /// Least time, in seconds, between the end of one pass and the start of the next: an
    /// alarm event wakes the controller early, but no sooner than this, so an alarm-event
    /// storm cannot run passes back to back (the tick caps it; 1 to 300).
    #[arg(
        long,
        env = "REGIONCTL_MIN_PASS_INTERVAL_SECS",
        default_value_t = DEFAULT_MIN_PASS_INTERVAL_SECS,
        value_parser = clap::value_parser!(u64).range(1..=MAX_MIN_PASS_INTERVAL_SECS)
    )]
    min_pass_interval_secs: u64,
    /// How log lines (stderr) are written: `text` for people, `json` one object per line.
    /// `RUST_LOG` chooses which lines (e.g. `info,regionctl_aws=debug`).
    #[arg(long, value_enum, env = "REGIONCTL_LOG_FORMAT", default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// The same as `--log-format json`.
    #[arg(long, env = "REGIONCTL_LOG_JSON", conflicts_with = "log_format")]
    log_json: bool,
    /// Stop after this many passes (smoke tests).
    #[arg(long, hide = true)]
    max_passes: Option<u64>,
    /// Output format of the pass summary.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

pub fn run(args: RunArgs) -> Result<ExitCode> {
    let Some(mut bundle) = load_bundle(std::slice::from_ref(&args.policies), Output::Text)? else {
        return Ok(ExitCode::from(1));
    };
    let needs = "; `run` needs the fleet's regions and journal";
    let controller = controller_config(&bundle, &args.policies, needs)?;
    check_region(&controller, &args.region, "ControllerConfig")?;
    let log_format = if args.log_json {
        LogFormat::Json
    } else {
        args.log_format
    };
    if !args.once {
        // Checked before anything starts: a bad token refuses the controller, naming its source.
        let env = std::env::var_os(TOKEN_ENV).map(std::os::unix::ffi::OsStringExt::into_vec);
        let token = AdminToken::load(args.admin_token_file.as_deref(), env)?;
        regionctl::daemon::run(regionctl::daemon::DaemonOptions {
            region: args.region.clone(),
            policies: args.policies.clone(),
            endpoint_url: args.endpoint_url.clone(),
            admin_addr: args.admin_addr,
            admin_token: token,
            min_pass_interval_secs: args.min_pass_interval_secs,
            log_format,
            max_passes: args.max_passes,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    // The daemon installs its own subscriber (with its metrics); `--once` only logs.
    telemetry::init(log_format, None)?;
    // The daemon resolves zones named by domain itself (again on every reload).
    super::resolve_zones(&mut bundle, args.endpoint_url.clone())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let world = AwsWorld::connect(&settings(&bundle, &controller, &args.region, args.endpoint_url.clone())).await;
        let alarm_reads = AlarmReads::new(&bundle);
        let ctx = Context {
            bundle: &bundle,
            alarm_reads: &alarm_reads,
            region: args.region.clone(),
            controllers: controller.regions.clone(),
            heartbeat_ttl_secs: controller.heartbeat_ttl_secs,
            approval_timeout_secs: controller.approval_timeout_secs,
        };
        let pass = tracing::info_span!("pass", region = %args.region, n = 1);
        let report = reconcile_once(&ctx, &world, &mut Memory::unknown(&bundle))
            .instrument(pass)
            .await;
        match args.output {
            Output::Text => print!("{}", report.summary()),
            Output::Json => {
                let decisions: Vec<serde_json::Value> = report
                    .decisions
                    .iter()
                    .map(|d| serde_json::json!({"service": d.service, "id": d.id, "new": d.new, "status": d.status, "log": d.log, "calls": d.calls}))
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "region": report.region,
                        "stand_down": report.stand_down.as_ref().map(ToString::to_string),
                        "decisions": decisions,
                        "alerts": report.alerts,
                        "notes": report.notes,
                        "read_failures": report.read_failures,
                        "alarm_read_failures": report.alarm_read_failures,
                        "switches_published": report.switches_published,
                    }))?
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
