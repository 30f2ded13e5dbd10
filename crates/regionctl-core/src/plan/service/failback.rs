//! Failback: when traffic may return to a recovered region (the gate), how far one step
//! takes it (the staged weights), and why it waits when it does (the notes).

use super::shares::cell_shares;
use super::weights::Weights;
use super::{Context, SHARE_EPSILON};
use crate::controls::OverrideAction;
use crate::policy::Service;
use crate::policy::raw::FailbackMode;
use crate::time::Timestamp;

/// A failback stage counts as reached within this fraction of the stage.
const STAGE_TOLERANCE: f64 = 0.02;

/// What failback may do this tick, service-wide.
pub(super) struct FailbackGate {
    /// Per local region: may receive failback traffic now.
    pub allowed: Vec<bool>,
    /// Per local region: healthy since (for reasons).
    pub healthy_since: Vec<Timestamp>,
    /// Stage fraction cap from the cooldown/stage logic (computed per cell later).
    pub cooldown_ok: bool,
    /// Per local region: why failback into it waits, if it does.
    waiting: Vec<Option<String>>,
    /// Why discretionary moves wait for the cooldown, if they do.
    cooldown_note: Option<String>,
}

/// The gate: a region may get traffic back once every cell of it is healthy and it has
/// been healthy for the recovery window (auto), or an operator restores it (manual).
pub(super) fn failback_gate(cx: &Context<'_>) -> FailbackGate {
    let service = cx.service;
    let (nr, now) = (cx.nr, cx.now);
    let cooldown_ok = cx.cooldown_passed();
    // A region is recovered when every cell's verdict is healthy; use the latest since
    // (read in the context's one pass over the entries).
    let mut allowed: Vec<bool> = cx.recovered.iter().map(|r| r.all_healthy).collect();
    let healthy_since: Vec<Timestamp> = cx
        .recovered
        .iter()
        .map(|r| r.healthy_since.unwrap_or(now))
        .collect();
    let mut waiting = vec![None; nr];
    for r in 0..nr {
        let all_healthy = allowed[r];
        let region = service.regions[r].region;
        let restore = cx
            .inputs
            .controls
            .active(cx.inputs.bundle, &service.name, region, "", now)
            .is_some_and(|o| o.action == OverrideAction::Restore);
        let manual = service.safety.failback_mode == FailbackMode::Manual;
        let window =
            now.elapsed_at_least(healthy_since[r], service.safety.failback_after_healthy_secs);
        allowed[r] = all_healthy && (restore || (!manual && window));
        if all_healthy && !allowed[r] {
            waiting[r] = Some(if manual {
                format!(
                    "{} is healthy; failback is manual: `regionctl override restore --drain-region {} --for-mins 60 --why ... --region <your region>`",
                    service.regions[r].name, service.regions[r].name
                )
            } else {
                format!(
                    "{} healthy for {}s of the {}s recovery window before failback",
                    service.regions[r].name,
                    now.secs_since(healthy_since[r]),
                    service.safety.failback_after_healthy_secs
                )
            });
        }
    }
    let cooldown_note = (!cooldown_ok).then(|| {
        format!(
            "failback waits for the {}s cooldown after the last discretionary move",
            service.safety.cooldown_secs
        )
    });
    FailbackGate {
        allowed,
        healthy_since,
        cooldown_ok,
        waiting,
        cooldown_note,
    }
}

/// Why failback waits, once per blocked region (its recovery window or manual mode, else
/// the cooldown).
pub(super) fn failback_notes(weights: &Weights) -> Vec<String> {
    let mut blocked = weights.blocked.clone();
    blocked.sort_unstable();
    blocked.dedup();
    let gate = &weights.gate;
    let mut notes = Vec::new();
    for r in &blocked {
        match &gate.waiting[*r] {
            Some(note) => notes.push(note.clone()),
            None => notes.extend(gate.cooldown_note.clone()),
        }
    }
    notes
}

/// The next failback stage from `from` toward `full`, bounded by the per-step limit.
///
/// Gainers get `f ×` their full share; the rest of the cell goes to the other regions in
/// proportion to their full-target shares, or — when none has one (a fallback tier handing
/// traffic back) — in proportion to what they carry now. `f` is the next stage, shrunk until
/// the whole move (every region's gain, after integer rounding) fits the step limit.
pub(crate) fn staged(service: &Service, from: &[u8], full: &[u8]) -> Vec<u8> {
    let n = full.len();
    let s_from = cell_shares(from);
    let s_full = cell_shares(full);
    let gainers: Vec<usize> = (0..n)
        .filter(|r| s_full[*r] > s_from[*r] + SHARE_EPSILON)
        .collect();
    if gainers.is_empty() {
        return full.to_vec();
    }
    let progress = gainers
        .iter()
        .map(|r| s_from[*r] / s_full[*r])
        .fold(1.0f64, f64::min);
    let next = service
        .safety
        .failback_stages_percent
        .iter()
        .map(|p| f64::from(*p) / 100.0)
        .find(|f| *f > progress + STAGE_TOLERANCE)
        .unwrap_or(1.0);
    let max_step = f64::from(service.safety.max_shift_percent_per_step) / 100.0;
    let others: Vec<usize> = (0..n).filter(|r| !gainers.contains(r)).collect();
    let others_full: f64 = others.iter().map(|r| s_full[*r]).sum();
    let others_from: f64 = others.iter().map(|r| s_from[*r]).sum();
    let desired_at = |f: f64| -> Vec<f64> {
        let mut d = vec![0.0f64; n];
        let mut gained = 0.0;
        for &r in &gainers {
            d[r] = (f * s_full[r]).max(s_from[r]);
            gained += d[r];
        }
        let rest = (1.0 - gained).max(0.0);
        // The others' split moves from today's toward the full target's at the same pace
        // as the gainers: jumping to the target's split at once can alone exceed the step
        // limit (an evacuation that left them far from it), and then no stage would ever
        // fit and failback would stall for good (found by `regionctl simulate`).
        let t = if progress < 1.0 {
            ((f - progress) / (1.0 - progress)).clamp(0.0, 1.0)
        } else {
            1.0
        };
        for &r in &others {
            let now_part = if others_from > 0.0 {
                s_from[r] / others_from
            } else {
                s_full[r] / others_full.max(f64::MIN_POSITIVE)
            };
            let full_part = if others_full > 0.0 {
                s_full[r] / others_full
            } else {
                now_part
            };
            d[r] = ((1.0 - t) * now_part + t * full_part) * rest;
        }
        d
    };
    let moved = |w: &[u8]| -> f64 {
        let s = cell_shares(w);
        (0..n).map(|r| (s[r] - s_from[r]).max(0.0)).sum()
    };
    // The move grows with the way `g` from today's progress toward the next stage; each
    // round shrinks `g` in proportion to the overshoot (24 rounds reach any limit ≥ 1%).
    let mut g = 1.0f64;
    for _ in 0..24 {
        let f = progress + g * (next - progress);
        let w = if f >= 1.0 - 1e-9 {
            full.to_vec()
        } else {
            percent_weights(&desired_at(f))
        };
        let m = moved(&w);
        if m <= max_step + 1e-9 {
            return w;
        }
        g *= (max_step / m).min(0.95);
    }
    from.to_vec()
}

/// Integer weights summing to 100 for shares (largest remainder; never to a zero share).
fn percent_weights(desired: &[f64]) -> Vec<u8> {
    let mut w: Vec<u32> = desired
        .iter()
        .map(|d| (d * 100.0).floor().max(0.0) as u32)
        .collect();
    let assigned: u32 = w.iter().sum();
    let mut order: Vec<usize> = (0..desired.len()).filter(|r| desired[*r] > 0.0).collect();
    order.sort_by(|a, b| {
        let fa = desired[*a] * 100.0 - f64::from(w[*a]);
        let fb = desired[*b] * 100.0 - f64::from(w[*b]);
        fb.total_cmp(&fa).then(a.cmp(b))
    });
    for r in order
        .into_iter()
        .take(100usize.saturating_sub(assigned as usize))
    {
        w[r] += 1;
    }
    w.into_iter()
        .map(|x| u8::try_from(x.min(255)).unwrap_or(255))
        .collect()
}
