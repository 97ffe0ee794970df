#!/usr/bin/env bash
# End-to-end benchmark, one run, side by side on the same records:
#   raw consume rate (librdkafka, no decoding)  vs  a worker to committed epochs in PostgreSQL,
# plus the worker's peak RSS and epoch write times, and a verify of the ledger against the manifest.
#   scripts/bench.sh [--spans N] [--partitions P]
# Kafka is librdkafka's mock cluster in its own process (`traceledger mock-kafka`), PostgreSQL a
# throwaway server on the same box (scripts/with-postgres.sh). Default settings for the worker.
set -euo pipefail
cd "$(dirname "$0")/.."
SPANS=1000000
PARTITIONS=96
while [ $# -gt 0 ]; do
  case "$1" in
    --spans) SPANS=$2; shift 2 ;;
    --partitions) PARTITIONS=$2; shift 2 ;;
    *) echo "usage: scripts/bench.sh [--spans N] [--partitions P]" >&2; exit 2 ;;
  esac
done
if [ -z "${DATABASE_URL:-}" ]; then
  scripts/install-deps.sh >/dev/null
  swift build -c release --product traceledger >&2
  exec scripts/with-postgres.sh "$0" --spans "$SPANS" --partitions "$PARTITIONS"
fi

B=$PWD/.build/release/traceledger
work=$(mktemp -d /tmp/traceledger-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$B" mock-kafka --brokers 1 --topic "otlp_spans:$PARTITIONS" >"$work/mock.out" 2>"$work/mock.err" &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$work/mock.out" ] && break; sleep 0.1; done
BROKERS=$(head -n 1 "$work/mock.out")

echo "bench: producing $SPANS spans to $PARTITIONS partitions (collector shape, 1 % poison, lz4) …" >&2
"$B" loadgen --brokers "$BROKERS" --spans "$SPANS" --manifest "$work/manifest.json" | tee "$work/loadgen.out" >&2
RECORDS=$(sed -n 's/^produced \([0-9]*\) records.*/\1/p' "$work/loadgen.out")
TOTAL_SPANS=$(sed -n 's/.*records (\([0-9]*\) spans.*/\1/p' "$work/loadgen.out")

echo "bench: raw consume of the same $RECORDS records …" >&2
RAW=$("$B" bench-consume --brokers "$BROKERS" --records "$RECORDS" --spans "$TOTAL_SPANS")
RAW_SPS=$(echo "$RAW" | sed -n 's/.*spans_per_s=\([0-9]*\).*/\1/p')

echo "bench: worker (default settings) to committed epochs …" >&2
export TRACELEDGER_KAFKA_BROKERS=$BROKERS TRACELEDGER_KAFKA_GROUP=bench TRACELEDGER_LOG_LEVEL=notice
export TRACELEDGER_KAFKA_PROPERTIES=session.timeout.ms=6000,heartbeat.interval.ms=500
start_ns=$(date +%s%N)
"$B" run >"$work/worker.log" 2>&1 &
WORKER=$!
pids+=($WORKER)
first_ns=""
peak_kib=0
while true; do
  done_records=$(psql "$DATABASE_URL" -Atqc "SELECT coalesce(sum(next_offset),0) FROM traceledger.ingest_offsets WHERE consumer_group='bench'" 2>/dev/null || echo 0)
  rss=$(awk '/VmRSS/ {print $2}' /proc/$WORKER/status 2>/dev/null || echo 0)
  [ "${rss:-0}" -gt "$peak_kib" ] && peak_kib=$rss
  if [ -z "$first_ns" ] && [ "${done_records:-0}" -gt 0 ]; then first_ns=$(date +%s%N); fi
  [ "${done_records:-0}" -ge "$RECORDS" ] && break
  kill -0 "$WORKER" 2>/dev/null || { echo "bench: the worker died" >&2; cat "$work/worker.log" >&2; exit 1; }
  if [ $(( ($(date +%s%N) - start_ns) / 1000000000 )) -gt 600 ]; then echo "bench: timeout" >&2; exit 1; fi
  sleep 0.05
done
end_ns=$(date +%s%N)
hwm_kib=$(awk '/VmHWM/ {print $2}' /proc/$WORKER/status)
kill -TERM "$WORKER"; wait "$WORKER" || true
verify=$("$B" verify --manifest "$work/manifest.json" | tail -n 1)

python3 - "$TOTAL_SPANS" "$RAW_SPS" "$start_ns" "$first_ns" "$end_ns" "$hwm_kib" "$peak_kib" "$work/worker.log" "$verify" <<'PY'
import re, sys
spans, raw_sps = int(sys.argv[1]), float(sys.argv[2])
start, first, end = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
hwm, peak = int(sys.argv[6]), int(sys.argv[7])
log = open(sys.argv[8]).read()
verify = sys.argv[9]
e2e_total = spans / ((end - start) / 1e9)
e2e_steady = spans / ((end - first) / 1e9)
m = re.search(r'epoch_write_ms_p99=(\S+)', log); p99 = m.group(1) if m else "?"
m = re.search(r'epoch_write_ms_p50=(\S+)', log); p50 = m.group(1) if m else "?"
m = re.search(r'epochs_committed=(\S+)', log); epochs = m.group(1) if m else "?"
print("== traceledger bench (one run, same records) ==")
print(f"spans                          {spans}")
print(f"raw consume (no decode)        {raw_sps:,.0f} spans/s")
print(f"worker → committed epochs      {e2e_steady:,.0f} spans/s  (first commit → last; {e2e_total:,.0f} incl. group join)")
print(f"ratio worker / raw             {e2e_steady / raw_sps:.2f}")
print(f"worker peak RSS                {hwm / 1024:.0f} MiB (VmHWM; sampled VmRSS max {peak / 1024:.0f} MiB)")
print(f"epoch write time               p50 {p50} ms, p99 {p99} ms over {epochs} epochs")
print(f"verify                         {verify}")
PY

# HTTP API: freshness, /v1/transactions latency under full ingest, ingest with/without API load.
echo "bench: HTTP API figures (scripts/bench-api.sh) …" >&2
scripts/bench-api.sh
