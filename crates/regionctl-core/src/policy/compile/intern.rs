//! One copy of each identical per-cell list in a bundle.
//!
//! A fleet's cells repeat themselves: every cell of a service usually has the same tiers,
//! baseline weights and record values per region (templates without `{cell}`), and the
//! same cell of every service the same dimension values and set identifiers
//! (`{cell}-{region}`). At 1,000 services × 30 cells × 5 regions, one vector (and one
//! string per region) per cell was 27 MiB in 660,000 heap blocks, most of it copies. The
//! compiled [`crate::policy::Cell`] holds these lists as `Arc<[_]>`, and the loader hands
//! out one shared list per distinct content.

use std::collections::HashSet;
use std::hash::Hash;
use std::sync::Arc;

/// The distinct lists seen so far while compiling one bundle.
#[derive(Debug, Default)]
pub(in crate::policy) struct Interner {
    strings: HashSet<Arc<[String]>>,
    tiers: HashSet<Arc<[Vec<usize>]>>,
    weights: HashSet<Arc<[u8]>>,
}

impl Interner {
    /// The shared copy of a list of strings (dimension values, set identifiers, values).
    pub fn strings(&mut self, list: Vec<String>) -> Arc<[String]> {
        intern(&mut self.strings, list)
    }

    /// The shared copy of a cell's failover tiers.
    pub fn tiers(&mut self, tiers: Vec<Vec<usize>>) -> Arc<[Vec<usize>]> {
        intern(&mut self.tiers, tiers)
    }

    /// The shared copy of a cell's baseline weights.
    pub fn weights(&mut self, weights: Vec<u8>) -> Arc<[u8]> {
        intern(&mut self.weights, weights)
    }
}

/// The list in `set` equal to `list`, added first if there is none.
fn intern<T: Hash + Eq>(set: &mut HashSet<Arc<[T]>>, list: Vec<T>) -> Arc<[T]> {
    if let Some(shared) = set.get(list.as_slice()) {
        return Arc::clone(shared);
    }
    let shared: Arc<[T]> = Arc::from(list);
    set.insert(Arc::clone(&shared));
    shared
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_lists_share_one_copy_and_different_ones_do_not() {
        let mut i = Interner::default();
        let a = i.strings(vec!["x".into(), "y".into()]);
        let b = i.strings(vec!["x".into(), "y".into()]);
        let c = i.strings(vec!["y".into(), "x".into()]);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(&*c, &["y".to_string(), "x".to_string()]);
        let t = i.tiers(vec![vec![0, 1], vec![2]]);
        assert!(Arc::ptr_eq(&t, &i.tiers(vec![vec![0, 1], vec![2]])));
        assert!(!Arc::ptr_eq(&t, &i.tiers(vec![vec![0], vec![1, 2]])));
        let w = i.weights(vec![30, 20]);
        assert!(Arc::ptr_eq(&w, &i.weights(vec![30, 20])));
        assert_eq!(&*i.weights(vec![0, 20]), &[0, 20]);
    }
}
