#!/usr/bin/env bash
# Runs the benchmarks of what the gateway's protections cost per request
# (auth/bench_test.go and fleet/bench_test.go, explained in
# bench/protection.md) and writes their output, with the date, the Go version
# and the machine, to bench/protection-results.txt, followed by the mean of
# the runs of each benchmark. Without REDIS_URL it starts a redis-server of
# its own on a free loopback port and stops it at the end. Takes about two
# minutes on 2 cores.
#
#   bench/run-protection.sh                       # 2s a benchmark, 3 runs
#   BENCHTIME=200ms COUNT=1 bench/run-protection.sh  # a quick look
set -euo pipefail
cd "$(dirname "$0")/.."

BENCHTIME=${BENCHTIME:-2s}
COUNT=${COUNT:-3}
out=bench/protection-results.txt
pattern='BenchmarkAuthenticate|BenchmarkLimiterAllow|BenchmarkTokenLeaseLoad'
cmd=(go test -run '^$' -bench "$pattern" -benchmem -benchtime "$BENCHTIME" -count "$COUNT" ./auth/ ./fleet/)

work=$(mktemp -d)
redis_pid=""
cleanup() {
	if [ -n "$redis_pid" ]; then
		kill "$redis_pid" 2>/dev/null || true
		wait "$redis_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=scripts/redis.sh
. scripts/redis.sh

if [ -z "${REDIS_URL:-}" ]; then
	if ! command -v redis-server >/dev/null 2>&1; then
		echo "REDIS_URL is unset and redis-server is missing (apt-get install redis-server)" >&2
		exit 1
	fi
	start_redis
	redis="redis-server $(redis-server --version | awk '{ sub(/v=/, "", $3); print $3 }') on loopback, started for this run"
else
	redis="REDIS_URL as set by the caller"
fi
echo "==> $redis: $REDIS_URL" >&2

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
"${cmd[@]}" | tee "$work/raw" >&2

{
	echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(go version)  $(nproc) cores"
	echo "# $redis; load average $load_start at start, $(cut -d' ' -f1-3 /proc/loadavg) at end"
	echo "# ${cmd[*]}"
	cat "$work/raw"
	echo
	echo "# mean of the runs"
	awk '
		/^Benchmark/ {
			name = $1; sub(/-[0-9]+$/, "", name)
			if (!(name in runs)) order[++n] = name
			runs[name]++
			for (i = 3; i < NF; i += 2) sum[name, $(i + 1)] += $i
		}
		END {
			printf "%-50s %12s %10s %10s\n", "benchmark", "ns/op", "B/op", "allocs/op"
			for (k = 1; k <= n; k++) {
				b = order[k]; r = runs[b]
				printf "%-50s %12.0f %10.0f %10.0f\n", b, sum[b, "ns/op"] / r, sum[b, "B/op"] / r, sum[b, "allocs/op"] / r
			}
		}' "$work/raw"
} >"$out"
echo "wrote $out" >&2
