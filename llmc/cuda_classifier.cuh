// Fused classifier: softmax + cross-entropy + its gradient in one kernel, with no probability
// buffer. Each row of logits (N, Vp) is read twice: once for the online max/sum, once to write
// dlogits in place (when dloss != 0). Only the V real columns enter the softmax; the Vp - V
// padded columns of dlogits are written 0. Losses (N) in fp32, reduced on the host in order.
#pragma once
#include "cuda_common.cuh"

// Online softmax statistics: (max m, sum s of exp(x - m)) merged pairwise.
struct SoftmaxStat {
    float m, s;
};
__device__ inline SoftmaxStat stat_merge(SoftmaxStat a, SoftmaxStat b) {
    float m = fmaxf(a.m, b.m);
    if (m == -INFINITY) return {m, 0.0f};
    return {m, a.s * expf(a.m - m) + b.s * expf(b.m - m)};
}

// One block per row. blockDim.x a multiple of 32. Vp % x128::size == 0.
__global__ void fused_classifier_kernel(floatX* logits, float* losses, const int* targets, float dloss, int V, int Vp) {
    __shared__ float shm[32], shs[32];
    const size_t row = blockIdx.x;
    floatX* z = logits + row * Vp;
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
    const float lse = st.m + logf(st.s);
    const int target = targets[row];
    if (threadIdx.x == 0) losses[row] = lse - to_float(z[target]);
    if (dloss == 0.0f) return;
    __syncthreads();  // every thread has read z[target] before anyone overwrites it
    for (int i = threadIdx.x * x128::size; i < Vp; i += blockDim.x * x128::size) {
        x128 p = load128(z + i), d;
        for (int k = 0; k < x128::size; k++) {
            const int v = i + k;
            float g = v < V ? expf(to_float(p[k]) - lse) * dloss : 0.0f;
            if (v == target) g -= dloss;
            d[k] = from_float<floatX>(g);
        }
        store128(z + i, d);
    }
}

// losses (N) = cross-entropy of each row; with dloss != 0, logits become dlogits * dloss in place.
inline void fused_classifier(floatX* logits, float* losses, const int* targets, float dloss, int N, int V, int Vp,
                             cudaStream_t stream) {
    const int block = 1024;
    launch_kernel(fused_classifier_kernel, N, block, 0, stream, logits, losses, targets, dloss, V, Vp);
    cudaCheck(cudaGetLastError());
}
