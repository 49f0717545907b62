//! The sandbox's institutions (Belvo's documented sandbox banks, the SAT and IMSS mocks, the
//! Brazilian Open Finance mock bank) and the JSON Belvo gives for each.

use serde_json::{Value, json};

/// What an institution is, as far as link creation and data go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bank,
    Fiscal,
    Employment,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Bank => "bank",
            Kind::Fiscal => "fiscal",
            Kind::Employment => "employment",
        }
    }
}

/// One sandbox institution.
#[derive(Debug, Clone)]
pub struct Institution {
    pub id: i64,
    pub name: &'static str,
    pub display_name: &'static str,
    pub kind: Kind,
    /// Widget segment (`retail`, `business`, `fiscal`, `employment`).
    pub segment: &'static str,
    pub country: &'static str,
    pub mfa: bool,
    pub openfinance: bool,
    pub color: &'static str,
    pub website: &'static str,
}

const BANK_RESOURCES: &[&str] = &[
    "ACCOUNTS",
    "BALANCES",
    "INCOMES",
    "OWNERS",
    "RECURRING_EXPENSES",
    "RISK_INSIGHTS",
    "TRANSACTIONS",
];
const FISCAL_RESOURCES: &[&str] = &[
    "INVOICES",
    "TAX_COMPLIANCE_STATUS",
    "TAX_RETENTIONS",
    "TAX_RETURNS",
    "TAX_STATUS",
];
const EMPLOYMENT_RESOURCES: &[&str] = &["EMPLOYMENT_RECORDS"];

impl Institution {
    /// The `fetch_resources` values this institution supports.
    pub fn resources(&self) -> &'static [&'static str] {
        match self.kind {
            Kind::Bank => BANK_RESOURCES,
            Kind::Fiscal => FISCAL_RESOURCES,
            Kind::Employment => EMPLOYMENT_RESOURCES,
        }
    }

    /// What a link fetches when the request names no `fetch_resources`.
    pub fn default_fetch_resources(&self) -> Vec<String> {
        let d: &[&str] = match self.kind {
            Kind::Bank => &["ACCOUNTS", "TRANSACTIONS", "OWNERS"],
            Kind::Fiscal => &[
                "INVOICES",
                "TAX_COMPLIANCE_STATUS",
                "TAX_RETURNS",
                "TAX_STATUS",
            ],
            Kind::Employment => &["EMPLOYMENT_RECORDS"],
        };
        d.iter().map(|s| (*s).to_owned()).collect()
    }

    /// Whether login needs a password (IMSS logs in with the CURP alone).
    pub fn needs_password(&self) -> bool {
        self.kind != Kind::Employment
    }

    fn brand(&self) -> &str {
        self.name.split('_').next().unwrap_or(self.name)
    }

    /// Belvo's institution object (`InstitutionPublicApi`).
    pub fn to_json(&self) -> Value {
        let brand = self.brand();
        let (user_label, user_ph, pass_label) = match self.kind {
            Kind::Bank => ("Client number", "ABC333333A33", "Password"),
            Kind::Fiscal => ("RFC", "PFIS010101000", "CIEC"),
            Kind::Employment => ("CURP", "BLPM951331IONVGR54", ""),
        };
        let mut form = vec![json!({
            "name": "username", "type": "text", "label": user_label,
            "validation": "^.{1,}$", "placeholder": user_ph,
            "validation_message": format!("Invalid {}", user_label.to_lowercase()),
        })];
        if self.needs_password() {
            form.push(json!({
                "name": "password", "type": "password", "label": pass_label,
                "validation": "^.{1,}$", "placeholder": "",
                "validation_message": "Invalid password",
            }));
        }
        let features: Vec<Value> = if self.mfa {
            vec![json!({"name": "token_required",
                "description": "The institution may require a token during link creation or login"})]
        } else {
            vec![]
        };
        json!({
            "id": self.id,
            "name": self.name,
            "type": self.kind.as_str(),
            "website": self.website,
            "display_name": self.display_name,
            "country_codes": [self.country],
            "primary_color": self.color,
            "logo": format!("https://belvo-api-media.s3.amazonaws.com/logos/{brand}_logo.svg"),
            "icon_logo": format!("https://statics.belvo.io/widget/images/institutions/{brand}.svg"),
            "text_logo": format!("https://statics.belvo.io/widget/images/institutions/{brand}.svg"),
            "form_fields": form,
            "features": features,
            "resources": self.resources(),
            "integration_type": if self.openfinance { "openfinance" } else { "credentials" },
            "status": "healthy",
            "openbanking_information": null,
        })
    }
}

macro_rules! inst {
    ($id:expr, $name:expr, $display:expr, $kind:expr, $seg:expr, $cc:expr, $mfa:expr, $of:expr, $color:expr, $web:expr) => {
        Institution {
            id: $id,
            name: $name,
            display_name: $display,
            kind: $kind,
            segment: $seg,
            country: $cc,
            mfa: $mfa,
            openfinance: $of,
            color: $color,
            website: $web,
        }
    };
}

/// Every institution the emulator knows, in Belvo's id order.
pub(crate) fn all() -> Vec<Institution> {
    use Kind::*;
    vec![
        inst!(
            1003,
            "erebor_mx_retail",
            "Erebor Mexico",
            Bank,
            "retail",
            "MX",
            false,
            false,
            "#056dae",
            "https://www.erebor.com/"
        ),
        inst!(
            1004,
            "gringotts_mx_retail",
            "Gringotts Mexico",
            Bank,
            "retail",
            "MX",
            false,
            false,
            "#c1a050",
            "https://www.gringotts.com/"
        ),
        inst!(
            1005,
            "gotham_mx_business",
            "Gotham Business Bank (MFA)",
            Bank,
            "business",
            "MX",
            true,
            false,
            "#1f2937",
            "https://www.gotham.com/"
        ),
        inst!(
            1006,
            "heimdall_mx_retail",
            "Heimdall Mexico (MFA)",
            Bank,
            "retail",
            "MX",
            true,
            false,
            "#b45309",
            "https://www.heimdall.com/"
        ),
        inst!(
            1007,
            "erebor_co_retail",
            "Erebor Colombia",
            Bank,
            "retail",
            "CO",
            false,
            false,
            "#056dae",
            "https://www.erebor.com/"
        ),
        inst!(
            1008,
            "erebor_br_retail",
            "Erebor Brazil",
            Bank,
            "retail",
            "BR",
            false,
            false,
            "#056dae",
            "https://www.erebor.com/"
        ),
        inst!(
            1009,
            "tatooine_mx_fiscal",
            "Tatooine SAT (fiscal)",
            Fiscal,
            "fiscal",
            "MX",
            false,
            false,
            "#7c3aed",
            "https://www.sat.gob.mx/"
        ),
        inst!(
            1010,
            "planet_mx_employment",
            "Planet IMSS (employment)",
            Employment,
            "employment",
            "MX",
            false,
            false,
            "#059669",
            "http://www.imss.gob.mx/"
        ),
        inst!(
            1011,
            "ofmockbank_br_retail",
            "Mockbank (Open Finance)",
            Bank,
            "retail",
            "BR",
            false,
            true,
            "#e11d48",
            "https://www.mockbank.com.br/"
        ),
    ]
}

/// Looks an institution up by Belvo name.
pub(crate) fn by_name(name: &str) -> Option<Institution> {
    all().into_iter().find(|i| i.name == name)
}

/// Looks an institution up by numeric id.
pub(crate) fn by_id(id: i64) -> Option<Institution> {
    all().into_iter().find(|i| i.id == id)
}
