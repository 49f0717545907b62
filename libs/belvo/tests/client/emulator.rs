//! The client against the emulator (`libs/belvo-emulator`), for every endpoint the platform
//! calls: widget tokens, link register (with the MFA resume), get (typed and verbatim), list,
//! refresh, delete (sync and async); every data resource's list, detail and delete; retrieve
//! with date windows, async retrieve, the MFA resume on data collections; and the retry
//! classes against injected faults. The stub tests hold the client to Belvo's documented
//! payloads; these make the client and the emulator, two independent readings of the same
//! specs, check each other.
//!
//! Where the emulator deviates from Belvo's documentation, the assertion says so with an
//! `// emulator deviation:` comment.

use std::collections::HashSet;
use std::fmt::Debug;
use std::time::Duration;

use belvo::models::{Link, LinkStatus};
use belvo::webhook::{WebhookCode, WebhookEnvelope};
use belvo::{
    Client, Credentials, Error, ErrorCode, Filters, MfaResume, RateBudget, RegisterLink, Resource,
    RetrieveRequest, WidgetTokenRequest,
};
use belvo_emulator::{Account, Config, Emulator, EmulatorHandle, FaultSpec};
use chrono::{Datelike, NaiveDate};
use futures::TryStreamExt;
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::support::fast_retries;

const ID: &str = "client-test-id";
const PASSWORD: &str = "client-test-password";
/// The emulator's valid MFA token (Belvo's sandbox uses any; the emulator documents this one).
const MFA_TOKEN: &str = "111111";

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 30).unwrap()
}

struct Belvo {
    emulator: EmulatorHandle,
    client: Client,
}

impl Belvo {
    async fn start() -> Self {
        let emulator = Emulator::start(Config {
            accounts: vec![Account::new(ID, PASSWORD)],
            data_as_of: Some(as_of()),
            delete_rate_per_minute: 0,
            ..Config::for_tests()
        })
        .await
        .unwrap();
        let client = Client::builder(
            emulator.url().parse().unwrap(),
            Credentials::new(ID, PASSWORD),
        )
        .retry_policy(fast_retries())
        .rate_budget(RateBudget::unlimited())
        .build()
        .unwrap();
        Self { emulator, client }
    }

    async fn register(&self, institution: &str, username: &str, password: Option<&str>) -> Link {
        let link = self
            .client
            .links()
            .register(&RegisterLink {
                external_id: Some(format!("ext-{username}")),
                ..registration(institution, username, password)
            })
            .await
            .unwrap_or_else(|e| panic!("register {institution}/{username}: {e:?}"));
        assert_eq!(link.status, Some(LinkStatus::Valid), "{link:?}");
        link
    }

    /// Registers with no external id, expecting Belvo to refuse.
    async fn refused(&self, institution: &str, username: &str, password: &str) -> Error {
        self.client
            .links()
            .register(&registration(institution, username, Some(password)))
            .await
            .expect_err("registration accepted")
    }

    async fn bank_link(&self) -> Uuid {
        self.link_id("erebor_mx_retail", "user_valid", Some("pass_valid"))
            .await
    }

    /// A second bank link, at another institution, of the same user.
    async fn other_bank_link(&self) -> Uuid {
        self.link_id("gringotts_mx_retail", "user_valid", Some("pass_valid"))
            .await
    }

    async fn fiscal_link(&self) -> Uuid {
        self.link_id("tatooine_mx_fiscal", "PFIS010101000", Some("pass_valid"))
            .await
    }

    async fn employment_link(&self) -> Uuid {
        self.link_id("planet_mx_employment", "BLPM951331IONVGR54", None)
            .await
    }

    async fn link_id(&self, institution: &str, username: &str, password: Option<&str>) -> Uuid {
        self.register(institution, username, password)
            .await
            .id
            .unwrap()
    }

    /// Retrieves `R` with `body`.
    async fn retrieve<R: Resource>(&self, body: &RetrieveRequest) -> Result<Vec<R::Item>, Error> {
        self.client.resource::<R>().retrieve(body).await
    }

    /// How many requests with `method` on `path` the emulator received.
    fn received(&self, method: &str, path: &str) -> usize {
        self.emulator
            .control()
            .requests()
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .count()
    }

    fn fault(&self, spec: serde_json::Value) {
        let spec: FaultSpec = serde_json::from_value(spec).unwrap();
        self.emulator.control().add_fault(spec);
    }

    /// Waits (with a deadline) for the webhooks `code` of `link` that `wanted` accepts,
    /// parsed with the client's webhook types.
    async fn webhooks(
        &self,
        link: Uuid,
        code: WebhookCode,
        wanted: impl Fn(&WebhookEnvelope) -> bool,
    ) -> Vec<WebhookEnvelope> {
        let matching = |records: &[belvo_emulator::WebhookRecord]| {
            records
                .iter()
                .filter_map(|r| serde_json::from_value::<WebhookEnvelope>(r.event.clone()).ok())
                .filter(|e| e.link_uuid() == Some(link) && e.webhook_code == code && wanted(e))
                .collect::<Vec<_>>()
        };
        let records = self
            .emulator
            .control()
            .wait_for_webhooks(Duration::from_secs(10), |r| !matching(r).is_empty())
            .await
            .unwrap_or_else(|r| panic!("no {code:?} webhook for {link}: {r:?}"));
        matching(&records)
    }
}

fn registration(institution: &str, username: &str, password: Option<&str>) -> RegisterLink {
    RegisterLink {
        institution: institution.into(),
        username: username.into(),
        password: password.map(Into::into),
        ..Default::default()
    }
}

/// A webhook answering the async call that was given `request_id`.
fn answering(request_id: &str) -> impl Fn(&WebhookEnvelope) -> bool + '_ {
    move |e| e.request_id.as_deref() == Some(request_id)
}

fn window(days: i64) -> (NaiveDate, NaiveDate) {
    (as_of() - chrono::Duration::days(days), as_of())
}

/// `request` with Belvo's `type` (`INFLOW`/`OUTFLOW`, `yearly`/`monthly`).
fn of_kind(kind: &str, request: RetrieveRequest) -> RetrieveRequest {
    RetrieveRequest {
        kind: Some(kind.into()),
        ..request
    }
}

/// Asserts every item's date (`day_of`) is within `from..=to`.
fn assert_within<T>(
    items: &[T],
    day_of: impl Fn(&T) -> NaiveDate,
    (from, to): (NaiveDate, NaiveDate),
    what: &str,
) {
    for item in items {
        let day = day_of(item);
        assert!(
            from <= day && day <= to,
            "{what} {day} outside {from}..{to}"
        );
    }
}

fn dated(link: Uuid, (from, to): (NaiveDate, NaiveDate)) -> RetrieveRequest {
    RetrieveRequest {
        date_from: Some(from.to_string()),
        date_to: Some(to.to_string()),
        ..RetrieveRequest::for_link(link)
    }
}

fn is_request_id(id: &str) -> bool {
    id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit())
}

#[tokio::test]
async fn credentials_and_institutions() {
    let belvo = Belvo::start().await;
    belvo.client.check_credentials().await.unwrap();
    let wrong = Client::builder(
        belvo.emulator.url().parse().unwrap(),
        Credentials::new(ID, "wrong"),
    )
    .retry_policy(fast_retries())
    .build()
    .unwrap();
    let err = wrong.check_credentials().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::AuthenticationFailed));
    assert_eq!(belvo.received("GET", "/api/"), 2, "a 401 is not retried");

    let banks: Vec<_> = belvo
        .client
        .institutions()
        .list(&Filters::new().eq("country_code", "MX").eq("type", "bank"))
        .try_collect()
        .await
        .unwrap();
    let names: HashSet<_> = banks.iter().filter_map(|i| i.name.as_deref()).collect();
    assert!(names.contains("erebor_mx_retail") && names.contains("gotham_mx_business"));
    assert!(!names.contains("tatooine_mx_fiscal"), "{names:?}");
    let erebor = belvo.client.institutions().get(1003).await.unwrap();
    assert_eq!(erebor.name.as_deref(), Some("erebor_mx_retail"));
}

#[tokio::test]
async fn widget_tokens_for_new_links_and_update_mode() {
    let belvo = Belvo::start().await;
    let mut request = WidgetTokenRequest::create_links();
    request.fetch_resources = vec!["ACCOUNTS".into(), "TRANSACTIONS".into(), "OWNERS".into()];
    request.stale_in = Some("300d".into());
    request.credentials_storage = Some("store".into());
    request.widget = Some(belvo::Widget {
        branding: Some(belvo::Branding {
            company_icon: Some("https://acme.test/icon.svg".into()),
            company_logo: Some("https://acme.test/logo.svg".into()),
            company_name: Some("ACME".into()),
            company_terms_url: Some("https://acme.test/terms".into()),
            ..Default::default()
        }),
        ..Default::default()
    });
    let token = belvo.client.create_widget_token(&request).await.unwrap();
    let access = token.access.expose_secret();
    assert_eq!(access.split('.').count(), 3, "a JWT");
    assert_ne!(access, token.refresh.expose_secret());

    let link = belvo.bank_link().await;
    let update = belvo
        .client
        .create_widget_token(&WidgetTokenRequest::update_link(link))
        .await
        .unwrap();
    assert_ne!(update.access.expose_secret(), access);

    // Update mode for a link this account does not have: Belvo's 400 naming `link_id`.
    let err = belvo
        .client
        .create_widget_token(&WidgetTokenRequest::update_link(Uuid::new_v4()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::DoesNotExist));
    assert_eq!(err.api_error().unwrap().field.as_deref(), Some("link_id"));
}

#[tokio::test]
async fn links_register_get_verbatim_list_options_refresh() {
    let belvo = Belvo::start().await;
    let link = belvo
        .register("erebor_mx_retail", "user_valid", Some("pass_valid"))
        .await;
    let id = link.id.unwrap();
    assert_eq!(link.institution.as_deref(), Some("erebor_mx_retail"));
    assert_eq!(link.external_id.as_deref(), Some("ext-user_valid"));

    let got = belvo.client.links().get(id).await.unwrap();
    assert_eq!(got, link);

    // Verbatim: the same text a plain HTTP client reads, and one request for it.
    let before = belvo.received("GET", &format!("/api/links/{id}/"));
    let (typed, text) = belvo.client.links().get_verbatim(id).await.unwrap();
    assert_eq!(
        belvo.received("GET", &format!("/api/links/{id}/")),
        before + 1
    );
    assert_eq!(typed, link);
    let plain = reqwest::Client::new()
        .get(format!("{}/api/links/{id}/", belvo.emulator.url()))
        .basic_auth(ID, Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, plain);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["id"], json!(id));

    // A wrong password is Belvo's login_error, not retried.
    let err = belvo
        .refused("erebor_mx_retail", "someone_else", "pass_invalid")
        .await;
    assert_eq!(err.code(), Some(&ErrorCode::LoginError));
    // The same user again is a duplicate, with Belvo's extra key.
    let err = belvo
        .refused("erebor_mx_retail", "user_valid", "pass_valid")
        .await;
    assert_eq!(err.code(), Some(&ErrorCode::Duplicated));
    assert!(
        err.api_error()
            .unwrap()
            .extra
            .contains_key("institution_user_id")
    );
    assert_eq!(belvo.received("POST", "/api/links/"), 3);

    let other = belvo.other_bank_link().await;
    let listed: Vec<Link> = belvo
        .client
        .links()
        .list(&Filters::new().is_in("id", [id, other]).page_size(1))
        .try_collect()
        .await
        .unwrap();
    let ids: HashSet<_> = listed.iter().filter_map(|l| l.id).collect();
    assert_eq!(ids, HashSet::from([id, other]));
    let by_owner: Vec<Link> = belvo
        .client
        .links()
        .list(&Filters::new().eq("external_id", "ext-user_valid"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(by_owner.len(), 2, "{by_owner:?}");

    let options = belvo::LinkOptions {
        access_mode: Some("single".into()),
        ..Default::default()
    };
    let changed = belvo
        .client
        .links()
        .update_options(id, &options)
        .await
        .unwrap();
    assert_eq!(
        changed.access_mode,
        Some(belvo::models::AccessMode::Single),
        "{changed:?}"
    );

    let accepted = belvo
        .client
        .links()
        .refresh(other, Some(&["TRANSACTIONS".to_owned()]))
        .await
        .unwrap();
    assert!(is_request_id(&accepted.request_id), "{accepted:?}");
    let again = belvo.client.links().refresh(other, None).await.unwrap_err();
    assert!(again.refresh_cooldown().is_some(), "{again:?}");
    assert_eq!(
        belvo.received("POST", &format!("/api/links/{other}/refresh/")),
        2,
        "a refresh is never repeated"
    );
}

#[tokio::test]
async fn registration_with_mfa_resumes_on_the_links_collection() {
    let belvo = Belvo::start().await;
    let err = belvo
        .refused("gotham_mx_business", "user_valid", "pass_valid")
        .await;
    let challenge = err.token_required().expect("a 428 challenge").clone();
    assert_eq!(challenge.path, "api/links/");
    assert!(is_request_id(&challenge.session), "{challenge:?}");
    let link = challenge.link.unwrap();
    assert_eq!(
        belvo.client.links().get(link).await.unwrap().status,
        Some(LinkStatus::Unconfirmed)
    );

    let wrong = belvo
        .client
        .links()
        .resume(&MfaResume::new(&challenge, "000000").unwrap())
        .await
        .unwrap_err();
    assert_eq!(wrong.token_required().unwrap().session, challenge.session);
    let created = belvo
        .client
        .links()
        .resume(&MfaResume::new(&challenge, MFA_TOKEN).unwrap())
        .await
        .unwrap();
    assert_eq!(created.id, Some(link));
    assert_eq!(created.status, Some(LinkStatus::Valid));
    // The session is spent.
    let spent = belvo
        .client
        .links()
        .resume(&MfaResume::new(&challenge, MFA_TOKEN).unwrap())
        .await
        .unwrap_err();
    assert_eq!(spent.code(), Some(&ErrorCode::SessionExpired));
    assert_eq!(belvo.received("PATCH", "/api/links/"), 3);
    belvo
        .webhooks(link, WebhookCode::HistoricalUpdate, |_| true)
        .await;
}

#[tokio::test]
async fn links_are_deleted_sync_and_async() {
    let belvo = Belvo::start().await;
    let sync = belvo.bank_link().await;
    let asynchronous = belvo.other_bank_link().await;

    belvo.client.links().delete(sync).await.unwrap();
    let gone = belvo.client.links().get(sync).await.unwrap_err();
    assert_eq!(gone.code(), Some(&ErrorCode::NotFound));
    // Deleting what is already gone counts as deleted.
    belvo.client.links().delete(sync).await.unwrap();

    let accepted = belvo
        .client
        .links()
        .delete_async(asynchronous)
        .await
        .unwrap();
    assert!(is_request_id(&accepted.request_id), "{accepted:?}");
    let events = belvo
        .webhooks(
            asynchronous,
            WebhookCode::LinkDeleted,
            answering(&accepted.request_id),
        )
        .await;
    assert_eq!(events.len(), 1, "{events:?}");
    let gone = belvo.client.links().get(asynchronous).await.unwrap_err();
    assert_eq!(gone.code(), Some(&ErrorCode::NotFound));
}

/// Lists `R` for `link`, reads the first object's detail (which must equal the listed one),
/// deletes it and checks it is gone. Returns how many objects the listing had.
async fn list_detail_delete<R: Resource>(belvo: &Belvo, link: Uuid) -> usize
where
    R::Item: Debug + PartialEq + Serialize,
{
    let api = belvo.client.resource::<R>();
    let filters = Filters::new().link(link).page_size(1000);
    let listed: Vec<R::Item> = api
        .list(&filters)
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("{} list: {e:?}", R::PATH));
    assert!(!listed.is_empty(), "{}: nothing listed", R::PATH);
    let first = &listed[0];
    let id: Uuid = serde_json::to_value(first).unwrap()["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: no id", R::PATH))
        .parse()
        .unwrap();
    let detail = api
        .get(id)
        .await
        .unwrap_or_else(|e| panic!("{} detail: {e:?}", R::PATH));
    assert_eq!(
        &detail,
        first,
        "{}: detail differs from the listing",
        R::PATH
    );

    api.delete(id).await.unwrap();
    let gone = api.get(id).await.unwrap_err();
    assert_eq!(gone.code(), Some(&ErrorCode::NotFound), "{}", R::PATH);
    api.delete(id).await.unwrap();
    let after: Vec<R::Item> = api.list(&filters).try_collect().await.unwrap();
    assert_eq!(after.len(), listed.len() - 1, "{}", R::PATH);
    listed.len()
}

#[tokio::test]
async fn every_data_resource_lists_details_and_deletes() {
    let belvo = Belvo::start().await;
    let bank = belvo.bank_link().await;
    let fiscal = belvo.fiscal_link().await;
    let employment = belvo.employment_link().await;

    assert!(list_detail_delete::<belvo::Accounts>(&belvo, bank).await > 1);
    assert!(list_detail_delete::<belvo::Transactions>(&belvo, bank).await > 10);
    list_detail_delete::<belvo::Balances>(&belvo, bank).await;
    list_detail_delete::<belvo::Owners>(&belvo, bank).await;
    list_detail_delete::<belvo::Incomes>(&belvo, bank).await;
    // Belvo's specs (and the emulator) answer these two details as arrays.
    list_detail_delete::<belvo::RecurringExpenses>(&belvo, bank).await;
    list_detail_delete::<belvo::RiskInsights>(&belvo, bank).await;
    list_detail_delete::<belvo::EmploymentRecords>(&belvo, employment).await;
    assert!(list_detail_delete::<belvo::Invoices>(&belvo, fiscal).await > 1);
    list_detail_delete::<belvo::TaxReturns>(&belvo, fiscal).await;
    list_detail_delete::<belvo::TaxStatus>(&belvo, fiscal).await;
    list_detail_delete::<belvo::TaxComplianceStatus>(&belvo, fiscal).await;
    list_detail_delete::<belvo::TaxRetentions>(&belvo, fiscal).await;

    // The detail of an object of another resource, or of nothing, is Belvo's 404.
    let err = belvo
        .client
        .accounts()
        .get(Uuid::new_v4())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::NotFound));
}

#[tokio::test]
async fn list_filters_reach_the_emulator() {
    let belvo = Belvo::start().await;
    let bank = belvo.bank_link().await;
    let (from, to) = window(60);
    let windowed: Vec<belvo::models::Transaction> = belvo
        .client
        .transactions()
        .list(
            &Filters::new()
                .link(bank)
                .range("value_date", from, to)
                .is_in("type", ["INFLOW"]),
        )
        .try_collect()
        .await
        .unwrap();
    assert!(!windowed.is_empty());
    for t in &windowed {
        let day = t.value_date.unwrap();
        assert!(from <= day && day <= to, "{day}");
        assert_eq!(t.r#type, Some(belvo::models::TransactionType::Inflow));
    }
    let all: Vec<belvo::models::Transaction> = belvo
        .client
        .transactions()
        .list(&Filters::new().link(bank))
        .try_collect()
        .await
        .unwrap();
    assert!(windowed.len() < all.len());
    // `link__in` with the link narrows like `link`.
    let other = belvo.other_bank_link().await;
    let accounts: Vec<belvo::models::Account> = belvo
        .client
        .accounts()
        .list(&Filters::new().is_in("link", [bank]))
        .try_collect()
        .await
        .unwrap();
    assert!(!accounts.is_empty());
    assert!(
        accounts
            .iter()
            .all(|a| a.link.as_deref() == Some(bank.to_string().as_str())),
        "another link's account came back"
    );
    let both: Vec<belvo::models::Account> = belvo
        .client
        .accounts()
        .list(&Filters::new().is_in("link", [bank, other]))
        .try_collect()
        .await
        .unwrap();
    assert!(both.len() > accounts.len());
}

/// `R`'s path and how many objects retrieving it for `link` (no window, no type) answers.
async fn count_retrieved<R: Resource>(belvo: &Belvo, link: Uuid) -> (&'static str, usize) {
    let count = belvo
        .retrieve::<R>(&RetrieveRequest::for_link(link))
        .await
        .unwrap_or_else(|e| panic!("{} retrieve: {e:?}", R::PATH))
        .len();
    (R::PATH, count)
}

#[tokio::test]
async fn retrieve_with_date_windows_and_async() {
    let belvo = Belvo::start().await;
    let bank = belvo.bank_link().await;
    let fiscal = belvo.fiscal_link().await;
    let employment = belvo.employment_link().await;

    // Transactions: every one inside the window, and the same set the list gives for it.
    let (from, to) = window(30);
    let retrieved = belvo
        .retrieve::<belvo::Transactions>(&dated(bank, (from, to)))
        .await
        .unwrap();
    assert!(!retrieved.is_empty());
    assert_within(
        &retrieved,
        |t| t.value_date.unwrap(),
        (from, to),
        "transaction",
    );
    let listed: Vec<belvo::models::Transaction> = belvo
        .client
        .transactions()
        .list(&Filters::new().link(bank).range("value_date", from, to))
        .try_collect()
        .await
        .unwrap();
    let ids =
        |v: &[belvo::models::Transaction]| v.iter().filter_map(|t| t.id).collect::<HashSet<_>>();
    assert_eq!(ids(&retrieved), ids(&listed));

    // Balances: daily balances inside the window.
    let (from, to) = window(7);
    let balances = belvo
        .retrieve::<belvo::Balances>(&dated(bank, (from, to)))
        .await
        .unwrap();
    assert!(!balances.is_empty());
    assert_within(&balances, |b| b.value_date.unwrap(), (from, to), "balance");

    // Invoices: inside the window and of the asked type; more than 365 days is refused.
    let (from, to) = window(120);
    let invoices = belvo
        .retrieve::<belvo::Invoices>(&of_kind("INFLOW", dated(fiscal, (from, to))))
        .await
        .unwrap();
    assert!(!invoices.is_empty());
    assert_within(
        &invoices,
        |i| i.invoice_date.unwrap(),
        (from, to),
        "invoice",
    );
    for i in &invoices {
        assert_eq!(i.r#type, Some(belvo::models::InvoiceType::Inflow));
    }
    let err = belvo
        .retrieve::<belvo::Invoices>(&of_kind("INFLOW", dated(fiscal, window(400))))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::ValidationError));
    // A missing window is Belvo's `required`, naming the field; neither is retried.
    let err = belvo
        .retrieve::<belvo::Transactions>(&RetrieveRequest::for_link(bank))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Required));
    assert_eq!(err.api_error().unwrap().field.as_deref(), Some("date_from"));

    // Tax retentions: issued inside the window.
    let (from, to) = window(365);
    let retentions = belvo
        .retrieve::<belvo::TaxRetentions>(&of_kind("INFLOW", dated(fiscal, (from, to))))
        .await
        .unwrap();
    assert!(!retentions.is_empty());
    assert_within(
        &retentions,
        |r| r.issued_at.unwrap().date_naive(),
        (from, to),
        "retention",
    );

    // Tax returns, yearly: only the asked fiscal years.
    let year = as_of().year() - 1;
    let returns = belvo
        .client
        .tax_returns()
        .retrieve(&RetrieveRequest {
            kind: Some("yearly".into()),
            year_from: Some(year.to_string()),
            year_to: Some(year.to_string()),
            ..RetrieveRequest::for_link(fiscal)
        })
        .await
        .unwrap();
    assert!(!returns.is_empty());
    for r in &returns {
        let ejercicio = r
            .informacion_general
            .as_ref()
            .map(|g| g["ejercicio"].clone());
        assert_eq!(
            ejercicio.as_ref().and_then(serde_json::Value::as_i64),
            Some(i64::from(year)),
            "{ejercicio:?}"
        );
    }

    // Incomes: at least 90 days; the single-object answers come back as one item.
    let incomes = belvo
        .retrieve::<belvo::Incomes>(&dated(bank, window(180)))
        .await
        .unwrap();
    assert_eq!(incomes.len(), 1);
    let err = belvo
        .retrieve::<belvo::Incomes>(&dated(bank, window(30)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::InvalidPeriod));
    for (path, count) in [
        count_retrieved::<belvo::RiskInsights>(&belvo, bank).await,
        count_retrieved::<belvo::TaxStatus>(&belvo, fiscal).await,
        count_retrieved::<belvo::TaxComplianceStatus>(&belvo, fiscal).await,
    ] {
        assert_eq!(count, 1, "{path}");
    }
    for (path, count) in [
        count_retrieved::<belvo::Accounts>(&belvo, bank).await,
        count_retrieved::<belvo::Owners>(&belvo, bank).await,
        count_retrieved::<belvo::RecurringExpenses>(&belvo, bank).await,
        count_retrieved::<belvo::EmploymentRecords>(&belvo, employment).await,
    ] {
        assert!(count > 0, "{path}");
    }
    // `save_data: false` answers without storing (200 rather than 201); the client takes both.
    let unsaved = belvo
        .client
        .accounts()
        .retrieve(&RetrieveRequest {
            save_data: Some(false),
            ..RetrieveRequest::for_link(bank)
        })
        .await
        .unwrap();
    assert!(!unsaved.is_empty());

    // Async: 202 now, the webhook later with the same request id.
    let accepted = belvo
        .client
        .transactions()
        .retrieve_async(&dated(bank, window(30)))
        .await
        .unwrap();
    assert!(is_request_id(&accepted.request_id));
    let events = belvo
        .webhooks(
            bank,
            WebhookCode::HistoricalUpdate,
            answering(&accepted.request_id),
        )
        .await;
    assert_eq!(
        events[0].webhook_type,
        belvo::webhook::WebhookType::Transactions
    );
    let accepted = belvo
        .client
        .invoices()
        .retrieve_async(&of_kind("OUTFLOW", dated(fiscal, window(30))))
        .await
        .unwrap();
    assert!(is_request_id(&accepted.request_id));
}

#[tokio::test]
async fn data_retrieval_resumes_after_mfa_on_the_resource_collection() {
    let belvo = Belvo::start().await;
    let bank = belvo.bank_link().await;
    let control = belvo.emulator.control();

    control
        .set_link_status(bank, belvo_emulator::LinkStatus::TokenRequired, false)
        .unwrap();
    let (from, to) = window(30);
    let err = belvo
        .retrieve::<belvo::Transactions>(&dated(bank, (from, to)))
        .await
        .unwrap_err();
    let challenge = err.token_required().expect("a 428 challenge").clone();
    assert_eq!(challenge.path, "api/transactions/");
    assert_eq!(challenge.link, Some(bank));
    let wrong = belvo
        .client
        .transactions()
        .resume(&MfaResume::new(&challenge, "000000").unwrap())
        .await
        .unwrap_err();
    assert!(wrong.token_required().is_some(), "{wrong:?}");
    let resumed = belvo
        .client
        .transactions()
        .resume(&MfaResume::new(&challenge, MFA_TOKEN).unwrap())
        .await
        .unwrap();
    assert!(!resumed.is_empty());
    // The resumed retrieval keeps the first request's window.
    assert_within(
        &resumed,
        |t| t.value_date.unwrap(),
        (from, to),
        "transaction",
    );
    assert_eq!(
        belvo.client.links().get(bank).await.unwrap().status,
        Some(LinkStatus::Valid)
    );
    assert_eq!(belvo.received("PATCH", "/api/transactions/"), 2);

    // The same on another collection, and an object answer (risk insights) after resume.
    control
        .set_link_status(bank, belvo_emulator::LinkStatus::TokenRequired, false)
        .unwrap();
    let err = belvo
        .retrieve::<belvo::Accounts>(&RetrieveRequest::for_link(bank))
        .await
        .unwrap_err();
    let challenge = err.token_required().unwrap().clone();
    assert_eq!(challenge.path, "api/accounts/");
    let accounts = belvo
        .client
        .accounts()
        .resume(&MfaResume::new(&challenge, MFA_TOKEN).unwrap())
        .await
        .unwrap();
    assert!(!accounts.is_empty());
    control
        .set_link_status(bank, belvo_emulator::LinkStatus::TokenRequired, false)
        .unwrap();
    let err = belvo
        .retrieve::<belvo::RiskInsights>(&RetrieveRequest::for_link(bank))
        .await
        .unwrap_err();
    let challenge = err.token_required().unwrap().clone();
    let insights = belvo
        .client
        .risk_insights()
        .resume(&MfaResume::new(&challenge, MFA_TOKEN).unwrap())
        .await
        .unwrap();
    assert_eq!(insights.len(), 1);
}

#[tokio::test]
async fn link_writes_are_sent_once_whatever_the_failure() {
    let belvo = Belvo::start().await;
    let register = registration("erebor_mx_retail", "user_valid", Some("pass_valid"));
    for (n, fault) in [
        json!({"kind": "status", "status": 429}),
        json!({"kind": "status", "status": 429, "retry_after": 0}),
        json!({"kind": "firewall"}),
        json!({"kind": "status", "status": 503}),
        json!({"kind": "status", "status": 500}),
        json!({"kind": "drop"}),
    ]
    .into_iter()
    .enumerate()
    {
        let mut spec = fault.clone();
        spec["path"] = json!("/api/links/");
        spec["method"] = json!("POST");
        spec["count"] = json!(1);
        belvo.fault(spec);
        let err = belvo.client.links().register(&register).await.unwrap_err();
        assert_eq!(
            belvo.received("POST", "/api/links/"),
            n + 1,
            "{fault}: registration repeated after {err:?}"
        );
    }
    assert!(belvo.emulator.control().links().is_empty());
    // Without a fault it goes through, once.
    belvo.client.links().register(&register).await.unwrap();
    assert_eq!(belvo.received("POST", "/api/links/"), 7);
}

#[tokio::test]
async fn retrieval_retries_only_what_belvo_says_and_reads_retry_more() {
    let belvo = Belvo::start().await;
    let bank = belvo.bank_link().await;
    let body = dated(bank, window(30));

    // A body that does not decode: Belvo did log in; no second login.
    belvo.fault(
        json!({"path": "/api/transactions/", "method": "POST", "kind": "malformed", "count": 1}),
    );
    let err = belvo
        .retrieve::<belvo::Transactions>(&body)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert_eq!(belvo.received("POST", "/api/transactions/"), 1);

    // A dropped connection: no second login either.
    belvo
        .fault(json!({"path": "/api/transactions/", "method": "POST", "kind": "drop", "count": 1}));
    let err = belvo
        .retrieve::<belvo::Transactions>(&body)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(belvo.received("POST", "/api/transactions/"), 2);

    // 503, 408 and 429 are retried, as Belvo's guidance says.
    for status in [503, 408, 429] {
        belvo.fault(
            json!({"path": "/api/transactions/", "method": "POST", "kind": "status",
            "status": status, "count": 1}),
        );
    }
    let before = belvo.received("POST", "/api/transactions/");
    let retrieved = belvo.client.transactions().retrieve(&body).await.unwrap();
    assert!(!retrieved.is_empty());
    assert_eq!(belvo.received("POST", "/api/transactions/"), before + 4);

    // Reads also retry a dropped connection and a malformed body.
    belvo.fault(json!({"path": "/api/accounts/", "method": "GET", "kind": "drop", "count": 1}));
    belvo
        .fault(json!({"path": "/api/accounts/", "method": "GET", "kind": "malformed", "count": 1}));
    let accounts: Vec<belvo::models::Account> = belvo
        .client
        .accounts()
        .list(&Filters::new().link(bank))
        .try_collect()
        .await
        .unwrap();
    assert!(!accounts.is_empty());
    assert_eq!(belvo.received("GET", "/api/accounts/"), 3);
}
