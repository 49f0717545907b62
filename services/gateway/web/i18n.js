// Spanish and English texts. The default language comes from the browser; the toggle's
// choice is remembered in localStorage.

const TEXT = {
  en: {
    "app.name": "Connect",
    "app.tagline": "Your bank, employment and tax data in one place",
    "skip": "Skip to content",
    "lang.label": "Language",
    "login.title": "Sign in",
    "login.intro": "Development sign-in: any user name works. Each user sees only their own accounts.",
    "login.user": "User name",
    "login.submit": "Sign in",
    "login.failed": "Sign-in failed: {message}",
    "logout": "Sign out",
    "signed_in_as": "Signed in as {user}",
    "home.title": "Your connected accounts",
    "add": "Add a bank account",
    "opening_widget": "Opening Belvo's widget…",
    "links.title": "Connections",
    "links.empty": "No accounts connected yet. Use “Add a bank account” to connect one.",
    "links.loading": "Loading your connections…",
    "link.view": "View data",
    "link.reconnect": "Reconnect",
    "link.delete": "Delete",
    "link.delete_confirm": "Delete the connection to {institution}? Its data will be removed.",
    "link.deleted": "The connection to {institution} was deleted.",
    "link.registered": "{institution} connected. Fetching your data…",
    "link.reconnected": "{institution} reconnected.",
    "link.needs_action": "Belvo needs you to log in to {institution} again.",
    "link.created_at": "Connected {date}",
    "status.valid": "Connected",
    "status.invalid": "Credentials needed",
    "status.token_required": "Verification needed",
    "status.unconfirmed": "Unconfirmed",
    "status.deleted": "Deleted",
    "widget.exit": "The widget was closed.",
    "widget.error": "The widget reported an error: {message}",
    "widget.load_failed": "Belvo's widget could not be loaded.",
    "detail.none": "Choose a connection to see its data.",
    "detail.title": "{institution}",
    "sync.title": "Sync progress",
    "sync.waiting": "Waiting for Belvo…",
    "sync.live": "Live",
    "sync.state.pending": "Queued",
    "sync.state.running": "Syncing",
    "sync.state.succeeded": "Done",
    "sync.state.failed": "Failed",
    "sync.state.retrying": "Retrying",
    "sync.progress": "{resource}: {state}, {records} records",
    "sync.all_done": "All data is up to date.",
    "sync.error.belvo_login_error": "The bank refused the credentials: reconnect this account.",
    "sync.error.belvo_token_required": "The bank asks for a code: reconnect this account.",
    "sync.error.belvo_unavailable": "The bank's data service is not answering; we keep trying.",
    "sync.error.belvo_too_many_sessions": "The bank is busy with another session; we keep trying.",
    "sync.error.other": "This data could not be updated; we keep trying.",
    "sync.stale": "Some data may be out of date.",
    "fresh.refreshed": "Refreshed {when}",
    "fresh.never": "Not refreshed yet",
    "fresh.stale": "Out of date",
    "fresh.stale_hint": "Belvo's expected update is overdue; a new pull has been asked for.",
    "sync.last_success": "Refreshed {when}",
    "charts.title": "Summary",
    "charts.loading": "Adding up your transactions…",
    "charts.empty": "No transactions yet.",
    "charts.partial": "Based on the newest {count} transactions.",
    "charts.other_currencies": "Only {currency} transactions are counted ({count} in other currencies left out).",
    "charts.show_table": "Show the figures as a table",
    "charts.keys": "Use the arrow keys to move between the figures.",
    "charts.spending.title": "Spending by category",
    "charts.spending.desc": "Outflows added up per category, {total} in all.",
    "charts.spending.none": "No outflows yet.",
    "charts.flows.title": "Money in and out by month",
    "charts.flows.desc": "Inflows and outflows added up per month.",
    "charts.flows.inflow": "In",
    "charts.flows.outflow": "Out",
    "charts.flows.month": "Month",
    "charts.flows.point": "{month}, {kind}: {amount}",
    "charts.balance.title": "Balance over time",
    "charts.balance.desc_records": "Each account's balance per day, from the balances Belvo reported.",
    "charts.balance.desc_transactions": "Each account's balance at the end of each day with transactions (the balance after its last transaction).",
    "charts.balance.point": "{account}, {date}: {amount}",
    "charts.category": "Category",
    "charts.amount": "Amount",
    "charts.date": "Date",
    "charts.uncategorized": "Uncategorized",
    "cat.Bills & Utilities": "Bills & utilities",
    "cat.Credits & Loans": "Credits & loans",
    "cat.Deposits": "Deposits",
    "cat.Fees & Charges": "Fees & charges",
    "cat.Food & Groceries": "Food & groceries",
    "cat.Home & Life": "Home & life",
    "cat.Income & Payments": "Income & payments",
    "cat.Insurance": "Insurance",
    "cat.Investments & Savings": "Investments & savings",
    "cat.Online Platforms & Leisure": "Online platforms & leisure",
    "cat.Personal Shopping": "Personal shopping",
    "cat.Taxes": "Taxes",
    "cat.Transfers": "Transfers",
    "cat.Transport & Travel": "Transport & travel",
    "cat.Unknown": "Unknown",
    "cat.Withdrawal & ATM": "Withdrawals & ATM",
    "data.load_more": "Load more",
    "data.loading": "Loading…",
    "data.empty": "Nothing here yet.",
    "data.count": "{count} shown",
    "data.details": "Details",
    "filters.title": "Filters",
    "filters.from": "From",
    "filters.to": "To",
    "filters.type": "Type",
    "filters.status": "Status",
    "filters.category": "Category",
    "filters.account": "Account",
    "filters.any": "Any",
    "filters.apply": "Apply",
    "filters.reset": "Reset",
    "group.banking": "Banking",
    "group.employment": "Employment",
    "group.fiscal": "Fiscal",
    "res.accounts": "Accounts",
    "res.transactions": "Transactions",
    "res.balances": "Balances",
    "res.owners": "Owners",
    "res.incomes": "Incomes",
    "res.recurring-expenses": "Recurring expenses",
    "res.risk-insights": "Risk insights",
    "res.employment-records": "Employment records",
    "res.invoices": "Invoices",
    "res.tax-returns": "Tax returns",
    "res.tax-status": "Tax status",
    "res.tax-compliance-status": "Tax compliance",
    "res.tax-retentions": "Retentions",
    "col.name": "Name",
    "col.number": "Number",
    "col.category": "Category",
    "col.type": "Type",
    "col.balance": "Balance",
    "col.available": "Available",
    "col.currency": "Currency",
    "col.date": "Date",
    "col.description": "Description",
    "col.amount": "Amount",
    "col.status": "Status",
    "col.account": "Account",
    "col.email": "E-mail",
    "col.phone": "Phone",
    "col.address": "Address",
    "col.document": "Document",
    "col.monthly_average": "Monthly average",
    "col.total": "Total",
    "col.streams": "Income streams",
    "col.source": "Source",
    "col.frequency": "Frequency",
    "col.average": "Average amount",
    "col.payment_type": "Payment type",
    "col.closing_balance": "Closing balance",
    "col.employer": "Employer",
    "col.salary": "Monthly salary",
    "col.start": "Start",
    "col.end": "End",
    "col.official_name": "Official name",
    "col.sender": "Issuer",
    "col.receiver": "Receiver",
    "col.rfc": "RFC",
    "col.outcome": "Outcome",
    "col.year": "Fiscal year",
    "col.regimes": "Regimes",
    "col.retained": "Retained",
    "col.issued": "Issued",
    "col.collected": "Collected",
    "col.id": "ID",
    "col.created": "Created",
    "error.network": "The server could not be reached. Check your connection and try again.",
    "error.generic": "Something went wrong ({message}).",
    "error.session": "Your session ended; please sign in again.",
    "close": "Close",
    "cancel": "Cancel",
    "code.CHECKING_ACCOUNT": "Checking account",
    "code.SAVINGS_ACCOUNT": "Savings account",
    "code.CREDIT_CARD": "Credit card",
    "code.LOAN_ACCOUNT": "Loan",
    "code.INVESTMENT_ACCOUNT": "Investment",
    "code.PENSION_FUND_ACCOUNT": "Pension fund",
    "code.RECEIVABLES_ACCOUNT": "Receivables",
    "code.INFLOW": "Inflow",
    "code.OUTFLOW": "Outflow",
    "code.PROCESSED": "Processed",
    "code.PENDING": "Pending",
    "code.UNCATEGORIZED": "Uncategorized",
    "code.MONTHLY": "Monthly",
    "code.WEEKLY": "Weekly",
    "code.BIWEEKLY": "Every two weeks",
    "code.YEARLY": "Yearly",
    "code.SUBSCRIPTION": "Subscription",
    "code.REGULAR": "Regular",
    "code.BANK": "Bank",
    "code.POSITIVE": "Positive",
    "code.NEGATIVE": "Negative",
    "code.yearly": "Yearly",
    "code.monthly": "Monthly",
  },
  es: {
    "app.name": "Connect",
    "app.tagline": "Tus datos bancarios, laborales y fiscales en un solo lugar",
    "skip": "Ir al contenido",
    "lang.label": "Idioma",
    "login.title": "Iniciar sesión",
    "login.intro": "Inicio de sesión de desarrollo: cualquier nombre de usuario sirve. Cada usuario ve solo sus propias cuentas.",
    "login.user": "Nombre de usuario",
    "login.submit": "Entrar",
    "login.failed": "No se pudo iniciar sesión: {message}",
    "logout": "Cerrar sesión",
    "signed_in_as": "Sesión de {user}",
    "home.title": "Tus cuentas conectadas",
    "add": "Agregar una cuenta bancaria",
    "opening_widget": "Abriendo el widget de Belvo…",
    "links.title": "Conexiones",
    "links.empty": "Aún no hay cuentas conectadas. Usa «Agregar una cuenta bancaria» para conectar una.",
    "links.loading": "Cargando tus conexiones…",
    "link.view": "Ver datos",
    "link.reconnect": "Reconectar",
    "link.delete": "Eliminar",
    "link.delete_confirm": "¿Eliminar la conexión con {institution}? Sus datos se borrarán.",
    "link.deleted": "Se eliminó la conexión con {institution}.",
    "link.registered": "{institution} conectada. Obteniendo tus datos…",
    "link.reconnected": "{institution} reconectada.",
    "link.needs_action": "Belvo necesita que vuelvas a iniciar sesión en {institution}.",
    "link.created_at": "Conectada el {date}",
    "status.valid": "Conectada",
    "status.invalid": "Faltan credenciales",
    "status.token_required": "Falta verificación",
    "status.unconfirmed": "Sin confirmar",
    "status.deleted": "Eliminada",
    "widget.exit": "Se cerró el widget.",
    "widget.error": "El widget informó un error: {message}",
    "widget.load_failed": "No se pudo cargar el widget de Belvo.",
    "detail.none": "Elige una conexión para ver sus datos.",
    "detail.title": "{institution}",
    "sync.title": "Progreso de la sincronización",
    "sync.waiting": "Esperando a Belvo…",
    "sync.live": "En vivo",
    "sync.state.pending": "En cola",
    "sync.state.running": "Sincronizando",
    "sync.state.succeeded": "Listo",
    "sync.state.failed": "Falló",
    "sync.state.retrying": "Reintentando",
    "sync.progress": "{resource}: {state}, {records} registros",
    "sync.all_done": "Todos los datos están al día.",
    "sync.error.belvo_login_error": "El banco rechazó las credenciales: vuelve a conectar esta cuenta.",
    "sync.error.belvo_token_required": "El banco pide un código: vuelve a conectar esta cuenta.",
    "sync.error.belvo_unavailable": "El servicio de datos del banco no responde; seguimos intentando.",
    "sync.error.belvo_too_many_sessions": "El banco está ocupado con otra sesión; seguimos intentando.",
    "sync.error.other": "No se pudieron actualizar estos datos; seguimos intentando.",
    "sync.stale": "Algunos datos podrían estar desactualizados.",
    "fresh.refreshed": "Actualizada {when}",
    "fresh.never": "Aún sin actualizar",
    "fresh.stale": "Desactualizada",
    "fresh.stale_hint": "La actualización que Belvo debía enviar está atrasada; ya se pidió una nueva descarga.",
    "sync.last_success": "Actualizado {when}",
    "charts.title": "Resumen",
    "charts.loading": "Sumando tus movimientos…",
    "charts.empty": "Aún no hay movimientos.",
    "charts.partial": "Con base en los {count} movimientos más recientes.",
    "charts.other_currencies": "Solo se cuentan los movimientos en {currency} (se omiten {count} en otras monedas).",
    "charts.show_table": "Ver las cifras en una tabla",
    "charts.keys": "Usa las flechas para moverte entre las cifras.",
    "charts.spending.title": "Gastos por categoría",
    "charts.spending.desc": "Egresos sumados por categoría, {total} en total.",
    "charts.spending.none": "Aún no hay egresos.",
    "charts.flows.title": "Entradas y salidas por mes",
    "charts.flows.desc": "Ingresos y egresos sumados por mes.",
    "charts.flows.inflow": "Entradas",
    "charts.flows.outflow": "Salidas",
    "charts.flows.month": "Mes",
    "charts.flows.point": "{month}, {kind}: {amount}",
    "charts.balance.title": "Saldo en el tiempo",
    "charts.balance.desc_records": "El saldo de cada cuenta por día, según los saldos que informó Belvo.",
    "charts.balance.desc_transactions": "El saldo de cada cuenta al cierre de cada día con movimientos (el saldo tras su último movimiento).",
    "charts.balance.point": "{account}, {date}: {amount}",
    "charts.category": "Categoría",
    "charts.amount": "Monto",
    "charts.date": "Fecha",
    "charts.uncategorized": "Sin categoría",
    "cat.Bills & Utilities": "Servicios y facturas",
    "cat.Credits & Loans": "Créditos y préstamos",
    "cat.Deposits": "Depósitos",
    "cat.Fees & Charges": "Comisiones y cargos",
    "cat.Food & Groceries": "Comida y súper",
    "cat.Home & Life": "Hogar y vida",
    "cat.Income & Payments": "Ingresos y pagos",
    "cat.Insurance": "Seguros",
    "cat.Investments & Savings": "Inversiones y ahorro",
    "cat.Online Platforms & Leisure": "Plataformas en línea y ocio",
    "cat.Personal Shopping": "Compras personales",
    "cat.Taxes": "Impuestos",
    "cat.Transfers": "Transferencias",
    "cat.Transport & Travel": "Transporte y viajes",
    "cat.Unknown": "Desconocida",
    "cat.Withdrawal & ATM": "Retiros y cajeros",
    "data.load_more": "Cargar más",
    "data.loading": "Cargando…",
    "data.empty": "Aún no hay nada aquí.",
    "data.count": "{count} mostrados",
    "data.details": "Detalles",
    "filters.title": "Filtros",
    "filters.from": "Desde",
    "filters.to": "Hasta",
    "filters.type": "Tipo",
    "filters.status": "Estado",
    "filters.category": "Categoría",
    "filters.account": "Cuenta",
    "filters.any": "Cualquiera",
    "filters.apply": "Aplicar",
    "filters.reset": "Restablecer",
    "group.banking": "Banca",
    "group.employment": "Empleo",
    "group.fiscal": "Fiscal",
    "res.accounts": "Cuentas",
    "res.transactions": "Movimientos",
    "res.balances": "Saldos",
    "res.owners": "Titulares",
    "res.incomes": "Ingresos",
    "res.recurring-expenses": "Gastos recurrentes",
    "res.risk-insights": "Indicadores de riesgo",
    "res.employment-records": "Historial laboral",
    "res.invoices": "Facturas",
    "res.tax-returns": "Declaraciones",
    "res.tax-status": "Constancia fiscal",
    "res.tax-compliance-status": "Opinión de cumplimiento",
    "res.tax-retentions": "Retenciones",
    "col.name": "Nombre",
    "col.number": "Número",
    "col.category": "Categoría",
    "col.type": "Tipo",
    "col.balance": "Saldo",
    "col.available": "Disponible",
    "col.currency": "Moneda",
    "col.date": "Fecha",
    "col.description": "Descripción",
    "col.amount": "Monto",
    "col.status": "Estado",
    "col.account": "Cuenta",
    "col.email": "Correo",
    "col.phone": "Teléfono",
    "col.address": "Dirección",
    "col.document": "Documento",
    "col.monthly_average": "Promedio mensual",
    "col.total": "Total",
    "col.streams": "Fuentes de ingreso",
    "col.source": "Origen",
    "col.frequency": "Frecuencia",
    "col.average": "Monto promedio",
    "col.payment_type": "Tipo de pago",
    "col.closing_balance": "Saldo final",
    "col.employer": "Empleador",
    "col.salary": "Salario mensual",
    "col.start": "Inicio",
    "col.end": "Fin",
    "col.official_name": "Nombre oficial",
    "col.sender": "Emisor",
    "col.receiver": "Receptor",
    "col.rfc": "RFC",
    "col.outcome": "Resultado",
    "col.year": "Ejercicio",
    "col.regimes": "Regímenes",
    "col.retained": "Retenido",
    "col.issued": "Emitida",
    "col.collected": "Obtenida",
    "col.id": "ID",
    "col.created": "Creado",
    "error.network": "No se pudo contactar al servidor. Revisa tu conexión e inténtalo de nuevo.",
    "error.generic": "Algo salió mal ({message}).",
    "error.session": "Tu sesión terminó; vuelve a iniciar sesión.",
    "close": "Cerrar",
    "cancel": "Cancelar",
    "code.CHECKING_ACCOUNT": "Cuenta de cheques",
    "code.SAVINGS_ACCOUNT": "Cuenta de ahorro",
    "code.CREDIT_CARD": "Tarjeta de crédito",
    "code.LOAN_ACCOUNT": "Préstamo",
    "code.INVESTMENT_ACCOUNT": "Inversión",
    "code.PENSION_FUND_ACCOUNT": "Fondo de pensión",
    "code.RECEIVABLES_ACCOUNT": "Cuentas por cobrar",
    "code.INFLOW": "Ingreso",
    "code.OUTFLOW": "Egreso",
    "code.PROCESSED": "Procesada",
    "code.PENDING": "Pendiente",
    "code.UNCATEGORIZED": "Sin categoría",
    "code.MONTHLY": "Mensual",
    "code.WEEKLY": "Semanal",
    "code.BIWEEKLY": "Quincenal",
    "code.YEARLY": "Anual",
    "code.SUBSCRIPTION": "Suscripción",
    "code.REGULAR": "Regular",
    "code.BANK": "Banco",
    "code.POSITIVE": "Positiva",
    "code.NEGATIVE": "Negativa",
    "code.yearly": "Anual",
    "code.monthly": "Mensual",
  },
};

export const LANGUAGES = ["es", "en"];

function initial() {
  const saved = localStorage.getItem("connect.lang");
  if (LANGUAGES.includes(saved)) return saved;
  const preferred = navigator.languages || [navigator.language || "en"];
  for (const tag of preferred) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return "en";
}

let lang = initial();

export function language() {
  return lang;
}

export function setLanguage(next) {
  if (!LANGUAGES.includes(next)) return;
  lang = next;
  localStorage.setItem("connect.lang", next);
  document.documentElement.lang = next;
}

// t("link.deleted", {institution: "Erebor"})
export function t(key, vars) {
  const text = TEXT[lang][key] ?? TEXT.en[key] ?? key;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

// Applies texts to static markup: data-i18n (text), data-i18n-aria-label, data-i18n-placeholder.
export function translateDocument(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-aria-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
  }
  document.title = t("app.name");
}

const locales = { es: "es-MX", en: "en-US" };

export function formatMoney(amount, currency) {
  if (amount === null || amount === undefined || amount === "") return "—";
  const value = Number(amount);
  if (!Number.isFinite(value)) return String(amount);
  try {
    return new Intl.NumberFormat(locales[lang], {
      style: "currency",
      currency: currency || "MXN",
      currencyDisplay: "narrowSymbol",
    }).format(value);
  } catch {
    return new Intl.NumberFormat(locales[lang], { minimumFractionDigits: 2 }).format(value);
  }
}

export function formatNumber(value) {
  if (value === null || value === undefined || value === "") return "—";
  const n = Number(value);
  return Number.isFinite(n) ? new Intl.NumberFormat(locales[lang]).format(n) : String(value);
}

export function formatDate(value) {
  if (!value) return "—";
  // Plain dates (YYYY-MM-DD) are calendar days: no time-zone shift.
  const plain = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const date = new Date(plain ? `${value}T12:00:00` : value);
  if (Number.isNaN(date.getTime())) return String(value);
  return new Intl.DateTimeFormat(locales[lang], { dateStyle: "medium" }).format(date);
}

// "3 minutes ago" / "hace 3 minutos" for a timestamp, against `now` (ms).
export function formatRelative(value, now = Date.now()) {
  const date = new Date(value);
  if (!value || Number.isNaN(date.getTime())) return "—";
  const seconds = Math.round((date.getTime() - now) / 1000);
  const units = [
    ["year", 31536000],
    ["month", 2592000],
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
  ];
  const format = new Intl.RelativeTimeFormat(locales[lang], { numeric: "auto" });
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return format.format(Math.trunc(seconds / size), unit);
  }
  return format.format(0, "second");
}

// A date and time in full ("Jun 30, 2026, 10:15 AM"), for titles beside relative times.
export function formatDateTime(value) {
  const date = new Date(value);
  if (!value || Number.isNaN(date.getTime())) return "—";
  return new Intl.DateTimeFormat(locales[lang], { dateStyle: "medium", timeStyle: "short" }).format(date);
}

// A month ("2026-06") as "June 2026" (short: "Jun 26").
export function formatMonth(value, { short = false } = {}) {
  const [year, month] = String(value).split("-").map(Number);
  if (!year || !month) return String(value);
  const date = new Date(year, month - 1, 15, 12);
  const options = short ? { month: "short", year: "2-digit" } : { month: "long", year: "numeric" };
  return new Intl.DateTimeFormat(locales[lang], options).format(date);
}

// An axis label: "$12K", "-$1.5M".
export function formatMoneyCompact(amount, currency) {
  try {
    return new Intl.NumberFormat(locales[lang], {
      style: "currency",
      currency: currency || "MXN",
      currencyDisplay: "narrowSymbol",
      notation: "compact",
      maximumFractionDigits: 1,
    }).format(amount);
  } catch {
    return new Intl.NumberFormat(locales[lang], { notation: "compact" }).format(amount);
  }
}

// A calendar day without the year ("Jun 30" / "30 jun"), for chart axes.
export function formatDayMonth(value) {
  const date = new Date(`${value}T12:00:00`);
  if (Number.isNaN(date.getTime())) return String(value);
  return new Intl.DateTimeFormat(locales[lang], { month: "short", day: "numeric" }).format(date);
}
