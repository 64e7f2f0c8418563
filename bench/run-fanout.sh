#!/usr/bin/env bash
# Runs "one change to many subscribers" (BenchmarkFanOut in
# server/live_subscribers_test.go, explained in bench/fanout.md) and writes its output to
# bench/fanout-results.txt: a gateway process in front of an engagesim, with
# 1,000, 5,000 and 10,000 websocket subscribers (cmd/subload, a process of
# its own) of one room's bookings, and five changes of one of its bookings,
# each made through the gateway and notified back by webhook. Takes about
# two minutes; needs an open-file limit of 25,000 (raised when run as root).
#
#   bench/run-fanout.sh
set -euo pipefail
cd "$(dirname "$0")/.."

out=bench/fanout-results.txt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

{
	echo "# bench/run-fanout.sh, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "# $(go version); $(nproc) cores; $(uname -sr)"
	echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
} >"$work/results"
go test -run '^$' -bench '^BenchmarkFanOut$' -benchtime 1x -count 1 -timeout 20m ./server 2>&1 | grep -v '^redis: ' | tee -a "$work/results"
cp "$work/results" "$out"
printf '==> wrote %s\n' "$out" >&2
