/*
AdamW update (fp32 master weights, fp32 m/v, fp32 grads, floatX copy refreshed in the same pass)
and the global gradient norm (two fixed-shape passes, double partials: deterministic).
  adamw version 1: the trainer's kernel, one element per thread (llmc/cuda/adamw.cuh)
  norm  version 1: grid-stride partials + one ordered finishing block (llmc/cuda/global_norm.cuh)
Build and run: make build/dev_cuda/adamw && ./build/dev_cuda/adamw
Validates against the CPU reference (the CPU trainer's gpt2_update formula), then benchmarks (GB/s).
*/
#include <cfloat>

#include "common.cuh"
#include "../../llmc/cuda/adamw.cuh"
#include "../../llmc/cuda/global_norm.cuh"

static void adamw_cpu(float* p, float* m, float* v, const float* g, size_t n, float lr, float b1, float b2, int t,
                      float eps, float wd, float scale) {
    const float bc1 = 1.0f - powf(b1, (float)t), bc2 = 1.0f - powf(b2, (float)t);
    for (size_t i = 0; i < n; i++) {
        float grad = g[i] * scale;
        m[i] = b1 * m[i] + (1.0f - b1) * grad;
        v[i] = b2 * v[i] + (1.0f - b2) * grad * grad;
        float mhat = m[i] / bc1, vhat = v[i] / bc2;
        p[i] -= lr * (mhat / (sqrtf(vhat) + eps) + wd * p[i]);
    }
}

int main() {
    require_device();
    const size_t n = EMU_OR(1000003, 124475904);  // GPT-2 124M with the padded wte (odd under emulation: a ragged last block)
    std::vector<float> p = rand_vec(n, 1, -0.1f, 0.1f), g = rand_vec(n, 2, -1e-3f, 1e-3f);
    std::vector<float> m = rand_vec(n, 3, -1e-4f, 1e-4f), v = rand_vec(n, 4, 0.0f, 1e-7f);
    float *d_master = to_device<float>(p), *d_g = to_device<float>(g), *d_m = to_device<float>(m), *d_v = to_device<float>(v);
    floatX* d_params = device_zeros<floatX>(n);
    const float lr = 3e-4f, b1 = 0.9f, b2 = 0.95f, eps = 1e-8f, wd = 0.1f, scale = 0.5f;
    const int t = 5;
    adamw_update(d_params, d_master, d_g, d_m, d_v, n, lr, b1, b2, t, eps, wd, scale, 0, 0);
    std::vector<float> p_ref = p, m_ref = m, v_ref = v;
    adamw_cpu(p_ref.data(), m_ref.data(), v_ref.data(), g.data(), n, lr, b1, b2, t, eps, wd, scale);
    // fp32 state: only FMA contraction on the device separates the two. Contracting
    // b1*m + (1-b1)*g skips one rounding of a product, so the difference is a few ulps of the
    // larger TERM, not of the result: where the terms cancel, m is tiny and a relative bound fails
    // (~1e4 of 124M elements at 1e-11). Hence atol = 4 ulps of the largest term sum.
    double m_terms = 0.0, v_terms = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double gs = (double)g[i] * scale;
        m_terms = std::max(m_terms, fabs(b1 * (double)m[i]) + fabs((1.0 - b1) * gs));
        v_terms = std::max(v_terms, fabs(b2 * (double)v[i]) + fabs((1.0 - b2) * gs * gs));
    }
    validate("adamw v1 master", d_master, p_ref, 1e-7f, 1e-5f);
    validate("adamw v1 m", d_m, m_ref, (float)(4 * FLT_EPSILON * m_terms), 1e-5f);
    validate("adamw v1 v", d_v, v_ref, (float)(4 * FLT_EPSILON * v_terms), 1e-5f);
    // the copy must be exactly the device master rounded: rounding the CPU's master instead flags
    // elements where FMA contraction moved the master across a bf16 rounding boundary (1 ulp = ~8e-3)
    std::vector<float> master(n);
    cudaCheck(cudaMemcpy(master.data(), d_master, n * sizeof(float), cudaMemcpyDeviceToHost));
    validate("adamw v1 params (floatX copy)", d_params, round_floatX(std::move(master)), 0.0f, 0.0f);

    double sq = 0.0;
    for (float x : g) sq += (double)x * x;
    std::vector<float> norm_ref = {(float)sqrt(sq)};
    float* d_norm = device_zeros<float>(1);
    double* d_partial = device_zeros<double>(NORM_BLOCKS);
    global_grad_norm(d_norm, d_partial, d_g, n, 0);
    validate("grad_norm v1", d_norm, norm_ref, 0.0f, 1e-6f);

    if (benchmarks_skipped()) return dev_exit_code();
    printf("benchmark (n = %zu, %s):\n", n, PRECISION_NAME);
    float ms = benchmark_ms(10, [&] { adamw_update(d_params, d_master, d_g, d_m, d_v, n, lr, b1, b2, t, eps, wd, scale, 0, 0); });
    report("adamw v1 (master + copy)", 512, ms, n * (4.0 * 4 + 3 * 4 + sizeof(floatX)));  // read p g m v, write p m v + copy
    ms = benchmark_ms(10, [&] { global_grad_norm(d_norm, d_partial, d_g, n, 0); });
    report("grad_norm v1", NORM_THREADS, ms, n * 4.0);
    return dev_exit_code();
}
