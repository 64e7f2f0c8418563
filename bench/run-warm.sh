#!/usr/bin/env bash
# Runs "warm answers against the ceiling" (server/bench_warm_test.go, explained in
# bench/warm.md) and writes its output to bench/warm-results.txt: query (B)
# answered warm by the gateway on the memory store and on Redis, from one
# client and from eight, each beside the ceiling (a bare net/http server
# answering the gateway's own bytes) in the same run. Without REDIS_URL it
# starts a redis-server of its own on a free loopback port, as
# scripts/test.sh does. Then BenchmarkLoggedWrite: what a store write costs
# its writer with each CACHE_ANSWERS_CHECK. Takes a few minutes.
#
#   bench/run-warm.sh                # 2,000 requests per case
#   WARM_TIME=300x bench/run-warm.sh # a quick look
set -euo pipefail
cd "$(dirname "$0")/.."

WARM_TIME=${WARM_TIME:-2000x}
out=bench/warm-results.txt

log() { printf '==> %s\n' "$*" >&2; }

work=$(mktemp -d)
redis_pid=""
cleanup() {
	if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
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
	log "redis-server $(redis-server --version | awk '{print $3}') on $REDIS_URL (started for this run)"
else
	log "using REDIS_URL=$REDIS_URL"
fi

{
	echo "# bench/run-warm.sh, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "# $(go version); $(nproc) cores; $(uname -sr)"
	echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
} >"$work/results"
go test -run '^$' -bench '^BenchmarkWarmAgainstTheCeiling$' -benchmem -benchtime "$WARM_TIME" -count 1 -timeout 10m ./server 2>&1 | grep -v '^redis: ' | tee -a "$work/results"
# What a store write costs its writer on Redis with each check (leases make
# writes wait for the replicas holding one).
go test -run '^$' -bench '^BenchmarkLoggedWrite$' -benchtime 2000x -count 1 -timeout 5m ./server 2>&1 | grep -v '^redis: ' | grep -E '^(Benchmark|ok|FAIL|---)' | tee -a "$work/results"
cp "$work/results" "$out"
log "wrote $out"
