#!/usr/bin/env bash
# The real-size benchmark of issue "real exports": the Gemma 3 4B export's q4 graphs from the shared
# folder with sparse zero weights (tools/real_graphs/prepare.py), at two context lengths, measuring
#   server    onnx-chat serve, streaming /v1/completions (bench/server_bench.mjs)
#   sequence  onnx-chat's model layer without HTTP (bench/decoder_bench --mode sequence)
#   bare      a loop over the same sessions that reallocates the KV cache every step (--mode bare)
#   tjs       transformers.js generate() (bench/tjs_bench.mjs)
# prefill tokens/s and decode tokens/s after the prompt, and prints the ratios.
#   usage: bench/real_graph_bench.sh [BUILD_DIR]   env: SHARED=../shared CONTEXTS="64 2000" DECODE=16
set -euo pipefail
cd "$(dirname "$0")/.."
build="$(cd "${1:-build}" && pwd)"
shared="${SHARED:-../shared}"
contexts="${CONTEXTS:-64 2000}"
decode="${DECODE:-16}"
model="$(/usr/bin/python3 tools/real_graphs/prepare.py --shared "$shared" --out "$build/real" --variants q4)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for ctx in $contexts; do
  echo "== context $ctx"
  "$build/bench/decoder_bench" --model "$model" --mode bare --prompt-tokens "$ctx" --decode-tokens "$decode" 2>/dev/null \
    | tee "$out/bare-$ctx.json"
  "$build/bench/decoder_bench" --model "$model" --mode sequence --prompt-tokens "$ctx" --decode-tokens "$decode" \
    2>/dev/null | tee "$out/sequence-$ctx.json"
  node bench/server_bench.mjs --bin "$build/onnx-chat" --model "$model" --prompt-tokens "$ctx" \
    --decode-tokens "$((decode + 1))" --reps 1 --warmup 0 | tail -1 | tee "$out/server-$ctx.json"
  node bench/tjs_bench.mjs --model "$model" --prompt-tokens "$ctx" --decode-tokens "$((decode + 1))" --reps 1 \
    --warmup 0 --dtype decoder_model_merged=q4,embed_tokens=q4,vision_encoder=q4 2>/dev/null | tail -1 \
    | tee "$out/tjs-$ctx.json"
done
python3 - "$out" "$contexts" <<'PY'
import json, sys, pathlib
d = pathlib.Path(sys.argv[1])
def load(name):
    f = d / f"{name}.json"
    try: return json.loads(f.read_text().strip().splitlines()[-1])
    except Exception: return {}
print("\n| context | measure | server | sequence | bare loop | transformers.js | server/bare | server/transformers.js |")
print("|---|---|---|---|---|---|---|---|")
for ctx in sys.argv[2].split():
    r = {k: load(f"{k}-{ctx}") for k in ("server", "sequence", "bare", "tjs")}
    for key, label in (("prefill_tps", "prefill tok/s"), ("decode_tps", "decode tok/s")):
        v = {k: (r[k].get(key) or 0) for k in r}
        if r["server"].get("server_timings"):
            v["server"] = r["server"]["server_timings"].get(key) or v["server"]
        ratio = lambda a, b: f"{a / b:.2f}" if a and b else "n/a"
        print(f"| {ctx} | {label} | {v['server']:.2f} | {v['sequence']:.2f} | {v['bare']:.2f} | {v['tjs']:.2f} | "
              f"{ratio(v['server'], v['bare'])} | {ratio(v['server'], v['tjs'])} |")
PY
