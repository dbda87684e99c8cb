/*
Fused classifier: per row of logits (N, Vp), the loss lse - z[target] and, in place,
dlogits = (softmax - onehot(target)) * dloss over the V real columns (0 in the padding).
  version 1: three kernels (row max, row sum of exp, write dlogits) with a block per row
  version 2: forward kernel (online max/sum in one read, lse kept) + backward kernel (one read,
             one write of dlogits per row) (llmc/cuda/classifier.cuh: the forward's contract
             needs the loss without the gradient; the traffic equals one fused kernel's)
Build and run: make build/dev_cuda/classifier && ./build/dev_cuda/classifier
Validates each version against the CPU reference, then benchmarks (GB/s).
*/
#include "common.cuh"
#include "../../llmc/cuda/classifier.cuh"

static void classifier_cpu(float* dlogits, float* losses, const float* logits, const int* targets, float dloss, int N,
                           int V, int Vp) {
    for (int n = 0; n < N; n++) {
        const float* z = logits + (size_t)n * Vp;
        float m = -INFINITY, s = 0.0f;
        for (int v = 0; v < V; v++) m = std::max(m, z[v]);
        for (int v = 0; v < V; v++) s += expf(z[v] - m);
        float lse = m + logf(s);
        losses[n] = lse - z[targets[n]];
        for (int v = 0; v < Vp; v++) {
            float g = v < V ? expf(z[v] - lse) * dloss : 0.0f;
            if (v == targets[n]) g -= dloss;
            dlogits[(size_t)n * Vp + v] = g;
        }
    }
}

__global__ void row_max_kernel1(float* maxes, const floatX* logits, int V, int Vp) {
    __shared__ float sh[32];
    const floatX* z = logits + (size_t)blockIdx.x * Vp;
    float m = -INFINITY;
    for (int v = threadIdx.x; v < V; v += blockDim.x) m = fmaxf(m, to_float(z[v]));
    m = block_max(m, sh);
    if (threadIdx.x == 0) maxes[blockIdx.x] = m;
}
__global__ void row_lse_kernel1(float* lse, float* losses, const float* maxes, const floatX* logits, const int* targets,
                                int V, int Vp) {
    __shared__ float sh[32];
    const floatX* z = logits + (size_t)blockIdx.x * Vp;
    const float m = maxes[blockIdx.x];
    float s = 0.0f;
    for (int v = threadIdx.x; v < V; v += blockDim.x) s += expf(to_float(z[v]) - m);
    s = block_sum(s, sh);
    if (threadIdx.x == 0) {
        lse[blockIdx.x] = m + logf(s);
        losses[blockIdx.x] = m + logf(s) - to_float(z[targets[blockIdx.x]]);
    }
}
__global__ void write_dlogits_kernel1(floatX* logits, const float* lse, const int* targets, float dloss, int V, int Vp) {
    floatX* z = logits + (size_t)blockIdx.x * Vp;
    const int target = targets[blockIdx.x];
    for (int v = threadIdx.x; v < Vp; v += blockDim.x) {
        float g = v < V ? expf(to_float(z[v]) - lse[blockIdx.x]) * dloss : 0.0f;
        if (v == target) g -= dloss;
        z[v] = from_float<floatX>(g);
    }
}

static void run(int version, floatX* logits, float* losses, float* scratch, const int* targets, float dloss, int N, int V,
                int Vp, int block) {
    if (version == 1) {
        launch_kernel(row_max_kernel1, N, block, 0, 0, scratch, logits, V, Vp);
        cudaCheck(cudaGetLastError());
        launch_kernel(row_lse_kernel1, N, block, 0, 0, scratch + N, losses, scratch, logits, targets, V, Vp);
        cudaCheck(cudaGetLastError());
        launch_kernel(write_dlogits_kernel1, N, block, 0, 0, logits, scratch + N, targets, dloss, V, Vp);
    } else {
        launch_kernel(classifier_forward_kernel, N, block, 0, 0, logits, losses, scratch, targets, V, Vp);
        classifier_backward(logits, scratch, targets, dloss, N, V, Vp, 0);
    }
    cudaCheck(cudaGetLastError());
}

int main() {
    require_device();
    const int B = EMU_OR(1, 8), T = EMU_OR(48, 1024), V = 50257, Vp = 50304, N = B * T;
    const size_t n = (size_t)N * Vp;
    std::vector<float> logits = round_floatX(rand_vec(n, 1, -6.0f, 6.0f));
    for (int r = 0; r < N; r++) {
        for (int v = V; v < Vp; v++) logits[(size_t)r * Vp + v] = 0.0f;
    }
    std::vector<int> targets(N);
    Mt19937 rng(3);
    for (int& t : targets) t = (int)(rng.next_u32() % V);
    const float dloss = 1.0f / N;
    std::vector<float> dlogits(n), losses(N);
    classifier_cpu(dlogits.data(), losses.data(), logits.data(), targets.data(), dloss, N, V, Vp);
    floatX* d_logits0 = to_device<floatX>(logits);
    floatX* d_logits = device_zeros<floatX>(n);
    float *d_losses = device_zeros<float>(N), *d_scratch = device_zeros<float>(2 * N);
    int* d_targets;
    cudaCheck(cudaMalloc(&d_targets, N * sizeof(int)));
    cudaCheck(cudaMemcpy(d_targets, targets.data(), N * sizeof(int), cudaMemcpyHostToDevice));
    const int blocks[] = {128, 256, 512, 1024};
    char name[96];
    // dlogits are softmax/N: 2e-13..3e-8 off the target column here, so an atol near 1e-7 would pass
    // any output there; their errors are relative (bf16 rounding, lse summation order): rtol checks them
    const float datol = 1e-12f;
    for (int v = 1; v <= 2; v++) {
        for (int block : blocks) {
            cudaCheck(cudaMemcpy(d_logits, d_logits0, n * sizeof(floatX), cudaMemcpyDeviceToDevice));
            run(v, d_logits, d_losses, d_scratch, d_targets, dloss, N, V, Vp, block);
            snprintf(name, sizeof name, "classifier v%d block %d losses", v, block);
            validate(name, d_losses, losses, 1e-4f, 1e-5f);  // losses are fp32 from the same inputs
            snprintf(name, sizeof name, "classifier v%d block %d dlogits", v, block);
            validate(name, d_logits, dlogits, datol, FLOATX_IS_FP32 ? 1e-4f : 1e-2f);
        }
    }
    if (benchmarks_skipped()) return dev_exit_code();
    printf("benchmark (N = %d, Vp = %d, %s):\n", N, Vp, PRECISION_NAME);
    for (int v = 1; v <= 2; v++) {
        for (int block : blocks) {
            float ms = benchmark_ms(5, [&] { run(v, d_logits, d_losses, d_scratch, d_targets, dloss, N, V, Vp, block); });
            snprintf(name, sizeof name, "classifier v%d", v);
            report(name, block, ms, 2.0 * n * sizeof(floatX));  // minimum traffic: read + write once
        }
    }
    return dev_exit_code();
}
