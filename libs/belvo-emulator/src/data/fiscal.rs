//! Mexican fiscal data (SAT): CFDI invoices at any scale, tax returns in Belvo's four shapes
//! (personal or business, by the RFC's length; yearly and monthly), tax status (constancia de
//! situación fiscal), tax compliance status (opinión de cumplimiento) and retentions (received
//! and sent invoices).

use serde_json::{Value, json};

use super::{LinkCtx, Profile, Resource, date_of, money, object_id, pick, set};
use crate::ids::{mix, mix2};

pub(super) fn len(ctx: &LinkCtx, res: Resource) -> u64 {
    match (ctx.profile, res) {
        (Profile::NoData, _) => 0,
        (Profile::Low, Resource::Invoices) => 3,
        (_, Resource::Invoices) => ctx.scale.invoices,
        (_, Resource::TaxReturns) => {
            let (yearly, monthly) = tax_return_counts(ctx);
            yearly + monthly
        }
        (_, Resource::TaxStatus | Resource::TaxComplianceStatus) => 1,
        (Profile::Low, Resource::TaxRetentions) => 2,
        (_, Resource::TaxRetentions) => 6,
        _ => 0,
    }
}

pub(super) fn item(ctx: &LinkCtx, res: Resource, i: u64) -> Value {
    match res {
        Resource::Invoices => invoice(ctx, i),
        Resource::TaxReturns => tax_return(ctx, i),
        Resource::TaxStatus => tax_status(ctx, i),
        Resource::TaxComplianceStatus => compliance(ctx, i),
        Resource::TaxRetentions => retention(ctx, i),
        _ => Value::Null,
    }
}

/// The link's taxpayer RFC: the username when it looks like one, else derived from the seed.
pub(crate) fn rfc(ctx: &LinkCtx) -> String {
    let u = ctx.username.to_uppercase();
    if (12..=13).contains(&u.len()) && u.chars().all(|c| c.is_ascii_alphanumeric()) {
        u
    } else {
        let (first, last, second) = super::banking::person(ctx.seed);
        format!(
            "{}{}{}{:06}A1{}",
            super::banking::initials(&last, 2),
            super::banking::initials(&second, 1),
            super::banking::initials(&first, 1),
            ctx.seed % 1_000_000,
            ctx.seed % 10
        )
    }
}

/// The taxpayer's name: a person's full name, or a company's for a 12-character RFC.
fn taxpayer_name(ctx: &LinkCtx) -> String {
    let (first, last, second) = super::banking::person(ctx.seed);
    if is_business(ctx) {
        format!(
            "COMERCIALIZADORA {} {} SA DE CV",
            super::banking::ascii(&last),
            super::banking::ascii(&second)
        )
        .to_uppercase()
    } else {
        format!("{} {} {}", first, last, second).to_uppercase()
    }
}

const COUNTERPARTIES: &[(&str, &str)] = &[
    ("ACME CORP SA DE CV", "ACM010101AB1"),
    ("COMERCIALIZADORA DEL BAJIO SA DE CV", "CBA980303XY2"),
    ("SERVICIOS INTEGRALES DEL NORTE SC", "SIN150505QW3"),
    ("TIENDAS DEPARTAMENTALES MX SA DE CV", "TDM070707ER4"),
    ("CONSULTORIA DIGITAL LATAM SAPI DE CV", "CDL181010TY5"),
];

const PRODUCTS: &[(&str, &str, &str)] = &[
    ("Servicios de consultoría contable", "84111500", "E48"),
    ("Desarrollo de software a la medida", "81111500", "E48"),
    ("Papelería y artículos de oficina", "44121600", "H87"),
    ("Renta de equipo de cómputo", "80161800", "E48"),
    ("Mantenimiento de instalaciones", "72101500", "E48"),
];

fn invoice(ctx: &LinkCtx, i: u64) -> Value {
    let n = len(ctx, Resource::Invoices);
    let r = mix2(ctx.seed ^ 0x696e_7663, i);
    let date = date_of(ctx.as_of, i, n).format("%Y-%m-%d").to_string();
    let outflow = r.is_multiple_of(3);
    let kind_r = (r >> 8) % 20;
    let invoice_type = match kind_r {
        0..=13 => "Ingreso",
        14..=15 => "Egreso",
        16..=17 => "Pago",
        _ => "Nómina",
    };
    let cancelled = (r >> 16).is_multiple_of(25);
    let (cp_name, cp_rfc) = *pick(COUNTERPARTIES, r >> 20);
    let (me_name, me_rfc) = (taxpayer_name(ctx), rfc(ctx));
    let (sender, receiver) = if outflow {
        ((cp_name.to_owned(), cp_rfc.to_owned()), (me_name, me_rfc))
    } else {
        ((me_name, me_rfc), (cp_name.to_owned(), cp_rfc.to_owned()))
    };
    let (desc, product, unit) = *pick(PRODUCTS, r >> 28);
    let qty = 1 + (r >> 32) % 10;
    let unit_cents = 10_000 + (r >> 36) % 2_000_000;
    let subtotal = money(qty * unit_cents);
    let tax = ((subtotal * 0.16) * 100.0).round() / 100.0;
    let total = ((subtotal + tax) * 100.0).round() / 100.0;
    let created = ctx.created();
    let uuid_up = object_id(&ctx.id, Resource::Invoices, i)
        .to_string()
        .to_uppercase();
    let mut v = super::template("InvoiceWithIdSat");
    set(
        &mut v,
        "id",
        json!(object_id(&ctx.id, Resource::Invoices, i)),
    );
    set(&mut v, "link", json!(ctx.id));
    set(&mut v, "collected_at", json!(created));
    set(&mut v, "created_at", json!(created));
    set(&mut v, "invoice_identification", json!(uuid_up));
    set(&mut v, "invoice_date", json!(date));
    set(&mut v, "certification_date", json!(date));
    set(
        &mut v,
        "status",
        json!(if cancelled { "Cancelado" } else { "Vigente" }),
    );
    set(
        &mut v,
        "cancelation_status",
        if cancelled {
            json!("Cancelado sin aceptación")
        } else {
            Value::Null
        },
    );
    set(
        &mut v,
        "cancelation_update_date",
        if cancelled { json!(date) } else { Value::Null },
    );
    set(&mut v, "invoice_type", json!(invoice_type));
    set(
        &mut v,
        "type",
        json!(if outflow { "OUTFLOW" } else { "INFLOW" }),
    );
    set(&mut v, "sender_name", json!(sender.0));
    set(&mut v, "sender_id", json!(sender.1));
    set(&mut v, "receiver_name", json!(receiver.0));
    set(&mut v, "receiver_id", json!(receiver.1));
    set(&mut v, "currency", json!("MXN"));
    set(&mut v, "exchange_rate", json!(1.0));
    set(&mut v, "subtotal_amount", json!(subtotal));
    set(&mut v, "tax_amount", json!(tax));
    set(&mut v, "discount_amount", json!(0.0));
    set(&mut v, "total_amount", json!(total));
    set(&mut v, "folio", json!(format!("{}", 1000 + i)));
    set(
        &mut v,
        "payment_method",
        json!(if invoice_type == "Pago" { "PPD" } else { "PUE" }),
    );
    set(&mut v, "xml", Value::Null);
    let detail = json!({
        "collected_at": created,
        "description": desc,
        "product_identification": product,
        "quantity": qty,
        "unit_code": unit,
        "unit_description": if unit == "H87" { "Pieza" } else { "Unidad de servicio" },
        "unit_amount": money(unit_cents),
        "discount": 0.0,
        "tax_subject_code": "02",
        "identifier_number": format!("PROD-{:05}", (r >> 40) % 100_000),
        "pre_tax_amount": subtotal,
        "tax_percentage": 16.0,
        "tax_amount": tax,
        "total_amount": total,
        "retained_taxes": [],
        "transferred_taxes": [{"collected_at": created, "tax": "IVA", "tax_percentage": 16.0,
                                "tax_type": "Tasa", "transferred_tax_amount": tax}],
    });
    set(&mut v, "invoice_details", json!([detail]));
    if invoice_type != "Nómina" {
        set(&mut v, "payroll", Value::Null);
    }
    if invoice_type != "Pago" {
        set(&mut v, "payments", json!([]));
    }
    set(&mut v, "related_invoices", json!([]));
    v
}

/// Spanish month names, as SAT writes a monthly return's `periodo_declaracion`.
pub(crate) const MESES: [&str; 12] = [
    "Enero",
    "Febrero",
    "Marzo",
    "Abril",
    "Mayo",
    "Junio",
    "Julio",
    "Agosto",
    "Septiembre",
    "Octubre",
    "Noviembre",
    "Diciembre",
];

/// Yearly and monthly tax returns of the link: the last full years, then the last months.
pub(crate) fn tax_return_counts(ctx: &LinkCtx) -> (u64, u64) {
    match ctx.profile {
        Profile::NoData => (0, 0),
        Profile::Low => (1, 3),
        Profile::Full | Profile::Negative => (3, 12),
    }
}

/// A persona moral (company): SAT gives companies 12-character RFCs and people 13.
pub(crate) fn is_business(ctx: &LinkCtx) -> bool {
    rfc(ctx).chars().count() == 12
}

/// `(year, month)` of monthly return `j` (0 = the month before `as_of`'s).
fn month_of(ctx: &LinkCtx, j: u64) -> (i32, u32) {
    use chrono::Datelike;
    let months = ctx.as_of.year() * 12 + ctx.as_of.month0() as i32 - 1 - j as i32;
    (months.div_euclid(12), months.rem_euclid(12) as u32 + 1)
}

fn tax_return(ctx: &LinkCtx, i: u64) -> Value {
    let (yearly, _) = tax_return_counts(ctx);
    let r = mix2(ctx.seed, 7000 + i);
    let business = is_business(ctx);
    let (mut v, year, periodo, filed) = if i < yearly {
        use chrono::Datelike;
        let year = ctx.as_of.year() - 1 - i as i32;
        let template = if business {
            "example.TaxReturnBusiness"
        } else {
            "example.TaxReturnPersonal"
        };
        let filed = format!(
            "{}-03-{:02}T{:02}:{:02}:00-06:00",
            year + 1,
            10 + r % 18,
            9 + r % 9,
            r % 60
        );
        (
            super::template(template),
            year,
            "Del Ejercicio".to_owned(),
            filed,
        )
    } else {
        let (year, month) = month_of(ctx, i - yearly);
        let template = if business {
            "example.TaxReturnBusinessMonthly"
        } else {
            "example.TaxReturnPersonalMonthly"
        };
        let (fy, fm) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        let filed = format!(
            "{fy}-{fm:02}-{:02}T{:02}:{:02}:00-06:00",
            10 + r % 7,
            9 + r % 9,
            r % 60
        );
        let mut v = super::template(template);
        set(&mut v, "type", json!("monthly"));
        (v, year, MESES[(month - 1) as usize].to_owned(), filed)
    };
    set(
        &mut v,
        "id",
        json!(object_id(&ctx.id, Resource::TaxReturns, i)),
    );
    set(&mut v, "link", json!(ctx.id));
    set(&mut v, "collected_at", json!(ctx.created()));
    set(&mut v, "created_at", json!(ctx.created()));
    let mut info = json!({"ejercicio": year, "rfc": rfc(ctx), "tipo_declaracion": "Normal",
        "periodo_declaracion": periodo, "fecha_hora_presentacion": filed,
        "numero_operacion": format!("{:011}", r % 100_000_000_000)});
    if business {
        set(
            &mut info,
            "denominacion_razon_social",
            json!(taxpayer_name(ctx)),
        );
        set(&mut info, "tipo_complementaria", Value::Null);
    } else {
        set(&mut info, "nombre", json!(taxpayer_name(ctx)));
    }
    set(&mut v, "informacion_general", info);
    // A few amounts per link and period (the rest keeps the spec's example figures).
    let income = (35_000_000 + r % 40_000_000) / 100;
    let isr = income * 18 / 100;
    if let Some(s) = v.get_mut("sueldos_salarios") {
        set(s, "ingreso_anual", json!(income));
        set(s, "ingresos_acumulables", json!(income));
        set(s, "impuesto_retenido", json!(isr));
    }
    if let Some(d) = v.pointer_mut("/isr/determinacion") {
        set(d, "ingresos_periodo", json!(income / 12));
        set(d, "total_ingresos", json!(income / 12));
    }
    set(&mut v, "pdf", Value::Null);
    set(&mut v, "receipt_pdf", Value::Null);
    v
}

fn tax_status(ctx: &LinkCtx, i: u64) -> Value {
    let mut v = super::template("TaxStatusSat");
    set(
        &mut v,
        "id",
        json!(object_id(&ctx.id, Resource::TaxStatus, i)),
    );
    set(&mut v, "link", json!(ctx.id));
    set(&mut v, "collected_at", json!(ctx.created()));
    set(&mut v, "created_at", json!(ctx.created()));
    set(&mut v, "official_name", json!(taxpayer_name(ctx)));
    set(&mut v, "pdf", Value::Null);
    if let Some(info) = v.get_mut("tax_payer_information") {
        set(info, "rfc", json!(rfc(ctx)));
    }
    v
}

fn compliance(ctx: &LinkCtx, i: u64) -> Value {
    let mut v = super::template("TaxComplianceStatus");
    set(
        &mut v,
        "id",
        json!(object_id(&ctx.id, Resource::TaxComplianceStatus, i)),
    );
    set(&mut v, "collected_at", json!(ctx.created()));
    set(&mut v, "created_at", json!(ctx.created()));
    set(&mut v, "rfc", json!(rfc(ctx)));
    set(
        &mut v,
        "outcome",
        json!(if ctx.profile == Profile::Negative {
            "NEGATIVE"
        } else {
            "POSITIVE"
        }),
    );
    set(&mut v, "pdf", Value::Null);
    v
}

/// Whether retention `i` is `INFLOW` (for an invoice the taxpayer received: the counterparty
/// retained) or `OUTFLOW` (for an invoice the taxpayer sent), from the taxpayer's side.
pub(crate) fn retention_is_inflow(i: u64) -> bool {
    i.is_multiple_of(2)
}

fn retention(ctx: &LinkCtx, i: u64) -> Value {
    let r = mix(ctx.seed ^ (9000 + i));
    let (cp_name, cp_rfc) = *pick(COUNTERPARTIES, r);
    let date = ctx.as_of - chrono::Duration::days(30 * (i as i64 + 1) - (r % 20) as i64);
    let total = money(1_000_000 + r % 5_000_000);
    let mut v = super::template("TaxRetentions");
    set(
        &mut v,
        "id",
        json!(object_id(&ctx.id, Resource::TaxRetentions, i)),
    );
    set(&mut v, "link", json!(ctx.id));
    set(&mut v, "collected_at", json!(ctx.created()));
    set(&mut v, "created_at", json!(ctx.created()));
    set(
        &mut v,
        "invoice_identification",
        json!(object_id(&ctx.id, Resource::TaxRetentions, i + 1000)),
    );
    let ts = format!("{}T12:00:00.000Z", date.format("%Y-%m-%d"));
    set(&mut v, "issued_at", json!(ts));
    set(&mut v, "certified_at", json!(ts));
    let (me_name, me_rfc) = (taxpayer_name(ctx), rfc(ctx));
    let ((sender_name, sender_id), (receiver_name, receiver_id)) = if retention_is_inflow(i) {
        ((cp_name.to_owned(), cp_rfc.to_owned()), (me_name, me_rfc))
    } else {
        ((me_name, me_rfc), (cp_name.to_owned(), cp_rfc.to_owned()))
    };
    set(&mut v, "sender_name", json!(sender_name));
    set(&mut v, "sender_id", json!(sender_id));
    set(&mut v, "receiver_name", json!(receiver_name));
    set(&mut v, "receiver_id", json!(receiver_id));
    set(&mut v, "total_invoice_amount", json!(total));
    set(&mut v, "total_taxable_amount", json!(total));
    set(&mut v, "total_exempt_amount", json!(0.0));
    set(
        &mut v,
        "total_retained_amount",
        json!(((total * 0.1) * 100.0).round() / 100.0),
    );
    set(&mut v, "xml", Value::Null);
    v
}
