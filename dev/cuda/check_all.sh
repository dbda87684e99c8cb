#!/usr/bin/env bash
# The one script a GPU session runs. Builds every CUDA target; runs test_gpt2cu in FP32 and BF16
# against the PyTorch debug state; runs each dev/cuda kernel check + benchmark; runs
# compute-sanitizer memcheck on the FP32 test; benchmarks d12 at B=64 T=1024 (BF16); compares
# against the CPU trainer (scripts/compare_cpu_gpu.sh); prints a summary. Logs in OUT.
# Needs: nvcc + a GPU; for the parity tests either dev/test/tmp/ref/ (ref_model.bin,
# ref_debug_state.bin) or python3 with torch to make it; data/mobydick/ for the benchmark.
# Usage: dev/cuda/check_all.sh   (env: OUT=log_cuda_check BENCH_STEPS=30 SKIP_SANITIZER=0)
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:-log_cuda_check}
BENCH_STEPS=${BENCH_STEPS:-30}
mkdir -p "$OUT"
summary=()
failed=0
note() { summary+=("$1"); echo "== $1"; }
run() {  # name, log, command...
    local name=$1 log=$2; shift 2
    local t0=$(date +%s)
    "$@" > "$log" 2>&1
    local rc=$?
    local p=$(grep -c '^PASS' "$log") f=$(grep -c '^FAIL' "$log")
    if [ $rc -ne 0 ] || [ "$f" -ne 0 ]; then
        failed=1; note "FAIL $name (rc $rc, $p passed, $f failed, $(( $(date +%s) - t0 ))s) -> $log"
        grep '^FAIL' "$log" | head -n 20; tail -n 5 "$log"
    else
        note "PASS $name ($p checks, $(( $(date +%s) - t0 ))s)"
    fi
    return $rc
}

nvidia-smi -L || { echo "check_all: no GPU visible (nvidia-smi -L failed)"; exit 1; }
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,power.limit --format=csv | tee "$OUT/gpu.txt"

# builds: BF16 default binaries, plus the FP32 test copied aside
run build_fp32_test "$OUT/build_fp32.log" bash -c "make -B test_gpt2cu PRECISION=FP32 && cp test_gpt2cu build/test_gpt2cu_fp32" || true
run build_bf16 "$OUT/build_bf16.log" make -B cuda PRECISION=BF16 || true
run build_train_fp32 "$OUT/build_train_fp32.log" make build/train_gpt2cu_fp32 || true

# parity tests against the PyTorch debug state (the same one test_gpt2.cpp uses)
REF=dev/test/tmp/ref
if [ ! -f "$REF/ref_debug_state.bin" ]; then
    mkdir -p "$REF"
    /usr/bin/python3 dev/gpt2_ref.py --out "$REF" --seed 1337 > "$OUT/ref_gen.log" 2>&1 || true
fi
if [ -f "$REF/ref_debug_state.bin" ]; then
    run test_gpt2cu_fp32 "$OUT/test_fp32.log" ./build/test_gpt2cu_fp32 "$REF"
    run test_gpt2cu_bf16 "$OUT/test_bf16.log" ./test_gpt2cu "$REF"
    if [ "${SKIP_SANITIZER:-0}" != 1 ]; then
        SAN=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
        if [ -x "$SAN" ]; then
            run memcheck_test_fp32 "$OUT/memcheck.log" "$SAN" --tool memcheck --leak-check full --error-exitcode 9 ./build/test_gpt2cu_fp32 "$REF"
        else
            note "SKIP memcheck (no compute-sanitizer)"
        fi
    fi
else
    failed=1; note "FAIL parity tests: no $REF/ref_debug_state.bin and dev/gpt2_ref.py could not make one (see $OUT/ref_gen.log)"
fi

# kernel checks + benchmarks
for b in build/dev_cuda/*; do
    [ -x "$b" ] || continue
    run "dev_cuda_$(basename "$b")" "$OUT/dev_cuda_$(basename "$b").log" "$b"
    grep -E '^  ' "$OUT/dev_cuda_$(basename "$b").log" | sort -t'|' -k3 -g | head -n 3
done

# speed: GPT-2 124M, B=64, T=1024, BF16 (issue target: >= llm.c's ~0.47M tok/s on one H100)
if ls data/mobydick/mobydick_train_*.bin >/dev/null 2>&1; then
    ./train_gpt2cu -e d12 -b 64 -t 1024 -x "$BENCH_STEPS" -v 0 -s 0 -l 6e-4 -u 10 > "$OUT/bench_d12.log" 2>&1
    if [ $? -eq 0 ]; then
        note "BENCH d12 B=64 T=1024 BF16: $(grep '^median step' "$OUT/bench_d12.log")"
        grep '^step' "$OUT/bench_d12.log" | tail -n 2
    else
        failed=1; note "FAIL bench d12 -> $OUT/bench_d12.log"; tail -n 5 "$OUT/bench_d12.log"
    fi
    OUT="$OUT/compare" bash scripts/compare_cpu_gpu.sh 10 > "$OUT/compare.log" 2>&1
    note "COMPARE $(grep -E '^(max relative|GPU speedup)' "$OUT/compare.log" | tr '\n' ' ')"
else
    note "SKIP benchmark and CPU comparison: no data/mobydick shards (make data)"
fi

echo
echo "================ summary ================"
printf '%s\n' "${summary[@]}"
exit $failed
