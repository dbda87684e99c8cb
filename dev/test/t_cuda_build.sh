#!/usr/bin/env bash
# Compiles every CUDA target with nvcc (no GPU needed): the trainer and the parity test in both
# precisions, and each dev/cuda kernel benchmark. Any compiler warning fails the target (we build
# warning-free, so a new warning is worth a look). Without nvcc: prints SKIP and exits 0.
# Outputs go to dev/test/tmp/cuda_build, so the user's ./train_gpt2cu is left alone.
set -u
cd "$(dirname "$0")/../.."
NVCC=$(command -v nvcc || { test -x /usr/local/cuda/bin/nvcc && echo /usr/local/cuda/bin/nvcc; })
if [ -z "$NVCC" ]; then
    echo "SKIP cuda_build (no nvcc)"
    exit 0
fi
out=dev/test/tmp/cuda_build
mkdir -p "$out"
# the Makefile's flags (NVCC_FLAGS), with the default arch
FLAGS=(-O3 -std=c++17 -arch=sm_${GPU_ARCH:-90} -lineinfo -Xcompiler -Wall,-Wextra,-Wno-unused-parameter,-Wno-unused-function)
fail=0
build() {  # name, source, extra flags...
    local name=$1 src=$2; shift 2
    local log="$out/$name.log"
    if "$NVCC" "${FLAGS[@]}" "$@" "$src" -lcublas -lcublasLt -o "$out/$name" > "$log" 2>&1; then
        if grep -qi "warning" "$log"; then
            echo "FAIL cuda_build_$name compiled with warnings: $(grep -i -m1 warning "$log")"; fail=1
        else
            echo "PASS cuda_build_$name"
        fi
    else
        echo "FAIL cuda_build_$name $(grep -m1 -i error "$log")"; fail=1
    fi
}
echo "nvcc: $NVCC ($("$NVCC" --version | grep -o 'release [0-9.]*')), arch sm_${GPU_ARCH:-90}"
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
exit $fail
