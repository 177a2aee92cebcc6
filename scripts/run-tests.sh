#!/usr/bin/env bash
# Runs every test: generates the fixture models, checks the C++ sources' formatting, then the C++
# unit tests through CTest, then the node test runner (end-to-end, reference and golden tests),
# then the fuzz targets briefly. Prints each runner's summary.
#   usage: scripts/run-tests.sh [BUILD_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
build="$(cd "${1:-build}" && pwd)"

export ONNX_CHAT_BIN="$build/onnx-chat"
export ONNX_CHAT_FIXTURES="${ONNX_CHAT_FIXTURES:-$build/fixtures}"

if [ -f tools/fixtures/make_fixtures.py ]; then
  echo "== fixtures"
  /usr/bin/python3 tools/fixtures/make_fixtures.py --out "$ONNX_CHAT_FIXTURES" || { echo "fixture generation failed"; exit 1; }
fi

status=0
echo "== format (clang-format --dry-run on the C++ sources; make format fixes them)"
git ls-files '*.cpp' '*.h' | xargs clang-format --dry-run --Werror || status=1

echo "== C++ unit tests (ctest)"
(cd "$build" && ctest --output-on-failure -j "$(nproc)" --timeout 600) || status=1

echo "== node tests (node --test)"
mapfile -t node_tests < <(find tests -path tests/node_modules -prune -o -name '*.test.mjs' -print | sort)
if [ ${#node_tests[@]} -gt 0 ]; then
  node --test --test-concurrency=1 --test-reporter=spec "${node_tests[@]}" || status=1
fi

# The fuzz targets, briefly (`make fuzz` runs them longer), and the check that a planted bug is found.
echo "== fuzz (each target ${CI_FUZZ_SECONDS:-10}s under ASan + UBSan)"
scripts/fuzz.sh --seconds "${CI_FUZZ_SECONDS:-10}" || status=1
scripts/fuzz.sh --planted-bug --seconds 120 || status=1

if [ $status -eq 0 ]; then echo "all test runners passed"; else echo "some tests FAILED"; fi
exit $status
