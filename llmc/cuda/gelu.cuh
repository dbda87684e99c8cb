// GELU, tanh approximation (GPT-2's), elementwise on 16-byte packs. N % x128::size == 0.
// Backward SETS dinp (=): the trainer writes each activation gradient of the MLP once.
#pragma once
#include "common.cuh"

#define GELU_SCALING 0.7978845608028654f  // sqrt(2/pi)

__device__ inline float gelu_f(float x) {
    return 0.5f * x * (1.0f + tanhf(GELU_SCALING * (x + 0.044715f * x * x * x)));
}
__device__ inline float gelu_grad_f(float x) {
    float th = tanhf(GELU_SCALING * (x + 0.044715f * x * x * x));
    float sech2 = 1.0f - th * th;
    return 0.5f * (1.0f + th) + 0.5f * x * sech2 * GELU_SCALING * (1.0f + 3.0f * 0.044715f * x * x);
}

__global__ void gelu_forward_kernel(floatX* out, const floatX* inp, size_t N) {
    const size_t i = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) * x128::size;
    if (i >= N) return;
    x128 x = load128(inp + i), o;
    for (int k = 0; k < x128::size; k++) o[k] = from_float<floatX>(gelu_f(to_float(x[k])));
    store128(out + i, o);
}

__global__ void gelu_backward_kernel(floatX* dinp, const floatX* inp, const floatX* dout, size_t N) {
    const size_t i = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) * x128::size;
    if (i >= N) return;
    x128 x = load128(inp + i), d = load128(dout + i), o;
    for (int k = 0; k < x128::size; k++) o[k] = from_float<floatX>(gelu_grad_f(to_float(x[k])) * to_float(d[k]));
    store128(dinp + i, o);
}

inline void gelu_forward(floatX* out, const floatX* inp, size_t N, cudaStream_t stream) {
    const int block = 256;
    launch_kernel(gelu_forward_kernel, ceil_div(N / x128::size, block), block, 0, stream, out, inp, N);
    cudaCheck(cudaGetLastError());
}

inline void gelu_backward(floatX* dinp, const floatX* inp, const floatX* dout, size_t N, cudaStream_t stream) {
    const int block = 256;
    launch_kernel(gelu_backward_kernel, ceil_div(N / x128::size, block), block, 0, stream, dinp, inp, dout, N);
    cudaCheck(cudaGetLastError());
}
