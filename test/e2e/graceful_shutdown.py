#!/usr/bin/env python3
"""SIGTERM under load: order-demo must answer what is in progress, refuse what is new, close
what is idle at once and what is stuck at the drain limit, then exit by itself.

    graceful_shutdown.py BASE_URL PID DRAIN_MS

Sends the SIGTERM itself, while requests are in flight. Exits non-zero naming the first broken
promise. Waits for the process to end (it is not our child: /proc tells when it has exited) and
prints how long it took; with_order_demo.sh then checks the exit code and the log.
"""
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request

base, pid, drain_ms = sys.argv[1].rstrip("/"), int(sys.argv[2]), int(sys.argv[3])
host, port = base.split("//")[1].split(":")
port = int(port)
failures = []


def fail(what):
    failures.append(what)
    print(f"!! {what}", file=sys.stderr)


def order_body(customer):
    return json.dumps({"customer_id": customer,
                       "lines": [{"sku": "S", "quantity": 1, "unit_price": 2.5}]}).encode()


def post_order(customer):
    req = urllib.request.Request(base + "/orders", data=order_body(customer), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, json.loads(r.read())


def read_response(sock, deadline):
    """The whole response on `sock` (the server closes after it when draining), or what came."""
    data = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def closed_by_server(sock, within):
    """Whether the server closes `sock` within `within` seconds (EOF or reset)."""
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def process_ended():
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] in ("Z", "X")  # exited, not reaped yet
    except (FileNotFoundError, ProcessLookupError):  # gone between open() and read()
        return True


# Ordinary traffic first: the service works before the signal.
for i in range(5):
    status, order = post_order(f"before-{i}")
    if status != 201:
        fail(f"POST /orders before the signal answered {status}")

# An idle keep-alive connection: one request answered, then nothing.
idle = socket.create_connection((host, port))
idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
if b"200 OK" not in idle.recv(65536):
    fail("GET /healthz on the keep-alive connection failed")

# Slow requests: headers and the first bytes of the body now, the rest trickling in after the
# signal. Each must still be answered (201), with "Connection: close".
slow_count = 4
slow_results = [None] * slow_count
body_started = threading.Barrier(slow_count + 1)
signal_sent = threading.Event()


def slow_request(i):
    body = order_body(f"slow-{i}")
    s = socket.create_connection((host, port))
    s.sendall(b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:5])
    body_started.wait()
    signal_sent.wait()
    rest = body[5:]
    step = max(1, len(rest) // 6)
    for k in range(0, len(rest), step):
        time.sleep(0.1)  # about 0.6 s in all: well inside the drain time
        s.sendall(rest[k:k + step])
    slow_results[i] = read_response(s, time.monotonic() + 10)
    s.close()


slow_threads = [threading.Thread(target=slow_request, args=(i,)) for i in range(slow_count)]
for t in slow_threads:
    t.start()

# A stream of quick requests on fresh connections: some before the signal, and once the server
# stops accepting, new connections must be refused (not hang).
stream_log = []
stream_stop = threading.Event()


def turned_away(e):
    # Refused at connect (the listening socket is closed), or reset before any answer (it sat in
    # the kernel's backlog when the socket closed): either way the request was not taken.
    return isinstance(e, (ConnectionRefusedError, ConnectionResetError))


def request_stream():
    while not stream_stop.is_set():
        try:
            status, _ = post_order("stream")
            stream_log.append(("ok", status, time.monotonic()))
        except Exception as e:  # noqa: BLE001 - every other outcome is a broken promise
            reason = getattr(e, "reason", e) if isinstance(e, urllib.error.URLError) else e
            if turned_away(reason):
                stream_log.append(("refused", repr(reason), time.monotonic()))
                return
            stream_log.append(("error", repr(reason), time.monotonic()))
        time.sleep(0.05)


stream_thread = threading.Thread(target=request_stream)
stream_thread.start()

# A stuck client: half a request, never the rest. It must be cut at the drain limit, not earlier.
stuck = socket.create_connection((host, port))
stuck.sendall(b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"cust")

body_started.wait()
time.sleep(0.3)  # the stream has run a few requests
signalled_at = time.monotonic()
os.kill(pid, signal.SIGTERM)
signal_sent.set()

if not closed_by_server(idle, 1.0):
    fail("the idle keep-alive connection was not closed within 1 s of SIGTERM")
idle.close()

for t in slow_threads:
    t.join(15)
for i, r in enumerate(slow_results):
    head = (r or b"").split(b"\r\n\r\n")[0].lower()
    if not head.startswith(b"http/1.1 201"):
        fail(f"slow request {i} in flight at SIGTERM was not answered 201: {r[:80] if r else r!r}")
    elif b"connection: close" not in head:
        fail(f"slow request {i} was answered without 'Connection: close' while draining")

stream_thread.join(15)
stream_stop.set()
oks = [e for e in stream_log if e[0] == "ok" and e[1] == 201]
if len(oks) < 2:
    fail(f"the request stream got {len(oks)} answers before the signal: {stream_log}")
errors = [e for e in stream_log if e[0] == "error" or (e[0] == "ok" and e[1] != 201)]
if errors:
    fail(f"the request stream saw errors: {errors}")
if not stream_log or stream_log[-1][0] != "refused":
    fail(f"new connections were not refused after SIGTERM: {stream_log[-3:]}")
elif stream_log[-1][2] - signalled_at > 1.0:
    fail("new connections were still accepted more than 1 s after SIGTERM")

stuck_closed = closed_by_server(stuck, drain_ms / 1000 + 3)
cut_after = time.monotonic() - signalled_at
if not stuck_closed:
    fail(f"the stuck request was not cut within drain time + 3 s ({drain_ms} ms + 3 s)")
elif cut_after < drain_ms / 1000 - 0.2:
    fail(f"the stuck request was cut after {cut_after:.2f} s, before the drain time of {drain_ms} ms")
stuck.close()

deadline = signalled_at + drain_ms / 1000 + 5
while not process_ended() and time.monotonic() < deadline:
    time.sleep(0.02)
took = time.monotonic() - signalled_at
if not process_ended():
    fail(f"order-demo still runs {took:.1f} s after SIGTERM (drain time {drain_ms} ms)")
else:
    print(f"graceful shutdown: {len(oks)} streamed requests, {slow_count} slow requests answered while "
          f"draining, stuck request cut after {cut_after:.2f} s, process ended {took:.2f} s after SIGTERM")
sys.exit(1 if failures else 0)
