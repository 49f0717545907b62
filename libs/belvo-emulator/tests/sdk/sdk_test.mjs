// Drives belvo-emulator with Belvo's official Node SDK (`belvo` from npm). Input: env BELVO_URL,
// BELVO_SECRET_ID, BELVO_SECRET_PASSWORD. Output: one JSON line of observations on stdout; the
// Rust test (tests/tools/sdk.rs) asserts on it. Any unexpected SDK error fails the script.
import belvoModule from "belvo";

const Client = belvoModule.default || belvoModule;
const { BELVO_URL: url, BELVO_SECRET_ID: id, BELVO_SECRET_PASSWORD: pw } = process.env;
const out = { sdk: "belvo (npm)" };

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

const token = await client.widgetToken.create();
out.token_keys = Object.keys(token).sort();
const update = await client.widgetToken.create({ link: link.id, scopes: "read_institutions,write_links,read_links" });
out.update_token_ok = typeof update.access === "string";

out.links_listed = (await client.links.list()).map((l) => l.id);
out.detail = (await client.links.detail(link.id)).id;
out.accounts = (await client.accounts.list({ filters: { link: link.id } })).length;
// The SDK caps lists at `limit` items (default 100) and pages with `next`.
const txns = await client.transactions.list({ limit: 1000, filters: { link: link.id } });
out.transactions = txns.length;
out.transaction_ids_unique = new Set(txns.map((t) => t.id)).size === txns.length;
out.first_transaction = (await client.transactions.detail(txns[0].id)).id === txns[0].id;
const retrieved = await client.transactions.retrieve(link.id, "2026-05-01", { dateTo: "2026-06-30" });
out.retrieved = retrieved.length;
out.owners = (await client.owners.retrieve(link.id)).length;

const fiscal = await client.links.register("tatooine_mx_fiscal", "PFIS010101001", "individual");
out.invoices = (await client.invoices.list({ filters: { link: fiscal.id } })).length;
out.deleted = await client.links.delete(fiscal.id);
console.log(JSON.stringify(out));
