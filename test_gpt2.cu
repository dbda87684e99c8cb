// Checks the CUDA trainer against our PyTorch reference (dev/gpt2_ref.py), the same debug state
// test_gpt2.cpp uses: logits, loss, every parameter gradient (lm_head too when untied), 10 AdamW
// steps (losses, grad norms, lrs, final weights); with the GELU epilogue fused and unfused;
// bitwise run-to-run determinism; and a save / resume / replay check (bit-exact continuation
// from a checkpoint). Tied or untied follows DIR (dev/gpt2_ref.py --untied 0|1).
// Usage: ./test_gpt2cu DIR [-fa 0|1]   (DIR holds ref_model.bin and ref_debug_state.bin; -fa: the
//        attention path, fused or unfused, as the trainer's flag; default the trainer's default)
//        ./test_gpt2cu --init FILE SCHEME SEED   (host only, no GPU: see dev/test/init_check.h)
// Build with PRECISION=FP32 for the tight table, PRECISION=BF16 for the bf16 one. TF32 is off.
// Without a GPU: make cuda-emu builds both as build/emu/test_gpt2cu{,_fp32} on the CPU emulator.
// Prints PASS/FAIL per check and exits non-zero on any failure.
#define TESTING
#include "train_gpt2.cu"
#include "dev/test/check.h"
#include "dev/test/init_check.h"
#include "dev/test/parity.h"
#include "dev/test/tolerances.h"

// dev/test/tolerances.h: the FP32 table is the CPU test's; the BF16 one is calibrated on the emulator
#if defined(ENABLE_FP32)
static const auto& TOLERANCES = FP32_TOLERANCES;
#else
static const auto& TOLERANCES = BF16_TOLERANCES;
#endif

static const Tolerance& tol(const char* what) { return find_tolerance(TOLERANCES, what); }
static bool compare(const char* name, const char* tol_name, const float* ours, const float* ref, size_t n) {
    return compare_tol(name, tol(tol_name), ours, ref, n);
}

// Weights after the AdamW steps. Adam divides each gradient by its own running RMS, so an element
// whose gradient is at rounding-noise level moves ~lr per step in a direction rounding picks, in
// PyTorch and here alike: the key biases (softmax ignores a shift shared by all keys, so their
// true gradient is 0) or vocabulary rows the batch barely touches. Such an element is held only
// to Adam's bound: each step moves a weight by about lr (|mhat/sqrt(vhat)| <= 1 for a steady sign;
// seen <= 0.71 * sum(lr) here), so two runs differ by at most 2 * sum(lr) * (1 + wd). An element
// whose step-0 reference gradient exceeds the "grads" tolerance has a sign the gradient check
// pins, and is held to the "final_params" row. Every tensor must have pinned elements.
static void compare_final_params(const float* ours, const DebugState& ref, const size_t* sizes, const float* lrs, int steps,
                                 float wd) {
    const Tolerance& tg = tol("grads");
    const Tolerance& tp = tol("final_params");
    double lr_sum = 0.0;
    for (int s = 0; s < steps; s++) lr_sum += lrs[s];
    const double adam_bound = 2.0 * lr_sum * (1.0 + wd);
    size_t pinned = 0, pinned_bad = 0, free_bad = 0, off = 0, first_bad = SIZE_MAX;
    int tensors_without_pinned = 0;
    double pinned_max = 0.0, free_max = 0.0;
    for (int k = 0; k < NUM_PARAMETER_TENSORS; k++) {
        const size_t n = sizes[k];
        if (n == 0) continue;
        const float* g = ref.grads.data() + off;
        double gmax = 0.0;
        for (size_t i = 0; i < n; i++) gmax = std::max(gmax, (double)fabsf(g[i]));
        size_t tensor_pinned = 0;
        for (size_t i = 0; i < n; i++) {
            const size_t j = off + i;
            const double d = fabs((double)ours[j] - ref.final_params[j]);
            const double g_noise = tg.atol * (tg.scaled ? gmax : 1.0) + tg.rtol * fabs(g[i]);
            if (fabs(g[i]) > g_noise) {
                tensor_pinned++;
                pinned_max = std::max(pinned_max, d);
                if (!(d <= tp.atol + tp.rtol * fabs(ref.final_params[j]))) {
                    pinned_bad++;
                    first_bad = std::min(first_bad, j);
                }
            } else {
                free_max = std::max(free_max, d);
                if (!(d <= adam_bound)) {
                    free_bad++;
                    first_bad = std::min(first_bad, j);
                }
            }
        }
        pinned += tensor_pinned;
        if (tensor_pinned == 0) tensors_without_pinned++;
        off += n;
    }
    check("cuda_final_params", pinned_bad == 0 && tensors_without_pinned == 0 && pinned > 0,
          "%zu of %zu elements with a resolved gradient: max_abs %.3e (atol %.1e rtol %.0e), %zu outside; %d tensor(s) "
          "without one%s", pinned, off, pinned_max, tp.atol, tp.rtol, pinned_bad, tensors_without_pinned,
          first_bad < SIZE_MAX && pinned_bad ? " (see first_bad below)" : "");
    check("cuda_final_params_adam_bound", free_bad == 0 && off > pinned,
          "%zu elements with a gradient at noise level: max_abs %.3e, Adam's bound 2*sum(lr)*(1+wd) = %.3e, %zu outside",
          off - pinned, free_max, adam_bound, free_bad);
    if (first_bad < SIZE_MAX) printf("first_bad element %zu: ours %.9g ref %.9g\n", first_bad, ours[first_bad], ref.final_params[first_bad]);
}

static std::vector<float> download_grads(GPT2* model) {
    std::vector<float> g(model->num_parameters);
    cudaCheck(cudaStreamSynchronize(model->stream));
    cudaCheck(cudaMemcpy(g.data(), model->grads_memory.get(), g.size() * sizeof(float), cudaMemcpyDeviceToHost));
    return g;
}

// One optimizer step on the debug batch, as the reference: forward, backward, norm, clip, AdamW.
struct Hyper {
    float lr, beta1, beta2, eps, wd, clip, final_frac;
    int warmup, steps;
};
static void train_step(GPT2* model, const DebugState& ref, const Hyper& hp, int step, float* loss, float* norm, float* lr) {
    const int B = ref.h[2], T = ref.h[3];
    gpt2_zero_grad(model);
    *loss = gpt2_forward(model, ref.x.data(), ref.y.data(), B, T);
    gpt2_backward(model, 1.0f);
    *norm = gpt2_grad_norm(model);
    *lr = lr_at_step("cosine", step, hp.steps, hp.warmup, hp.lr, hp.final_frac);
    AdamW adamw;
    adamw.beta1 = hp.beta1;
    adamw.beta2 = hp.beta2;
    adamw.eps = hp.eps;
    adamw.weight_decay = hp.wd;
    adamw.seed = 42;
    gpt2_update(model, adamw, *lr, clip_scale(*norm, hp.clip), step + 1);
}

int main(int argc, char** argv) {
    if (argc == 5 && !strcmp(argv[1], "--init")) return check_init_file(argv[2], argv[3], argv[4], tol("init").atol);
    bool flash_attention = BuildOptions{}.flash_attention;  // the trainer's default, or -fa
    if (argc == 4 && !strcmp(argv[2], "-fa") && (!strcmp(argv[3], "0") || !strcmp(argv[3], "1"))) {
        flash_attention = argv[3][0] == '1';
    } else if (argc != 2) {
        die("usage: %s DIR [-fa 0|1] (DIR has ref_model.bin and ref_debug_state.bin from dev/gpt2_ref.py) | --init FILE SCHEME SEED",
            argv[0]);
    }
    int device_count = 0;
    if (cudaGetDeviceCount(&device_count) != cudaSuccess || device_count == 0) die("no CUDA device: test_gpt2cu needs a GPU");
    cudaDeviceProp prop;
    cudaCheck(cudaGetDeviceProperties(&prop, 0));
    std::string dir = argv[1];
    std::string model_path = dir + "/ref_model.bin";
    GPT2Config mc = checkpoint_read_config(model_path.c_str());
    size_t sizes[NUM_PARAMETER_TENSORS];
    fill_param_sizes(sizes, mc);
    DebugState ref = read_debug_state(dir + "/ref_debug_state.bin", count_params(sizes));
    const int B = ref.h[2], T = ref.h[3], steps = ref.h[4], V = ref.h[5], Vp = mc.padded_vocab_size;
    if ((ref.h[13] != 0) != !mc.tied) die("debug state and model disagree on tied/untied");
    Hyper hp{ref.hyper[0], ref.hyper[1], ref.hyper[2], ref.hyper[3], ref.hyper[4], ref.hyper[5], ref.hyper[6], ref.h[11], steps};

    BuildOptions opts;  // fp32 master weights, GELU kept, TF32 off
    opts.B = B;
    opts.T = T;
    opts.master_weights = true;
    opts.recompute = false;
    opts.tf32 = false;
    opts.flash_attention = flash_attention;
    GPT2 model;
    gpt2_build(&model, mc, opts);
    gpt2_load_weights(&model, model_path.c_str());
    printf("device %s | precision %s | config: L=%d C=%d NH=%d V=%d Vp=%d B=%d T=%d, %s lm_head, %zu params, %d steps%s\n",
           prop.name, PRECISION_NAME, mc.num_layers, mc.channels, mc.num_heads, V, Vp, B, T, mc.tied ? "tied" : "untied",
           model.num_parameters, steps, gpt2_describe(&model).c_str());
    // the path asked for is the path under test (a head size without fused kernels would fall back)
    check("cuda_attention_path", model.flash_attention == flash_attention, "%s attention (-fa %d)",
          model.flash_attention ? "fused" : "unfused", (int)flash_attention);

    // forward and backward, with the GELU epilogue fused (when cuBLASLt offers it) and unfused
    std::vector<float> grads_first;
    float loss_first = 0.0f;
    for (int fused = 1; fused >= 0; fused--) {
        model.blas.gelu_fusion = fused;
        const char* tag = fused ? "" : "_unfused_gelu";
        char name[96];
        gpt2_forward(&model, ref.x.data(), ref.y.data(), B, T);
        std::vector<floatX> raw((size_t)B * T * Vp);
        cudaCheck(cudaMemcpy(raw.data(), model.acts.logits, raw.size() * sizeof(floatX), cudaMemcpyDeviceToHost));
        std::vector<float> logits((size_t)B * T * V);
        for (size_t n = 0; n < (size_t)B * T; n++) {
            for (int v = 0; v < V; v++) logits[n * V + v] = to_float(raw[n * Vp + v]);
        }
        snprintf(name, sizeof name, "cuda_logits%s", tag);
        compare(name, "logits", logits.data(), ref.logits.data(), logits.size());
        snprintf(name, sizeof name, "cuda_loss%s", tag);
        compare(name, "loss", &model.mean_loss, &ref.loss, 1);

        gpt2_zero_grad(&model);
        gpt2_forward(&model, ref.x.data(), ref.y.data(), B, T);
        gpt2_backward(&model, 1.0f);
        std::vector<float> grads = download_grads(&model);
        size_t off = 0;
        for (int k = 0; k < NUM_PARAMETER_TENSORS; k++) {
            if (sizes[k] == 0) continue;  // lm_head when tied
            snprintf(name, sizeof name, "cuda_grad_%s%s", PARAM_TABLE[k].name, tag);
            compare(name, "grads", grads.data() + off, ref.grads.data() + off, sizes[k]);
            off += sizes[k];
        }
        if (!fused) {  // the default path, which the determinism check below repeats
            grads_first = grads;
            loss_first = model.mean_loss;
        }
    }
    model.blas.gelu_fusion = false;  // the trainer's default (-ge 0) for everything below

    double ref_sq = 0.0;
    for (float g : ref.grads) ref_sq += (double)g * g;
    const float ref_norm0 = (float)sqrt(ref_sq);
    gpt2_zero_grad(&model);
    gpt2_forward(&model, ref.x.data(), ref.y.data(), B, T);
    gpt2_backward(&model, 1.0f);
    const float norm0 = gpt2_grad_norm(&model);
    compare("cuda_grad_norm0", "grad_norm0", &norm0, &ref_norm0, 1);

    // determinism: no atomics anywhere, so a repeat gives the same bits
    std::vector<float> grads_again = download_grads(&model);
    bool same = model.mean_loss == loss_first &&
                !memcmp(grads_first.data(), grads_again.data(), grads_again.size() * sizeof(float));
    check("cuda_run_to_run_bit_identical", same, "loss and all gradients, two identical forward/backward passes");

    // training: `steps` AdamW steps on the same batch, clipping, weight decay, cosine lr
    std::vector<float> losses(steps), norms(steps), lrs(steps);
    for (int step = 0; step < steps; step++) {
        train_step(&model, ref, hp, step, &losses[step], &norms[step], &lrs[step]);
        printf("step %d: loss %.6f (ref %.6f) norm %.6f (ref %.6f) lr %.6e\n", step, losses[step], ref.losses[step],
               norms[step], ref.norms[step], lrs[step]);
    }
    compare("cuda_step_losses", "step_losses", losses.data(), ref.losses.data(), steps);
    compare("cuda_grad_norms", "grad_norms", norms.data(), ref.norms.data(), steps);
    compare("cuda_lrs", "lrs", lrs.data(), ref.lrs.data(), steps);
    gpt2_to_host(&model, /*optimizer=*/false);
    compare_final_params(model.host_params.get(), ref, sizes, lrs.data(), steps, hp.wd);
    gpt2_free(&model);

    // save / resume / replay: run A trains k1 steps, checkpoints, trains k2 more; run B loads the
    // checkpoint into a fresh model and trains the same k2 steps. Losses and weights must match
    // bit for bit (m, v and the fp32 master weights all come back from the state file).
    {
        const int k1 = 3, k2 = 3;
        std::string ckdir = dir + "/cuda_resume";
        mkdir(ckdir.c_str(), 0755);
        Mt19937 rng(7);
        DataLoaderPos pos;
        pos.sample_pos = 5;  // arbitrary: checked to round-trip
        GPT2 a;
        gpt2_build(&a, mc, opts);
        gpt2_load_weights(&a, model_path.c_str());
        float l, n, r;
        for (int s = 0; s < k1; s++) train_step(&a, ref, hp, s, &l, &n, &r);
        TrainState saved;
        saved.step = k1;
        saved.train_pos = pos;
        saved.sample_rng = rng.get_state();
        save_checkpoint(&a, ckdir, saved);
        std::vector<float> la(k2), lb(k2);
        for (int s = 0; s < k2; s++) train_step(&a, ref, hp, k1 + s, &la[s], &n, &r);
        gpt2_to_host(&a, false);
        std::vector<float> pa(a.host_params.get(), a.host_params.get() + a.num_parameters);
        gpt2_free(&a);

        GPT2 b;
        gpt2_build(&b, mc, opts);
        const int latest = checkpoint_find_latest(ckdir);
        check("cuda_resume_finds_checkpoint", latest == k1, "latest DONE step %d (want %d)", latest, k1);
        gpt2_load_weights(&b, checkpoint_path(ckdir, "model", k1).c_str());
        TrainState st = load_state(&b, ckdir, k1);
        check("cuda_resume_state_fields", st.step == k1 && st.train_pos.sample_pos == 5 && st.master_weights == (int)b.use_master,
              "step %d sample_pos %lld master %d", st.step, (long long)st.train_pos.sample_pos, st.master_weights);
        for (int s = 0; s < k2; s++) train_step(&b, ref, hp, k1 + s, &lb[s], &n, &r);
        gpt2_to_host(&b, false);
        bool losses_same = !memcmp(la.data(), lb.data(), k2 * sizeof(float));
        bool params_same = !memcmp(pa.data(), b.host_params.get(), pa.size() * sizeof(float));
        check("cuda_resume_replay_losses_bit_identical", losses_same, "%d steps after resume: %.9g vs %.9g (last)", k2,
              la[k2 - 1], lb[k2 - 1]);
        check("cuda_resume_replay_params_bit_identical", params_same, "all %zu weights after %d more steps", pa.size(), k2);
        gpt2_free(&b);
    }
    return test_exit_code();
}
