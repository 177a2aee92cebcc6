#!/usr/bin/env bash
# Many users at once, one command (`make bench-concurrency`): aggregate decode, batched decode and
# end-to-end tokens/s, inter-token latency p50/p95 and time to first token at 1, 2, 4, 8 and 16
# concurrent streams (bench/concurrency_bench.mjs), on
#   gemma3      the real Gemma 3 4B q4 export with random weights (batched decoding,
#               GroupQueryAttention; tools/real_graphs/prepare.py --random, about 3.5 GB of disk)
#   gemma3n     the Gemma-3n-layout bench fixture (hidden 1024, real vocabulary; its decoder has no
#               attention mask, so sequences interleave)
#   stories     the real stories260K model of the shared folder (batched decoding, plain attention)
#   usage: bench/concurrency.sh [BUILD_DIR]
#   env: SHARED=../shared MODELS="gemma3 gemma3n stories" STREAMS=1,2,4,8,16 PROMPT_TOKENS=64
#        DECODE_TOKENS=32 ARGS="extra server flags"
set -euo pipefail
cd "$(dirname "$0")/.."
build="$(cd "${1:-build}" && pwd)"
shared="${SHARED:-../shared}"
fixtures="${ONNX_CHAT_FIXTURES:-$build/fixtures}"
streams="${STREAMS:-1,2,4,8,16}"
common=(--bin "$build/onnx-chat" --streams "$streams" --prompt-tokens "${PROMPT_TOKENS:-64}"
        --decode-tokens "${DECODE_TOKENS:-32}" --args "${ARGS:-}")
for m in ${MODELS:-gemma3 gemma3n stories}; do
  echo "== $m"
  case "$m" in
    gemma3)
      dir="$(/usr/bin/python3 tools/real_graphs/prepare.py --shared "$shared" --out "$build/real-random" --variants q4 --random)"
      node bench/concurrency_bench.mjs "${common[@]}" --model "$dir" --vocab-ids 200000 ;;
    gemma3n)
      /usr/bin/python3 tools/fixtures/make_fixtures.py --out "$fixtures" --bench --only gemma3n-bench
      node bench/concurrency_bench.mjs "${common[@]}" --model "$fixtures/gemma3n-bench" --vocab-ids 200000 ;;
    stories)
      node bench/concurrency_bench.mjs "${common[@]}" --model "$shared/real-models/stories260K" --eos 1,2 --vocab-ids 400 ;;
    *) echo "unknown model $m"; exit 2 ;;
  esac
done
