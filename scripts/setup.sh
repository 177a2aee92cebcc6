#!/usr/bin/env bash
# Installs everything onnx-chat needs to build and test on Debian 12: system packages (only the
# missing ones), ONNX Runtime from the npm registry, the node packages the web page is built from
# (webui/), and those of the test suite (tests/; Chromium drives the browser tests).
#   usage: scripts/setup.sh [--no-node]   (--no-node: skip the test suite's node packages)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl xz-utils
  nlohmann-json3-dev libcpp-httplib-dev libcli11-dev
  libcurl4-openssl-dev libssl-dev libpcre2-dev libutf8proc-dev zlib1g-dev libjemalloc-dev
  libjpeg62-turbo-dev libpng-dev libwebp-dev libgif-dev libstb-dev
  libsndfile1-dev libmpg123-dev libsoxr-dev
  libgtest-dev libbenchmark-dev
  python3 python3-onnx python3-numpy python3-yaml sox espeak-ng nginx
  iproute2  # ss: a test reads the listening socket's backlog
  chromium
  # the fuzz targets only (build-fuzz, `make fuzz`): clang with libFuzzer and the sanitizers
  clang libclang-rt-14-dev
  clang-format  # the test run checks that the C++ sources are formatted (.clang-format)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js 18+ with npm: use what the machine has (any vendor), else Debian's.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

ort="$(scripts/fetch-onnxruntime.sh)"
echo "setup: ONNX Runtime at $ort"

# The page's bundler and libraries: the build runs them from webui/node_modules, offline.
if [ ! -f webui/node_modules/.package-lock.json ] || [ webui/package-lock.json -nt webui/node_modules/.package-lock.json ]; then
  echo "setup: installing the web page's node packages"
  (cd webui && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ "${1:-}" != "--no-node" ]; then
  if [ ! -f tests/node_modules/.package-lock.json ] || [ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]; then
    echo "setup: installing node test packages"
    (cd tests && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
