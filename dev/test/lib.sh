# Sourced by the dev/test/t_*.sh scripts: run from the repo root, a fresh scratch dir, and the
# PASS/FAIL line protocol that dev/test/run_tests.sh counts.
#   test_begin NAME     cd to the repo root, TMP=dev/test/tmp/NAME (emptied), failed=0,
#                       PY=$PYTHON or /usr/bin/python3 (Debian's, with torch)
#   pass NAME DETAIL    prints "PASS NAME DETAIL"
#   fail NAME DETAIL    prints "FAIL NAME DETAIL" and marks the script failed (exit $failed at the end)
#   build_trainer       make -s train_gpt2, as a check; exits the script if it fails
#   test_end            exits with $failed; when every check passed it first removes $TMP (the
#                       whole `make test` writes ~12 GB of checkpoints; CI disks are smaller),
#                       unless KEEP_TMP=1. A failed script keeps its scratch dir to look at.
# Environment (dev/test/t_sanitize.sh sets them to rerun the scripts on the build/san/ binaries):
#   BIN_DIR=.           where the scripts find train_gpt2, test_gpt2, ... ($BIN/train_gpt2)
#   TEST_TMP=dev/test/tmp   parent of the scratch dirs (so a rerun does not clobber the first's)
#   SANITIZED=0         1: the binaries are ASan builds (which reserve TiBs of virtual memory,
#                       so `ulimit -v` caps are left out); SAN_TIME=N multiplies time limits
#   KEEP_TMP=0          1: keep the scratch dirs of passing scripts too
BIN=${BIN_DIR:-.}
SANITIZED=${SANITIZED:-0}
SAN_TIME=${SAN_TIME:-1}
test_begin() {
    cd "$(dirname "${BASH_SOURCE[1]}")/../.." || exit 1
    PY=${PYTHON:-/usr/bin/python3}
    TMP=${TEST_TMP:-dev/test/tmp}/$1
    rm -rf "$TMP" && mkdir -p "$TMP"
    failed=0
}
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failed=1; }
build_trainer() {
    local target=train_gpt2
    [ "$BIN" = . ] || target=$BIN/train_gpt2
    if make -s "$target" > "$TMP/make.log" 2>&1; then pass build
    else fail build "$(grep -m1 error "$TMP/make.log")"; exit 1; fi
}
test_end() {
    if [ "$failed" = 0 ] && [ "${KEEP_TMP:-0}" != 1 ]; then rm -rf "$TMP"; fi
    exit "$failed"
}
