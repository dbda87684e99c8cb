#!/usr/bin/env bash
# The CPU trainer against our PyTorch reference (dev/gpt2_ref.py, Debian python3-torch):
# init, logits, loss, all 16 gradients, 10 AdamW steps. L=2 C=64 NH=4 V=50257 B=4 T=64.
set -u
cd "$(dirname "$0")/../.."
PY=${PYTHON:-/usr/bin/python3}
dir=dev/test/tmp/ref
mkdir -p "$dir"
if ! "$PY" -c "import torch" 2>/dev/null; then
    echo "FAIL pytorch_available: $PY cannot import torch (apt-get install python3-torch)"
    exit 1
fi
"$PY" dev/gpt2_ref.py --selfcheck || exit 1
"$PY" dev/gpt2_ref.py --out "$dir" --seed 1337 > "$dir/gen.log" 2>&1 || { cat "$dir/gen.log"; echo "FAIL reference_generation"; exit 1; }
./test_gpt2 "$dir" 1337
