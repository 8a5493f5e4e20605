#!/usr/bin/env bash
# Builds the test tools (etcd, kube-apiserver, kube-controller-manager, kubectl, helm) from Go modules
# at pinned versions, cached outside the repository by version, and prints the bin directory.
#
#   hack/tools.sh                       build what is missing, print the bin dir on stdout
#   hack/tools.sh --print               print the bin dir without building
#   K8S_VERSION=oldest hack/tools.sh    the same for the oldest supported Kubernetes (or any vX.Y.Z)
#
# A second run with everything cached costs well under a second.
set -euo pipefail

# The Kubernetes versions cloudlink supports, newest and oldest. The oldest is also the k8s-openapi
# feature in Cargo.toml and the chart's kubeVersion (a test checks that they agree); hack/test.sh runs
# the CRD and operator tests against both. Each is a release whose go.mod the machine's Go (1.26) builds.
K8S_NEWEST=v1.37.2
K8S_OLDEST=v1.33.13
K8S_VERSION=${K8S_VERSION:-newest}
case $K8S_VERSION in
  newest) K8S_VERSION=$K8S_NEWEST ;;
  oldest) K8S_VERSION=$K8S_OLDEST ;;
esac
HELM_VERSION=${HELM_VERSION:-v3.21.4}
CACHE=${CLOUDLINK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudlink}
BIN=$CACHE/tools/k8s-$K8S_VERSION-helm-$HELM_VERSION/bin

if [[ ${1:-} == --print ]]; then echo "$BIN"; exit 0; fi
log() { echo "tools: $*" >&2; }

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-trimpath
command -v go >/dev/null || { log "Go is required to build the test tools"; exit 1; }
mkdir -p "$BIN"

build_k8s() {
  local mod=$CACHE/tools/k8s-$K8S_VERSION-module
  mkdir -p "$mod"
  (
    cd "$mod"
    if [[ ! -f go.sum ]]; then
      # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with ./staging paths,
      # which a consumer cannot see: derive the replace list from the upstream go.mod of this version.
      local upstream staging_version go_line godebug etcd_version
      upstream=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\([^"]*\)".*/\1/p')
      [[ -s $upstream ]] || { log "cannot fetch k8s.io/kubernetes@$K8S_VERSION"; exit 1; }
      staging_version=v0.${K8S_VERSION#v1.}
      go_line=$(awk '$1=="go"{print $2; exit}' "$upstream")
      godebug=$(awk '$1=="godebug"{print $2; exit}' "$upstream")
      etcd_version=$(awk '$1=="go.etcd.io/etcd/server/v3"{print $2; exit}' "$upstream")
      mapfile -t staging < <(sed -n 's|^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\) => \./staging/src/k8s\.io/.*|\1|p' "$upstream")
      (( ${#staging[@]} > 20 )) || { log "staging module list looks wrong (${#staging[@]})"; exit 1; }
      {
        printf 'module cloudlink.invalid/k8s-test-tools\n\ngo %s\n\n' "$go_line"
        [[ -n $godebug ]] && printf 'godebug %s\n\n' "$godebug"
        printf 'require (\n\tgo.etcd.io/etcd/server/v3 %s\n\tk8s.io/kubernetes %s\n)\n\n' "$etcd_version" "$K8S_VERSION"
        printf 'tool (\n\tgo.etcd.io/etcd/server/v3\n\tk8s.io/kubernetes/cmd/kube-apiserver\n'
        printf '\tk8s.io/kubernetes/cmd/kube-controller-manager\n\tk8s.io/kubernetes/cmd/kubectl\n)\n\n'
        printf 'replace (\n'
        for m in "${staging[@]}"; do printf '\t%s => %s %s\n' "$m" "$m" "$staging_version"; done
        printf ')\n'
      } > go.mod
      log "tools module: k8s $K8S_VERSION, ${#staging[@]} staging modules, etcd $etcd_version"
      go mod tidy
    fi
    # Stamp the version: unstamped builds report v0.0.0-master, which helm's kubeVersion checks reject.
    local minor date x=""
    minor=$(echo "$K8S_VERSION" | cut -d. -f2)
    date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      x+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
      x+=" -X $p.gitTreeState=clean -X $p.gitCommit=0000000000000000000000000000000000000000 -X $p.buildDate=$date"
    done
    log "building kube-apiserver, kube-controller-manager, kubectl $K8S_VERSION (cold: tens of minutes on 2 cores)"
    go build -tags=selinux,notest -ldflags="-s -w$x" -o "$BIN/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl
    go build -ldflags="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=gomod" -o "$BIN/etcd" go.etcd.io/etcd/server/v3
  )
}

build_helm() {
  local minor
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  log "building helm $HELM_VERSION"
  GOBIN=$BIN go install -ldflags="-s -w \
    -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor \
    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
}

for b in kube-apiserver kube-controller-manager kubectl etcd; do
  [[ -x $BIN/$b ]] || { build_k8s; break; }
done
# The stamp marks a helm built with the Kubernetes version its offline `template` and `lint` assume.
[[ -x $BIN/helm && -f $BIN/helm.k8s-version ]] || { build_helm && echo "$K8S_VERSION" > "$BIN/helm.k8s-version"; }
echo "$BIN"
