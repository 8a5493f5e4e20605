#!/usr/bin/env bash
# Runs every test: builds the test tools (cached), starts a real control plane, a real Keystone and
# the real Python cloud clients, runs `cargo test` against them, and stops everything it started.
#
#   hack/test.sh                   all tests
#   hack/test.sh --test crds       one test file (any `cargo test` arguments work)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=$(hack/tools.sh)
export PATH=$BIN:$PATH
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cloudlink-test.XXXXXX")
cleanup() {
  hack/keystone.sh down "$WORK/keystone" >/dev/null 2>&1 || true
  hack/control-plane.sh down "$WORK/control-plane" || true
  rm -rf "$WORK"
}
trap cleanup EXIT

hack/control-plane.sh up "$WORK/control-plane"
export CLOUDLINK_TEST_KUBECONFIG=$WORK/control-plane/kubeconfig
export CLOUDLINK_TEST_AUDIT_LOG=$WORK/control-plane/logs/audit.log

hack/keystone.sh up "$WORK/keystone"
set -a
# shellcheck disable=SC1091
source "$WORK/keystone/keystone.env"
set +a
clients=$(hack/python-clients.sh)
set -a
eval "$clients"
set +a

cargo test --locked --features otel "$@"
