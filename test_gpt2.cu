// Checks the CUDA trainer against our PyTorch reference (dev/gpt2_ref.py), the same debug state
// test_gpt2.cpp uses: logits, loss, every parameter gradient (lm_head too when untied), 10 AdamW
// steps (losses, grad norms, lrs, final weights); with the GELU epilogue fused and unfused;
// bitwise run-to-run determinism; and a save / resume / replay check (bit-exact continuation
// from a checkpoint); and muP (model.h: logit multiplier, attention scale 1/hs, per-tensor AdamW
// lr) against the same model reparametrized into the standard form (check_mup). Tied or untied
// follows DIR (dev/gpt2_ref.py --untied 0|1).
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

// ----------------------------------------------------------------------------
// muP (llmc/model/model.h) on the device, against the standard parametrization the checks above
// hold to PyTorch. With r = C0 / C and hs = C / NH, a muP model with weights W computes what a
// standard UNTIED model with weights W' computes, where W' is W except
//   lm_head'             = r * (tied ? wte : lm_head)   (the logit multiplier moved into the readout)
//   query rows of qkvw', qkvb' = W's / sqrt(hs)          (q.k / hs = (q / sqrt(hs)).k / sqrt(hs))
// So the logits (as gpt2_logits_row returns them) and loss must agree, and the gradients map back:
//   query rows  dW = dW' / sqrt(hs);  untied lm_head  r * dlm_head';  tied wte  dwte' + r * dlm_head'
// the rest equal. r a power of 2 and hs a power of 4 (the debug config: 16) make both maps exact
// in floating point, so what differs is the kernels' own rounding: the parity rows bound it.
// Then one AdamW step from m = v = 0 against its formula on the host, each tensor at its muP lr
// (model.h restated: r * lr for the hidden weights qkvw, attprojw, fcw, fcprojw; lr otherwise).
static void check_mup(const GPT2Config& mc, const std::string& model_path, const DebugState& ref, const BuildOptions& opts,
                      const Hyper& hp) {
    const int B = ref.h[2], T = ref.h[3], V = mc.vocab_size, C = mc.channels, hs = C / mc.num_heads, L = mc.num_layers;
    GPT2Config mup_cfg = mc;
    mup_cfg.mup_base = mc.tied ? C / 2 : 2 * C;  // r = 1/2 tied, 2 untied: never 1
    GPT2Config sp_cfg = mc;
    sp_cfg.tied = false;
    const float r = mup_ratio(mup_cfg), qs = 1.0f / sqrtf((float)hs);
    GPT2 mup, sp;
    gpt2_build(&mup, mup_cfg, opts);
    checkpoint_load_params(mup.host_params.get(), mc, model_path.c_str());  // the file's header says standard
    gpt2_to_device(&mup, /*weights=*/true, /*optimizer=*/false);
    gpt2_build(&sp, sp_cfg, opts);
    // W': tensors 0..15 have one layout in both (lm_head is last), then the readout and query rows
    const size_t n16 = count_params(mup.param_sizes) - mup.param_sizes[LM_HEAD], Vp = mc.padded_vocab_size, CC = (size_t)C * C;
    const ParameterTensors w = mup.host_view, ws = sp.host_view;
    memcpy(sp.host_params.get(), mup.host_params.get(), n16 * sizeof(float));
    for (size_t i = 0; i < Vp * C; i++) ws.lm_head[i] = r * w.lm_head[i];  // w.lm_head is wte when tied
    for (int l = 0; l < L; l++) {
        for (size_t i = 0; i < CC; i++) ws.qkvw[l * 3 * CC + i] *= qs;
        for (int i = 0; i < C; i++) ws.qkvb[l * 3 * C + i] *= qs;
    }
    gpt2_to_device(&sp, /*weights=*/true, /*optimizer=*/false);
    printf("muP: C0 = %d (r = %g), attention scale 1/%d, %s lm_head, vs the standard untied model W'\n", mup_cfg.mup_base, r, hs,
           mc.tied ? "tied" : "untied");

    // logits and loss, the logits through the model contract's gpt2_logits_row
    std::vector<float> lm((size_t)B * T * V), ls((size_t)B * T * V);
    float loss_m = gpt2_forward(&mup, ref.x.data(), ref.y.data(), B, T);
    for (int row = 0; row < B * T; row++) memcpy(&lm[(size_t)row * V], gpt2_logits_row(&mup, row), V * sizeof(float));
    float loss_s = gpt2_forward(&sp, ref.x.data(), ref.y.data(), B, T);
    for (int row = 0; row < B * T; row++) memcpy(&ls[(size_t)row * V], gpt2_logits_row(&sp, row), V * sizeof(float));
    compare("cuda_mup_logits", "logits", lm.data(), ls.data(), lm.size());
    compare("cuda_mup_loss", "loss", &loss_m, &loss_s, 1);

    // gradients
    for (GPT2* m : {&mup, &sp}) {
        gpt2_zero_grad(m);
        gpt2_forward(m, ref.x.data(), ref.y.data(), B, T);
        gpt2_backward(m, 1.0f);
    }
    const std::vector<float> gm = download_grads(&mup);
    std::vector<float> gs = download_grads(&sp);
    std::vector<float> want(gs.begin(), gs.begin() + gm.size());  // tensors 0..15 (+ lm_head: overwritten below)
    const ParameterTensors gsv = point_parameters(gs.data(), sp.param_sizes);
    ParameterTensors wv = point_parameters(want.data(), mup.param_sizes);
    for (int l = 0; l < L; l++) {
        for (size_t i = 0; i < CC; i++) wv.qkvw[l * 3 * CC + i] *= qs;
        for (int i = 0; i < C; i++) wv.qkvb[l * 3 * C + i] *= qs;
    }
    for (size_t i = 0; i < Vp * C; i++) wv.lm_head[i] = (mc.tied ? gsv.wte[i] : 0.0f) + r * gsv.lm_head[i];
    size_t off = 0;
    for (int k = 0; k < NUM_PARAMETER_TENSORS; k++) {
        char name[96];
        snprintf(name, sizeof name, "cuda_mup_grad_%s", PARAM_TABLE[k].name);
        if (mup.param_sizes[k]) compare(name, "grads", gm.data() + off, want.data() + off, mup.param_sizes[k]);
        off += mup.param_sizes[k];
    }

    // one AdamW step (t = 1) on the muP model; the host formula is adamw_kernel's, op for op, so
    // only contraction into FMAs differs: a few ulps of the weight. A wrong lr multiplier misses
    // by about half a step, ~lr / 2 (|mhat / sqrt(vhat)| is ~1 at t = 1).
    // p0: the weights as loaded, still in host_params (a download now would stage through, and
    // overwrite, the gradient arena in BF16)
    const std::vector<float> p0(mup.host_params.get(), mup.host_params.get() + mup.num_parameters);
    AdamW opt;
    opt.beta1 = hp.beta1, opt.beta2 = hp.beta2, opt.eps = hp.eps, opt.weight_decay = hp.wd, opt.seed = 42;
    gpt2_update(&mup, opt, hp.lr, 1.0f, 1);
    gpt2_to_host(&mup, /*optimizer=*/false);
    const float* p1 = mup.host_params.get();
    const float bc1 = 1.0f - powf(opt.beta1, 1.0f), bc2 = 1.0f - powf(opt.beta2, 1.0f);
    off = 0;
    for (int k = 0; k < NUM_PARAMETER_TENSORS; k++) {
        const bool hidden = k == QKVW || k == ATTPROJW || k == FCW || k == FCPROJW;
        const float lr_k = hp.lr * (hidden ? r : 1.0f), wd = PARAM_TABLE[k].decayed ? opt.weight_decay : 0.0f;
        double worst = 0.0, step_max = 0.0;
        size_t bad = 0;
        for (size_t i = off; i < off + mup.param_sizes[k]; i++) {
            const float g = gm[i], mi = (1.0f - opt.beta1) * g, vi = (1.0f - opt.beta2) * g * g;
            const float want_p = p0[i] - lr_k * ((mi / bc1) / (sqrtf(vi / bc2) + opt.eps) + wd * p0[i]);
            const double d = fabs((double)p1[i] - want_p);
            worst = std::max(worst, d);
            step_max = std::max(step_max, fabs((double)p1[i] - p0[i]));
            if (!(d <= 1e-6 * fabs(p0[i]) + 1e-5 * lr_k)) bad++;
        }
        if (mup.param_sizes[k]) {
            char name[96];
            snprintf(name, sizeof name, "cuda_mup_adamw_%s", PARAM_TABLE[k].name);
            check(name, bad == 0, "lr x %g: max |step| %.3e, max_abs vs host formula %.3e (bound 1e-6|p| + 1e-5 lr_k), %zu outside",
                  lr_k / hp.lr, step_max, worst, bad);
        }
        off += mup.param_sizes[k];
    }
    gpt2_free(&mup);
    gpt2_free(&sp);
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
    printf("device %s | precision %s | config: L=%d C=%d NH=%d V=%d Vp=%d B=%d T=%d, %s lm_head, %s, %zu params, %d steps%s\n",
           prop.name, PRECISION_NAME, mc.num_layers, mc.channels, mc.num_heads, V, Vp, B, T, mc.tied ? "tied" : "untied",
           mc.mup_base ? ("muP C0=" + std::to_string(mc.mup_base)).c_str() : "standard parametrization", model.num_parameters,
           steps, gpt2_describe(&model).c_str());
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
    if (mc.mup_base == 0) check_mup(mc, model_path, ref, opts, hp);  // (a muP DIR is checked by all of the above)
    return test_exit_code();
}
