// What the app shows of each Belvo resource. Which resources exist, their order, Belvo's name,
// product group and filters come from the gateway (`GET /v1/resources`, loaded once with
// setResources); what is display-specific stays here, per URL segment: columns, page size, a
// JSON details view, and the day its list is ordered by, newest first (by default its first
// date column's; a changed object is put in the list by it). Columns take Belvo's objects as
// they are (legacy banking shapes for Mexico, current ones for the rest); a missing field shows
// as "—". A resource the gateway lists but this file does not know gets generic columns (id,
// created_at) and the details view.

const get = (path) => (row) => path.split(".").reduce((v, k) => (v == null ? v : v[k]), row);
const money = (amountPath, currencyPath) => ({
  format: "money",
  get: (row) => [get(amountPath)(row), get(currencyPath)(row)],
});

const DISPLAY = {
  accounts: {
    columns: [
      { label: "col.name", get: get("name") },
      { label: "col.number", get: get("number") },
      { label: "col.category", get: get("category"), format: "code" },
      { label: "col.balance", numeric: true, ...money("balance.current", "currency") },
      { label: "col.available", numeric: true, ...money("balance.available", "currency") },
    ],
  },
  transactions: {
    pageSize: 25,
    columns: [
      { label: "col.date", get: get("value_date"), format: "date" },
      { label: "col.description", get: get("description"), wide: true },
      { label: "col.account", get: get("account.name"), wide: true },
      { label: "col.category", get: get("category") },
      { label: "col.status", get: get("status"), format: "code" },
      {
        label: "col.amount",
        numeric: true,
        format: "signed",
        get: (row) => [row.amount, row.currency, row.type],
      },
    ],
  },
  balances: {
    pageSize: 25,
    columns: [
      { label: "col.date", get: get("value_date"), format: "date" },
      { label: "col.account", get: get("account.name") },
      {
        label: "col.balance",
        numeric: true,
        format: "money",
        get: (row) => [row.balance ?? row.current_balance, row.account && row.account.currency],
      },
    ],
  },
  owners: {
    columns: [
      { label: "col.name", get: get("display_name") },
      { label: "col.email", get: get("email") },
      { label: "col.phone", get: get("phone_number") },
      { label: "col.address", get: get("address") },
      {
        label: "col.document",
        get: (row) =>
          row.document_id ? `${row.document_id.document_type || ""} ${row.document_id.document_number || ""}`.trim() : null,
      },
    ],
  },
  incomes: {
    day: get("last_transaction_date"),
    columns: [
      { label: "col.source", get: get("income_source_type"), format: "code" },
      { label: "col.streams", get: get("number_of_income_streams"), format: "number", numeric: true },
      {
        label: "col.monthly_average",
        numeric: true,
        format: "money",
        get: (row) => [row.monthly_average, row.income_streams && row.income_streams[0] && row.income_streams[0].currency],
      },
      {
        label: "col.total",
        numeric: true,
        format: "money",
        get: (row) => [row.total_income_amount, row.income_streams && row.income_streams[0] && row.income_streams[0].currency],
      },
    ],
    details: true,
  },
  "recurring-expenses": {
    columns: [
      { label: "col.name", get: get("name") },
      { label: "col.category", get: get("category") },
      { label: "col.frequency", get: get("frequency"), format: "code" },
      { label: "col.payment_type", get: get("payment_type"), format: "code" },
      {
        label: "col.average",
        numeric: true,
        format: "money",
        get: (row) => [row.average_transaction_amount, row.account && row.account.currency],
      },
    ],
  },
  "risk-insights": {
    columns: [
      { label: "col.collected", get: get("created_at"), format: "date" },
      {
        label: "col.closing_balance",
        numeric: true,
        format: "money",
        get: (row) => [row.balances_metrics && row.balances_metrics.closing_balance, null],
      },
    ],
    details: true,
  },
  "employment-records": {
    columns: [
      { label: "col.official_name", get: get("personal_data.official_name") },
      {
        label: "col.employer",
        get: (row) => (row.employment_records || []).map((r) => r.employer).filter(Boolean).join(", ") || null,
      },
      {
        label: "col.salary",
        numeric: true,
        format: "money",
        get: (row) => {
          const r = (row.employment_records || [])[0] || {};
          return [r.monthly_salary, r.currency];
        },
      },
      { label: "col.collected", get: get("report_date"), format: "date" },
    ],
    details: true,
  },
  invoices: {
    pageSize: 25,
    columns: [
      { label: "col.date", get: get("invoice_date"), format: "date" },
      { label: "col.type", get: get("invoice_type") },
      { label: "col.sender", get: get("sender_name") },
      { label: "col.receiver", get: get("receiver_name") },
      { label: "col.status", get: get("status") },
      {
        label: "col.total",
        numeric: true,
        format: "signed",
        get: (row) => [row.total_amount, row.currency, row.type],
      },
    ],
  },
  "tax-returns": {
    columns: [
      {
        label: "col.year",
        get: (row) => (row.informacion_general && (row.informacion_general.ejercicio || row.informacion_general.year)) || row.year || null,
      },
      { label: "col.type", get: (row) => row.type || row.tax_return_type || null, format: "code" },
      { label: "col.collected", get: get("collected_at"), format: "date" },
    ],
    details: true,
  },
  "tax-status": {
    columns: [
      { label: "col.official_name", get: get("official_name") },
      { label: "col.rfc", get: get("tax_payer_information.rfc") },
      {
        label: "col.regimes",
        get: (row) => (row.regimes || []).map((r) => r.regime || r.name).filter(Boolean).join(", ") || null,
      },
      { label: "col.collected", get: get("collected_at"), format: "date" },
    ],
    details: true,
  },
  "tax-compliance-status": {
    columns: [
      { label: "col.rfc", get: get("rfc") },
      { label: "col.outcome", get: get("outcome"), format: "code" },
      { label: "col.collected", get: get("collected_at"), format: "date" },
    ],
  },
  "tax-retentions": {
    pageSize: 25,
    columns: [
      { label: "col.issued", get: get("issued_at"), format: "date" },
      { label: "col.sender", get: get("sender_name") },
      { label: "col.receiver", get: get("receiver_name") },
      { label: "col.total", numeric: true, format: "money", get: (row) => [row.total_invoice_amount, "MXN"] },
      { label: "col.retained", numeric: true, format: "money", get: (row) => [row.total_retained_amount, "MXN"] },
    ],
  },
};

// Any other resource: its id and Belvo's created_at, and the whole object under "Details".
const GENERIC = {
  columns: [
    { label: "col.id", get: get("id") },
    { label: "col.created", get: get("created_at"), format: "date" },
  ],
  details: true,
};

// The i18n key of a filter's label: dates by their end, the account, a choice by its name.
function filterLabel(filter) {
  if (filter.kind === "date") return filter.name.endsWith("_to") ? "filters.to" : "filters.from";
  if (filter.kind === "account") return "filters.account";
  return `filters.${filter.name}`;
}

// Dates first, then choices, then the account (the order the forms always had).
const FILTER_ORDER = { date: 0, choice: 1, account: 2 };

// A filter of `GET /v1/resources` as the form draws it: {name, label, kind, type: "date"} for
// a date, {..., accounts: true} for the account, {..., options} for a choice.
function filterDefinition(filter) {
  const def = { name: filter.name, kind: filter.kind, label: filterLabel(filter) };
  if (filter.kind === "date") def.type = "date";
  else if (filter.kind === "account") def.accounts = true;
  else def.options = filter.values || [];
  return def;
}

let RESOURCES = [];

// The gateway's resource list (`GET /v1/resources`'s `data`), in its order.
export function setResources(list) {
  RESOURCES = (list || []).map((entry) => {
    const filters = (entry.filters || [])
      .filter((f) => f.kind in FILTER_ORDER)
      .map(filterDefinition)
      .sort((a, b) => FILTER_ORDER[a.kind] - FILTER_ORDER[b.kind]);
    const display = DISPLAY[entry.resource] || GENERIC;
    const dated = display.columns.find((c) => c.format === "date");
    return {
      ...display,
      day: display.day || (dated ? dated.get : () => null),
      segment: entry.resource,
      belvo: entry.belvo_name,
      group: entry.product,
      filters: filters.length ? filters : null,
    };
  });
}

export function resourcesLoaded() {
  return RESOURCES.length > 0;
}

// The resources to show for a link: every resource of each product group its
// fetch_resources touch (a banking link also shows balances, which Belvo serves on demand),
// in display order; every resource when the link does not say.
export function resourcesOf(link) {
  const wanted = ((link && link.fetch_resources) || []).map((r) => String(r).toUpperCase());
  const groups = new Set(RESOURCES.filter((r) => wanted.includes(r.belvo)).map((r) => r.group));
  if (!groups.size) return RESOURCES;
  return RESOURCES.filter((r) => groups.has(r.group));
}
