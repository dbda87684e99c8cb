// `--init FILE SCHEME SEED` for the parity tests (test_gpt2.cpp, test_gpt2.cu): our host init
// (llmc/model/model.h gpt2_init, which both trainers call) against a checkpoint that
// dev/gpt2_ref.py --init-only drew with torch.manual_seed(SEED) + torch.nn.init. Host only: the
// CUDA test runs it without a device. Include after llmc/model/model.h, llmc/train/cli.h and dev/test/check.h.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>

// Init agreement per tensor, in units of its intended std: per_std is the "init" row of the
// caller's tolerance table (PyTorch's AVX2 normal_ uses polynomial log/sincos, we use libm).
// Constant tensors (intended std < 0) must match exactly.
static void compare_init(const char* name, const float* ours, const float* ref, const GPT2Config& mc, const InitSpec& scheme,
                         float per_std) {
    size_t sizes[NUM_PARAMETER_TENSORS];
    fill_param_sizes(sizes, mc);
    double worst = 0.0, worst_abs = 0.0;  // max |ours - ref| / std, and in absolute terms
    size_t bad = 0, off = 0;
    const char* worst_tensor = "-";
    for (int k = 0; k < NUM_PARAMETER_TENSORS; k++) {
        // per layer for the stacked tensors: a scheme's std may depend on the layer (olmo-mitchell)
        const size_t parts = PARAM_TABLE[k].shape[0] == Dim::L ? (size_t)mc.num_layers : 1, per_part = sizes[k] / parts;
        for (size_t i = 0; i < sizes[k]; i++) {
            const double sd = intended_std(k, (int)(i / per_part), mc, scheme, InitSpec{});
            const double bound = sd > 0 ? per_std * sd : 0.0;
            const double d = fabs((double)ours[off + i] - ref[off + i]);
            if (!(d <= bound)) bad++;  // written so NaN fails
            const double rel = sd > 0 ? d / sd : (d > 0 ? INFINITY : 0.0);
            if (rel > worst) {
                worst = rel;
                worst_tensor = PARAM_TABLE[k].name;
            }
            worst_abs = std::max(worst_abs, d);
        }
        off += sizes[k];
    }
    check(name, bad == 0, "max |ours - pytorch| = %.2e x std (in %s), %.2e absolute; bound %.0e x std; %zu values outside",
          worst, worst_tensor, worst_abs, per_std, bad);
}

// The whole --init mode: reads FILE (tied or untied per its header), draws our init with the
// same scheme and seed, compares; uniform-drawn tensors must be bit-identical (the uniform path
// shares PyTorch's arithmetic exactly). Returns the process exit code.
static int check_init_file(const char* path, const char* scheme_name, const char* seed_text, float per_std) {
    InitSpec scheme;
    int seed;
    const bool zero_q = !strcmp(scheme_name, "mup-zq");  // -init mup -mup-zero-q 1
    if (!parse_init_spec(zero_q ? "mup" : scheme_name, false, &scheme)) die("unknown scheme %s", scheme_name);
    if (!parse_int_strict(seed_text, &seed)) die("SEED must be an integer");
    FilePtr f(fopenCheck(path, "rb"));
    int version;
    const GPT2Config mc = checkpoint_read_header(f.get(), path, &version);
    size_t sizes[NUM_PARAMETER_TENSORS];
    fill_param_sizes(sizes, mc);
    const size_t n = count_params(sizes);
    Arena<float> ref = arena_alloc<float>(n, "reference init");
    Arena<float> ours = arena_alloc<float>(n, "init");
    checkpoint_read_params(f.get(), path, version, ref.get(), n);
    if (scheme.kind == InitKind::Mup) {  // the reference's base width is in the header (mc)
        if (!mc.mup_base) die("%s: scheme %s but header[9] (muP base width) is 0", path, scheme_name);
        scheme.zero_query = zero_q;
    }
    gpt2_init(ours.get(), mc, scheme, InitSpec{}, (uint32_t)seed);
    const char* tie = mc.tied ? "tied" : "untied";
    char name[128];
    snprintf(name, sizeof name, "init_%s_seed%d_%s", scheme_name, seed, tie);
    compare_init(name, ours.get(), ref.get(), mc, scheme, per_std);
    if (scheme.kind == InitKind::PyTorch || scheme.kind == InitKind::XavierUniform ||
        scheme.kind == InitKind::KaimingUniform || scheme.kind == InitKind::Uniform) {
        const bool biases = scheme.kind == InitKind::PyTorch;  // only "pytorch" draws biases
        const bool uniform_drawn[NUM_PARAMETER_TENSORS] = {false, false, false, false, true, biases, true, biases,
                                                           false, false, true, biases, true, biases, false, false, true};
        size_t off = 0, differ = 0;
        for (int k = 0; k < NUM_PARAMETER_TENSORS; k++) {
            for (size_t i = 0; uniform_drawn[k] && i < sizes[k]; i++) differ += ours[off + i] != ref[off + i];
            off += sizes[k];
        }
        snprintf(name, sizeof name, "init_%s_seed%d_%s_uniform_bit_exact", scheme_name, seed, tie);
        check(name, differ == 0, "%zu uniform-drawn values differ from PyTorch's", differ);
    }
    return test_exit_code();
}
