#!/usr/bin/env bash
# CPU dry run of scripts/gpu-check.sh the way the device tool runs it (docs/gpu.md): a clone of this branch's
# HEAD is made slim with gpu-carry.sh --slim, the files that would travel (tracked and untracked-not-ignored,
# plus the carried .gpu/) are copied to a fresh folder without dist/ or node_modules/, and gpu-check.sh runs
# there with --device cpu --tiny and its own OUT; then --restore must leave the clone clean. Prints what would
# travel and what came back in OUT (the device tool returns at most 8 files).
#
# Usage: bash scripts/gpu-dry-run.sh [extra gpu-check.sh arguments]   (after scripts/gpu-carry.sh; commit first)
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -f .gpu/node-linux-x64.xz ]] || { echo "gpu-dry-run.sh: run scripts/gpu-carry.sh first" >&2; exit 2; }
SIM=$(mktemp -d /tmp/gpu-dry-run.XXXXXX)
trap 'rm -rf "$SIM"' EXIT
git clone -q --branch "$(git branch --show-current)" "$PWD" "$SIM/clone"
cp -r .gpu "$SIM/clone/.gpu"
(cd "$SIM/clone" && bash scripts/gpu-carry.sh --slim)

# What the device tool would send: tracked + untracked-not-ignored files, and the carried .gpu/.
mkdir -p "$SIM/tree"
(cd "$SIM/clone" && { git ls-files -z --cached --others --exclude-standard; find .gpu -type f -print0; } | tar --null -cf - -T - | tar -xf - -C "$SIM/tree")
bytes=$(find "$SIM/tree" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
echo "travels: $bytes bytes ($(awk -v b="$bytes" 'BEGIN {printf "%.1f", b/1048576}') MiB of 64 MiB), $(find "$SIM/tree" -type f | wc -l) files"

# The check itself, on the CPU, with tiny models; no dist/ or node_modules/ but what .gpu/ brings.
(cd "$SIM/tree" && OUT="$SIM/out" GPU_CHECK_RT="$SIM/rt" GPU_CHECK_LIMIT_SCALE=${GPU_CHECK_LIMIT_SCALE:-4} GPU_CHECK_BUDGET=${GPU_CHECK_BUDGET:-1500} bash scripts/gpu-check.sh --device cpu --tiny "$@") || echo "gpu-check.sh exited $?"
echo "--- OUT: $(find "$SIM/out" -type f | wc -l) files"
find "$SIM/out" -type f -printf '%s\t%P\n' | sort -k2
for f in summary.txt env.txt; do echo "--- $f"; cat "$SIM/out/$f" 2>/dev/null; done

(cd "$SIM/clone" && bash scripts/gpu-carry.sh --restore && test -z "$(git status --porcelain)" && echo "clone clean after --restore")
