#!/usr/bin/env bash
# The first look: installs what is missing, builds traceledger (release), and runs `traceledger dev`:
# a throwaway PostgreSQL + librdkafka's mock Kafka + one worker + ~1M spans of load, then a summary.
#   scripts/dev.sh [traceledger dev options, e.g. --spans 200000 --keep]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product traceledger
exec .build/release/traceledger dev "$@"
