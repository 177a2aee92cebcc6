#!/usr/bin/env bash
# The real-size benchmark (`make bench-real`): the Gemma 3 4B export's q4 graphs from the shared
# folder with seeded random weights (tools/real_graphs/prepare.py --random: zero weights understate
# memory traffic and RSS), at two context lengths, in both matmul precisions (exact: as exported,
# fp32 compute; auto: int8 activations on CPU, on onnx-chat's kernel where the CPU has AVX-512 VNNI;
# PRECISIONS="exact int8 auto" adds ONNX Runtime's int8 kernel), measuring
#   server    onnx-chat serve, streaming /v1/completions (bench/server_bench.mjs)
#   sequence  onnx-chat's model layer without HTTP (bench/decoder_bench --mode sequence)
#   bare      a loop over the same sessions that reallocates the KV cache every step (--mode bare)
# prefill tokens/s, decode tokens/s after the prompt, the load time (start to ready for the
# server), the peak RSS against the loaded files + the KV cache, and the ratios auto/exact and
# server/bare. Then the agreement of auto with exact over 256 greedy steps (top-1 and largest
# logit difference) on stories260K quantized to q4 (real weights, bench/quantize_q4.py) and on the
# q4 fixture.
#   usage: bench/real_graph_bench.sh [BUILD_DIR]
#   env: MODEL=DIR (a prepared folder; default BUILD_DIR/real-random/gemma-3-4b-it, written once,
#        3.5 GB) SHARED=../shared CONTEXTS="64 2000" DECODE=8 PRECISIONS="exact auto"
#        LAYERS="bare sequence server" AGREE=1 PORT=18431
set -euo pipefail
cd "$(dirname "$0")/.."
build="$(cd "${1:-build}" && pwd)"
shared="${SHARED:-../shared}"
contexts="${CONTEXTS:-64 2000}"
decode="${DECODE:-8}"
precisions="${PRECISIONS:-exact auto}"
layers="${LAYERS-bare sequence server}"
port="${PORT:-18431}"
model="${MODEL:-}"
if [ -z "$model" ]; then
  model="$(/usr/bin/python3 tools/real_graphs/prepare.py --shared "$shared" --out "$build/real-random" --variants q4,quantized --random)"
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
echo "== $(nproc) CPUs; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for ctx in $contexts; do
  for p in $precisions; do
    for layer in $layers; do
      echo "== context $ctx, $p, $layer"
      case $layer in
        bare | sequence)
          "$build/bench/decoder_bench" --model "$model" --mode "$layer" --precision "$p" --prompt-tokens "$ctx" \
            --decode-tokens "$decode" 2>/dev/null | tee "$out/$layer-$p-$ctx.json" || true ;;
        server)
          node bench/server_bench.mjs --bin "$build/onnx-chat" --model "$model" --matmul-precision "$p" --port "$port" \
            --prompt-tokens "$ctx" --decode-tokens "$((decode + 1))" --reps 1 --warmup 0 | tail -1 \
            | tee "$out/server-$p-$ctx.json" || true ;;
      esac
    done
  done
done
if [ "${AGREE:-1}" = 1 ]; then
  stories="$build/bench-models/stories260K-q4"
  /usr/bin/python3 bench/quantize_q4.py "$shared/real-models/stories260K" "$stories" >/dev/null
  /usr/bin/python3 tools/fixtures/make_fixtures.py --out "$build/fixtures" --only gemma3n-tiny >/dev/null
  for m in "$stories" "$build/fixtures/gemma3n-tiny"; do
    echo "== agreement auto vs exact: $(basename "$m")"
    "$build/bench/decoder_bench" --model "$m" --mode agree --precision auto --reference exact --steps 256 2>/dev/null \
      | sed "s|^{|{\"model\":\"$(basename "$m")\",|" | tee -a "$out/agree.jsonl" || true
  done
fi
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$out" "$contexts" "$precisions" <<'PY'
import json, sys, pathlib
d = pathlib.Path(sys.argv[1])
contexts, precisions = sys.argv[2].split(), sys.argv[3].split()
def load(name):
    f = d / f"{name}.json"
    try: return json.loads(f.read_text().strip().splitlines()[-1])
    except Exception: return {}
def ratio(a, b): return f"{a / b:.2f}" if a and b else "n/a"
gib = 1024 ** 3
print("\n| context | precision | measure | server | sequence | bare loop | server/bare |")
print("|---|---|---|---|---|---|---|")
res = {}
for ctx in contexts:
    for p in precisions:
        r = {k: load(f"{k}-{p}-{ctx}") for k in ("server", "sequence", "bare")}
        res[(ctx, p)] = r
        for key, label in (("prefill_tps", "prefill tok/s"), ("decode_tps", "decode tok/s")):
            v = {k: (r[k].get(key) or 0) for k in r}
            if r["server"].get("server_timings"):
                v["server"] = r["server"]["server_timings"].get(key) or v["server"]
            res[(ctx, p)][key] = v
            print(f"| {ctx} | {p} | {label} | {v['server']:.2f} | {v['sequence']:.2f} | {v['bare']:.2f} | "
                  f"{ratio(v['server'], v['bare'])} |")
        load_s = {k: r[k].get("load_s", 0) for k in ("server", "sequence", "bare")}
        print(f"| {ctx} | {p} | load s | {load_s['server']:.1f} | {load_s['sequence']:.1f} | {load_s['bare']:.1f} | |")
        cells = {}
        for k in ("server", "sequence", "bare"):
            rss = r[k].get("peak_rss_kb", 0) * 1024
            base = r["sequence"].get("file_bytes", 0) + r[k if k != "server" else "sequence"].get("kv_bytes", 0)
            cells[k] = f"{rss / gib:.2f} GiB = {rss / base:.2f}x" if rss and base else "n/a"
        print(f"| {ctx} | {p} | peak RSS / (files + KV) | {cells['server']} | {cells['sequence']} | {cells['bare']} | |")
if len(precisions) == 2:
    a, b = precisions[1], precisions[0]
    print(f"\n| context | measure | {a}/{b} server | {a}/{b} sequence | {a}/{b} bare loop |")
    print("|---|---|---|---|---|")
    for ctx in contexts:
        for key, label in (("prefill_tps", "prefill"), ("decode_tps", "decode")):
            x, y = res[(ctx, a)][key], res[(ctx, b)][key]
            print(f"| {ctx} | {label} | {ratio(x['server'], y['server'])} | {ratio(x['sequence'], y['sequence'])} | "
                  f"{ratio(x['bare'], y['bare'])} |")
fb = next((r["sequence"].get("file_bytes") for r in res.values() if r["sequence"].get("file_bytes")), 0)
if fb: print(f"\nloaded files (decoder + embed_tokens): {fb / gib:.2f} GiB")
agree = d / "agree.jsonl"
if agree.exists():
    print("\n| model | steps | top-1 agreement auto vs exact | largest logit difference |")
    print("|---|---|---|---|")
    for line in agree.read_text().splitlines():
        a = json.loads(line)
        print(f"| {a['model']} | {a['steps']} | {a['top1_agreement'] * 100:.1f} % | {a['max_logit_diff']:.4g} |")
PY
