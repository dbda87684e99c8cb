// Tests of the CUDA emulator's execution model (llmc/cuda/emu/), built only by make cuda-emu:
// barriers and shared memory, every warp collective, 3-D grids, atomics across blocks, dynamic
// shared memory, the NaN poison of fresh allocations, bf16 rounding. Integer-valued data, so every
// expected value is exact.
// Usage: test_emu_runtime            the checks, PASS/FAIL lines, non-zero exit on a failure
//        test_emu_runtime --fault F  runs one faulty program that a GPU or compute-sanitizer
//                                    rejects; the emulator must exit 1 with one error line
//                                    (dev/test/t_cuda_emu.sh checks the line)
#include <mma.h>

#include <string>
#include <vector>

#include "llmc/cuda/common.cuh"
#include "dev/test/check.h"

// ----------------------------------------------------------------------------
// kernels under test

// out[block] = sum of in over the block's slice, via block_sum (shuffles + shared + barriers)
__global__ void block_sum_kernel(float* out, const float* in) {
    __shared__ float sh[32];
    const float v = in[blockIdx.x * blockDim.x + threadIdx.x];
    const float s = block_sum(v, sh);
    if (threadIdx.x == 0) out[blockIdx.x] = s;
}

// One warp: every collective on lane-valued data.
__global__ void warp_ops_kernel(int* out) {
    const int lane = threadIdx.x;
    int* o = out + lane * 8;
    o[0] = __shfl_xor_sync(0xffffffffu, lane, 5);
    o[1] = __shfl_down_sync(0xffffffffu, lane, 3);
    o[2] = __shfl_up_sync(0xffffffffu, lane, 2);
    o[3] = __shfl_sync(0xffffffffu, lane * 10, 7, 16);  // lane 7 of each 16-lane segment
    o[4] = (int)__ballot_sync(0xffffffffu, lane % 3 == 0);
    o[5] = __all_sync(0xffffffffu, lane < 32) + 2 * __any_sync(0xffffffffu, lane == 31) + 4 * __all_sync(0xffffffffu, lane < 31);
    const double d = __shfl_xor_sync(0xffffffffu, (double)lane + 0.5, 1);
    o[6] = (int)(d * 2.0);
    // half the warp in one collective, the other half in another (independent masks)
    if (lane < 16) o[7] = __shfl_xor_sync(0x0000ffffu, lane, 1);
    else o[7] = __shfl_xor_sync(0xffff0000u, lane, 2);
}

// Each thread writes its global linear id where its 3-D coordinates say.
__global__ void coords_kernel(int* out) {
    const int bx = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
    const int tx = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    const int threads = blockDim.x * blockDim.y * blockDim.z;
    out[bx * threads + tx] += bx * threads + tx + 1;  // += : a double visit shows
}

__global__ void atomic_kernel(int* counter, float* fsum) {
    atomicAdd(counter, 1);
    atomicAdd(fsum, 1.0f);
}

// Dynamic shared memory: thread t writes slot t, then reads its neighbour's after the barrier.
__global__ void dynamic_smem_kernel(float* out, int n) {
    float* s = dynamic_shared<float>();
    for (int i = threadIdx.x; i < n; i += blockDim.x) s[i] = (float)i;
    __syncthreads();
    for (int i = threadIdx.x; i < n; i += blockDim.x) out[i] = s[(i + 1) % n];
}
__global__ void read_dynamic_smem_kernel(float* out) { out[threadIdx.x] = dynamic_shared<float>()[threadIdx.x]; }

__global__ void copy_kernel(float* out, const float* in) { out[threadIdx.x] = in[threadIdx.x]; }

// One warp, WMMA (llmc/cuda/emu/mma.h): slot s = 2 * (A column-major) + (B column-major) gets
// D = A' B' + C stored row-major with ldm 20, where A' is a (16 x 16, ldm 24) read row- or
// column-major (A or A^T), B' likewise from b (ldm 16); slot 4: A B + C with C loaded and D
// stored column-major.
__global__ void wmma_kernel(float* out, const __nv_bfloat16* a, const __nv_bfloat16* b, const float* c) {
    using namespace nvcuda;
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> ar;
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::col_major> ac;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> br;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> bc;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    wmma::load_matrix_sync(ar, a, 24);
    wmma::load_matrix_sync(ac, a, 24);
    wmma::load_matrix_sync(br, b, 16);
    wmma::load_matrix_sync(bc, b, 16);
    for (int s = 0; s < 4; s++) {
        wmma::load_matrix_sync(acc, c, 16, wmma::mem_row_major);
        if (s == 0) wmma::mma_sync(acc, ar, br, acc);
        if (s == 1) wmma::mma_sync(acc, ar, bc, acc);
        if (s == 2) wmma::mma_sync(acc, ac, br, acc);
        if (s == 3) wmma::mma_sync(acc, ac, bc, acc);
        wmma::store_matrix_sync(out + s * 320, acc, 20, wmma::mem_row_major);
    }
    wmma::load_matrix_sync(acc, c, 16, wmma::mem_col_major);  // C^T
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> d;
    wmma::fill_fragment(d, 0.0f);
    wmma::mma_sync(d, ar, br, acc);
    wmma::store_matrix_sync(out + 4 * 320, d, 16, wmma::mem_col_major);
}

// ----------------------------------------------------------------------------
// faulty kernels

__global__ void noop_kernel(float* out) {}
__global__ void packed_load_kernel(float* out, const float* in) { store128(out, load128(in)); }
__global__ void divergent_barrier_kernel(float* out) {
    if (threadIdx.x < 16) return;
    __syncthreads();
    out[threadIdx.x] = 1.0f;
}
__global__ void warp_lane_exited_kernel(float* out) {
    if (threadIdx.x == 5) return;
    out[threadIdx.x] = warp_sum(1.0f);
}
__global__ void warp_mismatch_kernel(float* out) {
    if (threadIdx.x < 16) out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1.0f, 1);
    else __syncwarp();
}
__global__ void warp_vs_barrier_kernel(float* out) {
    if (threadIdx.x < 16) out[threadIdx.x] = warp_sum(1.0f);  // lanes 16..31 never join the shuffle
    __syncthreads();
}
__global__ void write_past_end_kernel(float* out, int n) { out[n + threadIdx.x] = 1.0f; }
__global__ void wmma_misaligned_kernel(float* out, const __nv_bfloat16* a) {
    nvcuda::wmma::fragment<nvcuda::wmma::matrix_a, 16, 16, 16, __nv_bfloat16, nvcuda::wmma::row_major> f;
    nvcuda::wmma::load_matrix_sync(f, a + 8, 16);  // 16 bytes past a 256-byte boundary
}
__global__ void wmma_divergent_kernel(float* out) {  // half a warp at a warp-collective call
    nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, 16, float> acc;
    nvcuda::wmma::fill_fragment(acc, 1.0f);
    if (threadIdx.x < 16) nvcuda::wmma::store_matrix_sync(out, acc, 16, nvcuda::wmma::mem_row_major);
}

static int run_fault(const std::string& f) {
    float* d;
    cudaCheck(cudaMalloc(&d, 1024 * sizeof(float)));
    float host[64] = {};
    if (f == "threads1025") launch_kernel(noop_kernel, 1, 1025, 0, 0, d);
    else if (f == "grid_y") launch_kernel(noop_kernel, dim3(1, 70000), 32, 0, 0, d);
    else if (f == "smem_no_optin") launch_kernel(noop_kernel, 1, 32, 64 * 1024, 0, d);
    else if (f == "smem_over_optin") {
        cudaCheck(cudaFuncSetAttribute(noop_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 100 * 1024));
        launch_kernel(noop_kernel, 1, 32, 120 * 1024, 0, d);
    } else if (f == "misaligned") launch_kernel(packed_load_kernel, 1, 1, 0, 0, d, d + 1);
    else if (f == "barrier_divergence") launch_kernel(divergent_barrier_kernel, 1, 64, 0, 0, d);
    else if (f == "warp_lane_exited") launch_kernel(warp_lane_exited_kernel, 1, 32, 0, 0, d);
    else if (f == "warp_mismatch") launch_kernel(warp_mismatch_kernel, 1, 32, 0, 0, d);
    else if (f == "warp_vs_barrier") launch_kernel(warp_vs_barrier_kernel, 1, 64, 0, 0, d);
    else if (f == "mask_past_block") launch_kernel(warp_lane_exited_kernel, 1, 16, 0, 0, d);
    else if (f == "host_pointer") launch_kernel(noop_kernel, 1, 32, 0, 0, host);
    else if (f == "memcpy_kind") cudaCheck(cudaMemcpy(host, d, sizeof host, cudaMemcpyHostToDevice));
    else if (f == "write_past_end") launch_kernel(write_past_end_kernel, 1, 32, 0, 0, d, 1024);
    else if (f == "wmma_misaligned") launch_kernel(wmma_misaligned_kernel, 1, 32, 0, 0, d, (const __nv_bfloat16*)d);
    else if (f == "wmma_divergent") launch_kernel(wmma_divergent_kernel, 1, 32, 0, 0, d);
    else die("unknown fault %s", f.c_str());
    cudaCheck(cudaDeviceSynchronize());
    printf("fault %s: no error raised\n", f.c_str());
    return 0;
}

// ----------------------------------------------------------------------------

template <typename T>
static std::vector<T> download(const T* d, size_t n) {
    std::vector<T> h(n);
    cudaCheck(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
}

// Every thread sets its bit of its block's word; block b's word ends up (1 << blockDim.x) - 1.
__global__ void atomic_or_kernel(unsigned* words) { atomicOr(&words[blockIdx.x % 4], 1u << threadIdx.x); }

int main(int argc, char** argv) {
    if (argc == 3 && !strcmp(argv[1], "--fault")) return run_fault(argv[2]);

    {  // block_sum: 1024-thread blocks, integer values: exact sums
        const int blocks = 37, threads = 1024;
        std::vector<float> in((size_t)blocks * threads);
        for (size_t i = 0; i < in.size(); i++) in[i] = (float)(i % 7);
        float *d_in, *d_out;
        cudaCheck(cudaMalloc(&d_in, in.size() * sizeof(float)));
        cudaCheck(cudaMalloc(&d_out, blocks * sizeof(float)));
        cudaCheck(cudaMemcpy(d_in, in.data(), in.size() * sizeof(float), cudaMemcpyHostToDevice));
        launch_kernel(block_sum_kernel, blocks, threads, 0, 0, d_out, d_in);
        std::vector<float> out = download(d_out, blocks);
        int bad = 0;
        for (int b = 0; b < blocks; b++) {
            double want = 0;
            for (int t = 0; t < threads; t++) want += in[(size_t)b * threads + t];
            bad += out[b] != (float)want;
        }
        check("emu_block_sum", bad == 0, "%d of %d blocks wrong", bad, blocks);
        cudaCheck(cudaFree(d_in));
        cudaCheck(cudaFree(d_out));
    }
    {  // fast path: a kernel whose threads never wait runs each block on one fiber, resumed once;
       // a block that reduces through barriers and shuffles resumes its threads many times
        const int blocks = 37, threads = 1024;
        float *d, *sums;
        cudaCheck(cudaMalloc(&d, (size_t)blocks * threads * sizeof(float)));
        cudaCheck(cudaMalloc(&sums, blocks * sizeof(float)));
        const long long r0 = cuda_emu::fiber_resumes();
        launch_kernel(copy_kernel, blocks, threads, 0, 0, d, d);
        const long long fast = cuda_emu::fiber_resumes() - r0;
        launch_kernel(block_sum_kernel, blocks, threads, 0, 0, sums, d);
        const long long slow = cuda_emu::fiber_resumes() - r0 - fast;
        check("emu_fast_path_no_switches", fast == blocks && slow > (long long)blocks * threads,
              "barrier-free kernel: %lld fiber resumes for %d blocks of %d threads; block_sum: %lld", fast, blocks, threads, slow);
        cudaCheck(cudaFree(d));
        cudaCheck(cudaFree(sums));
    }
    {  // warp collectives
        int* d;
        cudaCheck(cudaMalloc(&d, 32 * 8 * sizeof(int)));
        launch_kernel(warp_ops_kernel, 1, 32, 0, 0, d);
        std::vector<int> o = download(d, 32 * 8);
        unsigned ballot = 0;
        for (int l = 0; l < 32; l++) ballot |= (l % 3 == 0) << l;
        int bad[8] = {};
        for (int l = 0; l < 32; l++) {
            const int* r = &o[l * 8];
            bad[0] += r[0] != (l ^ 5);
            bad[1] += r[1] != (l + 3 < 32 ? l + 3 : l);
            bad[2] += r[2] != (l >= 2 ? l - 2 : l);
            bad[3] += r[3] != ((l & ~15) + 7) * 10;
            bad[4] += (unsigned)r[4] != ballot;
            bad[5] += r[5] != 1 + 2 + 0;
            bad[6] += r[6] != 2 * (l ^ 1) + 1;
            bad[7] += r[7] != (l < 16 ? l ^ 1 : l ^ 2);
        }
        const char* names[8] = {"xor", "down", "up", "idx_width16", "ballot", "all_any", "xor_double", "split_masks"};
        for (int i = 0; i < 8; i++) {
            char name[64];
            snprintf(name, sizeof name, "emu_warp_%s", names[i]);
            check(name, bad[i] == 0, "%d of 32 lanes wrong", bad[i]);
        }
        cudaCheck(cudaFree(d));
    }
    {  // 3-D grid and block: every slot written once, with its own id
        const dim3 grid(3, 4, 2), block(8, 4, 2);
        const size_t n = 3 * 4 * 2 * 8 * 4 * 2;
        int* d;
        cudaCheck(cudaMalloc(&d, n * sizeof(int)));
        cudaCheck(cudaMemset(d, 0, n * sizeof(int)));
        launch_kernel(coords_kernel, grid, block, 0, 0, d);
        std::vector<int> o = download(d, n);
        int bad = 0;
        for (size_t i = 0; i < n; i++) bad += o[i] != (int)i + 1;
        check("emu_grid_block_3d", bad == 0, "%d of %zu slots wrong", bad, n);
        cudaCheck(cudaFree(d));
    }
    {  // atomics from blocks running on several OS threads
        int* c;
        float* f;
        cudaCheck(cudaMalloc(&c, sizeof(int)));
        cudaCheck(cudaMalloc(&f, sizeof(float)));
        cudaCheck(cudaMemset(c, 0, sizeof(int)));
        cudaCheck(cudaMemset(f, 0, sizeof(float)));
        launch_kernel(atomic_kernel, 256, 128, 0, 0, c, f);
        const int count = download(c, 1)[0];
        const float fsum = download(f, 1)[0];
        check("emu_atomics", count == 256 * 128 && fsum == 256.0f * 128, "int %d float %.1f (want %d)", count, fsum, 256 * 128);
        cudaCheck(cudaFree(c));
        cudaCheck(cudaFree(f));
    }
    {  // dynamic shared memory above 48 KiB with the opt-in; unwritten dynamic shared reads NaN
        const int n = 20000;  // 80 KB
        float* d;
        cudaCheck(cudaMalloc(&d, n * sizeof(float)));
        cudaCheck(cudaFuncSetAttribute(dynamic_smem_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, n * (int)sizeof(float)));
        launch_kernel(dynamic_smem_kernel, 2, 256, n * sizeof(float), 0, d, n);
        std::vector<float> o = download(d, n);
        int bad = 0;
        for (int i = 0; i < n; i++) bad += o[i] != (float)((i + 1) % n);
        check("emu_dynamic_smem_80k", bad == 0, "%d of %d wrong", bad, n);
        launch_kernel(read_dynamic_smem_kernel, 1, 32, 32 * sizeof(float), 0, d);
        o = download(d, 32);
        int nan = 0;
        for (int i = 0; i < 32; i++) nan += std::isnan(o[i]);
        check("emu_dynamic_smem_poisoned", nan == 32, "%d of 32 unwritten shared floats read as NaN", nan);
        cudaCheck(cudaFree(d));
    }
    {  // fresh device memory is NaN (fp32 and bf16), so a read of unwritten memory shows
        float *a, *b;
        cudaCheck(cudaMalloc(&a, 64 * sizeof(float)));
        cudaCheck(cudaMalloc(&b, 64 * sizeof(float)));
        launch_kernel(copy_kernel, 1, 64, 0, 0, b, a);
        std::vector<float> o = download(b, 64);
        int nan = 0;
        for (float x : o) nan += std::isnan(x);
        __nv_bfloat16* h;
        cudaCheck(cudaMalloc(&h, 8 * sizeof(__nv_bfloat16)));
        std::vector<__nv_bfloat16> hb = download(h, 8);
        int nan_bf = 0;
        for (auto x : hb) nan_bf += std::isnan(__bfloat162float(x));
        check("emu_fresh_memory_is_nan", nan == 64 && nan_bf == 8, "fp32 %d/64, bf16 %d/8", nan, nan_bf);
        cudaCheck(cudaFree(a));
        cudaCheck(cudaFree(b));
        cudaCheck(cudaFree(h));
    }
    {  // WMMA: every layout against a loop; small integers, so every sum is exact
        std::vector<__nv_bfloat16> a(16 * 24), b(16 * 16);
        std::vector<float> af(16 * 24), bf(16 * 16), c(16 * 16);
        for (int i = 0; i < 16 * 24; i++) a[i] = __float2bfloat16_rn(af[i] = (float)((i * 7) % 9 - 4));
        for (int i = 0; i < 16 * 16; i++) b[i] = __float2bfloat16_rn(bf[i] = (float)((i * 5) % 7 - 3));
        for (int i = 0; i < 16 * 16; i++) c[i] = (float)(i % 11 - 5);
        __nv_bfloat16 *d_a, *d_b;
        float *d_c, *d_out;
        cudaCheck(cudaMalloc(&d_a, a.size() * sizeof(__nv_bfloat16)));
        cudaCheck(cudaMalloc(&d_b, b.size() * sizeof(__nv_bfloat16)));
        cudaCheck(cudaMalloc(&d_c, c.size() * sizeof(float)));
        cudaCheck(cudaMalloc(&d_out, 5 * 320 * sizeof(float)));
        cudaCheck(cudaMemcpy(d_a, a.data(), a.size() * sizeof(__nv_bfloat16), cudaMemcpyHostToDevice));
        cudaCheck(cudaMemcpy(d_b, b.data(), b.size() * sizeof(__nv_bfloat16), cudaMemcpyHostToDevice));
        cudaCheck(cudaMemcpy(d_c, c.data(), c.size() * sizeof(float), cudaMemcpyHostToDevice));
        launch_kernel(wmma_kernel, 1, 32, 0, 0, d_out, d_a, d_b, d_c);
        std::vector<float> o = download(d_out, 5 * 320);
        int bad = 0;
        for (int s = 0; s < 5; s++) {
            const bool at = s == 2 || s == 3, bt = s == 1 || s == 3;
            for (int i = 0; i < 16; i++) {
                for (int j = 0; j < 16; j++) {
                    float want = s == 4 ? c[j * 16 + i] : c[i * 16 + j];
                    for (int k = 0; k < 16; k++) want += (at ? af[k * 24 + i] : af[i * 24 + k]) * (bt ? bf[j * 16 + k] : bf[k * 16 + j]);
                    bad += (s == 4 ? o[4 * 320 + j * 16 + i] : o[s * 320 + i * 20 + j]) != want;
                }
            }
        }
        check("emu_wmma_layouts", bad == 0, "%d of 1280 elements wrong (row/col-major A and B, accumulator load/store both ways)", bad);
        cudaCheck(cudaFree(d_a));
        cudaCheck(cudaFree(d_b));
        cudaCheck(cudaFree(d_c));
        cudaCheck(cudaFree(d_out));
    }
    {  // bf16 round to nearest even, as cvt.rn.bf16.f32
        struct Case {
            uint32_t in;
            uint16_t out;
        } cases[] = {
            {0x3f800000u, 0x3f80u},  // 1.0 exact
            {0x3f808000u, 0x3f80u},  // halfway, even below: down
            {0x3f818000u, 0x3f82u},  // halfway, odd below: up
            {0x3f808001u, 0x3f81u},  // above halfway: up
            {0x7f7fffffu, 0x7f80u},  // FLT_MAX rounds to inf
            {0xff800000u, 0xff80u},  // -inf
            {0x7fc00001u, 0x7fffu},  // NaN -> canonical
            {0x00000001u, 0x0000u},  // smallest denormal rounds to 0
        };
        int bad = 0;
        for (const Case& c : cases) {
            float f;
            memcpy(&f, &c.in, 4);
            bad += __bfloat16_as_ushort(__float2bfloat16_rn(f)) != c.out;
        }
        check("emu_bf16_round_nearest_even", bad == 0, "%d of %zu cases wrong", bad, sizeof cases / sizeof cases[0]);
    }
    {  // pinned host memory, asynchronous copies on a stream, events, and the allocation counts
        const cuda_emu::ApiCounts& c = cuda_emu::api_counts();
        const long long hosts0 = c.host_alloc_calls, frees0 = c.host_free_calls, mallocs0 = c.malloc_calls;
        int *pinned = nullptr, *back = nullptr, *dev = nullptr;
        cudaCheck(cudaMallocHost(&pinned, 1000 * sizeof(int)));
        cudaCheck(cudaHostAlloc((void**)&back, 1000 * sizeof(int), cudaHostAllocDefault));
        cudaCheck(cudaMalloc(&dev, 1000 * sizeof(int)));
        for (int i = 0; i < 1000; i++) pinned[i] = 3 * i + 1;
        cudaStream_t st;
        cudaEvent_t copied, t0, t1;
        cudaCheck(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
        cudaCheck(cudaEventCreateWithFlags(&copied, cudaEventDisableTiming));
        cudaCheck(cudaEventCreate(&t0));
        cudaCheck(cudaEventCreate(&t1));
        cudaCheck(cudaEventRecord(t0, st));
        cudaCheck(cudaMemcpyAsync(dev, pinned, 1000 * sizeof(int), cudaMemcpyHostToDevice, st));
        cudaCheck(cudaEventRecord(copied, st));
        cudaCheck(cudaStreamWaitEvent(nullptr, copied, 0));
        cudaCheck(cudaMemcpyAsync(back, dev, 1000 * sizeof(int), cudaMemcpyDeviceToHost, st));
        cudaCheck(cudaEventRecord(t1, st));
        cudaCheck(cudaEventSynchronize(t1));
        int bad = 0;
        for (int i = 0; i < 1000; i++) bad += back[i] != 3 * i + 1;
        float ms = -1.0f;
        const bool timed = cudaEventElapsedTime(&ms, t0, t1) == cudaSuccess && ms >= 0.0f;
        const bool untimed = cudaEventElapsedTime(&ms, t0, copied) == cudaErrorInvalidResourceHandle;  // as a GPU
        const bool query = cudaEventQuery(copied) == cudaSuccess;
        const bool refuses = cudaFreeHost(dev) == cudaErrorInvalidValue;  // not pinned memory
        cudaCheck(cudaFreeHost(pinned));
        cudaCheck(cudaFreeHost(back));
        check("emu_pinned_async_copies", bad == 0 && query, "%d of 1000 values wrong after pinned -> device -> pinned", bad);
        check("emu_events_timing_flags", timed && untimed, "elapsed between timed events %s, with a DisableTiming event %s",
              timed ? "ok" : "failed", untimed ? "refused" : "not refused");
        check("emu_pinned_counted", c.host_alloc_calls - hosts0 == 2 && c.host_free_calls - frees0 == 2 && refuses &&
              c.malloc_calls - mallocs0 == 1 && c.peak_device_bytes >= 1000 * sizeof(int),
              "pinned allocs %lld frees %lld, device mallocs %lld, cudaFreeHost of device memory %s",
              c.host_alloc_calls - hosts0, c.host_free_calls - frees0, c.malloc_calls - mallocs0, refuses ? "refused" : "accepted");
        cudaCheck(cudaEventDestroy(copied));
        cudaCheck(cudaEventDestroy(t0));
        cudaCheck(cudaEventDestroy(t1));
        cudaCheck(cudaStreamDestroy(st));
        cudaCheck(cudaFree(dev));
    }
    {  // atomicOr across blocks running on several threads
        unsigned* words;
        cudaCheck(cudaMalloc(&words, 4 * sizeof(unsigned)));
        cudaCheck(cudaMemset(words, 0, 4 * sizeof(unsigned)));
        launch_kernel(atomic_or_kernel, 64, 32, 0, 0, words);
        std::vector<unsigned> w = download(words, 4);
        check("emu_atomic_or", w[0] == 0xffffffffu && w[1] == 0xffffffffu && w[2] == 0xffffffffu && w[3] == 0xffffffffu,
              "words %08x %08x %08x %08x", w[0], w[1], w[2], w[3]);
        cudaCheck(cudaFree(words));
    }
    return test_exit_code();
}
