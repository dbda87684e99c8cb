#!/usr/bin/env bash
# make bench: GPT-2 124M (d12), B=4, T=64, fp32, the same weights (seeded init, which matches
# torch.manual_seed) and the same batches (Moby Dick train shard in order), same optimizer
# settings, 2 threads each: our CPU trainer vs the PyTorch reference (dev/gpt2_ref.py --bench).
# Prints median ms/step, tok/s, GFLOP/s, share of a measured OpenBLAS sgemm ceiling, peak RSS,
# and the speed ratio. A benchmark, not a test: nothing here asserts a time.
# Usage: scripts/bench.sh [STEPS=10] [THREADS=2]
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-10}
THREADS=${2:-2}
PY=/usr/bin/python3
OUT=dev/test/tmp/bench
mkdir -p "$OUT"

# Debian's python3-torch calls whatever libblas.so.3 points at: the netlib reference BLAS unless
# OpenBLAS is installed, and then the comparison would be meaningless.
if ! dpkg -s libopenblas0-openmp >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        echo "bench: installing libopenblas0-openmp so PyTorch uses OpenBLAS"
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas0-openmp) > "$OUT/apt.log" 2>&1 \
            || echo "bench: WARNING: could not install libopenblas0-openmp (see $OUT/apt.log)"
    fi
fi
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)
case "$blas" in *openblas*) ;; *) echo "bench: WARNING: PyTorch's BLAS is $blas, not OpenBLAS: its times are not a fair baseline";; esac
# This machine sets OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE (old OpenBLAS builds misdetect some CPUs);
# they pin OpenBLAS to an AVX2 kernel. For the baseline we unset both, in these commands only,
# and print the kernel OpenBLAS then picks (the sgemm check below also verifies its results).
PYB="env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $PY"

make -s data train_gpt2 >/dev/null
shard=data/mobydick/mobydick_train_000001.bin
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
total=$((STEPS + 2))

ceiling=$($PYB - <<'PYEOF'
import ctypes, glob, sys, time
import numpy as np
core = "?"
for lib in glob.glob("/usr/lib/x86_64-linux-gnu/openblas*/libopenblas*.so*"):
    l = ctypes.CDLL(lib); l.openblas_get_corename.restype = ctypes.c_char_p
    core = l.openblas_get_corename().decode(); break
a = np.random.rand(2048, 2048).astype(np.float32); b = np.random.rand(2048, 2048).astype(np.float32)
c = a @ b
err = np.abs(c - a.astype(np.float64) @ b.astype(np.float64)).max() / np.abs(c).max()
print(f"bench: OpenBLAS kernel {core}, sgemm max relative error {err:.1e}", file=sys.stderr)
if err > 1e-5:
    sys.exit("bench: OpenBLAS gives wrong results with this kernel; rerun with OPENBLAS_CORETYPE set")
ts = []
for _ in range(5):
    t0 = time.perf_counter(); a @ b; ts.append(time.perf_counter() - t0)
ts.sort()
print(f"{2 * 2048**3 / ts[2] / 1e9:.1f}")
PYEOF
)

echo "bench: ours (./train_gpt2, $total steps)"
./train_gpt2 -e d12 -seed 42 -i "$shard" -shuffle 0 -b 4 -t 64 -x $total -v 0 -s 0 \
    -l 1e-3 -k constant -c 0.1 -b1 0.9 -b2 0.95 -gc 1.0 -tok /nonexistent > "$OUT/ours.log" 2>&1
echo "bench: ours on 1 thread (thread scaling)"
OMP_NUM_THREADS=1 ./train_gpt2 -e d12 -seed 42 -i "$shard" -shuffle 0 -b 4 -t 64 -x $total -v 0 -s 0 \
    -l 1e-3 -k constant -c 0.1 -b1 0.9 -b2 0.95 -gc 1.0 > "$OUT/ours1.log" 2>&1
echo "bench: PyTorch (dev/gpt2_ref.py --bench, $total steps)"
$PYB dev/gpt2_ref.py --bench "$STEPS" --B 4 --T 64 --threads "$THREADS" --seed 42 --shard "$shard" > "$OUT/torch.log" 2>&1

$PY - "$OUT/ours.log" "$OUT/torch.log" "$ceiling" "$THREADS" "$OUT/ours1.log" <<'PYEOF'
import re, statistics, sys
ours_log, torch_log, ceiling, threads = open(sys.argv[1]).read(), open(sys.argv[2]).read(), float(sys.argv[3]), sys.argv[4]
step_re = r"^step +\d+/\d+ \| loss ([\d.]+) \|.*?\| ([\d.]+) ms"
ours = [(float(l), float(ms)) for l, ms in re.findall(step_re, ours_log, re.M)]
ours1 = [(float(l), float(ms)) for l, ms in re.findall(step_re, open(sys.argv[5]).read(), re.M)]
ref = [(float(l), float(ms)) for ms, l in re.findall(r"^step \d+ ms ([\d.]+) loss ([\d.]+)", torch_log, re.M)]
rss_ours = float(re.search(r"peak RSS ([\d.]+) MB", ours_log).group(1))
rss_ref = float(re.search(r"peak_rss_mb=([\d.]+)", torch_log).group(1))
B, T, L, C, N = 4, 64, 12, 768, 124475904
flops = (6 * N + 6 * L * C * T) * B * T  # per step, llm.c's MFU count
def row(name, runs, rss):
    ms = statistics.median([m for _, m in runs[2:]])
    gf = flops / (ms / 1e3) / 1e9
    print(f"| {name:<22} | {ms:9.1f} | {B*T/(ms/1e3):8.1f} | {gf:8.1f} | {100*gf/ceiling:7.1f}% | {rss:12.0f} |")
    return ms
print(f"\nd12 (124M) B={B} T={T} fp32, {threads} threads, median of {len(ours)-2} steps after 2 warm-up steps")
print(f"step = {flops/1e9:.1f} GFLOP; sgemm ceiling (OpenBLAS 2048^3) = {ceiling:.1f} GFLOP/s")
print("| trainer                | ms/step   | tok/s    | GFLOP/s  | of sgemm | peak RSS MiB |")
print("|------------------------|-----------|----------|----------|----------|--------------|")
a = row("ours (train_gpt2)", ours, rss_ours)
b = row("PyTorch 1.13 (ref)", ref, rss_ref)
print(f"speedup ours vs PyTorch: {b / a:.2f}x")
one = statistics.median([m for _, m in ours1[2:]])
print(f"thread scaling (ours): 1 thread {one:.1f} ms/step, {threads} threads {a:.1f} ms/step, {one / a:.2f}x")
n = min(len(ours), len(ref))
d = max(abs(ours[i][0] - ref[i][0]) / ref[i][0] for i in range(n))
print(f"losses over {n} steps, same weights and batches: max relative difference {d:.2e}")
PYEOF
