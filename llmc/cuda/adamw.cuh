// The AdamW update on the device, as the CPU trainer's formula op for op: fp32 master weights,
// fp32 m and v, fp32 grads; the floatX copy the matmuls read is refreshed from the master in the
// same pass. Also the fp32 <-> floatX copies of the weights. The grad norm is in global_norm.cuh.
#pragma once
#include "common.cuh"

// Stochastic rounding to bf16 for the no-master-weights mode: add uniform noise below the kept
// 16 bits, then truncate. The noise is a hash of (index, seed): reproducible, no RNG state.
__device__ inline uint32_t hash_u32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}
__device__ inline void store_param(float* p, float v, size_t, uint32_t) { *p = v; }
__device__ inline void store_param(__nv_bfloat16* p, float v, size_t i, uint32_t seed) {
    uint32_t u = __float_as_uint(v);
    if ((u & 0x7f800000u) != 0x7f800000u) u += hash_u32((uint32_t)i ^ hash_u32(seed)) & 0xffffu;  // skip inf/nan
    *p = __ushort_as_bfloat16((unsigned short)(u >> 16));
}

// p -= lr * (mhat / (sqrt(vhat) + eps) + wd * p). master may be null (then the floatX params are
// the weights, updated with stochastic rounding when floatX is bf16). With master, params =
// round-to-nearest(master).
__global__ void adamw_kernel(floatX* params, float* master, const float* grads, float* m, float* v, size_t n,
                             float lr, float beta1, float beta2, float bc1, float bc2, float eps, float wd,
                             float grad_scale, uint32_t seed) {
    const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float grad = grads[i] * grad_scale;
    const float mi = beta1 * m[i] + (1.0f - beta1) * grad;
    const float vi = beta2 * v[i] + (1.0f - beta2) * grad * grad;
    m[i] = mi;
    v[i] = vi;
    const float mhat = mi / bc1, vhat = vi / bc2;
    const float p = master ? master[i] : to_float(params[i]);
    const float pn = p - lr * (mhat / (sqrtf(vhat) + eps) + wd * p);
    if (master) {
        master[i] = pn;
        params[i] = from_float<floatX>(pn);
    } else {
        store_param(params + i, pn, i, seed);
    }
}

inline void adamw_update(floatX* params, float* master, const float* grads, float* m, float* v, size_t n, float lr,
                         float beta1, float beta2, int t, float eps, float wd, float grad_scale, uint32_t seed,
                         cudaStream_t stream) {
    const float bc1 = 1.0f - powf(beta1, (float)t), bc2 = 1.0f - powf(beta2, (float)t);  // as the CPU
    const int block = 512;
    launch_kernel(adamw_kernel, ceil_div(n, block), block, 0, stream, params, master, grads, m, v, n, lr, beta1, beta2, bc1,
                  bc2, eps, wd, grad_scale, seed);
    cudaCheck(cudaGetLastError());
}

// fp32 -> floatX copy (params from host-initialized master weights).
__global__ void cast_kernel(floatX* dst, const float* src, size_t n) {
    const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dst[i] = from_float<floatX>(src[i]);
}
__global__ void widen_kernel(float* dst, const floatX* src, size_t n) {
    const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dst[i] = to_float(src[i]);
}
inline void cast_to_floatX(floatX* dst, const float* src, size_t n, cudaStream_t stream) {
    launch_kernel(cast_kernel, ceil_div(n, 512), 512, 0, stream, dst, src, n);
    cudaCheck(cudaGetLastError());
}
inline void widen_to_float(float* dst, const floatX* src, size_t n, cudaStream_t stream) {
    launch_kernel(widen_kernel, ceil_div(n, 512), 512, 0, stream, dst, src, n);
    cudaCheck(cudaGetLastError());
}
