//! A fleet of `regionctl run` controller processes, each with an admin port on 127.0.0.1,
//! killed when the fleet is dropped.
//!
//! The caller names the binary (`env!("CARGO_BIN_EXE_regionctl")` in the root package's
//! tests): this kit does not depend on the root package. Processes get static credentials
//! and no instance metadata, so they never reach for real AWS.

use crate::http;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How to start one controller.
#[derive(Debug, Clone)]
pub struct ControllerSpec {
    /// `--region`.
    pub region: String,
    /// `--policies`.
    pub policies: PathBuf,
    /// `--endpoint-url` (moto).
    pub endpoint: String,
    /// `--log-json`.
    pub log_json: bool,
    /// `REGIONCTL_FAILPOINTS` (unset when `None`).
    pub failpoints: Option<String>,
}

impl ControllerSpec {
    /// A controller for `region` on the policies in `policies`, against `endpoint`.
    pub fn new(region: &str, policies: &Path, endpoint: &str) -> ControllerSpec {
        ControllerSpec {
            region: region.to_string(),
            policies: policies.to_path_buf(),
            endpoint: endpoint.to_string(),
            log_json: false,
            failpoints: None,
        }
    }

    /// Logs as JSON lines.
    pub fn log_json(mut self) -> ControllerSpec {
        self.log_json = true;
        self
    }

    /// With these failpoints (see `src/failpoints.rs`; the binary needs the feature).
    pub fn failpoints(mut self, failpoints: &str) -> ControllerSpec {
        self.failpoints = Some(failpoints.to_string());
        self
    }
}

/// One running controller.
#[derive(Debug)]
pub struct Controller {
    /// Its region.
    pub region: String,
    /// Its admin port on 127.0.0.1.
    pub admin_port: u16,
    child: Child,
}

impl Controller {
    /// `GET path` on the admin port.
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        http::get(self.admin_port, path)
    }

    /// The status page's URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.admin_port)
    }

    /// Sends SIGTERM and waits up to `within` for a clean exit.
    ///
    /// # Panics
    /// When the process ignores the signal or exits with a failure.
    pub fn terminate(&mut self, within: Duration) {
        let pid = self.child.id().to_string();
        // Ignored: a controller that already exited is judged by its status below.
        Command::new("kill").args(["-TERM", &pid]).status().ok();
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "{} exited with {status}", self.region);
                return;
            }
            assert!(Instant::now() < deadline, "{} ignored SIGTERM", self.region);
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Controller processes of one binary.
#[derive(Debug)]
pub struct Fleet {
    binary: PathBuf,
    controllers: Vec<Controller>,
}

impl Fleet {
    /// An empty fleet of `binary` (the `regionctl` executable).
    pub fn new(binary: impl Into<PathBuf>) -> Fleet {
        Fleet {
            binary: binary.into(),
            controllers: Vec::new(),
        }
    }

    /// Starts a controller on a free admin port (output discarded).
    ///
    /// # Panics
    /// When the binary cannot be started.
    pub fn start(&mut self, spec: &ControllerSpec) -> &Controller {
        let admin_port = http::free_port();
        let mut command = Command::new(&self.binary);
        command
            .args(["run", "--region", &spec.region, "--policies"])
            .arg(&spec.policies)
            .args(["--endpoint-url", &spec.endpoint])
            .args(["--admin-addr", &format!("127.0.0.1:{admin_port}")]);
        if spec.log_json {
            command.arg("--log-json");
        }
        command
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        if let Some(failpoints) = &spec.failpoints {
            command.env("REGIONCTL_FAILPOINTS", failpoints);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start controller");
        self.controllers.push(Controller {
            region: spec.region.clone(),
            admin_port,
            child,
        });
        &self.controllers[self.controllers.len() - 1]
    }

    /// The controllers, in the order they were started.
    pub fn controllers(&self) -> &[Controller] {
        &self.controllers
    }

    /// Waits until every controller answers `/readyz` with 200; returns how long it took.
    ///
    /// # Panics
    /// When one is not ready within `within` (a liveness bound, not a performance one).
    pub async fn wait_ready(&self, within: Duration) -> Duration {
        let started = Instant::now();
        for c in &self.controllers {
            while c.get("/readyz").map(|(code, _)| code) != Some(200) {
                assert!(
                    started.elapsed() < within,
                    "controller {} never became ready",
                    c.region
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        started.elapsed()
    }

    /// Stops every controller with SIGTERM, in order, each within `within`.
    ///
    /// # Panics
    /// As [`Controller::terminate`].
    pub fn terminate(&mut self, within: Duration) {
        for c in &mut self.controllers {
            c.terminate(within);
        }
    }
}

impl std::ops::Index<usize> for Fleet {
    type Output = Controller;

    fn index(&self, i: usize) -> &Controller {
        &self.controllers[i]
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for c in &mut self.controllers {
            // Ignored: the process may have exited already.
            c.child.kill().ok();
            c.child.wait().ok();
        }
    }
}

/// Fails, with the command to run, when `binary` was built without test failpoints.
pub fn require_failpoints(binary: &Path) {
    let out = Command::new(binary)
        .arg("--version")
        .output()
        .expect("version");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("(failpoints)"),
        "this test needs the failpoints feature: run `cargo test --features regionctl/failpoints` (scripts/test.sh does)"
    );
}
