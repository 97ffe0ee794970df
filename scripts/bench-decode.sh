#!/usr/bin/env bash
# Decode throughput, zero-copy OTLP reader vs swift-protobuf, and decode+price (zero-copy reader +
# SpanPricer with config/pricing.yaml), all on the same bytes (release build, ordo-one/benchmark).
# Prints the benchmark table; `kspans_per_s` is thousands of spans per second on the benchmark thread
# (one core). Extra args go to `swift package benchmark` (e.g. --filter '.*price.*': the regex must
# match the whole benchmark name).
#   scripts/bench-decode.sh
set -euo pipefail
cd "$(dirname "$0")/../Benchmarks"
exec swift package --disable-sandbox benchmark --target DecodeBenchmarks --no-progress "$@"
