#!/usr/bin/env bash
# Per-layer backward vs finite differences, matmul kernels vs a naive loop, whole-model FD.
set -u
cd "$(dirname "$0")/../.."
./test_layers
