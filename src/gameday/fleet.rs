//! Local controller processes for a real-time game-day: one `regionctl run` per controller
//! region, each with an admin port on 127.0.0.1, killed when the fleet is dropped.

use super::Console;
use anyhow::{Context, Result, bail};
use regionctl_local::http::{free_port, get as http_get};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Longest wait for every controller's `/readyz`.
const READY_WITHIN: Duration = Duration::from_secs(120);

/// The controller processes: (region, process, admin port). Killed on drop, whatever
/// happens.
pub(super) struct Fleet(pub(super) Vec<(String, Child, u16)>);

impl Drop for Fleet {
    fn drop(&mut self) {
        for (_, child, _) in &mut self.0 {
            let _killed = child.kill();
            let _waited = child.wait();
        }
    }
}

/// Starts one `regionctl run --region R --policies DIR` per controller region, each with an
/// admin port on 127.0.0.1 and its log in `report_dir/controller-R.log`. `base` is the
/// command to start from (credentials and endpoint already set by the target).
pub(super) fn start(
    base: &dyn Fn() -> Result<Command>,
    controllers: &[String],
    policies: &str,
    endpoint_url: Option<&str>,
    report_dir: &Path,
) -> Result<Fleet> {
    let mut fleet = Fleet(Vec::new());
    for region in controllers {
        let port = free_port()?;
        let log = std::fs::File::create(report_dir.join(format!("controller-{region}.log")))?;
        let mut cmd = base()?;
        cmd.args(["run", "--region", region, "--policies", policies]);
        if let Some(url) = endpoint_url {
            cmd.args(["--endpoint-url", url]);
        }
        let child = cmd
            .args(["--admin-addr", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .context("starting a controller")?;
        fleet.0.push((region.clone(), child, port));
    }
    Ok(fleet)
}

/// Waits until every controller answers `/readyz` with 200.
pub(super) async fn wait_ready(fleet: &Fleet, console: &dyn Console) -> Result<()> {
    let waiting = Instant::now();
    for (region, _, port) in &fleet.0 {
        while http_get(*port, "/readyz").map(|(c, _)| c) != Some(200) {
            if waiting.elapsed() > READY_WITHIN {
                bail!("controller {region} not ready within {READY_WITHIN:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    if !fleet.0.is_empty() {
        console.progress(&format!(
            "controllers ready after {:.1?}",
            waiting.elapsed()
        ));
    }
    Ok(())
}

/// Each controller's stand-down reason now (`None`: acting), from its `/status`; a
/// controller that does not answer is left out.
pub(super) fn stand_downs_now(fleet: &Fleet) -> Vec<(&str, Option<String>)> {
    fleet
        .0
        .iter()
        .filter_map(|(region, _, port)| {
            let (200, body) = http_get(*port, "/status")? else {
                return None;
            };
            let v = serde_json::from_str::<serde_json::Value>(&body).ok()?;
            Some((
                region.as_str(),
                v["stand_down"].as_str().map(str::to_string),
            ))
        })
        .collect()
}
