#!/usr/bin/env bash
# The benchmark: release builds of the operator and the emulator against a real control plane.
# Prints the figures and writes them, with the command and the machine, to docs/benchmarks.md.
#
#   hack/bench.sh                          N = 100 and 1,000; memory at 1,000 and 10,000; start-up
#                                          with 1,000 Secrets of 300 KB that no object names
#   BENCH_SIZES=100 BENCH_MEMORY=1000 hack/bench.sh      a quicker run
#   BENCH_SIZES=none BENCH_MEMORY=none BENCH_SAMPLES=0 hack/bench.sh   the unrelated Secrets only
#   (a partial run rewrites docs/benchmarks.md with its figures only)
#   BENCH_LATENCY_MS=50 hack/bench.sh      another emulator latency (default 20 ms per call)
#   BENCH_ALLOCATORS=none hack/bench.sh    memory of the default build only (no mimalloc, jemalloc)
#
# Targets are goals to report against, not pass/fail checks: see docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=$(hack/tools.sh)
export PATH=$BIN:$PATH
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cloudlink-bench.XXXXXX")
cleanup() {
  hack/control-plane.sh down "$WORK/control-plane" || true
  rm -rf "$WORK"
}
trap cleanup EXIT

asked_allocators=${BENCH_ALLOCATORS:-}
# The memory figures compare allocators: builds of the operator with mimalloc and with jemalloc are
# kept beside the default one (BENCH_ALLOCATORS=none skips them; the default build always runs).
if [[ ${BENCH_MEMORY:-} != none && -z ${BENCH_ALLOCATORS:-} ]]; then
  builds=()
  for allocator in mimalloc jemalloc; do
    cargo build --locked --release -p cloudlink --bin cloudlink --features "$allocator"
    cp "${CARGO_TARGET_DIR:-target}/release/cloudlink" "$WORK/cloudlink-$allocator"
    builds+=("$allocator=$WORK/cloudlink-$allocator")
  done
  export BENCH_ALLOCATORS=$(IFS=,; echo "${builds[*]}")
fi
[[ ${BENCH_ALLOCATORS:-} == none ]] && export BENCH_ALLOCATORS=
cargo build --locked --release --workspace --benches --bins
hack/control-plane.sh up "$WORK/control-plane"
export CLOUDLINK_TEST_KUBECONFIG=$WORK/control-plane/kubeconfig

started=$(date +%s)
cargo bench --locked --bench operator | tee "$WORK/figures.md"
elapsed=$(( $(date +%s) - started ))

{
  echo "# Benchmarks"
  echo
  echo "Measured on $(date -u +%Y-%m-%d) at commit $(git rev-parse --short HEAD), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM,"
  echo "Kubernetes $(kube-apiserver --version | awk '{print $2}') with etcd on the same machine; the benchmark took ${elapsed} s."
  echo "Reproduce with:"
  echo
  echo '```'
  echo "${asked_allocators:+BENCH_ALLOCATORS=$asked_allocators }BENCH_LATENCY_MS=${BENCH_LATENCY_MS:-20} BENCH_SIZES=${BENCH_SIZES:-100,1000} BENCH_MEMORY=${BENCH_MEMORY:-1000,10000} BENCH_UNRELATED_SECRETS=${BENCH_UNRELATED_SECRETS:-1000} BENCH_SHARDS=${BENCH_SHARDS:-10000} BENCH_SAMPLES=${BENCH_SAMPLES:-50} hack/bench.sh"
  echo '```'
  echo
  echo "What is measured (crates/cloudlink/benches/operator/): N TenantConnectionRequests and N Cloudpipes are created at"
  echo "once (16 at a time) in a namespace the operator watches; a watch records when each object first"
  echo "shows \`status.id\` and \`Ready=True\`. The floor creates the same objects in an unwatched namespace"
  echo "and does only the unavoidable work per object: one cloud POST and one status patch, at the same"
  echo "concurrency, through the same client library. That floor is not crash-safe; the safe floor adds the one"
  echo "write a crash-safe protocol needs before the POST (a metadata patch recording the intent, as cloudlink's"
  echo "finalizer does). Both floors are timed by the same watch as the operator. Each throughput run also"
  echo "reports the CPU time of every process and the API server's requests (its \`apiserver_request_total\`);"
  echo "the latency phase also times the latency floor, a bare client on the operator's create path."
  echo "The operator runs with \`--cloud-rate 1000\` (the"
  echo "default 20 calls/s protects a real cloud and would measure the limiter, not the engine)."
  echo
  cat "$WORK/figures.md"
  if [[ -f docs/benchmarks-notes.md ]]; then
    echo
    cat docs/benchmarks-notes.md
  fi
} > docs/benchmarks.md
echo "bench.sh: wrote docs/benchmarks.md (${elapsed} s)"
