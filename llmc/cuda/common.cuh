// CUDA-side basics shared by train_gpt2.cu, test_gpt2.cu and dev/cuda/*.cu: error-check macros,
// the kernel launch spelling, the activation/weight element type floatX (PRECISION=BF16 ->
// __nv_bfloat16, FP32 -> float), 128-bit packed loads/stores, warp/block reductions, and owning
// handles for device memory.
// With CUDA_EMU defined (make cuda-emu) the same code compiles with g++ against the CPU emulation
// in llmc/cuda/emu/ (its include path supplies cuda_runtime.h, cublasLt.h, ...).
#pragma once
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <type_traits>

#include "../utils.h"

// ----------------------------------------------------------------------------
// kernel launches: launch_kernel(kernel, grid, block, shared_bytes, stream, args...) is
// kernel<<<grid, block, shared_bytes, stream>>>(args...) under nvcc, and the emulator's launch
// (which checks the launch limits and names the kernel in its errors) under CUDA_EMU. A template
// kernel is named with its arguments: launch_kernel(k<float>, ...).
#if defined(CUDA_EMU)
#define launch_kernel(kernel, grid, block, smem, stream, ...) \
    ::cuda_emu::launch(#kernel, kernel, grid, block, smem, stream, __VA_ARGS__)
#define EMU_CHECK_ALIGNED(p, bytes, what) ::cuda_emu::check_aligned(p, bytes, what)
#else
#define launch_kernel(kernel, grid, block, smem, stream, ...) kernel<<<grid, block, smem, stream>>>(__VA_ARGS__)
#define EMU_CHECK_ALIGNED(p, bytes, what) ((void)0)
#endif

// The block's dynamic shared memory (the launch's shared_bytes), 16-byte aligned.
template <typename T>
__device__ inline T* dynamic_shared() {
#if defined(CUDA_EMU)
    return reinterpret_cast<T*>(::cuda_emu::tl_dynamic_smem);
#else
    extern __shared__ __align__(16) unsigned char dynamic_smem_[];
    return reinterpret_cast<T*>(dynamic_smem_);
#endif
}

// ----------------------------------------------------------------------------
// error checks: one line naming the call site, a hint, exit 1

inline void cuda_check_(cudaError_t err, const char* file, int line) {
    if (err != cudaSuccess) {
        fflush(stdout);
        fprintf(stderr, "error: CUDA: %s [%s:%d]\n", cudaGetErrorString(err), file, line);
        if (err == cudaErrorNoDevice || err == cudaErrorInsufficientDriver)
            fprintf(stderr, "HINT: no usable NVIDIA GPU/driver here (nvidia-smi should list one)\n");
        else if (err == cudaErrorMemoryAllocation)
            fprintf(stderr, "HINT: out of device memory: lower -b, or use -r 1 (recompute GELU)\n");
        exit(EXIT_FAILURE);
    }
}
#define cudaCheck(err) cuda_check_((err), __FILE__, __LINE__)

inline void cublas_check_(cublasStatus_t st, const char* file, int line) {
    if (st != CUBLAS_STATUS_SUCCESS) {
        fflush(stdout);
        fprintf(stderr, "error: cuBLAS status %d [%s:%d]\n", (int)st, file, line);
        fprintf(stderr, "HINT: 7 = invalid value (shape/alignment/type combination), 13 = execution failed\n");
        exit(EXIT_FAILURE);
    }
}
#define cublasCheck(st) cublas_check_((st), __FILE__, __LINE__)

// ----------------------------------------------------------------------------
// precision

#if defined(ENABLE_FP32)
typedef float floatX;
#define PRECISION_NAME "FP32"
constexpr cudaDataType_t CUBLAS_FLOATX = CUDA_R_32F;
#else
typedef __nv_bfloat16 floatX;
#define PRECISION_NAME "BF16"
constexpr cudaDataType_t CUBLAS_FLOATX = CUDA_R_16BF;
#endif
constexpr bool FLOATX_IS_FP32 = sizeof(floatX) == 4;

__device__ __host__ inline float to_float(float x) { return x; }
__device__ __host__ inline float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
template <typename T> __device__ inline T from_float(float x);
template <> __device__ inline float from_float<float>(float x) { return x; }
template <> __device__ inline __nv_bfloat16 from_float<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }

// 16 bytes of T moved as one instruction (8 bf16 or 4 fp32). Pointers must be 16-byte aligned.
template <typename T>
struct alignas(16) Packed {
    static constexpr int size = 16 / sizeof(T);
    T v[size];
    __device__ T& operator[](int i) { return v[i]; }
    __device__ const T& operator[](int i) const { return v[i]; }
};
typedef Packed<floatX> x128;
typedef Packed<float> f128;

template <typename T>
__device__ inline Packed<T> load128(const T* p) {
    EMU_CHECK_ALIGNED(p, 16, "load");
    return *reinterpret_cast<const Packed<T>*>(p);
}
// streaming load: read once, do not keep in L1/L2 (classifier logits, optimizer state)
template <typename T>
__device__ inline Packed<T> load128cs(const T* p) {
    EMU_CHECK_ALIGNED(p, 16, "streaming load");
    Packed<T> r;
    *reinterpret_cast<int4*>(&r) = __ldcs(reinterpret_cast<const int4*>(p));
    return r;
}
template <typename T>
__device__ inline void store128(T* p, Packed<T> v) {
    EMU_CHECK_ALIGNED(p, 16, "store");
    *reinterpret_cast<Packed<T>*>(p) = v;
}

// ----------------------------------------------------------------------------
// reductions (fixed order for a fixed launch shape: deterministic)

__device__ inline float warp_sum(float v) {
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}
__device__ inline float warp_max(float v) {
    for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
    return v;
}
// Sum over the whole block (blockDim.x a multiple of 32, <= 1024); every thread gets the result.
// shared must hold 32 floats; the trailing __syncthreads makes back-to-back calls safe.
__device__ inline float block_sum(float v, float* shared) {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, nwarps = blockDim.x / 32;
    v = warp_sum(v);
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    v = lane < nwarps ? shared[lane] : 0.0f;
    v = warp_sum(v);
    __syncthreads();
    return v;
}
__device__ inline float block_max(float v, float* shared) {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, nwarps = blockDim.x / 32;
    v = warp_max(v);
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    v = lane < nwarps ? shared[lane] : -INFINITY;
    v = warp_max(v);
    __syncthreads();
    return v;
}

inline int ceil_div(size_t a, size_t b) { return (int)((a + b - 1) / b); }

// ----------------------------------------------------------------------------
// ownership: device arenas free themselves

struct CudaFree {
    void operator()(void* p) const { if (p) cudaFree(p); }
};
template <typename T>
using DeviceArena = std::unique_ptr<T, CudaFree>;

// Not zeroed, as cudaMalloc: whatever must start at 0 (AdamW m and v) is zeroed by its owner,
// so the emulator's NaN poison catches a read of anything else nothing wrote.
template <typename T>
inline DeviceArena<T> device_alloc(size_t n, const char* what) {
    void* p = nullptr;
    cudaError_t err = cudaMalloc(&p, n * sizeof(T) > 0 ? n * sizeof(T) : 16);
    if (err != cudaSuccess) {
        die("cudaMalloc of %s (%.1f MiB) failed: %s", what, n * sizeof(T) / 1048576.0, cudaGetErrorString(err));
    }
    return DeviceArena<T>(static_cast<T*>(p));
}

// ----------------------------------------------------------------------------
// bf16 peak (dense tensor-core FLOP/s) by device name, for MFU. 0 = unknown (MFU not printed).
// Sources: vendor datasheets (dense, no sparsity).
struct PeakEntry {
    const char* name_contains;
    double bf16_flops;
};
constexpr PeakEntry GPU_PEAKS[] = {
    {"H200", 989e12},     {"H100 NVL", 835e12}, {"H100 PCIe", 756e12}, {"H100", 989e12},
    {"GH200", 989e12},    {"B200", 2250e12},    {"A100", 312e12},      {"A800", 312e12},
    {"L40S", 362e12},     {"L40", 181e12},      {"L4", 121e12},        {"A10G", 70e12},
    {"A10", 125e12},      {"RTX 4090", 165e12}, {"RTX 3090", 71e12},
};
inline double gpu_bf16_peak(const char* device_name) {
    for (const PeakEntry& e : GPU_PEAKS) {
        if (strstr(device_name, e.name_contains)) return e.bf16_flops;
    }
    return 0.0;
}
