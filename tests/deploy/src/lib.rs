//! Checks of `deploy/`: reading what kustomize renders (a multi-document YAML stream) and the
//! policies every production object must keep — probes, resource limits, a locked-down
//! non-root security context, no service-account token, a termination grace above the drain
//! time, NetworkPolicies, disruption budgets, at least two replicas, schema changes only through
//! the migration Job, pods that wait for it, expand-only migrations ([`migrations`]) — and what
//! production must never contain (the Belvo emulator, the
//! gateway's dev login, Secret values). The tests in `tests/manifests` run them on the rendered
//! overlays and on deliberately broken objects.

pub mod migrations;
pub mod secrets;

use std::collections::BTreeSet;

use serde::Deserialize as _;
use serde_json::Value;

/// The platform's four services, as named in `deploy/base`.
pub const SERVICES: [&str; 4] = ["token-service", "link-service", "data-service", "gateway"];

/// The gRPC services and their ports (DESIGN §2): their probes must be grpc.health.v1.
pub const GRPC_SERVICES: [(&str, u16, &str); 3] = [
    ("token-service", 50051, "TOKEN_SERVICE"),
    ("link-service", 50052, "LINK_SERVICE"),
    ("data-service", 50053, "DATA_SERVICE"),
];

/// Kinds whose objects run pods.
const WORKLOADS: [&str; 6] = [
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
];

/// The rendered objects of one overlay, in kustomize's order.
#[derive(Debug, Clone)]
pub struct Manifests {
    objects: Vec<Value>,
}

/// A YAML stream that is not a list of Kubernetes objects.
#[derive(Debug)]
pub struct ParseError(pub String);

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

impl Manifests {
    /// Parses a multi-document YAML stream; empty documents are skipped, and every other one
    /// must be a mapping with `apiVersion`, `kind` and `metadata.name`.
    pub fn parse(yaml: &str) -> Result<Self, ParseError> {
        let mut objects = Vec::new();
        for (i, document) in serde_norway::Deserializer::from_str(yaml).enumerate() {
            let value = Value::deserialize(document)
                .map_err(|e| ParseError(format!("document {i}: {e}")))?;
            if value.is_null() {
                continue;
            }
            for field in ["/apiVersion", "/kind", "/metadata/name"] {
                if value.pointer(field).and_then(Value::as_str).is_none() {
                    return Err(ParseError(format!("document {i}: no {field}")));
                }
            }
            objects.push(value);
        }
        Ok(Self { objects })
    }

    /// Wraps objects built in memory (tests of the checks themselves).
    pub fn from_objects(objects: Vec<Value>) -> Self {
        Self { objects }
    }

    /// Every object.
    pub fn objects(&self) -> &[Value] {
        &self.objects
    }

    /// The objects of one kind.
    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.objects.iter().filter(move |o| kind_of(o) == kind)
    }

    /// One object by kind and name.
    pub fn get(&self, kind: &str, name: &str) -> Option<&Value> {
        self.objects
            .iter()
            .find(|o| kind_of(o) == kind && name_of(o) == name)
    }

    /// Every (workload, container) pair, init containers included.
    pub fn containers(&self) -> Vec<(&Value, &Value)> {
        let mut out = Vec::new();
        for workload in self.workloads() {
            let Some(spec) = pod_spec(workload) else {
                continue;
            };
            for list in ["initContainers", "containers"] {
                for container in spec
                    .get(list)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    out.push((workload, container));
                }
            }
        }
        out
    }

    /// Objects that run pods.
    pub fn workloads(&self) -> impl Iterator<Item = &Value> {
        self.objects
            .iter()
            .filter(|o| WORKLOADS.contains(&kind_of(o)))
    }
}

/// `kind` of an object.
pub fn kind_of(object: &Value) -> &str {
    object.get("kind").and_then(Value::as_str).unwrap_or("")
}

/// `metadata.name` of an object.
pub fn name_of(object: &Value) -> &str {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The pod spec of a workload (`spec.template.spec`, or a CronJob's job template's).
pub fn pod_spec(workload: &Value) -> Option<&Value> {
    workload
        .pointer("/spec/template/spec")
        .or_else(|| workload.pointer("/spec/jobTemplate/spec/template/spec"))
}

/// The Job spec of a Job (`spec`) or of a CronJob's job template; `None` for other kinds.
pub fn job_spec(workload: &Value) -> Option<&Value> {
    match kind_of(workload) {
        "Job" => workload.get("spec"),
        "CronJob" => workload.pointer("/spec/jobTemplate/spec"),
        _ => None,
    }
}

/// The pod template's labels of a workload.
pub fn pod_labels(workload: &Value) -> Option<&serde_json::Map<String, Value>> {
    workload
        .pointer("/spec/template/metadata/labels")
        .or_else(|| workload.pointer("/spec/jobTemplate/spec/template/metadata/labels"))
        .and_then(Value::as_object)
}

/// A container's environment as (name, literal value or `None` for a reference).
pub fn env_of(container: &Value) -> Vec<(&str, Option<&str>)> {
    container
        .get("env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let name = e.get("name")?.as_str()?;
            Some((name, e.get("value").and_then(Value::as_str)))
        })
        .collect()
}

/// A container's `env` entry by name (its `value` or `valueFrom`).
pub fn env_entry<'a>(container: &'a Value, name: &str) -> Option<&'a Value> {
    container
        .get("env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
}

/// A literal environment value of a container.
pub fn env_value<'a>(container: &'a Value, name: &str) -> Option<&'a str> {
    env_of(container)
        .into_iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, v)| v)
}

/// Parses the durations the services accept for `shutdown_grace` in their simplest forms
/// (`20s`, `1m`, `500ms`); anything else is `None`.
pub fn parse_seconds(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "ms" => 0.001,
        "s" | "sec" | "secs" => 1.0,
        "m" | "min" | "mins" => 60.0,
        _ => return None,
    };
    Some(number * factor)
}

/// Does a label selector (`matchLabels` / `matchExpressions` with `In`, `NotIn`, `Exists`,
/// `DoesNotExist`) select these labels? An empty selector selects everything.
pub fn selects(selector: &Value, labels: &serde_json::Map<String, Value>) -> bool {
    let match_labels_ok = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let expressions_ok = selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .all(|e| {
            let key = e.get("key").and_then(Value::as_str).unwrap_or("");
            let values: Vec<&Value> = e
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .collect();
            let label = labels.get(key);
            match e.get("operator").and_then(Value::as_str) {
                Some("In") => label.is_some_and(|l| values.contains(&l)),
                Some("NotIn") => label.is_none_or(|l| !values.contains(&l)),
                Some("Exists") => label.is_some(),
                Some("DoesNotExist") => label.is_none(),
                _ => false,
            }
        });
    match_labels_ok && expressions_ok
}

/// Violations of the container policy every overlay keeps (dev included): probes on long-running
/// containers (not a Job's, which exit), requests and limits for CPU and memory, a non-root,
/// read-only, capability-free, seccomp-confined container without privilege escalation, no
/// service-account token, and a termination grace above the preStop pause plus the app's own
/// drain time. A Job also needs an explicit `backoffLimit`, `restartPolicy` Never or OnFailure,
/// and (a plain Job, whose pod template is immutable) a `ttlSecondsAfterFinished`, so that a
/// finished one goes away and the next release's can be applied.
pub fn container_violations(manifests: &Manifests) -> Vec<String> {
    let mut out = Vec::new();
    for workload in manifests.workloads() {
        let Some(spec) = pod_spec(workload) else {
            out.push(format!(
                "{} {}: no pod template",
                kind_of(workload),
                name_of(workload)
            ));
            continue;
        };
        let id = format!("{} {}", kind_of(workload), name_of(workload));
        if let Some(job) = job_spec(workload) {
            if job.get("backoffLimit").and_then(Value::as_u64).is_none() {
                out.push(format!("{id}: no backoffLimit"));
            }
            if kind_of(workload) == "Job"
                && job
                    .get("ttlSecondsAfterFinished")
                    .and_then(Value::as_u64)
                    .is_none()
            {
                out.push(format!("{id}: no ttlSecondsAfterFinished"));
            }
            let restart = spec.get("restartPolicy").and_then(Value::as_str);
            if !matches!(restart, Some("Never" | "OnFailure")) {
                out.push(format!(
                    "{id}: restartPolicy is {} (a Job needs Never or OnFailure)",
                    restart.unwrap_or("unset")
                ));
            }
        }
        if spec.get("automountServiceAccountToken") != Some(&Value::Bool(false)) {
            out.push(format!("{id}: automountServiceAccountToken is not false"));
        }
        if spec.get("hostNetwork") == Some(&Value::Bool(true))
            || spec.get("hostPID") == Some(&Value::Bool(true))
        {
            out.push(format!("{id}: uses the host's namespaces"));
        }
        let pod_sc = spec.get("securityContext").unwrap_or(&Value::Null);
        let grace = spec
            .get("terminationGracePeriodSeconds")
            .and_then(Value::as_f64)
            .unwrap_or(30.0);
        let long_running = job_spec(workload).is_none();
        for list in ["initContainers", "containers"] {
            let init = list == "initContainers";
            for c in spec
                .get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let cid = format!(
                    "{id} container {}",
                    c.get("name").and_then(Value::as_str).unwrap_or("?")
                );
                if long_running && !init {
                    for probe in ["livenessProbe", "readinessProbe"] {
                        if c.get(probe).is_none_or(Value::is_null) {
                            out.push(format!("{cid}: no {probe}"));
                        }
                    }
                }
                for (section, resource) in [
                    ("requests", "cpu"),
                    ("requests", "memory"),
                    ("limits", "cpu"),
                    ("limits", "memory"),
                ] {
                    if c.pointer(&format!("/resources/{section}/{resource}"))
                        .is_none_or(Value::is_null)
                    {
                        out.push(format!("{cid}: no resources.{section}.{resource}"));
                    }
                }
                let sc = c.get("securityContext").unwrap_or(&Value::Null);
                // A container setting overrides the pod's.
                let effective = |field: &str| {
                    sc.get(field)
                        .filter(|v| !v.is_null())
                        .or_else(|| pod_sc.get(field).filter(|v| !v.is_null()))
                };
                if effective("runAsNonRoot") != Some(&Value::Bool(true)) {
                    out.push(format!("{cid}: runAsNonRoot is not true"));
                }
                match effective("runAsUser").and_then(Value::as_u64) {
                    Some(0) => out.push(format!("{cid}: runAsUser is 0 (root)")),
                    Some(_) => {}
                    None => out.push(format!("{cid}: no numeric runAsUser")),
                }
                if sc.get("readOnlyRootFilesystem") != Some(&Value::Bool(true)) {
                    out.push(format!("{cid}: readOnlyRootFilesystem is not true"));
                }
                if sc.get("allowPrivilegeEscalation") != Some(&Value::Bool(false)) {
                    out.push(format!("{cid}: allowPrivilegeEscalation is not false"));
                }
                if sc.get("privileged") == Some(&Value::Bool(true)) {
                    out.push(format!("{cid}: privileged"));
                }
                let drops_all = sc
                    .pointer("/capabilities/drop")
                    .and_then(Value::as_array)
                    .is_some_and(|d| d.iter().any(|c| c == "ALL"));
                if !drops_all {
                    out.push(format!("{cid}: capabilities.drop lacks ALL"));
                }
                if sc
                    .pointer("/capabilities/add")
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty())
                {
                    out.push(format!("{cid}: adds capabilities"));
                }
                let seccomp = effective("seccompProfile")
                    .and_then(|p| p.get("type"))
                    .and_then(Value::as_str);
                if !matches!(seccomp, Some("RuntimeDefault" | "Localhost")) {
                    out.push(format!("{cid}: seccompProfile is not RuntimeDefault"));
                }
                // The drain: the app's shutdown_grace plus the preStop pause must end before
                // the kubelet's SIGKILL.
                let drain = env_of(c)
                    .into_iter()
                    .find(|(n, _)| n.ends_with("__SERVER__SHUTDOWN_GRACE"))
                    .and_then(|(_, v)| v.and_then(parse_seconds));
                let pause = c
                    .pointer("/lifecycle/preStop/sleep/seconds")
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0);
                if SERVICES.contains(&name_of(workload)) && !init && drain.is_none() {
                    out.push(format!(
                        "{cid}: SERVER__SHUTDOWN_GRACE is not set explicitly"
                    ));
                }
                if let Some(drain) = drain
                    && grace <= drain + pause
                {
                    out.push(format!(
                        "{cid}: terminationGracePeriodSeconds {grace} is not above shutdown_grace {drain}s + preStop {pause}s"
                    ));
                }
            }
        }
    }
    out
}

/// Violations of what production alone must keep: the container policy; every Deployment at
/// least two replicas (or an HPA with `minReplicas` ≥ 2) and a PodDisruptionBudget; every
/// workload (Jobs included) an Ingress NetworkPolicy of its own besides a default deny of both
/// directions; no Service or PodDisruptionBudget selecting a Job's pods; gRPC probes on the
/// gRPC services and HTTP probes on the gateway; each gRPC service's schema changed only by a
/// migration Job (`RUN_MIGRATIONS` false, a Job container running its image with `migrate`
/// on the same database Secret) and its pods waiting for that Job (an init container running
/// its image with `wait-for-schema` on the same database Secret); only the Belvo secrets each service uses (the gateway no API
/// keys, the others no webhook Authorization); no Secret objects (values never live in the repository); no
/// Belvo emulator anywhere; no dev login; the gateway in `production`.
pub fn production_violations(manifests: &Manifests) -> Vec<String> {
    let mut out = container_violations(manifests);

    // The emulator: no object, image, URL or config text may name it.
    for object in manifests.objects() {
        let text = object.to_string();
        if text.contains("belvo-emulator") || text.contains("belvo_emulator") {
            out.push(format!(
                "{} {}: mentions the Belvo emulator",
                kind_of(object),
                name_of(object)
            ));
        }
        if kind_of(object) == "Secret" {
            out.push(format!(
                "Secret {}: production Secrets are created outside the repository",
                name_of(object)
            ));
        }
    }

    // The gateway: production environment, no dev auth.
    for (workload, container) in manifests.containers() {
        let id = format!("{} {}", kind_of(workload), name_of(workload));
        for (name, value) in env_of(container) {
            if name.ends_with("__AUTH__MODE") && value.is_none_or(|v| v.eq_ignore_ascii_case("dev"))
            {
                out.push(format!("{id}: {name} is dev (or not a literal)"));
            }
            if name.ends_with("__AUTH__DEV_SECRET") || name.ends_with("__AUTH__DEV_TOKEN_TTL") {
                out.push(format!("{id}: sets {name}"));
            }
        }
    }
    match manifests
        .get("Deployment", "gateway")
        .and_then(|g| g.pointer("/spec/template/spec/containers/0"))
    {
        Some(gateway) => {
            if env_value(gateway, "GATEWAY__ENVIRONMENT") != Some("production") {
                out.push("Deployment gateway: GATEWAY__ENVIRONMENT is not production".into());
            }
            if env_value(gateway, "GATEWAY__AUTH__MODE").is_none() {
                out.push(
                    "Deployment gateway: GATEWAY__AUTH__MODE is not set (the gateway refuses to start without it)"
                        .into(),
                );
            }
            if gateway.pointer("/livenessProbe/httpGet/path") != Some(&Value::from("/healthz")) {
                out.push("Deployment gateway: liveness is not GET /healthz".into());
            }
            if gateway.pointer("/readinessProbe/httpGet/path") != Some(&Value::from("/readyz")) {
                out.push("Deployment gateway: readiness is not GET /readyz".into());
            }
        }
        None => out.push("Deployment gateway: missing".into()),
    }
    for (service, port, prefix) in GRPC_SERVICES {
        let Some(container) = manifests
            .get("Deployment", service)
            .and_then(|d| d.pointer("/spec/template/spec/containers/0"))
        else {
            out.push(format!("Deployment {service}: missing"));
            continue;
        };
        for probe in ["livenessProbe", "readinessProbe"] {
            if container.pointer(&format!("/{probe}/grpc/port")) != Some(&Value::from(port)) {
                out.push(format!(
                    "Deployment {service}: {probe} is not grpc.health.v1 on {port}"
                ));
            }
        }
        out.extend(migration_violations(manifests, service, prefix, container));
    }

    // Each pod gets only the Belvo secrets its service uses: the internet-facing gateway the
    // webhook Authorization, never the API keys; the services the keys, never the webhook value.
    for service in SERVICES {
        let Some(container) = manifests
            .get("Deployment", service)
            .and_then(|d| d.pointer("/spec/template/spec/containers/0"))
        else {
            continue;
        };
        let unused: &[&str] = if service == "gateway" {
            &["secret-id", "secret-password"]
        } else {
            &["webhook-authorization"]
        };
        for entry in container
            .get("env")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let reference = entry.pointer("/valueFrom/secretKeyRef");
            let secret = reference
                .and_then(|r| r.get("name"))
                .and_then(Value::as_str);
            let key = reference.and_then(|r| r.get("key")).and_then(Value::as_str);
            if let (Some(secret), Some(key)) = (secret, key)
                && secret.starts_with("belvo-")
                && unused.contains(&key)
            {
                out.push(format!(
                    "Deployment {service}: gets {secret}/{key}, which it does not use"
                ));
            }
        }
    }

    // The ingress exposes the public API, never the gateway's /metrics or health endpoints.
    for ingress in manifests.of_kind("Ingress") {
        for path in ingress
            .pointer("/spec/rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.pointer("/http/paths").and_then(Value::as_array))
            .flatten()
        {
            let p = path.get("path").and_then(Value::as_str).unwrap_or("/");
            let prefix = path.get("pathType").and_then(Value::as_str) != Some("Exact");
            let exposes = |internal: &str| {
                p == internal || (prefix && internal.starts_with(p.trim_end_matches('/')))
            };
            if ["/metrics", "/healthz", "/readyz"]
                .iter()
                .any(|i| exposes(i))
            {
                out.push(format!(
                    "Ingress {}: path {p} exposes /metrics or the health endpoints",
                    name_of(ingress)
                ));
            }
        }
    }

    // Replicas, disruption budgets, network policies.
    let policies: Vec<&Value> = manifests.of_kind("NetworkPolicy").collect();
    let default_deny = policies.iter().any(|p| {
        let spec = p.get("spec").unwrap_or(&Value::Null);
        let all_pods = spec
            .get("podSelector")
            .and_then(Value::as_object)
            .is_some_and(serde_json::Map::is_empty);
        let types: BTreeSet<&str> = spec
            .get("policyTypes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let no_rules = ["ingress", "egress"].iter().all(|r| {
            spec.get(*r)
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
        });
        all_pods && types.contains("Ingress") && types.contains("Egress") && no_rules
    });
    if !default_deny {
        out.push("no default-deny NetworkPolicy (all pods, Ingress and Egress, no rules)".into());
    }
    for workload in manifests.workloads() {
        let name = name_of(workload);
        let Some(labels) = pod_labels(workload) else {
            continue;
        };
        // Its own policy: one that governs ingress (an Ingress policy type: what it lists is
        // all that may connect, nothing for a Job) and selects this workload's pods and no
        // other app's. Policies for many apps, such as the metrics scrape, do not count.
        let own_policy = policies.iter().any(|p| {
            let Some(selector) = p.pointer("/spec/podSelector") else {
                return false;
            };
            let ingress = p
                .pointer("/spec/policyTypes")
                .and_then(Value::as_array)
                .is_some_and(|t| t.iter().any(|t| t == "Ingress"));
            let only_this_app = manifests
                .workloads()
                .filter(|w| pod_labels(w).is_some_and(|l| selects(selector, l)))
                .all(|w| app_of(w) == app_of(workload));
            ingress && only_this_app && selects(selector, labels)
        });
        if !own_policy {
            out.push(format!(
                "{} {name}: no Ingress NetworkPolicy of its own",
                kind_of(workload)
            ));
        }
        // A Job's pods must not receive a Service's traffic or count in a disruption budget.
        if job_spec(workload).is_some() {
            for selecting in manifests
                .of_kind("Service")
                .filter(|s| {
                    s.pointer("/spec/selector")
                        .and_then(Value::as_object)
                        .is_some_and(|m| {
                            !m.is_empty() && m.iter().all(|(k, v)| labels.get(k) == Some(v))
                        })
                })
                .chain(manifests.of_kind("PodDisruptionBudget").filter(|p| {
                    p.pointer("/spec/selector")
                        .is_some_and(|s| selects(s, labels))
                }))
            {
                out.push(format!(
                    "{} {}: selects the pods of {} {name}",
                    kind_of(selecting),
                    name_of(selecting),
                    kind_of(workload)
                ));
            }
        }
        if kind_of(workload) == "Deployment" {
            let pdb = manifests.of_kind("PodDisruptionBudget").any(|p| {
                p.pointer("/spec/selector")
                    .is_some_and(|s| selects(s, labels))
            });
            if !pdb {
                out.push(format!("Deployment {name}: no PodDisruptionBudget"));
            }
            let replicas = workload.pointer("/spec/replicas").and_then(Value::as_u64);
            let hpa = manifests.of_kind("HorizontalPodAutoscaler").find(|h| {
                h.pointer("/spec/scaleTargetRef/kind") == Some(&Value::from("Deployment"))
                    && h.pointer("/spec/scaleTargetRef/name") == Some(&Value::from(name))
            });
            match hpa {
                // The HPA owns the count (minReplicas defaults to 1); a `replicas` beside it
                // would reset the scaled count on every apply.
                Some(hpa) => {
                    let min = hpa
                        .pointer("/spec/minReplicas")
                        .and_then(Value::as_u64)
                        .unwrap_or(1);
                    if min < 2 {
                        out.push(format!(
                            "Deployment {name}: fewer than 2 replicas (HPA min {min})"
                        ));
                    }
                    if replicas.is_some() {
                        out.push(format!(
                            "Deployment {name}: sets replicas although an HPA scales it"
                        ));
                    }
                }
                None => {
                    let replicas = replicas.unwrap_or(1);
                    if replicas < 2 {
                        out.push(format!(
                            "Deployment {name}: fewer than 2 replicas ({replicas})"
                        ));
                    }
                }
            }
        }
    }
    for service in SERVICES {
        if manifests.get("Deployment", service).is_none() {
            out.push(format!("Deployment {service}: missing"));
        }
    }
    let scales = |name: &str| {
        manifests.of_kind("HorizontalPodAutoscaler").find(|h| {
            h.get("apiVersion") == Some(&Value::from("autoscaling/v2"))
                && h.pointer("/spec/scaleTargetRef/name") == Some(&Value::from(name))
        })
    };
    if scales("gateway").is_none() {
        out.push("Deployment gateway: no autoscaling/v2 HorizontalPodAutoscaler".to_owned());
    }
    // Its replicas multiply Belvo calls from one egress address: never scaled on CPU (or at
    // all, until the budget is shared across replicas).
    if scales("data-service").is_some() {
        out.push(
            "Deployment data-service: autoscaled, although its replicas share Belvo's budget"
                .to_owned(),
        );
    }
    out
}

/// Which app a workload's pods are: its pods' `app.kubernetes.io/name`, else its own name.
fn app_of(workload: &Value) -> &str {
    pod_labels(workload)
        .and_then(|l| l.get("app.kubernetes.io/name"))
        .and_then(Value::as_str)
        .unwrap_or_else(|| name_of(workload))
}

/// Production changes a gRPC service's schema only through the migration Job: its Deployment
/// sets `<PREFIX>__DATABASE__RUN_MIGRATIONS` to "false", and a Job container runs the same
/// image with `migrate` against the same database Secret. Its pods wait for the Job, whatever
/// the order `kubectl apply` starts things in: an init container runs the same image with
/// `wait-for-schema` against the same database Secret.
fn migration_violations(
    manifests: &Manifests,
    service: &str,
    prefix: &str,
    deployed: &Value,
) -> Vec<String> {
    let mut out = Vec::new();
    let run_migrations = format!("{prefix}__DATABASE__RUN_MIGRATIONS");
    if env_value(deployed, &run_migrations) != Some("false") {
        out.push(format!(
            "Deployment {service}: {run_migrations} is not \"false\" (schema changes belong to the migration Job)"
        ));
    }
    let url = format!("{prefix}__DATABASE__URL");
    let database = |c: &Value| {
        env_entry(c, &url)
            .and_then(|e| e.pointer("/valueFrom/secretKeyRef"))
            .cloned()
    };
    let migrators: Vec<(&Value, &Value)> = manifests
        .containers()
        .into_iter()
        .filter(|(w, c)| {
            kind_of(w) == "Job"
                && c.get("image") == deployed.get("image")
                && c.get("args") == Some(&serde_json::json!(["migrate"]))
        })
        .collect();
    if migrators.is_empty() {
        out.push(format!(
            "Deployment {service}: no Job container runs its image with `migrate`"
        ));
    }
    let waiters: Vec<&Value> = manifests
        .get("Deployment", service)
        .and_then(pod_spec)
        .and_then(|spec| spec.get("initContainers"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| {
            c.get("image") == deployed.get("image")
                && c.get("args") == Some(&serde_json::json!(["wait-for-schema"]))
        })
        .collect();
    if waiters.is_empty() {
        out.push(format!(
            "Deployment {service}: no init container runs its image with `wait-for-schema` \
             (pods must wait for the migration Job)"
        ));
    }
    for c in waiters {
        if database(c).is_none() || database(c) != database(deployed) {
            out.push(format!(
                "Deployment {service} init container {}: {url} is not the Deployment's database Secret",
                c.get("name").and_then(Value::as_str).unwrap_or("?")
            ));
        }
    }
    for (job, c) in migrators {
        if database(c).is_none() || database(c) != database(deployed) {
            out.push(format!(
                "Job {} container {}: {url} is not the Deployment's database Secret",
                name_of(job),
                c.get("name").and_then(Value::as_str).unwrap_or("?")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_their_simple_forms() {
        assert_eq!(parse_seconds("20s"), Some(20.0));
        assert_eq!(parse_seconds("1m"), Some(60.0));
        assert_eq!(parse_seconds("500ms"), Some(0.5));
        assert_eq!(parse_seconds("20"), None);
        assert_eq!(parse_seconds("2h"), None);
    }

    #[test]
    fn selectors_match_labels_and_expressions() {
        let labels = serde_json::json!({"app.kubernetes.io/name": "gateway", "tier": "edge"});
        let labels = labels.as_object().unwrap();
        let by_label = serde_json::json!({"matchLabels": {"app.kubernetes.io/name": "gateway"}});
        let other = serde_json::json!({"matchLabels": {"app.kubernetes.io/name": "data-service"}});
        let by_expr = serde_json::json!({"matchExpressions": [
            {"key": "app.kubernetes.io/name", "operator": "In", "values": ["gateway", "x"]},
            {"key": "missing", "operator": "DoesNotExist"}
        ]});
        let not_in = serde_json::json!({"matchExpressions": [
            {"key": "tier", "operator": "NotIn", "values": ["edge"]}
        ]});
        assert!(selects(&by_label, labels));
        assert!(!selects(&other, labels));
        assert!(selects(&by_expr, labels));
        assert!(!selects(&not_in, labels));
        assert!(selects(&serde_json::json!({}), labels));
    }

    #[test]
    fn a_stream_without_kind_is_refused() {
        assert!(Manifests::parse("apiVersion: v1\nmetadata: {name: x}\n").is_err());
        let ok =
            Manifests::parse("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n")
                .unwrap();
        assert_eq!(ok.objects().len(), 1);
    }
}

/// Where a connection goes, for [`allows`]: a pod of this namespace (by its labels) or an
/// address outside the cluster.
#[derive(Debug, Clone, Copy)]
pub enum Peer<'a> {
    /// A pod with these labels, in the same namespace.
    Pod(&'a serde_json::Map<String, Value>),
    /// An IPv4 address outside the cluster.
    External([u8; 4]),
}

/// The pod template labels of the workload with this name.
pub fn workload_labels<'a>(
    manifests: &'a Manifests,
    name: &str,
) -> Option<&'a serde_json::Map<String, Value>> {
    manifests
        .workloads()
        .find(|w| name_of(w) == name)
        .and_then(pod_labels)
}

fn in_cidr(ip: [u8; 4], cidr: &str) -> bool {
    let Some((net, bits)) = cidr.split_once('/') else {
        return false;
    };
    let (Ok(bits), Ok(net)) = (bits.parse::<u32>(), net.parse::<std::net::Ipv4Addr>()) else {
        return false;
    };
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits.min(32))
    };
    (u32::from_be_bytes(ip) & mask) == (u32::from(net) & mask)
}

/// Does a rule's peer list admit this peer? Peers with a `namespaceSelector` name other
/// namespaces and never match a pod of this one (the overlays never label their own
/// namespace for that).
fn peers_admit(peers: Option<&Value>, peer: Peer<'_>) -> bool {
    let Some(peers) = peers.and_then(Value::as_array) else {
        return true; // no `to`/`from`: every peer
    };
    peers.iter().any(|p| match peer {
        Peer::Pod(labels) => {
            p.get("namespaceSelector").is_none()
                && p.get("podSelector").is_some_and(|s| selects(s, labels))
        }
        Peer::External(ip) => p.get("ipBlock").is_some_and(|b| {
            b.get("cidr")
                .and_then(Value::as_str)
                .is_some_and(|c| in_cidr(ip, c))
                && !b
                    .get("except")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .any(|c| in_cidr(ip, c))
        }),
    })
}

fn ports_admit(ports: Option<&Value>, port: u16) -> bool {
    let Some(ports) = ports.and_then(Value::as_array) else {
        return true;
    };
    ports.iter().any(|p| {
        p.get("protocol").and_then(Value::as_str).unwrap_or("TCP") == "TCP"
            && p.get("port").and_then(Value::as_u64) == Some(u64::from(port))
    })
}

/// Do the NetworkPolicies let a pod with labels `from` open a TCP connection to `to` on
/// `port`? Egress is checked at the source (when some policy selecting it restricts egress)
/// and ingress at a destination pod (likewise), as Kubernetes does.
pub fn allows(
    manifests: &Manifests,
    from: &serde_json::Map<String, Value>,
    to: Peer<'_>,
    port: u16,
) -> bool {
    let policies: Vec<&Value> = manifests.of_kind("NetworkPolicy").collect();
    let restricts = |p: &Value, labels: &serde_json::Map<String, Value>, kind: &str| {
        p.pointer("/spec/podSelector")
            .is_some_and(|s| selects(s, labels))
            && p.pointer("/spec/policyTypes")
                .and_then(Value::as_array)
                .is_some_and(|t| t.iter().any(|t| t == kind))
    };
    let egress: Vec<&&Value> = policies
        .iter()
        .filter(|p| restricts(p, from, "Egress"))
        .collect();
    let egress_ok = egress.is_empty()
        || egress.iter().any(|p| {
            p.pointer("/spec/egress")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|rule| peers_admit(rule.get("to"), to) && ports_admit(rule.get("ports"), port))
        });
    let ingress_ok = match to {
        Peer::External(_) => true,
        Peer::Pod(labels) => {
            let ingress: Vec<&&Value> = policies
                .iter()
                .filter(|p| restricts(p, labels, "Ingress"))
                .collect();
            ingress.is_empty()
                || ingress.iter().any(|p| {
                    p.pointer("/spec/ingress")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .any(|rule| {
                            peers_admit(rule.get("from"), Peer::Pod(from))
                                && ports_admit(rule.get("ports"), port)
                        })
                })
        }
    };
    egress_ok && ingress_ok
}
