//! Belvo's error responses (a JSON array of `{code, message, request_id, field?, ...}`) and the
//! emulator's own start-up errors.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::ids;

/// One Belvo API error, rendered as Belvo renders it.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub field: Option<String>,
    /// Extra keys of the error object (`session`, `institution_user_id`, ...).
    pub extra: Map<String, Value>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            field: None,
            extra: Map::new(),
        }
    }

    pub(crate) fn field(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }

    pub(crate) fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_owned(), value);
        self
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authentication_failed",
            "Invalid Secret Keys",
        )
    }

    pub(crate) fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found.")
    }

    pub(crate) fn required(field: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "required",
            "This field is required.",
        )
        .field(field)
    }

    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid", message).field(field)
    }

    /// Belvo's `invalid_choice` for `value` of `field`.
    pub(crate) fn invalid_choice(field: &str, value: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_choice",
            format!("\"{value}\" is not a valid choice."),
        )
        .field(field)
    }

    pub(crate) fn method_not_allowed(method: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("Method \"{method}\" not allowed."),
        )
    }

    pub(crate) fn unexpected() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "unexpected_error",
            "Belvo is unable to process the request due to an internal system issue or to an unsupported response from an institution",
        )
    }

    pub(crate) fn login_error() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "login_error",
            "Invalid credentials provided to login to the institution",
        )
    }

    /// The error object (one array element).
    pub(crate) fn to_json(&self, request_id: &str) -> Value {
        let mut m = Map::new();
        m.insert("code".into(), json!(self.code));
        m.insert("message".into(), json!(self.message));
        m.insert("request_id".into(), json!(request_id));
        if let Some(f) = &self.field {
            m.insert("field".into(), json!(f));
        }
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Value::Array(vec![self.to_json(&ids::request_id())]);
        json_response(self.status, &body)
    }
}

/// A JSON response with Belvo's content type.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    bytes_response(status, serde_json::to_vec(body).unwrap_or_default())
}

/// Pre-serialised JSON bytes as a response.
pub(crate) fn bytes_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot build the webhook HTTP client: {0}")]
    HttpClient(#[from] reqwest::Error),
}
