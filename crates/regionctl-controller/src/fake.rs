//! What the controller's unit tests share: the example bundle and a small scripted world
//! ([`world::FakeWorld`]).

pub mod world;

use regionctl_core::health::{HealthView, Verdict};
use regionctl_core::policy::{Bundle, SourceFile, load};
use regionctl_core::time::Timestamp;

/// The example policies in `policies/`.
pub fn example() -> Bundle {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");
    let mut files: Vec<SourceFile> = std::fs::read_dir(dir)
        .expect("policies/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| SourceFile {
            path: p.display().to_string(),
            text: std::fs::read_to_string(&p).expect("read policy"),
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    load(&files).expect("example policies load")
}

/// Every (service, region, cell) healthy since `since`, except `service` in each of
/// `regions`: degraded since then.
pub fn degraded(bundle: &Bundle, service: &str, regions: &[&str], since: Timestamp) -> HealthView {
    HealthView::assume(bundle, since, |s, r, _| {
        let svc = &bundle.services[s];
        if svc.name == service && regions.contains(&svc.regions[r].name.as_str()) {
            Verdict::Degraded
        } else {
            Verdict::Healthy
        }
    })
}
