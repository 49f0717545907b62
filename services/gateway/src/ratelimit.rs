//! In-memory, per-key limits: fixed windows for widget tokens minted and refreshes asked for
//! per user and failed webhook authentications per IP; a cap on what one user holds open at
//! once (event streams). Each gateway replica counts for itself (the limits protect Belvo
//! quotas and slow down guessing; they are not a billing meter). Expired windows are swept
//! as the map grows, so the memory stays bounded by the keys active in one window.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
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
        let mut windows = lock(&self.windows);
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

/// At most `max` open at once per key; each [`Held`] counts until dropped.
#[derive(Debug)]
pub struct KeyedCap<K: Eq + Hash> {
    max: u32,
    open: Arc<Mutex<HashMap<K, u32>>>,
}

/// One of a key's open places; dropping it frees the place.
#[derive(Debug)]
pub struct Held<K: Eq + Hash> {
    key: K,
    open: Arc<Mutex<HashMap<K, u32>>>,
}

impl<K: Eq + Hash + Clone> KeyedCap<K> {
    /// At most `max` open at once per key.
    pub fn new(max: u32) -> Self {
        Self {
            max,
            open: Arc::default(),
        }
    }

    /// A place for `key`, or `None` when it holds `max` already.
    pub fn take(&self, key: &K) -> Option<Held<K>> {
        let mut open = lock(&self.open);
        let count = open.entry(key.clone()).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Held {
            key: key.clone(),
            open: Arc::clone(&self.open),
        })
    }
}

impl<K: Eq + Hash> Drop for Held<K> {
    fn drop(&mut self) {
        let mut open = lock(&self.open);
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// The map behind a lock; a panic while holding it left plain counters, still usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
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

    #[test]
    fn caps_what_a_key_holds_open_until_dropped() {
        let cap = KeyedCap::new(2);
        let first = cap.take(&"a").unwrap();
        let second = cap.take(&"a").unwrap();
        assert!(cap.take(&"a").is_none());
        assert!(cap.take(&"b").is_some());
        drop(first);
        let third = cap.take(&"a").unwrap();
        assert!(cap.take(&"a").is_none());
        drop((second, third));
        assert!(
            lock(&cap.open).is_empty(),
            "a key with nothing open is forgotten"
        );
    }
}
