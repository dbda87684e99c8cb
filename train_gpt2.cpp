/*
GPT-2 training on the CPU in plain C++ with OpenMP: handwritten forward and backward for every
layer, AdamW, gradient accumulation, llm.c-compatible checkpoints and exact resume.

Legend: B = batch, T = time (sequence length), C = channels, V = vocab (Vp: padded to 128),
L = layers, NH = heads, hs = C/NH head size, OC = output channels of a matmul.

Conventions (house style): layer functions take outputs, then saved state, then inputs, then
sizes. The gradient rule is the CUDA trainer's (llmc/model/model_api.h): parameter gradients
ACCUMULATE (+=); the activation gradient a matmul, GELU or attention backward produces is SET (=);
the residual stream's gradient accumulates through the layernorm backward. gpt2_zero_grad zeroes
parameter gradients once per optimizer step (accumulation over micro-steps).
Every parallel loop gives each output element to exactly one thread and sums in a fixed order,
so results are bit-identical for any thread count.
*/
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <vector>
#ifdef OMP
#include <omp.h>
#endif

#include "llmc/train/cli.h"
#include "llmc/cpu/gemm.h"
#include "llmc/io/dataloader.h"
#include "llmc/io/formats.h"
#include "llmc/model/model.h"
#include "llmc/model/model_api.h"
#include "llmc/train/rms_log.h"
#include "llmc/train/run.h"
#include "llmc/train/sampler.h"
#include "llmc/rand.h"
#include "llmc/train/schedule.h"
#include "llmc/io/state.h"
#include "llmc/io/tokenizer.h"
#include "llmc/utils.h"

// ----------------------------------------------------------------------------
// vector-friendly math: libm's expf/tanhf are scalar calls that block vectorization of the
// GELU and softmax loops. These are branch-free, so `omp simd` loops over them become AVX-512.

// exp(x), within 2 ulp of expf on [-87, 88] (Cody-Waite reduction by ln2, degree-6 polynomial
// on [-ln2/2, ln2/2] with Cephes' coefficients); inputs outside are clamped, so exp(-inf) gives
// ~1e-38 rather than 0, which no softmax sum can notice.
static inline float exp_fast(float x) {
    x = std::min(std::max(x, -87.0f), 88.0f);
    const float magic = 12582912.0f;                  // 1.5 * 2^23: adding it rounds to an integer
    const float t = x * 1.44269504088896341f + magic;  // round(x / ln2) in the low mantissa bits
    const float k = t - magic;
    float r = x - k * 0.693359375f;                   // ln2 split in two for an exact product
    r = r - k * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t tb, pb;
    memcpy(&tb, &t, 4);
    memcpy(&pb, &p, 4);
    pb += (int32_t)((uint32_t)(tb - 0x4b400000) << 23);  // scale by 2^k: add k to the exponent
    memcpy(&p, &pb, 4);
    return p;
}

// tanh(u) = 1 - 2 / (exp(2u) + 1): exact limits +-1, absolute error ~1e-7.
static inline float tanh_fast(float u) { return 1.0f - 2.0f / (exp_fast(2.0f * u) + 1.0f); }

// ----------------------------------------------------------------------------
// layers: forward and backward

// out (B,T,C) = wte[inp] + wpe[t]
void encoder_forward(float* out, const int* inp, const float* wte, const float* wpe, int B, int T, int C) {
    #pragma omp parallel for collapse(2)
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            float* o = out + ((size_t)b * T + t) * C;
            const float* e = wte + (size_t)inp[b * T + t] * C;
            const float* p = wpe + (size_t)t * C;
            for (int i = 0; i < C; i++) o[i] = e[i] + p[i];
        }
    }
}

// Scatter into dwte by token id: parallel over channels so no two threads touch one element.
void encoder_backward(float* dwte, float* dwpe, const float* dout, const int* inp, int B, int T, int C) {
    #pragma omp parallel for
    for (int i = 0; i < C; i++) {
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                float d = dout[((size_t)b * T + t) * C + i];
                dwte[(size_t)inp[b * T + t] * C + i] += d;
                dwpe[(size_t)t * C + i] += d;
            }
        }
    }
}

// out (N,C) = (inp - mean) * rstd * weight + bias per row, from saved mean and rstd (N). The
// forward's second half, and what backward calls to recompute the output rather than keep
// (L, B, T, C) of layernorm outputs alive: the same code, so the same bits.
void layernorm_apply(float* out, const float* inp, const float* mean, const float* rstd, const float* weight,
                     const float* bias, int N, int C) {
    #pragma omp parallel for
    for (int n = 0; n < N; n++) {
        const float* x = inp + (size_t)n * C;
        float* o = out + (size_t)n * C;
        for (int i = 0; i < C; i++) o[i] = (x[i] - mean[n]) * rstd[n] * weight[i] + bias[i];
    }
}

// Saves mean, rstd (N) of each row of inp (N, C) for backward, then applies the normalization.
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, int N, int C) {
    const float eps = 1e-5f;
    #pragma omp parallel for
    for (int n = 0; n < N; n++) {
        const float* x = inp + (size_t)n * C;
        float m = 0.0f;
        for (int i = 0; i < C; i++) m += x[i];
        m /= C;
        float v = 0.0f;
        for (int i = 0; i < C; i++) v += (x[i] - m) * (x[i] - m);
        v /= C;
        mean[n] = m;
        rstd[n] = 1.0f / sqrtf(v + eps);
    }
    layernorm_apply(out, inp, mean, rstd, weight, bias, N, C);
}

void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* mean, const float* rstd, int N, int C) {
    #pragma omp parallel for
    for (int n = 0; n < N; n++) {
        const float* x = inp + (size_t)n * C;
        const float* d = dout + (size_t)n * C;
        float m = mean[n], s = rstd[n];
        // dinp = s * (dnorm - mean(dnorm) - xhat * mean(dnorm * xhat)), dnorm = d * weight
        float dnorm_mean = 0.0f, dnorm_xhat_mean = 0.0f;
        for (int i = 0; i < C; i++) {
            float dnorm = d[i] * weight[i];
            dnorm_mean += dnorm;
            dnorm_xhat_mean += dnorm * (x[i] - m) * s;
        }
        dnorm_mean /= C;
        dnorm_xhat_mean /= C;
        float* dx = dinp + (size_t)n * C;
        for (int i = 0; i < C; i++) {
            float xhat = (x[i] - m) * s;
            dx[i] += s * (d[i] * weight[i] - dnorm_mean - xhat * dnorm_xhat_mean);
        }
    }
    // parameter grads reduce over rows: one channel per thread, rows in order
    #pragma omp parallel for
    for (int i = 0; i < C; i++) {
        float dw = 0.0f, db = 0.0f;
        for (int n = 0; n < N; n++) {
            float d = dout[(size_t)n * C + i];
            dw += d * (inp[(size_t)n * C + i] - mean[n]) * rstd[n];
            db += d;
        }
        dweight[i] += dw;
        dbias[i] += db;
    }
}

// ----------------------------------------------------------------------------
// matmul: out (N, OC) = inp (N, K) @ weight (OC, K)^T + bias (OC), N = B*T rows.
// All three products go through one packed, register-blocked SGEMM (llmc/cpu/gemm.h); the
// versions it replaced and an OpenBLAS yardstick are in dev/cpu/bench_matmul.cpp.

void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int N, int K, int OC) {
    gemm::sgemm(N, OC, K, inp, K, 1, weight, 1, K, out, OC, /*accumulate=*/false, bias);
}

// dinp (N, K) = dout (N, OC) @ weight (OC, K)                       [SET]
// dweight (OC, K) += dout^T (OC, N) @ inp (N, K);  dbias (OC) += column sums of dout
void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int N, int K, int OC) {
    gemm::sgemm(N, K, OC, dout, OC, 1, weight, K, 1, dinp, K, /*accumulate=*/false, nullptr);
    gemm::sgemm(OC, K, N, dout, 1, OC, inp, K, 1, dweight, K, /*accumulate=*/true, nullptr);
    if (dbias) {
        #pragma omp parallel for schedule(static)
        for (int o0 = 0; o0 < OC; o0 += 64) {
            float s[64] = {};
            const int w = std::min(64, OC - o0);
            for (int n = 0; n < N; n++) {
                for (int i = 0; i < w; i++) s[i] += dout[(size_t)n * OC + o0 + i];
            }
            for (int i = 0; i < w; i++) dbias[o0 + i] += s[i];
        }
    }
}

// ----------------------------------------------------------------------------
// causal self-attention over qkv (B, T, 3C) laid out [q | k | v], heads contiguous in each.
// out (B, T, C). Only the log-sum-exp of each score row is kept, lse (B, NH, T): backward
// recomputes the probabilities p = exp(scale q.k - lse) row by row instead of keeping a
// (B, NH, T, T) matrix per layer (2.4 GB at d12, B=4, T=1024). rows (B, NH, 2T): per-task scratch.
// scale: 1/sqrt(hs), or 1/hs under muP (model.h attention_scale).
void attention_forward(float* out, float* lse, float* rows, const float* qkv, int B, int T, int C, int NH, float scale) {
    const int hs = C / NH;
    const size_t C3 = 3 * (size_t)C;
    #pragma omp parallel for collapse(2)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            float* score = rows + ((size_t)b * NH + h) * 2 * T;
            for (int t = 0; t < T; t++) {
                const float* q = qkv + ((size_t)b * T + t) * C3 + h * hs;
                float maxv = -INFINITY;
                for (int t2 = 0; t2 <= t; t2++) {
                    const float* k = qkv + ((size_t)b * T + t2) * C3 + C + h * hs;
                    float dot = 0.0f;
                    #pragma omp simd reduction(+ : dot)
                    for (int i = 0; i < hs; i++) dot += q[i] * k[i];
                    score[t2] = dot * scale;
                    maxv = std::max(maxv, score[t2]);
                }
                float sum = 0.0f;
                for (int t2 = 0; t2 <= t; t2++) sum += exp_fast(score[t2] - maxv);
                const float row_lse = maxv + logf(sum);
                lse[((size_t)b * NH + h) * T + t] = row_lse;
                float* o = out + ((size_t)b * T + t) * C + h * hs;
                for (int i = 0; i < hs; i++) o[i] = 0.0f;
                for (int t2 = 0; t2 <= t; t2++) {
                    const float pr = exp_fast(score[t2] - row_lse);
                    const float* v = qkv + ((size_t)b * T + t2) * C3 + 2 * C + h * hs;
                    #pragma omp simd
                    for (int i = 0; i < hs; i++) o[i] += pr * v[i];
                }
            }
        }
    }
}

// dqkv (B, T, 3C) SET. One (b, h) pair per task: every write to dqkv lands in that head's columns
// of that batch row (dk and dv sum over the queries that attend to them, from 0).
void attention_backward(float* dqkv, float* rows, const float* dout, const float* qkv, const float* lse,
                        int B, int T, int C, int NH, float scale) {
    const int hs = C / NH;
    const size_t C3 = 3 * (size_t)C;
    memset(dqkv, 0, (size_t)B * T * C3 * sizeof(float));
    #pragma omp parallel for collapse(2)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            float* pr = rows + ((size_t)b * NH + h) * 2 * T;  // recomputed probabilities of row t
            float* datt = pr + T;                               // their gradient
            for (int t = 0; t < T; t++) {
                const float* q = qkv + ((size_t)b * T + t) * C3 + h * hs;
                const float* d = dout + ((size_t)b * T + t) * C + h * hs;
                const float row_lse = lse[((size_t)b * NH + h) * T + t];
                // out = p @ v: datt = d . v, dv += p * d
                float dot_sum = 0.0f;  // sum_t2 p * datt, for the softmax backward
                for (int t2 = 0; t2 <= t; t2++) {
                    const float* k = qkv + ((size_t)b * T + t2) * C3 + C + h * hs;
                    const float* v = k + C;
                    float* dv = dqkv + ((size_t)b * T + t2) * C3 + 2 * C + h * hs;
                    float qk = 0.0f, dvdot = 0.0f;
                    #pragma omp simd reduction(+ : qk, dvdot)
                    for (int i = 0; i < hs; i++) {
                        qk += q[i] * k[i];
                        dvdot += d[i] * v[i];
                    }
                    pr[t2] = exp_fast(qk * scale - row_lse);
                    datt[t2] = dvdot;
                    dot_sum += pr[t2] * dvdot;
                    #pragma omp simd
                    for (int i = 0; i < hs; i++) dv[i] += pr[t2] * d[i];
                }
                // softmax backward, then scores = scale * q . k
                float* dq = dqkv + ((size_t)b * T + t) * C3 + h * hs;
                for (int t2 = 0; t2 <= t; t2++) {
                    const float dpre = pr[t2] * (datt[t2] - dot_sum) * scale;
                    const float* k = qkv + ((size_t)b * T + t2) * C3 + C + h * hs;
                    float* dk = dqkv + ((size_t)b * T + t2) * C3 + C + h * hs;
                    #pragma omp simd
                    for (int i = 0; i < hs; i++) {
                        dq[i] += dpre * k[i];
                        dk[i] += dpre * q[i];
                    }
                }
            }
        }
    }
}

// GELU, tanh approximation (GPT-2's): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
#define GELU_SCALE 0.7978845608028654f  // sqrt(2/pi)
void gelu_forward(float* out, const float* inp, size_t N) {
    #pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < N; i++) {
        float x = inp[i];
        out[i] = 0.5f * x * (1.0f + tanh_fast(GELU_SCALE * (x + 0.044715f * x * x * x)));
    }
}

// dinp = gelu'(inp) * dout [SET]
void gelu_backward(float* dinp, const float* inp, const float* dout, size_t N) {
    #pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < N; i++) {
        float x = inp[i];
        float u = GELU_SCALE * (x + 0.044715f * x * x * x);
        float th = tanh_fast(u);
        float sech2 = 1.0f - th * th;
        float grad = 0.5f * (1.0f + th) + 0.5f * x * sech2 * GELU_SCALE * (1.0f + 3.0f * 0.044715f * x * x);
        dinp[i] = grad * dout[i];
    }
}

void residual_forward(float* out, const float* a, const float* b, size_t N) {
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < N; i++) out[i] = a[i] + b[i];
}

// Softmax + cross-entropy over the V real columns of logits (N, Vp); padded columns never
// enter the softmax. Saves lse (N) = log-sum-exp per row so backward needs no probs buffer.
void crossentropy_forward(float* losses, float* lse, const float* logits, const int* targets, int N, int V, int Vp) {
    #pragma omp parallel for
    for (int n = 0; n < N; n++) {
        const float* z = logits + (size_t)n * Vp;
        float maxv = -INFINITY;
        #pragma omp simd reduction(max : maxv)
        for (int v = 0; v < V; v++) maxv = std::max(maxv, z[v]);
        float sum = 0.0f;
        #pragma omp simd reduction(+ : sum)
        for (int v = 0; v < V; v++) sum += exp_fast(z[v] - maxv);
        lse[n] = maxv + logf(sum);
        if (losses) losses[n] = lse[n] - z[targets[n]];
    }
}

// In place: logits (N, Vp) become dlogits = (softmax - onehot(target)) * dloss; padded columns 0.
void crossentropy_backward_inplace(float* logits, const float* lse, const int* targets, float dloss, int N, int V, int Vp) {
    #pragma omp parallel for
    for (int n = 0; n < N; n++) {
        float* z = logits + (size_t)n * Vp;
        const float shift = lse[n];
        #pragma omp simd
        for (int v = 0; v < V; v++) z[v] = exp_fast(z[v] - shift) * dloss;
        z[targets[n]] -= dloss;
        for (int v = V; v < Vp; v++) z[v] = 0.0f;
    }
}

// ----------------------------------------------------------------------------
// GPT-2 model

// Saved activations, all views into one arena sized for the (B, T) given to gpt2_build.
// Layernorm, GELU and attention outputs are not kept: backward recomputes them (cheap) into
// the per-layer scratch, which saves 7 * L * B*T*C floats.
struct ActivationTensors {
    float* encoded;    // (B, T, C)
    float* ln1_mean;   // (L, B, T)
    float* ln1_rstd;   // (L, B, T)
    float* qkv;        // (L, B, T, 3C)
    float* att_lse;    // (L, B, NH, T) log-sum-exp of each attention score row
    float* residual2;  // (L, B, T, C)
    float* ln2_mean;   // (L, B, T)
    float* ln2_rstd;   // (L, B, T)
    float* fch;        // (L, B, T, 4C) fc output before GELU
    float* residual3;  // (L, B, T, C)
    float* lnf;        // (B, T, C)
    float* lnf_mean;   // (B, T)
    float* lnf_rstd;   // (B, T)
    float* logits;     // (B, T, Vp); backward overwrites it with dlogits
    float* lse;        // (B, T) log-sum-exp of each row of logits
    float* losses;     // (B, T)
};

// One layer's worth of recomputed activations and activation gradients, reused from layer to
// layer (forward: first to last; backward: last to first). The first two live in their own
// arena; the rest are dead whenever logits are live (the layers run before the lm_head in
// forward and after its backward), so they share the logits buffer when it is big enough.
struct GradScratch {
    float* dresidual;  // (B, T, C) gradient of the residual stream, carried across layers
    float* dln;        // (B, T, C)
    float* ln;         // (B, T, C) the current layernorm output (forward, and recomputed in backward)
    float* fch_gelu;   // (B, T, 4C) the current GELU output (forward, and recomputed in backward)
    float* proj;       // (B, T, C) attention/MLP projection output before its residual add (forward)
    float* atty;       // (B, T, C) the current attention output (forward, and recomputed in backward)
    float* datty;      // (B, T, C)
    float* dqkv;       // (B, T, 3C)
    float* dfch;       // (B, T, 4C)
    float* dfch_gelu;  // (B, T, 4C)
    float* att_rows;   // (B, NH, 2T) attention score rows, one pair per (b, h) task
};

constexpr size_t NORM_CHUNK = 1 << 16;

struct GPT2 {
    GPT2Config config;
    size_t param_sizes[NUM_PARAMETER_TENSORS];
    size_t num_parameters = 0;
    Arena<float> params_memory, grads_memory, m_memory, v_memory;  // m, v: the optimizer shard only
    size_t opt_lo = 0, opt_n = 0;  // the optimizer shard [opt_lo, opt_lo + opt_n) (BuildOptions)
    ParameterTensors params, grads;
    // sized by gpt2_build for (max_B, max_T); forward may run any B <= max_B, T <= max_T
    int max_B = 0, max_T = 0;
    Arena<float> acts_memory, scratch_memory;
    Arena<double> norm_partials;  // one partial sum of squares per NORM_CHUNK gradients
    ActivationTensors acts;
    GradScratch scratch;
    size_t num_activations = 0, num_scratch = 0;  // floats in each arena
    int B = 0, T = 0;        // of the last forward
    const int* inputs = nullptr;   // of the last forward, kept for backward
    const int* targets = nullptr;
    float mean_loss = -1.0f; // of the last forward with targets
};

// Lays out every arena for batches up to (B, T): params, grads, AdamW m and v, activations and
// gradient scratch. allocate = false only sizes them (num_parameters, num_activations,
// num_scratch), so the memory estimate runs the same code as the build.
static void gpt2_layout(GPT2* model, const GPT2Config& config, int B, int T, bool allocate) {
    model->config = config;
    fill_param_sizes(model->param_sizes, config);
    size_t n = count_params(model->param_sizes);
    model->num_parameters = n;
    if (model->opt_n == 0) model->opt_lo = 0, model->opt_n = n;
    if (allocate) {
        model->params_memory = arena_alloc<float>(n, "parameters");
        model->grads_memory = arena_alloc<float>(n, "gradients");
        model->m_memory = arena_alloc<float>(model->opt_n, "AdamW m");
        model->v_memory = arena_alloc<float>(model->opt_n, "AdamW v");
        model->norm_partials = arena_alloc<double>((model->opt_n + NORM_CHUNK - 1) / NORM_CHUNK, "grad norm partials");
        model->params = point_parameters(model->params_memory.get(), model->param_sizes);
        model->grads = point_parameters(model->grads_memory.get(), model->param_sizes);
    }

    model->max_B = B;
    model->max_T = T;
    const size_t C = config.channels, L = config.num_layers, NH = config.num_heads, Vp = config.padded_vocab_size;
    const size_t N = (size_t)B * T, BTC = N * C;
    // each carve runs twice: to measure (base null), then to point the views into the arena
    ActivationTensors& a = model->acts;
    auto carve_acts = [&](float* base) {
        ArenaCarver k{(char*)base};
        a.encoded = k.take<float>(BTC);
        a.ln1_mean = k.take<float>(L * N);
        a.ln1_rstd = k.take<float>(L * N);
        a.qkv = k.take<float>(L * 3 * BTC);
        a.att_lse = k.take<float>(L * B * NH * T);
        a.residual2 = k.take<float>(L * BTC);
        a.ln2_mean = k.take<float>(L * N);
        a.ln2_rstd = k.take<float>(L * N);
        a.fch = k.take<float>(L * 4 * BTC);
        a.residual3 = k.take<float>(L * BTC);
        a.lnf = k.take<float>(BTC);
        a.lnf_mean = k.take<float>(N);
        a.lnf_rstd = k.take<float>(N);
        a.logits = k.take<float>(N * Vp);
        a.lse = k.take<float>(N);
        a.losses = k.take<float>(N);
        return k.offset / sizeof(float);
    };
    model->num_activations = carve_acts(nullptr);
    if (allocate) {
        model->acts_memory = arena_alloc<float>(model->num_activations, "activations");
        carve_acts(model->acts_memory.get());
    }

    // dresidual and dln are live together with dlogits: their own arena. The rest are dead
    // whenever logits are live, so they share the logits buffer when it is big enough.
    GradScratch& s = model->scratch;
    auto carve_own = [&](float* base) {
        ArenaCarver k{(char*)base};
        s.dresidual = k.take<float>(BTC);
        s.dln = k.take<float>(BTC);
        return k.offset / sizeof(float);
    };
    auto carve_shared = [&](float* base) {
        ArenaCarver k{(char*)base};
        s.ln = k.take<float>(BTC);
        s.fch_gelu = k.take<float>(4 * BTC);
        s.proj = k.take<float>(BTC);
        s.atty = k.take<float>(BTC);
        s.datty = k.take<float>(BTC);
        s.dqkv = k.take<float>(3 * BTC);
        s.dfch = k.take<float>(4 * BTC);
        s.dfch_gelu = k.take<float>(4 * BTC);
        s.att_rows = k.take<float>((size_t)B * NH * 2 * T);
        return k.offset / sizeof(float);
    };
    const size_t own_size = carve_own(nullptr), shared_size = carve_shared(nullptr);
    const bool in_logits = shared_size <= N * Vp;
    model->num_scratch = own_size + (in_logits ? 0 : shared_size);
    if (!allocate) return;
    model->scratch_memory = arena_alloc<float>(model->num_scratch, "activation gradients");
    carve_own(model->scratch_memory.get());
    carve_shared(in_logits ? a.logits : model->scratch_memory.get() + own_size);
}

// Allocates every arena once; nothing is allocated in the training loop.
void gpt2_build(GPT2* model, const GPT2Config& config, const BuildOptions& opts) {
    model->opt_lo = opts.opt_lo;
    model->opt_n = opts.opt_n;
    gpt2_layout(model, config, opts.B, opts.T, /*allocate=*/true);
}

// What gpt2_build will allocate, in bytes (host memory only on the CPU).
MemoryNeed gpt2_memory_needed(const GPT2Config& config, const BuildOptions& opts) {
    GPT2 plan;
    plan.opt_lo = opts.opt_lo;
    plan.opt_n = opts.opt_n;
    gpt2_layout(&plan, config, opts.B, opts.T, /*allocate=*/false);
    const size_t n = plan.num_parameters, on = plan.opt_n;
    MemoryNeed m;
    m.host_bytes = 2 * n * sizeof(float) + 2 * on * sizeof(float) + (on + NORM_CHUNK - 1) / NORM_CHUNK * sizeof(double) +
                   (plan.num_activations + plan.num_scratch) * sizeof(float);
    m.optimizer_bytes = 2 * on * sizeof(float);
    return m;
}

// Arenas free themselves.
void gpt2_free(GPT2* model) {}

// inputs, targets (B, T); targets may be null (no loss). B <= max_B, T <= max_T. Returns the mean
// loss (-1 without targets); both buffers must stay valid until gpt2_backward.
float gpt2_forward(GPT2* model, const int* inputs, const int* targets, int B, int T) {
    const GPT2Config& cfg = model->config;
    const int V = cfg.vocab_size, Vp = cfg.padded_vocab_size, L = cfg.num_layers, NH = cfg.num_heads, C = cfg.channels;
    forward_check_batch(cfg, model->max_B, model->max_T, inputs, targets, B, T);
    model->B = B;
    model->T = T;
    model->inputs = inputs;
    model->targets = targets;
    const int N = B * T;
    const size_t BTC = (size_t)N * C;
    ParameterTensors& p = model->params;
    ActivationTensors& a = model->acts;
    GradScratch& s = model->scratch;
    const float att_scale = attention_scale(cfg), logit_mult = logit_multiplier(cfg);  // muP's rules (model.h)

    encoder_forward(a.encoded, inputs, p.wte, p.wpe, B, T, C);
    for (int l = 0; l < L; l++) {
        const float* residual = l == 0 ? a.encoded : a.residual3 + (l - 1) * BTC;
        float* l_qkv = a.qkv + l * 3 * BTC;
        float* l_residual2 = a.residual2 + l * BTC;
        float* l_fch = a.fch + l * 4 * BTC;
        layernorm_forward(s.ln, a.ln1_mean + l * N, a.ln1_rstd + l * N, residual, p.ln1w + l * C, p.ln1b + l * C, N, C);
        matmul_forward(l_qkv, s.ln, p.qkvw + (size_t)l * 3 * C * C, p.qkvb + l * 3 * C, N, C, 3 * C);
        attention_forward(s.atty, a.att_lse + (size_t)l * B * NH * T, s.att_rows, l_qkv, B, T, C, NH, att_scale);
        matmul_forward(s.proj, s.atty, p.attprojw + (size_t)l * C * C, p.attprojb + l * C, N, C, C);
        residual_forward(l_residual2, residual, s.proj, BTC);
        layernorm_forward(s.ln, a.ln2_mean + l * N, a.ln2_rstd + l * N, l_residual2, p.ln2w + l * C, p.ln2b + l * C, N, C);
        matmul_forward(l_fch, s.ln, p.fcw + (size_t)l * 4 * C * C, p.fcb + l * 4 * C, N, C, 4 * C);
        gelu_forward(s.fch_gelu, l_fch, 4 * BTC);
        matmul_forward(s.proj, s.fch_gelu, p.fcprojw + (size_t)l * 4 * C * C, p.fcprojb + l * C, N, 4 * C, C);
        residual_forward(a.residual3 + l * BTC, l_residual2, s.proj, BTC);
    }
    layernorm_forward(a.lnf, a.lnf_mean, a.lnf_rstd, a.residual3 + (L - 1) * BTC, p.lnfw, p.lnfb, N, C);
    matmul_forward(a.logits, a.lnf, p.lm_head, nullptr, N, C, Vp);  // lm_head is wte when tied
    if (logit_mult != 1.0f) {  // muP's readout multiplier
        #pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < (size_t)N * Vp; i++) a.logits[i] *= logit_mult;
    }
    crossentropy_forward(targets ? a.losses : nullptr, a.lse, a.logits, targets, N, V, Vp);
    if (targets) {
        double sum = 0.0;
        for (int i = 0; i < N; i++) sum += a.losses[i];
        model->mean_loss = (float)(sum / N);
    } else {
        model->mean_loss = -1.0f;
    }
    return model->mean_loss;
}

void gpt2_zero_grad(GPT2* model) {
    memset(model->grads_memory.get(), 0, model->num_parameters * sizeof(float));
}

// Backward of the last forward (which must have had targets). Parameter gradients accumulate,
// scaled by loss_scale (1/grad_accum_steps): the gradient of the mean loss over the full batch.
void gpt2_backward(GPT2* model, float loss_scale) {
    if (!model->targets) die("gpt2_backward: the last forward had no targets");
    const GPT2Config& cfg = model->config;
    const int B = model->B, T = model->T, N = B * T;
    const int V = cfg.vocab_size, Vp = cfg.padded_vocab_size, L = cfg.num_layers, NH = cfg.num_heads, C = cfg.channels;
    const size_t BTC = (size_t)N * C;
    ParameterTensors& p = model->params;
    ParameterTensors& g = model->grads;
    ActivationTensors& a = model->acts;
    GradScratch& s = model->scratch;
    const float att_scale = attention_scale(cfg);

    // d(loss)/d(lnf @ lm_head^T): the muP readout multiplier folds into the softmax gradient's scale
    crossentropy_backward_inplace(a.logits, a.lse, model->targets, loss_scale * logit_multiplier(cfg) / N, N, V, Vp);
    float* dlogits = a.logits;
    matmul_backward(s.dln, g.lm_head, nullptr, dlogits, a.lnf, p.lm_head, N, C, Vp);  // += into g.wte when tied
    memset(s.dresidual, 0, BTC * sizeof(float));
    layernorm_backward(s.dresidual, g.lnfw, g.lnfb, s.dln, a.residual3 + (L - 1) * BTC, p.lnfw, a.lnf_mean, a.lnf_rstd, N, C);

    for (int l = L - 1; l >= 0; l--) {
        const float* residual = l == 0 ? a.encoded : a.residual3 + (l - 1) * BTC;
        // residual3 = residual2 + fcproj(gelu(fc(ln2(residual2))))
        gelu_forward(s.fch_gelu, a.fch + l * 4 * BTC, 4 * BTC);  // recompute
        matmul_backward(s.dfch_gelu, g.fcprojw + (size_t)l * 4 * C * C, g.fcprojb + l * C, s.dresidual,
                        s.fch_gelu, p.fcprojw + (size_t)l * 4 * C * C, N, 4 * C, C);
        gelu_backward(s.dfch, a.fch + l * 4 * BTC, s.dfch_gelu, 4 * BTC);
        layernorm_apply(s.ln, a.residual2 + l * BTC, a.ln2_mean + l * N, a.ln2_rstd + l * N, p.ln2w + l * C,
                            p.ln2b + l * C, N, C);
        matmul_backward(s.dln, g.fcw + (size_t)l * 4 * C * C, g.fcb + l * 4 * C, s.dfch, s.ln,
                        p.fcw + (size_t)l * 4 * C * C, N, C, 4 * C);
        layernorm_backward(s.dresidual, g.ln2w + l * C, g.ln2b + l * C, s.dln, a.residual2 + l * BTC,
                           p.ln2w + l * C, a.ln2_mean + l * N, a.ln2_rstd + l * N, N, C);
        // residual2 = residual + attproj(attention(qkv(ln1(residual))))
        // recompute (same code, same bits; it rewrites this layer's lse with the same values)
        attention_forward(s.atty, a.att_lse + (size_t)l * B * NH * T, s.att_rows, a.qkv + l * 3 * BTC, B, T, C, NH, att_scale);
        matmul_backward(s.datty, g.attprojw + (size_t)l * C * C, g.attprojb + l * C, s.dresidual,
                        s.atty, p.attprojw + (size_t)l * C * C, N, C, C);
        attention_backward(s.dqkv, s.att_rows, s.datty, a.qkv + l * 3 * BTC, a.att_lse + (size_t)l * B * NH * T, B, T, C, NH, att_scale);
        layernorm_apply(s.ln, residual, a.ln1_mean + l * N, a.ln1_rstd + l * N, p.ln1w + l * C, p.ln1b + l * C, N, C);
        matmul_backward(s.dln, g.qkvw + (size_t)l * 3 * C * C, g.qkvb + l * 3 * C, s.dqkv, s.ln,
                        p.qkvw + (size_t)l * 3 * C * C, N, C, 3 * C);
        layernorm_backward(s.dresidual, g.ln1w + l * C, g.ln1b + l * C, s.dln, residual, p.ln1w + l * C,
                           a.ln1_mean + l * N, a.ln1_rstd + l * N, N, C);
    }
    encoder_backward(g.wte, g.wpe, s.dresidual, model->inputs, B, T, C);
}

// Global L2 norm of the gradients. Partial sums over fixed 64K-element chunks, added in chunk
// order: the same bits for any thread count.
// Sum of squares of the optimizer shard's gradients (all of them unless sharded), in double.
double gpt2_grad_sumsq(GPT2* model) {
    const size_t n = model->opt_n, chunk = NORM_CHUNK;
    const size_t nchunks = (n + chunk - 1) / chunk;
    double* partial = model->norm_partials.get();
    const float* g = model->grads_memory.get() + model->opt_lo;
    #pragma omp parallel for schedule(static)
    for (size_t c = 0; c < nchunks; c++) {
        double s = 0.0;
        const size_t end = std::min(n, (c + 1) * chunk);
        #pragma omp simd reduction(+ : s)
        for (size_t i = c * chunk; i < end; i++) s += (double)g[i] * g[i];
        partial[c] = s;
    }
    double total = 0.0;
    for (size_t c = 0; c < nchunks; c++) total += partial[c];
    return total;
}

// L2 norm of the optimizer shard's gradients.
float gpt2_grad_norm(GPT2* model) { return (float)sqrt(gpt2_grad_sumsq(model)); }

// AdamW (PyTorch's form): p -= lr * (mhat / (sqrt(vhat) + eps) + wd * p), wd on 2-D weights
// only; t counts updates from 1. grad_scale multiplies every gradient first (clipping).
GradView gpt2_grads(GPT2* model) { return GradView{model->grads_memory.get(), model->num_parameters, false}; }
void gpt2_grads_to_host(GPT2* model, float* dst) {
    memcpy(dst, model->grads_memory.get(), model->num_parameters * sizeof(float));
}
ParamView gpt2_params(GPT2* model) { return ParamView{model->params_memory.get(), model->num_parameters, sizeof(float), false}; }

void gpt2_update(GPT2* model, const AdamW& opt, float lr, float grad_scale, int t) {
    const float beta1 = opt.beta1, beta2 = opt.beta2, eps = opt.eps, weight_decay = opt.weight_decay;
    const float bc1 = 1.0f - powf(beta1, (float)t);
    const float bc2 = 1.0f - powf(beta2, (float)t);
    // each tensor's part inside the optimizer shard [lo, hi): m and v are indexed from lo
    const size_t lo = model->opt_lo, hi = model->opt_lo + model->opt_n;
    size_t tensor_start = 0;
    for (int k = 0; k < NUM_PARAMETER_TENSORS; k++) {
        const size_t begin = std::max(tensor_start, lo), end = std::min(tensor_start + model->param_sizes[k], hi);
        tensor_start += model->param_sizes[k];
        if (begin >= end) continue;
        const size_t n = end - begin, offset = begin;
        const float wd = PARAM_TABLE[k].decayed ? weight_decay : 0.0f;
        const float tlr = lr * lr_multiplier(k, model->config);  // muP: hidden weights x C0/C (model.h)
        float* p = model->params_memory.get() + offset;
        const float* g = model->grads_memory.get() + offset;
        float* m = model->m_memory.get() + (offset - lo);
        float* v = model->v_memory.get() + (offset - lo);
        #pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) {
            float grad = g[i] * grad_scale;
            m[i] = beta1 * m[i] + (1.0f - beta1) * grad;
            v[i] = beta2 * v[i] + (1.0f - beta2) * grad * grad;
            float mhat = m[i] / bc1;
            float vhat = v[i] / bc2;
            p[i] -= tlr * (mhat / (sqrtf(vhat) + eps) + wd * p[i]);
        }
    }
}

// Per-tensor sums of squares of the weights and of the gradients (before clipping), printed
// and logged by the shared rms_log_write (llmc/train/rms_log.h) so both trainers write the same line.
void gpt2_log_rms(GPT2* model, int step, FILE* log) {
    double wsq[NUM_PARAMETER_TENSORS], gsq[NUM_PARAMETER_TENSORS];
    size_t off = 0;
    for (int k = 0; k < NUM_PARAMETER_TENSORS; k++) {
        const size_t n = model->param_sizes[k];
        const float* w = model->params_memory.get() + off;
        const float* g = model->grads_memory.get() + off;
        off += n;
        double sw = 0.0, sg = 0.0;
        #pragma omp parallel for simd reduction(+ : sw, sg)
        for (size_t i = 0; i < n; i++) {
            sw += (double)w[i] * w[i];
            sg += (double)g[i] * g[i];
        }
        wsq[k] = sw;
        gsq[k] = sg;
    }
    rms_log_write(log, step, model->param_sizes, wsq, gsq);
}

// ----------------------------------------------------------------------------
// the rest of the model contract (llmc/model/model_api.h): the host state is the model's own memory

HostState gpt2_host(GPT2* model) {
    return HostState{model->params_memory.get(), model->m_memory.get(), model->v_memory.get(), model->num_parameters,
                     model->opt_lo, model->opt_n, MODEL_VERSION_FP32, false};
}
void gpt2_to_host(GPT2* model, bool optimizer) {}
void gpt2_to_device(GPT2* model, bool weights, bool optimizer) {}
const float* gpt2_logits_row(GPT2* model, int row) { return model->acts.logits + (size_t)row * model->config.padded_vocab_size; }

void gpt2_backend_init(const TrainConfig& cfg) {
#ifdef OMP
    printf("threads: %d (OpenMP; set OMP_NUM_THREADS to change)\n", omp_get_max_threads());
#else
    printf("threads: 1 (built without OpenMP)\n");
#endif
}
std::string gpt2_describe(const GPT2* model) { return ""; }
void gpt2_synchronize(GPT2* model) {}
std::string gpt2_step_extra(GPT2* model, double ms, int tokens, bool for_log) { return ""; }
std::string gpt2_summary_extra(GPT2* model) {
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    char buf[64];
    snprintf(buf, sizeof buf, " | peak RSS %.1f MB", ru.ru_maxrss / 1024.0);
    return buf;
}

// evaluation, sampling, checkpoints and the main loop: shared with the CUDA trainer
#include "llmc/train/train_loop.h"

#ifndef TESTING
int main(int argc, char** argv) { return train_main(argc, argv, /*cuda=*/false); }
#endif
