/*
Causal self-attention, forward and backward, qkv (B, T, 3C) -> out (B, T, C) and back to dqkv.
  version 1: unfused (llmc/cuda/attention.cuh, -fa 0): permute, cuBLAS Q K^T, softmax kernel,
             cuBLAS att V, unpermute; the (B, NH, T, T) matrix in device memory (preatt scratch
             and the att saved for backward)
  version 2: fused, FlashAttention-2 style (llmc/cuda/flash_attention.cuh, -fa 1), CUDA cores:
             fp32 FMAs on floatX tiles. The FP32 build's path (exact fp32 math)
  version 3: fused, tensor cores: WMMA 16x16x16 bf16 fragments, fp32 accumulators (BF16 build;
             the trainer's -fa 1 path)
For each (B, NH, T, hs), T = 1 and T not a multiple of the 64-row tile among them, with the
standard score scale 1/sqrt(hs) and, on some shapes, muP's 1/hs (the scale is every version's
argument: llmc/model/model.h attention_scale), every version is checked against a CPU reference
computed in double: forward out (and the fused versions' saved
log-sum-exp), backward dqkv; the fused versions against version 1; the fused forward and
backward run twice must give the same bits (no atomics). Under the emulator, version 3 must equal
version 2 bit for bit: both sum every product in k order there (a GPU's tensor cores do not).
Tolerances: the attn_* rows of dev/test/tolerances.h. Then (GPU only) a benchmark at d12's
attention shape, B=8.
Build and run: make build/dev_cuda/attention && ./build/dev_cuda/attention
*/
#include "common.cuh"
#include "../../llmc/cuda/attention.cuh"
#include "../../llmc/cuda/flash_attention.cuh"
#include "../../llmc/io/formats.h"
#include "../test/check.h"
#include "../test/parity.h"
#include "../test/tolerances.h"

#if defined(ENABLE_FP32)
static const auto& TOLERANCES = FP32_TOLERANCES;
constexpr int MAX_VERSION = 2;  // no fp32 tensor-core path
#else
static const auto& TOLERANCES = BF16_TOLERANCES;
constexpr int MAX_VERSION = 3;
#endif
static const Tolerance& tol(const char* what) { return find_tolerance(TOLERANCES, what); }

// ----------------------------------------------------------------------------
// CPU reference, in double

// out (B, T, C), lse (B, NH, T) from qkv (B, T, 3C); scores q.k * scale
static void attention_forward_cpu(std::vector<float>& out, std::vector<float>& lse, const std::vector<float>& qkv, int B,
                                  int T, int NH, int hs, double scale) {
    const int C = NH * hs;
    std::vector<double> s(T);
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            for (int t = 0; t < T; t++) {
                const float* q = &qkv[((size_t)b * T + t) * 3 * C + h * hs];
                double m = -INFINITY;
                for (int t2 = 0; t2 <= t; t2++) {
                    const float* k = &qkv[((size_t)b * T + t2) * 3 * C + C + h * hs];
                    double d = 0.0;
                    for (int i = 0; i < hs; i++) d += (double)q[i] * k[i];
                    s[t2] = d * scale;
                    m = std::max(m, s[t2]);
                }
                double sum = 0.0;
                for (int t2 = 0; t2 <= t; t2++) sum += exp(s[t2] - m);
                lse[((size_t)b * NH + h) * T + t] = (float)(m + log(sum));
                for (int i = 0; i < hs; i++) {
                    double o = 0.0;
                    for (int t2 = 0; t2 <= t; t2++) o += exp(s[t2] - m) / sum * qkv[((size_t)b * T + t2) * 3 * C + 2 * C + h * hs + i];
                    out[((size_t)b * T + t) * C + h * hs + i] = (float)o;
                }
            }
        }
    }
}

// dqkv (B, T, 3C) from dout (B, T, C): P recomputed, dP = dO V^T, dS = P (dP - rowsum(P dP)).
static void attention_backward_cpu(std::vector<float>& dqkv, const std::vector<float>& dout, const std::vector<float>& qkv,
                                   int B, int T, int NH, int hs, double scale) {
    const int C = NH * hs;
    std::vector<double> dq((size_t)T * hs), dk((size_t)T * hs), dv((size_t)T * hs), p(T), dp(T);
    auto q = [&](int b, int t, int h) { return &qkv[((size_t)b * T + t) * 3 * C + h * hs]; };
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            std::fill(dq.begin(), dq.end(), 0.0);
            std::fill(dk.begin(), dk.end(), 0.0);
            std::fill(dv.begin(), dv.end(), 0.0);
            for (int t = 0; t < T; t++) {
                const float* qt = q(b, t, h);
                const float* dot = &dout[((size_t)b * T + t) * C + h * hs];
                double m = -INFINITY, sum = 0.0, D = 0.0;
                for (int t2 = 0; t2 <= t; t2++) {
                    const float* k = q(b, t2, h) + C;
                    const float* v = q(b, t2, h) + 2 * C;
                    double d = 0.0, e = 0.0;
                    for (int i = 0; i < hs; i++) {
                        d += (double)qt[i] * k[i];
                        e += (double)dot[i] * v[i];
                    }
                    p[t2] = d * scale;
                    dp[t2] = e;
                    m = std::max(m, p[t2]);
                }
                for (int t2 = 0; t2 <= t; t2++) sum += exp(p[t2] - m);
                for (int t2 = 0; t2 <= t; t2++) {
                    p[t2] = exp(p[t2] - m) / sum;
                    D += p[t2] * dp[t2];
                }
                for (int t2 = 0; t2 <= t; t2++) {
                    const double ds = p[t2] * (dp[t2] - D) * scale;
                    const float* k = q(b, t2, h) + C;
                    for (int i = 0; i < hs; i++) {
                        dv[(size_t)t2 * hs + i] += p[t2] * dot[i];
                        dq[(size_t)t * hs + i] += ds * k[i];
                        dk[(size_t)t2 * hs + i] += ds * qt[i];
                    }
                }
            }
            for (int t = 0; t < T; t++) {
                float* d = &dqkv[((size_t)b * T + t) * 3 * C + h * hs];
                for (int i = 0; i < hs; i++) {
                    d[i] = (float)dq[(size_t)t * hs + i];
                    d[C + i] = (float)dk[(size_t)t * hs + i];
                    d[2 * C + i] = (float)dv[(size_t)t * hs + i];
                }
            }
        }
    }
}

// ----------------------------------------------------------------------------
// the versions on the device

struct Shape {
    int B, NH, T, hs;
    bool mup = false;  // scores scaled by 1/hs (muP) instead of 1/sqrt(hs)
};
static double score_scale(const Shape& sh) { return sh.mup ? 1.0 / sh.hs : 1.0 / sqrt((double)sh.hs); }

// Device buffers for one shape. Outputs start as NaN (0xff bytes), so an element a kernel fails
// to write shows.
struct Buffers {
    int B, NH, T, C;
    float scale;
    floatX *qkv, *dout, *out, *dqkv, *att;
    float *lse, *delta;
    AttentionScratch s;
    size_t n_out, n_qkv, n_tt, n_rows;
};

template <typename T>
static T* device_nan(size_t n) {
    T* d;
    cudaCheck(cudaMalloc(&d, std::max<size_t>(n, 1) * sizeof(T)));
    cudaCheck(cudaMemset(d, 0xff, std::max<size_t>(n, 1) * sizeof(T)));
    return d;
}

static Buffers make_buffers(const Shape& sh, const std::vector<float>& qkv, const std::vector<float>& dout, bool unfused) {
    Buffers b;
    b.B = sh.B, b.NH = sh.NH, b.T = sh.T, b.C = sh.NH * sh.hs;
    b.scale = (float)score_scale(sh);
    b.n_out = (size_t)sh.B * sh.T * b.C;
    b.n_qkv = 3 * b.n_out;
    b.n_tt = (size_t)sh.B * sh.NH * sh.T * sh.T;
    b.n_rows = (size_t)sh.B * sh.NH * sh.T;
    b.qkv = to_device<floatX>(qkv);
    b.dout = to_device<floatX>(dout);
    b.out = device_nan<floatX>(b.n_out);
    b.dqkv = device_nan<floatX>(b.n_qkv);
    b.lse = device_nan<float>(b.n_rows);
    b.delta = device_nan<float>(b.n_rows);
    b.att = unfused ? device_nan<floatX>(b.n_tt) : nullptr;
    b.s = AttentionScratch{};
    if (unfused) {
        b.s.q = device_nan<floatX>(b.n_out), b.s.k = device_nan<floatX>(b.n_out), b.s.v = device_nan<floatX>(b.n_out);
        b.s.y = device_nan<floatX>(b.n_out), b.s.dq = device_nan<floatX>(b.n_out), b.s.dk = device_nan<floatX>(b.n_out);
        b.s.dv = device_nan<floatX>(b.n_out), b.s.tt = device_nan<floatX>(b.n_tt);
    }
    return b;
}

static void free_buffers(Buffers& b) {
    for (void* p : {(void*)b.qkv, (void*)b.dout, (void*)b.out, (void*)b.dqkv, (void*)b.att, (void*)b.lse, (void*)b.delta,
                    (void*)b.s.q, (void*)b.s.k, (void*)b.s.v, (void*)b.s.y, (void*)b.s.dq, (void*)b.s.dk, (void*)b.s.dv,
                    (void*)b.s.tt}) {
        if (p) cudaCheck(cudaFree(p));
    }
}

static void run_forward(int version, Blas* bl, Buffers& b) {
    if (version == 1) attention_forward(bl, b.out, b.att, b.qkv, b.s, b.B, b.T, b.C, b.NH, b.scale, 0);
    else flash_attention_forward(b.out, b.lse, b.qkv, b.B, b.T, b.C, b.NH, b.scale, 0, version == 3);
}
static void run_backward(int version, Blas* bl, Buffers& b) {
    if (version == 1) attention_backward(bl, b.dqkv, b.dout, b.qkv, b.att, b.s, b.B, b.T, b.C, b.NH, b.scale, 0);
    else flash_attention_backward(b.dqkv, b.delta, b.dout, b.out, b.qkv, b.lse, b.B, b.T, b.C, b.NH, b.scale, 0, version == 3);
}

template <typename T>
static std::vector<float> download_f(const T* d, size_t n) {
    std::vector<T> h(n);
    cudaCheck(cudaDeviceSynchronize());
    cudaCheck(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
    std::vector<float> f(n);
    for (size_t i = 0; i < n; i++) f[i] = to_float(h[i]);
    return f;
}

struct Result {
    std::vector<float> out, lse, dqkv;
};

static Result run_version(int version, Blas* bl, Buffers& b) {
    Result r;
    cudaCheck(cudaMemset(b.out, 0xff, b.n_out * sizeof(floatX)));  // NaN: what a version leaves unwritten shows
    cudaCheck(cudaMemset(b.dqkv, 0xff, b.n_qkv * sizeof(floatX)));
    cudaCheck(cudaMemset(b.lse, 0xff, b.n_rows * sizeof(float)));
    run_forward(version, bl, b);
    r.out = download_f(b.out, b.n_out);
    if (version > 1) r.lse = download_f(b.lse, b.n_rows);
    run_backward(version, bl, b);
    r.dqkv = download_f(b.dqkv, b.n_qkv);
    return r;
}

static bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && !memcmp(a.data(), b.data(), a.size() * sizeof(float));
}

// ----------------------------------------------------------------------------

int main() {
    require_device();
    Blas bl;
    blas_init(&bl, /*tf32=*/false);
    // the last three with muP's 1/hs: each head size, a partial tile; q is 3x larger there (below)
    std::vector<Shape> shapes = {{1, 1, 1, 64},  {2, 2, 63, 64}, {1, 3, 65, 64}, {2, 1, 127, 64},
                                 {1, 2, 256, 64}, {3, 1, 64, 64}, {2, 2, 100, 32}, {1, 2, 129, 16},
                                 {1, 2, 100, 64, true}, {2, 1, 70, 32, true}, {1, 2, 65, 16, true}};
#if !defined(CUDA_EMU)
    shapes.push_back({2, 4, 1024, 64});  // d12's T, checked on the GPU only (the emulator's WMMA is 32x redundant)
#endif
    char name[160];
    for (const Shape& sh : shapes) {
        const int C = sh.NH * sh.hs;
        const size_t n_out = (size_t)sh.B * sh.T * C;
        // q in [-3, 3], k and v in [-1, 1]: scores up to ~1 standard deviation at hs = 64, peaked rows.
        // muP's 1/hs is sqrt(hs) times smaller: q in [-9, 9] there keeps the rows from going flat
        std::vector<float> qkv = rand_vec(3 * n_out, 1000 + sh.T);
        const float q_range = sh.mup ? 9.0f : 3.0f;
        for (size_t row = 0; row < (size_t)sh.B * sh.T; row++) {
            for (int i = 0; i < C; i++) qkv[row * 3 * C + i] *= q_range;
        }
        qkv = round_floatX(qkv);
        const std::vector<float> dout = round_floatX(rand_vec(n_out, 2000 + sh.T));
        std::vector<float> ref_out(n_out), ref_lse((size_t)sh.B * sh.NH * sh.T), ref_dqkv(3 * n_out);
        attention_forward_cpu(ref_out, ref_lse, qkv, sh.B, sh.T, sh.NH, sh.hs, score_scale(sh));
        attention_backward_cpu(ref_dqkv, dout, qkv, sh.B, sh.T, sh.NH, sh.hs, score_scale(sh));

        Buffers buf = make_buffers(sh, qkv, dout, /*unfused=*/true);
        Result res[4];
        for (int v = 1; v <= MAX_VERSION; v++) {
            char tag[96];
            snprintf(tag, sizeof tag, "v%d B=%d NH=%d T=%d hs=%d%s", v, sh.B, sh.NH, sh.T, sh.hs, sh.mup ? " scale=1/hs" : "");
            res[v] = run_version(v, &bl, buf);
            snprintf(name, sizeof name, "attention %s forward out vs cpu", tag);
            compare_tol(name, tol("attn_out"), res[v].out.data(), ref_out.data(), n_out);
            if (v > 1) {
                snprintf(name, sizeof name, "attention %s forward lse vs cpu", tag);
                compare_tol(name, tol("attn_lse"), res[v].lse.data(), ref_lse.data(), ref_lse.size());
            }
            snprintf(name, sizeof name, "attention %s backward dqkv vs cpu", tag);
            compare_tol(name, tol("attn_dqkv"), res[v].dqkv.data(), ref_dqkv.data(), 3 * n_out);
            if (v > 1) {
                snprintf(name, sizeof name, "attention %s forward out vs v1 (unfused)", tag);
                compare_tol(name, tol("attn_fused_vs_unfused"), res[v].out.data(), res[1].out.data(), n_out);
                snprintf(name, sizeof name, "attention %s backward dqkv vs v1 (unfused)", tag);
                compare_tol(name, tol("attn_fused_vs_unfused"), res[v].dqkv.data(), res[1].dqkv.data(), 3 * n_out);
                // determinism: the same inputs twice, the same bits (forward and backward)
                const Result again = run_version(v, &bl, buf);
                snprintf(name, sizeof name, "attention %s run_to_run_bit_identical", tag);
                check(name, same_bits(again.out, res[v].out) && same_bits(again.lse, res[v].lse) && same_bits(again.dqkv, res[v].dqkv),
                      "out, lse and dqkv of a second forward + backward");
            }
        }
#if defined(CUDA_EMU) && !defined(ENABLE_FP32)
        snprintf(name, sizeof name, "attention v3 == v2 bit for bit B=%d NH=%d T=%d hs=%d%s (emulator)", sh.B, sh.NH, sh.T, sh.hs,
                 sh.mup ? " scale=1/hs" : "");
        check(name, same_bits(res[3].out, res[2].out) && same_bits(res[3].lse, res[2].lse) && same_bits(res[3].dqkv, res[2].dqkv),
              "emulated WMMA and the CUDA-core path sum in the same k order");
#endif
        free_buffers(buf);
    }
    // what each path keeps on the device besides qkv, out and dqkv, at d12's training shape
    {
        const double B = 64, NH = 12, T = 1024, C = 768, L = 12, GiB = 1073741824.0, x = sizeof(floatX);
        printf("device memory at d12 B=64 T=1024 (%s): unfused: att %.2f GiB for %d layers + preatt scratch %.2f GiB + "
               "q/k/v/y/dq/dk/dv %.2f GiB; fused: lse %.3f GiB + delta %.4f GiB\n",
               PRECISION_NAME, L * B * NH * T * T * x / GiB, (int)L, B * NH * T * T * x / GiB, 7 * B * T * C * x / GiB,
               L * B * NH * T * 4 / GiB, B * NH * T * 4 / GiB);
    }

    if (!benchmarks_skipped()) {
        const Shape sh{8, 12, 1024, 64};
        const int C = sh.NH * sh.hs;
        const size_t n_out = (size_t)sh.B * sh.T * C;
        Buffers buf = make_buffers(sh, round_floatX(rand_vec(3 * n_out, 7)), round_floatX(rand_vec(n_out, 8)), true);
        // FLOPs of the causal half: forward Q K^T and P V, backward dV, dP, dQ, dK (what any
        // implementation must do; the fused backward recomputes Q K^T and dO V^T on top)
        const double fwd_flops = 2.0 * sh.B * sh.NH * (double)sh.T * sh.T * sh.hs, bwd_flops = 2.0 * fwd_flops;
        printf("benchmark (B=%d NH=%d T=%d hs=%d, %s), TFLOP/s of the causal work:\n", sh.B, sh.NH, sh.T, sh.hs, PRECISION_NAME);
        for (int v = 1; v <= MAX_VERSION; v++) {
            run_forward(v, &bl, buf);  // the backward needs a forward's out / att / lse
            const float ms_f = benchmark_ms(10, [&] { run_forward(v, &bl, buf); });
            const float ms_b = benchmark_ms(10, [&] { run_backward(v, &bl, buf); });
            printf("  attention v%d forward  | %8.4f ms | %6.1f TFLOP/s\n", v, ms_f, fwd_flops / (ms_f * 1e-3) / 1e12);
            printf("  attention v%d backward | %8.4f ms | %6.1f TFLOP/s\n", v, ms_b, bwd_flops / (ms_b * 1e-3) / 1e12);
        }
        free_buffers(buf);
    }
    blas_free(&bl);
    printf("%s: %d check(s) failed\n", g_checks_failed ? "FAILED" : "OK", g_checks_failed);
    return test_exit_code();
}
