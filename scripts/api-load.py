#!/usr/bin/env python3
"""Paced HTTP load on the traceledger API for scripts/bench.sh: GET /v1/transactions/{id} at --rate
requests/s in all (trace ids from a loadgen manifest), over --threads keep-alive connections, until
SIGTERM/SIGINT; then prints one JSON object: requests, errors, seconds, achieved rate, p50/p99 ms, and
every sample as [wall-clock ns at start, ms or -1 for an error] so that a caller can cut a time window."""
import argparse, http.client, json, signal, sys, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--manifest", required=True)
ap.add_argument("--rate", type=float, default=1000)
ap.add_argument("--threads", type=int, default=16)
ap.add_argument("--max-ids", type=int, default=5000)
a = ap.parse_args()

ids = sorted(json.load(open(a.manifest))["traces"].keys())[: a.max_ids] or ["0" * 31 + "1"]
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
lock = threading.Lock()
lat, errors = [], [0]

def worker(k):
    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
    interval = a.threads / a.rate
    nxt, i, mine, errs = time.monotonic(), k, [], 0
    while not stop.is_set():
        t0, wall = time.monotonic(), time.time_ns()
        try:
            conn.request("GET", "/v1/transactions/" + ids[i % len(ids)])
            r = conn.getresponse(); r.read()
            if r.status == 200: mine.append((wall, (time.monotonic() - t0) * 1000))
            else: errs += 1; mine.append((wall, -1))
        except Exception:
            errs += 1; mine.append((wall, -1))
            conn.close(); conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
            time.sleep(0.05)
        i += a.threads
        nxt += interval
        d = nxt - time.monotonic()
        if d > 0: time.sleep(d)
        else: nxt = time.monotonic()
    with lock:
        lat.extend(mine); errors[0] += errs

start = time.monotonic()
ts = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(a.threads)]
for t in ts: t.start()
while not stop.is_set(): stop.wait(0.2)
for t in ts: t.join(timeout=35)
secs = time.monotonic() - start
ok = sorted(ms for _, ms in lat if ms >= 0)
pct = lambda p: ok[min(len(ok) - 1, max(0, int(-(-p * len(ok) // 1)) - 1))] if ok else float("nan")
print(json.dumps({"requests": len(lat), "errors": errors[0], "seconds": round(secs, 2),
                  "rate": round(len(lat) / secs, 1), "p50_ms": round(pct(0.5), 2),
                  "p99_ms": round(pct(0.99), 2), "samples": sorted(lat)}))
