// Drives the emulator's Connect Widget in headless Debian Chromium (playwright-core, no
// downloaded browser). Input: env WIDGET_TEST (JSON: page URL, emulator URL, widget tokens).
// Output: one JSON line of observations on stdout; the Rust test asserts on it.
import { chromium } from "playwright-core";

const cfg = JSON.parse(process.env.WIDGET_TEST);
const out = {};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"],
});

async function page() {
  const p = await browser.newPage();
  p.setDefaultTimeout(15000);
  p.on("pageerror", (e) => { (out.page_errors ||= []).push(String(e)); });
  p.on("console", (m) => { if (m.type() === "error") (out.console_errors ||= []).push(m.text()); });
  await p.goto(cfg.page);
  await p.waitForFunction(() => window.belvoSDK && typeof window.belvoSDK.createWidget === "function");
  return p;
}

// Starts the widget the way an app does, recording every callback on window.
async function start(p, token, extra) {
  await p.evaluate(([token, extra]) => {
    window.__log = { callback: null, exit: null, events: [] };
    window.belvoSDK.createWidget(token, Object.assign({
      locale: "en",
      country_codes: ["MX"],
      callback: (link, institution) => { window.__log.callback = [link, institution]; },
      onExit: (data) => { window.__log.exit = data; },
      onEvent: (data) => { window.__log.events.push(data); },
    }, extra || {})).build();
  }, [token, extra]);
}

const log = (p) => p.evaluate(() => window.__log);

try {
  // 1. Create a link at an MFA bank: picker, credentials, wrong token, right token.
  let p = await page();
  await start(p, cfg.tokens.create, { external_id: "widget-user-1" });
  await p.click('[data-institution="gotham_mx_business"]');
  await p.fill("#belvo-field-username", "widget_mfa_user");
  await p.fill("#belvo-field-password", "pass_valid");
  await p.click('[data-belvo-action="submit"]');
  await p.waitForSelector('[data-belvo-page="mfa"]');
  await p.fill("#belvo-field-token", "999999");
  await p.click('[data-belvo-action="submit"]');
  await p.waitForSelector('[data-belvo-error="token_required"]');
  out.mfa_wrong_token_text = await p.textContent('[data-belvo-error="token_required"]');
  await p.fill("#belvo-field-token", "111111");
  await p.click('[data-belvo-action="submit"]');
  await p.waitForSelector("[data-belvo-success]");
  await p.waitForFunction(() => window.__log.callback !== null);
  out.create = await log(p);
  await p.screenshot({ path: cfg.screenshot });
  await p.close();

  // 2. The same token again: spent by the link it created.
  p = await page();
  await start(p, cfg.tokens.create);
  await p.waitForSelector('[data-belvo-error="ACCESS_TOKEN_NOT_VALID"]');
  out.reused_token_error = await p.textContent('[data-belvo-error="ACCESS_TOKEN_NOT_VALID"]');
  await p.close();

  // 3. Wrong credentials: Belvo's error, an ERROR event, then exit with the last error.
  p = await page();
  await start(p, cfg.tokens.error, { institutions: ["erebor_mx_retail", "gringotts_mx_retail"] });
  await p.waitForSelector('[data-belvo-page="institutions"]');
  out.listed = await p.$$eval("[data-institution]", (els) => els.map((e) => e.dataset.institution));
  await p.click('[data-institution="erebor_mx_retail"]');
  await p.fill("#belvo-field-username", "user_invalid");
  await p.fill("#belvo-field-password", "pass_invalid");
  await p.click('[data-belvo-action="submit"]');
  await p.waitForSelector('[data-belvo-error="login_error"]');
  out.login_error_text = await p.textContent('[data-belvo-error="login_error"]');
  await p.click('[data-belvo-action="exit"]');
  await p.waitForFunction(() => window.__log.exit !== null);
  out.error = await log(p);
  await p.close();

  // 4. Update mode: the token names a link; only the password is asked.
  p = await page();
  await start(p, cfg.tokens.update);
  await p.waitForSelector('[data-belvo-form="login"]');
  out.update_has_username = (await p.$("#belvo-field-username")) !== null;
  await p.fill("#belvo-field-password", "new_password");
  await p.click('[data-belvo-action="submit"]');
  await p.waitForFunction(() => window.__log.callback !== null);
  out.update = await log(p);
  await p.close();

  // 5. Hosted widget: one institution opens its login directly; success redirects.
  p = await browser.newPage();
  p.setDefaultTimeout(15000);
  await p.goto(`${cfg.emulator}/widget/?access_token=${encodeURIComponent(cfg.tokens.hosted)}&locale=en&institutions=erebor_mx_retail&external_id=hosted-user`);
  await p.waitForSelector('[data-belvo-form="login"]');
  await p.fill("#belvo-field-username", "hosted_user");
  await p.fill("#belvo-field-password", "pass_valid");
  await Promise.all([
    p.waitForURL((u) => u.pathname === "/success"),
    p.click('[data-belvo-action="submit"]'),
  ]);
  out.hosted_success_url = p.url();

  // 6. Hosted widget with a spent token: redirect to the event URL with the error.
  await p.goto(`${cfg.emulator}/widget/?access_token=${encodeURIComponent(cfg.tokens.hosted)}`);
  await p.waitForURL((u) => u.pathname === "/event");
  out.hosted_error_url = p.url();

  // 7. Hosted widget exit: redirect to the exit URL with the step.
  await p.goto(`${cfg.emulator}/widget/?access_token=${encodeURIComponent(cfg.tokens.hosted_exit)}&locale=es`);
  await p.waitForSelector("[data-institution]");
  await Promise.all([
    p.waitForURL((u) => u.pathname === "/exit"),
    p.click('[data-belvo-action="exit"]'),
  ]);
  out.hosted_exit_url = p.url();
  await p.close();
} catch (e) {
  out.failure = String(e && e.stack || e);
  try {
    for (const pg of browser.contexts().flatMap((c) => c.pages())) {
      out.failure_dom = (await pg.content()).slice(0, 4000);
    }
  } catch (_) { /* best effort */ }
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
