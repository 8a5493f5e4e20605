#!/usr/bin/env bash
# Builds one of the small Go checkers under hack/ (hack/NAME: go.mod, go.sum, main.go) from Go
# modules into the same cache as hack/tools.sh, keyed by the hash of its sources, and prints the
# binary's path. Two concurrent first runs never see a half-written binary.
#
#   hack/go-checker.sh NAME
set -euo pipefail

NAME=${1:?usage: hack/go-checker.sh NAME}
SRC=$(cd "$(dirname "$0")/$NAME" && pwd)
CACHE=${CLOUDLINK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudlink}
command -v go >/dev/null || { echo "$NAME: Go is required to build it" >&2; exit 1; }
HASH=$(cat "$SRC/go.mod" "$SRC/go.sum" "$SRC/main.go" | sha256sum | cut -c1-16)
OUT=$CACHE/tools/$NAME-$HASH/$NAME

if [[ ! -x $OUT ]]; then
  echo "$NAME: building $OUT" >&2
  mkdir -p "$(dirname "$OUT")"
  tmp=$(mktemp "$(dirname "$OUT")/.$NAME.XXXXXX")
  (cd "$SRC" && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -ldflags="-s -w" -o "$tmp" .)
  mv -f "$tmp" "$OUT"
fi
echo "$OUT"
