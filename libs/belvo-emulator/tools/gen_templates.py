#!/usr/bin/env python3
"""Builds src/data/templates.json: one example object per Belvo schema the emulator serves.

Each object is assembled from the property-level `example` values of Belvo's official OpenAPI
specs (vendored in libs/belvo/openapi), so the emulator's shapes follow the specs field by field.
The emulator then overrides ids, links, dates and amounts per link. Re-run after a spec update:
    python3 libs/belvo-emulator/tools/gen_templates.py
"""
import json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
SPECS = os.path.join(HERE, "..", "..", "belvo", "openapi")
CUR = json.load(open(os.path.join(SPECS, "belvo-openapi-1.223.0.json")))
OLD = json.load(open(os.path.join(SPECS, "belvo-openapi-1.35.0.json")))


def resolve(spec, node):
    while isinstance(node, dict) and "$ref" in node:
        parts = node["$ref"].lstrip("#/").split("/")
        node = spec
        for p in parts:
            node = node[p]
    return node


def build(spec, node, depth=0):
    node = resolve(spec, node)
    if depth > 12:
        return None
    if "allOf" in node:
        out = {}
        for sub in node["allOf"]:
            v = build(spec, sub, depth + 1)
            if isinstance(v, dict):
                out.update(v)
        extra = {k: v for k, v in node.items() if k != "allOf"}
        if extra.get("properties"):
            out.update(build(spec, extra, depth + 1) or {})
        return out
    for key in ("oneOf", "anyOf"):
        if key in node:
            return build(spec, node[key][0], depth + 1)
    t = node.get("type")
    if t == "object" or "properties" in node:
        if "properties" not in node:
            return node.get("example", {})
        out = {}
        for name, prop in node["properties"].items():
            out[name] = build_prop(spec, prop, depth + 1)
        return out
    return scalar(spec, node, depth)


def build_prop(spec, prop, depth):
    r = resolve(spec, prop)
    if "example" in prop:
        return prop["example"]
    if "example" in r and r.get("type") not in ("object",) and "properties" not in r:
        return r["example"]
    return build(spec, prop, depth)


def scalar(spec, node, depth):
    t = node.get("type")
    if "example" in node:
        return node["example"]
    if "enum" in node:
        vals = [v for v in node["enum"] if v is not None]
        return vals[0] if vals else None
    if t == "array":
        item = build(spec, node.get("items", {}), depth + 1)
        return [] if item is None else [item]
    if t == "string":
        f = node.get("format")
        return {"date": "2023-01-01", "date-time": "2023-01-01T00:00:00.000Z",
                "uuid": "0d3ffb69-f83b-456e-ad8e-208d0998d71d"}.get(f, "string")
    if t == "integer":
        return 1
    if t == "number":
        return 1.5
    if t == "boolean":
        return False
    return None


WANT_CUR = ["Link", "InstitutionPublicApi", "Income", "RecurringExpenses", "RiskInsights",
            "EmploymentRecord", "CurrentEmployment", "EmploymentMetric", "InvoiceWithIdSat",
            "TaxReturnPersonal", "TaxReturnBusiness", "TaxReturnPersonalMonthly",
            "TaxStatusSat", "TaxComplianceStatus", "TaxRetentions", "FinancialStatement"]
WANT_OLD = ["Account", "Transaction", "Balance", "Owner", "Institution"]

out = {}
cs, os_ = CUR["components"]["schemas"], OLD["components"]["schemas"]
for n in WANT_CUR:
    if n in cs:
        out[n] = build(CUR, cs[n])
    else:
        print("missing in 1.223.0:", n, file=sys.stderr)
for n in WANT_OLD:
    out["legacy." + n] = build(OLD, os_[n])
ex = CUR["components"]["examples"]
out["example.imss"] = ex["imss_example"]["value"]
# Tax returns: the spec's full examples of its four shapes (personal/business x yearly/monthly);
# their property schemas are free-form objects, so the examples are the only field-level source.
for key, name in [("TaxReturnPersonal", "TaxReturnPersonalListDetail"),
                  ("TaxReturnPersonalMonthly", "TaxReturnPersonalListMonthlyPFAEDetail"),
                  ("TaxReturnBusiness", "TaxReturnBusinessListDetail"),
                  ("TaxReturnBusinessMonthly", "TaxReturnBusinessListMonthlyDetail")]:
    out["example." + key] = ex[name]["value"]
json.dump(out, open(os.path.join(HERE, "..", "src", "data", "templates.json"), "w"), indent=1, sort_keys=True)
print("wrote", len(out), "templates")
