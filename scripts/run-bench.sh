#!/usr/bin/env bash
# The generation benchmark, one command (`make bench`): writes the --bench fixture (hidden 1024,
# real Gemma vocabulary), then measures on the same files and the same prompt ids
#   bare    a loop calling the ONNX sessions directly (bench/generate_bench.cpp --mode bare)
#   engine  the onnx-chat engine (--mode engine)
#   server  the engine through `onnx-chat serve` (bench/server_bench.mjs, streaming /v1/completions)
#   tjs     transformers.js generate() (bench/tjs_bench.mjs)
# and prints prefill / decode tokens/s, their ratios, and peak RSS against the loaded file size.
#   usage: scripts/run-bench.sh [BUILD_DIR]
#   env: PROMPT_TOKENS=256 DECODE_TOKENS=64 REPS=3 (per process, best kept) ROUNDS=2 THREADS=0
set -euo pipefail
cd "$(dirname "$0")/.."
build="$(cd "${1:-build}" && pwd)"
fixtures="${ONNX_CHAT_FIXTURES:-$build/fixtures}"
prompt="${PROMPT_TOKENS:-256}"
decode="${DECODE_TOKENS:-64}"
reps="${REPS:-3}"
threads="${THREADS:-0}"
rounds="${ROUNDS:-2}"
model="$fixtures/gemma3n-bench"

/usr/bin/python3 tools/fixtures/make_fixtures.py --out "$fixtures" --bench --only gemma3n-bench
bench="$build/bench/generate_bench"
[ -x "$bench" ] || { echo "run-bench: $bench missing (needs libbenchmark-dev at configure time)"; exit 1; }

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
common=(--model "$model" --prompt-tokens "$prompt" --decode-tokens "$decode" --reps "$reps" --threads "$threads")
has_serve=0
"$build/onnx-chat" serve --help >/dev/null 2>&1 && has_serve=1
# The modes run in turn, ROUNDS times (the best of each is kept): on a shared machine a burst of
# load then hits every mode alike instead of one.
for round in $(seq 1 "$rounds"); do
  echo "== round $round: bare loop"
  "$bench" --mode bare "${common[@]}" 2>/dev/null | tee -a "$out/bare.jsonl"
  echo "== round $round: engine"
  "$bench" --mode engine "${common[@]}" 2>/dev/null | tee -a "$out/engine.jsonl"
  if [ $has_serve = 1 ]; then
    echo "== round $round: server"
    node bench/server_bench.mjs --bin "$build/onnx-chat" --model "$model" --prompt-tokens "$prompt" \
      --decode-tokens "$decode" --reps "$reps" --threads "$threads" | tail -1 | tee -a "$out/server.jsonl" || true
  fi
  echo "== round $round: transformers.js"
  node bench/tjs_bench.mjs --model "$model" --prompt-tokens "$prompt" --decode-tokens "$decode" --reps "$reps" \
    2>/dev/null | tail -1 | tee -a "$out/tjs.jsonl" || true
done

python3 - "$out" <<'PY'
import json, sys, pathlib
d = pathlib.Path(sys.argv[1])
def best(name):
    f = d / f"{name}.jsonl"
    runs = [json.loads(l) for l in f.read_text().splitlines() if l.strip().startswith("{")] if f.exists() else []
    if not runs: return {}
    out = dict(runs[0])
    for k in ("prefill_tps", "decode_tps", "peak_rss_kb"):
        vals = [x.get(k, 0) for x in runs]
        out[k] = max(vals)
    return out
r = {k: best(k) for k in ("bare", "engine", "server", "tjs")}
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
