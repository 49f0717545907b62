//! Checks a `CreateWidgetTokenRequest` against the region configuration and resolves it into
//! what the token body and the widget's start-up configuration need. Every bad field is
//! reported at once, named by its snake_case path (`products[1]`, `widget.locale`).

use connect_proto::common::v1 as common;
use connect_proto::token::v1::{CreateWidgetTokenRequest, DocumentType, IdentificationInfo};
use grpc_runtime::status::FieldViolations;
use regions::{
    AccessMode, CountryCode, FetchResource, InstitutionType, Locale, Product, Region,
    RegionsConfig, WidgetFamily,
};
use uuid::Uuid;

/// Longest accepted owner id, in bytes.
const MAX_OWNER_LEN: usize = 256;
/// Longest accepted institution name, in bytes.
const MAX_INSTITUTION_LEN: usize = 100;
/// Longest accepted name in an OFDA consent's identification, in characters.
const MAX_HOLDER_NAME_LEN: usize = 200;

/// A checked request, resolved against its region.
#[derive(Debug)]
pub(crate) struct WidgetTokenOrder<'r> {
    pub(crate) region: &'r Region,
    pub(crate) owner: String,
    /// The products asked for, or those whose resources were asked for.
    pub(crate) products: Vec<Product>,
    /// In `FetchResource` order, each once.
    pub(crate) fetch_resources: Vec<FetchResource>,
    pub(crate) link_id: Option<Uuid>,
    pub(crate) locale: Locale,
    pub(crate) country_codes: Vec<CountryCode>,
    pub(crate) institution_types: Vec<InstitutionType>,
    pub(crate) institutions: Vec<String>,
    pub(crate) access_mode: AccessMode,
    /// OFDA: who gives the consent (CPF, and a CNPJ for a business); empty otherwise.
    pub(crate) identification_info: Vec<belvo::IdentificationInfo>,
}

/// Checks `request`; on success every field is resolved.
pub(crate) fn check<'r>(
    regions: &'r RegionsConfig,
    request: &CreateWidgetTokenRequest,
) -> Result<WidgetTokenOrder<'r>, FieldViolations> {
    let mut violations = FieldViolations::new();

    let region = if request.region.is_empty() {
        violations.add("region", "is required");
        None
    } else {
        match regions.region(&request.region) {
            Ok(region) => Some(region),
            Err(_) => {
                let known: Vec<&str> = regions.ids().collect();
                violations.add(
                    "region",
                    format!(
                        "unknown region `{}`; configured: {}",
                        request.region,
                        known.join(", ")
                    ),
                );
                None
            }
        }
    };

    // The owner is used verbatim (it is hashed into the external id): no trimming, so two
    // spellings never silently share an id.
    let owner = request.owner.as_str();
    if owner.trim().is_empty() {
        violations.add("owner", "is required");
    } else if owner.len() > MAX_OWNER_LEN {
        violations.add(
            "owner",
            format!("must be at most {MAX_OWNER_LEN} bytes long"),
        );
    } else if owner.chars().any(char::is_control) {
        violations.add("owner", "must not contain control characters");
    }

    let link_id = match &request.link_id {
        None => None,
        Some(raw) => match Uuid::parse_str(raw) {
            Ok(id) => Some(id),
            Err(_) => {
                violations.add("link_id", "must be a UUID (Belvo's link id)");
                None
            }
        },
    };

    let (products, fetch_resources) = match (
        request.products.is_empty(),
        request.fetch_resources.is_empty(),
    ) {
        (true, true) => {
            violations.add(
                "products",
                "give the products (or else the fetch_resources) the widget is for",
            );
            (Vec::new(), Vec::new())
        }
        (false, false) => {
            violations.add(
                "fetch_resources",
                "give either products or fetch_resources, not both",
            );
            (Vec::new(), Vec::new())
        }
        (false, true) => products_of(region, &request.products, &mut violations),
        (true, false) => resources_of(region, &request.fetch_resources, &mut violations),
    };

    let overrides = request.widget.clone().unwrap_or_default();
    let requested_locale = match overrides.locale.as_deref() {
        None => None,
        Some(raw) => match raw.parse::<Locale>() {
            Ok(locale) => Some(locale),
            Err(_) => {
                violations.add("widget.locale", "must be `es`, `en` or `pt`");
                None
            }
        },
    };
    let locale = match (requested_locale, region) {
        (Some(locale), Some(region))
            if region.widget() == WidgetFamily::Ofda && locale != Locale::Pt =>
        {
            violations.add("widget.locale", "the OFDA widget requires `pt`");
            locale
        }
        (Some(locale), _) => locale,
        (None, Some(region)) => region.locale(),
        (None, None) => Locale::Es,
    };

    let mut country_codes = Vec::new();
    for (i, raw) in overrides.country_codes.iter().enumerate() {
        let field = format!("widget.country_codes[{i}]");
        match raw.parse::<CountryCode>() {
            Ok(code) if region.is_none_or(|r| r.country_codes().contains(&code)) => {
                if !country_codes.contains(&code) {
                    country_codes.push(code);
                }
            }
            Ok(_) => {
                violations.add(field, format!("`{raw}` is not allowed in this region"));
            }
            Err(_) => {
                violations.add(field, "must be `MX`, `CO` or `BR` (upper case)");
            }
        }
    }
    if country_codes.is_empty()
        && let Some(region) = region
    {
        country_codes = region.country_codes().to_vec();
    }

    let allowed_types: Vec<InstitutionType> = region
        .map(|r| {
            r.products()
                .iter()
                .flat_map(|p| p.institution_types.iter().copied())
                .collect()
        })
        .unwrap_or_default();
    let mut institution_types = Vec::new();
    for (i, raw) in overrides.institution_types.iter().enumerate() {
        let field = format!("widget.institution_types[{i}]");
        match raw.parse::<InstitutionType>() {
            Ok(t) if region.is_none() || allowed_types.contains(&t) => {
                if !institution_types.contains(&t) {
                    institution_types.push(t);
                }
            }
            Ok(_) => {
                violations.add(
                    field,
                    format!("`{raw}` is not offered by this region's products"),
                );
            }
            Err(_) => {
                violations.add(
                    field,
                    "must be `retail`, `business`, `fiscal` or `employment`",
                );
            }
        }
    }
    if institution_types.is_empty()
        && let Some(region) = region
    {
        institution_types = region.institution_types_for(&products).unwrap_or_default();
    }

    let mut institutions = Vec::new();
    for (i, name) in overrides.institutions.iter().enumerate() {
        let ok = !name.is_empty()
            && name.len() <= MAX_INSTITUTION_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if ok {
            institutions.push(name.clone());
        } else {
            violations.add(
                format!("widget.institutions[{i}]"),
                "must be a Belvo institution name such as `erebor_mx_retail`",
            );
        }
    }

    let access_mode = match common::AccessMode::try_from(overrides.access_mode) {
        Ok(common::AccessMode::Single) => AccessMode::Single,
        Ok(common::AccessMode::Recurrent) => AccessMode::Recurrent,
        Ok(common::AccessMode::Unspecified) => {
            region.map_or(AccessMode::Recurrent, |r| r.access_mode())
        }
        Err(_) => {
            violations.add("widget.access_mode", "unknown access mode");
            AccessMode::Recurrent
        }
    };

    let identification_info =
        identification_of(region, &overrides.identification_info, &mut violations);

    match region {
        Some(region) if violations.is_empty() => Ok(WidgetTokenOrder {
            region,
            owner: owner.to_owned(),
            products,
            fetch_resources,
            link_id,
            locale,
            country_codes,
            institution_types,
            institutions,
            access_mode,
            identification_info,
        }),
        _ => Err(violations),
    }
}

/// OFDA's consent identification: required (one CPF, or a CPF and a CNPJ) for an OFDA region,
/// refused for a multi-region one. Messages never repeat the numbers or names.
fn identification_of(
    region: Option<&Region>,
    raw: &[IdentificationInfo],
    violations: &mut FieldViolations,
) -> Vec<belvo::IdentificationInfo> {
    const FIELD: &str = "widget.identification_info";
    match region.map(Region::widget) {
        Some(WidgetFamily::Ofda) if raw.is_empty() => {
            violations.add(
                FIELD,
                "is required for an OFDA (Brazil) region: the CPF of the person giving consent \
                 (and the company's CNPJ for a business)",
            );
        }
        Some(WidgetFamily::MultiRegion) if !raw.is_empty() => {
            violations.add(FIELD, "is only for OFDA (Brazil) regions");
        }
        _ => {}
    }
    if raw.len() > 2 {
        violations.add(
            FIELD,
            "has at most two entries: a CPF and, for a business, a CNPJ",
        );
    }
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for (i, info) in raw.iter().enumerate() {
        let field = |name: &str| format!("{FIELD}[{i}].{name}");
        let kind = match DocumentType::try_from(info.r#type) {
            Ok(DocumentType::Cpf) => Some(("CPF", 11)),
            Ok(DocumentType::Cnpj) => Some(("CNPJ", 14)),
            Ok(DocumentType::Unspecified) | Err(_) => {
                violations.add(
                    field("type"),
                    "must be DOCUMENT_TYPE_CPF or DOCUMENT_TYPE_CNPJ",
                );
                None
            }
        };
        if let Some((name, _)) = kind {
            if seen.contains(&name) {
                violations.add(field("type"), format!("only one {name} may be given"));
            }
            seen.push(name);
        }
        if let Some((name, digits)) = kind
            && !(info.number.len() == digits && info.number.bytes().all(|b| b.is_ascii_digit()))
        {
            violations.add(
                field("number"),
                format!("a {name} number is {digits} digits, without punctuation"),
            );
        }
        let holder = info.name.trim();
        if holder.is_empty() {
            violations.add(field("name"), "is required");
        } else if holder.chars().count() > MAX_HOLDER_NAME_LEN {
            violations.add(
                field("name"),
                format!("must be at most {MAX_HOLDER_NAME_LEN} characters"),
            );
        } else if holder.chars().any(char::is_control) {
            violations.add(field("name"), "must not contain control characters");
        }
        if let Some((name, _)) = kind {
            out.push(belvo::IdentificationInfo {
                kind: name.to_owned(),
                number: info.number.clone(),
                name: holder.to_owned(),
            });
        }
    }
    out
}

/// The products asked for and their configured resources.
fn products_of(
    region: Option<&Region>,
    raw: &[i32],
    violations: &mut FieldViolations,
) -> (Vec<Product>, Vec<FetchResource>) {
    let mut products = Vec::new();
    for (i, value) in raw.iter().enumerate() {
        let field = format!("products[{i}]");
        let product = match common::Product::try_from(*value) {
            Ok(common::Product::Banking) => Product::Banking,
            Ok(common::Product::Employment) => Product::Employment,
            Ok(common::Product::Fiscal) => Product::Fiscal,
            Ok(common::Product::Unspecified) | Err(_) => {
                violations.add(field, "must be BANKING, EMPLOYMENT or FISCAL");
                continue;
            }
        };
        if let Some(region) = region
            && !region.offers(product)
        {
            violations.add(
                field,
                format!("region `{}` does not offer {product}", region.id().as_str()),
            );
            continue;
        }
        if !products.contains(&product) {
            products.push(product);
        }
    }
    products.sort();
    let resources = region
        .and_then(|r| r.fetch_resources_for(&products).ok())
        .unwrap_or_default();
    (products, resources)
}

/// The resources asked for, each offered by one of the region's products, and those
/// products.
fn resources_of(
    region: Option<&Region>,
    raw: &[String],
    violations: &mut FieldViolations,
) -> (Vec<Product>, Vec<FetchResource>) {
    let mut wanted = Vec::new();
    let mut products = Vec::new();
    for (i, name) in raw.iter().enumerate() {
        let field = format!("fetch_resources[{i}]");
        let Ok(resource) = name.parse::<FetchResource>() else {
            violations.add(
                field,
                format!("`{name}` is not a Belvo fetch_resources name (e.g. ACCOUNTS)"),
            );
            continue;
        };
        let Some(region) = region else {
            continue;
        };
        let offering: Vec<Product> = region
            .products()
            .iter()
            .filter(|p| p.fetch_resources.contains(&resource))
            .map(|p| p.product)
            .collect();
        if offering.is_empty() {
            violations.add(
                field,
                format!("region `{}` does not offer {name}", region.id().as_str()),
            );
            continue;
        }
        wanted.push(resource);
        for product in offering {
            if !products.contains(&product) {
                products.push(product);
            }
        }
    }
    if wanted.iter().any(|r| r.is_enrichment())
        && !(wanted.contains(&FetchResource::Accounts)
            && wanted.contains(&FetchResource::Transactions))
    {
        violations.add(
            "fetch_resources",
            "enrichment resources (INCOMES, RECURRING_EXPENSES, RISK_INSIGHTS) need ACCOUNTS and TRANSACTIONS",
        );
    }
    products.sort();
    let resources = FetchResource::ALL
        .iter()
        .copied()
        .filter(|r| wanted.contains(r))
        .collect();
    (products, resources)
}
