//! A client-side token bucket for the Route 53 API budget.
//!
//! Route 53 throttles per account (about 5 requests/s), for reads and writes alike. Every
//! controller in the process shares one [`SharedBucket`] (behind an `Arc`), so a full-zone
//! resync cannot starve an evacuation: writes have priority. Reads may not take the last
//! `write_reserve` tokens, and no read is served while a write is waiting.
//!
//! [`BucketState`] is pure arithmetic over an explicit `now` (milliseconds), in integer
//! milli-tokens, so it is tested deterministically; [`SharedBucket`] adds the clock and
//! the waiting.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Whether a call reads or writes (writes are served first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// `ChangeResourceRecordSets`, health-check changes.
    Write,
    /// List/Get calls.
    Read,
}

/// Bucket parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketConfig {
    /// Maximum tokens (burst).
    pub burst: u32,
    /// Tokens added per second.
    pub refill_per_sec: u32,
    /// Tokens reads may not take, kept for writes.
    pub write_reserve: u32,
}

impl Default for BucketConfig {
    fn default() -> Self {
        BucketConfig {
            burst: 50,
            refill_per_sec: 10,
            write_reserve: 5,
        }
    }
}

const MILLI: u64 = 1000;

/// The pure state of a token bucket. Time is an argument (milliseconds since any origin,
/// non-decreasing).
#[derive(Debug, Clone)]
pub struct BucketState {
    config: BucketConfig,
    milli_tokens: u64,
    last_ms: u64,
}

impl BucketState {
    /// A full bucket at time `now_ms`.
    pub fn new(config: BucketConfig, now_ms: u64) -> Self {
        BucketState {
            config,
            milli_tokens: u64::from(config.burst) * MILLI,
            last_ms: now_ms,
        }
    }

    /// Whole tokens available at `now_ms`.
    pub fn available(&mut self, now_ms: u64) -> u32 {
        self.refill(now_ms);
        u32::try_from(self.milli_tokens / MILLI).unwrap_or(u32::MAX)
    }

    fn refill(&mut self, now_ms: u64) {
        let elapsed = now_ms.saturating_sub(self.last_ms);
        // refill_per_sec tokens per 1000 ms = refill_per_sec milli-tokens per ms.
        let added = elapsed.saturating_mul(u64::from(self.config.refill_per_sec));
        let cap = u64::from(self.config.burst) * MILLI;
        self.milli_tokens = self.milli_tokens.saturating_add(added).min(cap);
        self.last_ms = self.last_ms.max(now_ms);
    }

    /// Tries to take one token. `writers_waiting` makes reads yield to writes.
    /// Returns `Ok(())` if taken, or `Err(wait)` with how long to wait before trying again.
    pub fn try_take(
        &mut self,
        now_ms: u64,
        priority: Priority,
        writers_waiting: bool,
    ) -> Result<(), Duration> {
        self.refill(now_ms);
        let needed = match priority {
            Priority::Write => MILLI,
            Priority::Read => (1 + u64::from(self.config.write_reserve)) * MILLI,
        };
        if priority == Priority::Read && writers_waiting {
            return Err(self.wait_for(MILLI.max(needed.saturating_sub(self.milli_tokens))));
        }
        if self.milli_tokens >= needed {
            self.milli_tokens -= MILLI;
            Ok(())
        } else {
            Err(self.wait_for(needed - self.milli_tokens))
        }
    }

    /// Removes all tokens, e.g. after the service throttled us despite the bucket.
    pub fn drain(&mut self, now_ms: u64) {
        self.refill(now_ms);
        self.milli_tokens = 0;
    }

    fn wait_for(&self, deficit_milli: u64) -> Duration {
        let rate = u64::from(self.config.refill_per_sec.max(1));
        Duration::from_millis(deficit_milli.div_ceil(rate).max(1))
    }
}

/// A process-wide bucket shared by all Route 53 callers (wrap it in an `Arc`).
#[derive(Debug)]
pub struct SharedBucket {
    state: Mutex<BucketState>,
    origin: tokio::time::Instant,
    writers_waiting: AtomicUsize,
}

impl SharedBucket {
    /// A full bucket with `config`.
    pub fn new(config: BucketConfig) -> Self {
        SharedBucket {
            state: Mutex::new(BucketState::new(config, 0)),
            origin: tokio::time::Instant::now(),
            writers_waiting: AtomicUsize::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BucketState> {
        // A poisoned lock only means another thread panicked mid-update of plain integers;
        // the state is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits until a token is available and takes it.
    pub async fn acquire(&self, priority: Priority) {
        let is_write = priority == Priority::Write;
        if is_write {
            self.writers_waiting.fetch_add(1, Ordering::SeqCst);
        }
        loop {
            let writers = self.writers_waiting.load(Ordering::SeqCst) > 0;
            let outcome = self
                .lock()
                .try_take(self.now_ms(), priority, writers && !is_write);
            match outcome {
                Ok(()) => break,
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
        if is_write {
            self.writers_waiting.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Empties the bucket (called when the service throttles us anyway).
    pub fn drain(&self) {
        let now = self.now_ms();
        self.lock().drain(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> BucketConfig {
        BucketConfig {
            burst: 50,
            refill_per_sec: 10,
            write_reserve: 5,
        }
    }

    #[test]
    fn burst_then_refill_arithmetic() {
        let mut b = BucketState::new(cfg(), 0);
        for _ in 0..50 {
            assert_eq!(b.try_take(0, Priority::Write, false), Ok(()));
        }
        // Empty: one token needs 1000 milli-tokens at 10 milli-tokens/ms = 100 ms.
        assert_eq!(
            b.try_take(0, Priority::Write, false),
            Err(Duration::from_millis(100))
        );
        assert_eq!(
            b.try_take(99, Priority::Write, false),
            Err(Duration::from_millis(1))
        );
        assert_eq!(b.try_take(100, Priority::Write, false), Ok(()));
        // 1 s later: 10 tokens.
        assert_eq!(b.available(1100), 10);
        // Never above burst.
        assert_eq!(b.available(1_000_000), 50);
    }

    #[test]
    fn reads_leave_the_write_reserve() {
        let mut b = BucketState::new(cfg(), 0);
        let mut reads = 0;
        while b.try_take(0, Priority::Read, false).is_ok() {
            reads += 1;
        }
        assert_eq!(reads, 45);
        for _ in 0..5 {
            assert_eq!(b.try_take(0, Priority::Write, false), Ok(()));
        }
        assert!(b.try_take(0, Priority::Write, false).is_err());
        // A read needs 6 tokens in the bucket: 600 ms of refill.
        assert_eq!(
            b.try_take(0, Priority::Read, false),
            Err(Duration::from_millis(600))
        );
    }

    #[test]
    fn reads_yield_to_waiting_writers() {
        let mut b = BucketState::new(cfg(), 0);
        assert!(b.try_take(0, Priority::Read, true).is_err());
        assert_eq!(b.available(0), 50);
        assert_eq!(b.try_take(0, Priority::Write, true), Ok(()));
    }

    #[test]
    fn drain_empties_and_time_going_backwards_is_harmless() {
        let mut b = BucketState::new(cfg(), 1000);
        b.drain(1000);
        assert_eq!(b.available(500), 0);
        assert_eq!(b.available(1200), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn shared_bucket_hands_out_burst_then_waits_for_refill() {
        let bucket = SharedBucket::new(BucketConfig {
            burst: 2,
            refill_per_sec: 1,
            write_reserve: 0,
        });
        bucket.acquire(Priority::Write).await;
        bucket.acquire(Priority::Read).await;
        let before = tokio::time::Instant::now();
        bucket.acquire(Priority::Write).await;
        // Virtual time (paused clock): exactly the refill time passed, no wall-clock timing.
        assert!(before.elapsed() >= Duration::from_secs(1));
    }
}
