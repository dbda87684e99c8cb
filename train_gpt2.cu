/*
GPT-2 training on one NVIDIA GPU: the CPU trainer (train_gpt2.cpp) with the heavy work on the
device. Same CLI table, dataloader, init, checkpoint and state formats, schedule (the llmc/ .h headers);
kernels in llmc/cuda/ (one family per .cuh), each with a CPU-referenced benchmark in dev/cuda/.

Legend: B = batch, T = time (sequence length), C = channels, V = vocab (Vp: padded to 128),
L = layers, NH = heads, hs = C/NH head size, OC = output channels of a matmul, N = B*T rows.

Precision (make PRECISION=BF16|FP32):
  BF16 (default): weights, activations and activation gradients in bf16; parameter gradients,
    AdamW m/v and master weights in fp32 (-w 0 drops the master copy and updates the bf16 weights
    with stochastic rounding). Checkpoints are version 5 (bf16); the state file carries the fp32
    master weights so a resume continues bit for bit.
  FP32: everything fp32, checkpoints version 3. Pass -f 0 for exact fp32 matmuls (the default
    -f 1 allows TF32, as llm.c does); this is the mode the CPU comparison and parity test use.

Conventions: layer functions take outputs, then saved state, then inputs, then sizes, then the
stream. The gradient rule is the one in llmc/model/model_api.h, the same as the CPU trainer's:
parameter gradients ACCUMULATE (+=, fp32); the activation gradients of matmuls, GELU and
attention are SET (=); the residual-stream gradient accumulates through the layernorms. The model
contract is that header's, and the driver (llmc/train/train_loop.h) is shared.
No reduction uses atomics: given the same inputs and GPU, every step is bitwise reproducible.
muP (config.mup_base > 0; the rules are llmc/model/model.h's, shared with the CPU trainer): the
logits matmul's alpha, the attention kernels' scale and each tensor's AdamW lr multiplier.
*/
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "llmc/train/cli.h"
#include "llmc/io/dataloader.h"
#include "llmc/io/formats.h"
#include "llmc/model/model.h"
#include "llmc/model/model_api.h"
#include "llmc/rand.h"
#include "llmc/train/rms_log.h"
#include "llmc/train/run.h"
#include "llmc/train/sampler.h"
#include "llmc/train/schedule.h"
#include "llmc/io/state.h"
#include "llmc/io/tokenizer.h"
#include "llmc/utils.h"

#include "llmc/cuda/adamw.cuh"
#include "llmc/cuda/attention.cuh"
#include "llmc/cuda/classifier.cuh"
#include "llmc/cuda/comm_nccl.cuh"
#include "llmc/cuda/common.cuh"
#include "llmc/cuda/encoder.cuh"
#include "llmc/cuda/flash_attention.cuh"
#include "llmc/cuda/gelu.cuh"
#include "llmc/cuda/global_norm.cuh"
#include "llmc/cuda/layernorm.cuh"
#include "llmc/cuda/matmul.cuh"
#include "llmc/cuda/profile.cuh"

// ----------------------------------------------------------------------------
// GPT-2 model on the device

// Saved activations; views into one device arena sized for (max_B, max_T). floatX unless noted.
struct ActivationTensors {
    floatX* encoded;    // (B, T, C)
    floatX* ln1;        // (L, B, T, C)
    float* ln1_mean;    // (L, B, T)
    float* ln1_rstd;    // (L, B, T)
    floatX* qkv;        // (L, B, T, 3C)
    floatX* atty;       // (L, B, T, C)
    floatX* att;        // (L, B, NH, T, T) with -fa 0; empty with -fa 1
    float* att_lse;     // (L, B, NH, T) with -fa 1: each attention row's log-sum-exp; empty with -fa 0
    floatX* residual2;  // (L, B, T, C)
    floatX* ln2;        // (L, B, T, C)
    float* ln2_mean;    // (L, B, T)
    float* ln2_rstd;    // (L, B, T)
    floatX* fch;        // (L, B, T, 4C) before GELU
    floatX* fch_gelu;   // (L, B, T, 4C), or (B, T, 4C) recomputed per layer with -r 1
    floatX* residual3;  // (L, B, T, C)
    floatX* lnf;        // (B, T, C)
    float* lnf_mean;    // (B, T)
    float* lnf_rstd;    // (B, T)
    floatX* proj;       // (B, T, C) attention/MLP projection output before the residual add
    floatX* logits;     // (B, T, Vp); a training forward overwrites it with dlogits
    float* losses;      // (B, T)
    float* lse;         // (B, T) log-sum-exp of each logits row, for the classifier backward
};

// Backward scratch, one layer's worth, reused from the last layer down (floatX unless noted).
struct GradScratch {
    floatX* dresidual;  // (B, T, C) gradient of the residual stream, carried across layers
    floatX* dln;        // (B, T, C)
    floatX* datty;      // (B, T, C)
    floatX* dqkv;       // (B, T, 3C)
    floatX* dfch;       // (B, T, 4C): d(fch_gelu), then d(fch) in place
    AttentionScratch attn;  // -fa 0 only (empty with -fa 1)
    float* att_delta;   // (B, NH, T) -fa 1 only: rowsum(dout * out) of the attention backward
    float* colsum;      // partial column sums for bias / layernorm weight grads
    double* norm_partial;  // (NORM_BLOCKS)
    float* norm;        // (1)
    double* sum_sq;     // (2, NUM_PARAMETER_TENSORS) weight then grad sums of squares, for -rms
};

struct GPT2 {
    GPT2Config config;
    size_t param_sizes[NUM_PARAMETER_TENSORS];
    size_t num_parameters = 0;
    bool use_master = false;             // BF16 with -w 1: fp32 master copy on the device
    size_t opt_lo = 0, opt_n = 0;        // the optimizer shard (BuildOptions): m, v, master cover it
    size_t alloc_n = 0;                  // params/grads elements allocated: >= n, padded for NCCL's
                                         // equal-count reduce-scatter / all-gather under ZeRO-1
    bool recompute_gelu = false;         // -r 1: fch_gelu recomputed in backward
    bool flash_attention = false;        // -fa 1 and a head size it supports: flash_attention.cuh
    bool flash_attention_requested = false;  // -fa 1 (BuildOptions), whether or not it could be used
    // host: fp32 weights for init/load/save, m and v for the state file
    Arena<float> host_params, host_m, host_v;
    // device arenas
    DeviceArena<floatX> params_memory;   // the weights the kernels read
    DeviceArena<float> master_memory;    // fp32 master (BF16 with -w 1 only)
    DeviceArena<float> grads_memory, m_memory, v_memory;
    DeviceArena<char> acts_memory, scratch_memory;
    DeviceArena<int> io_memory;          // inputs, targets, the wte backward's presence masks
    ParameterTensors host_view;          // into host_params
    struct {                             // floatX views into params_memory, one per tensor
        floatX* p[NUM_PARAMETER_TENSORS];  // p[LM_HEAD] == p[WTE] when tied
    } params;
    ParameterTensors grads;
    ActivationTensors acts;
    GradScratch scratch;
    int* d_inputs = nullptr;
    int* d_targets = nullptr;
    unsigned* d_wte_mask = nullptr;      // (V, words) token presence per chunk (encoder.cuh)
    // pinned host staging, so the batch uploads and the loss download are asynchronous copies
    int* h_io = nullptr;                 // (2, max_B * max_T) inputs, targets
    float* h_losses = nullptr;           // (max_B * max_T)
    cudaEvent_t io_copied = nullptr;     // the last upload from h_io has finished reading it
    std::vector<floatX> row_raw;         // (V) one logits row, for gpt2_logits_row
    std::vector<float> row_f32;          // (V)
    size_t device_bytes = 0;             // everything this struct allocated on the device
    int max_B = 0, max_T = 0;
    int B = 0, T = 0;                    // of the last forward
    const int* inputs = nullptr;         // of the last forward (host)
    bool logits_have_targets = false;    // the last forward had targets and its logits are intact
    float mean_loss = -1.0f;
    double peak_flops = 0.0;             // bf16 dense peak of the device (0: unknown, no MFU)
    double peak_mib = 0.0;               // device memory in use, the most seen after a step
    size_t predicted_bytes = 0;          // gpt2_memory_needed's device bytes for this build
    int steps_seen = 0;                  // step lines printed (gpt2_step_extra)
    double used_mib_step1 = 0.0;         // device memory in use after step 1
    long long mallocs_step1 = -1;        // device allocations made by then (emulator only: -1)
    KernelProfiler prof;                 // -prof N
    Blas blas;
    cudaStream_t stream = nullptr;
};


// Every device tensor 256-byte aligned (cuBLASLt, 16-byte loads).
constexpr size_t DEVICE_ALIGN = 256;

// Lays out activations and scratch for (B, T); with base = nullptr only measures.
static size_t carve_activations(ActivationTensors* a, char* base, const GPT2Config& c, size_t B, size_t T, bool recompute,
                                bool flash) {
    const size_t C = c.channels, L = c.num_layers, NH = c.num_heads, Vp = c.padded_vocab_size, BT = B * T;
    ArenaCarver k{base, DEVICE_ALIGN};
    a->encoded = k.take<floatX>(BT * C);
    a->ln1 = k.take<floatX>(L * BT * C);
    a->ln1_mean = k.take<float>(L * BT);
    a->ln1_rstd = k.take<float>(L * BT);
    a->qkv = k.take<floatX>(L * BT * 3 * C);
    a->atty = k.take<floatX>(L * BT * C);
    a->att = k.take<floatX>(flash ? 0 : L * B * NH * T * T);
    a->att_lse = k.take<float>(flash ? L * B * NH * T : 0);
    a->residual2 = k.take<floatX>(L * BT * C);
    a->ln2 = k.take<floatX>(L * BT * C);
    a->ln2_mean = k.take<float>(L * BT);
    a->ln2_rstd = k.take<float>(L * BT);
    a->fch = k.take<floatX>(L * BT * 4 * C);
    a->fch_gelu = k.take<floatX>((recompute ? 1 : L) * BT * 4 * C);
    a->residual3 = k.take<floatX>(L * BT * C);
    a->lnf = k.take<floatX>(BT * C);
    a->lnf_mean = k.take<float>(BT);
    a->lnf_rstd = k.take<float>(BT);
    a->proj = k.take<floatX>(BT * C);
    a->logits = k.take<floatX>(BT * Vp);
    a->losses = k.take<float>(BT);
    a->lse = k.take<float>(BT);
    return k.offset;
}

static size_t carve_scratch(GradScratch* s, char* base, const GPT2Config& c, size_t B, size_t T, bool flash) {
    const size_t C = c.channels, NH = c.num_heads, BT = B * T, QC = flash ? 0 : BT * C;
    ArenaCarver k{base, DEVICE_ALIGN};
    s->dresidual = k.take<floatX>(BT * C);
    s->dln = k.take<floatX>(BT * C);
    s->datty = k.take<floatX>(BT * C);
    s->dqkv = k.take<floatX>(BT * 3 * C);
    s->dfch = k.take<floatX>(BT * 4 * C);
    s->attn.q = k.take<floatX>(QC);
    s->attn.k = k.take<floatX>(QC);
    s->attn.v = k.take<floatX>(QC);
    s->attn.y = k.take<floatX>(QC);
    s->attn.dq = k.take<floatX>(QC);
    s->attn.dk = k.take<floatX>(QC);
    s->attn.dv = k.take<floatX>(QC);
    s->attn.tt = k.take<floatX>(flash ? 0 : B * NH * T * T);
    s->att_delta = k.take<float>(flash ? B * NH * T : 0);
    s->colsum = k.take<float>(colsum_scratch_floats((int)BT, 4 * (int)C));
    s->norm_partial = k.take<double>(NORM_BLOCKS);
    s->norm = k.take<float>(1);
    s->sum_sq = k.take<double>(2 * NUM_PARAMETER_TENSORS);
    return k.offset;
}

// Device ints besides the arenas: inputs and targets (B*T each), then the wte backward's presence
// masks (encoder.cuh; its fp32 partial sums borrow scratch.dfch, free by then).
static size_t io_ints(const GPT2Config& c, size_t B, size_t T) {
    return 2 * B * T + wte_mask_ints((int)(B * T), c.vocab_size);
}

// -fa 1 runs the fused attention (llmc/cuda/flash_attention.cuh) when it has kernels for the head
// size and the device offers their shared memory per block; otherwise the unfused path, which the
// model line then names. Decides the activation layout (no att with the fused path).
static bool use_flash_attention(const GPT2Config& c, const BuildOptions& opts) {
    const int hs = c.channels / c.num_heads;
    if (!opts.flash_attention || !flash_attention_supported(hs)) return false;
    int device = 0;
    cudaDeviceProp prop;
    cudaCheck(cudaGetDevice(&device));
    cudaCheck(cudaGetDeviceProperties(&prop, device));
    return flash_attention_smem_bytes(hs) <= prop.sharedMemPerBlockOptin;
}

MemoryNeed gpt2_memory_needed(const GPT2Config& config, const BuildOptions& opts);

// Allocates every arena once (host and device); nothing is allocated in the training loop.
void gpt2_build(GPT2* model, const GPT2Config& config, const BuildOptions& opts) {
    const int B = opts.B, T = opts.T;
    const bool master_weights = opts.master_weights, recompute = opts.recompute, tf32 = opts.tf32;
    if (config.channels % 64 != 0 || config.padded_vocab_size % 128 != 0)
        die("the CUDA trainer needs C %% 64 == 0 and Vp %% 128 == 0 (got C=%d Vp=%d)", config.channels, config.padded_vocab_size);
    model->config = config;
    fill_param_sizes(model->param_sizes, config);
    const size_t n = count_params(model->param_sizes);
    model->num_parameters = n;
    model->opt_lo = opts.opt_n ? opts.opt_lo : 0;
    model->opt_n = opts.opt_n ? opts.opt_n : n;
    const size_t on = model->opt_n;
    // ZeRO-1 over NCCL: P shards of ceil(n / P) elements (optimizer_shard), the last one padded
    model->alloc_n = on < n ? optimizer_shard_size(n, g_comm.size) * g_comm.size : n;
    model->use_master = master_weights && !FLOATX_IS_FP32;
    model->recompute_gelu = recompute;
    model->flash_attention_requested = opts.flash_attention;
    model->flash_attention = use_flash_attention(config, opts);
    model->max_B = B;
    model->max_T = T;

    model->host_params = arena_alloc<float>(n, "parameters (host)");
    model->host_m = arena_alloc<float>(on, "AdamW m (host)");
    model->host_v = arena_alloc<float>(on, "AdamW v (host)");
    model->host_view = point_parameters(model->host_params.get(), model->param_sizes);

    const size_t an = model->alloc_n;
    model->params_memory = device_alloc<floatX>(an, "parameters");
    if (model->use_master) model->master_memory = device_alloc<float>(on, "master weights");
    model->grads_memory = device_alloc<float>(an, "gradients");
    model->m_memory = device_alloc<float>(on, "AdamW m");
    model->v_memory = device_alloc<float>(on, "AdamW v");
    cudaCheck(cudaMemset(model->m_memory.get(), 0, on * sizeof(float)));  // AdamW starts from m = v = 0
    cudaCheck(cudaMemset(model->v_memory.get(), 0, on * sizeof(float)));
    if (an > n) {  // the padding the collectives carry: defined values, never read by the model
        cudaCheck(cudaMemset(model->params_memory.get() + n, 0, (an - n) * sizeof(floatX)));
        cudaCheck(cudaMemset(model->grads_memory.get() + n, 0, (an - n) * sizeof(float)));
    }
    model->device_bytes = an * (sizeof(floatX) + sizeof(float)) + on * (2 + (model->use_master ? 1 : 0)) * sizeof(float);
    floatX* p = model->params_memory.get();
    for (int i = 0; i < NUM_PARAMETER_TENSORS; i++) {
        model->params.p[i] = p;
        p += model->param_sizes[i];
    }
    // tied: lm_head has 0 elements and aliases wte, as point_parameters does for the fp32 grads,
    // so the classifier's dweight lands in dwte beside the embedding's
    if (model->param_sizes[LM_HEAD] == 0) model->params.p[LM_HEAD] = model->params.p[WTE];
    model->grads = point_parameters(model->grads_memory.get(), model->param_sizes);

    const bool flash = model->flash_attention;
    const size_t act_bytes = carve_activations(&model->acts, nullptr, config, B, T, recompute, flash);
    model->acts_memory = device_alloc<char>(act_bytes, "activations");
    carve_activations(&model->acts, model->acts_memory.get(), config, B, T, recompute, flash);
    const size_t scratch_bytes = carve_scratch(&model->scratch, nullptr, config, B, T, flash);
    model->scratch_memory = device_alloc<char>(scratch_bytes, "backward scratch");
    carve_scratch(&model->scratch, model->scratch_memory.get(), config, B, T, flash);
    const size_t BT = (size_t)B * T;
    model->io_memory = device_alloc<int>(io_ints(config, B, T), "inputs, targets, wte masks");
    model->d_inputs = model->io_memory.get();
    model->d_targets = model->d_inputs + BT;
    model->d_wte_mask = reinterpret_cast<unsigned*>(model->d_targets + BT);
    model->device_bytes += act_bytes + scratch_bytes + io_ints(config, B, T) * sizeof(int);
    cudaCheck(cudaMallocHost(&model->h_io, 2 * BT * sizeof(int)));
    cudaCheck(cudaMallocHost(&model->h_losses, BT * sizeof(float)));
    cudaCheck(cudaEventCreateWithFlags(&model->io_copied, cudaEventDisableTiming));
    model->row_raw.resize(config.vocab_size);
    model->row_f32.resize(config.vocab_size);
    cudaDeviceProp prop;
    cudaCheck(cudaGetDeviceProperties(&prop, 0));
    model->peak_flops = gpu_bf16_peak(prop.name);

    cudaCheck(cudaStreamCreate(&model->stream));
    nccl_set_stream(model->stream);  // data parallel: gradients are summed on this stream
    blas_init(&model->blas, tf32);
    model->blas.gelu_fusion = opts.gelu_fusion;
    model->blas.prof = &model->prof;
    cublasCheck(cublasSetStream(model->blas.handle, model->stream));
    model->device_bytes += model->blas.workspace_size;
    model->predicted_bytes = gpt2_memory_needed(config, opts).device_bytes;
    model->prof.step = opts.prof_step;
}

// What gpt2_build will allocate: the device arenas (the same carving), the cuBLASLt workspace, and
// the host copies (weights, m, v in fp32); and the device memory free now.
MemoryNeed gpt2_memory_needed(const GPT2Config& config, const BuildOptions& opts) {
    size_t sizes[NUM_PARAMETER_TENSORS];
    fill_param_sizes(sizes, config);
    const size_t n = count_params(sizes), BT = (size_t)opts.B * opts.T;
    const bool master = opts.master_weights && !FLOATX_IS_FP32, flash = use_flash_attention(config, opts);
    const size_t on = opts.opt_n ? opts.opt_n : n;  // the optimizer shard (ZeRO-1)
    const size_t an = on < n ? optimizer_shard_size(n, g_comm.size) * g_comm.size : n;  // as gpt2_build pads
    ActivationTensors a;
    GradScratch s;
    MemoryNeed m;
    m.device_bytes = an * (sizeof(floatX) + sizeof(float)) + on * (2 + (master ? 1 : 0)) * sizeof(float) +
                     carve_activations(&a, nullptr, config, opts.B, opts.T, opts.recompute, flash) +
                     carve_scratch(&s, nullptr, config, opts.B, opts.T, flash) + io_ints(config, opts.B, opts.T) * sizeof(int) +
                     Blas{}.workspace_size;
    m.host_bytes = (n + 2 * on) * sizeof(float) + 3 * BT * sizeof(int);  // + the pinned batch and loss staging
    m.optimizer_bytes = on * (2 + (master ? 1 : 0)) * sizeof(float);  // device m, v (+ fp32 master weights)
    size_t free_b = 0, total_b = 0;
    cudaCheck(cudaMemGetInfo(&free_b, &total_b));
    m.device_free = free_b;
    return m;
}

void gpt2_free(GPT2* model) {
    blas_free(&model->blas);
    prof_free(&model->prof);
    if (model->io_copied) cudaCheck(cudaEventDestroy(model->io_copied));
    if (model->h_io) cudaCheck(cudaFreeHost(model->h_io));
    if (model->h_losses) cudaCheck(cudaFreeHost(model->h_losses));
    model->io_copied = nullptr;
    model->h_io = nullptr;
    model->h_losses = nullptr;
    if (model->stream) cudaCheck(cudaStreamDestroy(model->stream));
    model->stream = nullptr;
}

// host_params (fp32) -> the floatX weights, and the master copy (if kept) of the optimizer shard.
// Stages through the grads arena (fp32, n floats): call between steps only.
void gpt2_upload_params(GPT2* model) {
    const size_t n = model->num_parameters;
    if (FLOATX_IS_FP32) {
        cudaCheck(cudaMemcpy(model->params_memory.get(), model->host_params.get(), n * sizeof(float), cudaMemcpyHostToDevice));
        return;
    }
    float* staging = model->grads_memory.get();
    cudaCheck(cudaMemcpy(staging, model->host_params.get(), n * sizeof(float), cudaMemcpyHostToDevice));
    cast_to_floatX(model->params_memory.get(), staging, n, model->stream);
    if (model->use_master) {
        cudaCheck(cudaMemcpyAsync(model->master_memory.get(), staging + model->opt_lo, model->opt_n * sizeof(float),
                                  cudaMemcpyDeviceToDevice, model->stream));
    }
    cudaCheck(cudaMemsetAsync(staging, 0, n * sizeof(float), model->stream));
    cudaCheck(cudaStreamSynchronize(model->stream));
}

// device weights -> host_params (fp32): the floatX weights widened, then the master copy (if
// kept) over its shard (all of it unless ZeRO-1). Uses the grads arena as staging when widening:
// call between steps only.
void gpt2_download_params(GPT2* model) {
    const size_t n = model->num_parameters;
    const float* src = (const float*)model->params_memory.get();
    if (!FLOATX_IS_FP32) {
        widen_to_float(model->grads_memory.get(), model->params_memory.get(), n, model->stream);
        src = model->grads_memory.get();
    }
    cudaCheck(cudaStreamSynchronize(model->stream));
    cudaCheck(cudaMemcpy(model->host_params.get(), src, n * sizeof(float), cudaMemcpyDeviceToHost));
    if (model->use_master) {
        cudaCheck(cudaMemcpy(model->host_params.get() + model->opt_lo, model->master_memory.get(), model->opt_n * sizeof(float),
                             cudaMemcpyDeviceToHost));
    }
}

// inputs, targets: host (B, T) ints; targets may be null (no loss). Returns the mean loss (-1
// without targets) and keeps the logits; both buffers must stay valid until gpt2_backward.
// B <= max_B, T <= max_T.
float gpt2_forward(GPT2* model, const int* inputs, const int* targets, int B, int T) {
    const GPT2Config& cfg = model->config;
    const int V = cfg.vocab_size, Vp = cfg.padded_vocab_size, L = cfg.num_layers, NH = cfg.num_heads, C = cfg.channels;
    forward_check_batch(cfg, model->max_B, model->max_T, inputs, targets, B, T);
    model->B = B;
    model->T = T;
    model->inputs = inputs;
    model->logits_have_targets = targets != nullptr;
    const int N = B * T;
    const size_t BTC = (size_t)N * C;
    cudaStream_t st = model->stream;
    Blas* bl = &model->blas;
    floatX* const* p = model->params.p;
    ActivationTensors& a = model->acts;
    KernelProfiler* pf = &model->prof;  // -prof: a mark before each kernel / matmul (profile.cuh)
    const float attn_scale = attention_scale(cfg);  // 1/sqrt(hs), or 1/hs under muP (model.h)

    // the batch goes through pinned staging (once the previous upload has read it, which it has
    // by the time the host gets here in a training loop), so the copies are asynchronous
    prof_mark(pf, nullptr);
    cudaCheck(cudaEventSynchronize(model->io_copied));
    const size_t max_BT = (size_t)model->max_B * model->max_T;
    memcpy(model->h_io, inputs, N * sizeof(int));
    cudaCheck(cudaMemcpyAsync(model->d_inputs, model->h_io, N * sizeof(int), cudaMemcpyHostToDevice, st));
    if (targets) {
        memcpy(model->h_io + max_BT, targets, N * sizeof(int));
        cudaCheck(cudaMemcpyAsync(model->d_targets, model->h_io + max_BT, N * sizeof(int), cudaMemcpyHostToDevice, st));
    }
    cudaCheck(cudaEventRecord(model->io_copied, st));

    prof_mark(pf, "encoder_fwd");
    encoder_forward(a.encoded, model->d_inputs, p[WTE], p[WPE], B, T, C, st);
    prof_mark(pf, "layernorm_fwd");
    layernorm_forward(a.ln1, a.ln1_mean, a.ln1_rstd, a.encoded, p[LN1W], p[LN1B], N, C, st);
    for (int l = 0; l < L; l++) {
        const floatX* residual = l == 0 ? a.encoded : a.residual3 + (l - 1) * BTC;
        floatX* l_ln1 = a.ln1 + l * BTC;
        floatX* l_qkv = a.qkv + l * 3 * BTC;
        floatX* l_atty = a.atty + l * BTC;
        floatX* l_att = model->flash_attention ? nullptr : a.att + (size_t)l * B * NH * T * T;
        float* l_att_lse = model->flash_attention ? a.att_lse + (size_t)l * B * NH * T : nullptr;
        floatX* l_residual2 = a.residual2 + l * BTC;
        floatX* l_ln2 = a.ln2 + l * BTC;
        floatX* l_fch = a.fch + l * 4 * BTC;
        floatX* l_fch_gelu = a.fch_gelu + (model->recompute_gelu ? 0 : l * 4 * BTC);
        floatX* l_residual3 = a.residual3 + l * BTC;
        prof_mark(pf, "matmul_qkv_fwd");
        matmul_forward(bl, l_qkv, l_ln1, p[QKVW] + (size_t)l * 3 * C * C, p[QKVB] + l * 3 * C, N, C, 3 * C, st);
        prof_mark(pf, "attention_fwd");
        if (model->flash_attention) flash_attention_forward(l_atty, l_att_lse, l_qkv, B, T, C, NH, attn_scale, st);
        else attention_forward(bl, l_atty, l_att, l_qkv, model->scratch.attn, B, T, C, NH, attn_scale, st);
        prof_mark(pf, "matmul_attproj_fwd");
        matmul_forward(bl, a.proj, l_atty, p[ATTPROJW] + (size_t)l * C * C, p[ATTPROJB] + l * C, N, C, C, st);
        prof_mark(pf, "residual_layernorm_fwd");
        residual_layernorm_forward(l_residual2, l_ln2, a.ln2_mean + l * N, a.ln2_rstd + l * N, residual, a.proj,
                                   p[LN2W] + l * C, p[LN2B] + l * C, N, C, st);
        prof_mark(pf, "matmul_fc_fwd");  // (the GELU kernel after it, unfused, marks itself gelu_fwd)
        matmul_forward_gelu(bl, l_fch_gelu, l_fch, l_ln2, p[FCW] + (size_t)l * 4 * C * C, p[FCB] + l * 4 * C, N, C, 4 * C, st);
        prof_mark(pf, "matmul_fcproj_fwd");
        matmul_forward(bl, a.proj, l_fch_gelu, p[FCPROJW] + (size_t)l * 4 * C * C, p[FCPROJB] + l * C, N, 4 * C, C, st);
        // the residual add that ends this layer feeds the next layernorm (ln1 of l+1, or lnf)
        prof_mark(pf, "residual_layernorm_fwd");
        if (l + 1 < L) {
            residual_layernorm_forward(l_residual3, a.ln1 + (l + 1) * BTC, a.ln1_mean + (l + 1) * N, a.ln1_rstd + (l + 1) * N,
                                       l_residual2, a.proj, p[LN1W] + (l + 1) * C, p[LN1B] + (l + 1) * C, N, C, st);
        } else {
            residual_layernorm_forward(l_residual3, a.lnf, a.lnf_mean, a.lnf_rstd, l_residual2, a.proj, p[LNFW], p[LNFB], N, C, st);
        }
    }
    prof_mark(pf, "matmul_lmhead_fwd");
    // lm_head is wte when tied; under muP the logits carry the multiplier r (model.h), applied as
    // the matmul's alpha: the losses, the sampler (gpt2_logits_row) and the backward see r * z
    matmul_forward(bl, a.logits, a.lnf, p[LM_HEAD], nullptr, N, C, Vp, st, logit_multiplier(cfg));
    if (targets) {
        prof_mark(pf, "classifier_fwd");
        classifier_forward(a.logits, a.losses, a.lse, model->d_targets, N, V, Vp, st);
        prof_mark(pf, nullptr);
        // the mean loss is this function's result: one sync per forward with targets
        cudaCheck(cudaMemcpyAsync(model->h_losses, a.losses, N * sizeof(float), cudaMemcpyDeviceToHost, st));
        cudaCheck(cudaStreamSynchronize(st));
        double sum = 0.0;  // in order, on the host: the same bits every run
        for (int i = 0; i < N; i++) sum += model->h_losses[i];
        model->mean_loss = (float)(sum / N);
    } else {
        model->mean_loss = -1.0f;
    }
    return model->mean_loss;
}

// The start of every training step in the driver: -prof's step counter.
void gpt2_zero_grad(GPT2* model) {
    prof_step_begin(&model->prof, model->stream);
    prof_mark(&model->prof, "zero_grad");
    cudaCheck(cudaMemsetAsync(model->grads_memory.get(), 0, model->num_parameters * sizeof(float), model->stream));
}

// Backward of the last forward (which must have had targets): the gradient of loss_scale * its
// mean loss. Parameter gradients accumulate.
void gpt2_backward(GPT2* model, float loss_scale) {
    if (!model->logits_have_targets) die("gpt2_backward: the last forward had no targets (or was already backpropagated)");
    const GPT2Config& cfg = model->config;
    const int B = model->B, T = model->T, N = B * T;
    const int V = cfg.vocab_size, Vp = cfg.padded_vocab_size, L = cfg.num_layers, NH = cfg.num_heads, C = cfg.channels;
    const size_t BTC = (size_t)N * C;
    cudaStream_t st = model->stream;
    Blas* bl = &model->blas;
    floatX* const* p = model->params.p;
    ParameterTensors& g = model->grads;
    ActivationTensors& a = model->acts;
    GradScratch& s = model->scratch;
    KernelProfiler* pf = &model->prof;
    const float attn_scale = attention_scale(cfg);

    // dlogits in place of the logits: the gradient w.r.t. the raw product lnf @ lm_head^T, so the
    // muP multiplier r (1 otherwise) joins dloss and the lm_head matmul backward is unchanged
    prof_mark(pf, "classifier_bwd");
    classifier_backward(a.logits, a.lse, model->d_targets, loss_scale * logit_multiplier(cfg) / N, N, V, Vp, st);
    model->logits_have_targets = false;
    const floatX* dlogits = a.logits;
    // dweight accumulates (beta = 1): into dwte when tied, which encoder_backward then adds to
    prof_mark(pf, "matmul_lmhead_bwd");
    matmul_backward(bl, s.dln, g.lm_head, nullptr, s.colsum, dlogits, a.lnf, p[LM_HEAD], N, C, Vp, st);
    prof_mark(pf, "layernorm_bwd");
    cudaCheck(cudaMemsetAsync(s.dresidual, 0, BTC * sizeof(floatX), st));
    layernorm_backward(s.dresidual, g.lnfw, g.lnfb, s.colsum, s.dln, a.residual3 + (L - 1) * BTC, p[LNFW], a.lnf_mean,
                       a.lnf_rstd, N, C, st);

    for (int l = L - 1; l >= 0; l--) {
        const floatX* residual = l == 0 ? a.encoded : a.residual3 + (l - 1) * BTC;
        const floatX* l_fch = a.fch + l * 4 * BTC;
        floatX* l_fch_gelu = a.fch_gelu + (model->recompute_gelu ? 0 : l * 4 * BTC);
        if (model->recompute_gelu) {
            prof_mark(pf, "gelu_recompute");
            gelu_forward(l_fch_gelu, l_fch, 4 * BTC, st);
        }
        // residual3 = residual2 + fcproj(gelu(fc(ln2(residual2))))
        prof_mark(pf, "matmul_fcproj_bwd");
        matmul_backward(bl, s.dfch, g.fcprojw + (size_t)l * 4 * C * C, g.fcprojb + l * C, s.colsum, s.dresidual,
                        l_fch_gelu, p[FCPROJW] + (size_t)l * 4 * C * C, N, 4 * C, C, st);
        prof_mark(pf, "gelu_bwd");
        gelu_backward(s.dfch, l_fch, s.dfch, 4 * BTC, st);  // in place: elementwise
        prof_mark(pf, "matmul_fc_bwd");
        matmul_backward(bl, s.dln, g.fcw + (size_t)l * 4 * C * C, g.fcb + l * 4 * C, s.colsum, s.dfch, a.ln2 + l * BTC,
                        p[FCW] + (size_t)l * 4 * C * C, N, C, 4 * C, st);
        prof_mark(pf, "layernorm_bwd");
        layernorm_backward(s.dresidual, g.ln2w + l * C, g.ln2b + l * C, s.colsum, s.dln, a.residual2 + l * BTC,
                           p[LN2W] + l * C, a.ln2_mean + l * N, a.ln2_rstd + l * N, N, C, st);
        // residual2 = residual + attproj(attention(qkv(ln1(residual))))
        prof_mark(pf, "matmul_attproj_bwd");
        matmul_backward(bl, s.datty, g.attprojw + (size_t)l * C * C, g.attprojb + l * C, s.colsum, s.dresidual,
                        a.atty + l * BTC, p[ATTPROJW] + (size_t)l * C * C, N, C, C, st);
        prof_mark(pf, "attention_bwd");
        if (model->flash_attention) {
            flash_attention_backward(s.dqkv, s.att_delta, s.datty, a.atty + l * BTC, a.qkv + l * 3 * BTC,
                                     a.att_lse + (size_t)l * B * NH * T, B, T, C, NH, attn_scale, st);
        } else {
            attention_backward(bl, s.dqkv, s.datty, a.qkv + l * 3 * BTC, a.att + (size_t)l * B * NH * T * T, s.attn, B, T, C,
                               NH, attn_scale, st);
        }
        prof_mark(pf, "matmul_qkv_bwd");
        matmul_backward(bl, s.dln, g.qkvw + (size_t)l * 3 * C * C, g.qkvb + l * 3 * C, s.colsum, s.dqkv, a.ln1 + l * BTC,
                        p[QKVW] + (size_t)l * 3 * C * C, N, C, 3 * C, st);
        prof_mark(pf, "layernorm_bwd");
        layernorm_backward(s.dresidual, g.ln1w + l * C, g.ln1b + l * C, s.colsum, s.dln, residual, p[LN1W] + l * C,
                           a.ln1_mean + l * N, a.ln1_rstd + l * N, N, C, st);
    }
    // wte / wpe on the device from the batch already there (encoder.cuh: sort-free, deterministic);
    // its fp32 partial sums borrow dfch, whose last reader (layer 0's fc backward) is done
    prof_mark(pf, "encoder_bwd");
    encoder_backward(g.wte, g.wpe, reinterpret_cast<float*>(s.dfch), model->d_wte_mask, s.dresidual, model->d_inputs, B, T, C,
                     V, 0, st);
    prof_mark(pf, nullptr);  // what follows before the norm (data-parallel reductions) is not the model's
}

// L2 norm of the optimizer shard's fp32 gradients (all of them unless ZeRO-1); synchronizes: the
// host needs it for the clip factor.
float gpt2_grad_norm(GPT2* model) {
    prof_mark(&model->prof, "grad_norm");
    global_grad_norm(model->scratch.norm, model->scratch.norm_partial, model->grads_memory.get() + model->opt_lo, model->opt_n,
                     model->stream);
    float norm;
    prof_mark(&model->prof, nullptr);
    cudaCheck(cudaMemcpyAsync(&norm, model->scratch.norm, sizeof(float), cudaMemcpyDeviceToHost, model->stream));
    cudaCheck(cudaStreamSynchronize(model->stream));
    return norm;
}

// The double sum of squares behind gpt2_grad_norm: ZeRO-1 adds the ranks' exactly (synchronizes).
double gpt2_grad_sumsq(GPT2* model) {
    double* out = model->scratch.sum_sq;  // the -rms slots: free again once gpt2_log_rms has read them
    prof_mark(&model->prof, "grad_norm");
    sum_squares(out, model->scratch.norm_partial, model->grads_memory.get() + model->opt_lo, model->opt_n, model->stream);
    prof_mark(&model->prof, nullptr);
    double sq;
    cudaCheck(cudaMemcpyAsync(&sq, out, sizeof(double), cudaMemcpyDeviceToHost, model->stream));
    cudaCheck(cudaStreamSynchronize(model->stream));
    return sq;
}

// AdamW as the CPU trainer's gpt2_update; t counts updates from 1. grad_scale: the clip factor.
// Each tensor k steps with lr * lr_multiplier(k) (muP's hidden weights: r * lr; else lr), its
// decoupled weight decay too.
GradView gpt2_grads(GPT2* model) { return GradView{model->grads_memory.get(), model->num_parameters, true}; }
void gpt2_grads_to_host(GPT2* model, float* dst) {
    cudaCheck(cudaMemcpyAsync(dst, model->grads_memory.get(), model->num_parameters * sizeof(float), cudaMemcpyDeviceToHost,
                              model->stream));
    cudaCheck(cudaStreamSynchronize(model->stream));
}
ParamView gpt2_params(GPT2* model) { return ParamView{model->params_memory.get(), model->num_parameters, sizeof(floatX), true}; }

void gpt2_update(GPT2* model, const AdamW& opt, float lr, float grad_scale, int t) {
    const float beta1 = opt.beta1, beta2 = opt.beta2, eps = opt.eps, weight_decay = opt.weight_decay;
    const uint32_t seed = opt.seed;
    // each tensor's part inside the optimizer shard [lo, hi): m, v and master are indexed from lo
    const size_t lo = model->opt_lo, hi = model->opt_lo + model->opt_n;
    size_t tensor_start = 0;
    prof_mark(&model->prof, "adamw");
    for (int k = 0; k < NUM_PARAMETER_TENSORS; k++) {
        const size_t begin = std::max(tensor_start, lo), end = std::min(tensor_start + model->param_sizes[k], hi);
        tensor_start += model->param_sizes[k];
        if (begin >= end) continue;  // also lm_head when tied: a 0-block launch is an invalid configuration
        const size_t n = end - begin, offset = begin;
        const float wd = PARAM_TABLE[k].decayed ? weight_decay : 0.0f, lr_k = lr * lr_multiplier(k, model->config);
        float* master = model->use_master ? model->master_memory.get() + (offset - lo) : nullptr;
        const uint32_t sr_seed = seed * 2654435761u + (uint32_t)t * 97u + (uint32_t)k;  // stochastic rounding only
        adamw_update(model->params_memory.get() + offset, master, model->grads_memory.get() + offset,
                     model->m_memory.get() + (offset - lo), model->v_memory.get() + (offset - lo), n, lr_k, beta1, beta2,
                     t, eps, wd, grad_scale, sr_seed, model->stream);
    }
    prof_mark(&model->prof, nullptr);  // (a ZeRO-1 all-gather may follow: not the model's)
}

// -rms: per-tensor RMS of the weights (the fp32 master when kept, else the floatX weights the
// kernels read) and of the gradients before clipping, reduced on the device: 4 small launches
// per tensor and one 2 x 17 double read-back, vs copying 2 x P floats to the host. Same line as
// the CPU trainer's (llmc/train/rms_log.h). Synchronizes; call after backward, before the update.
void gpt2_log_rms(GPT2* model, int step, FILE* log) {
    prof_mark(&model->prof, nullptr);  // diagnostics: not timed by -prof
    GradScratch& s = model->scratch;
    size_t off = 0;
    for (int k = 0; k < NUM_PARAMETER_TENSORS; k++) {
        const size_t n = model->param_sizes[k];
        if (n > 0) {
            if (model->use_master && model->opt_n == model->num_parameters) {  // (sharded: the floatX weights)
                sum_squares(s.sum_sq + k, s.norm_partial, model->master_memory.get() + off, n, model->stream);
            } else {
                sum_squares(s.sum_sq + k, s.norm_partial, model->params_memory.get() + off, n, model->stream);
            }
            sum_squares(s.sum_sq + NUM_PARAMETER_TENSORS + k, s.norm_partial, model->grads_memory.get() + off, n, model->stream);
        }
        off += n;
    }
    double sq[2 * NUM_PARAMETER_TENSORS];
    cudaCheck(cudaMemcpyAsync(sq, s.sum_sq, sizeof sq, cudaMemcpyDeviceToHost, model->stream));
    cudaCheck(cudaStreamSynchronize(model->stream));
    for (int k = 0; k < NUM_PARAMETER_TENSORS; k++) {
        if (model->param_sizes[k] == 0) sq[k] = sq[NUM_PARAMETER_TENSORS + k] = 0.0;  // slots never written
    }
    rms_log_write(log, step, model->param_sizes, sq, sq + NUM_PARAMETER_TENSORS);
    if (log) fflush(log);
}

// ----------------------------------------------------------------------------
// the rest of the model contract (llmc/model/model_api.h): host copies, logits for sampling, and this
// backend's lines in the driver's output

HostState gpt2_host(GPT2* model) {
    return HostState{model->host_params.get(), model->host_m.get(), model->host_v.get(), model->num_parameters, model->opt_lo, model->opt_n,
                     FLOATX_IS_FP32 ? MODEL_VERSION_FP32 : MODEL_VERSION_BF16, model->use_master};
}

// Device -> host: the weights (fp32 master when kept, else the floatX weights widened), and m, v.
void gpt2_to_host(GPT2* model, bool optimizer) {
    gpt2_download_params(model);
    if (optimizer) {
        cudaCheck(cudaMemcpy(model->host_m.get(), model->m_memory.get(), model->opt_n * sizeof(float), cudaMemcpyDeviceToHost));
        cudaCheck(cudaMemcpy(model->host_v.get(), model->v_memory.get(), model->opt_n * sizeof(float), cudaMemcpyDeviceToHost));
    }
}

void gpt2_to_device(GPT2* model, bool weights, bool optimizer) {
    if (weights) gpt2_upload_params(model);
    if (optimizer) {
        cudaCheck(cudaMemcpy(model->m_memory.get(), model->host_m.get(), model->opt_n * sizeof(float), cudaMemcpyHostToDevice));
        cudaCheck(cudaMemcpy(model->v_memory.get(), model->host_v.get(), model->opt_n * sizeof(float), cudaMemcpyHostToDevice));
    }
}

// Row `row` of the last forward's logits, widened to fp32 on the host (V real columns): the
// logits the loss used, the muP multiplier included.
const float* gpt2_logits_row(GPT2* model, int row) {
    const int V = model->config.vocab_size, Vp = model->config.padded_vocab_size;
    cudaCheck(cudaMemcpyAsync(model->row_raw.data(), model->acts.logits + (size_t)row * Vp, V * sizeof(floatX),
                              cudaMemcpyDeviceToHost, model->stream));
    cudaCheck(cudaStreamSynchronize(model->stream));
    for (int v = 0; v < V; v++) model->row_f32[v] = to_float(model->row_raw[v]);
    return model->row_f32.data();
}

// Device memory in use right now (all processes' view: total - free), in MiB.
double device_used_mib() {
    size_t free_b, total_b;
    cudaCheck(cudaMemGetInfo(&free_b, &total_b));
    return (total_b - free_b) / 1048576.0;
}

void gpt2_backend_init(const TrainConfig& cfg) {
    int device_count = 0;
    cudaError_t derr = cudaGetDeviceCount(&device_count);
    if (derr != cudaSuccess || device_count == 0) {
        die("no CUDA device found (%s): the CUDA trainer needs an NVIDIA GPU; use ./train_gpt2 on the CPU",
            derr != cudaSuccess ? cudaGetErrorString(derr) : "0 devices");
    }
    // one GPU per process: the local rank's (mpirun -np N on a machine with N GPUs)
    const int device = g_comm.local_rank % device_count;
    cudaDeviceProp prop;
    cudaCheck(cudaGetDeviceProperties(&prop, device));
    cudaCheck(cudaSetDevice(device));
    nccl_init();
    const double peak = gpu_bf16_peak(prop.name);
    printf("device: %s, %d SMs, %.1f GiB, sm_%d%d | precision %s%s | bf16 peak %s\n", prop.name,
           prop.multiProcessorCount, prop.totalGlobalMem / 1073741824.0, prop.major, prop.minor, PRECISION_NAME,
           FLOATX_IS_FP32 ? (cfg.tf32 ? " (TF32 matmuls: -f 1)" : " (exact: -f 0)") : "",
           peak > 0 ? (std::to_string((int)(peak / 1e12)) + " TFLOP/s").c_str() : "unknown (no MFU)");
}

std::string gpt2_describe(const GPT2* model) {
    char attn[128];
    const int hs = model->config.channels / model->config.num_heads;
    if (model->flash_attention) snprintf(attn, sizeof attn, " | fused attention (-fa 1)");
    else if (!model->flash_attention_requested) snprintf(attn, sizeof attn, " | unfused attention (-fa 0)");
    else if (!flash_attention_supported(hs)) snprintf(attn, sizeof attn, " | unfused attention (no fused kernel for head size %d)", hs);
    else snprintf(attn, sizeof attn, " | unfused attention (the fused one needs %zu bytes of shared memory per block)",
                  flash_attention_smem_bytes(hs));
    char buf[320];
    snprintf(buf, sizeof buf, " | device arenas %.1f MiB%s%s%s", model->device_bytes / 1048576.0,
             model->use_master ? " | fp32 master weights" : "", model->recompute_gelu ? " | GELU recomputed" : "", attn);
    return buf;
}

void gpt2_synchronize(GPT2* model) { cudaCheck(cudaStreamSynchronize(model->stream)); }

// " | MFU x% | mem y MiB" on stdout, " mfu:x" in the log. MFU: 6 FLOPs per parameter per token
// (forward + backward matmuls) + 6*L*C*T for attention's QK^T and AV, against the bf16 peak.
std::string gpt2_step_extra(GPT2* model, double ms, int tokens, bool for_log) {
    const GPT2Config& c = model->config;
    const double flops_per_token = 6.0 * (double)model->num_parameters + 6.0 * c.num_layers * c.channels * (double)model->max_T;
    const double mfu = model->peak_flops > 0 ? 100.0 * flops_per_token * tokens / (ms / 1e3) / model->peak_flops : -1.0;
    char buf[96];
    if (for_log) {
        snprintf(buf, sizeof buf, " mfu:%.2f", mfu);
        return buf;
    }
    prof_step_end(&model->prof);  // -prof: the table of the step just done
    const double used = device_used_mib();
    if (++model->steps_seen == 1) {  // what the step loop should never add to
        model->used_mib_step1 = used;
        model->mallocs_step1 = device_malloc_calls();
    }
    model->peak_mib = std::max(model->peak_mib, used);
    char mfu_str[32];
    if (mfu >= 0) snprintf(mfu_str, sizeof mfu_str, "%.1f%%", mfu);
    else snprintf(mfu_str, sizeof mfu_str, "n/a");
    snprintf(buf, sizeof buf, " | MFU %s | mem %.0f MiB", mfu_str, model->peak_mib);
    return buf;
}

// Peak device memory measured (cudaMemGetInfo after each step: the CUDA context, cuBLAS and any
// other process count too) next to what the trainer allocated and what gpt2_memory_needed
// predicted before allocating; and whether the step loop allocated anything after step 1.
std::string gpt2_summary_extra(GPT2* model) {
    const long long mallocs = device_malloc_calls();
    char allocs[64];
    if (mallocs >= 0) snprintf(allocs, sizeof allocs, "%lld device allocations", mallocs - model->mallocs_step1);
    else snprintf(allocs, sizeof allocs, "device allocations not counted on a GPU");
    char buf[320];
    snprintf(buf, sizeof buf,
             " | device memory: peak in use %.1f MiB (cudaMemGetInfo), allocated %.1f MiB, predicted %.1f MiB | after step 1: "
             "%+.1f MiB in use, %s",
             model->peak_mib, model->device_bytes / 1048576.0, model->predicted_bytes / 1048576.0,
             device_used_mib() - model->used_mib_step1, allocs);
    return buf;
}

// evaluation, sampling, checkpoints and the main loop: shared with the CPU trainer
#include "llmc/train/train_loop.h"

#ifndef TESTING
int main(int argc, char** argv) { return train_main(argc, argv, /*cuda=*/true); }
#endif
