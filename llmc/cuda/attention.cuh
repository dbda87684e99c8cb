// Causal self-attention as softmax over cuBLAS strided-batched products, the (T, T) attention
// matrix materialized: the trainer's -fa 0 path (-fa 1, the default, is flash_attention.cuh).
// qkv (B, T, 3C) is laid out [q | k | v] with heads contiguous: (B, T, 3, NH, hs). The batched
// products want (B, NH, T, hs) per tensor, so we permute first and unpermute the result.
// Cost per layer: 4*B*NH*T*T*hs FLOPs forward (QK^T and AV), twice that backward, plus
// B*NH*T*T elements written and read by the softmax.
#pragma once
#include "common.cuh"
#include "matmul.cuh"

// Element idx of a (B, NH, T, hs) tensor -> its q offset in qkv (B, T, 3C) ([q | k | v] along 3C,
// heads contiguous); k and v sit C and 2C further.
__device__ inline size_t qkv_offset(size_t idx, int T, int NH, int hs) {
    const int i = idx % hs;
    const int t = (idx / hs) % T;
    const int h = (idx / ((size_t)hs * T)) % NH;
    const int b = idx / ((size_t)hs * T * NH);
    return ((size_t)b * T + t) * 3 * ((size_t)NH * hs) + (size_t)h * hs + i;
}

// qkv (B, T, 3, NH, hs) -> q, k, v (B, NH, T, hs). One thread per element of q (and of k, v).
__global__ void permute_qkv_kernel(floatX* q, floatX* k, floatX* v, const floatX* qkv, int B, int T, int NH, int hs) {
    const size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (size_t)B * NH * T * hs) return;
    const size_t C = (size_t)NH * hs, src = qkv_offset(idx, T, NH, hs);
    q[idx] = qkv[src];
    k[idx] = qkv[src + C];
    v[idx] = qkv[src + 2 * C];
}

// Inverse of permute_qkv_kernel for gradients: dq, dk, dv (B, NH, T, hs) -> dqkv (B, T, 3C). SETS.
__global__ void unpermute_qkv_kernel(floatX* dqkv, const floatX* dq, const floatX* dk, const floatX* dv, int B, int T,
                                     int NH, int hs) {
    const size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (size_t)B * NH * T * hs) return;
    const size_t C = (size_t)NH * hs, dst = qkv_offset(idx, T, NH, hs);
    dqkv[dst] = dq[idx];
    dqkv[dst + C] = dk[idx];
    dqkv[dst + 2 * C] = dv[idx];
}

// (B, NH, T, hs) <-> (B, T, NH, hs). to_heads = true goes (B, T, C) -> (B, NH, T, hs).
__global__ void permute_heads_kernel(floatX* out, const floatX* inp, int B, int T, int NH, int hs, bool to_heads) {
    const size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (size_t)B * NH * T * hs) return;
    const int i = idx % hs;
    const int t = (idx / hs) % T;
    const int h = (idx / ((size_t)hs * T)) % NH;
    const int b = idx / ((size_t)hs * T * NH);
    const size_t bthi = (((size_t)b * T + t) * NH + h) * hs + i;
    if (to_heads) out[idx] = inp[bthi];
    else out[bthi] = inp[idx];
}

// att (rows, T) = causal softmax(scale * preatt) per row; row r is query t = r % T, and only
// columns t2 <= t enter (the rest are written 0). One warp per row; same op order as the CPU
// (exp(x - max), sum, multiply by 1/sum).
__global__ void softmax_forward_kernel(floatX* att, const floatX* preatt, int rows, int T, float scale) {
    const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= rows) return;
    const int t = row % T;
    const floatX* x = preatt + (size_t)row * T;
    floatX* y = att + (size_t)row * T;
    float maxv = -INFINITY;
    for (int t2 = lane; t2 <= t; t2 += 32) maxv = fmaxf(maxv, to_float(x[t2]) * scale);
    maxv = warp_max(maxv);
    float sum = 0.0f;
    for (int t2 = lane; t2 <= t; t2 += 32) sum += expf(to_float(x[t2]) * scale - maxv);
    const float inv = 1.0f / warp_sum(sum);
    for (int t2 = lane; t2 < T; t2 += 32) {
        y[t2] = from_float<floatX>(t2 <= t ? expf(to_float(x[t2]) * scale - maxv) * inv : 0.0f);
    }
}

// In place: datt (rows, T) becomes dpreatt = att * (datt - sum(att * datt)) * scale; 0 for t2 > t.
__global__ void softmax_backward_kernel(floatX* datt, const floatX* att, int rows, int T, float scale) {
    const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= rows) return;
    const int t = row % T;
    floatX* d = datt + (size_t)row * T;
    const floatX* a = att + (size_t)row * T;
    float dot = 0.0f;
    for (int t2 = lane; t2 <= t; t2 += 32) dot += to_float(a[t2]) * to_float(d[t2]);
    dot = warp_sum(dot);
    for (int t2 = lane; t2 < T; t2 += 32) {
        d[t2] = from_float<floatX>(t2 <= t ? to_float(a[t2]) * (to_float(d[t2]) - dot) * scale : 0.0f);
    }
}

inline void softmax_forward(floatX* att, const floatX* preatt, int rows, int T, float scale, cudaStream_t stream) {
    const int block = 256;
    launch_kernel(softmax_forward_kernel, ceil_div(rows, block / 32), block, 0, stream, att, preatt, rows, T, scale);
    cudaCheck(cudaGetLastError());
}
inline void softmax_backward(floatX* datt, const floatX* att, int rows, int T, float scale, cudaStream_t stream) {
    const int block = 256;
    launch_kernel(softmax_backward_kernel, ceil_div(rows, block / 32), block, 0, stream, datt, att, rows, T, scale);
    cudaCheck(cudaGetLastError());
}

// Scratch the attention layer needs besides its saved att: q, k, v, y (each B*T*C) and one
// (B, NH, T, T) matrix (preatt forward, datt/dpreatt backward), plus dq, dk, dv backward.
struct AttentionScratch {
    floatX *q, *k, *v, *y;        // (B, NH, T, hs) each
    floatX *dq, *dk, *dv;         // (B, NH, T, hs) each
    floatX* tt;                   // (B, NH, T, T)
};

// out (B, T, C); att (B, NH, T, T) saved for backward. scale multiplies the scores q.k before the
// softmax: 1/sqrt(hs) standard, 1/hs under muP (attention_scale in llmc/model/model.h).
inline void attention_forward(Blas* bl, floatX* out, floatX* att, const floatX* qkv, const AttentionScratch& s, int B,
                              int T, int C, int NH, float scale, cudaStream_t stream) {
    const int hs = C / NH, batch = B * NH, block = 256;
    const size_t n = (size_t)B * T * C;
    launch_kernel(permute_qkv_kernel, ceil_div(n, block), block, 0, stream, s.q, s.k, s.v, qkv, B, T, NH, hs);
    cudaCheck(cudaGetLastError());
    // preatt_cm (T2, T) = K_cm^T (T2, hs) @ Q_cm (hs, T): row t of preatt holds q_t . k_t2
    batched_matmul(bl, s.tt, s.k, s.q, T, T, hs, true, false, hs, hs, T, (long long)T * hs, (long long)T * hs,
                   (long long)T * T, batch, 1.0f, stream);
    softmax_forward(att, s.tt, batch * T, T, scale, stream);
    // y_cm (hs, T) = V_cm (hs, T2) @ att_cm (T2, T)
    batched_matmul(bl, s.y, s.v, att, hs, T, T, false, false, hs, T, hs, (long long)T * hs, (long long)T * T,
                   (long long)T * hs, batch, 1.0f, stream);
    launch_kernel(permute_heads_kernel, ceil_div(n, block), block, 0, stream, out, s.y, B, T, NH, hs, false);
    cudaCheck(cudaGetLastError());
}

// dqkv (B, T, 3C) SET from dout (B, T, C), the saved qkv and att; scale as the forward's. q, k, v
// are re-permuted from qkv (cheap) rather than stored per layer.
inline void attention_backward(Blas* bl, floatX* dqkv, const floatX* dout, const floatX* qkv, const floatX* att,
                               const AttentionScratch& s, int B, int T, int C, int NH, float scale, cudaStream_t stream) {
    const int hs = C / NH, batch = B * NH, block = 256;
    const size_t n = (size_t)B * T * C;
    const long long sth = (long long)T * hs, stt = (long long)T * T;
    launch_kernel(permute_qkv_kernel, ceil_div(n, block), block, 0, stream, s.q, s.k, s.v, qkv, B, T, NH, hs);
    cudaCheck(cudaGetLastError());
    floatX* dy = s.y;
    launch_kernel(permute_heads_kernel, ceil_div(n, block), block, 0, stream, dy, dout, B, T, NH, hs, true);
    cudaCheck(cudaGetLastError());
    // datt[t][t2] = dy_t . v_t2:   datt_cm (T2, T) = V_cm^T (T2, hs) @ dY_cm (hs, T)
    batched_matmul(bl, s.tt, s.v, dy, T, T, hs, true, false, hs, hs, T, sth, sth, stt, batch, 1.0f, stream);
    // dv_t2 = sum_t att[t][t2] dy_t:   dV_cm (hs, T2) = dY_cm (hs, T) @ att_cm^T (T, T2)
    batched_matmul(bl, s.dv, dy, att, hs, T, T, false, true, hs, T, hs, sth, stt, sth, batch, 1.0f, stream);
    softmax_backward(s.tt, att, batch * T, T, scale, stream);
    // dq_t = sum_t2 dpre[t][t2] k_t2:  dQ_cm (hs, T) = K_cm (hs, T2) @ dpre_cm (T2, T)
    batched_matmul(bl, s.dq, s.k, s.tt, hs, T, T, false, false, hs, T, hs, sth, stt, sth, batch, 1.0f, stream);
    // dk_t2 = sum_t dpre[t][t2] q_t:   dK_cm (hs, T2) = Q_cm (hs, T) @ dpre_cm^T (T, T2)
    batched_matmul(bl, s.dk, s.q, s.tt, hs, T, T, false, true, hs, T, hs, sth, stt, sth, batch, 1.0f, stream);
    launch_kernel(unpermute_qkv_kernel, ceil_div(n, block), block, 0, stream, dqkv, s.dq, s.dk, s.dv, B, T, NH, hs);
    cudaCheck(cudaGetLastError());
}
