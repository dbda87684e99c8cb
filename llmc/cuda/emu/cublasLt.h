// CUDA emulation (make cuda-emu): cuBLASLt matmul with its fused epilogues, on the CPU
// (emu_gemm.h). Types, attribute ids and enum values are NVIDIA's (cublasLt.h); descriptors
// hold attributes by id with the documented byte sizes, so Set/Get with a wrong size returns
// CUBLAS_STATUS_INVALID_VALUE as the library does.
// Emulated (column-major layouts, scale type fp32, alpha/beta host or device pointer):
//   A, B, C, D fp32            compute 32F, 32F_PEDANTIC or 32F_FAST_TF32 (TF32 input rounding)
//   A, B bf16; C, D bf16/fp32  compute 32F or 32F_PEDANTIC
//   transa, transb N, T or C (C = T on real data); strided batches (equal BATCH_COUNT on all four)
//   epilogues DEFAULT, BIAS, GELU, GELU_BIAS, GELU_AUX, GELU_AUX_BIAS; bias and aux in D's type
//   (BIAS_DATA_TYPE / EPILOGUE_AUX_DATA_TYPE left at -1 or set to D's type); aux ld a multiple of
//   8 and >= rows of D, as documented.
// Everything else returns CUBLAS_STATUS_NOT_SUPPORTED from both cublasLtMatmulAlgoGetHeuristic
// (with 0 results: "no algorithm") and cublasLtMatmul: other types or compute types, RELU*, D*,
// BGRAD* epilogues, row-major or other orders, planar complex, pointer-array batches, vector
// alpha, TRANSC != N, fill modes other than FULL, fp8 scale/amax pointers. Layouts in conflict
// (A, B, C not matching D's m x n and A's k, ld < rows, unequal batch counts, C == D with
// different layouts, missing bias/aux pointers) return CUBLAS_STATUS_INVALID_VALUE.
// Work runs synchronously on the calling thread; the stream, workspace and algo are not used.
// cuda_emu::lt_counts() counts the descriptor creations, heuristic queries and matmuls, so a test
// can check that a caller caches its plans (llmc/cuda/matmul.cuh).
#pragma once
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>

#include "cublas_v2.h"

typedef enum {
    CUBLASLT_POINTER_MODE_HOST = CUBLAS_POINTER_MODE_HOST,
    CUBLASLT_POINTER_MODE_DEVICE = CUBLAS_POINTER_MODE_DEVICE,
    CUBLASLT_POINTER_MODE_DEVICE_VECTOR = 2,
    CUBLASLT_POINTER_MODE_ALPHA_DEVICE_VECTOR_BETA_ZERO = 3,
    CUBLASLT_POINTER_MODE_ALPHA_DEVICE_VECTOR_BETA_HOST = 4,
} cublasLtPointerMode_t;

typedef enum {
    CUBLASLT_ORDER_COL = 0,
    CUBLASLT_ORDER_ROW = 1,
    CUBLASLT_ORDER_COL32 = 2,
    CUBLASLT_ORDER_COL4_4R2_8C = 3,
    CUBLASLT_ORDER_COL32_2R_4R4 = 4,
} cublasLtOrder_t;

typedef enum {
    CUBLASLT_BATCH_MODE_STRIDED = 0,
    CUBLASLT_BATCH_MODE_POINTER_ARRAY = 1,
} cublasLtBatchMode_t;

typedef enum {
    CUBLASLT_MATRIX_LAYOUT_TYPE = 0,                  // uint32_t
    CUBLASLT_MATRIX_LAYOUT_ORDER = 1,                 // int32_t
    CUBLASLT_MATRIX_LAYOUT_ROWS = 2,                  // uint64_t
    CUBLASLT_MATRIX_LAYOUT_COLS = 3,                  // uint64_t
    CUBLASLT_MATRIX_LAYOUT_LD = 4,                    // int64_t
    CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT = 5,           // int32_t
    CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET = 6,  // int64_t
    CUBLASLT_MATRIX_LAYOUT_PLANE_OFFSET = 7,          // int64_t
    CUBLASLT_MATRIX_LAYOUT_BATCH_MODE = 8,            // uint32_t
} cublasLtMatrixLayoutAttribute_t;

typedef enum {
    CUBLASLT_MATMUL_DESC_COMPUTE_TYPE = 0,                    // int32_t
    CUBLASLT_MATMUL_DESC_SCALE_TYPE = 1,                      // int32_t
    CUBLASLT_MATMUL_DESC_POINTER_MODE = 2,                    // int32_t
    CUBLASLT_MATMUL_DESC_TRANSA = 3,                          // int32_t
    CUBLASLT_MATMUL_DESC_TRANSB = 4,                          // int32_t
    CUBLASLT_MATMUL_DESC_TRANSC = 5,                          // int32_t
    CUBLASLT_MATMUL_DESC_FILL_MODE = 6,                       // int32_t
    CUBLASLT_MATMUL_DESC_EPILOGUE = 7,                        // uint32_t
    CUBLASLT_MATMUL_DESC_BIAS_POINTER = 8,                    // pointer
    CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE = 10,              // int64_t
    CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER = 11,           // pointer
    CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD = 12,                // int64_t
    CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_BATCH_STRIDE = 13,      // int64_t
    CUBLASLT_MATMUL_DESC_ALPHA_VECTOR_BATCH_STRIDE = 14,      // int64_t
    CUBLASLT_MATMUL_DESC_SM_COUNT_TARGET = 15,                // int32_t
    CUBLASLT_MATMUL_DESC_A_SCALE_POINTER = 17,                // pointer
    CUBLASLT_MATMUL_DESC_B_SCALE_POINTER = 18,                // pointer
    CUBLASLT_MATMUL_DESC_C_SCALE_POINTER = 19,                // pointer
    CUBLASLT_MATMUL_DESC_D_SCALE_POINTER = 20,                // pointer
    CUBLASLT_MATMUL_DESC_AMAX_D_POINTER = 21,                 // pointer
    CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE = 22,         // int32_t
    CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_SCALE_POINTER = 23,     // pointer
    CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_AMAX_POINTER = 24,      // pointer
    CUBLASLT_MATMUL_DESC_FAST_ACCUM = 25,                     // int8_t
    CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE = 26,                 // int32_t
    CUBLASLT_MATMUL_DESC_A_SCALE_MODE = 31,                   // int32_t
    CUBLASLT_MATMUL_DESC_B_SCALE_MODE = 32,                   // int32_t
    CUBLASLT_MATMUL_DESC_C_SCALE_MODE = 33,                   // int32_t
    CUBLASLT_MATMUL_DESC_D_SCALE_MODE = 34,                   // int32_t
    CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_SCALE_MODE = 35,        // int32_t
    CUBLASLT_MATMUL_DESC_D_OUT_SCALE_POINTER = 36,            // pointer
    CUBLASLT_MATMUL_DESC_D_OUT_SCALE_MODE = 37,               // int32_t
    CUBLASLT_MATMUL_DESC_EMULATION_DESCRIPTOR = 38,           // pointer
} cublasLtMatmulDescAttributes_t;

typedef enum {
    CUBLASLT_EPILOGUE_DEFAULT = 1,
    CUBLASLT_EPILOGUE_RELU = 2,
    CUBLASLT_EPILOGUE_RELU_AUX = (CUBLASLT_EPILOGUE_RELU | 128),
    CUBLASLT_EPILOGUE_BIAS = 4,
    CUBLASLT_EPILOGUE_RELU_BIAS = (CUBLASLT_EPILOGUE_RELU | CUBLASLT_EPILOGUE_BIAS),
    CUBLASLT_EPILOGUE_RELU_AUX_BIAS = (CUBLASLT_EPILOGUE_RELU_AUX | CUBLASLT_EPILOGUE_BIAS),
    CUBLASLT_EPILOGUE_DRELU = 8 | 128,
    CUBLASLT_EPILOGUE_DRELU_BGRAD = CUBLASLT_EPILOGUE_DRELU | 16,
    CUBLASLT_EPILOGUE_GELU = 32,
    CUBLASLT_EPILOGUE_GELU_AUX = (CUBLASLT_EPILOGUE_GELU | 128),
    CUBLASLT_EPILOGUE_GELU_BIAS = (CUBLASLT_EPILOGUE_GELU | CUBLASLT_EPILOGUE_BIAS),
    CUBLASLT_EPILOGUE_GELU_AUX_BIAS = (CUBLASLT_EPILOGUE_GELU_AUX | CUBLASLT_EPILOGUE_BIAS),
    CUBLASLT_EPILOGUE_DGELU = 64 | 128,
    CUBLASLT_EPILOGUE_DGELU_BGRAD = CUBLASLT_EPILOGUE_DGELU | 16,
    CUBLASLT_EPILOGUE_BGRADA = 256,
    CUBLASLT_EPILOGUE_BGRADB = 512,
} cublasLtEpilogue_t;

typedef enum {
    CUBLASLT_SEARCH_BEST_FIT = 0,
    CUBLASLT_SEARCH_LIMITED_BY_ALGO_ID = 1,
} cublasLtMatmulSearch_t;

typedef enum {
    CUBLASLT_REDUCTION_SCHEME_NONE = 0,
    CUBLASLT_REDUCTION_SCHEME_INPLACE = 1,
    CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE = 2,
    CUBLASLT_REDUCTION_SCHEME_OUTPUT_TYPE = 4,
    CUBLASLT_REDUCTION_SCHEME_MASK = 0x7,
} cublasLtReductionScheme_t;

typedef enum {
    CUBLASLT_MATMUL_PREF_SEARCH_MODE = 0,            // uint32_t
    CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1,    // uint64_t
    CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK = 3,  // uint32_t
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES = 5,  // uint32_t
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES = 6,  // uint32_t
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES = 7,  // uint32_t
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES = 8,  // uint32_t
    CUBLASLT_MATMUL_PREF_MAX_WAVES_COUNT = 9,        // float
    CUBLASLT_MATMUL_PREF_IMPL_MASK = 12,             // uint64_t
} cublasLtMatmulPreferenceAttributes_t;

namespace cuda_emu {

// Calls so far (relaxed atomic increments: host API calls may come from several threads).
struct LtCounts {
    long long desc_creates = 0, layout_creates = 0, pref_creates = 0, heuristic_calls = 0, matmuls = 0;
};
inline LtCounts& lt_counts() {
    static LtCounts c;
    return c;
}
inline void lt_count(long long* field) { __atomic_fetch_add(field, 1, __ATOMIC_RELAXED); }

// Attribute values by id, as raw bytes of the documented size (at most 8).
template <int N>
struct LtAttrs {
    unsigned char v[N][8] = {};
    template <typename T>
    T get(int id) const {
        T x;
        memcpy(&x, v[id], sizeof x);
        return x;
    }
    template <typename T>
    void put(int id, T x) {
        memcpy(v[id], &x, sizeof x);
    }
};

// Documented size of each attribute; 0 for ids the library does not define.
inline size_t lt_desc_attr_size(int id) {
    switch (id) {
        case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 15: case 22: case 26:
        case 31: case 32: case 33: case 34: case 35: case 37:
            return 4;
        case 8: case 11: case 17: case 18: case 19: case 20: case 21: case 23: case 24: case 36: case 38:
            return sizeof(void*);
        case 10: case 12: case 13: case 14:
            return 8;
        case 25:
            return 1;
    }
    return 0;
}

inline size_t lt_layout_attr_size(int id) {
    switch (id) {
        case 0: case 1: case 5: case 8: return 4;
        case 2: case 3: case 4: case 6: case 7: return 8;
    }
    return 0;
}

inline size_t lt_pref_attr_size(int id) {
    switch (id) {
        case 0: case 3: case 5: case 6: case 7: case 8: case 9: return 4;
        case 1: case 12: return 8;
    }
    return 0;
}

// Shared Set/Get rules: the size must match exactly; Get with size 0 reports the size needed.
template <int N>
inline cublasStatus_t lt_set_attr(LtAttrs<N>& a, size_t size, int id, const void* buf, size_t bytes) {
    if (id < 0 || id >= N || size == 0 || !buf || bytes != size) return CUBLAS_STATUS_INVALID_VALUE;
    memcpy(a.v[id], buf, size);
    return CUBLAS_STATUS_SUCCESS;
}

template <int N>
inline cublasStatus_t lt_get_attr(const LtAttrs<N>& a, size_t size, int id, void* buf, size_t bytes,
                                  size_t* written) {
    if (id < 0 || id >= N || size == 0) return CUBLAS_STATUS_INVALID_VALUE;
    if (bytes == 0) {
        if (!written) return CUBLAS_STATUS_INVALID_VALUE;
        *written = size;
        return CUBLAS_STATUS_SUCCESS;
    }
    if (!buf || bytes != size) return CUBLAS_STATUS_INVALID_VALUE;
    memcpy(buf, a.v[id], size);
    if (written) *written = size;
    return CUBLAS_STATUS_SUCCESS;
}

}  // namespace cuda_emu

struct cublasLtContext {
    int unused = 0;
};
typedef struct cublasLtContext* cublasLtHandle_t;

struct cublasLtMatrixLayoutOpaque_t {
    cuda_emu::LtAttrs<9> attrs;
};
typedef cublasLtMatrixLayoutOpaque_t* cublasLtMatrixLayout_t;

struct cublasLtMatmulDescOpaque_t {
    cuda_emu::LtAttrs<39> attrs;
};
typedef cublasLtMatmulDescOpaque_t* cublasLtMatmulDesc_t;

struct cublasLtMatmulPreferenceOpaque_t {
    cuda_emu::LtAttrs<13> attrs;
};
typedef cublasLtMatmulPreferenceOpaque_t* cublasLtMatmulPreference_t;

typedef struct {
    uint64_t data[8];
} cublasLtMatmulAlgo_t;

typedef struct {
    cublasLtMatmulAlgo_t algo;
    size_t workspaceSize;
    cublasStatus_t state;
    float wavesCount;
    int reserved[4];
} cublasLtMatmulHeuristicResult_t;

inline cublasStatus_t cublasLtCreate(cublasLtHandle_t* handle) {
    if (!handle) return CUBLAS_STATUS_INVALID_VALUE;
    *handle = new cublasLtContext();
    return CUBLAS_STATUS_SUCCESS;
}

inline cublasStatus_t cublasLtDestroy(cublasLtHandle_t handle) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    delete handle;
    return CUBLAS_STATUS_SUCCESS;
}

inline const char* cublasLtGetStatusName(cublasStatus_t status) { return cublasGetStatusName(status); }

inline cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t* layout, cudaDataType type, uint64_t rows,
                                                 uint64_t cols, int64_t ld) {
    if (!layout) return CUBLAS_STATUS_INVALID_VALUE;
    cuda_emu::lt_count(&cuda_emu::lt_counts().layout_creates);
    cublasLtMatrixLayout_t l = new cublasLtMatrixLayoutOpaque_t();
    l->attrs.put<uint32_t>(CUBLASLT_MATRIX_LAYOUT_TYPE, (uint32_t)type);
    l->attrs.put<int32_t>(CUBLASLT_MATRIX_LAYOUT_ORDER, CUBLASLT_ORDER_COL);
    l->attrs.put<uint64_t>(CUBLASLT_MATRIX_LAYOUT_ROWS, rows);
    l->attrs.put<uint64_t>(CUBLASLT_MATRIX_LAYOUT_COLS, cols);
    l->attrs.put<int64_t>(CUBLASLT_MATRIX_LAYOUT_LD, ld);
    l->attrs.put<int32_t>(CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, 1);
    *layout = l;
    return CUBLAS_STATUS_SUCCESS;
}

inline cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t layout) {
    delete layout;
    return CUBLAS_STATUS_SUCCESS;
}

inline cublasStatus_t cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t layout,
                                                       cublasLtMatrixLayoutAttribute_t attr, const void* buf,
                                                       size_t sizeInBytes) {
    if (!layout) return CUBLAS_STATUS_INVALID_VALUE;
    return cuda_emu::lt_set_attr(layout->attrs, cuda_emu::lt_layout_attr_size(attr), attr, buf, sizeInBytes);
}

inline cublasStatus_t cublasLtMatrixLayoutGetAttribute(cublasLtMatrixLayout_t layout,
                                                       cublasLtMatrixLayoutAttribute_t attr, void* buf,
                                                       size_t sizeInBytes, size_t* sizeWritten) {
    if (!layout) return CUBLAS_STATUS_INVALID_VALUE;
    return cuda_emu::lt_get_attr(layout->attrs, cuda_emu::lt_layout_attr_size(attr), attr, buf, sizeInBytes,
                                 sizeWritten);
}

inline cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t* desc, cublasComputeType_t computeType,
                                               cudaDataType_t scaleType) {
    if (!desc) return CUBLAS_STATUS_INVALID_VALUE;
    cuda_emu::lt_count(&cuda_emu::lt_counts().desc_creates);
    cublasLtMatmulDesc_t d = new cublasLtMatmulDescOpaque_t();
    d->attrs.put<int32_t>(CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, computeType);
    d->attrs.put<int32_t>(CUBLASLT_MATMUL_DESC_SCALE_TYPE, scaleType);
    d->attrs.put<int32_t>(CUBLASLT_MATMUL_DESC_FILL_MODE, CUBLAS_FILL_MODE_FULL);
    d->attrs.put<uint32_t>(CUBLASLT_MATMUL_DESC_EPILOGUE, CUBLASLT_EPILOGUE_DEFAULT);
    d->attrs.put<int32_t>(CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE, -1);
    d->attrs.put<int32_t>(CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, -1);
    *desc = d;
    return CUBLAS_STATUS_SUCCESS;
}

inline cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t desc) {
    delete desc;
    return CUBLAS_STATUS_SUCCESS;
}

inline cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr,
                                                     const void* buf, size_t sizeInBytes) {
    if (!desc) return CUBLAS_STATUS_INVALID_VALUE;
    return cuda_emu::lt_set_attr(desc->attrs, cuda_emu::lt_desc_attr_size(attr), attr, buf, sizeInBytes);
}

inline cublasStatus_t cublasLtMatmulDescGetAttribute(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr,
                                                     void* buf, size_t sizeInBytes, size_t* sizeWritten) {
    if (!desc) return CUBLAS_STATUS_INVALID_VALUE;
    return cuda_emu::lt_get_attr(desc->attrs, cuda_emu::lt_desc_attr_size(attr), attr, buf, sizeInBytes,
                                 sizeWritten);
}

inline cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t* pref) {
    if (!pref) return CUBLAS_STATUS_INVALID_VALUE;
    cuda_emu::lt_count(&cuda_emu::lt_counts().pref_creates);
    cublasLtMatmulPreference_t p = new cublasLtMatmulPreferenceOpaque_t();
    p->attrs.put<uint32_t>(CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, CUBLASLT_REDUCTION_SCHEME_MASK);
    for (int id = CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES; id <= CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES; id++)
        p->attrs.put<uint32_t>(id, 256);
    p->attrs.put<uint64_t>(CUBLASLT_MATMUL_PREF_IMPL_MASK, ~(uint64_t)0);
    *pref = p;
    return CUBLAS_STATUS_SUCCESS;
}

inline cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t pref) {
    delete pref;
    return CUBLAS_STATUS_SUCCESS;
}

inline cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pref,
                                                           cublasLtMatmulPreferenceAttributes_t attr, const void* buf,
                                                           size_t sizeInBytes) {
    if (!pref) return CUBLAS_STATUS_INVALID_VALUE;
    return cuda_emu::lt_set_attr(pref->attrs, cuda_emu::lt_pref_attr_size(attr), attr, buf, sizeInBytes);
}

inline cublasStatus_t cublasLtMatmulPreferenceGetAttribute(cublasLtMatmulPreference_t pref,
                                                           cublasLtMatmulPreferenceAttributes_t attr, void* buf,
                                                           size_t sizeInBytes, size_t* sizeWritten) {
    if (!pref) return CUBLAS_STATUS_INVALID_VALUE;
    return cuda_emu::lt_get_attr(pref->attrs, cuda_emu::lt_pref_attr_size(attr), attr, buf, sizeInBytes,
                                 sizeWritten);
}

namespace cuda_emu {

struct LtLayout {
    cudaDataType_t type;
    int32_t order, batch;
    uint64_t rows, cols;
    int64_t ld, stride, plane;
    uint32_t batch_mode;
};

inline LtLayout lt_layout(cublasLtMatrixLayout_t l) {
    LtLayout r;
    r.type = (cudaDataType_t)l->attrs.get<uint32_t>(CUBLASLT_MATRIX_LAYOUT_TYPE);
    r.order = l->attrs.get<int32_t>(CUBLASLT_MATRIX_LAYOUT_ORDER);
    r.rows = l->attrs.get<uint64_t>(CUBLASLT_MATRIX_LAYOUT_ROWS);
    r.cols = l->attrs.get<uint64_t>(CUBLASLT_MATRIX_LAYOUT_COLS);
    r.ld = l->attrs.get<int64_t>(CUBLASLT_MATRIX_LAYOUT_LD);
    r.batch = l->attrs.get<int32_t>(CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT);
    r.stride = l->attrs.get<int64_t>(CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET);
    r.plane = l->attrs.get<int64_t>(CUBLASLT_MATRIX_LAYOUT_PLANE_OFFSET);
    r.batch_mode = l->attrs.get<uint32_t>(CUBLASLT_MATRIX_LAYOUT_BATCH_MODE);
    return r;
}

// Validates one matmul configuration and fills everything of *p but the data pointers and
// alpha/beta. Shape conflicts -> INVALID_VALUE, anything not emulated -> NOT_SUPPORTED. Missing
// bias/aux pointers are an error only with need_pointers (cublasLtMatmul): the heuristic does not
// dereference them.
inline cublasStatus_t lt_plan(cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t Adesc, cublasLtMatrixLayout_t Bdesc,
                              cublasLtMatrixLayout_t Cdesc, cublasLtMatrixLayout_t Ddesc, bool need_pointers,
                              GemmProblem* p) {
    if (!desc || !Adesc || !Bdesc || !Cdesc || !Ddesc) return CUBLAS_STATUS_INVALID_VALUE;
    const auto& at = desc->attrs;
    const LtLayout la = lt_layout(Adesc), lb = lt_layout(Bdesc), lc = lt_layout(Cdesc), ld = lt_layout(Ddesc);

    const auto ta = (cublasOperation_t)at.get<int32_t>(CUBLASLT_MATMUL_DESC_TRANSA);
    const auto tb = (cublasOperation_t)at.get<int32_t>(CUBLASLT_MATMUL_DESC_TRANSB);
    if (!blas_op_valid(ta) || !blas_op_valid(tb)) return CUBLAS_STATUS_INVALID_VALUE;
    p->trans_a = blas_op_trans(ta);
    p->trans_b = blas_op_trans(tb);

    // shapes: m x n from D, k from A
    for (const LtLayout* l : {&la, &lb, &lc, &ld}) {
        if (l->order != CUBLASLT_ORDER_COL || l->plane != 0 || l->batch_mode != CUBLASLT_BATCH_MODE_STRIDED)
            return CUBLAS_STATUS_NOT_SUPPORTED;
        if (l->rows > (uint64_t)INT_MAX || l->cols > (uint64_t)INT_MAX) return CUBLAS_STATUS_NOT_SUPPORTED;
        if (l->ld < (l->rows > 1 ? (int64_t)l->rows : 1)) return CUBLAS_STATUS_INVALID_VALUE;
        if (l->batch < 1 || l->batch != ld.batch) return CUBLAS_STATUS_INVALID_VALUE;
    }
    const uint64_t m = ld.rows, n = ld.cols;
    const uint64_t k = p->trans_a ? la.rows : la.cols;
    if ((p->trans_a ? la.cols : la.rows) != m) return CUBLAS_STATUS_INVALID_VALUE;
    if ((p->trans_b ? lb.cols : lb.rows) != k || (p->trans_b ? lb.rows : lb.cols) != n)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (lc.rows != m || lc.cols != n) return CUBLAS_STATUS_INVALID_VALUE;

    // types
    const auto compute = (cublasComputeType_t)at.get<int32_t>(CUBLASLT_MATMUL_DESC_COMPUTE_TYPE);
    if (at.get<int32_t>(CUBLASLT_MATMUL_DESC_SCALE_TYPE) != (int32_t)CUDA_R_32F) return CUBLAS_STATUS_NOT_SUPPORTED;
    if (la.type != lb.type || lc.type != ld.type) return CUBLAS_STATUS_NOT_SUPPORTED;
    if (la.type == CUDA_R_32F && ld.type == CUDA_R_32F) {
        if (compute != CUBLAS_COMPUTE_32F && compute != CUBLAS_COMPUTE_32F_PEDANTIC &&
            compute != CUBLAS_COMPUTE_32F_FAST_TF32)
            return CUBLAS_STATUS_NOT_SUPPORTED;
    } else if (la.type == CUDA_R_16BF && (ld.type == CUDA_R_16BF || ld.type == CUDA_R_32F)) {
        if (compute != CUBLAS_COMPUTE_32F && compute != CUBLAS_COMPUTE_32F_PEDANTIC) return CUBLAS_STATUS_NOT_SUPPORTED;
    } else {
        return CUBLAS_STATUS_NOT_SUPPORTED;
    }
    p->tf32 = compute == CUBLAS_COMPUTE_32F_FAST_TF32;

    // options this emulation does not model
    const int32_t pmode = at.get<int32_t>(CUBLASLT_MATMUL_DESC_POINTER_MODE);
    if (pmode != CUBLASLT_POINTER_MODE_HOST && pmode != CUBLASLT_POINTER_MODE_DEVICE)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    if (at.get<int32_t>(CUBLASLT_MATMUL_DESC_TRANSC) != CUBLAS_OP_N ||
        at.get<int32_t>(CUBLASLT_MATMUL_DESC_FILL_MODE) != CUBLAS_FILL_MODE_FULL)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    for (int id : {CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER,
                   CUBLASLT_MATMUL_DESC_C_SCALE_POINTER, CUBLASLT_MATMUL_DESC_D_SCALE_POINTER,
                   CUBLASLT_MATMUL_DESC_AMAX_D_POINTER, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_SCALE_POINTER,
                   CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_AMAX_POINTER, CUBLASLT_MATMUL_DESC_D_OUT_SCALE_POINTER,
                   CUBLASLT_MATMUL_DESC_EMULATION_DESCRIPTOR})
        if (at.get<void*>(id)) return CUBLAS_STATUS_NOT_SUPPORTED;
    for (int id : {CUBLASLT_MATMUL_DESC_A_SCALE_MODE, CUBLASLT_MATMUL_DESC_B_SCALE_MODE,
                   CUBLASLT_MATMUL_DESC_C_SCALE_MODE, CUBLASLT_MATMUL_DESC_D_SCALE_MODE,
                   CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_SCALE_MODE, CUBLASLT_MATMUL_DESC_D_OUT_SCALE_MODE})
        if (at.get<int32_t>(id) != 0) return CUBLAS_STATUS_NOT_SUPPORTED;

    // epilogue
    const uint32_t epi = at.get<uint32_t>(CUBLASLT_MATMUL_DESC_EPILOGUE);
    if (epi != CUBLASLT_EPILOGUE_DEFAULT && epi != CUBLASLT_EPILOGUE_BIAS && epi != CUBLASLT_EPILOGUE_GELU &&
        epi != CUBLASLT_EPILOGUE_GELU_BIAS && epi != CUBLASLT_EPILOGUE_GELU_AUX &&
        epi != CUBLASLT_EPILOGUE_GELU_AUX_BIAS)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    const bool has_bias = epi & CUBLASLT_EPILOGUE_BIAS, has_aux = epi & 128;
    p->gelu = epi & CUBLASLT_EPILOGUE_GELU;
    p->bias = nullptr;
    p->aux = nullptr;
    if (has_bias) {
        const int32_t bt = at.get<int32_t>(CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE);
        if (bt != -1 && bt != (int32_t)ld.type) return CUBLAS_STATUS_NOT_SUPPORTED;
        p->bias = at.get<const void*>(CUBLASLT_MATMUL_DESC_BIAS_POINTER);
        if (need_pointers && !p->bias) return CUBLAS_STATUS_INVALID_VALUE;
        p->bias_type = ld.type;
        p->bias_stride = at.get<int64_t>(CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE);
    }
    if (has_aux) {
        const int32_t xt = at.get<int32_t>(CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE);
        if (xt != -1 && xt != (int32_t)ld.type) return CUBLAS_STATUS_NOT_SUPPORTED;
        p->aux = at.get<void*>(CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER);
        if (need_pointers && !p->aux) return CUBLAS_STATUS_INVALID_VALUE;
        p->aux_type = ld.type;
        p->aux_ld = at.get<int64_t>(CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD);
        p->aux_stride = at.get<int64_t>(CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_BATCH_STRIDE);
        if (p->aux_ld < (int64_t)m) return CUBLAS_STATUS_INVALID_VALUE;
        // documented: aux ld and batch stride divisible by 8 (no algorithm otherwise)
        if (p->aux_ld % 8 != 0 || (ld.batch > 1 && p->aux_stride % 8 != 0)) return CUBLAS_STATUS_NOT_SUPPORTED;
    }

    p->m = (int)m;
    p->n = (int)n;
    p->k = (int)k;
    p->batch = ld.batch;
    p->a = GemmOperand{nullptr, la.type, la.ld, la.stride};
    p->b = GemmOperand{nullptr, lb.type, lb.ld, lb.stride};
    p->c = GemmOperand{nullptr, lc.type, lc.ld, lc.stride};
    p->d_type = ld.type;
    p->ldd = ld.ld;
    p->stride_d = ld.stride;
    return CUBLAS_STATUS_SUCCESS;
}

}  // namespace cuda_emu

// One algorithm (the CPU SGEMM, no workspace) for every emulated configuration; none otherwise.
inline cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t lightHandle, cublasLtMatmulDesc_t operationDesc,
                                                     cublasLtMatrixLayout_t Adesc, cublasLtMatrixLayout_t Bdesc,
                                                     cublasLtMatrixLayout_t Cdesc, cublasLtMatrixLayout_t Ddesc,
                                                     cublasLtMatmulPreference_t preference, int requestedAlgoCount,
                                                     cublasLtMatmulHeuristicResult_t heuristicResultsArray[],
                                                     int* returnAlgoCount) {
    if (!lightHandle) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (requestedAlgoCount <= 0 || !heuristicResultsArray || !returnAlgoCount || !preference)
        return CUBLAS_STATUS_INVALID_VALUE;
    cuda_emu::lt_count(&cuda_emu::lt_counts().heuristic_calls);
    *returnAlgoCount = 0;
    cuda_emu::GemmProblem p;
    const cublasStatus_t st = cuda_emu::lt_plan(operationDesc, Adesc, Bdesc, Cdesc, Ddesc, false, &p);
    if (st != CUBLAS_STATUS_SUCCESS) return st;
    cublasLtMatmulHeuristicResult_t& r = heuristicResultsArray[0];
    memset(&r, 0, sizeof r);
    r.algo.data[0] = 0x756d65;  // "emu": marks the one emulated algorithm
    r.workspaceSize = 0;
    r.state = CUBLAS_STATUS_SUCCESS;
    r.wavesCount = 1.0f;
    *returnAlgoCount = 1;
    return CUBLAS_STATUS_SUCCESS;
}

// D = epilogue(alpha op(A) op(B) + beta C [+ bias]); C and D may be the same matrix (same layout).
// algo may be null (the library then runs its own heuristic); workspace is not needed.
inline cublasStatus_t cublasLtMatmul(cublasLtHandle_t lightHandle, cublasLtMatmulDesc_t computeDesc, const void* alpha,
                                     const void* A, cublasLtMatrixLayout_t Adesc, const void* B,
                                     cublasLtMatrixLayout_t Bdesc, const void* beta, const void* C,
                                     cublasLtMatrixLayout_t Cdesc, void* D, cublasLtMatrixLayout_t Ddesc,
                                     const cublasLtMatmulAlgo_t* algo, void* workspace, size_t workspaceSizeInBytes,
                                     cudaStream_t stream) {
    if (!lightHandle) return CUBLAS_STATUS_NOT_INITIALIZED;
    cuda_emu::lt_count(&cuda_emu::lt_counts().matmuls);
    cuda_emu::GemmProblem p;
    const cublasStatus_t st = cuda_emu::lt_plan(computeDesc, Adesc, Bdesc, Cdesc, Ddesc, true, &p);
    if (st != CUBLAS_STATUS_SUCCESS) return st;
    if (!alpha || !beta) return CUBLAS_STATUS_INVALID_VALUE;
    p.alpha = *static_cast<const float*>(alpha);
    p.beta = *static_cast<const float*>(beta);
    if (p.m == 0 || p.n == 0) return CUBLAS_STATUS_SUCCESS;
    if (!D || (p.k > 0 && (!A || !B)) || (p.beta != 0.0f && !C)) return CUBLAS_STATUS_INVALID_VALUE;
    if (C == D && (p.c.ld != p.ldd || p.c.batch_stride != p.stride_d)) return CUBLAS_STATUS_INVALID_VALUE;
    p.a.ptr = A;
    p.b.ptr = B;
    p.c.ptr = C;
    p.d = D;
    cuda_emu::gemm_run(p);
    return CUBLAS_STATUS_SUCCESS;
}
