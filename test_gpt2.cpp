// Checks the CPU trainer against our PyTorch reference (dev/gpt2_ref.py): init, logits, loss,
// every parameter gradient (lm_head too when untied), and 10 AdamW steps (losses, grad norms,
// lrs, final weights), plus thread-count determinism.
// Usage: ./test_gpt2 DIR [SEED]   (DIR holds ref_model.bin, ref_debug_state.bin; SEED: check init)
//        ./test_gpt2 --init FILE SCHEME SEED   (an init scheme vs torch.nn.init: dev/test/init_check.h)
// Prints PASS/FAIL per check and exits non-zero on any failure.
#define TESTING
#include "train_gpt2.cpp"
#include "dev/test/check.h"
#include "dev/test/init_check.h"
#include "dev/test/parity.h"
#include "dev/test/tolerances.h"

static const auto& TOLERANCES = FP32_TOLERANCES;  // dev/test/tolerances.h

static const Tolerance& tol(const char* what) { return find_tolerance(TOLERANCES, what); }
static bool compare(const char* name, const char* tol_name, const float* ours, const float* ref, size_t n) {
    return compare_tol(name, tol(tol_name), ours, ref, n);
}

// Sets the OpenMP thread count; returns the previous one.
static int set_threads(int n) {
#ifdef OMP
    int prev = omp_get_max_threads();
    omp_set_num_threads(n);
    return prev;
#else
    return 1;
#endif
}

int main(int argc, char** argv) {
    if (argc == 5 && !strcmp(argv[1], "--init")) return check_init_file(argv[2], argv[3], argv[4], tol("init").atol);
    if (argc != 2 && argc != 3) die("usage: %s DIR [SEED] (DIR has ref_model.bin and ref_debug_state.bin from dev/gpt2_ref.py; with SEED, also check our init against ref_model.bin)", argv[0]);
    std::string dir = argv[1];
    std::string model_path = dir + "/ref_model.bin";
    GPT2Config mc = checkpoint_read_config(model_path.c_str());
    GPT2 model;
    size_t sizes[NUM_PARAMETER_TENSORS];
    fill_param_sizes(sizes, mc);
    DebugState ref = read_debug_state(dir + "/ref_debug_state.bin", count_params(sizes));
    const int B = ref.h[2], T = ref.h[3], steps = ref.h[4], V = ref.h[5], Vp = mc.padded_vocab_size;
    if ((ref.h[13] != 0) != !mc.tied) die("debug state and model disagree on tied/untied");
    BuildOptions opts;
    opts.B = B;
    opts.T = T;
    gpt2_build(&model, mc, opts);
    gpt2_load_weights(&model, model_path.c_str());
    printf("config: L=%d C=%d NH=%d V=%d Vp=%d B=%d T=%d, %zu params, %d steps\n", mc.num_layers, mc.channels,
           mc.num_heads, V, Vp, B, T, model.num_parameters, steps);

    if (argc == 3) {  // seeded init vs the reference's torch.manual_seed(SEED) + normal_ draws
        int seed;
        if (!parse_int_strict(argv[2], &seed)) die("SEED must be an integer");
        Arena<float> ours = arena_alloc<float>(model.num_parameters, "init");
        gpt2_init_nanogpt(ours.get(), mc, (uint32_t)seed);
        compare_init("init_vs_pytorch", ours.get(), model.params_memory.get(), mc, InitSpec{}, tol("init").atol);
    }

    // forward: logits (V real columns of each row) and loss
    gpt2_forward(&model, ref.x.data(), ref.y.data(), B, T);
    std::vector<float> logits((size_t)B * T * V);
    for (size_t n = 0; n < (size_t)B * T; n++) memcpy(&logits[n * V], model.acts.logits + n * Vp, V * sizeof(float));
    compare("logits", "logits", logits.data(), ref.logits.data(), logits.size());
    compare("loss", "loss", &model.mean_loss, &ref.loss, 1);

    // backward: all 16 gradient tensors
    gpt2_zero_grad(&model);
    gpt2_backward(&model, 1.0f);
    size_t off = 0;
    for (int k = 0; k < NUM_PARAMETER_TENSORS; k++) {
        if (sizes[k] == 0) continue;  // lm_head when tied
        char name[64];
        snprintf(name, sizeof name, "grad_%s", PARAM_TABLE[k].name);
        compare(name, "grads", model.grads_memory.get() + off, ref.grads.data() + off, sizes[k]);
        off += sizes[k];
    }

    // the exact global norm of the reference's gradients, to check ours without torch's fp32 norm
    double ref_sq = 0.0;
    for (float g : ref.grads) ref_sq += (double)g * g;
    const float ref_norm0 = (float)sqrt(ref_sq);
    const float norm0 = gpt2_grad_norm(&model);
    compare("grad_norm0", "grad_norm0", &norm0, &ref_norm0, 1);

    // determinism: the same forward/backward on 1 thread gives the same bits as on all threads
    std::vector<float> grads_all(model.grads_memory.get(), model.grads_memory.get() + model.num_parameters);
    float loss_all = model.mean_loss;
    const int threads = set_threads(1);
    gpt2_forward(&model, ref.x.data(), ref.y.data(), B, T);
    gpt2_zero_grad(&model);
    gpt2_backward(&model, 1.0f);
    bool same = model.mean_loss == loss_all &&
                !memcmp(grads_all.data(), model.grads_memory.get(), model.num_parameters * sizeof(float));
    check("threads_bit_identical", same, "loss and all gradients, 1 thread vs default threads");
    set_threads(threads);

    // training: `steps` AdamW steps on the same batch, with clipping, weight decay and cosine lr
    const float lr = ref.hyper[0], clip = ref.hyper[5], final_frac = ref.hyper[6];
    AdamW adamw;
    adamw.beta1 = ref.hyper[1];
    adamw.beta2 = ref.hyper[2];
    adamw.eps = ref.hyper[3];
    adamw.weight_decay = ref.hyper[4];
    const int warmup = ref.h[11];
    std::vector<float> losses(steps), norms(steps), lrs(steps);
    for (int step = 0; step < steps; step++) {
        gpt2_forward(&model, ref.x.data(), ref.y.data(), B, T);
        gpt2_zero_grad(&model);
        gpt2_backward(&model, 1.0f);
        losses[step] = model.mean_loss;
        norms[step] = gpt2_grad_norm(&model);
        lrs[step] = lr_at_step("cosine", step, steps, warmup, lr, final_frac);
        gpt2_update(&model, adamw, lrs[step], clip_scale(norms[step], clip), step + 1);
        printf("step %d: loss %.6f (ref %.6f) norm %.6f (ref %.6f) lr %.6e\n", step, losses[step], ref.losses[step],
               norms[step], ref.norms[step], lrs[step]);
    }
    compare("step_losses", "step_losses", losses.data(), ref.losses.data(), steps);
    compare("grad_norms", "grad_norms", norms.data(), ref.norms.data(), steps);
    compare("lrs", "lrs", lrs.data(), ref.lrs.data(), steps);
    compare("final_params", "final_params", model.params_memory.get(), ref.final_params.data(), model.num_parameters);
    return test_exit_code();
}
