#!/usr/bin/env bash
# Per-layer backward vs finite differences, matmul kernels vs a naive loop, whole-model FD.
set -u
source "$(dirname "$0")/lib.sh"
test_begin layers
"$BIN"/test_layers || failed=1
test_end
