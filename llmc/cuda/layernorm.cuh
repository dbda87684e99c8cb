// LayerNorm forward (optionally fused with the residual add that feeds it) and backward.
// Statistics and reductions in fp32; one warp per row of C; C must be a multiple of x128::size.
// The weight and bias gradients use the column sums of column_sums.cuh.
#pragma once
#include "column_sums.cuh"
#include "common.cuh"

constexpr float LN_EPS = 1e-5f;

// Mean and rstd of one row held at x (C values), computed like the CPU trainer: mean first, then
// the mean squared deviation (two passes; the second hits L1).
__device__ inline void row_stats(const floatX* x, int C, int lane, float* mean_out, float* rstd_out) {
    float s = 0.0f;
    for (int c = lane * x128::size; c < C; c += 32 * x128::size) {
        x128 v = load128(x + c);
        for (int k = 0; k < x128::size; k++) s += to_float(v[k]);
    }
    const float m = warp_sum(s) / C;
    float var = 0.0f;
    for (int c = lane * x128::size; c < C; c += 32 * x128::size) {
        x128 v = load128(x + c);
        for (int k = 0; k < x128::size; k++) {
            float d = to_float(v[k]) - m;
            var += d * d;
        }
    }
    *mean_out = m;
    *rstd_out = 1.0f / sqrtf(warp_sum(var) / C + LN_EPS);  // not rsqrtf: the CPU divides
}

__device__ inline void row_normalize(floatX* out, const floatX* x, const floatX* weight, const floatX* bias,
                                     float m, float s, int C, int lane) {
    for (int c = lane * x128::size; c < C; c += 32 * x128::size) {
        x128 v = load128(x + c), w = load128(weight + c), b = load128(bias + c), o;
        for (int k = 0; k < x128::size; k++) o[k] = from_float<floatX>((to_float(v[k]) - m) * s * to_float(w[k]) + to_float(b[k]));
        store128(out + c, o);
    }
}

// out (N,C) = (inp - mean) * rstd * weight + bias; mean, rstd (N) saved for backward.
__global__ void layernorm_forward_kernel(floatX* out, float* mean, float* rstd, const floatX* inp,
                                         const floatX* weight, const floatX* bias, int N, int C) {
    const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= N) return;
    const floatX* x = inp + (size_t)row * C;
    float m, s;
    row_stats(x, C, lane, &m, &s);
    row_normalize(out + (size_t)row * C, x, weight, bias, m, s, C, lane);
    if (lane == 0) {
        mean[row] = m;
        rstd[row] = s;
    }
}

// residual (N,C) = inp1 + inp2 (rounded to floatX), then out = layernorm(residual). Saves one
// read of the residual stream versus a separate add; the stats use the rounded residual,
// which is what backward will read.
__global__ void residual_layernorm_forward_kernel(floatX* residual, floatX* out, float* mean, float* rstd,
                                                  const floatX* inp1, const floatX* inp2, const floatX* weight,
                                                  const floatX* bias, int N, int C) {
    const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= N) return;
    const size_t off = (size_t)row * C;
    for (int c = lane * x128::size; c < C; c += 32 * x128::size) {
        x128 a = load128(inp1 + off + c), b = load128(inp2 + off + c), r;
        for (int k = 0; k < x128::size; k++) r[k] = from_float<floatX>(to_float(a[k]) + to_float(b[k]));
        store128(residual + off + c, r);
    }
    __syncwarp();
    float m, s;
    row_stats(residual + off, C, lane, &m, &s);
    row_normalize(out + off, residual + off, weight, bias, m, s, C, lane);
    if (lane == 0) {
        mean[row] = m;
        rstd[row] = s;
    }
}

inline void layernorm_forward(floatX* out, float* mean, float* rstd, const floatX* inp, const floatX* weight,
                              const floatX* bias, int N, int C, cudaStream_t stream) {
    const int block = 256, rows_per_block = block / 32;
    launch_kernel(layernorm_forward_kernel, ceil_div(N, rows_per_block), block, 0, stream, out, mean, rstd, inp, weight, bias, N, C);
    cudaCheck(cudaGetLastError());
}

inline void residual_layernorm_forward(floatX* residual, floatX* out, float* mean, float* rstd, const floatX* inp1,
                                       const floatX* inp2, const floatX* weight, const floatX* bias, int N, int C,
                                       cudaStream_t stream) {
    const int block = 256, rows_per_block = block / 32;
    launch_kernel(residual_layernorm_forward_kernel, ceil_div(N, rows_per_block), block, 0, stream, residual, out, mean, rstd,
                  inp1, inp2, weight, bias, N, C);
    cudaCheck(cudaGetLastError());
}

// dinp (N,C) += rstd * (dnorm - mean(dnorm) - xhat * mean(dnorm * xhat)), dnorm = dout * weight.
__global__ void layernorm_backward_dinp_kernel(floatX* dinp, const floatX* dout, const floatX* inp,
                                               const floatX* weight, const float* mean, const float* rstd,
                                               int N, int C) {
    const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= N) return;
    const size_t off = (size_t)row * C;
    const float m = mean[row], s = rstd[row];
    float dn = 0.0f, dnx = 0.0f;
    for (int c = lane * x128::size; c < C; c += 32 * x128::size) {
        x128 d = load128(dout + off + c), x = load128(inp + off + c), w = load128(weight + c);
        for (int k = 0; k < x128::size; k++) {
            float dnorm = to_float(d[k]) * to_float(w[k]);
            dn += dnorm;
            dnx += dnorm * (to_float(x[k]) - m) * s;
        }
    }
    dn = warp_sum(dn) / C;
    dnx = warp_sum(dnx) / C;
    for (int c = lane * x128::size; c < C; c += 32 * x128::size) {
        x128 d = load128(dout + off + c), x = load128(inp + off + c), w = load128(weight + c);
        x128 g = load128(dinp + off + c);
        for (int k = 0; k < x128::size; k++) {
            float xhat = (to_float(x[k]) - m) * s;
            float v = to_float(g[k]) + s * (to_float(d[k]) * to_float(w[k]) - dn - xhat * dnx);
            g[k] = from_float<floatX>(v);
        }
        store128(dinp + off + c, g);
    }
}

// dinp (N,C) +=, dweight (C) +=, dbias (C) += : the CPU trainer's layernorm_backward.
inline void layernorm_backward(floatX* dinp, float* dweight, float* dbias, float* scratch, const floatX* dout,
                               const floatX* inp, const floatX* weight, const float* mean, const float* rstd, int N,
                               int C, cudaStream_t stream) {
    const int block = 256, rows_per_block = block / 32, chunks = ceil_div(N, COLSUM_ROWS);
    launch_kernel(layernorm_backward_dinp_kernel, ceil_div(N, rows_per_block), block, 0, stream, dinp, dout, inp, weight, mean, rstd, N, C);
    cudaCheck(cudaGetLastError());
    float* partial_w = scratch;
    float* partial_b = scratch + (size_t)chunks * C;
    launch_kernel(column_partial_sums_kernel, dim3(ceil_div(C, block), chunks), block, 0, stream, partial_w, partial_b, dout, inp, mean, rstd, N, C);
    cudaCheck(cudaGetLastError());
    launch_kernel(column_finish_kernel, ceil_div(C, block), block, 0, stream, dweight, partial_w, chunks, C);
    cudaCheck(cudaGetLastError());
    launch_kernel(column_finish_kernel, ceil_div(C, block), block, 0, stream, dbias, partial_b, chunks, C);
    cudaCheck(cudaGetLastError());
}
