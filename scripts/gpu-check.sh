#!/usr/bin/env bash
# The GPU check of issue 16, run by the device tool on the NVIDIA machine (no Node.js, no network) over a copy
# of the repository plus the carried .gpu/ folder (scripts/gpu-carry.sh makes it; docs/gpu.md has the call).
# Unpacks Node.js, onnxruntime-node and the Vulkan loader into /tmp, probes the device, then runs, each part
# time-boxed against one overall deadline and each writing as it goes (a timeout keeps what was written):
#   parity    tiny-sd / tiny-sdxl UNet, VAE, text encoders vs the diffusers oracle (bench/gpu-parity.ts)
#   runs      AccDiffusion on tiny-sdxl 4x, an SDXL-size random-weight model at 2048², the bundled model 4x
#   bench     UNet forwards: SDXL at a 128² latent and SD1.5 at 64², batch 2, fp16 and fp32 weights; SDXL
#             once more with the other attention form (fused MultiHeadAttention on webgpu), if time is left
# Results go to $OUT (at most 8 files): summary.txt env.txt parity.log parity.jsonl bench.log bench.jsonl
# runs.log runs.jsonl.
#
# Usage: bash scripts/gpu-check.sh [--device webgpu|cpu|cuda] [--tiny] [--budget SECONDS] [--parts LIST]
#   --parts  comma list of parity,tiny,sdxl,big,shapes,sd15,other (default all, in that order); `--parts parity`
#            is a one-minute check of the unpacking, the probe and parity before the long call
#   --tiny   fixture-size models everywhere (the CPU dry run: tiny UNets in the bench, random-tiny for the
#            2048² run, 2 steps); also GPU_CHECK_TINY=1
set -uo pipefail
cd "$(dirname "$0")/.."
DEVICE=webgpu
TINY=${GPU_CHECK_TINY:-0}
BUDGET=${GPU_CHECK_BUDGET:-480}
PARTS=parity,tiny,sdxl,big,shapes,sd15,other
# Each part's own limit is multiplied by this (the CPU dry run is slower than the GPU).
LIMIT_SCALE=${GPU_CHECK_LIMIT_SCALE:-1}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --device) DEVICE=$2; shift 2 ;;
    --tiny) TINY=1; shift ;;
    --budget) BUDGET=$2; shift 2 ;;
    --parts) PARTS=$2; shift 2 ;;
    *) echo "gpu-check.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
OUT=${OUT:-/tmp/gpu-check-out}
mkdir -p "$OUT"
START=$(date +%s)
DEADLINE=$((START + BUDGET))
RT=${GPU_CHECK_RT:-/tmp/acc-gpu}
SUMMARY=$OUT/summary.txt
say() { echo "$*" | tee -a "$SUMMARY"; }
left() { echo $((DEADLINE - $(date +%s))); }
# part KEY NAME MAX_SECONDS LOG CMD...: when KEY is in --parts, runs CMD under `timeout` (MAX or what is left,
# whichever is less), appending its output to LOG.
part() {
  local key=$1 name=$2 max=$3 log=$4; shift 4
  [[ ",$PARTS," == *",$key,"* ]] || return 0
  max=$((max * LIMIT_SCALE))
  local t=$(($(left) < max ? $(left) : max))
  if ((t < 10)); then say "SKIPPED $name: no time left"; return; fi
  local t0=$(date +%s)
  echo "=== $name (limit ${t}s)" >>"$log"
  timeout --kill-after=5 "$t" "$@" >>"$log" 2>&1
  local rc=$? took=$(($(date +%s) - t0))
  if ((rc == 124 || rc == 137)); then say "TIMEOUT $name after ${took}s (limit ${t}s)"; elif ((rc != 0)); then say "FAILED $name: exit $rc after ${took}s"; else say "ok $name in ${took}s"; fi
}
unxz_to() { # unxz_to FILE.xz DEST: xz if present, else Python's lzma
  if command -v xz >/dev/null; then xz -dc "$1" >"$2"; else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"))' "$1" "$2"; fi
}
untar_xz() { # untar_xz FILE.tar.xz DIR
  if command -v xz >/dev/null; then tar -xJf "$1" -C "$2"; else python3 -c 'import tarfile,sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"; fi
}

say "gpu-check $(date -u +%FT%TZ) device=$DEVICE tiny=$TINY budget=${BUDGET}s parts=$PARTS host=$(uname -m)"

# 0. Unpack what .gpu/ carries: node into $RT, dist/ and node_modules/ into the repository copy, Vulkan into $RT/vk.
mkdir -p "$RT"
if [[ -f .gpu/node-linux-x64.xz ]]; then
  unxz_to .gpu/node-linux-x64.xz "$RT/node" && chmod +x "$RT/node"
  NODE=$RT/node
else
  NODE=$(command -v node || true)
fi
[[ -f .gpu/ort-linux-x64.tar.xz ]] && untar_xz .gpu/ort-linux-x64.tar.xz .
[[ -f .gpu/runtime.tar.xz ]] && untar_xz .gpu/runtime.tar.xz .
if [[ -z "$NODE" || ! -x "$NODE" ]]; then say "FATAL: no node (no .gpu/node-linux-x64.xz and none installed)"; exit 1; fi
VK=$RT/vk
if [[ "$DEVICE" == webgpu ]] && ls .gpu/debs/*.deb >/dev/null 2>&1; then
  # Into a private root, found through LD_LIBRARY_PATH (src/engine/providers.ts looks there too): nothing in / changes.
  for f in .gpu/debs/*.deb; do dpkg -x "$f" "$VK"; done
  export LD_LIBRARY_PATH=$VK/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
# The NVIDIA Vulkan driver's manifest: the driver mount's, else one written here for the driver's library.
if [[ "$DEVICE" == webgpu && -z "${VK_DRIVER_FILES:-}" ]]; then
  icd=$(ls /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd*.json /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json 2>/dev/null | head -1)
  if [[ -z "$icd" ]]; then
    lib=$(ldconfig -p | awk '/libGLX_nvidia\.so\.0/ {print $NF; exit}')
    lib=${lib:-$(ls /usr/local/nvidia/lib64/libGLX_nvidia.so.0 /usr/lib/x86_64-linux-gnu/libGLX_nvidia.so.0 2>/dev/null | head -1)}
    if [[ -n "$lib" ]]; then
      mkdir -p "$VK/icd.d"
      icd=$VK/icd.d/nvidia_icd.json
      printf '{"file_format_version":"1.0.1","ICD":{"library_path":"%s","api_version":"1.3"}}\n' "$lib" >"$icd"
    fi
  fi
  [[ -n "$icd" ]] && export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
fi
# The driver's own libraries (libGLX_nvidia.so.0, which the manifest names) where the image does not list them.
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
  [[ "$DEVICE" == webgpu && -d "$d" && ":${LD_LIBRARY_PATH:-}:" != *":$d:"* ]] && export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d
done
say "node $("$NODE" --version) at $NODE; unpacked in $(($(date +%s) - START))s"

# 1. Environment and the device probe (the library's own probe, then a verbose session on failure).
ENV=$OUT/env.txt
{
  echo "date: $(date -u +%FT%TZ)"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) x $(nproc)"
  echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-} VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
  echo "libvulkan in ldconfig: $(ldconfig -p | grep -c libvulkan) entries"
  "$NODE" -e "const o=require('onnxruntime-node'); console.log('onnxruntime-node', o.env.versions.common, 'backends', JSON.stringify(o.listSupportedBackends()))"
} >>"$ENV" 2>&1
probe() { "$NODE" --input-type=module -e "import { probeDevice } from './dist/src/engine/providers.js'; const r = await probeDevice('$1'); console.log('probe $1:', r ?? 'ok'); process.exit(r === undefined ? 0 : 3);" >>"$ENV" 2>&1; }
if [[ "$DEVICE" != cpu ]] && ! probe "$DEVICE"; then
  # Why: onnxruntime's and the Vulkan loader's own messages.
  VK_LOADER_DEBUG=error,warn,driver timeout 60 "$NODE" --input-type=module -e "
    import * as ort from 'onnxruntime-node'; import { GraphBuilder } from './dist/src/graph/builder.js';
    const g = new GraphBuilder('probe'); g.output(g.op('Relu', [g.input('x', 'float32', [1])]), 'y');
    const s = await ort.InferenceSession.create(g.toModelProto(), { executionProviders: ['$DEVICE'], logSeverityLevel: 0 });
    console.log(await s.run({ x: new ort.Tensor('float32', new Float32Array([1]), [1]) }));" >>"$ENV" 2>&1
  if [[ "$DEVICE" == webgpu && -d "$VK/usr" ]] && command -v nvidia-smi >/dev/null; then
    # The device notes' way: the loader packages unpacked into / itself (only on the GPU machine).
    for f in .gpu/debs/*.deb; do dpkg -x "$f" /; done; ldconfig
    probe webgpu || { say "FATAL: webgpu does not work here (env.txt has the messages)"; exit 1; }
    say "webgpu works only with the loader unpacked into /"
  else
    say "FATAL: $DEVICE does not work here (env.txt has the messages)"; exit 1
  fi
fi
say "device $DEVICE probed ok at $(($(date +%s) - START))s"

# 2. Parity against the oracle (fp32 fixtures; 1e-3 on a GPU).
part parity parity 90 "$OUT/parity.log" "$NODE" dist/bench/gpu-parity.js --device "$DEVICE" --json "$OUT/parity.jsonl"
grep -hE '^parity on|OVER' "$OUT/parity.log" 2>/dev/null | tee -a "$SUMMARY"

# 3. Runs, timed per stage with UNet call counts (rows per step of tiny-sdxl 4x = those of SDXL at 4096²).
STEPS=4; BIG=random-sdxl; BIG_SIZE=2048; BIG_STEPS=3; BENCH_SD15=sd15; BENCH_SDXL=sdxl; L15=64; LXL=128
if [[ "$TINY" == 1 ]]; then STEPS=2; BIG=random-tiny; BIG_SIZE=512; BIG_STEPS=2; BENCH_SD15=tiny-sd; BENCH_SDXL=tiny-sdxl; L15=32; LXL=32; fi
RUN=("$NODE" dist/bench/gpu-runs.js --device "$DEVICE" --json "$OUT/runs.jsonl")
part tiny "accdiffusion tiny-sdxl 4x" 75 "$OUT/runs.log" "${RUN[@]}" --model test/fixtures/models/tiny-sdxl --scale 4 --steps "$STEPS" --compare-cpu
part sdxl "bench:unet $BENCH_SDXL latent $LXL" 170 "$OUT/bench.log" "$NODE" dist/bench/unet.js --size "$BENCH_SDXL" --latent "$LXL" --batch 2 --dtypes f16,f32 --device "$DEVICE" --json "$OUT/bench.jsonl"
# One window per UNet call (2 rows with CFG): explicit attention holds [rows, heads, T, T] scores, 0.67 GB per row at
# SDXL's 64x64 level, and WebGPU caps one buffer at a few GB; the default 16 windows (32 rows) would need 21 GB.
part big "accdiffusion $BIG ${BIG_SIZE}x$BIG_SIZE" 170 "$OUT/runs.log" "${RUN[@]}" --model "$BIG" --width "$BIG_SIZE" --height "$BIG_SIZE" --steps "$BIG_STEPS" --view-batch-size 1
part shapes "accdiffusion shapes-xl 4x" 60 "$OUT/runs.log" "${RUN[@]}" --model models/shapes-xl --scale 4 --steps "$STEPS"
part sd15 "bench:unet $BENCH_SD15 latent $L15" 80 "$OUT/bench.log" "$NODE" dist/bench/unet.js --size "$BENCH_SD15" --latent "$L15" --batch 2 --dtypes f16,f32 --device "$DEVICE" --json "$OUT/bench.jsonl"
# The attention form the library does not build for this device (fused MultiHeadAttention on webgpu), for its speed.
OTHER=$([[ "$DEVICE" == webgpu ]] && echo fused || echo explicit)
part other "bench:unet $BENCH_SDXL latent $LXL, $OTHER attention" 90 "$OUT/bench.log" "$NODE" dist/bench/unet.js --size "$BENCH_SDXL" --latent "$LXL" --batch 2 --dtypes f16 --attention "$OTHER" --device "$DEVICE" --json "$OUT/bench.jsonl"

# 4. Summary: the result lines and the 50-step estimates.
grep -hE 'GFLOP/s|UNet calls|stage [0-9]+ |final image' "$OUT/bench.log" "$OUT/runs.log" 2>/dev/null | grep -v 'step [0-9]*/' | tee -a "$SUMMARY"
[[ -f "$OUT/runs.jsonl" ]] && "$NODE" dist/bench/gpu-estimate.js "$OUT/runs.jsonl" 2>&1 | tee -a "$SUMMARY"
say "done in $(($(date +%s) - START))s"
