#!/usr/bin/env python3
"""The peer of data-service's historical-sync benchmark: what a Belvo user would write.

belvo-python's list generator pulls every transaction of each link (page by page, following
`next`), and psycopg's `executemany` upserts each page into the same `records` table that
data-service uses, one commit per page. Prints {"rows": N, "seconds": S} as JSON.
Needs belvo-python and psycopg (`make bench-deps`).
"""

import argparse
import json
import sys
import time

try:
    import psycopg
    from belvo.client import Client
except ImportError as e:  # the bench reports the reason and skips the peer
    sys.exit(f"missing Python package: {e.name} (run `make bench-deps`)")

UPSERT = """
INSERT INTO records (resource, id, link_id, account_id, day, amount, currency, kind, status,
    description, belvo_created_at, generation, synced_at, body)
VALUES ('TRANSACTIONS', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 1, %s, %s)
ON CONFLICT (resource, id) DO UPDATE SET link_id = excluded.link_id,
    account_id = excluded.account_id, day = excluded.day, amount = excluded.amount,
    currency = excluded.currency, kind = excluded.kind, status = excluded.status,
    description = excluded.description, belvo_created_at = excluded.belvo_created_at,
    generation = excluded.generation, synced_at = excluded.synced_at, body = excluded.body
"""


def text(value):
    return "" if value is None else str(value)


def created_ms(value):
    if not value:
        return None
    from datetime import datetime

    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def row(link, t, now):
    account = t.get("account") or {}
    return (
        t["id"],
        link,
        text(account.get("id") if isinstance(account, dict) else account),
        text(t.get("value_date"))[:10],
        text(t.get("amount")),
        text(t.get("currency")),
        text(t.get("type")),
        text(t.get("status")),
        text(t.get("description")),
        created_ms(t.get("created_at")),
        now,
        json.dumps(t),
    )


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--secret-id", required=True)
    p.add_argument("--secret-password", required=True)
    p.add_argument("--db", required=True)
    p.add_argument("--links", required=True)
    p.add_argument("--page-size", type=int, default=1000)
    a = p.parse_args()

    client = Client(a.secret_id, a.secret_password, a.url)
    rows = 0
    started = time.perf_counter()
    with psycopg.connect(a.db) as conn:
        for link in a.links.split(","):
            page = []
            for t in client.Transactions.list(link=link, page_size=a.page_size):
                page.append(row(link, t, int(time.time() * 1000)))
                if len(page) == a.page_size:
                    with conn.cursor() as cur:
                        cur.executemany(UPSERT, page)
                    conn.commit()
                    rows += len(page)
                    page = []
            if page:
                with conn.cursor() as cur:
                    cur.executemany(UPSERT, page)
                conn.commit()
                rows += len(page)
    print(json.dumps({"rows": rows, "seconds": time.perf_counter() - started}))


if __name__ == "__main__":
    main()
