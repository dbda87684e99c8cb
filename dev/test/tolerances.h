// The parity tests' tolerance tables, one per precision, each row with its reason: test_gpt2.cpp
// (CPU, fp32) and test_gpt2.cu (CUDA, FP32 or BF16 build) compare against the same PyTorch debug
// state with these; the attn_* rows are dev/cuda/attention.cu's (one attention layer, kernel
// level). |ours - ref| <= atol * (scaled ? max|ref| of the tensor : 1) + rtol * |ref|.
// Include after dev/test/parity.h.
#pragma once

// FP32 vs PyTorch fp32, both trainers (CUDA with TF32 off); no parity row is scaled. The sides sum in
// different orders (our 16-wide vector partial sums, cuBLAS's order, PyTorch's BLAS), so each
// value carries ~1e-7 relative rounding per reduction; the bounds leave ~10x headroom over the
// errors observed on the L=2, C=64, V=50257 debug config.
static const Tolerance FP32_TOLERANCES[] = {
    {"logits", 1e-5f, 1e-4f, false, "one C=64 reduction per layer and the lm_head dot; |logits| < 1"},
    {"loss", 0.0f, 1e-5f, false, "mean over B*T of log-sum-exp over 50257 terms"},
    {"grads", 2e-6f, 2e-3f, false, "grads are tiny (1/(B*T) scale) and the wte grad sums B*T rows; atol covers near-zero entries"},
    {"step_losses", 0.0f, 1e-5f, false, "10 AdamW steps: the losses track the reference to fp32 noise"},
    {"grad_norm0", 0.0f, 1e-6f, false, "step-0 norm vs the exact (double) norm of the reference's own gradients"},
    {"grad_norms", 0.0f, 1e-3f, false, "torch's clip_grad_norm_ sums in fp32 (1e-5 off the exact norm at step 0); that"
                                " feeds the clip factor, so the runs drift apart by ~2e-4 over 10 clipped steps"},
    {"lrs", 0.0f, 1e-6f, false, "schedule in float here, double in Python"},
    {"init", 5e-6f, 0.0f, false, "atol in units of each tensor's intended std (1e-7 at nanoGPT's 0.02): the same uniforms"
                          " and Box-Muller pairing, but PyTorch's AVX2 normal_ uses polynomial log/sincos and we use"
                          " libm, so radius*cos differs by a few ulps of the radius (seen: 2.2e-6 std); constant"
                          " tensors must match exactly and uniform draws are checked bit-exact"},
    // dev/cuda/attention.cu: one attention layer, the fused (-fa 1) and unfused (-fa 0) paths
    // against a double CPU reference at (B, NH, T, hs) up to T = 256 (1024 on a GPU); q in
    // [-3, 3], k, v, dout in [-1, 1]. fp32 summation order only (seen on the emulator, both paths).
    {"attn_out", 3e-6f, 1e-5f, false, "out (B, T, C), |out| < 1 (seen 2.6e-7)"},
    {"attn_lse", 5e-6f, 1e-6f, false, "the fused forward's saved row log-sum-exp, |lse| < 7 (seen 4.8e-7)"},
    {"attn_dqkv", 1e-5f, 1e-4f, true, "dq, dk, dv: atol relative to max|dqkv| (~2; seen 8e-7 of it)"},
    {"attn_fused_vs_unfused", 5e-6f, 1e-4f, true, "fused vs unfused out and dqkv, atol relative to the largest "
                                                  "|value| (seen 3.3e-7 of it)"},
    {"final_params", 2e-5f, 1e-3f, false, "after 10 steps Adam's normalised update amplifies tiny grad differences near zero; "
                                         "test_gpt2.cu applies it to elements with a resolved gradient (seen 4.4% of it)"},
};

// DATA_PARALLEL (dev/test/t_mpi.sh, a Python check over main.log and the model files; listed here
// so every tolerance has one home): N ranks vs one rank accumulating the same rows, and ZeRO-1 vs
// -z 0, over 20 AdamW steps at lr 1e-3.
//   losses         rtol 1e-6   the same rows; gradient sums in another order (seen <= 9.3e-8)
//   final weights  relative L2 distance 1e-6 (seen 1.6e-7), max abs 1e-5 (seen 2.3e-6 on 9 of
//                  1.6M weights: Adam's normalized step moves weights with near-zero gradients by
//                  up to ~lr when their gradient's last bit differs)

// BF16 (8-bit mantissa: one rounding is up to 2^-9 = 2e-3 relative). Weights are rounded to bf16
// before the forward, every activation is stored in bf16, so errors are a few roundings deep
// per layer. CALIBRATED ON THE CUDA EMULATOR (make cuda-emu: bf16 storage rounded to nearest even
// as the device does, fp32 accumulation), tied and untied, 2026-12-03: each bound is ~3x the
// worst error seen there (quoted). A GPU's tensor cores sum in another order; check_all.sh prints
// max_abs/rel on the first GPU run. The quotes are the unfused attention's (-fa 0); the fused one
// (-fa 1, the default since) stays inside every row (seen: step_losses 1.8e-4, loss 2.2e-6).
static const Tolerance BF16_TOLERANCES[] = {
    {"logits", 1.5e-2f, 1e-2f, false, "bf16 lnf output, bf16 wte and bf16 logits; |logit| < 1 (seen 5.7e-3 abs)"},
    {"loss", 0.0f, 3e-5f, false, "the mean over B*T averages the per-row rounding noise away (seen 6.3e-6)"},
    {"grads", 3e-2f, 5e-2f, true, "bf16 activation grads through 2 layers; atol relative to each tensor's largest "
                                  "entry (seen 1.0e-2 of it, ln1w)"},
    {"step_losses", 0.0f, 5e-4f, false, "bf16 forward each step; fp32 master weights keep the trajectory close (seen 1.7e-4)"},
    {"grad_norm0", 0.0f, 8e-4f, false, "norm of fp32 grads computed from bf16 activations (seen 8.6e-5 untied; 4.0e-4 on "
                                       "the muP references, whose r = 0.5 / 2 logits move the bf16 roundings)"},
    {"grad_norms", 0.0f, 1.2e-2f, false, "as grad_norm0, drifting over 10 steps (seen 3.8e-3)"},
    {"lrs", 0.0f, 1e-6f, false, "schedule in float, independent of precision"},
    // dev/cuda/attention.cu (see the FP32 rows): bf16 inputs, fp32 scores and softmax, bf16 P and
    // dS into the products (fused), bf16 preatt and att (unfused), bf16 outputs.
    {"attn_out", 1.2e-2f, 1e-2f, false, "out, |out| < 1: one bf16 rounding of it plus P's (seen 2.7e-3 fused, "
                                         "4.2e-3 unfused)"},
    {"attn_lse", 2e-6f, 2e-6f, false, "fp32 from the same bf16 q, k: fp32 noise only (seen 4.8e-7)"},
    {"attn_dqkv", 1.5e-2f, 1e-2f, true, "atol relative to max|dqkv| (seen 4.2e-3 of it fused, 5.1e-3 unfused)"},
    {"attn_fused_vs_unfused", 2e-2f, 1e-2f, true, "both paths' errors, atol relative to the largest |value| "
                                                  "(seen 7.1e-3 of it, dqkv)"},
    {"final_params", 1.5e-3f, 2e-2f, false, "elements whose step-0 gradient the grads row resolves (see "
                                           "compare_final_params); seen 1.05x of 5e-4 + 2e-2|ref|"},
    {"init", 5e-6f, 0.0f, false, "the init is drawn on the host in fp32 in either precision: the FP32 row"},
};
