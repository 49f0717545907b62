//! The web app: plain ES modules and CSS from `services/gateway/web/`, embedded in the binary
//! (no build step, no files to deploy beside it), served at `/` and `/app/*`, plus the
//! branding images under `/static/*` that the regions' widget branding points at. It also
//! widens the configured Content-Security-Policy with the origins of every region's widget
//! (script and hosted page), so the emulator's widget in development and Belvo's CDN in
//! production are both allowed without hand-editing the policy.

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, StatusCode, header};
use regions::RegionsConfig;

use crate::AppState;
use crate::error::ApiError;

/// An embedded file: its URL name, content type and bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

impl Asset {
    const fn js(name: &'static str, body: &'static str) -> Self {
        Self::of(name, "text/javascript; charset=utf-8", body)
    }

    const fn css(name: &'static str, body: &'static str) -> Self {
        Self::of(name, "text/css; charset=utf-8", body)
    }

    const fn svg(name: &'static str, body: &'static str) -> Self {
        Self::of(name, "image/svg+xml", body)
    }

    const fn of(name: &'static str, content_type: &'static str, body: &'static str) -> Self {
        Self {
            name,
            content_type,
            body,
        }
    }
}

const INDEX: &str = include_str!("../web/index.html");

const APP: &[Asset] = &[
    Asset::js("app.js", include_str!("../web/app.js")),
    Asset::js("api.js", include_str!("../web/api.js")),
    Asset::js("i18n.js", include_str!("../web/i18n.js")),
    Asset::js("resources.js", include_str!("../web/resources.js")),
    Asset::js("charts.js", include_str!("../web/charts.js")),
    Asset::js("dom.js", include_str!("../web/dom.js")),
    Asset::css("app.css", include_str!("../web/app.css")),
];

const STATIC: &[Asset] = &[
    Asset::svg("icon.svg", include_str!("../web/icon.svg")),
    Asset::svg("logo.svg", include_str!("../web/logo.svg")),
];

/// The web app's routes (not part of the JSON API, so not in `/openapi.json`).
pub(crate) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route(
            "/app/{file}",
            get(|Path(file): Path<String>| app_file(APP, file)),
        )
        .route(
            "/static/{file}",
            get(|Path(file): Path<String>| app_file(STATIC, file)),
        )
}

async fn index() -> Response {
    let mut response =
        ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

async fn app_file(assets: &'static [Asset], file: String) -> Response {
    match assets.iter().find(|a| a.name == file) {
        Some(asset) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, asset.content_type),
                // Revalidated on every load: embedded files change with the binary.
                (header::CACHE_CONTROL, "no-cache"),
            ],
            asset.body,
        )
            .into_response(),
        None => ApiError::NotFound.into_response(),
    }
}

/// The origins (`scheme://host[:port]`) of every region's widget script and hosted widget.
pub fn widget_origins(regions: &RegionsConfig) -> Vec<String> {
    let mut origins: Vec<String> = Vec::new();
    for region in regions.regions() {
        for url in [region.widget_script_url(), region.hosted_widget_url()] {
            let origin = url.origin().ascii_serialization();
            if origin != "null" && !origins.contains(&origin) {
                origins.push(origin);
            }
        }
    }
    origins
}

/// The policy with `origins` added to `script-src`, `connect-src` and `frame-src` (a
/// missing directive is created from `default-src`, or `'self'`). Idempotent: a source
/// already listed is not repeated.
pub fn csp_with_origins(csp: &str, origins: &[String]) -> String {
    const WIDENED: [&str; 3] = ["script-src", "connect-src", "frame-src"];
    let mut directives: Vec<(String, Vec<String>)> = csp
        .split(';')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| {
            let mut words = d.split_ascii_whitespace().map(str::to_owned);
            let name = words.next().unwrap_or_default().to_ascii_lowercase();
            (name, words.collect())
        })
        .collect();
    if origins.is_empty() {
        return render(&directives);
    }
    let default_sources = directives
        .iter()
        .find(|(name, _)| name == "default-src")
        .map_or_else(|| vec!["'self'".to_owned()], |(_, s)| s.clone());
    for name in WIDENED {
        if !directives.iter().any(|(n, _)| n == name) {
            directives.push((name.to_owned(), default_sources.clone()));
        }
    }
    for (name, sources) in &mut directives {
        if !WIDENED.contains(&name.as_str()) {
            continue;
        }
        // `'none'` cannot be combined with sources.
        sources.retain(|s| s != "'none'");
        for origin in origins {
            if !sources.iter().any(|s| s.trim_end_matches('/') == origin) {
                sources.push(origin.clone());
            }
        }
    }
    render(&directives)
}

fn render(directives: &[(String, Vec<String>)]) -> String {
    directives
        .iter()
        .map(|(name, sources)| {
            if sources.is_empty() {
                name.clone()
            } else {
                format!("{name} {}", sources.join(" "))
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widget_origins_widen_script_connect_and_frame_sources() {
        let csp = "default-src 'self'; script-src 'self' https://cdn.belvo.io; \
                   frame-src https://widget.belvo.io; img-src 'self' data:";
        let origins = vec![
            "http://127.0.0.1:8090".to_owned(),
            "https://cdn.belvo.io".to_owned(),
        ];
        let out = csp_with_origins(csp, &origins);
        assert_eq!(
            out,
            "default-src 'self'; script-src 'self' https://cdn.belvo.io http://127.0.0.1:8090; \
             frame-src https://widget.belvo.io http://127.0.0.1:8090 https://cdn.belvo.io; \
             img-src 'self' data:; connect-src 'self' http://127.0.0.1:8090 https://cdn.belvo.io"
        );
        // Idempotent.
        assert_eq!(csp_with_origins(&out, &origins), out);
    }

    #[test]
    fn none_is_replaced_and_no_origins_keeps_the_policy() {
        let out = csp_with_origins("frame-src 'none'", &["https://w.example".to_owned()]);
        assert!(out.contains("frame-src https://w.example"), "{out}");
        assert!(!out.contains("'none'"), "{out}");
        assert_eq!(
            csp_with_origins("default-src 'self';  img-src data:", &[]),
            "default-src 'self'; img-src data:"
        );
    }

    #[test]
    fn every_asset_is_embedded_and_referenced() {
        for asset in APP {
            assert!(!asset.body.is_empty(), "{}", asset.name);
        }
        assert!(INDEX.contains("/app/app.js") && INDEX.contains("/app/app.css"));
        // The page itself complies with the CSP: no inline scripts, styles or handlers.
        assert!(!INDEX.contains("<style"), "inline style element");
        assert!(!INDEX.contains(" style="), "inline style attribute");
        assert!(!INDEX.contains(" onclick="), "inline handler");
        for script in INDEX.split("<script").skip(1) {
            assert!(script.contains("src="), "inline script");
        }
    }
}
