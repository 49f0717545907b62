//! The `belvo-emulator` binary: reads flags and environment, starts the emulator, and stops it
//! cleanly on SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use belvo_emulator::{Account, Config, Emulator, FirewallLimit, Mode, Scale};
use clap::Parser;

/// An offline Belvo API, Connect Widget and webhook sender for tests and demos.
#[derive(Debug, Parser)]
#[command(name = "belvo-emulator", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "BELVO_EMULATOR_LISTEN", default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// `sandbox` (10 results a page by default) or `production` (100).
    #[arg(long, env = "BELVO_EMULATOR_MODE", default_value = "sandbox")]
    mode: String,
    /// An account: `id=SECRET_ID,password=SECRET_PASSWORD[,webhook=URL][,authorization=VALUE]`.
    /// Repeat the flag, or separate accounts with `;` in the environment variable.
    #[arg(
        long = "account",
        env = "BELVO_EMULATOR_ACCOUNTS",
        value_delimiter = ';'
    )]
    accounts: Vec<String>,
    /// Base of absolute URLs in responses (default: from the request's Host header).
    #[arg(long, env = "BELVO_EMULATOR_PUBLIC_URL")]
    public_url: Option<String>,
    /// Linear backoff step between webhook redeliveries, in milliseconds.
    #[arg(
        long,
        env = "BELVO_EMULATOR_WEBHOOK_RETRY_MS",
        default_value_t = 30_000
    )]
    webhook_retry_ms: u64,
    /// Transactions per link (full data profile).
    #[arg(long, env = "BELVO_EMULATOR_TRANSACTIONS", default_value_t = 120)]
    transactions: u64,
    /// Invoices per link (full fiscal profile).
    #[arg(long, env = "BELVO_EMULATOR_INVOICES", default_value_t = 40)]
    invoices: u64,
    /// Seed of link ids and generated data.
    #[arg(long, env = "BELVO_EMULATOR_SEED", default_value_t = 42)]
    seed: u64,
    /// Last day of generated data, YYYY-MM-DD (default: today).
    #[arg(long, env = "BELVO_EMULATOR_DATA_AS_OF")]
    data_as_of: Option<chrono::NaiveDate>,
    /// Synchronous deletions allowed per account per minute (0: unlimited).
    #[arg(long, env = "BELVO_EMULATOR_DELETE_RATE", default_value_t = 5)]
    delete_rate_per_minute: u32,
    /// Cool-down between refreshes of a link, in seconds.
    #[arg(
        long,
        env = "BELVO_EMULATOR_REFRESH_COOLDOWN_SECS",
        default_value_t = 600
    )]
    refresh_cooldown_secs: u64,
    /// Belvo's firewall: requests allowed per source address in the window before the HTML
    /// 403 (0: off). Unset: Belvo's 80 in production mode, off in sandbox mode.
    #[arg(long, env = "BELVO_EMULATOR_FIREWALL_REQUESTS")]
    firewall_requests: Option<u32>,
    /// The firewall's sliding window, in seconds (Belvo: 30).
    #[arg(
        long,
        env = "BELVO_EMULATOR_FIREWALL_WINDOW_SECS",
        default_value_t = 30
    )]
    firewall_window_secs: u64,
}

fn parse_account(s: &str) -> Result<Account, String> {
    let mut a = Account::new("", "");
    for part in s.split(',') {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?} is not key=value"))?;
        match k.trim() {
            "id" => a.secret_id = v.trim().to_owned(),
            "password" => a.secret_password = v.trim().to_owned(),
            "webhook" => a.webhook_url = Some(v.trim().to_owned()),
            "authorization" => a.webhook_authorization = Some(v.trim().to_owned()),
            other => return Err(format!("unknown account key {other:?}")),
        }
    }
    Ok(a)
}

fn config(args: Args) -> Result<Config, String> {
    let mode = match args.mode.as_str() {
        "sandbox" => Mode::Sandbox,
        "production" => Mode::Production,
        other => {
            return Err(format!(
                "--mode must be sandbox or production, not {other:?}"
            ));
        }
    };
    let mut accounts = Vec::new();
    for a in args.accounts.iter().filter(|a| !a.trim().is_empty()) {
        accounts.push(parse_account(a)?);
    }
    let mut cfg = Config {
        listen: args.listen,
        mode,
        public_url: args.public_url,
        webhook_retry_interval: Duration::from_millis(args.webhook_retry_ms),
        default_scale: Scale {
            transactions: args.transactions,
            invoices: args.invoices,
        },
        seed: args.seed,
        data_as_of: args.data_as_of,
        delete_rate_per_minute: args.delete_rate_per_minute,
        refresh_cooldown: Duration::from_secs(args.refresh_cooldown_secs),
        firewall: match args.firewall_requests {
            Some(0) => None,
            Some(max_requests) => Some(FirewallLimit {
                max_requests,
                window: Duration::from_secs(args.firewall_window_secs),
            }),
            None => (mode == Mode::Production).then(|| FirewallLimit {
                window: Duration::from_secs(args.firewall_window_secs),
                ..FirewallLimit::BELVO
            }),
        },
        ..Config::default()
    };
    if !accounts.is_empty() {
        cfg.accounts = accounts;
    }
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cfg = match config(Args::parse()) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let ids: Vec<String> = cfg.accounts.iter().map(|a| a.secret_id.clone()).collect();
    let emu = match Emulator::start(cfg).await {
        Ok(e) => e,
        Err(e) => {
            tracing::error!("cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(url = emu.url(), accounts = ?ids, "belvo-emulator listening");
    let stop = emu.shutdown_sender();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = stop.send(true);
    });
    emu.wait().await;
    ExitCode::SUCCESS
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
