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
    assert!(matches!(err, SettingsError::Load(_)), "{err}");
    assert!(err.to_string().contains("max_connections"), "{err}");

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
