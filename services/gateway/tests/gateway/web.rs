//! The web app: served at `/` and `/app/*` from the binary, under a CSP that admits the
//! regions' widget origins and nothing inline.

use crate::harness::TestApp;

#[tokio::test]
async fn the_page_and_its_modules_are_served_with_their_types() {
    let app = TestApp::start().await;
    let page = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<script type=\"module\" src=\"/app/app.js\">"),
        "{html}"
    );
    for (path, kind) in [
        ("/app/app.js", "text/javascript; charset=utf-8"),
        ("/app/api.js", "text/javascript; charset=utf-8"),
        ("/app/i18n.js", "text/javascript; charset=utf-8"),
        ("/app/resources.js", "text/javascript; charset=utf-8"),
        ("/app/charts.js", "text/javascript; charset=utf-8"),
        ("/app/dom.js", "text/javascript; charset=utf-8"),
        ("/app/app.css", "text/css; charset=utf-8"),
        ("/static/icon.svg", "image/svg+xml"),
        ("/static/logo.svg", "image/svg+xml"),
    ] {
        let response = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], kind, "{path}");
        assert!(!response.text().await.unwrap().is_empty(), "{path}");
    }
    // Every module the app imports is served.
    let app_js = app
        .http
        .get(app.url("/app/app.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for import in app_js.split("from \"./").skip(1) {
        let file = import.split('"').next().unwrap();
        let response = app
            .http
            .get(app.url(&format!("/app/{file}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{file}");
    }
    let missing = app.http.get(app.url("/app/nope.js")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let traversal = app
        .http
        .get(app.url("/app/..%2FCargo.toml"))
        .send()
        .await
        .unwrap();
    assert_eq!(traversal.status(), 404);
}

#[tokio::test]
async fn the_csp_admits_the_regions_widget_origin_and_no_inline_script() {
    // local.toml's widget is the emulator's, at http://127.0.0.1:8090.
    let app = TestApp::start().await;
    let response = app.http.get(app.url("/")).send().await.unwrap();
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let directive = |name: &str| {
        csp.split(';')
            .map(str::trim)
            .find(|d| d.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {csp}"))
            .to_owned()
    };
    for name in ["script-src", "connect-src", "frame-src"] {
        assert!(directive(name).contains("http://127.0.0.1:8090"), "{csp}");
    }
    // Belvo's CDN stays allowed for production regions.
    assert!(
        directive("script-src").contains("https://cdn.belvo.io"),
        "{csp}"
    );
    assert!(
        !directive("script-src").contains("'unsafe-inline'"),
        "{csp}"
    );
    assert!(!directive("script-src").contains("'unsafe-eval'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
}

#[tokio::test]
async fn a_configured_policy_is_widened_too() {
    let app = TestApp::start_with(|c| {
        c.security.content_security_policy = "default-src 'none'; script-src 'self'".into();
    })
    .await;
    let response = app.http.get(app.url("/healthz")).send().await.unwrap();
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("script-src 'self' http://127.0.0.1:8090"),
        "{csp}"
    );
    // Created from default-src ('none' dropped, as it cannot be combined).
    assert!(csp.contains("connect-src http://127.0.0.1:8090"), "{csp}");
}
