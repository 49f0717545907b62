// Drives the web app in headless Debian Chromium (playwright-core; never downloads a
// browser) against a running stack. Input: env E2E_CONFIG, JSON {gateway, emulator,
// screenshots?: directory, lang?: "en" | "es"}. Output: one JSON line of observations on
// stdout ({failure} when a step failed); the Rust test asserts on it. Steps:
//   1. sign in (dev login), add a bank account without MFA, see the sync finish and the
//      accounts and transactions (filtered, paged);
//   2. add one with MFA (token 111111), and a fiscal one (invoices, tax status);
//   3. wrong credentials: the widget shows Belvo's error, the app reports it on exit;
//   4. Belvo asks for a new token (LINK token_required webhook from the emulator's control
//      API): the app shows it live, "Reconnect" runs the widget in update mode, valid again;
//   5. delete a link.
import { chromium } from "playwright-core";

const cfg = JSON.parse(process.env.E2E_CONFIG || "{}");
const out = { steps: [] };
const shots = cfg.screenshots || null;
const lang = cfg.lang || "en";
const user = cfg.user || `e2e-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const context = await browser.newContext({
  locale: lang === "es" ? "es-MX" : "en-US",
  viewport: { width: 1360, height: 900 },
});
// CSP violations are collected before any page script runs.
await context.addInitScript(() => {
  window.__csp = [];
  document.addEventListener("securitypolicyviolation", (e) => {
    window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
  });
});
const page = await context.newPage();
page.setDefaultTimeout(20000);
page.on("pageerror", (e) => (out.page_errors ||= []).push(String(e)));
page.on("console", (m) => {
  if (m.type() === "error") (out.console_errors ||= []).push(m.text());
});
page.on("dialog", (d) => d.dismiss());

async function shot(name) {
  if (!shots) return;
  // Toasts would cover the page in a still picture.
  const hide = !name.startsWith("widget");
  if (hide) await page.evaluate(() => { document.querySelector("#announcer").style.display = "none"; });
  await page.screenshot({ path: `${shots}/${name}.png` });
  if (hide) await page.evaluate(() => { document.querySelector("#announcer").style.display = ""; });
}
async function control(method, path, body) {
  const r = await fetch(`${cfg.emulator}/_emulator/${path}`, {
    method,
    headers: { "Content-Type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!r.ok) throw new Error(`control ${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json().catch(() => null);
}
function step(name) {
  out.steps.push(name);
}

// Opens the widget and connects `institution` with the given credentials; returns once the
// widget reports success (and closes it) or shows an error (left open).
async function connect(institution, username, password, { mfa } = {}) {
  await page.click("#add-account");
  await page.waitForSelector('[data-belvo-page="institutions"]');
  await shot("widget-institutions");
  await page.click(`[data-institution="${institution}"]`);
  await page.fill("#belvo-field-username", username);
  await page.fill("#belvo-field-password", password);
  await page.click('[data-belvo-action="submit"]');
  if (mfa) {
    await page.waitForSelector('[data-belvo-page="mfa"]');
    await shot("widget-mfa");
    await page.fill("#belvo-field-token", mfa);
    await page.click('[data-belvo-action="submit"]');
  }
}

// The rows of a resource's table once its panel has settled (not loading) and shows rows,
// counted in the same instant: a refresh driven by sync progress may re-render it at any time.
async function rowsOf(resource, { moreThan = 0 } = {}) {
  const count = await page.waitForFunction(([r, n]) => {
    const panel = document.querySelector("#tabpanel");
    const rows = document.querySelectorAll(`[data-table="${r}"] tbody tr`).length;
    return panel && panel.dataset.resource === r && panel.getAttribute("aria-busy") === "false" && rows > n && rows;
  }, [resource, moreThan], { timeout: 30000 });
  return count.jsonValue();
}

async function linkItems() {
  return page.$$eval(".link-item", (els) =>
    els.map((e) => ({ id: e.dataset.linkId, status: e.dataset.status, text: e.textContent })));
}

try {
  // 0. Sign in.
  await page.goto(cfg.gateway);
  await page.waitForSelector("#login-user");
  out.login_focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
  await shot("login");
  await page.fill("#login-user", user);
  await page.press("#login-user", "Enter");
  await page.waitForSelector("#home-view:not([hidden])");
  out.token_in_session_storage = await page.evaluate(() => Boolean(sessionStorage.getItem("connect.token")));
  out.empty_text = await page.textContent("#links-empty");
  step("login");

  // 1. A bank without MFA: link registered, sync progress, accounts and transactions.
  await connect("erebor_mx_retail", "e2e_user", "pass_valid");
  await page.waitForSelector("[data-belvo-success]");
  await page.click('[data-belvo-action="done"]');
  await page.waitForSelector('.link-item[data-status="valid"]');
  const first = (await linkItems())[0];
  out.first_link = first.id;
  out.accounts_rows = await rowsOf("accounts");
  out.accounts_text = await page.textContent('[data-table="accounts"] tbody');
  await page.waitForSelector('.sync-item[data-resource="transactions"][data-state="succeeded"]');
  out.sync_items = await page.$$eval(".sync-item", (els) => els.map((e) => [e.dataset.resource, e.dataset.state]));
  out.announcer_has_role = await page.getAttribute("#announcer", "aria-live");
  await page.click('[role="tab"][data-resource="transactions"]');
  out.transactions_rows = await rowsOf("transactions");
  await shot("transactions");
  if (await page.$("#load-more")) {
    await page.click("#load-more");
    out.transactions_after_more = await rowsOf("transactions", { moreThan: out.transactions_rows });
  }
  // Filter: outflows only; every amount shown as an outflow.
  await page.selectOption("#filter-type", "OUTFLOW");
  await page.click("#filters-apply");
  out.outflow_rows = await rowsOf("transactions");
  out.outflow_inflow_cells = await page.$$eval('[data-table="transactions"] tbody .amount-in', (r) => r.length);
  // Keyboard: arrow keys move between tabs.
  await page.focus('[role="tab"][data-resource="transactions"]');
  await page.keyboard.press("ArrowRight");
  out.tab_after_arrow = await page.evaluate(() => document.activeElement.dataset.resource);
  await page.click('[role="tab"][data-resource="owners"]');
  out.owners_rows = await rowsOf("owners");
  step("first link");

  // 2. A bank with MFA.
  await connect("heimdall_mx_retail", "e2e_mfa_user", "pass_valid", { mfa: "111111" });
  await page.waitForSelector("[data-belvo-success]");
  await page.click('[data-belvo-action="done"]');
  await page.waitForFunction(() => document.querySelectorAll('.link-item[data-status="valid"]').length >= 2);
  out.links_after_mfa = (await linkItems()).length;
  step("mfa link");

  // 2b. A fiscal link (SAT): invoices and tax status.
  await connect("tatooine_mx_fiscal", "PFIS010101000", "pass_valid");
  await page.waitForSelector("[data-belvo-success]");
  await page.click('[data-belvo-action="done"]');
  await page.waitForFunction(() => document.querySelectorAll('.link-item[data-status="valid"]').length >= 3);
  await page.waitForSelector('[role="tab"][data-resource="invoices"]');
  await page.click('[role="tab"][data-resource="invoices"]');
  out.invoices_rows = await rowsOf("invoices");
  await shot("fiscal");
  await page.click('[role="tab"][data-resource="tax-status"]');
  out.tax_status_rows = await rowsOf("tax-status");
  out.fiscal_tabs = await page.$$eval('[role="tab"]', (els) => els.map((e) => e.dataset.resource));
  step("fiscal link");

  // 3. Wrong credentials: Belvo's error in the widget; leaving it, the app says why.
  await connect("gringotts_mx_retail", "user_invalid", "pass_invalid");
  await page.waitForSelector('[data-belvo-error="login_error"]');
  out.login_error_text = await page.textContent('[data-belvo-error="login_error"]');
  await shot("widget-login-error");
  await page.click('[data-belvo-action="exit"]');
  await page.waitForFunction(() => /login|credential|error/i.test(document.querySelector("#announcer").textContent));
  out.exit_announcement = await page.textContent("#announcer");
  out.links_after_error = (await linkItems()).length;
  step("wrong credentials");

  // 4. Belvo asks for a new token: shown live; Reconnect (update mode) makes it valid again.
  await page.click(`.link-item[data-link-id="${out.first_link}"] [data-action="view"]`);
  await page.waitForSelector(`#detail[data-link-id="${out.first_link}"] #detail-title`);
  await page.waitForSelector(`#detail[data-link-id="${out.first_link}"] #sync-title[data-connection="open"]`);
  await control("POST", `links/${out.first_link}/status`, { status: "token_required", notify: true });
  await page.waitForSelector(`.link-item[data-link-id="${out.first_link}"][data-status="token_required"]`, { timeout: 30000 });
  await page.waitForSelector("#reconnect");
  out.needs_action_text = await page.textContent("#needs-action");
  await shot("reconnect");
  await page.click("#reconnect");
  await page.waitForSelector('[data-belvo-page="login"]');
  out.update_mode_has_username = Boolean(await page.$("#belvo-field-username"));
  await page.fill("#belvo-field-password", "pass_valid");
  await page.click('[data-belvo-action="submit"]');
  await page.waitForSelector("[data-belvo-success]");
  await page.click('[data-belvo-action="done"]');
  await page.waitForSelector(`.link-item[data-link-id="${out.first_link}"][data-status="valid"]`);
  out.reconnected = true;
  step("reconnect");

  // Spanish: the toggle translates the page.
  await page.click('.lang[data-lang="es"]');
  out.spanish_add = (await page.textContent("#add-account")).trim();
  out.html_lang = await page.getAttribute("html", "lang");
  await page.click('[role="tab"][data-resource="accounts"]');
  await page.waitForSelector('[data-table="accounts"] tbody tr');
  await shot("spanish");
  await page.click('.lang[data-lang="en"]');

  // 5. Delete the MFA link.
  const second = (await linkItems()).find((l) => l.id !== out.first_link);
  await page.click(`.link-item[data-link-id="${second.id}"] [data-action="view"]`);
  await page.waitForSelector(`#detail[data-link-id="${second.id}"] #delete-link`);
  await page.click(`#detail[data-link-id="${second.id}"] #delete-link`);
  await page.waitForSelector("#confirm[open]");
  await page.click("#confirm-ok");
  await page.waitForFunction((id) => !document.querySelector(`.link-item[data-link-id="${id}"]`), second.id);
  out.deleted = second.id;
  out.links_after_delete = (await linkItems()).map((l) => l.id);
  step("delete");

  await page.click(`.link-item[data-link-id="${out.first_link}"] [data-action="view"]`);
  await page.waitForSelector(`#detail[data-link-id="${out.first_link}"]`);
  await page.click('[role="tab"][data-resource="transactions"]');
  await page.waitForSelector('[data-table="transactions"] tbody tr');
  await shot("home");
} catch (error) {
  out.failure = String(error && error.stack ? error.stack : error);
  await shot("failure").catch(() => {});
}
out.csp_violations = await page.evaluate(() => window.__csp).catch(() => null);
await browser.close();
console.log(JSON.stringify(out));
