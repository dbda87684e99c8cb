#!/usr/bin/env bash
# muP coordinate check: trains L=4 models of widths C = 128, 256, 512, 1024 (NH = C/64) for a few
# AdamW steps from the same seed and batch order, once in the standard parametrization (-init
# nanogpt) and once with -init mup, and records -probe-every 1's forward statistics on one fixed
# batch after every step: the RMS of each block's output (the residual stream), of its attention
# and MLP branches, and the std of the logits. scripts/coord_check_plot.py then draws them against
# width, one panel per step and one row per parametrization, and tabulates the growth from the
# narrowest to the widest model and the slope of log2 RMS against log2 C. Under muP the curves stay
# flat in width (slope ~ 0); under the standard parametrization they grow once training starts,
# because Adam's per-coordinate step moves a wider hidden layer's output further and the readout
# is not scaled down.
# Output: OUT/runs/{sp,mup}_C<C>/ (train.out, probe_steps.tsv), OUT/coord_check.png,
# OUT/coord_check.tsv (every value), OUT/coord_check.md (the table, also printed).
# Cost on 2 idle cores: about 5 minutes (the C=1024 runs, 100M parameters, are most of it). The
# runs write no checkpoints (-n -1).
# Usage: scripts/coord_check.sh
#   env: OUT=out/coord_check WIDTHS="128 256 512 1024" LAYERS=4 HEAD=64 STEPS=5 LR=1e-2 B=4 T=64
#        BASE=256 (muP's -mup-base) SEED=42 THREADS=2 TRAIN="data/mobydick/mobydick_train_*.bin"
#        PLOT_ONLY=0 (1: only redo the plot and table from OUT/runs)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out/coord_check}
WIDTHS=${WIDTHS:-128 256 512 1024}
LAYERS=${LAYERS:-4}
HEAD=${HEAD:-64}
STEPS=${STEPS:-5}
LR=${LR:-1e-2}
B=${B:-4}
T=${T:-64}
BASE=${BASE:-256}
SEED=${SEED:-42}
THREADS=${THREADS:-2}
TRAIN=${TRAIN:-data/mobydick/mobydick_train_*.bin}
PY=/usr/bin/python3
export OMP_NUM_THREADS=$THREADS OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

if [ "${PLOT_ONLY:-0}" != 1 ]; then
    ls $TRAIN >/dev/null 2>&1 || { echo "coord_check: no train shards match $TRAIN (run 'make data')"; exit 1; }
    make -s train_gpt2 >/dev/null || { echo "coord_check: build failed"; exit 1; }
    for C in $WIDTHS; do
        [ $((C % HEAD)) -eq 0 ] || { echo "coord_check: width $C is not a multiple of the head size $HEAD"; exit 1; }
    done
    for param in sp mup; do
        for C in $WIDTHS; do
            d=$OUT/runs/${param}_C$C
            rm -rf "$d" && mkdir -p "$d"
            init=(-init nanogpt)
            [ $param = mup ] && init=(-init mup -mup-base "$BASE")
            # constant lr, no warmup, no clipping, no weight decay: the parametrization alone differs
            cmd=(./train_gpt2 -e "L$LAYERS:C$C:NH$((C / HEAD)):T$T" "${init[@]}" -seed "$SEED" -i "$TRAIN" -shuffle 0
                 -b "$B" -t "$T" -x "$STEPS" -l "$LR" -u 0 -k constant -gc 0 -c 0 -v 0 -s 0 -n -1 -probe-every 1 -o "$d")
            echo "${cmd[*]}" > "$d/cmd.txt"
            printf 'coord_check: %-3s C=%-5s' "$param" "$C"
            if ! "${cmd[@]}" > "$d/train.out" 2>&1; then
                echo; echo "coord_check: run failed:"; tail -n 5 "$d/train.out"; exit 1
            fi
            grep -E '^probe step' "$d/train.out" | tail -n 1 | sed 's/^/ /'
        done
    done
fi
$PY scripts/coord_check_plot.py "$OUT/runs" --widths $WIDTHS --steps "$STEPS" -o "$OUT/coord_check.png" \
    --tsv "$OUT/coord_check.tsv" --title "coordinate check: L=$LAYERS, head $HEAD, lr $LR, B=$B T=$T, muP base $BASE" \
    > "$OUT/coord_check.md" || exit 1
cat "$OUT/coord_check.md"
