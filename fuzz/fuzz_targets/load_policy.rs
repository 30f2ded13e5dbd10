//! Fuzz target for the policy loader.
//!
//! The input is read as UTF-8 (lossily) and split on NUL characters into one to three
//! files (`a.yaml`, `b.yaml`, `c.yaml`). Every file goes through both YAML passes
//! (`yaml::parse_tree`, `yaml::parse_values`), then the whole set through `policy::load`.
//! When a bundle loads, its policy tests run too (`testing::run_all`), which plans each
//! test scenario on the policy's steady state — the same path as `regionctl test`.
//!
//! Property: nothing panics, and everything finishes within libFuzzer's `-timeout` and
//! `-rss_limit_mb` (the limits in `policy::yaml` must hold for any input).
#![no_main]

use libfuzzer_sys::fuzz_target;
use regionctl_core::policy::{self, SourceFile, yaml};
use regionctl_core::testing;

const NAMES: [&str; 3] = ["a.yaml", "b.yaml", "c.yaml"];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let files: Vec<SourceFile> = text
        .splitn(NAMES.len(), '\0')
        .zip(NAMES)
        .map(|(part, name)| SourceFile {
            path: name.to_string(),
            text: part.to_string(),
        })
        .collect();
    for file in &files {
        let _ = yaml::parse_tree(&file.text);
        let _ = yaml::parse_values(&file.text);
    }
    if let Ok(bundle) = policy::load(&files) {
        let _ = testing::run_all(&bundle);
    }
});
