#!/usr/bin/env bash
# Runs every test: builds the test tools (cached), starts a real control plane, a real Keystone and
# the real Python cloud clients, runs `cargo test` against them, and stops everything it started.
#
#   hack/test.sh                   all tests on the newest supported Kubernetes, then the CRD,
#                                  operator and chart tests on the oldest (K8S_OLDEST in hack/tools.sh)
#   hack/test.sh --test crds       one test file (any `cargo test` arguments work), newest only
#   K8S_VERSION=oldest hack/test.sh --test operator   the same against the oldest supported Kubernetes
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=$(hack/tools.sh)
# A full run tests the oldest supported Kubernetes too: build its tools now, so that a failing build
# shows before the long test run.
OLDEST_BIN=
if (( $# == 0 )); then OLDEST_BIN=$(K8S_VERSION=oldest hack/tools.sh); fi
[[ $OLDEST_BIN != "$BIN" ]] || OLDEST_BIN=   # K8S_VERSION=oldest: the whole run is on it already
export PATH=$BIN:$PATH
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cloudlink-test.XXXXXX")
cleanup() {
  hack/keystone.sh down "$WORK/keystone" >/dev/null 2>&1 || true
  hack/control-plane.sh down "$WORK/control-plane-oldest" 2>/dev/null || true
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

# Every crate of the workspace (the engine's in-memory lifecycle, the cloud clients, the emulator,
# the integration tests); with arguments, what they select (`--test operator`: the operator crate's).
if (($# == 0)); then
  cargo test --locked --workspace --features cloudlink/otel
else
  cargo test --locked --features cloudlink/otel "$@"
fi

if [[ -n $OLDEST_BIN ]]; then
  # What depends on the server's version: the CRDs (schemas, CEL rules, printer columns, kubectl
  # explain), the operator's watches, patches, finalizers and Events, and the chart (its install,
  # RBAC, and PodSecurity admission of its Pods).
  hack/control-plane.sh down "$WORK/control-plane"
  BIN=$OLDEST_BIN hack/control-plane.sh up "$WORK/control-plane-oldest"
  export PATH=$OLDEST_BIN:$PATH
  export CLOUDLINK_TEST_KUBECONFIG=$WORK/control-plane-oldest/kubeconfig
  export CLOUDLINK_TEST_AUDIT_LOG=$WORK/control-plane-oldest/logs/audit.log
  kubectl --kubeconfig "$CLOUDLINK_TEST_KUBECONFIG" version |
    sed -n 's/^Server Version: \(.*\)/test: the CRD, operator and chart tests against Kubernetes \1, the oldest supported/p' >&2
  cargo test --locked --features cloudlink/otel --test crds --test operator --test chart
fi
