#!/usr/bin/env bash
# Runs "a week at the office" (server/bench_week_test.go, explained in bench/week.md)
# and writes its output to bench/week-results.txt: the mirror over a whole
# simulated week, and the read-through cache of TTLs over two simulated hours
# projected onto the week, in one go. Without REDIS_URL it starts a
# redis-server of its own on a free loopback port, as scripts/test.sh does.
# Takes about five minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/week-results.txt

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
	echo "# bench/run-week.sh, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "# $(go version); $(nproc) cores; $(uname -sr)"
	echo "# commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
} >"$work/results"
start=$(date +%s)
go test -run '^$' -bench '^BenchmarkWeekAtTheOffice$' -benchtime 1x -count 1 -timeout 20m ./server 2>&1 | grep -v '^redis: ' | tee -a "$work/results"
echo "# took $(( $(date +%s) - start ))s" >>"$work/results"
cp "$work/results" "$out"
log "wrote $out"
