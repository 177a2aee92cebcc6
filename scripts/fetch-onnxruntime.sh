#!/usr/bin/env bash
# Fetches the ONNX Runtime CPU build from the npm registry and lays it out like an official
# release folder (include/, lib/). Idempotent: does nothing when the folder is already complete.
#   usage: scripts/fetch-onnxruntime.sh [DEST]   (prints DEST on success)
set -euo pipefail

PKG="com.github.asus4.onnxruntime"
VERSION="0.4.9"
SHA256="e59788788818fdde1b2e522e766a21ba0f7d8391de55737abf81e32cc801785d"
ORT_VERSION="1.29"

cache_root="${ONNX_CHAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/onnx-chat}"
dest="${1:-$cache_root/onnxruntime-$ORT_VERSION-npm-$VERSION}"

if [ -f "$dest/.complete" ]; then
  echo "$dest"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$PKG@$VERSION" >/dev/null)
tgz="$work/$PKG-$VERSION.tgz"
actual="$(sha256sum "$tgz" | cut -d' ' -f1)"
if [ "$actual" != "$SHA256" ]; then
  echo "fetch-onnxruntime: checksum mismatch for $PKG@$VERSION (got $actual)" >&2
  exit 1
fi

headers="package/Plugins/iOS~/onnxruntime.xcframework/ios-arm64/onnxruntime.framework/Headers"
lib="package/Plugins/Linux/x64/libonnxruntime.so"
tar -xzf "$tgz" -C "$work" "$headers" "$lib" package/LICENSE package/ThirdPartyNotices.txt

rm -rf "$dest.tmp"
mkdir -p "$dest.tmp/include" "$dest.tmp/lib"
cp "$work/$headers"/*.h "$dest.tmp/include/"
cp "$work/$lib" "$dest.tmp/lib/libonnxruntime.so.$ORT_VERSION"
ln -s "libonnxruntime.so.$ORT_VERSION" "$dest.tmp/lib/libonnxruntime.so.1"
ln -s "libonnxruntime.so.1" "$dest.tmp/lib/libonnxruntime.so"
cp "$work/package/LICENSE" "$work/package/ThirdPartyNotices.txt" "$dest.tmp/"
echo "$PKG@$VERSION" >"$dest.tmp/.complete"
rm -rf "$dest"
mv "$dest.tmp" "$dest"
echo "$dest"
