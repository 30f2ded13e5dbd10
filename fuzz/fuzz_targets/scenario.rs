//! Fuzz target for game-day scenario files: the input (UTF-8, lossily) through
//! `regionctl_sim::scenario::parse` as `chaos/fuzz.yaml` and, when it parses, through
//! `scenario::validate` against the repository's policy bundle (`policies/*.yaml`, built
//! in), as `regionctl gameday` and `regionctl simulate` load a scenario.
//!
//! Properties: nothing panics, everything finishes within libFuzzer's `-timeout` and
//! `-rss_limit_mb` (the scenario loader reuses the policy loader's bounded YAML readers);
//! every error names the file and says something, and a line it gives is 1-based.
#![no_main]

use libfuzzer_sys::fuzz_target;
use regionctl_core::policy::{self, Bundle, SourceFile};
use regionctl_sim::scenario::{self, ScenarioError};
use std::path::Path;
use std::sync::LazyLock;

const FILE: &str = "chaos/fuzz.yaml";

/// The repository's policies, as `world.policies: ../policies` names them.
static BUNDLE: LazyLock<(Bundle, Vec<String>)> = LazyLock::new(|| {
    let files = [
        ("auth.yaml", include_str!("../../policies/auth.yaml")),
        (
            "bookmarks.yaml",
            include_str!("../../policies/bookmarks.yaml"),
        ),
        ("catalog.yaml", include_str!("../../policies/catalog.yaml")),
        ("content.yaml", include_str!("../../policies/content.yaml")),
        (
            "controller.yaml",
            include_str!("../../policies/controller.yaml"),
        ),
        (
            "playback.yaml",
            include_str!("../../policies/playback.yaml"),
        ),
        ("search.yaml", include_str!("../../policies/search.yaml")),
    ]
    .map(|(path, text)| SourceFile {
        path: path.into(),
        text: text.into(),
    });
    let bundle = policy::load(&files).expect("the repository's policies load");
    let controllers = bundle
        .controller
        .as_ref()
        .map(|c| c.regions.clone())
        .expect("policies/controller.yaml names the controllers");
    (bundle, controllers)
});

fn check(e: &ScenarioError) {
    assert_eq!(e.file, FILE, "{e}");
    assert!(!e.message.is_empty(), "{e}");
    assert!(e.line.is_none_or(|(l, c)| l >= 1 && c >= 1), "{e}");
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match scenario::parse(Path::new(FILE), &text) {
        Err(e) => check(&e),
        Ok(loaded) => {
            let (bundle, fleet) = &*BUNDLE;
            let controllers = loaded.scenario.world.controllers.as_ref().unwrap_or(fleet);
            for e in scenario::validate(&loaded, bundle, controllers) {
                check(&e);
            }
        }
    }
});
