//! `backup-restore` never moves traffic: an unhealthy serving region needs a restore from
//! backup, which the plan records as a step and an alert.

use super::{Context, LocalStep, Outcome};
use crate::plan::{Action, Alert, AlertKind, Exemption, Plane, Reason};

/// Records a restore for every region unhealthy in a cell it serves.
pub(super) fn plan_backup_restore(cx: &Context<'_>, out: &mut Outcome) {
    let service = cx.service;
    out.plan.exemptions.push(Exemption::BackupRestore);
    for (r, region) in service.regions.iter().enumerate() {
        let unhealthy = (0..service.cells.len()).find(|c| {
            cx.entry(*c, r).verdict.is_unhealthy() && service.cells[*c].baseline_weights[r] > 0
        });
        if let Some(c) = unhealthy {
            let e = cx.entry(c, r);
            out.steps.push(LocalStep {
                action: Action::RestoreRequired { r },
                after: Vec::new(),
                reasons: vec![
                    Reason::RegionUnhealthy {
                        r,
                        verdict: e.verdict,
                        since: e.since,
                        evidence: Default::default(),
                        cells: service.cells.len(),
                    },
                    Reason::RestoreRequired { r },
                ],
                plane: Plane::None,
                discretionary: false,
                takes_effect_secs: None,
            });
            out.alerts.push(Alert {
                kind: AlertKind::RestoreRequired,
                service: service.name.clone(),
                message: format!("{} is {}: backup-restore does not move traffic; restore from backup (runbooks/restore-from-backup.md)", region.name, e.verdict.as_str()),
            });
        }
    }
}
