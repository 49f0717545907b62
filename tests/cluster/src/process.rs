//! One platform binary as a child process: started with its environment on a port chosen
//! beforehand (so that a restart comes back where its callers look for it), stdout and
//! stderr appended to a log file, stopped with SIGTERM or SIGKILL, probed for readiness, and
//! killed when dropped.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::process::{Child, Command};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Where the platform's binaries are: `$CLUSTER_TEST_BIN_DIR`, else the directory of this
/// test's own executable's parent (`target/<profile>/deps/<test>` → `target/<profile>`).
pub fn bin_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CLUSTER_TEST_BIN_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let exe = std::env::current_exe().context("the test's own executable")?;
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .context("the test executable has no target/<profile> directory")
}

/// The path of binary `name`, or an error saying how to build it.
pub fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let path = bin_dir()?.join(name);
    if !path.is_file() {
        bail!(
            "{} is missing: run `cargo build --bins` first (or set CLUSTER_TEST_BIN_DIR)",
            path.display()
        );
    }
    Ok(path)
}

/// A free loopback port: bound on port 0 and released at once. Between the release and the
/// process binding it, another process could take it (the kernel hands out ports from a
/// large range in a rotating order, so this is rare); a process that cannot bind exits and
/// its start-up fails with its log.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("bind 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// A free loopback address (see [`free_port`]).
pub fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(SocketAddr::from(([127, 0, 0, 1], free_port()?)))
}

/// How a process tells that it is ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// `grpc.health.v1` answers SERVING (token-, link-, data-service).
    Grpc,
    /// `GET /readyz` answers 200 (the gateway).
    Gateway,
    /// `GET /_emulator/health` answers 200.
    Emulator,
}

/// A child process of the test.
#[derive(Debug)]
pub struct Proc {
    /// `data-service-2`, `gateway-1`, ...
    pub name: String,
    /// The address it serves on, the same at every start.
    pub addr: SocketAddr,
    /// How many times it was started.
    pub starts: u32,
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    probe: Probe,
    log: PathBuf,
    child: Option<Child>,
}

impl Proc {
    /// A process not started yet, logging to `<log_dir>/<name>.log`.
    pub fn new(
        name: impl Into<String>,
        program: PathBuf,
        addr: SocketAddr,
        probe: Probe,
        log_dir: &Path,
    ) -> Self {
        let name = name.into();
        Self {
            log: log_dir.join(format!("{name}.log")),
            name,
            addr,
            starts: 0,
            program,
            args: Vec::new(),
            env: Vec::new(),
            probe,
            child: None,
        }
    }

    /// Adds command-line arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Adds environment variables.
    pub fn envs<I, K, V>(mut self, env: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.env
            .extend(env.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts it (a previous run must have ended).
    pub fn start(&mut self) -> anyhow::Result<()> {
        if self.is_running() {
            bail!("{} is already running", self.name);
        }
        self.starts += 1;
        let heading = format!("start #{}", self.starts);
        let child = self.spawn(&heading, &self.args, |_| true)?;
        self.child = Some(child);
        Ok(())
    }

    /// Runs the binary once more with `args` instead of its own (`migrate`, say), with the
    /// variables of its environment that `keep` keeps and the same log, and waits up to
    /// `within` for it to succeed.
    pub async fn run_once(
        &self,
        args: &[&str],
        keep: impl Fn(&str) -> bool,
        within: Duration,
    ) -> anyhow::Result<()> {
        let mut child = self.spawn(&args.join(" "), args, keep)?;
        let status = tokio::time::timeout(within, child.wait())
            .await
            .with_context(|| format!("{} {args:?} took longer than {within:?}", self.name))??;
        if !status.success() {
            bail!("{} {args:?} failed: {status}", self.name);
        }
        Ok(())
    }

    /// Spawns the binary with `args` and the variables of its environment that `keep` keeps,
    /// its output appended to its log under a `heading` line.
    fn spawn(
        &self,
        heading: &str,
        args: &[impl AsRef<std::ffi::OsStr>],
        keep: impl Fn(&str) -> bool,
    ) -> anyhow::Result<Child> {
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("open {}", self.log.display()))?;
        writeln!(log, "===== {} {heading} =====", self.name)?;
        let err = log.try_clone()?;
        Command::new(&self.program)
            .args(args)
            .envs(
                self.env
                    .iter()
                    .filter(|(k, _)| keep(k))
                    .map(|(k, v)| (k, v)),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("spawn {}", self.program.display()))
    }

    /// Its process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Whether it is running (reaping it if it has exited).
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// How it ended, if it has.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// SIGKILL, and waits for it to be gone.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(child) = &mut self.child {
            let _ = child.start_kill();
            child
                .wait()
                .await
                .with_context(|| format!("wait for {}", self.name))?;
        }
        Ok(())
    }

    /// SIGTERM, and waits up to `within` for it to exit (then SIGKILL and an error).
    pub async fn terminate(&mut self, within: Duration) -> anyhow::Result<ExitStatus> {
        let pid = self
            .pid()
            .with_context(|| format!("{} is not running", self.name))?;
        signal(pid, "TERM")?;
        let child = self.child.as_mut().context("no child")?;
        match tokio::time::timeout(within, child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => {
                let _ = child.start_kill();
                bail!("{} did not exit within {within:?} of SIGTERM", self.name)
            }
        }
    }

    /// Waits until the probe passes; fails at once if the process exits meanwhile.
    pub async fn wait_ready(&mut self, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let mut health = None;
        loop {
            if let Some(status) = self.exit_status() {
                bail!("{} exited during start-up ({status})", self.name);
            }
            let last = match self.probe {
                Probe::Grpc => {
                    if health.is_none() {
                        health = Some(HealthClient::new(
                            tonic::transport::Endpoint::from_shared(self.url())?
                                .connect_timeout(Duration::from_secs(1))
                                .timeout(Duration::from_secs(2))
                                .connect_lazy(),
                        ));
                    }
                    let Some(client) = health.as_mut() else {
                        unreachable!("set above")
                    };
                    match client
                        .check(HealthCheckRequest {
                            service: String::new(),
                        })
                        .await
                    {
                        Ok(r) if r.get_ref().status == ServingStatus::Serving as i32 => {
                            return Ok(());
                        }
                        Ok(r) => format!("health status {}", r.get_ref().status),
                        Err(e) => e.to_string(),
                    }
                }
                Probe::Gateway | Probe::Emulator => {
                    let path = if self.probe == Probe::Gateway {
                        "/readyz"
                    } else {
                        "/_emulator/health"
                    };
                    match http.get(format!("{}{path}", self.url())).send().await {
                        Ok(r) if r.status().is_success() => return Ok(()),
                        Ok(r) => r.status().to_string(),
                        Err(e) => e.to_string(),
                    }
                }
            };
            if Instant::now() > deadline {
                bail!("{} was not ready within {within:?}: {last}", self.name);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }
}

/// The last `lines` lines of a file (empty if it cannot be read).
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Sends `SIG<name>` to `pid` with kill(1) (the crate forbids `unsafe`, so no libc call).
pub fn signal(pid: u32, name: &str) -> anyhow::Result<()> {
    let status = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("run kill(1)")?;
    if !status.success() {
        bail!("kill -{name} {pid} failed: {status}");
    }
    Ok(())
}
