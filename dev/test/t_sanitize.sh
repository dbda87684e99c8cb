#!/usr/bin/env bash
# The CPU trainer's test scripts once more, on ASan + UBSan builds of the binaries (make san ->
# build/san/, -fno-sanitize-recover=all: any finding ends the process). Each script runs as in
# `make test`, with BIN_DIR=build/san and its scratch dirs under dev/test/tmp/san/<script>/ (the
# unsanitized run's dev/test/tmp/<name> is left alone). Its checks print as "PASS san_<name>" /
# "FAIL san_<name>", plus one check per script, san_<script>_no_report, that no sanitizer report
# was written anywhere (its FAIL line quotes the report's first lines; the full report is in the
# file it names).
# Where reports go: ASan/LSan's to $TMP/reports/<script>/san.<pid> (log_path), so even a process
# whose stderr a script discards is seen. UBSan's always go to stderr (with g++, libubsan is a
# runtime of its own and ignores log_path next to ASan): the scripts keep every binary's stderr
# in their scratch files or their log, which are searched too. A report also makes the process
# exit 86, never the status 1 that the error-path checks expect.
# Run time in `make test` on 2 cores (each script's own time is in its san_<script>_no_report
# line): build 24s, t_layers 1s, t_io 10s, t_cli 2s, t_bad_input 41s, t_resume 155s,
# t_pytorch_parity 43s: 275s in all. Time limits inside the scripts are tripled (SAN_TIME=3;
# t_resume's longest sanitized run, 170 steps, takes ~40s where the plain limit is 60s).
# Not run here: t_tokenizer (the data tools, not the trainer; ~26s unsanitized, which would bring
# this script to ~6 min, and its calls of ./prepare_shards and ./test_tokenizer do not take
# BIN_DIR yet). `make san` builds both tools sanitized for runs by hand.
set -u
source "$(dirname "$0")/lib.sh"
test_begin sanitize

nproc_=$(nproc 2>/dev/null || echo 2)
# only what the scripts below run (make san also builds test_tokenizer and prepare_shards)
if make -s -j"$nproc_" build/san/{train_gpt2,test_gpt2,test_layers,test_io} > "$TMP/make.log" 2>&1; then
    pass san_build "build/san: train_gpt2 test_gpt2 test_layers test_io"
else fail san_build "$(grep -m1 -E 'error|Error' "$TMP/make.log")"; exit 1; fi
# the runtime is there (a build that silently lost -fsanitize would make every check below vacuous)
if ASAN_OPTIONS=help=1 build/san/train_gpt2 -h 2>&1 >/dev/null | grep -q 'Available flags for AddressSanitizer'; then
    pass san_runtime_active "build/san/train_gpt2 runs under AddressSanitizer"
else fail san_runtime_active "ASAN_OPTIONS=help=1 printed no AddressSanitizer flags"; fi

SAN_RE='ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|ERROR: [A-Za-z]*Sanitizer'
export SANITIZED=1 BIN_DIR=build/san SAN_TIME=3

# SAN_SCRIPTS="t_cli t_io" runs a subset (by hand; make test runs them all)
for s in ${SAN_SCRIPTS:-t_layers t_io t_cli t_bad_input t_resume t_pytorch_parity}; do
    rep=$PWD/$TMP/reports/$s
    mkdir -p "$rep"
    common="log_path=$rep/san:exitcode=86:abort_on_error=0"
    export ASAN_OPTIONS="$common:detect_leaks=1:check_initialization_order=1"
    export UBSAN_OPTIONS="$common:print_stacktrace=1:halt_on_error=1"
    export TEST_TMP=dev/test/tmp/san/$s  # the script's scratch dir goes under it
    t0=$SECONDS
    KEEP_TMP=1 bash "dev/test/$s.sh" > "$TMP/$s.log" 2>&1  # kept for the report grep below
    rc=$? secs=$((SECONDS - t0))
    sed -n 's/^\(PASS\|FAIL\|SKIP\) /\1 san_/p' "$TMP/$s.log"
    grep -q '^FAIL' "$TMP/$s.log" && failed=1
    if [ $rc -ne 0 ] && ! grep -q '^FAIL' "$TMP/$s.log"; then
        fail "san_$s" "exited with status $rc and no FAIL line: $(tail -n 3 "$TMP/$s.log" | tr '\n' '|')"
    fi
    # reports: the log_path files, the script's log, its scratch text files (-I skips checkpoints)
    reports=$( { grep -lE "$SAN_RE" "$rep"/san.* "$TMP/$s.log" 2>/dev/null; grep -rIlE "$SAN_RE" "$TEST_TMP" 2>/dev/null; } | sort -u)
    if [ -z "$reports" ]; then pass "san_${s}_no_report" "${secs}s, no sanitizer report"
    else
        first=$(head -n 1 <<< "$reports")
        fail "san_${s}_no_report" "${secs}s, $(wc -l <<< "$reports") file(s) with a report, first $first: $(grep -m1 -E "$SAN_RE" "$first" | cut -c1-240) $(grep -m4 -E '^ +#[0-9]+ ' "$first" | sed 's/ (\/.*//; s/^ *//' | tr -s ' ' | tr '\n' '|' | cut -c1-500)"
    fi
    # what test_end does, now that the grep is done: a clean script's scratch dir goes
    if [ $rc -eq 0 ] && [ -z "$reports" ] && [ "${KEEP_TMP:-0}" != 1 ]; then rm -rf "$TEST_TMP"; fi
done
test_end
