#!/usr/bin/env bash
# Builds hack/sss-check (the SSS approval-request API through the real Go SDK, github.com/nttcom/eclcloud/v2)
# from Go modules into the same cache as hack/tools.sh, keyed by the hash of its sources, and prints the
# binary's path.
#
#   hack/sss-check.sh                         build if missing, print the path on stdout
#   $(hack/sss-check.sh) list --status registered     with OS_* set as for eclcli
#
# Cold: about 20 s on 2 cores from empty Go caches (eclcloud from the Go proxy; it has no dependencies of
# its own), 11 s with the module already downloaded; warm: well under a second.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/sss-check" && pwd)
CACHE=${CLOUDLINK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudlink}
command -v go >/dev/null || { echo "sss-check: Go is required to build it" >&2; exit 1; }
HASH=$(cat "$SRC/go.mod" "$SRC/go.sum" "$SRC/main.go" | sha256sum | cut -c1-16)
OUT=$CACHE/tools/sss-check-$HASH/sss-check

if [[ ! -x $OUT ]]; then
  echo "sss-check: building $OUT" >&2
  mkdir -p "$(dirname "$OUT")"
  # Build to a temporary name and rename: two concurrent first runs never see a half-written binary.
  tmp=$(mktemp "$(dirname "$OUT")/.sss-check.XXXXXX")
  (cd "$SRC" && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -ldflags="-s -w" -o "$tmp" .)
  mv -f "$tmp" "$OUT"
fi
echo "$OUT"
