#!/usr/bin/env bash
# Crash test of the exactly-once pipeline, across real processes.
#
#   scripts/crash-test.sh [--spans N] [--rate SPANS_PER_S] [--kills K] [--partitions P] [--seed S]
#   scripts/crash-test.sh --db-outage [--outage-seconds 30] [--spans N] [--rate R] ...
#
# A throwaway PostgreSQL (scripts/with-postgres.sh; the script re-executes itself under it unless it
# already runs there), `traceledger mock-kafka` (1 broker, topic otlp_spans:P), one `traceledger run`
# worker and ONE paced `traceledger loadgen` (one manifest). While the load is produced:
#   default      the worker is killed with SIGKILL at K random moments (default 5) and restarted after
#                a random 0-3 s; the next kill comes no earlier than --min-gap s after the last restart.
#   --db-outage  PostgreSQL is stopped (pg_ctl -m fast) for --outage-seconds (30) mid-load and started
#                again; the worker must not die; its VmRSS is sampled every 200 ms and the peak of each
#                phase (before / during / after the outage) must stay within 10 % of the peak before.
#                The worker starts --late-start s (default: the outage length) after the load, so the
#                "before" phase also contains catching up on a backlog as large as the outage leaves:
#                catch-up at full speed costs ~3x the RSS of keeping up with the paced load (librdkafka
#                prefetch + queued records), with or without an outage. --late-start 0 = a cold baseline.
# Then it waits until Σ ingest_offsets.next_offset = the records produced, checks that the mock
# cluster deleted nothing (every partition still starts at offset 0, no retention_gaps row), stops the
# worker with SIGTERM (must exit 0) and runs `traceledger verify --manifest` (must be exact).
#
# Sizing: the mock keeps ~5 MiB per partition (compressed batches as produced) and deletes the oldest
# batches beyond that, consumed or not: a cap on the log, not on the lag. Measured with loadgen's lz4
# batches (paced or not): a full partition holds ~2290 records of ~15.1 spans, ~150 bytes per span.
# So the WHOLE load must fit: 2M spans = ~290 MiB, spread over the default 96 partitions = ~3.0 MiB
# each (60 % of the cap; the script refuses a plan above ~4 MiB per partition). That also bounds the
# un-consumed data during any outage to < 4 MiB per partition. --rate (default 10000 spans/s, 2M spans
# in ~200 s) then only sets how long the load runs: long enough for 5 kills >= 25 s apart, and slow
# enough that the worker (sharing 2 cores with loadgen) keeps up between outages.
#
# CRASH_KAFKA_PROPERTIES="name=value,..." adds librdkafka properties to the worker's (e.g. smaller fetch buffers).
#
# Exit status: 0 = verify exact and nothing died that we did not kill; 1 otherwise. Logs (worker
# stderr of every incarnation, mock, loadgen, RSS samples) stay in the printed directory on failure
# (and with --keep-logs).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

# Always against a throwaway server: verify compares whole-ledger totals (the ledger must start empty)
# and --db-outage stops/starts the server with pg_ctl. with-postgres.sh exports TRACELEDGER_PG_DATA.
if [ -z "${TRACELEDGER_PG_DATA:-}" ] || [ -z "${DATABASE_URL:-}" ]; then
  exec "$ROOT/scripts/with-postgres.sh" "$ROOT/scripts/crash-test.sh" "$@"
fi

# ---------------------------------------------------------------------------------------------- options
MODE=kill
SPANS=2000000
RATE=10000
KILLS=
PARTITIONS=96
SEED=$(( (RANDOM << 15) | RANDOM ))
OUTAGE_S=30
MIN_GAP=25
DRAIN_TIMEOUT=300
KEEP_LOGS=0
LATE_START=
B="$ROOT/.build/release/traceledger"
usage() { sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --db-outage) MODE=outage ;;
    --spans) SPANS=$2; shift ;;
    --rate) RATE=$2; shift ;;
    --kills) KILLS=$2; shift ;;
    --partitions) PARTITIONS=$2; shift ;;
    --seed) SEED=$2; shift ;;
    --outage-seconds) OUTAGE_S=$2; shift ;;
    --min-gap) MIN_GAP=$2; shift ;;
    --drain-timeout) DRAIN_TIMEOUT=$2; shift ;;
    --binary) B=$2; shift ;;
    --keep-logs) KEEP_LOGS=1 ;;
    --late-start) LATE_START=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "crash-test: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if [ -z "$LATE_START" ]; then
  if [ "$MODE" = outage ]; then LATE_START=$OUTAGE_S; else LATE_START=0; fi
fi
if [ -z "$KILLS" ]; then
  if [ "$MODE" = outage ]; then KILLS=0; else KILLS=5; fi
fi

if [ ! -x "$B" ]; then
  echo "crash-test: building $B" >&2
  swift build -c release --product traceledger >&2
fi

BYTES_PER_SPAN=152
PER_PARTITION_KIB=$(( SPANS * BYTES_PER_SPAN / PARTITIONS / 1024 ))
if [ "$PER_PARTITION_KIB" -gt 4096 ]; then
  echo "crash-test: $SPANS spans over $PARTITIONS partitions = ~$PER_PARTITION_KIB KiB per partition in the mock," \
    "which keeps only ~5 MiB: use --partitions $(( SPANS * BYTES_PER_SPAN / 3145728 + 1 )) or more" >&2
  exit 2
fi

W=$(mktemp -d /tmp/crash-test.XXXXXX)
SCHEMA=traceledger
TOPIC=otlp_spans
LOAD_SECONDS=$(( SPANS / RATE ))
START_TS=$EPOCHREALTIME

log() { printf 'crash-test [%6.1f s] %s\n' "$(awk -v a="$START_TS" -v b="$EPOCHREALTIME" 'BEGIN{print b-a}')" "$*" >&2; }
now() { echo "$EPOCHREALTIME"; }
elapsed_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}'; }

# --------------------------------------------------------------------------------------------- processes
MOCK_PID= WORKER_PID= LOADGEN_PID= SAMPLER_PID=
PG_STOPPED=0
FAILED=0
WORKER_N=0

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# A child that has exited stays a zombie until we `wait` for it: kill -0 is not enough.
alive() {
  local st
  [ -n "${1:-}" ] || return 1
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

stop_pid() {  # pid signal grace_seconds
  local pid=$1 sig=$2 grace=$3 i
  alive "$pid" || return 0
  kill -"$sig" "$pid" 2>/dev/null || true
  for i in $(seq 1 $(( grace * 10 ))); do alive "$pid" || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -n "$SAMPLER_PID" ] && stop_pid "$SAMPLER_PID" TERM 1
  [ -n "$LOADGEN_PID" ] && stop_pid "$LOADGEN_PID" TERM 5
  [ -n "$WORKER_PID" ] && stop_pid "$WORKER_PID" TERM 30
  [ -n "$MOCK_PID" ] && stop_pid "$MOCK_PID" TERM 5
  wait 2>/dev/null || true
  if [ "$PG_STOPPED" = 1 ]; then  # leave the server as we found it (with-postgres.sh stops it next)
    as_pg "$TRACELEDGER_PG_BINDIR/pg_ctl" -D "$TRACELEDGER_PG_DATA" -l "$TRACELEDGER_PG_LOG" -w start >/dev/null 2>&1 || true
  fi
  if [ "$rc" -ne 0 ] || [ "$FAILED" = 1 ] || [ "$KEEP_LOGS" = 1 ]; then
    echo "crash-test: logs kept in $W" >&2
  else
    rm -rf "$W"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "crash-test: interrupted" >&2; exit 130' INT TERM

fail() {
  FAILED=1
  echo "crash-test: FAIL: $*" >&2
  exit 1
}

worker_died() {  # the worker exited without our kill: report and fail
  local rc=0
  wait "$WORKER_PID" 2>/dev/null || rc=$?
  echo "crash-test: worker #$WORKER_N (pid $WORKER_PID) exited on its own with status $rc; its log ($W/worker-$WORKER_N.log) ends:" >&2
  tail -n 40 "$W/worker-$WORKER_N.log" >&2 || true
  WORKER_PID=
  fail "worker died unexpectedly"
}

export TRACELEDGER_KAFKA_PROPERTIES="session.timeout.ms=6000,heartbeat.interval.ms=500${CRASH_KAFKA_PROPERTIES:+,$CRASH_KAFKA_PROPERTIES}"
export TRACELEDGER_FLUSH_INTERVAL=500ms
export TRACELEDGER_LOG_LEVEL=${TRACELEDGER_LOG_LEVEL:-warning}

start_worker() {
  WORKER_N=$(( WORKER_N + 1 ))
  "$B" run 2>"$W/worker-$WORKER_N.log" >/dev/null &
  WORKER_PID=$!
  echo "$WORKER_PID" >"$W/worker.pid"
}

# RSS sampler: "unix_time rss_kib pid" every 200 ms for whatever pid worker.pid names.
start_sampler() {
  (
    trap 'exit 0' TERM
    while :; do
      pid=$(cat "$W/worker.pid" 2>/dev/null || true)
      if [ -n "$pid" ] && rss=$(awk '/^VmRSS:/{print $2}' "/proc/$pid/status" 2>/dev/null) && [ -n "$rss" ]; then
        echo "$EPOCHREALTIME $rss $pid"
      fi
      sleep 0.2
    done
  ) >"$W/rss.tsv" &
  SAMPLER_PID=$!
}

psql_value() { psql "$DATABASE_URL" -X -q -Atc "$1" 2>/dev/null; }

# ----------------------------------------------------------------------------------------------- start
log "mode $MODE, spans $SPANS at $RATE spans/s (~${LOAD_SECONDS} s of load), partitions $PARTITIONS (~$PER_PARTITION_KIB KiB each in the mock), kills $KILLS, seed $SEED, logs $W"
"$B" mock-kafka --brokers 1 --topic "$TOPIC:$PARTITIONS" >"$W/mock.out" 2>"$W/mock.log" &
MOCK_PID=$!
for _ in $(seq 1 100); do [ -s "$W/mock.out" ] && break; alive "$MOCK_PID" || break; sleep 0.1; done
BROKERS=$(head -n 1 "$W/mock.out" 2>/dev/null || true)
[ -n "$BROKERS" ] || { cat "$W/mock.log" >&2; fail "mock-kafka printed no bootstrap address"; }
export TRACELEDGER_KAFKA_BROKERS=$BROKERS
log "mock-kafka $BROKERS (pid $MOCK_PID)"

"$B" migrate >"$W/migrate.log" 2>&1 || { cat "$W/migrate.log" >&2; fail "migrate failed"; }
start_loadgen() {
  LOAD_START=$(now)
  "$B" loadgen --brokers "$BROKERS" --topic "$TOPIC" --spans "$SPANS" --rate "$RATE" --seed "$SEED" \
    --manifest "$W/manifest.json" >"$W/loadgen.out" 2>"$W/loadgen.log" &
  LOADGEN_PID=$!
}
start_sampler
if [ "$LATE_START" -gt 0 ]; then
  # The first worker starts with a backlog of LATE_START s of load: it begins by catching up at full speed.
  start_loadgen
  log "loadgen pid $LOADGEN_PID; worker #1 starts in $LATE_START s"
  sleep "$LATE_START"
  alive "$LOADGEN_PID" || fail "loadgen ended within --late-start"
  start_worker
  log "worker #1 pid $WORKER_PID"
else
  start_worker
  sleep 3  # let the first worker join the group before the load starts
  alive "$WORKER_PID" || worker_died
  start_loadgen
  log "loadgen pid $LOADGEN_PID, worker #1 pid $WORKER_PID"
fi
WORKER1_START=$(now)

# ------------------------------------------------------------------------------------- chaos during load
# Kill schedule: the load window [10 s, LOAD_SECONDS - 5 s] is split into KILLS slots; each kill falls at
# a random moment in the first 60 % of its slot, and never sooner than MIN_GAP s after the last restart.
declare -a KILL_AT=()
if [ "$KILLS" -gt 0 ]; then
  window=$(( LOAD_SECONDS - 15 ))
  [ "$window" -ge $(( KILLS * MIN_GAP )) ] || fail "load too short (${LOAD_SECONDS} s) for $KILLS kills $MIN_GAP s apart: raise --spans or lower --rate"
  slot=$(( window / KILLS ))
  for i in $(seq 0 $(( KILLS - 1 ))); do
    KILL_AT+=( $(( 10 + i * slot + RANDOM % (slot * 6 / 10 + 1) )) )
  done
  log "kills planned at ${KILL_AT[*]} s into the load"
fi
OUTAGE_AT=
if [ "$MODE" = outage ]; then
  OUTAGE_AT=$(( LOAD_SECONDS * 35 / 100 ))
  [ "$(( LOAD_SECONDS - OUTAGE_AT ))" -gt $(( OUTAGE_S + 10 )) ] || fail "load too short for a ${OUTAGE_S} s outage: raise --spans or lower --rate"
  log "database outage planned at $OUTAGE_AT s into the load, for $OUTAGE_S s"
fi

kills=0
last_restart=$(now)
next_kill=0
OUT_START= OUT_END=
outage_done=0
recovering=
committed_at_kill=0
declare -a RECOVERY=()
while alive "$LOADGEN_PID"; do
  alive "$WORKER_PID" || worker_died
  alive "$MOCK_PID" || fail "mock-kafka died"
  t=$(elapsed_since "$LOAD_START")
  if [ "$next_kill" -lt "${#KILL_AT[@]}" ] && awk -v t="$t" -v k="${KILL_AT[$next_kill]}" 'BEGIN{exit !(t >= k)}' \
     && awk -v g="$(elapsed_since "$last_restart")" -v m="$MIN_GAP" 'BEGIN{exit !(g >= m)}'; then
    kill -KILL "$WORKER_PID"
    wait "$WORKER_PID" 2>/dev/null || true
    recovering=$(now)
    committed_at_kill=$(psql_value "SELECT coalesce(sum(next_offset),0) FROM $SCHEMA.ingest_offsets" || echo 0)
    kills=$(( kills + 1 ))
    pause_ms=$(( RANDOM % 3001 ))
    log "kill $kills: SIGKILL worker #$WORKER_N (pid $WORKER_PID) at ${t} s; restart in ${pause_ms} ms"
    WORKER_PID=
    sleep "$(printf '%d.%03d' $(( pause_ms / 1000 )) $(( pause_ms % 1000 )))"
    start_worker
    last_restart=$(now)
    next_kill=$(( next_kill + 1 ))
  fi
  # Recovery: time from the kill (or the database's return) to the first epoch committed after it.
  if [ -n "$recovering" ]; then
    c=$(psql_value "SELECT coalesce(sum(next_offset),0) FROM $SCHEMA.ingest_offsets" || true)
    if [ -n "$c" ] && [ "$c" -gt "$committed_at_kill" ]; then
      r=$(elapsed_since "$recovering")
      RECOVERY+=( "$r" )
      log "  committing again $r s after the $( [ "$MODE" = outage ] && echo 'database came back' || echo kill )"
      recovering=
    fi
  fi
  if [ -n "$OUTAGE_AT" ] && [ "$outage_done" = 0 ] && awk -v t="$t" -v o="$OUTAGE_AT" 'BEGIN{exit !(t >= o)}'; then
    committed_before_outage=$(psql_value "SELECT coalesce(sum(next_offset),0) FROM $SCHEMA.ingest_offsets" || echo 0)
    log "database outage: pg_ctl stop -m fast"
    OUT_START=$(now)
    PG_STOPPED=1
    as_pg "$TRACELEDGER_PG_BINDIR/pg_ctl" -D "$TRACELEDGER_PG_DATA" -m fast -w stop >/dev/null
    end=$(awk -v s="$OUT_START" -v d="$OUTAGE_S" 'BEGIN{printf "%.3f", s+d}')
    while awk -v e="$end" -v n="$EPOCHREALTIME" 'BEGIN{exit !(n < e)}'; do
      alive "$WORKER_PID" || worker_died
      sleep 0.2
    done
    as_pg "$TRACELEDGER_PG_BINDIR/pg_ctl" -D "$TRACELEDGER_PG_DATA" -l "$TRACELEDGER_PG_LOG" -w start >/dev/null
    PG_STOPPED=0
    OUT_END=$(now)
    recovering=$OUT_END
    committed_at_kill=$committed_before_outage
    outage_done=1
    log "database back after $(awk -v a="$OUT_START" -v b="$OUT_END" 'BEGIN{printf "%.1f", b-a}') s"
  fi
  sleep 0.2
done
LOADGEN_RC=0
wait "$LOADGEN_PID" || LOADGEN_RC=$?
LOADGEN_PID=
[ "$LOADGEN_RC" = 0 ] || { cat "$W/loadgen.log" >&2; fail "loadgen exited with status $LOADGEN_RC"; }
cat "$W/loadgen.out" >&2
RECORDS=$(sed -n 's/^produced \([0-9][0-9]*\) records (\([0-9][0-9]*\) spans.*/\1/p' "$W/loadgen.out")
SPANS_SENT=$(sed -n 's/^produced \([0-9][0-9]*\) records (\([0-9][0-9]*\) spans.*/\2/p' "$W/loadgen.out")
[ -n "$RECORDS" ] || fail "cannot read the record count from loadgen's output"
[ "$kills" -eq "$KILLS" ] || fail "only $kills of $KILLS kills happened while loadgen was producing (load too short?)"
[ -z "$OUTAGE_AT" ] || [ "$outage_done" = 1 ] || fail "loadgen finished before the database outage"
log "load done: $RECORDS records, $SPANS_SENT spans in $(elapsed_since "$LOAD_START") s"

# ------------------------------------------------------------------------------------------------ drain
DRAIN_START=$(now)
committed=0
while :; do
  alive "$WORKER_PID" || worker_died
  committed=$(psql_value "SELECT coalesce(sum(next_offset),0) FROM $SCHEMA.ingest_offsets WHERE topic = '$TOPIC'" || true)
  if [ -n "$recovering" ] && [ -n "$committed" ] && [ "$committed" -gt "$committed_at_kill" ]; then
    RECOVERY+=( "$(elapsed_since "$recovering")" ); recovering=
  fi
  [ "${committed:-0}" = "$RECORDS" ] && break
  if [ -n "$committed" ] && [ "$committed" -gt "$RECORDS" ]; then fail "committed offsets $committed > records produced $RECORDS"; fi
  awk -v g="$(elapsed_since "$DRAIN_START")" -v m="$DRAIN_TIMEOUT" 'BEGIN{exit !(g >= m)}' \
    && fail "not drained after $DRAIN_TIMEOUT s: committed $committed of $RECORDS records (worker log: $W/worker-$WORKER_N.log)"
  sleep 0.5
done
DRAIN_S=$(elapsed_since "$DRAIN_START")
log "all $RECORDS records committed ($DRAIN_S s after the load ended)"
DONE_TS=$(now)

# Nothing deleted by the mock: every partition's first offset is still 0, and no retention gap was seen.
deleted=0
for p in $(seq 0 $(( PARTITIONS - 1 ))); do
  first=$(timeout 20 kcat -C -b "$BROKERS" -t "$TOPIC" -p "$p" -o beginning -c 1 -e -q -f '%o\n' 2>/dev/null | head -n 1 || true)
  if [ -n "$first" ] && [ "$first" != 0 ]; then
    echo "crash-test: partition $p starts at offset $first: the mock deleted records" >&2
    deleted=1
  fi
done
gaps=$(psql_value "SELECT count(*) FROM $SCHEMA.retention_gaps")
[ "$deleted" = 0 ] && [ "$gaps" = 0 ] || fail "the mock deleted records (retention_gaps rows: $gaps): lower --rate or raise --partitions"

# ------------------------------------------------------------------------------------- stop and verify
HWM_KIB=$(awk '/^VmHWM:/{print $2}' "/proc/$WORKER_PID/status" 2>/dev/null || echo 0)
stop_pid "$SAMPLER_PID" TERM 1; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=
kill -TERM "$WORKER_PID"
WRC=0
for _ in $(seq 1 300); do alive "$WORKER_PID" || break; sleep 0.1; done
alive "$WORKER_PID" && fail "worker did not stop within 30 s of SIGTERM"
wait "$WORKER_PID" || WRC=$?
WORKER_PID=
[ "$WRC" = 0 ] || { tail -n 40 "$W/worker-$WORKER_N.log" >&2; fail "worker exited with status $WRC on SIGTERM"; }

REJECTED=$(psql_value "SELECT count(*) FROM $SCHEMA.rejected_records")
FENCED=$(cat "$W"/worker-*.log | grep -c 'fenced' || true)
RETRIES=$(cat "$W"/worker-*.log | grep -c 'epoch write failed; retrying' || true)
VRC=0
"$B" verify --manifest "$W/manifest.json" >"$W/verify.out" 2>&1 || VRC=$?
VERIFY_LINE=$(grep '^verify:' "$W/verify.out" | tail -n 1 || true)
if [ "$VRC" = 0 ] && printf '%s' "$VERIFY_LINE" | grep -q ': exact$'; then
  VERDICT="exact (0 differences)"
else
  head -n 60 "$W/verify.out" >&2
  ndiff=$(printf '%s' "$VERIFY_LINE" | sed -n 's/.*: \([0-9][0-9]*\) differences$/\1/p')
  VERDICT="FAILED (${ndiff:-?} differences, exit $VRC)"
  FAILED=1
fi
ELAPSED=$(elapsed_since "$START_TS")

printf 'crash-test: mode %s, seed %s, partitions %s, rate %s spans/s, workers started %s, fenced log lines %s, epoch write retries %s\n' \
  "$MODE" "$SEED" "$PARTITIONS" "$RATE" "$WORKER_N" "$FENCED" "$RETRIES"
[ "${#RECOVERY[@]}" -eq 0 ] || printf 'crash-test: seconds until the worker committed again: %s\n' "${RECOVERY[*]}"
printf 'crash-test: kills %s, records %s, spans %s, rejected %s, verify: %s, elapsed %.0f s\n' \
  "$kills" "$RECORDS" "$SPANS_SENT" "$REJECTED" "$VERDICT" "$ELAPSED"

if [ "$MODE" = outage ]; then
  # Phases: before = worker start .. outage start; during = the outage; after = outage end .. all committed.
  read -r RB RD RA < <(awk -v s="$OUT_START" -v e="$OUT_END" -v d="$DONE_TS" '
    { t=$1; r=$2
      if (t < s) { if (r > b) b = r } else if (t < e) { if (r > du) du = r } else if (t <= d) { if (r > a) a = r } }
    END { printf "%.1f %.1f %.1f\n", b/1024, du/1024, a/1024 }' "$W/rss.tsv")
  RS=$(awk -v s="$OUT_START" '$1 < s { r = $2 } END { printf "%.1f", r/1024 }' "$W/rss.tsv")
  WITHIN=$(awk -v b="$RB" -v d="$RD" -v a="$RA" 'BEGIN{ print (d <= b*1.10 && a <= b*1.10) ? "yes" : "no" }')
  printf 'crash-test: rss_max_mib before %s during %s after %s (within 10 %%: %s), VmHWM %.1f MiB, samples %s, worker started %s s after the load\n' \
    "$RB" "$RD" "$RA" "$WITHIN" "$(awk -v k="$HWM_KIB" 'BEGIN{print k/1024}')" "$(wc -l <"$W/rss.tsv")" "$LATE_START"
  printf 'crash-test: rss_mib when the database stopped %s, growth during the outage %s MiB\n' "$RS" "$(awk -v a="$RS" -v b="$RD" 'BEGIN{printf "%+.1f", b-a}')"
  [ "$RETRIES" -gt 0 ] || echo "crash-test: note: the worker logged no failed epoch write during the outage" >&2
  [ "$WITHIN" = yes ] || FAILED=1
else
  printf 'crash-test: rss_max_mib %.1f (any incarnation), VmHWM of the last worker %.1f MiB\n' \
    "$(awk '{ if ($2 > m) m = $2 } END { print m/1024 }' "$W/rss.tsv")" "$(awk -v k="$HWM_KIB" 'BEGIN{print k/1024}')"
fi
[ "$FAILED" = 0 ] || exit 1
exit 0
