// Matmuls for the trainer, all in the CPU trainer's row-major convention:
//   out (N, OC) = inp (N, K) @ weight (OC, K)^T + bias (OC)
// cuBLAS is column-major, so a row-major (r, c) matrix is its column-major transpose with ld = c;
// the forward is then out^T (OC, N) = weight_cm^T (OC, K) @ inp_cm (K, N).
// Forward runs on cuBLASLt for its fused epilogues (bias; bias + GELU with the pre-GELU values
// written as the aux output). If the heuristic offers no algorithm for the GELU epilogue we fall
// back to bias-only + the GELU kernel, once, with a message. Backward uses cublasGemmEx: dinp in
// floatX, dweight accumulated (beta = 1) in fp32 straight from bf16 inputs. Bias grads use the
// deterministic column-sum kernel, not the BGRAD epilogue.
#pragma once
#include "column_sums.cuh"
#include "common.cuh"
#include "gelu.cuh"

struct Blas {
    cublasHandle_t handle = nullptr;
    cublasLtHandle_t lt = nullptr;
    void* workspace = nullptr;
    size_t workspace_size = 32ull << 20;  // cuBLASLt: 32 MiB lets Hopper pick its fast kernels
    cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
    bool gelu_fusion = true;              // requested; cleared if cuBLASLt has no such algorithm
    bool gelu_fusion_warned = false;
};

inline void blas_init(Blas* b, bool tf32) {
    cublasCheck(cublasCreate(&b->handle));
    cublasCheck(cublasLtCreate(&b->lt));
    cudaCheck(cudaMalloc(&b->workspace, b->workspace_size));
    // TF32 only matters for fp32 inputs; bf16 inputs always run on bf16 tensor cores
    b->compute = (tf32 && FLOATX_IS_FP32) ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    cublasCheck(cublasSetMathMode(b->handle, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
}

inline void blas_free(Blas* b) {
    if (b->workspace) cudaCheck(cudaFree(b->workspace));
    if (b->lt) cublasCheck(cublasLtDestroy(b->lt));
    if (b->handle) cublasCheck(cublasDestroy(b->handle));
    *b = Blas{};
}

// One cuBLASLt call: D (m, n) col-major = op(A) @ op(B) [+ bias (m)] [gelu, aux = pre-gelu].
// Returns false (and does nothing) when no algorithm supports this epilogue/shape.
inline bool lt_matmul(Blas* b, floatX* d, const floatX* a, const floatX* bmat, const floatX* bias, floatX* aux,
                      int m, int n, int k, bool transa, int lda, int ldb, cudaStream_t stream) {
    cublasLtMatmulDesc_t op;
    cublasCheck(cublasLtMatmulDescCreate(&op, b->compute, CUDA_R_32F));
    cublasOperation_t ta = transa ? CUBLAS_OP_T : CUBLAS_OP_N, tb = CUBLAS_OP_N;
    cublasCheck(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    cublasCheck(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_DEFAULT;
    if (aux) epi = bias ? CUBLASLT_EPILOGUE_GELU_AUX_BIAS : CUBLASLT_EPILOGUE_GELU_AUX;
    else if (bias) epi = CUBLASLT_EPILOGUE_BIAS;
    cublasCheck(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
    if (bias) cublasCheck(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
    if (aux) {
        int64_t ld = m;
        cublasCheck(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &aux, sizeof aux));
        cublasCheck(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &ld, sizeof ld));
    }
    cublasLtMatrixLayout_t la, lb, ld;
    cublasCheck(cublasLtMatrixLayoutCreate(&la, CUBLAS_FLOATX, transa ? k : m, transa ? m : k, lda));
    cublasCheck(cublasLtMatrixLayoutCreate(&lb, CUBLAS_FLOATX, k, n, ldb));
    cublasCheck(cublasLtMatrixLayoutCreate(&ld, CUBLAS_FLOATX, m, n, m));
    cublasLtMatmulPreference_t pref;
    cublasCheck(cublasLtMatmulPreferenceCreate(&pref));
    cublasCheck(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                     &b->workspace_size, sizeof b->workspace_size));
    cublasLtMatmulHeuristicResult_t heur;
    int found = 0;
    cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(b->lt, op, la, lb, ld, ld, pref, 1, &heur, &found);
    const bool ok = st == CUBLAS_STATUS_SUCCESS && found > 0;
    if (ok) {
        const float alpha = 1.0f, beta = 0.0f;
        cublasCheck(cublasLtMatmul(b->lt, op, &alpha, a, la, bmat, lb, &beta, d, ld, d, ld, &heur.algo,
                                   b->workspace, b->workspace_size, stream));
    }
    cublasCheck(cublasLtMatmulPreferenceDestroy(pref));
    cublasCheck(cublasLtMatrixLayoutDestroy(la));
    cublasCheck(cublasLtMatrixLayoutDestroy(lb));
    cublasCheck(cublasLtMatrixLayoutDestroy(ld));
    cublasCheck(cublasLtMatmulDescDestroy(op));
    return ok;
}

// out (N, OC) = inp (N, K) @ weight (OC, K)^T + bias (bias may be null).
inline void matmul_forward(Blas* b, floatX* out, const floatX* inp, const floatX* weight, const floatX* bias,
                           int N, int K, int OC, cudaStream_t stream) {
    if (!lt_matmul(b, out, weight, inp, bias, nullptr, OC, N, K, true, K, K, stream))
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
