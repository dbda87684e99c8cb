#!/usr/bin/env bash
# make bench-dp: data-parallel scaling of the CPU trainer on this machine. GPT-2 124M (d12), B=4,
# T=64, the same 512 tokens per optimizer step in every row:
#   1 rank  x 2 threads, -d 512 (2 micro-steps of accumulation)
#   2 ranks x 1 thread,  -d 512 (one micro-step each; gradients summed with MPI_Allreduce)
#   2 ranks x 1 thread,  -d 512, -z 1 (ZeRO-1: AdamW state sharded)
# Prints median ms/step, tok/s, scaling efficiency (tok/s over the 1-rank row), optimizer state
# and peak RSS per rank. A benchmark, not a test: nothing here asserts a time.
# Usage: scripts/bench_dp.sh [STEPS=10]
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-10}
OUT=dev/test/tmp/bench_dp
mkdir -p "$OUT"
command -v mpirun > /dev/null || { echo "bench-dp: mpirun not found (Debian: openmpi-bin libopenmpi-dev)"; exit 1; }
make -s data train_gpt2 > /dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_WAIT_POLICY=passive
ARGS=(-e d12 -seed 42 -i "data/mobydick/mobydick_train_*.bin" -shuffle 0 -b 4 -t 64 -d 512 -x $((STEPS + 1)) -v 0 -s 0
      -l 1e-3 -k constant -tok /nonexistent)
run() {  # run NAME RANKS THREADS EXTRA...
    local name=$1 np=$2 th=$3; shift 3
    if [ "$np" -eq 1 ]; then OMP_NUM_THREADS=$th ./train_gpt2 "${ARGS[@]}" "$@" > "$OUT/$name.log" 2>&1
    else mpirun --oversubscribe -np "$np" -x OMP_NUM_THREADS="$th" ./train_gpt2 "${ARGS[@]}" "$@" > "$OUT/$name.log" 2>&1; fi
}
echo "bench-dp: d12 B=4 T=64, 512 tokens per step, $STEPS timed steps, $(nproc) cores, $(mpirun --version | head -n 1)"
run r1 1 2
run r2 2 1
run z2 2 1 -z 1
base=""
printf "%-28s %10s %9s %11s %16s %s\n" config "ms/step" "tok/s" efficiency "optimizer/rank" "peak RSS per rank"
for row in "r1:1 rank x 2 threads" "r2:2 ranks x 1 thread" "z2:2 ranks x 1 thread, -z 1"; do
    name=${row%%:*} label=${row#*:}
    ms=$(sed -n 's/^median step \([0-9.]*\) ms.*/\1/p' "$OUT/$name.log")
    tok=$(sed -n 's/^median step .* | \([0-9]*\) tok\/s.*/\1/p' "$OUT/$name.log")
    opt=$(grep -o 'optimizer state [0-9.]* MiB' "$OUT/$name.log" | awk '{print $3 " MiB"}')
    rss=$(sed -n 's/^peak RSS per rank: //p' "$OUT/$name.log"); [ -n "$rss" ] || rss="$(grep -o 'peak RSS [0-9.]* MB' "$OUT/$name.log" | awk '{print $3 " MB"}')"
    [ -n "$base" ] || base=$tok
    eff=$(awk -v a="$tok" -v b="$base" 'BEGIN { printf "%.2f", a / b }')
    printf "%-28s %10s %9s %11s %16s %s\n" "$label" "$ms" "$tok" "$eff" "$opt" "$rss"
done
