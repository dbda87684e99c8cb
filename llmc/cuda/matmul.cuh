// Matmuls for the trainer, all in the CPU trainer's row-major convention:
//   out (N, OC) = inp (N, K) @ weight (OC, K)^T + bias (OC)
// cuBLAS is column-major, so a row-major (r, c) matrix is its column-major transpose with ld = c;
// the forward is then out^T (OC, N) = weight_cm^T (OC, K) @ inp_cm (K, N).
// Forward runs on cuBLASLt for its fused epilogues (bias; bias + GELU with the pre-GELU values
// written as the aux output). Backward uses cublasGemmEx: dinp in floatX, dweight accumulated
// (beta = 1) in fp32 straight from bf16 inputs. Bias grads use the deterministic column-sum
// kernel, not the BGRAD epilogue.
// Plans: the cuBLASLt descriptors, layouts and the heuristic's algorithm are made once per
// (shape, epilogue, pointer alignment) and cached in Blas (a training step has 5 shapes); a
// later call of that shape only points the descriptor at its bias / aux and runs the matmul.
// The workspace is allocated once, in blas_init. Blas::plan_cache = false makes and destroys a
// plan per call (the reference path dev/cuda/matmul.cu compares against, bit for bit).
// GELU fusion (Blas::gelu_fusion, -ge 1) is OFF by default: the cuBLASLt GELU epilogue's formula
// and rounding have only been checked on the emulator; llm.c ships it off too. Turn it on after a
// real GPU has shown test_gpt2cu's fused rows within the FP32 table. If the heuristic offers no
// algorithm for it we fall back to bias-only + the GELU kernel, once, with a message.
#pragma once
#include <cstdint>
#include <unordered_map>

#include "column_sums.cuh"
#include "common.cuh"
#include "gelu.cuh"
#include "profile.cuh"

// What identifies a cuBLASLt plan: D (m, n) = op(A) (m, k) @ B (k, n) with these leading
// dimensions and epilogue, the element types and compute type of the Blas, and the alignment the
// pointers guarantee (the heuristic may pick an algorithm that needs it).
struct LtPlanKey {
    int m, n, k, lda, ldb, ldd;
    int transa, epilogue, compute, align;
    bool operator==(const LtPlanKey& o) const {
        return m == o.m && n == o.n && k == o.k && lda == o.lda && ldb == o.ldb && ldd == o.ldd && transa == o.transa &&
               epilogue == o.epilogue && compute == o.compute && align == o.align;
    }
};
struct LtPlanKeyHash {
    size_t operator()(const LtPlanKey& k) const {
        const int v[] = {k.m, k.n, k.k, k.lda, k.ldb, k.ldd, k.transa, k.epilogue, k.compute, k.align};
        uint64_t h = 1469598103934665603ull;  // FNV-1a over the fields
        for (int x : v) h = (h ^ (uint32_t)x) * 1099511628211ull;
        return (size_t)h;
    }
};
struct LtPlan {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t la = nullptr, lb = nullptr, ld = nullptr;
    cublasLtMatmulAlgo_t algo{};
    bool ok = false;  // the heuristic returned an algorithm (false is cached too: not asked again)
};

struct Blas {
    cublasHandle_t handle = nullptr;
    cublasLtHandle_t lt = nullptr;
    void* workspace = nullptr;
    size_t workspace_size = 32ull << 20;  // cuBLASLt: 32 MiB lets Hopper pick its fast kernels
    cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
    bool gelu_fusion = false;             // -ge: off until a real GPU has validated the epilogue
    bool gelu_fusion_warned = false;
    bool plan_cache = true;               // false: a fresh plan (descriptors + heuristic) per call
    std::unordered_map<LtPlanKey, LtPlan, LtPlanKeyHash> plans;
    KernelProfiler* prof = nullptr;       // -prof: the unfused GELU kernel marks itself
    struct {                              // cuBLASLt calls made: what the cache saves
        long long plans_made = 0, descriptors_made = 0, heuristic_calls = 0, plan_hits = 0, matmuls = 0;
    } stats;
};

inline void blas_init(Blas* b, bool tf32) {
    cublasCheck(cublasCreate(&b->handle));
    cublasCheck(cublasLtCreate(&b->lt));
    cudaCheck(cudaMalloc(&b->workspace, b->workspace_size));
    // TF32 only matters for fp32 inputs; bf16 inputs always run on bf16 tensor cores
    b->compute = (tf32 && FLOATX_IS_FP32) ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    cublasCheck(cublasSetMathMode(b->handle, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
}

inline void lt_plan_destroy(LtPlan* p) {
    if (p->la) cublasCheck(cublasLtMatrixLayoutDestroy(p->la));
    if (p->lb) cublasCheck(cublasLtMatrixLayoutDestroy(p->lb));
    if (p->ld) cublasCheck(cublasLtMatrixLayoutDestroy(p->ld));
    if (p->op) cublasCheck(cublasLtMatmulDescDestroy(p->op));
    *p = LtPlan{};
}

inline void blas_free(Blas* b) {
    for (auto& kv : b->plans) lt_plan_destroy(&kv.second);
    b->plans.clear();
    if (b->workspace) cudaCheck(cudaFree(b->workspace));
    if (b->lt) cublasCheck(cublasLtDestroy(b->lt));
    if (b->handle) cublasCheck(cublasDestroy(b->handle));
    *b = Blas{};
}

// The largest power of two (<= 256) dividing every non-null pointer's address.
inline int pointer_alignment(std::initializer_list<const void*> ptrs) {
    uintptr_t bits = 256;
    for (const void* p : ptrs) {
        if (p) bits |= (uintptr_t)p;
    }
    return (int)(bits & (~bits + 1));  // lowest set bit
}

// Descriptors, layouts and the heuristic's first algorithm for one key.
inline LtPlan lt_plan_make(Blas* b, const LtPlanKey& key) {
    LtPlan p;
    b->stats.plans_made++;
    b->stats.descriptors_made += 4;  // op + 3 layouts (the preference is made and dropped here)
    cublasCheck(cublasLtMatmulDescCreate(&p.op, (cublasComputeType_t)key.compute, CUDA_R_32F));
    cublasOperation_t ta = key.transa ? CUBLAS_OP_T : CUBLAS_OP_N, tb = CUBLAS_OP_N;
    cublasCheck(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    cublasCheck(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    cublasLtEpilogue_t epi = (cublasLtEpilogue_t)key.epilogue;
    cublasCheck(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
    if (epi == CUBLASLT_EPILOGUE_GELU_AUX || epi == CUBLASLT_EPILOGUE_GELU_AUX_BIAS) {
        int64_t ld = key.m;
        cublasCheck(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &ld, sizeof ld));
    }
    cublasCheck(cublasLtMatrixLayoutCreate(&p.la, CUBLAS_FLOATX, key.transa ? key.k : key.m, key.transa ? key.m : key.k, key.lda));
    cublasCheck(cublasLtMatrixLayoutCreate(&p.lb, CUBLAS_FLOATX, key.k, key.n, key.ldb));
    cublasCheck(cublasLtMatrixLayoutCreate(&p.ld, CUBLAS_FLOATX, key.m, key.n, key.ldd));
    cublasLtMatmulPreference_t pref;
    cublasCheck(cublasLtMatmulPreferenceCreate(&pref));
    cublasCheck(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                     &b->workspace_size, sizeof b->workspace_size));
    const uint32_t align = (uint32_t)key.align;
    for (cublasLtMatmulPreferenceAttributes_t a : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                                                   CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
        cublasCheck(cublasLtMatmulPreferenceSetAttribute(pref, a, &align, sizeof align));
    cublasLtMatmulHeuristicResult_t heur;
    int found = 0;
    b->stats.heuristic_calls++;
    cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(b->lt, p.op, p.la, p.lb, p.ld, p.ld, pref, 1, &heur, &found);
    cublasCheck(cublasLtMatmulPreferenceDestroy(pref));
    p.ok = st == CUBLAS_STATUS_SUCCESS && found > 0;
    if (p.ok) p.algo = heur.algo;
    return p;
}

// One cuBLASLt call: D (m, n) col-major = alpha * op(A) @ op(B) [+ bias (m)] [gelu, aux = pre-gelu].
// alpha is a per-call scalar, not part of the plan. Returns false (and does nothing) when no
// algorithm supports this epilogue/shape.
inline bool lt_matmul(Blas* b, floatX* d, const floatX* a, const floatX* bmat, const floatX* bias, floatX* aux,
                      int m, int n, int k, bool transa, int lda, int ldb, cudaStream_t stream, float alpha = 1.0f) {
    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_DEFAULT;
    if (aux) epi = bias ? CUBLASLT_EPILOGUE_GELU_AUX_BIAS : CUBLASLT_EPILOGUE_GELU_AUX;
    else if (bias) epi = CUBLASLT_EPILOGUE_BIAS;
    const LtPlanKey key{m, n, k, lda, ldb, m, transa ? 1 : 0, (int)epi, (int)b->compute,
                        pointer_alignment({d, a, bmat, bias, aux})};
    LtPlan fresh, *p = &fresh;
    if (b->plan_cache) {
        auto it = b->plans.find(key);
        if (it == b->plans.end()) it = b->plans.emplace(key, lt_plan_make(b, key)).first;
        else b->stats.plan_hits++;
        p = &it->second;
    } else {
        fresh = lt_plan_make(b, key);
    }
    // the pointers are per call: set on the (cached) descriptor, read by cublasLtMatmul when it is called
    if (p->ok && bias)
        cublasCheck(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
    if (p->ok && aux)
        cublasCheck(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &aux, sizeof aux));
    const bool ok = p->ok;
    if (ok) {
        const float beta = 0.0f;
        b->stats.matmuls++;
        cublasCheck(cublasLtMatmul(b->lt, p->op, &alpha, a, p->la, bmat, p->lb, &beta, d, p->ld, d, p->ld, &p->algo,
                                   b->workspace, b->workspace_size, stream));
    }
    if (!b->plan_cache) lt_plan_destroy(&fresh);
    return ok;
}

// out (N, OC) = alpha * (inp (N, K) @ weight (OC, K)^T) + bias (bias may be null). alpha scales
// the product in the fp32 accumulator, before the one rounding to floatX (the lm_head's muP
// logit multiplier, model.h); every other matmul leaves it 1.
inline void matmul_forward(Blas* b, floatX* out, const floatX* inp, const floatX* weight, const floatX* bias,
                           int N, int K, int OC, cudaStream_t stream, float alpha = 1.0f) {
    if (!lt_matmul(b, out, weight, inp, bias, nullptr, OC, N, K, true, K, K, stream, alpha))
        die("cuBLASLt has no algorithm for matmul N=%d K=%d OC=%d (%s)", N, K, OC, PRECISION_NAME);
}

// pre_gelu (N, OC) = inp @ weight^T + bias; out = gelu(pre_gelu). Fused into the cuBLASLt
// epilogue when available (one write of each instead of write, read, write).
inline void matmul_forward_gelu(Blas* b, floatX* out, floatX* pre_gelu, const floatX* inp, const floatX* weight,
                                const floatX* bias, int N, int K, int OC, cudaStream_t stream) {
    if (b->gelu_fusion && lt_matmul(b, out, weight, inp, bias, pre_gelu, OC, N, K, true, K, K, stream)) return;
    if (b->gelu_fusion && !b->gelu_fusion_warned) {
        printf("note: cuBLASLt offers no GELU_AUX_BIAS algorithm here; using bias epilogue + GELU kernel\n");
        b->gelu_fusion_warned = true;
        b->gelu_fusion = false;
    }
    matmul_forward(b, pre_gelu, inp, weight, bias, N, K, OC, stream);
    if (b->prof) prof_mark(b->prof, "gelu_fwd");
    gelu_forward(out, pre_gelu, (size_t)N * OC, stream);
}

// dinp (N, K) = dout (N, OC) @ weight (OC, K)            [SET, floatX]
// dweight (OC, K) += dout^T @ inp                        [fp32 accumulate]
// dbias (OC) += column sums of dout (dbias may be null)  [fp32, deterministic]
inline void matmul_backward(Blas* b, floatX* dinp, float* dweight, float* dbias, float* scratch, const floatX* dout,
                            const floatX* inp, const floatX* weight, int N, int K, int OC, cudaStream_t stream) {
    cublasCheck(cublasSetStream(b->handle, stream));
    const float one = 1.0f, zero = 0.0f;
    // dinp_cm (K, N) = weight_cm (K, OC) @ dout_cm (OC, N)
    cublasCheck(cublasGemmEx(b->handle, CUBLAS_OP_N, CUBLAS_OP_N, K, N, OC, &one, weight, CUBLAS_FLOATX, K, dout,
                             CUBLAS_FLOATX, OC, &zero, dinp, CUBLAS_FLOATX, K, b->compute, CUBLAS_GEMM_DEFAULT));
    // dweight_cm (K, OC) += inp_cm (K, N) @ dout_cm^T (N, OC)
    cublasCheck(cublasGemmEx(b->handle, CUBLAS_OP_N, CUBLAS_OP_T, K, OC, N, &one, inp, CUBLAS_FLOATX, K, dout,
                             CUBLAS_FLOATX, OC, &one, dweight, CUDA_R_32F, K, b->compute, CUBLAS_GEMM_DEFAULT));
    if (dbias) bias_backward(dbias, dout, scratch, N, OC, stream);
}

// Strided-batched product on floatX for attention, col-major: C (m, n) = op(A) @ op(B) per batch.
inline void batched_matmul(Blas* b, floatX* c, const floatX* a, const floatX* bm, int m, int n, int k, bool ta,
                           bool tb, int lda, int ldb, int ldc, long long sa, long long sb, long long sc, int batch,
                           float alpha, cudaStream_t stream) {
    cublasCheck(cublasSetStream(b->handle, stream));
    const float beta = 0.0f;
    cublasCheck(cublasGemmStridedBatchedEx(b->handle, ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                                           m, n, k, &alpha, a, CUBLAS_FLOATX, lda, sa, bm, CUBLAS_FLOATX, ldb, sb,
                                           &beta, c, CUBLAS_FLOATX, ldc, sc, batch, b->compute, CUBLAS_GEMM_DEFAULT));
}
