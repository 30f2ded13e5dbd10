//! What regionctl's tests and benchmarks share, so that none of them copies it.
//!
//! Policies come from the one bounded reader every command uses
//! ([`regionctl_controller::policy_files`]); AWS is moto, started once per test process.
//!
//! # Layout
//! - [`example`]: the repository's example bundle (`policies/`), read and loaded.
//! - The policy builders and the fleet generator (N services × C cells × R regions) are
//!   in the product, `regionctl_sim::policy_yaml` and `regionctl_sim::generate`: `regionctl
//!   simulate --generate-services` uses them.
//! - [`fixtures`]: the moto fixture policies (`tests/fixtures/moto/`) with one run's names.
//! - [`moto`]: the moto server (started on first use, stopped with the process) and moto's
//!   default network.
//! - [`fleet`]: `regionctl run` controller processes with admin ports, and readiness.
//! - [`http`]: a minimal HTTP client for the admin endpoints.
//!
//! # Design
//! The kit depends on the core, the controller and `regionctl-local` (the moto server, its
//! network and the stub endpoints, shared with the moto game-day target) only.
//! `regionctl-aws`'s own moto tests use it, so it must not depend on `regionctl-aws` (nor
//! on the root package, which does):
//! the harness hands out moto's URL and each test binary builds its SDK clients.

pub mod example;
pub mod fixtures;
pub mod fleet;
pub mod http;
pub mod moto;

use std::path::{Path, PathBuf};

/// The repository root: the nearest ancestor of this crate holding `scripts/moto.sh`.
pub fn repo_root() -> PathBuf {
    let start = Path::new(env!("CARGO_MANIFEST_DIR"));
    start
        .ancestors()
        .find(|d| d.join("scripts/moto.sh").exists())
        .unwrap_or(start)
        .to_path_buf()
}

/// Writes `files` (`(relative path, text)`) under `dir`, creating directories as needed.
pub fn write_files(dir: &Path, files: &[(String, String)]) -> std::io::Result<()> {
    for (path, text) in files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, text)?;
    }
    Ok(())
}
