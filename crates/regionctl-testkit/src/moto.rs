//! One moto server per test process (or the one in `MOTO_ENDPOINT`), and moto's default
//! network.
//!
//! The server is started through `scripts/moto.sh start` and a detached watchdog kills it
//! when this process exits, however it exits (both from [`regionctl_local`], which the moto
//! game-day target uses too). A missing moto install is a failure, never a skip. Tests
//! build their SDK clients from [`endpoint`] themselves (with
//! `regionctl_aws::config::load_for_tests`): this kit does not depend on `regionctl-aws`.

use regionctl_local::moto::MotoServer;
use regionctl_local::network;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// The moto this process uses: its endpoint, and the server when this process started it
/// (kept for the process's life: statics are never dropped, and the server's watchdog stops
/// it once the process is gone).
static MOTO: OnceLock<(String, Option<MotoServer>)> = OnceLock::new();
static COUNTER: AtomicU32 = AtomicU32::new(0);

fn start() -> (String, Option<MotoServer>) {
    if let Ok(url) = std::env::var("MOTO_ENDPOINT") {
        return (url, None);
    }
    let root = crate::repo_root();
    let moto_bin = root.join(".venv/bin/moto_server");
    assert!(
        moto_bin.exists(),
        "moto is not installed ({} missing): run `scripts/moto.sh install` from the repository root",
        moto_bin.display()
    );
    let server =
        MotoServer::start(&root.join("scripts/moto.sh")).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(server.watched(), "moto watchdog failed to start");
    (server.endpoint().to_string(), Some(server))
}

/// The moto endpoint, starting the server on first use.
pub fn endpoint() -> &'static str {
    &MOTO.get_or_init(start).0
}

/// A name unique within this test run (short enough for ALB/target-group names).
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}x{}",
        std::process::id() % 100_000,
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// The default VPC's id, its default subnets and its default security group in `region`.
pub fn default_network(region: &str) -> (String, Vec<String>, String) {
    let net = network::default_network(endpoint(), region).unwrap_or_else(|e| panic!("{e:#}"));
    (net.vpc, net.subnets, net.security_group)
}

/// The default VPC's subnets and security group per region, as the lines of a controller
/// config's `provision.network` map.
pub fn network_yaml(regions: &[&str]) -> String {
    network::provision_network_yaml(endpoint(), regions).unwrap_or_else(|e| panic!("{e:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_differ() {
        assert_ne!(unique("t"), unique("t"));
    }
}
