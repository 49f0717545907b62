"""Drives belvo-emulator with Belvo's official Python SDK (belvo-python from PyPI).

Input: env BELVO_URL, BELVO_SECRET_ID, BELVO_SECRET_PASSWORD. Output: one JSON line of
observations on stdout; the Rust test (tests/tools/sdk.rs) asserts on it. Any SDK exception
fails the script.
"""
import json
import os

import belvo
from belvo.client import Client
from belvo.exceptions import BelvoAPIException, RequestError

url = os.environ["BELVO_URL"]
sid = os.environ["BELVO_SECRET_ID"]
spw = os.environ["BELVO_SECRET_PASSWORD"]
out = {"sdk": "belvo-python", "version": getattr(belvo, "__version__", "?")}

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

# A widget token (the SDK sends the keys in the body too), and one in update mode.
token = client.WidgetToken.create()
out["token_keys"] = sorted(token.keys())
update = client.WidgetToken.create(link=link["id"], scopes="read_institutions,write_links,read_links")
out["update_token_ok"] = "access" in update

# List and retrieve data: the SDK follows `next` until it is null.
out["links_listed"] = [l["id"] for l in client.Links.list()]
out["detail"] = client.Links.get(link["id"])["id"]
accounts = list(client.Accounts.list(link=link["id"]))
out["accounts"] = len(accounts)
txns = list(client.Transactions.list(link["id"]))
out["transactions"] = len(txns)
out["transaction_ids_unique"] = len({t["id"] for t in txns}) == len(txns)
out["first_transaction"] = client.Transactions.get(txns[0]["id"])["id"] == txns[0]["id"]
inflow = list(client.Transactions.list(link["id"], type="INFLOW"))
out["inflow_only"] = all(t["type"] == "INFLOW" for t in inflow) and len(inflow) > 0
retrieved = client.Transactions.create(link["id"], "2026-05-01", date_to="2026-06-30", raise_exception=True)
out["retrieved"] = len(retrieved)
out["owners"] = len(client.Owners.create(link["id"], raise_exception=True))
out["incomes_object"] = isinstance(client.Incomes.create(link["id"], raise_exception=True), dict)

fiscal = client.Links.create("tatooine_mx_fiscal", "PFIS010101000", "individual", raise_exception=True)
out["invoices"] = len(list(client.Invoices.list(link=fiscal["id"])))
out["invoices_retrieved"] = len(client.Invoices.create(fiscal["id"], "2025-07-01", "2026-06-30", "INFLOW", raise_exception=True))
out["deleted"] = client.Links.delete(fiscal["id"])
print(json.dumps(out))
