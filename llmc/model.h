// GPT-2 configuration, the parameter layout (16 tensors in one flat arena, llm.c order),
// the nanoGPT-style seeded init, and model checkpoint read/write (llm.c format, FORMATS.md).
// Shared by the CPU and CUDA trainers: both hold the master weights on the host in this layout.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "formats.h"
#include "rand.h"
#include "utils.h"

struct GPT2Config {
    int max_seq_len = 1024;    // maxT
    int vocab_size = 50257;    // V
    int padded_vocab_size = 50304;  // Vp, V rounded up to 128
    int num_layers = 12;       // L
    int num_heads = 12;        // NH
    int channels = 768;        // C
};

constexpr int NUM_PARAMETER_TENSORS = 16;
constexpr const char* PARAM_NAMES[NUM_PARAMETER_TENSORS] = {
    "wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
    "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"};

// Views into the flat parameter (or gradient) arena. Shapes in PyTorch (out, in) layout.
struct ParameterTensors {
    float* wte;       // (Vp, C), also the lm_head (tied)
    float* wpe;       // (maxT, C)
    float* ln1w;      // (L, C)
    float* ln1b;      // (L, C)
    float* qkvw;      // (L, 3*C, C)
    float* qkvb;      // (L, 3*C)
    float* attprojw;  // (L, C, C)
    float* attprojb;  // (L, C)
    float* ln2w;      // (L, C)
    float* ln2b;      // (L, C)
    float* fcw;       // (L, 4*C, C)
    float* fcb;       // (L, 4*C)
    float* fcprojw;   // (L, C, 4*C)
    float* fcprojb;   // (L, C)
    float* lnfw;      // (C)
    float* lnfb;      // (C)
};

inline void fill_param_sizes(size_t sizes[NUM_PARAMETER_TENSORS], const GPT2Config& c) {
    size_t Vp = c.padded_vocab_size, C = c.channels, maxT = c.max_seq_len, L = c.num_layers;
    sizes[0] = Vp * C;
    sizes[1] = maxT * C;
    sizes[2] = L * C;
    sizes[3] = L * C;
    sizes[4] = L * 3 * C * C;
    sizes[5] = L * 3 * C;
    sizes[6] = L * C * C;
    sizes[7] = L * C;
    sizes[8] = L * C;
    sizes[9] = L * C;
    sizes[10] = L * 4 * C * C;
    sizes[11] = L * 4 * C;
    sizes[12] = L * C * 4 * C;
    sizes[13] = L * C;
    sizes[14] = C;
    sizes[15] = C;
}

inline size_t count_params(const size_t sizes[NUM_PARAMETER_TENSORS]) {
    size_t n = 0;
    for (int i = 0; i < NUM_PARAMETER_TENSORS; i++) n += sizes[i];
    return n;
}

// Slice a flat arena of count_params() floats into the 16 tensors.
inline ParameterTensors point_parameters(float* base, const size_t sizes[NUM_PARAMETER_TENSORS]) {
    ParameterTensors t;
    float** ptrs[NUM_PARAMETER_TENSORS] = {
        &t.wte, &t.wpe, &t.ln1w, &t.ln1b, &t.qkvw, &t.qkvb, &t.attprojw, &t.attprojb,
        &t.ln2w, &t.ln2b, &t.fcw, &t.fcb, &t.fcprojw, &t.fcprojb, &t.lnfw, &t.lnfb};
    for (int i = 0; i < NUM_PARAMETER_TENSORS; i++) {
        *ptrs[i] = base;
        base += sizes[i];
    }
    return t;
}

// Weight decay applies to the 2-D weights only (wte, wpe, qkvw, attprojw, fcw, fcprojw).
constexpr bool PARAM_DECAYED[NUM_PARAMETER_TENSORS] = {
    true, true, false, false, true, false, true, false,
    false, false, true, false, true, false, false, false};

inline int round_up_vocab(int V) { return (V + 127) / 128 * 128; }

// "dN" depth descriptor as llm.c's CUDA trainer: d6, d12, d24, d36, d48; C = 64 * NH.
// Returns false if desc is not of the form dN.
inline bool config_from_depth(const char* desc, GPT2Config* cfg) {
    if (desc[0] != 'd' || desc[1] == '\0') return false;
    char* end;
    long depth = strtol(desc + 1, &end, 10);
    if (*end != '\0') return false;
    int channels;
    switch (depth) {
        case 6: channels = 384; break;
        case 12: channels = 768; break;
        case 24: channels = 1024; break;
        case 36: channels = 1280; break;
        case 48: channels = 1600; break;
        default: die("unsupported depth %s: use d6, d12, d24, d36 or d48", desc);
    }
    cfg->num_layers = (int)depth;
    cfg->channels = channels;
    cfg->num_heads = channels / 64;
    cfg->max_seq_len = 1024;
    cfg->vocab_size = GPT2_VOCAB;
    cfg->padded_vocab_size = round_up_vocab(GPT2_VOCAB);
    return true;
}

// nanoGPT-style init, drawn like PyTorch: manual_seed(seed), then one normal_ per tensor in
// the order wte (first V rows), wpe, then per layer qkvw, attprojw, fcw, fcprojw.
// Residual projections get std 0.02/sqrt(2L). Biases 0, LayerNorm 1/0, wte padding rows 0.
inline void gpt2_init_nanogpt(float* params, const GPT2Config& c, uint32_t seed) {
    size_t sizes[NUM_PARAMETER_TENSORS];
    fill_param_sizes(sizes, c);
    memset(params, 0, count_params(sizes) * sizeof(float));
    ParameterTensors p = point_parameters(params, sizes);
    size_t C = c.channels, L = c.num_layers;
    Mt19937 rng(seed);
    const float std = 0.02f;
    const float resid_std = 0.02f / sqrtf(2.0f * (float)L);
    normal_fill(p.wte, (size_t)c.vocab_size * C, 0.0f, std, rng);
    normal_fill(p.wpe, (size_t)c.max_seq_len * C, 0.0f, std, rng);
    for (size_t l = 0; l < L; l++) {
        normal_fill(p.qkvw + l * 3 * C * C, 3 * C * C, 0.0f, std, rng);
        normal_fill(p.attprojw + l * C * C, C * C, 0.0f, resid_std, rng);
        normal_fill(p.fcw + l * 4 * C * C, 4 * C * C, 0.0f, std, rng);
        normal_fill(p.fcprojw + l * 4 * C * C, 4 * C * C, 0.0f, resid_std, rng);
    }
    for (size_t i = 0; i < L * C; i++) p.ln1w[i] = p.ln2w[i] = 1.0f;
    for (size_t i = 0; i < C; i++) p.lnfw[i] = 1.0f;
}

// bf16 <-> fp32: bf16 is the upper half of an fp32; round to nearest even on the way down.
inline uint16_t float_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);  // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}
inline float bf16_to_float(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// Checkpoint header check: every field must be in a sane range before we size any memory
// from it, so a foreign or corrupt file fails with a message instead of a huge allocation.
inline GPT2Config checkpoint_read_header(FILE* f, const char* path, int* version) {
    int32_t h[HEADER_INTS];
    int64_t size = file_size(f, path);
    if (size < HEADER_BYTES) die("%s: not a model checkpoint (only %lld bytes, header needs %d)", path, (long long)size, HEADER_BYTES);
    freadCheck(h, sizeof(int32_t), HEADER_INTS, f, path);
    if (h[0] != MODEL_MAGIC) die("%s: bad magic %d in model header (want %d): not an llm.c GPT-2 checkpoint", path, h[0], MODEL_MAGIC);
    if (h[1] != MODEL_VERSION_FP32 && h[1] != MODEL_VERSION_BF16) die("%s: unsupported model version %d (want 3 = fp32 or 5 = bf16)", path, h[1]);
    GPT2Config c;
    c.max_seq_len = h[2];
    c.vocab_size = h[3];
    c.num_layers = h[4];
    c.num_heads = h[5];
    c.channels = h[6];
    c.padded_vocab_size = h[7];
    if (c.max_seq_len <= 0 || c.max_seq_len > 1 << 20 || c.vocab_size <= 0 || c.vocab_size > 1 << 24 ||
        c.num_layers <= 0 || c.num_layers > 1024 || c.num_heads <= 0 || c.channels <= 0 ||
        c.channels > 1 << 16 || c.channels % c.num_heads != 0 ||
        c.padded_vocab_size < c.vocab_size || c.padded_vocab_size > c.vocab_size + (1 << 16)) {
        die("%s: implausible model header (maxT=%d V=%d L=%d NH=%d C=%d Vp=%d)", path,
            c.max_seq_len, c.vocab_size, c.num_layers, c.num_heads, c.channels, c.padded_vocab_size);
    }
    size_t sizes[NUM_PARAMETER_TENSORS];
    fill_param_sizes(sizes, c);
    size_t elem = h[1] == MODEL_VERSION_FP32 ? 4 : 2;
    int64_t want = HEADER_BYTES + (int64_t)(count_params(sizes) * elem);
    if (size != want) die("%s: file is %lld bytes but its header (L=%d C=%d Vp=%d, version %d) needs %lld: truncated or corrupt", path, (long long)size, c.num_layers, c.channels, c.padded_vocab_size, h[1], (long long)want);
    *version = h[1];
    return c;
}

// Read the parameter block (after the header) into fp32 params.
inline void checkpoint_read_params(FILE* f, const char* path, int version, float* params, size_t n) {
    if (version == MODEL_VERSION_FP32) {
        freadCheck(params, sizeof(float), n, f, path);
        return;
    }
    std::vector<uint16_t> buf(1 << 20);
    for (size_t i = 0; i < n; i += buf.size()) {
        size_t k = std::min(buf.size(), n - i);
        freadCheck(buf.data(), sizeof(uint16_t), k, f, path);
        for (size_t j = 0; j < k; j++) params[i + j] = bf16_to_float(buf[j]);
    }
}

// Write a checkpoint atomically (temp file + rename): version 3 (fp32) or 5 (bf16).
inline void checkpoint_write(const std::string& path, const GPT2Config& c, const float* params, size_t n, int version) {
    int32_t h[HEADER_INTS] = {0};
    h[0] = MODEL_MAGIC;
    h[1] = version;
    h[2] = c.max_seq_len;
    h[3] = c.vocab_size;
    h[4] = c.num_layers;
    h[5] = c.num_heads;
    h[6] = c.channels;
    h[7] = c.padded_vocab_size;
    AtomicWriter w(path);
    fwriteCheck(h, sizeof(int32_t), HEADER_INTS, w.get(), path.c_str());
    if (version == MODEL_VERSION_FP32) {
        fwriteCheck(params, sizeof(float), n, w.get(), path.c_str());
    } else {
        std::vector<uint16_t> buf(1 << 20);
        for (size_t i = 0; i < n; i += buf.size()) {
            size_t k = std::min(buf.size(), n - i);
            for (size_t j = 0; j < k; j++) buf[j] = float_to_bf16(params[i + j]);
            fwriteCheck(buf.data(), sizeof(uint16_t), k, w.get(), path.c_str());
        }
    }
    w.commit();
}
