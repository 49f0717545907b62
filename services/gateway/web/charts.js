// A link's summary charts, drawn as plain SVG (no library, no build step): spending by
// category, money in and out by month, and each account's balance over time. The figures are
// added up here from the records the app pages through, in integer cents so that sums are
// exact. Every chart is a <figure> with a caption; its bars or points are focusable, carry a
// spoken label (arrow keys move between them, one tab stop per chart), and the same figures
// are in a table under "Show the figures as a table". Marks and table cells carry the raw
// figures as data-* attributes (data-key; data-month, data-kind; data-account, data-date;
// data-value, a decimal string).

import { h, s } from "./dom.js";
import {
  formatDate,
  formatDayMonth,
  formatMoney,
  formatMoneyCompact,
  formatMonth,
  formatNumber,
  t,
} from "./i18n.js";

// ---------------------------------------------------------------- figures

// An amount in cents (Belvo's amounts are decimal numbers, or strings of them); null if none.
export function cents(value) {
  if (value === null || value === undefined || value === "") return null;
  const n = Number(value);
  return Number.isFinite(n) ? Math.round(n * 100) : null;
}

// Cents as the decimal string the tables carry ("-1234.50").
const decimal = (c) => (c / 100).toFixed(2);

const currencyOf = (row) => row.currency || (row.account && row.account.currency) || "";
const accountOf = (row) => row.account || {};

// The figures of the three charts. Transactions are counted in the currency most of them are
// in (a link is normally in one); `balances` are Belvo's balance records, and when there are
// none the balance comes from the transactions' own `balance` (the balance after each one).
export function summarize(transactions, balances, { truncated = false } = {}) {
  const counts = new Map();
  for (const row of transactions) counts.set(currencyOf(row), (counts.get(currencyOf(row)) || 0) + 1);
  let currency = "";
  let most = -1;
  for (const [code, count] of counts) {
    if (count > most) [currency, most] = [code, count];
  }
  const rows = transactions.filter((row) => currencyOf(row) === currency);
  const fromRecords = balances.length > 0;
  return {
    count: rows.length,
    truncated,
    currency,
    otherCurrencies: transactions.length - rows.length,
    spending: spendingByCategory(rows),
    flows: monthlyFlows(rows),
    balance: {
      source: fromRecords ? "records" : "transactions",
      series: fromRecords ? balanceRecordSeries(balances) : transactionBalanceSeries(transactions),
    },
  };
}

// Outflows added up per category (null: ""), largest first.
export function spendingByCategory(rows) {
  const sums = new Map();
  for (const row of rows) {
    if (row.type !== "OUTFLOW") continue;
    const amount = cents(row.amount);
    if (amount === null) continue;
    const key = row.category || "";
    sums.set(key, (sums.get(key) || 0) + Math.abs(amount));
  }
  return [...sums]
    .map(([key, total]) => ({ key, cents: total }))
    .sort((a, b) => b.cents - a.cents || a.key.localeCompare(b.key));
}

// Inflows and outflows added up per month of value_date ("2026-06"), oldest first, with the
// months between that have none as zeros.
export function monthlyFlows(rows) {
  const sums = new Map();
  for (const row of rows) {
    const month = typeof row.value_date === "string" ? row.value_date.slice(0, 7) : "";
    const amount = cents(row.amount);
    if (!/^\d{4}-\d{2}$/.test(month) || amount === null) continue;
    if (row.type !== "INFLOW" && row.type !== "OUTFLOW") continue;
    const entry = sums.get(month) || { month, inflow: 0, outflow: 0 };
    entry[row.type === "INFLOW" ? "inflow" : "outflow"] += Math.abs(amount);
    sums.set(month, entry);
  }
  const months = [...sums.keys()].sort();
  if (!months.length) return [];
  const out = [];
  let [year, month] = months[0].split("-").map(Number);
  for (;;) {
    const key = `${year}-${String(month).padStart(2, "0")}`;
    out.push(sums.get(key) || { month: key, inflow: 0, outflow: 0 });
    if (key >= months[months.length - 1]) break;
    month += 1;
    if (month > 12) [year, month] = [year + 1, 1];
  }
  return out;
}

function accountName(account) {
  const name = account.name || account.id || "—";
  const number = account.number ? String(account.number) : "";
  return number.length >= 4 ? `${name} ·${number.slice(-4)}` : name;
}

function series(points) {
  return [...points.values()]
    .map((entry) => ({ ...entry, points: [...entry.days.values()].sort((a, b) => a.date.localeCompare(b.date)) }))
    .map(({ days, ...rest }) => rest)
    .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

function entryFor(map, row) {
  const account = accountOf(row);
  const id = account.id || "";
  if (!map.has(id)) {
    map.set(id, { id, name: accountName(account), currency: account.currency || row.currency || "", days: new Map() });
  }
  return map.get(id);
}

// Belvo's balance records: per account, the balance of each value_date (the first record of
// a day when there are several).
export function balanceRecordSeries(rows) {
  const accounts = new Map();
  for (const row of rows) {
    const value = cents(row.balance ?? row.current_balance);
    if (value === null || typeof row.value_date !== "string") continue;
    const entry = entryFor(accounts, row);
    if (!entry.days.has(row.value_date)) entry.days.set(row.value_date, { date: row.value_date, cents: value });
  }
  return series(accounts);
}

// Per account, each day's closing balance: the balance after the day's last transaction (the
// latest accounting_date; the first listed of equals).
export function transactionBalanceSeries(rows) {
  const accounts = new Map();
  for (const row of rows) {
    const value = cents(row.balance);
    if (value === null || typeof row.value_date !== "string") continue;
    const entry = entryFor(accounts, row);
    const at = String(row.accounting_date || "");
    const day = entry.days.get(row.value_date);
    if (!day || at > day.at) entry.days.set(row.value_date, { date: row.value_date, cents: value, at });
  }
  return series(accounts).map((entry) => ({
    ...entry,
    points: entry.points.map(({ date, cents: value }) => ({ date, cents: value })),
  }));
}

// ---------------------------------------------------------------- drawing helpers

// About `count` round steps covering [min, max] (units, not cents).
function niceTicks(min, max, count) {
  if (min === max) {
    if (min === 0) max = 1;
    else if (min > 0) min = 0;
    else max = 0;
  }
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const ratio = raw / magnitude;
  const step = (ratio >= 7.5 ? 10 : ratio >= 3.5 ? 5 : ratio >= 1.5 ? 2 : 1) * magnitude;
  const ticks = [];
  for (let v = Math.floor(min / step) * step; v <= Math.ceil(max / step) * step + step / 2; v += step) {
    ticks.push(Math.round(v / step) * step);
  }
  return ticks;
}

const categoryLabel = (key) => {
  if (!key) return t("charts.uncategorized");
  const known = t(`cat.${key}`);
  return known === `cat.${key}` ? key : known;
};

const truncate = (text, max) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

// The figure around a chart: caption (title, description, notes), legend, the SVG, a line
// showing the figure under the pointer or focus, and the figures as a table.
function figure({ id, title, description, notes = [], legend = null, svg, marks, table, wide = false }) {
  const readout = h("p", { class: "chart-readout", "aria-hidden": "true" });
  svg.setAttribute("role", "group");
  svg.setAttribute("aria-labelledby", `${id}-title`);
  svg.setAttribute("aria-describedby", `${id}-desc ${id}-keys`);
  svg.setAttribute("focusable", "false");
  rove(svg, marks, readout);
  return h(
    "figure",
    { class: `chart${wide ? " chart-wide" : ""}`, id, "data-chart": id },
    h(
      "figcaption",
      {},
      h("span", { class: "chart-title", id: `${id}-title` }, title),
      h("span", { class: "chart-desc", id: `${id}-desc` }, description),
      notes.filter(Boolean).map((note) => h("span", { class: "chart-note" }, note)),
      h("span", { class: "visually-hidden", id: `${id}-keys` }, t("charts.keys")),
    ),
    legend,
    svg,
    readout,
    h("details", { class: "chart-table" }, h("summary", {}, t("charts.show_table")), table),
  );
}

// One tab stop per chart: marks is a grid (rows of focusable marks, each with data-x); the
// arrow keys move along a row (Left/Right) and between rows at the nearest x (Up/Down; a
// single row moves along it), Home/End to its ends. The pointer or focus shows the mark's
// label in the readout.
function rove(root, grid, readout) {
  const rows = grid.filter((row) => row.length);
  const all = rows.flat();
  const where = new Map();
  rows.forEach((row, r) => row.forEach((mark, c) => where.set(mark, [r, c])));
  all.forEach((mark, i) => mark.setAttribute("tabindex", i === 0 ? "0" : "-1"));
  const show = (mark) => {
    for (const other of all) other.classList.toggle("active", other === mark);
    readout.textContent = mark ? mark.getAttribute("aria-label") : "";
  };
  root.addEventListener("keydown", (event) => {
    const at = where.get(event.target);
    if (!at) return;
    let [r, c] = at;
    const single = rows.length === 1;
    switch (event.key) {
      case "ArrowRight":
        c += 1;
        break;
      case "ArrowLeft":
        c -= 1;
        break;
      case "ArrowDown":
        if (single) c += 1;
        else r = Math.min(r + 1, rows.length - 1);
        break;
      case "ArrowUp":
        if (single) c -= 1;
        else r = Math.max(r - 1, 0);
        break;
      case "Home":
        c = 0;
        break;
      case "End":
        c = rows[r].length - 1;
        break;
      default:
        return;
    }
    event.preventDefault();
    if (r !== at[0]) {
      // The mark of the other row nearest in x.
      const x = Number(event.target.dataset.x);
      c = rows[r].reduce((best, mark, i) => {
        const d = Math.abs(Number(mark.dataset.x) - x);
        return d < best[1] ? [i, d] : best;
      }, [0, Infinity])[0];
    }
    const next = rows[r][Math.max(0, Math.min(c, rows[r].length - 1))];
    if (next && next !== event.target) next.focus();
  });
  root.addEventListener("focusin", (event) => {
    if (!where.has(event.target)) return;
    for (const mark of all) mark.setAttribute("tabindex", mark === event.target ? "0" : "-1");
    show(event.target);
  });
  root.addEventListener("focusout", () => show(null));
  for (const mark of all) {
    mark.addEventListener("pointerenter", () => show(mark));
    mark.addEventListener("pointerleave", () => show(where.has(document.activeElement) ? document.activeElement : null));
  }
}

function dataTable(id, head, rows) {
  return h(
    "table",
    { class: "data chart-data", "data-chart-table": id },
    h("thead", {}, h("tr", {}, head.map((text, i) => h("th", { scope: "col", class: i ? "num" : null }, text)))),
    h("tbody", {}, rows),
  );
}

// ---------------------------------------------------------------- charts

function spendingChart(summary) {
  const id = "chart-spending";
  const rows = summary.spending;
  const money = (c) => formatMoney(c / 100, summary.currency);
  const total = rows.reduce((sum, row) => sum + row.cents, 0);
  const width = 440;
  const rowHeight = 28;
  const left = 168;
  const right = 92;
  const height = Math.max(rows.length, 1) * rowHeight + 8;
  const max = Math.max(...rows.map((row) => row.cents), 1);
  const marks = [];
  const bars = rows.map((row, i) => {
    const y = 4 + i * rowHeight;
    const length = Math.max((row.cents / max) * (width - left - right), 2);
    const label = categoryLabel(row.key);
    const mark = s("rect", {
      class: "mark bar-spending",
      id: `${id}-m-${i}`,
      x: left,
      y: y + 5,
      width: length.toFixed(1),
      height: rowHeight - 10,
      rx: 4,
      role: "img",
      "aria-label": `${label}: ${money(row.cents)}`,
      "data-key": row.key,
      "data-value": decimal(row.cents),
      "data-x": i,
    });
    marks.push(mark);
    return s(
      "g",
      {},
      s("text", { class: "axis-label", x: left - 10, y: y + rowHeight / 2 + 4, "text-anchor": "end", "aria-hidden": "true" }, truncate(label, 26)),
      mark,
      s("text", { class: "value-label", x: left + length + 6, y: y + rowHeight / 2 + 4, "aria-hidden": "true" }, money(row.cents)),
    );
  });
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart-svg" }, bars);
  const table = dataTable(
    "spending",
    [t("charts.category"), t("charts.amount")],
    rows.map((row) =>
      h(
        "tr",
        { "data-key": row.key, "data-value": decimal(row.cents) },
        h("th", { scope: "row" }, categoryLabel(row.key)),
        h("td", { class: "num" }, money(row.cents)),
      ),
    ),
  );
  return figure({
    id,
    title: t("charts.spending.title"),
    description: rows.length ? t("charts.spending.desc", { total: money(total) }) : t("charts.spending.none"),
    svg,
    marks: [marks],
    table,
  });
}

function flowsChart(summary) {
  const id = "chart-flows";
  const months = summary.flows;
  const money = (c) => formatMoney(c / 100, summary.currency);
  const [width, height] = [440, 240];
  const margin = { left: 68, right: 8, top: 12, bottom: 30 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const max = Math.max(...months.map((m) => Math.max(m.inflow, m.outflow)), 0) / 100;
  const ticks = niceTicks(0, max, 4);
  const top = ticks[ticks.length - 1];
  const y = (units) => margin.top + plotHeight - (units / top) * plotHeight;
  const group = plotWidth / Math.max(months.length, 1);
  const bar = Math.min(16, group * 0.38);
  const every = Math.ceil(months.length / 6);
  const kinds = [
    ["inflow", t("charts.flows.inflow")],
    ["outflow", t("charts.flows.outflow")],
  ];
  const rows = { inflow: [], outflow: [] };
  const parts = [
    s(
      "g",
      { "aria-hidden": "true" },
      yGrid(ticks, y, { margin, width }, summary.currency),
      months.map((m, i) =>
        i % every === 0
          ? s("text", { class: "axis-label", x: margin.left + group * (i + 0.5), y: height - 10, "text-anchor": "middle" }, formatMonth(m.month, { short: true }))
          : null,
      ),
    ),
  ];
  months.forEach((m, i) => {
    const center = margin.left + group * (i + 0.5);
    kinds.forEach(([kind, kindLabel], k) => {
      const value = m[kind];
      const barHeight = Math.max(y(0) - y(value / 100), 1);
      const mark = s("rect", {
        class: `mark bar-${kind}`,
        id: `${id}-m-${k}-${i}`,
        x: (k === 0 ? center - bar - 1 : center + 1).toFixed(1),
        y: (y(0) - barHeight).toFixed(1),
        width: bar.toFixed(1),
        height: barHeight.toFixed(1),
        rx: 2,
        role: "img",
        "aria-label": t("charts.flows.point", { month: formatMonth(m.month), kind: kindLabel, amount: money(value) }),
        "data-month": m.month,
        "data-kind": kind,
        "data-value": decimal(value),
        "data-x": i,
      });
      rows[kind].push(mark);
      parts.push(mark);
    });
  });
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart-svg" }, parts);
  const legend = h(
    "ul",
    { class: "chart-legend", "aria-hidden": "true" },
    kinds.map(([kind, kindLabel]) => h("li", {}, h("span", { class: `swatch swatch-${kind}` }), kindLabel)),
  );
  const table = dataTable(
    "flows",
    [t("charts.flows.month"), t("charts.flows.inflow"), t("charts.flows.outflow")],
    months.map((m) =>
      h(
        "tr",
        { "data-month": m.month },
        h("th", { scope: "row" }, formatMonth(m.month)),
        h("td", { class: "num", "data-month": m.month, "data-kind": "inflow", "data-value": decimal(m.inflow) }, money(m.inflow)),
        h("td", { class: "num", "data-month": m.month, "data-kind": "outflow", "data-value": decimal(m.outflow) }, money(m.outflow)),
      ),
    ),
  );
  return figure({
    id,
    title: t("charts.flows.title"),
    description: t("charts.flows.desc"),
    legend,
    svg,
    marks: [rows.inflow, rows.outflow],
    table,
  });
}

// A marker per series (shape as well as colour tells them apart).
// The horizontal grid lines of a money axis, each with its amount.
function yGrid(ticks, y, { margin, width }, currency) {
  return ticks.map((tick) =>
    s(
      "g",
      {},
      s("line", { class: "grid-line", x1: margin.left, x2: width - margin.right, y1: y(tick), y2: y(tick) }),
      s("text", { class: "axis-label", x: margin.left - 8, y: y(tick) + 4, "text-anchor": "end" }, formatMoneyCompact(tick, currency)),
    ),
  );
}

function marker(shape, x, y, attrs) {
  if (shape === 1) return s("rect", { x: x - 4, y: y - 4, width: 8, height: 8, ...attrs });
  if (shape === 2) return s("path", { d: `M${x} ${y - 5.5}L${x + 5.5} ${y}L${x} ${y + 5.5}L${x - 5.5} ${y}Z`, ...attrs });
  return s("circle", { cx: x, cy: y, r: 4.5, ...attrs });
}

function balanceChart(summary) {
  const id = "chart-balance";
  const all = summary.balance.series.filter((entry) => entry.points.length);
  const [width, height] = [880, 260];
  const margin = { left: 76, right: 16, top: 12, bottom: 30 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const day = (date) => Date.parse(`${date}T00:00:00Z`);
  const dates = [...new Set(all.flatMap((entry) => entry.points.map((p) => p.date)))].sort();
  const values = all.flatMap((entry) => entry.points.map((p) => p.cents / 100));
  const ticks = niceTicks(Math.min(...values), Math.max(...values), 4);
  const [low, high] = [ticks[0], ticks[ticks.length - 1]];
  const [first, last] = [day(dates[0]), day(dates[dates.length - 1])];
  const x = (date) => (first === last ? margin.left + plotWidth / 2 : margin.left + ((day(date) - first) / (last - first)) * plotWidth);
  const y = (units) => margin.top + plotHeight - ((units - low) / (high - low)) * plotHeight;
  const xTicks = dates.length <= 6 ? dates : [0, 1, 2, 3, 4, 5].map((i) => dates[Math.round((i * (dates.length - 1)) / 5)]);
  // Several currencies: the axis counts in the first one's.
  const axisCurrency = all.length ? all[0].currency : summary.currency;
  const parts = [
    s(
      "g",
      { "aria-hidden": "true" },
      yGrid(ticks, y, { margin, width }, axisCurrency),
      xTicks.map((date) => s("text", { class: "axis-label", x: x(date), y: height - 10, "text-anchor": "middle" }, formatDayMonth(date))),
    ),
  ];
  const rows = all.map((entry, n) => {
    const shape = n % 3;
    parts.push(
      s("path", {
        class: `line series-${n % 4}`,
        d: entry.points.map((p, i) => `${i ? "L" : "M"}${x(p.date).toFixed(1)} ${y(p.cents / 100).toFixed(1)}`).join(""),
        "aria-hidden": "true",
      }),
    );
    return entry.points.map((p, i) => {
      const mark = marker(shape, Number(x(p.date).toFixed(1)), Number(y(p.cents / 100).toFixed(1)), {
        class: `mark point series-${n % 4}`,
        id: `${id}-m-${n}-${i}`,
        role: "img",
        "aria-label": t("charts.balance.point", {
          account: entry.name,
          date: formatDate(p.date),
          amount: formatMoney(p.cents / 100, entry.currency),
        }),
        "data-account": entry.id,
        "data-date": p.date,
        "data-value": decimal(p.cents),
        "data-x": x(p.date).toFixed(1),
      });
      parts.push(mark);
      return mark;
    });
  });
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart-svg" }, parts);
  const legend = h(
    "ul",
    { class: "chart-legend", "aria-hidden": "true" },
    all.map((entry, n) =>
      h(
        "li",
        {},
        s("svg", { class: "legend-mark", viewBox: "0 0 12 12", width: 12, height: 12 }, marker(n % 3, 6, 6, { class: `point series-${n % 4}` })),
        entry.name,
      ),
    ),
  );
  const byDate = all.map((entry) => new Map(entry.points.map((p) => [p.date, p])));
  const table = dataTable(
    "balance",
    [t("charts.date"), ...all.map((entry) => entry.name)],
    [...dates].reverse().map((date) =>
      h(
        "tr",
        { "data-date": date },
        h("th", { scope: "row" }, formatDate(date)),
        all.map((entry, n) => {
          const p = byDate[n].get(date);
          return p
            ? h("td", { class: "num", "data-account": entry.id, "data-date": date, "data-value": decimal(p.cents) }, formatMoney(p.cents / 100, entry.currency))
            : h("td", { class: "num" }, "—");
        }),
      ),
    ),
  );
  return figure({
    id,
    title: t("charts.balance.title"),
    description: t(summary.balance.source === "records" ? "charts.balance.desc_records" : "charts.balance.desc_transactions"),
    legend,
    svg,
    marks: rows,
    table,
    wide: true,
  });
}

// The charts of `summary` (from summarize); the balance chart only where balances exist.
export function charts(summary) {
  if (!summary.count) return [h("p", { class: "muted", "data-charts-empty": "" }, t("charts.empty"))];
  const notes = [
    summary.truncated ? t("charts.partial", { count: formatNumber(summary.count) }) : null,
    summary.otherCurrencies
      ? t("charts.other_currencies", { currency: summary.currency, count: formatNumber(summary.otherCurrencies) })
      : null,
  ].filter(Boolean);
  const out = [];
  if (notes.length) out.push(h("p", { class: "chart-note" }, notes.join(" ")));
  const grid = [spendingChart(summary), flowsChart(summary)];
  if (summary.balance.series.some((entry) => entry.points.length)) grid.push(balanceChart(summary));
  out.push(h("div", { class: "charts-grid" }, grid));
  return out;
}
