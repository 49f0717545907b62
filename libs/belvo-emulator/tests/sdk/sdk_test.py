"""Drives belvo-emulator with Belvo's official Python SDK (belvo-python from PyPI).

Input: env BELVO_URL, BELVO_SECRET_ID, BELVO_SECRET_PASSWORD. Output: one JSON line of
observations on stdout; the Rust test (tests/tools/sdk.rs) asserts on it. Any SDK exception
fails the script.

The emulator's data is as of 2026-06-30 (the Rust test's `data_as_of`); every retrieve names its
window (the SDK's defaults are the real clock's today).
"""
import json
import os

import belvo
from belvo.client import Client
from belvo.enums import TaxReturnType, TaxRetentionType
from belvo.exceptions import BelvoAPIException, RequestError

url = os.environ["BELVO_URL"]
sid = os.environ["BELVO_SECRET_ID"]
spw = os.environ["BELVO_SECRET_PASSWORD"]
out = {"sdk": "belvo-python", "version": getattr(belvo, "__version__", "?")}

BRANDING = {
    "company_icon": "https://acme.example/icon.svg",
    "company_logo": "https://acme.example/logo.svg",
    "company_name": "ACME",
    "company_terms_url": "https://acme.example/terms",
}


def within(items, key, lo, hi):
    return all(lo <= i[key][:10] <= hi for i in items)


# Log in: the SDK probes GET /api/ with Basic auth; wrong keys must be refused.
try:
    Client(sid, "wrong-password", url)
    out["bad_login_refused"] = False
except BelvoAPIException:
    out["bad_login_refused"] = True
client = Client(sid, spw, url)

institutions = list(client.Institutions.list())
out["institutions"] = sorted(i["name"] for i in institutions)
out["mx_banks"] = sorted(i["name"] for i in client.Institutions.list(country_code="MX", type="bank"))
out["allin_institutions"] = sorted(
    i["name"] for i in client.Institutions.list(resources__allin="ACCOUNTS,OWNERS,TRANSACTIONS")
)

# Register a link at an MFA bank: 428, a wrong token (another 428), then the right one.
first = client.Links.create("gotham_mx_business", "sdk_py_user", "pass_valid")
out["register_code"] = first[0]["code"]
session, link_id = first[0]["session"], first[0]["link"]
wrong = client.Links.resume(session, "999999", link=link_id)
out["wrong_token_code"] = wrong[0]["code"]
link = client.Links.resume(session, "111111", link=link_id, raise_exception=True)
out["link"] = link

# Errors surface as RequestError with Belvo's body when asked to raise.
try:
    client.Links.create("erebor_mx_retail", "user_invalid", "pass_invalid", raise_exception=True)
except RequestError as e:
    out["login_error"] = {"status": e.status_code, "code": e.detail[0]["code"]}

# Widget tokens. The SDK's own create() sends only keys and scopes, which Belvo's 1.223.0
# schemas refuse (400 naming the first missing field); a spec-complete body through the SDK's
# session gets a token; update mode (a link_id) needs nothing more.
bare = client.WidgetToken.create()
out["bare_token_error"] = {"code": bare[0]["code"], "field": bare[0].get("field")}
token = client.session.post(
    "/api/token/",
    data={
        "id": sid,
        "password": spw,
        "scopes": "read_institutions,write_links",
        "fetch_resources": ["ACCOUNTS", "TRANSACTIONS", "OWNERS"],
        "stale_in": "365d",
        "widget": {"branding": BRANDING},
    },
    raise_exception=True,
)
out["token_keys"] = sorted(token.keys())
update = client.WidgetToken.create(link=link["id"], scopes="read_institutions,write_links,read_links")
out["update_token_ok"] = "access" in update

# Banking: list every resource, following `next`, and retrieve each with its window.
lid = link["id"]
out["links_listed"] = [l["id"] for l in client.Links.list()]
out["detail"] = client.Links.get(lid)["id"]
accounts = list(client.Accounts.list(link=lid))
out["accounts"] = len(accounts)
txns = list(client.Transactions.list(lid))
out["transactions"] = len(txns)
out["transaction_ids_unique"] = len({t["id"] for t in txns}) == len(txns)
out["first_transaction"] = client.Transactions.get(txns[0]["id"])["id"] == txns[0]["id"]
inflow = list(client.Transactions.list(lid, type="INFLOW"))
out["inflow_only"] = all(t["type"] == "INFLOW" for t in inflow) and len(inflow) > 0
checking = list(client.Transactions.list(lid, account_type="Cuentas de efectivo"))
out["account_type_filtered"] = len(checking)
out["account_type_only"] = all(t["account"]["type"] == "Cuentas de efectivo" for t in checking)
# The incremental pull: created_at__gte an RFC 3339 timestamp in milliseconds and Z.
created = link["created_at"]
watermark = created[:23] + "Z"
out["created_at_gte_watermark"] = len(list(client.Transactions.list(lid, created_at__gte=watermark)))
out["created_at_gt_watermark"] = len(list(client.Transactions.list(lid, created_at__gt=created)))
retrieved = client.Transactions.create(lid, "2026-05-01", date_to="2026-06-30", raise_exception=True)
out["retrieved"] = len(retrieved)
out["retrieved_in_window"] = within(retrieved, "value_date", "2026-05-01", "2026-06-30")
future = client.Transactions.create(lid, "2026-05-01", date_to="2099-01-01")
out["future_date_to"] = {"code": future[0]["code"], "field": future[0].get("field")}
out["balances_listed"] = len(list(client.Balances.list(link=lid)))
balances = client.Balances.create(lid, "2026-06-21", date_to="2026-06-30", raise_exception=True)
out["balances_retrieved"] = len(balances)
out["balances_in_window"] = within(balances, "value_date", "2026-06-21", "2026-06-30")
out["owners"] = len(client.Owners.create(lid, raise_exception=True))
out["owners_listed"] = len(list(client.Owners.list(link=lid)))
out["incomes_object"] = isinstance(client.Incomes.create(lid, raise_exception=True), dict)
out["incomes_listed"] = len(list(client.Incomes.list(link=lid)))
out["recurring_expenses"] = len(client.RecurringExpenses.create(lid, raise_exception=True))
out["recurring_expenses_listed"] = len(list(client.RecurringExpenses.list(link=lid)))
out["risk_insights_object"] = isinstance(client.RiskInsights.create(lid, raise_exception=True), dict)
out["risk_insights_listed"] = len(list(client.RiskInsights.list(link=lid)))

# A refresh of two resources: 202 with a request_id; its webhooks are checked by the Rust side.
refresh = client.session.post(
    f"/api/links/{lid}/refresh/",
    data={"fetch_resources": ["ACCOUNTS", "TRANSACTIONS"]},
    raise_exception=True,
)
out["refresh_request_id"] = refresh["request_id"]

# Employment.
employment = client.Links.create("planet_mx_employment", "BLPM951331IONVGR54", "", raise_exception=True)
out["employment_records"] = len(client.EmploymentRecords.create(employment["id"], raise_exception=True))
out["employment_records_listed"] = len(list(client.EmploymentRecords.list(link=employment["id"])))

# Fiscal, a person (13-character RFC).
fiscal = client.Links.create("tatooine_mx_fiscal", "PFIS010101000", "individual", raise_exception=True)
fid = fiscal["id"]
out["invoices"] = len(list(client.Invoices.list(link=fid)))
invoices = client.Invoices.create(fid, "2025-07-01", "2026-06-30", "INFLOW", raise_exception=True)
out["invoices_retrieved"] = len(invoices)
out["invoices_inflow_only"] = all(i["type"] == "INFLOW" for i in invoices)
returns = list(client.TaxReturns.list(link=fid))
out["tax_returns_listed"] = len(returns)
out["tax_returns_monthly_listed"] = sum(1 for r in returns if r.get("type") == "monthly")
yearly = client.TaxReturns.create(fid, "2024", "2025", raise_exception=True)
out["tax_returns_yearly_years"] = sorted(r["informacion_general"]["ejercicio"] for r in yearly)
out["tax_returns_yearly_personal"] = all("sueldos_salarios" in r for r in yearly)
monthly = client.TaxReturns.create(
    fid, type_=TaxReturnType.MONTHLY, date_from="2026-01-01", date_to="2026-06-30", raise_exception=True
)
out["tax_returns_monthly_periods"] = [r["informacion_general"]["periodo_declaracion"] for r in monthly]
out["tax_returns_monthly_personal"] = all(r["type"] == "monthly" and "isr" in r for r in monthly)
out["tax_returns_by_ejercicio"] = len(list(client.TaxReturns.list(link=fid, ejercicio=2025)))
out["tax_status_object"] = isinstance(client.TaxStatus.create(fid, raise_exception=True), dict)
out["tax_status_listed"] = len(list(client.TaxStatus.list(link=fid)))
out["tax_compliance_object"] = isinstance(client.TaxComplianceStatus.create(fid, raise_exception=True), dict)
out["tax_compliance_listed"] = len(list(client.TaxComplianceStatus.list(link=fid)))
out["tax_retentions_listed"] = len(list(client.TaxRetentions.list(link=fid)))
# The SDK sends the retention type in lower case.
received = client.TaxRetentions.create(fid, "2025-07-01", "2026-06-30", TaxRetentionType.INFLOW, raise_exception=True)
sent = client.TaxRetentions.create(fid, "2025-07-01", "2026-06-30", TaxRetentionType.OUTFLOW, raise_exception=True)
out["tax_retentions_inflow"] = len(received)
out["tax_retentions_outflow"] = len(sent)
out["tax_retentions_sides"] = all(r["receiver_id"] == "PFIS010101000" for r in received) and all(
    r["sender_id"] == "PFIS010101000" for r in sent
)
narrow = client.TaxRetentions.create(fid, "2026-05-01", "2026-06-30", TaxRetentionType.INFLOW, raise_exception=True)
out["tax_retentions_narrow"] = len(narrow)

# Fiscal, a company (12-character RFC): business shapes.
company = client.Links.create("tatooine_mx_fiscal", "ABC1111111A1", "moral", raise_exception=True)
business = list(client.TaxReturns.list(link=company["id"]))
out["business_yearly"] = sum(1 for r in business if "datos_adicionales" in r)
out["business_monthly"] = sum(1 for r in business if r.get("type") == "monthly" and "determinacion_isr" in r)

out["deleted"] = client.Links.delete(fid)
print(json.dumps(out))
