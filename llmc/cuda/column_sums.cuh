// Deterministic column reductions (no atomics): matmul bias gradients, and LayerNorm weight and
// bias gradients (with the row statistics). Partial sums over fixed COLSUM_ROWS-row chunks in
// row order, then the chunks added in order: the same bits every run for a given N.
#pragma once
#include "common.cuh"

constexpr int COLSUM_ROWS = 256;  // rows per partial sum

// Column partial sums over COLSUM_ROWS-row chunks: partial_b[chunk, c] = sum of dout[:, c];
// with inp non-null also partial_w[chunk, c] = sum of dout * xhat. One thread per column, rows in
// order (coalesced across threads). grid = (ceil(C/block), ceil(N/COLSUM_ROWS)).
__global__ void column_partial_sums_kernel(float* partial_w, float* partial_b, const floatX* dout,
                                           const floatX* inp, const float* mean, const float* rstd, int N, int C) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    const int r0 = blockIdx.y * COLSUM_ROWS, r1 = min(N, r0 + COLSUM_ROWS);
    float sw = 0.0f, sb = 0.0f;
    for (int r = r0; r < r1; r++) {
        float d = to_float(dout[(size_t)r * C + c]);
        sb += d;
        if (inp) sw += d * (to_float(inp[(size_t)r * C + c]) - mean[r]) * rstd[r];
    }
    partial_b[(size_t)blockIdx.y * C + c] = sb;
    if (inp) partial_w[(size_t)blockIdx.y * C + c] = sw;
}

// dst[c] += sum over chunks of partial[chunk, c], chunks in order.
__global__ void column_finish_kernel(float* dst, const float* partial, int chunks, int C) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float s = 0.0f;
    for (int k = 0; k < chunks; k++) s += partial[(size_t)k * C + c];
    dst[c] += s;
}

// Scratch for the column reductions: 2 * ceil(N/COLSUM_ROWS) * maxC floats.
inline size_t colsum_scratch_floats(int N, int max_cols) { return 2 * (size_t)ceil_div(N, COLSUM_ROWS) * max_cols; }

// dbias (OC) += column sums of dout (N, OC). Deterministic (no atomics).
inline void bias_backward(float* dbias, const floatX* dout, float* scratch, int N, int OC, cudaStream_t stream) {
    const int block = 256, chunks = ceil_div(N, COLSUM_ROWS);
    launch_kernel(column_partial_sums_kernel, dim3(ceil_div(OC, block), chunks), block, 0, stream, nullptr, scratch, dout, nullptr, nullptr, nullptr, N, OC);
    cudaCheck(cudaGetLastError());
    launch_kernel(column_finish_kernel, ceil_div(OC, block), block, 0, stream, dbias, scratch, chunks, OC);
    cudaCheck(cudaGetLastError());
}
