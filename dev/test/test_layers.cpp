// Per-layer gradient checks: every backward against central finite differences of its forward.
// The scalar probed is f = sum(w * out) for a fixed random w (so dout = w), accumulated in double;
// each forward itself runs in fp32, so with step h the difference quotient carries roughly
// 1e-7 * |f| / h of rounding and h^2 * f''' of truncation: we use h = 1e-2 on O(1) inputs and
// compare by normalized error ||analytic - numeric|| / ||numeric|| (ggml's habit), bound 2e-3.
// Also: the blocked matmul kernels against a naive triple loop on ragged shapes, and the whole
// model's gradients (a tiny config) against finite differences on sampled parameters.
#define TESTING
#include "../../train_gpt2.cpp"
#include "check.h"

static Mt19937 g_rng(1234);
static std::vector<float> randn(size_t n, float std = 1.0f) {
    std::vector<float> v(n);
    for (auto& x : v) x = (float)g_rng.normal_f64(0.0, std);
    return v;
}
static double dot(const std::vector<float>& w, const float* out) {
    double s = 0.0;
    for (size_t i = 0; i < w.size(); i++) s += (double)w[i] * out[i];
    return s;
}

// Finite differences of f(x) = sum(w * forward(x)) for every element of x (or `probes` of them).
template <typename Fwd>
static double fd_error(const char* name, std::vector<float>& x, const float* analytic, Fwd forward, size_t probes = 0) {
    const float h = 1e-2f;
    double num2 = 0.0, diff2 = 0.0;
    size_t n = x.size(), step = probes ? std::max<size_t>(1, n / probes) : 1;
    for (size_t i = 0; i < n; i += step) {
        float orig = x[i];
        x[i] = orig + h;
        double fp = forward();
        x[i] = orig - h;
        double fm = forward();
        x[i] = orig;
        double numeric = (fp - fm) / (2.0 * h);
        num2 += numeric * numeric;
        diff2 += (analytic[i] - numeric) * (analytic[i] - numeric);
    }
    double err = sqrt(diff2) / std::max(1e-12, sqrt(num2));
    check(name, err < 2e-3, "normalized error %.2e (n=%zu, probed every %zu)", err, n, step);
    return err;
}

static void test_layernorm() {
    const int N = 6, C = 37;
    auto x = randn((size_t)N * C), w = randn(C), b = randn(C), up = randn((size_t)N * C);
    std::vector<float> out(N * C), mean(N), rstd(N);
    auto fwd = [&]() { layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C); return dot(up, out.data()); };
    fwd();
    std::vector<float> dx(N * C, 0.0f), dw(C, 0.0f), db(C, 0.0f);
    layernorm_backward(dx.data(), dw.data(), db.data(), up.data(), x.data(), w.data(), mean.data(), rstd.data(), N, C);
    fd_error("fd_layernorm_dinp", x, dx.data(), fwd);
    fd_error("fd_layernorm_dweight", w, dw.data(), fwd);
    fd_error("fd_layernorm_dbias", b, db.data(), fwd);
}

static void test_matmul_shape(int N, int K, int OC) {
    auto x = randn((size_t)N * K), w = randn((size_t)OC * K, 0.3f), b = randn(OC), up = randn((size_t)N * OC);
    std::vector<float> out((size_t)N * OC);
    // blocked kernels vs a naive loop in double
    matmul_forward(out.data(), x.data(), w.data(), b.data(), N, K, OC);
    double maxerr = 0.0;
    for (int n = 0; n < N; n++) {
        for (int o = 0; o < OC; o++) {
            double s = b[o];
            for (int k = 0; k < K; k++) s += (double)x[(size_t)n * K + k] * w[(size_t)o * K + k];
            maxerr = std::max(maxerr, fabs(s - out[(size_t)n * OC + o]) / (1.0 + fabs(s)));
        }
    }
    char name[96];
    snprintf(name, sizeof name, "matmul_forward_vs_naive_%dx%dx%d", N, K, OC);
    check(name, maxerr < 1e-5, "max error %.2e", maxerr);
    auto fwd = [&]() { matmul_forward(out.data(), x.data(), w.data(), b.data(), N, K, OC); return dot(up, out.data()); };
    std::vector<float> dx((size_t)N * K, 0.0f), dw((size_t)OC * K, 0.0f), db(OC, 0.0f);
    matmul_backward(dx.data(), dw.data(), db.data(), up.data(), x.data(), w.data(), N, K, OC);
    snprintf(name, sizeof name, "fd_matmul_dinp_%dx%dx%d", N, K, OC);
    fd_error(name, x, dx.data(), fwd, 200);
    snprintf(name, sizeof name, "fd_matmul_dweight_%dx%dx%d", N, K, OC);
    fd_error(name, w, dw.data(), fwd, 200);
    snprintf(name, sizeof name, "fd_matmul_dbias_%dx%dx%d", N, K, OC);
    fd_error(name, b, db.data(), fwd);
    // the gradient rule (llmc/model/model_api.h): a second call SETS dinp (whatever it held) and
    // ACCUMULATES dweight and dbias (they double)
    std::vector<float> dx2(dx.size(), 123.0f), dw1 = dw, db1 = db;
    matmul_backward(dx2.data(), dw.data(), db.data(), up.data(), x.data(), w.data(), N, K, OC);
    double set_err = 0.0, acc_err = 0.0;
    for (size_t i = 0; i < dx.size(); i++) set_err = std::max(set_err, (double)fabs(dx2[i] - dx[i]));
    for (size_t i = 0; i < dw.size(); i++) acc_err = std::max(acc_err, (double)fabs(dw[i] - 2.0f * dw1[i]));
    for (size_t i = 0; i < db.size(); i++) acc_err = std::max(acc_err, (double)fabs(db[i] - 2.0f * db1[i]));
    snprintf(name, sizeof name, "matmul_backward_sets_dinp_accumulates_params_%dx%dx%d", N, K, OC);
    check(name, set_err == 0.0 && acc_err < 1e-5, "max |dx2 - dx| %.2e (dinp set), max |dw2 - 2 dw1| %.2e", set_err, acc_err);
}

// scale: 1/sqrt(hs) (standard) or 1/hs (muP); the finite difference checks the backward's use of it
static void test_attention(float scale, const char* tag) {
    const int B = 2, T = 7, C = 12, NH = 3;
    auto qkv = randn((size_t)B * T * 3 * C), up = randn((size_t)B * T * C);
    std::vector<float> out((size_t)B * T * C), lse((size_t)B * NH * T), rows((size_t)B * NH * 2 * T);
    auto fwd = [&]() { attention_forward(out.data(), lse.data(), rows.data(), qkv.data(), B, T, C, NH, scale); return dot(up, out.data()); };
    fwd();
    std::vector<float> dqkv(qkv.size(), 7.0f);  // garbage: attention_backward SETS dqkv
    attention_backward(dqkv.data(), rows.data(), up.data(), qkv.data(), lse.data(), B, T, C, NH, scale);
    char name[96];
    snprintf(name, sizeof name, "fd_attention_dqkv%s", tag);
    fd_error(name, qkv, dqkv.data(), fwd);
    // the scale enters the softmax: out at t = 1 mixes v_0, v_1 with weights softmax(scale q1.k0, scale q1.k1)
    {
        const int hs = C / NH, t = 1;
        const float* q = &qkv[(size_t)t * 3 * C];
        float s0 = 0, s1 = 0;
        for (int i = 0; i < hs; i++) s0 += q[i] * qkv[C + i], s1 += q[i] * qkv[(size_t)3 * C + C + i];
        const float p0 = 1.0f / (1.0f + expf(scale * (s1 - s0)));
        double err = 0.0;
        for (int i = 0; i < hs; i++) {
            const float want = p0 * qkv[2 * C + i] + (1 - p0) * qkv[(size_t)3 * C + 2 * C + i];
            err = std::max(err, (double)fabs(out[(size_t)t * C + i] - want));
        }
        snprintf(name, sizeof name, "attention_scale_row1%s", tag);
        check(name, err < 1e-5, "head 0, t=1 against a hand softmax at scale %g: max err %.2e", (double)scale, err);
    }
    // causality: changing the last position changes no earlier output
    std::vector<float> before = out;
    for (int i = 0; i < 3 * C; i++) qkv[((size_t)0 * T + T - 1) * 3 * C + i] += 1.0f;
    fwd();
    bool causal = !memcmp(before.data(), out.data(), (size_t)(T - 1) * C * sizeof(float));
    snprintf(name, sizeof name, "attention_causal%s", tag);
    check(name, causal, "outputs at t < T-1 unchanged by position T-1");
}

static void test_gelu() {
    const size_t N = 300;
    auto x = randn(N, 2.0f), up = randn(N);
    std::vector<float> out(N);
    auto fwd = [&]() { gelu_forward(out.data(), x.data(), N); return dot(up, out.data()); };
    std::vector<float> dx(N, 7.0f);  // garbage: gelu_backward SETS dinp
    gelu_backward(dx.data(), x.data(), up.data(), N);
    fd_error("fd_gelu", x, dx.data(), fwd);
}

static void test_encoder() {
    const int B = 2, T = 5, C = 8, V = 11;
    auto wte = randn((size_t)V * C), wpe = randn((size_t)T * C), up = randn((size_t)B * T * C);
    std::vector<int> inp = {1, 3, 3, 7, 0, 10, 3, 1, 1, 2};  // repeated ids: the scatter must add
    std::vector<float> out((size_t)B * T * C);
    auto fwd = [&]() { encoder_forward(out.data(), inp.data(), wte.data(), wpe.data(), B, T, C); return dot(up, out.data()); };
    std::vector<float> dwte(wte.size(), 0.0f), dwpe(wpe.size(), 0.0f);
    encoder_backward(dwte.data(), dwpe.data(), up.data(), inp.data(), B, T, C);
    fd_error("fd_encoder_dwte", wte, dwte.data(), fwd);
    fd_error("fd_encoder_dwpe", wpe, dwpe.data(), fwd);
}

static void test_crossentropy() {
    const int N = 5, V = 13, Vp = 16;
    auto logits = randn((size_t)N * Vp, 3.0f);
    std::vector<int> targets = {0, 12, 5, 5, 7};
    std::vector<float> losses(N), lse(N), z(logits.size());
    auto fwd = [&]() {
        crossentropy_forward(losses.data(), lse.data(), logits.data(), targets.data(), N, V, Vp);
        double s = 0.0;
        for (float l : losses) s += l;
        return s / N;
    };
    fwd();
    std::vector<float> dlogits = logits;
    crossentropy_backward_inplace(dlogits.data(), lse.data(), targets.data(), 1.0f / N, N, V, Vp);
    fd_error("fd_crossentropy", logits, dlogits.data(), fwd);
    bool pad_zero = true;
    for (int n = 0; n < N; n++) {
        for (int v = V; v < Vp; v++) pad_zero &= dlogits[(size_t)n * Vp + v] == 0.0f;
    }
    check("crossentropy_padding_ignored", pad_zero, "padded columns get zero gradient");
}

// Whole model, tiny config: gradients of the mean loss against finite differences on a sample
// of every tensor's entries.
static void test_model() {
    GPT2Config c;
    c.max_seq_len = 8; c.vocab_size = 50; c.padded_vocab_size = 128; c.num_layers = 2; c.num_heads = 2; c.channels = 16;
    const int B = 2, T = 8;
    GPT2 model;
    BuildOptions opts;
    opts.B = B;
    opts.T = T;
    gpt2_build(&model, c, opts);
    gpt2_init_nanogpt(model.params_memory.get(), c, 7);
    // larger weights than the init so every path carries signal
    float* p = model.params_memory.get();
    for (size_t i = 0; i < model.num_parameters; i++) p[i] += 0.1f * (float)g_rng.normal_f64(0.0, 1.0);
    memset(model.params.wte + (size_t)c.vocab_size * c.channels, 0, (size_t)(c.padded_vocab_size - c.vocab_size) * c.channels * sizeof(float));
    std::vector<int> x(B * T), y(B * T);
    for (int i = 0; i < B * T; i++) { x[i] = (int)(g_rng.next_u32() % c.vocab_size); y[i] = (int)(g_rng.next_u32() % c.vocab_size); }
    gpt2_forward(&model, x.data(), y.data(), B, T);
    gpt2_zero_grad(&model);
    gpt2_backward(&model, 1.0f);
    size_t off = 0;
    for (int k = 0; k < NUM_PARAMETER_TENSORS; k++) {
        const size_t n = model.param_sizes[k];
        if (n == 0) continue;  // lm_head when tied
        std::vector<float> view(p + off, p + off + n);
        char name[64];
        snprintf(name, sizeof name, "fd_model_%s", PARAM_TABLE[k].name);
        size_t rows = k == WTE ? (size_t)c.vocab_size * c.channels : n;  // wte padding rows have no use
        std::vector<float> used(view.begin(), view.begin() + rows);
        auto fwd_used = [&]() {
            memcpy(p + off, used.data(), rows * sizeof(float));
            return (double)gpt2_forward(&model, x.data(), y.data(), B, T);
        };
        fd_error(name, used, model.grads_memory.get() + off, fwd_used, 64);
        memcpy(p + off, view.data(), n * sizeof(float));
        off += n;
    }
}

// Wide outputs split into tasks differently for each thread count (and with a ragged last
// task); results must not depend on the split, and must match the naive loop.
static void test_matmul_threads(int OC) {
    const int N = 5, K = 40;
    auto x = randn((size_t)N * K), w = randn((size_t)OC * K, 0.3f), b = randn(OC), up = randn((size_t)N * OC);
    std::vector<float> first_out, first_dw;
    bool same = true;
    double maxerr = 0.0;
    for (int threads : {1, 2, 3}) {
#ifdef OMP
        omp_set_num_threads(threads);
#endif
        std::vector<float> out((size_t)N * OC), dx((size_t)N * K, 0.0f), dw((size_t)OC * K, 0.0f), db(OC, 0.0f);
        matmul_forward(out.data(), x.data(), w.data(), b.data(), N, K, OC);
        matmul_backward(dx.data(), dw.data(), db.data(), up.data(), x.data(), w.data(), N, K, OC);
        for (int n = 0; n < N; n++) {
            for (int o = 0; o < OC; o += 97) {
                double s = b[o];
                for (int k = 0; k < K; k++) s += (double)x[(size_t)n * K + k] * w[(size_t)o * K + k];
                maxerr = std::max(maxerr, fabs(s - out[(size_t)n * OC + o]) / (1.0 + fabs(s)));
            }
        }
        if (first_out.empty()) {
            first_out = out;
            first_dw = dw;
        } else {
            same &= out == first_out && dw == first_dw;
        }
    }
#ifdef OMP
    omp_set_num_threads(omp_get_num_procs());
#endif
    char name[64];
    snprintf(name, sizeof name, "matmul_thread_counts_OC%d", OC);
    check(name, same && maxerr < 1e-5, "1, 2, 3 threads bit-identical (%s), max error vs naive %.2e", same ? "yes" : "NO", maxerr);
}

int main() {
    test_layernorm();
    test_matmul_shape(8, 64, 16);   // full tiles only
    test_matmul_shape(7, 37, 10);   // ragged rows, channels and outputs
    test_matmul_shape(5, 96, 33);
    test_matmul_threads(3072);      // GPT-2's 4C: splits into exactly NC_MAX-wide tasks on 1 thread
    test_matmul_threads(3072 + 37); // a ragged last task
    test_attention(1.0f / sqrtf(4.0f), "");        // hs = 4: the standard 1/sqrt(hs)
    test_attention(1.0f / 4.0f, "_mup");           // muP: 1/hs
    test_gelu();
    test_encoder();
    test_crossentropy();
    test_model();
    return test_exit_code();
}
