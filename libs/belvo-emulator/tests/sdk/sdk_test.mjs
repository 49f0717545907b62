// Drives belvo-emulator with Belvo's official Node SDK (`belvo` from npm). Input: env BELVO_URL,
// BELVO_SECRET_ID, BELVO_SECRET_PASSWORD. Output: one JSON line of observations on stdout; the
// Rust test (tests/tools/sdk.rs) asserts on it. Any unexpected SDK error fails the script.
// The emulator's data is as of 2026-06-30; every retrieve names its window (the SDK's defaults
// are the real clock's today).
import belvoModule from "belvo";

const Client = belvoModule.default || belvoModule;
const { BELVO_URL: url, BELVO_SECRET_ID: id, BELVO_SECRET_PASSWORD: pw } = process.env;
const out = { sdk: "belvo (npm)" };
const BRANDING = {
  company_icon: "https://acme.example/icon.svg",
  company_logo: "https://acme.example/logo.svg",
  company_name: "ACME",
  company_terms_url: "https://acme.example/terms",
};
const within = (items, key, lo, hi) => items.every((i) => i[key].slice(0, 10) >= lo && i[key].slice(0, 10) <= hi);
const all = (resource, filters) => resource.list({ limit: 1000, filters });

// connect() probes GET /api/; wrong keys are refused.
try {
  await new Client(id, "wrong-password", url).connect();
  out.bad_login_refused = false;
} catch (e) {
  out.bad_login_refused = true;
}
const client = new Client(id, pw, url);
await client.connect();

const institutions = await client.institutions.list({ limit: 1000 });
out.institutions = institutions.map((i) => i.name).sort();
out.allin_institutions = (await all(client.institutions, { resources__allin: "ACCOUNTS,OWNERS,TRANSACTIONS" }))
  .map((i) => i.name)
  .sort();

// MFA: the SDK throws RequestError(428) with Belvo's body; resume with PATCH.
let session, linkId;
try {
  await client.links.register("heimdall_mx_retail", "sdk_js_user", "pass_valid");
  out.register_code = "none";
} catch (e) {
  out.register_status = e.statusCode;
  out.register_code = e.detail[0].code;
  session = e.detail[0].session;
  linkId = e.detail[0].link;
}
try {
  await client.links.resume(session, "999999", linkId);
} catch (e) {
  out.wrong_token_status = e.statusCode;
}
const link = await client.links.resume(session, "111111", linkId);
out.link = link;

try {
  await client.links.register("erebor_mx_retail", "user_invalid", "pass_invalid");
} catch (e) {
  out.login_error = { status: e.statusCode, code: e.detail[0].code };
}

// The SDK's create() sends only keys and scopes: refused by Belvo's 1.223.0 schemas.
try {
  await client.widgetToken.create();
  out.bare_token_error = null;
} catch (e) {
  out.bare_token_error = { code: e.detail[0].code, field: e.detail[0].field };
}
const token = await client.session.post("api/token/", {
  id,
  password: pw,
  scopes: "read_institutions,write_links",
  fetch_resources: ["ACCOUNTS", "TRANSACTIONS", "OWNERS"],
  stale_in: "365d",
  widget: { branding: BRANDING },
});
out.token_keys = Object.keys(token).sort();
const update = await client.widgetToken.create({ link: link.id, scopes: "read_institutions,write_links,read_links" });
out.update_token_ok = typeof update.access === "string";

out.links_listed = (await client.links.list()).map((l) => l.id);
out.detail = (await client.links.detail(link.id)).id;
out.accounts = (await client.accounts.list({ filters: { link: link.id } })).length;
// The SDK caps lists at `limit` items (default 100) and pages with `next`.
const txns = await all(client.transactions, { link: link.id });
out.transactions = txns.length;
out.transaction_ids_unique = new Set(txns.map((t) => t.id)).size === txns.length;
out.first_transaction = (await client.transactions.detail(txns[0].id)).id === txns[0].id;
const checking = await all(client.transactions, { link: link.id, account_type: "Cuentas de efectivo" });
out.account_type_filtered = checking.length;
out.account_type_only = checking.every((t) => t.account.type === "Cuentas de efectivo");
const watermark = `${link.created_at.slice(0, 23)}Z`;
out.created_at_gte_watermark = (await all(client.transactions, { link: link.id, created_at__gte: watermark })).length;
out.created_at_gt_watermark = (await all(client.transactions, { link: link.id, created_at__gt: link.created_at })).length;
const retrieved = await client.transactions.retrieve(link.id, "2026-05-01", { dateTo: "2026-06-30" });
out.retrieved = retrieved.length;
out.retrieved_in_window = within(retrieved, "value_date", "2026-05-01", "2026-06-30");
try {
  await client.transactions.retrieve(link.id, "2026-05-01", { dateTo: "2099-01-01" });
  out.future_date_to = null;
} catch (e) {
  out.future_date_to = { code: e.detail[0].code, field: e.detail[0].field };
}
out.balances_listed = (await all(client.balances, { link: link.id })).length;
const balances = await client.balances.retrieve(link.id, "2026-06-21", { dateTo: "2026-06-30" });
out.balances_retrieved = balances.length;
out.balances_in_window = within(balances, "value_date", "2026-06-21", "2026-06-30");
out.owners = (await client.owners.retrieve(link.id)).length;
out.owners_listed = (await all(client.owners, { link: link.id })).length;
out.incomes_object = !Array.isArray(await client.incomes.retrieve(link.id));
out.incomes_listed = (await all(client.incomes, { link: link.id })).length;
out.recurring_expenses = (await client.recurringExpense.retrieve(link.id)).length;
out.recurring_expenses_listed = (await all(client.recurringExpense, { link: link.id })).length;
out.risk_insights_object = !Array.isArray(await client.riskInsights.retrieve(link.id));
out.risk_insights_listed = (await all(client.riskInsights, { link: link.id })).length;

const refresh = await client.session.post(`api/links/${link.id}/refresh/`, {
  fetch_resources: ["ACCOUNTS", "TRANSACTIONS"],
});
out.refresh_request_id = refresh.request_id;

const employment = await client.links.register("planet_mx_employment", "BLPM951331IONVGR54", "");
out.employment_records = (await client.employmentRecords.retrieve(employment.id)).length;
out.employment_records_listed = (await all(client.employmentRecords, { link: employment.id })).length;

const fiscal = await client.links.register("tatooine_mx_fiscal", "PFIS010101000", "individual");
out.invoices = (await all(client.invoices, { link: fiscal.id })).length;
const invoices = await client.invoices.retrieve(fiscal.id, "2025-07-01", "2026-06-30", "INFLOW");
out.invoices_retrieved = invoices.length;
out.invoices_inflow_only = invoices.every((i) => i.type === "INFLOW");
const returns = await all(client.taxReturns, { link: fiscal.id });
out.tax_returns_listed = returns.length;
out.tax_returns_monthly_listed = returns.filter((r) => r.type === "monthly").length;
const yearly = await client.taxReturns.retrieve(fiscal.id, "2024", "2025", { type: "yearly" });
out.tax_returns_yearly_years = yearly.map((r) => r.informacion_general.ejercicio).sort();
out.tax_returns_yearly_personal = yearly.every((r) => "sueldos_salarios" in r);
const monthly = await client.taxReturns.retrieve(fiscal.id, "2026-01-01", "2026-06-30", { type: "monthly" });
out.tax_returns_monthly_periods = monthly.map((r) => r.informacion_general.periodo_declaracion);
out.tax_returns_monthly_personal = monthly.every((r) => r.type === "monthly" && "isr" in r);
out.tax_returns_by_ejercicio = (await all(client.taxReturns, { link: fiscal.id, ejercicio: 2025 })).length;
out.tax_status_object = !Array.isArray(await client.taxStatus.retrieve(fiscal.id));
out.tax_status_listed = (await all(client.taxStatus, { link: fiscal.id })).length;
out.tax_compliance_object = !Array.isArray(await client.taxComplianceStatus.retrieve(fiscal.id));
out.tax_compliance_listed = (await all(client.taxComplianceStatus, { link: fiscal.id })).length;
out.tax_retentions_listed = (await all(client.taxRetentions, { link: fiscal.id })).length;
const received = await client.taxRetentions.retrieve(fiscal.id, "2025-07-01", "2026-06-30", "INFLOW");
const sent = await client.taxRetentions.retrieve(fiscal.id, "2025-07-01", "2026-06-30", "OUTFLOW");
out.tax_retentions_inflow = received.length;
out.tax_retentions_outflow = sent.length;
out.tax_retentions_sides =
  received.every((r) => r.receiver_id === "PFIS010101000") && sent.every((r) => r.sender_id === "PFIS010101000");
const narrow = await client.taxRetentions.retrieve(fiscal.id, "2026-05-01", "2026-06-30", "INFLOW");
out.tax_retentions_narrow = narrow.length;

const company = await client.links.register("tatooine_mx_fiscal", "ABC1111111A1", "moral");
const business = await all(client.taxReturns, { link: company.id });
out.business_yearly = business.filter((r) => "datos_adicionales" in r).length;
out.business_monthly = business.filter((r) => r.type === "monthly" && "determinacion_isr" in r).length;

out.deleted = await client.links.delete(fiscal.id);
console.log(JSON.stringify(out));
