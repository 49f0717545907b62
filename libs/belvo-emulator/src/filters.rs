//! Django-style list filters as Belvo accepts them (`field`, `field__gte`, `__range=a,b`,
//! `__in=a,b`, `__allin=a,b`, `__icontains`, nested `account__balance__current__lt`, ...)
//! evaluated on JSON objects, plus the index-range shortcut for date-ordered generated
//! collections.
//!
//! Filters on the date and timestamp fields Belvo lists as filterable (`created_at`,
//! `collected_at`, `accounting_date`, `value_date`, `invoice_date`, ...) compare as instants
//! and days, never as text: a value is a date (`YYYY-MM-DD`) or an RFC 3339 timestamp with or
//! without fraction and offset (no offset means UTC). A date compares with a timestamp field by
//! the field's UTC day ("created on or after this date"), a timestamp with a date field by the
//! timestamp's UTC day, two timestamps as instants. A value that is neither is Belvo's 400
//! (`invalid`, `field` naming the query parameter). `ejercicio` (a tax return's year) takes
//! integers.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde_json::Value;

use crate::error::ApiError;

/// Query parameters that are not field filters.
const RESERVED: &[&str] = &["page", "page_size", "fields", "omit", "link", "link__in"];

/// Field names whose filters take dates and timestamps (every date/timestamp filter of
/// Belvo's list endpoints).
const TEMPORAL_FIELDS: &[&str] = &[
    "created_at",
    "collected_at",
    "accounting_date",
    "value_date",
    "invoice_date",
    "due_date",
    "start_date",
    "end_date",
    "last_accessed_at",
];

/// Field names whose filters take a year.
const YEAR_FIELDS: &[&str] = &["ejercicio"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Gt,
    Gte,
    Lt,
    Lte,
    Range,
    In,
    NotIn,
    AllIn,
    IContains,
}

/// A point in time a temporal filter compares with: a day or an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Moment {
    Day(NaiveDate),
    Instant(DateTime<Utc>),
}

impl Moment {
    /// The UTC day.
    pub(crate) fn day(self) -> NaiveDate {
        match self {
            Moment::Day(d) => d,
            Moment::Instant(t) => t.date_naive(),
        }
    }

    /// Parses a date or an RFC 3339 timestamp (fraction optional, seconds optional, offset
    /// optional: none means UTC; a space in place of `T`, and a space in place of an offset's
    /// `+` — what an unencoded `+` becomes in a query string — are accepted).
    pub(crate) fn parse(s: &str) -> Option<Moment> {
        let s = s.trim();
        if s.len() == 10 {
            return NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .map(Moment::Day);
        }
        let (date, time) = match s.get(..10).zip(s.get(11..)) {
            Some((d, t)) if matches!(s.as_bytes().get(10), Some(b'T' | b't' | b' ')) => (d, t),
            _ => return None,
        };
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
        let (clock, offset_secs) = split_offset(time)?;
        let clock = NaiveTime::parse_from_str(clock, "%H:%M:%S%.f")
            .or_else(|_| NaiveTime::parse_from_str(clock, "%H:%M"))
            .ok()?;
        let local = NaiveDateTime::new(date, clock);
        let utc = local - chrono::Duration::seconds(i64::from(offset_secs));
        Some(Moment::Instant(utc.and_utc()))
    }
}

/// Splits `HH:MM[:SS[.f]][Z|±HH[:MM]]` into the clock and the offset in seconds east of UTC.
fn split_offset(time: &str) -> Option<(&str, i32)> {
    if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    // The offset starts at the last sign after the clock's first five characters.
    let pos = time
        .char_indices()
        .skip(5)
        .filter(|(_, c)| matches!(c, '+' | '-' | ' '))
        .map(|(i, _)| i)
        .last();
    let Some(pos) = pos else {
        return Some((time, 0));
    };
    let (clock, off) = time.split_at(pos);
    let sign = if off.starts_with('-') { -1 } else { 1 };
    let digits: String = off[1..].chars().filter(|c| *c != ':').collect();
    if !(digits.len() == 2 || digits.len() == 4) || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = if digits.len() == 4 {
        digits[2..].parse().ok()?
    } else {
        0
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some((clock, sign * (hours * 3600 + minutes * 60)))
}

/// Compares an object's temporal value with a filter's.
fn cmp_moments(actual: Moment, wanted: Moment) -> Ordering {
    match (actual, wanted) {
        (Moment::Instant(a), Moment::Instant(w)) => a.cmp(&w),
        (a, w) => a.day().cmp(&w.day()),
    }
}

/// What a filter's values are.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Values {
    /// Compared as numbers when both sides are numbers, else as text.
    Text,
    /// Dates and timestamps (one per value).
    Moments(Vec<Moment>),
    /// Years (one per value).
    Years(Vec<i64>),
}

/// One filter: a field path and a comparison.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    pub path: Vec<String>,
    pub op: Op,
    pub values: Vec<String>,
    pub typed: Values,
}

fn bad_moment(param: &str) -> ApiError {
    ApiError::invalid(
        param,
        "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DD, YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
    )
}

impl Filter {
    /// Parses one query parameter. Temporal and year filters check their values (Belvo's 400
    /// naming the parameter when one is malformed); `__range` takes exactly two values.
    pub(crate) fn parse(key: &str, value: &str) -> Result<Filter, ApiError> {
        let mut parts: Vec<String> = key.split("__").map(str::to_owned).collect();
        let op = match parts.last().map(String::as_str) {
            Some("gt") => Op::Gt,
            Some("gte") => Op::Gte,
            Some("lt") => Op::Lt,
            Some("lte") => Op::Lte,
            Some("range") => Op::Range,
            Some("in") => Op::In,
            Some("not_in") => Op::NotIn,
            Some("allin") => Op::AllIn,
            Some("icontains") => Op::IContains,
            _ => Op::Eq,
        };
        if op != Op::Eq && parts.len() > 1 {
            parts.pop();
        }
        let values: Vec<String> = match op {
            Op::Range | Op::In | Op::NotIn | Op::AllIn => value
                .split(',')
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect(),
            _ => vec![value.to_owned()],
        };
        if op == Op::Range && values.len() != 2 {
            return Err(ApiError::invalid(
                key,
                "Range query expects two values separated by a comma.",
            ));
        }
        let field = parts.last().map(String::as_str).unwrap_or("");
        let typed = if TEMPORAL_FIELDS.contains(&field) {
            let moments = values
                .iter()
                .map(|v| Moment::parse(v).ok_or_else(|| bad_moment(key)))
                .collect::<Result<Vec<_>, _>>()?;
            Values::Moments(moments)
        } else if YEAR_FIELDS.contains(&field) {
            let years = values
                .iter()
                .map(|v| {
                    v.trim()
                        .parse::<i64>()
                        .map_err(|_| ApiError::invalid(key, "A valid integer is required."))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Values::Years(years)
        } else {
            Values::Text
        };
        Ok(Filter {
            path: parts,
            op,
            values,
            typed,
        })
    }

    /// The filter's day values, when it is temporal.
    pub(crate) fn days(&self) -> Option<Vec<NaiveDate>> {
        match &self.typed {
            Values::Moments(m) => Some(m.iter().map(|m| m.day()).collect()),
            _ => None,
        }
    }

    /// Whether `item` passes. A filter on a field the object does not have is ignored, as
    /// django-filter ignores unknown parameters.
    pub(crate) fn matches(&self, item: &Value) -> bool {
        let Some(first) = self.path.first() else {
            return true;
        };
        if item.get(first).is_none() {
            return true;
        }
        self.matches_in(item, &self.path)
    }

    /// Resolves `path` inside `v` and compares (the path must exist).
    pub(crate) fn matches_in(&self, v: &Value, path: &[String]) -> bool {
        let mut v = v;
        for p in path {
            match v.get(p) {
                Some(next) => v = next,
                None => return false,
            }
        }
        if let Value::Array(items) = v {
            let have: Vec<String> = items.iter().filter_map(scalar).collect();
            return match self.op {
                Op::AllIn => self.values.iter().all(|w| have.contains(w)),
                _ => have.into_iter().any(|h| self.compare(Some(h))),
            };
        }
        self.compare(scalar(v))
    }

    /// Compares a resolved value (`None` for JSON null).
    pub(crate) fn compare(&self, actual: Option<String>) -> bool {
        let Some(actual) = actual else {
            return matches!(self.op, Op::NotIn) || (self.op == Op::Eq && self.values[0] == "null");
        };
        let ord = |i: usize| -> Option<Ordering> {
            match &self.typed {
                Values::Text => cmp(&actual, self.values.get(i)?),
                Values::Moments(m) => Some(cmp_moments(Moment::parse(&actual)?, *m.get(i)?)),
                Values::Years(y) => {
                    let a = actual.parse::<f64>().ok()?;
                    a.partial_cmp(&(*y.get(i)? as f64))
                }
            }
        };
        let n = self.values.len();
        match self.op {
            Op::Eq => ord(0) == Some(Ordering::Equal),
            Op::Gt => ord(0) == Some(Ordering::Greater),
            Op::Gte => matches!(ord(0), Some(Ordering::Greater | Ordering::Equal)),
            Op::Lt => ord(0) == Some(Ordering::Less),
            Op::Lte => matches!(ord(0), Some(Ordering::Less | Ordering::Equal)),
            Op::Range => {
                n == 2
                    && matches!(ord(0), Some(Ordering::Greater | Ordering::Equal))
                    && matches!(ord(1), Some(Ordering::Less | Ordering::Equal))
            }
            Op::In | Op::AllIn => (0..n).any(|i| ord(i) == Some(Ordering::Equal)),
            Op::NotIn => !(0..n).any(|i| ord(i) == Some(Ordering::Equal)),
            Op::IContains => actual
                .to_lowercase()
                .contains(&self.values[0].to_lowercase()),
        }
    }
}

/// The comparable text of a JSON value; objects compare by their `id` (or `name`), so
/// `account=<uuid>` and `institution=<name>` work as in Belvo.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        Value::Object(m) => m.get("id").or_else(|| m.get("name")).and_then(scalar),
        Value::Array(_) => None,
    }
}

/// Text comparison of non-temporal fields: numbers as numbers, booleans case-insensitively,
/// the rest case-insensitively as text.
fn cmp(actual: &str, wanted: &str) -> Option<Ordering> {
    if let (Ok(a), Ok(b)) = (actual.parse::<f64>(), wanted.parse::<f64>()) {
        return a.partial_cmp(&b);
    }
    if wanted.eq_ignore_ascii_case("true") || wanted.eq_ignore_ascii_case("false") {
        return Some(actual.eq_ignore_ascii_case(wanted).cmp(&true).reverse());
    }
    Some(actual.to_lowercase().cmp(&wanted.to_lowercase()))
}

/// The query string as decoded pairs, in order.
pub(crate) fn pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The parsed query of a list request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query {
    pub pairs: Vec<(String, String)>,
    pub filters: Vec<Filter>,
    pub links: Option<Vec<String>>,
    pub page: Option<String>,
    pub page_size: Option<String>,
    pub fields: Option<Vec<String>>,
    pub omit: Option<Vec<String>>,
}

impl Query {
    /// Parses a list query; a malformed temporal or year filter is Belvo's 400.
    pub(crate) fn parse(raw: Option<&str>) -> Result<Query, ApiError> {
        let pairs = pairs(raw);
        let mut q = Query {
            pairs: pairs.clone(),
            ..Query::default()
        };
        for (k, v) in pairs {
            match k.as_str() {
                "page" => q.page = Some(v),
                "page_size" => q.page_size = Some(v),
                "fields" => q.fields = Some(v.split(',').map(str::to_owned).collect()),
                "omit" => q.omit = Some(v.split(',').map(str::to_owned).collect()),
                "link" => q.links.get_or_insert_with(Vec::new).push(v),
                "link__in" => q
                    .links
                    .get_or_insert_with(Vec::new)
                    .extend(v.split(',').map(str::to_owned)),
                _ if RESERVED.contains(&k.as_str()) => {}
                _ => q.filters.push(Filter::parse(&k, &v)?),
            }
        }
        Ok(q)
    }

    /// Rewrites the paths of filters named by a resource's aliases (Belvo's query names for
    /// nested fields, e.g. `account_type` → `account.type`).
    pub(crate) fn alias(&mut self, aliases: &[(&str, &[&str])]) {
        for f in &mut self.filters {
            if let [name] = f.path.as_slice()
                && let Some((_, to)) = aliases.iter().find(|(from, _)| from == name)
            {
                f.path = to.iter().map(|s| (*s).to_owned()).collect();
            }
        }
    }

    /// Applies `fields` / `omit` to an object.
    pub(crate) fn trim(&self, v: &mut Value) {
        if let Value::Object(m) = v {
            if let Some(f) = &self.fields {
                m.retain(|k, _| f.iter().any(|x| x == k));
            }
            if let Some(o) = &self.omit {
                m.retain(|k, _| !o.iter().any(|x| x == k));
            }
        }
    }

    pub(crate) fn trims(&self) -> bool {
        self.fields.is_some() || self.omit.is_some()
    }
}

/// Splits off the filters on `field` and turns them into an index range `[lo, hi)` of a
/// collection of `n` objects whose dates go back from `as_of` as the index grows. The rest of
/// the filters are returned for per-object evaluation.
pub(crate) fn date_index_range(
    filters: &[Filter],
    field: &str,
    as_of: NaiveDate,
    n: u64,
) -> ((u64, u64), Vec<Filter>) {
    let mut lo = 0u64;
    let mut hi = n;
    let mut rest = Vec::new();
    for f in filters {
        if f.path.len() != 1 || f.path[0] != field {
            rest.push(f.clone());
            continue;
        }
        let Some(dates) = f.days() else {
            rest.push(f.clone());
            continue;
        };
        // days back from as_of; negative means after as_of.
        let back = |d: NaiveDate| (as_of - d).num_days();
        // Newer-or-equal than d: days_back <= back(d).
        let newer_eq = |d: NaiveDate| -> u64 {
            let b = back(d);
            if b < 0 {
                0
            } else {
                crate::data::first_index_with_days(b as u64 + 1, n)
            }
        };
        // Older-or-equal than d: days_back >= back(d).
        let older_eq = |d: NaiveDate| -> u64 {
            let b = back(d);
            if b <= 0 {
                0
            } else {
                crate::data::first_index_with_days(b as u64, n)
            }
        };
        let one_day = chrono::Duration::days(1);
        match f.op {
            Op::Gte => hi = hi.min(newer_eq(dates[0])),
            Op::Gt => hi = hi.min(newer_eq(dates[0] + one_day)),
            Op::Lte => lo = lo.max(older_eq(dates[0])),
            Op::Lt => lo = lo.max(older_eq(dates[0] - one_day)),
            Op::Eq => {
                hi = hi.min(newer_eq(dates[0]));
                lo = lo.max(older_eq(dates[0]));
            }
            Op::Range if dates.len() == 2 => {
                hi = hi.min(newer_eq(dates[0]));
                lo = lo.max(older_eq(dates[1]));
            }
            _ => rest.push(f.clone()),
        }
    }
    if lo > hi {
        lo = hi;
    }
    ((lo, hi), rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::date_of;
    use serde_json::json;

    fn q(s: &str) -> Query {
        Query::parse(Some(s)).unwrap()
    }

    #[test]
    fn filters_compare_numbers_dates_nested_and_lists() {
        let t = json!({"amount": 150.5, "value_date": "2024-03-10", "type": "INFLOW",
            "account": {"id": "a1", "balance": {"current": 10.0}}, "description": "OXXO CDMX"});
        let query = q(
            "amount__gte=100&value_date__range=2024-03-01,2024-03-31&type__in=INFLOW,OUTFLOW&account=a1&account__balance__current__lt=11&description__icontains=oxxo",
        );
        assert_eq!(query.filters.len(), 6);
        assert!(query.filters.iter().all(|f| f.matches(&t)));
        assert!(!q("amount__lt=100").filters[0].matches(&t));
        let query = q("link=x&link__in=y,z&page=2");
        assert_eq!(
            query.links,
            Some(vec!["x".to_owned(), "y".to_owned(), "z".to_owned()])
        );
        assert!(query.filters.is_empty());
    }

    /// The incremental pull of data-service: `created_at__gte` with an RFC 3339 timestamp in
    /// milliseconds and `Z` against Belvo's microsecond timestamps. As text, `…00.123456Z` sorts
    /// before `…00.123Z`; as instants it is later.
    #[test]
    fn timestamps_compare_as_instants_not_as_text() {
        let obj = json!({"created_at": "2026-06-30T10:00:00.123456Z"});
        for (query, want) in [
            ("created_at__gte=2026-06-30T10:00:00.123Z", true),
            ("created_at__gt=2026-06-30T10:00:00.123Z", true),
            ("created_at__gt=2026-06-30T10:00:00.123456Z", false),
            ("created_at__gte=2026-06-30T10:00:00.123456Z", true),
            ("created_at__lt=2026-06-30T10:00:00.124Z", true),
            ("created_at__lte=2026-06-30T10:00:00Z", false),
            ("created_at__gte=2026-06-30T10:00:00", true),
            ("created_at__gte=2026-06-30T12:00:00%2B02:00", true),
            ("created_at__gte=2026-06-30T12:00:01%2B02:00", false),
            ("created_at__gte=2026-06-30T05:00:00-05:00", true),
            ("created_at__gte=2026-06-30T05:01-05:00", false),
            // An unencoded `+` arrives as a space.
            ("created_at__gte=2026-06-30T12:00:00+02:00", true),
            (
                "created_at__range=2026-06-30T09:00:00Z,2026-06-30T11:00:00Z",
                true,
            ),
            (
                "created_at__range=2026-06-30T11:00:00Z,2026-06-30T12:00:00Z",
                false,
            ),
            // A date compares with the timestamp's UTC day.
            ("created_at=2026-06-30", true),
            ("created_at__gte=2026-06-30", true),
            ("created_at__gt=2026-06-30", false),
            ("created_at__lte=2026-06-30", true),
            ("created_at__lt=2026-06-30", false),
            ("created_at__range=2026-06-01,2026-06-30", true),
        ] {
            assert_eq!(q(query).filters[0].matches(&obj), want, "{query}");
        }
        // A timestamp on a date field compares by the timestamp's UTC day.
        let day = json!({"value_date": "2026-06-30"});
        assert!(q("value_date__gte=2026-06-30T23:00:00Z").filters[0].matches(&day));
        assert!(!q("value_date__gt=2026-06-30T01:00:00Z").filters[0].matches(&day));
        assert!(q("value_date__lte=2026-06-30T20:00:00-05:00").filters[0].matches(&day));
    }

    #[test]
    fn malformed_temporal_values_are_belvos_400_naming_the_parameter() {
        for bad in [
            "created_at__gte=yesterday",
            "created_at__gte=2026-13-01",
            "created_at__gte=2026-06-30T25:00:00Z",
            "created_at__gte=30/06/2026",
            "value_date__range=2026-01-01",
            "value_date__range=2026-01-01,soon",
            "collected_at=2026-06-30T10:00:00+99:00",
            "ejercicio__gte=last",
        ] {
            let e = Query::parse(Some(bad)).unwrap_err();
            assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST, "{bad}");
            assert_eq!(e.code, "invalid", "{bad}");
            assert_eq!(
                e.field.as_deref(),
                bad.split('=').next(),
                "{bad}: names the parameter"
            );
        }
        // Other fields keep text and number semantics (no validation).
        assert!(Query::parse(Some("description=anything&amount__gte=x")).is_ok());
    }

    #[test]
    fn allin_takes_every_value_and_years_compare_as_numbers() {
        let inst = json!({"resources": ["ACCOUNTS", "OWNERS", "TRANSACTIONS"]});
        assert!(q("resources__allin=ACCOUNTS,OWNERS").filters[0].matches(&inst));
        assert!(!q("resources__allin=ACCOUNTS,INVOICES").filters[0].matches(&inst));
        let ret = json!({"informacion_general": {"ejercicio": 2024}});
        let mut query = q("ejercicio__gte=2024&ejercicio__lt=2025");
        query.alias(&[("ejercicio", &["informacion_general", "ejercicio"])]);
        assert!(query.filters.iter().all(|f| f.matches(&ret)));
        let mut query = q("ejercicio=2023");
        query.alias(&[("ejercicio", &["informacion_general", "ejercicio"])]);
        assert!(!query.filters[0].matches(&ret));
    }

    #[test]
    fn date_range_matches_brute_force() {
        let as_of = NaiveDate::from_ymd_opt(2025, 6, 30).unwrap();
        for n in [5u64, 365, 1000] {
            for s in [
                "value_date__gte=2025-06-01",
                "value_date__gt=2025-06-01",
                "value_date__lte=2025-01-15",
                "value_date__lt=2025-01-15",
                "value_date=2025-03-03",
                "value_date__range=2025-02-01,2025-02-28",
                "value_date__gte=2026-01-01",
                "value_date__gte=2025-06-01T12:00:00Z",
                "value_date__lt=2025-01-15T00:00:00-05:00",
            ] {
                let query = q(s);
                let ((lo, hi), rest) = date_index_range(&query.filters, "value_date", as_of, n);
                assert!(rest.is_empty());
                for i in 0..n {
                    let d = date_of(as_of, i, n).format("%Y-%m-%d").to_string();
                    let want = query.filters[0].matches(&json!({ "value_date": d }));
                    assert_eq!(want, (lo..hi).contains(&i), "{s} n={n} i={i}");
                }
            }
        }
    }
}
