//! The webhook mix of the gateway benchmark: what Belvo sends a platform with many links,
//! generated from a fixed seed so every run sends the same sequence.
//!
//! Request `n` of a measurement is a pure function of (seed, `n`): its kind is drawn from
//! [`KINDS`] by weight, its link uniformly from the links of that kind's product (banking,
//! fiscal, employment), its `data` in the shape Belvo documents for the kind
//! (`../shared/reference/belvo-api.md` §6.4, the emulator's `webhooks.rs`). About
//! [`DUPLICATE_PER_MILLE`] ‰ of requests are Belvo redelivering an earlier webhook: the same
//! body, `webhook_id` included, of a request sent a little earlier. Only the `webhook_id`s
//! depend on the measurement (`run`), so a second measurement on the same database sends the
//! same mix without colliding with the first.

use serde_json::{Value, json};

/// Which Belvo product a link belongs to, which decides what webhooks it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Product {
    Banking,
    Fiscal,
    Employment,
}

impl Product {
    /// The emulator institution links of this product are created at.
    pub(crate) fn institution(self) -> &'static str {
        match self {
            Self::Banking => "erebor_mx_retail",
            Self::Fiscal => "tatooine_mx_fiscal",
            Self::Employment => "planet_mx_employment",
        }
    }
}

/// One kind of webhook and its share of the mix.
#[derive(Debug)]
pub(crate) struct Kind {
    /// Share of the (non-duplicate) webhooks, in ‰.
    pub(crate) per_mille: u32,
    pub(crate) product: Product,
    pub(crate) webhook_type: &'static str,
    pub(crate) webhook_code: &'static str,
    process_type: Option<&'static str>,
    data: fn(&mut Rng) -> Value,
}

const HISTORICAL: Option<&str> = Some("historical_update");
const RECURRENT: Option<&str> = Some("recurrent_update");

/// Redeliveries: requests that repeat an earlier webhook exactly, in ‰ of all requests.
pub(crate) const DUPLICATE_PER_MILLE: u64 = 20;

/// The mix, in ‰ (sums to 1000): mostly banking (recurrent `new_transactions_available` above
/// all, then the `historical_update`s a link's creation or refresh sends for each resource),
/// some `LINK` errors (which data-service forwards to link-service), fiscal and employment.
pub(crate) const KINDS: &[Kind] = &[
    // Banking: 860 ‰.
    Kind {
        per_mille: 355,
        product: Product::Banking,
        webhook_type: "TRANSACTIONS",
        webhook_code: "new_transactions_available",
        process_type: RECURRENT,
        data: |r| json!({"new_transactions": r.range(1, 40)}),
    },
    Kind {
        per_mille: 110,
        product: Product::Banking,
        webhook_type: "TRANSACTIONS",
        webhook_code: "historical_update",
        process_type: HISTORICAL,
        data: |r| {
            let total = r.range(20, 3000);
            let inflow = r.range(0, total);
            json!({"total_transactions": total, "total_inflow_transactions": inflow,
                   "total_outflow_transactions": total - inflow,
                   "first_transaction_date": "2024-06-01", "last_transaction_date": "2025-06-01"})
        },
    },
    Kind {
        per_mille: 30,
        product: Product::Banking,
        webhook_type: "TRANSACTIONS",
        webhook_code: "transactions_updated",
        process_type: RECURRENT,
        data: |r| json!({"transactions": r.ids(1, 5)}),
    },
    Kind {
        per_mille: 20,
        product: Product::Banking,
        webhook_type: "TRANSACTIONS",
        webhook_code: "transactions_deleted",
        process_type: RECURRENT,
        data: |r| json!({"transactions": r.ids(1, 3)}),
    },
    Kind {
        per_mille: 70,
        product: Product::Banking,
        webhook_type: "ACCOUNTS",
        webhook_code: "historical_update",
        process_type: HISTORICAL,
        data: |r| json!({"total_accounts": r.range(1, 6)}),
    },
    Kind {
        per_mille: 10,
        product: Product::Banking,
        webhook_type: "ACCOUNTS",
        webhook_code: "new_accounts_available",
        process_type: RECURRENT,
        data: |_| json!({"new_accounts": 1}),
    },
    Kind {
        per_mille: 60,
        product: Product::Banking,
        webhook_type: "OWNERS",
        webhook_code: "historical_update",
        process_type: HISTORICAL,
        data: |r| json!({"total_owners": r.range(1, 3)}),
    },
    Kind {
        per_mille: 10,
        product: Product::Banking,
        webhook_type: "OWNERS",
        webhook_code: "new_owners_available",
        process_type: RECURRENT,
        data: |_| json!({"new_owners": 1}),
    },
    Kind {
        per_mille: 30,
        product: Product::Banking,
        webhook_type: "BALANCES",
        webhook_code: "historical_update",
        process_type: HISTORICAL,
        // Belvo documents no count for balances; this is the emulator's.
        data: |r| json!({"total_balances": r.range(1, 400)}),
    },
    Kind {
        per_mille: 40,
        product: Product::Banking,
        webhook_type: "INCOMES",
        webhook_code: "historical_update",
        process_type: HISTORICAL,
        data: |r| json!({"total_incomes": 1, "number_of_income_streams": r.range(1, 6)}),
    },
    Kind {
        per_mille: 40,
        product: Product::Banking,
        webhook_type: "RECURRING_EXPENSES",
        webhook_code: "historical_update",
        process_type: HISTORICAL,
        data: |r| json!({"total_recurring_expenses": r.range(0, 30)}),
    },
    Kind {
        per_mille: 40,
        product: Product::Banking,
        webhook_type: "RISK_INSIGHTS",
        webhook_code: "historical_update",
        process_type: HISTORICAL,
        data: |_| json!({"total_risk_insights": 1}),
    },
    Kind {
        per_mille: 25,
        product: Product::Banking,
        webhook_type: "LINK",
        webhook_code: "invalid_credentials",
        process_type: RECURRENT,
        data: |_| {
            json!({"error_code": "login_error",
                   "error_message": "Invalid credentials provided to login to the institution",
                   "status": 400})
        },
    },
    Kind {
        per_mille: 20,
        product: Product::Banking,
        webhook_type: "LINK",
        webhook_code: "token_required",
        process_type: RECURRENT,
        data: |_| {
            json!({"error_code": "token_required",
                   "error_message": "A MFA token is required by the institution to login",
                   "status": 428})
        },
    },
    // Fiscal: 90 ‰.
    Kind {
        per_mille: 20,
        product: Product::Fiscal,
        webhook_type: "INVOICES",
        webhook_code: "historical_update",
        process_type: HISTORICAL,
        data: invoices,
    },
    Kind {
        per_mille: 20,
        product: Product::Fiscal,
        webhook_type: "INVOICES",
        webhook_code: "new_invoices_available",
        process_type: RECURRENT,
        data: |r| json!({"new_invoices": r.range(1, 50)}),
    },
    Kind {
        per_mille: 5,
        product: Product::Fiscal,
        webhook_type: "INVOICES",
        webhook_code: "historical_inflow_update",
        process_type: HISTORICAL,
        data: invoices,
    },
    Kind {
        per_mille: 5,
        product: Product::Fiscal,
        webhook_type: "INVOICES",
        webhook_code: "historical_outflow_update",
        process_type: HISTORICAL,
        data: invoices,
    },
    Kind {
        per_mille: 10,
        product: Product::Fiscal,
        webhook_type: "TAX_RETURNS",
        webhook_code: "historical_update",
        process_type: HISTORICAL,
        data: |r| {
            json!({"type": if r.range(0, 1) == 0 { "yearly" } else { "monthly" },
                   "total_tax_returns": r.range(1, 12),
                   "first_tax_return_year": 2019, "last_tax_return_year": 2024})
        },
    },
    Kind {
        per_mille: 10,
        product: Product::Fiscal,
        webhook_type: "TAX_STATUS",
        webhook_code: "historical_update",
        process_type: HISTORICAL,
        data: |_| json!({"total_tax_status": 1, "last_status_change_date": "2019-08-01"}),
    },
    Kind {
        per_mille: 10,
        product: Product::Fiscal,
        webhook_type: "TAX_COMPLIANCE_STATUS",
        webhook_code: "historical_update",
        process_type: HISTORICAL,
        data: |_| json!({"total_tax_compliance_status": 1}),
    },
    Kind {
        per_mille: 10,
        product: Product::Fiscal,
        webhook_type: "TAX_RETENTIONS",
        webhook_code: "historical_update",
        process_type: HISTORICAL,
        data: |r| json!({"total_tax_retentions": r.range(0, 20)}),
    },
    // Employment: 50 ‰.
    Kind {
        per_mille: 25,
        product: Product::Employment,
        webhook_type: "EMPLOYMENT_RECORDS",
        webhook_code: "historical_update",
        process_type: HISTORICAL,
        data: |_| json!({"total_employment_record_profiles": 1}),
    },
    Kind {
        per_mille: 15,
        product: Product::Employment,
        webhook_type: "EMPLOYMENT_RECORDS",
        webhook_code: "employment_changes",
        process_type: RECURRENT,
        data: |_| json!({"employment_changes": ["EMPLOYED", "SALARY_INCREASED"]}),
    },
    Kind {
        // A type data-service does not sync: stored and acknowledged, then ignored.
        per_mille: 10,
        product: Product::Employment,
        webhook_type: "EMPLOYMENT_METRICS",
        webhook_code: "historical_update",
        process_type: HISTORICAL,
        data: |_| json!({"total_employment_metrics": 1}),
    },
];

fn invoices(r: &mut Rng) -> Value {
    json!({"total_invoices": r.range(1, 4000),
           "first_invoice_date": "2020-07-01", "last_invoice_date": "2025-06-30"})
}

/// The product of link `index` of `count`: links are split as the mix's webhooks are (86%
/// banking, 9% fiscal, 5% employment), so every link gets webhooks at about the same rate.
pub(crate) fn product_of(index: usize, count: usize) -> Product {
    let share = |p: Product| -> u64 {
        KINDS
            .iter()
            .filter(|k| k.product == p)
            .map(|k| u64::from(k.per_mille))
            .sum()
    };
    let at = (index as u64 * 1000) / count.max(1) as u64;
    let banking = share(Product::Banking);
    if at < banking {
        Product::Banking
    } else if at < banking + share(Product::Fiscal) {
        Product::Fiscal
    } else {
        Product::Employment
    }
}

/// A link webhooks are sent for.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) link_id: String,
    pub(crate) external_id: String,
    pub(crate) product: Product,
}

/// The generator: the links, grouped by product, and the seed.
#[derive(Debug, Clone)]
pub(crate) struct Mix {
    targets: Vec<Target>,
    by_product: [Vec<usize>; 3],
    seed: u64,
    /// Only this kind (the old benchmark's case), when set.
    only: Option<&'static Kind>,
}

impl Mix {
    /// The realistic mix over `targets`.
    pub(crate) fn new(targets: Vec<Target>, seed: u64) -> Self {
        let mut by_product: [Vec<usize>; 3] = Default::default();
        for (i, t) in targets.iter().enumerate() {
            by_product[t.product as usize].push(i);
        }
        for (p, links) in by_product.iter().enumerate() {
            assert!(
                !links.is_empty(),
                "the mix needs links of every product (product {p} has none)"
            );
        }
        Self {
            targets,
            by_product,
            seed,
            only: None,
        }
    }

    /// The old benchmark's best case for the batcher: every webhook a TRANSACTIONS
    /// `historical_update` for `target`, no duplicates.
    pub(crate) fn one_link(target: Target, seed: u64) -> Self {
        let only = KINDS
            .iter()
            .find(|k| k.webhook_type == "TRANSACTIONS" && k.webhook_code == "historical_update");
        Self {
            by_product: [vec![0], Vec::new(), Vec::new()],
            targets: vec![target],
            seed,
            only,
        }
    }

    /// The body of request `n` of measurement `run`.
    pub(crate) fn body(&self, run: u64, n: u64) -> String {
        let mut n = n;
        if self.only.is_none() {
            // A redelivery repeats request n - back, sent a little earlier (after its first
            // delivery was answered, usually). Follow chains back to an original.
            loop {
                let mut r = Rng::new(self.seed, n, 1);
                let back = r.range(64, 4096);
                if r.range(0, 999) < DUPLICATE_PER_MILLE && n >= back {
                    n -= back;
                } else {
                    break;
                }
            }
        }
        let mut r = Rng::new(self.seed, n, 2);
        let kind = self.only.unwrap_or_else(|| {
            let mut pick = r.range(0, 999) as u32;
            KINDS
                .iter()
                .find(|k| {
                    if pick < k.per_mille {
                        true
                    } else {
                        pick -= k.per_mille;
                        false
                    }
                })
                .unwrap_or(&KINDS[0])
        });
        let links = &self.by_product[kind.product as usize];
        let target = &self.targets[links[r.range(0, links.len() as u64 - 1) as usize]];
        let mut ids = Rng::new(self.seed ^ run.wrapping_mul(0x9e37_79b9_7f4a_7c15), n, 3);
        let webhook_id = format!("{:016x}{:016x}", ids.next(), ids.next());
        let request_id = (kind.process_type == HISTORICAL).then(|| r.uuid());
        json!({
            "webhook_id": webhook_id,
            "webhook_type": kind.webhook_type,
            "process_type": kind.process_type,
            "webhook_code": kind.webhook_code,
            "link_id": target.link_id,
            "request_id": request_id,
            "external_id": target.external_id,
            "data": (kind.data)(&mut r),
        })
        .to_string()
    }
}

/// SplitMix64 (Steele, Lea, Flood), seeded per (seed, request, stream): small, fast and
/// repeatable, which is all a load generator needs.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    fn new(seed: u64, n: u64, stream: u64) -> Self {
        let mut r = Self(seed ^ n.wrapping_mul(0xd1b5_4a32_d192_ed03) ^ (stream << 56));
        r.next();
        r
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `low..=high`.
    fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    /// `count` in `low..=high` transaction ids.
    fn ids(&mut self, low: u64, high: u64) -> Vec<String> {
        (0..self.range(low, high)).map(|_| self.uuid()).collect()
    }

    /// A dashed UUID-shaped string (Belvo's `request_id`s and object ids look like this).
    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            ((b >> 48) & 0x3fff) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }
}
