// CUDA emulation (make cuda-emu): the CUDA runtime API and device built-ins the project uses,
// on the CPU, so train_gpt2.cu, test_gpt2.cu and dev/cuda/*.cu compile with g++ and run without
// a GPU or driver. Kernel execution is in emu_exec.h, fibers in emu_fiber.h, bf16 in
// cuda_bf16.h, cuBLAS/cuBLASLt in cublas_v2.h / cublasLt.h.
//
// Model: one emulated device ("CUDA emulator", sm_90 limits); device memory is host heap
// (256-byte aligned, registered so copies, memsets and kernel pointer arguments are checked
// against it, and poisoned with 0xff bytes, NaN in fp32 and bf16, so a read of memory nothing
// wrote shows up as NaN rather than a lucky zero). Every stream operation runs synchronously, in
// issue order, on the calling thread; events record the host clock. Error values and names are
// NVIDIA's.
#pragma once
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "cuda_bf16.h"
#include "emu_exec.h"
#include "library_types.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static thread_local
#define __launch_bounds__(...)
#define __align__(n) alignas(n)

typedef enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInitializationError = 3,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInvalidDevicePointer = 17,
    cudaErrorInvalidMemcpyDirection = 21,
    cudaErrorInsufficientDriver = 35,
    cudaErrorInvalidDeviceFunction = 98,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidDevice = 101,
    cudaErrorInvalidResourceHandle = 400,
    cudaErrorNotReady = 600,
    cudaErrorIllegalAddress = 700,
    cudaErrorLaunchOutOfResources = 701,
    cudaErrorMisalignedAddress = 716,
    cudaErrorLaunchFailure = 719,
} cudaError_t;

typedef enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
} cudaMemcpyKind;

typedef enum cudaFuncAttribute {
    cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
    cudaFuncAttributePreferredSharedMemoryCarveout = 9,
} cudaFuncAttribute;

struct CUstream_st {
    uint32_t magic;
};
struct CUevent_st {
    uint32_t magic;
    double ms;
    bool recorded;
    bool timing;  // false: created with cudaEventDisableTiming (no elapsed time)
};
typedef CUstream_st* cudaStream_t;
typedef CUevent_st* cudaEvent_t;

struct cudaDeviceProp {
    char name[256];
    size_t totalGlobalMem, sharedMemPerBlock, sharedMemPerBlockOptin, sharedMemPerMultiprocessor;
    int regsPerBlock, warpSize, maxThreadsPerBlock, maxThreadsDim[3], maxGridSize[3];
    int clockRate, memoryClockRate, memoryBusWidth, l2CacheSize;
    int major, minor, multiProcessorCount, maxThreadsPerMultiProcessor;
};

struct alignas(16) int4 {
    int x, y, z, w;
};
struct alignas(16) float4 {
    float x, y, z, w;
};
struct alignas(8) float2 {
    float x, y;
};
struct alignas(16) uint4 {
    unsigned int x, y, z, w;
};

namespace cuda_emu {

constexpr uint32_t STREAM_MAGIC = 0x5354524du, EVENT_MAGIC = 0x45564e54u, DEAD = 0xdeadbeefu;

inline bool stream_valid(const void* stream) {
    return stream == nullptr || static_cast<const CUstream_st*>(stream)->magic == STREAM_MAGIC;
}

// Destroyed streams and events stay allocated (so a use after destroy is recognised by its
// magic) and listed here (so LeakSanitizer sees them as reachable).
struct Graveyard {
    std::mutex mu;
    std::vector<void*> handles;
};
inline void bury(void* handle) {
    static Graveyard* g = new Graveyard();  // never destroyed: LeakSanitizer checks after static destructors
    std::lock_guard<std::mutex> lock(g->mu);
    g->handles.push_back(handle);
}

inline double host_ms() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

inline size_t host_memory_bytes() { return (size_t)sysconf(_SC_PHYS_PAGES) * (size_t)sysconf(_SC_PAGESIZE); }

// Counts of the allocation calls, for tests that a program allocates nothing after its setup
// (read with cuda_emu::api_counts()): device allocations (cudaMalloc), their high-water mark in
// bytes, and pinned host allocations (cudaMallocHost / cudaHostAlloc), live in `pinned`.
struct ApiCounts {
    long long malloc_calls = 0, free_calls = 0, host_alloc_calls = 0, host_free_calls = 0;
    size_t peak_device_bytes = 0;
    std::vector<std::pair<uintptr_t, size_t>> pinned;  // live pinned host blocks (unsorted)
};
inline ApiCounts& api_counts() {
    static ApiCounts* c = new ApiCounts();  // never destroyed, as allocations(); guarded by allocations().mu
    return *c;
}

// Misuse that a GPU would only report as an error code (a copy from a host pointer named as
// device memory, a freed stream) stops here with the call and the problem, like a cudaCheck.
[[noreturn]] inline void api_error(const char* call, const char* fmt, ...) {
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "error: CUDA emulator: %s: %s\n", call, msg);
    exit(1);
}

inline void check_device_range(const char* call, const char* which, const void* p, size_t n) {
    if (n == 0) return;
    if (find_allocation(p, n).second == 0) {
        api_error(call, "%s %p (%zu bytes) is not inside one device allocation", which, p, n);
    }
}
inline void check_host_range(const char* call, const char* which, const void* p, size_t n) {
    if (n == 0) return;
    if (find_allocation(p, 0).second != 0) api_error(call, "%s %p is device memory, but the copy kind says host", which, p);
}

inline void memcpy_checked(const char* call, void* dst, const void* src, size_t n, cudaMemcpyKind kind) {
    switch (kind) {
        case cudaMemcpyHostToDevice: check_device_range(call, "destination", dst, n); check_host_range(call, "source", src, n); break;
        case cudaMemcpyDeviceToHost: check_host_range(call, "destination", dst, n); check_device_range(call, "source", src, n); break;
        case cudaMemcpyDeviceToDevice: check_device_range(call, "destination", dst, n); check_device_range(call, "source", src, n); break;
        case cudaMemcpyHostToHost: check_host_range(call, "destination", dst, n); check_host_range(call, "source", src, n); break;
        case cudaMemcpyDefault: break;
        default: api_error(call, "invalid copy kind %d", (int)kind);
    }
    if (n) memmove(dst, src, n);
}

}  // namespace cuda_emu

inline const char* cudaGetErrorName(cudaError_t e) {
    switch (e) {
        case cudaSuccess: return "cudaSuccess";
        case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
        case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
        case cudaErrorInitializationError: return "cudaErrorInitializationError";
        case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
        case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
        case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
        case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
        case cudaErrorInvalidDeviceFunction: return "cudaErrorInvalidDeviceFunction";
        case cudaErrorNoDevice: return "cudaErrorNoDevice";
        case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
        case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
        case cudaErrorNotReady: return "cudaErrorNotReady";
        case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
        case cudaErrorLaunchOutOfResources: return "cudaErrorLaunchOutOfResources";
        case cudaErrorMisalignedAddress: return "cudaErrorMisalignedAddress";
        case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    }
    return "cudaErrorUnknown";
}
inline const char* cudaGetErrorString(cudaError_t e) {
    switch (e) {
        case cudaSuccess: return "no error";
        case cudaErrorInvalidValue: return "invalid argument";
        case cudaErrorMemoryAllocation: return "out of memory";
        case cudaErrorInvalidConfiguration: return "invalid configuration argument";
        case cudaErrorNoDevice: return "no CUDA-capable device is detected";
        case cudaErrorInvalidResourceHandle: return "invalid resource handle";
        case cudaErrorMisalignedAddress: return "misaligned address";
        case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
        default: return cudaGetErrorName(e);
    }
}
// Every failing launch or API misuse exits on the spot, so nothing is ever left pending.
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline cudaError_t cudaPeekAtLastError() { return cudaSuccess; }

// ----------------------------------------------------------------------------
// device

inline cudaError_t cudaGetDeviceCount(int* n) {
    *n = 1;
    return cudaSuccess;
}
inline cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : cudaErrorInvalidDevice; }
inline cudaError_t cudaGetDevice(int* d) {
    *d = 0;
    return cudaSuccess;
}
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int d) {
    if (d != 0) return cudaErrorInvalidDevice;
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "CUDA emulator (CPU, %d OpenMP threads)", omp_get_max_threads());
    p->totalGlobalMem = cuda_emu::host_memory_bytes();
    p->sharedMemPerBlock = cuda_emu::SMEM_DEFAULT_LIMIT;
    p->sharedMemPerBlockOptin = cuda_emu::SMEM_OPTIN_LIMIT;
    p->sharedMemPerMultiprocessor = 233472;
    p->regsPerBlock = 65536;
    p->warpSize = 32;
    p->maxThreadsPerBlock = 1024;
    p->maxThreadsDim[0] = 1024, p->maxThreadsDim[1] = 1024, p->maxThreadsDim[2] = 64;
    p->maxGridSize[0] = 2147483647, p->maxGridSize[1] = 65535, p->maxGridSize[2] = 65535;
    p->l2CacheSize = 1 << 20;  // small: the dev/cuda benchmarks flush 2x this before each repeat
    p->major = 9;
    p->minor = 0;
    p->multiProcessorCount = omp_get_max_threads();
    p->maxThreadsPerMultiProcessor = 2048;
    return cudaSuccess;
}
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
inline cudaError_t cudaDeviceReset() { return cudaSuccess; }
inline cudaError_t cudaMemGetInfo(size_t* free_b, size_t* total_b) {
    const size_t total = cuda_emu::host_memory_bytes();
    cuda_emu::Allocations& a = cuda_emu::allocations();
    std::lock_guard<std::mutex> lock(a.mu);
    *total_b = total;
    *free_b = a.bytes < total ? total - a.bytes : 0;
    return cudaSuccess;
}
template <typename F>
inline cudaError_t cudaFuncSetAttribute(F* fn, cudaFuncAttribute attr, int value) {
    if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize) return cudaSuccess;
    if (value < 0 || (size_t)value > cuda_emu::SMEM_OPTIN_LIMIT) return cudaErrorInvalidValue;
    cuda_emu::FuncAttributes& a = cuda_emu::func_attributes();
    std::lock_guard<std::mutex> lock(a.mu);
    for (auto& p : a.max_dynamic_smem) {
        if (p.first == (const void*)fn) {
            p.second = value;
            return cudaSuccess;
        }
    }
    a.max_dynamic_smem.push_back({(const void*)fn, value});
    return cudaSuccess;
}

// ----------------------------------------------------------------------------
// memory

inline cudaError_t cudaMalloc(void** p, size_t n) {
    const size_t bytes = (n + 255) / 256 * 256;
    void* m = aligned_alloc(256, bytes ? bytes : 256);
    if (!m) {
        *p = nullptr;
        return cudaErrorMemoryAllocation;
    }
    memset(m, 0xff, n);  // poison: NaN as fp32 and bf16, -1 as int
    cuda_emu::Allocations& a = cuda_emu::allocations();
    std::lock_guard<std::mutex> lock(a.mu);
    auto it = std::lower_bound(a.live.begin(), a.live.end(), std::make_pair((uintptr_t)m, (size_t)0));
    a.live.insert(it, {(uintptr_t)m, n});
    a.bytes += n;
    cuda_emu::ApiCounts& c = cuda_emu::api_counts();
    c.malloc_calls++;
    if (a.bytes > c.peak_device_bytes) c.peak_device_bytes = a.bytes;
    *p = m;
    return cudaSuccess;
}
template <typename T>
inline cudaError_t cudaMalloc(T** p, size_t n) {
    return cudaMalloc(reinterpret_cast<void**>(p), n);
}
inline cudaError_t cudaFree(void* p) {
    if (!p) return cudaSuccess;
    cuda_emu::Allocations& a = cuda_emu::allocations();
    {
        std::lock_guard<std::mutex> lock(a.mu);
        auto it = std::lower_bound(a.live.begin(), a.live.end(), std::make_pair((uintptr_t)p, (size_t)0));
        if (it == a.live.end() || it->first != (uintptr_t)p) return cudaErrorInvalidValue;
        a.bytes -= it->second;
        a.live.erase(it);
        cuda_emu::api_counts().free_calls++;
    }
    free(p);
    return cudaSuccess;
}

// Pinned (page-locked) host memory: plain host memory here, listed so cudaFreeHost can reject a
// pointer it did not hand out, and counted (cuda_emu::api_counts()). Copies from and to it are
// host-side copies like any other; on a GPU they are what lets cudaMemcpyAsync return at once.
enum { cudaHostAllocDefault = 0, cudaHostAllocPortable = 1, cudaHostAllocMapped = 2, cudaHostAllocWriteCombined = 4 };
inline cudaError_t cudaHostAlloc(void** p, size_t n, unsigned int flags) {
    if (!p) return cudaErrorInvalidValue;
    if (flags & ~7u) return cudaErrorInvalidValue;
    void* m = aligned_alloc(256, (n + 255) / 256 * 256 + (n == 0 ? 256 : 0));
    if (!m) {
        *p = nullptr;
        return cudaErrorMemoryAllocation;
    }
    cuda_emu::Allocations& a = cuda_emu::allocations();
    std::lock_guard<std::mutex> lock(a.mu);
    cuda_emu::ApiCounts& c = cuda_emu::api_counts();
    c.host_alloc_calls++;
    c.pinned.push_back({(uintptr_t)m, n});
    *p = m;
    return cudaSuccess;
}
inline cudaError_t cudaMallocHost(void** p, size_t n) { return cudaHostAlloc(p, n, cudaHostAllocDefault); }
template <typename T>
inline cudaError_t cudaMallocHost(T** p, size_t n) {
    return cudaHostAlloc(reinterpret_cast<void**>(p), n, cudaHostAllocDefault);
}
inline cudaError_t cudaFreeHost(void* p) {
    if (!p) return cudaSuccess;
    cuda_emu::Allocations& a = cuda_emu::allocations();
    {
        std::lock_guard<std::mutex> lock(a.mu);
        cuda_emu::ApiCounts& c = cuda_emu::api_counts();
        auto it = std::find_if(c.pinned.begin(), c.pinned.end(), [p](const std::pair<uintptr_t, size_t>& b) { return b.first == (uintptr_t)p; });
        if (it == c.pinned.end()) return cudaErrorInvalidValue;
        c.pinned.erase(it);
        c.host_free_calls++;
    }
    free(p);
    return cudaSuccess;
}
// The synchronous and Async forms are the same here (every stream is synchronous).
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind kind, cudaStream_t s = nullptr) {
    if (!cuda_emu::stream_valid(s)) return cudaErrorInvalidResourceHandle;
    cuda_emu::memcpy_checked("cudaMemcpy", dst, src, n, kind);
    return cudaSuccess;
}
inline cudaError_t cudaMemcpy(void* dst, const void* src, size_t n, cudaMemcpyKind kind) {
    return cudaMemcpyAsync(dst, src, n, kind);
}
inline cudaError_t cudaMemsetAsync(void* p, int value, size_t n, cudaStream_t s = nullptr) {
    if (!cuda_emu::stream_valid(s)) return cudaErrorInvalidResourceHandle;
    cuda_emu::check_device_range("cudaMemset", "destination", p, n);
    if (n) memset(p, value, n);
    return cudaSuccess;
}
inline cudaError_t cudaMemset(void* p, int value, size_t n) { return cudaMemsetAsync(p, value, n); }

// ----------------------------------------------------------------------------
// streams and events (all work is already done when a call returns)

inline cudaError_t cudaStreamCreate(cudaStream_t* s) {
    *s = new CUstream_st{cuda_emu::STREAM_MAGIC};
    return cudaSuccess;
}
enum { cudaStreamDefault = 0, cudaStreamNonBlocking = 1 };
inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned int flags) {
    if (flags > 1) return cudaErrorInvalidValue;
    return cudaStreamCreate(s);
}
inline cudaError_t cudaStreamDestroy(cudaStream_t s) {
    if (!s || s->magic != cuda_emu::STREAM_MAGIC) return cudaErrorInvalidResourceHandle;
    s->magic = cuda_emu::DEAD;
    cuda_emu::bury(s);
    return cudaSuccess;
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t s) {
    return cuda_emu::stream_valid(s) ? cudaSuccess : cudaErrorInvalidResourceHandle;
}
inline cudaError_t cudaEventCreate(cudaEvent_t* e) {
    *e = new CUevent_st{cuda_emu::EVENT_MAGIC, 0.0, false, true};
    return cudaSuccess;
}
enum { cudaEventDefault = 0, cudaEventBlockingSync = 1, cudaEventDisableTiming = 2, cudaEventInterprocess = 4 };
inline cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned int flags) {
    if (flags & ~7u) return cudaErrorInvalidValue;
    *e = new CUevent_st{cuda_emu::EVENT_MAGIC, 0.0, false, !(flags & cudaEventDisableTiming)};
    return cudaSuccess;
}
inline cudaError_t cudaEventDestroy(cudaEvent_t e) {
    if (!e || e->magic != cuda_emu::EVENT_MAGIC) return cudaErrorInvalidResourceHandle;
    e->magic = cuda_emu::DEAD;
    cuda_emu::bury(e);
    return cudaSuccess;
}
inline cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s = nullptr) {
    if (!e || e->magic != cuda_emu::EVENT_MAGIC || !cuda_emu::stream_valid(s)) return cudaErrorInvalidResourceHandle;
    e->ms = cuda_emu::host_ms();
    e->recorded = true;
    return cudaSuccess;
}
inline cudaError_t cudaEventSynchronize(cudaEvent_t e) {
    return e && e->magic == cuda_emu::EVENT_MAGIC ? cudaSuccess : cudaErrorInvalidResourceHandle;
}
// Work is done when a call returns: a recorded event is always complete.
inline cudaError_t cudaEventQuery(cudaEvent_t e) {
    return e && e->magic == cuda_emu::EVENT_MAGIC ? cudaSuccess : cudaErrorInvalidResourceHandle;
}
inline cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned int flags = 0) {
    if (!e || e->magic != cuda_emu::EVENT_MAGIC || !cuda_emu::stream_valid(s)) return cudaErrorInvalidResourceHandle;
    return flags == 0 ? cudaSuccess : cudaErrorInvalidValue;
}
inline cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t a, cudaEvent_t b) {
    if (!a || !b || a->magic != cuda_emu::EVENT_MAGIC || b->magic != cuda_emu::EVENT_MAGIC) return cudaErrorInvalidResourceHandle;
    if (!a->recorded || !b->recorded) return cudaErrorInvalidResourceHandle;
    if (!a->timing || !b->timing) return cudaErrorInvalidResourceHandle;
    *ms = (float)(b->ms - a->ms);
    return cudaSuccess;
}

// ----------------------------------------------------------------------------
// device functions

inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned int min(unsigned int a, unsigned int b) { return a < b ? a : b; }
inline unsigned int max(unsigned int a, unsigned int b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned long long min(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
inline unsigned long long max(unsigned long long a, unsigned long long b) { return a > b ? a : b; }
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }

inline unsigned int __float_as_uint(float f) {
    unsigned int u;
    memcpy(&u, &f, 4);
    return u;
}
inline float __uint_as_float(unsigned int u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}
inline int __float_as_int(float f) { return (int)__float_as_uint(f); }
inline float __int_as_float(int i) { return __uint_as_float((unsigned int)i); }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __popc(unsigned int x) { return __builtin_popcount(x); }

// cache-hint loads and stores: plain accesses here
template <typename T>
inline T __ldcs(const T* p) { return *p; }
template <typename T>
inline T __ldcg(const T* p) { return *p; }
template <typename T>
inline T __ldg(const T* p) { return *p; }
template <typename T>
inline void __stcs(T* p, T v) { *p = v; }
template <typename T>
inline void __stcg(T* p, T v) { *p = v; }

// atomics: blocks run on several OS threads at once, so these are real atomic operations
inline int atomicAdd(int* p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
inline unsigned int atomicAdd(unsigned int* p, unsigned int v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
template <typename F, typename U>
inline F atomic_float_add(F* p, F v) {
    U old = __atomic_load_n(reinterpret_cast<U*>(p), __ATOMIC_RELAXED), next;
    do {
        F f;
        memcpy(&f, &old, sizeof f);
        f += v;
        memcpy(&next, &f, sizeof f);
    } while (!__atomic_compare_exchange_n(reinterpret_cast<U*>(p), &old, next, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    F r;
    memcpy(&r, &old, sizeof r);
    return r;
}
inline float atomicAdd(float* p, float v) { return atomic_float_add<float, uint32_t>(p, v); }
inline double atomicAdd(double* p, double v) { return atomic_float_add<double, uint64_t>(p, v); }
template <typename T>
inline T atomic_max(T* p, T v) {
    T old = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (old < v && !__atomic_compare_exchange_n(p, &old, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
    return old;
}
inline int atomicMax(int* p, int v) { return atomic_max(p, v); }
inline unsigned int atomicMax(unsigned int* p, unsigned int v) { return atomic_max(p, v); }
inline int atomicCAS(int* p, int expected, int desired) {
    __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    return expected;
}
inline unsigned int atomicCAS(unsigned int* p, unsigned int expected, unsigned int desired) {
    __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    return expected;
}
inline int atomicExch(int* p, int v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }
inline int atomicOr(int* p, int v) { return __atomic_fetch_or(p, v, __ATOMIC_RELAXED); }
inline unsigned int atomicOr(unsigned int* p, unsigned int v) { return __atomic_fetch_or(p, v, __ATOMIC_RELAXED); }
inline float atomicExch(float* p, float v) {
    uint32_t r = __atomic_exchange_n(reinterpret_cast<uint32_t*>(p), __float_as_uint(v), __ATOMIC_RELAXED);
    return __uint_as_float(r);
}
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
