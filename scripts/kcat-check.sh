#!/usr/bin/env bash
# Checks `traceledger mock-kafka` against a Kafka client that is not ours (Debian's kcat): produces
# keyed records with headers to a hosted mock cluster, consumes them back, compares, then stops the
# cluster with SIGTERM and expects exit status 0. Prints PASS or FAIL; exits non-zero on failure.
#   scripts/kcat-check.sh            (uses $TRACELEDGER_BIN, else .build/debug/traceledger)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${TRACELEDGER_BIN:-$PWD/.build/debug/traceledger}"
command -v kcat >/dev/null || { echo "FAIL: kcat not installed (scripts/install-deps.sh)"; exit 1; }
[ -x "$BIN" ] || { echo "FAIL: $BIN not built (swift build)"; exit 1; }

WORK="$(mktemp -d)"
MOCK_PID=""
cleanup() {
    if [ -n "$MOCK_PID" ] && kill -0 "$MOCK_PID" 2>/dev/null; then kill -TERM "$MOCK_PID" 2>/dev/null || true; fi
    [ -n "${KEEP_WORK:-}" ] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -s "$WORK/mock.err" ] && sed 's/^/  mock-kafka: /' "$WORK/mock.err" | tail -20; exit 1; }

mkfifo "$WORK/mock.out"
"$BIN" mock-kafka --brokers 3 --topic kcat_check:4 >"$WORK/mock.out" 2>"$WORK/mock.err" &
MOCK_PID=$!
exec 3<"$WORK/mock.out"
read -r -t 20 BOOTSTRAP <&3 || fail "mock-kafka printed no bootstrap address"
[[ "$BOOTSTRAP" =~ ^127\.0\.0\.1:[0-9]+(,127\.0\.0\.1:[0-9]+){2}$ ]] || fail "unexpected bootstrap line: $BOOTSTRAP"

# 20 records over 4 partitions, each with a key and two headers.
for i in $(seq 0 19); do echo "key-$i:value-$i"; done >"$WORK/sent"
for p in 0 1 2 3; do
    awk -v p="$p" 'NR % 4 == p' "$WORK/sent" \
        | kcat -P -b "$BOOTSTRAP" -t kcat_check -p "$p" -K: -H "traceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" -H "content-type=application/x-protobuf" \
        || fail "kcat produce to partition $p"
done

kcat -C -b "$BOOTSTRAP" -t kcat_check -o beginning -e -q \
    -f '%k:%s|%h|%p\n' >"$WORK/received" 2>"$WORK/kcat.err" || fail "kcat consume: $(cat "$WORK/kcat.err")"

[ "$(wc -l <"$WORK/received")" -eq 20 ] || fail "expected 20 records, got $(wc -l <"$WORK/received")"
diff <(cut -d'|' -f1 "$WORK/received" | sort) <(sort "$WORK/sent") >/dev/null || fail "records differ"
grep -vq 'traceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01,content-type=application/x-protobuf' \
    "$WORK/received" && fail "a record lost its headers"
[ "$(cut -d'|' -f3 "$WORK/received" | sort -u | tr '\n' ' ')" = "0 1 2 3 " ] || fail "not all 4 partitions used"

kill -TERM "$MOCK_PID"
STATUS=0
wait "$MOCK_PID" || STATUS=$?
MOCK_PID=""
[ "$STATUS" -eq 0 ] || fail "mock-kafka exited $STATUS after SIGTERM"
echo "PASS: kcat produced and consumed 20 records with keys and headers through traceledger mock-kafka ($BOOTSTRAP)"
