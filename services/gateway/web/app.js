// The Connect web app: sign in (dev), add a bank account through Belvo's widget, follow the
// sync live (and when each link was last refreshed, or that it is stale), see a bank link's
// charts (charts.js), browse the data, reconnect and delete links. Plain ES modules, no build step,
// no inline scripts or styles (the gateway's CSP forbids them).

import { api, ApiError, session, setUnauthorizedHandler, streamEvents } from "./api.js";
import {
  formatDate,
  formatDateTime,
  formatMoney,
  formatNumber,
  formatRelative,
  language,
  setLanguage,
  t,
  translateDocument,
} from "./i18n.js";
import { resourcesLoaded, resourcesOf, setResources } from "./resources.js";
import { h } from "./dom.js";
import { charts, summarize } from "./charts.js";

const $ = (selector) => document.querySelector(selector);

const NEEDS_RECONNECT = new Set(["invalid", "token_required"]);

const state = {
  links: [],
  selected: null, // link id
  detail: null, // the selected link (with sync)
  sync: new Map(), // resource -> sync entry
  stopStream: null,
  resource: null, // current tab's segment
  pages: new Map(), // segment -> {rows, cursor, hasMore, filters, loading}
  cursors: new Map(), // link id -> its `/changes` cursor, older than what its lists show
  accounts: [],
  freshness: new Map(), // link id -> {last, stale}: its newest successful pull, the watchdog's flag
  charts: null, // {linkId, loading, summary}
};

// ---------------------------------------------------------------- messages

let announceTimer = null;
function announce(message) {
  const el = $("#announcer");
  // Cleared first so the same message is announced again.
  el.textContent = "";
  clearTimeout(announceTimer);
  requestAnimationFrame(() => {
    el.textContent = message;
    el.classList.add("visible");
    announceTimer = setTimeout(() => el.classList.remove("visible"), 6000);
  });
}

function showError(error) {
  const el = $("#alert");
  let message;
  if (error instanceof ApiError) {
    message = t("error.generic", { message: error.message });
    if (error.requestId) message += ` · ${error.requestId}`;
  } else if (error instanceof TypeError) {
    message = t("error.network");
  } else {
    message = String(error && error.message ? error.message : error);
  }
  el.replaceChildren(
    h("span", {}, message),
    h("button", { type: "button", class: "alert-close", "aria-label": t("close"), onclick: clearError }, "×"),
  );
  el.hidden = false;
}

function clearError() {
  const el = $("#alert");
  el.hidden = true;
  el.replaceChildren();
}

function confirmDialog(text) {
  const dialog = $("#confirm");
  $("#confirm-text").textContent = text;
  $("#confirm-cancel").textContent = t("cancel");
  $("#confirm-ok").textContent = t("link.delete");
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "cancel";
    dialog.showModal();
    $("#confirm-cancel").focus();
  });
}

// ---------------------------------------------------------------- formatting

function institutionName(code) {
  if (!code) return "—";
  return String(code)
    .split("_")
    .map((w) => (w.length <= 3 && w !== "de" ? w.toUpperCase() : w[0].toUpperCase() + w.slice(1)))
    .join(" ");
}

// Belvo's codes (CHECKING_ACCOUNT, OUTFLOW, ...): translated when known, else made readable.
function codeText(value) {
  if (value === null || value === undefined || value === "") return "—";
  const key = `code.${value}`;
  const known = t(key);
  if (known !== key) return known;
  return String(value).replaceAll("_", " ").toLowerCase().replace(/^\w/, (c) => c.toUpperCase());
}

// A text for `key`, or `fallback` made readable when there is none (a resource or filter
// the server lists but this app has no words for).
function label(key, fallback) {
  const known = t(key);
  if (known !== key) return known;
  return String(fallback).replace(/[-_]/g, " ").toLowerCase().replace(/^\w/, (c) => c.toUpperCase());
}

const resourceLabel = (segment) => label(`res.${segment}`, segment);

function cell(column, row) {
  const value = column.get(row);
  switch (column.format) {
    case "money":
      return formatMoney(value[0], value[1]);
    case "signed": {
      const [amount, currency, type] = value;
      if (amount === null || amount === undefined) return "—";
      const signed = type === "OUTFLOW" ? -Math.abs(Number(amount)) : Math.abs(Number(amount));
      return h("span", { class: signed < 0 ? "amount-out" : "amount-in" }, formatMoney(signed, currency));
    }
    case "date":
      return formatDate(value);
    case "number":
      return formatNumber(value);
    case "code":
      return codeText(value);
    default:
      return value === null || value === undefined || value === "" ? "—" : String(value);
  }
}

function statusBadge(status) {
  return h(
    "span",
    { class: `badge badge-${status || "unknown"}`, "data-status": status || "" },
    t(`status.${status}`),
  );
}

// ---------------------------------------------------------------- views

function showLogin(message) {
  stopStream();
  $("#home-view").hidden = true;
  $("#login-view").hidden = false;
  $("#logout").hidden = true;
  $("#whoami").hidden = true;
  if (message) showError(new Error(message));
  $("#login-user").focus();
}

async function showHome() {
  $("#login-view").hidden = true;
  $("#home-view").hidden = false;
  $("#logout").hidden = false;
  $("#whoami").hidden = false;
  $("#whoami").textContent = t("signed_in_as", { user: session.user });
  await loadResources();
  await loadLinks();
}

// The resources the gateway serves (GET /v1/resources), loaded once after sign-in; a failed
// load is reported and tried again when a link is opened.
let resourcesLoading = null;
function loadResources() {
  if (resourcesLoaded()) return Promise.resolve();
  if (!resourcesLoading) {
    resourcesLoading = api
      .resources()
      .then((list) => setResources(list.data))
      .catch((error) => showError(error))
      .finally(() => {
        resourcesLoading = null;
      });
  }
  return resourcesLoading;
}

async function loadLinks() {
  const list = $("#link-list");
  if (!state.links.length) list.replaceChildren(h("li", { class: "muted" }, t("links.loading")));
  try {
    const page = await api.links();
    state.links = page.data || [];
  } catch (error) {
    list.replaceChildren();
    showError(error);
    return;
  }
  renderLinks();
  loadFreshness(state.links.map((l) => l.link_id));
  if (state.selected && !state.links.some((l) => l.link_id === state.selected)) {
    selectLink(null);
  } else if (!state.selected && state.links.length) {
    await selectLink(state.links[0].link_id, { focus: false });
  }
}

function renderLinks() {
  const list = $("#link-list");
  $("#links-empty").hidden = state.links.length > 0;
  list.replaceChildren(
    ...state.links.map((link) => {
      const selected = link.link_id === state.selected;
      const name = institutionName(link.institution);
      const actions = [
        h(
          "button",
          {
            type: "button",
            class: "btn btn-small btn-ghost",
            "aria-pressed": selected ? "true" : "false",
            "aria-label": `${t("link.view")}: ${name}`,
            "data-action": "view",
            onclick: () => selectLink(link.link_id),
          },
          t("link.view"),
        ),
      ];
      if (NEEDS_RECONNECT.has(link.status)) {
        actions.unshift(
          h(
            "button",
            {
              type: "button",
              class: "btn btn-small btn-warning",
              "aria-label": `${t("link.reconnect")}: ${name}`,
              "data-action": "reconnect",
              onclick: () => reconnect(link),
            },
            t("link.reconnect"),
          ),
        );
      }
      return h(
        "li",
        { class: `link-item${selected ? " selected" : ""}`, "data-link-id": link.link_id, "data-status": link.status },
        h(
          "div",
          { class: "link-main" },
          h("span", { class: "bank-avatar", "aria-hidden": "true" }, name.slice(0, 1)),
          h(
            "div",
            {},
            h("span", { class: "link-name" }, name),
            h("span", { class: "link-meta" }, t("link.created_at", { date: formatDate(link.registered_at) })),
            h("span", { class: "link-fresh", "data-fresh": link.link_id }, freshness(link.link_id)),
            statusBadge(link.status),
          ),
        ),
        h("div", { class: "link-actions" }, actions),
      );
    }),
  );
}

async function selectLink(linkId, { focus = true } = {}) {
  stopStream();
  state.selected = linkId;
  state.detail = null;
  state.sync = new Map();
  state.pages = new Map();
  state.accounts = [];
  state.charts = null;
  clearTimeout(chartsTimer);
  renderLinks();
  const detail = $("#detail");
  delete detail.dataset.linkId;
  if (!linkId) {
    detail.replaceChildren(h("p", { class: "muted empty-detail" }, t("detail.none")));
    return;
  }
  let link;
  try {
    [link] = await Promise.all([api.link(linkId), loadResources()]);
  } catch (error) {
    showError(error);
    return;
  }
  if (state.selected !== linkId) return;
  state.detail = link;
  for (const entry of (link.sync && link.sync.resources) || []) state.sync.set(entry.resource, entry);
  setFreshness(linkId, link.sync);
  const resources = resourcesOf(link);
  if (!resources.some((r) => r.segment === state.resource)) state.resource = resources.length ? resources[0].segment : null;
  renderDetail();
  if (focus) $("#detail-title").focus();
  // A stopped stream may still report its end; only the current one speaks.
  const current = {};
  state.stream = current;
  state.stopStream = streamEvents(`/v1/links/${encodeURIComponent(linkId)}/events`, onStreamEvent, (connection) => {
    if (state.stream === current) onStreamState(connection);
  });
  inOrder(() => takeCursor(linkId));
  loadPage(state.resource, { reset: true });
  loadCharts();
}

function stopStream() {
  if (state.stopStream) state.stopStream();
  state.stopStream = null;
  state.stream = null;
  state.connection = null;
}

function renderDetail() {
  const link = state.detail;
  const detail = $("#detail");
  if (!link) return;
  const name = institutionName(link.institution);
  const actions = [];
  if (NEEDS_RECONNECT.has(link.status)) {
    actions.push(
      h(
        "button",
        { type: "button", class: "btn btn-warning", id: "reconnect", onclick: () => reconnect(link) },
        t("link.reconnect"),
      ),
    );
  }
  actions.push(
    h("button", { type: "button", class: "btn btn-danger-ghost", id: "delete-link", onclick: () => deleteLink(link) }, t("link.delete")),
  );
  const resources = resourcesOf(link);
  const tabs = h(
    "div",
    { class: "tabs", role: "tablist", "aria-label": t("data.details"), onkeydown: onTabKey },
    resources.map((r) =>
      h(
        "button",
        {
          type: "button",
          role: "tab",
          id: `tab-${r.segment}`,
          class: "tab",
          "data-resource": r.segment,
          "aria-selected": r.segment === state.resource ? "true" : "false",
          "aria-controls": "tabpanel",
          tabindex: r.segment === state.resource ? "0" : "-1",
          onclick: () => selectTab(r.segment),
        },
        resourceLabel(r.segment),
      ),
    ),
  );
  const parts = [
    h(
      "div",
      { class: "detail-head" },
      h("span", { class: "bank-avatar bank-avatar-lg", "aria-hidden": "true" }, name.slice(0, 1)),
      h(
        "div",
        { class: "detail-title-wrap" },
        h("h2", { id: "detail-title", tabindex: "-1" }, name),
        h(
          "div",
          { class: "detail-sub" },
          statusBadge(link.status),
          h("span", { class: "link-fresh", "data-fresh": link.link_id }, freshness(link.link_id)),
          h("span", { class: "muted mono" }, link.link_id),
        ),
      ),
      h("div", { class: "detail-actions" }, actions),
    ),
    NEEDS_RECONNECT.has(link.status)
      ? h("p", { class: "notice notice-warning", id: "needs-action" }, t("link.needs_action", { institution: name }))
      : null,
    h("section", { class: "sync", "aria-labelledby": "sync-title" }, h("h3", { id: "sync-title" }, t("sync.title")), h("div", { id: "sync-body" })),
    hasCharts(link)
      ? h(
          "section",
          { class: "charts", id: "charts", "aria-labelledby": "charts-title" },
          h("h3", { id: "charts-title" }, t("charts.title")),
          h("div", { id: "charts-body" }),
        )
      : null,
    tabs,
    h("div", { id: "tabpanel", role: "tabpanel", class: "tabpanel", "aria-labelledby": `tab-${state.resource}`, tabindex: "0" }),
  ];
  detail.replaceChildren(...parts.filter(Boolean));
  detail.dataset.linkId = link.link_id;
  showConnection();
  renderSync();
  renderCharts();
  renderPanel();
}

function onTabKey(event) {
  const tabs = [...event.currentTarget.querySelectorAll('[role="tab"]')];
  const index = tabs.indexOf(document.activeElement);
  if (index < 0) return;
  let next = null;
  if (event.key === "ArrowRight") next = tabs[(index + 1) % tabs.length];
  else if (event.key === "ArrowLeft") next = tabs[(index - 1 + tabs.length) % tabs.length];
  else if (event.key === "Home") next = tabs[0];
  else if (event.key === "End") next = tabs[tabs.length - 1];
  if (next) {
    event.preventDefault();
    selectTab(next.dataset.resource);
    next.focus();
  }
}

function selectTab(segment) {
  state.resource = segment;
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    const on = tab.dataset.resource === segment;
    tab.setAttribute("aria-selected", on ? "true" : "false");
    tab.tabIndex = on ? 0 : -1;
  }
  $("#tabpanel").setAttribute("aria-labelledby", `tab-${segment}`);
  renderPanel();
  if (!state.pages.has(segment)) loadPage(segment, { reset: true });
}

// ---------------------------------------------------------------- sync progress

const lastAnnounced = new Map();

function renderSync() {
  const body = $("#sync-body");
  if (!body) return;
  const entries = [...state.sync.values()];
  const fresh = state.freshness.get(state.selected);
  const staleNotice =
    fresh && fresh.stale
      ? h("p", { class: "notice notice-warning", id: "stale-notice" }, `${t("sync.stale")} ${t("fresh.stale_hint")}`)
      : null;
  if (!entries.length) {
    body.replaceChildren(...[staleNotice, h("p", { class: "muted" }, t("sync.waiting"))].filter(Boolean));
    return;
  }
  const done = entries.every((e) => e.state === "succeeded");
  body.replaceChildren(
    ...(staleNotice ? [staleNotice] : []),
    h(
      "ul",
      { class: "sync-list" },
      entries.map((e) => {
        const records = e.state === "running" ? e.records_this_pull || e.records : e.records;
        const name = resourceLabel(e.resource);
        const stateText = t(`sync.state.${e.state}`);
        return h(
          "li",
          { class: `sync-item sync-${e.state}`, "data-resource": e.resource, "data-state": e.state },
          h("span", { class: "sync-name" }, name),
          // No total to measure against (Belvo's announced count is only a hint): moving
          // while the pull runs, full once it succeeded.
          h("progress", {
            ...(e.state === "succeeded" ? { max: "1", value: "1" } : e.state === "running" ? {} : { max: "1", value: "0" }),
            "aria-label": name,
          }),
          h("span", { class: "sync-state" }, stateText),
          h("span", { class: "sync-count" }, formatNumber(records)),
          e.last_success_at
            ? h("span", { class: "sync-when", "data-last-success": e.last_success_at }, withTime("sync.last_success", e.last_success_at))
            : null,
          e.error_code && e.state !== "succeeded" ? h("span", { class: "sync-error" }, errorText(e.error_code)) : null,
        );
      }),
    ),
    ...(done && !staleNotice ? [h("p", { class: "sync-done" }, t("sync.all_done"))] : []),
  );
}

// A sync error's code in the user's words (the service's texts are for operators).
function errorText(code) {
  const key = `sync.error.${code}`;
  return t(key) === key ? t("sync.error.other") : t(key);
}

function onStreamEvent(name, data) {
  if (name === "link" && data && data.link_id === state.selected) {
    const previous = state.detail && state.detail.status;
    state.detail = { ...state.detail, ...data };
    state.links = state.links.map((l) => (l.link_id === data.link_id ? { ...l, ...data } : l));
    if (previous && previous !== data.status) {
      renderLinks();
      renderDetail();
      const institution = institutionName(data.institution);
      if (NEEDS_RECONNECT.has(data.status)) announce(t("link.needs_action", { institution }));
    }
  } else if (name === "sync" && data && data.link_id === state.selected) {
    setFreshness(data.link_id, data);
    let fresh = false;
    for (const entry of data.resources || []) {
      const before = state.sync.get(entry.resource);
      state.sync.set(entry.resource, entry);
      // New data to add up (a pull finished, whether or not the count changed).
      if (
        (entry.resource === "transactions" || entry.resource === "balances") &&
        entry.state === "succeeded" &&
        (!before || before.state !== "succeeded" || before.last_success_at !== entry.last_success_at || before.records !== entry.records)
      ) {
        scheduleCharts();
      }
      if (before && before.state === entry.state && before.records === entry.records) continue;
      // Announce state changes only (not every page), so screen readers are not flooded.
      if (lastAnnounced.get(entry.resource) !== entry.state) {
        lastAnnounced.set(entry.resource, entry.state);
        const args = {
          resource: resourceLabel(entry.resource),
          state: t(`sync.state.${entry.state}`),
          records: formatNumber(entry.records),
        };
        announce(t("sync.progress", args));
      }
      // Fresh data: the loaded lists get what changed (the accounts the filters list are read again).
      if (entry.state === "succeeded" && (!before || before.state !== "succeeded" || before.records !== entry.records)) {
        fresh = true;
        if (entry.resource === "accounts") state.accounts = [];
      }
    }
    if (fresh) {
      const linkId = state.selected;
      inOrder(() => updateFromChanges(linkId));
    }
    renderSync();
  }
}

function onStreamState(connection) {
  state.connection = connection;
  showConnection();
}

function showConnection() {
  const title = $("#sync-title");
  if (!title || !state.connection) return;
  title.classList.toggle("live", state.connection === "open");
  title.dataset.connection = state.connection;
}

// ---------------------------------------------------------------- freshness

// A link's freshness from its sync status: the newest successful pull of any resource, and
// whether the watchdog considers the link stale (Belvo's expected update is overdue).
function setFreshness(linkId, sync) {
  if (!sync) {
    state.freshness.set(linkId, { last: null, stale: false });
  } else {
    const last = (sync.resources || [])
      .map((r) => r.last_success_at)
      .filter(Boolean)
      .sort((a, b) => Date.parse(b) - Date.parse(a))[0];
    state.freshness.set(linkId, { last: last || null, stale: Boolean(sync.stale) });
  }
  for (const el of document.querySelectorAll(`[data-fresh="${CSS.escape(linkId)}"]`)) {
    el.replaceChildren(...freshness(linkId));
  }
}

// "Refreshed 3 minutes ago" (a <time>, its full date as the title) and, when stale, a badge.
function freshness(linkId) {
  const fresh = state.freshness.get(linkId);
  if (!fresh) return [];
  return [
    fresh.last
      ? h("span", { class: "fresh-when", "data-last-success": fresh.last }, withTime("fresh.refreshed", fresh.last))
      : h("span", { class: "fresh-when" }, t("fresh.never")),
    fresh.stale
      ? h("span", { class: "badge badge-stale", "data-stale": "true", title: t("fresh.stale_hint") }, t("fresh.stale"))
      : null,
  ].filter(Boolean);
}

// The text of `key` with its {when} as a <time> that the ticker keeps relative.
function withTime(key, iso) {
  const [before, after = ""] = t(key, { when: "\u0000" }).split("\u0000");
  return [
    before,
    h("time", { datetime: iso, title: formatDateTime(iso), "data-relative": iso }, formatRelative(iso)),
    after,
  ].filter((part) => part !== "");
}

function tickRelativeTimes() {
  for (const el of document.querySelectorAll("time[data-relative]")) {
    el.textContent = formatRelative(el.dataset.relative);
  }
}

// Each listed link's sync status (GET /v1/links/{id}), a few at a time; the selected link's
// comes live from its event stream.
async function loadFreshness(ids) {
  const queue = ids.filter((id) => id !== state.selected);
  const worker = async () => {
    for (let id = queue.shift(); id; id = queue.shift()) {
      try {
        const link = await api.link(id);
        if (id !== state.selected) setFreshness(id, link.sync);
      } catch {
        // Left without a freshness line; the list itself loaded.
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

// ---------------------------------------------------------------- charts

const hasCharts = (link) => resourcesOf(link).some((r) => r.segment === "transactions");

// Records a chart adds up at most (20 pages of 500); past that it says it covers the newest.
const CHART_RECORDS = 10000;

// Every record of a resource, page by page with the API's cursor.
async function fetchAll(linkId, segment) {
  const rows = [];
  let cursor = null;
  for (;;) {
    const page = await api.resource(linkId, segment, { limit: 500, cursor });
    rows.push(...(page.data || []));
    if (!page.has_more || !page.next_cursor) return { rows, truncated: false };
    if (rows.length >= CHART_RECORDS) return { rows, truncated: true };
    cursor = page.next_cursor;
  }
}

let chartsRun = 0;
let chartsTimer = null;

// Sync progress reports each finished pull: reloads are coalesced.
function scheduleCharts() {
  clearTimeout(chartsTimer);
  chartsTimer = setTimeout(loadCharts, 250);
}

async function loadCharts() {
  const link = state.detail;
  const linkId = state.selected;
  if (!link || !linkId || !hasCharts(link)) return;
  const run = ++chartsRun;
  const previous = state.charts && state.charts.linkId === linkId ? state.charts.summary : null;
  state.charts = { linkId, loading: true, summary: previous };
  renderCharts();
  try {
    const withBalances = resourcesOf(link).some((r) => r.segment === "balances");
    const [transactions, balances] = await Promise.all([
      fetchAll(linkId, "transactions"),
      withBalances ? fetchAll(linkId, "balances") : { rows: [] },
    ]);
    if (run !== chartsRun || state.selected !== linkId) return;
    state.charts = {
      linkId,
      loading: false,
      summary: summarize(transactions.rows, balances.rows, { truncated: transactions.truncated }),
    };
  } catch (error) {
    if (run !== chartsRun || state.selected !== linkId) return;
    state.charts = { linkId, loading: false, summary: previous };
    showError(error);
  }
  renderCharts();
}

function renderCharts() {
  const section = $("#charts");
  const body = $("#charts-body");
  if (!section || !body) return;
  const current = state.charts && state.charts.linkId === state.selected ? state.charts : null;
  const loading = !current || current.loading;
  section.setAttribute("aria-busy", loading ? "true" : "false");
  if (current && current.summary) section.dataset.records = String(current.summary.count);
  else delete section.dataset.records;
  if (!current || !current.summary) {
    body.replaceChildren(h("p", { class: "muted" }, loading ? t("charts.loading") : t("charts.empty")));
    return;
  }
  // Keep focus on the bar or point the user was on (re-rendering replaces it).
  const focusedId = document.activeElement && body.contains(document.activeElement) ? document.activeElement.id : null;
  const open = [...body.querySelectorAll("details[open]")].map((d) => d.closest("figure").id);
  body.replaceChildren(...charts(current.summary));
  for (const id of open) {
    const details = document.querySelector(`#${id} details`);
    if (details) details.open = true;
  }
  if (focusedId && document.getElementById(focusedId)) document.getElementById(focusedId).focus();
}

// ---------------------------------------------------------------- data pages

function definition(segment) {
  return resourcesOf(state.detail).find((r) => r.segment === segment);
}

// keepRows: a refresh of fresh data keeps showing the old rows until the new page replaces them.
async function loadPage(segment, { reset = false, keepRows = false } = {}) {
  const linkId = state.selected;
  const def = definition(segment);
  if (!linkId || !def) return;
  let page = state.pages.get(segment);
  if (!page || reset) {
    const stale = keepRows && page ? page.rows : [];
    page = { rows: [], stale, cursor: null, hasMore: false, filters: page ? page.filters : {}, loading: false };
    state.pages.set(segment, page);
  }
  page.loading = true;
  if (segment === state.resource) renderPanel();
  const params = { limit: def.pageSize || 50, cursor: page.cursor, ...page.filters };
  try {
    if (def.filters && def.filters.some((f) => f.accounts) && !state.accounts.length) {
      const accounts = await api.resource(linkId, "accounts", { limit: 200 });
      state.accounts = accounts.data || [];
    }
    await inOrder(async () => {
      const result = await api.resource(linkId, segment, params);
      if (state.selected !== linkId || state.pages.get(segment) !== page) return;
      // A row a change put in already stays once.
      const shown = new Set(page.rows.map((row) => row.id));
      page.rows.push(...(result.data || []).filter((row) => !shown.has(row.id)));
      page.cursor = result.next_cursor;
      page.hasMore = Boolean(result.has_more);
    });
  } catch (error) {
    if (state.selected === linkId) showError(error);
  } finally {
    page.loading = false;
  }
  page.stale = [];
  if (segment === state.resource && state.selected === linkId) renderPanel();
}

function renderPanel() {
  const panel = $("#tabpanel");
  if (!panel) return;
  const segment = state.resource;
  const def = definition(segment);
  if (!def) return;
  const page = state.pages.get(segment) || { rows: [], filters: {}, loading: true };
  const parts = [];
  if (def.filters) parts.push(filtersForm(def, page));
  const rows = page.rows.length || !page.stale ? page.rows : page.stale;
  if (rows.length) {
    parts.push(table(def, rows));
  } else if (page.loading) {
    parts.push(h("p", { class: "muted" }, t("data.loading")));
  } else {
    parts.push(h("p", { class: "muted empty", "data-empty": segment }, t("data.empty")));
  }
  const footer = h(
    "div",
    { class: "panel-footer" },
    h("span", { class: "muted", "aria-live": "polite" }, rows.length ? t("data.count", { count: formatNumber(rows.length) }) : ""),
    page.hasMore
      ? h(
          "button",
          {
            type: "button",
            class: "btn btn-ghost",
            id: "load-more",
            disabled: page.loading,
            onclick: () => loadPage(segment),
          },
          page.loading ? t("data.loading") : t("data.load_more"),
        )
      : null,
  );
  parts.push(footer);
  // Keep focus on the control the user was on (re-rendering replaces it).
  const focusedId = document.activeElement && panel.contains(document.activeElement) ? document.activeElement.id : null;
  panel.replaceChildren(...parts);
  panel.dataset.resource = segment;
  panel.setAttribute("aria-busy", page.loading ? "true" : "false");
  if (focusedId && document.getElementById(focusedId)) document.getElementById(focusedId).focus();
}

function filtersForm(def, page) {
  const fields = def.filters.map((f) => {
    const id = `filter-${f.name}`;
    let control;
    if (f.type === "date") {
      control = h("input", { id, name: f.name, type: "date", value: page.filters[f.name] || "" });
    } else {
      const options = f.accounts
        ? state.accounts.map((a) => [a.id, `${a.name || a.id}${a.number ? ` · ${a.number}` : ""}`])
        : f.options.map((o) => [o, codeText(o)]);
      control = h(
        "select",
        { id, name: f.name },
        h("option", { value: "" }, t("filters.any")),
        options.map(([value, text]) =>
          h("option", { value, selected: page.filters[f.name] === value ? "selected" : null }, text),
        ),
      );
    }
    return h("div", { class: "field" }, h("label", { for: id }, label(f.label, f.name)), control);
  });
  const form = h(
    "form",
    { class: "filters", "aria-label": t("filters.title"), "data-filters": def.segment },
    fields,
    h(
      "div",
      { class: "filter-actions" },
      h("button", { type: "submit", class: "btn btn-primary btn-small", id: "filters-apply" }, t("filters.apply")),
      h("button", { type: "reset", class: "btn btn-ghost btn-small", id: "filters-reset" }, t("filters.reset")),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const filters = {};
    for (const [key, value] of new FormData(form).entries()) if (value) filters[key] = value;
    state.pages.set(def.segment, { rows: [], cursor: null, hasMore: false, filters, loading: false });
    loadPage(def.segment);
  });
  form.addEventListener("reset", (event) => {
    event.preventDefault();
    state.pages.set(def.segment, { rows: [], cursor: null, hasMore: false, filters: {}, loading: false });
    loadPage(def.segment);
  });
  return form;
}

function table(def, rows) {
  const headers = def.columns.map((c) => h("th", { scope: "col", class: c.numeric ? "num" : null }, t(c.label)));
  if (def.details) headers.push(h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, t("data.details"))));
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data", "data-table": def.segment },
      h("caption", { class: "visually-hidden" }, resourceLabel(def.segment)),
      h("thead", {}, h("tr", {}, headers)),
      h(
        "tbody",
        {},
        rows.map((row) => {
          const cells = def.columns.map((c) =>
            h("td", { class: c.numeric ? "num" : c.format === "date" ? "nowrap" : c.wide ? "wide" : null }, cell(c, row)),
          );
          if (def.details) {
            cells.push(
              h(
                "td",
                {},
                h("details", {}, h("summary", {}, t("data.details")), h("pre", { class: "json" }, JSON.stringify(row, null, 2))),
              ),
            );
          }
          return h("tr", { "data-id": row.id || "" }, cells);
        }),
      ),
    ),
  );
}

// ---------------------------------------------------------------- live changes

// List reads and change updates run one at a time, in the order asked: an update never meets
// a list half read, and a list read after an update is newer than the cursor it kept.
let queue = Promise.resolve();
function inOrder(task) {
  const run = queue.then(task);
  queue = run.catch(() => {});
  return run;
}

// Every change of these resources after `cursor`, following next_cursor while has_more.
async function changesSince(linkId, cursor, segments) {
  const changes = [];
  for (;;) {
    const page = await api.changes(linkId, cursor, segments);
    changes.push(...page.changes);
    cursor = page.next_cursor;
    if (!page.has_more) return { changes, cursor };
  }
}

// The link's cursor for "now", taken before its lists are read and then kept. From the empty
// cursor every stored object is listed, so only the resource with the fewest is (a cursor
// marks a place in all of the link's changes, whatever resources were listed with it).
async function takeCursor(linkId) {
  if (state.cursors.has(linkId)) return;
  const stored = (r) => (state.sync.get(r.segment) || {}).records || 0;
  const [fewest] = resourcesOf(null)
    .slice()
    .sort((a, b) => stored(a) - stored(b));
  if (!fewest) return;
  try {
    state.cursors.set(linkId, (await changesSince(linkId, "", [fewest.segment])).cursor);
  } catch {
    // No cursor: the lists are read again after the next pull.
  }
}

// After a pull, the loaded lists get what changed since the link's cursor, which moves on.
// Without a cursor (none could be taken, or it expired: 409 CURSOR_EXPIRED after long away)
// a new one is taken and the lists are read again.
async function updateFromChanges(linkId) {
  const segments = [...state.pages.keys()];
  if (state.selected !== linkId || !segments.length) return;
  const cursor = state.cursors.get(linkId);
  const update = cursor === undefined ? null : await changesSince(linkId, cursor, segments).catch(() => null);
  if (state.selected !== linkId) return;
  if (!update) {
    state.cursors.delete(linkId);
    await takeCursor(linkId);
    for (const segment of segments) reread(segment);
    return;
  }
  state.cursors.set(linkId, update.cursor);
  applyChanges(update.changes);
}

// A list read again: the open tab's now (its rows shown until the new ones come), others' when
// they are opened.
function reread(segment) {
  if (segment === state.resource) loadPage(segment, { reset: true, keepRows: true });
  else state.pages.delete(segment);
}

// Each change in the loaded list of its resource: a removed or modified object leaves its row,
// an added or modified one goes in again where the list's order puts it. A filtered list is read
// again instead (a change may take an object into or out of it).
function applyChanges(changes) {
  const touched = new Set();
  for (const change of changes) {
    const page = state.pages.get(change.resource);
    const def = definition(change.resource);
    // Not read yet: its read, queued after this update, brings the change.
    if (!page || !def || (page.loading && !page.rows.length)) continue;
    touched.add(change.resource);
    if (Object.keys(page.filters).length) continue;
    const at = page.rows.findIndex((row) => row.id === change.id);
    if (at >= 0) page.rows.splice(at, 1);
    if (change.record) insertRow(page, def, change.record);
  }
  for (const segment of touched) {
    if (Object.keys(state.pages.get(segment).filters).length) reread(segment);
    else if (segment === state.resource) renderPanel();
  }
}

// Puts a row where the list routes order it (newest day first, then id, both descending), or
// nowhere when that is past the rows read so far: a later page brings it.
function insertRow(page, def, row) {
  const key = (r) => [String(def.day(r) || "").slice(0, 10), String(r.id)];
  const [day, id] = key(row);
  const at = page.rows.findIndex((other) => {
    const [d, i] = key(other);
    return d < day || (d === day && i < id);
  });
  if (at >= 0) page.rows.splice(at, 0, row);
  else if (!page.hasMore) page.rows.push(row);
}

// ---------------------------------------------------------------- widget

let scriptLoaded = null;
function loadWidgetScript(url) {
  if (scriptLoaded && scriptLoaded.url === url) return scriptLoaded.promise;
  const promise = new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = url;
    script.async = true;
    script.addEventListener("load", () =>
      window.belvoSDK ? resolve(window.belvoSDK) : reject(new Error(t("widget.load_failed"))),
    );
    script.addEventListener("error", () => reject(new Error(t("widget.load_failed"))));
    document.head.append(script);
  });
  scriptLoaded = { url, promise };
  promise.catch(() => {
    scriptLoaded = null;
  });
  return promise;
}

// Opens Belvo's widget (create mode, or update mode for linkId) and resolves with
// {link, institution, region} on success or null when the user leaves.
async function runWidget(linkId) {
  const token = await api.widgetToken(linkId);
  const widget = token.widget || {};
  const url = widget.script_url || "https://cdn.belvo.io/belvo-widget-1-stable.js";
  const sdk = await loadWidgetScript(url);
  return new Promise((resolve) => {
    const config = {
      locale: language(),
      callback: (link, institution) => resolve({ link, institution, region: widget.region }),
      onExit: (data) => {
        const error = data && data.last_encountered_error;
        announce(error ? t("widget.error", { message: error.message || error.code }) : t("widget.exit"));
        resolve(null);
      },
      onEvent: () => {},
    };
    if (widget.country_codes && widget.country_codes.length) config.country_codes = widget.country_codes;
    if (widget.institution_types && widget.institution_types.length) config.institution_types = widget.institution_types;
    if (widget.institutions && widget.institutions.length) config.institutions = widget.institutions;
    if (widget.access_mode) config.access_mode = widget.access_mode;
    if (widget.external_id) config.external_id = widget.external_id;
    sdk.createWidget(token.access_token, config).build();
  });
}

async function addAccount() {
  clearError();
  const button = $("#add-account");
  button.disabled = true;
  announce(t("opening_widget"));
  try {
    const result = await runWidget(null);
    if (!result) return;
    const registered = await api.registerLink(result.link, result.institution, result.region);
    const link = registered.link;
    announce(t("link.registered", { institution: institutionName(link.institution) }));
    state.selected = null;
    await loadLinks();
    await selectLink(link.link_id, { focus: false });
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

async function reconnect(link) {
  clearError();
  announce(t("opening_widget"));
  try {
    const result = await runWidget(link.link_id);
    if (!result) return;
    // Registering again re-reads the link at Belvo: its status is valid again.
    const registered = await api.registerLink(result.link || link.link_id, result.institution, result.region || link.region);
    announce(t("link.reconnected", { institution: institutionName(registered.link.institution) }));
    await loadLinks();
    await selectLink(link.link_id, { focus: false });
  } catch (error) {
    showError(error);
  }
}

async function deleteLink(link) {
  const institution = institutionName(link.institution);
  if (!(await confirmDialog(t("link.delete_confirm", { institution })))) return;
  clearError();
  try {
    await api.deleteLink(link.link_id);
    announce(t("link.deleted", { institution }));
    state.links = state.links.filter((l) => l.link_id !== link.link_id);
    await selectLink(null);
    await loadLinks();
    $("#add-account").focus();
  } catch (error) {
    showError(error);
  }
}

// ---------------------------------------------------------------- start-up

function applyLanguage() {
  translateDocument();
  for (const button of document.querySelectorAll(".lang")) {
    button.setAttribute("aria-pressed", button.dataset.lang === language() ? "true" : "false");
  }
  if (!$("#home-view").hidden) {
    $("#whoami").textContent = t("signed_in_as", { user: session.user });
    renderLinks();
    if (state.detail) renderDetail();
    else $("#detail").replaceChildren(h("p", { class: "muted empty-detail" }, t("detail.none")));
  }
}

function start() {
  setInterval(tickRelativeTimes, 30000);
  setLanguage(language());
  applyLanguage();
  for (const button of document.querySelectorAll(".lang")) {
    button.addEventListener("click", () => {
      setLanguage(button.dataset.lang);
      applyLanguage();
    });
  }
  setUnauthorizedHandler(() => {
    session.clear();
    showLogin(t("error.session"));
  });
  $("#login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError();
    const user = $("#login-user").value.trim();
    if (!user) {
      $("#login-user").setAttribute("aria-invalid", "true");
      $("#login-user").focus();
      return;
    }
    $("#login-user").removeAttribute("aria-invalid");
    try {
      const login = await api.login(user);
      session.set(login.access_token, login.user);
      await showHome();
      $("#add-account").focus();
    } catch (error) {
      showError(new Error(t("login.failed", { message: error.message })));
    }
  });
  $("#logout").addEventListener("click", () => {
    session.clear();
    state.links = [];
    state.selected = null;
    state.detail = null;
    state.freshness = new Map();
    state.cursors = new Map();
    state.charts = null;
    $("#link-list").replaceChildren();
    showLogin();
  });
  $("#add-account").addEventListener("click", addAccount);
  if (session.token) showHome();
  else showLogin();
}

start();
