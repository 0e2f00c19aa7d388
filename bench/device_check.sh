#!/usr/bin/env bash
# The whole device check of issue 12, unchanged in any session lent a GPU (and runnable here, on llvmpipe with
# CPU PyTorch, with --small): unpacks the Deno binary and npm cache that bench/device_prepare.sh packed into
# .carry/ (and the loaders in .gl/ when the image lacks libvulkan), then runs, each step under its own time
# limit and none stopping the others:
#   1. the FMA peak (bench-peak), adapter and CPU;            5. bench-sgld at the paper shape (+ PyTorch);
#   2. the GPU test files (gpu_*, model_*, train, sampler);   6. bench-sweep (whole-workload estimate);
#   3. deno task bench (matmul 512³, training steps);         7. the PyTorch/chi loss agreement check;
#   4. bench-sgld at the tiny shape (+ PyTorch, FP32/TF32;    8. one table of the figures.
#      then with --tiles tuned);
# Budget ≈ 8 minutes on an H200 (the device gives 15 minutes a session, start-up included). Logs and JSON land
# in $OUT (or /tmp/chi-device-check when OUT is unset); the table is printed last and saved as table.md.
#
#   on this machine, once:  bench/device_prepare.sh
#   device run:             carry [".carry", ".gl"], timeout_s 600, command:
#                           bash bench/device_check.sh 2>&1 | tee $OUT/device_check.log
#   locally (llvmpipe):     bash bench/device_check.sh --small
set -uo pipefail
cd "$(dirname "$0")/.."
SMALL=0
[ "${1:-}" = "--small" ] && SMALL=1
OUT=${OUT:-/tmp/chi-device-check}
mkdir -p "$OUT"
T0=$(date +%s)
export XDG_RUNTIME_DIR=/tmp PYTHONUNBUFFERED=1

# ---- the runtime: the carried Deno, else the one of tools/ (a local run) ----
if [ -f .carry/deno.xz ] && ! [ -x /tmp/chi-deno/deno ]; then
  mkdir -p /tmp/chi-deno && xz -dc .carry/deno.xz > /tmp/chi-deno/deno && chmod +x /tmp/chi-deno/deno
fi
if [ -f .carry/deno_npm.tar.xz ]; then
  export DENO_DIR=/tmp/chi-deno-dir
  [ -d "$DENO_DIR/npm" ] || { mkdir -p "$DENO_DIR" && tar -C "$DENO_DIR" -xJf .carry/deno_npm.tar.xz; }
fi
if [ -x /tmp/chi-deno/deno ]; then DENO=/tmp/chi-deno/deno; else DENO=$PWD/tools/node_modules/deno/deno; fi
if ! ldconfig -p 2>/dev/null | grep -q libvulkan && [ -d .gl ]; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
if [ -d /usr/local/nvidia/share/vulkan/icd.d ] && [ -z "${VK_DRIVER_FILES:-}" ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
# The first python3 with torch: the device image's python3 holds it; here Debian's /usr/bin/python3 does.
PY=
for p in "$(command -v python3)" /usr/bin/python3; do
  if [ -n "$p" ] && "$p" -c "import torch" 2>/dev/null; then PY=$p; break; fi
done
echo "deno: $("$DENO" --version | head -1); python: ${PY:-none with torch}; small: $SMALL; out: $OUT"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

# step NAME LIMIT_S CMD...: runs CMD with a time limit, its output to $OUT/NAME.log and here; never fails.
# The limits sum to about the budget; a step never runs past BUDGET_S from the start (the tool's 600 s limit
# per command must leave time for the table), and one with under 10 s left is skipped, saying so.
# --small runs on a CPU adapter, slower than the GPU at its larger shapes: limits ×4, budget 30 minutes.
SCALE=$((SMALL ? 4 : 1))
BUDGET_S=${BUDGET_S:-$((SMALL ? 1800 : 560))}
step() {
  local name=$1 limit=$(($2 * SCALE)) left
  shift 2
  left=$((BUDGET_S - ($(date +%s) - T0)))
  if [ "$left" -lt 10 ]; then
    echo "== $name skipped: the ${BUDGET_S} s budget is spent"
    echo "$name: skipped (budget)" >> "$OUT/status.txt"
    return
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  echo "== $name (limit ${limit}s, at $(($(date +%s) - T0)) s)"
  timeout "$limit" "$@" > >(tee "$OUT/$name.log") 2>&1
  local rc=$?
  echo "$name: exit $rc" >> "$OUT/status.txt"
  [ $rc -eq 0 ] || echo "!! $name exited with $rc"
}

R=(--allow-read=.,/tmp,"$OUT" --allow-write=/tmp,runs,"$OUT" --allow-env --allow-sys=cpus,loadavg)
step peak 30 "$DENO" run "${R[@]}" scripts/bench_peak.ts --json
cp "$OUT/peak.log" "$OUT/peak.json" 2>/dev/null

if [ $SMALL = 1 ]; then TESTS=(tests/bench_peak_test.ts tests/gpu_axpy_test.ts tests/gpu_sgld_test.ts)
else TESTS=(tests/gpu_*_test.ts tests/model_*_test.ts tests/train_test.ts tests/estimate_sampler_test.ts tests/bench_peak_test.ts)
fi
step tests 100 "$DENO" test --allow-read=.,/tmp --allow-write=/tmp --allow-env "${TESTS[@]}"

if [ $SMALL = 1 ]; then step bench 60 "$DENO" run "${R[@]}" scripts/bench.ts --steps 2 --skip-paper
else step bench 60 "$DENO" run "${R[@]}" scripts/bench.ts --steps 10 --paper-batch 8
fi

# Tiny shape: chi's defaults (9 restrictions × 2 chains, batch 8, T 64, 1 probe); PyTorch on the same.
TINY=(--restrictions 9 --chains 2 --batch 8 --probes 1)
# PyTorch threads: all cores on the device; one with --small (on a loaded 2-core machine two OpenMP pools
# spin against each other and against the other processes: 10x slower).
TT=(--threads "$(nproc)"); [ $SMALL = 1 ] && TT=(--threads 1)
if [ -n "$PY" ]; then
  step torch_tiny 45 "$PY" bench/torch_reference.py "${TT[@]}" --config tiny --seq-len 64 "${TINY[@]}" \
    --steps $((SMALL ? 5 : 20)) --json
  tail -n 1 "$OUT/torch_tiny.log" > "$OUT/torch_tiny.json"
fi
TJ=(); grep -qs "\"rows\"" "$OUT/torch_tiny.json" && TJ=(--torch-json "$OUT/torch_tiny.json")
step sgld_tiny 60 "$DENO" run "${R[@]}" scripts/bench_sgld.ts "${TINY[@]}" --draws $((SMALL ? 4 : 40)) \
  --contexts 4 --json "$OUT/sgld_tiny.json" "${TJ[@]}"
# The same with the tile autotuner (docs/tiles.md): its tuning time and the step it gives, in one line.
step sgld_tiny_tuned 60 "$DENO" run "${R[@]}" scripts/bench_sgld.ts "${TINY[@]}" --draws $((SMALL ? 4 : 40)) \
  --contexts 4 --skip-per-token --tiles tuned --tile-cache "$OUT/tile-cache.json"

# Paper shape, measured at the size bench-sgld's defaults pick for the adapter (GPU: 17 × 1 copies, batch 16,
# 14 probes; CPU: 2 × 1, batch 2, 1 probe), scaled by FLOPs to 17 × 4, batch 64; PyTorch on the measured size.
if [ $SMALL = 1 ]; then PAPER=(--restrictions 2 --chains 1 --batch 2 --probes 1); PT=(--contexts 2 --pt-batch 2)
else PAPER=(--restrictions 17 --chains 1 --batch 16 --probes 14); PT=(--contexts 4 --pt-batch 16)
fi
if [ -n "$PY" ]; then
  step torch_paper 60 "$PY" bench/torch_reference.py "${TT[@]}" --config paper --seq-len 1024 "${PAPER[@]}" \
    --steps $((SMALL ? 1 : 5)) --json
  tail -n 1 "$OUT/torch_paper.log" > "$OUT/torch_paper.json"
fi
TJ=(); grep -qs "\"rows\"" "$OUT/torch_paper.json" && TJ=(--torch-json "$OUT/torch_paper.json")
step sgld_paper 110 "$DENO" run "${R[@]}" scripts/bench_sgld.ts --paper-shape "${PAPER[@]}" "${PT[@]}" \
  --draws $((SMALL ? 1 : 3)) --json "$OUT/sgld_paper.json" "${TJ[@]}"

if [ $SMALL = 1 ]; then step sweep 75 "$DENO" run "${R[@]}" scripts/bench_sweep.ts --only default --budget-s 5 --json "$OUT/sweep.json"
else step sweep 75 "$DENO" run "${R[@]}" scripts/bench_sweep.ts --only paper --budget-s 30 --json "$OUT/sweep.json"
fi

if [ -n "$PY" ]; then
  step torch_check 30 bash -c "'$DENO' run --allow-read=.,/tmp --allow-write=/tmp bench/torch_check_fixture.ts \
    /tmp/chi-torch-check && '$PY' bench/torch_reference.py --check /tmp/chi-torch-check"
fi

echo "== table (at $(($(date +%s) - T0)) s)"
"$DENO" run --allow-read=/tmp,.,"$OUT" bench/device_table.ts "$OUT" | tee "$OUT/table.md"
cat "$OUT/status.txt"
