// The CUDA emulation's cuBLAS / cuBLASLt (llmc/cuda/emu/cublas_v2.h, cublasLt.h) against an
// independent reference: a naive triple loop in double over the documented column-major
// semantics, D = epilogue(alpha op(A) op(B) + beta C [+ bias]), with its own bf16 widening and
// its own TF32 rounding (frexp + round half away from zero). Every case runs on ragged shapes
// with padded leading dimensions and batch gaps; inputs' padding holds NaN (a stray read shows),
// outputs' padding a sentinel that must survive, and with beta == 0 C starts as NaN (the
// emulator's poison) that must not leak. Tolerances: fp32 outputs differ from the exact result
// by accumulation order only, |d| <= max(1e-5, 2 k 2^-24) * sum |terms|; bf16 outputs are
// within 1 bf16 ulp of the exact result rounded (or within the fp32 bound when it cancels).
// Also the status codes for unsupported and invalid calls, and thread-count determinism.
// Build: g++ -O2 -march=native -std=c++17 -fopenmp -DOMP -I llmc/cuda/emu dev/test/test_emu_blas.cpp
#include <cublasLt.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "check.h"

// ----------------------------------------------------------------------------
// reference arithmetic, written apart from emu_gemm.h

static double ref_bf16_widen(uint16_t bits) {
    uint32_t u = (uint32_t)bits << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// TF32 keeps 11 significant bits; std::round rounds halves away from zero (cvt.rna).
static double ref_tf32(double x) {
    if (x == 0.0 || !std::isfinite(x)) return x;
    int e;
    const double f = std::frexp(x, &e);  // |f| in [0.5, 1)
    return std::ldexp(std::round(std::ldexp(f, 11)), e - 11);
}

static double ref_gelu(double x) {
    return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}

// One bf16 ulp at magnitude v (normal range; the subnormal spacing below it).
static double bf16_ulp(double v) {
    if (!std::isfinite(v)) return NAN;
    v = std::fabs(v);
    if (v < std::ldexp(1.0, -126)) return std::ldexp(1.0, -133);
    int e;
    std::frexp(v, &e);
    return std::ldexp(1.0, e - 8);
}

// Nearest bf16 to v, ties to even, by scaling: 8 significant bits.
static double bf16_round(double v) {
    if (v == 0.0 || !std::isfinite(v)) return v;
    int e;
    const double f = std::frexp(v, &e);
    return std::ldexp(std::nearbyint(std::ldexp(f, 8)), e - 8);  // default rounding mode: to even
}

static double tol32(int k) { return std::max(1e-5, 2.0 * k * std::ldexp(1.0, -24)); }

// ----------------------------------------------------------------------------
// column-major test matrices with padding and batch gaps

struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
    float uniform() {  // [-1, 1)
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        return (float)((s >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
    }
};

struct Mat {
    cudaDataType_t type = CUDA_R_32F;
    int rows = 0, cols = 0, ld = 1, batch = 1;
    int64_t stride = 0;
    std::vector<unsigned char> bytes, initial;

    Mat() = default;
    Mat(cudaDataType_t t, int r, int c, int pad, int b) : type(t), rows(r), cols(c), batch(b) {
        ld = std::max(1, r + pad);
        stride = (int64_t)ld * std::max(c, 1) + 5;  // gap between batch entries
        bytes.assign((size_t)(stride * b) * esz(), 0);
    }
    size_t esz() const { return type == CUDA_R_16BF ? 2 : 4; }
    size_t count() const { return bytes.size() / esz(); }
    void* data() { return bytes.data(); }
    int64_t index(int b, int r, int c) const { return b * stride + (int64_t)c * ld + r; }
    bool in_window(int64_t i) const {
        const int64_t b = i / stride, off = i % stride;
        return b < batch && off < (int64_t)ld * cols && off % ld < rows;
    }
    double get(int64_t i) const {
        if (type == CUDA_R_16BF) {
            uint16_t h;
            memcpy(&h, &bytes[i * 2], 2);
            return ref_bf16_widen(h);
        }
        float f;
        memcpy(&f, &bytes[i * 4], 4);
        return f;
    }
    void put(int64_t i, float v) {
        if (type == CUDA_R_16BF) {
            const uint16_t h = __float2bfloat16_rn(v).bits;  // test data only; the check widens on its own
            memcpy(&bytes[i * 2], &h, 2);
        } else {
            memcpy(&bytes[i * 4], &v, 4);
        }
    }
    double at(int b, int r, int c) const { return get(index(b, r, c)); }
    // window random (or NaN), everything else `outside`
    void fill(Rng* rng, float outside, float scale = 1.0f) {
        for (size_t i = 0; i < count(); i++)
            put((int64_t)i, in_window((int64_t)i) ? (rng ? scale * rng->uniform() : NAN) : outside);
        initial = bytes;
    }
    bool outside_untouched() const {
        for (size_t i = 0; i < count(); i++)
            if (!in_window((int64_t)i) && memcmp(&bytes[i * esz()], &initial[i * esz()], esz()) != 0) return false;
        return true;
    }
};

// ----------------------------------------------------------------------------
// one case: build, call the API, compare with the reference

enum Api { GEMM_EX, STRIDED, SGEMM, LT };

struct Spec {
    std::string name;
    Api api = GEMM_EX;
    cudaDataType_t ab = CUDA_R_32F, cd = CUDA_R_32F;
    bool ta = false, tb = false;
    int m = 37, n = 19, k = 53, batch = 1, pad = 3;
    float alpha = 1.0f, beta = 0.0f;
    cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
    cublasMath_t math = CUBLAS_DEFAULT_MATH;
    bool ref_tf32 = false;                   // reference rounds inputs to TF32
    bool exact = false;                      // fp32 result exact: D must be it, rounded to nearest even
    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_DEFAULT;
    bool in_place = true;                    // Lt: C and D one matrix
    int aux_pad = 0;
};

struct Outcome {
    cublasStatus_t status = CUBLAS_STATUS_SUCCESS;
    long checked = 0, bad = 0, differ_unrounded = 0;
    double worst = 0.0;                      // largest |error| / allowed
    bool untouched = true;                   // padding and gaps of D (and aux) kept
    std::string first_bad;
};

static bool epi_bias(cublasLtEpilogue_t e) { return e & CUBLASLT_EPILOGUE_BIAS; }
static bool epi_gelu(cublasLtEpilogue_t e) { return e & CUBLASLT_EPILOGUE_GELU; }
static bool epi_aux(cublasLtEpilogue_t e) { return (e & 128) && epi_gelu(e); }

// Compares one output element; `allowed` is the fp32 bound, the bf16 rule applies on bf16 outputs.
static void judge(Outcome* o, const char* what, int b, int i, int j, double got, double want, double allowed,
                  cudaDataType_t type, bool exact = false) {
    o->checked++;
    bool ok;
    double ratio;
    if (exact) {
        const double r = type == CUDA_R_16BF ? bf16_round(want) : (double)(float)want;
        ok = got == r;
        ratio = ok ? 0.0 : INFINITY;
    } else if (type == CUDA_R_16BF) {
        const double r = bf16_round(want), ulp = bf16_ulp(std::max(std::fabs(got), std::fabs(r)));
        ratio = std::min(std::fabs(got - r) / ulp, std::fabs(got - want) / (allowed + 0.5 * bf16_ulp(got)));
        ok = ratio <= 1.0;
    } else {
        ok = std::fabs(got - want) <= allowed + 1e-30;
        ratio = std::fabs(got - want) / (allowed + 1e-30);
    }
    if (std::isnan(ratio) || (!std::isnan(o->worst) && ratio > o->worst)) o->worst = ratio;  // NaN sticks
    if (!ok) {
        if (o->bad++ == 0) {
            char buf[200];
            snprintf(buf, sizeof buf, "%s[b%d](%d,%d) got %.9g want %.9g", what, b, i, j, got, want);
            o->first_bad = buf;
        }
    }
}

static Outcome run_spec(const Spec& s) {
    Outcome o;
    Rng rng(std::hash<std::string>{}(s.name));
    const bool lt = s.api == LT;
    Mat A(s.ab, s.ta ? s.k : s.m, s.ta ? s.m : s.k, s.pad, s.batch);
    Mat B(s.ab, s.tb ? s.n : s.k, s.tb ? s.k : s.n, s.pad + 1, s.batch);
    Mat C(s.cd, s.m, s.n, s.pad + 2, s.batch);
    A.fill(&rng, NAN);
    B.fill(&rng, NAN);
    const float sentinel = 12345.0f;
    C.fill(s.beta != 0.0f ? &rng : nullptr, sentinel);  // beta == 0: C is NaN poison
    Mat Dsep;
    if (lt && !s.in_place) {
        Dsep = Mat(s.cd, s.m, s.n, s.pad, s.batch);
        Dsep.fill(nullptr, sentinel);
    }
    Mat& D = lt && !s.in_place ? Dsep : C;
    const Mat C0 = C;  // the reference reads C as it was
    const bool bias = lt && epi_bias(s.epi), gelu = lt && epi_gelu(s.epi), aux = lt && epi_aux(s.epi);
    const int bias_stride = s.batch > 1 ? s.m + 3 : 0;
    Mat Bias(s.cd, s.m, 1, 0, 1), Aux;
    if (bias) {
        Bias = Mat(s.cd, bias_stride ? bias_stride * s.batch : s.m, 1, 0, 1);
        Bias.fill(&rng, NAN);
        for (int64_t i = 0; bias_stride && i < (int64_t)Bias.count(); i++)  // gaps between batch entries
            if (i % bias_stride >= s.m) Bias.put(i, NAN);
    }
    int64_t aux_ld = 0, aux_stride = 0;
    if (aux) {
        aux_ld = (s.m + s.aux_pad + 7) / 8 * 8;
        Aux = Mat(s.cd, s.m, s.n, (int)aux_ld - s.m, s.batch);
        aux_stride = Aux.stride = (int64_t)aux_ld * s.n + 8;  // documented: a multiple of 8
        Aux.bytes.assign((size_t)(Aux.stride * s.batch) * Aux.esz(), 0);
        Aux.fill(nullptr, sentinel);
    }

    if (s.api == LT) {
        cublasLtHandle_t h;
        cublasLtCreate(&h);
        cublasLtMatmulDesc_t desc;
        cublasLtMatmulDescCreate(&desc, s.compute, CUDA_R_32F);
        const cublasOperation_t ta = s.ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb = s.tb ? CUBLAS_OP_T : CUBLAS_OP_N;
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta);
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb);
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &s.epi, sizeof s.epi);
        if (bias) {
            const void* bp = Bias.data();
            const int64_t bs = bias_stride;
            cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bp, sizeof bp);
            cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, &bs, sizeof bs);
        }
        if (aux) {
            void* xp = Aux.data();
            cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &xp, sizeof xp);
            cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &aux_ld, sizeof aux_ld);
            cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_BATCH_STRIDE, &aux_stride,
                                           sizeof aux_stride);
        }
        cublasLtMatrixLayout_t la, lb, lc, ld;
        cublasLtMatrixLayoutCreate(&la, s.ab, A.rows, A.cols, A.ld);
        cublasLtMatrixLayoutCreate(&lb, s.ab, B.rows, B.cols, B.ld);
        cublasLtMatrixLayoutCreate(&lc, s.cd, C.rows, C.cols, C.ld);
        cublasLtMatrixLayoutCreate(&ld, s.cd, D.rows, D.cols, D.ld);
        if (s.batch > 1) {
            for (auto [l, mat] : {std::pair{la, &A}, std::pair{lb, &B}, std::pair{lc, &C}, std::pair{ld, &D}}) {
                const int32_t bc = s.batch;
                const int64_t st = mat->stride;
                cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &bc, sizeof bc);
                cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &st, sizeof st);
            }
        }
        cublasLtMatmulPreference_t pref;
        cublasLtMatmulPreferenceCreate(&pref);
        cublasLtMatmulHeuristicResult_t heur;
        int found = 0;
        o.status = cublasLtMatmulAlgoGetHeuristic(h, desc, la, lb, lc, ld, pref, 1, &heur, &found);
        if (o.status == CUBLAS_STATUS_SUCCESS && found == 1)
            o.status = cublasLtMatmul(h, desc, &s.alpha, A.data(), la, B.data(), lb, &s.beta, C.data(), lc, D.data(),
                                      ld, &heur.algo, nullptr, 0, nullptr);
        cublasLtMatmulPreferenceDestroy(pref);
        for (auto l : {la, lb, lc, ld}) cublasLtMatrixLayoutDestroy(l);
        cublasLtMatmulDescDestroy(desc);
        cublasLtDestroy(h);
    } else {
        cublasHandle_t h;
        cublasCreate(&h);
        cublasSetMathMode(h, s.math);
        const cublasOperation_t ta = s.ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb = s.tb ? CUBLAS_OP_T : CUBLAS_OP_N;
        if (s.api == GEMM_EX)
            o.status = cublasGemmEx(h, ta, tb, s.m, s.n, s.k, &s.alpha, A.data(), s.ab, A.ld, B.data(), s.ab, B.ld,
                                    &s.beta, C.data(), s.cd, C.ld, s.compute, CUBLAS_GEMM_DEFAULT);
        else if (s.api == STRIDED)
            o.status = cublasGemmStridedBatchedEx(h, ta, tb, s.m, s.n, s.k, &s.alpha, A.data(), s.ab, A.ld, A.stride,
                                                  B.data(), s.ab, B.ld, B.stride, &s.beta, C.data(), s.cd, C.ld,
                                                  C.stride, s.batch, s.compute, CUBLAS_GEMM_DEFAULT);
        else
            o.status = cublasSgemm(h, ta, tb, s.m, s.n, s.k, &s.alpha, (const float*)A.data(), A.ld,
                                   (const float*)B.data(), B.ld, &s.beta, (float*)C.data(), C.ld);
        cublasDestroy(h);
    }
    if (o.status != CUBLAS_STATUS_SUCCESS) return o;

    // reference, element by element
    const double tol = tol32(s.k);
    for (int b = 0; b < s.batch; b++) {
        for (int j = 0; j < s.n; j++) {
            for (int i = 0; i < s.m; i++) {
                double acc = 0.0, acc_raw = 0.0, mag = 0.0;
                for (int l = 0; l < s.k; l++) {
                    const double a = s.ta ? A.at(b, l, i) : A.at(b, i, l);
                    const double bv = s.tb ? B.at(b, j, l) : B.at(b, l, j);
                    const double ar = s.ref_tf32 ? ref_tf32(a) : a, br = s.ref_tf32 ? ref_tf32(bv) : bv;
                    acc += ar * br;
                    acc_raw += a * bv;
                    mag += std::fabs(ar * br);
                }
                double x = (double)s.alpha * acc, x_raw = (double)s.alpha * acc_raw;
                mag *= std::fabs((double)s.alpha);
                if (s.beta != 0.0f) {
                    const double c = (double)s.beta * C0.at(b, i, j);
                    x += c;
                    x_raw += c;
                    mag += std::fabs(c);
                }
                if (bias) {
                    const double bb = Bias.get((int64_t)b * bias_stride + i);
                    x += bb;
                    x_raw += bb;
                    mag += std::fabs(bb);
                }
                const double allowed = tol * mag;
                if (aux) judge(&o, "aux", b, i, j, Aux.at(b, i, j), x, allowed, s.cd);
                const double want = gelu ? ref_gelu(x) : x;
                const double allowed_d = gelu ? 1.2 * allowed + 1e-6 * (std::fabs(x) + std::fabs(want)) : allowed;
                const double got = D.at(b, i, j);
                judge(&o, "D", b, i, j, got, want, allowed_d, s.cd, s.exact);
                const double want_raw = gelu ? ref_gelu(x_raw) : x_raw;
                if (std::fabs(got - want_raw) > allowed_d) o.differ_unrounded++;
            }
        }
    }
    o.untouched = D.outside_untouched() && (!aux || Aux.outside_untouched());
    return o;
}

static void check_spec(const Spec& s) {
    const Outcome o = run_spec(s);
    check(s.name.c_str(), o.status == CUBLAS_STATUS_SUCCESS && o.checked > 0 && o.bad == 0 && o.untouched,
          "status=%d checked=%ld bad=%ld worst=%.3g (of allowed) padding_kept=%d %s", (int)o.status, o.checked, o.bad,
          o.worst, (int)o.untouched, o.first_bad.c_str());
    if (s.ref_tf32) {
        const std::string name = s.name + "_differs_from_fp32";
        check(name.c_str(), o.checked > 0 && o.differ_unrounded > 0,
              "%ld of %ld elements outside the fp32 bound of the unrounded product", o.differ_unrounded, o.checked);
    }
}

// ----------------------------------------------------------------------------
// TF32 rounding on single products: 1 + 2^-11 is a tie between 1 and 1 + 2^-10

static float one_product(float a, float b, cublasComputeType_t compute, cublasMath_t math, bool lt) {
    float d = NAN, alpha = 1.0f, beta = 0.0f;
    if (lt) {
        cublasLtHandle_t h;
        cublasLtCreate(&h);
        cublasLtMatmulDesc_t desc;
        cublasLtMatmulDescCreate(&desc, compute, CUDA_R_32F);
        cublasLtMatrixLayout_t l;
        cublasLtMatrixLayoutCreate(&l, CUDA_R_32F, 1, 1, 1);
        if (cublasLtMatmul(h, desc, &alpha, &a, l, &b, l, &beta, &d, l, &d, l, nullptr, nullptr, 0, nullptr) !=
            CUBLAS_STATUS_SUCCESS)
            d = -999.0f;
        cublasLtMatrixLayoutDestroy(l);
        cublasLtMatmulDescDestroy(desc);
        cublasLtDestroy(h);
    } else {
        cublasHandle_t h;
        cublasCreate(&h);
        cublasSetMathMode(h, math);
        if (cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &alpha, &a, CUDA_R_32F, 1, &b, CUDA_R_32F, 1, &beta, &d,
                         CUDA_R_32F, 1, compute, CUBLAS_GEMM_DEFAULT) != CUBLAS_STATUS_SUCCESS)
            d = -999.0f;
        cublasDestroy(h);
    }
    return d;
}

static void check_tf32_rounding() {
    const float tie = 1.0f + std::ldexp(1.0f, -11), up = 1.0f + std::ldexp(1.0f, -10);
    const float above = tie + std::ldexp(1.0f, -20), below = tie - std::ldexp(1.0f, -20);
    struct Row {
        const char* name;
        float a;
        cublasComputeType_t compute;
        cublasMath_t math;
        bool lt;
        float want;
    } rows[] = {
        {"tf32_tie_away_positive", tie, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_DEFAULT_MATH, false, up},
        {"tf32_tie_away_negative", -tie, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_DEFAULT_MATH, false, -up},
        {"tf32_above_tie_rounds_up", above, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_DEFAULT_MATH, false, up},
        {"tf32_below_tie_rounds_down", below, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_DEFAULT_MATH, false, 1.0f},
        {"tf32_math_mode_with_compute_32f", tie, CUBLAS_COMPUTE_32F, CUBLAS_TF32_TENSOR_OP_MATH, false, up},
        {"tf32_math_mode_with_pedantic_is_fp32", tie, CUBLAS_COMPUTE_32F_PEDANTIC, CUBLAS_TF32_TENSOR_OP_MATH, false,
         tie},
        {"tf32_default_math_is_fp32", tie, CUBLAS_COMPUTE_32F, CUBLAS_DEFAULT_MATH, false, tie},
        {"tf32_lt_fast_tf32", tie, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_DEFAULT_MATH, true, up},
        {"tf32_lt_compute_32f_is_fp32", tie, CUBLAS_COMPUTE_32F, CUBLAS_DEFAULT_MATH, true, tie},
    };
    for (const Row& r : rows) {
        const float got = one_product(r.a, 1.0f, r.compute, r.math, r.lt);
        check(r.name, got == r.want, "a=%.9g got %.9g want %.9g", r.a, got, r.want);
    }
    // huge: rounding up past the largest finite TF32 gives Inf, as cvt.rna does; Inf stays Inf
    const float big = one_product(std::ldexp(2047.5f / 1024.0f, 127), 1.0f, CUBLAS_COMPUTE_32F_FAST_TF32,
                                  CUBLAS_DEFAULT_MATH, false);
    const float inf = one_product(INFINITY, 1.0f, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_DEFAULT_MATH, false);
    check("tf32_overflow_and_inf", std::isinf(big) && big > 0 && std::isinf(inf) && inf > 0, "got %g %g", big, inf);
}

// ----------------------------------------------------------------------------
// statuses

static void check_statuses() {
    cublasHandle_t h;
    check("create_handle", cublasCreate(&h) == CUBLAS_STATUS_SUCCESS && h, "");
    std::vector<float> f(4096, 0.0f);
    std::vector<uint16_t> hb(4096, 0);
    const float one = 1.0f, zero = 0.0f;
    auto gemm = [&](cublasHandle_t hh, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                    cudaDataType_t at, int lda, cudaDataType_t bt, int ldb, cudaDataType_t ct, int ldc,
                    cublasComputeType_t comp) {
        void* pa = at == CUDA_R_16BF ? (void*)hb.data() : (void*)f.data();
        void* pb = bt == CUDA_R_16BF ? (void*)hb.data() : (void*)f.data();
        void* pc = ct == CUDA_R_16BF ? (void*)hb.data() : (void*)f.data();
        return cublasGemmEx(hh, ta, tb, m, n, k, &one, pa, at, lda, pb, bt, ldb, &zero, pc, ct, ldc, comp,
                            CUBLAS_GEMM_DEFAULT);
    };
    const auto N = CUBLAS_OP_N, T = CUBLAS_OP_T;
    const auto F = CUDA_R_32F, BF = CUDA_R_16BF;
    struct Row {
        const char* name;
        cublasStatus_t got, want;
    } rows[] = {
        {"status_ok_fp32", gemm(h, N, N, 8, 8, 8, F, 8, F, 8, F, 8, CUBLAS_COMPUTE_32F), CUBLAS_STATUS_SUCCESS},
        {"status_ok_bf16_fp32_out", gemm(h, N, T, 8, 8, 8, BF, 8, BF, 8, F, 8, CUBLAS_COMPUTE_32F),
         CUBLAS_STATUS_SUCCESS},
        {"status_op_c_is_transpose", gemm(h, CUBLAS_OP_C, N, 8, 8, 8, F, 8, F, 8, F, 8, CUBLAS_COMPUTE_32F),
         CUBLAS_STATUS_SUCCESS},
        {"status_fp16_not_supported", gemm(h, N, N, 8, 8, 8, CUDA_R_16F, 8, CUDA_R_16F, 8, F, 8, CUBLAS_COMPUTE_32F),
         CUBLAS_STATUS_NOT_SUPPORTED},
        {"status_mixed_ab_not_supported", gemm(h, N, N, 8, 8, 8, BF, 8, F, 8, F, 8, CUBLAS_COMPUTE_32F),
         CUBLAS_STATUS_NOT_SUPPORTED},
        {"status_fp32_in_bf16_out_not_supported", gemm(h, N, N, 8, 8, 8, F, 8, F, 8, BF, 8, CUBLAS_COMPUTE_32F),
         CUBLAS_STATUS_NOT_SUPPORTED},
        {"status_bf16_fast_tf32_not_supported", gemm(h, N, N, 8, 8, 8, BF, 8, BF, 8, BF, 8, CUBLAS_COMPUTE_32F_FAST_TF32),
         CUBLAS_STATUS_NOT_SUPPORTED},
        {"status_compute_64f_not_supported", gemm(h, N, N, 8, 8, 8, F, 8, F, 8, F, 8, CUBLAS_COMPUTE_64F),
         CUBLAS_STATUS_NOT_SUPPORTED},
        {"status_lda_small_invalid", gemm(h, N, N, 8, 8, 8, F, 7, F, 8, F, 8, CUBLAS_COMPUTE_32F),
         CUBLAS_STATUS_INVALID_VALUE},
        {"status_lda_small_transposed_invalid", gemm(h, T, N, 16, 8, 8, F, 7, F, 8, F, 16, CUBLAS_COMPUTE_32F),
         CUBLAS_STATUS_INVALID_VALUE},
        {"status_lda_transposed_ok", gemm(h, T, N, 16, 8, 8, F, 8, F, 8, F, 16, CUBLAS_COMPUTE_32F),
         CUBLAS_STATUS_SUCCESS},
        {"status_ldb_small_invalid", gemm(h, N, T, 8, 16, 8, F, 8, F, 8, F, 8, CUBLAS_COMPUTE_32F),
         CUBLAS_STATUS_INVALID_VALUE},
        {"status_ldc_small_invalid", gemm(h, N, N, 8, 8, 8, F, 8, F, 8, F, 4, CUBLAS_COMPUTE_32F),
         CUBLAS_STATUS_INVALID_VALUE},
        {"status_negative_m_invalid", gemm(h, N, N, -1, 8, 8, F, 8, F, 8, F, 8, CUBLAS_COMPUTE_32F),
         CUBLAS_STATUS_INVALID_VALUE},
        {"status_op_conjg_invalid", gemm(h, CUBLAS_OP_CONJG, N, 8, 8, 8, F, 8, F, 8, F, 8, CUBLAS_COMPUTE_32F),
         CUBLAS_STATUS_INVALID_VALUE},
        {"status_null_handle", gemm(nullptr, N, N, 8, 8, 8, F, 8, F, 8, F, 8, CUBLAS_COMPUTE_32F),
         CUBLAS_STATUS_NOT_INITIALIZED},
        {"status_batch_negative_invalid",
         cublasGemmStridedBatchedEx(h, N, N, 8, 8, 8, &one, f.data(), F, 8, 64, f.data(), F, 8, 64, &zero, f.data(), F,
                                    8, 64, -1, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
         CUBLAS_STATUS_INVALID_VALUE},
        {"status_batch_zero_ok",
         cublasGemmStridedBatchedEx(h, N, N, 8, 8, 8, &one, f.data(), F, 8, 64, f.data(), F, 8, 64, &zero, f.data(), F,
                                    8, 64, 0, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT_TENSOR_OP),
         CUBLAS_STATUS_SUCCESS},
        {"status_math_mode_invalid", cublasSetMathMode(h, (cublasMath_t)7), CUBLAS_STATUS_INVALID_VALUE},
    };
    for (const Row& r : rows) check(r.name, r.got == r.want, "got %d want %d", (int)r.got, (int)r.want);

    // m == 0 does nothing and succeeds: C keeps its contents
    std::vector<float> c(16, 7.0f);
    const cublasStatus_t st0 = cublasGemmEx(h, N, N, 0, 4, 4, &one, f.data(), F, 1, f.data(), F, 4, &zero, c.data(),
                                            F, 1, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    bool kept = true;
    for (float v : c) kept = kept && v == 7.0f;
    check("status_m0_noop", st0 == CUBLAS_STATUS_SUCCESS && kept, "status %d kept %d", (int)st0, (int)kept);

    cublasMath_t mm;
    cudaStream_t s = reinterpret_cast<cudaStream_t>(0x1234), s2 = nullptr;
    const bool mm_ok = cublasSetMathMode(h, CUBLAS_TF32_TENSOR_OP_MATH) == CUBLAS_STATUS_SUCCESS &&
                       cublasGetMathMode(h, &mm) == CUBLAS_STATUS_SUCCESS && mm == CUBLAS_TF32_TENSOR_OP_MATH;
    const bool st_ok = cublasSetStream(h, s) == CUBLAS_STATUS_SUCCESS &&
                       cublasGetStream(h, &s2) == CUBLAS_STATUS_SUCCESS && s2 == s;
    check("handle_math_mode_and_stream_roundtrip", mm_ok && st_ok, "math %d stream %d", (int)mm_ok, (int)st_ok);
    check("destroy_handle", cublasDestroy(h) == CUBLAS_STATUS_SUCCESS, "");
}

// Lt: heuristic answers, attribute sizes, layout conflicts.
static void check_lt_statuses() {
    cublasLtHandle_t h;
    cublasLtCreate(&h);
    std::vector<float> buf(4096, 0.0f), bias(64, 0.0f), aux(4096, 0.0f);
    const float one = 1.0f, zero = 0.0f;

    // A: (k=16) x (m=40) read transposed, B: 16 x 8, D: 40 x 8, as the project's forward matmul
    struct Cfg {
        cudaDataType_t ab = CUDA_R_32F, cd = CUDA_R_32F;
        cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
        uint32_t epi = CUBLASLT_EPILOGUE_DEFAULT;
        int a_rows = 16, a_cols = 40, a_ld = 16, d_ld = 40;
        int64_t aux_ld = 40;
        int32_t bias_type = -1;
        int32_t transc = CUBLAS_OP_N;
        bool set_pointers = true;
    };
    auto run = [&](const Cfg& c, int* found, bool matmul, const void* cptr = nullptr, int c_ld = 40) {
        cublasLtMatmulDesc_t desc;
        cublasLtMatmulDescCreate(&desc, c.compute, CUDA_R_32F);
        const int32_t ta = CUBLAS_OP_T;
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta);
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &c.epi, sizeof c.epi);
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSC, &c.transc, sizeof c.transc);
        if (c.bias_type != -1)
            cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &c.bias_type, sizeof c.bias_type);
        if (c.set_pointers) {
            const void* bp = bias.data();
            void* xp = aux.data();
            cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bp, sizeof bp);
            cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &xp, sizeof xp);
        }
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &c.aux_ld, sizeof c.aux_ld);
        cublasLtMatrixLayout_t la, lb, lc, ld;
        cublasLtMatrixLayoutCreate(&la, c.ab, c.a_rows, c.a_cols, c.a_ld);
        cublasLtMatrixLayoutCreate(&lb, c.ab, 16, 8, 16);
        cublasLtMatrixLayoutCreate(&lc, c.cd, 40, 8, c_ld);
        cublasLtMatrixLayoutCreate(&ld, c.cd, 40, 8, c.d_ld);
        cublasLtMatmulPreference_t pref;
        cublasLtMatmulPreferenceCreate(&pref);
        cublasLtMatmulHeuristicResult_t r[2];
        *found = -1;
        cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(h, desc, la, lb, lc, ld, pref, 2, r, found);
        if (matmul)
            st = cublasLtMatmul(h, desc, &one, buf.data(), la, buf.data(), lb, &zero, cptr ? cptr : buf.data(), lc,
                                buf.data(), ld, nullptr, nullptr, 0, nullptr);
        else if (st == CUBLAS_STATUS_SUCCESS && (*found != 1 || r[0].state != CUBLAS_STATUS_SUCCESS))
            st = CUBLAS_STATUS_INTERNAL_ERROR;  // reported as a mismatch below
        cublasLtMatmulPreferenceDestroy(pref);
        for (auto l : {la, lb, lc, ld}) cublasLtMatrixLayoutDestroy(l);
        cublasLtMatmulDescDestroy(desc);
        return st;
    };
    struct Row {
        const char* name;
        Cfg cfg;
        cublasStatus_t want;
        bool matmul;
    };
    auto cfg = [](auto edit) {
        Cfg c;
        edit(c);
        return c;
    };
    const Row rows[] = {
        {"lt_heuristic_default_found", Cfg{}, CUBLAS_STATUS_SUCCESS, false},
        {"lt_heuristic_gelu_aux_bias_found", cfg([](Cfg& c) { c.epi = CUBLASLT_EPILOGUE_GELU_AUX_BIAS; }),
         CUBLAS_STATUS_SUCCESS, false},
        {"lt_heuristic_gelu_aux_bias_bf16_found",
         cfg([](Cfg& c) { c.epi = CUBLASLT_EPILOGUE_GELU_AUX_BIAS; c.ab = c.cd = CUDA_R_16BF; }), CUBLAS_STATUS_SUCCESS,
         false},
        {"lt_heuristic_relu_aux_not_supported", cfg([](Cfg& c) { c.epi = CUBLASLT_EPILOGUE_RELU_AUX; }),
         CUBLAS_STATUS_NOT_SUPPORTED, false},
        {"lt_heuristic_relu_not_supported", cfg([](Cfg& c) { c.epi = CUBLASLT_EPILOGUE_RELU; }),
         CUBLAS_STATUS_NOT_SUPPORTED, false},
        {"lt_heuristic_dgelu_bgrad_not_supported", cfg([](Cfg& c) { c.epi = CUBLASLT_EPILOGUE_DGELU_BGRAD; }),
         CUBLAS_STATUS_NOT_SUPPORTED, false},
        {"lt_heuristic_bgradb_not_supported", cfg([](Cfg& c) { c.epi = CUBLASLT_EPILOGUE_BGRADB; }),
         CUBLAS_STATUS_NOT_SUPPORTED, false},
        {"lt_heuristic_aux_ld_not_multiple_of_8",
         cfg([](Cfg& c) { c.epi = CUBLASLT_EPILOGUE_GELU_AUX; c.aux_ld = 44; }), CUBLAS_STATUS_NOT_SUPPORTED, false},
        {"lt_heuristic_aux_ld_below_rows_invalid",
         cfg([](Cfg& c) { c.epi = CUBLASLT_EPILOGUE_GELU_AUX; c.aux_ld = 32; }), CUBLAS_STATUS_INVALID_VALUE, false},
        {"lt_heuristic_bf16_tf32_not_supported",
         cfg([](Cfg& c) { c.ab = c.cd = CUDA_R_16BF; c.compute = CUBLAS_COMPUTE_32F_FAST_TF32; }),
         CUBLAS_STATUS_NOT_SUPPORTED, false},
        {"lt_heuristic_fp32_in_bf16_out_not_supported", cfg([](Cfg& c) { c.cd = CUDA_R_16BF; }),
         CUBLAS_STATUS_NOT_SUPPORTED, false},
        {"lt_heuristic_bias_type_mismatch_not_supported",
         cfg([](Cfg& c) {
             c.ab = c.cd = CUDA_R_16BF; c.epi = CUBLASLT_EPILOGUE_BIAS; c.bias_type = CUDA_R_32F;
         }),
         CUBLAS_STATUS_NOT_SUPPORTED, false},
        {"lt_heuristic_transc_not_supported", cfg([](Cfg& c) { c.transc = CUBLAS_OP_T; }),
         CUBLAS_STATUS_NOT_SUPPORTED, false},
        {"lt_heuristic_a_shape_mismatch_invalid", cfg([](Cfg& c) { c.a_cols = 39; }), CUBLAS_STATUS_INVALID_VALUE,
         false},
        {"lt_heuristic_ld_below_rows_invalid", cfg([](Cfg& c) { c.a_ld = 15; }), CUBLAS_STATUS_INVALID_VALUE, false},
        {"lt_matmul_d_ld_below_rows_invalid", cfg([](Cfg& c) { c.d_ld = 39; }), CUBLAS_STATUS_INVALID_VALUE, true},
        {"lt_matmul_missing_bias_pointer_invalid",
         cfg([](Cfg& c) { c.epi = CUBLASLT_EPILOGUE_BIAS; c.set_pointers = false; }), CUBLAS_STATUS_INVALID_VALUE,
         true},
        {"lt_matmul_ok", cfg([](Cfg& c) { c.epi = CUBLASLT_EPILOGUE_GELU_AUX_BIAS; }), CUBLAS_STATUS_SUCCESS, true},
    };
    for (const Row& r : rows) {
        int found = -1;
        const cublasStatus_t st = run(r.cfg, &found, r.matmul);
        const bool count_ok = r.matmul || (st == CUBLAS_STATUS_SUCCESS ? found == 1 : found == 0);
        check(r.name, st == r.want && count_ok, "got %d want %d, %d algorithms", (int)st, (int)r.want, found);
    }
    int found = 0;
    // in place needs identical layouts: C at D's address with another ld conflicts
    const cublasStatus_t st_alias = run(Cfg{}, &found, true, buf.data(), 48);
    check("lt_matmul_in_place_layout_mismatch_invalid", st_alias == CUBLAS_STATUS_INVALID_VALUE, "got %d",
          (int)st_alias);

    // requestedAlgoCount <= 0
    {
        cublasLtMatmulDesc_t desc;
        cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F);
        cublasLtMatrixLayout_t l;
        cublasLtMatrixLayoutCreate(&l, CUDA_R_32F, 8, 8, 8);
        cublasLtMatmulPreference_t pref;
        cublasLtMatmulPreferenceCreate(&pref);
        cublasLtMatmulHeuristicResult_t r;
        int n = -1;
        const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(h, desc, l, l, l, l, pref, 0, &r, &n);
        check("lt_heuristic_zero_requested_invalid", st == CUBLAS_STATUS_INVALID_VALUE, "got %d", (int)st);
        const cublasStatus_t st_null = cublasLtMatmulAlgoGetHeuristic(nullptr, desc, l, l, l, l, pref, 1, &r, &n);
        check("lt_heuristic_null_handle", st_null == CUBLAS_STATUS_NOT_INITIALIZED, "got %d", (int)st_null);

        // attribute sizes: a wrong size or an undefined id is INVALID_VALUE; Get reports and returns values
        const int32_t epi32 = CUBLASLT_EPILOGUE_BIAS;
        const int64_t epi64 = CUBLASLT_EPILOGUE_BIAS;
        const uint64_t ws = 1 << 20;
        const uint32_t ws32 = 1 << 20;
        const cublasStatus_t s1 = cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi64, 8);
        const cublasStatus_t s2 = cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi32, 4);
        const cublasStatus_t s3 = cublasLtMatmulDescSetAttribute(desc, (cublasLtMatmulDescAttributes_t)9, &epi32, 4);
        const cublasStatus_t s4 =
            cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws32, 4);
        const cublasStatus_t s5 =
            cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, 8);
        const int32_t bc = 3;
        const cublasStatus_t s6 = cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &bc, 8);
        const cublasStatus_t s7 = cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, nullptr, 4);
        check("lt_set_attribute_sizes",
              s1 == CUBLAS_STATUS_INVALID_VALUE && s2 == CUBLAS_STATUS_SUCCESS && s3 == CUBLAS_STATUS_INVALID_VALUE &&
                  s4 == CUBLAS_STATUS_INVALID_VALUE && s5 == CUBLAS_STATUS_SUCCESS &&
                  s6 == CUBLAS_STATUS_INVALID_VALUE && s7 == CUBLAS_STATUS_INVALID_VALUE,
              "statuses %d %d %d %d %d %d %d", (int)s1, (int)s2, (int)s3, (int)s4, (int)s5, (int)s6, (int)s7);
        size_t need = 0, wrote = 0;
        uint32_t epi_back = 0;
        uint64_t rows_back = 0;
        const cublasStatus_t g1 = cublasLtMatmulDescGetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, nullptr, 0, &need);
        const cublasStatus_t g2 =
            cublasLtMatmulDescGetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi_back, sizeof epi_back, &wrote);
        const cublasStatus_t g3 =
            cublasLtMatrixLayoutGetAttribute(l, CUBLASLT_MATRIX_LAYOUT_ROWS, &rows_back, sizeof rows_back, nullptr);
        const cublasStatus_t g4 = cublasLtMatmulDescGetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, nullptr, 0, nullptr);
        check("lt_get_attribute",
              g1 == CUBLAS_STATUS_SUCCESS && need == 4 && g2 == CUBLAS_STATUS_SUCCESS && wrote == 4 &&
                  epi_back == CUBLASLT_EPILOGUE_BIAS && g3 == CUBLAS_STATUS_SUCCESS && rows_back == 8 &&
                  g4 == CUBLAS_STATUS_INVALID_VALUE,
              "need %zu wrote %zu epilogue %u rows %llu statuses %d %d %d %d", need, wrote, epi_back,
              (unsigned long long)rows_back, (int)g1, (int)g2, (int)g3, (int)g4);
        cublasLtMatmulPreferenceDestroy(pref);
        cublasLtMatrixLayoutDestroy(l);
        cublasLtMatmulDescDestroy(desc);
    }
    cublasLtDestroy(h);
}

// Same product with one thread and with several: bit-identical outputs.
static void check_determinism() {
#ifdef _OPENMP
    const int m = 70, n = 150, k = 300;
    Rng rng(7);
    std::vector<uint16_t> a((size_t)m * k), b((size_t)k * n);
    for (auto& x : a) x = __float2bfloat16_rn(rng.uniform()).bits;
    for (auto& x : b) x = __float2bfloat16_rn(rng.uniform()).bits;
    std::vector<float> d1((size_t)m * n, NAN), d2((size_t)m * n, NAN);
    cublasHandle_t h;
    cublasCreate(&h);
    const float alpha = 1.0f, beta = 0.0f;
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, a.data(), CUDA_R_16BF, m, b.data(), CUDA_R_16BF, k,
                 &beta, d1.data(), CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    omp_set_num_threads(4);
    cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, a.data(), CUDA_R_16BF, m, b.data(), CUDA_R_16BF, k,
                 &beta, d2.data(), CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    omp_set_num_threads(saved);
    cublasDestroy(h);
    check("deterministic_across_thread_counts", memcmp(d1.data(), d2.data(), d1.size() * 4) == 0 && !std::isnan(d1[0]),
          "1 vs 4 threads, %d x %d x %d", m, n, k);
#endif
}

int main() {
    std::vector<Spec> specs;
    auto add = [&](Spec s) { specs.push_back(s); };
    const cudaDataType_t F = CUDA_R_32F, BF = CUDA_R_16BF;
    const char* tn[2] = {"n", "t"};

    // cublasGemmEx: every transpose pair, fp32 and bf16 in/out, alpha != 1, beta != 0 and beta == 0 on NaN
    for (int ta = 0; ta < 2; ta++) {
        for (int tb = 0; tb < 2; tb++) {
            const std::string op = std::string(tn[ta]) + tn[tb];
            Spec s;
            s.ta = ta, s.tb = tb;
            s.name = "gemmex_fp32_" + op + "_alpha_beta", s.alpha = 1.5f, s.beta = 0.5f;
            add(s);
            s.name = "gemmex_fp32_" + op + "_beta0_nan_c", s.alpha = -0.75f, s.beta = 0.0f;
            add(s);
            s.ab = s.cd = BF;
            s.name = "gemmex_bf16_" + op + "_beta0_nan_c", s.alpha = 1.0f;
            add(s);
            s.name = "gemmex_bf16_" + op + "_alpha_beta", s.alpha = 0.5f, s.beta = -1.25f;
            add(s);
            s.cd = F;
            s.name = "gemmex_bf16_in_fp32_out_" + op + "_accumulate", s.alpha = 1.0f, s.beta = 1.0f;
            add(s);
        }
    }
    {
        Spec s;
        s.name = "gemmex_bf16_in_fp32_out_alpha_beta", s.ab = BF, s.alpha = 0.75f, s.beta = 0.25f;
        add(s);
        s = Spec{};
        s.name = "gemmex_fp32_accumulate_in_place", s.alpha = 1.0f, s.beta = 1.0f, s.tb = true;
        add(s);
        s.name = "gemmex_fp32_alpha2_beta1_in_place", s.alpha = 2.0f;
        add(s);
        s = Spec{};
        s.name = "gemmex_fp32_blocks_k300_m70_n150", s.m = 70, s.n = 150, s.k = 300, s.alpha = 1.0f, s.beta = 0.0f;
        add(s);
        s.name = "gemmex_bf16_blocks_k300_m70_n150", s.ab = s.cd = BF, s.ta = true;
        add(s);
        s = Spec{};
        s.name = "gemmex_k0_is_beta_c", s.k = 0, s.beta = 2.0f;
        add(s);
        s.name = "gemmex_k0_beta0_is_zero", s.beta = 0.0f, s.ab = s.cd = BF;
        add(s);
        s = Spec{};
        s.name = "gemmex_tiny_1x1x1", s.m = s.n = s.k = 1, s.pad = 0;
        add(s);
        // k == 1 on bf16 inputs: the fp32 product is exact, so bf16 D is exactly its RNE rounding
        s = Spec{};
        s.name = "gemmex_bf16_out_rounds_to_nearest_even", s.k = 1, s.ab = s.cd = BF, s.exact = true;
        add(s);
        s.name = "lt_bf16_out_rounds_to_nearest_even", s.api = LT, s.ta = true;
        add(s);
        s = Spec{};
        s.name = "sgemm_fp32_nt_alpha_beta", s.api = SGEMM, s.tb = true, s.alpha = 2.0f, s.beta = 0.5f;
        add(s);
    }
    // TF32: against the reference over TF32-rounded inputs (and not the unrounded one)
    {
        Spec s;
        s.ref_tf32 = true;
        s.name = "tf32_gemmex_fast_tf32", s.compute = CUBLAS_COMPUTE_32F_FAST_TF32;
        add(s);
        s.name = "tf32_gemmex_math_mode", s.compute = CUBLAS_COMPUTE_32F, s.math = CUBLAS_TF32_TENSOR_OP_MATH;
        s.ta = true, s.beta = 1.0f;
        add(s);
        s.name = "tf32_sgemm_math_mode", s.api = SGEMM;
        add(s);
        s.name = "tf32_strided_batch3", s.api = STRIDED, s.batch = 3, s.math = CUBLAS_DEFAULT_MATH;
        s.compute = CUBLAS_COMPUTE_32F_FAST_TF32;
        add(s);
        s = Spec{};
        s.api = LT, s.ref_tf32 = true, s.compute = CUBLAS_COMPUTE_32F_FAST_TF32, s.ta = true;
        s.name = "tf32_lt_gelu_aux_bias", s.epi = CUBLASLT_EPILOGUE_GELU_AUX_BIAS;
        add(s);
    }
    // strided batched: batch 3 with gaps, as attention uses it (scale alpha, beta 0) and more
    for (int ta = 0; ta < 2; ta++) {
        for (int tb = 0; tb < 2; tb++) {
            Spec s;
            s.api = STRIDED, s.batch = 3, s.ta = ta, s.tb = tb, s.m = 29, s.n = 31, s.k = 17;
            s.ab = s.cd = BF, s.alpha = 0.125f;
            s.name = std::string("strided_bf16_") + tn[ta] + tn[tb] + "_batch3_scaled";
            add(s);
            s.ab = s.cd = F, s.beta = 0.5f;
            s.name = std::string("strided_fp32_") + tn[ta] + tn[tb] + "_batch3_beta";
            add(s);
        }
    }
    {
        Spec s;
        s.api = STRIDED, s.batch = 3, s.ab = BF, s.cd = F, s.beta = 1.0f;
        s.name = "strided_bf16_in_fp32_out_batch3_accumulate";
        add(s);
    }
    // cuBLASLt: every epilogue, both precisions, transposes, in place or not, batches
    const cublasLtEpilogue_t epis[] = {CUBLASLT_EPILOGUE_DEFAULT, CUBLASLT_EPILOGUE_BIAS, CUBLASLT_EPILOGUE_GELU,
                                       CUBLASLT_EPILOGUE_GELU_BIAS, CUBLASLT_EPILOGUE_GELU_AUX,
                                       CUBLASLT_EPILOGUE_GELU_AUX_BIAS};
    const char* epi_names[] = {"default", "bias", "gelu", "gelu_bias", "gelu_aux", "gelu_aux_bias"};
    for (int e = 0; e < 6; e++) {
        for (cudaDataType_t t : {F, BF}) {
            const std::string ty = t == F ? "fp32" : "bf16";
            Spec s;
            s.api = LT, s.ab = s.cd = t, s.epi = epis[e], s.ta = true;
            // the project's forward: transa T, transb N, C == D, beta 0, D ld = m
            s.name = "lt_" + ty + "_" + epi_names[e] + "_project_forward", s.pad = 0, s.aux_pad = 0, s.m = 40;
            add(s);
            s.name = "lt_" + ty + "_" + epi_names[e] + "_ragged_alpha_beta_separate_c", s.pad = 3, s.m = 37;
            s.alpha = 0.75f, s.beta = 0.5f, s.in_place = false, s.aux_pad = 9, s.ta = false;
            add(s);
            s.name = "lt_" + ty + "_" + epi_names[e] + "_tt_batch3_in_place", s.batch = 3, s.ta = s.tb = true;
            s.in_place = true, s.beta = 1.0f;
            add(s);
        }
    }
    {
        Spec s;
        s.api = LT, s.ab = BF, s.cd = F, s.beta = 0.5f, s.epi = CUBLASLT_EPILOGUE_GELU_AUX_BIAS, s.tb = true;
        s.name = "lt_bf16_in_fp32_out_gelu_aux_bias";
        add(s);
        s = Spec{};
        s.api = LT, s.ab = s.cd = BF, s.epi = CUBLASLT_EPILOGUE_GELU_AUX_BIAS, s.ta = true;
        s.m = 96, s.n = 64, s.k = 300, s.pad = 0;
        s.name = "lt_bf16_gelu_aux_bias_k300";
        add(s);
        s.name = "lt_bf16_gelu_aux_bias_k0", s.k = 0;
        add(s);
        // m * n beyond the 4M-float accumulator: D is computed in slabs of columns
        s = Spec{};
        s.api = LT, s.ab = s.cd = BF, s.epi = CUBLASLT_EPILOGUE_GELU_AUX_BIAS, s.ta = true, s.beta = 0.5f;
        s.m = 30000, s.n = 300, s.k = 3, s.pad = 0, s.in_place = false;
        s.name = "lt_bf16_gelu_aux_bias_column_slabs";
        add(s);
    }
    // the project's backward (llmc/cuda/matmul.cuh): dinp = W dout (SET), dweight += inp dout^T (fp32)
    for (cudaDataType_t t : {F, BF}) {
        const std::string ty = t == F ? "fp32" : "bf16";
        Spec s;
        s.ab = s.cd = t, s.pad = 0, s.m = 48, s.n = 24, s.k = 40;
        s.name = "project_backward_dinp_" + ty;
        add(s);
        s.cd = F, s.tb = true, s.beta = 1.0f, s.k = 24, s.n = 40;
        s.name = "project_backward_dweight_" + ty;
        add(s);
    }

    for (const Spec& s : specs) check_spec(s);
    check_tf32_rounding();
    check_statuses();
    check_lt_statuses();
    check_determinism();
    check("case_count", specs.size() > 0, "%zu product cases", specs.size());
    return test_exit_code();
}
