// GPT-2 configuration and the parameter layout: the parameter table (16 llm.c tensors + lm_head in
// one flat arena), sizes and views. Init is in init.h, checkpoint files in ../io/checkpoint.h.
// Shared by the CPU and CUDA trainers: both hold the master weights on the host in this layout.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "../io/formats.h"
#include "../utils.h"

struct GPT2Config {
    int max_seq_len = 1024;    // maxT
    int vocab_size = 50257;    // V
    int padded_vocab_size = 50304;  // Vp, V rounded up to 128
    int num_layers = 12;       // L
    int num_heads = 12;        // NH
    int channels = 768;        // C
    bool tied = true;          // lm_head is wte (llm.c); false adds an lm_head tensor
};

// The parameter table: the 16 llm.c tensors in file order, then lm_head, which is empty (0
// elements) when tied: the lm_head view then points at wte, in the parameters and in the
// gradients, so the tied gradient is the sum of both uses without any special case. The layout
// (fill_param_sizes, point_parameters), init, checkpoints, AdamW's weight decay, the -rms log and
// the tests all read this one table.
enum ParamIndex { WTE, WPE, LN1W, LN1B, QKVW, QKVB, ATTPROJW, ATTPROJB, LN2W, LN2B, FCW, FCB, FCPROJW, FCPROJB, LNFW, LNFB,
                  LM_HEAD, NUM_PARAMETER_TENSORS };

// A dimension of a parameter's shape, in terms of the config.
enum class Dim : uint8_t { None, L, C, C3, C4, Vp, MaxT };
struct ParamSpec {
    const char* name;
    Dim shape[3];          // PyTorch (out, in) layout, leading L for per-layer tensors; None pads
    bool decayed;          // AdamW weight decay: the 2-D weights only
    const char* hf_name;   // Hugging Face GPT-2 name; {l} is the layer
};
constexpr ParamSpec PARAM_TABLE[NUM_PARAMETER_TENSORS] = {
    {"wte", {Dim::Vp, Dim::C}, true, "transformer.wte.weight"},
    {"wpe", {Dim::MaxT, Dim::C}, true, "transformer.wpe.weight"},
    {"ln1w", {Dim::L, Dim::C}, false, "transformer.h.{l}.ln_1.weight"},
    {"ln1b", {Dim::L, Dim::C}, false, "transformer.h.{l}.ln_1.bias"},
    {"qkvw", {Dim::L, Dim::C3, Dim::C}, true, "transformer.h.{l}.attn.c_attn.weight"},
    {"qkvb", {Dim::L, Dim::C3}, false, "transformer.h.{l}.attn.c_attn.bias"},
    {"attprojw", {Dim::L, Dim::C, Dim::C}, true, "transformer.h.{l}.attn.c_proj.weight"},
    {"attprojb", {Dim::L, Dim::C}, false, "transformer.h.{l}.attn.c_proj.bias"},
    {"ln2w", {Dim::L, Dim::C}, false, "transformer.h.{l}.ln_2.weight"},
    {"ln2b", {Dim::L, Dim::C}, false, "transformer.h.{l}.ln_2.bias"},
    {"fcw", {Dim::L, Dim::C4, Dim::C}, true, "transformer.h.{l}.mlp.c_fc.weight"},
    {"fcb", {Dim::L, Dim::C4}, false, "transformer.h.{l}.mlp.c_fc.bias"},
    {"fcprojw", {Dim::L, Dim::C, Dim::C4}, true, "transformer.h.{l}.mlp.c_proj.weight"},
    {"fcprojb", {Dim::L, Dim::C}, false, "transformer.h.{l}.mlp.c_proj.bias"},
    {"lnfw", {Dim::C}, false, "transformer.ln_f.weight"},
    {"lnfb", {Dim::C}, false, "transformer.ln_f.bias"},
    {"lm_head", {Dim::Vp, Dim::C}, true, "lm_head.weight"},
};

// Views into the flat parameter (or gradient) arena. Shapes in PyTorch (out, in) layout.
struct ParameterTensors {
    float* wte;       // (Vp, C), also the lm_head when tied
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
    float* lm_head;   // (Vp, C) own tensor when untied, else = wte
};

inline size_t dim_size(Dim d, const GPT2Config& c) {
    switch (d) {
        case Dim::None: return 1;
        case Dim::L: return (size_t)c.num_layers;
        case Dim::C: return (size_t)c.channels;
        case Dim::C3: return 3 * (size_t)c.channels;
        case Dim::C4: return 4 * (size_t)c.channels;
        case Dim::Vp: return (size_t)c.padded_vocab_size;
        case Dim::MaxT: return (size_t)c.max_seq_len;
    }
    return 0;
}

// Elements of each tensor (lm_head: 0 when tied).
inline void fill_param_sizes(size_t sizes[NUM_PARAMETER_TENSORS], const GPT2Config& c) {
    for (int k = 0; k < NUM_PARAMETER_TENSORS; k++) {
        size_t n = 1;
        for (Dim d : PARAM_TABLE[k].shape) n *= dim_size(d, c);
        sizes[k] = n;
    }
    if (c.tied) sizes[LM_HEAD] = 0;
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
        &t.ln2w, &t.ln2b, &t.fcw, &t.fcb, &t.fcprojw, &t.fcprojb, &t.lnfw, &t.lnfb, &t.lm_head};
    for (int i = 0; i < NUM_PARAMETER_TENSORS; i++) {
        *ptrs[i] = base;
        base += sizes[i];
    }
    if (sizes[LM_HEAD] == 0) t.lm_head = t.wte;  // tied
    return t;
}

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
