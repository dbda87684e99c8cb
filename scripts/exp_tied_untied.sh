#!/usr/bin/env bash
# Tied vs untied lm_head: trains d6 twice from the same seed on the default Moby Dick shards,
# once with the lm_head tied to wte (-tie 1, llm.c's layout) and once with its own (Vp, C)
# weights (-tie 0, +19.3M parameters); every other flag is the same. Each run goes to
# OUT/<name>/ (cmd.txt, train.out, main.log; checkpoints are deleted unless KEEP_CKPT=1).
# Then scripts/plot_losses.py writes OUT/results.md (also printed) and OUT/losses.png.
# Cost: about 2 x STEPS x 0.2 s on 2 idle cores (300 steps: ~2.5 min).
# Usage: scripts/exp_tied_untied.sh [STEPS=300]
#   env: OUT=out/exp_tie THREADS=2 MODEL=d6 SEED=42 KEEP_CKPT=0 PLOT_ONLY=0 (1: just redo the table/plot)
set -uo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-${STEPS:-300}}
OUT=${OUT:-out/exp_tie}
THREADS=${THREADS:-2}
MODEL=${MODEL:-d6}
SEED=${SEED:-42}
PY=/usr/bin/python3
COMMON=(-e "$MODEL" -b 4 -t 64 -l 6e-4 -u 30 -k cosine -q 0.1 -c 0.1 -v 50 -m 20 -s 0
        -shuffle 2 -seed "$SEED" -x "$STEPS")
# Spinning OpenMP barriers stall when another job holds a core; the wait policy changes timing only.
export OMP_NUM_THREADS=$THREADS OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

# run NAME FLAGS...: one training run into $OUT/NAME; the FLAGS that differ go to config.txt
run() {
    local name=$1; shift
    local dir=$OUT/$name
    rm -rf "$dir" && mkdir -p "$dir"
    echo "$*" > "$dir/config.txt"
    echo "./train_gpt2 ${COMMON[*]} $* -o $dir" > "$dir/cmd.txt"
    echo "exp_tie: $name ($*), $STEPS steps -> $dir"
    if ! ./train_gpt2 "${COMMON[@]}" "$@" -o "$dir" > "$dir/train.out" 2>&1; then
        echo "exp_tie: run $name failed:"; tail -n 5 "$dir/train.out"; exit 1
    fi
    grep -E '^median step' "$dir/train.out"
    [ "${KEEP_CKPT:-0}" = 1 ] || rm -f "$dir"/model_*.bin "$dir"/state_*.bin
}

if [ "${PLOT_ONLY:-0}" != 1 ]; then
    ls data/mobydick/mobydick_train_*.bin >/dev/null 2>&1 || { echo "exp_tie: no shards (run 'make data')"; exit 1; }
    make -s train_gpt2 >/dev/null || { echo "exp_tie: build failed"; exit 1; }
    run tied   -tie 1
    run untied -tie 0
fi
$PY scripts/plot_losses.py --out "$OUT" \
    --title "$MODEL tied vs untied lm_head, seed $SEED, $STEPS steps, B=4 T=64, $THREADS threads" \
    "$OUT/tied" "$OUT/untied"
