//! From the layered form (defaults, file, then environment, merged by `settings`) to the typed
//! `RegionsConfig`: parses every value, applies defaults, checks the rules Belvo imposes per
//! widget family and product, and resolves secrets. Every problem goes to the `settings`
//! report, each under its key (`regions.mx.locale`; the loader adds the variable that sets it),
//! so one run shows everything to fix.

use std::fmt::Display;
use std::num::NonZeroU32;
use std::str::FromStr;

use belvo::Environment;
use secrecy::{ExposeSecret, SecretString};
use settings::{Context, SecretSource};
use url::Url;

use crate::SecretsUsed;
use crate::raw::{RawBranding, RawCallbackUrls, RawConsent, RawFile, RawProduct, RawRegion};
use crate::region::{
    Branding, CallbackUrls, OfdaConsent, ProductConfig, Region, RegionId, RegionsConfig, ThemeEntry,
};
use crate::types::{
    AccessMode, BelvoCaller, CountryCode, CredentialsStorage, FetchResource, InstitutionType,
    Locale, Product, RateBudget, Shares, StaleIn, WidgetFamily,
};

/// Belvo's web SDK script (multi-region widget).
pub(crate) const DEFAULT_WIDGET_SCRIPT_URL: &str = "https://cdn.belvo.io/belvo-widget-1-stable.js";
/// Belvo's hosted widget.
pub(crate) const DEFAULT_HOSTED_WIDGET_URL: &str = "https://widget.belvo.io/";
/// Belvo's spec caps `widget.consent.purpose` at 140 characters; one doc page says 600. The
/// stricter limit fails at start-up instead of on every OFDA token request.
const CONSENT_PURPOSE_MAX_CHARS: usize = 140;
const REGION_ID_MAX_LEN: usize = 64;

/// Validates the whole configuration. (Ids that would share a variable prefix are the
/// loader's to report.)
pub(crate) fn config(
    file: RawFile,
    settings: &mut Context<'_>,
    used: SecretsUsed,
) -> Option<RegionsConfig> {
    if file.regions.0.is_empty() {
        settings.push(
            "regions",
            "no regions configured; add a [regions.<id>] table, such as [regions.mx]",
        );
        return None;
    }

    for (id, _) in &file.regions.0 {
        if let Some(message) = id_problem(id) {
            settings.push(&format!("regions.{id}"), message);
        }
    }

    let ids: Vec<String> = file.regions.0.iter().map(|(id, _)| id.clone()).collect();
    let default = match &file.default_region {
        None => Some(0),
        Some(wanted) => {
            let index = ids.iter().position(|id| id == wanted);
            if index.is_none() {
                settings.push(
                    "default_region",
                    format!(
                        "`{wanted}` is not a configured region; configured: {}",
                        ids.join(", ")
                    ),
                );
            }
            index
        }
    };

    let mut regions = Vec::with_capacity(file.regions.0.len());
    for (id, raw) in file.regions.0 {
        let mut cx = Cx {
            id: &id,
            used,
            settings: &mut *settings,
        };
        if let Some(region) = region(&mut cx, &raw) {
            regions.push(region);
        }
    }
    // Every region must be valid before the config is: `default` indexes the full list.
    if !settings.report().is_empty() || regions.len() != ids.len() {
        return None;
    }
    Some(RegionsConfig {
        regions,
        default: default?,
    })
}

fn id_problem(id: &str) -> Option<String> {
    let valid_chars = id
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if id.is_empty() || id.len() > REGION_ID_MAX_LEN || !valid_chars {
        Some(format!(
            "region ids are 1 to {REGION_ID_MAX_LEN} lowercase letters, digits, `_` or `-` \
             (they appear in URLs and variable names), not `{id}`"
        ))
    } else {
        None
    }
}

/// One region's validation context: names fields and collects problems.
struct Cx<'a, 'b> {
    id: &'a str,
    used: SecretsUsed,
    settings: &'a mut Context<'b>,
}

impl Cx<'_, '_> {
    /// `regions.mx.locale`.
    fn path(&self, key: &str) -> String {
        format!("regions.{}.{key}", self.id)
    }

    fn problem(&mut self, key: &str, message: impl Into<String>) {
        let key = self.path(key);
        self.settings.push(&key, message);
    }

    /// The variables that set `key` of this region (`REGION_MX_SECRET_ID`, `…_FILE`).
    fn variables(&self, key: &str) -> Vec<String> {
        self.settings.variables(&self.path(key))
    }

    fn parse<T>(&mut self, key: &str, text: &str) -> Option<T>
    where
        T: FromStr,
        T::Err: Display,
    {
        match text.parse() {
            Ok(value) => Some(value),
            Err(err) => {
                self.problem(key, err.to_string());
                None
            }
        }
    }

    fn required<T>(&mut self, key: &str, value: Option<T>, hint: &str) -> Option<T> {
        if value.is_none() {
            self.problem(key, format!("missing; {hint}"));
        }
        value
    }

    fn non_empty(&mut self, key: &str, value: Option<&str>, hint: &str) -> Option<String> {
        match value {
            None => self.required(key, None, hint),
            Some(text) if text.trim().is_empty() => {
                self.problem(key, format!("is empty; {hint}"));
                None
            }
            Some(text) => Some(text.to_owned()),
        }
    }

    /// An absolute http(s) URL.
    fn web_url(&mut self, key: &str, text: &str) -> Option<Url> {
        let url = self.any_url(key, text)?;
        if matches!(url.scheme(), "http" | "https") && url.has_host() {
            Some(url)
        } else {
            self.problem(key, format!("`{text}` is not an http(s) URL"));
            None
        }
    }

    /// Any absolute URL, deep links (`myapp://success`) included.
    fn any_url(&mut self, key: &str, text: &str) -> Option<Url> {
        match Url::parse(text) {
            Ok(url) => Some(url),
            Err(err) => {
                self.problem(key, format!("`{text}` is not a URL: {err}"));
                None
            }
        }
    }

    /// Parses a list of enum values, refusing an empty list and repeats.
    fn list<T>(&mut self, key: &str, items: &[String]) -> Option<Vec<T>>
    where
        T: FromStr + PartialEq + Display,
        T::Err: Display,
    {
        if items.is_empty() {
            self.problem(key, "is empty");
            return None;
        }
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in items {
            match self.parse::<T>(key, item) {
                Some(value) if out.contains(&value) => {
                    self.problem(key, format!("`{value}` is listed twice"));
                    ok = false;
                }
                Some(value) => out.push(value),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// Resolves a secret; refuses inline values for Belvo's real environments.
    fn secret(
        &mut self,
        key: &str,
        reference: Option<&SecretSource>,
        environment: Option<&Environment>,
    ) -> Option<SecretString> {
        let reference = reference?;
        if let (
            SecretSource::Value(_),
            Some(real @ (Environment::Production | Environment::Development)),
        ) = (reference, environment)
        {
            self.problem(
                key,
                format!(
                    "inline {{ value = … }} secrets are for local development; the {real} \
                     environment needs {{ env = \"VAR\" }} or {{ file = \"/path\" }}"
                ),
            );
            return None;
        }
        match self.settings.resolve(reference) {
            Ok(secret) => Some(secret),
            Err(message) => {
                self.problem(key, message);
                None
            }
        }
    }
}

fn region(cx: &mut Cx<'_, '_>, raw: &RawRegion) -> Option<Region> {
    let display_name = match raw.display_name.as_deref() {
        None => Some(cx.id.to_owned()),
        Some(name) => cx.non_empty("display_name", Some(name), "give the region a name"),
    };
    let environment: Option<Environment> = cx
        .required(
            "environment",
            raw.environment.as_deref(),
            "use sandbox, production, development or the emulator's http(s) base URL",
        )
        .and_then(|text| cx.parse("environment", text));
    let widget: Option<WidgetFamily> = cx
        .required(
            "widget",
            raw.widget.as_deref(),
            "use \"multi_region\" (Mexico) or \"ofda\" (Brazil Open Finance)",
        )
        .and_then(|text| cx.parse("widget", text));
    let ofda = widget == Some(WidgetFamily::Ofda);

    let locale = match raw.locale.as_deref() {
        Some(text) => cx.parse("locale", text),
        None => widget.map(|w| match w {
            WidgetFamily::Ofda => Locale::Pt,
            WidgetFamily::MultiRegion => Locale::Es,
        }),
    };
    if ofda && locale.is_some_and(|l| l != Locale::Pt) {
        cx.problem("locale", "the OFDA widget requires locale \"pt\"");
    }

    let country_codes: Option<Vec<CountryCode>> = match &raw.country_codes {
        Some(codes) => cx.list("country_codes", codes),
        None if ofda => Some(vec![CountryCode::Br]),
        None if widget.is_some() => cx.required(
            "country_codes",
            None,
            "list the countries whose institutions the widget offers, such as [\"MX\"]",
        ),
        None => None,
    };
    if ofda
        && let Some(codes) = &country_codes
        && codes.as_slice() != [CountryCode::Br]
    {
        cx.problem(
            "country_codes",
            "the OFDA widget serves Brazil only: use [\"BR\"]",
        );
    }

    let access_mode = match raw.access_mode.as_deref() {
        Some(text) => cx.parse("access_mode", text),
        None => Some(AccessMode::Recurrent),
    };
    let stale_in = match raw.stale_in.as_deref() {
        Some(text) => cx.parse("stale_in", text),
        None => Some(StaleIn::DEFAULT),
    };
    let credentials_storage = credentials_storage(cx, raw, widget, access_mode);

    let widget_script_url = cx.web_url(
        "widget_script_url",
        raw.widget_script_url
            .as_deref()
            .unwrap_or(DEFAULT_WIDGET_SCRIPT_URL),
    );
    let hosted_widget_url = cx.web_url(
        "hosted_widget_url",
        raw.hosted_widget_url
            .as_deref()
            .unwrap_or(DEFAULT_HOSTED_WIDGET_URL),
    );

    // A Belvo API key: required and resolved when this process uses the keys, else empty.
    let api_key = |cx: &mut Cx<'_, '_>, key: &str, reference: Option<&SecretSource>| {
        if !cx.used.belvo_keys() {
            return Some(SecretString::default());
        }
        let hint = format!(
            "use {{ env = \"VAR\" }} or {{ file = \"/path\" }}, or set {}",
            cx.variables(key).join(" or ")
        );
        let reference = cx.required(key, reference, &hint);
        cx.secret(key, reference, environment.as_ref())
    };
    let secret_id = api_key(cx, "secret_id", raw.secret_id.as_ref());
    let secret_password = api_key(cx, "secret_password", raw.secret_password.as_ref());
    let webhook_authorization = if cx.used.webhook_authorization() {
        webhook_authorization(cx, raw, environment.as_ref())
    } else {
        Some(None)
    };
    let (webhook_authorization, webhook_authorization_next) = match webhook_authorization {
        Some(Some((current, next))) => (Some(Some(current)), next),
        Some(None) => (Some(None), None),
        None => (None, None),
    };

    let rate_budget = rate_budget(cx, raw);
    let branding = cx
        .required(
            "branding",
            raw.branding.as_ref(),
            "add [regions.<id>.branding] with company_name, company_icon, company_logo and \
             company_terms_url",
        )
        .and_then(|b| branding(cx, b, ofda));
    let theme = theme(cx, raw);
    let callback_urls = match &raw.callback_urls {
        Some(urls) => callback_urls(cx, urls),
        None if ofda => {
            cx.problem(
                "callback_urls",
                "missing; the OFDA widget is hosted only and needs success, exit and event \
                 redirect URLs",
            );
            None
        }
        None => Some(None),
    };
    let consent = match (&raw.consent, widget) {
        (Some(consent), Some(WidgetFamily::Ofda)) => ofda_consent(cx, consent).map(Some),
        (None, Some(WidgetFamily::Ofda)) => cx.required(
            "consent",
            None,
            "the OFDA widget needs [regions.<id>.consent] with purpose and \
             terms_and_conditions_url",
        ),
        (Some(_), Some(WidgetFamily::MultiRegion)) => {
            cx.problem("consent", "applies to the OFDA widget only; remove it");
            None
        }
        (_, _) => Some(None),
    };
    let products = products(cx, raw, widget, country_codes.as_deref());

    let (
        Some(display_name),
        Some(environment),
        Some(secret_id),
        Some(secret_password),
        Some(widget),
        Some(locale),
        Some(country_codes),
        Some(access_mode),
        Some(stale_in),
        Some(credentials_storage),
        Some(widget_script_url),
        Some(hosted_widget_url),
        Some(webhook_authorization),
        Some(rate_budget),
        Some(branding),
        Some(theme),
        Some(callback_urls),
        Some(consent),
        Some(products),
    ) = (
        display_name,
        environment,
        secret_id,
        secret_password,
        widget,
        locale,
        country_codes,
        access_mode,
        stale_in,
        credentials_storage,
        widget_script_url,
        hosted_widget_url,
        webhook_authorization,
        rate_budget,
        branding,
        theme,
        callback_urls,
        consent,
        products,
    )
    else {
        return None;
    };
    Some(Region {
        id: RegionId(cx.id.to_owned()),
        display_name,
        environment,
        secret_id,
        secret_password,
        widget,
        locale,
        country_codes,
        access_mode,
        stale_in,
        credentials_storage,
        widget_script_url,
        hosted_widget_url,
        webhook_authorization,
        webhook_authorization_next,
        rate_budget,
        branding,
        theme,
        callback_urls,
        consent,
        products,
    })
}

/// `Some(None)`: valid and absent (OFDA).
fn credentials_storage(
    cx: &mut Cx<'_, '_>,
    raw: &RawRegion,
    widget: Option<WidgetFamily>,
    access_mode: Option<AccessMode>,
) -> Option<Option<CredentialsStorage>> {
    let key = "credentials_storage";
    match (raw.credentials_storage.as_deref(), widget) {
        (Some(_), Some(WidgetFamily::Ofda)) => {
            cx.problem(
                key,
                "does not apply to the OFDA widget (consent-based links store no credentials; \
                 Belvo's OFDA token has no such field); remove it",
            );
            None
        }
        (None, Some(WidgetFamily::Ofda)) => Some(None),
        // Belvo's defaults, made explicit so the token says what happens.
        (None, _) => Some(Some(match access_mode {
            Some(AccessMode::Single) => CredentialsStorage::Days(365),
            _ => CredentialsStorage::Store,
        })),
        (Some(text), _) => {
            let storage: CredentialsStorage = cx.parse(key, text)?;
            if access_mode == Some(AccessMode::Recurrent) && storage != CredentialsStorage::Store {
                cx.problem(
                    key,
                    format!(
                        "recurrent links always store credentials: use \"store\", or \
                         access_mode = \"single\" for \"{storage}\""
                    ),
                );
                return None;
            }
            // `nostore` needs non-empty fetch_resources: guaranteed, every product must list some.
            Some(Some(storage))
        }
    }
}

/// `Some(None)`: valid and absent.
/// The region's webhook `Authorization` values: the current one, and the next one during a
/// rotation.
fn webhook_authorization(
    cx: &mut Cx<'_, '_>,
    raw: &RawRegion,
    environment: Option<&Environment>,
) -> Option<Option<(SecretString, Option<SecretString>)>> {
    let key = "webhook_authorization";
    let Some(reference) = raw.webhook_authorization.as_ref() else {
        if raw.webhook_authorization_next.is_some() {
            cx.problem(
                "webhook_authorization_next",
                "is the value a rotation moves to: set it beside webhook_authorization, the \
                 value Belvo sends today",
            );
            return None;
        }
        if environment == Some(&Environment::Production) {
            cx.problem(
                key,
                "required in production: Belvo's webhooks carry no signature, so without it \
                 anyone could post to the webhook endpoint",
            );
            return None;
        }
        return Some(None);
    };
    let current = authorization_value(cx, key, reference, environment);
    let next = match raw.webhook_authorization_next.as_ref() {
        Some(reference) => Some(authorization_value(
            cx,
            "webhook_authorization_next",
            reference,
            environment,
        )?),
        None => None,
    };
    Some(Some((current?, next)))
}

/// One webhook `Authorization` value: the whole header value Belvo sends.
fn authorization_value(
    cx: &mut Cx<'_, '_>,
    key: &str,
    reference: &SecretSource,
    environment: Option<&Environment>,
) -> Option<SecretString> {
    let value = cx.secret(key, Some(reference), environment)?;
    let well_formed = value
        .expose_secret()
        .split_once(' ')
        .is_some_and(|(scheme, credentials)| {
            (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("basic"))
                && !credentials.trim().is_empty()
        });
    if !well_formed {
        cx.problem(
            key,
            "must be the whole Authorization header value Belvo sends, `Bearer <token>` or \
             `Basic <base64>` (value not shown)",
        );
        return None;
    }
    Some(value)
}

fn rate_budget(cx: &mut Cx<'_, '_>, raw: &RawRegion) -> Option<RateBudget> {
    let (requests, per_seconds, shares) = match &raw.rate_budget {
        Some(budget) => (budget.requests, budget.per_seconds, budget.shares.as_ref()),
        None => (None, None, None),
    };
    let field =
        |cx: &mut Cx<'_, '_>, key: &str, value: Option<i64>, default: NonZeroU32| match value {
            None => Some(default),
            Some(n) => match u32::try_from(n).ok().and_then(NonZeroU32::new) {
                Some(n) => Some(n),
                None => {
                    cx.problem(
                        key,
                        format!("must be a whole number from 1 to {}, not {n}", u32::MAX),
                    );
                    None
                }
            },
        };
    let requests = field(
        cx,
        "rate_budget.requests",
        requests,
        RateBudget::DEFAULT.requests,
    );
    let per_seconds = field(
        cx,
        "rate_budget.per_seconds",
        per_seconds,
        RateBudget::DEFAULT.per_seconds,
    );
    let budget = RateBudget::new(requests?, per_seconds?);
    let given = |caller: BelvoCaller| {
        shares.and_then(|s| match caller {
            BelvoCaller::TokenService => s.token_service,
            BelvoCaller::LinkService => s.link_service,
            BelvoCaller::DataService => s.data_service,
        })
    };
    let mut parts = Vec::with_capacity(BelvoCaller::ALL.len());
    for caller in BelvoCaller::ALL {
        let key = format!("rate_budget.shares.{}", caller.key());
        parts.push(field(cx, &key, given(caller), budget.share(caller)));
    }
    let shares: Shares = [parts[0]?, parts[1]?, parts[2]?];
    let total: u64 = shares.iter().map(|s| u64::from(s.get())).sum();
    if total > u64::from(budget.requests.get()) {
        let sum = BelvoCaller::ALL
            .iter()
            .zip(shares)
            .map(|(caller, share)| format!("{} {share}", caller.key()))
            .collect::<Vec<_>>()
            .join(" + ");
        cx.problem(
            "rate_budget.shares",
            format!(
                "{sum} = {total} is more than the budget's {} requests: every service and \
                 replica leaves through one address, and Belvo counts them together",
                budget.requests
            ),
        );
        return None;
    }
    Some(budget.with_shares(shares))
}

fn branding(cx: &mut Cx<'_, '_>, raw: &RawBranding, ofda: bool) -> Option<Branding> {
    let hint = "Belvo requires company_name, company_icon, company_logo and company_terms_url";
    let company_name = cx.non_empty("branding.company_name", raw.company_name.as_deref(), hint);
    let mut url = |key: &str, value: Option<&str>| {
        cx.required(key, value, hint)
            .and_then(|text| cx.web_url(key, text))
    };
    let company_icon = url("branding.company_icon", raw.company_icon.as_deref());
    let company_logo = url("branding.company_logo", raw.company_logo.as_deref());
    let company_terms_url = url(
        "branding.company_terms_url",
        raw.company_terms_url.as_deref(),
    );
    let mut ok = true;
    if ofda && raw.company_terms_version.is_some() {
        cx.problem(
            "branding.company_terms_version",
            "not accepted by the OFDA widget's token; remove it",
        );
        ok = false;
    }
    if !ofda && raw.show_belvo_middle_logo.is_some() {
        cx.problem(
            "branding.show_belvo_middle_logo",
            "applies to the OFDA widget only; remove it",
        );
        ok = false;
    }
    if let Some(color) = &raw.overlay_background_color
        && !is_hex_color(color)
    {
        cx.problem(
            "branding.overlay_background_color",
            format!("`{color}` is not a hex colour such as \"#F0F2F4\""),
        );
        ok = false;
    }
    if !ok {
        return None;
    }
    Some(Branding {
        company_name: company_name?,
        company_icon: company_icon?,
        company_logo: company_logo?,
        company_terms_url: company_terms_url?,
        company_terms_version: raw.company_terms_version.clone(),
        overlay_background_color: raw.overlay_background_color.clone(),
        social_proof: raw.social_proof,
        show_belvo_middle_logo: raw.show_belvo_middle_logo,
    })
}

fn is_hex_color(text: &str) -> bool {
    text.strip_prefix('#')
        .is_some_and(|hex| matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn theme(cx: &mut Cx<'_, '_>, raw: &RawRegion) -> Option<Vec<ThemeEntry>> {
    let Some(entries) = &raw.theme else {
        return Some(Vec::new());
    };
    let mut ok = true;
    let mut theme = Vec::with_capacity(entries.0.len());
    for (css_key, value) in &entries.0 {
        if !css_key.starts_with("--") {
            cx.problem(
                &format!("theme.\"{css_key}\""),
                "theme keys are CSS custom properties starting with `--`, such as \
                 \"--color-primary-base\"",
            );
            ok = false;
        } else if value.trim().is_empty() {
            cx.problem(&format!("theme.\"{css_key}\""), "is empty");
            ok = false;
        }
        theme.push(ThemeEntry {
            css_key: css_key.clone(),
            value: value.clone(),
        });
    }
    ok.then_some(theme)
}

/// `Some(Some(_))`: valid.
fn callback_urls(cx: &mut Cx<'_, '_>, raw: &RawCallbackUrls) -> Option<Option<CallbackUrls>> {
    let hint = "the widget redirects to success, exit and event; set all three";
    let mut url = |key: &str, value: Option<&str>| {
        cx.required(key, value, hint)
            .and_then(|text| cx.any_url(key, text))
    };
    let success = url("callback_urls.success", raw.success.as_deref());
    let exit = url("callback_urls.exit", raw.exit.as_deref());
    let event = url("callback_urls.event", raw.event.as_deref());
    Some(Some(CallbackUrls {
        success: success?,
        exit: exit?,
        event: event?,
    }))
}

fn ofda_consent(cx: &mut Cx<'_, '_>, raw: &RawConsent) -> Option<OfdaConsent> {
    let purpose = cx
        .non_empty(
            "consent.purpose",
            raw.purpose.as_deref(),
            "tell the user why the data is collected",
        )
        .filter(|purpose| {
            let chars = purpose.chars().count();
            let fits = chars <= CONSENT_PURPOSE_MAX_CHARS;
            if !fits {
                cx.problem(
                    "consent.purpose",
                    format!(
                        "is {chars} characters; Belvo's spec allows at most \
                         {CONSENT_PURPOSE_MAX_CHARS}"
                    ),
                );
            }
            fits
        });
    let terms_and_conditions_url = cx
        .required(
            "consent.terms_and_conditions_url",
            raw.terms_and_conditions_url.as_deref(),
            "link the terms the user consents to",
        )
        .and_then(|text| cx.web_url("consent.terms_and_conditions_url", text));
    let default_consent_duration_days = match raw.default_consent_duration_days {
        None => Some(None),
        Some(days) => match u16::try_from(days) {
            Ok(days) if OfdaConsent::DURATIONS_DAYS.contains(&days) => Some(Some(days)),
            _ => {
                cx.problem(
                    "consent.default_consent_duration_days",
                    format!("must be 92, 183, 275 or 366 (Belvo's choices), not {days}"),
                );
                None
            }
        },
    };
    Some(OfdaConsent {
        purpose: purpose?,
        terms_and_conditions_url: terms_and_conditions_url?,
        default_consent_duration_days: default_consent_duration_days?,
    })
}

fn names<T: Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn products(
    cx: &mut Cx<'_, '_>,
    raw: &RawRegion,
    widget: Option<WidgetFamily>,
    country_codes: Option<&[CountryCode]>,
) -> Option<Vec<ProductConfig>> {
    if raw.products.0.is_empty() {
        cx.problem(
            "products",
            "none configured; add at least one of [regions.<id>.products.banking], \
             [….products.employment] or [….products.fiscal]",
        );
        return None;
    }
    let mut ok = true;
    let mut out: Vec<ProductConfig> = Vec::with_capacity(raw.products.0.len());
    for (name, raw_product) in &raw.products.0 {
        let key = format!("products.{name}");
        let Some(product) = cx.parse::<Product>(&key, name) else {
            ok = false;
            continue;
        };
        match product_config(cx, &key, product, raw_product, widget, country_codes) {
            Some(config) => out.push(config),
            None => ok = false,
        }
    }
    out.sort_by_key(|p| p.product);
    ok.then_some(out)
}

fn product_config(
    cx: &mut Cx<'_, '_>,
    key: &str,
    product: Product,
    raw: &RawProduct,
    widget: Option<WidgetFamily>,
    country_codes: Option<&[CountryCode]>,
) -> Option<ProductConfig> {
    let Some(widget) = widget else {
        // Without a family nothing can be checked; the family's own problem is reported.
        return None;
    };
    if !widget.offers(product) {
        let offered: Vec<Product> = Product::ALL
            .iter()
            .copied()
            .filter(|p| widget.offers(*p))
            .collect();
        cx.problem(
            key,
            format!(
                "the {widget} widget does not offer {product}; it offers {}",
                names(&offered)
            ),
        );
        return None;
    }
    let mut ok = true;
    if widget == WidgetFamily::MultiRegion
        && matches!(product, Product::Employment | Product::Fiscal)
        && let Some(codes) = country_codes
        && !codes.contains(&CountryCode::Mx)
    {
        cx.problem(
            key,
            format!(
                "Belvo offers {product} through the multi_region widget in Mexico only: add \
                 \"MX\" to country_codes"
            ),
        );
        ok = false;
    }

    let allowed = widget.allowed_fetch_resources(product);
    let fr_key = format!("{key}.fetch_resources");
    let fetch_resources: Option<Vec<FetchResource>> = match &raw.fetch_resources {
        None => cx.required(
            &fr_key,
            None,
            &format!(
                "list what Belvo loads after the link is created, from {}",
                names(allowed)
            ),
        ),
        Some(list) if list.is_empty() => {
            cx.problem(
                &fr_key,
                format!(
                    "is empty; Belvo then loads nothing and sends no historical_update webhook \
                     (and credentials_storage = \"nostore\" refuses it): list some of {}",
                    names(allowed)
                ),
            );
            None
        }
        Some(list) => cx.list(&fr_key, list),
    };
    let fetch_resources = fetch_resources.filter(|resources| {
        let mut fine = true;
        for resource in resources {
            if !allowed.contains(resource) {
                cx.problem(
                    &fr_key,
                    format!(
                        "{resource} is not offered for {product} by the {widget} widget; use {}",
                        names(allowed)
                    ),
                );
                fine = false;
            }
        }
        let foundation = [FetchResource::Accounts, FetchResource::Transactions];
        if let Some(enrichment) = resources.iter().find(|r| r.is_enrichment())
            && !foundation.iter().all(|f| resources.contains(f))
        {
            cx.problem(
                &fr_key,
                format!(
                    "{enrichment} needs ACCOUNTS and TRANSACTIONS in the same list (Belvo \
                     computes enrichment from them)"
                ),
            );
            fine = false;
        }
        fine
    });

    let allowed_types = widget.allowed_institution_types(product);
    let it_key = format!("{key}.institution_types");
    let institution_types: Option<Vec<InstitutionType>> = match &raw.institution_types {
        None => Some(allowed_types.to_vec()),
        Some(list) => cx.list(&it_key, list),
    };
    let institution_types = institution_types.filter(|types| {
        let bad: Vec<&InstitutionType> = types
            .iter()
            .filter(|t| !allowed_types.contains(t))
            .collect();
        for t in &bad {
            cx.problem(
                &it_key,
                format!(
                    "{t} institutions do not offer {product}; use {}",
                    names(allowed_types)
                ),
            );
        }
        bad.is_empty()
    });

    if !ok {
        return None;
    }
    Some(ProductConfig {
        product,
        fetch_resources: fetch_resources?,
        institution_types: institution_types?,
    })
}
