#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang + ASan + UBSan, in build-fuzz) and runs each one
# on its seed corpus until FUZZ_RUNS executions (when set) or FUZZ_SECONDS, whichever comes first,
# two at a time; prints the executions per target and a summary line. New inputs go to build-fuzz/corpus/NAME (the checked-in seeds stay as they are);
# a crash leaves its input in build-fuzz/artifacts/NAME/.
#   usage: scripts/fuzz.sh [--seconds N] [--runs N] [--planted-bug] [TARGET...]
#   --runs N: stop each target after N executions; one that the time limit stops short of N fails.
#   --planted-bug: only checks that the fuzzer finds the bug planted in a test build (exit 0 when
#                  it reports it).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-900}"
runs="${FUZZ_RUNS:-}"
build="${FUZZ_BUILD_DIR:-build-fuzz}"
planted=0
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --planted-bug) planted=1; shift ;;
    *) targets+=("$1"); shift ;;
  esac
done
if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ not found (scripts/setup.sh installs it)"; exit 1
fi

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if [ ! -f "$build/build.ninja" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DONNX_CHAT_FUZZ=ON \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ "${launcher[@]}" \
    -DONNXRUNTIME_ROOT="$(scripts/fetch-onnxruntime.sh)" >/dev/null || { echo "fuzz: configure failed"; exit 1; }
fi
cmake --build "$build" --target fuzz-targets -j "${JOBS:-2}" >"$build/fuzz-build.log" 2>&1 ||
  { tail -30 "$build/fuzz-build.log"; echo "fuzz: build failed"; exit 1; }

if [ $planted -eq 1 ]; then
  # The planted bug must be reported as a heap-buffer-overflow within the time given.
  rm -rf "$build/planted" && mkdir -p "$build/planted/corpus"
  log="$build/planted/log"
  "$build/fuzz/fuzz_planted_bug" -max_total_time="$seconds" -artifact_prefix="$build/planted/" \
    "$build/planted/corpus" tests/fuzz/corpus/base64_data_uri >"$log" 2>&1
  if grep -q "ERROR: AddressSanitizer: heap-buffer-overflow" "$log" && ls "$build"/planted/crash-* >/dev/null 2>&1; then
    echo "fuzz: planted bug found: $(grep -m1 '^SUMMARY' "$log" | sed 's/^SUMMARY: //; s/(.*//')"
    exit 0
  fi
  tail -20 "$log"; echo "fuzz: the planted bug was NOT found in ${seconds}s"; exit 1
fi

if [ ${#targets[@]} -eq 0 ]; then
  # The slowest targets first (executions/s under ASan, two at a time on 2 cores: tokenizer_text
  # ~450, json_schema ~800, tokenizer_json ~1,700, audio_decode ~2,200; the rest 4,000-30,000), so
  # that the others run beside them instead of after them.
  slow=(tokenizer_text json_schema tokenizer_json audio_decode)
  mapfile -t all < <(cd tests/fuzz/corpus && ls -d */ | tr -d /)
  for t in "${slow[@]}"; do [ -d "tests/fuzz/corpus/$t" ] && targets+=("$t"); done
  for t in "${all[@]}"; do [[ " ${slow[*]} " == *" $t "* ]] || targets+=("$t"); done
fi

run_one() {
  local t="$1" out="$build/corpus/$1" art="$build/artifacts/$1/"
  mkdir -p "$out" "$art"
  "$build/fuzz/fuzz_$t" -max_total_time="$seconds" ${runs:+-runs="$runs"} -print_final_stats=1 -rss_limit_mb=2048 -timeout=30 \
    -artifact_prefix="$art" "$out" "tests/fuzz/corpus/$t" >"$build/fuzz-$t.log" 2>&1
  local rc=$? execs secs
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$build/fuzz-$t.log" | grep -o '[0-9]*$' | tail -1)
  secs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$build/fuzz-$t.log" | grep -o 'in [0-9]*' | grep -o '[0-9]*$' | tail -1)
  if [ $rc -eq 0 ] && [ -n "$runs" ] && [ "${execs:-0}" -lt "$runs" ]; then
    echo "fuzz: $t: ${execs:-?} executions in ${secs:-$seconds}s, no crash, SHORT of $runs"
    return 2
  elif [ $rc -eq 0 ]; then
    echo "fuzz: $t: ${execs:-?} executions in ${secs:-$seconds}s, no crash"
  else
    echo "fuzz: $t: CRASH after ${execs:-?} executions (log: $build/fuzz-$t.log, input in $art)"
    grep -m3 -E "ERROR:|fuzz: |runtime error" "$build/fuzz-$t.log" | sed 's/^/    /'
  fi
  return $rc
}

mkdir -p "$build/results"
rm -f "$build"/results/*
pids=()
for t in "${targets[@]}"; do
  (run_one "$t" >"$build/results/$t"; echo $? >"$build/results/$t.rc") &
  pids+=($!)
  while [ "$(jobs -rp | wc -l)" -ge "${FUZZ_PARALLEL:-2}" ]; do sleep 1; done
done
wait
failed=0 total=0
for t in "${targets[@]}"; do
  cat "$build/results/$t"
  [ "$(cat "$build/results/$t.rc")" = 0 ] || failed=$((failed + 1))
  n=$(grep -o '^fuzz: [a-z_0-9]*: [0-9]*' "$build/results/$t" | grep -o '[0-9]*$')
  total=$((total + ${n:-0}))
done
echo "fuzz summary: ${#targets[@]} targets, each ${runs:+up to $runs executions within }${seconds}s, $total executions, $failed failed"
[ $failed -eq 0 ]
