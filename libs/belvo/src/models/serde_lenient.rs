//! Lenient text, date and timestamp fields.
//!
//! Belvo reserves the right to send 3 to 6 fractional digits with `Z` or `+00:00`, and the two
//! API generations disagree on whether some fields are dates or timestamps. These accept every
//! such form; a value that is not a date at all decodes as `None` rather than failing the whole
//! page (callers that need it keep the raw JSON).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// A Belvo timestamp in any of the forms above (RFC 3339, naive, or a date at midnight UTC).
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(t.and_utc());
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    // A timestamp's date part is the date (Belvo's timestamps are UTC).
    let head = s.get(..10).unwrap_or(s);
    NaiveDate::parse_from_str(head, "%Y-%m-%d").ok()
}

/// `Option<DateTime<Utc>>` from an RFC 3339 timestamp, a naive timestamp or a date.
pub mod timestamp {
    use super::*;

    /// Deserializes leniently; see the module docs.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let raw = Option::<std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(raw.as_deref().and_then(parse_timestamp))
    }

    /// Serializes as RFC 3339 with microseconds and `Z`, as Belvo does.
    pub fn serialize<S: Serializer>(v: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(t) => s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
            None => s.serialize_none(),
        }
    }
}

/// `Option<NaiveDate>` from `YYYY-MM-DD` or a timestamp.
pub mod date {
    use super::*;

    /// Deserializes leniently; see the module docs.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
        let raw = Option::<std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(raw.as_deref().and_then(parse_date))
    }

    /// Serializes as `YYYY-MM-DD`.
    pub fn serialize<S: Serializer>(v: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => s.serialize_str(&d.format("%Y-%m-%d").to_string()),
            None => s.serialize_none(),
        }
    }
}

/// `Option<String>` from a string, or from a number or boolean written as text (Belvo's
/// examples send `"reference": 89608418` where the schema says string).
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(serde_json::Value::Bool(b)) => Some(b.to_string()),
        Some(other) => {
            return Err(serde::de::Error::custom(format!(
                "expected text, got {other}"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_every_documented_form() {
        let expected = "2022-02-09T08:45:50.406032Z";
        for s in [
            "2022-02-09T08:45:50.406032Z",
            "2022-02-09T08:45:50.406032+00:00",
            "2022-02-09T08:45:50.406032",
        ] {
            let t = parse_timestamp(s).unwrap();
            assert_eq!(
                t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                expected,
                "{s}"
            );
        }
        let millis = parse_timestamp("2019-09-27T13:01:41.941Z").unwrap();
        assert_eq!(millis.timestamp_subsec_millis(), 941);
        assert_eq!(
            parse_timestamp("2023-01-03").unwrap().to_rfc3339(),
            "2023-01-03T00:00:00+00:00"
        );
        assert_eq!(parse_timestamp("not a date"), None);
    }

    #[test]
    fn dates_from_dates_or_timestamps() {
        let d = NaiveDate::from_ymd_opt(2019, 10, 23).unwrap();
        assert_eq!(parse_date("2019-10-23"), Some(d));
        assert_eq!(parse_date("2019-10-23T13:01:41.941Z"), Some(d));
        assert_eq!(parse_date("23/10/2019"), None);
    }
}
