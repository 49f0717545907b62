//! What both data-service benchmarks set up the same way: knobs from the environment, and the
//! Belvo emulator in production mode with a client that is not rate limited.

use belvo::{Client, Credentials, RateBudget};
use belvo_emulator::{Account, Config as EmulatorConfig, Emulator, EmulatorHandle, Mode, Scale};

/// The emulator account's keys.
pub(crate) const ID: &str = "bench-id";
pub(crate) const PW: &str = "bench-password";

/// A knob from the environment (`1_000_000` is accepted), or its default.
pub(crate) fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// The emulator, every new link with `transactions` transactions, and a client for it without
/// a rate budget (Belvo's 70 per 30 s would be all a benchmark measures).
pub(crate) async fn emulator(transactions: u64) -> (EmulatorHandle, Client) {
    let emulator = Emulator::start(EmulatorConfig {
        mode: Mode::Production,
        accounts: vec![Account::new(ID, PW)],
        ..EmulatorConfig::for_tests()
    })
    .await
    .unwrap();
    emulator.control().set_default_scale(Scale {
        transactions,
        invoices: 0,
    });
    let belvo = Client::builder(
        emulator.url().parse().unwrap(),
        Credentials::new(ID.to_owned(), PW.to_owned()),
    )
    .rate_budget(RateBudget::unlimited())
    .build()
    .unwrap();
    (emulator, belvo)
}

/// Mexico of `local.toml` pointed at the emulator, with its keys and no budget to speak of.
/// (The in-process read benchmark uses it; the historical one starts the binary.)
#[allow(dead_code)]
pub(crate) fn regions(emulator: &EmulatorHandle) -> regions::RegionsConfig {
    regions::RegionsConfig::from_toml_str(
        regions::shipped::LOCAL,
        [
            ("REGION_MX_ENVIRONMENT", emulator.url()),
            ("REGION_MX_SECRET_ID", ID),
            ("REGION_MX_SECRET_PASSWORD", PW),
            ("REGION_MX_RATE_BUDGET_REQUESTS", "1000000"),
            ("REGION_MX_RATE_BUDGET_PER_SECONDS", "1"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    )
    .unwrap()
}

/// A key ring file of one fixed key, for a data-service that seals what it stores.
pub(crate) fn key_ring_file() -> std::path::PathBuf {
    use base64::Engine as _;
    let path = std::env::temp_dir().join(format!(
        "data-service-bench-key-ring-{}.toml",
        std::process::id()
    ));
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    std::fs::write(
        &path,
        format!("active = \"bench\"\n[keys]\nbench = \"{key}\"\n"),
    )
    .unwrap();
    path
}
