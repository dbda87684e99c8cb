// Fused causal self-attention, forward and backward, in the manner of FlashAttention-2 (Dao,
// "FlashAttention-2: Faster Attention with Better Parallelism and Work Partitioning", 2023; our
// own code from the paper's algorithm). Selected with -fa 1 (the trainer's default); -fa 0 runs
// attention.cuh (cuBLAS + softmax, the (B, NH, T, T) matrix in device memory).
//
// The same tensors as attention.cuh, so the rest of the model is unchanged:
//   qkv  (B, T, 3C) = [q | k | v] along 3C, heads contiguous: q of (b, t, h) is
//        qkv[(b*T + t)*3C + h*hs + i], k and v sit C and 2C further. Read in place (no permute).
//   out  (B, T, C), head h in columns [h*hs, (h+1)*hs). Written in place (no unpermute).
//   scale multiplies the scores q.k: 1/sqrt(hs) standard, 1/hs under muP (attention_scale in
//        llmc/model/model.h); an argument of every kernel, the backward's the forward's.
//   lse  (B, NH, T) fp32: each query row's log-sum-exp of its scaled scores (natural log), saved
//        by the forward for the backward. It replaces att (B, NH, T, T): nothing of size T x T is
//        ever in device memory.
//   dqkv (B, T, 3C) SET by the backward, as attention_backward does.
// Head sizes 16, 32, 64 (GPT-2 is 64 at every size); flash_attention_supported() says which.
//
// Tiles. A block is 4 warps (128 threads); each warp owns 16 rows of a 64-row tile (BR = BC =
// 64). Lane l of a warp works on row r = l / 2 of the warp's 16, half h = l % 2: score columns
// [32h, 32h + 32) of a 64-wide tile, and output columns [h*hs/2, (h+1)*hs/2). Tiles live in
// dynamic shared memory, rows padded by 8 elements (16 bytes) against bank conflicts.
// Matrix products are warp-wide 16 x 16 x 16 steps:
//   - tensor cores (TC = true, BF16, sm_80+ or the emulator): nvcuda::wmma, bf16 fragments, fp32
//     accumulators; products that must be combined row by row (scores, the PV update of the
//     forward) are stored to a per-warp fp32 scratch tile, since a fragment's layout is opaque.
//   - CUDA cores (TC = false: the FP32 build, exact fp32 math; or BF16 without tensor cores):
//     each lane computes its own elements of the same scratch tile with fp32 FMAs.
// Both sum each product in k order starting from the accumulator, so the emulator (which sums
// a WMMA product that way too) gives bit-identical results for the two; a GPU's tensor cores
// sum in their own order.
//
// Forward (one block per (b, h, 64-row query tile), the longest rows scheduled first). For each
// key/value tile j <= the diagonal, per query row, in log2 units (s = q.k * scale * log2 e):
//   m_new = max(m, max_j s)          running maximum
//   p     = 2^(s - m_new)            this tile's unnormalized probabilities (bf16 for P V)
//   l     = l * 2^(m - m_new) + sum p
//   o     = o * 2^(m - m_new) + P V_j
// then out = o / l and lse = (m + log2 l) * ln 2. Masked columns (key > query, or key >= T:
// a last tile that T leaves partial) get p = 0; rows >= T are computed on zeros and never written.
//
// Backward (FA-2, deterministic: no atomics, every output element written by one thread).
//   1. delta = rowsum(dout * out) (B, NH, T): one thread per (b, t, h).
//   2. dK, dV: one block per (b, h, 64-row key tile); each warp owns 16 key rows and keeps its
//      dK, dV (16 x hs each) in accumulators over every query tile at or after the diagonal:
//        P^T  = exp(K Q^T * scale - lse)      recomputed from the saved lse, masked
//        dV  += P^T dO
//        dP^T = V dO^T
//        dS^T = P^T * (dP^T - delta)
//        dK  += dS^T Q                      (times scale at the end)
//   3. dQ: one block per (b, h, 64-row query tile), each warp 16 query rows, over key tiles up
//      to the diagonal: P and dP recomputed the same way, dQ += dS K (times scale).
// Splitting dQ from dK/dV recomputes QK^T and dO V^T once more (7 tile products instead of 5)
// but needs no atomicAdd on dQ: the same inputs give the same bits on every run.
#pragma once
#include <mma.h>

#include <algorithm>

#include "common.cuh"

// WMMA with bf16 fragments needs sm_80 (and is what the emulator provides, llmc/cuda/emu/mma.h).
// The host pass of nvcc sees the declarations too; a device pass for an older GPU compiles the
// CUDA-core path in place of the tensor-core one.
#if defined(CUDA_EMU) || !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
#define FLASH_WMMA 1
#else
#define FLASH_WMMA 0
#endif

namespace flash {
constexpr int BR = 64;        // query rows per tile
constexpr int BC = 64;        // key/value rows per tile
constexpr int WARPS = 4;      // per block; warp w owns rows [16w, 16w + 16) of a tile
constexpr int THREADS = WARPS * 32;
constexpr int LDP = BC + 8;   // row stride (elements) of the per-warp floatX P / dS tiles
constexpr float LOG2E = 1.4426950408889634f, LN2 = 0.6931471805599453f;
static_assert(BR == BC && BR == 16 * WARPS, "one 16-row slice per warp; square tiles keep the diagonal simple");

template <int HS> __host__ __device__ constexpr int ldx() { return HS + 8; }                  // floatX tiles (Q, K, V, dO)
template <int HS> __host__ __device__ constexpr int lds() { return (HS > BC ? HS : BC) + 4; }  // per-warp fp32 scratch
__host__ __device__ constexpr size_t align128(size_t bytes) { return (bytes + 127) / 128 * 128; }

// Dynamic shared memory per kernel (bytes, 128 more for aligning the base). Every region starts
// 128-byte aligned (WMMA pointers must be 32-byte aligned).
template <int HS>
struct Smem {
    static constexpr size_t tile = align128((size_t)BR * ldx<HS>() * sizeof(floatX));  // 64 rows of Q, K, V or dO
    static constexpr size_t scratch = align128((size_t)16 * lds<HS>() * sizeof(float)); // per warp: S, dP, PV, dK...
    static constexpr size_t ptile = align128((size_t)16 * LDP * sizeof(floatX));        // per warp: P or dS
    static constexpr size_t rows = align128((size_t)BR * sizeof(float));                // 64 floats (lse, delta)
    static constexpr size_t forward = 3 * tile + WARPS * (scratch + ptile) + 128;      // Q, K, V
    static constexpr size_t dkdv = 4 * tile + 2 * rows + WARPS * (scratch + ptile) + 128;  // K, V, Q, dO
    static constexpr size_t dq = 4 * tile + WARPS * (scratch + ptile) + 128;           // Q, dO, K, V
};

__device__ inline char* smem_base() {
    return reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(dynamic_shared<char>()) + 127) & ~(uintptr_t)127);
}

// All threads of the block: rows [row0, row0 + 64) of a (T, stride) row-major source (the head's
// first column already applied) into a 64 x ldx tile; rows >= T are zero-filled.
template <int HS>
__device__ inline void load_tile(floatX* dst, const floatX* src, size_t stride, int row0, int T) {
    constexpr int CHUNKS = HS / x128::size;  // 16-byte packs per row
    for (int i = threadIdx.x; i < BR * CHUNKS; i += blockDim.x) {
        const int row = i / CHUNKS, ch = i % CHUNKS;
        x128 v;
        if (row0 + row < T) {
            v = load128(src + (size_t)(row0 + row) * stride + ch * x128::size);
        } else {
            for (int k = 0; k < x128::size; k++) v[k] = from_float<floatX>(0.0f);
        }
        store128(dst + row * ldx<HS>() + ch * x128::size, v);
    }
}

// A warp's 16 x HS fp32 accumulator, acc += A (16 x 16k) @ B (16k x HS, row-major), summed in
// k order. TC: HS/16 WMMA accumulator fragments. CUDA cores: lane (r, half) holds row r, columns
// [half*HS/2, (half+1)*HS/2) in registers.
template <int HS, bool TC, typename T>
struct WarpAcc {
    float v[HS / 2];
    __device__ void zero() {
        for (int i = 0; i < HS / 2; i++) v[i] = 0.0f;
    }
    // k blocks [k_lo, k_hi) of A's columns and B's rows
    __device__ void add_ab(const T* A, int lda, const T* B, int ldb, int k_lo, int k_hi) {
        const int lane = threadIdx.x % 32, r = lane / 2, c0 = (lane % 2) * (HS / 2);
        for (int i = 0; i < HS / 2; i++) {
            float acc = v[i];
            for (int k = 16 * k_lo; k < 16 * k_hi; k++) acc += to_float(A[r * lda + k]) * to_float(B[(size_t)k * ldb + c0 + i]);
            v[i] = acc;
        }
    }
    __device__ void store(float* C, int ldc) const {
        const int lane = threadIdx.x % 32, r = lane / 2, c0 = (lane % 2) * (HS / 2);
        for (int i = 0; i < HS / 2; i++) C[r * ldc + c0 + i] = v[i];
    }
};

#if FLASH_WMMA
template <int HS, typename T>
struct WarpAcc<HS, true, T> {
    static_assert(std::is_same<T, __nv_bfloat16>::value, "tensor-core attention is bf16");
    nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, 16, float> f[HS / 16];
    __device__ void zero() {
        for (int n = 0; n < HS / 16; n++) nvcuda::wmma::fill_fragment(f[n], 0.0f);
    }
    __device__ void add_ab(const T* A, int lda, const T* B, int ldb, int k_lo, int k_hi) {
        using namespace nvcuda;
        for (int k = k_lo; k < k_hi; k++) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
            wmma::load_matrix_sync(a, A + k * 16, lda);
            for (int n = 0; n < HS / 16; n++) {
                wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> b;
                wmma::load_matrix_sync(b, B + (size_t)k * 16 * ldb + n * 16, ldb);
                wmma::mma_sync(f[n], a, b, f[n]);
            }
        }
    }
    __device__ void store(float* C, int ldc) const {
        for (int n = 0; n < HS / 16; n++) nvcuda::wmma::store_matrix_sync(C + n * 16, f[n], ldc, nvcuda::wmma::mem_row_major);
    }
};
#endif

// C (16 rows, fp32, ldc), column blocks [n_lo, n_hi) of 16 = A (16 x HS) @ B^T, where B holds
// rows of HS elements (row n of B is column n of B^T): scores Q K^T, dO V^T and their transposes.
template <int HS, bool TC, typename T>
__device__ inline void warp_mm_abt(float* C, int ldc, const T* A, int lda, const T* B, int ldb, int n_lo, int n_hi) {
    if constexpr (TC && FLASH_WMMA) {
#if FLASH_WMMA
        using namespace nvcuda;
        for (int n = n_lo; n < n_hi; n++) {
            wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
            wmma::fill_fragment(acc, 0.0f);
            for (int k = 0; k < HS / 16; k++) {
                wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
                wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> b;  // B^T: B's rows are its columns
                wmma::load_matrix_sync(a, A + k * 16, lda);
                wmma::load_matrix_sync(b, B + (size_t)n * 16 * ldb + k * 16, ldb);
                wmma::mma_sync(acc, a, b, acc);
            }
            wmma::store_matrix_sync(C + n * 16, acc, ldc, wmma::mem_row_major);
        }
#endif
    } else {
        const int lane = threadIdx.x % 32, r = lane / 2, half = lane % 2;
        const int c_lo = max(16 * n_lo, 32 * half), c_hi = min(16 * n_hi, 32 * half + 32);
        for (int c = c_lo; c < c_hi; c++) {
            float s = 0.0f;
            for (int k = 0; k < HS; k++) s += to_float(A[r * lda + k]) * to_float(B[(size_t)c * ldb + k]);
            C[r * ldc + c] = s;
        }
    }
}

// Block index -> (b, h, tile). Blocks are ordered tile-major so that the tiles with the most
// work start first across all heads: reverse order for query tiles (the last rows see the most
// keys), forward order for key tiles (the first keys are seen by the most queries).
struct TileIndex {
    int b, h, tile;
};
__device__ inline TileIndex tile_index(int B, int NH, int ntiles, bool reverse) {
    const int bh = blockIdx.x % (B * NH), rank = blockIdx.x / (B * NH);
    return TileIndex{bh / NH, bh % NH, reverse ? ntiles - 1 - rank : rank};
}
}  // namespace flash

// ----------------------------------------------------------------------------
// kernels

// out (B, T, C), lse (B, NH, T) from qkv (B, T, 3C). Grid: ceil(T/64) * B * NH blocks of 128.
template <int HS, bool TC>
__global__ void __launch_bounds__(flash::THREADS)
    flash_attention_forward_kernel(floatX* out, float* lse, const floatX* qkv, int B, int T, int NH, float scale) {
    using namespace flash;
    constexpr int LDX = ldx<HS>(), LDS = lds<HS>();
    using S = Smem<HS>;
    const int C = NH * HS, ntiles = (T + BR - 1) / BR;
    const TileIndex ti = tile_index(B, NH, ntiles, true);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, r = lane / 2, half = lane % 2;
    char* sm = smem_base();
    floatX* Qs = reinterpret_cast<floatX*>(sm);
    floatX* Ks = reinterpret_cast<floatX*>(sm + S::tile);
    floatX* Vs = reinterpret_cast<floatX*>(sm + 2 * S::tile);
    float* Sw = reinterpret_cast<float*>(sm + 3 * S::tile + warp * S::scratch);                     // this warp's
    floatX* Pw = reinterpret_cast<floatX*>(sm + 3 * S::tile + WARPS * S::scratch + warp * S::ptile);  // this warp's

    const size_t stride = 3 * (size_t)C;
    const floatX* q_base = qkv + (size_t)ti.b * T * stride + ti.h * HS;
    const int q_tile0 = ti.tile * BR;
    load_tile<HS>(Qs, q_base, stride, q_tile0, T);

    const int q0 = q_tile0 + warp * 16;  // this warp's first query row
    const bool active = q0 < T;           // (warp-uniform) rows past T: only the barriers
    const int row_t = q0 + r;             // this lane's query row
    const int last_row = min(q0 + 15, T - 1);
    const float sl2 = LOG2E * scale;  // scores in log2 units: exp(x) = 2^(x log2 e)
    float m = -INFINITY, l = 0.0f, o[HS / 2];
    for (int i = 0; i < HS / 2; i++) o[i] = 0.0f;

    const int j_last = min(q_tile0 + BR - 1, T - 1) / BC;  // causal: key tiles up to the diagonal
    for (int j = 0; j <= j_last; j++) {
        __syncthreads();  // every warp is done with the previous K, V
        load_tile<HS>(Ks, q_base + C, stride, j * BC, T);
        load_tile<HS>(Vs, q_base + 2 * C, stride, j * BC, T);
        __syncthreads();
        if (!active) continue;
        const int n_hi = min(BC / 16, (last_row - j * BC) / 16 + 1);  // 16-column blocks any row of the warp sees
        // S = Q K^T for this warp's 16 rows
        warp_mm_abt<HS, TC>(Sw, LDS, Qs + warp * 16 * LDX, LDX, Ks, LDX, 0, n_hi);
        __syncwarp();
        float s[32], mx = -INFINITY;
        for (int c = 0; c < 32; c++) {
            const int cl = 32 * half + c, col = j * BC + cl;
            s[c] = (col <= row_t && col < T) ? Sw[r * LDS + cl] * sl2 : -INFINITY;
            mx = fmaxf(mx, s[c]);
        }
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));  // the other half of the row
        const float m_new = fmaxf(m, mx);
        const float m_use = m_new == -INFINITY ? 0.0f : m_new;  // nothing seen yet: keep p = 0, no NaN
        const float alpha = exp2f(m - m_use);
        float sum = 0.0f;
        for (int c = 0; c < 32; c++) {
            const float p = exp2f(s[c] - m_use);
            Pw[r * LDP + 32 * half + c] = from_float<floatX>(p);
            sum += p;
        }
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        l = l * alpha + sum;
        m = m_new;
        __syncwarp();  // P complete before the product reads it
        // PV (16 x HS) into the scratch tile, then o = o * alpha + PV
        WarpAcc<HS, TC, floatX> pv;
        pv.zero();
        pv.add_ab(Pw, LDP, Vs, LDX, 0, n_hi);
        pv.store(Sw, LDS);
        __syncwarp();
        for (int i = 0; i < HS / 2; i++) o[i] = o[i] * alpha + Sw[r * LDS + half * (HS / 2) + i];
        __syncwarp();  // scratch read before the next tile's S overwrites it
    }
    if (active && row_t < T) {
        const float inv = 1.0f / l;
        floatX* dst = out + ((size_t)ti.b * T + row_t) * C + ti.h * HS + half * (HS / 2);
        for (int i = 0; i < HS / 2; i += x128::size) {
            x128 pk;
            for (int k = 0; k < x128::size; k++) pk[k] = from_float<floatX>(o[i + k] * inv);
            store128(dst + i, pk);
        }
        if (half == 0) lse[((size_t)ti.b * NH + ti.h) * T + row_t] = (m + log2f(l)) * LN2;
    }
}

// delta (B, NH, T) = rowsum(dout * out) per (b, t, h): one thread per row, 16-byte loads.
template <int HS>
__global__ void flash_attention_delta_kernel(float* delta, const floatX* dout, const floatX* out, int B, int T, int NH) {
    const size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (size_t)B * T * NH) return;
    const int h = idx % NH;
    const size_t bt = idx / NH;
    const int t = bt % T, b = bt / T;
    const size_t off = bt * NH * HS + (size_t)h * HS;  // (b, t) row of (B, T, C), head h
    float sum = 0.0f;
    for (int i = 0; i < HS; i += x128::size) {
        const x128 d = load128(dout + off + i), o = load128(out + off + i);
        for (int k = 0; k < x128::size; k++) sum += to_float(d[k]) * to_float(o[k]);
    }
    delta[((size_t)b * NH + h) * T + t] = sum;
}

// dK, dV parts of dqkv (SET). Grid: ceil(T/64) * B * NH blocks of 128.
template <int HS, bool TC>
__global__ void __launch_bounds__(flash::THREADS)
    flash_attention_backward_dkdv_kernel(floatX* dqkv, const floatX* dout, const floatX* qkv, const float* lse,
                                         const float* delta, int B, int T, int NH, float scale) {
    using namespace flash;
    constexpr int LDX = ldx<HS>(), LDS = lds<HS>();
    using S = Smem<HS>;
    const int C = NH * HS, ntiles = (T + BR - 1) / BR;
    const TileIndex ti = tile_index(B, NH, ntiles, false);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, r = lane / 2, half = lane % 2;
    char* sm = smem_base();
    floatX* Ks = reinterpret_cast<floatX*>(sm);
    floatX* Vs = reinterpret_cast<floatX*>(sm + S::tile);
    floatX* Qs = reinterpret_cast<floatX*>(sm + 2 * S::tile);
    floatX* dOs = reinterpret_cast<floatX*>(sm + 3 * S::tile);
    float* lse_s = reinterpret_cast<float*>(sm + 4 * S::tile);  // log2 units
    float* delta_s = reinterpret_cast<float*>(sm + 4 * S::tile + S::rows);
    char* per_warp = sm + 4 * S::tile + 2 * S::rows;
    float* Sw = reinterpret_cast<float*>(per_warp + warp * S::scratch);
    floatX* Pw = reinterpret_cast<floatX*>(per_warp + WARPS * S::scratch + warp * S::ptile);

    const size_t stride = 3 * (size_t)C;
    const floatX* q_base = qkv + (size_t)ti.b * T * stride + ti.h * HS;
    const floatX* do_base = dout + (size_t)ti.b * T * C + ti.h * HS;
    const size_t bh_rows = ((size_t)ti.b * NH + ti.h) * T;  // (b, h) row offset in lse and delta
    const int k_tile0 = ti.tile * BC;
    load_tile<HS>(Ks, q_base + C, stride, k_tile0, T);
    load_tile<HS>(Vs, q_base + 2 * C, stride, k_tile0, T);

    const int c0 = k_tile0 + warp * 16;  // this warp's first key row
    const bool active = c0 < T;
    const int t2 = c0 + r;               // this lane's key row
    const float sl2 = LOG2E * scale;
    WarpAcc<HS, TC, floatX> dK, dV;
    dK.zero();
    dV.zero();
    for (int qi = k_tile0 / BR; qi < ntiles; qi++) {  // query tiles from the diagonal on
        __syncthreads();
        const int q_tile0 = qi * BR;
        load_tile<HS>(Qs, q_base, stride, q_tile0, T);
        load_tile<HS>(dOs, do_base, C, q_tile0, T);
        for (int i = threadIdx.x; i < BR; i += blockDim.x) {
            const bool in = q_tile0 + i < T;
            lse_s[i] = in ? lse[bh_rows + q_tile0 + i] * LOG2E : 0.0f;
            delta_s[i] = in ? delta[bh_rows + q_tile0 + i] : 0.0f;
        }
        __syncthreads();
        if (!active) continue;
        // query column blocks that can be unmasked for some key row of this warp: q >= c0, q < T
        const int n_lo = max(0, (c0 - q_tile0) / 16), n_hi = min(BR / 16, (T - q_tile0 + 15) / 16);
        // P^T (16 keys x 64 queries), recomputed from the saved log-sum-exp
        warp_mm_abt<HS, TC>(Sw, LDS, Ks + warp * 16 * LDX, LDX, Qs, LDX, n_lo, n_hi);
        __syncwarp();
        float p[32];
        for (int c = 0; c < 32; c++) {
            const int qc = 32 * half + c, t = q_tile0 + qc;
            p[c] = (t >= t2 && t < T) ? exp2f(Sw[r * LDS + qc] * sl2 - lse_s[qc]) : 0.0f;
            Pw[r * LDP + qc] = from_float<floatX>(p[c]);
        }
        __syncwarp();
        dV.add_ab(Pw, LDP, dOs, LDX, n_lo, n_hi);  // dV += P^T dO
        // dP^T = V dO^T, then dS^T = P^T (dP^T - delta) into the P tile (P^T is done with)
        warp_mm_abt<HS, TC>(Sw, LDS, Vs + warp * 16 * LDX, LDX, dOs, LDX, n_lo, n_hi);
        __syncwarp();
        for (int c = 0; c < 32; c++) {
            const int qc = 32 * half + c, t = q_tile0 + qc;
            const float ds = (t >= t2 && t < T) ? p[c] * (Sw[r * LDS + qc] - delta_s[qc]) : 0.0f;
            Pw[r * LDP + qc] = from_float<floatX>(ds);
        }
        __syncwarp();
        dK.add_ab(Pw, LDP, Qs, LDX, n_lo, n_hi);  // dK += dS^T Q
    }
    if (!active) return;  // (no barrier follows)
    floatX* dst = dqkv + ((size_t)ti.b * T + t2) * stride + ti.h * HS + half * (HS / 2);
    __syncwarp();
    dV.store(Sw, LDS);
    __syncwarp();
    if (t2 < T) {
        for (int i = 0; i < HS / 2; i += x128::size) {
            x128 pk;
            for (int k = 0; k < x128::size; k++) pk[k] = from_float<floatX>(Sw[r * LDS + half * (HS / 2) + i + k]);
            store128(dst + 2 * C + i, pk);
        }
    }
    __syncwarp();
    dK.store(Sw, LDS);
    __syncwarp();
    if (t2 < T) {
        for (int i = 0; i < HS / 2; i += x128::size) {
            x128 pk;
            for (int k = 0; k < x128::size; k++) pk[k] = from_float<floatX>(Sw[r * LDS + half * (HS / 2) + i + k] * scale);
            store128(dst + C + i, pk);
        }
    }
}

// dQ part of dqkv (SET). Grid: ceil(T/64) * B * NH blocks of 128.
template <int HS, bool TC>
__global__ void __launch_bounds__(flash::THREADS)
    flash_attention_backward_dq_kernel(floatX* dqkv, const floatX* dout, const floatX* qkv, const float* lse,
                                       const float* delta, int B, int T, int NH, float scale) {
    using namespace flash;
    constexpr int LDX = ldx<HS>(), LDS = lds<HS>();
    using S = Smem<HS>;
    const int C = NH * HS, ntiles = (T + BR - 1) / BR;
    const TileIndex ti = tile_index(B, NH, ntiles, true);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, r = lane / 2, half = lane % 2;
    char* sm = smem_base();
    floatX* Qs = reinterpret_cast<floatX*>(sm);
    floatX* dOs = reinterpret_cast<floatX*>(sm + S::tile);
    floatX* Ks = reinterpret_cast<floatX*>(sm + 2 * S::tile);
    floatX* Vs = reinterpret_cast<floatX*>(sm + 3 * S::tile);
    float* Sw = reinterpret_cast<float*>(sm + 4 * S::tile + warp * S::scratch);
    floatX* Pw = reinterpret_cast<floatX*>(sm + 4 * S::tile + WARPS * S::scratch + warp * S::ptile);

    const size_t stride = 3 * (size_t)C;
    const floatX* q_base = qkv + (size_t)ti.b * T * stride + ti.h * HS;
    const int q_tile0 = ti.tile * BR;
    load_tile<HS>(Qs, q_base, stride, q_tile0, T);
    load_tile<HS>(dOs, dout + (size_t)ti.b * T * C + ti.h * HS, C, q_tile0, T);

    const int q0 = q_tile0 + warp * 16;
    const bool active = q0 < T;
    const int row_t = q0 + r;
    const int last_row = min(q0 + 15, T - 1);
    const size_t bh_rows = ((size_t)ti.b * NH + ti.h) * T;
    const float lse_r = row_t < T ? lse[bh_rows + row_t] * LOG2E : 0.0f;
    const float delta_r = row_t < T ? delta[bh_rows + row_t] : 0.0f;
    const float sl2 = LOG2E * scale;
    WarpAcc<HS, TC, floatX> dQ;
    dQ.zero();
    const int j_last = min(q_tile0 + BR - 1, T - 1) / BC;
    for (int j = 0; j <= j_last; j++) {
        __syncthreads();
        load_tile<HS>(Ks, q_base + C, stride, j * BC, T);
        load_tile<HS>(Vs, q_base + 2 * C, stride, j * BC, T);
        __syncthreads();
        if (!active) continue;
        const int n_hi = min(BC / 16, (last_row - j * BC) / 16 + 1);
        warp_mm_abt<HS, TC>(Sw, LDS, Qs + warp * 16 * LDX, LDX, Ks, LDX, 0, n_hi);  // S
        __syncwarp();
        float p[32];
        for (int c = 0; c < 32; c++) {
            const int col = j * BC + 32 * half + c;
            p[c] = (col <= row_t && row_t < T) ? exp2f(Sw[r * LDS + 32 * half + c] * sl2 - lse_r) : 0.0f;
        }
        __syncwarp();
        warp_mm_abt<HS, TC>(Sw, LDS, dOs + warp * 16 * LDX, LDX, Vs, LDX, 0, n_hi);  // dP = dO V^T
        __syncwarp();
        for (int c = 0; c < 32; c++) {
            const int cl = 32 * half + c, col = j * BC + cl;
            const float ds = (col <= row_t && row_t < T) ? p[c] * (Sw[r * LDS + cl] - delta_r) : 0.0f;
            Pw[r * LDP + cl] = from_float<floatX>(ds);
        }
        __syncwarp();
        dQ.add_ab(Pw, LDP, Ks, LDX, 0, n_hi);  // dQ += dS K
    }
    if (!active) return;
    __syncwarp();
    dQ.store(Sw, LDS);
    __syncwarp();
    if (row_t < T) {
        floatX* dst = dqkv + ((size_t)ti.b * T + row_t) * 3 * C + ti.h * HS + half * (HS / 2);
        for (int i = 0; i < HS / 2; i += x128::size) {
            x128 pk;
            for (int k = 0; k < x128::size; k++) pk[k] = from_float<floatX>(Sw[r * LDS + half * (HS / 2) + i + k] * scale);
            store128(dst + i, pk);
        }
    }
}

// ----------------------------------------------------------------------------
// host side

inline bool flash_attention_supported(int hs) { return hs == 16 || hs == 32 || hs == 64; }

// The most dynamic shared memory any of the kernels takes for head size hs (the device must
// offer it per block: sharedMemPerBlockOptin). 0 for an unsupported head size.
inline size_t flash_attention_smem_bytes(int hs) {
    auto most = [](size_t a, size_t b, size_t c) { return std::max(a, std::max(b, c)); };
    switch (hs) {
        case 16: return most(flash::Smem<16>::forward, flash::Smem<16>::dkdv, flash::Smem<16>::dq);
        case 32: return most(flash::Smem<32>::forward, flash::Smem<32>::dkdv, flash::Smem<32>::dq);
        case 64: return most(flash::Smem<64>::forward, flash::Smem<64>::dkdv, flash::Smem<64>::dq);
        default: return 0;
    }
}

// Over 48 KiB of dynamic shared memory needs the opt-in, once per kernel.
template <typename K>
inline void flash_smem_optin(K* kernel, size_t bytes) {
    if (bytes > 48 * 1024) cudaCheck(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes));
}

template <int HS, bool TC>
inline void flash_attention_forward_hs(floatX* out, float* lse, const floatX* qkv, int B, int T, int NH, float scale,
                                      cudaStream_t stream) {
    auto* flash_forward = flash_attention_forward_kernel<HS, TC>;
    const size_t smem = flash::Smem<HS>::forward;
    flash_smem_optin(flash_forward, smem);
    launch_kernel(flash_forward, ceil_div(T, flash::BR) * B * NH, flash::THREADS, smem, stream, out, lse, qkv, B, T, NH, scale);
    cudaCheck(cudaGetLastError());
}

template <int HS, bool TC>
inline void flash_attention_backward_hs(floatX* dqkv, float* delta, const floatX* dout, const floatX* out, const floatX* qkv,
                                        const float* lse, int B, int T, int NH, float scale, cudaStream_t stream) {
    const int blocks = ceil_div(T, flash::BR) * B * NH, block = 256;
    launch_kernel(flash_attention_delta_kernel<HS>, ceil_div((size_t)B * T * NH, block), block, 0, stream, delta, dout, out, B, T, NH);
    cudaCheck(cudaGetLastError());
    auto* flash_dkdv = flash_attention_backward_dkdv_kernel<HS, TC>;
    flash_smem_optin(flash_dkdv, flash::Smem<HS>::dkdv);
    launch_kernel(flash_dkdv, blocks, flash::THREADS, flash::Smem<HS>::dkdv, stream, dqkv, dout, qkv, lse, (const float*)delta, B, T, NH,
                  scale);
    cudaCheck(cudaGetLastError());
    auto* flash_dq = flash_attention_backward_dq_kernel<HS, TC>;
    flash_smem_optin(flash_dq, flash::Smem<HS>::dq);
    launch_kernel(flash_dq, blocks, flash::THREADS, flash::Smem<HS>::dq, stream, dqkv, dout, qkv, lse, (const float*)delta, B, T, NH,
                  scale);
    cudaCheck(cudaGetLastError());
}

// out (B, T, C) and lse (B, NH, T) from qkv (B, T, 3C); scale multiplies the scores q.k.
// tensor_cores: the WMMA kernels (BF16 only; the FP32 build always runs the CUDA-core ones, exact fp32).
inline void flash_attention_forward(floatX* out, float* lse, const floatX* qkv, int B, int T, int C, int NH, float scale,
                                    cudaStream_t stream, bool tensor_cores = true) {
    const int hs = C / NH;
    const bool tc = tensor_cores && !FLOATX_IS_FP32;
    switch (hs * 2 + (tc ? 1 : 0)) {
        case 32: flash_attention_forward_hs<16, false>(out, lse, qkv, B, T, NH, scale, stream); break;
        case 64: flash_attention_forward_hs<32, false>(out, lse, qkv, B, T, NH, scale, stream); break;
        case 128: flash_attention_forward_hs<64, false>(out, lse, qkv, B, T, NH, scale, stream); break;
#if !defined(ENABLE_FP32)
        case 33: flash_attention_forward_hs<16, true>(out, lse, qkv, B, T, NH, scale, stream); break;
        case 65: flash_attention_forward_hs<32, true>(out, lse, qkv, B, T, NH, scale, stream); break;
        case 129: flash_attention_forward_hs<64, true>(out, lse, qkv, B, T, NH, scale, stream); break;
#endif
        default: die("fused attention: head size %d is not supported (16, 32 or 64; use -fa 0)", hs);
    }
}

// dqkv (B, T, 3C) SET from dout (B, T, C), the forward's out and lse, and qkv; scale as the
// forward's. delta: (B, NH, T) fp32 scratch.
inline void flash_attention_backward(floatX* dqkv, float* delta, const floatX* dout, const floatX* out, const floatX* qkv,
                                     const float* lse, int B, int T, int C, int NH, float scale, cudaStream_t stream,
                                     bool tensor_cores = true) {
    const int hs = C / NH;
    const bool tc = tensor_cores && !FLOATX_IS_FP32;
    switch (hs * 2 + (tc ? 1 : 0)) {
        case 32: flash_attention_backward_hs<16, false>(dqkv, delta, dout, out, qkv, lse, B, T, NH, scale, stream); break;
        case 64: flash_attention_backward_hs<32, false>(dqkv, delta, dout, out, qkv, lse, B, T, NH, scale, stream); break;
        case 128: flash_attention_backward_hs<64, false>(dqkv, delta, dout, out, qkv, lse, B, T, NH, scale, stream); break;
#if !defined(ENABLE_FP32)
        case 33: flash_attention_backward_hs<16, true>(dqkv, delta, dout, out, qkv, lse, B, T, NH, scale, stream); break;
        case 65: flash_attention_backward_hs<32, true>(dqkv, delta, dout, out, qkv, lse, B, T, NH, scale, stream); break;
        case 129: flash_attention_backward_hs<64, true>(dqkv, delta, dout, out, qkv, lse, B, T, NH, scale, stream); break;
#endif
        default: die("fused attention: head size %d is not supported (16, 32 or 64; use -fa 0)", hs);
    }
}
