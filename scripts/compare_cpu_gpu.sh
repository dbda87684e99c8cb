#!/usr/bin/env bash
# CPU vs GPU: both trainers from the same seed on the same shards for STEPS steps. Prints the
# per-step losses side by side with the max relative difference, median ms/step and tok/s of
# each (first step excluded: warm-up), and the GPU speedup; writes the table to OUT/compare.tsv
# and a loss/time plot to OUT/compare.png (matplotlib, if /usr/bin/python3 has it).
# The GPU side is the exact-fp32 build (PRECISION=FP32, -f 0) unless PRECISION=BF16 is given:
# in FP32 the two loss curves should agree to TOL relative (1e-4 on a GPU, whose TF32-free cuBLAS
# sums in its own order; 1e-5 under the emulator) and the script exits 1 if they do not.
# Without a GPU it runs the CPU side, says the GPU side was skipped, and exits 0.
# EMU=1 runs the GPU side on the CUDA emulator (make cuda-emu, no GPU needed): the CUDA trainer's
# code on the CPU, so the comparison checks its logic; its timings are not a GPU's.
# Usage: scripts/compare_cpu_gpu.sh [STEPS=10]
#   env: MODEL=d12 B=4 T=64 PRECISION=FP32 TRAIN='data/mobydick/mobydick_train_*.bin' OUT=log_compare
#        EMU=0 TOL
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
STEPS=${1:-10}
MODEL=${MODEL:-d12}
B=${B:-4}
T=${T:-64}
PRECISION=${PRECISION:-FP32}
TRAIN=${TRAIN:-data/mobydick/mobydick_train_*.bin}
VAL=${VAL:-data/mobydick/mobydick_val_*.bin}
OUT=${OUT:-log_compare}
EMU=${EMU:-0}
TOL=${TOL:-$([ "$EMU" = 1 ] && echo 1e-5 || echo 1e-4)}
mkdir -p "$OUT"
COMMON=(-i "$TRAIN" -j "$VAL" -e "$MODEL" -b "$B" -t "$T" -x "$STEPS" -seed 42 -v 0 -s 0)

if ! ls $TRAIN >/dev/null 2>&1; then
    echo "compare: no shards match $TRAIN (run 'make data' for the default Moby Dick shards)"
    exit 1
fi

# step lines of either trainer -> "step loss ms"
parse() { awk '/^step +[0-9]+\/[0-9]+ \| loss/ { split($2, s, "/"); for (i = 1; i <= NF; i++) { if ($i == "loss") l = $(i+1); if ($i == "ms") m = $(i-1) } print s[1], l, m }' "$1"; }
median_ms() { awk 'NR > 1 { print $3 }' "$1" | sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else print a[int(NR / 2) + 1] }'; }

echo "compare: $MODEL B=$B T=$T, $STEPS steps, seed 42, train $TRAIN"
make -s train_gpt2 >/dev/null || { echo "compare: CPU build failed"; exit 1; }
./train_gpt2 "${COMMON[@]}" > "$OUT/cpu.log" 2>&1 || { echo "compare: CPU run failed:"; tail -5 "$OUT/cpu.log"; exit 1; }
parse "$OUT/cpu.log" > "$OUT/cpu.steps"

gpu=1
if [ "$EMU" = 1 ]; then
    if [ "$PRECISION" = FP32 ]; then GPU_BIN=build/emu/train_gpt2cu_fp32; GPU_FLAGS=(-f 0)
    else GPU_BIN=build/emu/train_gpt2cu; GPU_FLAGS=(); fi
    make -s "$GPU_BIN" >/dev/null || { echo "compare: build of $GPU_BIN failed"; exit 1; }
elif ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
    gpu=0; why="no GPU (nvidia-smi missing or lists no device)"
fi
if [ $gpu = 1 ] && [ "$EMU" != 1 ]; then
    if [ "$PRECISION" = FP32 ]; then
        GPU_BIN=build/train_gpt2cu_fp32; make -s "$GPU_BIN" >/dev/null || { gpu=0; why="build of $GPU_BIN failed"; }
        GPU_FLAGS=(-f 0)
    else
        GPU_BIN=./train_gpt2cu; make -s train_gpt2cu PRECISION=BF16 >/dev/null || { gpu=0; why="build of train_gpt2cu failed"; }
        GPU_FLAGS=()
    fi
fi
if [ $gpu = 1 ]; then
    if ! "$GPU_BIN" "${COMMON[@]}" "${GPU_FLAGS[@]}" > "$OUT/gpu.log" 2>&1; then
        if grep -q "no CUDA device" "$OUT/gpu.log"; then gpu=0; why="the CUDA trainer found no device"
        else echo "compare: GPU run failed:"; tail -5 "$OUT/gpu.log"; exit 1; fi
    fi
fi

cpu_ms=$(median_ms "$OUT/cpu.steps")
tok=$((B * T))
if [ $gpu = 0 ]; then
    echo "compare: GPU side SKIPPED: $why"
    { echo -e "step\tcpu_loss\tcpu_ms"; awk '{ print $1 "\t" $2 "\t" $3 }' "$OUT/cpu.steps"; } > "$OUT/compare.tsv"
    cat "$OUT/compare.tsv"
    awk -v m="$cpu_ms" -v t="$tok" 'BEGIN { printf "CPU: median %.1f ms/step, %.0f tok/s\n", m, t / (m / 1000) }'
    echo "table: $OUT/compare.tsv (no plot without the GPU side)"
    exit 0
fi

parse "$OUT/gpu.log" > "$OUT/gpu.steps"
gpu_ms=$(median_ms "$OUT/gpu.steps")
{ echo -e "step\tcpu_loss\tgpu_loss\trel_diff\tcpu_ms\tgpu_ms"
  paste -d' ' "$OUT/cpu.steps" "$OUT/gpu.steps" | awk '{ d = $2 - $5; if (d < 0) d = -d; r = $2 != 0 ? d / ($2 < 0 ? -$2 : $2) : d; printf "%d\t%.6f\t%.6f\t%.2e\t%.1f\t%.1f\n", $1, $2, $5, r, $3, $6 }'
} > "$OUT/compare.tsv"
cat "$OUT/compare.tsv"
maxrel=$(awk 'NR > 1 && $4 > m { m = $4 } END { printf "%.2e", m }' "$OUT/compare.tsv")
echo "GPU: $(grep -m1 '^device:' "$OUT/gpu.log")"
awk -v c="$cpu_ms" -v g="$gpu_ms" -v t="$tok" -v r="$maxrel" -v p="$PRECISION" -v tol="$TOL" -v emu="$EMU" 'BEGIN {
    printf "max relative loss difference: %s%s\n", r, (p == "FP32" ? (r + 0 <= tol + 0 ? " (within " tol ")" : " (ABOVE " tol ")") : " (BF16: not expected within " tol ")")
    printf "CPU: median %.1f ms/step, %.0f tok/s\n", c, t / (c / 1000)
    if (emu == 1) { printf "GPU (emulated on the CPU; not a GPU timing): median %.1f ms/step\n", g; exit }
    printf "GPU: median %.1f ms/step, %.0f tok/s\n", g, t / (g / 1000)
    printf "GPU speedup: %.1fx\n", c / g }'
if [ "$PRECISION" = FP32 ] && ! awk -v r="$maxrel" -v tol="$TOL" 'BEGIN { exit !(r + 0 <= tol + 0) }'; then
    status=1
fi

if /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
    /usr/bin/python3 - "$OUT/compare.tsv" "$OUT/compare.png" "$MODEL B=$B T=$T $PRECISION" <<'PY'
import sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
rows = [l.split("\t") for l in open(sys.argv[1]).read().split("\n")[1:] if l]
step = [int(r[0]) for r in rows]
fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
a.plot(step, [float(r[1]) for r in rows], "o-", label="CPU")
a.plot(step, [float(r[2]) for r in rows], "x--", label="GPU")
a.set_xlabel("step"); a.set_ylabel("train loss"); a.legend(); a.set_title("loss, " + sys.argv[3])
b.semilogy(step, [float(r[4]) for r in rows], "o-", label="CPU")
b.semilogy(step, [float(r[5]) for r in rows], "x--", label="GPU")
b.set_xlabel("step"); b.set_ylabel("ms / step"); b.legend(); b.set_title("step time")
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=100)
PY
    echo "table: $OUT/compare.tsv | plot: $OUT/compare.png"
else
    echo "table: $OUT/compare.tsv | plot skipped: /usr/bin/python3 has no matplotlib (apt-get install python3-matplotlib)"
fi
exit $status
