#!/usr/bin/env bash
# Peak RSS of the worker (issue #12): a 1M and a 10M-span backlog, and across a 60 s database outage.
# Run it as `scripts/bench.sh --backlog` (all three) or `scripts/bench.sh --outage` (the outage only).
#
# The mock cluster keeps only ~5 MiB a partition, so a 10M-span backlog cannot sit in Kafka whole: the
# load is produced WHILE the worker consumes, with a bounded lead. A pacer (Python, below) reads the
# topic's high watermarks and the worker's committed offsets (ingest_offsets) every 0.3 s and stops the
# loadgen process (SIGSTOP) while produced − committed > --lead records, resuming it (SIGCONT) below
# half of that; the worker therefore always has a backlog of ~--lead records and never runs dry, and no
# partition holds more than ~lead/partitions records. Every run: collector shape (today's load: ~15
# spans a record, lz4, 1 % poison), 96 partitions, default worker settings, its own schema and group;
# peak RSS = VmHWM at the end (and the max of VmRSS sampled every 0.1 s); `traceledger verify` after.
# Outage: once the worker has committed ~1/4 of the load, the throwaway PostgreSQL server is stopped
# (pg_ctl stop -m fast) for --outage-seconds, then started again; the load keeps being produced up to the
# lead bound meanwhile; then the worker must finish and verify exact.
#   scripts/bench-backlog.sh [--spans-list "1000000 10000000"] [--outage-spans 2000000] [--outage-seconds 60]
#                            [--lead RECORDS] [--only backlog|outage]
#   BENCH_KAFKA_PROPERTIES=name=value,… adds librdkafka properties to the worker (as in scripts/bench-matrix.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
SPANS_LIST="1000000 10000000"
OUTAGE_SPANS=2000000
OUTAGE_SECONDS=60
LEAD=20000
PARTITIONS=96
ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --spans-list) SPANS_LIST=$2; shift 2 ;;
    --outage-spans) OUTAGE_SPANS=$2; shift 2 ;;
    --outage-seconds) OUTAGE_SECONDS=$2; shift 2 ;;
    --lead) LEAD=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    *) echo "usage: scripts/bench-backlog.sh [--spans-list \"1000000 10000000\"] [--outage-spans N] [--outage-seconds S] [--lead RECORDS] [--only backlog|outage]" >&2; exit 2 ;;
  esac
done
if [ -z "${DATABASE_URL:-}" ]; then
  scripts/install-deps.sh >/dev/null
  swift build -c release --product traceledger >&2
  python3 -c 'import confluent_kafka, psycopg' 2>/dev/null || {
    echo "bench: the pacer needs: pip install confluent-kafka 'psycopg[binary]'" >&2
    exit 1
  }
  exec scripts/with-postgres.sh "$0" --spans-list "$SPANS_LIST" --outage-spans "$OUTAGE_SPANS" \
    --outage-seconds "$OUTAGE_SECONDS" --lead "$LEAD" ${ONLY:+--only "$ONLY"}
fi

B=${TRACELEDGER_BENCH_BIN:-$PWD/.build/release/traceledger}
work=$(mktemp -d /tmp/traceledger-backlog.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
results=$work/results.jsonl
: >"$results"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

cat >"$work/pacer.py" <<'PY'
# Stops/resumes the loadgen process so that produced − committed records stay ≤ lead (see the header).
import os, signal, sys, time
import psycopg
from confluent_kafka import Consumer, TopicPartition
brokers, topic, partitions, schema, group, lead, pid = sys.argv[1:8]
partitions, lead, pid = int(partitions), int(lead), int(pid)
c = Consumer({"bootstrap.servers": brokers, "group.id": "bench-pacer"})
committed, stopped, db = 0, False, None
while True:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        break
    try:
        produced = sum(c.get_watermark_offsets(TopicPartition(topic, p), timeout=2, cached=False)[1] for p in range(partitions))
    except Exception:
        time.sleep(0.3)
        continue
    try:
        if db is None:
            db = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True, connect_timeout=2)
        committed = db.execute(f"SELECT coalesce(sum(next_offset),0) FROM {schema}.ingest_offsets WHERE consumer_group = %s",
                               (group,)).fetchone()[0]
    except Exception:
        db = None  # the outage (or the schema not created yet): keep the last value, so the lead only grows
    behind = produced - committed
    try:
        if not stopped and behind > lead:
            os.kill(pid, signal.SIGSTOP); stopped = True
        elif stopped and behind < lead // 2:
            os.kill(pid, signal.SIGCONT); stopped = False
    except ProcessLookupError:
        break
    time.sleep(0.3)
PY

# run NAME SPANS OUTAGE_SECONDS
run() {
  local name=$1 spans=$2 outage=$3 n=$(( $(wc -l <"$results") + 1 ))
  local topic=backlog_$n schema=bench_backlog_$n group=backlog-$n port
  "$B" mock-kafka --brokers 1 --topic "$topic:$PARTITIONS" >"$work/mock.out" 2>"$work/mock.err" &
  local mock=$!
  pids+=($mock)
  for _ in $(seq 1 100); do [ -s "$work/mock.out" ] && break; sleep 0.1; done
  local brokers
  brokers=$(head -n 1 "$work/mock.out")
  port=$(free_port)
  echo "bench[$name]: worker + paced load of $spans spans (lead ≤ $LEAD records) …" >&2
  export TRACELEDGER_KAFKA_BROKERS=$brokers TRACELEDGER_KAFKA_GROUP=$group TRACELEDGER_LOG_LEVEL=notice
  export TRACELEDGER_KAFKA_TOPICS=$topic TRACELEDGER_DATABASE_SCHEMA=$schema TRACELEDGER_HTTP_PORT=$port
  export TRACELEDGER_KAFKA_PROPERTIES=session.timeout.ms=6000,heartbeat.interval.ms=500${BENCH_KAFKA_PROPERTIES:+,$BENCH_KAFKA_PROPERTIES}
  local start_ns
  start_ns=$(date +%s%N)
  "$B" run >"$work/worker-$n.log" 2>&1 &
  local worker=$!
  pids+=($worker)
  "$B" loadgen --brokers "$brokers" --topic "$topic" --spans "$spans" --seed "$n" \
    --manifest "$work/manifest-$n.json" >"$work/loadgen-$n.out" 2>&1 &
  local lg=$!
  pids+=($lg)
  python3 "$work/pacer.py" "$brokers" "$topic" "$PARTITIONS" "$schema" "$group" "$LEAD" "$lg" 2>"$work/pacer-$n.err" &
  pids+=($!)
  local assigned_ns="" records="" peak=0 rss done_records outage_state=0 outage_pid="" out_peak=0 stop_ns=""
  while true; do
    if [ -z "$assigned_ns" ]; then
      local a
      a=$(curl -sf "http://127.0.0.1:$port/metrics" 2>/dev/null | awk '/^traceledger_assigned_partitions / {print int($2)}' || true)
      [ "${a:-0}" -gt 0 ] && assigned_ns=$(date +%s%N)
    fi
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$worker/status" 2>/dev/null || echo 0)
    [ "${rss:-0}" -gt "$peak" ] && peak=$rss
    if [ -z "$records" ] && ! kill -0 "$lg" 2>/dev/null; then
      wait "$lg" || { echo "bench: loadgen failed" >&2; cat "$work/loadgen-$n.out" >&2; exit 1; }
      records=$(sed -n 's/^produced \([0-9]*\) records.*/\1/p' "$work/loadgen-$n.out")
    fi
    done_records=$(psql "$DATABASE_URL" -Atqc "SELECT coalesce(sum(next_offset),0) FROM $schema.ingest_offsets WHERE consumer_group='$group'" 2>/dev/null || echo -1)
    # The outage: after ~1/4 of the load (spans / ~15 a record) is committed, stop PostgreSQL for $outage s.
    if [ "$outage" -gt 0 ] && [ "$outage_state" = 0 ] && [ "${done_records:-0}" -ge $((spans / 60)) ]; then
      echo "bench[$name]: stopping PostgreSQL for $outage s (worker committed $done_records records) …" >&2
      as_pg "$TRACELEDGER_PG_BINDIR/pg_ctl" -D "$TRACELEDGER_PG_DATA" -m fast -w stop >/dev/null
      stop_ns=$(date +%s%N)
      ( sleep "$outage"; as_pg "$TRACELEDGER_PG_BINDIR/pg_ctl" -D "$TRACELEDGER_PG_DATA" -l "$TRACELEDGER_PG_LOG" -w -t 60 start >/dev/null ) &
      outage_pid=$!
      outage_state=1
    fi
    if [ "$outage_state" = 1 ]; then
      [ "${rss:-0}" -gt "$out_peak" ] && out_peak=$rss
      if ! kill -0 "$outage_pid" 2>/dev/null; then wait "$outage_pid"; outage_state=2; echo "bench[$name]: PostgreSQL is back" >&2; fi
    fi
    [ -n "$records" ] && [ "${done_records:-0}" -ge "$records" ] && [ "$outage_state" != 1 ] && break
    kill -0 "$worker" 2>/dev/null || { echo "bench: the worker died" >&2; tail -20 "$work/worker-$n.log" >&2; exit 1; }
    if [ $(( ($(date +%s%N) - start_ns) / 1000000000 )) -gt 1500 ]; then echo "bench: timeout" >&2; exit 1; fi
    sleep 0.1
  done
  local end_ns hwm verify
  end_ns=$(date +%s%N)
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$worker/status")
  kill -TERM "$worker"; wait "$worker" || true
  kill -TERM "$mock"; wait "$mock" 2>/dev/null || true
  verify=$("$B" verify --manifest "$work/manifest-$n.json" --schema "$schema" --group "$group" | tail -n 1 || true)
  local total_spans
  total_spans=$(sed -n 's/.*records (\([0-9]*\) spans.*/\1/p' "$work/loadgen-$n.out")
  python3 - "$name" "$total_spans" "$records" "$start_ns" "${assigned_ns:-$start_ns}" "$end_ns" "$hwm" "$peak" "$out_peak" \
    "$outage" "$verify" "$work/worker-$n.log" >>"$results" <<'PY'
import json, re, sys
name, spans, records, start, assigned, end, hwm, peak, out_peak, outage, verify, log = sys.argv[1:]
text = open(log).read()
g = lambda k: (re.search(k + r'=(\S+)', text) or [None, "?"])[1]
wall = (int(end) - int(assigned)) / 1e9
print(json.dumps({"name": name, "spans": int(spans), "records": int(records), "sps": int(spans) / wall if wall > 0 else 0,
    "wall": wall, "hwm_mib": int(hwm) / 1024, "peak_mib": int(peak) / 1024, "outage_peak_mib": int(out_peak) / 1024,
    "outage": int(outage), "exact": verify.endswith("exact"), "verify": verify,
    "p50": g("epoch_write_ms_p50"), "p99": g("epoch_write_ms_p99"), "epochs": g("epochs_committed")}))
PY
  tail -n 1 "$results" >&2
}

if [ "$ONLY" != outage ]; then
  for s in $SPANS_LIST; do run "backlog $s" "$s" 0; done
fi
if [ "$ONLY" != backlog ]; then
  run "outage ${OUTAGE_SECONDS}s" "$OUTAGE_SPANS" "$OUTAGE_SECONDS"
fi

python3 - "$results" "$LEAD" "$PARTITIONS" "$(uptime | sed 's/.*load average: //')" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"== traceledger backlog / outage (worker peak RSS; paced load, lead ≤ {sys.argv[2]} records over {sys.argv[3]} partitions; "
      f"load average at the end {sys.argv[4]}) ==")
print("| run | spans | records | worker sp/s (assignment → last commit) | peak RSS MiB (VmHWM) | sampled VmRSS max MiB | epoch p50/p99 ms | verify |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    extra = f" (max during the outage {r['outage_peak_mib']:.0f})" if r["outage"] else ""
    print(f"| {r['name']} | {r['spans']:,} | {r['records']:,} | {r['sps']:,.0f} | {r['hwm_mib']:.0f}{extra} | {r['peak_mib']:.0f} | "
          f"{r['p50']}/{r['p99']} | {'exact' if r['exact'] else 'NOT exact: ' + r['verify']} |")
b = [r for r in rows if not r["outage"]]
if len(b) >= 2:
    lo, hi = b[0], b[-1]
    print(f"peak RSS {hi['name']} vs {lo['name']}: {(hi['hwm_mib'] / lo['hwm_mib'] - 1) * 100:+.1f} % "
          f"({lo['hwm_mib']:.0f} → {hi['hwm_mib']:.0f} MiB)")
o = [r for r in rows if r["outage"]]
if o and b:
    print(f"peak RSS {o[0]['name']} vs {b[0]['name']}: {(o[0]['hwm_mib'] / b[0]['hwm_mib'] - 1) * 100:+.1f} %")
PY
