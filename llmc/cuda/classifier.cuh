// Classifier: softmax + cross-entropy, and its gradient, with no probability buffer. The forward
// reads each row of logits (N, Vp) once (online max/sum) and keeps the row's log-sum-exp; the
// backward (run by gpt2_backward, so the forward's contract is the same as the CPU's) reads the
// row once more and writes dlogits in place: the same traffic as one fused kernel, and the same
// bits (it uses the stored lse). Only the V real columns enter the softmax; the Vp - V padded
// columns of dlogits are written 0. Losses (N) in fp32, reduced on the host in order.
#pragma once
#include "common.cuh"

// Online softmax statistics: (max m, sum s of exp(x - m)) merged pairwise.
struct SoftmaxStat {
    float m, s;
};
__device__ inline SoftmaxStat stat_merge(SoftmaxStat a, SoftmaxStat b) {
    float m = fmaxf(a.m, b.m);
    if (m == -INFINITY) return {m, 0.0f};
    return {m, a.s * expf(a.m - m) + b.s * expf(b.m - m)};
}

// One block per row: losses[row] = lse - z[target], lse[row] kept for the backward.
// blockDim.x a multiple of 32. Vp % x128::size == 0.
__global__ void classifier_forward_kernel(const floatX* logits, float* losses, float* lse_out, const int* targets, int V,
                                          int Vp) {
    __shared__ float shm[32], shs[32];
    const size_t row = blockIdx.x;
    const floatX* z = logits + row * Vp;
    SoftmaxStat st = {-INFINITY, 0.0f};
    for (int i = threadIdx.x * x128::size; i < V; i += blockDim.x * x128::size) {
        // one rescale per pack, not per element: 9 exps per 8 values instead of 16
        x128 p = load128(z + i);
        float pm = -INFINITY;
        for (int k = 0; k < x128::size && i + k < V; k++) pm = fmaxf(pm, to_float(p[k]));
        const float m = fmaxf(st.m, pm);
        float s = st.s * expf(st.m - m);
        for (int k = 0; k < x128::size && i + k < V; k++) s += expf(to_float(p[k]) - m);
        st = {m, s};
    }
    // block merge: warps by shuffle, then warp 0 over the per-warp results (fixed order)
    for (int off = 16; off > 0; off >>= 1) {
        SoftmaxStat o = {__shfl_xor_sync(0xffffffffu, st.m, off), __shfl_xor_sync(0xffffffffu, st.s, off)};
        st = stat_merge(st, o);
    }
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, nwarps = blockDim.x / 32;
    if (lane == 0) {
        shm[warp] = st.m;
        shs[warp] = st.s;
    }
    __syncthreads();
    st = lane < nwarps ? SoftmaxStat{shm[lane], shs[lane]} : SoftmaxStat{-INFINITY, 0.0f};
    for (int off = 16; off > 0; off >>= 1) {
        SoftmaxStat o = {__shfl_xor_sync(0xffffffffu, st.m, off), __shfl_xor_sync(0xffffffffu, st.s, off)};
        st = stat_merge(st, o);
    }
    if (threadIdx.x == 0) {
        const float lse = st.m + logf(st.s);
        lse_out[row] = lse;
        losses[row] = lse - to_float(z[targets[row]]);
    }
}

// In place: logits (N, Vp) become dloss * (softmax - onehot(target)); 0 in the padding. One
// thread per 16-byte pack; dloss = d(loss)/d(each row's loss), e.g. loss_scale / N for a mean.
__global__ void classifier_backward_kernel(floatX* logits, const float* lse, const int* targets, float dloss, int N, int V,
                                           int Vp) {
    const size_t idx = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) * x128::size;
    if (idx >= (size_t)N * Vp) return;
    const size_t row = idx / Vp;
    const int i = (int)(idx % Vp), target = targets[row];
    const float l = lse[row];
    x128 p = load128(logits + idx), d;
    for (int k = 0; k < x128::size; k++) {
        const int v = i + k;
        float g = v < V ? expf(to_float(p[k]) - l) * dloss : 0.0f;
        if (v == target) g -= dloss;
        d[k] = from_float<floatX>(g);
    }
    store128(logits + idx, d);
}

// losses (N) = cross-entropy of each row; lse (N) kept for classifier_backward.
inline void classifier_forward(const floatX* logits, float* losses, float* lse, const int* targets, int N, int V, int Vp,
                               cudaStream_t stream) {
    const int block = 1024;
    launch_kernel(classifier_forward_kernel, N, block, 0, stream, logits, losses, lse, targets, V, Vp);
    cudaCheck(cudaGetLastError());
}
inline void classifier_backward(floatX* logits, const float* lse, const int* targets, float dloss, int N, int V, int Vp,
                                cudaStream_t stream) {
    const int block = 256;
    launch_kernel(classifier_backward_kernel, ceil_div((size_t)N * Vp / x128::size, block), block, 0, stream, logits, lse,
                  targets, dloss, N, V, Vp);
    cudaCheck(cudaGetLastError());
}
