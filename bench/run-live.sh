#!/usr/bin/env bash
# Runs the live benchmarks (server/bench_live_test.go, explained in bench/live.md)
# and writes their output to bench/live-results.txt. Without REDIS_URL it
# starts a redis-server of its own on a free loopback port, as
# scripts/test.sh does, and stops it at the end. Takes about two minutes.
#
#   bench/run-live.sh                  # everything
#   QUERIES_TIME=300x bench/run-live.sh  # more iterations of one part
set -euo pipefail
cd "$(dirname "$0")/.."

QUERIES_TIME=${QUERIES_TIME:-100x}  # per cold/warm/parallel case of each query
WEBHOOK_TIME=${WEBHOOK_TIME:-300x}  # deliveries per payload: enough for a p99
MEMORY_TIME=${MEMORY_TIME:-3x}      # rounds of opening n subscriptions
out=bench/live-results.txt

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

bench() { # name benchtime
	log "$1 (-benchtime $2)"
	go test -run '^$' -bench "^$1\$" -benchmem -benchtime "$2" -count 1 -timeout 10m ./server | tee -a "$work/results"
}

{
	echo "# bench/run-live.sh, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "# $(go version); $(nproc) cores; $(uname -sr)"
	echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
} >"$work/results"

start=$(date +%s)
bench BenchmarkLiveQueries "$QUERIES_TIME"
bench BenchmarkLiveWebhookToSubscriber "$WEBHOOK_TIME"
bench BenchmarkLiveSubscriptionMemory "$MEMORY_TIME"
bench BenchmarkLiveWebsocketMemory "$MEMORY_TIME"
{
	echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# took $(( $(date +%s) - start ))s"
} >>"$work/results"

cp "$work/results" "$out"
log "wrote $out"
