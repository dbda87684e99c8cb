#!/usr/bin/env bash
# Runs the libFuzzer harnesses built by `make fuzz-build` (build/fuzz/fuzz_*), each for
# FUZZ_SECONDS on its seed corpus dev/fuzz/corpus/<harness>/, FUZZ_JOBS at a time.
#   dev/fuzz/run.sh [HARNESS ...]      default: every dev/fuzz/fuzz_*.cpp
# The repo's seed dir is only read: libFuzzer writes new inputs into the first corpus dir it is
# given, which is the scratch one, $FUZZ_WORK/corpus/<harness>/.
# Prints one line per harness (the dev/test protocol):
#   PASS <harness> <N> execs in <S>s (<N/S>/s), corpus <units> units (<seeds> seeds), cov <edges>
#   FAIL <harness> <first line of the sanitizer / libFuzzer report> (log, reproducer)
# and exits 1 if any failed. Reproduce a failure with: build/fuzz/<harness> <reproducer file>
# Environment:
#   FUZZ_SECONDS=30     fuzzing time per harness
#   FUZZ_JOBS=2         harnesses run at once (each is one process)
#   FUZZ_WORK=build/fuzz/work   scratch: corpus/<harness>/ (kept between runs: longer local runs
#                       build on earlier ones), <harness>.log, artifacts/ (crash reproducers)
# Limits: 10 s per input (a hang is a finding), 2 GiB RSS, 256 MB per allocation (no reader may
# size memory from a header: inputs are at most 8 KiB).
set -u
cd "$(dirname "$0")/../.."
SECONDS_=${FUZZ_SECONDS:-30}
JOBS=${FUZZ_JOBS:-2}
WORK=${FUZZ_WORK:-build/fuzz/work}
mkdir -p "$WORK/artifacts"

harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
    for s in dev/fuzz/fuzz_*.cpp; do harnesses+=("$(basename "$s" .cpp)"); done
fi

# one harness: fuzz, then write its result line to $WORK/<harness>.result
run_one() {
    local h=$1 log=$WORK/$1.log seeds=dev/fuzz/corpus/$1
    mkdir -p "$WORK/corpus/$h"
    local dirs=("$WORK/corpus/$h")
    [ -d "$seeds" ] && dirs+=("$seeds")
    local t0=$SECONDS
    timeout -k 10 $((SECONDS_ * 2 + 120)) "build/fuzz/$h" -max_total_time="$SECONDS_" -print_final_stats=1 \
        -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 -max_len=8192 \
        -artifact_prefix="$WORK/artifacts/$h-" "${dirs[@]}" > "$log" 2>&1
    local rc=$? secs=$((SECONDS - t0))
    local execs done_line units cov report repro
    execs=$(grep -m1 -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$')
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
    units=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<< "$done_line")
    cov=$(sed -n 's/.* cov: \([0-9]*\) .*/\1/p' <<< "$done_line")
    report=$(grep -m1 -E 'FUZZ CHECK FAILED|runtime error:|ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)' "$log")
    repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | head -n 1)
    if [ $rc -ne 0 ] || [ -n "$report" ] || [ -z "$execs" ]; then
        echo "FAIL $h ${report:-exit status $rc, no report: $(tail -n 1 "$log")} (after ${secs}s, ${execs:-?} execs; log $log${repro:+, reproducer $repro})"
    else
        echo "PASS $h $execs execs in ${SECONDS_}s ($((execs / (SECONDS_ > 0 ? SECONDS_ : 1)))/s), corpus ${units:-?} units ($(ls "$seeds" 2>/dev/null | wc -l) seeds), cov ${cov:-?}"
    fi > "$WORK/$h.result"
}

for h in "${harnesses[@]}"; do rm -f "$WORK/$h.result"; done
for h in "${harnesses[@]}"; do
    if [ ! -x "build/fuzz/$h" ]; then echo "FAIL $h build/fuzz/$h not built (make fuzz-build)" > "$WORK/$h.result"; continue; fi
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
    run_one "$h" &
done
wait

status=0
for h in "${harnesses[@]}"; do
    cat "$WORK/$h.result"
    grep -q '^PASS' "$WORK/$h.result" || status=1
done
exit $status
