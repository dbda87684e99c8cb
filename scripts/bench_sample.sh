#!/usr/bin/env bash
# make bench-sample: sample_gpt2's generation speed with the KV cache (-kv 1) against the trainer's
# full forward over the prefix for every token (-kv 0), on from-scratch d6 and d12 weights, greedy
# from <|endoftext|>. Runs alternate (kv 1, kv 0, kv 1, ...) so both see the same machine load;
# prints the median tokens/s of each and the median of the per-pair speedups. A benchmark, not a
# test: nothing here asserts a time.
# Usage: scripts/bench_sample.sh [PAIRS=3]   env: THREADS=2
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS=${1:-3}
OUT=dev/test/tmp/bench_sample
mkdir -p "$OUT"
make -s train_gpt2 sample_gpt2 > /dev/null
export OMP_NUM_THREADS=${THREADS:-2} OMP_WAIT_POLICY=passive
echo "bench-sample: greedy after <|endoftext|>, $PAIRS pairs per row, $OMP_NUM_THREADS threads, $(nproc) cores"
printf "%-6s %7s %14s %14s %22s\n" model tokens "kv 1 tok/s" "kv 0 tok/s" "speedup (median pair)"
for spec in "d6 128" "d12 64"; do
    set -- $spec
    model=$1 g=$2
    [ -f "$OUT/$model/model_00000000.bin" ] || ./train_gpt2 -e "$model" -seed 42 -init-report 1 -o "$OUT/$model" > /dev/null
    kv1=(); kv0=()
    for p in $(seq "$PAIRS"); do
        for kv in 1 0; do
            ./sample_gpt2 -e "$OUT/$model/model_00000000.bin" -pt 50256 -g "$g" -temp 0 -ids 1 -kv $kv -tok /nonexistent \
                > /dev/null 2> "$OUT/run.err" || { cat "$OUT/run.err"; exit 1; }
            r=$(sed -n 's/^tokens\/s: \([0-9.]*\) .*/\1/p' "$OUT/run.err")
            if [ $kv = 1 ]; then kv1+=("$r"); else kv0+=("$r"); fi
        done
    done
    /usr/bin/python3 - "$model" "$g" "${kv1[*]}" "${kv0[*]}" <<'PY'
import statistics as st, sys
m, g, a, b = sys.argv[1], sys.argv[2], list(map(float, sys.argv[3].split())), list(map(float, sys.argv[4].split()))
print(f"{m:<6} {g:>7} {st.median(a):>14.1f} {st.median(b):>14.2f} {st.median(x / y for x, y in zip(a, b)):>21.1f}x")
PY
done
