//! Failpoints: faults a test can switch on in a real controller process.
//!
//! Compiled in only with the `failpoints` cargo feature (the test suite builds with it;
//! release builds do not), and then switched on by `REGIONCTL_FAILPOINTS`, a comma-separated
//! list:
//! - `crash-after-scale`: abort the process (like `kill -9`) right after the first ECS
//!   `UpdateService` of a pass — killed in the middle of applying (the AWS world calls its
//!   host's `after_scale`, [`crate::aws_world::Process`]);
//! - `probe-fail@TEXT`: this controller's probes of any target containing TEXT fail (one
//!   observer's view of a region);
//! - `journal-write-fail@TEXT`: this controller's journal writes of items whose sort key
//!   contains TEXT fail as a denied table would (`#INTENT`, `#OUTCOME#`, `LASTMOVE#`).

/// True when failpoints are compiled in.
pub const ENABLED: bool = cfg!(feature = "failpoints");

/// True when failpoint `name` is on (optionally matching `subject` for `name@TEXT` entries).
pub fn hit(name: &str, subject: &str) -> bool {
    if !ENABLED {
        return false;
    }
    std::env::var("REGIONCTL_FAILPOINTS").is_ok_and(|list| {
        list.split(',')
            .map(str::trim)
            .any(|entry| match entry.split_once('@') {
                Some((n, text)) => n == name && subject.contains(text),
                None => entry == name,
            })
    })
}
