//! How the controller process uses glibc's heap (ADR 0021).
//!
//! At 1,000 services the controller's live data is about 45 MiB, but its resident memory
//! was 67 MiB (PERFORMANCE.md, "Memory and planning"): glibc's malloc keeps what a policy
//! load frees (position trees, untyped specs: a 34 MiB transient peak above the bundle it
//! leaves), and after the first large block it maps and frees, it raises its mmap
//! threshold (up to 32 MiB), so the health views, observations and plans of every pass
//! (megabytes each) come from the heap and their pages stay resident once freed.
//!
//! Two calls change that, both made by `regionctl run` only (the simulator and the other
//! commands run short-lived or many controllers in one process, and keep glibc's
//! defaults):
//! - [`keep_large_blocks_mapped`] at start: the threshold stays at 128 KiB, glibc's
//!   default, so large blocks are mapped and given back when freed;
//! - [`return_freed`] after each policy load: the load's freed pages go back to the
//!   system.
//!
//! Elsewhere than glibc on Linux both do nothing.

/// Fixes glibc's mmap threshold at its default of 128 KiB: blocks that large are mapped
/// and unmapped when freed, instead of the threshold growing after the first such free
/// and every later one coming from the heap, to stay resident. Call once, before the
/// process allocates much. Returns false if glibc refused the setting.
pub fn keep_large_blocks_mapped() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        /// glibc's default threshold; setting it explicitly turns off its adjustment.
        const THRESHOLD: libc::c_int = 128 * 1024;
        #[allow(unsafe_code)]
        // SAFETY: `mallopt` takes two integers and no pointer; glibc applies the setting
        // under its arena lock, so calling it at any time from any thread is sound.
        let applied = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD) };
        applied == 1
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        true
    }
}

/// Gives the heap's free pages back to the system (since glibc 2.8 from anywhere in the
/// heap, not only its top). A few milliseconds; call after a policy load, not per pass.
pub fn return_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        #[allow(unsafe_code)]
        // SAFETY: `malloc_trim` takes no pointer and walks only glibc's own arenas, each
        // under its lock, so calling it at any time from any thread is sound.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{keep_large_blocks_mapped, return_freed};

    #[test]
    fn the_settings_are_accepted_and_the_heap_still_works() {
        assert!(keep_large_blocks_mapped());
        let big: Vec<u8> = vec![7; 4 << 20];
        let sum: u64 = big.iter().map(|b| u64::from(*b)).sum();
        drop(big);
        return_freed();
        let again: Vec<u8> = vec![1; 1 << 20];
        assert_eq!(sum, 7 * (4 << 20));
        assert_eq!(again.len(), 1 << 20);
    }
}
