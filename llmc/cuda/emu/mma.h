// CUDA emulation (make cuda-emu): the warp matrix API (nvcuda::wmma, <mma.h>) for what the
// project uses: 16x16x16 tiles, bf16 matrix_a / matrix_b fragments (row- or column-major) and
// fp32 accumulators, with fill_fragment, load_matrix_sync, store_matrix_sync and mma_sync.
//
// On a GPU a fragment is spread over the 32 lanes of a warp in a layout CUDA leaves opaque
// ("the mapping of matrix elements to fragment elements is unspecified"), so code may only apply
// the same operation to every element of x[]. Here every lane holds the WHOLE tile, row-major
// (num_elements = 256 instead of 8), and each *_sync call does the whole job in every lane:
// 32 times the work, but any kernel that is legal against the opaque layout gives the same
// results. mma_sync accumulates in fp32, k = 0..15 in order, onto C: d[i][j] = c[i][j] + sum_k
// a[i][k] * b[k][j]. A bf16 x bf16 product is exact in fp32, so this is the fp32-accumulated math
// (a tensor core adds in another order: the only difference a GPU can show).
//
// What the GPU requires and the emulator checks (one `error: CUDA emulator:` line naming the
// kernel, block and thread, like the other faults):
//   - load/store/mma are warp-collective: every lane of the warp must reach them together (each
//     call starts with a full-warp __syncwarp, so a divergent call is reported as one)
//   - the pointer of load_matrix_sync / store_matrix_sync is 256-bit (32-byte) aligned, and ldm
//     is a multiple of 16 bytes (8 bf16 elements, 4 floats)
#pragma once
#include <cstdint>
#include <type_traits>

#include "cuda_bf16.h"
#include "emu_exec.h"

namespace nvcuda {
namespace wmma {

struct row_major;
struct col_major;
struct matrix_a;
struct matrix_b;
struct accumulator;
enum layout_t { mem_row_major, mem_col_major };

// The whole tile in every lane: rows x cols of the logical matrix (matrix_a M x K, matrix_b
// K x N, accumulator M x N), row-major in x[].
template <typename Use, int M, int N, int K, typename T, typename Layout = void>
class fragment {
    static_assert(M == 16 && N == 16 && K == 16, "the emulated wmma has the 16x16x16 shape only");
    static_assert(std::is_same<Use, accumulator>::value ? std::is_same<T, float>::value && std::is_same<Layout, void>::value
                                                        : std::is_same<T, __nv_bfloat16>::value && !std::is_same<Layout, void>::value,
                  "the emulated wmma has bf16 matrix_a/matrix_b (row_major or col_major) and float accumulators only");

public:
    static constexpr int rows = std::is_same<Use, matrix_b>::value ? K : M;
    static constexpr int cols = std::is_same<Use, matrix_a>::value ? K : N;
    enum { num_elements = rows * cols };
    typedef T element_type;
    T x[num_elements];
};

namespace detail {
// Entry to a warp-collective call: all 32 lanes must be here (a GPU requires it; the emulator
// reports a divergent call as a __syncwarp whose lanes are elsewhere or gone).
inline void converge() { __syncwarp(0xffffffffu); }
inline void check_pointer(const void* p, unsigned ldm, size_t elem, const char* call) {
    if ((uintptr_t)p % 32 != 0) ::cuda_emu::kernel_fault("wmma::%s: pointer %p is not 256-bit (32-byte) aligned", call, p);
    if (ldm * elem % 16 != 0) {
        ::cuda_emu::kernel_fault("wmma::%s: ldm %u is not a multiple of 16 bytes (%zu-byte elements)", call, ldm, elem);
    }
}
}  // namespace detail

template <typename Use, int M, int N, int K, typename T, typename Layout>
inline void fill_fragment(fragment<Use, M, N, K, T, Layout>& f, const T& v) {
    for (int i = 0; i < f.num_elements; i++) f.x[i] = v;
}

// matrix_a / matrix_b: the layout is the fragment's. Element (r, c) of the logical matrix is
// p[r * ldm + c] row-major, p[c * ldm + r] column-major.
template <typename Use, typename Layout>
inline void load_matrix_sync(fragment<Use, 16, 16, 16, __nv_bfloat16, Layout>& f, const __nv_bfloat16* p, unsigned ldm) {
    detail::converge();
    detail::check_pointer(p, ldm, sizeof(__nv_bfloat16), "load_matrix_sync");
    constexpr bool rm = std::is_same<Layout, row_major>::value;
    for (int r = 0; r < f.rows; r++) {
        for (int c = 0; c < f.cols; c++) f.x[r * f.cols + c] = rm ? p[(size_t)r * ldm + c] : p[(size_t)c * ldm + r];
    }
}

inline void load_matrix_sync(fragment<accumulator, 16, 16, 16, float>& f, const float* p, unsigned ldm, layout_t layout) {
    detail::converge();
    detail::check_pointer(p, ldm, sizeof(float), "load_matrix_sync");
    for (int r = 0; r < 16; r++) {
        for (int c = 0; c < 16; c++) f.x[r * 16 + c] = layout == mem_row_major ? p[(size_t)r * ldm + c] : p[(size_t)c * ldm + r];
    }
}

inline void store_matrix_sync(float* p, const fragment<accumulator, 16, 16, 16, float>& f, unsigned ldm, layout_t layout) {
    detail::converge();
    detail::check_pointer(p, ldm, sizeof(float), "store_matrix_sync");
    for (int r = 0; r < 16; r++) {
        for (int c = 0; c < 16; c++) {
            if (layout == mem_row_major) p[(size_t)r * ldm + c] = f.x[r * 16 + c];
            else p[(size_t)c * ldm + r] = f.x[r * 16 + c];
        }
    }
}

// d = a @ b + c (d may be c), fp32 accumulation in k order.
template <typename LayoutA, typename LayoutB>
inline void mma_sync(fragment<accumulator, 16, 16, 16, float>& d, const fragment<matrix_a, 16, 16, 16, __nv_bfloat16, LayoutA>& a,
                     const fragment<matrix_b, 16, 16, 16, __nv_bfloat16, LayoutB>& b,
                     const fragment<accumulator, 16, 16, 16, float>& c) {
    detail::converge();
    float af[256], bf[256], out[256];
    for (int i = 0; i < 256; i++) {
        af[i] = __bfloat162float(a.x[i]);
        bf[i] = __bfloat162float(b.x[i]);
    }
    for (int i = 0; i < 16; i++) {
        for (int j = 0; j < 16; j++) {
            float acc = c.x[i * 16 + j];
            for (int k = 0; k < 16; k++) acc += af[i * 16 + k] * bf[k * 16 + j];  // exact product, fp32 sum
            out[i * 16 + j] = acc;
        }
    }
    for (int i = 0; i < 256; i++) d.x[i] = out[i];
}

}  // namespace wmma
}  // namespace nvcuda
