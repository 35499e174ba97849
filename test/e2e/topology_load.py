#!/usr/bin/env python3
"""Drives N orders through two API replicas and checks the projector's read model.

usage: topology_load.py N API1_URL API2_URL PROJECTOR_URL

Each order is placed, paid and (every third) shipped through alternating replicas; then every
order must be visible in the projector's GET /orders with the right status, the DLQ must be
empty and nothing may be pending. Prints a one-line summary; exits non-zero otherwise.
"""
import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

n = int(sys.argv[1])
apis = [u.rstrip("/") for u in sys.argv[2:4]]
projector = sys.argv[4].rstrip("/")
run = uuid.uuid4().hex[:8]
customer = f"topo-{run}"


def call(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    for attempt in range(5):
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2 * (attempt + 1))
    raise RuntimeError(f"{method} {url} failed five times")


def order_flow(i):
    api = apis[i % 2]
    status, o = call("POST", f"{api}/orders", {"customer_id": customer,
                                               "lines": [{"sku": f"S{i % 7}", "quantity": 1 + i % 3, "unit_price": 2.5}]})
    assert status == 201, (status, o)
    other = apis[(i + 1) % 2]
    status, paid = call("POST", f"{other}/orders/{o['id']}/pay", {"payment_reference": f"p-{i}"})
    assert status == 200, (status, paid)
    expected = "paid"
    if i % 3 == 0:
        status, shipped = call("POST", f"{api}/orders/{o['id']}/ship", {"tracking_number": f"T-{i}"})
        assert status == 200, (status, shipped)
        expected = "shipped"
    return o["id"], expected


started = time.time()
with ThreadPoolExecutor(max_workers=8) as pool:
    expected = dict(pool.map(order_flow, range(n)))
api_seconds = time.time() - started

deadline = time.time() + 120
while True:
    status, listing = call("GET", f"{projector}/orders?customer={customer}&limit=10000")
    seen = {row["id"]: row["status"] for row in listing["orders"]} if status == 200 else {}
    if seen == expected or time.time() > deadline:
        break
    time.sleep(0.25)
# Every consumer group must also finish: nothing left pending (handled and acknowledged).
while time.time() < deadline:
    status, stats = call("GET", f"{projector}/stats")
    if stats.get("streams", {}).get("total_pending") == 0:
        break
    time.sleep(0.25)
missing = [k for k in expected if k not in seen]
wrong = [k for k in expected if k in seen and seen[k] != expected[k]]
status, stats = call("GET", f"{projector}/stats")
streams = stats.get("streams", {})
print(f"{n} orders through 2 API replicas in {api_seconds:.1f} s; projector shows {len(seen)}; "
      f"missing {len(missing)}, wrong status {len(wrong)}, DLQ {streams.get('dlq_length')}, "
      f"pending {streams.get('total_pending')}")
if missing or wrong or streams.get("dlq_length") != 0 or streams.get("total_pending") != 0:
    sys.exit(1)
