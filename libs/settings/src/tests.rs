use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::*;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Server {
    listen_addr: SocketAddr,
    #[serde(with = "humantime_serde")]
    timeout: Duration,
    max_connections: u32,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestConfig {
    name: String,
    server: Server,
    tags: Vec<String>,
    #[serde(skip_serializing, default)]
    api_key: Option<SecretString>,
    #[serde(skip_serializing, default)]
    callers: BTreeMap<String, SecretString>,
}

impl Default for TestConfig {
    fn default() -> Self {
        Self {
            name: "default-name".into(),
            server: Server {
                listen_addr: "127.0.0.1:50051".parse().unwrap(),
                timeout: Duration::from_secs(30),
                max_connections: 10,
            },
            tags: vec!["a".into()],
            api_key: None,
            callers: BTreeMap::new(),
        }
    }
}

impl Validate for TestConfig {
    fn validate(&self, report: &mut Report) {
        report.check(!self.name.is_empty(), "name", "must not be empty");
        report.section("server", &self.server);
    }
}

impl Validate for Server {
    fn validate(&self, report: &mut Report) {
        report.check(
            self.max_connections > 0,
            "max_connections",
            "must be at least 1",
        );
        report.check(
            self.timeout >= Duration::from_millis(10),
            "timeout",
            "must be at least 10ms",
        );
    }
}

fn write_file(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    std::fs::write(file.path(), text).unwrap();
    file
}

#[test]
fn defaults_alone() {
    let config: TestConfig = Loader::new("TEST")
        .env(Vec::<(String, String)>::new())
        .load()
        .unwrap();
    assert_eq!(config.name, "default-name");
    assert_eq!(config.server.max_connections, 10);
    assert_eq!(config.server.timeout, Duration::from_secs(30));
    assert!(config.api_key.is_none());
}

#[test]
fn file_overrides_defaults_and_env_overrides_file() {
    let file =
        write_file("name = \"from-file\"\n[server]\nmax_connections = 20\ntimeout = \"5s\"\n");
    let config: TestConfig = Loader::new("TEST")
        .env([
            ("TEST_CONFIG", file.path().to_str().unwrap()),
            ("TEST__SERVER__MAX_CONNECTIONS", "30"),
            ("TEST__API_KEY", "0123"),
            ("OTHER__NAME", "ignored"),
        ])
        .load()
        .unwrap();
    // File beats default.
    assert_eq!(config.name, "from-file");
    assert_eq!(config.server.timeout, Duration::from_secs(5));
    // Env beats file.
    assert_eq!(config.server.max_connections, 30);
    // Keys absent from every later layer keep their default, even inside a section the
    // file touched.
    assert_eq!(
        config.server.listen_addr,
        "127.0.0.1:50051".parse().unwrap()
    );
    // Env values stay strings until deserialized: the leading zero survives.
    assert_eq!(config.api_key.unwrap().expose_secret(), "0123");
}

#[test]
fn explicit_file_and_maps_and_lists_from_env() {
    let file = write_file("tags = [\"x\", \"y\"]\n[callers]\ngateway = \"s1\"\n");
    let config: TestConfig = Loader::new("test")
        .file(file.path())
        .list_key("tags")
        .env([("TEST__CALLERS__REPORTING", "s2"), ("TEST__TAGS", "p, q,")])
        .load()
        .unwrap();
    assert_eq!(config.tags, vec!["p".to_owned(), "q".to_owned()]);
    let callers: Vec<_> = config
        .callers
        .iter()
        .map(|(k, v)| (k.as_str(), v.expose_secret()))
        .collect();
    assert_eq!(callers, vec![("gateway", "s1"), ("reporting", "s2")]);
}

#[test]
fn empty_env_values_are_unset() {
    let config: TestConfig = Loader::new("TEST")
        .env([("TEST__NAME", "")])
        .load()
        .unwrap();
    assert_eq!(config.name, "default-name");
}

#[test]
fn every_violation_is_reported_with_its_variable() {
    let file = write_file("name = \"\"\n");
    let err = Loader::new("TEST")
        .file(file.path())
        .env([
            ("TEST__SERVER__MAX_CONNECTIONS", "0"),
            ("TEST__SERVER__TIMEOUT", "1ms"),
        ])
        .load::<TestConfig>()
        .unwrap_err();
    let SettingsError::Invalid { violations, .. } = &err else {
        panic!("expected violations, got {err}");
    };
    let keys: Vec<_> = violations.iter().map(|v| v.key.as_str()).collect();
    assert_eq!(
        keys,
        vec!["name", "server.max_connections", "server.timeout"]
    );
    let text = err.to_string();
    assert!(text.contains("TEST__SERVER__MAX_CONNECTIONS"), "{text}");
    assert!(text.contains("must be at least 10ms"), "{text}");
}

#[test]
fn wrong_types_and_unknown_keys_are_errors() {
    let err = Loader::new("TEST")
        .env([("TEST__SERVER__MAX_CONNECTIONS", "many")])
        .load::<TestConfig>()
        .unwrap_err();
    let [v] = err.violations() else {
        panic!("expected one violation, got {err}");
    };
    assert_eq!(v.key, "server.max_connections", "{err}");
    assert_eq!(v.variable.as_deref(), Some("TEST__SERVER__MAX_CONNECTIONS"));
    assert!(err.to_string().contains("max_connections"), "{err}");
    // What kind of value was found, not the value.
    assert!(!err.to_string().contains("many"), "{err}");

    let err = Loader::new("TEST")
        .env([("TEST__SERVER__LISTN_ADDR", "127.0.0.1:1")])
        .load::<TestConfig>()
        .unwrap_err();
    assert!(err.to_string().contains("listn_addr"), "{err}");
}

#[test]
fn missing_file_is_an_error() {
    let err = Loader::new("TEST")
        .env([("TEST_CONFIG", "/nonexistent/connect.toml")])
        .load::<TestConfig>()
        .unwrap_err();
    assert!(matches!(err, SettingsError::MissingFile(_)), "{err}");
}

#[test]
fn secrets_never_print() {
    let config: TestConfig = Loader::new("TEST")
        .env([("TEST__API_KEY", "hunter2")])
        .load()
        .unwrap();
    assert!(!format!("{config:?}").contains("hunter2"));
}

#[test]
fn env_var_names() {
    assert_eq!(
        env_var_name("TOKEN_SERVICE", "server.listen_addr"),
        "TOKEN_SERVICE__SERVER__LISTEN_ADDR"
    );
}

// ---------------------------------------------------------------------------------------------
// The schema, read from the type.

#[derive(Debug, Default, Serialize, Deserialize)]
struct Lenient {
    a: Option<String>,
}

#[test]
fn the_schema_comes_from_the_type() {
    let schema = Schema::of::<TestConfig>();
    let root = schema.as_struct().unwrap();
    let keys: Vec<&str> = root.fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["name", "server", "tags", "api_key", "callers"]);
    assert!(root.deny_unknown);
    assert_eq!(root.field("name"), Some(&Schema::Scalar(ScalarKind::Str)));
    assert_eq!(
        root.field("tags"),
        Some(&Schema::List(Box::new(Schema::Scalar(ScalarKind::Str))))
    );
    assert_eq!(
        root.field("callers"),
        Some(&Schema::Map(Box::new(Schema::Scalar(ScalarKind::Str))))
    );
    let server = root.field("server").unwrap().as_struct().unwrap();
    assert_eq!(
        server.field("max_connections"),
        Some(&Schema::Scalar(ScalarKind::Int))
    );
    // humantime's durations are read from strings.
    assert_eq!(
        server.field("timeout"),
        Some(&Schema::Scalar(ScalarKind::Str))
    );
    assert!(!Schema::of::<Lenient>().as_struct().unwrap().deny_unknown);
    assert_eq!(Schema::of::<SecretSource>(), Schema::Secret);
}

#[test]
fn every_unknown_key_in_the_file_is_reported_with_its_line() {
    let file = write_file("name = \"x\"\nnmae = \"y\"\n[server]\nmax_conections = 3\n");
    let err = Loader::new("TEST")
        .file(file.path())
        .env([("TEST__SERVER__TIMOUT", "1s")])
        .load::<TestConfig>()
        .unwrap_err();
    let places: Vec<String> = err.violations().iter().map(Violation::place).collect();
    assert_eq!(
        places,
        [
            "nmae (TEST__NMAE)",
            "server.max_conections (TEST__SERVER__MAX_CONECTIONS)",
            "server.timout (TEST__SERVER__TIMOUT)",
        ],
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains(", line 2); the keys here are name, server, tags"),
        "{text}"
    );
    assert!(
        text.contains(", line 4); the keys here are listen_addr"),
        "{text}"
    );
    assert!(
        text.contains("(in environment variable TEST__SERVER__TIMOUT)"),
        "{text}"
    );
    assert!(
        text.starts_with("invalid configuration (3 problems):\n  - nmae"),
        "{text}"
    );

    // A struct that accepts unknown keys still does.
    let lenient: Lenient = Loader::new("TEST")
        .toml("a = \"x\"\nb = 1\n")
        .load_with(|value, _| Some(value))
        .unwrap();
    assert_eq!(lenient.a.as_deref(), Some("x"));
}

#[test]
fn values_of_the_wrong_shape_are_reported_without_their_value() {
    let err = Loader::new("TEST")
        .toml("tags = \"hunter2\"\nserver = 5\n")
        .env(Vec::<(String, String)>::new())
        .load::<TestConfig>()
        .unwrap_err();
    let text = err.to_string();
    assert_eq!(err.violations().len(), 2, "{text}");
    assert!(
        text.contains(
            "tags (TEST__TAGS): expected a list, not a string (in <inline TOML>, line 1)"
        ),
        "{text}"
    );
    assert!(
        text.contains("server (TEST__SERVER): expected a table, not a whole number"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn toml_syntax_errors_give_a_position_not_the_line() {
    let err = Loader::new("TEST")
        .toml("name = \"ok\"\napi_key = \"hunter2\n")
        .load::<TestConfig>()
        .unwrap_err();
    let SettingsError::Parse { line, .. } = &err else {
        panic!("expected a parse error, got {err}");
    };
    assert_eq!(*line, Some(2));
    assert!(!format!("{err} {err:?}").contains("hunter2"), "{err}");
}

#[test]
fn a_required_file_must_be_named() {
    let err = Loader::new("TEST")
        .file_var("TEST_FILE")
        .require_file()
        .env([("TEST_CONFIG", "ignored.toml")])
        .load::<TestConfig>()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no configuration file: pass a path or set TEST_FILE"
    );
    let file = write_file("name = \"named\"\n");
    let config: TestConfig = Loader::new("TEST")
        .file_var("TEST_FILE")
        .require_file()
        .env([("TEST_FILE", file.path().to_str().unwrap())])
        .load()
        .unwrap();
    assert_eq!(config.name, "named");
}

#[test]
fn the_loader_never_prints_the_environment_values() {
    let loader = Loader::new("TEST").env([("TEST__API_KEY", "hunter2")]);
    let debug = format!("{loader:?}");
    assert!(
        debug.contains("TEST__API_KEY") && !debug.contains("hunter2"),
        "{debug}"
    );
}

// ---------------------------------------------------------------------------------------------
// Flat naming with a map of sections.

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fleet {
    default_site: Option<String>,
    #[serde(default, skip_serializing)]
    sites: BTreeMap<String, Site>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Site {
    display_name: Option<String>,
    port: Option<u16>,
    tags: Option<Vec<String>>,
    token: Option<SecretSource>,
    limits: Option<Limits>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Limits {
    burst: Option<i64>,
    strict: Option<bool>,
}

const FLEET: &str = r#"
[sites.north-1]
display_name = "North"
token = { env = "NORTH_TOKEN" }
limits = { burst = 5 }
labels = { tier = "gold" }

[sites.south]
port = 80
"#;

fn fleet(env: &[(&str, &str)]) -> Loader {
    Loader::new("FLEET")
        .naming(Naming::Flat)
        .file_var("FLEET_FILE")
        .section_map("sites", "SITE")
        .toml(FLEET)
        .env(env.iter().copied())
}

/// The loaded fleet, with each site's token resolved.
fn load_fleet(env: &[(&str, &str)]) -> Result<(Fleet, Vec<(String, String)>), SettingsError> {
    fleet(env).load_with(|fleet: Fleet, cx| {
        let mut tokens = Vec::new();
        for (id, site) in &fleet.sites {
            if let Some(source) = &site.token {
                match cx.resolve(source) {
                    Ok(token) => tokens.push((id.clone(), token.expose_secret().to_owned())),
                    Err(message) => cx.push(&format!("sites.{id}.token"), message),
                }
            }
        }
        Some((fleet, tokens))
    })
}

#[test]
fn flat_names_come_from_the_type() {
    let schema = Schema::of::<Site>();
    let fields = flat_fields(schema.as_struct().unwrap()).unwrap();
    let names: Vec<(&str, &str)> = fields
        .iter()
        .map(|f| (f.suffix.as_str(), f.key.as_str()))
        .collect();
    // `labels` is an open map: the file's.
    assert_eq!(
        names,
        [
            ("DISPLAY_NAME", "display_name"),
            ("PORT", "port"),
            ("TAGS", "tags"),
            ("TOKEN", "token"),
            ("TOKEN_FILE", "token"),
            ("LIMITS_BURST", "limits.burst"),
            ("LIMITS_STRICT", "limits.strict"),
        ]
    );
    assert_eq!(fields[2].kind, FlatKind::List(ScalarKind::Str));
    assert_eq!(fields[4].kind, FlatKind::SecretInFile);
}

#[test]
fn flat_variables_set_the_keys_of_sections_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "from-file\n").unwrap();
    let token_file = token_file.display().to_string();
    let (fleet, tokens) = load_fleet(&[
        ("FLEET_DEFAULT_SITE", "south"),
        ("SITE_NORTH_1_DISPLAY_NAME", "Norte"),
        ("SITE_NORTH_1_TAGS", "a, b,"),
        ("SITE_NORTH_1_LIMITS_STRICT", "true"),
        ("SITE_NORTH_1_TOKEN", "in-variable"),
        ("SITE_SOUTH_PORT", "8080"),
        ("SITE_SOUTH_LIMITS_BURST", "9"),
        ("SITE_SOUTH_TOKEN_FILE", &token_file),
        ("NORTH_TOKEN", "from-the-file's-reference"),
        ("UNRELATED", "x"),
        ("SITE_SOUTH_DISPLAY_NAME", ""),
    ])
    .unwrap();
    assert_eq!(fleet.default_site.as_deref(), Some("south"));
    // The file's order.
    assert_eq!(fleet.sites.keys().collect::<Vec<_>>(), ["north-1", "south"]);
    let north = &fleet.sites["north-1"];
    assert_eq!(north.display_name.as_deref(), Some("Norte"));
    assert_eq!(
        north.tags.as_deref(),
        Some(&["a".to_owned(), "b".to_owned()][..])
    );
    let limits = north.limits.as_ref().unwrap();
    // The environment's key merges with the file's table.
    assert_eq!((limits.burst, limits.strict), (Some(5), Some(true)));
    assert_eq!(north.labels["tier"], "gold");
    let south = &fleet.sites["south"];
    assert_eq!(south.port, Some(8080));
    assert_eq!(south.limits.as_ref().unwrap().burst, Some(9));
    // An empty variable is unset.
    assert!(south.display_name.is_none());
    // A secret variable replaces the file's reference rather than merging with it.
    assert_eq!(
        tokens,
        [
            ("north-1".to_owned(), "in-variable".to_owned()),
            ("south".to_owned(), "from-file".to_owned())
        ]
    );
}

#[test]
fn every_flat_problem_is_reported_at_once_with_its_variable() {
    let err = load_fleet(&[
        ("FLEET_DEFUALT_SITE", "south"),
        ("FLEET_FILE", "ignored: the loader was given text"),
        ("SITE_SOUTH_PROT", "1"),
        ("SITE_EAST_PORT", "1"),
        ("SITE_SOUTH_PORT", "eighty"),
        ("SITE_SOUTH_LIMITS_STRICT", "maybe"),
        ("SITE_SOUTH_TOKEN", "a"),
        ("SITE_SOUTH_TOKEN_FILE", "/b"),
        ("SITE_NORTH_1_LABELS_TIER", "silver"),
    ])
    .unwrap_err();
    let found: Vec<String> = err.violations().iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        [
            "FLEET_DEFUALT_SITE: unknown variable; the FLEET_* variables are FLEET_FILE and \
             FLEET_DEFAULT_SITE",
            "SITE_EAST_PORT: matches no site and field: SITE_<ID>_<FIELD> with <ID> one of \
             NORTH_1, SOUTH and <FIELD> one of DISPLAY_NAME, PORT, TAGS, TOKEN, TOKEN_FILE, \
             LIMITS_BURST, LIMITS_STRICT",
            "SITE_NORTH_1_LABELS_TIER: matches no site and field: SITE_<ID>_<FIELD> with <ID> \
             one of NORTH_1, SOUTH and <FIELD> one of DISPLAY_NAME, PORT, TAGS, TOKEN, \
             TOKEN_FILE, LIMITS_BURST, LIMITS_STRICT",
            "sites.south.limits.strict (SITE_SOUTH_LIMITS_STRICT): `maybe` is not true or false",
            "sites.south.port (SITE_SOUTH_PORT): `eighty` is not a whole number",
            "SITE_SOUTH_PROT: matches no site and field: SITE_<ID>_<FIELD> with <ID> one of \
             NORTH_1, SOUTH and <FIELD> one of DISPLAY_NAME, PORT, TAGS, TOKEN, TOKEN_FILE, \
             LIMITS_BURST, LIMITS_STRICT",
            "sites.south.token (SITE_SOUTH_TOKEN_FILE): SITE_SOUTH_TOKEN sets the same field; \
             set only one of them",
            // The build step still ran: NORTH_TOKEN is not set.
            "sites.north-1.token (SITE_NORTH_1_TOKEN): environment variable NORTH_TOKEN is not \
             set",
        ]
    );
}

#[test]
fn variables_the_file_names_as_secret_sources_are_not_typos() {
    let toml = FLEET.replace("NORTH_TOKEN", "SITE_NORTH_1_API_TOKEN");
    let (_, tokens) = Loader::new("FLEET")
        .naming(Naming::Flat)
        .section_map("sites", "SITE")
        .toml(toml)
        .env([("SITE_NORTH_1_API_TOKEN", "t")])
        .load_with(|fleet: Fleet, cx| {
            let token = cx.resolve(fleet.sites["north-1"].token.as_ref()?).ok()?;
            Some((fleet, token.expose_secret().to_owned()))
        })
        .unwrap();
    assert_eq!(tokens, "t");
}

#[test]
fn ids_that_share_a_variable_prefix_are_refused() {
    let err = Loader::new("FLEET")
        .naming(Naming::Flat)
        .section_map("sites", "SITE")
        .toml("[sites.a-b]\n[sites.a_b]\n[sites.a]\n[sites.a_b_port]\n")
        .env([("SITE_A_B_PORT", "1")])
        .load_with(|fleet: Fleet, _| Some(fleet))
        .unwrap_err();
    let found: Vec<String> = err.violations().iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        [
            "sites.a_b: ids `a-b` and `a_b` share the variable prefix SITE_A_B_; rename one",
            "SITE_A_B_PORT: matches more than one site; rename one of the sites",
        ]
    );
}

#[test]
fn the_context_names_the_variables_of_a_key() {
    fleet(&[])
        .load_with(|_: Fleet, cx| {
            assert_eq!(
                cx.variables("sites.north-1.token"),
                ["SITE_NORTH_1_TOKEN", "SITE_NORTH_1_TOKEN_FILE"]
            );
            assert_eq!(
                cx.variables("sites.south.limits.burst"),
                ["SITE_SOUTH_LIMITS_BURST"]
            );
            assert_eq!(cx.variables("default_site"), ["FLEET_DEFAULT_SITE"]);
            assert!(cx.variables("sites.south.labels.tier").is_empty());
            assert!(cx.variables("sites.south").is_empty());
            Some(())
        })
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// One report for several loads.

#[test]
fn reports_of_several_loads_combine_into_one() {
    let service = Loader::new("TEST")
        .env([("TEST__SERVER__MAX_CONNECTIONS", "0")])
        .load::<TestConfig>();
    let sites = load_fleet(&[("SITE_SOUTH_PORT", "eighty")]);
    let err = combine(service, sites).unwrap_err();
    let places: Vec<String> = err.violations().iter().map(Violation::place).collect();
    assert_eq!(
        places,
        [
            "server.max_connections (TEST__SERVER__MAX_CONNECTIONS)",
            "sites.south.port (SITE_SOUTH_PORT)",
            "sites.north-1.token (SITE_NORTH_1_TOKEN)",
        ]
    );
    assert!(
        err.to_string()
            .starts_with("invalid configuration (3 problems):")
    );

    // A failure that is not a list of violations joins the report as one.
    let mut report = Report::new();
    let missing = report.take(
        Loader::new("TEST")
            .file("/nonexistent/connect.toml")
            .load::<TestConfig>(),
    );
    assert!(missing.is_none());
    let ok = report.take(Loader::new("TEST").load::<TestConfig>());
    let err = report.complete(missing.zip(ok)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid configuration (1 problem):\n  - configuration file /nonexistent/connect.toml \
         does not exist"
    );

    // Both fine: both values.
    let (config, (fleet, _)) = combine(
        Loader::new("TEST").load::<TestConfig>(),
        load_fleet(&[("NORTH_TOKEN", "t")]),
    )
    .unwrap();
    assert_eq!(
        (config.name.as_str(), fleet.sites.len()),
        ("default-name", 2)
    );
}

#[test]
fn a_key_given_twice_is_a_parse_error() {
    for text in [
        "name = \"a\"\nname = \"b\"\n",
        "[server]\nmax_connections = 1\n[server]\ntimeout = \"1s\"\n",
    ] {
        let err = Loader::new("TEST")
            .toml(text)
            .load::<TestConfig>()
            .unwrap_err();
        assert!(matches!(err, SettingsError::Parse { .. }), "{text}: {err}");
    }
}
