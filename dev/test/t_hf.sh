#!/usr/bin/env bash
# Hugging Face interop (llmc/io/safetensors.h, llmc/io/hf_gpt2.h, convert_gpt2):
# - round trips ours -> model.safetensors -> ours are bit-identical (tied, untied, a custom shape
#   and vocab, trained weights, bf16 version 5 through BF16);
# - dev/hf_ref.py (its own safetensors parser, GPT2LMHeadModel's forward by name, Conv1D (in, out)
#   weights) loads our export and gives the same logits as dev/gpt2_ref.py on the .bin, and the
#   loss our trainer prints for the same batch;
# - files written by dev/hf_ref.py in HF layout (F32, BF16, F16; with and without the
#   "transformer." prefix; with the old mask buffers) load in our trainer, and in the emulated
#   CUDA trainer, with the reference's loss;
# - malformed files: one error line naming the file, exit 1.
# One line per check: "PASS name ..." or "FAIL name ..."; exits non-zero if any check failed.
set -u
source "$(dirname "$0")/lib.sh"
test_begin hf
FIX="$PY dev/test/make_fixtures.py"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

build_trainer
if make -s convert_gpt2 > "$TMP/make_convert.log" 2>&1; then pass build_convert
else fail build_convert "$(grep -m1 error "$TMP/make_convert.log")"; test_end; fi
CONVERT=./convert_gpt2
[ "$BIN" = . ] || { make -s "$BIN/convert_gpt2" > /dev/null 2>&1 && CONVERT=$BIN/convert_gpt2; }

# batch: the first B*T+1 = 257 tokens of the shard (B=4 T=64, -shuffle 0)
$FIX shard "$TMP/s_train_000000.bin" 2000 --seed 9 && $FIX shard "$TMP/v_train_000000.bin" 2000 --seed 9 --vocab 600 \
    || { fail fixtures; test_end; }
EVAL=(-shuffle 0 -x 1 -l 0 -v 0 -s 0 -b 4 -t 64)
# loss_of NAME MODEL [SHARDS]: our trainer's step-1 loss on the first batch (no update: -l 0)
loss_of() {
    local name=$1 model=$2 shards=${3:-$TMP/s_train_*.bin}
    OMP_NUM_THREADS=2 timeout $((120 * SAN_TIME)) "$BIN"/train_gpt2 -e "$model" -i "$shards" "${EVAL[@]}" > "$TMP/$name.out" 2> "$TMP/$name.err" \
        && sed -n 's/^step *1\/1 | loss \([0-9.]*\) .*/\1/p' "$TMP/$name.out"
}
# close NAME A B TOL: |A - B| / |B| < TOL
close() {
    if $PY -c "import sys; a, b = float('$2'), float('$3'); sys.exit(0 if abs(a - b) / abs(b) < $4 else 1)" 2>/dev/null; then
        pass "$1" "ours $2, reference $3"
    else fail "$1" "ours '$2', reference '$3' (tolerance $4 relative)"; fi
}

# --- models: from scratch (init report writes model_00000000.bin), and 3 trained steps -----------
mk() {  # mk NAME SHAPE TIE [extra flags]
    local name=$1 shape=$2 tie=$3; shift 3
    "$BIN"/train_gpt2 -e "$shape" -tie "$tie" -init-report 1 -o "$TMP/m_$name" "$@" > "$TMP/mk_$name.log" 2>&1 \
        && cp "$TMP/m_$name/model_00000000.bin" "$TMP/$name.bin"
}
mk tied L2:C64:NH4:T64 1 && mk untied L2:C64:NH4:T64 0 && mk custom L3:C48:NH2:T64:V600 0 -init pytorch -seed 5 \
    || { fail models "$(tail -n 2 "$TMP"/mk_*.log | tr '\n' '|')"; test_end; }
OMP_NUM_THREADS=2 "$BIN"/train_gpt2 -e "$TMP/untied.bin" -i "$TMP/s_train_*.bin" -shuffle 0 -x 3 -l 1e-2 -q 0.1 -v 0 -s 0 -b 4 -t 64 \
    -o "$TMP/m_trained" > "$TMP/mk_trained.log" 2>&1 && cp "$TMP/m_trained/model_00000003.bin" "$TMP/trained.bin" \
    || { fail trained_model "$(tail -n 2 "$TMP/mk_trained.log" | tr '\n' '|')"; test_end; }
"$CONVERT" "$TMP/trained.bin" "$TMP/trained_bf16.bin" -dtype bf16 > "$TMP/conv_bf16.log" 2>&1 \
    && [ "$(od -An -t d4 -j 4 -N 4 "$TMP/trained_bf16.bin" | tr -d ' ')" = 5 ] && pass convert_to_v5 "version 5 (bf16) .bin" \
    || fail convert_to_v5 "$(cat "$TMP/conv_bf16.log")"

# --- round trips: .bin -> safetensors -> .bin is bit-identical -------------------------------------
for m in tied untied custom trained trained_bf16; do
    d=$TMP/st_$m
    mkdir -p "$d"
    if "$CONVERT" "$TMP/$m.bin" "$d/model.safetensors" > "$d/export.log" 2>&1 &&
       "$CONVERT" "$d/model.safetensors" "$TMP/${m}_back.bin" > "$d/import.log" 2>&1 &&
       cmp -s "$TMP/$m.bin" "$TMP/${m}_back.bin"; then
        pass "roundtrip_$m" "$(stat -c %s "$TMP/$m.bin") bytes identical; $(sed 's/.*parameters, //' "$d/export.log") in safetensors"
    else fail "roundtrip_$m" "$(cat "$d/export.log" "$d/import.log" 2>/dev/null | tr '\n' '|') $(cmp "$TMP/$m.bin" "$TMP/${m}_back.bin" 2>&1 | head -n 1)"; fi
done
# what the files say: names, dtypes, tying in config.json
hdr() { $PY -c "import json,struct,sys; f=open(sys.argv[1],'rb'); n=struct.unpack('<Q',f.read(8))[0]; print(json.dumps(json.loads(f.read(n))))" "$1"; }
h=$(hdr "$TMP/st_untied/model.safetensors")
if grep -q '"transformer.h.1.attn.c_attn.weight": {"dtype": "F32", "shape": \[64, 192\]' <<< "$h" && grep -q '"lm_head.weight": {"dtype": "F32", "shape": \[50257, 64\]' <<< "$h" &&
   grep -q '"tie_word_embeddings": false' "$TMP/st_untied/config.json"; then
    pass export_layout "Conv1D c_attn (64, 192), lm_head (50257, 64), tie_word_embeddings false"
else fail export_layout "$(cut -c1-300 <<< "$h")"; fi
h=$(hdr "$TMP/st_tied/model.safetensors")
if ! grep -q lm_head <<< "$h" && grep -q '"tie_word_embeddings": true' "$TMP/st_tied/config.json" && grep -q '"format": "pt"' <<< "$h"; then
    pass export_tied "no lm_head.weight (as save_pretrained), tie_word_embeddings true, metadata format pt"
else fail export_tied "$(cut -c1-300 <<< "$h")"; fi
if grep -q '"dtype": "BF16"' <<< "$(hdr "$TMP/st_trained_bf16/model.safetensors")"; then pass export_keeps_bf16
else fail export_keeps_bf16 "a version-5 .bin exported as $(hdr "$TMP/st_trained_bf16/model.safetensors" | grep -o '"dtype": "[A-Z0-9]*"' | head -n 1)"; fi

# --- the PyTorch reference reads our export by HF names/layout: same logits, same loss as ours ------
for m in tied untied trained; do
    r=$("$PY" dev/hf_ref.py --check "$TMP/st_$m/model.safetensors" --bin "$TMP/$m.bin" --shard "$TMP/s_train_000000.bin" 2>&1)
    d=$(sed -n 's/.*max_abs_logit_diff \([^ ]*\).*/\1/p' <<< "$r")
    lhf=$(sed -n 's/.*loss_hf \([^ ]*\).*/\1/p' <<< "$r")
    # same fp32 weights, the same ops in another layout: equal to rounding (1e-5 on logits of ~1)
    if [ -n "$d" ] && $PY -c "import sys; sys.exit(0 if float('$d') <= 1e-5 else 1)"; then pass "pytorch_reads_export_$m" "$r"
    else fail "pytorch_reads_export_$m" "$r"; fi
    ours_st=$(loss_of "ours_st_$m" "$TMP/st_$m/model.safetensors")
    ours_bin=$(loss_of "ours_bin_$m" "$TMP/$m.bin")
    if [ -n "$ours_st" ] && [ "$ours_st" = "$ours_bin" ]; then pass "trainer_loads_export_$m" "loss $ours_st from the .safetensors and the .bin"
    else fail "trainer_loads_export_$m" "safetensors '$ours_st' vs bin '$ours_bin': $(tail -n 1 "$TMP/ours_st_$m.err")"; fi
    # printed to 6 decimals: 1e-5 relative, as the checkpoint check of t_pytorch_parity.sh
    close "loss_matches_pytorch_$m" "$ours_st" "$lhf" 1e-5
done

# --- files written by the reference in HF layout load in our trainer, with the reference's loss ---
for spec in "f32_tied F32 0 1 0" "bf16_untied_noprefix_buffers BF16 1 0 1" "f16_tied_noprefix F16 0 0 0" "f32_untied_L3 F32 1 1 0 --L 3 --C 32 --NH 2 --maxT 128"; do
    set -- $spec
    name=$1 dt=$2 untied=$3 prefix=$4 buffers=$5; shift 5
    ref=$("$PY" dev/hf_ref.py --write "$TMP/hf_$name" --shard "$TMP/s_train_000000.bin" --dtype "$dt" --untied "$untied" \
        --prefix "$prefix" --buffers "$buffers" "$@" 2>&1 | sed -n 's/^loss //p')
    ours=$(loss_of "hf_$name" "$TMP/hf_$name/model.safetensors")
    close "reference_file_loads_$name" "$ours" "${ref:-nan}" 1e-5
done
# and trains from it: 2 steps, a checkpoint in llm.c's format that resumes like any other
if OMP_NUM_THREADS=2 "$BIN"/train_gpt2 -e "$TMP/hf_f32_tied/model.safetensors" -i "$TMP/s_train_*.bin" -x 2 -n 2 -v 0 -s 0 -b 4 -t 64 \
    -o "$TMP/train_from_hf" > "$TMP/train_from_hf.log" 2>&1 && [ -f "$TMP/train_from_hf/DONE_00000002" ] &&
   [ "$(od -An -t d4 -N 4 "$TMP/train_from_hf/model_00000002.bin" | tr -d ' ')" = 20240326 ]; then
    pass trains_from_safetensors "2 steps, model_00000002.bin in llm.c's format"
else fail trains_from_safetensors "$(tail -n 2 "$TMP/train_from_hf.log" | tr '\n' '|')"; fi
# a custom vocab: V=600 shards check tokens against the file's vocab_size
ours=$(loss_of custom_v "$TMP/st_custom/model.safetensors" "$TMP/v_train_*.bin")
ours_bin=$(loss_of custom_v_bin "$TMP/custom.bin" "$TMP/v_train_*.bin")
if [ -n "$ours" ] && [ "$ours" = "$ours_bin" ]; then pass custom_vocab_from_safetensors "V=600 L=3 C=48: loss $ours, as from the .bin"
else fail custom_vocab_from_safetensors "'$ours' vs '$ours_bin': $(tail -n 1 "$TMP/custom_v.err")"; fi

# the CUDA trainer loads through the same code: its emulated FP32 build (no GPU needed)
if make -s build/emu/train_gpt2cu_fp32 > "$TMP/make_emu.log" 2>&1; then
    ref=$("$PY" dev/hf_ref.py --write "$TMP/hf_emu" --shard "$TMP/s_train_000000.bin" --dtype BF16 --untied 1 --prefix 0 --buffers 1 2>&1 | sed -n 's/^loss //p')
    ours=$(OMP_NUM_THREADS=2 timeout $((300 * SAN_TIME)) build/emu/train_gpt2cu_fp32 -e "$TMP/hf_emu/model.safetensors" -i "$TMP/s_train_*.bin" "${EVAL[@]}" 2> "$TMP/emu.err" \
        | sed -n 's/^step *1\/1 | loss \([0-9.]*\) .*/\1/p')
    close cuda_trainer_loads_safetensors "$ours" "${ref:-nan}" 1e-5
else fail cuda_trainer_loads_safetensors "build/emu/train_gpt2cu_fp32 did not build: $(grep -m1 error "$TMP/make_emu.log")"; fi

# --- malformed files: exit 1, one "error:" line naming the file ----------------------------------
G=$TMP/st_tied
bad() {  # bad NAME EXPECT(regex) KIND: a mutated copy of $G in $TMP/bad_NAME/, loaded by the trainer
    local name=$1 expect=$2 kind=$3
    local d=$TMP/bad_$name
    mkdir -p "$d"
    cp "$G/config.json" "$d/"
    "$PY" - "$G/model.safetensors" "$d/model.safetensors" "$d/config.json" "$kind" <<'PYEOF' || { fail "bad_$name" "mutation $kind failed"; return; }
import json, struct, sys
src, dst, cfg_path, kind = sys.argv[1:5]
raw = open(src, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n]); data = raw[8 + n:]
def write(h, data, pad=True):
    b = json.dumps(h).encode()
    if pad: b += b" " * ((8 - (8 + len(b)) % 8) % 8)
    open(dst, "wb").write(struct.pack("<Q", len(b)) + b + data)
w = "transformer.h.0.attn.c_attn.weight"
if kind == "short":        open(dst, "wb").write(raw[:5])
elif kind == "hdr_len":    open(dst, "wb").write(struct.pack("<Q", 1 << 40) + raw[8:])
elif kind == "json":       open(dst, "wb").write(raw[:8] + b"{\"x\": [1, 2" + b" " * (n - 11) + data)
elif kind == "not_obj":    open(dst, "wb").write(raw[:8] + b"[" + raw[9:])
elif kind == "truncated":  open(dst, "wb").write(raw[:len(raw) - 1000])
elif kind == "trailing":   open(dst, "wb").write(raw + b"\0" * 8)
elif kind == "offsets":    h[w]["data_offsets"][1] = len(data) + 4096; write(h, data)
elif kind == "overlap":
    b = h["transformer.wpe.weight"]["data_offsets"]; h["transformer.wpe.weight"]["data_offsets"] = [b[0] - 4, b[1] - 4]; write(h, data)
elif kind == "dtype":      h[w]["dtype"] = "I32"; write(h, data)
elif kind == "dtype_name": h[w]["dtype"] = "F33"; write(h, data)
elif kind == "shape":      h[w]["shape"] = [192, 64]; write(h, data)
elif kind == "size":       h[w]["shape"] = [64, 191]; write(h, data)
elif kind == "missing":
    b = h.pop("transformer.ln_f.bias")["data_offsets"]
    for v in h.values():
        if isinstance(v, dict) and "data_offsets" in v and v["data_offsets"][0] > b[0]:
            v["data_offsets"] = [x - (b[1] - b[0]) for x in v["data_offsets"]]
    write(h, data[:b[0]] + data[b[1]:])
elif kind == "unexpected":
    h["transformer.h.0.attn.rotary"] = {"dtype": "F32", "shape": [2], "data_offsets": [len(data), len(data) + 8]}
    write(h, data + b"\0" * 8)
elif kind == "dup_key":
    b = json.dumps(h).encode(); b = b[:-1] + b', "__metadata__": {}}'; open(dst, "wb").write(struct.pack("<Q", len(b)) + b + data)
elif kind in ("no_config", "config_act", "config_field", "config_json", "config_tie"):
    open(dst, "wb").write(raw)
    cfg = json.load(open(cfg_path))
    if kind == "no_config":      import os; os.remove(cfg_path)
    elif kind == "config_act":   cfg["activation_function"] = "relu"; json.dump(cfg, open(cfg_path, "w"))
    elif kind == "config_field": del cfg["n_embd"]; json.dump(cfg, open(cfg_path, "w"))
    elif kind == "config_json":  open(cfg_path, "w").write(json.dumps(cfg)[:-5])
    elif kind == "config_tie":   cfg["tie_word_embeddings"] = False; json.dump(cfg, open(cfg_path, "w"))
else: sys.exit(f"unknown kind {kind}")
PYEOF
    local file=$d/model.safetensors
    case $kind in config_act|config_field|config_json|no_config) file=$d/config.json;; esac
    "$BIN"/train_gpt2 -e "$d/model.safetensors" -i "$TMP/s_train_*.bin" "${EVAL[@]}" > "$d/out" 2> "$d/err"
    local rc=$? lines
    lines=$(grep -c . "$d/err")
    if [ $rc -eq 1 ] && [ "$lines" -eq 1 ] && grep -q "^error: .*$file" "$d/err" && grep -qE "$expect" "$d/err"; then
        pass "bad_$name" "$(cat "$d/err")"
    else fail "bad_$name" "exit $rc, $lines stderr lines, want /$expect/ naming $file: $(head -n 2 "$d/err" | tr '\n' '|')"; fi
}
bad short          'not a safetensors file'                      short
bad header_length  'header length .* is impossible'              hdr_len
bad header_json    'malformed JSON'                              json
bad header_object  "does not start with '\\{'"                   not_obj
bad truncated      'cover|out of range'                          truncated
bad trailing_bytes 'cover .* bytes of a'                         trailing
bad offsets        'out of range'                                offsets
bad overlap        'overlapping tensors'                         overlap
bad dtype          'must be F32, F16 or BF16'                    dtype
bad dtype_name     'unknown dtype'                               dtype_name
bad shape          'has shape \[192, 64\], config.json implies \[64, 192\]' shape
bad size_mismatch  'needs .* bytes, data_offsets give'           size
bad missing_tensor 'missing tensor "transformer.ln_f.bias"'      missing
bad unexpected     'unexpected tensor "transformer.h.0.attn.rotary"' unexpected
bad duplicate_key  'duplicate key'                               dup_key
bad no_config      'cannot open.*needs its config.json'          no_config
bad config_act     'activation_function "relu"'                  config_act
bad config_field   'no "n_embd"'                                 config_field
bad config_json    'malformed JSON'                              config_json
bad config_untied  'missing tensor "lm_head.weight"'             config_tie
# convert_gpt2's own refusals
"$CONVERT" "$TMP/tied.bin" "$TMP/x.bin" -dtype fp16 > /dev/null 2> "$TMP/conv_err"; rc=$?
if [ $rc -eq 1 ] && grep -q '^error: -dtype fp16: an llm.c .bin holds fp32' "$TMP/conv_err"; then pass convert_refuses_fp16_bin
else fail convert_refuses_fp16_bin "exit $rc: $(cat "$TMP/conv_err")"; fi
"$CONVERT" "$TMP/tied.bin" > /dev/null 2> "$TMP/conv_err"; rc=$?
if [ $rc -eq 1 ] && grep -q '^error: need IN and OUT' "$TMP/conv_err"; then pass convert_usage
else fail convert_usage "exit $rc: $(tail -n 1 "$TMP/conv_err")"; fi
test_end
