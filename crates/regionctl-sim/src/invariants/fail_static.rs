//! `fail-static`: a cell whose every region is failing is not written; the controllers hold
//! its last good state. Grace: detection (`fail_after_secs`, three ticks and the margin)
//! from when every region started failing.

use super::truth::Truth;
use super::{Checker, FAIL_STATIC, MARGIN_SECS, WeightWrite};

impl Checker {
    /// Every region of cell `c` of service `s` failing: starts the fail-static clock at
    /// `t`; otherwise stops it.
    pub(super) fn track_all_bad(&mut self, s: usize, c: usize, truth: &Truth, t: u64) {
        let all_bad = truth.failing.row(c).iter().all(|f| *f);
        if all_bad {
            self.all_bad_since.entry((s, c)).or_insert(t);
        } else {
            self.all_bad_since.remove(&(s, c));
        }
    }

    /// Weight write `w` by `region` at `t`.
    pub(super) fn check_fail_static(&mut self, t: u64, region: &str, w: &WeightWrite) {
        let (sname, cell, rname) = self.names_of(w);
        self.check(FAIL_STATIC);
        let detect = self.bundle.services[w.s].health.fail_after_secs + 3 * self.tick + MARGIN_SECS;
        if let Some(since) = self.all_bad_since.get(&(w.s, w.c)).copied()
            && t.saturating_sub(since) > detect
        {
            self.violate(
                FAIL_STATIC,
                format!("{sname}/{cell}"),
                t,
                format!(
                    "{sname} cell {cell}: {rname} written {} → {} by {region} although every region has been failing for {}s (must hold)",
                    w.from.map_or("-".to_string(), |f| f.to_string()),
                    w.to,
                    t - since
                ),
            );
        }
    }
}
