//! Transitional: reading a policy bundle from disk is
//! [`regionctl_controller::policy_files`], the one bounded reader every command uses. These
//! two wrappers keep the daemon's reload and the moto game-day target (edited on other
//! branches) compiling until they call it directly; then this module goes.

use anyhow::Result;
use regionctl_controller::policy_files;
use regionctl_core::policy::SourceFile;
use std::path::PathBuf;

/// Every YAML file under `paths` (files or directories), sorted by path.
pub fn list_policy_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    Ok(policy_files::list(paths)?)
}

/// Reads every YAML file under `paths` (files or directories), sorted by path.
pub fn read_bundle(paths: &[PathBuf]) -> Result<Vec<SourceFile>> {
    Ok(policy_files::read(paths)?)
}
