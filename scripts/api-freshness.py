#!/usr/bin/env python3
"""Freshness of the traceledger API for scripts/bench.sh: for --seconds, --streams threads each produce a
marker record (OTLP/JSON, one span with its own session.id and cost.usd, linger 0), then poll
GET /v1/sessions/{id} every 10 ms until it answers 200. Prints one JSON object: samples, not_visible (within 15 s), p50_ms, p99_ms (produce → visible), missing (the session ids not
visible)."""
import argparse, http.client, json, random, subprocess, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--brokers", required=True)
ap.add_argument("--topic", default="otlp_spans")
ap.add_argument("--seconds", type=float, default=30)
ap.add_argument("--streams", type=int, default=4)
a = ap.parse_args()

# The marker producer: confluent-kafka when it is installed (the bench's Python peer needs it), else
# one `kcat -P` per marker. Not one long-lived `kcat -P` fed line by line: kcat buffers its stdin and
# sends a line only when more input (or EOF) follows, which added ~1 s to every sample and kept the last
# markers back until the end.
try:
    import confluent_kafka
    producer = confluent_kafka.Producer({"bootstrap.servers": a.brokers, "linger.ms": 0})
    def send(line):
        producer.produce(a.topic, line.encode(), headers=[("content-type", b"application/json")])
        producer.flush(5)
except ImportError:
    def send(line):
        subprocess.run(["kcat", "-P", "-b", a.brokers, "-t", a.topic, "-H", "content-type=application/json",
                        "-X", "linger.ms=0"], input=line + "\n", text=True, check=True)
lock = threading.Lock()
run = random.getrandbits(32)
lat, missing, missing_ids = [], [0], []

def marker(n):
    now = time.time_ns()
    sid = f"bench-fresh-{run}-{n}"
    rec = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "bench"}}]},
           "scopeSpans": [{"spans": [{"traceId": f"b0b0{run:08x}{n:020x}", "spanId": f"{n + 1:016x}", "name": "bench.fresh",
           "kind": 2, "startTimeUnixNano": str(now - 1_000_000), "endTimeUnixNano": str(now),
           "attributes": [{"key": "session.id", "value": {"stringValue": sid}},
                          {"key": "cost.usd", "value": {"stringValue": "0.000000001"}}]}]}]}]}
    return sid, json.dumps(rec, separators=(",", ":"))

def stream(k):
    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
    deadline = time.monotonic() + a.seconds
    n = k
    while time.monotonic() < deadline:
        n += a.streams
        sid, line = marker(n)
        t0 = time.monotonic()
        with lock:
            send(line)
        seen = False
        while time.monotonic() - t0 < 15:
            try:
                conn.request("GET", "/v1/sessions/" + sid)
                r = conn.getresponse(); r.read()
                if r.status == 200: seen = True; break
            except Exception:
                conn.close(); conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
            time.sleep(0.01)
        with lock:
            if seen: lat.append((time.monotonic() - t0) * 1000)
            else: missing[0] += 1; missing_ids.append(sid)
        time.sleep(random.uniform(0.05, 0.25))

ts = [threading.Thread(target=stream, args=(k,)) for k in range(a.streams)]
for t in ts: t.start()
for t in ts: t.join()
lat.sort()
pct = lambda p: lat[min(len(lat) - 1, max(0, -(-int(p * len(lat) * 1000) // 1000) - 1))] if lat else float("nan")
print(json.dumps({"samples": len(lat), "not_visible": missing[0], "p50_ms": round(pct(0.5), 1), "p99_ms": round(pct(0.99), 1),
                  "missing": missing_ids}))
