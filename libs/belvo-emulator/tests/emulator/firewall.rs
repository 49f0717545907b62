//! Belvo's web-application firewall: more requests than the limit from one address in the
//! sliding window get the WAF's HTML 403, counted in the control API; the control API and the
//! widget's endpoints are not Belvo's API and do not count.

use std::time::Duration;

use axum::http::StatusCode;
use belvo_emulator::faults::FIREWALL_HTML;
use belvo_emulator::{Config, FirewallLimit};
use serde_json::{Value, json};

use crate::common::{self, ID, PASSWORD};

fn five_per_30s() -> Config {
    Config {
        firewall: Some(FirewallLimit {
            max_requests: 5,
            window: Duration::from_secs(30),
        }),
        ..common::config()
    }
}

#[tokio::test]
async fn over_the_limit_requests_get_the_html_403_and_are_counted() {
    let emu = common::start_with(five_per_30s()).await;
    // Neither the control API nor the widget's script count toward the limit.
    for _ in 0..10 {
        let r = emu
            .http
            .get(emu.url("/_emulator/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let r = emu
            .http
            .get(emu.url("/belvo-widget-1-stable.js"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }

    let mut answered = 0;
    let mut refused = 0;
    for i in 0..7 {
        let r = emu
            .http
            .get(emu.url("/api/institutions/"))
            .basic_auth(ID, Some(PASSWORD))
            .send()
            .await
            .unwrap();
        match r.status() {
            StatusCode::OK => {
                assert!(refused == 0, "request {i} answered after a refusal");
                let body: Value = r.json().await.unwrap();
                assert!(body["results"].is_array(), "{body}");
                answered += 1;
            }
            StatusCode::FORBIDDEN => {
                let h = r.headers();
                assert_eq!(h["content-type"], "text/html");
                assert_eq!(h["server"], "openresty/1.15.8.2");
                assert_eq!(
                    r.text().await.unwrap(),
                    FIREWALL_HTML,
                    "not Belvo's JSON error"
                );
                refused += 1;
            }
            other => panic!("request {i}: unexpected {other}"),
        }
    }
    assert_eq!((answered, refused), (5, 2));

    // The same counts over HTTP and through the in-process handle.
    let r = emu
        .http
        .get(emu.url("/_emulator/firewall"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the control API is not blocked");
    let view: Value = r.json().await.unwrap();
    assert_eq!(
        view,
        json!({"enabled": true, "max_requests": 5, "window_secs": 30,
               "refused_total": 2, "refused": {"127.0.0.1": 2}})
    );
    let fw = emu.handle.control().firewall();
    assert_eq!(fw.refused_total, 2);
    assert_eq!(fw.refused.get(&[127, 0, 0, 1].into()), Some(&2));

    // The refusals are in the request log.
    let logged = emu
        .handle
        .control()
        .requests()
        .into_iter()
        .filter(|r| r.status == 403 && r.fault.as_deref() == Some("firewall_limit"))
        .count();
    assert_eq!(logged, 2);

    // A reset zeroes the counts and opens a fresh window.
    let r = emu
        .http
        .delete(emu.url("/_emulator/firewall"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(emu.handle.control().firewall().refused_total, 0);
    let (s, _) = emu.get("/api/institutions/").await;
    assert_eq!(s, StatusCode::OK);
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn belvos_limit_is_80_in_30_s_and_off_by_default_and_for_tests() {
    assert_eq!(Config::default().firewall, None);
    assert_eq!(FirewallLimit::BELVO.max_requests, 80);
    assert_eq!(FirewallLimit::BELVO.window, Duration::from_secs(30));
    assert_eq!(Config::for_tests().firewall, None);

    let emu = common::start().await;
    for _ in 0..100 {
        let (s, _) = emu.get("/api/institutions/").await;
        assert_eq!(s, StatusCode::OK);
    }
    let fw = emu.handle.control().firewall();
    assert!(!fw.enabled);
    assert_eq!(fw.refused_total, 0);
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn a_limit_of_zero_is_refused_at_start() {
    let cfg = Config {
        firewall: Some(FirewallLimit {
            max_requests: 0,
            window: Duration::from_secs(30),
        }),
        ..common::config()
    };
    let err = belvo_emulator::Emulator::start(cfg).await.unwrap_err();
    assert!(err.to_string().contains("firewall"), "{err}");
}
