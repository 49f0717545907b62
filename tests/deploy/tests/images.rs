//! The five runtime images, built and run as the dev overlay says, with podman.
//!
//! 1. **Base.** `gcr.io/distroless/cc-debian12:nonroot` cannot be pulled here, so the test builds
//!    a stand-in from Debian 12's own packages, as distroless builds its image:
//!    `deploy/docker/base/packages` (base-files, netbase, tzdata, media-types, libc6, libssl3,
//!    libgcc-s1, libgomp1, libstdc++6, gcc-12-base) unpacked with `apt-get download` and
//!    `dpkg-deb -x`, distroless's `/etc/passwd` (root, nobody, nonroot 65532), `/etc/group` and
//!    `/etc/nsswitch.conf`, the host's CA bundle, `/home/nonroot` owned by 65532 and `/tmp`; no
//!    shell (`deploy/docker/base/Containerfile`). It is cached in podman's storage under a tag
//!    made of a hash of those files and the package versions apt would download, so a rerun
//!    reuses it; the downloads stay in `target/image-test/`.
//! 2. **Images.** `deploy/docker/Dockerfile`'s runtime stage, unchanged, for each binary, with
//!    two named build contexts: `builder` is a folder holding the binary this test run built
//!    (`target/<profile>/<name>` as `out/app`), so the builder stage is skipped, and the base's
//!    name is the stand-in above.
//! 3. **Run.** The dev overlay (`kubectl kustomize deploy/overlays/dev`) as the kubelet would
//!    run it: each container's environment (Secrets resolved from the overlay), args, ConfigMap
//!    volumes mounted read-only, emptyDir volumes as tmpfs of their `sizeLimit`, a read-only
//!    root (and no tmpfs of podman's own), the pod's user, group and fsGroup, every capability
//!    dropped, no new privileges, podman's default seccomp profile (RuntimeDefault), its
//!    container ports published on random ports of 127.0.0.1. One bridge network per run; each
//!    container is reachable under the names of the Services that select its pod. The Job
//!    `migrate` runs first and must exit 0, then every Deployment starts.
//! 4. **Probes.** Every startup, liveness and readiness probe of every Deployment, as the kubelet
//!    runs it (grpc.health.v1.Health/Check with the probe's `service`, SERVING passes; HTTP GET
//!    with `User-Agent: kube-probe`, 200–399 passes; the probe's `timeoutSeconds`): the startup
//!    probe (else readiness) must pass within the `failureThreshold × periodSeconds` the kubelet
//!    allows before it restarts the container, then liveness and readiness must pass.
//! 5. **Flow.** Through the gateway's published port: dev login, a widget token, a link created
//!    in the emulator's widget API, registered, the emulator's webhooks back to the gateway, and
//!    synced transactions read through the gateway.
//! 6. **SIGTERM.** `podman stop` sends each container SIGTERM (then SIGKILL at the end of its
//!    pod's `terminationGracePeriodSeconds` minus its preStop pause, which the kubelet spends
//!    before the signal); each must exit with status 0 before that.
//!
//! What is substituted, and why:
//! - The StatefulSet `postgres` is not run (no PostgreSQL image can be pulled here): each
//!   database the overlay's URLs name (`postgres:5432/<db>`) becomes a fresh, uniquely named
//!   database on `TEST_POSTGRES_URL`'s server, reached from the containers as `postgres` (an
//!   `/etc/hosts` entry for the network's gateway address, where the test forwards TCP to the
//!   server) on a random port, with that server's user and password.
//! - There is no kube-proxy: a Service's name resolves to its pod's container, so a URL naming a
//!   Service port that differs from its target port (the gateway's 80 → 8080, in the emulator's
//!   webhook URL) is rewritten to the target port.
//! - Not applied: resource limits, the preStop `sleep` pause itself (a kubelet action: nothing
//!   runs in the container) and the NetworkPolicies (tests/manifests checks them).
//!
//! The test runs podman with `tests/deploy/podman/containers.conf` (Debian's runc, cgroupfs,
//! netavark). `make deps` installs podman and runc. Without podman the test fails under
//! `CI=true` and otherwise skips; it skips (outside CI) only when podman is installed but
//! cannot run a container here.
//!
//! Run it alone with `make image-test` (which builds the binaries first).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash as _, Hasher as _};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use database::testing::TestDatabase;
use deploy_tests::{Manifests, kind_of, name_of, pod_spec};
use serde_json::{Value, json};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// The workspace binaries with an image each (one `connect/<name>` image per binary).
const BINARIES: [&str; 5] = [
    "token-service",
    "link-service",
    "data-service",
    "gateway",
    "belvo-emulator",
];

/// The runtime stage's base, which the test replaces with its stand-in.
const DISTROLESS: &str = "gcr.io/distroless/cc-debian12:nonroot";

/// Where the stand-in base is cached in podman's storage (tagged by content).
const BASE_REPOSITORY: &str = "localhost/connect-image-test/cc-debian12";

/// The Service the test replaces with `TEST_POSTGRES_URL`'s server.
const POSTGRES_SERVICE: &str = "postgres";

/// The Kubernetes version the kubelet's probe `User-Agent` names.
const KUBELET_VERSION: &str = "1.32";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Something the test needs is missing: fail under CI, else skip with the reason.
fn skip(message: &str) {
    assert!(!in_ci(), "{message} (CI=true: the image test must run)");
    eprintln!("SKIPPED: {message}");
}

/// `target/<profile>`, where cargo put this test binary's workspace binaries.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/images-<hash>
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// `target/image-test`: downloads and build contexts (ignored by git with target/).
fn work_dir() -> PathBuf {
    profile_dir().parent().unwrap().join("image-test")
}

/// Runs a program to completion; `Err` carries its status and stderr.
async fn output(program: &str, args: &[&str], cwd: Option<&Path>) -> Result<String, String> {
    let mut command = tokio::process::Command::new(program);
    command.args(args).stdin(Stdio::null()).kill_on_drop(true);
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    let out = command
        .output()
        .await
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{program} {} ({}):\n{}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// podman with the test's containers.conf.
#[derive(Debug, Clone)]
struct Podman {
    conf: PathBuf,
}

impl Podman {
    fn new() -> Self {
        Self {
            conf: repo_root().join("tests/deploy/podman/containers.conf"),
        }
    }

    async fn run(&self, args: &[&str]) -> Result<String, String> {
        let out = tokio::process::Command::new("podman")
            .args(args)
            .env("CONTAINERS_CONF", &self.conf)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|e| format!("podman: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(format!(
                "podman {} ({}):\n{}{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    async fn ok(&self, args: &[&str]) -> String {
        self.run(args).await.unwrap_or_else(|e| panic!("{e}"))
    }

    /// Blocking, for the cleanup in `Drop`.
    fn run_blocking(&self, args: &[&str]) -> String {
        std::process::Command::new("podman")
            .args(args)
            .env("CONTAINERS_CONF", &self.conf)
            .stdin(Stdio::null())
            .output()
            .map(|o| {
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                )
            })
            .unwrap_or_else(|e| e.to_string())
    }
}

/// What one run created: removed when dropped, pass or fail (the cached base stays). On a
/// failure, every container's last log lines are printed first.
#[derive(Debug)]
struct Created {
    podman: Podman,
    containers: Mutex<Vec<String>>,
    network: Mutex<Option<String>>,
    images: Mutex<Vec<String>>,
    dirs: Mutex<Vec<PathBuf>>,
}

impl Created {
    fn new(podman: Podman) -> Self {
        Self {
            podman,
            containers: Mutex::default(),
            network: Mutex::default(),
            images: Mutex::default(),
            dirs: Mutex::default(),
        }
    }
}

impl Drop for Created {
    fn drop(&mut self) {
        let containers = std::mem::take(&mut *self.containers.lock().unwrap());
        if std::thread::panicking() {
            for name in &containers {
                let logs = self.podman.run_blocking(&["logs", "--tail", "40", name]);
                eprintln!("---- podman logs --tail 40 {name}\n{logs}");
            }
        }
        if !containers.is_empty() {
            let mut args = vec!["rm", "--force", "--time", "0"];
            args.extend(containers.iter().map(String::as_str));
            self.podman.run_blocking(&args);
        }
        if let Some(network) = self.network.lock().unwrap().take() {
            self.podman
                .run_blocking(&["network", "rm", "--force", &network]);
        }
        let images = std::mem::take(&mut *self.images.lock().unwrap());
        if !images.is_empty() {
            let mut args = vec!["rmi", "--force"];
            args.extend(images.iter().map(String::as_str));
            self.podman.run_blocking(&args);
        }
        for dir in self.dirs.lock().unwrap().drain(..) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Renders the dev overlay with the standalone kustomize if present, else `kubectl kustomize`.
async fn render_dev() -> Result<Manifests, String> {
    let dir = repo_root().join("deploy/overlays/dev");
    let dir = dir.to_str().unwrap();
    let yaml = match output("kustomize", &["build", dir], None).await {
        Ok(yaml) => yaml,
        Err(_) => output("kubectl", &["kustomize", dir], None)
            .await
            .map_err(|e| format!("kubectl (or kustomize) cannot render the dev overlay: {e}"))?,
    };
    Ok(Manifests::parse(&yaml).unwrap())
}

/// Builds (or finds in the cache) the stand-in for distroless cc-debian12; returns its tag.
async fn base_image(podman: &Podman) -> Result<String, String> {
    let base = repo_root().join("deploy/docker/base");
    let packages: Vec<String> = std::fs::read_to_string(base.join("packages"))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let package_args: Vec<&str> = packages.iter().map(String::as_str).collect();
    let ca_bundle = Path::new("/etc/ssl/certs/ca-certificates.crt");
    let mut hasher = std::hash::DefaultHasher::new();
    for file in [
        "packages",
        "passwd",
        "group",
        "nsswitch.conf",
        "Containerfile",
    ] {
        std::fs::read(base.join(file)).unwrap().hash(&mut hasher);
    }
    std::fs::read(ca_bundle)
        .map_err(|e| format!("{}: {e}", ca_bundle.display()))?
        .hash(&mut hasher);
    // The exact .deb files apt would fetch (names carry versions), without fetching them; in
    // an empty folder, since apt leaves out the files already there.
    let empty = tempfile::tempdir().unwrap();
    let mut args = vec!["download", "--print-uris"];
    args.extend(&package_args);
    let uris = output("apt-get", &args, Some(empty.path()))
        .await
        .map_err(|e| format!("apt-get cannot name Debian's packages for the base: {e}"))?;
    let mut debs: Vec<&str> = uris
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    debs.sort_unstable();
    assert_eq!(
        debs.len(),
        packages.len(),
        "apt-get download --print-uris:\n{uris}"
    );
    debs.hash(&mut hasher);
    let tag = format!("{BASE_REPOSITORY}:{:016x}", hasher.finish());
    if podman.run(&["image", "exists", &tag]).await.is_ok() {
        return Ok(tag);
    }

    let dir = work_dir().join(tag.rsplit(':').next().unwrap());
    let _ = std::fs::remove_dir_all(&dir);
    let (downloads, rootfs) = (dir.join("debs"), dir.join("context/rootfs"));
    for d in [
        &downloads,
        &rootfs.join("etc/ssl/certs"),
        &dir.join("context/home"),
    ] {
        std::fs::create_dir_all(d).unwrap();
    }
    let mut args = vec!["download"];
    args.extend(&package_args);
    output("apt-get", &args, Some(&downloads)).await?;
    for deb in std::fs::read_dir(&downloads).unwrap() {
        let deb = deb.unwrap().path();
        output(
            "dpkg-deb",
            &["-x", deb.to_str().unwrap(), rootfs.to_str().unwrap()],
            None,
        )
        .await?;
    }
    for file in ["passwd", "group", "nsswitch.conf"] {
        std::fs::copy(base.join(file), rootfs.join("etc").join(file)).unwrap();
    }
    std::fs::copy(ca_bundle, rootfs.join("etc/ssl/certs/ca-certificates.crt")).unwrap();
    podman
        .run(&[
            "build",
            "--quiet",
            "--pull=never",
            "--layers=false",
            "--file",
            base.join("Containerfile").to_str().unwrap(),
            "--tag",
            &tag,
            dir.join("context").to_str().unwrap(),
        ])
        .await?;
    let _ = std::fs::remove_dir_all(&dir);
    // Earlier stand-ins (other package versions) are not needed any more.
    let listed = podman
        .ok(&[
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            "--filter",
            &format!("reference={BASE_REPOSITORY}"),
        ])
        .await;
    for old in listed.lines().filter(|t| *t != tag) {
        let _ = podman.run(&["rmi", old]).await;
    }
    Ok(tag)
}

/// The limits of open files and of processes given to each container (`--ulimit`, soft and
/// hard alike). podman's defaults for a rootful container (1048576 and 4194304) are more than
/// runc may set where the test runs without CAP_SYS_RESOURCE, and it then cannot start the
/// container: this process's own hard limit of open files, and 32768 processes (they count per
/// user, and every container runs as 65532), each capped at podman's default.
fn ulimits() -> [String; 2] {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let hard = |prefix: &str| {
        limits
            .lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| {
                l[prefix.len()..]
                    .split_whitespace()
                    .nth(1)?
                    .parse::<u64>()
                    .ok()
            })
    };
    let nofile = hard("Max open files").unwrap_or(1024).min(1_048_576);
    let nproc = hard("Max processes").unwrap_or(32_768).min(32_768);
    [
        format!("nofile={nofile}:{nofile}"),
        format!("nproc={nproc}:{nproc}"),
    ]
}

/// A quantity of bytes as Kubernetes writes it (`64Mi`, `1G`, `512`).
fn bytes(quantity: &str) -> u64 {
    let units = [
        ("Ki", 1u64 << 10),
        ("Mi", 1 << 20),
        ("Gi", 1 << 30),
        ("k", 1000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
    ];
    for (suffix, factor) in units {
        if let Some(n) = quantity.strip_suffix(suffix) {
            return n.parse::<u64>().unwrap() * factor;
        }
    }
    quantity.parse().unwrap()
}

/// One container of a workload, with what it needs from its pod.
#[derive(Debug, Clone)]
struct Pod<'a> {
    workload: &'a Value,
    spec: &'a Value,
    container: &'a Value,
}

impl Pod<'_> {
    fn container_name(&self) -> &str {
        self.container["name"].as_str().unwrap()
    }

    /// A securityContext field, the container's over the pod's.
    fn security(&self, field: &str) -> Option<&Value> {
        self.container
            .pointer(&format!("/securityContext/{field}"))
            .or_else(|| self.spec.pointer(&format!("/securityContext/{field}")))
            .filter(|v| !v.is_null())
    }

    /// A container port by number or name.
    fn port(&self, port: &Value) -> u16 {
        if let Some(n) = port.as_u64() {
            return u16::try_from(n).unwrap();
        }
        let name = port.as_str().expect("a port number or name");
        self.container["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == name)
            .and_then(|p| p["containerPort"].as_u64())
            .map(|p| u16::try_from(p).unwrap())
            .unwrap_or_else(|| panic!("{}: no port named {name}", self.container_name()))
    }

    fn grace(&self) -> u64 {
        self.spec["terminationGracePeriodSeconds"]
            .as_u64()
            .unwrap_or(30)
    }

    fn pre_stop_sleep(&self) -> u64 {
        self.container
            .pointer("/lifecycle/preStop/sleep/seconds")
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }
}

/// The overlay's Services as (name, port, target port number, the pods' labels they select).
fn service_ports(manifests: &Manifests) -> Vec<(String, u16, u16)> {
    let mut out = Vec::new();
    for service in manifests.of_kind("Service") {
        let selector =
            json!({"matchLabels": service.pointer("/spec/selector").cloned().unwrap_or(json!({}))});
        let pods: Vec<Pod<'_>> = pods(manifests)
            .into_iter()
            .filter(|p| {
                p.workload
                    .pointer("/spec/template/metadata/labels")
                    .and_then(Value::as_object)
                    .is_some_and(|l| deploy_tests::selects(&selector, l))
            })
            .collect();
        for port in service
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let number = u16::try_from(port["port"].as_u64().unwrap()).unwrap();
            let target = port.get("targetPort").cloned().unwrap_or(json!(number));
            let target = match (target.as_u64(), pods.first()) {
                (Some(n), _) => u16::try_from(n).unwrap(),
                (None, Some(pod)) => pod.port(&target),
                (None, None) => continue,
            };
            out.push((name_of(service).to_owned(), number, target));
        }
    }
    out
}

/// The Services that select a workload's pods.
fn services_of(manifests: &Manifests, workload: &Value) -> Vec<String> {
    let labels = workload
        .pointer("/spec/template/metadata/labels")
        .and_then(Value::as_object);
    manifests
        .of_kind("Service")
        .filter(|s| {
            let selector =
                json!({"matchLabels": s.pointer("/spec/selector").cloned().unwrap_or(json!({}))});
            s.pointer("/spec/selector")
                .is_some_and(|v| v.as_object().is_some_and(|m| !m.is_empty()))
                && labels.is_some_and(|l| deploy_tests::selects(&selector, l))
        })
        .map(|s| name_of(s).to_owned())
        .collect()
}

/// Every (workload, container) of the overlay, init containers left out (the dev overlay has
/// none; asserted).
fn pods(manifests: &Manifests) -> Vec<Pod<'_>> {
    let mut out = Vec::new();
    for workload in manifests.workloads() {
        let spec = pod_spec(workload).unwrap();
        assert!(
            spec.get("initContainers").is_none_or(Value::is_null),
            "{} {}: init containers are not run by this test",
            kind_of(workload),
            name_of(workload)
        );
        for container in spec["containers"].as_array().unwrap() {
            out.push(Pod {
                workload,
                spec,
                container,
            });
        }
    }
    out
}

/// A Secret's or ConfigMap's value from the overlay.
fn reference(manifests: &Manifests, entry: &Value) -> String {
    if let Some(r) = entry.pointer("/valueFrom/secretKeyRef") {
        let (name, key) = (r["name"].as_str().unwrap(), r["key"].as_str().unwrap());
        let secret = manifests
            .get("Secret", name)
            .unwrap_or_else(|| panic!("no Secret {name}"));
        let encoded = secret["data"][key]
            .as_str()
            .unwrap_or_else(|| panic!("Secret {name} has no {key}"));
        return String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(encoded.split_whitespace().collect::<String>())
                .unwrap(),
        )
        .unwrap();
    }
    if let Some(r) = entry.pointer("/valueFrom/configMapKeyRef") {
        let (name, key) = (r["name"].as_str().unwrap(), r["key"].as_str().unwrap());
        return manifests
            .get("ConfigMap", name)
            .and_then(|c| c["data"][key].as_str())
            .unwrap_or_else(|| panic!("no ConfigMap {name} key {key}"))
            .to_owned();
    }
    panic!("unsupported env entry {entry}");
}

/// How the overlay's values are changed to run without a cluster (see the crate docs).
#[derive(Debug)]
struct Substitutions {
    /// (Service, port, target port) where the two differ.
    remapped: Vec<(String, u16, u16)>,
    /// The forwarder's port on the network's gateway address (for `postgres`).
    postgres_port: u16,
    /// The overlay's database name → the fresh database standing in for it.
    databases: BTreeMap<String, TestDatabase>,
    /// What was changed, for the report.
    log: BTreeSet<String>,
}

impl Substitutions {
    async fn apply(&mut self, value: &str) -> String {
        let mut value = value.to_owned();
        if let Some(database) = postgres_database(&value) {
            if !self.databases.contains_key(&database) {
                let db = TestDatabase::postgres()
                    .await
                    .expect("a PostgreSQL test server (TEST_POSTGRES_URL)");
                self.databases.insert(database.clone(), db);
            }
            let fresh = &self.databases[&database];
            self.log.insert(format!(
                "database {database} of Service {POSTGRES_SERVICE} -> {} on the test server",
                fresh.postgres_name().unwrap()
            ));
            value = with_authority(
                fresh.url(),
                &format!("{POSTGRES_SERVICE}:{}", self.postgres_port),
            );
        }
        for (service, port, target) in &self.remapped {
            if let Some(changed) = remap(&value, service, *port, *target) {
                self.log.insert(format!(
                    "Service {service} port {port} -> target port {target}"
                ));
                value = changed;
            }
        }
        value
    }
}

/// The database a `postgres://…@postgres[:port]/<database>` URL names (the overlay's Service).
fn postgres_database(url: &str) -> Option<String> {
    let rest = url.strip_prefix("postgres://")?;
    let (authority, path) = rest.split_once('/')?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    (host.split(':').next() == Some(POSTGRES_SERVICE))
        .then(|| path.split('?').next().unwrap_or("").to_owned())
}

/// `url` with its host and port replaced (its user, password, path and query kept).
fn with_authority(url: &str, host_port: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let userinfo = authority
        .rsplit_once('@')
        .map(|(u, _)| format!("{u}@"))
        .unwrap_or_default();
    format!("{scheme}://{userinfo}{host_port}{tail}")
}

/// `value` with each URL to `service` on `port` (explicit, or 80 implied by `http://`) sent to
/// `target` instead, as kube-proxy would; `None` when nothing names it.
fn remap(value: &str, service: &str, port: u16, target: u16) -> Option<String> {
    let needle = format!("://{service}");
    let host_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':');
    let (mut out, mut rest, mut changed) = (String::new(), value, false);
    while let Some(i) = rest.find(&needle) {
        let (before, after) = rest.split_at(i + needle.len());
        out.push_str(before);
        let explicit = after
            .strip_prefix(&format!(":{port}"))
            .filter(|t| !t.starts_with(|c: char| c.is_ascii_digit()));
        let implied = (port == 80
            && before.ends_with(&format!("http{needle}"))
            && !after.starts_with(host_char))
        .then_some(after);
        match explicit.or(implied) {
            Some(tail) => {
                out.push_str(&format!(":{target}"));
                rest = tail;
                changed = true;
            }
            None => rest = after,
        }
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// One run's names and folders.
#[derive(Debug)]
struct Run {
    id: String,
    network: String,
    dir: PathBuf,
    images: BTreeMap<String, String>,
    gateway_ip: Ipv4Addr,
    ulimits: [String; 2],
}

impl Run {
    fn container(&self, pod: &Pod<'_>) -> String {
        format!(
            "{}-{}-{}",
            self.id,
            name_of(pod.workload),
            pod.container_name()
        )
    }
}

/// `podman run` arguments for one container, as the kubelet would run it.
async fn run_args(
    manifests: &Manifests,
    run: &Run,
    pod: &Pod<'_>,
    subs: &mut Substitutions,
) -> Vec<String> {
    let name = run.container(pod);
    let mut args: Vec<String> = vec![
        "run".into(),
        "--detach".into(),
        "--name".into(),
        name.clone(),
        "--pull=never".into(),
        "--network".into(),
        run.network.clone(),
        "--hostname".into(),
        name_of(pod.workload).into(),
    ];
    for limit in &run.ulimits {
        args.extend(["--ulimit".into(), limit.clone()]);
    }
    if !run.gateway_ip.is_unspecified() {
        args.extend([
            "--add-host".into(),
            format!("{POSTGRES_SERVICE}:{}", run.gateway_ip),
        ]);
    }
    for service in services_of(manifests, pod.workload) {
        args.extend(["--network-alias".into(), service]);
    }
    // The security context.
    let user = pod.security("runAsUser").and_then(Value::as_u64);
    let group = pod.security("runAsGroup").and_then(Value::as_u64);
    if pod.security("runAsNonRoot") == Some(&json!(true)) {
        assert!(
            user.is_some_and(|u| u != 0),
            "{name}: runAsNonRoot needs a non-root runAsUser"
        );
    }
    if let Some(user) = user {
        let user = group.map_or(user.to_string(), |g| format!("{user}:{g}"));
        args.extend(["--user".into(), user]);
    }
    if let Some(fs_group) = pod
        .spec
        .pointer("/securityContext/fsGroup")
        .and_then(Value::as_u64)
    {
        args.extend(["--group-add".into(), fs_group.to_string()]);
    }
    if pod.security("readOnlyRootFilesystem") == Some(&json!(true)) {
        args.extend(["--read-only".into(), "--read-only-tmpfs=false".into()]);
    }
    for cap in pod
        .container
        .pointer("/securityContext/capabilities/drop")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        args.extend(["--cap-drop".into(), cap.as_str().unwrap().into()]);
    }
    for cap in pod
        .container
        .pointer("/securityContext/capabilities/add")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        args.extend(["--cap-add".into(), cap.as_str().unwrap().into()]);
    }
    if pod.security("allowPrivilegeEscalation") == Some(&json!(false)) {
        args.extend(["--security-opt".into(), "no-new-privileges".into()]);
    }
    let seccomp = pod
        .security("seccompProfile")
        .and_then(|p| p["type"].as_str());
    assert!(
        matches!(seccomp, Some("RuntimeDefault") | None),
        "{name}: seccomp {seccomp:?} (podman's default profile stands for RuntimeDefault)"
    );
    assert!(
        pod.security("privileged") != Some(&json!(true)),
        "{name}: privileged"
    );
    // Volumes.
    for mount in pod.container["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let volume_name = mount["name"].as_str().unwrap();
        let path = mount["mountPath"].as_str().unwrap();
        let volume = pod.spec["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["name"] == volume_name)
            .unwrap_or_else(|| panic!("{name}: no volume {volume_name}"));
        if let Some(config_map) = volume.get("configMap") {
            let cm_name = config_map["name"].as_str().unwrap();
            let object = manifests
                .get("ConfigMap", cm_name)
                .unwrap_or_else(|| panic!("no ConfigMap {cm_name}"));
            let dir = run.dir.join("volumes").join(&name).join(volume_name);
            std::fs::create_dir_all(&dir).unwrap();
            let items: Vec<(String, String)> =
                match config_map.get("items").and_then(Value::as_array) {
                    Some(items) => items
                        .iter()
                        .map(|i| {
                            (
                                i["key"].as_str().unwrap().to_owned(),
                                i["path"].as_str().unwrap().to_owned(),
                            )
                        })
                        .collect(),
                    None => object["data"]
                        .as_object()
                        .unwrap()
                        .keys()
                        .map(|k| (k.clone(), k.clone()))
                        .collect(),
                };
            for (key, file) in items {
                let text = object["data"][&key].as_str().unwrap();
                std::fs::write(dir.join(file), text).unwrap();
            }
            // A ConfigMap volume is read-only whatever the mount says.
            args.extend(["--volume".into(), format!("{}:{path}:ro", dir.display())]);
        } else if let Some(empty_dir) = volume.get("emptyDir") {
            let mut tmpfs = format!("type=tmpfs,destination={path},tmpfs-mode=1777");
            if let Some(limit) = empty_dir.get("sizeLimit").and_then(Value::as_str) {
                tmpfs.push_str(&format!(",tmpfs-size={}", bytes(limit)));
            }
            args.extend(["--mount".into(), tmpfs]);
        } else {
            panic!("{name}: volume {volume} is not a ConfigMap or an emptyDir");
        }
    }
    // Ports: every container port on a random port of 127.0.0.1.
    for port in pod.container["ports"].as_array().into_iter().flatten() {
        args.extend([
            "--publish".into(),
            format!("127.0.0.1::{}", port["containerPort"]),
        ]);
    }
    // The environment.
    for entry in pod.container["env"].as_array().into_iter().flatten() {
        let key = entry["name"].as_str().unwrap();
        let value = match entry["value"].as_str() {
            Some(v) => v.to_owned(),
            None => reference(manifests, entry),
        };
        let value = subs.apply(&value).await;
        args.extend(["--env".into(), format!("{key}={value}")]);
    }
    assert!(
        pod.container.get("envFrom").is_none(),
        "{name}: envFrom is not supported here"
    );
    if let Some(command) = pod.container.get("command") {
        args.extend(["--entrypoint".into(), command.to_string()]);
    }
    let image = pod.container["image"].as_str().unwrap();
    args.push(
        run.images
            .get(image)
            .unwrap_or_else(|| panic!("{name}: no image built for {image}"))
            .clone(),
    );
    for arg in pod.container["args"].as_array().into_iter().flatten() {
        args.push(arg.as_str().unwrap().into());
    }
    args
}

/// Forwards TCP from `listener` to `target` (the test PostgreSQL server) until dropped.
fn forward(listener: tokio::net::TcpListener, target: SocketAddr) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    })
}

/// The address of `TEST_POSTGRES_URL`'s server.
fn test_server() -> SocketAddr {
    let url = std::env::var("TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| database::testing::DEFAULT_TEST_POSTGRES_URL.to_owned());
    let authority = url
        .split_once("://")
        .map_or(url.as_str(), |(_, r)| r)
        .split(['/', '?'])
        .next()
        .unwrap();
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let hostport = if hostport.contains(':') {
        hostport.to_owned()
    } else {
        format!("{hostport}:5432")
    };
    std::net::ToSocketAddrs::to_socket_addrs(&hostport)
        .unwrap()
        .next()
        .unwrap()
}

/// Where a container's port is published on the host.
async fn published(podman: &Podman, container: &str) -> BTreeMap<u16, u16> {
    let text = podman.ok(&["port", container]).await;
    // "8080/tcp -> 127.0.0.1:41235"
    text.lines()
        .filter_map(|l| {
            let (inner, outer) = l.split_once(" -> ")?;
            let inner = inner.split('/').next()?.parse().ok()?;
            let outer = outer.rsplit(':').next()?.parse().ok()?;
            Some((inner, outer))
        })
        .collect()
}

/// One probe, as the kubelet runs it against the container's port (here, its published port).
async fn probe(pod: &Pod<'_>, probe: &Value, ports: &BTreeMap<u16, u16>) -> Result<(), String> {
    let timeout = Duration::from_secs(probe["timeoutSeconds"].as_u64().unwrap_or(1));
    let host_port = |port: &Value| {
        let port = pod.port(port);
        ports
            .get(&port)
            .copied()
            .ok_or(format!("port {port} is not published"))
    };
    if let Some(grpc) = probe.get("grpc") {
        let port = host_port(&grpc["port"])?;
        let service = grpc["service"].as_str().unwrap_or("").to_owned();
        let check = async move {
            let channel =
                tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
                    .unwrap()
                    .connect()
                    .await
                    .map_err(|e| format!("connect: {e}"))?;
            let status = HealthClient::new(channel)
                .check(HealthCheckRequest { service })
                .await
                .map_err(|e| format!("Check: {e}"))?
                .into_inner()
                .status();
            if status == ServingStatus::Serving {
                Ok(())
            } else {
                Err(format!("Check: {status:?}"))
            }
        };
        return tokio::time::timeout(timeout, check)
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {timeout:?}")));
    }
    if let Some(http) = probe.get("httpGet") {
        let port = host_port(&http["port"])?;
        assert!(
            http["scheme"].as_str().is_none_or(|s| s == "HTTP"),
            "only HTTP probes are run here"
        );
        let path = http["path"].as_str().unwrap_or("/");
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut request = client
            .get(format!("http://127.0.0.1:{port}{path}"))
            .header("User-Agent", format!("kube-probe/{KUBELET_VERSION}"))
            .header("Accept", "*/*");
        for header in http["httpHeaders"].as_array().into_iter().flatten() {
            request = request.header(
                header["name"].as_str().unwrap(),
                header["value"].as_str().unwrap(),
            );
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        let status = response.status().as_u16();
        return if (200..400).contains(&status) {
            Ok(())
        } else {
            Err(format!("GET {path}: {status}"))
        };
    }
    if let Some(tcp) = probe.get("tcpSocket") {
        let port = host_port(&tcp["port"])?;
        return tokio::time::timeout(timeout, tokio::net::TcpStream::connect(("127.0.0.1", port)))
            .await
            .map_err(|_| format!("connect: no answer within {timeout:?}"))?
            .map(drop)
            .map_err(|e| format!("connect: {e}"));
    }
    panic!("{}: unsupported probe {probe}", pod.container_name());
}

/// Probes until it passes or `within` runs out.
async fn probe_until(
    pod: &Pod<'_>,
    spec: &Value,
    ports: &BTreeMap<u16, u16>,
    within: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + within;
    loop {
        let result = probe(pod, spec, ports).await;
        if result.is_ok() || Instant::now() > deadline {
            return result;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How long the kubelet lets a probe fail before acting: initial delay plus failureThreshold
/// periods.
fn allowance(probe: &Value) -> Duration {
    let field = |name: &str, default: u64| probe[name].as_u64().unwrap_or(default);
    Duration::from_secs(
        field("initialDelaySeconds", 0) + field("failureThreshold", 3) * field("periodSeconds", 10),
    )
}

/// The JSON body of a 2xx response.
async fn ok_json(response: reqwest::Response) -> Value {
    let status = response.status();
    let url = response.url().clone();
    let body = response.text().await.unwrap();
    assert!(status.is_success(), "{url}: {status}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{url}: {e}: {body}"))
}

/// Dev login, widget token, a link made in the emulator's widget API, registered, and its
/// transactions synced, all through the gateway.
async fn flow(gateway: &str, emulator: &str) {
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let login = ok_json(
        http.post(format!("{gateway}/v1/dev/login"))
            .json(&json!({"user": "image-test"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let token = login["access_token"].as_str().expect("access_token");
    let minted = ok_json(
        http.post(format!("{gateway}/v1/widget-token"))
            .bearer_auth(token)
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let access = minted["access_token"]
        .as_str()
        .expect("a widget access_token");
    let created = ok_json(
        http.post(format!("{emulator}/_widget/api/links"))
            .bearer_auth(access)
            .json(&json!({
                "institution": "erebor_mx_retail",
                "username": "image_test_user",
                "password": "pass_valid",
                "external_id": minted["widget"]["external_id"],
                "access_mode": "recurrent",
            }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let link_id = created["id"].as_str().expect("a link id");
    ok_json(
        http.post(format!("{gateway}/v1/links"))
            .bearer_auth(token)
            .json(&json!({"link_id": link_id, "institution": "erebor_mx_retail"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let page = ok_json(
            http.get(format!("{gateway}/v1/links/{link_id}/transactions?limit=1"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        if page["data"].as_array().is_some_and(|d| !d.is_empty()) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no transactions synced for {link_id} within 60 s: {page}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits for a container to exit; returns its exit code.
async fn wait_exit(podman: &Podman, container: &str) -> i64 {
    podman
        .ok(&["wait", container])
        .await
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_images_run_as_the_dev_overlay_says_pass_their_probes_serve_the_flow_and_stop_cleanly()
{
    let started = Instant::now();
    let podman = Podman::new();
    if output("podman", &["--version"], None).await.is_err() {
        return skip("podman is not installed (`make deps` installs podman and runc)");
    }
    let manifests = match render_dev().await {
        Ok(m) => m,
        Err(e) => return skip(&e),
    };
    // The binaries cargo built with this test (`cargo nextest run --workspace`, `make test`);
    // `cargo nextest run -p deploy-tests` alone does not build other packages' binaries.
    let binaries = profile_dir();
    if let Some(missing) = BINARIES.iter().find(|b| !binaries.join(b).is_file()) {
        return skip(&format!(
            "{}: not built (`make image-test` builds the five binaries and runs this test)",
            binaries.join(missing).display()
        ));
    }
    let base = match base_image(&podman).await {
        Ok(tag) => tag,
        Err(e) => return skip(&format!("cannot build the stand-in base image: {e}")),
    };
    // Can podman run a container here at all? The base's dynamic loader reports its glibc.
    let ulimits = ulimits();
    let loader = podman
        .run(&[
            "run",
            "--rm",
            "--pull=never",
            "--network=none",
            "--ulimit",
            &ulimits[0],
            "--ulimit",
            &ulimits[1],
            "--entrypoint",
            "/lib64/ld-linux-x86-64.so.2",
            &base,
            "--version",
        ])
        .await;
    let loader = match loader {
        Ok(out) => out,
        Err(e) => return skip(&format!("podman cannot run a container here: {e}")),
    };
    assert!(
        loader.contains("GLIBC 2.36"),
        "the base's glibc is not Debian 12's: {loader}"
    );

    let id = format!(
        "connect-it-{:x}",
        (u128::from(std::process::id()) << 32
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos())
            & 0xffff_ffff_ffff
    );
    let created = Created::new(podman.clone());
    let dir = work_dir().join(&id);
    std::fs::create_dir_all(&dir).unwrap();
    created.dirs.lock().unwrap().push(dir.clone());

    // The images: the Dockerfile's runtime stage, the builder replaced by this run's binary.
    let dockerfile = repo_root().join("deploy/docker/Dockerfile");
    let empty_context = dir.join("context");
    std::fs::create_dir_all(&empty_context).unwrap();
    let mut images = BTreeMap::new();
    let mut builds = Vec::new();
    for binary in BINARIES {
        let context = dir.join("binaries").join(binary);
        std::fs::create_dir_all(context.join("out")).unwrap();
        let app = context.join("out/app");
        if std::fs::hard_link(binaries.join(binary), &app).is_err() {
            std::fs::copy(binaries.join(binary), &app).unwrap();
        }
        let tag = format!("localhost/connect-image-test/{binary}:{id}");
        created.images.lock().unwrap().push(tag.clone());
        images.insert(format!("connect/{binary}:dev"), tag.clone());
        let (podman, dockerfile, base, empty_context) = (
            podman.clone(),
            dockerfile.clone(),
            base.clone(),
            empty_context.clone(),
        );
        builds.push(tokio::spawn(async move {
            podman
                .ok(&[
                    "build",
                    "--quiet",
                    "--pull=never",
                    "--layers=false",
                    "--target",
                    "runtime",
                    "--file",
                    dockerfile.to_str().unwrap(),
                    "--build-arg",
                    &format!("PACKAGE={binary}"),
                    "--build-context",
                    &format!("builder={}", context.display()),
                    "--build-context",
                    &format!("{DISTROLESS}=container-image://{base}"),
                    "--tag",
                    &tag,
                    empty_context.to_str().unwrap(),
                ])
                .await;
            let config: Value = serde_json::from_str(
                &podman
                    .ok(&["image", "inspect", "--format", "{{json .Config}}", &tag])
                    .await,
            )
            .unwrap();
            assert_eq!(config["User"], "65532:65532", "{tag}");
            assert_eq!(config["Entrypoint"], json!(["/usr/local/bin/app"]), "{tag}");
            assert_eq!(
                config["Labels"]["org.opencontainers.image.title"],
                format!("connect-{binary}"),
                "{tag}"
            );
        }));
    }
    for build in builds {
        build.await.unwrap();
    }
    let built = started.elapsed();

    // The network, and the emulator first: it needs no database, and once a container is on
    // the network its bridge has the gateway address the database forwarder listens on.
    podman.ok(&["network", "create", &id]).await;
    *created.network.lock().unwrap() = Some(id.clone());
    let all = pods(&manifests);
    let (mut jobs, mut deployments): (Vec<Pod<'_>>, Vec<Pod<'_>>) = (Vec::new(), Vec::new());
    for pod in all {
        match kind_of(pod.workload) {
            "Job" => jobs.push(pod),
            "Deployment" => deployments.push(pod),
            // The in-cluster PostgreSQL: replaced by the test server (see the crate docs).
            "StatefulSet" if name_of(pod.workload) == POSTGRES_SERVICE => {}
            other => panic!("{other} {}: not run by this test", name_of(pod.workload)),
        }
    }
    let mut images_needed: BTreeSet<&str> = BTreeSet::new();
    for pod in jobs.iter().chain(&deployments) {
        images_needed.insert(pod.container["image"].as_str().unwrap());
    }
    assert_eq!(
        images_needed,
        images.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        "the overlay runs exactly the five images"
    );
    let server = test_server();
    let mut run = Run {
        id: id.clone(),
        network: id.clone(),
        dir: dir.clone(),
        images,
        gateway_ip: Ipv4Addr::UNSPECIFIED,
        ulimits,
    };
    let mut subs = Substitutions {
        remapped: service_ports(&manifests)
            .into_iter()
            .filter(|(_, p, t)| p != t)
            .collect(),
        postgres_port: 0,
        databases: BTreeMap::new(),
        log: BTreeSet::new(),
    };
    deployments.sort_by_key(|p| name_of(p.workload) != "belvo-emulator");
    let emulator = deployments[0].clone();
    assert_eq!(name_of(emulator.workload), "belvo-emulator");
    let args = run_args(&manifests, &run, &emulator, &mut subs).await;
    created
        .containers
        .lock()
        .unwrap()
        .push(run.container(&emulator));
    podman
        .ok(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    let gateway_ip = podman
        .ok(&[
            "network",
            "inspect",
            "--format",
            "{{range .Subnets}}{{.Gateway}}{{end}}",
            &id,
        ])
        .await;
    run.gateway_ip = gateway_ip
        .parse()
        .unwrap_or_else(|e| panic!("network gateway {gateway_ip:?}: {e}"));
    let listener = tokio::net::TcpListener::bind((run.gateway_ip, 0))
        .await
        .unwrap();
    subs.postgres_port = listener.local_addr().unwrap().port();
    let _forwarder = AbortOnDrop(forward(listener, server));
    // The emulator was started before the gateway address was known: its environment names
    // no database, so nothing it got depends on it.
    assert!(subs.databases.is_empty(), "the emulator names a database");

    // The Job `migrate`: its containers must all exit 0.
    for pod in &jobs {
        let args = run_args(&manifests, &run, pod, &mut subs).await;
        created.containers.lock().unwrap().push(run.container(pod));
        podman
            .ok(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .await;
    }
    for pod in &jobs {
        let name = run.container(pod);
        let code = wait_exit(&podman, &name).await;
        assert_eq!(
            code,
            0,
            "Job {} container {name} exited with {code}",
            name_of(pod.workload)
        );
    }
    let migrated = started.elapsed();

    // Every Deployment.
    for pod in &deployments[1..] {
        let args = run_args(&manifests, &run, pod, &mut subs).await;
        created.containers.lock().unwrap().push(run.container(pod));
        podman
            .ok(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .await;
    }
    let mut ports = BTreeMap::new();
    for pod in &deployments {
        ports.insert(
            run.container(pod),
            published(&podman, &run.container(pod)).await,
        );
    }

    // The probes, as the kubelet runs them.
    let mut checks = Vec::new();
    for pod in &deployments {
        let name = run.container(pod);
        let ports = &ports[&name];
        checks.push(async move {
            let startup = pod.container.get("startupProbe").filter(|p| !p.is_null());
            let ready = &pod.container["readinessProbe"];
            let live = &pod.container["livenessProbe"];
            // Until the startup probe passes, the kubelet runs no other; without one, the
            // liveness probe's allowance bounds how long the container may take to come up.
            let (first, within) = match startup {
                Some(p) => (p, allowance(p)),
                None => (ready, allowance(live)),
            };
            probe_until(pod, first, ports, within)
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "{name}: the {} probe did not pass within {within:?}: {e}",
                        if startup.is_some() {
                            "startup"
                        } else {
                            "readiness"
                        }
                    )
                });
            probe_until(pod, live, ports, allowance(live))
                .await
                .unwrap_or_else(|e| panic!("{name}: the liveness probe failed: {e}"));
            probe_until(pod, ready, ports, Duration::from_secs(60))
                .await
                .unwrap_or_else(|e| {
                    panic!("{name}: the readiness probe did not pass within 60 s: {e}")
                });
        });
    }
    futures::future::join_all(checks).await;
    let probed = started.elapsed();

    // The flow, through the gateway's and the emulator's published ports.
    let host_url = |workload: &str, port: u16| {
        let pod = deployments
            .iter()
            .find(|p| name_of(p.workload) == workload)
            .unwrap();
        format!("http://127.0.0.1:{}", ports[&run.container(pod)][&port])
    };
    flow(
        &host_url("gateway", 8080),
        &host_url("belvo-emulator", 8090),
    )
    .await;
    let flowed = started.elapsed();

    // Every container still running, never restarted.
    for pod in &deployments {
        let name = run.container(pod);
        let state = podman
            .ok(&[
                "inspect",
                "--format",
                "{{.State.Status}} {{.RestartCount}}",
                &name,
            ])
            .await;
        assert_eq!(state, "running 0", "{name}");
    }

    // SIGTERM: each must exit 0 within its pod's grace (less the preStop pause the kubelet
    // takes first), before podman's SIGKILL.
    let mut stops = Vec::new();
    for pod in &deployments {
        let name = run.container(pod);
        let grace = pod.grace().saturating_sub(pod.pre_stop_sleep());
        let podman = podman.clone();
        stops.push(async move {
            let t = Instant::now();
            podman
                .ok(&["stop", "--time", &grace.to_string(), &name])
                .await;
            let took = t.elapsed();
            let code = podman
                .ok(&["inspect", "--format", "{{.State.ExitCode}}", &name])
                .await;
            assert_eq!(
                code, "0",
                "{name}: exit status {code} after SIGTERM (took {took:?}, grace {grace} s)"
            );
            assert!(
                took < Duration::from_secs(grace),
                "{name}: took {took:?} to stop (grace {grace} s)"
            );
            (name, took)
        });
    }
    let stopped = futures::future::join_all(stops).await;
    eprintln!(
        "image test: built in {built:?}, migrated by {migrated:?}, probes passed by {probed:?}, flow done by {flowed:?}, stopped by {:?} ({});\nsubstituted: {}",
        started.elapsed(),
        stopped
            .iter()
            .map(|(n, t)| format!("{n} {t:.1?}"))
            .collect::<Vec<_>>()
            .join(", "),
        subs.log.iter().cloned().collect::<Vec<_>>().join("; ")
    );
    drop(created);
}

/// Aborts a task when dropped.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
