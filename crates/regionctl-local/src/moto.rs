//! A moto server started with `scripts/moto.sh start`, on a free 127.0.0.1 port.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running moto server this process started: stopped when dropped, and by a watchdog
/// when this process is gone, however it ends (ctrl-c, kill, a test binary's exit, which
/// never drops statics).
#[derive(Debug)]
pub struct MotoServer {
    endpoint: String,
    script: PathBuf,
    pid: String,
    watched: bool,
}

impl MotoServer {
    /// Starts moto with `script` (`scripts/moto.sh`) and a watchdog for it.
    ///
    /// # Errors
    /// When the script cannot run, fails, or does not print the endpoint and the pid.
    pub fn start(script: &Path) -> Result<MotoServer> {
        let out = Command::new("bash")
            .arg(script)
            .arg("start")
            .output()
            .context("running scripts/moto.sh start")?;
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        if !out.status.success() {
            bail!(
                "scripts/moto.sh start failed: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let field = |k: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(k))
                .map(str::to_string)
        };
        let (Some(endpoint), Some(pid)) = (field("MOTO_ENDPOINT="), field("MOTO_PID=")) else {
            bail!("scripts/moto.sh start printed no MOTO_ENDPOINT/MOTO_PID: {stdout}");
        };
        let watched = watch(&pid);
        Ok(MotoServer {
            endpoint,
            script: script.to_path_buf(),
            pid,
            watched,
        })
    }

    /// Its endpoint, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Whether the watchdog started (without it, a killed process leaves moto running).
    pub fn watched(&self) -> bool {
        self.watched
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _stopped = Command::new("bash")
            .arg(&self.script)
            .args(["stop", &self.pid])
            .status();
    }
}

/// Starts the watchdog that kills moto (`pid`) once this process is gone: moto runs
/// detached (setsid), so nothing else would. The outer bash starts it detached and exits at
/// once, so there is nothing left to wait for. Whether it started.
fn watch(pid: &str) -> bool {
    let watchdog = "setsid bash -c 'while kill -0 \"$1\" 2>/dev/null; do sleep 0.5; done; kill \"$2\" 2>/dev/null' \
                    watchdog \"$0\" \"$1\" </dev/null >/dev/null 2>&1 &";
    Command::new("bash")
        .args(["-c", watchdog, &std::process::id().to_string(), pid])
        .status()
        .is_ok_and(|s| s.success())
}
