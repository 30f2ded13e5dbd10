//! Loading a controller's status page in a real browser (Debian's headless Chromium).
//!
//! `scripts/test.sh` installs Chromium when it is missing; without it the tests that use it
//! fail with the command that installs it (never a silent skip).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Chromium's path, or a failure that says how to get it.
pub fn chromium() -> PathBuf {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!("Chromium is not installed: run `apt-get install -y chromium` (scripts/test.sh does it)")
        })
}

fn run(args: &[&str]) -> std::process::Output {
    let profile = tempfile_dir();
    // The flags keep Chromium off the network: this machine only reaches 127.0.0.1.
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            &format!("--user-data-dir={}", profile.display()),
        ])
        .args(args)
        .output()
        .expect("run chromium");
    let _ = std::fs::remove_dir_all(&profile);
    out
}

fn tempfile_dir() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("regionctl-chromium-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("profile dir");
    dir
}

/// The DOM of `url` after Chromium rendered it.
pub fn dump_dom(url: &str) -> String {
    let out = run(&["--dump-dom", url]);
    assert!(
        out.status.success(),
        "chromium --dump-dom failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// A PNG screenshot of `url` at `path`.
pub fn screenshot(url: &str, path: &Path) {
    let out = run(&[
        "--window-size=1280,1600",
        "--hide-scrollbars",
        &format!("--screenshot={}", path.display()),
        url,
    ]);
    assert!(
        out.status.success(),
        "chromium --screenshot failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
