// What the app shows of each Belvo resource: the gateway's URL segment, the Belvo
// fetch_resources name that produces it, its product group, its columns and its filters.
// Columns take Belvo's objects as they are (legacy banking shapes for Mexico, current ones
// for the rest); a missing field shows as "—".

const get = (path) => (row) => path.split(".").reduce((v, k) => (v == null ? v : v[k]), row);
const money = (amountPath, currencyPath) => ({
  format: "money",
  get: (row) => [get(amountPath)(row), get(currencyPath)(row)],
});

export const RESOURCES = [
  {
    segment: "accounts",
    belvo: "ACCOUNTS",
    group: "banking",
    columns: [
      { label: "col.name", get: get("name") },
      { label: "col.number", get: get("number") },
      { label: "col.category", get: get("category"), format: "code" },
      { label: "col.balance", numeric: true, ...money("balance.current", "currency") },
      { label: "col.available", numeric: true, ...money("balance.available", "currency") },
    ],
  },
  {
    segment: "transactions",
    belvo: "TRANSACTIONS",
    group: "banking",
    pageSize: 25,
    filters: [
      { name: "value_date_from", label: "filters.from", type: "date" },
      { name: "value_date_to", label: "filters.to", type: "date" },
      { name: "type", label: "filters.type", options: ["INFLOW", "OUTFLOW"] },
      { name: "status", label: "filters.status", options: ["PROCESSED", "PENDING", "UNCATEGORIZED"] },
      { name: "account_id", label: "filters.account", accounts: true },
    ],
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
  {
    segment: "balances",
    belvo: "BALANCES",
    group: "banking",
    pageSize: 25,
    filters: [
      { name: "value_date_from", label: "filters.from", type: "date" },
      { name: "value_date_to", label: "filters.to", type: "date" },
      { name: "account_id", label: "filters.account", accounts: true },
    ],
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
  {
    segment: "owners",
    belvo: "OWNERS",
    group: "banking",
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
  {
    segment: "incomes",
    belvo: "INCOMES",
    group: "banking",
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
  {
    segment: "recurring-expenses",
    belvo: "RECURRING_EXPENSES",
    group: "banking",
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
  {
    segment: "risk-insights",
    belvo: "RISK_INSIGHTS",
    group: "banking",
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
  {
    segment: "employment-records",
    belvo: "EMPLOYMENT_RECORDS",
    group: "employment",
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
  {
    segment: "invoices",
    belvo: "INVOICES",
    group: "fiscal",
    pageSize: 25,
    filters: [
      { name: "invoice_date_from", label: "filters.from", type: "date" },
      { name: "invoice_date_to", label: "filters.to", type: "date" },
      { name: "type", label: "filters.type", options: ["INFLOW", "OUTFLOW"] },
      { name: "status", label: "filters.status", options: ["Vigente", "Cancelado"] },
    ],
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
  {
    segment: "tax-returns",
    belvo: "TAX_RETURNS",
    group: "fiscal",
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
  {
    segment: "tax-status",
    belvo: "TAX_STATUS",
    group: "fiscal",
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
  {
    segment: "tax-compliance-status",
    belvo: "TAX_COMPLIANCE_STATUS",
    group: "fiscal",
    columns: [
      { label: "col.rfc", get: get("rfc") },
      { label: "col.outcome", get: get("outcome"), format: "code" },
      { label: "col.collected", get: get("collected_at"), format: "date" },
    ],
  },
  {
    segment: "tax-retentions",
    belvo: "TAX_RETENTIONS",
    group: "fiscal",
    pageSize: 25,
    filters: [
      { name: "issued_from", label: "filters.from", type: "date" },
      { name: "issued_to", label: "filters.to", type: "date" },
    ],
    columns: [
      { label: "col.issued", get: get("issued_at"), format: "date" },
      { label: "col.sender", get: get("sender_name") },
      { label: "col.receiver", get: get("receiver_name") },
      { label: "col.total", numeric: true, format: "money", get: (row) => [row.total_invoice_amount, "MXN"] },
      { label: "col.retained", numeric: true, format: "money", get: (row) => [row.total_retained_amount, "MXN"] },
    ],
  },
];

// The resources to show for a link: every resource of each product group its
// fetch_resources touch (a banking link also shows balances, which Belvo serves on demand),
// in display order; every resource when the link does not say.
export function resourcesOf(link) {
  const wanted = ((link && link.fetch_resources) || []).map((r) => String(r).toUpperCase());
  const groups = new Set(RESOURCES.filter((r) => wanted.includes(r.belvo)).map((r) => r.group));
  if (!groups.size) return RESOURCES;
  return RESOURCES.filter((r) => groups.has(r.group));
}
