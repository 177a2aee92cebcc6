#!/usr/bin/env python3
"""Fails when a source file includes a header of a layer above its own (see docs/ARCHITECTURE.md),
or when a core header (below api) includes a JSON or HTTP library."""
import pathlib
import re
import sys

# layer -> the layers it may include (besides itself)
ALLOWED = {
    "common": set(),
    "ort": {"common"},
    "tokenizer": {"common"},
    "template": {"common"},
    "media": {"common"},
    "grammar": {"common", "tokenizer"},
    "models": {"common", "ort", "tokenizer", "template", "media"},
    "engine": {"common", "ort", "tokenizer", "template", "media", "models", "grammar"},
    "hub": {"common", "ort", "tokenizer", "template", "media", "models"},
    "pipeline": {"common", "ort", "tokenizer", "template", "media", "models", "grammar", "engine", "hub"},
    "api": {"common", "ort", "tokenizer", "template", "media", "models", "grammar", "engine", "hub", "pipeline"},
}
CORE_FORBIDDEN = re.compile(r'#include\s*[<"](nlohmann/|httplib|curl/)')
INCLUDE = re.compile(r'#include\s*"([a-z_]+)/')


def main(root: pathlib.Path) -> int:
    problems = []
    src = root / "src"
    for path in sorted(src.rglob("*")):
        if path.suffix not in (".h", ".cpp"):
            continue
        layer = path.relative_to(src).parts[0]
        if layer not in ALLOWED:
            problems.append(f"{path.relative_to(root)}: folder src/{layer} is not a known layer")
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for m in INCLUDE.finditer(text):
            target = m.group(1)
            if target in ALLOWED and target != layer and target not in ALLOWED[layer]:
                problems.append(f"{path.relative_to(root)}: layer '{layer}' may not include '{target}/'")
        if path.suffix == ".h" and layer != "api" and CORE_FORBIDDEN.search(text):
            problems.append(f"{path.relative_to(root)}: core header includes a JSON/HTTP library")
    for p in problems:
        print(p)
    print(f"layering: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")))
