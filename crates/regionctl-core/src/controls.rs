//! Operator controls: a global pause and time-boxed overrides. Both win over automation and
//! both are recorded in the journal with who, why and when.

use crate::policy::{Bundle, RegionIx};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// What an override does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OverrideAction {
    /// Keep the region drained (weight 0) whatever its health says.
    Drain,
    /// Allow failback into the region now (manual failback policies, or skipping the
    /// recovery window); staging and health gates still apply.
    Restore,
}

/// A time-boxed override.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    /// Service name, or `None` for every service.
    pub service: Option<String>,
    /// Region.
    pub region: String,
    /// Cell id, or `None` for every cell.
    pub cell: Option<String>,
    /// What it does.
    pub action: OverrideAction,
    /// Who asked.
    pub who: String,
    /// Why.
    pub why: String,
    /// When it stops applying by itself.
    pub expires_at: Timestamp,
}

/// The pause switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    /// Who paused.
    pub who: String,
    /// Why.
    pub why: String,
    /// When.
    pub at: Timestamp,
}

/// All operator controls in force.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Controls {
    /// Global pause: automation plans (for the record) but changes nothing.
    pub paused: Option<Pause>,
    /// Overrides, expired ones included (they are ignored).
    pub overrides: Vec<Override>,
}

impl Controls {
    /// The override in force for (service, region, cell) at `now`, if any. A more specific
    /// override (naming the service or cell) wins over a general one.
    pub fn active<'a>(
        &'a self,
        bundle: &Bundle,
        service: &str,
        region: RegionIx,
        cell: &str,
        now: Timestamp,
    ) -> Option<&'a Override> {
        let region = bundle.region_name(region);
        self.overrides
            .iter()
            .filter(|o| now < o.expires_at)
            .filter(|o| o.region == region)
            .filter(|o| o.service.as_deref().is_none_or(|s| s == service))
            .filter(|o| o.cell.as_deref().is_none_or(|c| c == cell))
            .max_by_key(|o| (o.service.is_some(), o.cell.is_some(), o.expires_at))
    }
}
