// Global gradient norm and per-tensor sums of squares on the device: two fixed-shape passes
// (per-block partial sums in double, then one block adds them in order), so the result is bitwise
// reproducible run to run. Used for clipping (global_grad_norm) and the -rms log (sum_squares).
#pragma once
#include "common.cuh"

constexpr int NORM_BLOCKS = 1024, NORM_THREADS = 512;

__device__ inline double warp_sum_d(double v) {
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

// partial[blockIdx.x] = sum of g^2 over a grid-stride slice (fixed grid: NORM_BLOCKS).
// T = float for gradients; floatX too for the -rms weight statistics.
template <typename T>
__global__ void grad_norm_partial_kernel(double* partial, const T* g, size_t n) {
    __shared__ double sh[32];
    double s = 0.0;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        const double x = to_float(g[i]);
        s += x * x;
    }
    s = warp_sum_d(s);
    if (threadIdx.x % 32 == 0) sh[threadIdx.x / 32] = s;
    __syncthreads();
    if (threadIdx.x < 32) {
        s = threadIdx.x < blockDim.x / 32 ? sh[threadIdx.x] : 0.0;
        s = warp_sum_d(s);
        if (threadIdx.x == 0) partial[blockIdx.x] = s;
    }
}

__global__ void grad_norm_finish_kernel(float* norm, const double* partial, int nparts) {
    if (threadIdx.x != 0 || blockIdx.x != 0) return;
    double s = 0.0;
    for (int i = 0; i < nparts; i++) s += partial[i];
    *norm = (float)sqrt(s);
}

// norm_out: one device float. partial: NORM_BLOCKS doubles of scratch.
inline void global_grad_norm(float* norm_out, double* partial, const float* grads, size_t n, cudaStream_t stream) {
    launch_kernel(grad_norm_partial_kernel<float>, NORM_BLOCKS, NORM_THREADS, 0, stream, partial, grads, n);
    cudaCheck(cudaGetLastError());
    launch_kernel(grad_norm_finish_kernel, 1, 32, 0, stream, norm_out, partial, NORM_BLOCKS);
    cudaCheck(cudaGetLastError());
}

__global__ void sum_squares_finish_kernel(double* out, const double* partial, int nparts) {
    if (threadIdx.x != 0 || blockIdx.x != 0) return;
    double s = 0.0;
    for (int i = 0; i < nparts; i++) s += partial[i];
    *out = s;
}

// *sum_out (one device double) = sum of x^2 in double, same fixed-order passes as the norm; for
// the -rms diagnostics, so the host reads back one double per tensor instead of the tensor.
// Calls on one stream may share `partial` (NORM_BLOCKS doubles).
template <typename T>
inline void sum_squares(double* sum_out, double* partial, const T* x, size_t n, cudaStream_t stream) {
    launch_kernel(grad_norm_partial_kernel<T>, NORM_BLOCKS, NORM_THREADS, 0, stream, partial, x, n);
    cudaCheck(cudaGetLastError());
    launch_kernel(sum_squares_finish_kernel, 1, 32, 0, stream, sum_out, partial, NORM_BLOCKS);
    cudaCheck(cudaGetLastError());
}
