//! Reading and keeping up the data-plane switches (DESIGN.md §6).
//!
//! A switch *change* is a plan step ([`regionctl_core::plan::Action::SetSwitch`]), recorded
//! in the journal like any other. Between changes, every acting controller republishes the
//! state in force each pass ([`keep_alive`]): that is what makes the metric arrive "from
//! at least two regions" (every controller of the majority publishes), so the loss of any
//! one controller's region does not stop it. A controller that stands down (minority,
//! other policy hash, own region down, pause) publishes nothing; the alarm ignores missing
//! data and the health check keeps its last status, so the switches hold.

use crate::ports::{PortResult, Switches};
use regionctl_core::live::LiveState;
use regionctl_core::plan::{Disposition, Plan};
use regionctl_core::policy::Bundle;
use regionctl_core::switch::{self, SwitchRef};

/// Reads the switches of service `s`; `Err` leaves them unknown.
pub async fn read<W: Switches>(
    world: &W,
    bundle: &Bundle,
    s: usize,
) -> PortResult<Vec<Option<bool>>> {
    let service = &bundle.services[s];
    let refs: Vec<SwitchRef> = switch::switches_of(service)
        .into_iter()
        .map(|(_, _, x)| x)
        .collect();
    if refs.is_empty() {
        return Ok(Vec::new());
    }
    world.read_switches(&refs).await
}

/// What to republish: for every service that applies automatically, the switch states in
/// force — as read this pass, overridden by the switches this pass's steps set (`switched`:
/// service index, `slot * regions + region`, on). Switches never published are left alone.
pub fn in_force(
    bundle: &Bundle,
    plan: &Plan,
    live: &LiveState,
    switched: &[(usize, usize, bool)],
) -> Vec<(SwitchRef, bool)> {
    let mut out = Vec::new();
    for sp in &plan.services {
        if sp.disposition != Disposition::Apply {
            continue;
        }
        let service = &bundle.services[sp.service];
        let nr = service.regions.len();
        let known = &live.services[sp.service].switches;
        for (slot, r, x) in switch::switches_of(service) {
            let i = slot * nr + r;
            let set = switched
                .iter()
                .rev()
                .find(|(s, j, _)| *s == sp.service && *j == i)
                .map(|(_, _, on)| *on);
            if let Some(on) = set.or_else(|| known.get(i).copied().flatten()) {
                out.push((x, on));
            }
        }
    }
    out
}

/// Republishes `values` (one call per batch; the adapter splits by region and size).
pub async fn keep_alive<W: Switches>(world: &W, values: &[(SwitchRef, bool)]) -> PortResult<()> {
    if values.is_empty() {
        return Ok(());
    }
    world.publish_switches(values).await
}
