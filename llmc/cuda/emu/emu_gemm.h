// CUDA emulation (make cuda-emu): the one GEMM behind the emulated cuBLAS and cuBLASLt, on the
// CPU trainer's SGEMM (llmc/cpu/gemm.h). For each batch b, with column-major matrices as NVIDIA
// documents them:
//   x = alpha * op(A) @ op(B) + beta * C [+ bias],  aux = x,  D = gelu(x) or x
// op(A) m x k, op(B) k x n, C and D m x n, bias one value per row of D (length m).
// Element types: A and B both fp32 or both bf16; C/D (one type), bias and aux fp32 or bf16.
// Accumulation is fp32; bf16 inputs widen exactly, outputs round to nearest even. With tf32 set,
// each fp32 input element is first rounded to TF32. beta == 0 never reads C (cuBLAS documents
// that C need not be valid then, and the emulator poisons fresh allocations with NaN).
// The API layers (cublas_v2.h, cublasLt.h) validate arguments and decide the supported
// combinations; this file assumes a valid problem. Results are deterministic for any thread
// count: sgemm computes each element in a fixed order and the epilogue is elementwise.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../../cpu/gemm.h"
#include "cuda_bf16.h"
#include "library_types.h"

namespace cuda_emu {

// fp32 -> TF32 (8-bit exponent, 10 explicit mantissa bits), kept in an fp32 container with the low
// 13 bits zero. Rounds to nearest with ties away from zero, as PTX cvt.rna.tf32.f32: adding half an
// ulp to the magnitude bits and truncating rounds ties away from zero (sign-magnitude), and a carry
// into the exponent is the correct rounding up (to Inf past the largest finite TF32). Inf and NaN
// pass unchanged (masking could turn a NaN into Inf).
inline float tf32_round_rna(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7f800000u) == 0x7f800000u) return x;
    u = (u + 0x1000u) & 0xffffe000u;
    memcpy(&x, &u, 4);
    return x;
}

// GELU, tanh approximation, in fp32 on the fp32 pre-activation (before any bf16 rounding).
// NVIDIA's cuBLASLt documentation only says "x := GELU(x)" for CUBLASLT_EPILOGUE_GELU*; the tanh
// form 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) is GPT-2's and the one llmc/cuda/gelu.cuh
// uses for the unfused fallback, so fused and unfused paths agree in the emulation.
inline float gelu_tanh(float x) {
    const float s = 0.7978845608028654f;  // sqrt(2/pi)
    return 0.5f * x * (1.0f + tanhf(s * (x + 0.044715f * x * x * x)));
}

inline size_t dtype_size(cudaDataType_t t) { return t == CUDA_R_16BF ? 2 : 4; }

inline float load_elem(const void* p, cudaDataType_t t, int64_t i) {
    if (t == CUDA_R_16BF) return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    return static_cast<const float*>(p)[i];
}

inline void store_elem(void* p, cudaDataType_t t, int64_t i, float v) {
    if (t == CUDA_R_16BF) static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(v);
    else static_cast<float*>(p)[i] = v;
}

inline const void* elem_offset(const void* p, cudaDataType_t t, int64_t i) {
    return static_cast<const char*>(p) + i * (int64_t)dtype_size(t);
}

// One column-major operand: element (r, c) of batch b at ptr[b * batch_stride + r + c * ld].
struct GemmOperand {
    const void* ptr = nullptr;
    cudaDataType_t type = CUDA_R_32F;
    int64_t ld = 0;
    int64_t batch_stride = 0;
};

struct GemmProblem {
    bool trans_a = false, trans_b = false;  // op = T (or C on real types) when set
    int m = 0, n = 0, k = 0;
    int batch = 1;
    float alpha = 1.0f, beta = 0.0f;
    bool tf32 = false;                      // round fp32 inputs to TF32 first
    GemmOperand a, b, c;
    void* d = nullptr;
    cudaDataType_t d_type = CUDA_R_32F;
    int64_t ldd = 0, stride_d = 0;
    const void* bias = nullptr;             // epilogue inputs/outputs: null when unused
    cudaDataType_t bias_type = CUDA_R_32F;
    int64_t bias_stride = 0;
    void* aux = nullptr;                    // pre-GELU x, stored in aux_type
    cudaDataType_t aux_type = CUDA_R_32F;
    int64_t aux_ld = 0, aux_stride = 0;
    bool gelu = false;
};

// Reused between calls on one host thread: widened/rounded inputs and the fp32 accumulator.
struct GemmScratch {
    std::vector<float> a, b, acc;
};
inline GemmScratch& gemm_scratch() {
    static thread_local GemmScratch s;
    return s;
}

// The rows x cols operand as fp32 the SGEMM can read: fp32 without TF32 is used in place
// (*ld_out = ld); otherwise widened/rounded into buf, compact (*ld_out = rows).
inline const float* gemm_operand_f32(const void* p, cudaDataType_t t, int rows, int cols, int64_t ld, bool tf32,
                                     std::vector<float>& buf, int64_t* ld_out) {
    if (t == CUDA_R_32F && !tf32) {
        *ld_out = ld;
        return static_cast<const float*>(p);
    }
    const size_t need = (size_t)rows * (size_t)cols;
    if (buf.size() < need) buf.resize(need);
    float* dst = buf.data();
    const bool bf16 = t == CUDA_R_16BF;
    #pragma omp parallel for schedule(static) if (need >= (1u << 18))
    for (int c = 0; c < cols; c++) {
        float* out = dst + (size_t)c * rows;
        if (bf16) {
            const __nv_bfloat16* in = static_cast<const __nv_bfloat16*>(p) + (int64_t)c * ld;
            for (int r = 0; r < rows; r++) out[r] = __bfloat162float(in[r]);  // exact
        } else {
            const float* in = static_cast<const float*>(p) + (int64_t)c * ld;
            for (int r = 0; r < rows; r++) out[r] = tf32_round_rna(in[r]);
        }
    }
    *ld_out = rows;
    return dst;
}

inline void gemm_run(const GemmProblem& p) {
    if (p.m <= 0 || p.n <= 0 || p.batch <= 0) return;
    GemmScratch& s = gemm_scratch();
    const bool epilogue = p.bias || p.aux || p.gelu;
    const bool c_is_d =
        p.c.ptr == p.d && p.c.type == p.d_type && p.c.ld == p.ldd && p.c.batch_stride == p.stride_d;
    // fp32 D can take the SGEMM output directly: overwrite when beta == 0 (C unread), or add onto
    // D in place for D += A B (the dweight accumulation); anything else goes through acc.
    const bool d_f32 = p.d_type == CUDA_R_32F;
    const bool direct_set = d_f32 && p.beta == 0.0f;
    const bool direct_acc = d_f32 && !epilogue && p.alpha == 1.0f && p.beta == 1.0f && c_is_d;
    const bool direct = direct_set || direct_acc;
    // acc holds a slab of D's columns, at most ~16 MB (the logits of a large vocabulary would
    // otherwise need m * n floats). Slabs do not change results: the SGEMM computes each element
    // in the same order whatever its M extent.
    int slab = p.n;
    if (!direct) {
        const int64_t cap = (int64_t)1 << 22;
        slab = (int)std::max<int64_t>(8, std::min<int64_t>(p.n, cap / p.m));
        if (s.acc.size() < (size_t)slab * p.m) s.acc.resize((size_t)slab * p.m);
    }

    const int rows_a = p.trans_a ? p.k : p.m, cols_a = p.trans_a ? p.m : p.k;
    const int rows_b = p.trans_b ? p.n : p.k, cols_b = p.trans_b ? p.k : p.n;
    for (int bi = 0; bi < p.batch; bi++) {
        const float* fa = nullptr;
        const float* fb = nullptr;
        int64_t lda = 0, ldb = 0;
        if (p.k > 0) {
            fa = gemm_operand_f32(elem_offset(p.a.ptr, p.a.type, bi * p.a.batch_stride), p.a.type, rows_a, cols_a,
                                  p.a.ld, p.tf32, s.a, &lda);
            fb = gemm_operand_f32(elem_offset(p.b.ptr, p.b.type, bi * p.b.batch_stride), p.b.type, rows_b, cols_b,
                                  p.b.ld, p.tf32, s.b, &ldb);
        }
        void* d = const_cast<void*>(elem_offset(p.d, p.d_type, bi * p.stride_d));
        const void* c = p.beta != 0.0f ? elem_offset(p.c.ptr, p.c.type, bi * p.c.batch_stride) : nullptr;
        const void* bias = p.bias ? elem_offset(p.bias, p.bias_type, bi * p.bias_stride) : nullptr;
        void* aux = p.aux ? const_cast<void*>(elem_offset(p.aux, p.aux_type, bi * p.aux_stride)) : nullptr;
        // Column-major D (m x n, ldd) is row-major D^T (n x m, row stride ldd), so the SGEMM computes
        // D^T = op(B)^T op(A)^T: its A(j, l) = op(B)(l, j), its B(l, i) = op(A)(i, l).
        const size_t sa_rs = p.trans_b ? 1 : (size_t)ldb, sa_cs = p.trans_b ? (size_t)ldb : 1;
        const size_t sb_rs = p.trans_a ? 1 : (size_t)lda, sb_cs = p.trans_a ? (size_t)lda : 1;
        for (int j0 = 0; j0 < p.n; j0 += slab) {
            const int nj = std::min(slab, p.n - j0);
            float* acc = direct ? static_cast<float*>(d) + (int64_t)j0 * p.ldd : s.acc.data();
            const int64_t acc_ld = direct ? p.ldd : p.m;
            gemm::sgemm(nj, p.m, p.k, fb ? fb + (size_t)j0 * sa_rs : nullptr, sa_rs, sa_cs, fa, sb_rs, sb_cs, acc,
                        (size_t)acc_ld, direct_acc, nullptr);
            if (direct_acc || (direct_set && p.alpha == 1.0f && !epilogue)) continue;
            // Elementwise; reading C[i] (or acc[i] when acc is D) before writing D[i] makes C == D safe.
            #pragma omp parallel for schedule(static) if ((int64_t)p.m * nj >= (1 << 16))
            for (int jj = 0; jj < nj; jj++) {
                const int64_t j = j0 + jj;
                for (int i = 0; i < p.m; i++) {
                    float x = p.alpha * acc[jj * acc_ld + i];
                    if (c) x += p.beta * load_elem(c, p.c.type, j * p.c.ld + i);
                    if (bias) x += load_elem(bias, p.bias_type, i);
                    if (aux) store_elem(aux, p.aux_type, j * p.aux_ld + i, x);
                    if (p.gelu) x = gelu_tanh(x);
                    store_elem(d, p.d_type, j * p.ldd + i, x);
                }
            }
        }
    }
}

}  // namespace cuda_emu
