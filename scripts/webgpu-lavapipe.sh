#!/usr/bin/env bash
# Runs a command with onnxruntime-node's WebGPU provider on Mesa's software Vulkan driver (lavapipe), so that
# graph patterns and numerics of `--device webgpu` can be checked on a machine without a GPU (docs/gpu.md).
# Dawn needs a newer lavapipe than Debian 12's Mesa 22 (it lacks shaderUniform*ArrayDynamicIndexing), so
# Mesa 25 and its libdrm come from bookworm-backports, with the Vulkan loader, as .debs unpacked under
# /tmp/acc-lavapipe; only plain libraries the driver links (LLVM 15 and such) are installed where missing. Speeds measured this way are a CPU's, not a GPU's.
#
# Usage: bash scripts/webgpu-lavapipe.sh node dist/bench/gpu-parity.js --device webgpu
set -euo pipefail
DIR=${LAVAPIPE_DIR:-/tmp/acc-lavapipe}
LIB=$DIR/root/usr/lib/x86_64-linux-gnu
if [[ ! -f "$DIR/lvp.json" ]]; then
  # The driver's shared-library dependencies (LLVM 15, X/Wayland client libraries) from Debian 12, where missing:
  # plain libraries, no Vulkan loader or driver, so nothing else on the machine starts using Vulkan.
  deps='libllvm15 libwayland-client0 libx11-xcb1 libxcb-dri3-0 libxcb-present0 libxcb-randr0 libxcb-shm0 libxcb-sync1 libxcb-xfixes0 libxshmfence1 libelf1 libexpat1 libzstd1'
  dpkg -s $deps >/dev/null 2>&1 || apt-get install -y --no-install-recommends $deps >/dev/null
  mkdir -p "$DIR/lists/partial" "$DIR/debs"
  printf 'deb http://deb.debian.org/debian bookworm main\ndeb http://deb.debian.org/debian bookworm-backports main\n' >"$DIR/sources.list"
  o="-o Dir::Etc::SourceList=$DIR/sources.list -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$DIR/lists"
  apt-get $o update >/dev/null
  (cd "$DIR/debs" && apt-get $o download libvulkan1 mesa-vulkan-drivers/bookworm-backports libdrm2/bookworm-backports libdrm-amdgpu1/bookworm-backports >/dev/null 2>&1)
  for f in "$DIR"/debs/*.deb; do dpkg -x "$f" "$DIR/root"; done
  # The manifest names the driver by file name; point it at the unpacked copy.
  sed "s#\"library_path\": *\"[^\"]*\"#\"library_path\": \"$LIB/libvulkan_lvp.so\"#" "$DIR/root/usr/share/vulkan/icd.d/lvp_icd.json" >"$DIR/lvp.json"
fi
export VK_DRIVER_FILES=$DIR/lvp.json VK_ICD_FILENAMES=$DIR/lvp.json
export LD_LIBRARY_PATH=$LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
exec "$@"
