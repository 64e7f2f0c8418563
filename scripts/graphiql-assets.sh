#!/usr/bin/env bash
# Re-fetches the GraphiQL, React and ReactDOM builds that graphiql/ embeds, for
# an upgrade: edit the pinned versions below, run this script, check the page
# (go test -run 'Browser|GraphiQL' . ./graphiql/), and commit graphiql/assets/.
# The gateway never runs it; the binary serves what is committed.
#
# Each package comes from the npm registry with `npm pack` (no install, no
# scripts run), its few browser files are copied next to its LICENSE, and
# graphiql/assets/VERSIONS records package@version and the sha256 of every
# copied file, which graphiql's tests check against what is embedded.
set -euo pipefail
cd "$(dirname "$0")/.."

# GraphiQL 4.1.x is the last line with a UMD build (5 ships ES modules only);
# React 18 is the last with UMD builds (19 dropped them).
packages=(
	"graphiql@4.1.2 graphiql.min.js graphiql.min.css"
	"react@18.2.0 umd/react.production.min.js"
	"react-dom@18.2.0 umd/react-dom.production.min.js"
)

dest=graphiql/assets
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

versions="$work/VERSIONS"
{
	echo "# The third-party files under graphiql/assets/, written by scripts/graphiql-assets.sh."
	echo "# package@version  path  sha256"
} >"$versions"

for entry in "${packages[@]}"; do
	read -r spec files <<<"$entry"
	name=${spec%@*}
	echo "==> npm pack $spec"
	tarball=$(cd "$work" && npm pack --silent "$spec" | tail -n 1)
	mkdir -p "$work/$name"
	tar -xzf "$work/$tarball" -C "$work/$name"
	src="$work/$name/package"
	rm -rf "${dest:?}/$name"
	mkdir -p "$dest/$name"
	for f in $files LICENSE; do
		if [ ! -f "$src/$f" ]; then
			echo "$spec has no $f; pick a version that ships it" >&2
			exit 1
		fi
		cp "$src/$f" "$dest/$name/$(basename "$f")"
		path="$name/$(basename "$f")"
		printf '%s %s %s\n' "$spec" "$path" "$(sha256sum "$dest/$path" | awk '{print $1}')" >>"$versions"
	done
done

cp "$versions" "$dest/VERSIONS"
echo "==> wrote $dest/VERSIONS"
cat "$dest/VERSIONS"
