// The model contract: what train_gpt2.cpp (CPU) and train_gpt2.cu (CUDA) both implement, with
// the same signatures and meaning, so one driver (llmc/train/train_loop.h), the tests and the tools
// work with either. A trainer defines `struct GPT2` (with at least `GPT2Config config`,
// `size_t num_parameters` and `int max_T`) and these functions, then includes llmc/train/train_loop.h.
//
//   void gpt2_build(GPT2*, const GPT2Config&, const BuildOptions&)
//       Allocates everything once for batches up to (B, T); nothing is allocated later.
//   MemoryNeed gpt2_memory_needed(const GPT2Config&, const BuildOptions&)
//       What gpt2_build would allocate (host and device bytes, and the device's free memory), from
//       the same layout code, without allocating: the driver refuses a run that cannot fit.
//   void gpt2_free(GPT2*)
//   float gpt2_forward(GPT2*, const int* inputs, const int* targets, int B, int T)
//       inputs, targets: host (B, T) token ids; targets may be null. Returns the mean loss over
//       the B*T positions (-1 without targets). The buffers must stay valid until gpt2_backward.
//   void gpt2_zero_grad(GPT2*)
//   void gpt2_backward(GPT2*, float loss_scale)
//       Gradient of loss_scale * (the last forward's mean loss); it needs that forward to have had
//       targets. THE GRADIENT RULE, the same in both backends and in every layer function:
//       - parameter gradients ACCUMULATE (+=), across backward calls until gpt2_zero_grad
//         (gradient accumulation passes loss_scale = 1/micro-steps);
//       - the activation gradient a matmul, GELU or attention backward produces is SET (=);
//       - the residual stream's gradient ACCUMULATES (+=) through the layernorm backward (its two
//         branches meet there); gpt2_backward zeroes it once per call.
//   float gpt2_grad_norm(GPT2*)                      global L2 norm of the gradients
//   double gpt2_grad_sumsq(GPT2*)                    its square, in double (ZeRO-1 sums the ranks')
//   GradView gpt2_grads(GPT2*)                       the flat fp32 gradient arena (data parallel:
//       the driver sums it over processes between the last backward and the norm)
//   void gpt2_grads_to_host(GPT2*, float* dst)       copies the gradient arena (num_parameters fp32)
//       to host memory (-init-probe's gradient statistics)
//   ParamView gpt2_params(GPT2*)                     the weights forward reads (ZeRO-1 all-gather)
//   The optimizer shard (BuildOptions opt_lo, opt_n; all parameters by default): m and v (and
//   the CUDA master weights) exist only for it; gpt2_grad_norm is the L2 norm of its gradients,
//   gpt2_update updates only its weights, HostState m and v hold only it.
//   void gpt2_update(GPT2*, const AdamW&, float lr, float grad_scale, int t)
//       AdamW step t (from 1); every gradient is multiplied by grad_scale (the clip factor).
//   void gpt2_log_rms(GPT2*, int step, FILE* log)    the -rms line (llmc/train/rms_log.h)
//   const float* gpt2_logits_row(GPT2*, int row)
//       The V real logits of row `row` (b * T + t) of the last forward, as host fp32.
//   Host copies of the state, for init, checkpoints and tests (fp32, num_parameters each):
//   HostState gpt2_host(GPT2*)                       the host buffers (see HostState)
//   void gpt2_to_host(GPT2*, bool optimizer)         device -> host: weights (+ m, v)
//   void gpt2_to_device(GPT2*, bool weights, bool optimizer)
//   Backend-specific lines of the driver's output:
//   void gpt2_backend_init(const TrainConfig&)       device checks, a line about the machine
//   std::string gpt2_describe(const GPT2*)           appended to the "model:" line
//   void gpt2_synchronize(GPT2*)                     waits for queued device work (timing)
//   std::string gpt2_step_extra(GPT2*, double ms, int tokens, bool for_log)
//   std::string gpt2_summary_extra(GPT2*)            appended to the "median step" line
#pragma once
#include <sys/resource.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "model.h"
#include "../utils.h"

// What gpt2_build plans for. The CPU backend uses only B and T.
struct BuildOptions {
    int B = 4, T = 64;            // the largest batch a forward will see
    size_t opt_lo = 0, opt_n = 0; // the AdamW shard: m, v (and CUDA master weights) cover parameters
                                  // [opt_lo, opt_lo + opt_n); opt_n = 0: all of them (llmc/train/comm.h: optimizer_shard)
    bool master_weights = true;   // CUDA BF16: keep fp32 master weights (-w)
    bool recompute = true;        // CUDA: recompute GELU in backward (-r)
    bool tf32 = true;             // CUDA FP32: TF32 matmuls (-f)
    bool flash_attention = true;  // CUDA: fused causal attention where supported (-fa)
    bool gelu_fusion = false;     // CUDA: GELU in the cuBLASLt epilogue (-ge)
    int prof_step = 0;            // CUDA: time every kernel of this step (-prof; 0: off)
};

// Bytes a build needs, and the device memory free now (CUDA; 0 on the CPU backend).
struct MemoryNeed {
    size_t host_bytes = 0, device_bytes = 0, device_free = 0;
    size_t optimizer_bytes = 0;  // of which AdamW state (this process's shard under ZeRO-1)
};

// Host memory a run may use: MemAvailable, capped by the address-space limit (ulimit -v) if set.
inline size_t host_memory_available() {
    size_t avail = (size_t)-1;
    if (FILE* f = fopen("/proc/meminfo", "r")) {
        char line[256];
        while (fgets(line, sizeof line, f)) {
            unsigned long long kb;
            if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) avail = (size_t)kb * 1024;
        }
        fclose(f);
    }
    rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (size_t)rl.rlim_cur < avail) avail = rl.rlim_cur;
    return avail;
}

// AdamW settings (PyTorch's form). seed: stochastic rounding of bf16 weights without master
// weights (CUDA -w 0); the CPU backend has no use for it.
struct AdamW {
    float beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f, weight_decay = 0.0f;
    uint32_t seed = 42;
};

// fp32 host copies a backend keeps for checkpoints: on the CPU these are its own arenas.
struct HostState {
    float* params;       // the weights (the fp32 master weights when the backend keeps them)
    float* m;            // AdamW first moment
    float* v;            // AdamW second moment
    size_t n;            // num_parameters
    size_t opt_lo, opt_n;  // the optimizer shard: m and v hold parameters [opt_lo, opt_lo + opt_n)
    int model_version;   // checkpoint version the weights are written as (3 fp32, 5 bf16)
    bool master;         // params are fp32 masters of lower-precision weights: the state file keeps them
};

// The gradient arena, num_parameters fp32 values, on the device or the host.
struct GradView {
    float* data;
    size_t n;
    bool on_device;
};

// The weights a forward reads (fp32 on the CPU, bf16 or fp32 on the device): after a sharded
// (ZeRO-1) update each process gathers the others' shards into them.
struct ParamView {
    void* data;
    size_t n, elem_bytes;
    bool on_device;
};

// Clip factor as torch.nn.utils.clip_grad_norm_: max_norm / (norm + 1e-6), capped at 1.
inline float clip_scale(float norm, float max_norm) {
    if (max_norm <= 0.0f) return 1.0f;
    float s = max_norm / (norm + 1e-6f);
    return s < 1.0f ? s : 1.0f;
}

// What gpt2_forward checks before touching the batch, in both backends: the batch fits what
// gpt2_build planned and the model's context, and every token id is in [0, V).
inline void forward_check_batch(const GPT2Config& cfg, int max_B, int max_T, const int* inputs, const int* targets, int B,
                                int T) {
    const int V = cfg.vocab_size;
    if (B > max_B || T > max_T) die("forward with B=%d T=%d exceeds the planned B=%d T=%d", B, T, max_B, max_T);
    if (T > cfg.max_seq_len) die("T=%d exceeds the model's maxT=%d", T, cfg.max_seq_len);
    for (int i = 0; i < B * T; i++) {
        if (inputs[i] < 0 || inputs[i] >= V) die("input token %d at position %d is out of range [0, %d)", inputs[i], i, V);
        if (targets && (targets[i] < 0 || targets[i] >= V)) die("target token %d at position %d is out of range [0, %d)", targets[i], i, V);
    }
}
