#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time and prints, per target, the figures of
# libFuzzer's final stats: executions, executions per second, corpus size, coverage, crashes.
#
#   hack/fuzz.sh [SECONDS_PER_TARGET]      default 60
#   FUZZ_TARGETS="error_body nova_body" hack/fuzz.sh 10     only these (docs/fuzzing.md left as is)
#
# Installs cargo-fuzz on first use into ~/.cache/cloudlink/cargo-fuzz (reused next time), builds
# with its own target directory (~/.cache/cloudlink/fuzz-target), and keeps the corpus each target
# grows in ~/.cache/cloudlink/fuzz-corpus/<target> (the seeds in fuzz/corpus/<target> are read,
# never written). Needs a nightly toolchain; with only stable, it sets RUSTC_BOOTSTRAP=1 and says so.
#
# Exits non-zero if any target crashed (a panic, an assertion of the target, a timeout or an
# out-of-memory), printing the crash input's path and how to reproduce it. The figures of a run of
# all targets are written to docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${1:-60}
if ! [[ $SECONDS_PER_TARGET =~ ^[0-9]+$ ]] || ((SECONDS_PER_TARGET == 0)); then
  echo "usage: hack/fuzz.sh [SECONDS_PER_TARGET]" >&2
  exit 2
fi

CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/cloudlink
CARGO_FUZZ_VERSION=0.13.2
CARGO_FUZZ_ROOT=$CACHE/cargo-fuzz
export CARGO_TARGET_DIR=$CACHE/fuzz-target
CORPUS=$CACHE/fuzz-corpus
LOGS=$CACHE/fuzz-logs/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$CORPUS" "$LOGS"

if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  cargo=(cargo +nightly)
  toolchain="nightly: $(rustc +nightly --version)"
else
  # cargo-fuzz passes -Z flags (sanitizers, coverage instrumentation) that only nightly accepts.
  export RUSTC_BOOTSTRAP=1
  cargo=(cargo)
  toolchain="stable with RUSTC_BOOTSTRAP=1 (no nightly toolchain): $(rustc --version)"
fi
echo "toolchain: $toolchain" >&2

if ! "$CARGO_FUZZ_ROOT/bin/cargo-fuzz" --version 2>/dev/null | grep -qx "cargo-fuzz $CARGO_FUZZ_VERSION"; then
  echo "installing cargo-fuzz $CARGO_FUZZ_VERSION into $CARGO_FUZZ_ROOT" >&2
  # Its own target directory: the fuzz one is built with sanitizer flags.
  CARGO_TARGET_DIR=$CACHE/cargo-fuzz-build cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION" --root "$CARGO_FUZZ_ROOT" >&2
fi
export PATH=$CARGO_FUZZ_ROOT/bin:$PATH

read -r -a targets <<<"${FUZZ_TARGETS:-$("${cargo[@]}" fuzz list | tr '\n' ' ')}"
echo "building ${#targets[@]} targets (first build: several minutes)" >&2
"${cargo[@]}" fuzz build --target-dir "$CARGO_TARGET_DIR" >&2

# The last value of "name: value" in a log (libFuzzer's final stats), or "?".
final_stat() { grep -o "$1: *[0-9.]*" "$2" | tail -n 1 | awk '{print $2}' | grep . || echo "?"; }

started=$(date +%s)
rows=()
crashed=()
printf '%-16s %6s %12s %8s %14s %9s %8s\n' target seconds executions exec/s "corpus (start)" coverage crashes
for t in "${targets[@]}"; do
  log=$LOGS/$t.log
  mkdir -p "$CORPUS/$t"
  seeds=()
  [[ -d fuzz/corpus/$t ]] && seeds=("fuzz/corpus/$t")
  status=0
  "${cargo[@]}" fuzz run --target-dir "$CARGO_TARGET_DIR" "$t" "$CORPUS/$t" "${seeds[@]}" -- \
    -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 -timeout=10 >"$log" 2>&1 || status=$?
  execs=$(final_stat stat::number_of_executed_units "$log")
  rate=$(final_stat stat::average_exec_per_sec "$log")
  loaded=$(grep -o 'seed corpus: files: [0-9]*' "$log" | tail -n 1 | awk '{print $4}' || true)
  corp=$(grep -o 'corp: [0-9]*' "$log" | tail -n 1 | awk '{print $2}' || true)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | awk '{print $2}' || true)
  mapfile -t artifacts < <(grep -o 'Test unit written to [^ ]*' "$log" | awk '{print $5}')
  crashes=${#artifacts[@]}
  if ((status != 0 && crashes == 0)); then
    crashes="error"
  fi
  row=$(printf '%-16s %6s %12s %8s %14s %9s %8s' "$t" "$SECONDS_PER_TARGET" "$execs" "$rate" "${corp:-?} (${loaded:-?})" "${cov:-?}" "$crashes")
  echo "$row"
  rows+=("| \`$t\` | $SECONDS_PER_TARGET | $execs | $rate | ${corp:-?} (${loaded:-?}) | ${cov:-?} | $crashes |")
  if [[ $crashes != 0 ]]; then
    crashed+=("$t")
    {
      echo "--- $t: exit status $status; log $log"
      grep -A 1 -E "panicked at" "$log" || true
      grep -E "ERROR: (libFuzzer|AddressSanitizer)|Test unit written to" "$log" || tail -n 30 "$log"
      for a in "${artifacts[@]}"; do
        echo "crash input: $a"
        echo "  reproduce: PATH=$CARGO_FUZZ_ROOT/bin:\$PATH ${cargo[*]} fuzz run --target-dir $CARGO_TARGET_DIR $t $a"
        echo "  minimise:  PATH=$CARGO_FUZZ_ROOT/bin:\$PATH ${cargo[*]} fuzz tmin --target-dir $CARGO_TARGET_DIR $t $a"
      done
    } >&2
  fi
done
elapsed=$(($(date +%s) - started))
echo "total fuzzing time: ${elapsed}s; logs in $LOGS" >&2

command="hack/fuzz.sh $SECONDS_PER_TARGET"
results=$(
  echo "Last run: \`$command\` on $(date -u +%Y-%m-%d), $toolchain, cargo-fuzz $CARGO_FUZZ_VERSION, $(nproc) cores;"
  echo "${elapsed} s of fuzzing in all. Corpus: inputs at the end (inputs loaded at the start: seeds plus the"
  echo "corpus earlier runs on that machine left in ~/.cache/cloudlink/fuzz-corpus). Coverage: libFuzzer's \`cov\`."
  echo
  echo "| target | seconds | executions | exec/s | corpus (start) | coverage | crashes |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  printf '%s\n' "${rows[@]}"
)
doc=docs/fuzzing.md
if [[ -n ${FUZZ_TARGETS:-} ]]; then
  echo "not writing $doc: FUZZ_TARGETS ran only some targets" >&2
elif [[ -f $doc ]] && grep -q '<!-- fuzz-results:begin -->' "$doc"; then
  RESULTS=$results awk '
    /<!-- fuzz-results:begin -->/ { print; print ENVIRON["RESULTS"]; skip = 1; next }
    /<!-- fuzz-results:end -->/ { skip = 0 }
    !skip' "$doc" >"$doc.tmp"
  mv "$doc.tmp" "$doc"
else
  printf '# Fuzzing\n\n<!-- fuzz-results:begin -->\n%s\n<!-- fuzz-results:end -->\n' "$results" >"$doc"
fi
[[ -n ${FUZZ_TARGETS:-} ]] || echo "figures written to $doc" >&2

if ((${#crashed[@]} > 0)); then
  echo "FAILED: crashes in ${crashed[*]}" >&2
  exit 1
fi
