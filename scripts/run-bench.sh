#!/usr/bin/env bash
# The generation benchmark, one command (`make bench`): writes the --bench fixture (hidden 1024,
# real Gemma vocabulary), then measures on the same files and the same prompt ids
#   bare    a loop calling the ONNX sessions directly (bench/generate_bench.cpp --mode bare)
#   engine  the onnx-chat engine (--mode engine)
#   server  the engine through `onnx-chat serve` (bench/server_bench.mjs, streaming /v1/completions)
#   tjs     transformers.js generate() (bench/tjs_bench.mjs)
# and prints prefill / decode tokens/s, their ratios, and peak RSS against the loaded file size.
#   usage: scripts/run-bench.sh [BUILD_DIR]   env: PROMPT_TOKENS=256 DECODE_TOKENS=64 REPS=3 THREADS=0
set -euo pipefail
cd "$(dirname "$0")/.."
build="$(cd "${1:-build}" && pwd)"
fixtures="${ONNX_CHAT_FIXTURES:-$build/fixtures}"
prompt="${PROMPT_TOKENS:-256}"
decode="${DECODE_TOKENS:-64}"
reps="${REPS:-3}"
threads="${THREADS:-0}"
model="$fixtures/gemma3n-bench"

/usr/bin/python3 tools/fixtures/make_fixtures.py --out "$fixtures" --bench --only gemma3n-bench
bench="$build/bench/generate_bench"
[ -x "$bench" ] || { echo "run-bench: $bench missing (needs libbenchmark-dev at configure time)"; exit 1; }

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
common=(--model "$model" --prompt-tokens "$prompt" --decode-tokens "$decode" --reps "$reps" --threads "$threads")
echo "== bare loop";  "$bench" --mode bare "${common[@]}" 2>/dev/null | tee "$out/bare.json"
echo "== engine";     "$bench" --mode engine "${common[@]}" 2>/dev/null | tee "$out/engine.json"
echo "== server"
if "$build/onnx-chat" serve --help >/dev/null 2>&1; then
  node bench/server_bench.mjs --bin "$build/onnx-chat" --model "$model" --prompt-tokens "$prompt" \
    --decode-tokens "$decode" --reps "$reps" --threads "$threads" | tail -1 | tee "$out/server.json" || echo '{}' > "$out/server.json"
else
  echo '{}' > "$out/server.json"
fi
echo "== transformers.js"
node bench/tjs_bench.mjs --model "$model" --prompt-tokens "$prompt" --decode-tokens "$decode" --reps "$reps" \
  2>/dev/null | tail -1 | tee "$out/tjs.json" || echo '{}' > "$out/tjs.json"

python3 - "$out" <<'PY'
import json, sys, pathlib
d = pathlib.Path(sys.argv[1])
r = {k: json.loads((d / f"{k}.json").read_text() or "{}") for k in ("bare", "engine", "server", "tjs")}
b, e, s, t = r["bare"], r["engine"], r["server"], r["tjs"]
def ratio(a, c): return f"{a / c:.3f}" if a and c else "n/a"
print("\n| measure | engine | server | bare loop | transformers.js | engine/bare | server/bare | engine/transformers.js | server/transformers.js |")
print("|---|---|---|---|---|---|---|---|---|")
for k, name in (("prefill_tps", "prefill tokens/s"), ("decode_tps", "decode tokens/s")):
    print(f"| {name} | {e.get(k, 0):.1f} | {s.get(k, 0):.1f} | {b.get(k, 0):.1f} | {t.get(k, 0):.1f} | "
          f"{ratio(e.get(k), b.get(k))} | {ratio(s.get(k), b.get(k))} | {ratio(e.get(k), t.get(k))} | {ratio(s.get(k), t.get(k))} |")
gib = 1024 ** 3
fb = e.get("file_bytes", 0)
for name, x in (("engine", e), ("server", s), ("bare loop", b), ("transformers.js", t)):
    rss = x.get("peak_rss_kb", 0) * 1024
    if rss and fb:
        print(f"peak RSS {name}: {rss / gib:.2f} GiB = {rss / fb:.2f} x the loaded files ({fb / gib:.2f} GiB)")
same = e.get("first_tokens") == b.get("first_tokens")
print(f"first greedy tokens equal (engine vs bare): {same}; vs transformers.js: {e.get('first_tokens') == t.get('first_tokens')}")
PY
