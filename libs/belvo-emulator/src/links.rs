//! Link logic shared by `POST /api/links/` and the widget: validation as Belvo does it, the
//! sandbox credentials (`user_invalid` → `login_error`, MFA users and banks → 428), duplicates
//! with a deterministic `institution_user_id`, MFA sessions resumed by PATCH (`111111` valid,
//! anything else another 428, expired → `session_expired`), and credential updates.

use std::time::Instant;

use axum::http::StatusCode;
use base64::Engine;
use chrono::Utc;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::data::{Profile, Resource};
use crate::error::ApiError;
use crate::ids;
use crate::institutions::{self, Institution};
use crate::state::{Link, LinkStatus, MfaSession, SessionPurpose, Shared};
use crate::webhooks;

/// The MFA token the sandbox accepts.
pub(crate) const VALID_MFA_TOKEN: &str = "111111";

/// Defaults a widget token imposes on the links it creates.
#[derive(Debug, Clone, Default)]
pub(crate) struct TokenDefaults {
    pub token: Option<String>,
    pub fetch_resources: Option<Vec<String>>,
    pub stale_in: Option<String>,
    pub credentials_storage: Option<String>,
    pub external_id: Option<String>,
}

/// What a link call answers: a status and a JSON body.
pub(crate) type Outcome = Result<(StatusCode, Value), ApiError>;

fn str_field<'a>(body: &'a Value, key: &str) -> Result<Option<&'a str>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid(key, "Not a valid string.")),
    }
}

/// Whether an `external_id` looks like Personal Identifiable Information, which Belvo replaces
/// with `null` (its detector is not published; this is the emulator's): an e-mail address, a
/// Mexican CURP or RFC, or a phone, CPF or CNPJ number (10 to 14 digits, possibly with
/// `+ - . ( )` or spaces), as the whole value or as one of its `_`-separated parts. Opaque ids
/// (UUIDs, base64url hashes) are not PII.
pub(crate) fn looks_like_pii(external_id: &str) -> bool {
    let whole = std::iter::once(external_id);
    whole
        .chain(external_id.split('_'))
        .any(|part| is_email(part) || is_curp(part) || is_rfc(part) || is_phone_or_document(part))
}

fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !domain.ends_with('.')
        }
        None => false,
    }
}

fn all(s: &str, f: impl Fn(char) -> bool) -> bool {
    !s.is_empty() && s.chars().all(f)
}

/// `AAAA000000HAAAAA00`: four letters, birth date, sex, state and consonants, two more.
fn is_curp(s: &str) -> bool {
    s.len() == 18
        && s.is_ascii()
        && all(&s[..4], |c| c.is_ascii_uppercase())
        && all(&s[4..10], |c| c.is_ascii_digit())
        && matches!(&s[10..11], "H" | "M" | "X")
        && all(&s[11..16], |c| c.is_ascii_uppercase())
        && all(&s[16..18], |c| c.is_ascii_alphanumeric())
}

/// `AAA(A)000000XXX`: three (company) or four (person) letters, a date, a check code.
fn is_rfc(s: &str) -> bool {
    let letters = match s.len() {
        12 => 3,
        13 => 4,
        _ => return false,
    };
    s.is_ascii()
        && all(&s[..letters], |c| c.is_ascii_uppercase() || c == '&')
        && all(&s[letters..letters + 6], |c| c.is_ascii_digit())
        && all(&s[letters + 6..], |c| {
            c.is_ascii_uppercase() || c.is_ascii_digit()
        })
}

fn is_phone_or_document(s: &str) -> bool {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    (10..=14).contains(&digits)
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | '(' | ')' | ' '))
}

/// `institution_user_id`: 44 URL-safe base64 characters, stable per institution and user.
pub(crate) fn institution_user_id(institution: &str, username: &str) -> String {
    let digest = Sha256::digest(format!("{institution}:{}", username.to_lowercase()));
    base64::engine::general_purpose::URL_SAFE.encode(digest)
}

fn check_pattern(key: &str, v: &str, ok: bool) -> Result<(), ApiError> {
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            key,
            format!("\"{v}\" is not a valid value for {key}."),
        ))
    }
}

fn days_pattern(v: &str) -> bool {
    v.len() >= 2
        && v.len() <= 4
        && v.ends_with('d')
        && v[..v.len() - 1].chars().all(|c| c.is_ascii_digit())
}

/// Parses a `fetch_resources` value and checks it against the institution (without one, the
/// caller checks the names).
pub(crate) fn parse_fetch_resources(
    v: Option<&Value>,
    inst: Option<&Institution>,
) -> Result<Option<Vec<String>>, ApiError> {
    let Some(v) = v else { return Ok(None) };
    let list = match v {
        Value::Null => return Ok(None),
        Value::Array(a) => a,
        Value::String(_) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "not_a_list",
                "Expected a list of items but got type \"str\".",
            )
            .field("fetch_resources"));
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "not_a_list",
                "Expected a list of items.",
            )
            .field("fetch_resources"));
        }
    };
    let mut out = Vec::new();
    for item in list {
        let Some(s) = item.as_str() else {
            return Err(ApiError::invalid(
                "fetch_resources",
                "Expected a list of strings.",
            ));
        };
        if let Some(inst) = inst
            && !inst.resources().contains(&s)
        {
            return Err(ApiError::invalid(
                "fetch_resources",
                format!(
                    "The institution only supports the following resources: {}",
                    inst.resources().join(", ")
                ),
            ));
        }
        if !out.iter().any(|x| x == s) {
            out.push(s.to_owned());
        }
    }
    Ok(Some(out))
}

/// The 428 error that starts (or continues) an MFA session.
pub(crate) fn token_required(
    shared: &Shared,
    session: &str,
    link: &Uuid,
    username: &str,
) -> ApiError {
    let tgd = match username {
        "mfa_qr" => {
            json!({"instructions": "Scan the QR code with your bank's app", "type": "qr_code",
                            "value": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
                            "expects_user_input": true})
        }
        "mfa_numeric" => {
            json!({"instructions": "Use this code to generate the token", "type": "numeric",
                                 "value": "12345", "expects_user_input": true})
        }
        _ => json!({"instructions": "Enter the code sent to your device", "type": "numeric",
                     "value": "", "expects_user_input": true}),
    };
    ApiError::new(
        StatusCode::PRECONDITION_REQUIRED,
        "token_required",
        "A MFA token is required by the institution to login",
    )
    .with("session", json!(session))
    .with("expiry", json!(shared.config.mfa_session_ttl.as_secs()))
    .with("link", json!(link))
    .with("token_generation_data", tgd)
}

fn new_session(shared: &Shared, link: Uuid, account: usize, purpose: SessionPurpose) -> String {
    let mut store = shared.store();
    let now = Instant::now();
    store.sessions.retain(|_, s| s.expires > now);
    let id = store.next_hex();
    store.sessions.insert(
        id.clone(),
        MfaSession {
            link,
            account,
            purpose,
            expires: Instant::now() + shared.config.mfa_session_ttl,
        },
    );
    id
}

/// Starts a session on `link` and returns the 428 for it.
pub(crate) fn start_mfa(shared: &Shared, link: &Link, purpose: SessionPurpose) -> ApiError {
    let session = new_session(shared, link.id, link.account, purpose);
    token_required(shared, &session, &link.id, &link.username)
}

fn needs_mfa(inst: &Institution, username: &str) -> bool {
    inst.mfa || username.starts_with("mfa_")
}

fn login_fails(username: &str, password: Option<&str>) -> bool {
    matches!(username, "user_invalid" | "adv_invalid") || password == Some("pass_invalid")
}

/// `POST /api/links/` (and the widget's link creation).
pub(crate) fn register(
    shared: &Shared,
    account: usize,
    body: &Value,
    defaults: &TokenDefaults,
) -> Outcome {
    if !body.is_object() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "parse_error",
            "JSON parse error - Expecting an object",
        ));
    }
    let name = str_field(body, "institution")?.ok_or_else(|| ApiError::required("institution"))?;
    let inst = institutions::by_name(name).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "does_not_exist",
            format!("Object with name={name} does not exist."),
        )
        .field("institution")
    })?;
    let username = str_field(body, "username")?.ok_or_else(|| ApiError::required("username"))?;
    let password = str_field(body, "password")?;
    if inst.needs_password() && password.is_none() {
        return Err(ApiError::required("password"));
    }
    if username.len() > 16 && username == "1234567890abcdefg" {
        return Err(ApiError::invalid(
            "username",
            "Ensure this field has no more than 16 characters.",
        ));
    }
    let access_mode = str_field(body, "access_mode")?.unwrap_or("recurrent");
    if !matches!(access_mode, "single" | "recurrent") {
        return Err(ApiError::invalid_choice("access_mode", access_mode));
    }
    let external_id = match str_field(body, "external_id")? {
        Some(e) => Some(e.to_owned()),
        None => defaults.external_id.clone(),
    };
    if let Some(e) = &external_id
        && !(3..=256).contains(&e.len())
    {
        return Err(ApiError::invalid(
            "external_id",
            "Ensure this field has at least 3 characters.",
        ));
    }
    // "If we identify that the identifier contains PII, we will force a `null` value."
    let external_id = external_id.filter(|e| !looks_like_pii(e));
    let fetch = match parse_fetch_resources(body.get("fetch_resources"), Some(&inst))? {
        Some(f) => Some(f),
        // A token's resources apply only as far as this institution supports them.
        None => defaults.fetch_resources.as_ref().map(|f| {
            f.iter()
                .filter(|r| inst.resources().contains(&r.as_str()))
                .cloned()
                .collect()
        }),
    };
    let storage = str_field(body, "credentials_storage")?
        .map(str::to_owned)
        .or_else(|| defaults.credentials_storage.clone());
    if let Some(s) = &storage {
        check_pattern(
            "credentials_storage",
            s,
            s == "store" || s == "nostore" || days_pattern(s),
        )?;
        if access_mode == "recurrent" && s != "store" {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_credentials_storage",
                "Recurrent links must store the credentials",
            )
            .field("credentials_storage"));
        }
        if s == "nostore" && fetch.as_ref().is_none_or(Vec::is_empty) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_fetch_resources",
                "Single links without stored credentials must fetch resources",
            )
            .field("fetch_resources"));
        }
    }
    let stale_in = str_field(body, "stale_in")?
        .map(str::to_owned)
        .or_else(|| defaults.stale_in.clone());
    if let Some(s) = &stale_in {
        check_pattern("stale_in", s, days_pattern(s))?;
    }
    if login_fails(username, password) {
        return Err(ApiError::login_error());
    }
    let iuid = institution_user_id(inst.name, username);
    let token = str_field(body, "token")?.map(str::to_owned);
    let mfa = needs_mfa(&inst, username);
    let link = {
        let mut store = shared.store();
        if store
            .links
            .iter()
            .any(|l| l.account == account && l.institution_user_id == iuid)
        {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "duplicated",
                "Link already exists",
            )
            .with("institution_user_id", json!(iuid)));
        }
        let id = store.next_uuid();
        let seed = ids::hash(&[
            &shared.config.seed.to_le_bytes(),
            inst.name.as_bytes(),
            username.to_lowercase().as_bytes(),
        ]);
        let status = if mfa && token.as_deref() != Some(VALID_MFA_TOKEN) {
            LinkStatus::Unconfirmed
        } else {
            LinkStatus::Valid
        };
        let now = Utc::now();
        let link = Link {
            id,
            account,
            institution: inst.clone(),
            username: username.to_owned(),
            access_mode: access_mode.to_owned(),
            status,
            created_at: now,
            last_accessed_at: (status == LinkStatus::Valid).then_some(now),
            external_id,
            institution_user_id: iuid,
            credentials_storage: storage.unwrap_or_else(|| {
                if access_mode == "single" {
                    "365d".to_owned()
                } else {
                    "store".to_owned()
                }
            }),
            stale_in: stale_in.unwrap_or_else(|| "365d".to_owned()),
            fetch_resources: fetch.unwrap_or_else(|| inst.default_fetch_resources()),
            profile: Profile::from_credentials(username, password.unwrap_or("")),
            scale: store.default_scale,
            seed,
            last_refresh: None,
            widget_token: defaults.token.clone(),
        };
        store.links.push(link.clone());
        link
    };
    if link.status == LinkStatus::Unconfirmed {
        return Err(start_mfa(shared, &link, SessionPurpose::Register));
    }
    confirmed(shared, &link.id, true);
    let v = shared
        .store()
        .link(&link.id)
        .map_or_else(|| link.to_json(), Link::to_json);
    Ok((StatusCode::CREATED, v))
}

/// A link became valid: spend its widget token and send its historical updates.
fn confirmed(shared: &Shared, link_id: &Uuid, fire_webhooks: bool) {
    let resources = {
        let mut store = shared.store();
        let Some(link) = store.link_mut(link_id) else {
            return;
        };
        link.status = LinkStatus::Valid;
        link.last_accessed_at = Some(Utc::now());
        let token = link.widget_token.take();
        let resources = link.fetch_resources.clone();
        if let Some(t) = token
            && let Some(tok) = store.tokens.get_mut(&t)
        {
            tok.used = true;
        }
        resources
    };
    if fire_webhooks {
        webhooks::send_historical(shared, *link_id, &resources, None);
    }
}

/// Result of resuming a session.
#[derive(Debug)]
pub(crate) enum Resumed {
    Link(Value),
    Retrieve { resource: Resource, body: Value },
}

/// `PATCH` on a collection: resumes an MFA session.
pub(crate) fn resume(shared: &Shared, account: usize, body: &Value) -> Result<Resumed, ApiError> {
    let session_id = str_field(body, "session")?.ok_or_else(|| ApiError::required("session"))?;
    let token = str_field(body, "token")?.ok_or_else(|| ApiError::required("token"))?;
    let session = {
        let store = shared.store();
        store.sessions.get(session_id).cloned()
    };
    let expired = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "session_expired",
            "The session you are trying to resume has expired, please start again from register/retrieve endpoint",
        )
    };
    let Some(session) = session.filter(|s| s.account == account) else {
        return Err(expired());
    };
    if session.expires <= Instant::now() {
        shared.store().sessions.remove(session_id);
        return Err(expired());
    }
    let username = {
        let store = shared.store();
        match store.link(&session.link) {
            Some(l) => l.username.clone(),
            None => return Err(expired()),
        }
    };
    if token != VALID_MFA_TOKEN {
        return Err(token_required(shared, session_id, &session.link, &username));
    }
    shared.store().sessions.remove(session_id);
    match session.purpose {
        SessionPurpose::Register => {
            confirmed(shared, &session.link, true);
            let store = shared.store();
            let link = store.link(&session.link).ok_or_else(expired)?;
            Ok(Resumed::Link(link.to_json()))
        }
        SessionPurpose::Update => {
            let fetch = {
                let mut store = shared.store();
                let link = store.link_mut(&session.link).ok_or_else(expired)?;
                link.status = LinkStatus::Valid;
                link.last_accessed_at = Some(Utc::now());
                link.fetch_resources.clone()
            };
            confirmed(shared, &session.link, false);
            after_update(shared, &session.link, &fetch);
            let store = shared.store();
            let link = store.link(&session.link).ok_or_else(expired)?;
            Ok(Resumed::Link(link.to_json()))
        }
        SessionPurpose::Retrieve { resource, body } => {
            if let Some(l) = shared.store().link_mut(&session.link) {
                l.status = LinkStatus::Valid;
                l.last_accessed_at = Some(Utc::now());
            }
            Ok(Resumed::Retrieve { resource, body })
        }
    }
}

/// Recurrent links are refreshed after a successful credentials update.
fn after_update(shared: &Shared, link_id: &Uuid, fetch: &[String]) {
    let recurrent = shared
        .store()
        .link(link_id)
        .is_some_and(|l| l.access_mode == "recurrent");
    if recurrent {
        webhooks::send_historical(shared, *link_id, fetch, None);
    }
}

/// `PUT /api/links/{id}/` and the widget's update mode: new credentials (and MFA).
pub(crate) fn update_credentials(
    shared: &Shared,
    account: usize,
    link_id: &Uuid,
    body: &Value,
    widget_token: Option<String>,
) -> Outcome {
    let link = shared
        .store()
        .own_link(account, link_id)
        .cloned()
        .ok_or_else(ApiError::not_found)?;
    let password = str_field(body, "password")?;
    if link.institution.needs_password() && password.is_none() {
        return Err(ApiError::required("password"));
    }
    if login_fails(&link.username, password) {
        if let Some(l) = shared.store().link_mut(link_id) {
            l.status = LinkStatus::Invalid;
        }
        return Err(ApiError::login_error());
    }
    if let Some(l) = shared.store().link_mut(link_id) {
        l.widget_token = widget_token;
        if let Some(p) = password {
            l.profile = Profile::from_credentials(&l.username, p);
        }
    }
    let token = str_field(body, "token")?;
    if needs_mfa(&link.institution, &link.username) && token != Some(VALID_MFA_TOKEN) {
        return Err(start_mfa(shared, &link, SessionPurpose::Update));
    }
    confirmed(shared, link_id, false);
    after_update(shared, link_id, &link.fetch_resources);
    let store = shared.store();
    let l = store.link(link_id).ok_or_else(ApiError::not_found)?;
    Ok((StatusCode::OK, l.to_json()))
}

/// `PATCH /api/links/{id}/`: access mode, `stale_in`, `fetch_resources`.
pub(crate) fn modify(shared: &Shared, account: usize, link_id: &Uuid, body: &Value) -> Outcome {
    let inst = shared
        .store()
        .own_link(account, link_id)
        .map(|l| l.institution.clone())
        .ok_or_else(ApiError::not_found)?;
    let access_mode = str_field(body, "access_mode")?;
    if let Some(m) = access_mode
        && !matches!(m, "single" | "recurrent")
    {
        return Err(ApiError::invalid_choice("access_mode", m));
    }
    let stale_in = str_field(body, "stale_in")?;
    if let Some(s) = stale_in {
        check_pattern("stale_in", s, days_pattern(s))?;
    }
    let fetch = parse_fetch_resources(body.get("fetch_resources"), Some(&inst))?;
    let mut store = shared.store();
    let link = store.link_mut(link_id).ok_or_else(ApiError::not_found)?;
    if let Some(m) = access_mode {
        link.access_mode = m.to_owned();
    }
    if let Some(s) = stale_in {
        link.stale_in = s.to_owned();
    }
    if let Some(f) = fetch {
        link.fetch_resources = f;
    }
    Ok((StatusCode::OK, link.to_json()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pii_is_detected_and_opaque_ids_are_not() {
        for pii in [
            "ana@example.mx",
            "5512345678",
            "+52 (55) 1234-5678",
            "761.092.776-73",
            "50685362006773",
            "GODE561231HDFRRN09",
            "PFIS010101000",
            "ABC1111111A1",
            "user_ana@example.mx",
            "crm_5512345678",
        ] {
            assert!(looks_like_pii(pii), "{pii}");
        }
        for opaque in ["user-123", "ext_42", "getting_started_link", "w-user"] {
            assert!(!looks_like_pii(opaque), "{opaque}");
        }
        // What platforms send: UUIDs and base64url hashes (token-service's HMAC) stay.
        for i in 0..20_000u64 {
            let uuid = Uuid::from_u128(u128::from(ids::mix(i)) << 64 | u128::from(ids::mix(!i)));
            assert!(!looks_like_pii(&uuid.to_string()), "{uuid}");
            let hash = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(Sha256::digest(i.to_le_bytes()));
            assert!(!looks_like_pii(&hash), "{hash}");
        }
    }
}
