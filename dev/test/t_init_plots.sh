#!/usr/bin/env bash
# The experiment scripts' Python back ends: scripts/plot_losses.py (table numbers from main.log
# lines, PNG) and scripts/init_hist.py (histogram grid of tied, untied and bf16 checkpoints,
# overlay, rejection of a truncated file), scripts/init_probe_plot.py, and scripts/coord_check.sh
# with scripts/coord_check_plot.py at toy widths. Tiny inputs only: seconds.
# The table check needs only python3; the PNG checks print SKIP when python3-matplotlib is missing.
# One line per check: "PASS name", "FAIL name ...", or "SKIP name why"; exits non-zero on a FAIL.
set -u
source "$(dirname "$0")/lib.sh"
test_begin t_init_plots

# Two synthetic runs: train loss 10 - s/10 for s = 0..39 (mean of the last 20 = 10 - 29.5/10 = 7.05),
# ms 100 + s (median over s = 1..39 = 120), val at 0/20/40; run b is 1 nat higher everywhere.
for r in a b; do
    mkdir -p "$TMP/$r"
    off=$([ $r = a ] && echo 0 || echo 1)
    awk -v o=$off 'BEGIN { for (s = 0; s < 40; s++) { if (s % 20 == 0) printf "s:%d tel:%f\n", s, 11 + o - s / 10;
                                                     printf "s:%d trl:%f norm:1.0 lr:1e-4 ms:%f\n", s, 10 + o - s / 10, 100 + s }
                           printf "s:40 tel:%f\n", 7 + o }' > "$TMP/$r/main.log"
    echo "-flag $r" > "$TMP/$r/config.txt"
    echo "model: ..., 1234567 parameters (init nanogpt, 1 ms)" > "$TMP/$r/train.out"
done
if $PY scripts/plot_losses.py --no-plot --out "$TMP/tab" "$TMP/a" "$TMP/b" > "$TMP/tab.out" 2>&1 &&
   grep -qxF '| a | `-flag a` | 1.23M | 10.000 | 7.050 | 11.000 | 9.000 | 7.000 | 120.0 |' "$TMP/tab/results.md" &&
   grep -qxF '| b | `-flag b` | 1.23M | 11.000 | 8.050 | 12.000 | 10.000 | 8.000 | 120.0 |' "$TMP/tab/results.md"
then pass plot_losses_table
else fail plot_losses_table "$(tail -n 3 "$TMP/tab/results.md" "$TMP/tab.out" 2>/dev/null | tr '\n' '|')"; fi

if ! $PY -c 'import matplotlib, numpy' 2>/dev/null; then
    for c in plot_losses_png init_hist_single init_hist_overlay init_hist_truncated init_probe_plot coord_check; do
        echo "SKIP $c (python3-matplotlib or python3-numpy missing)"; done
    test_end
fi
is_png() { [ -s "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }

if $PY scripts/plot_losses.py --out "$TMP/plot" "$TMP/a" "$TMP/b" > "$TMP/plot.out" 2>&1 && is_png "$TMP/plot/losses.png"
then pass plot_losses_png; else fail plot_losses_png "$(tail -n 2 "$TMP/plot.out" | tr '\n' '|')"; fi

# A tied checkpoint as the trainer writes it (-init-report on a tiny loaded model), then an
# untied copy (header[8] = 1, lm_head appended) and a bf16 copy made here with numpy.
$PY dev/test/make_fixtures.py model "$TMP/tiny.bin" --L 2 --C 32 --bf16 "$TMP/tiny_bf16.bin" &&
OMP_NUM_THREADS=1 ./train_gpt2 -e "$TMP/tiny.bin" -init-report 1 -o "$TMP/rep" > "$TMP/rep.out" 2>&1 &&
$PY - "$TMP/rep/model_00000000.bin" "$TMP/untied.bin" <<'PYEOF' || fail fixtures
import sys, numpy as np
h = np.fromfile(sys.argv[1], dtype="<i4", count=256)
p = np.fromfile(sys.argv[1], dtype="<f4", offset=1024)
V, C, Vp = h[3], h[6], h[7]
head = np.random.default_rng(1).uniform(-0.1, 0.1, (Vp, C)).astype(np.float32)
head[V:] = 0
h[8] = 1
with open(sys.argv[2], "wb") as f:
    f.write(h.tobytes()); f.write(p.tobytes()); f.write(head.tobytes())
PYEOF
if $PY scripts/init_hist.py "$TMP/rep/model_00000000.bin" -o "$TMP/single.png" > "$TMP/single.out" 2>&1 &&
   is_png "$TMP/single.png"
then pass init_hist_single; else fail init_hist_single "$(tail -n 2 "$TMP/single.out" | tr '\n' '|')"; fi
if $PY scripts/init_hist.py "$TMP/rep/model_00000000.bin" "$TMP/untied.bin" "$TMP/tiny_bf16.bin" \
       --labels tied untied bf16 -o "$TMP/overlay.png" > "$TMP/overlay.out" 2>&1 && is_png "$TMP/overlay.png"
then pass init_hist_overlay; else fail init_hist_overlay "$(tail -n 2 "$TMP/overlay.out" | tr '\n' '|')"; fi
head -c 5000 "$TMP/tiny.bin" > "$TMP/trunc.bin"
if ! $PY scripts/init_hist.py "$TMP/trunc.bin" -o "$TMP/trunc.png" > "$TMP/trunc.out" 2>&1 &&
   grep -q "init_hist: .*trunc.bin: size" "$TMP/trunc.out" && [ ! -e "$TMP/trunc.png" ]
then pass init_hist_truncated; else fail init_hist_truncated "$(tail -n 2 "$TMP/trunc.out" | tr '\n' '|')"; fi

# scripts/init_probe_plot.py on the -init-probe runs of two schemes (L=2 C=32 from scratch): the
# table's numbers come from the files, and the PNG is written
$PY dev/test/make_fixtures.py shard "$TMP/pr_train_000000.bin" 600 --seed 4 || fail fixtures
for s in nanogpt megatron; do
    OMP_NUM_THREADS=1 ./train_gpt2 -e L2:C32:NH2:T32 -init $s -i "$TMP/pr_train_*.bin" -b 2 -t 32 -init-probe 1 -o "$TMP/probe_$s" \
        > "$TMP/probe_$s.out" 2>&1 || fail "init_probe_run_$s" "$(tail -n 1 "$TMP/probe_$s.out")"
done
loss=$(awk -F'\t' '$3 == "loss" { printf "%.4f", $4 }' "$TMP/probe_nanogpt/init_probe.tsv")
if $PY scripts/init_probe_plot.py "$TMP"/probe_{nanogpt,megatron}/init_probe.tsv --labels a b -o "$TMP/probe.png" > "$TMP/probe_plot.out" 2>&1 &&
   is_png "$TMP/probe.png" && [ -n "$loss" ] && grep -q "^| a | $loss | " "$TMP/probe_plot.out" && grep -q '^| b | ' "$TMP/probe_plot.out"
then pass init_probe_plot "table row 'a' has the file's loss $loss; PNG written"
else fail init_probe_plot "$(tail -n 3 "$TMP/probe_plot.out" | tr '\n' '|')"; fi

# scripts/coord_check.sh end to end at toy size (widths 32..128, head 16, L=2, 2 steps): the table
# has a row per parametrization and step, the tsv every value, the PNG is written; and at step 0
# (init alone, before any lr rule acts) the MLP branch's RMS grows ~C under the standard init
# (two width-C matmuls with fixed-std weights: slope 1) and is flat under muP's 1/fan_in variances
if OUT="$TMP/cc" WIDTHS="32 64 128" HEAD=16 LAYERS=2 STEPS=2 B=2 T=32 THREADS=1 TRAIN="$TMP/pr_train_*.bin" \
        bash scripts/coord_check.sh > "$TMP/cc.out" 2>&1 && is_png "$TMP/cc/coord_check.png"; then
    r=$($PY - "$TMP/cc/coord_check.tsv" "$TMP/cc/coord_check.md" <<'PYEOF'
import math, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()[1:]]
md = open(sys.argv[2]).read()
v = {(p, int(c), int(s), q): float(x) for p, c, s, q, x in rows}
want = 2 * 3 * 3 * (2 + 3)  # params x widths x steps 0..2 x (2 blocks + attn, mlp, logits)
def slope(p, q, s=0):
    xs, ys = [math.log2(c) for c in (32, 64, 128)], [math.log2(v[(p, c, s, q)]) for c in (32, 64, 128)]
    mx, my = sum(xs) / 3, sum(ys) / 3
    return sum((a - mx) * (b - my) for a, b in zip(xs, ys)) / sum((a - mx) ** 2 for a in xs)
sp, mup = slope("sp", "mlp branch (mean)"), slope("mup", "mlp branch (mean)")
table_rows = sum(1 for l in md.splitlines() if l.startswith("| standard") or l.startswith("| muP"))
ok = len(v) == want and table_rows == 6 and 0.8 < sp < 1.2 and abs(mup) < 0.2
print(f"{'ok' if ok else 'bad'} {len(v)}/{want} values, {table_rows}/6 table rows; step-0 MLP branch slope vs log2 C: standard {sp:+.2f} (want ~1), muP {mup:+.2f} (want ~0)")
PYEOF
)
    case "$r" in ok*) pass coord_check "${r#ok }";; *) fail coord_check "$r";; esac
else fail coord_check "$(tail -n 3 "$TMP/cc.out" | tr '\n' '|')"; fi
test_end
