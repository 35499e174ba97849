#!/usr/bin/env python3
"""Drives order-demo through a short scenario over HTTP and prints what happened.

Exits non-zero if the service does not behave as documented, so the test suite runs it too.
"""
import json
import sys
import time
import urllib.error
import urllib.request

base = sys.argv[1].rstrip("/")


def call(method, path, body=None, headers=None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def step(title, method, path, body=None, expect=200, headers=None):
    status, reply = call(method, path, body, headers)
    mark = "ok " if status == expect else "!! "
    print(f"{mark}{method:4} {path:45} -> {status}  {title}")
    if status != expect:
        print(f"    expected {expect}, got {status}: {json.dumps(reply)}", file=sys.stderr)
        sys.exit(1)
    return reply


print(f"order-demo scenario against {base}\n")
first = step("place an order", "POST", "/orders",
             {"customer_id": "c-1", "lines": [{"sku": "A", "quantity": 2, "unit_price": 10.5},
                                             {"sku": "B", "quantity": 1, "unit_price": 4.0}]}, 201)
oid = first["id"]
print(f"    order {oid}: total {first['total']}, version {first['version']}")
step("pay it", "POST", f"/orders/{oid}/pay", {"payment_reference": "pay-123"})
rejected = step("cancel with a stale If-Match (rejected)", "POST", f"/orders/{oid}/cancel",
                {"reason": "changed my mind"}, 409, {"If-Match": "1"})
print(f"    {rejected['error']}")
shipped = step("ship it", "POST", f"/orders/{oid}/ship", {"tracking_number": "TRACK-42"})
print(f"    status {shipped['status']}, tracking {shipped['tracking_number']}, version {shipped['version']}")
rule = step("cancel a shipped order (rule violated)", "POST", f"/orders/{oid}/cancel", {"reason": "too late"}, 422)
print(f"    {rule['error']}")

second = step("place a second order", "POST", "/orders",
              {"customer_id": "c-2", "lines": [{"sku": "C", "quantity": 3, "unit_price": 1.25}]}, 201)
step("cancel it", "POST", f"/orders/{second['id']}/cancel", {"reason": "customer asked"})
step("malformed JSON (rejected)", "POST", "/orders", b"{not json", 400)
step("unknown order", "GET", "/orders/no-such-order", None, 404)

events = step("read the first order's events", "GET", f"/orders/{oid}/events")
for e in events["events"]:
    print(f"    #{e['stream_version']} {e['event_type']:15} position {e['global_position']}")

# The projection is updated by bus subscribers: immediately with the in-memory bus, a moment
# later through Redis (and the outbox relay on PostgreSQL).
want = {oid: "shipped", second["id"]: "cancelled"}
for _ in range(100):
    listing = call("GET", "/orders?limit=10000")[1]
    statuses = {row["id"]: row["status"] for row in (listing or {}).get("orders", [])}
    if all(statuses.get(k) == v for k, v in want.items()):
        break
    time.sleep(0.1)
print("\nprojection (GET /orders):")
for row in listing["orders"]:
    if row["id"] in want:
        print(f"    {row['id']}  {row['customer_id']:4} {row['status']:10} total {row['total']}")
if not all(statuses.get(k) == v for k, v in want.items()):
    print(f"projection does not show the expected statuses: { {k: statuses.get(k) for k in want} }", file=sys.stderr)
    sys.exit(1)
stats = step("service statistics", "GET", "/stats")
print(f"    events appended {stats['events_appended']}, published {stats['bus']['published']}, "
      f"handler failures {stats['bus']['handler_failures']}, notifications {stats['notifications_sent']}")
print("\nscenario finished: every step behaved as documented")
