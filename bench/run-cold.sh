#!/usr/bin/env bash
# Runs "cold answers against the upstream's round trips" (server/bench_cold_test.go,
# explained in bench/cold.md) and writes its output to
# bench/cold-results.txt: each representative query answered cold with the
# simulator 10 ms and then 20 ms away, and from the two, the round trips it
# makes one after another and the gateway's own time. About 15 s.
#
#   bench/run-cold.sh                 # 20 requests per latency and query
#   COLD_TIME=5x bench/run-cold.sh    # a quick look
set -euo pipefail
cd "$(dirname "$0")/.."

COLD_TIME=${COLD_TIME:-20x}
out=bench/cold-results.txt
{
	echo "# bench/run-cold.sh, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "# $(go version); $(nproc) cores; $(uname -sr)"
	echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
} >"$out.tmp"
go test -run '^$' -bench '^BenchmarkColdAgainstRoundTrips$' -benchtime "$COLD_TIME" -count 1 -timeout 10m ./server 2>&1 | tee -a "$out.tmp"
mv "$out.tmp" "$out"
echo "==> wrote $out" >&2
