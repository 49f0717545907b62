//! The emulator's in-memory state: links, MFA sessions, widget tokens, per-link data edits
//! (a small overlay on the generated data), webhook deliveries, received requests, faults and the
//! firewall's per-address windows.
//! One mutex guards the store; it is never held across an `.await`.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::config::{Config, Scale};
use crate::data::{LinkCtx, Profile, Resource, fmt_ts};
use crate::faults::FaultRule;
use crate::firewall::Firewall;
use crate::ids;
use crate::institutions::Institution;

/// Belvo's link statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    Valid,
    Invalid,
    Unconfirmed,
    TokenRequired,
}

impl LinkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkStatus::Valid => "valid",
            LinkStatus::Invalid => "invalid",
            LinkStatus::Unconfirmed => "unconfirmed",
            LinkStatus::TokenRequired => "token_required",
        }
    }
}

/// A link and everything needed to regenerate its data.
#[derive(Debug, Clone)]
pub struct Link {
    pub id: Uuid,
    pub account: usize,
    pub institution: Institution,
    pub username: String,
    pub access_mode: String,
    pub status: LinkStatus,
    pub created_at: DateTime<Utc>,
    pub last_accessed_at: Option<DateTime<Utc>>,
    pub external_id: Option<String>,
    pub institution_user_id: String,
    pub credentials_storage: String,
    pub stale_in: String,
    pub fetch_resources: Vec<String>,
    pub profile: Profile,
    pub scale: Scale,
    pub seed: u64,
    pub last_refresh: Option<Instant>,
    /// The widget token that created it, spent once the link is confirmed.
    pub widget_token: Option<String>,
}

impl Link {
    pub fn ctx(&self, as_of: NaiveDate) -> LinkCtx {
        LinkCtx {
            id: self.id,
            institution: self.institution.clone(),
            username: self.username.clone(),
            profile: self.profile,
            scale: self.scale,
            created_at: self.created_at,
            as_of,
            seed: self.seed,
        }
    }

    /// Belvo's link object.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "institution": self.institution.name,
            "access_mode": self.access_mode,
            "last_accessed_at": self.last_accessed_at.map(fmt_ts),
            "created_at": fmt_ts(self.created_at),
            "external_id": self.external_id,
            "institution_user_id": self.institution_user_id,
            "status": self.status.as_str(),
            "created_by": ids::object_id(ids::mix(self.account as u64 + 77), 0),
            "refresh_rate": if self.access_mode == "recurrent" { Some("7d") } else { None },
            "credentials_storage": self.credentials_storage,
            "fetch_resources": self.fetch_resources,
            "stale_in": self.stale_in,
        })
    }
}

/// Edits made through the control API on top of a link's generated data.
#[derive(Debug, Clone, Default)]
pub struct Overlay {
    /// Objects added (shown first, newest first).
    pub added: Vec<Value>,
    /// Field patches of generated objects, by index.
    pub modified: BTreeMap<u64, Map<String, Value>>,
    /// Deleted generated objects, by index.
    pub deleted: BTreeSet<u64>,
    /// Added since the last `new_*_available` webhook.
    pub new_since_notice: u64,
}

/// Why an MFA session exists, i.e. what resuming it completes.
#[derive(Debug, Clone)]
pub enum SessionPurpose {
    Register,
    Update,
    Retrieve { resource: Resource, body: Value },
}

#[derive(Debug, Clone)]
pub struct MfaSession {
    pub link: Uuid,
    pub account: usize,
    pub purpose: SessionPurpose,
    pub expires: Instant,
}

/// A widget access token and what it allows.
#[derive(Debug, Clone)]
pub struct WidgetToken {
    pub account: usize,
    pub scopes: Vec<String>,
    pub link_id: Option<Uuid>,
    pub fetch_resources: Option<Vec<String>>,
    pub stale_in: Option<String>,
    pub credentials_storage: Option<String>,
    pub external_id: Option<String>,
    pub widget: Value,
    pub expires: Instant,
    pub used: bool,
}

/// One webhook event and its delivery attempts.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookRecord {
    pub account: usize,
    pub url: Option<String>,
    /// `pending`, `delivered`, `failed` (all attempts non-2xx) or `not_configured`.
    pub state: String,
    pub event: Value,
    pub attempts: Vec<Attempt>,
}

/// One POST of a webhook.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub attempt: u32,
    pub at: String,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// One request the emulator received.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    /// When it arrived.
    pub at: String,
    /// The address it came from (what Belvo's firewall counts by).
    pub source: String,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
    pub duration_ms: f64,
    pub fault: Option<String>,
}

/// Everything mutable.
#[derive(Debug)]
pub struct Store {
    pub links: Vec<Link>,
    pub sessions: HashMap<String, MfaSession>,
    pub tokens: HashMap<String, WidgetToken>,
    pub overlays: HashMap<(Uuid, Resource), Overlay>,
    pub webhooks: Vec<WebhookRecord>,
    pub deletes: HashMap<usize, VecDeque<Instant>>,
    pub default_scale: Scale,
    pub rng: StdRng,
    pub counter: u64,
}

impl Store {
    pub fn link(&self, id: &Uuid) -> Option<&Link> {
        self.links.iter().find(|l| &l.id == id)
    }

    pub fn link_mut(&mut self, id: &Uuid) -> Option<&mut Link> {
        self.links.iter_mut().find(|l| &l.id == id)
    }

    /// A link of `account`, or `None` (other accounts' links are invisible).
    pub fn own_link(&self, account: usize, id: &Uuid) -> Option<&Link> {
        self.link(id).filter(|l| l.account == account)
    }

    pub fn next_uuid(&mut self) -> Uuid {
        use rand::Rng;
        let mut b: [u8; 16] = self.rng.random();
        b[6] = 0x40 | (b[6] & 0x0f);
        b[8] = 0x80 | (b[8] & 0x3f);
        Uuid::from_bytes(b)
    }

    pub fn next_hex(&mut self) -> String {
        self.counter += 1;
        let seed = ids::mix(self.counter);
        ids::hex32(seed, self.counter)
    }

    pub fn remove_link(&mut self, id: &Uuid) -> Option<Link> {
        let pos = self.links.iter().position(|l| &l.id == id)?;
        self.overlays.retain(|(l, _), _| l != id);
        self.sessions.retain(|_, s| &s.link != id);
        Some(self.links.remove(pos))
    }
}

/// Shared by every handler and background task.
#[derive(Debug)]
pub struct Inner {
    pub config: Config,
    pub as_of: NaiveDate,
    pub store: Mutex<Store>,
    pub faults: Mutex<Vec<FaultRule>>,
    pub requests: Mutex<VecDeque<RequestRecord>>,
    pub firewall: Mutex<Firewall>,
    pub http: reqwest::Client,
}

pub(crate) type Shared = Arc<Inner>;

impl Inner {
    pub fn new(config: Config) -> Result<Inner, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(config.webhook_timeout)
            .build()?;
        let as_of = config.data_as_of.unwrap_or_else(|| Utc::now().date_naive());
        let store = Store {
            links: Vec::new(),
            sessions: HashMap::new(),
            tokens: HashMap::new(),
            overlays: HashMap::new(),
            webhooks: Vec::new(),
            deletes: HashMap::new(),
            default_scale: config.default_scale,
            rng: StdRng::seed_from_u64(config.seed),
            counter: config.seed,
        };
        Ok(Inner {
            as_of,
            store: Mutex::new(store),
            faults: Mutex::new(Vec::new()),
            requests: Mutex::new(VecDeque::new()),
            firewall: Mutex::new(Firewall::new(config.firewall)),
            http,
            config,
        })
    }

    /// The store, even if a panicking thread poisoned the lock (state stays usable).
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn faults(&self) -> MutexGuard<'_, Vec<FaultRule>> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn firewall(&self) -> MutexGuard<'_, Firewall> {
        self.firewall.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn requests(&self) -> MutexGuard<'_, VecDeque<RequestRecord>> {
        self.requests.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The account whose Basic credentials these are.
    pub fn account_for(&self, id: &str, password: &str) -> Option<usize> {
        self.config
            .accounts
            .iter()
            .position(|a| a.secret_id == id && a.secret_password == password)
    }

    pub fn record_request(&self, r: RequestRecord) {
        let cap = self.config.request_log_capacity;
        let mut q = self.requests();
        if q.len() >= cap.max(1) {
            q.pop_front();
        }
        q.push_back(r);
    }
}
