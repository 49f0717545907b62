//! Fault injection: rules matched by path glob (and optionally method), fired with a probability
//! from a seeded generator or for exactly the next N matching requests, so client resilience
//! tests are deterministic. Control-API paths are never faulted.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// What a matching request gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// An HTTP error with Belvo's JSON error body (429, 500, 503, 408, ...).
    Status {
        status: u16,
        /// `Retry-After` seconds (429/503).
        #[serde(default)]
        retry_after: Option<u64>,
    },
    /// The web-application firewall's HTML 403 (openresty), as after >80 requests in 30 s.
    Firewall,
    /// Delay before the request is served normally.
    Latency { ms: u64 },
    /// The real response with a body cut short and the connection closed mid-body.
    Truncated,
    /// The real status with a body that is not valid JSON.
    Malformed,
    /// The connection is closed without any response.
    Drop,
}

impl Fault {
    pub fn name(&self) -> String {
        match self {
            Fault::Status { status, .. } => format!("status_{status}"),
            Fault::Firewall => "firewall".into(),
            Fault::Latency { ms } => format!("latency_{ms}ms"),
            Fault::Truncated => "truncated".into(),
            Fault::Malformed => "malformed".into(),
            Fault::Drop => "drop".into(),
        }
    }
}

/// A fault rule as the control API takes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultSpec {
    /// Path glob: `*` matches any run of characters (`/api/transactions/*`); a pattern without
    /// `*` matches as a prefix.
    pub path: String,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(flatten)]
    pub fault: Fault,
    /// Chance per matching request (default 1).
    #[serde(default)]
    pub probability: Option<f64>,
    /// Fire for the next N matching requests only, then remove the rule.
    #[serde(default)]
    pub count: Option<u64>,
    /// Seed of the probability draws (default: fixed), for repeatable runs.
    #[serde(default)]
    pub seed: Option<u64>,
}

/// An installed rule.
#[derive(Debug, Clone)]
pub struct FaultRule {
    pub id: u64,
    pub spec: FaultSpec,
    pub remaining: Option<u64>,
    pub fired: u64,
    rng: StdRng,
}

/// A rule as listed by the control API.
#[derive(Debug, Clone, Serialize)]
pub struct FaultView {
    pub id: u64,
    #[serde(flatten)]
    pub spec: FaultSpec,
    pub remaining: Option<u64>,
    pub fired: u64,
}

impl FaultRule {
    pub fn new(id: u64, spec: FaultSpec) -> FaultRule {
        let rng = StdRng::seed_from_u64(spec.seed.unwrap_or(0x00fa_0175));
        FaultRule {
            id,
            remaining: spec.count,
            spec,
            fired: 0,
            rng,
        }
    }

    pub fn view(&self) -> FaultView {
        FaultView {
            id: self.id,
            spec: self.spec.clone(),
            remaining: self.remaining,
            fired: self.fired,
        }
    }

    fn applies(&self, method: &str, path: &str) -> bool {
        if let Some(m) = &self.spec.method
            && !m.eq_ignore_ascii_case(method)
        {
            return false;
        }
        glob(&self.spec.path, path)
    }
}

/// Glob match with `*` wildcards; a pattern without `*` is a prefix.
pub fn glob(pattern: &str, path: &str) -> bool {
    if !pattern.contains('*') {
        return path.starts_with(pattern);
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = path;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return part.is_empty() || rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(pos) => rest = &rest[pos + part.len()..],
                None => return false,
            }
        }
    }
    rest.is_empty()
}

/// The faults that fire for this request (at most one per kind of effect: the first firing
/// rule wins; a latency rule combines with any other).
pub fn pick(rules: &mut Vec<FaultRule>, method: &str, path: &str) -> Vec<Fault> {
    let mut out: Vec<Fault> = Vec::new();
    for rule in rules.iter_mut() {
        if !rule.applies(method, path) {
            continue;
        }
        let is_latency = matches!(rule.spec.fault, Fault::Latency { .. });
        if !is_latency && out.iter().any(|f| !matches!(f, Fault::Latency { .. })) {
            continue;
        }
        let p = rule.spec.probability.unwrap_or(1.0);
        if p < 1.0 && rule.rng.random::<f64>() >= p {
            continue;
        }
        if let Some(r) = rule.remaining.as_mut() {
            if *r == 0 {
                continue;
            }
            *r -= 1;
        }
        rule.fired += 1;
        out.push(rule.spec.fault.clone());
    }
    rules.retain(|r| r.remaining != Some(0));
    out
}

/// The firewall's page, as Belvo's WAF serves it.
pub const FIREWALL_HTML: &str = "<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n<center><h1>403 Forbidden</h1></center>\r\n<hr><center>openresty/1.15.8.2</center>\r\n</body>\r\n</html>\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("/api/transactions/", "/api/transactions/"));
        assert!(glob("/api/", "/api/links/"));
        assert!(glob("/api/*/", "/api/links/"));
        assert!(glob("/api/links/*/refresh/", "/api/links/abc/refresh/"));
        assert!(!glob("/api/links/*/refresh/", "/api/links/abc/"));
        assert!(!glob("/api/accounts/", "/api/transactions/"));
    }

    #[test]
    fn count_mode_fires_exactly_n_times() {
        let spec: FaultSpec = serde_json::from_value(serde_json::json!({
            "path": "/api/", "kind": "status", "status": 503, "count": 2
        }))
        .unwrap();
        let mut rules = vec![FaultRule::new(1, spec)];
        assert_eq!(pick(&mut rules, "GET", "/api/links/").len(), 1);
        assert_eq!(pick(&mut rules, "GET", "/api/links/").len(), 1);
        assert!(pick(&mut rules, "GET", "/api/links/").is_empty());
        assert!(rules.is_empty());
    }

    #[test]
    fn probability_is_seeded() {
        let spec: FaultSpec = serde_json::from_value(serde_json::json!({
            "path": "/api/", "kind": "drop", "probability": 0.5, "seed": 7
        }))
        .unwrap();
        let run = || {
            let mut rules = vec![FaultRule::new(1, spec.clone())];
            (0..100)
                .map(|_| !pick(&mut rules, "GET", "/api/x/").is_empty())
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let fired = a.iter().filter(|x| **x).count();
        assert!((30..70).contains(&fired), "{fired}");
    }
}
