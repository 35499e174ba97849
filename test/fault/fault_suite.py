#!/usr/bin/env python3
"""The fault-injection suite: order-demo's production topology (2 API replicas with outbox
relays, 1 projector) on real redis-server and PostgreSQL, with faults injected while orders flow.

Every case ends by checking the promise: every event appended to PostgreSQL is in the Redis
stream exactly once (relay), and every event reached the order-summary consumer group exactly
once in effect (the read model's version of each order equals the order's stream version).
Prints a table: case, events appended, delivered, lost, duplicated, time to recover; writes it
as Markdown to the file named by --report. Exits non-zero if any case lost or duplicated events.

Needs ES_TEST_REDIS_PORT/_CONF, ES_TEST_PG_CONNINFO/_CTL (scripts/lib/servers.sh), and
--demo/--admin paths to the binaries.
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

from proxy import Proxy

ap = argparse.ArgumentParser()
ap.add_argument("--demo", required=True)
ap.add_argument("--admin", required=True)
ap.add_argument("--orders", type=int, default=300, help="orders per case (3 events each on average)")
ap.add_argument("--soak-events", type=int, default=6000)
ap.add_argument("--cases", default="all")
ap.add_argument("--report", default="")
args = ap.parse_args()

REDIS_PORT = int(os.environ["ES_TEST_REDIS_PORT"])
REDIS_CONF = os.environ["ES_TEST_REDIS_CONF"]
PG = os.environ["ES_TEST_PG_CONNINFO"]
PG_CTL = os.environ["ES_TEST_PG_CTL"]
PG_PORT = os.environ["ES_TEST_PG_PORT"]
work = tempfile.mkdtemp(prefix="es-fault-")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def psql(sql):
    out = subprocess.run(["psql", PG, "-At", "-c", sql], check=True, capture_output=True, text=True).stdout
    return [line.split("|") for line in out.strip().splitlines() if line]


def redis_cli(*a):
    return subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(REDIS_PORT), *a],
                          capture_output=True, text=True).stdout.strip()


class Service:
    """One order-demo process."""

    def __init__(self, name, role, schema, prefix, store=PG, bus=None):
        self.name, self.role, self.schema, self.prefix = name, role, schema, prefix
        self.store, self.bus = store, bus or f"redis://127.0.0.1:{REDIS_PORT}"
        self.proc = None
        self.url = None
        self.start()

    def start(self):
        port_file = os.path.join(work, f"{self.name}-{uuid.uuid4().hex[:6]}.port")
        self.log_path = os.path.join(work, f"{self.name}.log")
        self.proc = subprocess.Popen(
            [args.demo, "--role", self.role, "--store", self.store, "--bus", self.bus, "--schema", self.schema,
             "--stream-prefix", self.prefix, "--port", "0", "--port-file", port_file, "--log-level", "warn",
             "--relay-lease-ms", "1000", "--pending-idle-ms", "1000"],
            stdout=open(self.log_path, "a"), stderr=subprocess.STDOUT)
        for _ in range(400):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {open(self.log_path).read()[-2000:]}")
            time.sleep(0.025)
        self.url = f"http://127.0.0.1:{open(port_file).read().strip()}"

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def http(method, url, body=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.loads(e.read() or b"null")
        except ValueError:
            return e.code, None
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0, None


class Load:
    """Places, pays and ships orders through the API replicas, retrying failed calls with the same
    order id: a command that already took effect answers 422 ("already …"), which counts as done."""

    def __init__(self, apis, count, workers=6):
        self.apis, self.count, self.workers = apis, count, workers
        self.done = 0
        self.lock = threading.Lock()
        self.failures = 0

    def _call(self, i, path, body, ok_statuses):
        status, reply = 0, None
        deadline = time.time() + 180  # replicas may be down and restarting for a while under load
        attempt = 0
        while time.time() < deadline:
            attempt += 1
            api = self.apis[(i + attempt) % len(self.apis)]()
            status, reply = http("POST", api + path, body)
            if status in ok_statuses:
                return status
            if status == 422 and reply and "already" in reply.get("error", ""):
                return status
            with self.lock:
                self.failures += 1
            time.sleep(min(0.05 * attempt, 1.0))
        raise RuntimeError(f"POST {path} kept failing: last answer {status} {reply}")

    def _order(self, i):
        oid = f"o{i}-{uuid.uuid4().hex[:10]}"
        self._call(i, "/orders", {"id": oid, "customer_id": f"c-{i % 17}",
                                  "lines": [{"sku": f"S{i % 5}", "quantity": 1 + i % 3, "unit_price": 3.5}]}, {201})
        self._call(i, f"/orders/{oid}/pay", {"payment_reference": f"p-{i}"}, {200})
        if i % 2 == 0:
            self._call(i, f"/orders/{oid}/ship", {"tracking_number": f"T-{i}"}, {200})
        with self.lock:
            self.done += 1

    def run(self):
        try:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                list(pool.map(self._order, range(self.count)))
        except Exception as e:  # reported by the case: an order the service never accepted
            self.error = str(e)
            log(f"load: {e}")

    error = None


class Topology:
    def __init__(self, case, store=PG, bus=None):
        self.schema = "f_" + case.replace("-", "_") + "_" + uuid.uuid4().hex[:6]
        self.prefix = "fault-" + case + "-" + uuid.uuid4().hex[:6]
        self.api = [Service(f"{case}-api-1", "api", self.schema, self.prefix, store, bus),
                    Service(f"{case}-api-2", "api", self.schema, self.prefix, store, bus)]
        self.projector = Service(f"{case}-projector", "projector", self.schema, self.prefix, store, bus)

    def api_urls(self):
        return [lambda s=s: s.url for s in self.api]

    def relay_holder(self):
        for s in self.api:
            status, stats = http("GET", s.url + "/stats")
            if status == 200 and stats.get("streams", {}).get("relay", {}).get("active"):
                return s
        return None

    def stop(self):
        for s in self.api + [self.projector]:
            s.stop()


def verify(topo, timeout=90):
    """Waits until the system is caught up; returns (appended, delivered, lost, duplicated, seconds)."""
    started = time.time()
    while True:
        # Rows the poison case writes by hand ('rogue…') are not orders: they must be dead-lettered.
        appended = int(psql(f'SELECT count(*) FROM "{topo.schema}".events WHERE aggregate_id NOT LIKE \'rogue%\'')[0][0])
        versions = dict((r[0], int(r[1])) for r in psql(
            f'SELECT aggregate_id, max(stream_version) FROM "{topo.schema}".events '
            f'WHERE aggregate_id NOT LIKE \'rogue%\' GROUP BY aggregate_id'))
        model = dict((r[0], int(r[1])) for r in psql(f'SELECT id, version FROM "{topo.schema}_views".order_summary'))
        delivered = sum(min(model.get(k, 0), v) for k, v in versions.items())
        info = json.loads(subprocess.run([args.admin, "bus", "info", "--json", "--bus", f"redis://127.0.0.1:{REDIS_PORT}",
                                          "--stream-prefix", topo.prefix], capture_output=True, text=True).stdout or "{}")
        pending = info.get("total_pending", -1)
        if (delivered == appended and pending == 0) or time.time() - started > timeout:
            break
        time.sleep(0.3)
    history = json.loads(subprocess.run([args.admin, "bus", "history", "--count", "10000000", "--json", "--bus",
                                         f"redis://127.0.0.1:{REDIS_PORT}", "--stream-prefix", topo.prefix],
                                        capture_output=True, text=True).stdout or "[]")
    ids = [e["event_id"] for e in history]
    stream_dups = len(ids) - len(set(ids))
    stored_ids = set(r[0] for r in psql(f'SELECT event_id FROM "{topo.schema}".events'))
    missing_in_stream = len(stored_ids - set(ids))
    lost = max(appended - delivered, missing_in_stream)
    over_applied = sum(1 for k, v in model.items() if v > versions.get(k, 0))
    dlq = info.get("dlq_length", -1)
    return dict(appended=appended, delivered=delivered, lost=lost, duplicated=stream_dups + over_applied,
                recover=time.time() - started, dlq=dlq, pending=pending)


results = []


def record(case, r, note, fault_at=None, healed_at=None):
    recover = (time.time() - fault_at) if fault_at else r["recover"]
    row = dict(case=case, **r, recover_s=recover, note=note)
    results.append(row)
    ok = r["lost"] == 0 and r["duplicated"] == 0
    log(f"{'PASS' if ok else 'FAIL'} {case}: appended {r['appended']}, delivered {r['delivered']}, lost {r['lost']}, "
        f"duplicated {r['duplicated']}, DLQ {r['dlq']}, recovered in {recover:.1f} s")


def run_with_fault(case, inject, note, orders=None, topo_kwargs=None):
    log(f"case {case}: {note}")
    topo = Topology(case, **(topo_kwargs or {}))
    try:
        load = Load(topo.api_urls(), orders or args.orders)
        t = threading.Thread(target=load.run)
        t.start()
        while load.done < (orders or args.orders) // 3 and t.is_alive():
            time.sleep(0.05)
        fault_at = time.time()
        inject(topo)
        t.join()
        r = verify(topo)
        if load.error:
            r["lost"] = max(r["lost"], 1)  # the service stopped accepting commands: a failure too
        record(case, r, note + (f"; {load.failures} client retries" if load.failures else "")
               + (f"; load failed: {load.error}" if load.error else ""), fault_at)
    finally:
        topo.stop()


def kill_projector(topo):
    topo.projector.kill9()
    time.sleep(0.5)
    topo.projector = Service(topo.projector.name + "-b", "projector", topo.schema, topo.prefix)


def kill_relay(topo):
    holder = topo.relay_holder()
    if holder is None:
        raise RuntimeError("no API replica holds the relay lease")
    holder.kill9()
    time.sleep(1.5)  # the other replica takes the lease after it expires (1 s here)
    holder.start()


def restart_redis(topo):
    pid = open(os.path.join(os.path.dirname(REDIS_CONF), "redis.pid")).read().strip()
    os.kill(int(pid), signal.SIGKILL)  # no SHUTDOWN: what AOF everysec has synced is all there is
    time.sleep(0.5)
    subprocess.run(["redis-server", REDIS_CONF], check=True)
    for _ in range(100):
        if redis_cli("PING") == "PONG":
            break
        time.sleep(0.05)


def restart_postgres(topo):
    subprocess.run([PG_CTL, "restart", "-m", "fast"], check=True, capture_output=True)


def with_proxies(case, fault, note):
    redis_proxy = Proxy(REDIS_PORT)
    pg_proxy = Proxy(int(PG_PORT))
    store = PG.replace(f"port={PG_PORT}", f"port={pg_proxy.port}")
    bus = f"redis://127.0.0.1:{redis_proxy.port}"

    def inject(topo):
        fault(redis_proxy, pg_proxy)

    run_with_fault(case, inject, note, topo_kwargs=dict(store=store, bus=bus))


def drop(rp, pp):
    rp.drop()
    pp.drop()


def stall(rp, pp):
    rp.stall(True)
    pp.stall(True)
    time.sleep(3)
    rp.stall(False)
    pp.stall(False)


def half_open(rp, pp):
    rp.set_half_open(True)
    pp.set_half_open(True)
    time.sleep(4)  # Redis health checks and PostgreSQL statement timeouts notice
    rp.set_half_open(False)
    pp.set_half_open(False)


def poison(case):
    log(f"case {case}: malformed entries in the stream and a malformed row in PostgreSQL")
    topo = Topology(case)
    try:
        load = Load(topo.api_urls(), args.orders)
        t = threading.Thread(target=load.run)
        t.start()
        fault_at = time.time()
        redis_cli("XADD", topo.prefix + ":stream", "*", "event_type", "OrderPlaced", "garbage", "1")
        redis_cli("XADD", topo.prefix + ":stream", "*", "event_id", "not-a-uuid", "payload", "{")
        # Rows written around the store: an unknown type, and an OrderPlaced whose payload is not one.
        psql(f"""INSERT INTO "{topo.schema}".events (stream_id, stream_version, event_id, event_type, schema_version,
                    aggregate_type, aggregate_id, payload, metadata, occurred_at) VALUES
                 ('rogue-1', 1, gen_random_uuid(), 'NoSuchEvent', 1, 'rogue', 'rogue-1', '{{}}', '{{}}', now()),
                 ('order-rogue-2', 1, gen_random_uuid(), 'OrderPlaced', 1, 'order', 'rogue-2', '{{"customer_id": 5}}',
                  '{{}}', now())""")
        t.join()
        r = verify(topo)
        # Each poison entry is dead-lettered with its reason (once per consumer group that handles
        # it: the malformed OrderPlaced only by order-summary, after its retries); nothing else is
        # affected. 2 stream entries x 2 groups + unknown type x 2 groups + 1 = 7.
        dead = []
        for _ in range(100):
            dead = json.loads(subprocess.run([args.admin, "dlq", "list", "--json", "--bus", f"redis://127.0.0.1:{REDIS_PORT}",
                                              "--stream-prefix", topo.prefix], capture_output=True, text=True).stdout)
            if len(dead) >= 7:
                break
            time.sleep(0.2)
        reasons = sorted({d["reason"].split(":")[0] for d in dead})
        note = f"{len(dead)} dead letters ({'; '.join(reasons)})"
        if len(dead) != 7:
            r["lost"] = max(r["lost"], 1)
            note += " — expected 7"
        record(case, r, note, fault_at)
    finally:
        topo.stop()


def soak(case):
    log(f"case {case}: {args.soak_events} events while consumers are killed and restarted at random")
    orders = max(1, args.soak_events * 2 // 5)  # 2.5 events per order on average
    topo = Topology(case)
    try:
        load = Load(topo.api_urls(), orders, workers=8)
        t = threading.Thread(target=load.run)
        t.start()
        kills = 0
        rng = random.Random(7)
        while t.is_alive():
            time.sleep(rng.uniform(1.0, 3.0))
            if not t.is_alive():
                break
            victim = rng.choice(["projector", "api-1", "api-2"])
            if victim == "projector":
                kill_projector(topo)
            else:
                s = topo.api[0 if victim == "api-1" else 1]
                s.kill9()
                time.sleep(0.3)
                s.start()
            kills += 1
        fault_at = time.time()
        r = verify(topo, timeout=300)
        record(case, r, f"{kills} kill -9s; {load.failures} client retries", fault_at)
    finally:
        topo.stop()


cases = {
    "consumer-kill": lambda: run_with_fault("consumer-kill", kill_projector,
                                            "kill -9 of the projector mid-batch, a new one takes over its pending entries"),
    "relay-kill": lambda: run_with_fault("relay-kill", kill_relay,
                                         "kill -9 of the API replica running the active relay"),
    "redis-restart": lambda: run_with_fault("redis-restart", restart_redis,
                                            "kill -9 and restart of redis-server (AOF everysec) while publishing and consuming"),
    "postgres-restart": lambda: run_with_fault("postgres-restart", restart_postgres,
                                               "PostgreSQL fast restart during appends; clients retry with the same order ids"),
    "tcp-drop": lambda: with_proxies("tcp-drop", drop, "every connection to Redis and PostgreSQL reset by a proxy"),
    "tcp-stall": lambda: with_proxies("tcp-stall", stall, "traffic to both servers stalled for 3 s"),
    "tcp-half-open": lambda: with_proxies("tcp-half-open", half_open, "both servers' replies swallowed for 4 s (half-open)"),
    "poison": lambda: poison("poison"),
    "soak": lambda: soak("soak"),
}
selected = list(cases) if args.cases == "all" else args.cases.split(",")
failed = False
for name in selected:
    try:
        cases[name]()
    except Exception as e:  # a case that cannot run is a failure, never a skip
        log(f"FAIL {name}: {e}")
        results.append(dict(case=name, appended=0, delivered=0, lost=-1, duplicated=-1, recover_s=0, dlq=-1,
                            pending=-1, note=f"error: {e}"))
        failed = True

table = ["| case | events appended | delivered | lost | duplicated | time to recover | notes |",
         "|---|---|---|---|---|---|---|"]
for r in results:
    table.append(f"| {r['case']} | {r['appended']} | {r['delivered']} | {r['lost']} | {r['duplicated']} | "
                 f"{r['recover_s']:.1f} s | {r['note']} |")
print("\n".join(table))
if args.report:
    with open(args.report, "w") as f:
        f.write("\n".join(table) + "\n")
bad = [r for r in results if r["lost"] != 0 or r["duplicated"] != 0]
passed = len(results) - len(bad)
print(f"fault suite: {passed} passed, {len(bad)} failed")
sys.exit(1 if bad or failed else 0)
