#!/usr/bin/env bash
# Runs the benchmarks of the documents a client can send within the body
# limit (BenchmarkDocuments in server/bench_documents_test.go, explained in
# bench/documents.md) and writes their output, with the date, the Go version
# and the machine, to bench/documents-results.txt, followed by the mean of
# the runs of each benchmark and, for each document run both ways, how many
# times slower and larger the unbounded handler was. Takes about four
# minutes on 2 cores, and up to a gigabyte of memory for the unbounded runs.
#
#   bench/run-documents.sh                        # 20 operations a run, 3 runs
#   BENCHTIME=3x COUNT=1 bench/run-documents.sh   # a quick look
set -euo pipefail
cd "$(dirname "$0")/.."

BENCHTIME=${BENCHTIME:-20x}
COUNT=${COUNT:-3}
out=bench/documents-results.txt
cmd=(go test -run '^$' -bench '^BenchmarkDocuments$' -benchmem -benchtime "$BENCHTIME" -count "$COUNT" -timeout 30m ./server)

raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
"${cmd[@]}" | tee "$raw" >&2

{
	echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(go version)  $(nproc) cores"
	echo "# load average $load_start at start, $(cut -d' ' -f1-3 /proc/loadavg) at end"
	echo "# ${cmd[*]}"
	cat "$raw"
	echo
	echo "# mean of the runs; the goal is 100 ms and 20 MB for every bounded document"
	awk '
		/^BenchmarkDocuments\// {
			name = $1; sub(/-[0-9]+$/, "", name); sub(/^BenchmarkDocuments\//, "", name)
			if (!(name in runs)) order[++n] = name
			runs[name]++
			for (i = 3; i < NF; i += 2) sum[name, $(i + 1)] += $i
		}
		END {
			printf "%-58s %10s %10s %12s %10s %s\n", "document/handler", "ms/op", "MB/op", "resp-bytes", "allocs/op", ""
			for (k = 1; k <= n; k++) {
				b = order[k]; r = runs[b]
				ms[b] = sum[b, "ns/op"] / r / 1e6; mb[b] = sum[b, "B/op"] / r / 1048576
				flag = ""
				if (b ~ /\/bounded$/ && (ms[b] > 100 || mb[b] > 20)) flag = "  OVER THE GOAL"
				printf "%-58s %10.2f %10.2f %12.0f %10.0f%s\n", b, ms[b], mb[b], sum[b, "resp-bytes/op"] / r, sum[b, "allocs/op"] / r, flag
			}
			print ""
			print "# unbounded / bounded, for the documents run both ways"
			printf "%-48s %10s %10s\n", "document", "time", "memory"
			for (k = 1; k <= n; k++) {
				b = order[k]
				if (b !~ /\/unbounded$/) continue
				d = b; sub(/\/unbounded$/, "", d); o = d "/bounded"
				if (!(o in ms)) continue
				printf "%-48s %9.1fx %9.1fx\n", d, ms[b] / ms[o], mb[b] / mb[o]
			}
		}' "$raw"
} >"$out"
echo "wrote $out" >&2
