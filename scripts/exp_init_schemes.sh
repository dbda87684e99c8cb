#!/usr/bin/env bash
# Init schemes: trains d6 from the same seed with each -init scheme (nanogpt, pytorch,
# xavier-uniform, kaiming-uniform, xavier-normal, kaiming-normal, the LLM codebases' small-init,
# neox, megatron, olmo-mitchell, fan-in-trunc, zero-out, and mup with its default base width 256)
# on the default Moby Dick shards, every other flag the same. Each run goes to OUT/<scheme>/
# (cmd.txt, train.out, main.log; checkpoints are deleted unless KEEP_CKPT=1). Before training,
# -init-report 1 writes each scheme's initial weights to OUT/init/<scheme>/model_00000000.bin (and
# report.txt), and scripts/init_hist.py overlays their histograms in OUT/init_hist.png;
# -init-probe 1 writes each scheme's signal propagation at init to OUT/probe/<scheme>/init_probe.tsv,
# and scripts/init_probe_plot.py draws the depth profiles in OUT/init_probe.png (its table goes to
# OUT/init_probe.md). Then scripts/plot_losses.py writes OUT/results.md (also printed) and
# OUT/losses.png.
# Cost: about 13 x STEPS x 0.2 s on 2 idle cores (300 steps: ~15 min).
# Usage: scripts/exp_init_schemes.sh [STEPS=300]
#   env: OUT=out/exp_init THREADS=2 MODEL=d6 SEED=42 SCHEMES="nanogpt pytorch ..."
#        KEEP_CKPT=0 PLOT_ONLY=0 (1: just redo the histograms, table and plot)
set -uo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-${STEPS:-300}}
OUT=${OUT:-out/exp_init}
THREADS=${THREADS:-2}
MODEL=${MODEL:-d6}
SEED=${SEED:-42}
SCHEMES=${SCHEMES:-nanogpt pytorch xavier-uniform kaiming-uniform xavier-normal kaiming-normal small-init neox megatron olmo-mitchell fan-in-trunc zero-out mup}
PY=/usr/bin/python3
COMMON=(-e "$MODEL" -b 4 -t 64 -l 6e-4 -u 30 -k cosine -q 0.1 -c 0.1 -v 50 -m 20 -s 0
        -shuffle 2 -seed "$SEED" -x "$STEPS")
# Spinning OpenMP barriers stall when another job holds a core; the wait policy changes timing only.
export OMP_NUM_THREADS=$THREADS OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

if [ "${PLOT_ONLY:-0}" != 1 ]; then
    ls data/mobydick/mobydick_train_*.bin >/dev/null 2>&1 || { echo "exp_init: no shards (run 'make data')"; exit 1; }
    make -s train_gpt2 >/dev/null || { echo "exp_init: build failed"; exit 1; }
    for s in $SCHEMES; do  # initial weights only: seconds each
        d=$OUT/init/$s
        rm -rf "$d" && mkdir -p "$d"
        ./train_gpt2 -e "$MODEL" -seed "$SEED" -init "$s" -init-report 1 -o "$d" > "$d/report.txt" 2>&1 ||
            { echo "exp_init: -init-report for $s failed:"; tail -n 5 "$d/report.txt"; exit 1; }
        d=$OUT/probe/$s  # one forward and backward on the first batch of the run below
        rm -rf "$d" && mkdir -p "$d"
        ./train_gpt2 "${COMMON[@]}" -init "$s" -init-probe 1 -o "$d" > "$d/probe.txt" 2>&1 ||
            { echo "exp_init: -init-probe for $s failed:"; tail -n 5 "$d/probe.txt"; exit 1; }
    done
    for s in $SCHEMES; do
        d=$OUT/$s
        rm -rf "$d" && mkdir -p "$d"
        echo "-init $s" > "$d/config.txt"
        echo "./train_gpt2 ${COMMON[*]} -init $s -o $d" > "$d/cmd.txt"
        echo "exp_init: $s, $STEPS steps -> $d"
        if ! ./train_gpt2 "${COMMON[@]}" -init "$s" -o "$d" > "$d/train.out" 2>&1; then
            echo "exp_init: run $s failed:"; tail -n 5 "$d/train.out"; exit 1
        fi
        grep -E '^median step' "$d/train.out"
        [ "${KEEP_CKPT:-0}" = 1 ] || rm -f "$d"/model_*.bin "$d"/state_*.bin
    done
fi
ckpts=(); dirs=(); probes=()
for s in $SCHEMES; do ckpts+=("$OUT/init/$s/model_00000000.bin"); dirs+=("$OUT/$s"); probes+=("$OUT/probe/$s/init_probe.tsv"); done
$PY scripts/init_probe_plot.py "${probes[@]}" --labels $SCHEMES -o "$OUT/init_probe.png" \
    --title "$MODEL at init by -init scheme (seed $SEED, first batch)" > "$OUT/init_probe.md" || exit 1
cat "$OUT/init_probe.md"
$PY scripts/init_hist.py "${ckpts[@]}" --labels $SCHEMES -o "$OUT/init_hist.png" \
    --title "$MODEL initial weights by -init scheme (seed $SEED)" || exit 1
$PY scripts/plot_losses.py --out "$OUT" \
    --title "$MODEL init schemes, seed $SEED, $STEPS steps, B=4 T=64, $THREADS threads" "${dirs[@]}"
