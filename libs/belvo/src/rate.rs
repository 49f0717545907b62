//! A client-side rate budget: at most `requests` calls in any window of `per`.
//!
//! Belvo's firewall answers 403 to more than 80 requests in 30 seconds from one IP, so every
//! client keeps under a budget (default 70 per 30 s). The budget is a sliding log of send times:
//! exact for any window, and its memory is `requests` instants.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// A shared sliding-window budget. Clone it to share one budget between clients that use the
/// same secret keys.
#[derive(Debug, Clone)]
pub struct RateBudget {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    requests: usize,
    per: Duration,
    sent: Mutex<VecDeque<Instant>>,
}

impl RateBudget {
    /// At most `requests` (at least 1) calls in any window of `per`.
    pub fn new(requests: u32, per: Duration) -> Self {
        let requests = requests.max(1) as usize;
        Self {
            inner: Arc::new(Inner {
                requests,
                per,
                sent: Mutex::new(VecDeque::with_capacity(requests)),
            }),
        }
    }

    /// Belvo's firewall threshold with a margin: 70 requests per 30 seconds.
    pub fn belvo_default() -> Self {
        Self::new(70, Duration::from_secs(30))
    }

    /// No limit in practice (for tests against the emulator).
    pub fn unlimited() -> Self {
        Self::new(u32::MAX >> 8, Duration::from_nanos(1))
    }

    /// Waits until a call fits in the budget, and reserves it.
    pub async fn acquire(&self) {
        let at = {
            let mut sent = self.inner.sent.lock().await;
            let now = Instant::now();
            let mut at = now;
            if sent.len() >= self.inner.requests {
                // The call `requests` places back must have left the window.
                if let Some(oldest) = sent.front() {
                    at = at.max(*oldest + self.inner.per);
                }
            }
            if let Some(last) = sent.back() {
                at = at.max(*last);
            }
            sent.push_back(at);
            while sent.len() > self.inner.requests {
                sent.pop_front();
            }
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_budget_in_any_window() {
        let budget = RateBudget::new(5, Duration::from_secs(10));
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..12 {
            budget.acquire().await;
            times.push(start.elapsed());
        }
        // The first 5 go at once, the next 5 after one window, the rest after two.
        assert_eq!(times[4], Duration::ZERO);
        assert_eq!(times[5], Duration::from_secs(10));
        assert_eq!(times[10], Duration::from_secs(20));
        for (i, t) in times.iter().enumerate() {
            let in_window = times
                .iter()
                .filter(|u| **u >= *t && **u < *t + Duration::from_secs(10));
            assert!(
                in_window.count() <= 5,
                "window starting at call {i} holds too many calls"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn clones_share_one_budget() {
        let a = RateBudget::new(2, Duration::from_secs(1));
        let b = a.clone();
        let start = Instant::now();
        a.acquire().await;
        b.acquire().await;
        a.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }
}
