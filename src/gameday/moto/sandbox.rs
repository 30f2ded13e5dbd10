//! `regionctl sandbox`: a local fleet on moto to look at and poke, not a test.
//!
//! The same world a moto game-day builds (moto, the hosted zones, stand-in endpoints for
//! every region, the policies copied with this run's names, `provision`), and one
//! `regionctl run` per controller region with its admin page, left running until Ctrl-C,
//! `quit` or `--for`. Faults come from the prompt: `fail REGION` (its endpoints answer 503
//! and its alarms go to ALARM), `recover REGION`, `status`. Teardown always runs: alarms
//! OK, endpoints up, controllers stopped, moto stopped if this run started it, the policy
//! copy removed.

use super::super::{Console, fleet};
use super::{SetUpFrom, provision, roll_back, set_alarms, set_up, setup};
use anyhow::{Result, bail};
use regionctl_aws::types::AlarmState;
use std::path::PathBuf;
use std::time::Duration;

/// Options of `regionctl sandbox`.
pub struct SandboxOptions {
    /// The policy directory (the example bundle by default).
    pub policies: PathBuf,
    /// A running moto server; without it, one is started (and installed if missing).
    pub endpoint_url: Option<String>,
    /// Stop by itself after this long (tests, demos); `None`: until Ctrl-C or `quit`.
    pub run_for: Option<Duration>,
    /// Controller logs go here.
    pub log_dir: PathBuf,
}

/// A command typed at the sandbox's prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Command {
    Fail(String),
    Recover(String),
    Status,
    Help,
    Quit,
}

impl Command {
    /// One line of input, or why it is not a command.
    fn parse(line: &str) -> Result<Option<Command>, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        Ok(Some(match words.as_slice() {
            [] => return Ok(None),
            ["fail", region] => Command::Fail((*region).to_string()),
            ["recover", region] => Command::Recover((*region).to_string()),
            ["status"] => Command::Status,
            ["help" | "?"] => Command::Help,
            ["quit" | "exit"] => Command::Quit,
            _ => return Err(format!("not a command: `{line}` (try `help`)")),
        }))
    }
}

const HELP: &str = "commands: fail REGION (endpoints 503, alarms ALARM) · recover REGION · \
                    status · quit (or Ctrl-C)";

/// Runs the sandbox until told to stop.
pub fn run(opts: &SandboxOptions, console: &dyn Console) -> Result<()> {
    let Some(mut bundle) = load(&opts.policies)? else {
        bail!("{}: policy bundle rejected", opts.policies.display());
    };
    let Some(controller) = bundle.controller.clone() else {
        bail!(
            "{}: no ControllerConfig: the sandbox runs one controller per region it names",
            opts.policies.display()
        );
    };
    let (endpoint, moto) = match &opts.endpoint_url {
        Some(url) => (url.clone(), None),
        None => {
            console.progress("starting moto (scripts/moto.sh installs it into .venv if missing)");
            let (url, server) = setup::start_moto(&opts.policies)?;
            (url, Some(server))
        }
    };
    if !(endpoint.starts_with("http://127.0.0.1") || endpoint.starts_with("http://localhost")) {
        bail!("the sandbox talks to a local moto only (http://127.0.0.1:PORT), not {endpoint}");
    }
    std::fs::create_dir_all(&opts.log_dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        // Zones named by domain are created on moto by `set_up`; ids stay as written.
        bundle.warnings.clear();
        let from = SetUpFrom {
            policies: &opts.policies,
            bundle: &bundle,
            tick_secs: None,
            report_dir: opts.log_dir.clone(),
        };
        let setup = set_up(from, &endpoint).await?;
        provision(&setup, console).await?;
        let policies = setup.dir.0.to_string_lossy().to_string();
        let fleet = fleet::start(
            &|| setup::regionctl_command(&endpoint),
            &controller.regions,
            &policies,
            Some(&endpoint),
            &setup.report_dir,
        )?;
        fleet::wait_ready(&fleet, console).await?;
        print_guide(console, &fleet, &policies, &endpoint, &opts.log_dir);
        let served = serve(&setup, &fleet, opts.run_for, console).await;
        roll_back(&setup, Some(fleet), console).await;
        served
    });
    drop(moto);
    console.say("sandbox stopped: controllers stopped, moto stopped, policy copy removed");
    result
}

/// The bundle, or `None` with its diagnostics printed.
fn load(dir: &std::path::Path) -> Result<Option<regionctl_core::policy::Bundle>> {
    let files = regionctl_controller::policy_files::read(std::slice::from_ref(&dir.to_path_buf()))?;
    match regionctl_core::policy::load(&files) {
        Ok(b) => Ok(Some(b)),
        Err(diagnostics) => {
            for d in &diagnostics {
                eprint!("{d}");
            }
            Ok(None)
        }
    }
}

/// What to open and what to type.
fn print_guide(
    console: &dyn Console,
    fleet: &fleet::Fleet,
    policies: &str,
    endpoint: &str,
    logs: &std::path::Path,
) {
    console.say(&format!(
        "sandbox ready: moto at {endpoint}, policies copied to {policies}"
    ));
    for (region, _, port) in &fleet.0 {
        console.say(&format!(
            "  controller {region}: status page http://127.0.0.1:{port}/  (log {}/controller-{region}.log)",
            logs.display()
        ));
    }
    let first = fleet.0.first().map_or("eu-west-1", |(r, _, _)| r.as_str());
    let common = format!("--policies {policies} --endpoint-url {endpoint} --region {first}");
    console
        .say("try, in another terminal (AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing):");
    console.say(&format!("  regionctl status {common}"));
    console.say(&format!(
        "  regionctl explain DECISION_ID {common}   (ids in `status` and on the pages)"
    ));
    console.say(&format!(
        "  regionctl override drain --service playback --drain-region eu-central-1 --for-mins 10 --why demo {common}"
    ));
    console.say(&format!(
        "and here: `fail eu-central-1` (playback leaves it after its fail_after_secs and a tick), `recover eu-central-1`; {HELP}"
    ));
}

/// Reads commands until `quit`, Ctrl-C or `run_for`.
async fn serve(
    setup: &super::MotoSetup,
    fleet: &fleet::Fleet,
    run_for: Option<Duration>,
    console: &dyn Console,
) -> Result<()> {
    let (tx, mut lines) = tokio::sync::mpsc::channel::<String>(16);
    // stdin is read on its own thread: a blocking read would stall the runtime.
    std::thread::spawn(move || {
        for line in std::io::stdin().lines().map_while(Result::ok) {
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    let deadline = tokio::time::sleep(run_for.unwrap_or(Duration::from_secs(u64::MAX / 4)));
    tokio::pin!(deadline);
    let mut stdin_open = true;
    loop {
        let line = tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            () = &mut deadline => return Ok(()),
            // stdin closed (`< /dev/null`, a finished pipe): run on until Ctrl-C or the
            // deadline.
            line = lines.recv(), if stdin_open => match line {
                Some(line) => line,
                None => {
                    stdin_open = false;
                    continue;
                }
            },
        };
        match Command::parse(&line) {
            Ok(None) => {}
            Ok(Some(Command::Quit)) => return Ok(()),
            Ok(Some(cmd)) => act(setup, fleet, cmd, console).await,
            Err(e) => console.warn(&e),
        }
    }
}

/// Carries out one command.
async fn act(setup: &super::MotoSetup, fleet: &fleet::Fleet, cmd: Command, console: &dyn Console) {
    let (region, up, state) = match &cmd {
        Command::Fail(r) => (r, false, AlarmState::Alarm),
        Command::Recover(r) => (r, true, AlarmState::Ok),
        Command::Help | Command::Quit => return console.say(HELP),
        Command::Status => {
            for (region, stand_down) in fleet::stand_downs_now(fleet) {
                console.say(&format!(
                    "  {region}: {}",
                    stand_down.unwrap_or_else(|| "acting".into())
                ));
            }
            return;
        }
    };
    let Some(endpoint) = setup.endpoints.get(region) else {
        let known: Vec<&String> = setup.endpoints.keys().collect();
        return console.warn(&format!("no region `{region}` here (regions: {known:?})"));
    };
    endpoint.set_up(up);
    match set_alarms(setup, region, state, "sandbox").await {
        Ok(n) => console.say(&format!(
            "{region}: endpoints answer {}, {n} alarm(s) {}",
            if up { 200 } else { 503 },
            if up { "OK" } else { "in ALARM" }
        )),
        Err(e) => console.warn(&format!("{region}: alarms not set: {e:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_and_mistakes_say_so() {
        assert_eq!(
            Command::parse("fail eu-central-1"),
            Ok(Some(Command::Fail("eu-central-1".into())))
        );
        assert_eq!(
            Command::parse("  recover   us-east-1 "),
            Ok(Some(Command::Recover("us-east-1".into())))
        );
        assert_eq!(Command::parse(""), Ok(None));
        assert_eq!(Command::parse("quit"), Ok(Some(Command::Quit)));
        assert!(Command::parse("fail").is_err());
        assert!(Command::parse("explode eu-west-1").is_err());
    }
}
