//! The controller's world in this process: every port on AWS
//! ([`regionctl_aws::world`]), hosted by this process, which supplies what is not AWS:
//! its own HTTP/TCP probes ([`crate::probe`]) and the test failpoints
//! ([`crate::failpoints`]). See ADR 0011.

use regionctl_aws::world::Host;
use regionctl_controller::ports::Prober;
use regionctl_core::policy::Probe;

pub use regionctl_aws::world::{RegionClients, WorldSettings, now_millis, settings};

/// Every controller port on AWS, probing from this process.
pub type AwsWorld = regionctl_aws::world::AwsWorld<Process>;

/// This process as the host of its [`AwsWorld`]: real probes, with the failpoints a test
/// switched on.
#[derive(Debug, Clone, Copy, Default)]
pub struct Process;

impl Prober for Process {
    async fn probe(&self, probe: &Probe) -> bool {
        if crate::failpoints::hit("probe-fail", &probe.target) {
            return false;
        }
        crate::probe::probe(probe).await
    }
}

impl Host for Process {
    fn after_scale(&self) {
        if crate::failpoints::hit("crash-after-scale", "") {
            // Killed in the middle of applying: no unwinding, no outcome record.
            std::process::abort();
        }
    }

    fn refuse_journal_write(&self, sk: &str) -> bool {
        crate::failpoints::hit("journal-write-fail", sk)
    }
}
