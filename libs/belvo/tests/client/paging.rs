//! Pagination: several pages followed through absolute `next` URLs, resuming from a stored
//! checkpoint, refusing foreign URLs, and never more than one page in memory.

use std::sync::atomic::{AtomicUsize, Ordering};

use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, ResponseTemplate};

use belvo::{Error, Filters, Page};

use crate::support::stub;

/// Serves `total` numbered items, `size` per page, with absolute `next` URLs that keep the query.
struct Numbered {
    base: String,
    total: usize,
    size: usize,
}

impl wiremock::Respond for Numbered {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let page: usize = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "page")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(1);
        let start = (page - 1) * self.size;
        let end = (start + self.size).min(self.total);
        let results: Vec<_> = (start..end)
            .map(|n| json!({"n": n, "pad": "x".repeat(64)}))
            .collect();
        let next = (end < self.total).then(|| {
            format!(
                "{}/api/transactions/?link=abc&page_size={}&page={}",
                self.base,
                self.size,
                page + 1
            )
        });
        ResponseTemplate::new(200).set_body_json(json!({
            "count": self.total, "next": next, "previous": null, "results": results
        }))
    }
}

#[derive(Deserialize)]
struct Item {
    n: usize,
}

#[tokio::test]
async fn follows_next_across_pages_and_keeps_the_query() {
    let (server, client) = stub().await;
    Mock::given(method("GET"))
        .and(path("/api/transactions/"))
        .respond_with(Numbered {
            base: server.uri(),
            total: 25,
            size: 10,
        })
        .expect(3)
        .mount(&server)
        .await;
    let items: Vec<Item> = client
        .list(
            "api/transactions/",
            &Filters::new().eq("link", "abc").page_size(10),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        items.iter().map(|i| i.n).collect::<Vec<_>>(),
        (0..25).collect::<Vec<_>>()
    );
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests[1..]
            .iter()
            .all(|r| r.url.query().unwrap().contains("link=abc"))
    );
}

#[tokio::test]
async fn a_stored_next_url_resumes_the_listing() {
    let (server, client) = stub().await;
    Mock::given(method("GET"))
        .and(path("/api/transactions/"))
        .respond_with(Numbered {
            base: server.uri(),
            total: 30,
            size: 10,
        })
        .mount(&server)
        .await;
    let mut pages = client.pages::<Item>("api/transactions/", &Filters::new().page_size(10));
    let first: Page<Item> = pages.next().await.unwrap().unwrap();
    let checkpoint = first.next.unwrap();
    drop(pages);
    let rest: Vec<Page<Item>> = client.pages_from(checkpoint).try_collect().await.unwrap();
    let ns: Vec<usize> = rest
        .iter()
        .flat_map(|p| p.results.iter().map(|i| i.n))
        .collect();
    assert_eq!(ns, (10..30).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_next_url_to_another_host_is_never_followed() {
    let (server, client) = stub().await;
    Mock::given(method("GET"))
        .and(path("/api/accounts/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": 2, "next": "https://attacker.example/api/accounts/?page=2", "previous": null,
            "results": [{"id": "0d3ffb69-f83b-456e-ad8e-208d0998d71d"}]})))
        .mount(&server)
        .await;
    let result: Result<Vec<belvo::models::Account>, Error> =
        client.accounts().list(&Filters::new()).try_collect().await;
    assert!(matches!(result, Err(Error::ForeignUrl)), "{result:?}");
}

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// Counts how many items exist at once.
struct Counted;

impl<'de> Deserialize<'de> for Counted {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d)?;
        let live = LIVE.fetch_add(1, Ordering::SeqCst) + 1;
        PEAK.fetch_max(live, Ordering::SeqCst);
        Ok(Counted)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_large_listing_holds_one_page_at_a_time() {
    let (server, client) = stub().await;
    let (total, size): (usize, usize) = (120_000, 1000);
    Mock::given(method("GET"))
        .and(path("/api/transactions/"))
        .respond_with(Numbered {
            base: server.uri(),
            total,
            size,
        })
        .mount(&server)
        .await;
    let mut stream =
        client.list::<Counted>("api/transactions/", &Filters::new().page_size(size as u32));
    let mut seen: usize = 0;
    while let Some(item) = stream.try_next().await.unwrap() {
        drop(item);
        seen += 1;
        if seen.is_multiple_of(10_000) {
            // Pages are fetched on demand: never ahead of what was consumed.
            let fetched = server.received_requests().await.unwrap().len();
            assert_eq!(fetched, seen.div_ceil(size), "after {seen} items");
        }
    }
    assert_eq!(seen, total);
    let peak = PEAK.load(Ordering::SeqCst);
    assert!(
        peak <= size,
        "{peak} items were alive at once; one page is {size}"
    );
    assert!(peak > 0);
}
