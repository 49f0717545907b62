// Drives the web app in headless Debian Chromium (playwright-core; never downloads a
// browser) against a running stack. Input: env E2E_CONFIG, JSON {gateway, emulator,
// screenshots?: directory, lang?: "en" | "es"}. Output: one JSON line of observations on
// stdout ({failure} when a step failed); the Rust test asserts on it. Steps:
//   1. sign in (dev login), add a bank account without MFA, see the sync finish and the
//      accounts and transactions (filtered, paged); its charts' figures against sums of the
//      transactions the API serves, and when it was last refreshed; a transaction Belvo adds
//      later reaches the open list through `/v1/links/{id}/changes`, the list not read again;
//   2. add one with MFA (token 111111), and a fiscal one (invoices, tax status), which is
//      then shown as stale (the watchdog's flag, set in the gateway's answer for it);
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

async function shot(name, options = {}) {
  if (!shots) return;
  // Toasts would cover the page in a still picture.
  const hide = !name.startsWith("widget");
  if (hide) await page.evaluate(() => { document.querySelector("#announcer").style.display = "none"; });
  await page.screenshot({ path: `${shots}/${name}.png`, ...options });
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

// Every record of a link's resource as the API serves it, paged with its cursor, with the
// token the page signed in with.
async function apiAll(linkId, resource) {
  const token = await page.evaluate(() => sessionStorage.getItem("connect.token"));
  const rows = [];
  let cursor = null;
  for (;;) {
    const url = new URL(`/v1/links/${linkId}/${resource}`, cfg.gateway);
    url.searchParams.set("limit", "500");
    if (cursor) url.searchParams.set("cursor", cursor);
    const r = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
    if (!r.ok) throw new Error(`GET ${url}: ${r.status} ${await r.text()}`);
    const body = await r.json();
    rows.push(...body.data);
    if (!body.has_more) return rows;
    cursor = body.next_cursor;
  }
}
async function apiGet(path) {
  const token = await page.evaluate(() => sessionStorage.getItem("connect.token"));
  const r = await fetch(new URL(path, cfg.gateway), { headers: { Authorization: `Bearer ${token}` } });
  if (!r.ok) throw new Error(`GET ${path}: ${r.status}`);
  return r.json();
}

// What the charts must show, added up here from the stored records (in cents): outflows per
// category; inflows and outflows per month (months with neither left out); each account's
// balance per day: Belvo's balance records when there are any, else the balance after the
// day's last transaction (latest accounting_date, the first listed of equals).
const cents = (v) => Math.round(Number(v) * 100);
const decimal = (c) => (c / 100).toFixed(2);
function expectedCharts(transactions, balances) {
  const spending = {};
  const flows = {};
  for (const t of transactions) {
    const amount = Math.abs(cents(t.amount));
    if (t.type === "OUTFLOW") spending[t.category || ""] = (spending[t.category || ""] || 0) + amount;
    const month = t.value_date.slice(0, 7);
    flows[month] ||= { inflow: 0, outflow: 0 };
    if (t.type === "INFLOW") flows[month].inflow += amount;
    if (t.type === "OUTFLOW") flows[month].outflow += amount;
  }
  const balance = {};
  if (balances.length) {
    for (const b of balances) {
      const key = `${b.account.id}|${b.value_date}`;
      if (!(key in balance)) balance[key] = decimal(cents(b.balance ?? b.current_balance));
    }
  } else {
    const last = {};
    for (const t of transactions) {
      if (t.balance === null || t.balance === undefined) continue;
      const key = `${t.account.id}|${t.value_date}`;
      if (!(key in last) || t.accounting_date > last[key].accounting_date) last[key] = t;
    }
    for (const [key, t] of Object.entries(last)) balance[key] = decimal(cents(t.balance));
  }
  return {
    spending: Object.fromEntries(Object.entries(spending).map(([k, v]) => [k, decimal(v)])),
    flows: Object.fromEntries(
      Object.entries(flows).map(([m, f]) => [m, { inflow: decimal(f.inflow), outflow: decimal(f.outflow) }]),
    ),
    balance,
  };
}

// The figures the charts show, read from their tables and, separately, from the drawn bars
// and points (each carries its figure as data-* attributes).
function chartFigures() {
  const all = (selector) => [...document.querySelectorAll(selector)];
  const figures = (spending, flowCells, balance) => {
    const flows = {};
    for (const el of flowCells) {
      flows[el.dataset.month] ||= {};
      flows[el.dataset.month][el.dataset.kind] = el.dataset.value;
    }
    for (const [month, f] of Object.entries(flows)) {
      if (f.inflow === "0.00" && f.outflow === "0.00") delete flows[month];
    }
    return {
      spending: Object.fromEntries(spending.map((el) => [el.dataset.key, el.dataset.value])),
      flows,
      balance: Object.fromEntries(balance.map((el) => [`${el.dataset.account}|${el.dataset.date}`, el.dataset.value])),
    };
  };
  return {
    tables: figures(
      all('[data-chart-table="spending"] tbody tr'),
      all('[data-chart-table="flows"] td[data-kind]'),
      all('[data-chart-table="balance"] td[data-value]'),
    ),
    marks: figures(all("#chart-spending .mark"), all("#chart-flows .mark"), all("#chart-balance .mark")),
  };
}
const sorted = (v) =>
  v && typeof v === "object" && !Array.isArray(v)
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])]))
    : v;

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
  await page.$eval('[role="tablist"]', (e) => e.scrollIntoView());
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

  // 1b. The charts show the sums of the stored transactions; the link shows when it was last
  // refreshed (the newest successful pull of any resource).
  const [transactions, balances] = await Promise.all([apiAll(first.id, "transactions"), apiAll(first.id, "balances")]);
  out.chart_transactions = transactions.length;
  out.chart_balance_records = balances.length;
  const expected = sorted(expectedCharts(transactions, balances));
  out.charts_expected = expected;
  const deadline = Date.now() + 30000;
  for (;;) {
    const shown = await page.evaluate(chartFigures);
    out.charts_shown = sorted(shown.tables);
    out.chart_marks = sorted(shown.marks);
    const settled = await page.$('#charts[aria-busy="false"]');
    if (settled && JSON.stringify(out.charts_shown) === JSON.stringify(expected)) break;
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  out.chart_records = Number(await page.getAttribute("#charts", "data-records"));
  out.chart_a11y = await page.$$eval("#charts figure", (figures) =>
    figures.map((f) => {
      const svg = f.querySelector("svg.chart-svg");
      const marks = [...svg.querySelectorAll(".mark")];
      return {
        id: f.id,
        caption: f.querySelector("figcaption .chart-title").textContent,
        labelled_by_caption: document.getElementById(svg.getAttribute("aria-labelledby")) === f.querySelector(".chart-title"),
        marks: marks.length,
        labelled_marks: marks.filter((m) => m.getAttribute("role") === "img" && m.getAttribute("aria-label")).length,
        tab_stops: marks.filter((m) => m.getAttribute("tabindex") === "0").length,
        table_rows: f.querySelectorAll("table tbody tr").length,
      };
    }),
  );
  // Keyboard: one tab stop per chart, the arrow keys move between bars, and the label of
  // the focused bar is spoken and shown.
  await page.focus("#chart-spending .mark[tabindex='0']");
  const firstBar = await page.evaluate(() => document.activeElement.getAttribute("aria-label"));
  await page.keyboard.press("ArrowDown");
  out.chart_keyboard = await page.evaluate((before) => {
    const el = document.activeElement;
    return {
      before,
      after: el.getAttribute("aria-label"),
      moved: el.classList.contains("mark") && el.getAttribute("aria-label") !== before,
      readout: document.querySelector("#chart-spending .chart-readout").textContent,
    };
  }, firstBar);
  await page.focus("#chart-flows .mark[tabindex='0']");
  await page.keyboard.press("ArrowDown");
  out.chart_keyboard_flows = await page.evaluate(() => document.activeElement.dataset.kind);
  await page.evaluate(() => document.activeElement.blur());
  const sync = (await apiGet(`/v1/links/${first.id}`)).sync;
  const newest = sync.resources.map((r) => r.last_success_at).filter(Boolean).sort().pop();
  out.fresh_expected = newest;
  await page.waitForFunction(
    ([id, at]) => {
      const time = document.querySelector(`.link-item[data-link-id="${id}"] .link-fresh time`);
      return time && time.getAttribute("datetime") === at;
    },
    [first.id, newest],
  ).catch(() => {});
  out.fresh_shown = await page.getAttribute(`.link-item[data-link-id="${first.id}"] .link-fresh time`, "datetime");
  out.fresh_text = await page.textContent(`.link-item[data-link-id="${first.id}"] .link-fresh`);
  out.first_stale_badges = await page.$$eval(`.link-item[data-link-id="${first.id}"] [data-stale]`, (e) => e.length);
  step("charts");

  // 1c. Belvo adds a transaction (dated after every other, so it tops the list) and announces
  // it with its scheduled refresh: when the pull finishes, the app follows the link's changes
  // and puts the row in the open, unfiltered list without reading the list again.
  await page.click('[role="tab"][data-resource="transactions"]');
  await page.click("#filters-reset");
  out.live_rows_before = await rowsOf("transactions");
  const newestDay = transactions.map((t) => t.value_date).sort().pop();
  const nextDay = new Date(Date.parse(newestDay) + 86400000).toISOString().slice(0, 10);
  const seen = { changes: 0, list_reads: 0 };
  const count = (request) => {
    const url = new URL(request.url());
    if (url.pathname === `/v1/links/${first.id}/changes`) seen.changes += 1;
    // The list's own pages (the charts read 500 at a time).
    if (url.pathname === `/v1/links/${first.id}/transactions` && url.searchParams.get("limit") === "25") {
      seen.list_reads += 1;
    }
  };
  page.on("request", count);
  const [added] = await control("POST", `links/${first.id}/data/transactions`, {
    items: [{ value_date: nextDay, description: "E2E live change" }],
  });
  await control("POST", `links/${first.id}/recurrent-refresh`);
  await page.waitForSelector(`[data-table="transactions"] tbody tr[data-id="${added.id}"]`, { timeout: 30000 });
  page.off("request", count);
  out.live_requests = seen;
  out.live_rows_after = await page.$$eval('[data-table="transactions"] tbody tr', (rows) => rows.length);
  out.live_first_row_is_new = (await page.getAttribute('[data-table="transactions"] tbody tr', "data-id")) === added.id;
  out.live_row_text = await page.textContent(`[data-table="transactions"] tbody tr[data-id="${added.id}"]`);
  step("live change");

  // 2. A bank with MFA.
  const beforeMfa = (await linkItems()).map((l) => l.id);
  await connect("heimdall_mx_retail", "e2e_mfa_user", "pass_valid", { mfa: "111111" });
  await page.waitForSelector("[data-belvo-success]");
  await page.click('[data-belvo-action="done"]');
  await page.waitForFunction(() => document.querySelectorAll('.link-item[data-status="valid"]').length >= 2);
  out.links_after_mfa = (await linkItems()).length;
  const mfaLink = (await linkItems()).map((l) => l.id).find((id) => !beforeMfa.includes(id));
  step("mfa link");

  // 2b. A fiscal link (SAT): invoices and tax status.
  const beforeFiscal = (await linkItems()).map((l) => l.id);
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
  out.fiscal_charts = Boolean(await page.$("#charts"));
  // The watchdog calls a link stale only hours after a missed refresh (its refresh rate plus a
  // margin), so the gateway's answer for this link stands in for it from here on.
  out.stale_link = (await linkItems()).map((l) => l.id).find((id) => !beforeFiscal.includes(id));
  await page.route(new URL(`/v1/links/${out.stale_link}`, cfg.gateway).href, async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    body.sync = { ...(body.sync || { resources: [] }), stale: true };
    await route.fulfill({ response, json: body });
  });
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
  // The list was loaded again: the stale link has its badge, the others none.
  await page.waitForSelector(`.link-item[data-link-id="${out.stale_link}"] [data-stale]`);
  out.stale_badges = await page.$$eval(".link-item", (els) =>
    els.filter((e) => e.querySelector("[data-stale]")).map((e) => e.dataset.linkId));
  out.stale_badge_text = await page.textContent(`.link-item[data-link-id="${out.stale_link}"] [data-stale]`);
  // The charts, with the list's freshness and stale badge beside them, and a bar focused.
  await page.waitForSelector('#charts[aria-busy="false"] #chart-balance');
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.focus("#chart-spending .mark[tabindex='0']");
  const bottom = await page.$eval("#charts", (e) => e.getBoundingClientRect().bottom + window.scrollY);
  await shot("charts", { fullPage: true, clip: { x: 0, y: 0, width: 1360, height: Math.ceil(bottom + 24) } });
  await page.evaluate(() => document.activeElement.blur());

  // Spanish: the toggle translates the page.
  await page.click('.lang[data-lang="es"]');
  out.spanish_add = (await page.textContent("#add-account")).trim();
  out.html_lang = await page.getAttribute("html", "lang");
  await page.click('[role="tab"][data-resource="accounts"]');
  await page.waitForSelector('[data-table="accounts"] tbody tr');
  out.spanish_charts = await page.$$eval("#charts h3, #charts .chart-title", (els) => els.map((e) => e.textContent));
  out.spanish_stale = await page.textContent(`.link-item[data-link-id="${out.stale_link}"] [data-stale]`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot("spanish");
  await page.click('.lang[data-lang="en"]');

  // 5. Delete the MFA link.
  const second = { id: mfaLink };
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
