#!/usr/bin/env bash
# Guards the hot paths against regressions: decode (DecodeBenchmarks), pricing and the fold
# (PipelineBenchmarks: SpanPricer; RecordProcessor.process into an epoch delta on LoadGen records) and COPY
# encoding (CopyBenchmarks: BinaryCopyEncoder), release build, checked with ordo-one/benchmark against the
# p90 thresholds stored in Benchmarks/Thresholds/ (one JSON file per benchmark). Tolerances are set in the
# benchmark code: ±60 % on wall clock p90 (a shared, noisy 2-core machine: two runs of the same code at load ~2–3 differed by ~50 % at p90), malloc counts ±5 %
# (±16 where an iteration allocates only a few times). Takes ~2 min after the first build; not part of .ci/run (too slow and too noisy).
#   scripts/bench-guard.sh            check: exit 0 within tolerance (also when better: update then),
#                                     exit 2 on a regression, 1 when the benchmarks fail to build or run
#   scripts/bench-guard.sh --update   measure again and store the thresholds (commit Benchmarks/Thresholds/)
# Benchmark names carry no spaces: ordo-one/benchmark 1.38 writes threshold files under names with spaces
# turned into '_' but looks them up under the raw name.
# Extra args go to `swift package benchmark` (e.g. --target CopyBenchmarks, --filter 'fold.*').
set -uo pipefail
cd "$(dirname "$0")/../Benchmarks"
if [ "${1:-}" = --update ]; then
  shift
  swift package --disable-sandbox --allow-writing-to-package-directory benchmark thresholds update \
    --path Thresholds --no-progress "$@" || exit 1
  # Keep wall clock and malloc counts only: benchmark 1.38 stores a larger-is-better metric's (throughput,
  # kspans_per_s) p90 from one end of the distribution and checks it from the other, so those would fail
  # on a faster run. Wall clock p90 guards the same thing (throughput = 1 / wall clock).
  python3 - Thresholds/*.p90.json <<'PY'
import json, sys
for path in sys.argv[1:]:
    t = json.load(open(path))
    json.dump({k: v for k, v in t.items() if k in ("wallClock", "mallocCountTotal")}, open(path, "w"), indent=2, sort_keys=True)
PY
  exit 0
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
swift package --disable-sandbox benchmark thresholds check --path Thresholds --no-progress "$@" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
if grep -q "is WORSE than the defined thresholds" "$out"; then
  echo "bench-guard: REGRESSION (see 'Deviations worse than threshold' above)" >&2
  exit 2
fi
if grep -q "is BETTER than the defined thresholds" "$out"; then
  echo "bench-guard: better than the stored thresholds; store the new ones with scripts/bench-guard.sh --update" >&2
  exit 0
fi
if [ "$rc" != 0 ]; then echo "bench-guard: the benchmarks failed (exit $rc)" >&2; exit 1; fi
echo "bench-guard: within the stored thresholds" >&2
