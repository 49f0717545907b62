//! End-user authentication: every `/v1` route (but dev login) needs `Authorization: Bearer
//! <JWT>` issued by the host application, verified here with issuer, audience (a string, or a
//! list that must contain the configured one), expiry and not-before (`nbf`, same leeway)
//! checked. Three modes: `hs256` (a shared secret), `jwks` (RS256/ES256 keys fetched from a
//! JWKS URL, cached and refreshed, see [`crate::jwks`]) and `dev` (the gateway issues
//! short-lived HS256 tokens itself at `POST /v1/dev/login`; refused in production by
//! configuration validation). The token's `sub` is the user, the owner of their links.
//! Failure reasons are logged; the client only learns that a valid token is required.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::FromRequestParts;
use http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::config::{AuthConfig, AuthMode, DEV_AUDIENCE, DEV_ISSUER};
use crate::error::ApiError;
use crate::jwks::JwksCache;

/// The authenticated end user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    /// The token's `sub`: the owner id passed to the services.
    pub id: String,
    /// The token's `exp`: what the token allows ends then (event streams too).
    pub expires_at: SystemTime,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    /// One audience or a list of them (RFC 7519 §4.1.3); `jsonwebtoken` checks that the
    /// configured audience is among them, this only has to accept both shapes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aud: Option<Audience>,
    exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<u64>,
}

/// The `aud` claim: a string or an array of strings.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// What can go wrong while setting up authentication.
#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    /// The mode needs a setting that is missing (validation normally catches this first).
    #[error("auth mode {mode:?} needs `auth.{key}`")]
    Missing {
        /// The mode.
        mode: AuthMode,
        /// The missing key.
        key: &'static str,
    },
    /// No `auth.mode` (validation normally catches this first).
    #[error("`auth.mode` is required")]
    NoMode,
    /// The JWKS HTTP client could not be built.
    #[error("cannot build the JWKS HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// Verifies (and in dev mode issues) end-user tokens. Its `Debug` names the mode only: the
/// keys (a shared secret in hs256 and dev modes) never print.
pub enum Authenticator {
    /// Shared-secret HS256.
    Hs256 {
        /// The secret as a key.
        key: DecodingKey,
        /// Algorithm, issuer, audience, expiry.
        validation: Validation,
    },
    /// RS256/ES256 with keys from a JWKS URL.
    Jwks {
        /// The key cache.
        keys: JwksCache,
        /// Issuer, audience, expiry (the algorithm comes from the key).
        validation: Validation,
    },
    /// Tokens the gateway issues itself.
    Dev {
        /// Verifying key.
        key: DecodingKey,
        /// Signing key.
        signing: EncodingKey,
        /// Fixed dev issuer and audience.
        validation: Validation,
        /// Lifetime of issued tokens.
        ttl: Duration,
    },
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Hs256 { .. } => f.write_str("Authenticator::Hs256"),
            Self::Jwks { keys, .. } => f.debug_tuple("Authenticator::Jwks").field(keys).finish(),
            Self::Dev { ttl, .. } => f
                .debug_struct("Authenticator::Dev")
                .field("ttl", ttl)
                .finish_non_exhaustive(),
        }
    }
}

fn validation(
    algorithms: &[Algorithm],
    issuer: &str,
    audience: &str,
    leeway: Duration,
) -> Validation {
    let mut validation = Validation::new(algorithms.first().copied().unwrap_or(Algorithm::HS256));
    validation.algorithms = algorithms.to_vec();
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    // The same leeway applies to `exp` and `nbf` (a token not yet valid is refused).
    validation.leeway = leeway.as_secs();
    validation.validate_nbf = true;
    validation.required_spec_claims = ["exp", "iss", "aud", "sub"]
        .into_iter()
        .map(str::to_owned)
        .collect::<HashSet<_>>();
    validation
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl Authenticator {
    /// Builds the authenticator of the configured mode.
    pub fn new(config: &AuthConfig) -> Result<Self, AuthSetupError> {
        let mode = config.mode.ok_or(AuthSetupError::NoMode)?;
        match mode {
            AuthMode::Hs256 => {
                let secret = config
                    .hs256_secret
                    .as_ref()
                    .ok_or(AuthSetupError::Missing {
                        mode: AuthMode::Hs256,
                        key: "hs256_secret",
                    })?;
                Ok(Self::Hs256 {
                    key: DecodingKey::from_secret(secret.expose_secret().as_bytes()),
                    validation: validation(
                        &[Algorithm::HS256],
                        &config.issuer,
                        &config.audience,
                        config.leeway,
                    ),
                })
            }
            AuthMode::Jwks => {
                let url = config.jwks_url.clone().ok_or(AuthSetupError::Missing {
                    mode: AuthMode::Jwks,
                    key: "jwks_url",
                })?;
                Ok(Self::Jwks {
                    keys: JwksCache::new(
                        url,
                        config.jwks_refresh,
                        config.jwks_min_refresh,
                        config.jwks_timeout,
                    )?,
                    validation: validation(
                        &[Algorithm::RS256, Algorithm::ES256],
                        &config.issuer,
                        &config.audience,
                        config.leeway,
                    ),
                })
            }
            AuthMode::Dev => {
                let secret = match &config.dev_secret {
                    Some(secret) => secret.expose_secret().as_bytes().to_vec(),
                    None => {
                        format!("{}{}", uuid::Uuid::new_v4(), uuid::Uuid::new_v4()).into_bytes()
                    }
                };
                Ok(Self::Dev {
                    key: DecodingKey::from_secret(&secret),
                    signing: EncodingKey::from_secret(&secret),
                    validation: validation(
                        &[Algorithm::HS256],
                        DEV_ISSUER,
                        DEV_AUDIENCE,
                        config.leeway,
                    ),
                    ttl: config.dev_token_ttl,
                })
            }
        }
    }

    /// Whether `POST /v1/dev/login` exists.
    pub fn is_dev(&self) -> bool {
        matches!(self, Self::Dev { .. })
    }

    /// Verifies a bearer token and returns its user.
    pub async fn verify(&self, token: &str) -> Result<AuthUser, ApiError> {
        let unauthenticated = |reason: String| ApiError::Unauthenticated { reason };
        let claims = match self {
            Self::Hs256 { key, validation }
            | Self::Dev {
                key, validation, ..
            } => {
                jsonwebtoken::decode::<Claims>(token, key, validation)
                    .map_err(|e| unauthenticated(format!("token rejected: {e}")))?
                    .claims
            }
            Self::Jwks { keys, validation } => {
                let header = jsonwebtoken::decode_header(token)
                    .map_err(|e| unauthenticated(format!("malformed token header: {e}")))?;
                if !validation.algorithms.contains(&header.alg) {
                    return Err(unauthenticated(format!(
                        "algorithm {:?} not accepted",
                        header.alg
                    )));
                }
                let key = keys
                    .key_for(header.kid.as_deref(), header.alg)
                    .await
                    .map_err(|e| unauthenticated(e.to_string()))?;
                let mut validation = validation.clone();
                validation.algorithms = vec![header.alg];
                jsonwebtoken::decode::<Claims>(token, &key, &validation)
                    .map_err(|e| unauthenticated(format!("token rejected: {e}")))?
                    .claims
            }
        };
        if claims.sub.trim().is_empty() {
            return Err(unauthenticated("empty `sub`".to_owned()));
        }
        Ok(AuthUser {
            id: claims.sub,
            expires_at: UNIX_EPOCH + Duration::from_secs(claims.exp),
        })
    }

    /// Dev mode: a token for `user`, and its lifetime. `None` in other modes.
    pub fn issue_dev_token(&self, user: &str) -> Option<Result<(String, Duration), ApiError>> {
        let Self::Dev { signing, ttl, .. } = self else {
            return None;
        };
        let now = now_secs();
        let claims = Claims {
            sub: user.to_owned(),
            iss: Some(DEV_ISSUER.to_owned()),
            aud: Some(Audience::One(DEV_AUDIENCE.to_owned())),
            exp: now + ttl.as_secs(),
            nbf: None,
            iat: Some(now),
        };
        Some(
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, signing)
                .map(|token| (token, *ttl))
                .map_err(|e| ApiError::Internal(format!("cannot sign a dev token: {e}"))),
        )
    }
}

impl FromRequestParts<Arc<AppState>> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .ok_or_else(|| ApiError::Unauthenticated {
                reason: "no Authorization header".to_owned(),
            })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::Unauthenticated {
                reason: "Authorization is not a bearer token".to_owned(),
            })?;
        let user = state.auth.verify(token).await?;
        // Logs and traces name the user by a keyed pseudonym: `sub` is often an e-mail address.
        tracing::Span::current().record(
            "user",
            tracing::field::display(state.pseudonyms.of(&user.id)),
        );
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn keys_never_print() {
        let config = AuthConfig {
            mode: Some(AuthMode::Hs256),
            hs256_secret: Some(SecretString::from("the-shared-secret-0123456789abcdef")),
            issuer: "i".into(),
            audience: "a".into(),
            ..AuthConfig::default()
        };
        let auth = Authenticator::new(&config).unwrap();
        let printed = format!("{auth:?}");
        assert!(!printed.contains("the-shared-secret"), "{printed}");
        // Nor the secret's bytes.
        assert!(!printed.contains("116, 104, 101"), "{printed}");
    }

    #[tokio::test]
    async fn dev_tokens_verify_and_expire_by_configuration() {
        let config = AuthConfig {
            mode: Some(AuthMode::Dev),
            ..AuthConfig::default()
        };
        let auth = Authenticator::new(&config).unwrap();
        let (token, ttl) = auth.issue_dev_token("dana").unwrap().unwrap();
        assert_eq!(ttl, config.dev_token_ttl);
        assert_eq!(auth.verify(&token).await.unwrap().id, "dana");
        // Another process's random dev secret does not verify it.
        let other = Authenticator::new(&config).unwrap();
        assert!(other.verify(&token).await.is_err());
    }
}
