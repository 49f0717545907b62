//! Belvo's web-application firewall: more than `max_requests` requests in a sliding `window`
//! from one source address (the peer's IP as the server sees it) are answered with the WAF's
//! HTML 403 (openresty) instead of reaching the API. The window is a pure type over an
//! injected `Instant`, so it is tested without sleeping; the server owns one per address and
//! counts what it refuses for the control API.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The firewall's limit: at most `max_requests` answered requests per source address in any
/// `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirewallLimit {
    pub max_requests: u32,
    pub window: Duration,
}

impl FirewallLimit {
    /// Belvo's documented WAF limit: bursts of more than 80 requests in 30 seconds from the
    /// same IP get the HTML 403.
    pub const BELVO: FirewallLimit = FirewallLimit {
        max_requests: 80,
        window: Duration::from_secs(30),
    };
}

/// The instants of the requests one address was answered within the last `window`; at most
/// `max_requests` of them, so memory is bounded by the limit.
#[derive(Debug, Clone)]
pub struct SlidingWindow {
    limit: FirewallLimit,
    admitted: VecDeque<Instant>,
}

impl SlidingWindow {
    pub fn new(limit: FirewallLimit) -> SlidingWindow {
        SlidingWindow {
            limit,
            admitted: VecDeque::new(),
        }
    }

    /// Whether a request arriving at `now` passes. Only passed requests are remembered: a
    /// refused one does not extend the block, so at most `max_requests` pass in any window.
    pub fn admit(&mut self, now: Instant) -> bool {
        while let Some(first) = self.admitted.front() {
            if now.saturating_duration_since(*first) >= self.limit.window {
                self.admitted.pop_front();
            } else {
                break;
            }
        }
        if self.admitted.len() < self.limit.max_requests as usize {
            self.admitted.push_back(now);
            true
        } else {
            false
        }
    }
}

/// What the control API shows of the firewall (`GET /_emulator/firewall`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallView {
    /// Whether the firewall is on (`max_requests` and `window_secs` are 0 when off).
    pub enabled: bool,
    pub max_requests: u32,
    pub window_secs: u64,
    /// Requests refused with the HTML 403, over all addresses.
    pub refused_total: u64,
    /// Requests refused, by source address (addresses never refused are absent).
    pub refused: BTreeMap<IpAddr, u64>,
}

/// Per-address windows and refusal counts.
#[derive(Debug)]
pub struct Firewall {
    limit: Option<FirewallLimit>,
    windows: HashMap<IpAddr, SlidingWindow>,
    refused: BTreeMap<IpAddr, u64>,
}

impl Firewall {
    pub fn new(limit: Option<FirewallLimit>) -> Firewall {
        Firewall {
            limit,
            windows: HashMap::new(),
            refused: BTreeMap::new(),
        }
    }

    /// Whether a request from `peer` at `now` passes; a refusal is counted.
    pub fn admit(&mut self, peer: IpAddr, now: Instant) -> bool {
        let Some(limit) = self.limit else {
            return true;
        };
        let passed = self
            .windows
            .entry(peer)
            .or_insert_with(|| SlidingWindow::new(limit))
            .admit(now);
        if !passed {
            *self.refused.entry(peer).or_default() += 1;
        }
        passed
    }

    pub fn view(&self) -> FirewallView {
        FirewallView {
            enabled: self.limit.is_some(),
            max_requests: self.limit.map_or(0, |l| l.max_requests),
            window_secs: self.limit.map_or(0, |l| l.window.as_secs()),
            refused_total: self.refused.values().sum(),
            refused: self.refused.clone(),
        }
    }

    /// Forgets the counts and every address's window (the next requests start a fresh one).
    pub fn reset(&mut self) {
        self.windows.clear();
        self.refused.clear();
    }
}

/// Requests the firewall does not see: the control API and the widget's own endpoints are not
/// Belvo's API (in production the widget's calls come from end users' browsers, not from the
/// platform's egress address).
pub fn exempt(path: &str) -> bool {
    path.starts_with("/_emulator/")
        || path.starts_with("/_widget/")
        || path.starts_with("/widget/")
        || path == "/belvo-widget-1-stable.js"
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: FirewallLimit = FirewallLimit {
        max_requests: 5,
        window: Duration::from_secs(30),
    };

    #[test]
    fn exactly_the_threshold_passes_and_one_more_is_refused() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::new(LIMIT);
        for i in 0..5 {
            assert!(w.admit(t0 + Duration::from_millis(i)), "request {i}");
        }
        assert!(!w.admit(t0 + Duration::from_millis(5)));
        assert!(!w.admit(t0 + Duration::from_secs(29)));
    }

    #[test]
    fn the_window_slides() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::new(LIMIT);
        // Two at 0 s, three at 10 s: the limit is reached.
        assert!(w.admit(t0));
        assert!(w.admit(t0));
        for _ in 0..3 {
            assert!(w.admit(t0 + Duration::from_secs(10)));
        }
        assert!(!w.admit(t0 + Duration::from_secs(29)));
        // At 30 s the two from 0 s left the window: two more pass, the third does not.
        let t30 = t0 + Duration::from_secs(30);
        assert!(w.admit(t30));
        assert!(w.admit(t30));
        assert!(!w.admit(t30));
        // At 40 s the three from 10 s left too.
        let t40 = t0 + Duration::from_secs(40);
        for _ in 0..3 {
            assert!(w.admit(t40));
        }
        assert!(!w.admit(t40));
    }

    #[test]
    fn refusals_are_counted_per_address_and_reset() {
        let t0 = Instant::now();
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let mut fw = Firewall::new(Some(LIMIT));
        let passed_a = (0..7).filter(|_| fw.admit(a, t0)).count();
        let passed_b = (0..6).filter(|_| fw.admit(b, t0)).count();
        assert_eq!(
            (passed_a, passed_b),
            (5, 5),
            "each address has its own budget"
        );
        let v = fw.view();
        assert_eq!(v.refused_total, 3);
        assert_eq!(v.refused.get(&a), Some(&2));
        assert_eq!(v.refused.get(&b), Some(&1));
        fw.reset();
        assert_eq!(fw.view().refused_total, 0);
        assert!(fw.admit(a, t0), "a reset starts a fresh window");
    }

    #[test]
    fn off_admits_everything() {
        let mut fw = Firewall::new(None);
        let a: IpAddr = [127, 0, 0, 1].into();
        assert!((0..1000).all(|_| fw.admit(a, Instant::now())));
        assert_eq!(fw.view().refused_total, 0);
    }

    #[test]
    fn control_and_widget_paths_are_exempt() {
        assert!(exempt("/_emulator/firewall"));
        assert!(exempt("/_widget/api/links"));
        assert!(exempt("/widget/"));
        assert!(exempt("/belvo-widget-1-stable.js"));
        assert!(!exempt("/api/links/"));
        assert!(!exempt("/api/token/"));
        assert!(!exempt("/nope"));
    }
}
