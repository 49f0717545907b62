//! The small vocabulary of a region: Belvo's enums (locale, country code, widget family, access
//! mode, product, institution type, `fetch_resources` names) and its retention settings
//! (`stale_in`, `credentials_storage`), each parsed from and printed as Belvo's exact spelling,
//! plus which resources and institution types each widget family offers per product.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

/// Why a string is not one of an enum's values. Names the kind and lists the accepted spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`; use {}", expected.join(", "))]
pub struct ParseEnumError {
    kind: &'static str,
    value: String,
    expected: &'static [&'static str],
}

/// An enum with one exact spelling per variant: `as_str`, `ALL`, `FromStr`, `Display` and serde.
macro_rules! spelled_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order (the order used wherever a list is built).
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];
            const NAMES: &'static [&'static str] = &[$($text),+];

            /// The exact spelling Belvo and the configuration file use.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl FromStr for $name {
            type Err = ParseEnumError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(ParseEnumError { kind: $kind, value: s.to_owned(), expected: Self::NAMES }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

spelled_enum! {
    /// The widget's language (`locale` start-up parameter).
    Locale, "locale" {
        /// Spanish, Belvo's default.
        Es = "es",
        /// English.
        En = "en",
        /// Portuguese; required by the OFDA widget.
        Pt = "pt",
    }
}

spelled_enum! {
    /// A country the widget offers institutions from (`country_codes`, upper case as Belvo wants).
    CountryCode, "country code" {
        /// Mexico.
        Mx = "MX",
        /// Colombia.
        Co = "CO",
        /// Brazil.
        Br = "BR",
    }
}

spelled_enum! {
    /// Which of Belvo's two Connect Widgets a region uses.
    WidgetFamily, "widget family" {
        /// The multi-region widget (web SDK or hosted): credential-based institutions (Mexico).
        MultiRegion = "multi_region",
        /// Brazil's Open Finance Data Aggregation widget: hosted only, consent-based.
        Ofda = "ofda",
    }
}

spelled_enum! {
    /// Whether Belvo keeps a link up to date (`access_mode`).
    AccessMode, "access mode" {
        /// One-off: data is fetched once.
        Single = "single",
        /// Belvo refreshes the link and sends `new_*_available` webhooks. Belvo's default.
        Recurrent = "recurrent",
    }
}

spelled_enum! {
    /// A data product a region offers. Each has its own `fetch_resources` and institution types.
    Product, "product" {
        /// Bank accounts, transactions, owners (and enrichment, bills, investments in Brazil).
        Banking = "banking",
        /// Employment records (IMSS/ISSSTE in Mexico).
        Employment = "employment",
        /// Fiscal data (SAT in Mexico).
        Fiscal = "fiscal",
    }
}

spelled_enum! {
    /// An institution type the widget lists (`institution_types` start-up parameter).
    InstitutionType, "institution type" {
        /// Personal banking.
        Retail = "retail",
        /// Business banking.
        Business = "business",
        /// Tax authorities (SAT).
        Fiscal = "fiscal",
        /// Social-security institutions (IMSS, ISSSTE).
        Employment = "employment",
    }
}

spelled_enum! {
    /// A resource Belvo loads after link creation (`fetch_resources`); each one later produces a
    /// `historical_update` webhook. Spelled exactly as in Belvo's API.
    FetchResource, "fetch resource" {
        /// Bank accounts.
        Accounts = "ACCOUNTS",
        /// Bank transactions.
        Transactions = "TRANSACTIONS",
        /// Account holders.
        Owners = "OWNERS",
        /// Credit-card bills (OFDA).
        Bills = "BILLS",
        /// Investments (OFDA, opt-in).
        Investments = "INVESTMENTS",
        /// Investment transactions (OFDA, opt-in).
        InvestmentTransactions = "INVESTMENT_TRANSACTIONS",
        /// Foreign-exchange operations (OFDA, opt-in).
        Exchanges = "EXCHANGES",
        /// Enrichment: incomes (needs ACCOUNTS and TRANSACTIONS).
        Incomes = "INCOMES",
        /// Enrichment: recurring expenses (needs ACCOUNTS and TRANSACTIONS).
        RecurringExpenses = "RECURRING_EXPENSES",
        /// Enrichment: risk insights (needs ACCOUNTS and TRANSACTIONS).
        RiskInsights = "RISK_INSIGHTS",
        /// Employment records (Mexico).
        EmploymentRecords = "EMPLOYMENT_RECORDS",
        /// Current employments (Mexico, IMSS only, opt-in).
        CurrentEmployments = "CURRENT_EMPLOYMENTS",
        /// Employment metrics (Mexico, IMSS only, opt-in).
        EmploymentMetrics = "EMPLOYMENT_METRICS",
        /// Employments (Brazil employment product; not offered by either widget family here).
        Employments = "EMPLOYMENTS",
        /// Financial statements (SAT).
        FinancialStatements = "FINANCIAL_STATEMENTS",
        /// Invoices (SAT).
        Invoices = "INVOICES",
        /// Tax compliance status (SAT).
        TaxComplianceStatus = "TAX_COMPLIANCE_STATUS",
        /// Tax retentions (SAT).
        TaxRetentions = "TAX_RETENTIONS",
        /// Tax returns (SAT).
        TaxReturns = "TAX_RETURNS",
        /// Tax status (SAT).
        TaxStatus = "TAX_STATUS",
    }
}

impl FetchResource {
    /// Enrichment resources: Belvo computes them from accounts and transactions, so they are only
    /// produced when `ACCOUNTS` and `TRANSACTIONS` are fetched too.
    pub const fn is_enrichment(self) -> bool {
        matches!(
            self,
            Self::Incomes | Self::RecurringExpenses | Self::RiskInsights
        )
    }
}

use FetchResource as R;

/// OFDA banking (Belvo spec `fetch_resources_ofda_brazil`).
const OFDA_BANKING: &[FetchResource] = &[
    R::Accounts,
    R::Transactions,
    R::Owners,
    R::Bills,
    R::Investments,
    R::InvestmentTransactions,
    R::Exchanges,
    R::Incomes,
    R::RecurringExpenses,
    R::RiskInsights,
];
/// Multi-region (legacy Mexico) banking, with enrichment.
const MULTI_REGION_BANKING: &[FetchResource] = &[
    R::Accounts,
    R::Transactions,
    R::Owners,
    R::Incomes,
    R::RecurringExpenses,
    R::RiskInsights,
];
/// Belvo spec `fetch_resources_employment_mexico`.
const EMPLOYMENT_MX: &[FetchResource] = &[
    R::EmploymentRecords,
    R::CurrentEmployments,
    R::EmploymentMetrics,
];
/// Belvo spec `fetch_resources_fiscal_mexico`.
const FISCAL_MX: &[FetchResource] = &[
    R::FinancialStatements,
    R::Invoices,
    R::TaxComplianceStatus,
    R::TaxRetentions,
    R::TaxReturns,
    R::TaxStatus,
];

impl WidgetFamily {
    /// The `fetch_resources` this family accepts for a product; empty when it does not offer the
    /// product at all (the OFDA widget offers banking only).
    pub const fn allowed_fetch_resources(self, product: Product) -> &'static [FetchResource] {
        match (self, product) {
            (Self::Ofda, Product::Banking) => OFDA_BANKING,
            (Self::Ofda, Product::Employment | Product::Fiscal) => &[],
            (Self::MultiRegion, Product::Banking) => MULTI_REGION_BANKING,
            (Self::MultiRegion, Product::Employment) => EMPLOYMENT_MX,
            (Self::MultiRegion, Product::Fiscal) => FISCAL_MX,
        }
    }

    /// The institution types that go with a product; also the default when the file names none.
    pub const fn allowed_institution_types(self, product: Product) -> &'static [InstitutionType] {
        match (self, product) {
            (_, Product::Banking) => &[InstitutionType::Retail, InstitutionType::Business],
            (Self::Ofda, Product::Employment | Product::Fiscal) => &[],
            (Self::MultiRegion, Product::Employment) => &[InstitutionType::Employment],
            (Self::MultiRegion, Product::Fiscal) => &[InstitutionType::Fiscal],
        }
    }

    /// Whether this family offers the product.
    pub const fn offers(self, product: Product) -> bool {
        !self.allowed_fetch_resources(product).is_empty()
    }
}

/// How long Belvo keeps a link's data when the link is not updated (`stale_in`, `^\d{1,3}d$`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StaleIn {
    days: u16,
}

impl StaleIn {
    /// Belvo's default, 365 days.
    pub const DEFAULT: Self = Self { days: 365 };

    /// The number of days (1 to 999).
    pub const fn days(self) -> u16 {
        self.days
    }
}

impl Default for StaleIn {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Parses Belvo's `<days>d` form: one to three digits, then `d`.
fn parse_days(s: &str) -> Option<u16> {
    let digits = s.strip_suffix('d')?;
    if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Why a string is not a `stale_in` or `credentials_storage` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {kind}: {expected}")]
pub struct ParseRetentionError {
    kind: &'static str,
    value: String,
    expected: &'static str,
}

impl FromStr for StaleIn {
    type Err = ParseRetentionError;

    /// `^\d{1,3}d$` as in Belvo's spec. `0d` is refused too: it would make Belvo drop the data
    /// of every link at once, which is never what a region means.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match parse_days(s) {
            Some(days) if days > 0 => Ok(Self { days }),
            _ => Err(ParseRetentionError {
                kind: "stale_in",
                value: s.to_owned(),
                expected: "use a number of days from 1d to 999d, such as \"365d\"",
            }),
        }
    }
}

impl fmt::Display for StaleIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}d", self.days)
    }
}

impl serde::Serialize for StaleIn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Whether Belvo keeps the user's institution credentials (`credentials_storage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialsStorage {
    /// Until the link is deleted. The only value recurrent links accept.
    Store,
    /// Not at all (single links; Belvo then needs non-empty `fetch_resources`).
    NoStore,
    /// For this many days, 1 to 365 (single links; Belvo's default for them is 365).
    Days(u16),
}

impl FromStr for CredentialsStorage {
    type Err = ParseRetentionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "store" => Ok(Self::Store),
            "nostore" => Ok(Self::NoStore),
            _ => match parse_days(s) {
                Some(days @ 1..=365) => Ok(Self::Days(days)),
                _ => Err(ParseRetentionError {
                    kind: "credentials_storage",
                    value: s.to_owned(),
                    expected: "use \"store\", \"nostore\" or a number of days from 1d to 365d",
                }),
            },
        }
    }
}

impl fmt::Display for CredentialsStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Store => f.write_str("store"),
            Self::NoStore => f.write_str("nostore"),
            Self::Days(days) => write!(f, "{days}d"),
        }
    }
}

impl serde::Serialize for CredentialsStorage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The services that call Belvo, each with its share of a region's [`RateBudget`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BelvoCaller {
    /// Widget tokens: a user is waiting.
    TokenService,
    /// Link registration, status, refresh and deletion: mostly a user waiting.
    LinkService,
    /// Data pulls (sync).
    DataService,
}

impl BelvoCaller {
    /// Every caller, in the order of [`Shares`].
    pub const ALL: [Self; 3] = [Self::TokenService, Self::LinkService, Self::DataService];

    /// The key of its share in `rate_budget.shares`.
    pub const fn key(self) -> &'static str {
        match self {
            Self::TokenService => "token_service",
            Self::LinkService => "link_service",
            Self::DataService => "data_service",
        }
    }
}

/// Each caller's requests per window, in [`BelvoCaller::ALL`] order.
pub type Shares = [NonZeroU32; 3];

/// How many Belvo requests a region's callers may make per window, together: every service and
/// replica leaves through the same egress address, and Belvo's firewall answers 403 above about
/// 80 requests per 30 seconds from one address, so the default stays below that. Each service
/// has its share (its replicas share it through the service's database), and the shares sum to
/// at most the budget, so the interactive services' shares are never taken by sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RateBudget {
    /// Requests allowed per window, for every caller together.
    pub requests: NonZeroU32,
    /// The window, in seconds.
    pub per_seconds: NonZeroU32,
    /// Each caller's part of `requests`.
    pub shares: Shares,
}

impl RateBudget {
    /// 70 requests per 30 seconds: 7 for token-service, 21 for link-service, 42 for
    /// data-service.
    pub const DEFAULT: Self = Self::new(non_zero(70), non_zero(30));

    /// Builds a budget of `requests` per `per_seconds`, shared by default: a tenth to
    /// token-service, three tenths to link-service (registration, status checks, refresh and
    /// deletion, several calls a link), the rest to data-service (at least 1 each).
    pub const fn new(requests: NonZeroU32, per_seconds: NonZeroU32) -> Self {
        let r = requests.get();
        let token = non_zero(r / 10);
        let link = non_zero(r * 3 / 10);
        let data = non_zero(r.saturating_sub(token.get() + link.get()));
        Self {
            requests,
            per_seconds,
            shares: [token, link, data],
        }
    }

    /// The same budget with these shares.
    pub const fn with_shares(self, shares: Shares) -> Self {
        Self { shares, ..self }
    }

    /// `caller`'s requests per window.
    pub const fn share(&self, caller: BelvoCaller) -> NonZeroU32 {
        self.shares[caller as usize]
    }

    /// The window as a duration.
    pub const fn window(&self) -> Duration {
        Duration::from_secs(self.per_seconds.get() as u64)
    }
}

/// A non-zero constant (`NonZeroU32::new(..).unwrap()` without the panic path).
const fn non_zero(n: u32) -> NonZeroU32 {
    match NonZeroU32::new(n) {
        Some(n) => n,
        None => NonZeroU32::MIN,
    }
}

impl Default for RateBudget {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_their_exact_spelling() {
        for r in FetchResource::ALL {
            assert_eq!(r.as_str().parse::<FetchResource>().unwrap(), *r);
        }
        assert_eq!(
            "RISK_INSIGHTS".parse::<FetchResource>().unwrap(),
            FetchResource::RiskInsights
        );
        assert_eq!("MX".parse::<CountryCode>().unwrap(), CountryCode::Mx);
        assert_eq!(WidgetFamily::Ofda.to_string(), "ofda");
    }

    #[test]
    fn unknown_values_name_the_kind_and_list_the_choices() {
        let err = "mx".parse::<CountryCode>().unwrap_err().to_string();
        assert_eq!(err, "unknown country code `mx`; use MX, CO, BR");
        let err = "de".parse::<Locale>().unwrap_err().to_string();
        assert_eq!(err, "unknown locale `de`; use es, en, pt");
    }

    #[test]
    fn stale_in_follows_belvos_pattern() {
        assert_eq!("365d".parse::<StaleIn>().unwrap().days(), 365);
        assert_eq!("1d".parse::<StaleIn>().unwrap().to_string(), "1d");
        for bad in ["", "d", "365", "1000d", "0d", "-1d", "12 d", "30D", "1.5d"] {
            assert!(bad.parse::<StaleIn>().is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn credentials_storage_accepts_store_nostore_and_days() {
        assert_eq!(
            "store".parse::<CredentialsStorage>().unwrap(),
            CredentialsStorage::Store
        );
        assert_eq!(
            "nostore".parse::<CredentialsStorage>().unwrap(),
            CredentialsStorage::NoStore
        );
        assert_eq!(
            "30d".parse::<CredentialsStorage>().unwrap(),
            CredentialsStorage::Days(30)
        );
        assert_eq!(CredentialsStorage::Days(30).to_string(), "30d");
        for bad in ["0d", "366d", "Store", "forever"] {
            assert!(
                bad.parse::<CredentialsStorage>().is_err(),
                "{bad} should be refused"
            );
        }
    }

    #[test]
    fn families_offer_belvos_documented_resources() {
        use FetchResource as R;
        let ofda = WidgetFamily::Ofda;
        assert!(
            ofda.allowed_fetch_resources(Product::Banking)
                .contains(&R::Bills)
        );
        assert!(!ofda.offers(Product::Fiscal));
        let multi = WidgetFamily::MultiRegion;
        assert!(
            !multi
                .allowed_fetch_resources(Product::Banking)
                .contains(&R::Bills)
        );
        assert!(
            multi
                .allowed_fetch_resources(Product::Fiscal)
                .contains(&R::TaxStatus)
        );
        assert!(
            multi
                .allowed_fetch_resources(Product::Employment)
                .contains(&R::EmploymentMetrics)
        );
        // No family offers a product without institution types, or the other way round.
        for family in WidgetFamily::ALL {
            for product in Product::ALL {
                assert_eq!(
                    family.offers(*product),
                    !family.allowed_institution_types(*product).is_empty()
                );
            }
        }
    }

    #[test]
    fn rate_budget_default_is_below_belvos_firewall() {
        let budget = RateBudget::default();
        assert_eq!(budget.requests.get(), 70);
        assert_eq!(budget.window(), Duration::from_secs(30));
        let shares = BelvoCaller::ALL.map(|c| budget.share(c).get());
        assert_eq!(shares, [7, 21, 42]);
    }
}
