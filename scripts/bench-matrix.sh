#!/usr/bin/env bash
# The traffic-shape matrix of issue #12, one run, one machine (run it as `scripts/bench.sh --matrix`).
# For each shape the load is produced ONCE into a fresh mock-cluster topic (sized for the mock's
# ~5 MiB/partition retention), then on those same records:
#   raw librdkafka consume rate (`traceledger bench-consume`, no decoding),
#   the worker (release build, its own schema and group): from its partition assignment (polled from
#     /metrics traceledger_assigned_partitions) to its last commit, first epoch included; the group join
#     (process start → assignment) is reported separately; peak RSS (VmHWM), CPU % of the worker
#     (utime+stime / wall over that window), the machine's CPU utilisation over it (/proc/stat), epoch
#     write p50/p99 (the worker's shutdown summary) and `traceledger verify` exact yes/no;
#   the Python peer (scripts/peer/python_consumer.py, its own group and schema), whose Σ spans and Σ cost
#     must equal the manifest's (OTLP/JSON rows: the peer parses JSON per the content-type header).
#   scripts/bench-matrix.sh [--spans N] [--only ROWS]    (default 300000 spans a shape; --repeat share 0.3 on shape b)
#   BENCH_KAFKA_PROPERTIES=name=value,… adds librdkafka properties to the worker (A/B of consumer settings)
#   BENCH_TRACE_DIR=DIR writes each row's commit curve (committed records and worker CPU ticks every 10 ms
#     from the assignment; scripts/bench-wait.py --trace) to DIR/curve-ROW.txt
set -euo pipefail
cd "$(dirname "$0")/.."
SPANS=300000
ONLY=""  # --only: a comma list of row numbers (1-based) to run
while [ $# -gt 0 ]; do
  case "$1" in
    --spans) SPANS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    *) echo "usage: scripts/bench-matrix.sh [--spans N] [--only 1,4]" >&2; exit 2 ;;
  esac
done
if [ -z "${DATABASE_URL:-}" ]; then
  scripts/install-deps.sh >/dev/null
  swift build -c release --product traceledger >&2
  python3 -c 'import confluent_kafka, psycopg, yaml, opentelemetry.proto' 2>/dev/null || {
    echo "bench: the Python peer needs: pip install confluent-kafka opentelemetry-proto 'psycopg[binary]' pyyaml" >&2
    exit 1
  }
  exec scripts/with-postgres.sh "$0" --spans "$SPANS" ${ONLY:+--only "$ONLY"}
fi

B=${TRACELEDGER_BENCH_BIN:-$PWD/.build/release/traceledger}  # override only to try the script on a debug build
work=$(mktemp -d /tmp/traceledger-matrix.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
results=$work/results.jsonl
: >"$results"
LOAD_BEFORE=$(uptime | sed 's/.*load average: //')  # the machine is shared: its load goes next to the numbers

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# name | partitions | shards (0 = default) | loadgen options. Partitions are sized for the mock's ~5 MiB a
# partition at 1M spans (sdk records of 1–3 spans carry a resource each: ~1 KiB a record). loadgen gets
# --partitions: keyless (sdk) records go to the partition of their traceparent trace id, spread evenly
# (librdkafka's sticky partitioner would fill one partition a batch and overflow the mock).
MATRIX=(
  "a collector, 1 shard|96|1|--shape collector --compression lz4"
  "a collector, 2 shards|96|2|--shape collector --compression lz4"
  "b collector-split, zstd, repeat 0.3|16|0|--shape collector-split --compression zstd --repeat 0.3"
  "c sdk 1-3 spans, traceparent|160|0|--shape sdk --sdk-batch-max 3 --compression lz4"
  "j collector, OTLP/JSON|128|0|--shape collector --compression lz4 --encoding json"
  "spans/trace 1|96|0|--shape collector --spans-per-trace 1 --compression lz4"
  "spans/trace 10|96|0|--shape collector --spans-per-trace 10 --compression lz4"
  "spans/trace 100|96|0|--shape collector --spans-per-trace 100 --compression lz4"
)

# loadgen's linger.ms (its default 5 ms unless LINGER_MS is set). Larger producer batches (LINGER_MS=100)
# move load between the parts (session 11, README): the mock broker walks a partition's message-set list
# on every fetch (rd_kafka_mock_msgset_find), so 1–2-record message sets cost it ~0.25–0.35 of the 2 cores;
# with ~100 ms batches it is nearly idle, but the worker's peak RSS roughly doubles on some shapes and the
# OTLP/JSON row halves (librdkafka 2.0.2 refetches only when its broker thread next wakes up).
LINGER_MS=${LINGER_MS:-5}

row=0
last_load=""
for entry in "${MATRIX[@]}"; do
  IFS='|' read -r name parts shards opts <<<"$entry"
  row=$((row + 1))
  if [ -n "$ONLY" ] && ! [[ ",$ONLY," == *",$row,"* ]]; then continue; fi
  topic=matrix_$row
  load_key="$parts|$opts"
  if [ "$load_key" != "$last_load" ]; then
    # A fresh mock cluster per load (frees the previous one's memory).
    [ -n "${MOCK:-}" ] && { kill -TERM "$MOCK" 2>/dev/null || true; wait "$MOCK" 2>/dev/null || true; }
    "$B" mock-kafka --brokers 1 --topic "$topic:$parts" >"$work/mock.out" 2>"$work/mock.err" &
    MOCK=$!
    pids+=($MOCK)
    for _ in $(seq 1 100); do [ -s "$work/mock.out" ] && break; sleep 0.1; done
    BROKERS=$(head -n 1 "$work/mock.out")
    TOPIC=$topic
    echo "bench[$row]: producing $SPANS spans ($name) to $parts partitions …" >&2
    # shellcheck disable=SC2086
    "$B" loadgen --brokers "$BROKERS" --topic "$TOPIC" --spans "$SPANS" --poison 0 --partitions "$parts" \
      --linger-ms "$LINGER_MS" $opts \
      --manifest "$work/manifest-$row.json" >"$work/loadgen.out"
    RECORDS=$(sed -n 's/^produced \([0-9]*\) records.*/\1/p' "$work/loadgen.out")
    TOTAL_SPANS=$(sed -n 's/.*records (\([0-9]*\) spans.*/\1/p' "$work/loadgen.out")
    MANIFEST=$work/manifest-$row.json
    RAW=$("$B" bench-consume --brokers "$BROKERS" --topic "$TOPIC" --records "$RECORDS" --spans "$TOTAL_SPANS" --timeout 120 \
      || echo "spans_per_s=0")  # 0 in the table: the mock's retention deleted records (make the load smaller)
    RAW_SPS=$(echo "$RAW" | sed -n 's/.*spans_per_s=\([0-9]*\).*/\1/p')
    last_load=$load_key
    # The Python peer on the same records, its own group and schema.
    echo "bench[$row]: Python peer …" >&2
    psql "$DATABASE_URL" -qc "SET client_min_messages = warning; DROP SCHEMA IF EXISTS traceledger_peer CASCADE" >/dev/null
    PEER=$(python3 scripts/peer/python_consumer.py --brokers "$BROKERS" --topic "$TOPIC" --group "peer-$row" \
      --records "$RECORDS" --pricing config/pricing.yaml || echo '{}')
  fi

  echo "bench[$row]: worker ($name, shards=$shards) …" >&2
  schema=bench_m$row
  port=$(free_port)
  export TRACELEDGER_KAFKA_BROKERS=$BROKERS TRACELEDGER_KAFKA_GROUP=matrix-$row TRACELEDGER_LOG_LEVEL=notice
  export TRACELEDGER_KAFKA_TOPICS=$TOPIC TRACELEDGER_DATABASE_SCHEMA=$schema TRACELEDGER_HTTP_PORT=$port
  export TRACELEDGER_KAFKA_PROPERTIES=session.timeout.ms=6000,heartbeat.interval.ms=500${BENCH_KAFKA_PROPERTIES:+,$BENCH_KAFKA_PROPERTIES}
  export TRACELEDGER_PIPELINE_SHARDS=$shards
  read -r pg0 mock0 <<<"$(python3 scripts/pg-mock-ticks.py "$MOCK")"
  start_ns=$(date +%s%N)
  "$B" run >"$work/worker-$row.log" 2>&1 &
  WORKER=$!
  pids+=($WORKER)
  # One poller with one database connection and one HTTP keep-alive (scripts/bench-wait.py): assignment,
  # then Σ committed offsets (every 40 ms, every 5 ms past 80 %). (A psql and a curl process per poll took ~40 % of a core inside
  # the measured window.)
  if ! waited=$(python3 scripts/bench-wait.py --dsn "$DATABASE_URL" --schema "$schema" --group "matrix-$row" \
      --records "$RECORDS" --port "$port" --pid "$WORKER" ${BENCH_TRACE_DIR:+--trace "$BENCH_TRACE_DIR/curve-$row.txt"}); then
    tail -20 "$work/worker-$row.log" >&2; exit 1
  fi
  read -r assigned_ns cpu0_busy cpu0_total ticks0 end_ns cpu1_busy cpu1_total ticks1 <<<"$waited"
  read -r pg1 mock1 <<<"$(python3 scripts/pg-mock-ticks.py "$MOCK")"
  cpu0="$cpu0_busy $cpu0_total"; cpu1="$cpu1_busy $cpu1_total"
  hwm_kib=$(awk '/VmHWM/ {print $2}' "/proc/$WORKER/status")
  kill -TERM "$WORKER"; wait "$WORKER" || true
  verify=$("$B" verify --manifest "$MANIFEST" --schema "$schema" --group "matrix-$row" | tail -n 1 || true)
  python3 - "$name" "$TOTAL_SPANS" "$RAW_SPS" "$start_ns" "$assigned_ns" "$end_ns" "$hwm_kib" "$cpu0" "$cpu1" \
    "$ticks0" "$ticks1" "$(getconf CLK_TCK)" "$work/worker-$row.log" "$verify" "$PEER" "$MANIFEST" \
    "$((pg1 - pg0)) $((mock1 - mock0))" >>"$results" <<'PY'
import json, re, sys
(name, spans, raw, start, assigned, end, hwm, cpu0, cpu1, t0, t1, hz, log, verify, peer, manifest, others) = sys.argv[1:]
pg_ticks, mock_ticks = map(int, others.split())
spans, raw = int(spans), float(raw or 0)
start, assigned, end = int(start), int(assigned), int(end)
b0, tot0 = map(int, cpu0.split()); b1, tot1 = map(int, cpu1.split())
wall = (end - assigned) / 1e9
text = open(log).read()
g = lambda k: (re.search(k + r'=(\S+)', text) or [None, "?"])[1]
peer = json.loads(peer or "{}")
m = json.load(open(manifest))["totals"]
peer_sps = peer["spans"] / peer["seconds_from_assignment"] if peer.get("seconds_from_assignment") else 0
worker_sps = spans / wall if wall > 0 else 0
print(json.dumps({
    "shape": name, "spans": spans, "worker_sps": worker_sps, "join_s": (assigned - start) / 1e9,
    "peer_sps": peer_sps, "raw_sps": raw, "rss_mib": int(hwm) / 1024,
    "p50": g("epoch_write_ms_p50"), "p99": g("epoch_write_ms_p99"), "epochs": g("epochs_committed"),
    "worker_cpu": (int(t1) - int(t0)) / int(hz) / wall * 100 if wall > 0 else 0,
    "machine_cpu": (b1 - b0) / (tot1 - tot0) * 100 if tot1 > tot0 else 0,
    # CPU seconds per 1M spans: the worker over its window; PostgreSQL and the mock broker from the
    # worker's start to its last commit (their share of the join is small).
    "cpu_per_m": [(int(t1) - int(t0)) / int(hz) * 1e6 / spans, pg_ticks / int(hz) * 1e6 / spans,
                  mock_ticks / int(hz) * 1e6 / spans],
    "exact": verify.endswith("exact"),
    "peer_exact": peer.get("spans") == m["spans"] and peer.get("cost_nusd") == m["cost_nusd"],
}))
PY
done

python3 - "$results" "$(nproc)" "$LOAD_BEFORE" "$(uptime | sed 's/.*load average: //')" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"== traceledger matrix (one run, same records per shape; {sys.argv[2]} cores; Postgres + mock Kafka on the same box; "
      f"load average {sys.argv[3]} before, {sys.argv[4]} after) ==")
h = ("shape", "spans", "worker sp/s", "join s", "peer sp/s", "ratio", "raw sp/s", "RSS MiB", "epoch p50/p99 ms",
     "worker CPU %", "machine CPU %", "CPU-s/1M spans: worker · PG · mock", "verify", "peer Σ=manifest")
print("| " + " | ".join(h) + " |")
print("|" + "---|" * len(h))
for r in rows:
    ratio = r["worker_sps"] / r["peer_sps"] if r["peer_sps"] else float("nan")
    print(f"| {r['shape']} | {r['spans']:,} | {r['worker_sps']:,.0f} | {r['join_s']:.1f} | {r['peer_sps']:,.0f} | "
          f"{ratio:.1f}× | {r['raw_sps']:,.0f} | {r['rss_mib']:.0f} | {r['p50']}/{r['p99']} | {r['worker_cpu']:.0f} | "
          f"{r['machine_cpu']:.0f} | {' · '.join(f'{c:.2f}' for c in r['cpu_per_m'])} | "
          f"{'exact' if r['exact'] else 'NOT exact'} | {'yes' if r['peer_exact'] else 'NO'} |")
print("worker sp/s: from the partition assignment to the last commit, first epoch included; join = process "
      "start → assignment. peer sp/s: the Python peer, assignment → last commit. CPU: worker utime+stime / wall; "
      "machine: /proc/stat busy share of all cores over the worker's window (100 % = every core busy). "
      "CPU-s/1M spans: what each part spends per million spans (worker: its window; PostgreSQL, all its "
      "processes, and the mock broker: worker start → last commit); with the machine near 100 %, their sum "
      "over the cores is the bound on spans/s.")
PY
