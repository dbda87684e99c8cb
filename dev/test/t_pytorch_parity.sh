#!/usr/bin/env bash
# The CPU trainer against our PyTorch reference (dev/gpt2_ref.py, Debian python3-torch):
#  - tied and untied lm_head: init, logits, loss, every gradient, 10 AdamW steps
#    (L=2 C=64 NH=4 V=50257 B=4 T=64)
#  - muP (-init mup; base width 32 tied, 128 untied, so C0/C = 0.5 and 2): the same, with its
#    readout multiplier, 1/hs attention and per-tensor AdamW lr; and the same run with the muP
#    field cleared from the header must fail (the rules are really exercised)
#  - -init-probe against dev/gpt2_ref.py --probe (tied, untied, olmo-mitchell, muP), and
#    -probe-every's rows against -init-probe on the same weights
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

for tie in tied untied; do
    dir=$tmp/mup_$tie
    untied=$([ $tie = untied ] && echo 1 || echo 0)
    base=$([ $tie = untied ] && echo 128 || echo 32)
    if ! "$PY" dev/gpt2_ref.py --out "$dir" --seed 1337 --untied "$untied" --init mup --mup-base $base > "$tmp/gen_mup_$tie.log" 2>&1; then
        cat "$tmp/gen_mup_$tie.log"; echo "FAIL reference_generation_mup_$tie"; failed=1; continue
    fi
    "$BIN"/test_gpt2 "$dir" | sed "s/^\(PASS\|FAIL\) /\1 mup${base}_${tie}_/" ; [ "${PIPESTATUS[0]}" -eq 0 ] || failed=1
done
# negative control: the muP reference with header[9] = 0 (the standard parametrization) must not match
if [ -f "$tmp/mup_untied/ref_model.bin" ]; then
    mkdir -p "$tmp/mup_sp"
    cp "$tmp/mup_untied/ref_debug_state.bin" "$tmp/mup_sp/"
    "$PY" -c "
import sys; b = bytearray(open(sys.argv[1], 'rb').read()); b[36:40] = bytes(4); open(sys.argv[2], 'wb').write(b)" \
        "$tmp/mup_untied/ref_model.bin" "$tmp/mup_sp/ref_model.bin"
    if "$BIN"/test_gpt2 "$tmp/mup_sp" > "$tmp/mup_sp.log" 2>&1; then
        echo "FAIL mup_rules_matter the muP reference matched with the muP field cleared"; failed=1
    else
        echo "PASS mup_rules_matter without header[9] $(grep -c '^FAIL' "$tmp/mup_sp.log") of the muP reference's checks fail ($(grep -m1 -o '^FAIL [a-z_0-9]*' "$tmp/mup_sp.log"))"
    fi
fi

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

# -init-probe (llmc/train/init_probe.h) against dev/gpt2_ref.py --probe (hooks + autograd) on the same
# weights and batch: tied and untied reference models, and an olmo-mitchell d4 from scratch (its
# std changes with depth). Also the probe's own forward loss against the trainer's.
# Tolerances (relative to the reference value):
#   1e-5  RMS, std, entropy, loss, grad norm: fp32 values, sums in double on both sides
#   1e-3  update_ratio: g / (|g| + eps) amplifies the fp32 differences of gradients near eps
#   1e-4  absolute, gelu_below_-3: a pre-activation within rounding of -3 may flip
probe_case() {  # probe_case NAME MODEL
    local name=$1 model=$2 d=$tmp/probe_$1
    mkdir -p "$d"
    if ! "$BIN"/train_gpt2 -e "$model" -init-probe 1 -i "$x/p_train_*.bin" -shuffle 0 -b 4 -t 64 -l 3e-4 -u 0 -q 0.1 -o "$d/run" \
            > "$d/ours.log" 2>&1 ||
       ! "$PY" dev/gpt2_ref.py --probe --load "$model" --shard "$x/p_train_000000.bin" --B 4 --T 64 --probe-lr 3e-4 --probe-wd 0.1 \
            > "$d/ref.tsv" 2> "$d/ref.err"; then
        echo "FAIL init_probe_$name: a run failed: $(tail -n 1 "$d/ours.log" "$d/ref.err" | tr '\n' '|')"; failed=1; return
    fi
    r=$("$PY" - "$d/run/init_probe.tsv" "$d/ref.tsv" "$d/ours.log" <<'PYEOF'
import math, re, sys
rd = lambda f: {tuple(l.split("\t")[:3]): float(l.split("\t")[3]) for l in open(f).read().splitlines()[1:]}
ours, ref = rd(sys.argv[1]), rd(sys.argv[2])
bad, worst = [], (0.0, None)
if set(ours) != set(ref) or len(ref) < 20:
    bad.append(f"rows differ: {sorted(set(ours) ^ set(ref))[:4]} ({len(ours)} vs {len(ref)} rows)")
for k in set(ours) & set(ref):
    a, b = ours[k], ref[k]
    if k[2] == "gelu_below_-3":
        ok, err = abs(a - b) <= 1e-4, abs(a - b)
    else:
        tol = 1e-3 if k[2] == "update_ratio" else 1e-5
        err = 0.0 if a == b else abs(a - b) / abs(b) if b != 0 and math.isfinite(b) else math.inf
        ok = err <= tol
        if ok and err > worst[0]: worst = (err, "/".join(k))
    if not ok: bad.append(f"{'/'.join(k)} ours {a:.9g} torch {b:.9g}")
m = re.search(r"trainer loss on the batch ([\d.]+) \(probe ([\d.]+)\)", open(sys.argv[3]).read())
if not m or abs(float(m.group(1)) - float(m.group(2))) > 1e-5 * float(m.group(1)):
    bad.append(f"probe loss vs trainer loss: {m.groups() if m else 'no line'}")
nb = sum(1 for k in ref if k[0] == "block")
print(("bad " + "; ".join(bad[:3])) if bad else
      f"ok {len(ref)} values ({nb} per-block) match torch; worst {worst[0]:.1e} relative ({worst[1]}); loss {ref[('model', '-', 'loss')]:.6f} = trainer's")
PYEOF
)
    case "$r" in ok*) echo "PASS init_probe_$name ${r#ok }";; *) echo "FAIL init_probe_$name $r"; failed=1;; esac
}
probe_case tied "$tmp/tied/ref_model.bin"
probe_case untied "$tmp/untied/ref_model.bin"
"$BIN"/train_gpt2 -e L4:C128:NH2:T64 -init olmo-mitchell -seed 3 -init-report 1 -o "$tmp/probe_olmo_init" > /dev/null 2>&1 \
    && probe_case olmo_mitchell_d4 "$tmp/probe_olmo_init/model_00000000.bin" \
    || { echo "FAIL init_probe_olmo_mitchell_d4: no init checkpoint"; failed=1; }
# muP from scratch (C0/C = 2, untied; the checkpoint's header carries the base width to the reference)
"$BIN"/train_gpt2 -e L3:C64:NH4:T64 -init mup -mup-base 128 -tie 0 -seed 5 -init-report 1 -o "$tmp/probe_mup_init" > /dev/null 2>&1 \
    && probe_case mup_untied "$tmp/probe_mup_init/model_00000000.bin" \
    || { echo "FAIL init_probe_mup_untied: no init checkpoint"; failed=1; }
# -probe-every: its step-0 rows are -init-probe's on the same weights and batch, and its step-3 rows
# are -init-probe's on the step-3 checkpoint of the same run (the weights after 3 updates)
pe=$tmp/probe_every
if "$BIN"/train_gpt2 -e "$tmp/probe_mup_init/model_00000000.bin" -i "$x/p_train_*.bin" -shuffle 0 -b 4 -t 64 -x 3 -l 1e-3 -v 0 -s 0 \
        -probe-every 3 -o "$pe/run" > "$pe.log" 2>&1 &&
   "$BIN"/train_gpt2 -e "$pe/run/model_00000003.bin" -init-probe 1 -i "$x/p_train_*.bin" -shuffle 0 -b 4 -t 64 -o "$pe/at3" > "$pe.at3.log" 2>&1; then
    r=$("$PY" - "$pe/run/probe_steps.tsv" "$tmp/probe_mup_untied/run/init_probe.tsv" "$pe/at3/init_probe.tsv" <<'PYEOF'
import sys
steps = {}
for l in open(sys.argv[1]).read().splitlines()[1:]:
    s, k, i, m, v = l.split("\t")
    steps.setdefault(int(s), {})[(k, i, m)] = float(v)
bad, n = [], 0
for s, path in ((0, sys.argv[2]), (3, sys.argv[3])):
    probe = {tuple(l.split("\t")[:3]): float(l.split("\t")[3]) for l in open(path).read().splitlines()[1:]}
    got = steps.get(s, {})
    if len(got) < 10: bad.append(f"step {s}: {len(got)} rows")
    for key, v in got.items():
        n += 1
        if key not in probe or probe[key] != v: bad.append(f"step {s} {'/'.join(key)}: {v} vs {probe.get(key)}")
if sorted(steps) != [0, 3]: bad.append(f"steps {sorted(steps)} (want 0 and 3)")
print(("bad " + "; ".join(bad[:3])) if bad else f"ok {n} values at steps 0 and 3 equal -init-probe's on the same weights")
PYEOF
)
    case "$r" in ok*) echo "PASS probe_every_matches_init_probe ${r#ok }";; *) echo "FAIL probe_every_matches_init_probe $r"; failed=1;; esac
else
    echo "FAIL probe_every_matches_init_probe: a run failed: $(tail -n 1 "$pe.log" "$pe.at3.log" | tr '\n' '|')"; failed=1
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
# muP's draws: base 32 (C0/C = 0.5) tied, seeds 42 and 7; base 512 (C0/C = 8) untied with zero query
"$PY" dev/gpt2_ref.py --out "$tmp/init_mup" --init-only --init mup --mup-base 32 --seeds 42,7 > "$tmp/init_mup.log" 2>&1 &&
"$PY" dev/gpt2_ref.py --out "$tmp/init_mup_zq" --init-only --init mup --mup-base 512 --mup-zero-q 1 --untied 1 --seeds 3 \
    >> "$tmp/init_mup.log" 2>&1 || { cat "$tmp/init_mup.log"; echo "FAIL reference_init_generation_mup"; exit 1; }
for seed in 42 7; do
    "$BIN"/test_gpt2 --init "$tmp/init_mup/init_mup_$seed.bin" mup $seed | sed "s/^\(PASS\|FAIL\) init_mup_/\1 init_mup32_/"
    [ "${PIPESTATUS[0]}" -eq 0 ] || failed=1
done
"$BIN"/test_gpt2 --init "$tmp/init_mup_zq/ref_model.bin" mup-zq 3 | sed "s/^\(PASS\|FAIL\) init_mup-zq_/\1 init_mup512-zq_/"
[ "${PIPESTATUS[0]}" -eq 0 ] || failed=1
test_end
