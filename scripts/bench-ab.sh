#!/usr/bin/env bash
# A/B of worker builds on the SAME records: one mock cluster, one load, then each build in turn (A B A B …),
# each with its own schema and consumer group, measured like a matrix row (scripts/bench-wait.py: from the
# partition assignment to the last commit, first epoch included) and checked with `traceledger verify`.
# The box is shared and noisy: compare builds within one run, over several rounds, never across runs.
#
#   scripts/bench-ab.sh [--partitions N] [--spans N] [--rounds N] [--load "LOADGEN OPTIONS"] BUILD_A BUILD_B …
#   e.g. cp .build/release/traceledger /tmp/a; (change, rebuild); scripts/bench-ab.sh --rounds 4 \
#          --partitions 160 --load "--shape sdk --sdk-batch-max 3 --compression lz4" /tmp/a .build/release/traceledger
#
# One line a run: spans/s, the window, the worker's CPU (seconds and share of one core), the machine's CPU
# share, peak RSS, and the CPU seconds PostgreSQL + the mock broker used from the worker's start to its last
# commit (what the worker's work costs the rest of the box). BENCH_AB_PERF=1 also records `perf record -a`
# (999 Hz) of each run to $TMPDIR/bench-ab-perf-N.data; BENCH_AB_PERF_OPTS adds perf options (e.g. `-g`).
set -euo pipefail
cd "$(dirname "$0")/.."
PARTS=96
SPANS=1000000
ROUNDS=3
LOAD="--shape collector --compression lz4"
while [ $# -gt 0 ]; do
  case "$1" in
    --partitions) PARTS=$2; shift 2 ;;
    --spans) SPANS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --load) LOAD=$2; shift 2 ;;
    -*) echo "usage: scripts/bench-ab.sh [--partitions N] [--spans N] [--rounds N] [--load OPTS] BUILD …" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "bench-ab: name at least one build" >&2; exit 2; }
if [ -z "${DATABASE_URL:-}" ]; then
  exec scripts/with-postgres.sh "$0" --partitions "$PARTS" --spans "$SPANS" --rounds "$ROUNDS" --load "$LOAD" "$@"
fi
BUILDS=("$@")
B=${BUILDS[0]}
work=$(mktemp -d "${TMPDIR:-/tmp}/traceledger-ab.XXXXXX")
MOCK=""
cleanup() { [ -n "$MOCK" ] && kill -TERM "$MOCK" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$B" mock-kafka --brokers 1 --topic "ab:$PARTS" >"$work/mock.out" 2>"$work/mock.err" &
MOCK=$!
for _ in $(seq 1 100); do [ -s "$work/mock.out" ] && break; sleep 0.1; done
BROKERS=$(head -n 1 "$work/mock.out")
# shellcheck disable=SC2086
"$B" loadgen --brokers "$BROKERS" --topic ab --spans "$SPANS" --poison 0 --partitions "$PARTS" --linger-ms 5 $LOAD \
  --manifest "$work/manifest.json" >"$work/loadgen.out"
RECORDS=$(sed -n 's/^produced \([0-9]*\) records.*/\1/p' "$work/loadgen.out")
TOTAL=$(sed -n 's/.*records (\([0-9]*\) spans.*/\1/p' "$work/loadgen.out")
echo "bench-ab: $RECORDS records, $TOTAL spans ($LOAD, $PARTS partitions); builds: ${BUILDS[*]}"

# CPU ticks of PostgreSQL + the mock broker (scripts/pg-mock-ticks.py prints them apart).
others_ticks() { python3 scripts/pg-mock-ticks.py "$MOCK" | awk '{print $1 + $2}'; }

n=0
for round in $(seq 1 "$ROUNDS"); do
  i=0
  for build in "${BUILDS[@]}"; do
    n=$((n + 1)); i=$((i + 1))
    schema=bench_ab_$n
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    export TRACELEDGER_KAFKA_BROKERS=$BROKERS TRACELEDGER_KAFKA_GROUP=ab-$n TRACELEDGER_LOG_LEVEL=notice
    export TRACELEDGER_KAFKA_TOPICS=ab TRACELEDGER_DATABASE_SCHEMA=$schema TRACELEDGER_HTTP_PORT=$port
    export TRACELEDGER_KAFKA_PROPERTIES=session.timeout.ms=6000,heartbeat.interval.ms=500
    others0=$(others_ticks)
    "$build" run >"$work/worker-$n.log" 2>&1 &
    WORKER=$!
    PERF_PID=""
    if [ -n "${BENCH_AB_PERF:-}" ]; then
      # shellcheck disable=SC2086
      perf record -F 999 -a ${BENCH_AB_PERF_OPTS:-} -o "${TMPDIR:-/tmp}/bench-ab-perf-$n.data" >/dev/null 2>&1 &
      PERF_PID=$!
    fi
    if ! waited=$(python3 scripts/bench-wait.py --dsn "$DATABASE_URL" --schema "$schema" --group "ab-$n" \
        --records "$RECORDS" --port "$port" --pid "$WORKER"); then
      tail -20 "$work/worker-$n.log" >&2; exit 1
    fi
    others1=$(others_ticks)
    hwm_kib=$(awk '/VmHWM/ {print $2}' "/proc/$WORKER/status")
    [ -n "$PERF_PID" ] && { kill -INT "$PERF_PID"; wait "$PERF_PID" || true; }
    kill -TERM "$WORKER"; wait "$WORKER" || true
    verify=$("$build" verify --manifest "$work/manifest.json" --schema "$schema" --group "ab-$n" | tail -n 1 || true)
    read -r a b0 tot0 t0 e b1 tot1 t1 <<<"$waited"
    python3 - "$i" "$round" "$TOTAL" "$a" "$e" "$t0" "$t1" "$b0" "$tot0" "$b1" "$tot1" "$hwm_kib" \
      "$others0" "$others1" "$(getconf CLK_TCK)" "$verify" <<'PY'
import sys
i, rnd, spans, a, e, t0, t1, b0, tot0, b1, tot1, hwm, o0, o1, hz = map(int, sys.argv[1:16])
wall = (e - a) / 1e9
cpu = (t1 - t0) / hz
print(f"build {i} round {rnd}: {spans / wall:>9,.0f} spans/s  window {wall:.2f} s  worker {cpu:.2f} CPU-s "
      f"({cpu / wall * 100:.0f} % of a core)  machine {(b1 - b0) / max(1, tot1 - tot0) * 100:.0f} %  "
      f"RSS {hwm / 1024:.0f} MiB  postgres+mock {(o1 - o0) / hz:.2f} CPU-s  "
      f"{'exact' if sys.argv[16].endswith('exact') else 'NOT EXACT: ' + sys.argv[16]}")
PY
    psql "$DATABASE_URL" -qc "SET client_min_messages = warning; DROP SCHEMA $schema CASCADE" >/dev/null || true
  done
done
