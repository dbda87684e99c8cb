// Per-layer time breakdown of one CPU training step: calls the trainer's own layer functions
// with a model's real shapes (d12 by default, B=4, T=64), as many times as one step calls
// them, and prints each kernel's share beside the measured full step (forward + backward +
// grad norm + AdamW) so the two can be compared.
// Build: make profile_step; run: OMP_NUM_THREADS=2 ./profile_step [dN] [B] [T]
#define TESTING
#include "../../train_gpt2.cpp"

struct Row {
    const char* name;
    double ms;  // median per step
};

template <typename F>
static double median_ms(F f, int reps = 5) {
    f();
    std::vector<double> t;
    for (int i = 0; i < reps; i++) {
        double t0 = now_ms();
        f();
        t.push_back(now_ms() - t0);
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

int main(int argc, char** argv) {
    GPT2Config c;
    if (!config_from_depth(argc > 1 ? argv[1] : "d12", &c)) die("usage: %s [dN] [B] [T]", argv[0]);
    const int B = argc > 2 ? atoi(argv[2]) : 4, T = argc > 3 ? atoi(argv[3]) : 64;
    const int L = c.num_layers, C = c.channels, NH = c.num_heads, V = c.vocab_size, Vp = c.padded_vocab_size, N = B * T;
    GPT2 model;
    BuildOptions opts;
    opts.B = B;
    opts.T = T;
    gpt2_build(&model, c, opts);
    gpt2_init_nanogpt(model.params_memory.get(), c, 42);
    Mt19937 rng(1);
    std::vector<int> x(N), y(N);
    for (int i = 0; i < N; i++) { x[i] = (int)(rng.next_u32() % V); y[i] = (int)(rng.next_u32() % V); }

    // the full step, as the training loop runs it
    double step = median_ms([&] {
        gpt2_zero_grad(&model);
        gpt2_forward(&model, x.data(), y.data(), B, T);
        gpt2_backward(&model, 1.0f);
        float norm = gpt2_grad_norm(&model);
        gpt2_update(&model, AdamW{}, 1e-4f, clip_scale(norm, 1.0f), 1);
    });

    // each kernel on scratch buffers of the real shapes, times its calls per step
    const size_t BTC = (size_t)N * C;
    std::vector<float> a(4 * BTC, 0.1f), b(4 * BTC, 0.1f), o(4 * BTC), mean(N), rstd(N), att_lse((size_t)B * NH * T), att_rows((size_t)B * NH * 2 * T);
    std::vector<float> logits((size_t)N * Vp), lse(N), losses(N);
    ParameterTensors& p = model.params;
    ParameterTensors& g = model.grads;
    std::vector<Row> rows;
    auto add = [&](const char* name, double ms) { rows.push_back({name, ms}); };
    add("matmul fwd qkv+attproj+fc+fcproj", L * median_ms([&] {
        matmul_forward(o.data(), a.data(), p.qkvw, p.qkvb, N, C, 3 * C);
        matmul_forward(o.data(), a.data(), p.attprojw, p.attprojb, N, C, C);
        matmul_forward(o.data(), a.data(), p.fcw, p.fcb, N, C, 4 * C);
        matmul_forward(o.data(), a.data(), p.fcprojw, p.fcprojb, N, 4 * C, C);
    }));
    add("matmul fwd lm_head", median_ms([&] { matmul_forward(logits.data(), a.data(), p.wte, nullptr, N, C, Vp); }));
    add("matmul bwd qkv+attproj+fc+fcproj", L * median_ms([&] {
        matmul_backward(o.data(), g.qkvw, g.qkvb, b.data(), a.data(), p.qkvw, N, C, 3 * C);
        matmul_backward(o.data(), g.attprojw, g.attprojb, b.data(), a.data(), p.attprojw, N, C, C);
        matmul_backward(o.data(), g.fcw, g.fcb, b.data(), a.data(), p.fcw, N, C, 4 * C);
        matmul_backward(o.data(), g.fcprojw, g.fcprojb, b.data(), a.data(), p.fcprojw, N, 4 * C, C);
    }));
    add("matmul bwd lm_head", median_ms([&] { matmul_backward(o.data(), g.wte, nullptr, logits.data(), a.data(), p.wte, N, C, Vp); }));
    add("attention fwd", L * median_ms([&] { attention_forward(o.data(), att_lse.data(), att_rows.data(), a.data(), B, T, C, NH, 1.0f / sqrtf((float)(C / NH))); }));
    add("attention bwd", L * median_ms([&] { attention_backward(o.data(), att_rows.data(), b.data(), a.data(), att_lse.data(), B, T, C, NH, 1.0f / sqrtf((float)(C / NH))); }));
    add("layernorm fwd", (2 * L + 1) * median_ms([&] { layernorm_forward(o.data(), mean.data(), rstd.data(), a.data(), p.ln1w, p.ln1b, N, C); }));
    add("layernorm bwd", (2 * L + 1) * median_ms([&] { layernorm_backward(o.data(), g.ln1w, g.ln1b, b.data(), a.data(), p.ln1w, mean.data(), rstd.data(), N, C); }));
    add("gelu fwd", L * median_ms([&] { gelu_forward(o.data(), a.data(), 4 * BTC); }));
    add("gelu bwd", L * median_ms([&] { gelu_backward(o.data(), a.data(), b.data(), 4 * BTC); }));
    add("residual fwd", 2 * L * median_ms([&] { residual_forward(o.data(), a.data(), b.data(), BTC); }));
    add("encoder fwd+bwd", median_ms([&] {
        encoder_forward(o.data(), x.data(), p.wte, p.wpe, B, T, C);
        encoder_backward(g.wte, g.wpe, b.data(), x.data(), B, T, C);
    }));
    add("crossentropy fwd+bwd", median_ms([&] {
        crossentropy_forward(losses.data(), lse.data(), logits.data(), y.data(), N, V, Vp);
        crossentropy_backward_inplace(logits.data(), lse.data(), y.data(), 1.0f / N, N, V, Vp);
    }));
    add("activation-grad memsets", L * median_ms([&] { memset(o.data(), 0, 4 * BTC * sizeof(float)); }) * 3.5);
    add("zero_grad", median_ms([&] { gpt2_zero_grad(&model); }));
    add("grad norm", median_ms([&] { gpt2_grad_norm(&model); }));
    add("adamw", median_ms([&] { gpt2_update(&model, AdamW{}, 1e-4f, 1.0f, 1); }));

    double sum = 0.0;
    for (const Row& r : rows) sum += r.ms;
    printf("d%d B=%d T=%d, %d threads: measured full step %.1f ms (median of 5); kernels below sum to %.1f ms\n",
           L, B, T,
#ifdef OMP
           omp_get_max_threads(),
#else
           1,
#endif
           step, sum);
    printf("| %-34s | %9s | %6s |\n", "kernel (calls per step)", "ms/step", "share");
    printf("|------------------------------------|-----------|--------|\n");
    for (const Row& r : rows) printf("| %-34s | %9.1f | %5.1f%% |\n", r.name, r.ms, 100.0 * r.ms / sum);
    return 0;
}
