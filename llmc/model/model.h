// GPT-2 configuration and the parameter layout: the parameter table (16 llm.c tensors + lm_head in
// one flat arena), sizes and views. Init is in init.h, checkpoint files in ../io/checkpoint.h.
// Shared by the CPU and CUDA trainers: both hold the master weights on the host in this layout.
#pragma once
#include <algorithm>
#include <cctype>
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
    int mup_base = 0;          // muP's base width C0 (-init mup -mup-base); 0: the standard parametrization
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

// muP (maximal update parametrization for Adam; Yang et al. 2022, "Tensor Programs V", arXiv
// 2203.03466, Table 8, the form of Microsoft's mup package) relative to a base width C0 =
// mup_base, with r = C0 / C. What it changes besides the init (init.h, -init mup):
//   logits      = r * (lnf @ lm_head^T): the readout multiplier 1/width_mult (tied: the logits are
//                 scaled, wte itself is not); its gradient carries the same factor
//   attention   scores q.k / hs instead of q.k / sqrt(hs)
//   AdamW lr    r * lr for the hidden (matrix-like: both dimensions grow with C) weights qkvw,
//               attprojw, fcw, fcprojw; lr for wte, wpe, an untied lm_head (which has the readout
//               multiplier instead), biases and LayerNorm (vector-like). Decoupled weight decay
//               uses the tensor's own lr, as torch.optim.AdamW with per-group lrs does.
// At C = C0 the forward differs from the standard parametrization only in the attention scale.
// mup_base is stored in the checkpoint header (header[9]), so a muP model reloads as one.
inline float mup_ratio(const GPT2Config& c) { return c.mup_base > 0 ? (float)c.mup_base / (float)c.channels : 1.0f; }
inline float logit_multiplier(const GPT2Config& c) { return mup_ratio(c); }
inline float attention_scale(const GPT2Config& c) {
    const float hs = (float)(c.channels / c.num_heads);
    return c.mup_base > 0 ? 1.0f / hs : 1.0f / sqrtf(hs);
}
inline bool mup_hidden_tensor(int k) { return k == QKVW || k == ATTPROJW || k == FCW || k == FCPROJW; }
inline float lr_multiplier(int k, const GPT2Config& c) { return c.mup_base > 0 && mup_hidden_tensor(k) ? mup_ratio(c) : 1.0f; }

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

// A from-scratch model by name (-e), or false if desc names none (then it is a checkpoint path):
//   dN                 llm.c's depth descriptor: d6, d12, d24, d36, d48 (C = 64 * NH, maxT 1024)
//   gpt2, gpt2-medium, gpt2-large, gpt2-xl     the published sizes (= d12, d24, d36, d48)
//   L8:C512:NH8[:T256][:V50257]                any shape: layers, channels, heads, and optionally
//                      maxT (default 1024) and vocab size (default 50257; Vp rounds it up to 128)
// A malformed or out-of-range shape stops with one line saying what is wrong.
inline bool config_from_depth(const char* desc, GPT2Config* cfg) {
    static const struct { const char* name; int layers, channels; } NAMED[] = {
        {"d6", 6, 384}, {"d12", 12, 768}, {"d24", 24, 1024}, {"d36", 36, 1280}, {"d48", 48, 1600},
        {"gpt2", 12, 768}, {"gpt2-medium", 24, 1024}, {"gpt2-large", 36, 1280}, {"gpt2-xl", 48, 1600},
    };
    long L = 0, C = 0, NH = 0, T = 1024, V = GPT2_VOCAB;
    bool named = false;
    for (const auto& m : NAMED) {
        if (strcmp(desc, m.name) == 0) L = m.layers, C = m.channels, NH = m.channels / 64, named = true;
    }
    if (!named) {
        if (desc[0] == 'd' && isdigit((unsigned char)desc[1])) {
            die("-e %s: unsupported depth: use d6, d12, d24, d36, d48, a name (gpt2, gpt2-medium, gpt2-large, gpt2-xl) "
                "or a shape L8:C512:NH8[:T256][:V50257]", desc);
        }
        // a checkpoint path (a file name has a '.' or a '/'; a shape never does)
        if (desc[0] != 'L' || !isdigit((unsigned char)desc[1]) || strpbrk(desc, "./")) return false;
        // fields KEYvalue separated by ':'; L, C, NH required, T and V optional, each once
        long* seen[5] = {nullptr};
        for (const char* p = desc; *p;) {
            const char* key_end = p;
            while (isalpha((unsigned char)*key_end)) key_end++;
            const std::string key(p, key_end);
            long* dst = key == "L" ? &L : key == "C" ? &C : key == "NH" ? &NH : key == "T" ? &T : key == "V" ? &V : nullptr;
            if (!dst) die("-e %s: unknown field '%s' in a model shape (fields: L, C, NH, T, V; e.g. L8:C512:NH8)", desc, key.c_str());
            const int slot = key == "L" ? 0 : key == "C" ? 1 : key == "NH" ? 2 : key == "T" ? 3 : 4;
            if (seen[slot]) die("-e %s: field %s given twice", desc, key.c_str());
            seen[slot] = dst;
            char* end;
            errno = 0;
            const long v = isdigit((unsigned char)*key_end) ? strtol(key_end, &end, 10) : -1;
            if (v < 0 || errno || (*end != ':' && *end != '\0')) die("-e %s: field %s needs a whole number (e.g. %s8)", desc, key.c_str(), key.c_str());
            *dst = v;
            p = *end == ':' ? end + 1 : end;
            if (*end == ':' && !*p) die("-e %s: trailing ':'", desc);
        }
        if (!seen[0] || !seen[1] || !seen[2]) die("-e %s: a model shape needs L, C and NH (e.g. L8:C512:NH8)", desc);
    }
    // the limits the checkpoint reader accepts, and what the kernels need
    if (L < 1 || L > 1024) die("-e %s: L=%ld layers: must be 1..1024", desc, L);
    if (C < 1 || C > (1 << 16)) die("-e %s: C=%ld channels: must be 1..65536", desc, C);
    if (NH < 1 || C % NH != 0) die("-e %s: C=%ld is not divisible by NH=%ld heads", desc, C, NH);
    if ((C / NH) % 4 != 0) die("-e %s: head size C/NH = %ld must be a multiple of 4 (the attention kernels' vectors)", desc, C / NH);
    if (T < 1 || T > (1 << 20)) die("-e %s: T=%ld (maxT): must be 1..1048576", desc, T);
    if (V < 1 || V > 65536) die("-e %s: V=%ld: must be 1..65536 (token shards store uint16 ids)", desc, V);
    cfg->num_layers = (int)L;
    cfg->channels = (int)C;
    cfg->num_heads = (int)NH;
    cfg->max_seq_len = (int)T;
    cfg->vocab_size = (int)V;
    cfg->padded_vocab_size = round_up_vocab((int)V);
    return true;
}
