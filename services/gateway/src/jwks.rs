//! A cache of the host application's signing keys, fetched from its JWKS URL. Keys are kept
//! for `jwks_refresh`; a token whose `kid` is unknown triggers an early refetch (key
//! rotation), at most once per `jwks_min_refresh` so that forged `kid`s cannot make the
//! gateway hammer the URL. When a refetch fails, the keys already known keep working.
//! Only RS256 and ES256 keys are used.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::sync::{Mutex, RwLock};

/// Why no key could be found for a token.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    /// The JWKS could not be fetched or parsed (and nothing is cached).
    #[error("cannot fetch the JWKS: {0}")]
    Fetch(String),
    /// No key with that `kid` (and algorithm) is published.
    #[error("no signing key matches kid {kid:?} and algorithm {alg:?}")]
    NoKey {
        /// The token's `kid`.
        kid: Option<String>,
        /// The token's algorithm.
        alg: Algorithm,
    },
}

#[derive(Clone)]
struct Key {
    alg: Algorithm,
    key: DecodingKey,
}

#[derive(Default)]
struct Cached {
    /// By `kid` (keys without one are under the empty string).
    keys: HashMap<String, Key>,
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
}

/// The cache (see the module docs).
pub struct JwksCache {
    url: String,
    http: reqwest::Client,
    refresh: Duration,
    min_refresh: Duration,
    cached: RwLock<Cached>,
    fetching: Mutex<()>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl JwksCache {
    /// A cache that fetches `url` on first use.
    pub fn new(
        url: String,
        refresh: Duration,
        min_refresh: Duration,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(Self {
            url,
            http,
            refresh,
            min_refresh,
            cached: RwLock::new(Cached::default()),
            fetching: Mutex::new(()),
        })
    }

    /// The key for a token's `kid` and algorithm, fetching the set when it is stale or
    /// lacks that `kid`.
    pub async fn key_for(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<DecodingKey, JwksError> {
        {
            let cached = self.cached.read().await;
            if cached
                .fetched_at
                .is_some_and(|t| t.elapsed() < self.refresh)
                && let Some(key) = find(&cached.keys, kid, alg)
            {
                return Ok(key);
            }
        }
        let _guard = self.fetching.lock().await;
        {
            // Another request may have fetched while this one waited; and a refetch is
            // allowed at most once per `min_refresh` (stale keys keep working meanwhile).
            let cached = self.cached.read().await;
            let fresh = cached
                .fetched_at
                .is_some_and(|t| t.elapsed() < self.refresh);
            let recently_tried = cached
                .attempted_at
                .is_some_and(|t| t.elapsed() < self.min_refresh);
            let found = find(&cached.keys, kid, alg);
            match found {
                Some(key) if fresh || recently_tried => return Ok(key),
                None if recently_tried => {
                    return Err(if cached.fetched_at.is_some() {
                        JwksError::NoKey {
                            kid: kid.map(str::to_owned),
                            alg,
                        }
                    } else {
                        JwksError::Fetch("the last attempt failed; retrying later".to_owned())
                    });
                }
                _ => {}
            }
        }
        let fetched = self.fetch().await;
        let mut cached = self.cached.write().await;
        cached.attempted_at = Some(Instant::now());
        match fetched {
            Ok(keys) => {
                cached.keys = keys;
                cached.fetched_at = Some(Instant::now());
            }
            Err(err) => {
                tracing::warn!(url = %self.url, error = %err, "JWKS refresh failed; keeping known keys");
                if cached.keys.is_empty() {
                    return Err(err);
                }
            }
        }
        find(&cached.keys, kid, alg).ok_or_else(|| JwksError::NoKey {
            kid: kid.map(str::to_owned),
            alg,
        })
    }

    async fn fetch(&self) -> Result<HashMap<String, Key>, JwksError> {
        let response = self
            .http
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| JwksError::Fetch(e.to_string()))?;
        let set: JwkSet = response
            .json()
            .await
            .map_err(|e| JwksError::Fetch(e.to_string()))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let alg = match (&jwk.algorithm, jwk.common.key_algorithm) {
                (AlgorithmParameters::RSA(_), None) => Algorithm::RS256,
                (AlgorithmParameters::EllipticCurve(_), None) => Algorithm::ES256,
                (_, Some(alg)) => match Algorithm::try_from(alg) {
                    Ok(alg @ (Algorithm::RS256 | Algorithm::ES256)) => alg,
                    _ => continue,
                },
                _ => continue,
            };
            let Ok(key) = DecodingKey::from_jwk(jwk) else {
                continue;
            };
            keys.insert(
                jwk.common.key_id.clone().unwrap_or_default(),
                Key { alg, key },
            );
        }
        tracing::info!(url = %self.url, keys = keys.len(), "JWKS fetched");
        Ok(keys)
    }
}

fn find(keys: &HashMap<String, Key>, kid: Option<&str>, alg: Algorithm) -> Option<DecodingKey> {
    let key = match kid {
        Some(kid) => keys.get(kid),
        // A token without `kid` is accepted only when the set has a single key.
        None if keys.len() == 1 => keys.values().next(),
        None => None,
    }?;
    (key.alg == alg).then(|| key.key.clone())
}
