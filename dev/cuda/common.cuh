// Harness for the dev/cuda kernel benchmarks: seeded host data, device copies, validation of a
// kernel's output against its CPU reference (|gpu - cpu| <= atol + rtol*|cpu|, FAIL lines exit
// non-zero at the end), and timing with the L2 cache flushed before every repeat.
#pragma once
#include <functional>
#include <vector>

#include "../../llmc/cuda/common.cuh"
#include "../../llmc/rand.h"

static int g_dev_failures = 0;

// Under the CPU emulator (make cuda-emu) every check runs, at a smaller size (EMU_OR(emulated,
// gpu) picks it), and the benchmarks are skipped: emulated timings say nothing about a GPU.
#if defined(CUDA_EMU)
#define EMU_OR(emulated, gpu) (emulated)
#else
#define EMU_OR(emulated, gpu) (gpu)
#endif
inline bool benchmarks_skipped() {
#if defined(CUDA_EMU)
    printf("benchmark: skipped under the CUDA emulator\n");
    return true;
#else
    return false;
#endif
}

// Tolerances for comparing a floatX kernel output to an fp32 CPU reference.
#if defined(ENABLE_FP32)
constexpr float DEV_ATOL = 1e-4f, DEV_RTOL = 1e-4f;  // fp32: summation order only
#else
constexpr float DEV_ATOL = 2e-2f, DEV_RTOL = 2e-2f;  // bf16 storage: 2^-9 per rounding, a few deep
#endif

inline std::vector<float> rand_vec(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
    std::vector<float> v(n);
    Mt19937 rng(seed);
    uniform_fill(v.data(), n, lo, hi, rng);
    return v;
}

// Rounds through floatX so the CPU reference sees exactly what the GPU sees.
inline std::vector<float> round_floatX(std::vector<float> v) {
    for (float& x : v) x = to_float((floatX)x);
    return v;
}

template <typename T>
inline T* to_device(const std::vector<float>& h) {
    std::vector<T> tmp(h.size());
    for (size_t i = 0; i < h.size(); i++) tmp[i] = (T)h[i];
    T* d;
    cudaCheck(cudaMalloc(&d, tmp.size() * sizeof(T)));
    cudaCheck(cudaMemcpy(d, tmp.data(), tmp.size() * sizeof(T), cudaMemcpyHostToDevice));
    return d;
}
template <typename T>
inline T* device_zeros(size_t n) {
    T* d;
    cudaCheck(cudaMalloc(&d, n * sizeof(T)));
    cudaCheck(cudaMemset(d, 0, n * sizeof(T)));
    return d;
}

template <typename T>
inline bool validate(const char* name, const T* d_out, const std::vector<float>& ref, float atol = DEV_ATOL,
                     float rtol = DEV_RTOL) {
    std::vector<T> h(ref.size());
    cudaCheck(cudaDeviceSynchronize());
    cudaCheck(cudaMemcpy(h.data(), d_out, h.size() * sizeof(T), cudaMemcpyDeviceToHost));
    double max_abs = 0.0;
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < ref.size(); i++) {
        double g = to_float(h[i]), d = fabs(g - ref[i]);
        if (!(d <= atol + rtol * fabs(ref[i]))) {
            if (!bad) first = i;
            bad++;
        }
        max_abs = std::max(max_abs, d);
    }
    if (bad) {
        printf("FAIL %s: %zu of %zu outside atol %.0e rtol %.0e, first at %zu: gpu %.7g cpu %.7g\n", name, bad,
               ref.size(), atol, rtol, first, to_float(h[first]), ref[first]);
        g_dev_failures++;
    } else {
        printf("PASS %s (max_abs %.2e, n=%zu)\n", name, max_abs, ref.size());
    }
    return bad == 0;
}

// Mean time of fn over `repeats` runs in ms, each after a write to a buffer larger than L2.
inline float benchmark_ms(int repeats, const std::function<void()>& fn) {
    static char* flush = nullptr;
    static size_t flush_bytes = 0;
    if (!flush) {
        cudaDeviceProp prop;
        cudaCheck(cudaGetDeviceProperties(&prop, 0));
        flush_bytes = (size_t)prop.l2CacheSize * 2;
        cudaCheck(cudaMalloc(&flush, flush_bytes));
    }
    cudaEvent_t start, stop;
    cudaCheck(cudaEventCreate(&start));
    cudaCheck(cudaEventCreate(&stop));
    float total = 0.0f;
    for (int r = 0; r < repeats; r++) {
        cudaCheck(cudaMemset(flush, r & 0xff, flush_bytes));
        cudaCheck(cudaEventRecord(start));
        fn();
        cudaCheck(cudaEventRecord(stop));
        cudaCheck(cudaEventSynchronize(stop));
        float ms;
        cudaCheck(cudaEventElapsedTime(&ms, start, stop));
        total += ms;
    }
    cudaCheck(cudaGetLastError());
    cudaCheck(cudaEventDestroy(start));
    cudaCheck(cudaEventDestroy(stop));
    return total / repeats;
}

inline void report(const char* name, int block, float ms, double bytes) {
    printf("  %-34s block %4d | %8.4f ms | %7.1f GB/s\n", name, block, ms, bytes / (ms * 1e-3) / 1e9);
}

inline int dev_exit_code() {
    printf("%s: %d validation failure(s)\n", g_dev_failures ? "FAILED" : "OK", g_dev_failures);
    return g_dev_failures ? 1 : 0;
}

inline void require_device() {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) die("no CUDA device: dev/cuda benchmarks need a GPU");
}
