#!/usr/bin/env bash
# Runs the benchmarks of the HTTP transports (protocol/bench_test.go) and of
# query (a) with @defer end to end (BenchmarkLocationRoomsDeferred in
# server/api_defer_test.go, next to BenchmarkLocationRooms, the same query without it),
# explained in bench/protocol.md, and writes their output, with the date, the
# Go version, the machine and its load, to bench/protocol-results.txt,
# followed by the mean of the runs of each benchmark. About a minute on 2
# cores.
#
#   bench/run-protocol.sh                        # 3 runs
#   COUNT=1 bench/run-protocol.sh                # a quick look
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-3}
out=bench/protocol-results.txt
unit=(go test -run '^$' -bench 'BenchmarkPOST|BenchmarkDeferredInOneResponse|BenchmarkStripDeferred' -benchmem -benchtime 5000x -count "$COUNT" ./protocol/)
e2e=(go test -run '^$' -bench '^BenchmarkLocationRooms(Deferred)?$' -benchmem -benchtime 200x -count "$COUNT" ./server)

raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
{ "${unit[@]}"; "${e2e[@]}"; } | tee "$raw" >&2

{
	echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(go version)  $(nproc) cores"
	echo "# load average $load_start at start, $(cut -d' ' -f1-3 /proc/loadavg) at end"
	echo "# ${unit[*]}"
	echo "# ${e2e[*]}"
	cat "$raw"
	echo
	echo "# mean of the runs"
	awk '
		/^Benchmark/ {
			name = $1; sub(/-[0-9]+$/, "", name)
			if (!(name in runs)) order[++n] = name
			runs[name]++
			for (i = 3; i < NF; i += 2) { sum[name, $(i + 1)] += $i; if (!((name, $(i + 1)) in seen)) { seen[name, $(i + 1)] = 1; units[name] = units[name] " " $(i + 1) } }
		}
		END {
			for (k = 1; k <= n; k++) {
				b = order[k]; r = runs[b]
				line = sprintf("%-48s", b)
				m = split(units[b], us, " ")
				for (j = 1; j <= m; j++) line = line sprintf(" %14.2f %s", sum[b, us[j]] / r, us[j])
				print line
			}
		}' "$raw"
} >"$out"
echo "wrote $out" >&2
