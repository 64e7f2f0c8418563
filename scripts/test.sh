#!/usr/bin/env bash
# The one command that runs every check of the project on a fresh machine:
# formatting, go vet, generated code being current, and every test under the
# race detector against a real redis-server this script starts and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*"; }

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# A real Redis of our own, never one the machine happens to run.
if ! command -v redis-server >/dev/null 2>&1; then
	log "installing redis-server (Debian package)"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi

# GraphiQL is tested in a real browser, Debian's chromium; with BROWSER_TESTS
# set, server/api_graphiql_test.go fails rather than skips when it is missing.
if [ ! -x /usr/bin/chromium ]; then
	log "installing chromium (Debian package) for the browser tests"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
export BROWSER_TESTS=1

# Subscriptions, @defer and the HTTP protocol are tested through npm's
# GraphQL clients (clients/: graphql-ws, subscriptions-transport-ws,
# graphql-sse, Apollo Client), and conformance by graphql-http's server
# audits (TestGraphQLOverHTTPAudit fails on any audit that is not "ok"), all
# run by node; they are installed as clients/package-lock.json pins them,
# again whenever the lock file is newer than the install. With BROWSER_TESTS
# set, the tests that need them fail rather than skip when they are missing.
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
	echo "node and npm are missing: the subscription tests need Node.js 20 or later (https://nodejs.org)" >&2
	exit 1
fi
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
	echo "node $(node --version) is too old: the subscription tests (graphql-ws 6) need Node.js 20 or later" >&2
	exit 1
fi
if [ ! -f clients/node_modules/.package-lock.json ] \
	|| [ clients/package-lock.json -nt clients/node_modules/.package-lock.json ] \
	|| [ clients/package.json -nt clients/node_modules/.package-lock.json ]; then
	log "installing the test clients and the graphql-http audits (npm ci --prefix clients)"
	npm ci --prefix clients --no-audit --no-fund
fi

work=$(mktemp -d)
redis_pid=""
cleanup() {
	if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=scripts/redis.sh
. scripts/redis.sh

start_redis
# Tests that need Redis fail, rather than skip, when it is missing.
export REQUIRE_REDIS=1
log "redis-server $(redis-server --version | awk '{print $3}') on $REDIS_URL"

log "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

log "go vet"
go vet ./...

log "go generate is current"
snapshot() { find . -path ./.git -prune -o -type f -print0 | sort -z | xargs -0 sha256sum; }
snapshot >"$work/before"
go generate ./...
snapshot >"$work/after"
if ! diff -u "$work/before" "$work/after" >"$work/gen.diff"; then
	echo "go generate ./... changed files; run it and commit the result:" >&2
	grep '^[-+][0-9a-f]' "$work/gen.diff" | awk '{print $2}' | sort -u >&2
	exit 1
fi

log "go mod tidy is current"
go mod tidy -diff

log "go test -race"
set +e
# The test of 10,000 subscribers runs alone after the rest: for about ten
# seconds its 20,000 sockets take both cores, which would disturb the
# timing of the tests of other packages running beside it.
alone='^TestTenThousandSubscribersOnOneReplica$'
go test -race -count=1 -timeout 20m -v -skip "$alone" ./... >"$work/test.log" 2>&1
status=$?
go test -race -count=1 -timeout 5m -v -run "$alone" ./server >>"$work/test.log" 2>&1 || status=1
set -e
# Show the package results and every failure, not the whole verbose log.
grep -E '^(ok|FAIL|---|panic:|\s+--- FAIL|\s+\S+\.go:[0-9]+:)|^\?' "$work/test.log" | grep -v -E '^\s*--- (PASS|SKIP)' || true
if [ $status -ne 0 ]; then
	echo "---- failing output ----"
	grep -n -B2 -A30 -E '^\s*--- FAIL|^panic:|^FAIL\s' "$work/test.log" | head -400 || true
fi
passed=$(grep -cE '^\s*--- PASS' "$work/test.log" || true)
failed=$(grep -cE '^\s*--- FAIL' "$work/test.log" || true)
skipped=$(grep -cE '^\s*--- SKIP' "$work/test.log" || true)

# Fuzzing, briefly: every fuzz target of the packages that decode untrusted
# bytes (webhook bodies, upstream answers), one go test per target (Go fuzzes
# one target per run), FUZZTIME each (default 5000x: an exec count, not a
# duration, since a duration's deadline can race a busy worker in Go's fuzz
# coordinator and fail a target with "context deadline exceeded" and no
# failing input; ~60 s in all on 2 cores).
# It runs after the generate check, so the failing inputs go test writes to
# <pkg>/testdata/fuzz/<target>/ (only on failure) cannot spoil that check; a
# passing run writes nothing in the tree (its corpus lives in GOCACHE). A
# failure counts as one failed test, and the summary line stays last.
fuzztime=${FUZZTIME:-5000x}
log "go test -fuzz (${fuzztime} per target)"
fuzz_failed=0
fuzz_start=$SECONDS
for pkg in ./webhook ./engage; do
	if ! targets=$(go test -list '^Fuzz' "$pkg" 2>"$work/fuzz.log"); then
		echo "FAIL	$pkg: cannot list its fuzz targets"; cat "$work/fuzz.log"
		fuzz_failed=$((fuzz_failed + 1)); continue
	fi
	for target in $(grep '^Fuzz' <<<"$targets"); do
		if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >"$work/fuzz.log" 2>&1; then
			echo "ok  	$pkg $target"
		else
			fuzz_failed=$((fuzz_failed + 1))
			echo "FAIL	$pkg $target"
			grep -v -E '^fuzz: elapsed' "$work/fuzz.log" | tail -40
			# go test names the input relative to the package; it stays
			# there, a regression seed once the bug is fixed.
			sed -n -E "s#^\s*Failing input written to (testdata/fuzz/[^/]+/(\S+))#failing input: ${pkg#./}/\1 (rerun: go test -run '^${target}/\2\$' $pkg)#p" "$work/fuzz.log"
		fi
	done
done
echo "fuzzing took $((SECONDS - fuzz_start)) s, ${fuzz_failed} target(s) failed"
if [ "$fuzz_failed" -ne 0 ]; then
	failed=$((failed + fuzz_failed))
	[ "$status" -ne 0 ] || status=1
fi

echo
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit $status
