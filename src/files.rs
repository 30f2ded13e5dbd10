//! Reading a policy bundle from disk: every `*.yaml` / `*.yml` under the given paths.

use anyhow::{Context, Result, bail};
use regionctl_core::policy::{SourceFile, yaml::MAX_FILE_BYTES};
use std::path::{Path, PathBuf};

/// Most files in one bundle: a stray directory (e.g. `/`) must not be walked forever.
const MAX_FILES: usize = 20_000;
/// Deepest directory nesting walked.
const MAX_DIR_DEPTH: usize = 16;

/// Every YAML file under `paths` (files or directories), sorted by path.
pub fn list_policy_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for path in paths {
        if !path.exists() {
            bail!("{}: no such file or directory", path.display());
        }
        if path.is_dir() {
            walk(path, 0, &mut found)?;
        } else {
            found.push(path.clone());
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// Reads every YAML file under `paths` (files or directories), sorted by path.
pub fn read_bundle(paths: &[PathBuf]) -> Result<Vec<SourceFile>> {
    let found = list_policy_files(paths)?;
    let mut files = Vec::with_capacity(found.len());
    for path in found {
        let meta =
            std::fs::metadata(&path).with_context(|| format!("{}: cannot read", path.display()))?;
        if meta.len() > MAX_FILE_BYTES as u64 {
            bail!(
                "{}: {} bytes; policy files are limited to {MAX_FILE_BYTES} bytes",
                path.display(),
                meta.len()
            );
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{}: cannot read as UTF-8 text", path.display()))?;
        files.push(SourceFile {
            path: path.display().to_string(),
            text,
        });
    }
    Ok(files)
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<()> {
    if depth > MAX_DIR_DEPTH {
        bail!(
            "{}: directories nested deeper than {MAX_DIR_DEPTH} levels",
            dir.display()
        );
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot list directory", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(&path, depth + 1, out)?;
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            out.push(path);
            if out.len() > MAX_FILES {
                bail!("more than {MAX_FILES} policy files under {}", dir.display());
            }
        }
    }
    Ok(())
}
