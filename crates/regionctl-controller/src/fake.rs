//! What the controller's unit tests share: the example bundle and a small scripted world
//! ([`world::FakeWorld`]).

pub mod world;

use crate::journal::Heartbeat;
use crate::status::ControllerState;
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

/// An acting controller's heartbeat in `region` at `at`, seeing itself acting and nothing
/// else.
pub fn heartbeat(region: &str, bundle_hash: &str, at: Timestamp) -> Heartbeat {
    Heartbeat {
        region: region.into(),
        bundle_hash: bundle_hash.into(),
        at,
        state: ControllerState::Acting,
        not_healthy: Vec::new(),
        sees_acting: vec![region.into()],
        first_since: None,
        drained: Default::default(),
        peers_not_healthy: Default::default(),
        last_moves: Default::default(),
        episodes: Default::default(),
        episodes_closed: Default::default(),
    }
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
