#!/usr/bin/env bash
# The one script a GPU session runs. Builds every CUDA target; runs test_gpt2cu in FP32 and BF16
# against the PyTorch debug state, and in FP32 against the untied-lm_head one (--untied 1);
# checks the host-side init (-init-report, test_gpt2cu --init) against the CPU trainer and
# PyTorch; runs each dev/cuda kernel check + benchmark; runs compute-sanitizer memcheck on the
# FP32 test; benchmarks d12 at B=64 T=1024 (BF16, fused and unfused attention); times each kernel
# of one such step (-prof) against dev/cuda/roofline.py; compares against the CPU trainer (scripts/compare_cpu_gpu.sh) and an untied -rms run's step-0 RMS line; prints a
# summary.
# Logs in OUT.
# Needs: nvcc + a GPU; for the parity tests either dev/test/tmp/ref/ and dev/test/tmp/ref_untied/
# (ref_model.bin, ref_debug_state.bin) or $PYTHON (default: the python3 on PATH, which on the
# lent GPU machines is the one with torch) to make them; data/mobydick/ for the benchmark and the
# CPU comparisons. Nothing is installed. On a lent machine carry data/mobydick (0.6 MB, made here
# by `make data`); the debug states (~90 MB each, mostly logits) are made there by $PYTHON.
# Before spending GPU time, run everything this script runs on the CUDA emulator: make test
# (dev/test/t_cuda_emu.sh) or `make cuda-emu`.
# Usage: dev/cuda/check_all.sh   (env: OUT=log_cuda_check BENCH_STEPS=30 SKIP_SANITIZER=0 PYTHON=python3)
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:-log_cuda_check}
PYTHON=${PYTHON:-python3}
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
run build_fp32_test "$OUT/build_fp32.log" bash -c "make -B test_gpt2cu PRECISION=FP32 && mkdir -p build && cp test_gpt2cu build/test_gpt2cu_fp32" || true
run build_bf16 "$OUT/build_bf16.log" make -B -j"$(nproc)" cuda PRECISION=BF16 || true
run build_train_fp32 "$OUT/build_train_fp32.log" make build/train_gpt2cu_fp32 || true

# parity tests against the PyTorch debug states (the same ones test_gpt2.cpp uses)
REF=dev/test/tmp/ref
REF_UNTIED=dev/test/tmp/ref_untied
for untied in 0 1; do
    dir=$([ $untied = 1 ] && echo "$REF_UNTIED" || echo "$REF")
    if [ ! -f "$dir/ref_debug_state.bin" ]; then
        mkdir -p "$dir"
        "$PYTHON" dev/gpt2_ref.py --out "$dir" --seed 1337 --untied $untied > "$OUT/ref_gen_untied$untied.log" 2>&1 || true
    fi
done
if [ -f "$REF_UNTIED/ref_debug_state.bin" ]; then
    # lm_head its own tensor: its own gradient, wte's only the embedding part, decayed by AdamW
    run test_gpt2cu_fp32_untied "$OUT/test_fp32_untied.log" ./build/test_gpt2cu_fp32 "$REF_UNTIED"
else
    failed=1; note "FAIL untied parity test: no $REF_UNTIED/ref_debug_state.bin (see $OUT/ref_gen_untied1.log)"
fi
if [ -f "$REF/ref_debug_state.bin" ]; then
    run test_gpt2cu_fp32 "$OUT/test_fp32.log" ./build/test_gpt2cu_fp32 "$REF"
    run test_gpt2cu_bf16 "$OUT/test_bf16.log" ./test_gpt2cu "$REF"
    # the unfused attention path (-fa 0) too; the two runs above use the fused one (-fa 1)
    run test_gpt2cu_bf16_fa0 "$OUT/test_bf16_fa0.log" ./test_gpt2cu "$REF" -fa 0
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

# host-side init: the CUDA trainer draws on the host with the CPU trainer's code, so the
# -init-report tables must be identical (timings stripped); test_gpt2cu --init against PyTorch
if make -s train_gpt2 > "$OUT/build_cpu.log" 2>&1; then
    same=0; total=0
    for args in "-e d6" "-e d6 -tie 0 -init pytorch -seed 7" "-e d6 -tie 0 -init xavier-uniform -init-emb normal:0.1"; do
        total=$((total + 1))
        ./train_gpt2 $args -init-report 1 2>&1 | sed -n '/^init:/,$p' | sed 's/, [0-9]* ms$//' > "$OUT/init_report_cpu.txt"
        ./train_gpt2cu $args -init-report 1 2>&1 | sed -n '/^init:/,$p' | sed 's/, [0-9]* ms$//' > "$OUT/init_report_gpu.txt"
        [ -s "$OUT/init_report_cpu.txt" ] && cmp -s "$OUT/init_report_cpu.txt" "$OUT/init_report_gpu.txt" && same=$((same + 1))
    done
    if [ $same = $total ]; then note "PASS init_report_cpu_vs_cuda ($total configurations identical)"
    else failed=1; note "FAIL init_report_cpu_vs_cuda ($same of $total identical; last pair in $OUT/init_report_*.txt)"; fi
else
    failed=1; note "FAIL CPU build (see $OUT/build_cpu.log)"
fi
INIT_REF=dev/test/tmp/ref_init_untied
[ -f "$INIT_REF/init_pytorch_3.bin" ] || "$PYTHON" dev/gpt2_ref.py --out "$INIT_REF" --init-only \
    --init nanogpt,pytorch --seeds 3 --untied 1 > "$OUT/ref_gen_init.log" 2>&1
if [ -f "$INIT_REF/init_pytorch_3.bin" ]; then
    run test_gpt2cu_init_untied "$OUT/test_init.log" bash -c \
        "./test_gpt2cu --init $INIT_REF/init_nanogpt_3.bin nanogpt 3 && ./test_gpt2cu --init $INIT_REF/init_pytorch_3.bin pytorch 3"
else
    failed=1; note "FAIL init references: dev/gpt2_ref.py --init-only failed (see $OUT/ref_gen_init.log)"
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
    # the same with the unfused attention (-fa 0; the run above is the fused one, -fa 1)
    if ./train_gpt2cu -e d12 -b 64 -t 1024 -x "$BENCH_STEPS" -v 0 -s 0 -l 6e-4 -u 10 -fa 0 > "$OUT/bench_d12_fa0.log" 2>&1; then
        note "BENCH d12 B=64 T=1024 BF16 -fa 0: $(grep '^median step' "$OUT/bench_d12_fa0.log")"
    else
        failed=1; note "FAIL bench d12 -fa 0 -> $OUT/bench_d12_fa0.log"; tail -n 5 "$OUT/bench_d12_fa0.log"
    fi
    # per-kernel times of step 3 (-prof: CUDA events around every kernel and matmul) against the
    # roofline model (dev/cuda/roofline.py, this GPU's ceilings), both attention variants; and the
    # device memory measured (cudaMemGetInfo) next to gpt2_memory_needed's prediction
    for fa in 1 0; do
        if ./train_gpt2cu -e d12 -b 64 -t 1024 -x 4 -prof 3 -fa $fa -v 0 -s 0 -l 6e-4 -u 10 > "$OUT/prof_d12_fa$fa.log" 2>&1 &&
           "$PYTHON" dev/cuda/roofline.py --fa $fa --measured "$OUT/prof_d12_fa$fa.log" > "$OUT/roofline_fa$fa.txt" 2>&1; then
            grep -v '^  \. ' "$OUT/roofline_fa$fa.txt" | sed -n '/^== /,$p'
            note "ROOFLINE d12 -fa $fa: $(grep '^predicted step' "$OUT/roofline_fa$fa.txt" | awk '{print "predicted " $(NF-2) " ms, measured " $(NF-1) " ms (sum of -prof rows), x" $NF}') | $(grep '^median step' "$OUT/prof_d12_fa$fa.log" | sed 's/.*| device memory/device memory/')"
        else
            failed=1; note "FAIL prof/roofline d12 -fa $fa -> $OUT/prof_d12_fa$fa.log $OUT/roofline_fa$fa.txt"; tail -n 5 "$OUT/prof_d12_fa$fa.log"
        fi
    done
    OUT="$OUT/compare" bash scripts/compare_cpu_gpu.sh 10 > "$OUT/compare.log" 2>&1
    note "COMPARE $(grep -E '^(max relative|GPU speedup)' "$OUT/compare.log" | tr '\n' ' ')"
    # untied lm_head + -rms on both trainers (exact fp32 on the GPU): identical initial weights,
    # so step 0's weight RMS and (fp32-noise-close) grad RMS agree on all 17 tensors
    RMS_ARGS=(-i 'data/mobydick/mobydick_train_*.bin' -e d6 -b 4 -t 64 -x 2 -seed 42 -v 0 -s 0 -tie 0 -init pytorch -rms 1)
    ./train_gpt2 "${RMS_ARGS[@]}" > "$OUT/rms_cpu.log" 2>&1
    ./build/train_gpt2cu_fp32 "${RMS_ARGS[@]}" -f 0 > "$OUT/rms_gpu.log" 2>&1
    cpu_rms=$(grep -m1 '^s:0 rms' "$OUT/rms_cpu.log"); gpu_rms=$(grep -m1 '^s:0 rms' "$OUT/rms_gpu.log")
    worst=$(printf '%s\n%s\n' "$cpu_rms" "$gpu_rms" | awk '
        { for (i = 3; i <= NF; i++) { split($i, kv, ":"); split(kv[2], wg, "/"); w[NR, kv[1]] = wg[1]; g[NR, kv[1]] = wg[2]; names[kv[1]] = 1 } }
        END { m = 0; n = 0
              for (k in names) { n++
                  if (!((1, k) in w) || !((2, k) in w)) { print "missing " k; exit }
                  for (j = 0; j < 2; j++) { a = j ? g[1, k] : w[1, k]; b = j ? g[2, k] : w[2, k]
                      d = a - b; if (d < 0) d = -d; if (a < 0) a = -a; r = a > 0 ? d / a : d; if (r > m) m = r } }
              print (n == 17 ? "" : "tensors " n " ") m }')
    if [ -n "$cpu_rms" ] && [ "${worst%% *}" = "$worst" ] && awk -v m="$worst" 'BEGIN { exit !(m <= 1e-3) }'; then
        note "PASS rms_untied_cpu_vs_cuda (step 0, max relative difference $worst)"
    else
        failed=1; note "FAIL rms_untied_cpu_vs_cuda ($worst) -> $OUT/rms_cpu.log $OUT/rms_gpu.log"
    fi
else
    note "SKIP benchmark and CPU comparison: no data/mobydick shards (make data)"
fi

echo
echo "================ summary ================"
printf '%s\n' "${summary[@]}"
exit $failed
