#!/usr/bin/env bash
# Dataloader, RNG, checkpoint/state round trips, schedules, init determinism (dev/test/test_io.cpp).
set -u
source "$(dirname "$0")/lib.sh"
test_begin io
"$BIN"/test_io "$TMP" || failed=1
exit $failed
