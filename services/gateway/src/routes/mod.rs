//! The route table: every route once, with its handler and its documentation. The router
//! and `/openapi.json` are both built from [`table`], so the published document cannot drift
//! from what is served.

mod api;
mod data;
mod ops;
mod schemas;
mod webhooks;

use std::borrow::Cow;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::routing::MethodRouter;
use http::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::error::ApiError;

/// How a route is documented.
#[derive(Debug, Clone)]
pub struct RouteDoc {
    /// HTTP method.
    pub method: Method,
    /// Path template (`/v1/links/{id}`), the same syntax in axum and OpenAPI (owned when a
    /// table generates it, as the resource routes are).
    pub path: Cow<'static, str>,
    /// Unique operation id.
    pub operation_id: String,
    /// One line.
    pub summary: String,
    /// Group.
    pub tag: &'static str,
    /// Whether a bearer token is required.
    pub auth: bool,
    /// Query parameters: name and description.
    pub query: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    /// JSON schema of the request body, if any.
    pub body: Option<Value>,
    /// Success statuses and what they mean.
    pub responses: Vec<(u16, &'static str)>,
    /// The success body: a schema in `components.schemas`, `text/event-stream` or
    /// `text/plain`.
    pub returns: &'static str,
}

/// A documented route.
pub struct Route {
    /// Its documentation.
    pub doc: RouteDoc,
    /// Its handler.
    pub handler: MethodRouter<Arc<AppState>>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.doc.fmt(f)
    }
}

impl RouteDoc {
    pub(crate) fn new(
        method: Method,
        path: impl Into<Cow<'static, str>>,
        operation_id: impl Into<String>,
        summary: impl Into<String>,
        tag: &'static str,
    ) -> Self {
        Self {
            method,
            path: path.into(),
            operation_id: operation_id.into(),
            summary: summary.into(),
            tag,
            auth: true,
            query: Vec::new(),
            body: None,
            responses: vec![(200, "OK")],
            returns: "Status",
        }
    }

    pub(crate) fn public(mut self) -> Self {
        self.auth = false;
        self
    }

    pub(crate) fn query(mut self, query: &[(&'static str, &'static str)]) -> Self {
        self.query.extend(
            query
                .iter()
                .map(|(name, description)| (Cow::Borrowed(*name), Cow::Borrowed(*description))),
        );
        self
    }

    /// One query parameter whose name or description is built at start-up.
    pub(crate) fn query_param(
        mut self,
        name: impl Into<Cow<'static, str>>,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        self.query.push((name.into(), description.into()));
        self
    }

    pub(crate) fn body(mut self, schema: Value) -> Self {
        self.body = Some(schema);
        self
    }

    pub(crate) fn responses(mut self, responses: &[(u16, &'static str)]) -> Self {
        self.responses = responses.to_vec();
        self
    }

    pub(crate) fn returns(mut self, returns: &'static str) -> Self {
        self.returns = returns;
        self
    }

    pub(crate) fn handler(self, handler: MethodRouter<Arc<AppState>>) -> Route {
        Route { doc: self, handler }
    }
}

/// Every route; `dev` adds `POST /v1/dev/login`.
pub fn table(dev: bool) -> Vec<Route> {
    let mut routes = Vec::new();
    routes.extend(ops::routes());
    routes.extend(api::routes(dev));
    routes.extend(data::routes());
    routes.extend(webhooks::routes());
    routes
}

/// The router for a route table.
pub fn router(routes: Vec<Route>) -> Router<Arc<AppState>> {
    let docs: Vec<RouteDoc> = routes.iter().map(|r| r.doc.clone()).collect();
    let mut router = Router::new();
    for route in routes {
        router = router.route(&route.doc.path, route.handler);
    }
    let document = Arc::new(openapi(&docs));
    router = router
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed });
    router.route(
        "/openapi.json",
        axum::routing::get(move || {
            let document = Arc::clone(&document);
            async move { axum::Json((*document).clone()) }
        }),
    )
}

/// The OpenAPI 3.1 document of a route table (plus `/openapi.json` itself).
pub fn openapi(routes: &[RouteDoc]) -> Value {
    let mut paths = Map::new();
    let mut all: Vec<RouteDoc> = routes.to_vec();
    all.push(
        RouteDoc::new(
            Method::GET,
            "/openapi.json",
            "openapi",
            "This document",
            "operations",
        )
        .public()
        .returns("OpenApi"),
    );
    for route in &all {
        let mut parameters = Vec::new();
        for segment in route.path.split('/') {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                parameters.push(json!({
                    "name": name, "in": "path", "required": true, "schema": {"type": "string"}
                }));
            }
        }
        for (name, description) in &route.query {
            parameters.push(json!({
                "name": name, "in": "query", "required": false,
                "description": description, "schema": {"type": "string"}
            }));
        }
        let mut responses = Map::new();
        for (status, description) in &route.responses {
            let mut response = json!({"description": description});
            response["content"] = if *status >= 400 {
                json!({"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}})
            } else if route.returns.contains('/') {
                json!({(route.returns): {"schema": {"type": "string"}}})
            } else {
                json!({"application/json": {"schema": {"$ref": format!("#/components/schemas/{}", route.returns)}}})
            };
            responses.insert(status.to_string(), response);
        }
        responses.insert(
            "default".to_owned(),
            json!({
                "description": "Error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
            }),
        );
        let mut operation = json!({
            "operationId": route.operation_id,
            "summary": route.summary,
            "tags": [route.tag],
            "parameters": parameters,
            "responses": responses,
        });
        if route.auth {
            operation["security"] = json!([{"bearerAuth": []}]);
        }
        if let Some(schema) = &route.body {
            operation["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": schema}}
            });
        }
        let item = paths
            .entry(route.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        item[route.method.as_str().to_ascii_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Connect platform gateway",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The public JSON API over token-, link- and data-service, and Belvo's webhook receiver."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": schemas::components(),
        }
    })
}

/// A JSON request body: an empty body is `T::default()`, a too-large one is 413, and a bad
/// one is 400 naming the field when serde says which.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::BadRequest(rejection.body_text())
                }
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
            let path = err.path().to_string();
            let message = err.inner().to_string();
            let field = if path == "." || path.is_empty() {
                field_of(&message)
            } else {
                Some(path)
            };
            match field {
                Some(field) => ApiError::field(field, message),
                None => ApiError::BadRequest(format!("invalid JSON body: {message}")),
            }
        })?;
        deserializer
            .end()
            .map_err(|err| ApiError::BadRequest(format!("invalid JSON body: {err}")))?;
        Ok(Self(value))
    }
}

/// The field a serde message names (``missing field `link_id` ``, ``unknown field `x` ``).
fn field_of(message: &str) -> Option<String> {
    let rest = message.split("field `").nth(1)?;
    Some(rest.split('`').next()?.to_owned())
}

/// A query string that does not parse, as a 400 naming the parameter when possible.
pub(crate) fn query_error(rejection: &axum::extract::rejection::QueryRejection) -> ApiError {
    let message = rejection.body_text();
    match field_of(&message) {
        Some(field) => ApiError::field(field, message),
        None => ApiError::BadRequest(message),
    }
}

/// Rejects anything but a Belvo link id (a UUID) as `field`.
pub(crate) fn link_id_field(field: &str, value: &str) -> Result<(), ApiError> {
    uuid::Uuid::parse_str(value)
        .map(|_| ())
        .map_err(|_| ApiError::field(field, "must be a Belvo link id (a UUID)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_name_fields() {
        assert_eq!(
            field_of("missing field `link_id` at line 1 column 2").as_deref(),
            Some("link_id")
        );
        assert_eq!(field_of("expected value at line 1"), None);
    }

    #[test]
    fn every_schema_reference_resolves() {
        let docs: Vec<RouteDoc> = table(true).into_iter().map(|r| r.doc).collect();
        let document = openapi(&docs);
        let text = document.to_string();
        let mut refs = 0;
        for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = reference.split('"').next().unwrap();
            assert!(
                document["components"]["schemas"].get(name).is_some(),
                "unresolved schema {name}"
            );
            refs += 1;
        }
        assert!(refs > 20, "{refs}");
    }

    #[test]
    fn every_route_is_documented_once() {
        let docs: Vec<RouteDoc> = table(true).into_iter().map(|r| r.doc).collect();
        let mut seen = std::collections::HashSet::new();
        for doc in &docs {
            assert!(
                seen.insert((doc.method.clone(), doc.path.clone())),
                "{} {}",
                doc.method,
                doc.path
            );
        }
        let ids: std::collections::HashSet<_> = docs.iter().map(|d| &d.operation_id).collect();
        assert_eq!(ids.len(), docs.len());
    }
}
