#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is missing, builds, then runs every test against a throwaway PostgreSQL
# (scripts/with-postgres.sh) and librdkafka's mock cluster (in process, or hosted by
# `traceledger mock-kafka` in another process).
#   scripts/test.sh [extra `swift test` args, e.g. --filter KafkaTests]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
export TRACELEDGER_BIN="$PWD/.build/debug/traceledger"
# Serial: the Kafka rebalance tests wait on the mock cluster's timers, which CPU-heavy suites running
# beside them on a 2-core machine would stretch.
exec scripts/with-postgres.sh swift test --skip-build --no-parallel "$@"
