/*
Causal softmax over the attention scores (the part of attention between the two cuBLAS batched
products), forward and backward. Rows are (b, h, t); row t keeps columns t2 <= t.
  forward version 1: one thread per row, three scalar passes
  forward version 2: one warp per row, shuffle max/sum (llmc/cuda/attention.cuh)
  backward version 2: one warp per row, in place on datt (llmc/cuda/attention.cuh)
Build and run: make build/dev_cuda/attention_softmax && ./build/dev_cuda/attention_softmax
Validates every version at every block size against the CPU reference, then benchmarks (GB/s).
*/
#include "common.cuh"
#include "../../llmc/cuda/attention.cuh"

static void softmax_forward_cpu(float* att, const float* pre, int rows, int T, float scale) {
    for (int r = 0; r < rows; r++) {
        const int t = r % T;
        const float* x = pre + (size_t)r * T;
        float* y = att + (size_t)r * T;
        float m = -INFINITY, s = 0.0f;
        for (int j = 0; j <= t; j++) m = std::max(m, x[j] * scale);
        for (int j = 0; j <= t; j++) s += expf(x[j] * scale - m);
        for (int j = 0; j < T; j++) y[j] = j <= t ? expf(x[j] * scale - m) / s : 0.0f;
    }
}
static void softmax_backward_cpu(float* dpre, const float* datt, const float* att, int rows, int T, float scale) {
    for (int r = 0; r < rows; r++) {
        const int t = r % T;
        const float* a = att + (size_t)r * T;
        const float* d = datt + (size_t)r * T;
        float dot = 0.0f;
        for (int j = 0; j <= t; j++) dot += a[j] * d[j];
        for (int j = 0; j < T; j++) dpre[(size_t)r * T + j] = j <= t ? a[j] * (d[j] - dot) * scale : 0.0f;
    }
}

__global__ void softmax_forward_kernel1(floatX* att, const floatX* pre, int rows, int T, float scale) {
    const int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    const int t = r % T;
    const floatX* x = pre + (size_t)r * T;
    float m = -INFINITY, s = 0.0f;
    for (int j = 0; j <= t; j++) m = fmaxf(m, to_float(x[j]) * scale);
    for (int j = 0; j <= t; j++) s += expf(to_float(x[j]) * scale - m);
    for (int j = 0; j < T; j++) att[(size_t)r * T + j] = from_float<floatX>(j <= t ? expf(to_float(x[j]) * scale - m) / s : 0.0f);
}

static void run_forward(int version, floatX* att, const floatX* pre, int rows, int T, float scale, int block) {
    if (version == 1) launch_kernel(softmax_forward_kernel1, ceil_div(rows, block), block, 0, 0, att, pre, rows, T, scale);
    else launch_kernel(softmax_forward_kernel, ceil_div(rows, block / 32), block, 0, 0, att, pre, rows, T, scale);
    cudaCheck(cudaGetLastError());
}

int main() {
    require_device();
    const int B = EMU_OR(1, 4), NH = EMU_OR(3, 12), T = EMU_OR(200, 1024), hs = 64, rows = B * NH * T;
    const float scale = 1.0f / sqrtf((float)hs);
    const size_t n = (size_t)rows * T;
    std::vector<float> pre = round_floatX(rand_vec(n, 1, -8.0f, 8.0f)), datt = round_floatX(rand_vec(n, 2));
    std::vector<float> att(n), dpre(n);
    softmax_forward_cpu(att.data(), pre.data(), rows, T, scale);
    std::vector<float> att_rounded = round_floatX(att);  // backward sees the stored (rounded) att
    softmax_backward_cpu(dpre.data(), datt.data(), att_rounded.data(), rows, T, scale);
    floatX *d_pre = to_device<floatX>(pre), *d_att = device_zeros<floatX>(n);
    floatX *d_datt0 = to_device<floatX>(datt), *d_datt = device_zeros<floatX>(n), *d_attr = to_device<floatX>(att_rounded);
    const int blocks[] = {32, 64, 128, 256, 512, 1024};
    char name[96];
    // probabilities are ~1/t and dpre smaller still: DEV_ATOL (2e-2 in bf16) would pass nearly any
    // output for long rows; both are computed in fp32 from the same inputs, so the error is relative
    const float atol = 1e-6f;
    for (int v = 1; v <= 2; v++) {
        for (int block : blocks) {
            run_forward(v, d_att, d_pre, rows, T, scale, block);
            snprintf(name, sizeof name, "softmax_forward v%d block %d", v, block);
            validate(name, d_att, att, atol);
        }
    }
    cudaCheck(cudaMemcpy(d_datt, d_datt0, n * sizeof(floatX), cudaMemcpyDeviceToDevice));
    softmax_backward(d_datt, d_attr, rows, T, scale, 0);
    validate("softmax_backward v2", d_datt, dpre, atol);

    // bytes: the causal half is read (twice, the second from L1/L2) and the full row written
    if (benchmarks_skipped()) return dev_exit_code();
    printf("benchmark (B=%d NH=%d T=%d, %s):\n", B, NH, T, PRECISION_NAME);
    for (int v = 1; v <= 2; v++) {
        for (int block : blocks) {
            float ms = benchmark_ms(10, [&] { run_forward(v, d_att, d_pre, rows, T, scale, block); });
            snprintf(name, sizeof name, "softmax_forward v%d", v);
            report(name, block, ms, 1.5 * n * sizeof(floatX));
        }
    }
    float ms = benchmark_ms(10, [&] { softmax_backward(d_datt, d_attr, rows, T, scale, 0); });
    report("softmax_backward v2 (in place)", 256, ms, 2.0 * n * sizeof(floatX));
    return dev_exit_code();
}
