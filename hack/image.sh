#!/usr/bin/env bash
# The operator's container image without a Docker engine: the same files and config as the Dockerfile's
# (a static binary, CA certificates, a passwd naming user 65532, nothing else; runs `cloudlink run` as
# 65532), assembled with umoci (Debian's package, installed here if missing) as an OCI image layout.
#
#   hack/image.sh [--out DIR] [--tag TAG] [--binary PATH]
#       build the static binary (unless --binary), write the OCI layout to DIR (default
#       $CARGO_TARGET_DIR/image/oci, or target/image/oci) and the same as an oci-archive DIR.tar;
#       print DIR. Load it with `skopeo copy oci-archive:DIR.tar docker-daemon:cloudlink:TAG`,
#       push it with `skopeo copy oci:DIR:TAG docker://REGISTRY/cloudlink:TAG`.
#   hack/image.sh binary
#       build the static binary only, print its path (the Dockerfile builds the same way).
#   hack/image.sh rootfs DIR BINARY
#       lay out the image's files in DIR (the Dockerfile uses this too).
#
# CLOUDLINK_FEATURES=otel builds the binary with those cargo features (OpenTelemetry export, see the
# README's "Tracing (OpenTelemetry)").
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
log() { echo "image: $*" >&2; }
die() { log "$*"; exit 1; }

# A fully static glibc binary (no dynamic loader, no libc.so): runs in an empty image. Building with
# --target keeps RUSTFLAGS off build scripts and proc-macros, and the result apart from other builds.
build_binary() {
  local target target_dir
  target=$(rustc -vV | sed -n 's/^host: //p')
  [[ $target == *-linux-gnu ]] || die "the static build needs a *-linux-gnu host, not $target"
  target_dir=${CARGO_TARGET_DIR:-$ROOT/target}
  log "building a static cloudlink for $target (release${CLOUDLINK_FEATURES:+, features $CLOUDLINK_FEATURES})"
  (cd "$ROOT" && RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --quiet --target "$target" --bin cloudlink \
    ${CLOUDLINK_FEATURES:+--features "$CLOUDLINK_FEATURES"})
  echo "$target_dir/$target/release/cloudlink"
}

# Everything the image holds. The CA bundle lets the operator verify Keystone, Nova and ECL over HTTPS
# (rustls reads /etc/ssl/certs/ca-certificates.crt); passwd and group name the user it runs as.
rootfs() {
  local dir=$1 binary=$2 bundle=/etc/ssl/certs/ca-certificates.crt
  [[ -x $binary ]] || die "no executable at $binary"
  if readelf -l "$binary" | grep -q 'Requesting program interpreter'; then
    die "$binary is dynamically linked: it would not start in an image without a libc"
  fi
  [[ -s $bundle ]] || die "no CA bundle at $bundle (Debian: apt-get install ca-certificates)"
  rm -rf "$dir"
  # Stripped of its symbol table: a quarter smaller; panics still print their message and location.
  install -D -m 0755 -s "$binary" "$dir/usr/local/bin/cloudlink"
  install -D -m 0644 "$bundle" "$dir/etc/ssl/certs/ca-certificates.crt"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$dir/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' > "$dir/etc/group"
  chmod 0644 "$dir/etc/passwd" "$dir/etc/group"
  install -d -m 0755 "$dir/tmp"
  chmod 1777 "$dir/tmp"
}

ensure_umoci() {
  command -v umoci >/dev/null && return 0
  log "installing umoci (Debian package)"
  [[ $(id -u) == 0 ]] || die "umoci is missing and installing it needs root: apt-get install umoci"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq umoci >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq umoci >/dev/null
  fi
}

image() {
  local out="" tag="" binary=""
  while (( $# )); do
    case $1 in
      --out) out=$2; shift 2 ;;
      --tag) tag=$2; shift 2 ;;
      --binary) binary=$2; shift 2 ;;
      *) die "unknown argument $1 (usage: hack/image.sh [--out DIR] [--tag TAG] [--binary PATH])" ;;
    esac
  done
  local version
  version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n1)
  tag=${tag:-$version}
  out=${out:-${CARGO_TARGET_DIR:-$ROOT/target}/image/oci}
  [[ -n $binary ]] || binary=$(build_binary)
  ensure_umoci

  local work arch created
  work=$(mktemp -d "${TMPDIR:-/tmp}/cloudlink-image.XXXXXX")
  trap 'rm -rf "$work"' RETURN
  rootfs "$work/rootfs" "$binary"
  case $(uname -m) in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
  # The commit's time, not the build's: the same commit gives the same config.
  created=$(git -C "$ROOT" log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)

  rm -rf "$out" "$out.tar"
  mkdir -p "$(dirname "$out")"
  local rootless=()
  [[ $(id -u) == 0 ]] || rootless=(--rootless)
  umoci init --layout "$out"
  umoci new --image "$out:$tag"
  # unpack + repack (umoci 0.4's `insert` writes a layer without the tar's end blocks).
  umoci unpack "${rootless[@]}" --image "$out:$tag" "$work/bundle" >/dev/null
  cp -a "$work/rootfs/." "$work/bundle/rootfs/"
  # Timestamps of the commit, not of the build.
  find "$work/bundle/rootfs" -exec touch -h -d "$created" {} +
  umoci repack "${rootless[@]}" --image "$out:$tag" --history.created "$created" \
    --history.created_by "hack/image.sh: static cloudlink, CA certificates, passwd" "$work/bundle" >/dev/null
  umoci config --image "$out:$tag" --no-history \
    --os linux --architecture "$arch" --created "$created" \
    --config.user 65532:65532 \
    --config.entrypoint /usr/local/bin/cloudlink --config.cmd run \
    --config.workingdir / \
    --config.env PATH=/usr/local/bin \
    --config.label org.opencontainers.image.title=cloudlink \
    --config.label org.opencontainers.image.licenses=Apache-2.0 \
    --config.label "org.opencontainers.image.description=Kubernetes operator for cloud network-access resources"
  umoci gc --layout "$out"
  tar -C "$out" -cf "$out.tar" .
  log "OCI layout $out (tag $tag), archive $out.tar"
  echo "$out"
}

case ${1:-} in
  binary) build_binary ;;
  rootfs) [[ $# == 3 ]] || die "usage: hack/image.sh rootfs DIR BINARY"; rootfs "$2" "$3" ;;
  *) image "$@" ;;
esac
