//! Mexican retail banking in Belvo's legacy multi-region shapes: accounts of several categories,
//! transactions with Belvo's categories, merchants and statuses, daily balances, owners, and
//! the enrichment objects (incomes, recurring expenses, risk insights).

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::{LinkCtx, Profile, Resource, WriteCache, date_of, money, object_id, pick, set};
use crate::ids::{mix, mix2};

struct AccountSpec {
    category: &'static str,
    balance_type: &'static str,
    label: &'static str,
    name: &'static str,
}

const ACCOUNTS: [AccountSpec; 4] = [
    AccountSpec {
        category: "CHECKING_ACCOUNT",
        balance_type: "ASSET",
        label: "Cuentas de efectivo",
        name: "Cuenta Perfiles- M.N. - MXN",
    },
    AccountSpec {
        category: "CREDIT_CARD",
        balance_type: "LIABILITY",
        label: "Tarjetas de crédito",
        name: "Tarjeta Oro Clásica",
    },
    AccountSpec {
        category: "SAVINGS_ACCOUNT",
        balance_type: "ASSET",
        label: "Ahorro",
        name: "Cuenta de Ahorro Plus",
    },
    AccountSpec {
        category: "LOAN_ACCOUNT",
        balance_type: "LIABILITY",
        label: "Créditos",
        name: "Crédito Automotriz",
    },
];

/// Accounts of the link (the loan account has no transactions).
fn account_count(ctx: &LinkCtx) -> u64 {
    match ctx.profile {
        Profile::NoData => 0,
        Profile::Low => 1,
        Profile::Full | Profile::Negative => 4,
    }
}

fn txn_account_count(ctx: &LinkCtx) -> u64 {
    account_count(ctx).min(3)
}

pub(super) fn len(ctx: &LinkCtx, res: Resource) -> u64 {
    let accts = account_count(ctx);
    if accts == 0 {
        return 0;
    }
    match res {
        Resource::Accounts => accts,
        Resource::Transactions => match ctx.profile {
            Profile::Low => 6,
            _ => ctx.scale.transactions,
        },
        Resource::Balances => txn_account_count(ctx) * BALANCE_DAYS,
        Resource::Owners | Resource::Incomes | Resource::RiskInsights => 1,
        Resource::RecurringExpenses => match ctx.profile {
            Profile::Low => 1,
            _ => 3,
        },
        _ => 0,
    }
}

const BALANCE_DAYS: u64 = 30;

pub(super) fn item(ctx: &LinkCtx, res: Resource, i: u64) -> Value {
    match res {
        Resource::Accounts => account(ctx, i),
        Resource::Transactions => {
            let mut cache = WriteCache::default();
            let mut out = Vec::new();
            match write_transaction(ctx, i, &mut cache, &mut out) {
                Ok(()) => serde_json::from_slice(&out).unwrap_or(Value::Null),
                Err(_) => Value::Null,
            }
        }
        Resource::Balances => balance(ctx, i),
        Resource::Owners => owner(ctx, i),
        Resource::Incomes => income(ctx, i),
        Resource::RecurringExpenses => recurring(ctx, i),
        Resource::RiskInsights => risk(ctx, i),
        _ => Value::Null,
    }
}

fn base_balance(ctx: &LinkCtx, k: u64) -> (f64, f64) {
    let r = mix2(ctx.seed, 1000 + k);
    let current = money(500_000 + r % 9_000_000);
    let sign = if ctx.profile == Profile::Negative && k != 1 {
        -1.0
    } else {
        1.0
    };
    match k {
        1 => (money(r % 4_500_000), money(10_000_000 - r % 4_500_000)),
        3 => (money(18_000_000 + r % 9_000_000), 0.0),
        _ => (sign * current, sign * (current - money(r % 20_000))),
    }
}

fn account(ctx: &LinkCtx, k: u64) -> Value {
    let spec = &ACCOUNTS[(k as usize).min(ACCOUNTS.len() - 1)];
    let r = mix2(ctx.seed, k);
    let created = ctx.created();
    let (current, available) = base_balance(ctx, k);
    let mut v = super::template("legacy.Account");
    let number = format!("{:013}", r % 10_000_000_000_000);
    let clabe = format!("{:018}", mix(r) % 1_000_000_000_000_000_000);
    set(
        &mut v,
        "id",
        json!(object_id(&ctx.id, Resource::Accounts, k)),
    );
    set(&mut v, "link", json!(ctx.id));
    set(
        &mut v,
        "institution",
        json!({"name": ctx.institution.name, "type": "bank"}),
    );
    set(&mut v, "collected_at", json!(created));
    set(&mut v, "created_at", json!(created));
    set(&mut v, "last_accessed_at", json!(created));
    set(&mut v, "category", json!(spec.category));
    set(&mut v, "balance_type", json!(spec.balance_type));
    set(&mut v, "type", json!(spec.label));
    set(
        &mut v,
        "name",
        json!(format!("{}-{}", spec.name, &number[number.len() - 3..])),
    );
    set(&mut v, "number", json!(number));
    set(
        &mut v,
        "balance",
        json!({"current": current, "available": available}),
    );
    set(&mut v, "currency", json!(ctx.currency()));
    set(&mut v, "public_identification_name", json!("CLABE"));
    set(&mut v, "public_identification_value", json!(clabe));
    set(&mut v, "internal_identification", json!(format!("{:x}", r)));
    set(&mut v, "bank_product_id", json!(format!("{}", 100 + k)));
    set(&mut v, "funds_data", Value::Null);
    set(&mut v, "receivables_data", Value::Null);
    let as_of = ctx.as_of;
    if spec.category == "CREDIT_CARD" {
        let cut = as_of - chrono::Duration::days(((r >> 8) % 28) as i64);
        set(
            &mut v,
            "credit_data",
            json!({
                "collected_at": created,
                "credit_limit": 100_000.0,
                "cutting_date": cut.format("%Y-%m-%d").to_string(),
                "next_payment_date": (cut + chrono::Duration::days(20)).format("%Y-%m-%d").to_string(),
                "minimum_payment": money(150_000 + r % 100_000),
                "no_interest_payment": money(1_500_000 + r % 1_000_000),
                "interest_rate": 42.5,
                "monthly_payment": null,
                "last_payment_date": (cut - chrono::Duration::days(10)).format("%Y-%m-%d").to_string(),
                "end_date": null,
            }),
        );
    } else {
        set(&mut v, "credit_data", Value::Null);
    }
    if spec.category == "LOAN_ACCOUNT" {
        let mut loan = v.get("loan_data").cloned().unwrap_or(Value::Null);
        set(&mut loan, "collected_at", json!(created));
        set(&mut loan, "loan_type", json!("Automotriz"));
        set(&mut loan, "contract_amount", json!(320_000.0));
        set(&mut loan, "outstanding_principal", json!(current));
        set(&mut loan, "outstanding_balance", json!(current));
        set(&mut loan, "monthly_payment", json!(8_450.0));
        set(&mut v, "loan_data", loan);
    } else {
        set(&mut v, "loan_data", Value::Null);
    }
    v
}

/// A transaction pattern: what a real Mexican bank statement line looks like.
struct Pattern {
    weight: u64,
    category: &'static str,
    subcategory: Option<&'static str>,
    inflow: bool,
    descriptions: &'static [&'static str],
    merchant: Option<(&'static str, &'static str)>,
    min_cents: u64,
    max_cents: u64,
}

const PATTERNS: &[Pattern] = &[
    Pattern {
        weight: 6,
        category: "Income & Payments",
        subcategory: Some("Salary"),
        inflow: true,
        descriptions: &[
            "SPEI RECIBIDO NOMINA ACME SA DE CV",
            "DEPOSITO NOMINA GRUPO BIMBO",
        ],
        merchant: None,
        min_cents: 1_200_000,
        max_cents: 3_800_000,
    },
    Pattern {
        weight: 3,
        category: "Income & Payments",
        subcategory: Some("Freelance"),
        inflow: true,
        descriptions: &["DEPOSITO HONORARIOS RFC:XAXX010101000"],
        merchant: None,
        min_cents: 200_000,
        max_cents: 900_000,
    },
    Pattern {
        weight: 12,
        category: "Food & Groceries",
        subcategory: Some("Groceries"),
        inflow: false,
        descriptions: &[
            "WALMART SUPERCENTER",
            "SORIANA HIPER",
            "CHEDRAUI SUC",
            "LA COMER",
        ],
        merchant: Some(("Walmart", "https://www.walmart.com.mx")),
        min_cents: 15_000,
        max_cents: 250_000,
    },
    Pattern {
        weight: 12,
        category: "Food & Groceries",
        subcategory: Some("Convenience Store"),
        inflow: false,
        descriptions: &["OXXO CDMX", "OXXO GUADALAJARA", "7 ELEVEN MEXICO"],
        merchant: Some(("OXXO", "https://www.oxxo.com")),
        min_cents: 2_000,
        max_cents: 30_000,
    },
    Pattern {
        weight: 9,
        category: "Food & Groceries",
        subcategory: Some("Restaurants"),
        inflow: false,
        descriptions: &[
            "TAQUERIA EL GUERO",
            "SANBORNS CAFE",
            "STARBUCKS REFORMA",
            "RAPPI*RESTAURANTE",
        ],
        merchant: Some(("Sanborns", "https://www.sanborns.com.mx")),
        min_cents: 12_000,
        max_cents: 90_000,
    },
    Pattern {
        weight: 8,
        category: "Transport & Travel",
        subcategory: Some("Taxis & Rideshares"),
        inflow: false,
        descriptions: &["UBER *TRIP", "DIDI MOBILITY", "CABIFY MX"],
        merchant: Some(("Uber", "https://www.uber.com")),
        min_cents: 6_000,
        max_cents: 35_000,
    },
    Pattern {
        weight: 5,
        category: "Transport & Travel",
        subcategory: Some("Gas"),
        inflow: false,
        descriptions: &["PEMEX GASOLINERA", "GAS BIENESTAR", "SHELL INSURGENTES"],
        merchant: Some(("Pemex", "https://www.pemex.com")),
        min_cents: 40_000,
        max_cents: 120_000,
    },
    Pattern {
        weight: 3,
        category: "Bills & Utilities",
        subcategory: Some("Electricity & Energy"),
        inflow: false,
        descriptions: &["PAGO CFE SUMINISTRADOR"],
        merchant: Some(("CFE", "https://www.cfe.mx")),
        min_cents: 30_000,
        max_cents: 180_000,
    },
    Pattern {
        weight: 3,
        category: "Bills & Utilities",
        subcategory: Some("Telecommunications"),
        inflow: false,
        descriptions: &["TELMEX PAGO SERVICIO", "TELCEL RECARGA", "IZZI TELECOM"],
        merchant: Some(("Telmex", "https://telmex.com")),
        min_cents: 10_000,
        max_cents: 80_000,
    },
    Pattern {
        weight: 3,
        category: "Online Platforms & Leisure",
        subcategory: Some("Movie & Audio"),
        inflow: false,
        descriptions: &["NETFLIX.COM", "SPOTIFY MEXICO", "DISNEY PLUS"],
        merchant: Some(("Netflix", "https://www.netflix.com")),
        min_cents: 11_500,
        max_cents: 29_900,
    },
    Pattern {
        weight: 6,
        category: "Personal Shopping",
        subcategory: Some("E-commerce"),
        inflow: false,
        descriptions: &[
            "MERCADOPAGO*MERCADOLIBRE",
            "AMAZON MX MARKETPLACE",
            "LIVERPOOL ONLINE",
        ],
        merchant: Some(("Mercado Libre", "https://www.mercadolibre.com.mx")),
        min_cents: 20_000,
        max_cents: 400_000,
    },
    Pattern {
        weight: 4,
        category: "Withdrawal & ATM",
        subcategory: None,
        inflow: false,
        descriptions: &["RETIRO CAJERO AUTOMATICO", "DISPOSICION EFECTIVO ATM"],
        merchant: None,
        min_cents: 50_000,
        max_cents: 300_000,
    },
    Pattern {
        weight: 2,
        category: "Fees & Charges",
        subcategory: Some("Bank Fees"),
        inflow: false,
        descriptions: &["COMISION MANEJO DE CUENTA", "IVA COMISION"],
        merchant: None,
        min_cents: 1_600,
        max_cents: 20_000,
    },
    Pattern {
        weight: 6,
        category: "Transfers",
        subcategory: None,
        inflow: false,
        descriptions: &["SPEI ENVIADO A MARIA LOPEZ", "TRANSFERENCIA A TERCEROS"],
        merchant: None,
        min_cents: 30_000,
        max_cents: 500_000,
    },
    Pattern {
        weight: 5,
        category: "Transfers",
        subcategory: None,
        inflow: true,
        descriptions: &["SPEI RECIBIDO DE JUAN PEREZ", "TRANSFERENCIA RECIBIDA"],
        merchant: None,
        min_cents: 30_000,
        max_cents: 500_000,
    },
    Pattern {
        weight: 3,
        category: "Home & Life",
        subcategory: Some("Pharmacies"),
        inflow: false,
        descriptions: &["FARMACIAS GUADALAJARA", "FARMACIA SAN PABLO"],
        merchant: Some((
            "Farmacias Guadalajara",
            "https://www.farmaciasguadalajara.com",
        )),
        min_cents: 8_000,
        max_cents: 90_000,
    },
    Pattern {
        weight: 1,
        category: "Insurance",
        subcategory: Some("Auto Insurance"),
        inflow: false,
        descriptions: &["GNP SEGUROS CARGO RECURRENTE", "QUALITAS POLIZA"],
        merchant: Some(("GNP Seguros", "https://www.gnp.com.mx")),
        min_cents: 80_000,
        max_cents: 250_000,
    },
    Pattern {
        weight: 2,
        category: "Credits & Loans",
        subcategory: Some("Instalment"),
        inflow: false,
        descriptions: &["PAGO CREDITO AUTOMOTRIZ", "ABONO PRESTAMO PERSONAL"],
        merchant: None,
        min_cents: 300_000,
        max_cents: 900_000,
    },
    Pattern {
        weight: 1,
        category: "Taxes",
        subcategory: Some("Income Tax"),
        inflow: false,
        descriptions: &["SAT PAGO REFERENCIADO"],
        merchant: Some(("SAT", "https://www.sat.gob.mx")),
        min_cents: 50_000,
        max_cents: 600_000,
    },
    Pattern {
        weight: 2,
        category: "Investments & Savings",
        subcategory: Some("Savings"),
        inflow: false,
        descriptions: &["APARTADO AHORRO PROGRAMADO", "CETESDIRECTO INVERSION"],
        merchant: None,
        min_cents: 50_000,
        max_cents: 500_000,
    },
    Pattern {
        weight: 1,
        category: "Unknown",
        subcategory: None,
        inflow: false,
        descriptions: &["CARGO VARIOS", "MOVIMIENTO SIN DESCRIPCION"],
        merchant: None,
        min_cents: 1_000,
        max_cents: 50_000,
    },
];

fn total_weight() -> u64 {
    PATTERNS.iter().map(|p| p.weight).sum()
}

/// The few numbers every other field of transaction `i` follows from.
struct Core {
    r: u64,
    account: u64,
    pattern: &'static Pattern,
    inflow: bool,
    cents: u64,
}

fn core(ctx: &LinkCtx, i: u64, total_weight: u64) -> Core {
    let r = mix2(ctx.seed ^ 0x7478_6e73, i);
    let n_acc = txn_account_count(ctx).max(1);
    let account = i % n_acc;
    let mut w = (r >> 16) % total_weight;
    let mut pattern = &PATTERNS[0];
    for p in PATTERNS {
        if w < p.weight {
            pattern = p;
            break;
        }
        w -= p.weight;
    }
    // Credit cards only receive card payments; everything else on them is spending.
    let mut inflow = pattern.inflow;
    if account == 1 && inflow {
        inflow = (r >> 40).is_multiple_of(4);
    }
    let span = pattern.max_cents - pattern.min_cents;
    let cents = pattern.min_cents + (r >> 24) % span.max(1);
    Core {
        r,
        account,
        pattern,
        inflow,
        cents,
    }
}

/// (inflow, outflow) counts over the whole generated collection.
pub(super) fn type_counts(ctx: &LinkCtx) -> (u64, u64) {
    let n = len(ctx, Resource::Transactions);
    let tw = total_weight();
    let mut inflow = 0;
    for i in 0..n {
        if core(ctx, i, tw).inflow {
            inflow += 1;
        }
    }
    (inflow, n - inflow)
}

#[derive(Serialize)]
struct Merchant<'a> {
    logo: String,
    website: &'a str,
    merchant_name: &'a str,
}

#[derive(Serialize)]
struct CardData {
    collected_at: String,
    bill_name: String,
    bill_status: &'static str,
    bill_amount: f64,
    previous_bill_total: String,
}

#[derive(Serialize)]
struct Transaction<'a> {
    id: uuid::Uuid,
    internal_identification: String,
    account: &'a RawValue,
    collected_at: &'a str,
    created_at: &'a str,
    value_date: String,
    accounting_date: String,
    amount: f64,
    balance: f64,
    currency: &'static str,
    description: String,
    observations: Option<&'static str>,
    merchant: Option<Merchant<'a>>,
    category: &'static str,
    subcategory: Option<&'static str>,
    reference: Option<String>,
    #[serde(rename = "type")]
    kind: &'static str,
    status: &'static str,
    credit_card_data: Option<CardData>,
}

/// Writes transaction `i` straight to `out`, embedding the account as pre-serialised JSON.
pub(crate) fn write_transaction(
    ctx: &LinkCtx,
    i: u64,
    cache: &mut WriteCache,
    out: &mut Vec<u8>,
) -> Result<(), serde_json::Error> {
    fill_cache(ctx, cache)?;
    let created = ctx.created();
    let t = transaction(ctx, i, cache, &created);
    serde_json::to_writer(out, &t)
}

fn fill_cache(ctx: &LinkCtx, cache: &mut WriteCache) -> Result<(), serde_json::Error> {
    if cache.accounts.is_empty() {
        for k in 0..txn_account_count(ctx).max(1) {
            let v = account(ctx, k);
            let raw = serde_json::to_string(&v)?;
            cache.accounts.push(RawValue::from_string(raw)?);
            cache.account_values.push(v);
        }
    }
    Ok(())
}

/// Whether transaction `i` passes `filters`, read from the typed object (no JSON tree), so a
/// filtered scan of a million transactions stays in the seconds.
pub(crate) fn transaction_matches(
    ctx: &LinkCtx,
    i: u64,
    cache: &mut WriteCache,
    filters: &[crate::filters::Filter],
) -> bool {
    if fill_cache(ctx, cache).is_err() || cache.account_values.is_empty() {
        return false;
    }
    // Filters on fields that follow from the core numbers need no strings at all.
    let cheap = filters.iter().all(|f| {
        matches!(
            f.path[0].as_str(),
            "type" | "amount" | "status" | "category" | "subcategory" | "currency" | "account"
        )
    });
    if cheap {
        let c = core(ctx, i, total_weight());
        let acct = &cache.account_values[(c.account as usize).min(cache.account_values.len() - 1)];
        return filters.iter().all(|f| {
            let actual = match f.path[0].as_str() {
                "account" => return f.matches_in(acct, &f.path[1..]),
                "type" => Some(if c.inflow { "INFLOW" } else { "OUTFLOW" }.to_owned()),
                "amount" => Some(money(c.cents).to_string()),
                "status" => Some(status(i).to_owned()),
                "category" => Some(c.pattern.category.to_owned()),
                "subcategory" => c.pattern.subcategory.map(str::to_owned),
                _ => Some(ctx.currency().to_owned()),
            };
            f.compare(actual)
        });
    }
    let created = ctx.created();
    let t = transaction(ctx, i, cache, &created);
    let acct_idx = (i % txn_account_count(ctx).max(1)) as usize;
    let acct = &cache.account_values[acct_idx.min(cache.account_values.len() - 1)];
    filters.iter().all(|f| {
        let s = |v: &str| Some(v.to_owned());
        let actual = match f.path[0].as_str() {
            "account" => return f.matches_in(acct, &f.path[1..]),
            "id" => Some(t.id.to_string()),
            "internal_identification" => s(&t.internal_identification),
            "collected_at" | "created_at" => s(&created),
            "value_date" => s(&t.value_date),
            "accounting_date" => s(&t.accounting_date),
            "amount" => Some(t.amount.to_string()),
            "balance" => Some(t.balance.to_string()),
            "currency" => s(t.currency),
            "description" => s(&t.description),
            "observations" => t.observations.map(str::to_owned),
            "category" => s(t.category),
            "subcategory" => t.subcategory.map(str::to_owned),
            "reference" => t.reference.clone(),
            "type" => s(t.kind),
            "status" => s(t.status),
            "merchant" | "credit_card_data" => {
                // Rare filters: fall back to the JSON of this one object.
                let v = serde_json::to_value(&t).unwrap_or(Value::Null);
                return f.matches(&v);
            }
            // Unknown fields are ignored, as django-filter does.
            _ => return true,
        };
        f.compare(actual)
    })
}

/// The newest transactions are still pending.
fn status(i: u64) -> &'static str {
    if i < 2 { "PENDING" } else { "PROCESSED" }
}

fn transaction<'a>(
    ctx: &LinkCtx,
    i: u64,
    cache: &'a WriteCache,
    created: &'a str,
) -> Transaction<'a> {
    let n = len(ctx, Resource::Transactions);
    let c = core(ctx, i, total_weight());
    let date = date_of(ctx.as_of, i, n);
    let r2 = mix(c.r);
    let desc = pick(c.pattern.descriptions, r2);
    let description = if c.pattern.merchant.is_some() && r2.is_multiple_of(3) {
        format!("{desc} {:04}", r2 % 10_000)
    } else {
        (*desc).to_owned()
    };
    let (base, _) = base_balance(ctx, c.account);
    let drift = money(mix(r2) % 500_000) - 2_500.0;
    let balance = ((base + drift) * 100.0).round() / 100.0;
    let account = &cache.accounts[(c.account as usize).min(cache.accounts.len() - 1)];
    let card = (c.account == 1).then(|| CardData {
        collected_at: created.to_owned(),
        bill_name: date.format("%b-%Y").to_string().to_lowercase(),
        bill_status: if i < 30 { "OPEN" } else { "PAID" },
        bill_amount: money(1_000_000 + r2 % 2_000_000),
        previous_bill_total: format!("{:.2}", money(900_000 + r2 % 2_000_000)),
    });
    Transaction {
        id: object_id(&ctx.id, Resource::Transactions, i),
        internal_identification: format!("{:016X}", r2),
        account,
        collected_at: created,
        created_at: created,
        value_date: date.format("%Y-%m-%d").to_string(),
        accounting_date: format!(
            "{}T{:02}:{:02}:{:02}.000Z",
            date.format("%Y-%m-%d"),
            8 + (r2 >> 8) % 14,
            (r2 >> 16) % 60,
            (r2 >> 24) % 60
        ),
        amount: money(c.cents),
        balance,
        currency: ctx.currency(),
        description,
        observations: None,
        merchant: c.pattern.merchant.map(|(name, site)| Merchant {
            logo: format!(
                "https://logo.clearbit.com/{}",
                site.trim_start_matches("https://")
                    .trim_start_matches("www.")
            ),
            website: site,
            merchant_name: name,
        }),
        category: c.pattern.category,
        subcategory: c.pattern.subcategory,
        reference: (!r2.is_multiple_of(5)).then(|| format!("{}", r2 % 1_000_000)),
        kind: if c.inflow { "INFLOW" } else { "OUTFLOW" },
        status: status(i),
        credit_card_data: card,
    }
}

fn balance(ctx: &LinkCtx, i: u64) -> Value {
    let n_acc = txn_account_count(ctx).max(1);
    let k = i % n_acc;
    let day = i / n_acc;
    let (base, _) = base_balance(ctx, k);
    let drift = money(mix2(ctx.seed, 5000 + i) % 300_000) - 1_500.0;
    let date = ctx.as_of - chrono::Duration::days(day as i64);
    let mut v = super::template("legacy.Balance");
    set(
        &mut v,
        "id",
        json!(object_id(&ctx.id, Resource::Balances, i)),
    );
    set(&mut v, "account", account(ctx, k));
    set(
        &mut v,
        "value_date",
        json!(date.format("%Y-%m-%d").to_string()),
    );
    set(
        &mut v,
        "balance",
        json!(((base + drift) * 100.0).round() / 100.0),
    );
    set(&mut v, "collected_at", json!(ctx.created()));
    v
}

const FIRST: &[&str] = &[
    "María",
    "José",
    "Guadalupe",
    "Juan",
    "Fernanda",
    "Luis",
    "Sofía",
    "Carlos",
];
const LAST: &[&str] = &[
    "Hernández",
    "García",
    "Martínez",
    "López",
    "González",
    "Rodríguez",
    "Pérez",
    "Sánchez",
];

/// The owner's (deterministic) full name.
pub(super) fn person(seed: u64) -> (String, String, String) {
    (
        (*pick(FIRST, seed)).to_owned(),
        (*pick(LAST, seed >> 8)).to_owned(),
        (*pick(LAST, seed >> 16)).to_owned(),
    )
}

/// The first `n` letters of a name, upper-case ASCII ("Álvarez", 2 → "AL").
pub(super) fn initials(s: &str, n: usize) -> String {
    ascii(s).to_uppercase().chars().take(n).collect()
}

/// Lower-case ASCII for e-mail local parts ("Martínez" → "martinez").
pub(super) fn ascii(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'ä' => 'a',
            'é' | 'è' | 'ë' => 'e',
            'í' | 'ì' | 'ï' => 'i',
            'ó' | 'ò' | 'ö' => 'o',
            'ú' | 'ù' | 'ü' => 'u',
            'ñ' => 'n',
            c => c,
        })
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

fn owner(ctx: &LinkCtx, i: u64) -> Value {
    let (first, last, second) = person(ctx.seed);
    let mut v = super::template("legacy.Owner");
    set(&mut v, "id", json!(object_id(&ctx.id, Resource::Owners, i)));
    set(&mut v, "link", json!(ctx.id));
    set(
        &mut v,
        "internal_identification",
        json!(format!("{:08x}", ctx.seed >> 32)),
    );
    set(&mut v, "collected_at", json!(ctx.created()));
    set(&mut v, "created_at", json!(ctx.created()));
    set(
        &mut v,
        "display_name",
        json!(format!("{first} {last} {second}")),
    );
    set(&mut v, "last_name", json!(last));
    set(&mut v, "second_last_name", json!(second));
    set(
        &mut v,
        "email",
        json!(format!("{}.{}@example.mx", ascii(&first), ascii(&last))),
    );
    set(
        &mut v,
        "phone_number",
        json!(format!(
            "+52-55-{:04}-{:04}",
            ctx.seed % 10_000,
            (ctx.seed >> 20) % 10_000
        )),
    );
    set(
        &mut v,
        "address",
        json!("Av. Paseo de la Reforma 222, Juárez, Cuauhtémoc, 06600 Ciudad de México, CDMX"),
    );
    set(
        &mut v,
        "document_id",
        json!({"document_type": "RFC", "document_number": format!("{}{}{:06}XX0",
            initials(&last, 2), initials(&first, 1), ctx.seed % 1_000_000)}),
    );
    v
}

fn income(ctx: &LinkCtx, i: u64) -> Value {
    let mut v = super::template("Income");
    let checking = object_id(&ctx.id, Resource::Accounts, 0);
    let monthly = money(2_400_000 + ctx.seed % 2_000_000);
    set(
        &mut v,
        "id",
        json!(object_id(&ctx.id, Resource::Incomes, i)),
    );
    set(&mut v, "link", json!(ctx.id));
    set(&mut v, "created_at", json!(ctx.created()));
    let first = ctx.as_of - chrono::Duration::days(365);
    set(
        &mut v,
        "first_transaction_date",
        json!(first.format("%Y-%m-%d").to_string()),
    );
    set(
        &mut v,
        "last_transaction_date",
        json!(ctx.as_of.format("%Y-%m-%d").to_string()),
    );
    if let Some(Value::Array(streams)) = v.get_mut("income_streams") {
        for s in streams.iter_mut() {
            set(s, "account_id", json!(checking));
            set(s, "currency", json!(ctx.currency()));
            set(s, "monthly_average", json!(monthly));
            set(s, "average_income_amount", json!(monthly));
            set(s, "last_income_amount", json!(monthly));
            set(
                s,
                "last_income_description",
                json!("SPEI RECIBIDO NOMINA ACME SA DE CV"),
            );
            set(
                s,
                "last_income_date",
                json!(ctx.as_of.format("%Y-%m-%d").to_string()),
            );
        }
    }
    set(&mut v, "monthly_average", json!(monthly));
    set(&mut v, "total_income_amount", json!(monthly * 12.0));
    v
}

const RECURRING: [(&str, &str, f64); 3] = [
    ("Netflix", "Online Platforms & Leisure", 219.0),
    ("Telmex", "Bills & Utilities", 589.0),
    ("GNP Seguros", "Insurance", 1_450.0),
];

fn recurring(ctx: &LinkCtx, i: u64) -> Value {
    let (name, category, amount) = RECURRING[(i as usize) % RECURRING.len()];
    let mut v = super::template("RecurringExpenses");
    set(
        &mut v,
        "id",
        json!(object_id(&ctx.id, Resource::RecurringExpenses, i)),
    );
    // The current spec embeds its Open Finance account shape here (`AccountOpenFinanceBrazil`):
    // `subtype`, `agency` and `check_digit`, and none of the legacy-only keys.
    let mut acct = account(ctx, 0);
    if let Value::Object(m) = &mut acct {
        for k in ["bank_product_id", "receivables_data"] {
            m.remove(k);
        }
    }
    set(&mut acct, "subtype", json!("INDIVIDUAL"));
    for k in ["agency", "check_digit"] {
        set(&mut acct, k, Value::Null);
    }
    set(&mut v, "account", acct);
    set(&mut v, "name", json!(name));
    set(&mut v, "category", json!(category));
    set(&mut v, "average_transaction_amount", json!(amount));
    set(&mut v, "median_transaction_amount", json!(amount));
    set(&mut v, "days_since_last_transaction", json!(3 + i * 7));
    let txns: Vec<Value> = (0..3)
        .map(|m| {
            let d = ctx.as_of - chrono::Duration::days(3 + i as i64 * 7 + 30 * m);
            json!({"amount": amount, "description": name.to_uppercase(),
                   "value_date": d.format("%Y-%m-%d").to_string()})
        })
        .collect();
    set(&mut v, "transactions", json!(txns));
    v
}

fn risk(ctx: &LinkCtx, i: u64) -> Value {
    let mut v = super::template("RiskInsights");
    set(
        &mut v,
        "id",
        json!(object_id(&ctx.id, Resource::RiskInsights, i)),
    );
    set(&mut v, "link", json!(ctx.id));
    set(&mut v, "created_at", json!(ctx.created()));
    let accounts: Vec<Value> = (0..account_count(ctx))
        .map(|k| json!(object_id(&ctx.id, Resource::Accounts, k)))
        .collect();
    if let Some(m) = v.get_mut("assets_metrics") {
        set(m, "num_accounts", json!(accounts.len()));
    }
    set(&mut v, "accounts", json!(accounts));
    v
}
