#!/usr/bin/env python3
"""Waits for a benchmark worker of scripts/bench-matrix.sh with one PostgreSQL connection and one HTTP
keep-alive, never a process per poll (a `psql` + `curl` every 20 ms took ~40 % of a core on the 2-core
box, inside the worker's measured window; the Python peer is measured without such a tax).

  bench-wait.py --dsn DSN --schema S --group G --records N --port P --pid PID

Polls /metrics every 20 ms until `traceledger_assigned_partitions` > 0. The window starts when the LAST
request answered 0 was SENT (its ns, the machine's /proc/stat busy/total jiffies and the worker's
utime+stime ticks, taken just before sending): the assignment came after that request was answered, so
the window holds all of the work even when an answer is late (session 15: with the shards holding both
cooperative threads, /metrics answered only near the end of a run, and the window missed most of it);
then polls
Σ ingest_offsets.next_offset of the group until it reaches N: every 40 ms until 80 % is committed, then every
5 ms (at a flat 10 ms the poller used ~0.28 CPU-s inside the window of a 1M-span SDK run on the saturated
2-core box; ~0.20 now; BENCH_WAIT_SELF=1 prints its own CPU, total and in the window). Prints one line:
`assigned_ns cpu_busy cpu_total worker_ticks end_ns cpu_busy cpu_total worker_ticks` (the last
three at the end). Exits 1 if the worker dies, 2 after 600 s.

  --trace FILE   also writes the commit curve: one line a poll, `seconds_since_window_start
                 committed_records worker_cpu_ticks`. Flat ticks while records are left = the worker
                 waits (how session 18 found its idle at the start, at the end and mid-run)."""
import argparse, http.client, os, sys, time
import psycopg

ap = argparse.ArgumentParser()
for k in ("--dsn", "--schema", "--group"):
    ap.add_argument(k, required=True)
ap.add_argument("--records", type=int, required=True)
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--pid", type=int, required=True)
ap.add_argument("--trace", help="write the commit curve to this file")
a = ap.parse_args()


def cpu_now():
    f = open("/proc/stat").readline().split()[1:]
    v = list(map(int, f))
    total = sum(v)
    return total - v[3] - v[4], total


def ticks(pid):
    f = open(f"/proc/{pid}/stat").read()
    fields = f[f.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def alive():
    try:
        os.kill(a.pid, 0)
        return True
    except OSError:
        return False


start = time.monotonic()
GAUGE = b"\ntraceledger_assigned_partitions "
def assigned(body):
    # One find in the bytes, not a decode and split of the whole exposition every poll.
    i = body.find(GAUGE)
    if i < 0:
        return 0
    i += len(GAUGE)
    j = body.find(b"\n", i)
    return float(body[i:j if j >= 0 else len(body)])
def check():
    if not alive():
        print("bench-wait: the worker died", file=sys.stderr)
        sys.exit(1)
    if time.monotonic() - start > 600:
        print("bench-wait: timeout", file=sys.stderr)
        sys.exit(2)


conn = None
# The snapshot taken before the last request answered 0 (before the first request until one is).
snapshot = (time.time_ns(), *cpu_now(), ticks(a.pid))
while True:
    check()
    sent = (time.time_ns(), *cpu_now(), ticks(a.pid))
    try:
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
        conn.request("GET", "/metrics")
        n = assigned(conn.getresponse().read())
        if n > 0:
            break
        snapshot = sent
    except (OSError, http.client.HTTPException):
        conn = None
    time.sleep(0.02)
assigned_ns, busy, total, t0 = snapshot
own0 = os.times()

query = f'SELECT coalesce(sum(next_offset), 0) FROM "{a.schema}".ingest_offsets WHERE consumer_group = %s'
db = psycopg.connect(a.dsn, autocommit=True)
trace = open(a.trace, "w") if a.trace else None
while True:
    check()
    try:
        done = db.execute(query, (a.group,)).fetchone()[0]
    except psycopg.errors.UndefinedTable:
        done = 0
    if trace:
        trace.write(f"{(time.time_ns() - assigned_ns) / 1e9:.3f} {done} {ticks(a.pid)}\n")
    if done >= a.records:
        break
    # The end must be seen within a few ms; the middle need not be (a poll costs the saturated box ~0.5 ms
    # of Python). Every 40 ms until 80 % is committed, then every 5 ms (--trace: every 10 ms throughout).
    time.sleep(0.01 if trace else 0.04 if done < 0.8 * a.records else 0.005)
end_ns = time.time_ns()
busy1, total1 = cpu_now()
print(assigned_ns, busy, total, t0, end_ns, busy1, total1, ticks(a.pid))
if os.environ.get("BENCH_WAIT_SELF"):
    own = os.times()
    print(f"bench-wait: own CPU {own.user + own.system:.2f} s, {own.user + own.system - own0.user - own0.system:.2f} s"
          " of it in the window", file=sys.stderr)
