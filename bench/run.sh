#!/usr/bin/env bash
# Runs the benchmarks of the four representative GraphQL operations
# (server/bench_test.go, explained in bench/README.md) and writes their output, with
# the date, the Go version and the machine, to bench/results.txt, followed by
# the mean of the runs of each benchmark. Takes about a minute on 2 cores.
#
#   bench/run.sh                          # 200 operations a run, 3 runs
#   BENCHTIME=20x COUNT=1 bench/run.sh    # a quick look
#
# The pattern names the four benchmarks: the live benchmarks in the same
# package (server/bench_live_test.go) have their own script, bench/run-live.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

BENCHTIME=${BENCHTIME:-200x}
COUNT=${COUNT:-3}
out=bench/results.txt
pattern='^Benchmark(LocationRooms|FloorDesks|VisitorsToday|BookingByID)$'
cmd=(go test -run '^$' -bench "$pattern" -benchmem -benchtime "$BENCHTIME" -count "$COUNT" ./server)

raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
"${cmd[@]}" | tee "$raw" >&2

{
	echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(go version)  $(nproc) cores"
	echo "# ${cmd[*]}"
	cat "$raw"
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
			printf "%-24s %14s %18s %12s %12s\n", "benchmark", "ns/op", "upstream-calls/op", "B/op", "allocs/op"
			for (k = 1; k <= n; k++) {
				b = order[k]; r = runs[b]
				printf "%-24s %14.0f %18.2f %12.0f %12.0f\n", b, sum[b, "ns/op"] / r, sum[b, "upstream-calls/op"] / r, sum[b, "B/op"] / r, sum[b, "allocs/op"] / r
			}
		}' "$raw"
} >"$out"
echo "wrote $out" >&2
