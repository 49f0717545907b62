//! Django-style list filters as Belvo accepts them (`field`, `field__gte`, `__range=a,b`,
//! `__in=a,b`, `__icontains`, nested `account__balance__current__lt`, ...) evaluated on JSON
//! objects, plus the index-range shortcut for date-ordered generated collections.

use chrono::NaiveDate;
use serde_json::Value;

/// Query parameters that are not field filters.
const RESERVED: &[&str] = &["page", "page_size", "fields", "omit", "link", "link__in"];

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
    IContains,
}

/// One filter: a field path and a comparison.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    pub path: Vec<String>,
    pub op: Op,
    pub values: Vec<String>,
}

impl Filter {
    fn parse(key: &str, value: &str) -> Filter {
        let mut parts: Vec<String> = key.split("__").map(str::to_owned).collect();
        let op = match parts.last().map(String::as_str) {
            Some("gt") => Op::Gt,
            Some("gte") => Op::Gte,
            Some("lt") => Op::Lt,
            Some("lte") => Op::Lte,
            Some("range") => Op::Range,
            Some("in") => Op::In,
            Some("not_in") => Op::NotIn,
            Some("icontains") => Op::IContains,
            _ => Op::Eq,
        };
        if op != Op::Eq && parts.len() > 1 {
            parts.pop();
        }
        let values = match op {
            Op::Range | Op::In | Op::NotIn => value.split(',').map(str::to_owned).collect(),
            _ => vec![value.to_owned()],
        };
        Filter {
            path: parts,
            op,
            values,
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
        self.compare(scalar(v))
    }

    /// Compares a resolved value (`None` for JSON null).
    pub(crate) fn compare(&self, actual: Option<String>) -> bool {
        let Some(actual) = actual else {
            return matches!(self.op, Op::NotIn) || (self.op == Op::Eq && self.values[0] == "null");
        };
        match self.op {
            Op::Eq => cmp(&actual, &self.values[0]) == Some(std::cmp::Ordering::Equal),
            Op::Gt => cmp(&actual, &self.values[0]) == Some(std::cmp::Ordering::Greater),
            Op::Gte => matches!(
                cmp(&actual, &self.values[0]),
                Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)
            ),
            Op::Lt => cmp(&actual, &self.values[0]) == Some(std::cmp::Ordering::Less),
            Op::Lte => matches!(
                cmp(&actual, &self.values[0]),
                Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
            ),
            Op::Range => {
                self.values.len() == 2
                    && matches!(
                        cmp(&actual, &self.values[0]),
                        Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)
                    )
                    && matches!(
                        cmp(&actual, &self.values[1]),
                        Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
                    )
            }
            Op::In => self
                .values
                .iter()
                .any(|x| cmp(&actual, x) == Some(std::cmp::Ordering::Equal)),
            Op::NotIn => !self
                .values
                .iter()
                .any(|x| cmp(&actual, x) == Some(std::cmp::Ordering::Equal)),
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

fn cmp(actual: &str, wanted: &str) -> Option<std::cmp::Ordering> {
    if let (Ok(a), Ok(b)) = (actual.parse::<f64>(), wanted.parse::<f64>()) {
        return a.partial_cmp(&b);
    }
    if wanted.eq_ignore_ascii_case("true") || wanted.eq_ignore_ascii_case("false") {
        return Some(actual.eq_ignore_ascii_case(wanted).cmp(&true).reverse());
    }
    // A date filter on a timestamp field compares the date part only.
    let a = if wanted.len() == 10 && actual.len() > 10 && actual.as_bytes()[10] == b'T' {
        &actual[..10]
    } else {
        actual
    };
    Some(a.to_lowercase().cmp(&wanted.to_lowercase()))
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
    pub(crate) fn parse(raw: Option<&str>) -> Query {
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
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
                _ => q.filters.push(Filter::parse(&k, &v)),
            }
        }
        q
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
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
        let dates: Option<Vec<NaiveDate>> = f
            .values
            .iter()
            .map(|s| NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").ok())
            .collect();
        let Some(dates) = dates else {
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

    #[test]
    fn filters_compare_numbers_dates_nested_and_lists() {
        let t = json!({"amount": 150.5, "value_date": "2024-03-10", "type": "INFLOW",
            "account": {"id": "a1", "balance": {"current": 10.0}}, "description": "OXXO CDMX"});
        let q = Query::parse(Some(
            "amount__gte=100&value_date__range=2024-03-01,2024-03-31&type__in=INFLOW,OUTFLOW&account=a1&account__balance__current__lt=11&description__icontains=oxxo",
        ));
        assert_eq!(q.filters.len(), 6);
        assert!(q.filters.iter().all(|f| f.matches(&t)));
        let q = Query::parse(Some("amount__lt=100"));
        assert!(!q.filters[0].matches(&t));
        let q = Query::parse(Some("link=x&link__in=y,z&page=2"));
        assert_eq!(
            q.links,
            Some(vec!["x".to_owned(), "y".to_owned(), "z".to_owned()])
        );
        assert!(q.filters.is_empty());
    }

    #[test]
    fn date_range_matches_brute_force() {
        let as_of = NaiveDate::from_ymd_opt(2025, 6, 30).unwrap();
        for n in [5u64, 365, 1000] {
            for q in [
                "value_date__gte=2025-06-01",
                "value_date__gt=2025-06-01",
                "value_date__lte=2025-01-15",
                "value_date__lt=2025-01-15",
                "value_date=2025-03-03",
                "value_date__range=2025-02-01,2025-02-28",
                "value_date__gte=2026-01-01",
            ] {
                let query = Query::parse(Some(q));
                let ((lo, hi), rest) = date_index_range(&query.filters, "value_date", as_of, n);
                assert!(rest.is_empty());
                for i in 0..n {
                    let d = date_of(as_of, i, n).format("%Y-%m-%d").to_string();
                    let want = query.filters[0].matches(&json!({ "value_date": d }));
                    assert_eq!(want, (lo..hi).contains(&i), "{q} n={n} i={i}");
                }
            }
        }
    }
}
