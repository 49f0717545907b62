//! Loader tests: the shipped files, every validation rule with its message, environment
//! overrides, secret sources, and that no secret value reaches `Debug` or an error message.

use std::path::Path;

use secrecy::ExposeSecret;
use settings::Violation;

use super::*;

/// A minimal valid multi-region Mexico.
const MX: &str = r#"
[regions.mx]
environment = "sandbox"
secret_id = { env = "MX_ID" }
secret_password = { env = "MX_PASSWORD" }
widget = "multi_region"
country_codes = ["MX"]

[regions.mx.branding]
company_name = "ACME"
company_icon = "https://acme.example/icon.svg"
company_logo = "https://acme.example/logo.svg"
company_terms_url = "https://acme.example/terms"

[regions.mx.products.banking]
fetch_resources = ["ACCOUNTS", "TRANSACTIONS", "OWNERS"]
"#;

/// A minimal valid OFDA Brazil.
const BR: &str = r#"
[regions.br]
environment = "sandbox"
secret_id = { env = "BR_ID" }
secret_password = { env = "BR_PASSWORD" }
widget = "ofda"

[regions.br.branding]
company_name = "ACME"
company_icon = "https://acme.example/icon.svg"
company_logo = "https://acme.example/logo.svg"
company_terms_url = "https://acme.example/terms"

[regions.br.callback_urls]
success = "acme://success"
exit = "acme://exit"
event = "acme://event"

[regions.br.consent]
purpose = "Ofertas personalizadas"
terms_and_conditions_url = "https://acme.example/termos"

[regions.br.products.banking]
fetch_resources = ["ACCOUNTS", "TRANSACTIONS", "BILLS"]
"#;

const MX_ID: &str = "mx-id-2c9f0b";
const MX_PASSWORD: &str = "mx-password-77d1ae";
const ENV: &[(&str, &str)] = &[
    ("MX_ID", MX_ID),
    ("MX_PASSWORD", MX_PASSWORD),
    ("BR_ID", "br-id-value"),
    ("BR_PASSWORD", "br-password-value"),
];

/// `base` with `from` replaced by `to` (which must be there).
fn with(base: &str, from: &str, to: &str) -> String {
    assert!(base.contains(from), "`{from}` is not in the base TOML");
    base.replacen(from, to, 1)
}

/// `base` with `line` added to the `[regions.<id>]` table.
fn add(base: &str, id: &str, line: &str) -> String {
    with(
        base,
        &format!("[regions.{id}]\n"),
        &format!("[regions.{id}]\n{line}\n"),
    )
}

fn env_plus<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    ENV.iter().chain(extra).copied().collect()
}

fn load(toml: &str, env: &[(&str, &str)]) -> RegionsConfig {
    match RegionsConfig::from_toml_str(toml, env.iter().copied()) {
        Ok(config) => config,
        Err(err) => panic!("expected a valid configuration, got:\n{err}"),
    }
}

fn problems(toml: &str, env: &[(&str, &str)]) -> Vec<Violation> {
    match RegionsConfig::from_toml_str(toml, env.iter().copied()) {
        Err(ConfigError::Invalid { violations }) => violations,
        Err(other) => panic!("expected validation problems, got: {other}"),
        Ok(config) => panic!("expected validation problems, got a valid {config:?}"),
    }
}

/// A problem at `field` (its key, or where it is: `key (VARIABLE)`, or the variable at fault)
/// whose message contains `message_part`.
#[track_caller]
fn assert_problem(problems: &[Violation], field: &str, message_part: &str) {
    let found = problems
        .iter()
        .any(|p| (p.key == field || p.place() == field) && p.message.contains(message_part));
    let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        found,
        "no problem `{field}: …{message_part}…` in:\n{}",
        listed.join("\n")
    );
}

/// One problem, on `field`, containing `message_part`.
#[track_caller]
fn assert_only_problem(toml: &str, env: &[(&str, &str)], field: &str, message_part: &str) {
    let found = problems(toml, env);
    assert_problem(&found, field, message_part);
    assert_eq!(found.len(), 1, "expected one problem, got {found:#?}");
}

// ---------------------------------------------------------------------------------------------
// Shipped files.

/// The environment each shipped file needs: its `{ env = … }` secrets, and (for Brazil's mounted
/// secret files) `_FILE` overrides pointing at files written in `dir`.
fn shipped_env(name: &str, dir: &Path) -> Vec<(String, String)> {
    match name {
        "mexico-brazil.toml" => {
            let mut env = vec![
                ("BELVO_MX_SECRET_ID".to_owned(), "mx-id".to_owned()),
                (
                    "BELVO_MX_SECRET_PASSWORD".to_owned(),
                    "mx-password".to_owned(),
                ),
                (
                    "BELVO_MX_WEBHOOK_AUTHORIZATION".to_owned(),
                    "Bearer mx-hook".to_owned(),
                ),
            ];
            for (field, value) in [
                ("SECRET_ID", "br-id\n"),
                ("SECRET_PASSWORD", "br-password\n"),
                ("WEBHOOK_AUTHORIZATION", "Basic YnI6aG9vaw==\n"),
            ] {
                let path = dir.join(field.to_ascii_lowercase());
                std::fs::write(&path, value).unwrap();
                env.push((
                    format!("REGION_BR_{field}_FILE"),
                    path.display().to_string(),
                ));
            }
            env
        }
        "local.toml" => Vec::new(),
        other => panic!("shipped file {other} has no test environment: add one here"),
    }
}

#[test]
fn every_shipped_file_is_embedded_and_validates() {
    let config_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let secrets = tempfile::tempdir().unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(&config_dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let on_disk = std::fs::read_to_string(&path).unwrap();
        let embedded = shipped::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("{name} is not in shipped::ALL"));
        assert_eq!(embedded.1, on_disk, "{name}: shipped::ALL is stale");
        let config = RegionsConfig::load(
            Some(&path),
            shipped_env(&name, secrets.path()),
            SecretsUsed::All,
        )
        .unwrap_or_else(|err| panic!("{name} does not validate:\n{err}"));
        assert!(!config.regions().is_empty());
        seen += 1;
    }
    assert_eq!(seen, shipped::ALL.len());
}

#[test]
fn mexico_brazil_has_the_documented_regions() {
    let secrets = tempfile::tempdir().unwrap();
    let env = shipped_env("mexico-brazil.toml", secrets.path());
    let config = RegionsConfig::from_toml_str(shipped::MEXICO_BRAZIL, env).unwrap();
    assert_eq!(config.ids().collect::<Vec<_>>(), ["mx", "br"]);
    assert_eq!(config.default_region().id().as_str(), "mx");

    let mx = config.region("mx").unwrap();
    assert_eq!(mx.display_name(), "Mexico");
    assert_eq!(mx.widget(), WidgetFamily::MultiRegion);
    assert_eq!(mx.environment(), &Environment::Sandbox);
    assert_eq!(
        mx.products().iter().map(|p| p.product).collect::<Vec<_>>(),
        [Product::Banking, Product::Employment, Product::Fiscal]
    );
    assert_eq!(mx.credentials_storage(), Some(CredentialsStorage::Store));
    assert_eq!(mx.rate_budget(), RateBudget::DEFAULT);
    assert_eq!(mx.theme()[0].css_key, "--color-primary-base");

    let br = config.region("br").unwrap();
    assert_eq!(br.widget(), WidgetFamily::Ofda);
    assert_eq!(br.locale(), Locale::Pt);
    assert_eq!(br.country_codes(), [CountryCode::Br]);
    assert_eq!(br.credentials_storage(), None);
    assert!(br.consent().is_some() && br.callback_urls().is_some());
    // Mounted secret files lose their trailing newline.
    assert_eq!(br.secret_id().expose_secret(), "br-id");
    assert_eq!(
        br.webhook_authorization().unwrap().expose_secret(),
        "Basic YnI6aG9vaw=="
    );
    assert!(matches!(
        br.product(Product::Fiscal),
        Err(ProductNotOffered {
            product: Product::Fiscal,
            ..
        })
    ));
}

#[test]
fn mexico_brazil_also_passes_the_production_rules() {
    let secrets = tempfile::tempdir().unwrap();
    let mut env = shipped_env("mexico-brazil.toml", secrets.path());
    env.push(("REGION_MX_ENVIRONMENT".to_owned(), "production".to_owned()));
    env.push(("REGION_BR_ENVIRONMENT".to_owned(), "production".to_owned()));
    let config = RegionsConfig::from_toml_str(shipped::MEXICO_BRAZIL, env).unwrap();
    assert_eq!(
        config.region("br").unwrap().base_url().as_str(),
        "https://api.belvo.com/"
    );
}

#[test]
fn local_points_mexico_at_the_emulator_with_inline_secrets() {
    let config = RegionsConfig::from_toml_str(shipped::LOCAL, [("UNRELATED", "x")]).unwrap();
    let mx = config.default_region();
    assert_eq!(mx.base_url().as_str(), "http://127.0.0.1:8090/");
    assert_eq!(mx.secret_id().expose_secret(), "local-secret-id");
    assert_eq!(
        mx.secret_password().expose_secret(),
        "local-secret-password"
    );
    assert_eq!(
        mx.webhook_authorization().unwrap().expose_secret(),
        "Bearer local-webhook-token"
    );
}

#[test]
fn a_test_can_move_the_local_region_to_its_own_emulator_port() {
    let config = RegionsConfig::from_toml_str(
        shipped::LOCAL,
        [("REGION_MX_ENVIRONMENT", "http://127.0.0.1:41234")],
    )
    .unwrap();
    assert_eq!(
        config.default_region().base_url().as_str(),
        "http://127.0.0.1:41234/"
    );
}

#[test]
fn local_secrets_are_refused_once_pointed_at_belvo_production() {
    let found = problems(shipped::LOCAL, &[("REGION_MX_ENVIRONMENT", "production")]);
    for field in ["secret_id", "secret_password", "webhook_authorization"] {
        assert_problem(
            &found,
            &format!("regions.mx.{field}"),
            "inline { value = … } secrets are for local development; the production environment",
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Lookups.

#[test]
fn the_minimal_regions_take_belvos_defaults() {
    let config = load(&format!("{MX}{BR}"), ENV);
    let mx = config.region("mx").unwrap();
    assert_eq!(mx.display_name(), "mx");
    assert_eq!(mx.locale(), Locale::Es);
    assert_eq!(mx.access_mode(), AccessMode::Recurrent);
    assert_eq!(mx.stale_in(), StaleIn::DEFAULT);
    assert_eq!(mx.credentials_storage(), Some(CredentialsStorage::Store));
    assert_eq!(
        mx.widget_script_url().as_str(),
        "https://cdn.belvo.io/belvo-widget-1-stable.js"
    );
    assert_eq!(mx.hosted_widget_url().as_str(), "https://widget.belvo.io/");
    assert_eq!(mx.rate_budget().requests.get(), 70);
    assert!(mx.webhook_authorization().is_none());
    assert_eq!(
        mx.product(Product::Banking).unwrap().institution_types,
        [InstitutionType::Retail, InstitutionType::Business]
    );
    let br = config.region("br").unwrap();
    assert_eq!(
        (br.locale(), br.country_codes()),
        (Locale::Pt, &[CountryCode::Br][..])
    );

    let single = load(&add(MX, "mx", "access_mode = \"single\""), ENV);
    assert_eq!(
        single.default_region().credentials_storage(),
        Some(CredentialsStorage::Days(365))
    );
}

#[test]
fn unknown_region_lists_the_configured_ones() {
    let config = load(&format!("{MX}{BR}"), ENV);
    let err = config.region("co").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown region `co`; configured regions: mx, br"
    );
}

#[test]
fn the_default_region_is_the_first_in_the_file_unless_named() {
    // Not alphabetical: `mx` comes first in the file.
    let both = format!("{MX}{BR}");
    assert_eq!(load(&both, ENV).default_region().id().as_str(), "mx");
    let reversed = format!("{BR}{MX}");
    let config = load(&reversed, ENV);
    assert_eq!(config.default_region().id().as_str(), "br");
    assert_eq!(config.ids().collect::<Vec<_>>(), ["br", "mx"]);

    let named = format!("default_region = \"br\"\n{MX}{BR}");
    assert_eq!(load(&named, ENV).default_region().id().as_str(), "br");

    let overridden = load(&named, &env_plus(&[("REGIONS_DEFAULT_REGION", "mx")]));
    assert_eq!(overridden.default_region().id().as_str(), "mx");

    let unknown = format!("default_region = \"co\"\n{MX}");
    assert_only_problem(
        &unknown,
        ENV,
        "default_region",
        "`co` is not a configured region; configured: mx",
    );
    assert_only_problem(
        MX,
        &env_plus(&[("REGIONS_DEFAULT_REGION", "co")]),
        "default_region (REGIONS_DEFAULT_REGION)",
        "`co` is not a configured region",
    );
}

#[test]
fn products_and_fetch_resources_for_a_token() {
    let toml = with(
        MX,
        "[regions.mx.products.banking]",
        "[regions.mx.products.fiscal]\n\
         fetch_resources = [\"TAX_STATUS\", \"INVOICES\"]\n\
         [regions.mx.products.banking]",
    );
    let config = load(&toml, ENV);
    let mx = config.default_region();
    // Products come in Product order whatever the file's order.
    assert_eq!(
        mx.products().iter().map(|p| p.product).collect::<Vec<_>>(),
        [Product::Banking, Product::Fiscal]
    );
    // A product keeps the file's order.
    assert_eq!(
        mx.product(Product::Fiscal).unwrap().fetch_resources,
        [FetchResource::TaxStatus, FetchResource::Invoices]
    );
    // The union is in FetchResource order, whatever order the products are asked in.
    let expected = [
        FetchResource::Accounts,
        FetchResource::Transactions,
        FetchResource::Owners,
        FetchResource::Invoices,
        FetchResource::TaxStatus,
    ];
    assert_eq!(
        mx.fetch_resources_for(&[Product::Fiscal, Product::Banking])
            .unwrap(),
        expected
    );
    assert_eq!(
        mx.fetch_resources_for(&[Product::Banking, Product::Fiscal, Product::Banking])
            .unwrap(),
        expected
    );
    assert_eq!(
        mx.institution_types_for(&[Product::Fiscal, Product::Banking])
            .unwrap(),
        [
            InstitutionType::Retail,
            InstitutionType::Business,
            InstitutionType::Fiscal
        ]
    );
    assert!(mx.offers(Product::Fiscal) && !mx.offers(Product::Employment));
    let err = mx
        .fetch_resources_for(&[Product::Banking, Product::Employment])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "region `mx` does not offer employment; it offers banking, fiscal"
    );
}

// ---------------------------------------------------------------------------------------------
// Secrets.

#[test]
fn secrets_come_from_the_given_environment() {
    let config = load(MX, ENV);
    let mx = config.default_region();
    assert_eq!(mx.secret_id().expose_secret(), MX_ID);
    assert_eq!(mx.secret_password().expose_secret(), MX_PASSWORD);
}

#[test]
fn each_process_resolves_only_the_secrets_it_uses() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("regions.toml");
    let toml = add(
        &with(
            MX,
            "environment = \"sandbox\"",
            "environment = \"production\"",
        ),
        "mx",
        "webhook_authorization = { env = \"MX_WEBHOOK\" }",
    );
    std::fs::write(&path, toml).unwrap();
    let load =
        |env: &[(&str, &str)], used| RegionsConfig::load(Some(&path), env.iter().copied(), used);
    let webhook = ("MX_WEBHOOK", "Bearer hook-token-51");

    // The gateway: the webhook value, no API keys (none set, none held).
    let gateway = load(&[webhook], SecretsUsed::WebhookAuthorization).unwrap();
    let mx = gateway.default_region();
    assert_eq!(
        mx.webhook_authorization().unwrap().expose_secret(),
        "Bearer hook-token-51"
    );
    assert!(mx.secret_id().expose_secret().is_empty());
    assert!(mx.secret_password().expose_secret().is_empty());

    // A service that calls Belvo: the keys, and no webhook value even in production.
    let service = load(ENV, SecretsUsed::BelvoKeys).unwrap();
    let mx = service.default_region();
    assert_eq!(mx.secret_id().expose_secret(), MX_ID);
    assert!(mx.webhook_authorization().is_none());

    // Each still needs what it uses; All needs both.
    let err = load(ENV, SecretsUsed::WebhookAuthorization).unwrap_err();
    assert!(err.to_string().contains("MX_WEBHOOK"), "{err}");
    let err = load(&[webhook], SecretsUsed::BelvoKeys).unwrap_err();
    assert!(err.to_string().contains("MX_ID"), "{err}");
    assert!(load(ENV, SecretsUsed::All).is_err());
    assert!(load(&env_plus(&[webhook]), SecretsUsed::All).is_ok());
}

#[test]
fn the_process_environment_is_not_read() {
    // PATH is set in the process, but not in the environment handed to the loader.
    assert!(std::env::var_os("PATH").is_some());
    let toml = with(MX, "{ env = \"MX_ID\" }", "{ env = \"PATH\" }");
    assert_only_problem(
        &toml,
        ENV,
        "regions.mx.secret_id",
        "environment variable PATH is not set",
    );
}

#[test]
fn a_missing_or_empty_secret_variable_is_named_with_its_region_and_field() {
    let found = problems(MX, &[("MX_ID", "")]);
    assert_problem(
        &found,
        "regions.mx.secret_id",
        "environment variable MX_ID is empty",
    );
    assert_problem(
        &found,
        "regions.mx.secret_password",
        "environment variable MX_PASSWORD is not set",
    );
    assert_eq!(found.len(), 2);
}

#[test]
fn secrets_from_files_lose_their_trailing_newline_and_resolve_next_to_the_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("secrets")).unwrap();
    std::fs::write(dir.path().join("secrets/id"), "file-id\n").unwrap();
    std::fs::write(dir.path().join("password"), "file password \r\n").unwrap();
    let toml = with(
        &with(MX, "{ env = \"MX_ID\" }", "{ file = \"secrets/id\" }"),
        "{ env = \"MX_PASSWORD\" }",
        &format!("{{ file = \"{}\" }}", dir.path().join("password").display()),
    );
    let path = dir.path().join("regions.toml");
    std::fs::write(&path, toml).unwrap();
    let config = RegionsConfig::load(Some(&path), ENV.iter().copied(), SecretsUsed::All).unwrap();
    let mx = config.default_region();
    assert_eq!(mx.secret_id().expose_secret(), "file-id");
    // Only line endings are trimmed; other whitespace may be part of a secret.
    assert_eq!(mx.secret_password().expose_secret(), "file password ");
}

#[test]
fn a_missing_or_empty_secret_file_is_named_by_path() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let missing = dir.path().join("missing");
    let toml = with(
        &with(
            MX,
            "{ env = \"MX_ID\" }",
            &format!("{{ file = \"{}\" }}", empty.display()),
        ),
        "{ env = \"MX_PASSWORD\" }",
        &format!("{{ file = \"{}\" }}", missing.display()),
    );
    let found = problems(&toml, ENV);
    assert_problem(
        &found,
        "regions.mx.secret_id",
        &format!("secret file {} is empty", empty.display()),
    );
    assert_problem(
        &found,
        "regions.mx.secret_password",
        &format!("cannot read secret file {}", missing.display()),
    );
}

#[test]
fn secrets_can_be_set_or_pointed_to_by_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("password");
    std::fs::write(&file, "from-file\n").unwrap();
    let file = file.display().to_string();
    // The file's references are not needed when overrides supply the secrets.
    let toml = with(
        &with(MX, "secret_id = { env = \"MX_ID\" }\n", ""),
        "secret_password = { env = \"MX_PASSWORD\" }\n",
        "",
    );
    let config = load(
        &toml,
        &[
            ("REGION_MX_SECRET_ID", "from-variable"),
            ("REGION_MX_SECRET_PASSWORD_FILE", &file),
        ],
    );
    let mx = config.default_region();
    assert_eq!(mx.secret_id().expose_secret(), "from-variable");
    assert_eq!(mx.secret_password().expose_secret(), "from-file");

    let found = problems(&toml, &[]);
    assert_problem(
        &found,
        "regions.mx.secret_id",
        "missing; use { env = \"VAR\" } or { file = \"/path\" }, or set REGION_MX_SECRET_ID or \
         REGION_MX_SECRET_ID_FILE",
    );

    assert_only_problem(
        MX,
        &env_plus(&[
            ("REGION_MX_SECRET_ID", "a"),
            ("REGION_MX_SECRET_ID_FILE", &file),
        ]),
        "regions.mx.secret_id (REGION_MX_SECRET_ID_FILE)",
        "REGION_MX_SECRET_ID sets the same field; set only one of them",
    );
}

#[test]
fn inline_secrets_are_for_local_development_only() {
    let inline = with(MX, "{ env = \"MX_ID\" }", "{ value = \"inline-id-91c2\" }");
    // Sandbox and the emulator accept them.
    load(&inline, ENV);
    load(
        &with(&inline, "\"sandbox\"", "\"http://127.0.0.1:8090\""),
        ENV,
    );
    for real in ["production", "development"] {
        let toml = with(&inline, "\"sandbox\"", &format!("\"{real}\""));
        assert_problem(
            &problems(&toml, ENV),
            "regions.mx.secret_id",
            &format!("the {real} environment needs {{ env = \"VAR\" }} or {{ file = \"/path\" }}"),
        );
    }
}

#[test]
fn debug_output_and_errors_never_show_a_secret() {
    let toml = add(
        &with(MX, "{ env = \"MX_ID\" }", "{ value = \"inline-id-91c2\" }"),
        "mx",
        "webhook_authorization = { env = \"HOOK\" }",
    );
    let config = load(&toml, &env_plus(&[("HOOK", "Bearer hook-token-5e1f")]));
    let debug = format!("{config:?} {:#?}", config.default_region());
    for secret in ["inline-id-91c2", MX_PASSWORD, "hook-token-5e1f"] {
        assert!(!debug.contains(secret), "Debug shows {secret}: {debug}");
    }
    assert!(debug.contains("REDACTED"));

    // A secret written as a bare string is refused without being echoed.
    let bare = with(MX, "{ env = \"MX_ID\" }", "\"bare-secret-3a7b\"");
    let err = RegionsConfig::from_toml_str(&bare, ENV.iter().copied()).unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("bare-secret-3a7b"), "{shown}");
    assert!(shown.contains("not a bare string"), "{shown}");

    // A malformed webhook Authorization value is refused without being echoed.
    let found = problems(
        &add(MX, "mx", "webhook_authorization = { env = \"HOOK\" }"),
        &env_plus(&[("HOOK", "hook-without-scheme-8d2c")]),
    );
    assert_problem(
        &found,
        "regions.mx.webhook_authorization",
        "`Bearer <token>` or `Basic <base64>` (value not shown)",
    );
    assert!(!format!("{found:?}").contains("hook-without-scheme-8d2c"));
}

#[test]
fn production_requires_a_webhook_authorization() {
    let toml = with(MX, "\"sandbox\"", "\"production\"");
    assert_only_problem(
        &toml,
        ENV,
        "regions.mx.webhook_authorization",
        "required in production",
    );
    let with_hook = add(&toml, "mx", "webhook_authorization = { env = \"HOOK\" }");
    let config = load(&with_hook, &env_plus(&[("HOOK", "basic dXNlcjpwYXNz")]));
    assert!(config.default_region().webhook_authorization().is_some());
}

#[test]
fn a_webhook_authorization_rotation_accepts_both_values() {
    let hooks = &env_plus(&[("HOOK", "Bearer old-7c1e"), ("NEXT", "Bearer new-2b9d")]);
    let rotating = add(
        MX,
        "mx",
        "webhook_authorization = { env = \"HOOK\" }\nwebhook_authorization_next = { env = \"NEXT\" }",
    );
    let config = load(&rotating, hooks);
    let values: Vec<&str> = config
        .default_region()
        .webhook_authorizations()
        .map(|v| v.expose_secret())
        .collect();
    assert_eq!(values, ["Bearer old-7c1e", "Bearer new-2b9d"]);
    let current_only = add(MX, "mx", "webhook_authorization = { env = \"HOOK\" }");
    assert_eq!(
        load(&current_only, hooks)
            .default_region()
            .webhook_authorizations()
            .count(),
        1
    );

    // The next value alone is a mistake, and a malformed one is refused like the current.
    let next_only = add(MX, "mx", "webhook_authorization_next = { env = \"NEXT\" }");
    assert_only_problem(
        &next_only,
        hooks,
        "regions.mx.webhook_authorization_next",
        "set it beside webhook_authorization",
    );
    let malformed = add(
        MX,
        "mx",
        "webhook_authorization = { env = \"HOOK\" }\nwebhook_authorization_next = { env = \"BAD\" }",
    );
    assert_only_problem(
        &malformed,
        &env_plus(&[("HOOK", "Bearer old-7c1e"), ("BAD", "no-scheme")]),
        "regions.mx.webhook_authorization_next",
        "`Bearer <token>` or `Basic <base64>`",
    );
}

// ---------------------------------------------------------------------------------------------
// Environment overrides.

#[test]
fn scalar_fields_are_overridden_per_region() {
    let config = load(
        &format!("{MX}{BR}"),
        &env_plus(&[
            ("REGION_MX_ENVIRONMENT", "http://127.0.0.1:8090"),
            ("REGION_MX_LOCALE", "en"),
            ("REGION_MX_COUNTRY_CODES", "MX, CO"),
            ("REGION_MX_DISPLAY_NAME", "México"),
            ("REGION_MX_STALE_IN", "90d"),
            ("REGION_MX_ACCESS_MODE", "single"),
            ("REGION_MX_CREDENTIALS_STORAGE", "nostore"),
            ("REGION_MX_RATE_BUDGET_REQUESTS", "10"),
            (
                "REGION_MX_WIDGET_SCRIPT_URL",
                "http://127.0.0.1:8090/widget.js",
            ),
            ("REGION_BR_RATE_BUDGET_PER_SECONDS", "60"),
            ("UNRELATED_VARIABLE", "ignored"),
        ]),
    );
    let mx = config.region("mx").unwrap();
    assert_eq!(mx.base_url().as_str(), "http://127.0.0.1:8090/");
    assert_eq!(mx.locale(), Locale::En);
    assert_eq!(mx.country_codes(), [CountryCode::Mx, CountryCode::Co]);
    assert_eq!(mx.display_name(), "México");
    assert_eq!(mx.stale_in().days(), 90);
    assert_eq!(mx.credentials_storage(), Some(CredentialsStorage::NoStore));
    assert_eq!(mx.rate_budget().requests.get(), 10);
    assert_eq!(mx.rate_budget().per_seconds.get(), 30);
    assert_eq!(
        mx.widget_script_url().as_str(),
        "http://127.0.0.1:8090/widget.js"
    );
    let br = config.region("br").unwrap();
    assert_eq!(br.rate_budget().per_seconds.get(), 60);
    assert_eq!(br.locale(), Locale::Pt);
}

/// Everything a loaded region holds, secrets included, to tell whether an override changed it.
fn fingerprint(config: &RegionsConfig, id: &str) -> String {
    let region = config.region(id).unwrap();
    format!(
        "{region:?} {} {} {:?}",
        region.secret_id().expose_secret(),
        region.secret_password().expose_secret(),
        region
            .webhook_authorizations()
            .map(ExposeSecret::expose_secret)
            .collect::<Vec<_>>()
    )
}

#[test]
fn every_scalar_field_of_a_region_is_overridable_with_its_derived_name() {
    // The names come from the region's type; this walks the same type independently, so a
    // field added to a region is covered (and needs a test value below) or the test fails.
    fn leaves(schema: &settings::Schema, key: &str, out: &mut Vec<String>) {
        use settings::Schema as S;
        let join = |k: &str| {
            if key.is_empty() {
                k.to_owned()
            } else {
                format!("{key}.{k}")
            }
        };
        match schema {
            S::Struct(fields) => {
                for (k, schema) in &fields.fields {
                    leaves(schema, &join(k), out);
                }
            }
            S::Scalar(_) | S::Secret => out.push(key.to_owned()),
            S::List(item) if matches!(**item, S::Scalar(_)) => out.push(key.to_owned()),
            S::List(_) | S::Map(_) | S::Any => {}
        }
    }
    let mut expected = Vec::new();
    leaves(&settings::Schema::of::<raw::RawRegion>(), "", &mut expected);
    let fields = override_fields();
    let mut derived: Vec<String> = fields.iter().map(|f| f.key.clone()).collect();
    derived.dedup();
    assert_eq!(derived, expected);
    for a in &fields {
        for b in &fields {
            assert!(
                !a.suffix.ends_with(&format!("_{}", b.suffix)),
                "REGION_X_{} would also read as region X_.. field {}",
                a.suffix,
                b.suffix
            );
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, "Bearer from-file\n").unwrap();
    let secret_file = secret_file.display().to_string();
    let no_widget = with(MX, "widget = \"multi_region\"\n", "");
    let single = add(MX, "mx", "access_mode = \"single\"");
    let hooked = add(
        MX,
        "mx",
        "webhook_authorization = { value = \"Bearer current\" }",
    );
    for field in &fields {
        let (base, id, value): (&str, &str, &str) = match field.suffix.as_str() {
            "DISPLAY_NAME" => (MX, "mx", "México"),
            "ENVIRONMENT" => (MX, "mx", "http://127.0.0.1:8090"),
            "SECRET_ID" | "SECRET_PASSWORD" => (MX, "mx", "from-variable"),
            "WIDGET" => (&no_widget, "mx", "multi_region"),
            "LOCALE" => (MX, "mx", "en"),
            "COUNTRY_CODES" => (MX, "mx", "MX, CO"),
            "ACCESS_MODE" => (MX, "mx", "single"),
            "STALE_IN" => (MX, "mx", "30d"),
            "CREDENTIALS_STORAGE" => (&single, "mx", "nostore"),
            "WIDGET_SCRIPT_URL" | "HOSTED_WIDGET_URL" => (MX, "mx", "https://widget.example/"),
            "WEBHOOK_AUTHORIZATION" => (MX, "mx", "Bearer from-variable"),
            "WEBHOOK_AUTHORIZATION_NEXT" => (&hooked, "mx", "Bearer from-variable"),
            "WEBHOOK_AUTHORIZATION_NEXT_FILE" => (&hooked, "mx", &secret_file),
            s if s.ends_with("_FILE") => (MX, "mx", &secret_file),
            "RATE_BUDGET_REQUESTS" | "RATE_BUDGET_PER_SECONDS" => (MX, "mx", "5"),
            s if s.starts_with("RATE_BUDGET_SHARES_") => (MX, "mx", "3"),
            "BRANDING_COMPANY_NAME" => (MX, "mx", "Other"),
            "BRANDING_COMPANY_ICON" | "BRANDING_COMPANY_LOGO" | "BRANDING_COMPANY_TERMS_URL" => {
                (MX, "mx", "https://other.example/x")
            }
            "BRANDING_COMPANY_TERMS_VERSION" => (MX, "mx", "2"),
            "BRANDING_OVERLAY_BACKGROUND_COLOR" => (MX, "mx", "#FFF"),
            "BRANDING_SOCIAL_PROOF" => (MX, "mx", "false"),
            "BRANDING_SHOW_BELVO_MIDDLE_LOGO" => (BR, "br", "true"),
            "CALLBACK_URLS_SUCCESS" | "CALLBACK_URLS_EXIT" | "CALLBACK_URLS_EVENT" => {
                (BR, "br", "acme://other")
            }
            "CONSENT_PURPOSE" => (BR, "br", "Outra finalidade"),
            "CONSENT_TERMS_AND_CONDITIONS_URL" => (BR, "br", "https://acme.example/outros"),
            "CONSENT_DEFAULT_CONSENT_DURATION_DAYS" => (BR, "br", "92"),
            other => panic!(
                "REGION_<ID>_{other} ({}) has no test value: add one",
                field.key
            ),
        };
        let var = format!("REGION_{}_{}", id.to_uppercase(), field.suffix);
        let before = RegionsConfig::from_toml_str(base, ENV.iter().copied())
            .ok()
            .map(|config| fingerprint(&config, id));
        let after = match RegionsConfig::from_toml_str(base, env_plus(&[(&var, value)])) {
            Ok(config) => fingerprint(&config, id),
            Err(err) => panic!("{var} ({}): {err}", field.key),
        };
        assert_ne!(before, Some(after), "{var} did not change {}", field.key);
    }
}

#[test]
fn the_override_names_deployments_use_are_kept() {
    let suffixes: Vec<String> = override_fields().into_iter().map(|f| f.suffix).collect();
    for used in [
        "DISPLAY_NAME",
        "ENVIRONMENT",
        "SECRET_ID",
        "SECRET_ID_FILE",
        "SECRET_PASSWORD",
        "SECRET_PASSWORD_FILE",
        "WIDGET",
        "LOCALE",
        "COUNTRY_CODES",
        "ACCESS_MODE",
        "STALE_IN",
        "CREDENTIALS_STORAGE",
        "WIDGET_SCRIPT_URL",
        "HOSTED_WIDGET_URL",
        "WEBHOOK_AUTHORIZATION",
        "WEBHOOK_AUTHORIZATION_FILE",
        "WEBHOOK_AUTHORIZATION_NEXT",
        "WEBHOOK_AUTHORIZATION_NEXT_FILE",
        "RATE_BUDGET_REQUESTS",
        "RATE_BUDGET_PER_SECONDS",
    ] {
        assert!(
            suffixes.iter().any(|s| s == used),
            "REGION_<ID>_{used} is gone"
        );
    }
    // REGIONS_DEFAULT_REGION is the name settings derives for `default_region`.
    let err =
        RegionsConfig::from_toml_str(MX, env_plus(&[(DEFAULT_REGION_VAR, "co")])).unwrap_err();
    assert_eq!(
        err.violations()[0].variable.as_deref(),
        Some(DEFAULT_REGION_VAR)
    );
}

#[test]
fn override_problems_name_the_variable() {
    assert_only_problem(
        MX,
        &env_plus(&[("REGION_MX_LOCALE", "de")]),
        "regions.mx.locale (REGION_MX_LOCALE)",
        "unknown locale `de`; use es, en, pt",
    );
    assert_only_problem(
        MX,
        &env_plus(&[("REGION_MX_RATE_BUDGET_REQUESTS", "lots")]),
        "regions.mx.rate_budget.requests (REGION_MX_RATE_BUDGET_REQUESTS)",
        "`lots` is not a whole number",
    );
    // Every problem names the variable that would set its key, whoever set it.
    assert_only_problem(
        &add(MX, "mx", "locale = \"de\""),
        ENV,
        "regions.mx.locale (REGION_MX_LOCALE)",
        "unknown locale `de`",
    );
}

#[test]
fn unknown_override_variables_are_refused_as_typos() {
    let found = problems(
        MX,
        &env_plus(&[
            ("REGION_MX_LOCAL", "en"),
            ("REGION_CO_LOCALE", "es"),
            ("REGIONS_FIEL", "x.toml"),
        ]),
    );
    assert_problem(
        &found,
        "REGION_MX_LOCAL",
        "matches no region and field: REGION_<ID>_<FIELD> with <ID> one of MX and <FIELD> one of \
         DISPLAY_NAME,",
    );
    assert_problem(&found, "REGION_CO_LOCALE", "matches no region and field");
    assert_problem(
        &found,
        "REGIONS_FIEL",
        "unknown variable; the REGIONS_* variables are REGIONS_FILE and REGIONS_DEFAULT_REGION",
    );
    assert_eq!(found.len(), 3);
}

#[test]
fn secret_variables_named_like_overrides_are_not_typos() {
    let toml = with(
        MX,
        "{ env = \"MX_ID\" }",
        "{ env = \"REGION_MX_BELVO_ID\" }",
    );
    let config = load(&toml, &env_plus(&[("REGION_MX_BELVO_ID", "prefixed-id")]));
    assert_eq!(
        config.default_region().secret_id().expose_secret(),
        "prefixed-id"
    );
}

#[test]
fn overrides_find_regions_whose_ids_share_a_prefix() {
    let toml = format!("{MX}{}", MX.replace("regions.mx", "regions.mx-north"));
    let config = load(
        &toml,
        &env_plus(&[("REGION_MX_LOCALE", "en"), ("REGION_MX_NORTH_LOCALE", "pt")]),
    );
    assert_eq!(config.region("mx").unwrap().locale(), Locale::En);
    let north = config.region("mx-north").unwrap();
    assert_eq!(north.locale(), Locale::Pt);
    assert_eq!(north.id().env_key(), "MX_NORTH");
}

#[test]
fn ids_that_collide_in_variable_names_are_refused() {
    let toml = format!(
        "{}{}",
        MX.replace("regions.mx", "regions.mx-north"),
        MX.replace("regions.mx", "regions.mx_north")
    );
    assert_only_problem(
        &toml,
        ENV,
        "regions.mx_north",
        "ids `mx-north` and `mx_north` share the variable prefix REGION_MX_NORTH_; rename one",
    );
}

// ---------------------------------------------------------------------------------------------
// Loading.

#[test]
fn the_file_comes_from_the_argument_or_regions_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("regions.toml");
    std::fs::write(&path, MX).unwrap();
    let path_text = path.display().to_string();
    let from_var = RegionsConfig::load(
        None,
        env_plus(&[("REGIONS_FILE", &path_text)]),
        SecretsUsed::All,
    )
    .unwrap();
    assert_eq!(from_var.default_region().id().as_str(), "mx");

    // An explicit path wins over REGIONS_FILE.
    let explicit = RegionsConfig::load(
        Some(&path),
        env_plus(&[("REGIONS_FILE", "/nonexistent/regions.toml")]),
        SecretsUsed::All,
    );
    assert!(explicit.is_ok());

    let none = RegionsConfig::load(None, ENV.iter().copied(), SecretsUsed::All).unwrap_err();
    assert!(matches!(none, ConfigError::NoFile { .. }));
    assert_eq!(
        none.to_string(),
        "no configuration file: pass a path or set REGIONS_FILE"
    );

    let missing = dir.path().join("missing.toml");
    let err =
        RegionsConfig::load(Some(&missing), ENV.iter().copied(), SecretsUsed::All).unwrap_err();
    assert!(matches!(&err, ConfigError::MissingFile(path) if path == &missing));

    // A folder is not a file: the I/O error is the source.
    let err =
        RegionsConfig::load(Some(dir.path()), ENV.iter().copied(), SecretsUsed::All).unwrap_err();
    assert!(matches!(&err, ConfigError::ReadFile { .. }), "{err}");
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn unknown_keys_are_refused_with_their_position() {
    let toml = add(MX, "mx", "locael = \"es\"");
    assert_only_problem(
        &toml,
        ENV,
        "regions.mx.locael",
        "unknown key (in <inline TOML>, line 3); the keys here are display_name, environment,",
    );
    for (nested, key) in [
        (
            with(MX, "company_name = \"ACME\"", "company_nam = \"ACME\""),
            "regions.mx.branding.company_nam",
        ),
        (
            with(MX, "fetch_resources =", "fetch_resource ="),
            "regions.mx.products.banking.fetch_resource",
        ),
        (format!("regions_default = \"mx\"\n{MX}"), "regions_default"),
        (
            add(MX, "mx", "rate_budget = { requests = 1, per_second = 1 }"),
            "regions.mx.rate_budget.per_second",
        ),
    ] {
        let found = problems(&nested, ENV);
        assert_problem(&found, key, "unknown key (in <inline TOML>, line ");
    }
    // Each is reported, and so is everything else wrong: the loader drops an unknown key and
    // goes on.
    let found = problems(
        &add(
            &with(MX, "company_name = \"ACME\"", "company_nam = \"ACME\""),
            "mx",
            "locael = \"es\"\nlocale = \"de\"",
        ),
        ENV,
    );
    assert_problem(&found, "regions.mx.locael", "unknown key");
    assert_problem(&found, "regions.mx.branding.company_nam", "unknown key");
    assert_problem(&found, "regions.mx.locale", "unknown locale `de`");
    assert_problem(&found, "regions.mx.branding.company_name", "missing");
    assert_eq!(found.len(), 4, "{found:#?}");
}

#[test]
fn toml_syntax_errors_give_the_position_and_never_the_line() {
    let toml = with(MX, "{ env = \"MX_ID\" }", "\"unterminated-secret-6f0e");
    let err = RegionsConfig::from_toml_str(&toml, ENV.iter().copied()).unwrap_err();
    assert!(
        matches!(&err, ConfigError::Parse { line: Some(4), .. }),
        "{err:?}"
    );
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("unterminated-secret-6f0e"), "{shown}");
    assert!(
        shown.starts_with("configuration <inline TOML>, line 4"),
        "{shown}"
    );
}

// ---------------------------------------------------------------------------------------------
// Validation: one rule per test, each with its message.

#[test]
fn all_problems_are_reported_at_once() {
    let toml = add(
        &with(
            &with(
                MX,
                "country_codes = [\"MX\"]",
                "country_codes = [\"MX\", \"AR\"]",
            ),
            "\"OWNERS\"",
            "\"BILLS\"",
        ),
        "mx",
        "locale = \"de\"\nstale_in = \"1y\"\nrate_budget = { requests = 0 }",
    );
    let toml = format!(
        "{toml}{}",
        BR.replace("widget = \"ofda\"", "widget = \"ofdaa\"")
    );
    let err = RegionsConfig::from_toml_str(&toml, ENV.iter().copied()).unwrap_err();
    let found = err.violations();
    assert_problem(found, "regions.mx.locale", "unknown locale `de`");
    assert_problem(
        found,
        "regions.mx.country_codes",
        "unknown country code `AR`",
    );
    assert_problem(found, "regions.mx.stale_in", "`1y` is not a valid stale_in");
    assert_problem(
        found,
        "regions.mx.rate_budget.requests",
        "must be a whole number from 1",
    );
    assert_problem(
        found,
        "regions.mx.products.banking.fetch_resources",
        "BILLS is not offered for banking by the multi_region widget",
    );
    assert_problem(found, "regions.br.widget", "unknown widget family `ofdaa`");
    assert_eq!(found.len(), 6, "{err}");
    let shown = err.to_string();
    assert!(
        shown.starts_with("invalid configuration (6 problems):\n  - regions.mx."),
        "{shown}"
    );
}

#[test]
fn no_regions() {
    for toml in ["", "default_region = \"mx\"\n", "[regions]\n"] {
        assert_only_problem(toml, ENV, "regions", "no regions configured");
    }
}

#[test]
fn region_ids_are_lowercase_slugs() {
    for bad in ["MX", "mx.north", "méxico", "mx north"] {
        let toml = MX.replace("regions.mx", &format!("regions.\"{bad}\""));
        let found = problems(&toml, ENV);
        assert_problem(
            &found,
            &format!("regions.{bad}"),
            "region ids are 1 to 64 lowercase letters, digits, `_` or `-`",
        );
    }
    load(&MX.replace("regions.mx", "regions.mx_2-a"), ENV);
}

#[test]
fn environment_is_required_and_parsed() {
    assert_only_problem(
        &with(MX, "environment = \"sandbox\"\n", ""),
        ENV,
        "regions.mx.environment",
        "missing; use sandbox, production, development or the emulator's http(s) base URL",
    );
    assert_only_problem(
        &with(MX, "\"sandbox\"", "\"sandbx\""),
        ENV,
        "regions.mx.environment",
        "`sandbx` is not a Belvo environment",
    );
}

#[test]
fn widget_family_is_required_and_parsed() {
    assert_only_problem(
        &with(MX, "widget = \"multi_region\"\n", ""),
        ENV,
        "regions.mx.widget",
        "missing; use \"multi_region\" (Mexico) or \"ofda\" (Brazil Open Finance)",
    );
    assert_only_problem(
        &with(MX, "\"multi_region\"", "\"multi-region\""),
        ENV,
        "regions.mx.widget",
        "unknown widget family `multi-region`; use multi_region, ofda",
    );
}

#[test]
fn unknown_locale() {
    assert_only_problem(
        &add(MX, "mx", "locale = \"es-MX\""),
        ENV,
        "regions.mx.locale",
        "unknown locale `es-MX`; use es, en, pt",
    );
}

#[test]
fn bad_country_codes() {
    assert_only_problem(
        &with(MX, "[\"MX\"]", "[\"mx\"]"),
        ENV,
        "regions.mx.country_codes",
        "unknown country code `mx`; use MX, CO, BR",
    );
    assert_only_problem(
        &with(MX, "[\"MX\"]", "[]"),
        ENV,
        "regions.mx.country_codes",
        "is empty",
    );
    assert_only_problem(
        &with(MX, "[\"MX\"]", "[\"MX\", \"MX\"]"),
        ENV,
        "regions.mx.country_codes",
        "`MX` is listed twice",
    );
    assert_only_problem(
        &with(MX, "country_codes = [\"MX\"]\n", ""),
        ENV,
        "regions.mx.country_codes",
        "missing; list the countries",
    );
}

#[test]
fn ofda_serves_brazil_in_portuguese() {
    assert_only_problem(
        &add(BR, "br", "country_codes = [\"MX\"]"),
        ENV,
        "regions.br.country_codes",
        "the OFDA widget serves Brazil only: use [\"BR\"]",
    );
    assert_only_problem(
        &add(BR, "br", "country_codes = [\"BR\", \"CO\"]"),
        ENV,
        "regions.br.country_codes",
        "the OFDA widget serves Brazil only",
    );
    assert_only_problem(
        &add(BR, "br", "locale = \"es\""),
        ENV,
        "regions.br.locale",
        "the OFDA widget requires locale \"pt\"",
    );
}

#[test]
fn ofda_needs_callback_urls_and_consent_and_takes_no_credentials_storage() {
    let no_callbacks = with(
        BR,
        "[regions.br.callback_urls]\nsuccess = \"acme://success\"\nexit = \"acme://exit\"\n\
         event = \"acme://event\"\n",
        "",
    );
    assert_only_problem(
        &no_callbacks,
        ENV,
        "regions.br.callback_urls",
        "missing; the OFDA widget is hosted only",
    );
    let no_consent = with(
        BR,
        "[regions.br.consent]\npurpose = \"Ofertas personalizadas\"\n\
         terms_and_conditions_url = \"https://acme.example/termos\"\n",
        "",
    );
    assert_only_problem(
        &no_consent,
        ENV,
        "regions.br.consent",
        "missing; the OFDA widget needs [regions.<id>.consent]",
    );
    assert_only_problem(
        &add(BR, "br", "credentials_storage = \"store\""),
        ENV,
        "regions.br.credentials_storage",
        "does not apply to the OFDA widget",
    );
}

#[test]
fn consent_settings_are_checked() {
    let long = "x".repeat(141);
    assert_only_problem(
        &with(BR, "Ofertas personalizadas", &long),
        ENV,
        "regions.br.consent.purpose",
        "is 141 characters; Belvo's spec allows at most 140",
    );
    load(&with(BR, "Ofertas personalizadas", &"é".repeat(140)), ENV);
    assert_only_problem(
        &with(BR, "Ofertas personalizadas", " "),
        ENV,
        "regions.br.consent.purpose",
        "is empty",
    );
    assert_only_problem(
        &with(
            BR,
            "terms_and_conditions_url = \"https://acme.example/termos\"",
            "terms_and_conditions_url = \"https://acme.example/termos\"\n\
             default_consent_duration_days = 90",
        ),
        ENV,
        "regions.br.consent.default_consent_duration_days",
        "must be 92, 183, 275 or 366 (Belvo's choices), not 90",
    );
    assert_only_problem(
        &with(BR, "\"https://acme.example/termos\"", "\"termos.html\""),
        ENV,
        "regions.br.consent.terms_and_conditions_url",
        "`termos.html` is not a URL",
    );
    let consent_on_mx = format!(
        "{MX}[regions.mx.consent]\npurpose = \"x\"\nterms_and_conditions_url = \"https://a.example\"\n"
    );
    assert_only_problem(
        &consent_on_mx,
        ENV,
        "regions.mx.consent",
        "applies to the OFDA widget only",
    );
}

#[test]
fn callback_urls_need_all_three() {
    let toml = format!("{MX}[regions.mx.callback_urls]\nsuccess = \"acme://success\"\n");
    let found = problems(&toml, ENV);
    assert_problem(
        &found,
        "regions.mx.callback_urls.exit",
        "missing; the widget redirects",
    );
    assert_problem(&found, "regions.mx.callback_urls.event", "missing");
    assert_eq!(found.len(), 2);
}

#[test]
fn fetch_resources_must_suit_the_widget_family_and_product() {
    assert_only_problem(
        &with(MX, "\"OWNERS\"", "\"BILLS\""),
        ENV,
        "regions.mx.products.banking.fetch_resources",
        "BILLS is not offered for banking by the multi_region widget; use ACCOUNTS, \
         TRANSACTIONS, OWNERS, INCOMES, RECURRING_EXPENSES, RISK_INSIGHTS",
    );
    assert_only_problem(
        &with(MX, "\"OWNERS\"", "\"INVOICES\""),
        ENV,
        "regions.mx.products.banking.fetch_resources",
        "INVOICES is not offered for banking",
    );
    assert_only_problem(
        &with(MX, "\"OWNERS\"", "\"OWNER\""),
        ENV,
        "regions.mx.products.banking.fetch_resources",
        "unknown fetch resource `OWNER`",
    );
    assert_only_problem(
        &with(MX, "\"OWNERS\"", "\"ACCOUNTS\""),
        ENV,
        "regions.mx.products.banking.fetch_resources",
        "`ACCOUNTS` is listed twice",
    );
    assert_only_problem(
        &with(
            MX,
            "[regions.mx.products.banking]",
            "[regions.mx.products.employment]\nfetch_resources = [\"EMPLOYMENTS\"]\n\
             [regions.mx.products.banking]",
        ),
        ENV,
        "regions.mx.products.employment.fetch_resources",
        "EMPLOYMENTS is not offered for employment by the multi_region widget; use \
         EMPLOYMENT_RECORDS, CURRENT_EMPLOYMENTS, EMPLOYMENT_METRICS",
    );
    // OFDA takes Brazil's extra resources.
    load(
        &with(
            BR,
            "\"BILLS\"",
            "\"BILLS\", \"INVESTMENTS\", \"EXCHANGES\", \"RISK_INSIGHTS\"",
        ),
        ENV,
    );
}

#[test]
fn enrichment_needs_accounts_and_transactions() {
    for family in [MX, BR] {
        let id = if family == MX { "mx" } else { "br" };
        let toml = with(
            family,
            "\"ACCOUNTS\", \"TRANSACTIONS\"",
            "\"ACCOUNTS\", \"INCOMES\"",
        );
        assert_only_problem(
            &toml,
            ENV,
            &format!("regions.{id}.products.banking.fetch_resources"),
            "INCOMES needs ACCOUNTS and TRANSACTIONS in the same list",
        );
    }
    load(
        &with(
            MX,
            "\"OWNERS\"",
            "\"RISK_INSIGHTS\", \"RECURRING_EXPENSES\"",
        ),
        ENV,
    );
}

#[test]
fn fetch_resources_must_be_listed() {
    assert_only_problem(
        &with(MX, "[\"ACCOUNTS\", \"TRANSACTIONS\", \"OWNERS\"]", "[]"),
        ENV,
        "regions.mx.products.banking.fetch_resources",
        "is empty; Belvo then loads nothing and sends no historical_update webhook (and \
         credentials_storage = \"nostore\" refuses it)",
    );
    assert_only_problem(
        &with(
            MX,
            "fetch_resources = [\"ACCOUNTS\", \"TRANSACTIONS\", \"OWNERS\"]",
            "institution_types = [\"retail\"]",
        ),
        ENV,
        "regions.mx.products.banking.fetch_resources",
        "missing; list what Belvo loads after the link is created",
    );
}

#[test]
fn products_must_exist_and_be_offered() {
    assert_only_problem(
        &with(
            MX,
            "[regions.mx.products.banking]\nfetch_resources = [\"ACCOUNTS\", \"TRANSACTIONS\", \
             \"OWNERS\"]\n",
            "",
        ),
        ENV,
        "regions.mx.products",
        "none configured",
    );
    assert_only_problem(
        &with(MX, "products.banking", "products.payments"),
        ENV,
        "regions.mx.products.payments",
        "unknown product `payments`; use banking, employment, fiscal",
    );
    assert_only_problem(
        &format!("{BR}[regions.br.products.fiscal]\nfetch_resources = [\"INVOICES\"]\n"),
        ENV,
        "regions.br.products.fiscal",
        "the ofda widget does not offer fiscal; it offers banking",
    );
    assert_only_problem(
        &with(
            &with(MX, "[\"MX\"]", "[\"CO\"]"),
            "[regions.mx.products.banking]",
            "[regions.mx.products.fiscal]\nfetch_resources = [\"INVOICES\"]\n\
             [regions.mx.products.banking]",
        ),
        ENV,
        "regions.mx.products.fiscal",
        "Belvo offers fiscal through the multi_region widget in Mexico only",
    );
}

#[test]
fn institution_types_must_suit_the_product() {
    assert_only_problem(
        &with(
            MX,
            "\"OWNERS\"]",
            "\"OWNERS\"]\ninstitution_types = [\"retail\", \"fiscal\"]",
        ),
        ENV,
        "regions.mx.products.banking.institution_types",
        "fiscal institutions do not offer banking; use retail, business",
    );
    assert_only_problem(
        &with(
            MX,
            "\"OWNERS\"]",
            "\"OWNERS\"]\ninstitution_types = [\"gig\"]",
        ),
        ENV,
        "regions.mx.products.banking.institution_types",
        "unknown institution type `gig`",
    );
}

#[test]
fn bad_stale_in() {
    for bad in ["1000d", "365", "0d", "1y"] {
        assert_only_problem(
            &add(MX, "mx", &format!("stale_in = \"{bad}\"")),
            ENV,
            "regions.mx.stale_in",
            &format!("`{bad}` is not a valid stale_in: use a number of days from 1d to 999d"),
        );
    }
}

#[test]
fn recurrent_links_must_store_credentials() {
    for storage in ["nostore", "30d"] {
        assert_only_problem(
            &add(MX, "mx", &format!("credentials_storage = \"{storage}\"")),
            ENV,
            "regions.mx.credentials_storage",
            &format!(
                "recurrent links always store credentials: use \"store\", or access_mode = \
                 \"single\" for \"{storage}\""
            ),
        );
    }
    let single = add(
        MX,
        "mx",
        "access_mode = \"single\"\ncredentials_storage = \"nostore\"",
    );
    assert_eq!(
        load(&single, ENV).default_region().credentials_storage(),
        Some(CredentialsStorage::NoStore)
    );
    assert_only_problem(
        &add(MX, "mx", "credentials_storage = \"366d\""),
        ENV,
        "regions.mx.credentials_storage",
        "`366d` is not a valid credentials_storage",
    );
    assert_only_problem(
        &add(MX, "mx", "access_mode = \"sometimes\""),
        ENV,
        "regions.mx.access_mode",
        "unknown access mode `sometimes`; use single, recurrent",
    );
}

#[test]
fn rate_budget_must_be_positive() {
    assert_only_problem(
        &add(MX, "mx", "rate_budget = { requests = 0, per_seconds = 30 }"),
        ENV,
        "regions.mx.rate_budget.requests",
        "must be a whole number from 1 to 4294967295, not 0",
    );
    assert_only_problem(
        &add(MX, "mx", "rate_budget = { per_seconds = -5 }"),
        ENV,
        "regions.mx.rate_budget.per_seconds",
        "not -5",
    );
    let partial = load(&add(MX, "mx", "rate_budget = { requests = 40 }"), ENV);
    let budget = partial.default_region().rate_budget();
    assert_eq!((budget.requests.get(), budget.per_seconds.get()), (40, 30));
}

#[test]
fn each_service_has_a_share_and_the_shares_fit_in_the_budget() {
    let shares = |toml: &str, env: &[(&str, &str)]| {
        let budget = load(toml, env).default_region().rate_budget();
        BelvoCaller::ALL.map(|c| budget.share(c).get())
    };
    // By default a tenth, three tenths and the rest.
    assert_eq!(
        shares(&add(MX, "mx", "rate_budget = { requests = 100 }"), ENV),
        [10, 30, 60]
    );
    let explicit = add(
        MX,
        "mx",
        "rate_budget = { requests = 80, per_seconds = 30, shares = { token_service = 5, \
         link_service = 15, data_service = 50 } }",
    );
    assert_eq!(shares(&explicit, ENV), [5, 15, 50]);
    // The environment sets one share like any other key.
    assert_eq!(
        shares(
            &explicit,
            &env_plus(&[("REGION_MX_RATE_BUDGET_SHARES_DATA_SERVICE", "60")])
        ),
        [5, 15, 60]
    );
    // Shares over the budget are refused, naming the region and the sum.
    assert_only_problem(
        &explicit,
        &env_plus(&[("REGION_MX_RATE_BUDGET_SHARES_DATA_SERVICE", "61")]),
        "regions.mx.rate_budget.shares",
        "token_service 5 + link_service 15 + data_service 61 = 81 is more than the budget's 80",
    );
    assert_only_problem(
        &add(MX, "mx", "rate_budget = { shares = { link_service = 0 } }"),
        ENV,
        "regions.mx.rate_budget.shares.link_service",
        "not 0",
    );
}

#[test]
fn branding_is_required_and_checked() {
    let no_branding = with(
        MX,
        "[regions.mx.branding]\ncompany_name = \"ACME\"\n\
         company_icon = \"https://acme.example/icon.svg\"\n\
         company_logo = \"https://acme.example/logo.svg\"\n\
         company_terms_url = \"https://acme.example/terms\"\n",
        "",
    );
    assert_only_problem(
        &no_branding,
        ENV,
        "regions.mx.branding",
        "missing; add [regions.<id>.branding]",
    );
    let found = problems(
        &with(
            &with(MX, "company_logo = \"https://acme.example/logo.svg\"\n", ""),
            "\"https://acme.example/icon.svg\"",
            "\"ftp://acme.example/icon.svg\"",
        ),
        ENV,
    );
    assert_problem(&found, "regions.mx.branding.company_logo", "missing");
    assert_problem(
        &found,
        "regions.mx.branding.company_icon",
        "`ftp://acme.example/icon.svg` is not an http(s) URL",
    );
    assert_eq!(found.len(), 2);
    assert_only_problem(
        &with(
            MX,
            "company_name = \"ACME\"",
            "company_name = \"ACME\"\noverlay_background_color = \"red\"",
        ),
        ENV,
        "regions.mx.branding.overlay_background_color",
        "`red` is not a hex colour",
    );
    assert_only_problem(
        &with(
            MX,
            "company_name = \"ACME\"",
            "company_name = \"ACME\"\nshow_belvo_middle_logo = true",
        ),
        ENV,
        "regions.mx.branding.show_belvo_middle_logo",
        "applies to the OFDA widget only",
    );
    assert_only_problem(
        &with(
            BR,
            "company_name = \"ACME\"",
            "company_name = \"ACME\"\ncompany_terms_version = \"1\"",
        ),
        ENV,
        "regions.br.branding.company_terms_version",
        "not accepted by the OFDA widget's token",
    );
}

#[test]
fn theme_keys_are_css_custom_properties() {
    let toml = format!("{MX}[regions.mx.theme]\n\"color-primary\" = \"#000\"\n");
    assert_only_problem(
        &toml,
        ENV,
        "regions.mx.theme.\"color-primary\"",
        "theme keys are CSS custom properties starting with `--`",
    );
}

#[test]
fn urls_are_checked() {
    assert_only_problem(
        &add(MX, "mx", "widget_script_url = \"cdn.belvo.io/widget.js\""),
        ENV,
        "regions.mx.widget_script_url",
        "`cdn.belvo.io/widget.js` is not a URL",
    );
}

// ---------------------------------------------------------------------------------------------
// One report with the service's own configuration.

/// A stand-in for a service's configuration.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceConfig {
    workers: u32,
    regions_file: Option<std::path::PathBuf>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            workers: 4,
            regions_file: None,
        }
    }
}

impl settings::Validate for ServiceConfig {
    fn validate(&self, report: &mut settings::Report) {
        report.check(self.workers > 0, "workers", "must be at least 1");
    }
}

fn service(env: &[(String, String)]) -> settings::Loader {
    settings::Loader::new("TEST_SERVICE").env(env.iter().cloned())
}

fn owned(env: &[(&str, &str)]) -> Vec<(String, String)> {
    env.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn a_service_reports_its_own_and_its_regions_problems_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("regions.toml");
    std::fs::write(&path, MX).unwrap();
    let path_text = path.display().to_string();

    let env = owned(&env_plus(&[
        ("TEST_SERVICE__WORKERS", "0"),
        ("TEST_SERVICE__REGIONS_FILE", &path_text),
        ("REGION_MX_LOCALE", "de"),
        ("REGION_MX_LOCAL", "es"),
    ]));
    let err = RegionsConfig::load_alongside(
        &service(&env),
        |config: &ServiceConfig| config.regions_file.clone(),
        env,
        SecretsUsed::BelvoKeys,
    )
    .unwrap_err();
    let shown: Vec<String> = err.violations().iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 3, "{err}");
    assert_eq!(
        shown[0],
        "workers (TEST_SERVICE__WORKERS): must be at least 1"
    );
    assert!(
        shown[1].starts_with("REGION_MX_LOCAL: matches no region and field"),
        "{err}"
    );
    assert_eq!(
        shown[2],
        "regions.mx.locale (REGION_MX_LOCALE): unknown locale `de`; use es, en, pt"
    );
    assert!(
        err.to_string()
            .starts_with("invalid configuration (3 problems):"),
        "{err}"
    );

    // The same with settings' general combinator, for a file known beforehand.
    let env = owned(&env_plus(&[
        ("TEST_SERVICE__WORKERS", "0"),
        ("REGION_MX_LOCALE", "de"),
    ]));
    let err = settings::combine(
        service(&env).load::<ServiceConfig>(),
        RegionsConfig::load(Some(&path), env.iter().cloned(), SecretsUsed::BelvoKeys),
    )
    .unwrap_err();
    assert_eq!(err.violations().len(), 2, "{err}");

    // The service's configuration failed, so its regions file is unknown: REGIONS_FILE is used
    // if set, else only the service's problems are reported.
    let env = owned(&env_plus(&[
        ("TEST_SERVICE__WORKERS", "many"),
        ("REGIONS_FILE", &path_text),
        ("REGION_MX_LOCALE", "de"),
    ]));
    let err = RegionsConfig::load_alongside(
        &service(&env),
        |c: &ServiceConfig| c.regions_file.clone(),
        env,
        SecretsUsed::All,
    )
    .unwrap_err();
    let keys: Vec<&str> = err.violations().iter().map(|v| v.key.as_str()).collect();
    assert_eq!(keys, ["workers", "regions.mx.locale"], "{err}");
    let env = owned(&[("TEST_SERVICE__WORKERS", "many")]);
    let err = RegionsConfig::load_alongside(
        &service(&env),
        |c: &ServiceConfig| c.regions_file.clone(),
        env,
        SecretsUsed::All,
    )
    .unwrap_err();
    assert_eq!(err.violations().len(), 1, "{err}");
    // A service configuration that was read but names no regions file, without REGIONS_FILE:
    // that is a problem too.
    let env = owned(&[("TEST_SERVICE__WORKERS", "0")]);
    let err = RegionsConfig::load_alongside(
        &service(&env),
        |c: &ServiceConfig| c.regions_file.clone(),
        env,
        SecretsUsed::All,
    )
    .unwrap_err();
    let places: Vec<String> = err.violations().iter().map(Violation::place).collect();
    assert_eq!(
        places,
        ["workers (TEST_SERVICE__WORKERS)", "REGIONS_FILE"],
        "{err}"
    );

    // Both fine: both values.
    let env = owned(&env_plus(&[("TEST_SERVICE__REGIONS_FILE", &path_text)]));
    let (config, regions) = RegionsConfig::load_alongside(
        &service(&env),
        |config: &ServiceConfig| config.regions_file.clone(),
        env,
        SecretsUsed::BelvoKeys,
    )
    .unwrap();
    assert_eq!(
        (config.workers, regions.default_region().id().as_str()),
        (4, "mx")
    );
}
