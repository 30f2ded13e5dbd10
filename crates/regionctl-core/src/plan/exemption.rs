//! The named exemptions from the guard's rules a plan may use (`ServicePlan::exemptions`):
//! why a region that is not eligible may keep weight, and for how long.

use crate::time::Timestamp;
use serde::Serialize;

/// A safety exemption the planner used, named so invariants can honour it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Exemption {
    /// Traffic stays on degraded local region `r` while receiver capacity comes up.
    CapacityWait {
        /// Local region index.
        r: usize,
        /// Until when at most.
        until: Timestamp,
    },
    /// Capacity did not arrive in time; only part of the traffic moved off `r`.
    Partial {
        /// Local region index.
        r: usize,
    },
    /// Cells with no healthy region: the last good state is held.
    FailStatic,
    /// backup-restore: traffic is not moved automatically.
    BackupRestore,
    /// An operator override drained local region `r`.
    OverrideDrain {
        /// Local region index.
        r: usize,
    },
    /// Local region `r` shows failure evidence younger than `fail_after_secs` and this
    /// controller has no earlier verdict for it (it just started or reloaded): it keeps
    /// the traffic it has, gains none, until the failure is confirmed or clears. A
    /// controller that watched it healthy would keep it too (simulate seed 2676).
    Unconfirmed {
        /// Local region index.
        r: usize,
    },
}

impl Exemption {
    /// True when this exemption lets local region `r` keep weight while not eligible at
    /// `now` (the guard's rules 3 and 5).
    pub fn keeps_weight_on(&self, r: usize, now: Timestamp) -> bool {
        match self {
            Exemption::CapacityWait { r: x, until } => *x == r && now < *until,
            Exemption::Partial { r: x } | Exemption::Unconfirmed { r: x } => *x == r,
            Exemption::FailStatic | Exemption::BackupRestore | Exemption::OverrideDrain { .. } => {
                false
            }
        }
    }
}
