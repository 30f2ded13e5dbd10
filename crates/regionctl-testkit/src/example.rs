//! The repository's example bundle: `policies/` (six services, the controller config and
//! the policy tests in `policies/tests/`), read with the commands' own reader.

use regionctl_controller::policy_files;
use regionctl_core::policy::{self, Bundle, SourceFile};
use std::path::PathBuf;

/// `policies/` in this repository.
pub fn policies_dir() -> PathBuf {
    crate::repo_root().join("policies")
}

/// Every file of the example bundle, sorted by path (absolute paths).
///
/// # Panics
/// When `policies/` cannot be read: a test without its fixture cannot say anything.
pub fn example_files() -> Vec<SourceFile> {
    let dir = policies_dir();
    policy_files::read(&[&dir])
        .unwrap_or_else(|e| panic!("the example bundle {} must read: {e}", dir.display()))
}

/// The example bundle, loaded.
///
/// # Panics
/// When it does not load, with every diagnostic.
pub fn example_bundle() -> Bundle {
    load(&example_files())
}

/// Loads `files`, panicking with every diagnostic when they do not make a valid bundle.
pub fn load(files: &[SourceFile]) -> Bundle {
    match policy::load(files) {
        Ok(bundle) => bundle,
        Err(diagnostics) => {
            let text: String = diagnostics.iter().map(ToString::to_string).collect();
            panic!(
                "the policy bundle must load ({} diagnostic(s)):\n{text}",
                diagnostics.len()
            )
        }
    }
}

/// `(path, text)` pairs as the loader's [`SourceFile`]s.
pub fn source_files(files: Vec<(String, String)>) -> Vec<SourceFile> {
    files
        .into_iter()
        .map(|(path, text)| SourceFile { path, text })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_bundle_loads_with_its_tests() {
        let bundle = example_bundle();
        assert_eq!(bundle.services.len(), 6);
        assert!(bundle.controller.is_some());
        assert_eq!(bundle.tests.len(), 2, "policies/tests/*.yaml");
    }
}
