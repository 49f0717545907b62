//! Belvo's failures as types: its JSON error arrays, the MFA challenge, the firewall's HTML
//! pages, transport faults and undecodable bodies.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

string_enum! {
    /// An error `code` from Belvo's catalogue (unknown codes are kept as `Unrecognized`).
    pub enum ErrorCode {
        Required = "required",
        Null = "null",
        Invalid = "invalid",
        InvalidChoice = "invalid_choice",
        DoesNotExist = "does_not_exist",
        NotAList = "not_a_list",
        ParseError = "parse_error",
        Duplicated = "duplicated",
        LoginError = "login_error",
        InvalidCredentialsStorage = "invalid_credentials_storage",
        InvalidFetchResources = "invalid_fetch_resources",
        TooManySessions = "too_many_sessions",
        SessionExpired = "session_expired",
        SessionExpiredOb = "session_expired_ob",
        InstitutionDown = "institution_down",
        InstitutionUnavailable = "institution_unavailable",
        InstitutionInactive = "institution_inactive",
        InvalidLink = "invalid_link",
        UnconfirmedLink = "unconfirmed_link",
        UnsupportedOperation = "unsupported_operation",
        InvalidPeriod = "invalid_period",
        ValidationError = "validation_error",
        UnavailableData = "unavailable_data",
        ActivationFailed = "activation_failed",
        OperationalLimitsReached = "operational_limits_reached",
        AuthenticationFailed = "authentication_failed",
        ConsentWithoutAccounts = "consent_without_accounts",
        AccessToResourceDenied = "access_to_resource_denied",
        AccessToProductionDenied = "access_to_production_denied",
        PermissionDenied = "permission_denied",
        QuotaLimitReached = "quota_limit_reached",
        NotFound = "not_found",
        ExpiredCredentials = "expired_credentials",
        MethodNotAllowed = "method_not_allowed",
        RequestTimeout = "request_timeout",
        LinkRefreshed = "link_refreshed",
        IdempotencyKeyConflict = "idempotency_key_conflict",
        IdempotencyPayloadMismatch = "idempotency_payload_mismatch",
        TokenRequired = "token_required",
        ActivationRequired = "activation_required",
        UnexpectedError = "unexpected_error",
        ServiceUnavailable = "service_unavailable",
    }
}

/// One entry of Belvo's error array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    /// Belvo's error code, e.g. `login_error`.
    #[serde(default)]
    pub code: Option<ErrorCode>,
    /// Belvo's human-readable message.
    #[serde(default)]
    pub message: Option<String>,
    /// Belvo's request id (32 hex characters); quote it to Belvo's support.
    #[serde(default)]
    pub request_id: Option<String>,
    /// The request field the error is about, if any.
    #[serde(default)]
    pub field: Option<String>,
    /// Code-specific keys, e.g. `institution_user_id` for `duplicated`.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// What the institution's MFA step needs to continue (`token_generation_data`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenGenerationData {
    /// Instructions to show the user.
    #[serde(default)]
    pub instructions: Option<String>,
    /// The challenge kind, e.g. `numeric` or a QR code.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The challenge value (e.g. a code to type into a token device).
    #[serde(default)]
    pub value: Option<String>,
    /// `false` when the user confirms on another device (the session is still resumed).
    #[serde(default)]
    pub expects_user_input: Option<bool>,
}

/// HTTP 428: the institution asks for a multi-factor token. Resume with a PATCH carrying
/// `session`, `link` and the token on the same collection path that was POSTed to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRequired {
    /// Belvo's request id.
    #[serde(default)]
    pub request_id: Option<String>,
    /// Belvo's message.
    #[serde(default)]
    pub message: Option<String>,
    /// The session to resume (32 hex characters).
    pub session: String,
    /// Seconds the session stays resumable.
    #[serde(default)]
    pub expiry: Option<u64>,
    /// The link being created or used.
    #[serde(default)]
    pub link: Option<Uuid>,
    /// The challenge to show the user.
    #[serde(default)]
    pub token_generation_data: Option<TokenGenerationData>,
    /// The collection path the session was opened on (where the PATCH must go).
    #[serde(skip)]
    pub path: String,
}

/// Every way a Belvo call can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Belvo answered with its JSON error array.
    #[error("Belvo answered {status}: {}", describe(errors))]
    Api {
        /// The HTTP status.
        status: StatusCode,
        /// Belvo's errors (usually one).
        errors: Vec<ApiError>,
        /// The `Retry-After` header, when Belvo sent one.
        retry_after: Option<Duration>,
    },
    /// HTTP 428: a multi-factor token is needed; see [`TokenRequired`].
    #[error("the institution requires a multi-factor token")]
    TokenRequired(Box<TokenRequired>),
    /// An error status with a body that is not Belvo's JSON (the firewall's HTML 403, a proxy).
    #[error("Belvo answered {status} with a non-JSON body")]
    Http {
        /// The HTTP status.
        status: StatusCode,
        /// The start of the body, for the log.
        snippet: String,
        /// The `Retry-After` header, when present.
        retry_after: Option<Duration>,
    },
    /// Belvo could not be reached, or the connection broke or timed out. The message names
    /// the kind ([`Reachability`]); never the URL, which could carry userinfo.
    #[error("could not reach Belvo: {}", Reachability::of(.0))]
    Transport(#[source] reqwest::Error),
    /// A success status whose body is not what Belvo documents.
    #[error("Belvo's {status} response could not be decoded")]
    Decode {
        /// The HTTP status.
        status: StatusCode,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// A pagination `next` URL outside the configured Belvo base URL: never followed, because
    /// the secret keys would go with it.
    #[error("refusing to follow a URL outside the configured Belvo base URL")]
    ForeignUrl,
    /// A list filter (`link__in`, `id__in`, `resources__allin`, ...) with no value, or with an
    /// empty value, refused before any request left: Belvo reads an empty `__in` as no filter
    /// at all, i.e. every object of every link.
    #[error(
        "refusing to send the list filter `{parameter}` with an empty value: Belvo would read it as no filter"
    )]
    EmptyListFilter {
        /// The query parameter, e.g. `link__in`.
        parameter: String,
    },
}

fn describe(errors: &[ApiError]) -> String {
    let Some(first) = errors.first() else {
        return "an empty error list".to_owned();
    };
    let code = first.code.as_ref().map_or("unknown", ErrorCode::as_str);
    let field = first
        .field
        .as_deref()
        .map(|f| format!(" (field `{f}`)"))
        .unwrap_or_default();
    match &first.message {
        Some(message) => format!("{code}{field}: {}", redact_echoes(message)),
        None => format!("{code}{field}"),
    }
}

/// Belvo's message with what may echo our input left out, since the message goes to logs
/// and stored errors: whatever is quoted, and words that look like identifiers or personal
/// data (an `@`, or 8 characters or more with a digit: usernames, RFC and CURP numbers,
/// account numbers). Belvo's own wording, codes and small numbers ("wait 9 minutes") stay.
fn redact_echoes(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quote: Option<char> = None;
    for c in message.chars() {
        match quote {
            Some(q) if c == q || (q == '“' && c == '”') => {
                out.push('…');
                out.push(c);
                quote = None;
            }
            Some(_) => {}
            None if matches!(c, '\'' | '"' | '`' | '“') => {
                out.push(c);
                quote = Some(c);
            }
            None => out.push(c),
        }
    }
    if quote.is_some() {
        out.push('…');
    }
    out.split(' ')
        .map(|word| {
            let looks_personal = word.contains('@')
                || (word.chars().filter(|c| c.is_alphanumeric()).count() >= 8
                    && word.chars().any(|c| c.is_ascii_digit()));
            if looks_personal { "…" } else { word }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why Belvo could not be reached: the kind of a transport failure, told apart by walking the
/// error's `source()` chain (reqwest, hyper-util's connector, `std::io`, rustls), so that an
/// operator can tell a DNS failure from a refused port or a certificate problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reachability {
    /// Belvo's host name did not resolve.
    Dns,
    /// Nothing accepted the TCP connection (the port is closed).
    ConnectionRefused,
    /// The TLS handshake failed; the text is rustls' error (e.g.
    /// `invalid peer certificate: UnknownIssuer`), which names no URL or secret.
    Tls(String),
    /// The connection, or the answer, did not come within the timeout.
    Timeout,
    /// Any other connection failure (reset, closed mid-answer, protocol error).
    Connection,
}

impl Reachability {
    /// The kind as a stable label (`dns`, `connection_refused`, `tls`, `timeout`,
    /// `connection`), for metrics and structured logs.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Dns => "dns",
            Self::ConnectionRefused => "connection_refused",
            Self::Tls(_) => "tls",
            Self::Timeout => "timeout",
            Self::Connection => "connection",
        }
    }

    /// Classifies a reqwest error.
    pub fn of(error: &reqwest::Error) -> Self {
        let mut dns = false;
        let mut refused = false;
        let mut timed_out = error.is_timeout();
        let mut tls = None;
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(e) = next {
            // `io::Error::new(kind, inner)` hides `inner` from `source()` (it returns the
            // inner error's own source), and TLS errors come as an io::Error in an io::Error:
            // look inside every layer.
            let mut layer = Some(e);
            while let Some(l) = layer {
                inspect(l, &mut dns, &mut refused, &mut timed_out, &mut tls);
                layer = l
                    .downcast_ref::<std::io::Error>()
                    .and_then(std::io::Error::get_ref)
                    .map(|inner| inner as &(dyn std::error::Error + 'static));
            }
            next = e.source();
        }
        if let Some(detail) = tls {
            Self::Tls(detail)
        } else if dns {
            Self::Dns
        } else if refused {
            Self::ConnectionRefused
        } else if timed_out {
            Self::Timeout
        } else {
            Self::Connection
        }
    }
}

/// One link of a transport error's chain.
fn inspect(
    e: &(dyn std::error::Error + 'static),
    dns: &mut bool,
    refused: &mut bool,
    timed_out: &mut bool,
    tls: &mut Option<String>,
) {
    if let Some(rustls) = e.downcast_ref::<rustls::Error>() {
        tls.get_or_insert_with(|| rustls.to_string());
    }
    if let Some(io) = e.downcast_ref::<std::io::Error>() {
        match io.kind() {
            std::io::ErrorKind::ConnectionRefused => *refused = true,
            std::io::ErrorKind::TimedOut => *timed_out = true,
            _ => {}
        }
    }
    // hyper-util's connector wraps a resolver failure in a `ConnectError` whose text is
    // "dns error" (the type is not public, its message is stable); reqwest's own resolvers
    // report "failed to lookup address information" from getaddrinfo.
    let text = e.to_string();
    if text == "dns error" || text.starts_with("failed to lookup address") {
        *dns = true;
    }
}

impl fmt::Display for Reachability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dns => f.write_str("DNS failure"),
            Self::ConnectionRefused => f.write_str("connection refused"),
            Self::Tls(detail) => write!(f, "TLS failure ({detail})"),
            Self::Timeout => f.write_str("timeout"),
            Self::Connection => f.write_str("connection error"),
        }
    }
}

impl Error {
    /// Why Belvo could not be reached, for a transport failure; `None` when Belvo answered
    /// (an HTTP error is its own kind: see [`Error::kind`]) or no request left.
    pub fn reachability(&self) -> Option<Reachability> {
        match self {
            Self::Transport(e) => Some(Reachability::of(e)),
            _ => None,
        }
    }

    /// The failure's kind as a stable label for metrics and logs: a [`Reachability`] label
    /// when Belvo was not reached, `http` when it answered with an error status (its JSON
    /// errors, the MFA challenge or a non-JSON page), `decode` for an undecodable success,
    /// `refused_locally` when the client refused to send the request.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Transport(e) => Reachability::of(e).as_str(),
            Self::Api { .. } | Self::Http { .. } | Self::TokenRequired(_) => "http",
            Self::Decode { .. } => "decode",
            Self::ForeignUrl | Self::EmptyListFilter { .. } => "refused_locally",
        }
    }

    /// The host the failed request went to (Belvo's, or the configured base URL's), for
    /// logs: the host only, never the URL's userinfo, path or query.
    pub fn host(&self) -> Option<&str> {
        match self {
            Self::Transport(e) => e.url().and_then(url::Url::host_str),
            _ => None,
        }
    }

    /// The HTTP status Belvo answered with, if it answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api { status, .. } | Self::Http { status, .. } | Self::Decode { status, .. } => {
                Some(*status)
            }
            Self::TokenRequired(_) => Some(StatusCode::PRECONDITION_REQUIRED),
            Self::Transport(e) => e.status(),
            Self::ForeignUrl | Self::EmptyListFilter { .. } => None,
        }
    }

    /// The first Belvo error, if Belvo sent its JSON error array.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Self::Api { errors, .. } => errors.first(),
            _ => None,
        }
    }

    /// Belvo's error code, if any (`token_required` for the MFA challenge).
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Self::TokenRequired(_) => Some(&ErrorCode::TokenRequired),
            _ => self.api_error().and_then(|e| e.code.as_ref()),
        }
    }

    /// Belvo's request id for this failure, if Belvo gave one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::TokenRequired(t) => t.request_id.as_deref(),
            _ => self.api_error().and_then(|e| e.request_id.as_deref()),
        }
    }

    /// The `Retry-After` Belvo asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api { retry_after, .. } | Self::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The MFA challenge, if this is one.
    pub fn token_required(&self) -> Option<&TokenRequired> {
        match self {
            Self::TokenRequired(t) => Some(t),
            _ => None,
        }
    }

    /// For `409 link_refreshed`: how long Belvo asks to wait ("Please wait X minutes").
    /// `None` for any other error; the documented 10-minute cooldown when the message has no
    /// number.
    pub fn refresh_cooldown(&self) -> Option<Duration> {
        let api = self.api_error()?;
        if api.code != Some(ErrorCode::LinkRefreshed) {
            return None;
        }
        let minutes = api
            .message
            .as_deref()
            .and_then(|m| {
                let words: Vec<&str> = m.split_whitespace().collect();
                words.windows(2).find_map(|w| {
                    w[1].starts_with("minute")
                        .then(|| w[0].parse::<u64>().ok())
                        .flatten()
                })
            })
            .unwrap_or(10);
        Some(Duration::from_secs(minutes * 60))
    }

    /// True when Belvo itself, or the path to it, failed (5xx, firewall, transport): the caller
    /// should report the dependency as unavailable rather than blame its input.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Transport(_) => true,
            // The firewall answers 403 with HTML when it throttles.
            Self::Http { status, .. } => {
                status.is_server_error()
                    || *status == StatusCode::TOO_MANY_REQUESTS
                    || *status == StatusCode::FORBIDDEN
            }
            Self::Api { status, .. } => {
                status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS
            }
            Self::Decode { .. } => true,
            Self::TokenRequired(_) | Self::ForeignUrl | Self::EmptyListFilter { .. } => false,
        }
    }
}

/// Decodes an error response: Belvo's JSON array (or a lone object), the 428 challenge, or
/// anything else as [`Error::Http`].
pub(crate) fn from_response(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &[u8],
    path: &str,
) -> Error {
    if status == StatusCode::PRECONDITION_REQUIRED {
        let challenge = serde_json::from_slice::<Vec<TokenRequired>>(body)
            .ok()
            .and_then(|v| v.into_iter().next())
            .or_else(|| serde_json::from_slice::<TokenRequired>(body).ok());
        if let Some(mut t) = challenge {
            t.path = path.to_owned();
            return Error::TokenRequired(Box::new(t));
        }
    }
    let errors = serde_json::from_slice::<Vec<ApiError>>(body)
        .ok()
        .or_else(|| {
            serde_json::from_slice::<ApiError>(body)
                .ok()
                .map(|e| vec![e])
        })
        .filter(|errors| !errors.is_empty() && errors.iter().any(|e| e.code.is_some()));
    match errors {
        Some(errors) => Error::Api {
            status,
            errors,
            retry_after,
        },
        None => Error::Http {
            status,
            snippet: snippet(body),
            retry_after,
        },
    }
}

/// The start of a body, as text, for logs (bodies from Belvo never carry our secrets).
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn belvo_messages_lose_what_may_echo_the_input() {
        for (message, shown) in [
            (
                "Invalid credentials provided to login to the institution",
                "Invalid credentials provided to login to the institution",
            ),
            ("Please wait 9 minutes", "Please wait 9 minutes"),
            (
                "The username 'juan.perez' does not exist",
                "The username '…' does not exist",
            ),
            (
                "RFC GODE561231GR8 is not valid for \"Juan Pérez\"",
                "RFC … is not valid for \"…\"",
            ),
            (
                "no account for juan@example.com at 012180001234567891",
                "no account for … at …",
            ),
            ("unterminated 'secret", "unterminated '…"),
        ] {
            assert_eq!(super::redact_echoes(message), shown, "{message}");
        }
    }

    use super::*;

    #[test]
    fn belvo_error_arrays_keep_code_field_and_extra_keys() {
        let body = br#"[{"code":"duplicated","message":"Link already exists",
            "request_id":"a6e1c493d7a29d91aed4338e6fcf077d","institution_user_id":"abc="}]"#;
        let err = from_response(StatusCode::BAD_REQUEST, None, body, "api/links/");
        assert_eq!(err.code(), Some(&ErrorCode::Duplicated));
        assert_eq!(err.request_id(), Some("a6e1c493d7a29d91aed4338e6fcf077d"));
        assert_eq!(
            err.api_error().unwrap().extra["institution_user_id"],
            "abc="
        );
        assert_eq!(
            err.to_string(),
            "Belvo answered 400 Bad Request: duplicated: Link already exists"
        );
    }

    #[test]
    fn the_mfa_challenge_is_typed_and_remembers_its_path() {
        let body = br#"[{"code":"token_required","message":"A MFA token is required by the institution to login",
            "request_id":"8c7b283c6efa449c9c028a16b5c249fa","session":"2675b703b9d4451f8d4861a3eee54449",
            "expiry":9600,"link":"30cb4806-6e00-48a4-91c9-ca55968576c8",
            "token_generation_data":{"instructions":"Use this code to generate the token","type":"numeric","value":"12345","expects_user_input":true}}]"#;
        let err = from_response(StatusCode::PRECONDITION_REQUIRED, None, body, "api/links/");
        let t = err.token_required().unwrap();
        assert_eq!(t.session, "2675b703b9d4451f8d4861a3eee54449");
        assert_eq!(t.expiry, Some(9600));
        assert_eq!(t.path, "api/links/");
        assert_eq!(
            t.token_generation_data.as_ref().unwrap().kind.as_deref(),
            Some("numeric")
        );
    }

    #[test]
    fn html_from_the_firewall_is_not_json_and_counts_as_unavailable() {
        let body = b"<html><head><title>403 Forbidden</title></head><body><center><h1>403 Forbidden</h1></center><hr><center>openresty/1.15.8.2</center></body></html>";
        let err = from_response(StatusCode::FORBIDDEN, None, body, "api/accounts/");
        assert!(matches!(err, Error::Http { .. }));
        assert!(err.is_unavailable());
        assert!(err.to_string().contains("non-JSON"));
    }

    #[test]
    fn refresh_cooldown_reads_the_minutes_from_the_message() {
        let body = br#"[{"code":"link_refreshed","message":"The link has already been refreshed. Please wait 7 minutes before trying again.","request_id":"x"}]"#;
        let err = from_response(StatusCode::CONFLICT, None, body, "api/links/");
        assert_eq!(err.refresh_cooldown(), Some(Duration::from_secs(7 * 60)));
        let other = from_response(
            StatusCode::BAD_REQUEST,
            None,
            br#"[{"code":"invalid"}]"#,
            "",
        );
        assert_eq!(other.refresh_cooldown(), None);
    }
}
