#!/usr/bin/env bash
# The roofline model (dev/cuda/roofline.py), the CUDA trainer's -prof mode and its device-memory
# report, held against each other on the CUDA emulator (no GPU needed):
#  - roofline.py prints both attention variants with a predicted step time and tok/s
#  - its matmul FLOPs equal the analytic 6 * (matmul weights) * tokens exactly, and 6 * N * tokens
#    (N all parameters) within 1% (the gap is wpe, biases and layernorm weights: 0.73% for d12);
#    attention: 12 * L * T * C per token materialized (full T x T products), and the fused
#    kernels' 9 tile products over the causal 64 x 64 tile pairs
#  - -prof prints one row per name roofline.py knows, with the same number of marks per step
#    (-fa 1 and -fa 0; -r 0 -ge 1, which drop gelu_recompute and gelu_fwd)
#  - memory: roofline.py's estimate equals gpt2_memory_needed (the trainer's "memory:" line,
#    printed to 0.01 GiB) for d12 B=64 T=1024 with -fa 0 and -fa 1, and for a tiny model equals
#    the trainer's predicted, allocated and measured peak (cudaMemGetInfo) to 0.1 MiB; fused
#    attention needs under 60% of the materialized variant's memory at d12 B=64 T=1024
#  - the step loop allocates nothing after step 1 (the emulator counts cudaMalloc calls), with
#    validation and sampling (other shapes) between the steps
# One line per check: "PASS name ..." or "FAIL name ...".
set -u
source "$(dirname "$0")/lib.sh"
test_begin t_roofline
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
RL=(python3 dev/cuda/roofline.py)
command -v python3 > /dev/null || RL=("$PY" dev/cuda/roofline.py)

# --- the model on its own --------------------------------------------------------------------------
if "${RL[@]}" > "$TMP/table.txt" 2> "$TMP/table.err" && [ "$(grep -c '^predicted tok/s' "$TMP/table.txt")" = 2 ] &&
   grep -q '^== materialized' "$TMP/table.txt" && grep -q '^== fused' "$TMP/table.txt"; then
    pass roofline_table "both attention variants: $(grep '^predicted tok/s' "$TMP/table.txt" | awk '{print $(NF-1) "/" $NF}' | tr '\n' ' ')tok/s (H100/H200)"
else
    fail roofline_table "$(tail -n 1 "$TMP/table.err")"
fi
"${RL[@]}" --summary > "$TMP/summary.txt" || fail roofline_summary "rc $?"
kv() { sed -n "s/^fa$1 .*\b$2=\([^ ]*\).*/\1/p" "$TMP/summary.txt"; }
python3 - "$(kv 0 params)" "$(kv 0 matmul_params)" "$(kv 0 tokens)" "$(kv 0 linear_matmul_flops)" "$(kv 1 linear_matmul_flops)" \
         "$(kv 0 attention_tensor_flops)" "$(kv 1 attention_tensor_flops)" > "$TMP/flops.txt" <<'EOF'
import sys
P, Pm, tok, lin0, lin1, att0, att1 = (float(x) for x in sys.argv[1:])
L, C, T, NH, hs = 12, 768, 1024, 12, 64
B = tok / T
ok = True
exact = 6 * Pm * tok
r1 = abs(lin0 - exact) / exact
r2 = abs(lin0 - 6 * P * tok) / (6 * P * tok)
nt = T // 64
att_full = 12 * L * T * C * tok                      # QK^T, AV forward + 4 products backward, full T x T
att_fused = L * B * NH * nt * (nt + 1) / 2 * 9 * 2 * 64 * 64 * hs   # 2 + 7 tile products per causal tile pair
r3, r4 = abs(att0 - att_full) / att_full, abs(att1 - att_fused) / att_fused
print(f"{'PASS' if r1 < 1e-12 and lin0 == lin1 else 'FAIL'} roofline_matmul_flops_exact linear matmuls {lin0:.4e} FLOP = 6 x {Pm:.0f} matmul weights x {tok:.0f} tokens (rel {r1:.1e}), same in both variants")
print(f"{'PASS' if r2 < 0.01 else 'FAIL'} roofline_matmul_flops_6N linear matmuls within {r2:.2%} of 6 x {P:.0f} parameters x tokens (bound 1%)")
print(f"{'PASS' if r3 < 1e-12 else 'FAIL'} roofline_attention_flops_materialized {att0:.4e} = 12 L T C x tokens (rel {r3:.1e})")
print(f"{'PASS' if r4 < 1e-12 else 'FAIL'} roofline_attention_flops_fused {att1:.4e} = 9 tile products x {nt * (nt + 1) // 2} causal tile pairs per head (rel {r4:.1e}; {att1 / att0:.3f} of materialized)")
EOF
cat "$TMP/flops.txt"; grep -q '^FAIL' "$TMP/flops.txt" && failed=1
m0=$(kv 0 memory_gib); m1=$(kv 1 memory_gib)
if awk -v a="$m0" -v b="$m1" 'BEGIN { exit !(a > 0 && b < 0.6 * a) }'; then
    pass roofline_fused_memory "d12 B=64 T=1024: fused attention $m1 GiB vs materialized $m0 GiB"
else
    fail roofline_fused_memory "fused $m1 GiB vs materialized $m0 GiB (want < 60%)"
fi

# --- against the emulated trainer ----------------------------------------------------------------------
if make -s build/emu/train_gpt2cu > "$TMP/make.log" 2>&1; then pass emu_trainer_build
else fail emu_trainer_build "$(grep -m1 -i error "$TMP/make.log")"; test_end; fi
E=build/emu/train_gpt2cu
# gpt2_memory_needed for d12 B=64 T=1024: the "memory:" line, printed before anything is allocated;
# the run then stops (too little memory here, or the address-space cap: it never trains)
for fa in 0 1; do
    (ulimit -v 8000000; timeout 120 "$E" -e d12 -b 64 -t 1024 -fa $fa -x 1 -v 0 -s 0 > "$TMP/d12_fa$fa.out" 2>&1)
    got=$(sed -n 's/^memory: .* | \([0-9.]*\) GiB device .*/\1/p' "$TMP/d12_fa$fa.out")
    want=$(kv $fa memory_gib)
    if [ -n "$got" ] && [ "$got" = "$want" ]; then pass "roofline_memory_d12_fa$fa" "gpt2_memory_needed $got GiB = roofline.py $want GiB (B=64 T=1024)"
    else fail "roofline_memory_d12_fa$fa" "trainer '${got}' GiB vs roofline.py '$want' GiB: $(grep -m1 -E '^memory|error' "$TMP/d12_fa$fa.out")"; fi
done

FIX="$PY dev/test/make_fixtures.py"
$FIX model "$TMP/tiny.bin" --L 2 --NH 2 --C 64 --maxT 64 > /dev/null && $FIX tokenizer "$TMP/tok.bin" > /dev/null &&
$FIX shard "$TMP/x_train_000000.bin" 3000 --seed 1 > /dev/null && $FIX shard "$TMP/x_val_000000.bin" 1000 --seed 2 > /dev/null ||
    { fail fixtures; test_end; }
TINY=(--L 2 --C 64 --NH 2 --maxT 64 --B 2 --T 32)
FLAGS=(-e "$TMP/tiny.bin" -i "$TMP/x_train_*.bin" -j "$TMP/x_val_*.bin" -tok "$TMP/tok.bin" -b 2 -t 32)
# prof_names NAME ROOFLINE_ARGS -- TRAINER_ARGS: the -prof rows (name, calls) == roofline.py --names
prof_names() {
    local name=$1; shift
    local rargs=() targs=()
    while [ "$1" != -- ]; do rargs+=("$1"); shift; done; shift
    targs=("$@")
    if ! timeout 300 "$E" "${FLAGS[@]}" -x 2 -v 0 -s 0 -prof 1 "${targs[@]}" > "$TMP/$name.out" 2> "$TMP/$name.err"; then
        fail "$name" "trainer: $(tail -n 1 "$TMP/$name.err")"; return
    fi
    sed -n 's/^prof  \([a-z_0-9]*\) *\([0-9]*\) .*/\1 \2/p' "$TMP/$name.out" | sort > "$TMP/$name.prof"
    "${RL[@]}" --names "${TINY[@]}" "${rargs[@]}" | sort > "$TMP/$name.model"
    if [ -s "$TMP/$name.prof" ] && cmp -s "$TMP/$name.prof" "$TMP/$name.model"; then
        pass "$name" "$(wc -l < "$TMP/$name.prof") -prof rows = roofline.py's names and marks per step (${targs[*]:-defaults})"
    else
        fail "$name" "$(diff "$TMP/$name.prof" "$TMP/$name.model" | grep '^[<>]' | head -n 4 | tr '\n' ' ')(< trainer, > roofline.py)"
    fi
}
prof_names prof_names_fa1 --fa 1 -- -fa 1
prof_names prof_names_fa0 --fa 0 -- -fa 0
prof_names prof_names_r0_ge1 --recompute 0 --gelu-fusion 1 -- -r 0 -ge 1
# roofline.py --measured reads the -prof table
if "${RL[@]}" "${TINY[@]}" --fa 1 --measured "$TMP/prof_names_fa1.out" > "$TMP/measured.txt" 2>&1 &&
   grep -q '^predicted step' "$TMP/measured.txt" && ! grep -q '(none)\|^names:' "$TMP/measured.txt"; then
    pass roofline_measured "roofline.py --measured: every name has a measured column ($(wc -l < "$TMP/prof_names_fa1.model") names)"
else
    fail roofline_measured "$(grep -m1 -E '\(none\)|^names:|Error' "$TMP/measured.txt")"
fi

# memory and allocations over a run with validation and sampling between the steps
if timeout 300 "$E" "${FLAGS[@]}" -x 4 -v 2 -m 2 -s 2 -g 4 > "$TMP/run.out" 2> "$TMP/run.err"; then
    line=$(grep '^median step' "$TMP/run.out")
    peak=$(sed -n 's/.*peak in use \([0-9.]*\) MiB.*/\1/p' <<< "$line")
    alloc=$(sed -n 's/.*allocated \([0-9.]*\) MiB.*/\1/p' <<< "$line")
    pred=$(sed -n 's/.*predicted \([0-9.]*\) MiB.*/\1/p' <<< "$line")
    model=$("${RL[@]}" --summary "${TINY[@]}" --fa 1 | sed -n 's/.*memory_mib=\([0-9.]*\).*/\1/p')
    if [ -n "$pred" ] && [ "$peak" = "$pred" ] && [ "$alloc" = "$pred" ] && [ "$model" = "$pred" ]; then
        pass roofline_memory_tiny "measured peak $peak MiB = allocated $alloc = predicted $pred = roofline.py $model (emulator: device memory is only the trainer's)"
    else
        fail roofline_memory_tiny "peak '$peak' allocated '$alloc' predicted '$pred' roofline.py '$model' MiB"
    fi
    if [[ "$line" == *"after step 1: +0.0 MiB in use, 0 device allocations"* ]] && grep -q '^generating' "$TMP/run.out" &&
       grep -q '^step 2: val loss' "$TMP/run.out"; then
        pass step_loop_no_allocations "steps 2-4 with validation and sampling in between: 0 cudaMalloc calls, +0.0 MiB in use"
    else
        fail step_loop_no_allocations "${line:-no summary line}"
    fi
else
    fail roofline_memory_tiny "trainer: $(tail -n 1 "$TMP/run.err")"
fi
test_end
