#!/usr/bin/env bash
# The CPU trainer against our PyTorch reference (dev/gpt2_ref.py, Debian python3-torch):
#  - tied and untied lm_head: init, logits, loss, every gradient, 10 AdamW steps
#    (L=2 C=64 NH=4 V=50257 B=4 T=64)
#  - every init scheme against torch.manual_seed + torch.nn.init, for several seeds
set -u
cd "$(dirname "$0")/../.."
PY=${PYTHON:-/usr/bin/python3}
tmp=dev/test/tmp/parity
mkdir -p "$tmp"
if ! "$PY" -c "import torch" 2>/dev/null; then
    echo "FAIL pytorch_available: $PY cannot import torch (apt-get install python3-torch)"
    exit 1
fi
"$PY" dev/gpt2_ref.py --selfcheck || exit 1
failed=0
for tie in tied untied; do
    dir=$tmp/$tie
    untied=$([ $tie = untied ] && echo 1 || echo 0)
    if ! "$PY" dev/gpt2_ref.py --out "$dir" --seed 1337 --untied "$untied" > "$tmp/gen_$tie.log" 2>&1; then
        cat "$tmp/gen_$tie.log"; echo "FAIL reference_generation_$tie"; failed=1; continue
    fi
    ./test_gpt2 "$dir" 1337 | sed "s/^\(PASS\|FAIL\) /\1 ${tie}_/" ; [ "${PIPESTATUS[0]}" -eq 0 ] || failed=1
done

schemes=nanogpt,pytorch,xavier-uniform,xavier-normal,kaiming-uniform,kaiming-normal,uniform:0.05,normal:0.01
"$PY" dev/gpt2_ref.py --out "$tmp/init" --init-only --init "$schemes" --seeds 42,7 > "$tmp/init.log" 2>&1 \
    || { cat "$tmp/init.log"; echo "FAIL reference_init_generation"; exit 1; }
"$PY" dev/gpt2_ref.py --out "$tmp/init_untied" --init-only --init nanogpt,pytorch,xavier-uniform --seeds 3 --untied 1 \
    > "$tmp/init_untied.log" 2>&1 || { cat "$tmp/init_untied.log"; echo "FAIL reference_init_generation_untied"; exit 1; }
for scheme in ${schemes//,/ }; do
    for seed in 42 7; do
        ./test_gpt2 --init "$tmp/init/init_${scheme/:/_}_$seed.bin" "$scheme" $seed || failed=1
    done
done
for scheme in nanogpt pytorch xavier-uniform; do
    ./test_gpt2 --init "$tmp/init_untied/init_${scheme}_3.bin" "$scheme" 3 || failed=1
done
exit $failed
