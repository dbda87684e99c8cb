#!/usr/bin/env bash
# Runs every dev/test/t_*.sh in order. A test script prints one line per check,
# "PASS <name>" or "FAIL <name> ...", and exits non-zero if any check failed.
# A script that exits non-zero without printing a FAIL line (a crash) counts as one failure.
# Ends with the line "N passed, N failed"; exits non-zero if anything failed.
set -u
cd "$(dirname "$0")/../.."
mkdir -p dev/test/tmp
pass=0; fail=0
for t in dev/test/t_*.sh; do
    echo "=== $t"
    log=dev/test/tmp/$(basename "$t" .sh).log
    start=$(date +%s)
    bash "$t" > "$log" 2>&1
    rc=$?
    p=$(grep -c '^PASS' "$log"); f=$(grep -c '^FAIL' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $t exited with status $rc and no FAIL line" >> "$log"; f=1
    fi
    grep -E '^(FAIL|SKIP)' "$log" | head -n 40
    if [ "$f" -ne 0 ]; then echo "--- tail of $log:"; tail -n 25 "$log"; fi
    echo "    $p passed, $f failed ($(( $(date +%s) - start ))s)"
    pass=$((pass + p)); fail=$((fail + f))
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
