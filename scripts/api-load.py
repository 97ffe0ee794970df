#!/usr/bin/env python3
"""Paced HTTP load on the traceledger API for scripts/bench.sh: GET /v1/transactions/{id} at --rate
requests/s in all (trace ids from a loadgen manifest), over --connections keep-alive connections, until
SIGTERM/SIGINT; then prints one JSON object: requests, errors, seconds, achieved rate, p50/p99 ms, and
every sample as [wall-clock ns at start, ms or -1 for an error] so that a caller can cut a time window.

One asyncio loop on raw streams with the requests encoded once: http.client in threads tops out at
~850 requests/s on this 2-core box (the GIL and its per-request parsing) and takes the worker's CPU;
this client reaches several thousand a second for a fraction of a core. A response is read as HTTP/1.1
with Content-Length (what hummingbird sends); anything else counts as an error and reconnects."""
import argparse, asyncio, json, signal, time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--manifest", required=True)
ap.add_argument("--rate", type=float, default=1000)
ap.add_argument("--connections", "--threads", dest="connections", type=int, default=16)
ap.add_argument("--max-ids", type=int, default=5000)
a = ap.parse_args()

ids = sorted(json.load(open(a.manifest))["traces"].keys())[: a.max_ids] or ["0" * 31 + "1"]
requests = [("GET /v1/transactions/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % t).encode() for t in ids]


async def read_response(reader):
    """The status code of one response, its body read and dropped; raises on anything unexpected."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length is None:
        raise ValueError("response without content-length")
    if length:
        await reader.readexactly(length)
    return status


async def connection(k, stop, samples):
    interval = a.connections / a.rate
    nxt, i = time.monotonic() + k * interval / a.connections, k
    reader = writer = None
    errors = 0
    while not stop.is_set():
        # Paced against a schedule: a slow response is made up by the next requests (no sleep while
        # behind), so the achieved rate is the target unless the server falls a whole second behind.
        d = nxt - time.monotonic()
        if d > 0:
            await asyncio.sleep(d)
        elif d < -1:
            nxt = time.monotonic()
        nxt += interval
        t0, wall = time.monotonic(), time.time_ns()
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", a.port), 30)
            writer.write(requests[i % len(requests)])
            status = await asyncio.wait_for(read_response(reader), 30)
            samples.append((wall, (time.monotonic() - t0) * 1000 if status == 200 else -1))
            errors += status != 200
        except Exception:
            errors += 1
            samples.append((wall, -1))
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.05)
        i += a.connections
    if writer is not None:
        writer.close()
    return errors


async def main():
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    samples = []
    start = time.monotonic()
    errors = sum(await asyncio.gather(*(connection(k, stop, samples) for k in range(a.connections))))
    secs = time.monotonic() - start
    ok = sorted(ms for _, ms in samples if ms >= 0)
    pct = lambda p: ok[min(len(ok) - 1, max(0, int(-(-p * len(ok) // 1)) - 1))] if ok else float("nan")
    print(json.dumps({"requests": len(samples), "errors": errors, "seconds": round(secs, 2),
                      "rate": round(len(samples) / secs, 1), "p50_ms": round(pct(0.5), 2),
                      "p99_ms": round(pct(0.99), 2), "samples": sorted(samples)}))


asyncio.run(main())
