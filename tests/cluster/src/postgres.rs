//! A PostgreSQL server of the test's own, which it may stop and start (the machine's shared
//! server must not be restarted under other tests): `initdb` and `postgres` from
//! `$TEST_POSTGRES_BIN_DIR` (default `/usr/lib/postgresql/15/bin`), run as the `postgres`
//! user through `runuser` when the test runs as root, in a temporary directory that user
//! owns, on a free loopback port. And [`DelayProxy`], a TCP proxy that holds every byte from
//! the server for a fixed time, so that each query and commit answers that much later.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use sqlx::{Connection as _, Executor as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::process::{free_port, signal, tail};

/// Where `initdb` and `postgres` are unless `TEST_POSTGRES_BIN_DIR` says otherwise.
pub const DEFAULT_BIN_DIR: &str = "/usr/lib/postgresql/15/bin";

/// A private PostgreSQL server (trust authentication, user `postgres`).
#[derive(Debug)]
pub struct PrivateServer {
    /// The port it listens on, the same after a restart.
    pub port: u16,
    bin: PathBuf,
    as_postgres: bool,
    data: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl PrivateServer {
    /// Creates and starts a server; `None` (after saying why) when the PostgreSQL binaries
    /// are missing outside CI.
    ///
    /// # Panics
    /// When the binaries are missing and `CI=true`.
    pub async fn start() -> anyhow::Result<Option<Self>> {
        let bin = std::env::var_os("TEST_POSTGRES_BIN_DIR")
            .filter(|d| !d.is_empty())
            .map_or_else(|| PathBuf::from(DEFAULT_BIN_DIR), PathBuf::from);
        if !bin.join("initdb").is_file() || !bin.join("postgres").is_file() {
            let message = format!(
                "no initdb/postgres in {} (set TEST_POSTGRES_BIN_DIR)",
                bin.display()
            );
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{message} (CI=true: this test must run)");
            }
            #[allow(clippy::print_stderr)] // A skipped test says why.
            {
                eprintln!("skipping the private-PostgreSQL test: {message}");
            }
            return Ok(None);
        }
        let root = is_root()?;
        let dir = tempfile::Builder::new()
            .prefix("cluster-pg-")
            .tempdir()
            .context("temp dir")?;
        if root {
            let (uid, gid) = (id("-u")?, id("-g")?);
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .context("chown the server's directory to postgres")?;
        }
        let data = dir.path().join("data");
        let log = dir.path().join("postgres.log");
        let mut server = Self {
            port: free_port()?,
            bin,
            as_postgres: root,
            data,
            log,
            child: None,
            dir,
        };
        let out = server
            .command("initdb")
            .args(["-D"])
            .arg(&server.data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"])
            .output()
            .await
            .context("run initdb")?;
        if !out.status.success() {
            bail!(
                "initdb failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        server.run().await?;
        Ok(Some(server))
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        cmd.stdin(Stdio::null());
        cmd
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>` (no TLS: the proxy passes bytes).
    pub fn url(&self, database: &str) -> String {
        url_at(SocketAddr::from(([127, 0, 0, 1], self.port)), database)
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Starts the server process and waits until it accepts connections.
    pub async fn run(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let err = log.try_clone()?;
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(&self.data)
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(self.dir.path())
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ])
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            .kill_on_drop(true)
            .spawn()
            .context("start postgres")?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match sqlx::PgConnection::connect(&self.url("postgres")).await {
                Ok(conn) => {
                    let _ = conn.close().await;
                    return Ok(());
                }
                Err(e) if Instant::now() > deadline => {
                    bail!("postgres did not start: {e}\n{}", tail(&self.log, 20))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// The postmaster's pid, from `postmaster.pid` (the child may be `runuser`).
    fn postmaster(&self) -> Option<u32> {
        std::fs::read_to_string(self.data.join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// Stops the server with a fast shutdown (open sessions are ended, committed data kept)
    /// and waits until it is gone.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        let pid = self.postmaster().context("no postmaster.pid")?;
        signal(pid, "INT")?;
        if let Some(child) = &mut self.child {
            tokio::time::timeout(Duration::from_secs(30), child.wait())
                .await
                .context("postgres did not stop within 30 s")??;
        }
        self.child = None;
        Ok(())
    }

    /// Creates databases named `names`.
    pub async fn create_databases(&self, names: &[&str]) -> anyhow::Result<()> {
        let mut admin = sqlx::PgConnection::connect(&self.url("postgres")).await?;
        for name in names {
            admin
                .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .await?;
        }
        let _ = admin.close().await;
        Ok(())
    }

    /// Its log's last lines.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        // Immediate shutdown of the postmaster itself (killing `runuser` would leave it
        // running); the child is killed on drop too.
        if self.child.is_some()
            && let Some(pid) = self.postmaster()
        {
            let _ = signal(pid, "QUIT");
        }
    }
}

/// `postgres://postgres@<addr>/<database>?sslmode=disable`.
pub fn url_at(addr: SocketAddr, database: &str) -> String {
    format!("postgres://postgres@{addr}/{database}?sslmode=disable")
}

fn is_root() -> anyhow::Result<bool> {
    let out = std::process::Command::new("id").arg("-u").output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// `id <flag> postgres` as a number.
fn id(flag: &str) -> anyhow::Result<u32> {
    let out = std::process::Command::new("id")
        .args([flag, "postgres"])
        .output()
        .context("run id")?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .with_context(|| {
            format!(
                "no postgres user ({})",
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

/// A TCP proxy on a loopback port to `upstream` that delivers every byte from upstream
/// `delay` late (latency, not bandwidth: bytes keep their order and are not held back by
/// one another). A connection whose upstream is down is closed at once.
#[derive(Debug)]
pub struct DelayProxy {
    /// Where it listens.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl DelayProxy {
    /// Starts the proxy.
    pub async fn start(upstream: SocketAddr, delay: Duration) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(proxy(client, upstream, delay));
            }
        });
        Ok(Self { addr, task })
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn proxy(client: TcpStream, upstream: SocketAddr, delay: Duration) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let up = async {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
        let _ = server_write.shutdown().await;
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let read_down = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx
                        .send((tokio::time::Instant::now() + delay, buf[..n].to_vec()))
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    };
    let write_down = async {
        while let Some((at, bytes)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if client_write.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = client_write.shutdown().await;
    };
    // Either direction ending ends the connection (PostgreSQL closes after Terminate or a
    // shutdown).
    tokio::select! {
        () = async { tokio::join!(read_down, write_down); } => {}
        () = up => {}
    }
}
