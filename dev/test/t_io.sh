#!/usr/bin/env bash
# Dataloader, RNG, checkpoint/state round trips, schedules, init determinism (dev/test/test_io.cpp).
set -u
cd "$(dirname "$0")/../.."
mkdir -p dev/test/tmp/io
./test_io dev/test/tmp/io
