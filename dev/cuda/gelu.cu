/*
GELU (tanh approximation) forward and backward, elementwise, memory bound.
  version 1: one scalar element per thread
  version 2: 16-byte packs per thread (llmc/cuda/gelu.cuh, what the trainer runs)
Build and run: make build/dev_cuda/gelu && ./build/dev_cuda/gelu   (PRECISION=FP32 for fp32)
Validates every version at every block size against the CPU reference, then benchmarks (GB/s).
*/
#include "common.cuh"
#include "../../llmc/cuda/gelu.cuh"

static void gelu_forward_cpu(float* out, const float* inp, size_t N) {
    for (size_t i = 0; i < N; i++) {
        float x = inp[i];
        out[i] = 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    }
}
static void gelu_backward_cpu(float* dinp, const float* inp, const float* dout, size_t N) {
    for (size_t i = 0; i < N; i++) {
        float x = inp[i];
        float th = tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x));
        float g = 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * 0.7978845608028654f * (1.0f + 3.0f * 0.044715f * x * x);
        dinp[i] = g * dout[i];
    }
}

__global__ void gelu_forward_kernel1(floatX* out, const floatX* inp, size_t N) {
    const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < N) out[i] = from_float<floatX>(gelu_f(to_float(inp[i])));
}
__global__ void gelu_backward_kernel1(floatX* dinp, const floatX* inp, const floatX* dout, size_t N) {
    const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < N) dinp[i] = from_float<floatX>(gelu_grad_f(to_float(inp[i])) * to_float(dout[i]));
}

static void run_forward(int version, floatX* out, const floatX* inp, size_t N, int block) {
    if (version == 1) launch_kernel(gelu_forward_kernel1, ceil_div(N, block), block, 0, 0, out, inp, N);
    else launch_kernel(gelu_forward_kernel, ceil_div(N / x128::size, block), block, 0, 0, out, inp, N);
    cudaCheck(cudaGetLastError());
}
static void run_backward(int version, floatX* dinp, const floatX* inp, const floatX* dout, size_t N, int block) {
    if (version == 1) launch_kernel(gelu_backward_kernel1, ceil_div(N, block), block, 0, 0, dinp, inp, dout, N);
    else launch_kernel(gelu_backward_kernel, ceil_div(N / x128::size, block), block, 0, 0, dinp, inp, dout, N);
    cudaCheck(cudaGetLastError());
}

int main() {
    require_device();
    const size_t B = EMU_OR(1, 8), T = EMU_OR(64, 1024), C = 768, N = B * T * 4 * C;  // one d12 MLP activation at B=8
    std::vector<float> inp = round_floatX(rand_vec(N, 1, -4.0f, 4.0f)), dout = round_floatX(rand_vec(N, 2));
    std::vector<float> ref_out(N), ref_dinp(N);
    gelu_forward_cpu(ref_out.data(), inp.data(), N);
    gelu_backward_cpu(ref_dinp.data(), inp.data(), dout.data(), N);
    floatX *d_inp = to_device<floatX>(inp), *d_dout = to_device<floatX>(dout);
    floatX *d_out = device_zeros<floatX>(N), *d_dinp = device_zeros<floatX>(N);
    const int blocks[] = {64, 128, 256, 512, 1024};
    char name[64];
    for (int v = 1; v <= 2; v++) {
        for (int block : blocks) {
            run_forward(v, d_out, d_inp, N, block);
            snprintf(name, sizeof name, "gelu_forward v%d block %d", v, block);
            validate(name, d_out, ref_out);
            run_backward(v, d_dinp, d_inp, d_dout, N, block);
            snprintf(name, sizeof name, "gelu_backward v%d block %d", v, block);
            validate(name, d_dinp, ref_dinp);
        }
    }
    if (benchmarks_skipped()) return dev_exit_code();
    printf("benchmark (N = %zu, %s):\n", N, PRECISION_NAME);
    for (int v = 1; v <= 2; v++) {
        for (int block : blocks) {
            float ms = benchmark_ms(20, [&] { run_forward(v, d_out, d_inp, N, block); });
            snprintf(name, sizeof name, "gelu_forward v%d", v);
            report(name, block, ms, 2.0 * N * sizeof(floatX));
            ms = benchmark_ms(20, [&] { run_backward(v, d_dinp, d_inp, d_dout, N, block); });
            snprintf(name, sizeof name, "gelu_backward v%d", v);
            report(name, block, ms, 3.0 * N * sizeof(floatX));
        }
    }
    return dev_exit_code();
}
