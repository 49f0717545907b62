//! In-memory, per-key fixed-window limits: widget tokens minted per user, failed webhook
//! authentications per IP. Each gateway replica counts for itself (the limits protect Belvo
//! quotas and slow down guessing; they are not a billing meter). Expired windows are swept
//! as the map grows, so the memory stays bounded by the keys active in one window.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A fixed-window counter per key.
#[derive(Debug)]
pub struct KeyedLimiter<K> {
    max: u32,
    window: Duration,
    windows: Mutex<HashMap<K, (Instant, u32)>>,
}

/// Entries above which expired windows are swept.
const SWEEP_AT: usize = 10_000;

impl<K: Eq + Hash + Clone> KeyedLimiter<K> {
    /// At most `max` hits per `window` per key.
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a hit for `key`: `Err(wait)` when the key is over its limit.
    pub fn hit(&self, key: &K) -> Result<(), Duration> {
        self.update(key, true)
    }

    /// Whether `key` is over its limit, without counting.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        self.update(key, false)
    }

    fn update(&self, key: &K, count: bool) -> Result<(), Duration> {
        let now = Instant::now();
        let mut windows = match self.windows.lock() {
            Ok(guard) => guard,
            // A panic while holding the lock left plain counters behind; they are still usable.
            Err(poisoned) => poisoned.into_inner(),
        };
        if windows.len() >= SWEEP_AT {
            let window = self.window;
            windows.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = windows.entry(key.clone()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.max {
            return Err(self.window.saturating_sub(now.duration_since(entry.0)));
        }
        if count {
            entry.1 += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key() {
        let limiter = KeyedLimiter::new(2, Duration::from_secs(60));
        assert!(limiter.hit(&"a").is_ok());
        assert!(limiter.hit(&"a").is_ok());
        let wait = limiter.hit(&"a").unwrap_err();
        assert!(wait <= Duration::from_secs(60) && wait > Duration::from_secs(50));
        assert!(limiter.check(&"a").is_err());
        assert!(limiter.hit(&"b").is_ok());
    }

    #[test]
    fn windows_expire() {
        let limiter = KeyedLimiter::new(1, Duration::ZERO);
        assert!(limiter.hit(&1).is_ok());
        assert!(limiter.hit(&1).is_ok());
    }
}
