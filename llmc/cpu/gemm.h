// Packed, register-blocked SGEMM for the CPU trainer (no BLAS library), BLIS-style:
//   C (M x N) (+)= A (M x K) * B (K x N) [+ bias (N)], A and B addressed by arbitrary row/column
//   strides, so one routine serves all three GPT-2 products:
//     forward  out (BT x OC)  = inp (BT x C) * W^T        A row-major,  B = W read transposed
//     dinp     dinp (BT x C) += dout (BT x OC) * W        both row-major
//     dweight  dW (OC x C)   += dout^T (OC x BT) * inp    A = dout read transposed
// Loop nest (outer to inner): N in blocks of NC (one block per thread task), K in blocks of KC
// (B block packed into NR-wide panels), M in blocks of MC (A block packed into MR-tall panels),
// then NR panels of B (one stays in L1) against MR panels of A (streamed from L2), and an
// MR x NR micro-kernel holding C in 24 vector registers. Edges are zero-padded when packing.
// Every C element is computed by one thread in a fixed order: results do not depend on the
// number of threads.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>
#ifdef OMP
#include <omp.h>
#endif

namespace gemm {

typedef float v16 __attribute__((vector_size(64), aligned(4)));
static inline v16 ld(const float* p) { v16 v; memcpy(&v, p, sizeof v); return v; }
static inline void st(float* p, v16 v) { memcpy(p, &v, sizeof v); }

constexpr int MR = 8, NR = 48;     // micro-tile: 8 rows x 3 vectors of 16 = 24 accumulators
constexpr int KC = 256;            // A micro-panel 8 KB + B micro-panel 48 KB: B panel lives in L1/L2
constexpr int MC = 256;            // A block 256 KB: fits L2
constexpr int NC_MAX = 21 * NR;    // B block (1008 columns, ~1 MB) per thread; a multiple of NR

// Per-thread packing buffers, grown once on first use and reused for every later call.
struct Buffers {
    std::vector<float> a, b;
};
inline Buffers& thread_buffers() {
    static thread_local Buffers buf;
    return buf;
}

// dst[p][k][i] = A(m0 + p*MR + i, k0 + k), zero past M.
static void pack_a(float* dst, const float* a, size_t rs, size_t cs, int m0, int mc, int k0, int kc, int M) {
    for (int p = 0; p < mc; p += MR) {
        for (int k = 0; k < kc; k++) {
            for (int i = 0; i < MR; i++) {
                int m = m0 + p + i;
                dst[i] = m < M ? a[(size_t)m * rs + (size_t)(k0 + k) * cs] : 0.0f;
            }
            dst += MR;
        }
    }
}

// dst[q][k][j] = B(k0 + k, n0 + q*NR + j), zero past N. Loop order follows the unit stride.
static void pack_b(float* dst, const float* b, size_t rs, size_t cs, int k0, int kc, int n0, int nc, int N) {
    for (int q = 0; q < nc; q += NR) {
        float* panel = dst + (size_t)q * kc;
        const int w = std::min(NR, N - (n0 + q));
        if (cs == 1) {  // rows of B contiguous: copy NR-wide row pieces
            for (int k = 0; k < kc; k++) {
                const float* src = b + (size_t)(k0 + k) * rs + n0 + q;
                float* d = panel + (size_t)k * NR;
                for (int j = 0; j < w; j++) d[j] = src[j];
                for (int j = w; j < NR; j++) d[j] = 0.0f;
            }
        } else {        // columns of B contiguous (B = W^T): walk each column, scatter by k
            for (int j = 0; j < NR; j++) {
                if (j < w) {
                    const float* src = b + (size_t)(n0 + q + j) * cs + (size_t)k0 * rs;
                    for (int k = 0; k < kc; k++) panel[(size_t)k * NR + j] = src[(size_t)k * rs];
                } else {
                    for (int k = 0; k < kc; k++) panel[(size_t)k * NR + j] = 0.0f;
                }
            }
        }
    }
}

// C tile (mr x nr of MR x NR) = (first ? init : C) + Apanel * Bpanel, init = bias row or 0.
static inline void micro_kernel(int kc, const float* __restrict a, const float* __restrict b, float* c, size_t ldc,
                                int mr, int nr, bool first, const float* bias) {
    v16 acc[MR][3];
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = acc[i][2] = v16{};
    for (int k = 0; k < kc; k++) {
        const v16 b0 = ld(b), b1 = ld(b + 16), b2 = ld(b + 32);
        #pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            const float ai = a[i];
            acc[i][0] += ai * b0;
            acc[i][1] += ai * b1;
            acc[i][2] += ai * b2;
        }
        a += MR;
        b += NR;
    }
    if (mr == MR && nr == NR) {
        for (int i = 0; i < MR; i++) {
            float* ci = c + (size_t)i * ldc;
            for (int v = 0; v < 3; v++) {
                v16 base = first ? (bias ? ld(bias + 16 * v) : v16{}) : ld(ci + 16 * v);
                st(ci + 16 * v, base + acc[i][v]);
            }
        }
        return;
    }
    alignas(64) float tile[MR][NR];
    for (int i = 0; i < MR; i++) {
        for (int v = 0; v < 3; v++) st(&tile[i][16 * v], acc[i][v]);
    }
    for (int i = 0; i < mr; i++) {
        float* ci = c + (size_t)i * ldc;
        for (int j = 0; j < nr; j++) ci[j] = (first ? (bias ? bias[j] : 0.0f) : ci[j]) + tile[i][j];
    }
}

// C (M x N, row stride ldc) = [C +] A*B [+ bias]; accumulate=false overwrites C.
// A(m, k) = a[m*a_rs + k*a_cs], B(k, n) = b[k*b_rs + n*b_cs].
inline void sgemm(int M, int N, int K, const float* a, size_t a_rs, size_t a_cs, const float* b, size_t b_rs,
                  size_t b_cs, float* c, size_t ldc, bool accumulate, const float* bias) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (!accumulate) {
            for (int m = 0; m < M; m++) {
                for (int n = 0; n < N; n++) c[(size_t)m * ldc + n] = bias ? bias[n] : 0.0f;
            }
        }
        return;
    }
    int threads = 1;
#ifdef OMP
    threads = omp_get_max_threads();
#endif
    // N split into tasks: a multiple of the thread count (balanced), each NR-aligned and at
    // most NC_MAX wide (the packing buffer's width)
    int ntasks = (N + NC_MAX - 1) / NC_MAX;
    ntasks = (ntasks + threads - 1) / threads * threads;
    int nc = ((N + ntasks - 1) / ntasks + NR - 1) / NR * NR;  // <= NC_MAX: NC_MAX is a multiple of NR
    ntasks = (N + nc - 1) / nc;
    #pragma omp parallel for schedule(dynamic, 1)
    for (int task = 0; task < ntasks; task++) {
        Buffers& buf = thread_buffers();
        if (buf.a.size() < (size_t)MC * KC) buf.a.resize((size_t)MC * KC);
        if (buf.b.size() < (size_t)KC * NC_MAX) buf.b.resize((size_t)KC * NC_MAX);
        const int n0 = task * nc, ncur = std::min(nc, N - n0);
        const int ncur_padded = (ncur + NR - 1) / NR * NR;
        for (int k0 = 0; k0 < K; k0 += KC) {
            const int kc = std::min(KC, K - k0);
            const bool first = !accumulate && k0 == 0;
            pack_b(buf.b.data(), b, b_rs, b_cs, k0, kc, n0, ncur_padded, N);
            for (int m0 = 0; m0 < M; m0 += MC) {
                const int mc = std::min(MC, M - m0);
                const int mc_padded = (mc + MR - 1) / MR * MR;
                pack_a(buf.a.data(), a, a_rs, a_cs, m0, mc_padded, k0, kc, M);
                for (int q = 0; q < ncur; q += NR) {
                    const float* bp = buf.b.data() + (size_t)q * kc;
                    const float* bias_q = bias ? bias + n0 + q : nullptr;
                    for (int p = 0; p < mc; p += MR) {
                        micro_kernel(kc, buf.a.data() + (size_t)p * kc, bp, c + (size_t)(m0 + p) * ldc + n0 + q, ldc,
                                     std::min(MR, mc - p), std::min(NR, ncur - q), first, bias_q);
                    }
                }
            }
        }
    }
}

}  // namespace gemm
