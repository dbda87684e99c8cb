#!/usr/bin/env bash
# The CPU trainer against our PyTorch reference (dev/gpt2_ref.py, Debian python3-torch):
#  - tied and untied lm_head: init, logits, loss, every gradient, 10 AdamW steps
#    (L=2 C=64 NH=4 V=50257 B=4 T=64)
#  - every init scheme against torch.manual_seed + torch.nn.init, for several seeds
set -u
source "$(dirname "$0")/lib.sh"
test_begin parity
tmp=$TMP
if ! "$PY" -c "import torch" 2>/dev/null; then
    echo "FAIL pytorch_available: $PY cannot import torch (apt-get install python3-torch)"
    exit 1
fi
"$PY" dev/gpt2_ref.py --selfcheck || exit 1
for tie in tied untied; do
    dir=$tmp/$tie
    untied=$([ $tie = untied ] && echo 1 || echo 0)
    if ! "$PY" dev/gpt2_ref.py --out "$dir" --seed 1337 --untied "$untied" > "$tmp/gen_$tie.log" 2>&1; then
        cat "$tmp/gen_$tie.log"; echo "FAIL reference_generation_$tie"; failed=1; continue
    fi
    "$BIN"/test_gpt2 "$dir" 1337 | sed "s/^\(PASS\|FAIL\) /\1 ${tie}_/" ; [ "${PIPESTATUS[0]}" -eq 0 ] || failed=1
done

# our checkpoints in PyTorch: 3 of our training steps from the reference's weights write
# model_00000003.bin; dev/gpt2_ref.py loads it and computes the loss and grad norm of one batch,
# which must equal ours on the same weights and batch
x=$tmp/ckpt_x
mkdir -p "$x"
"$PY" dev/test/make_fixtures.py shard "$x/p_train_000000.bin" 2000 --seed 9 && \
"$PY" dev/test/make_fixtures.py shard "$x/batch_train_000000.bin" 257 --seed 10 || { echo "FAIL ckpt_fixtures"; exit 1; }
if "$BIN"/train_gpt2 -e "$tmp/tied/ref_model.bin" -i "$x/p_train_*.bin" -shuffle 0 -x 3 -l 1e-3 -c 0.1 -v 0 -s 0 -o "$x/run" > "$x/ours_train.log" 2>&1 &&
   "$BIN"/train_gpt2 -e "$x/run/model_00000003.bin" -i "$x/batch_train_*.bin" -shuffle 0 -x 1 -l 0 -v 0 -s 0 > "$x/ours_eval.log" 2>&1 &&
   "$PY" dev/gpt2_ref.py --out "$x/ref" --load "$x/run/model_00000003.bin" --shard "$x/batch_train_000000.bin" --steps 1 > "$x/ref.log" 2>&1; then
    r=$("$PY" - "$x/ours_eval.log" "$x/ref/ref_debug_state.bin" <<'PYEOF'
import re, sys
import numpy as np
loss, norm = map(float, re.search(r"loss ([\d.]+) \| norm ([\d.]+)", open(sys.argv[1]).read()).groups())
f = open(sys.argv[2], "rb").read()
h = np.frombuffer(f[:1024], np.int32)
B, T, V = int(h[2]), int(h[3]), int(h[5])
off = 1024 + 64 + 8 * B * T + 4 * B * T * V
ref_loss = float(np.frombuffer(f[off:off + 4], np.float32)[0])
g = np.frombuffer(f[off + 4:off + 4 + 4 * ((len(f) - off - 4 - 12) // 8)], np.float32).astype(np.float64)
ref_norm = float(np.sqrt((g * g).sum()))
dl, dn = abs(loss - ref_loss) / ref_loss, abs(norm - ref_norm) / ref_norm
ok = dl < 1e-5 and dn < 1e-4  # printed to 6 and 4 decimals
print(f"{'ok' if ok else 'bad'} loss ours {loss:.6f} torch {ref_loss:.6f} (rel {dl:.1e}), grad norm ours {norm:.4f} torch {ref_norm:.4f} (rel {dn:.1e})")
PYEOF
)
    case "$r" in ok*) echo "PASS checkpoint_loads_in_pytorch ${r#ok }";; *) echo "FAIL checkpoint_loads_in_pytorch $r"; failed=1;; esac
else
    echo "FAIL checkpoint_loads_in_pytorch: a run failed (see $x/*.log)"; failed=1
fi

schemes=nanogpt,pytorch,xavier-uniform,xavier-normal,kaiming-uniform,kaiming-normal,uniform:0.05,normal:0.01
schemes+=,small-init,neox,megatron,olmo-mitchell,fan-in-trunc,zero-out  # the LLM codebases' schemes
"$PY" dev/gpt2_ref.py --out "$tmp/init" --init-only --init "$schemes" --seeds 42,7 > "$tmp/init.log" 2>&1 \
    || { cat "$tmp/init.log"; echo "FAIL reference_init_generation"; exit 1; }
untied_schemes="nanogpt pytorch xavier-uniform megatron olmo-mitchell fan-in-trunc neox"
"$PY" dev/gpt2_ref.py --out "$tmp/init_untied" --init-only --init "${untied_schemes// /,}" --seeds 3 --untied 1 \
    > "$tmp/init_untied.log" 2>&1 || { cat "$tmp/init_untied.log"; echo "FAIL reference_init_generation_untied"; exit 1; }
for scheme in ${schemes//,/ }; do
    for seed in 42 7; do
        "$BIN"/test_gpt2 --init "$tmp/init/init_${scheme/:/_}_$seed.bin" "$scheme" $seed || failed=1
    done
done
for scheme in $untied_schemes; do
    "$BIN"/test_gpt2 --init "$tmp/init_untied/init_${scheme}_3.bin" "$scheme" 3 || failed=1
done
test_end
