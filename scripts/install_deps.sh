#!/usr/bin/env bash
# Installs, on Debian, what is missing (nothing else):
#   scripts/install_deps.sh train   g++, make, npm: build, and `make data` (npm pack)
#   scripts/install_deps.sh test    the above, plus /usr/bin/python3 with torch, numpy, regex and
#                                   matplotlib (the PyTorch reference and plots), clang and
#                                   libclang-rt-14-dev (libFuzzer: make fuzz, dev/test/t_fuzz.sh),
#                                   and npm tiktoken (a second tokenizer reference; optional), and Open MPI
#                                   (openmpi-bin libopenmpi-dev: the data-parallel tests)
# Needs root (or sudo) only when something is missing. Used by .ci/run and the README.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-train}
export DEBIAN_FRONTEND=noninteractive
need=()
command -v g++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
command -v npm >/dev/null || need+=(npm)
if [ "$what" = test ]; then
    /usr/bin/python3 -c "import torch" 2>/dev/null || need+=(python3-torch)
    /usr/bin/python3 -c "import numpy" 2>/dev/null || need+=(python3-numpy)
    /usr/bin/python3 -c "import regex" 2>/dev/null || need+=(python3-regex)
    /usr/bin/python3 -c "import matplotlib" 2>/dev/null || need+=(python3-matplotlib)
    # the fuzz harnesses (dev/test/t_fuzz.sh): clang++ and libFuzzer + sanitizer runtimes (bookworm: clang 14)
    command -v clang++ >/dev/null || need+=(clang)
    ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1 || need+=(libclang-rt-14-dev)
    command -v mpirun >/dev/null || need+=(openmpi-bin)
    command -v mpicxx >/dev/null || need+=(libopenmpi-dev)
fi
if [ ${#need[@]} -gt 0 ]; then
    sudo_=""
    if [ "$(id -u)" -ne 0 ]; then
        # not root: sudo without a password prompt, else stop now rather than run tests that must fail
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo_="sudo -n"
        else echo "install_deps: missing ${need[*]}: run as root (or with sudo) once, or: apt-get install ${need[*]}" >&2; exit 1; fi
    fi
    echo "install_deps: installing ${need[*]}"
    if ! { $sudo_ apt-get update -qq && $sudo_ apt-get install -y -qq --no-install-recommends "${need[@]}" > /dev/null; }; then
        echo "install_deps: apt-get could not install ${need[*]} (no package access?); install them, then rerun" >&2
        exit 1
    fi
fi
if [ "$what" = test ] && [ ! -d data/cache/node/node_modules/tiktoken ] && command -v npm >/dev/null; then
    mkdir -p data/cache/node
    (cd data/cache/node && npm install --silent --no-audit --no-fund tiktoken@1.0.22 > /dev/null 2>&1) \
        || echo "install_deps: npm install tiktoken failed; the tokenizer test will skip its tiktoken checks"
fi
