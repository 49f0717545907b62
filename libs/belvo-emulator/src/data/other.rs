//! Mexican employment data (IMSS): one employment-record profile per link, in Belvo's shape.

use serde_json::{Value, json};

use super::{LinkCtx, Profile, Resource, money, object_id, set};
use crate::ids::mix2;

pub(super) fn len(ctx: &LinkCtx, res: Resource) -> u64 {
    match (ctx.profile, res) {
        (Profile::NoData, _) => 0,
        (_, Resource::EmploymentRecords) => 1,
        _ => 0,
    }
}

/// The link's CURP: the username when it looks like one.
fn curp(ctx: &LinkCtx) -> String {
    let u = ctx.username.to_uppercase();
    if u.len() == 18 && u.chars().all(|c| c.is_ascii_alphanumeric()) {
        u
    } else {
        format!("BLPM9513{:02}HDFNVR{:02}", ctx.seed % 28 + 1, ctx.seed % 97)
    }
}

pub(super) fn item(ctx: &LinkCtx, res: Resource, i: u64) -> Value {
    if res != Resource::EmploymentRecords {
        return Value::Null;
    }
    let template = super::template("example.imss");
    let mut v = template.get(0).cloned().unwrap_or(Value::Null);
    let (first, last, second) = super::banking::person(ctx.seed);
    let created = ctx.created();
    let r = mix2(ctx.seed, 4242);
    let salary = money(40_000 + r % 150_000);
    set(
        &mut v,
        "id",
        json!(object_id(&ctx.id, Resource::EmploymentRecords, i)),
    );
    set(&mut v, "link", json!(ctx.id));
    set(&mut v, "collected_at", json!(created));
    set(&mut v, "created_at", json!(created));
    set(
        &mut v,
        "report_date",
        json!(ctx.as_of.format("%Y-%m-%d").to_string()),
    );
    set(&mut v, "internal_identification", json!(curp(ctx)));
    if let Some(p) = v.get_mut("personal_data") {
        set(
            p,
            "official_name",
            json!(format!("{first} {last} {second}").to_uppercase()),
        );
        set(p, "first_name", json!(first));
        set(p, "last_name", json!(format!("{last} {second}")));
        set(
            p,
            "email",
            json!(format!(
                "{}.{}@example.mx",
                super::banking::ascii(&first),
                super::banking::ascii(&last)
            )),
        );
        set(
            p,
            "document_ids",
            json!([{"document_type": "NSS", "document_number": format!("{:011}", r % 100_000_000_000)},
                   {"document_type": "CURP", "document_number": curp(ctx)}]),
        );
    }
    if let Some(Value::Array(records)) = v.get_mut("employment_records") {
        for rec in records.iter_mut() {
            set(rec, "collected_at", json!(created));
            set(rec, "most_recent_base_salary", json!(salary));
            set(
                rec,
                "monthly_salary",
                json!(((salary * 30.4) * 100.0).round() / 100.0),
            );
        }
    }
    if let Some(Value::Array(files)) = v.get_mut("files") {
        files.clear();
    }
    v
}
