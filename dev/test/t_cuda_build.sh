#!/usr/bin/env bash
# Compiles every CUDA target with nvcc (no GPU needed): the trainer and the parity test in both
# precisions, and each dev/cuda kernel benchmark. Any compiler warning fails the target (we build
# warning-free, so a new warning is worth a look). Without nvcc: prints SKIP and exits 0.
# Outputs go to dev/test/tmp/cuda_build, so the user's ./train_gpt2cu is left alone.
set -u
source "$(dirname "$0")/lib.sh"
test_begin cuda_build
NVCC=$(command -v nvcc || { test -x /usr/local/cuda/bin/nvcc && echo /usr/local/cuda/bin/nvcc; })
if [ -z "$NVCC" ]; then
    echo "SKIP cuda_build (no nvcc)"
    exit 0
fi
out=$TMP
# the Makefile's nvcc command and libraries (make print-nvcc), so the flags live in one place
read -r -a CMD <<< "$(make -s print-nvcc GPU_ARCH="${GPU_ARCH:-90}" | sed -n 's/^NVCC_CMD //p')"
read -r -a LIBS <<< "$(make -s print-nvcc GPU_ARCH="${GPU_ARCH:-90}" | sed -n 's/^NVCC_LIBS //p')"
[ ${#CMD[@]} -gt 1 ] || { echo "FAIL cuda_build_flags: make print-nvcc printed no command"; exit 1; }
fail=0
build() {  # name, source, extra flags...
    local name=$1 src=$2; shift 2
    local log="$out/$name.log"
    if "${CMD[@]}" "$@" "$src" "${LIBS[@]}" -o "$out/$name" > "$log" 2>&1; then
        if grep -qi "warning" "$log"; then
            echo "FAIL cuda_build_$name compiled with warnings: $(grep -i -m1 warning "$log")"; fail=1
        else
            echo "PASS cuda_build_$name"
        fi
    else
        echo "FAIL cuda_build_$name $(grep -m1 -i error "$log")"; fail=1
    fi
}
echo "nvcc: ${CMD[0]} ($("${CMD[0]}" --version | grep -o 'release [0-9.]*')), arch sm_${GPU_ARCH:-90}"
build train_gpt2cu train_gpt2.cu
build train_gpt2cu_fp32 train_gpt2.cu -DENABLE_FP32
build test_gpt2cu test_gpt2.cu
build test_gpt2cu_fp32 test_gpt2.cu -DENABLE_FP32
for f in dev/cuda/*.cu; do
    build "dev_cuda_$(basename "$f" .cu)" "$f"
done
# the binaries must start and fail cleanly (no GPU here): one line naming the problem
if [ -x "$out/train_gpt2cu" ] && ! nvidia-smi -L >/dev/null 2>&1; then
    msg=$("$out/train_gpt2cu" -x 1 2>&1 >/dev/null | tail -n 1)
    case "$msg" in
        "error: no CUDA device"*) echo "PASS cuda_no_device_message";;
        *) echo "FAIL cuda_no_device_message got: $msg"; fail=1;;
    esac
fi
# host-side paths of the CUDA binaries run without a GPU: -init-report must give the CPU
# trainer's bytes (same init code), and test_gpt2cu --init must match PyTorch's draws
if [ -x "$out/train_gpt2cu" ] && [ -x ./train_gpt2 ]; then
    for args in "-e d6" "-e d6 -init pytorch -tie 0 -seed 7"; do
        tag=$(echo "$args" | tr -c 'a-z0-9' '_')
        ./train_gpt2 $args -init-report 1 -o "$out/cpu$tag" 2>&1 | sed -n '/^tensor /,$p' | grep -v '^wrote' > "$out/cpu$tag.txt"
        "$out/train_gpt2cu" $args -init-report 1 -o "$out/gpu$tag" 2>&1 | sed -n '/^tensor /,$p' | grep -v '^wrote' > "$out/gpu$tag.txt"
        if cmp -s "$out/cpu$tag.txt" "$out/gpu$tag.txt" && cmp -s "$out/cpu$tag/model_00000000.bin" "$out/gpu$tag/model_00000000.bin"; then
            echo "PASS cuda_init_report_matches_cpu ($args): report and initial weights byte-identical"
        else
            echo "FAIL cuda_init_report_matches_cpu ($args): $(diff "$out/cpu$tag.txt" "$out/gpu$tag.txt" | head -n 3 | tr '\n' '|')"; fail=1
        fi
    done
fi
if [ -x "$out/test_gpt2cu" ] && "$PY" -c "import torch" 2>/dev/null; then
    "$PY" dev/gpt2_ref.py --out "$out/init" --init-only --init nanogpt,xavier-uniform --seeds 5 --untied 1 > "$out/init.log" 2>&1
    for scheme in nanogpt xavier-uniform; do
        "$out/test_gpt2cu" --init "$out/init/init_${scheme}_5.bin" "$scheme" 5 | sed 's/^\(PASS\|FAIL\) /\1 cuda_host_/'
        [ "${PIPESTATUS[0]}" -eq 0 ] || fail=1
    done
fi
failed=$fail
test_end
