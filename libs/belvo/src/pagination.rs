//! Belvo's pagination: `{count, next, previous, results}` pages, walked by following the
//! absolute `next` URL until it is null. Streams fetch a page only when the previous one is
//! consumed, so at most one page is held in memory whatever the total.

use std::fmt;

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt, stream};
use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::client::Client;
use crate::error::Error;
use crate::retry::RetryClass;

/// One page of a listing.
#[derive(Debug, Clone, Deserialize)]
pub struct Page<T> {
    /// Total number of results across pages.
    #[serde(default)]
    pub count: Option<u64>,
    /// The next page's absolute URL; `None` on the last page. Store it to resume a listing
    /// later with [`Client::pages_from`].
    #[serde(default)]
    pub next: Option<String>,
    /// The previous page's absolute URL.
    #[serde(default)]
    pub previous: Option<String>,
    /// This page's objects.
    #[serde(default = "Vec::new")]
    pub results: Vec<T>,
}

/// Django-style list filters and paging options, rendered as Belvo expects: lookups as
/// `field__gte=value`, lists comma-joined in one parameter (`id__in=a,b`).
///
/// An `__in` or `__allin` filter given no value (or an empty one) is refused when a listing
/// starts ([`Error::EmptyListFilter`]), before any request leaves: Belvo reads `link__in=` as
/// no filter at all, i.e. every link's data. [`Filters::check`] runs the same guard up front.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    params: Vec<(String, String)>,
}

impl Filters {
    /// No filters.
    pub fn new() -> Self {
        Self::default()
    }

    fn push(mut self, key: String, value: String) -> Self {
        self.params.retain(|(k, _)| *k != key);
        self.params.push((key, value));
        self
    }

    /// `field=value`.
    pub fn eq(self, field: &str, value: impl fmt::Display) -> Self {
        self.push(field.to_owned(), value.to_string())
    }

    /// `link=<id>`, required by some listings and recommended for all.
    pub fn link(self, link: uuid::Uuid) -> Self {
        self.eq("link", link)
    }

    /// `field__gt=value`.
    pub fn gt(self, field: &str, value: impl fmt::Display) -> Self {
        self.push(format!("{field}__gt"), value.to_string())
    }

    /// `field__gte=value`.
    pub fn gte(self, field: &str, value: impl fmt::Display) -> Self {
        self.push(format!("{field}__gte"), value.to_string())
    }

    /// `field__lt=value`.
    pub fn lt(self, field: &str, value: impl fmt::Display) -> Self {
        self.push(format!("{field}__lt"), value.to_string())
    }

    /// `field__lte=value`.
    pub fn lte(self, field: &str, value: impl fmt::Display) -> Self {
        self.push(format!("{field}__lte"), value.to_string())
    }

    /// `field__range=from,to` (inclusive).
    pub fn range(self, field: &str, from: impl fmt::Display, to: impl fmt::Display) -> Self {
        self.push(format!("{field}__range"), format!("{from},{to}"))
    }

    /// `field__in=a,b,c`. Every value must be non-empty, and there must be at least one: an
    /// empty list is refused when the listing starts (see [`Filters::check`]).
    pub fn is_in<V: fmt::Display>(self, field: &str, values: impl IntoIterator<Item = V>) -> Self {
        self.push(format!("{field}__in"), join(values))
    }

    /// `field__not_in=a,b,c`. An empty list excludes nothing, so it sends no parameter (and
    /// drops an earlier `field__not_in`).
    pub fn not_in<V: fmt::Display>(
        mut self,
        field: &str,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        let key = format!("{field}__not_in");
        let values = join(values);
        if values.is_empty() {
            self.params.retain(|(k, _)| *k != key);
            return self;
        }
        self.push(key, values)
    }

    /// `field__allin=a,b` (every value present, e.g. institutions' `resources__allin`). Like
    /// [`Filters::is_in`], an empty list is refused when the listing starts.
    pub fn all_in<V: fmt::Display>(self, field: &str, values: impl IntoIterator<Item = V>) -> Self {
        self.push(format!("{field}__allin"), join(values))
    }

    /// `field__icontains=text`.
    pub fn icontains(self, field: &str, text: impl fmt::Display) -> Self {
        self.push(format!("{field}__icontains"), text.to_string())
    }

    /// Results per page, clamped to Belvo's 1..=1000 (Belvo clamps larger values too).
    pub fn page_size(self, size: u32) -> Self {
        self.push("page_size".to_owned(), size.clamp(1, 1000).to_string())
    }

    /// Start at this page (1-based).
    pub fn page(self, page: u32) -> Self {
        self.push("page".to_owned(), page.max(1).to_string())
    }

    /// Return only these fields.
    pub fn fields<V: fmt::Display>(self, fields: impl IntoIterator<Item = V>) -> Self {
        self.push("fields".to_owned(), join(fields))
    }

    /// Leave these fields out.
    pub fn omit<V: fmt::Display>(self, fields: impl IntoIterator<Item = V>) -> Self {
        self.push("omit".to_owned(), join(fields))
    }

    /// The rendered parameters, in order.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// The client's guard, run before any listing request: every narrowing list lookup
    /// (`__in`, `__allin`) has at least one value and no empty one. Belvo reads an empty
    /// `link__in=` as no filter, which would answer every link's data.
    pub fn check(&self) -> Result<(), Error> {
        check_list_filters(self.params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    pub(crate) fn apply(&self, url: &mut Url) {
        if !self.params.is_empty() {
            url.query_pairs_mut().extend_pairs(self.params.iter());
        }
    }
}

/// Refuses a narrowing list lookup (`__in`, `__allin`) with no value or an empty one.
fn check_list_filters<'a>(
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(), Error> {
    let narrowing = |key: &str| key.ends_with("__in") || key.ends_with("__allin");
    match params
        .into_iter()
        .find(|(key, value)| narrowing(key) && value.split(',').any(|v| v.trim().is_empty()))
    {
        Some((key, _)) => Err(Error::EmptyListFilter {
            parameter: key.to_owned(),
        }),
        None => Ok(()),
    }
}

fn join<V: fmt::Display>(values: impl IntoIterator<Item = V>) -> String {
    values
        .into_iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

impl Client {
    /// One page at an absolute URL under the base URL (a stored `next`).
    pub async fn page<T: DeserializeOwned>(&self, url: &str) -> Result<Page<T>, Error> {
        let url = self.trusted(url)?;
        // The same guard for a stored or hand-built URL as for [`Filters`].
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        check_list_filters(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        let mut call = self.request(Method::GET, "api/", RetryClass::Idempotent)?;
        call.url = url;
        self.call_json(call).await
    }

    /// The absolute URL of a listing's first page: a checkpoint to start [`Client::pages_from`]
    /// at. Fails with [`Error::EmptyListFilter`] when a list filter is empty.
    pub fn first_page_url(&self, path: &str, filters: &Filters) -> Result<String, Error> {
        filters.check()?;
        let mut url = self.url(path)?;
        filters.apply(&mut url);
        Ok(url.to_string())
    }

    /// Pages of a listing starting at `path` (e.g. `api/transactions/`) with `filters`.
    pub fn pages<T: DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
        filters: &Filters,
    ) -> BoxStream<'static, Result<Page<T>, Error>> {
        match self.first_page_url(path, filters) {
            Ok(first) => self.pages_from(first),
            Err(e) => stream::once(async { Err(e) }).boxed(),
        }
    }

    /// Pages from an absolute URL (a first page, or a checkpointed `next`) to the end.
    pub fn pages_from<T: DeserializeOwned + Send + 'static>(
        &self,
        url: String,
    ) -> BoxStream<'static, Result<Page<T>, Error>> {
        let client = self.clone();
        stream::try_unfold(Some(url), move |next| {
            let client = client.clone();
            async move {
                let Some(url) = next else { return Ok(None) };
                let page: Page<T> = client.page(&url).await?;
                let next = page.next.clone();
                Ok(Some((page, next)))
            }
        })
        .boxed()
    }

    /// Every object of a listing, one page in memory at a time.
    pub fn list<T: DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
        filters: &Filters,
    ) -> BoxStream<'static, Result<T, Error>> {
        self.pages(path, filters)
            .map_ok(|page: Page<T>| stream::iter(page.results.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_render_django_style() {
        let f = Filters::new()
            .link(uuid::Uuid::nil())
            .range("value_date", "2022-01-01", "2022-12-31")
            .is_in("status", ["PENDING", "PROCESSED"])
            .gte("amount", 10)
            .page_size(5000);
        let mut url = Url::parse("https://sandbox.belvo.com/api/transactions/").unwrap();
        f.apply(&mut url);
        assert_eq!(
            url.query(),
            Some(
                "link=00000000-0000-0000-0000-000000000000&value_date__range=2022-01-01%2C2022-12-31\
                 &status__in=PENDING%2CPROCESSED&amount__gte=10&page_size=1000"
            )
        );
    }

    #[test]
    fn empty_list_filters_are_refused_and_an_empty_exclusion_is_dropped() {
        let none: [&str; 0] = [];
        for (filters, parameter) in [
            (Filters::new().is_in("link", none), "link__in"),
            (Filters::new().is_in("id", ["a", ""]), "id__in"),
            (Filters::new().is_in("status", [" "]), "status__in"),
            (Filters::new().all_in("resources", none), "resources__allin"),
            (Filters::new().eq("link__in", ""), "link__in"),
        ] {
            match filters.check() {
                Err(Error::EmptyListFilter { parameter: p }) => assert_eq!(p, parameter),
                other => panic!("{parameter}: {other:?}"),
            }
        }
        assert!(
            Filters::new()
                .is_in("link", ["a", "b"])
                .all_in("resources", ["ACCOUNTS"])
                .eq("link", "")
                .check()
                .is_ok()
        );
        let dropped = Filters::new()
            .not_in("created_by", ["x"])
            .not_in("created_by", none);
        assert!(dropped.params().is_empty(), "{dropped:?}");
        assert!(dropped.check().is_ok());
    }

    #[test]
    fn setting_a_filter_twice_keeps_the_last_value() {
        let f = Filters::new()
            .eq("status", "valid")
            .eq("status", "invalid")
            .page_size(0);
        assert_eq!(
            f.params(),
            [
                ("status".into(), "invalid".into()),
                ("page_size".into(), "1".into())
            ]
        );
    }
}
