//! Safety limits (`safety`): the healthy-region floor, the per-step limit, failback stages,
//! and the compiled [`Safety`].

use super::compute::ecs_spec;
use crate::policy::Safety;
use crate::policy::diagnostics::Reporter;
use crate::policy::raw::{SafetySpec, ServiceSpec, Strategy};
use crate::policy::yaml::FieldPath;

/// Checks the safety section against the number of (valid) regions, and that capacity
/// waits fit inside the degraded hold.
pub(super) fn check_safety(
    spec: &ServiceSpec,
    region_count: usize,
    base: &FieldPath,
    r: &mut Reporter<'_>,
) {
    let spath = base.key("safety");
    let safety = &spec.safety;
    check_min_healthy_regions(
        safety.min_healthy_regions,
        region_count,
        spec.strategy,
        &spath,
        r,
    );
    if !(1..=100).contains(&safety.max_shift_percent_per_step) {
        r.error(
            &spath.key("max_shift_percent_per_step"),
            format!("{}% is out of range", safety.max_shift_percent_per_step),
            Some("use 1-100".into()),
        );
    }
    check_failback_stages(
        &safety.failback.stages_percent,
        &spath.key("failback").key("stages_percent"),
        r,
    );
    if let Some(e) = ecs_spec(spec)
        && e.max_wait_secs > safety.max_degraded_hold_secs
        && spec.strategy != Strategy::ActiveActive
    {
        r.warn(&base.key("compute").key("ecs").key("max_wait_secs"), format!("max_wait_secs {} exceeds safety.max_degraded_hold_secs {}: traffic leaves a degraded region before capacity is ready", e.max_wait_secs, safety.max_degraded_hold_secs), None);
    }
}

/// Never zero healthy regions; a floor the regions can meet; a floor that leaves an
/// active-active service room to evacuate.
fn check_min_healthy_regions(
    min: u32,
    region_count: usize,
    strategy: Strategy,
    spath: &FieldPath,
    r: &mut Reporter<'_>,
) {
    let path = spath.key("min_healthy_regions");
    if min == 0 {
        r.error(
            &path,
            "min_healthy_regions must be at least 1: never route to zero healthy regions",
            None,
        );
    } else if min as usize > region_count && region_count > 0 {
        r.error(
            &path,
            format!("min_healthy_regions {min} can never be met by {region_count} regions"),
            Some(format!("use at most {region_count}")),
        );
    } else if min as usize == region_count && region_count > 1 && strategy == Strategy::ActiveActive
    {
        r.warn(
            &path,
            format!(
                "min_healthy_regions {min} equals the region count: no region can ever be evacuated"
            ),
            None,
        );
    }
}

/// Failback stages: some, strictly increasing percentages, ending at 100.
fn check_failback_stages(stages: &[u32], fpath: &FieldPath, r: &mut Reporter<'_>) {
    if stages.is_empty() {
        r.error(
            fpath,
            "failback needs at least one stage",
            Some("e.g. [10, 50, 100]".into()),
        );
        return;
    }
    if stages.windows(2).any(|w| w[0] >= w[1]) {
        r.error(fpath, "failback stages must strictly increase", None);
    }
    if stages.iter().any(|s| *s == 0 || *s > 100) {
        r.error(fpath, "failback stages are percentages 1-100", None);
    }
    if stages.last() != Some(&100) {
        r.error(
            fpath,
            "the last failback stage must be 100",
            Some("otherwise a recovered region never gets its full share back".into()),
        );
    }
}

/// The compiled safety limits.
pub(super) fn compile_safety(safety: &SafetySpec) -> Safety {
    Safety {
        min_healthy_regions: safety.min_healthy_regions,
        max_shift_percent_per_step: safety.max_shift_percent_per_step,
        cooldown_secs: safety.cooldown_secs,
        max_degraded_hold_secs: safety.max_degraded_hold_secs,
        failback_mode: safety.failback.mode,
        failback_after_healthy_secs: safety.failback.after_healthy_secs,
        failback_stages_percent: safety.failback.stages_percent.clone(),
    }
}
