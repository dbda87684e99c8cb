// Initialization schemes (-init), the embedding override (-init-emb) and the -init-report
// statistics, for the parameter layout of model.h.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "../rand.h"
#include "../utils.h"
#include "model.h"

// Initialization schemes (-init), the embedding override (-init-emb), and the init report.
//
// Every scheme draws like PyTorch would from torch.manual_seed(seed), one normal_/uniform_ call
// per contiguous tensor (per layer for the stacked ones), in this order:
//   wte (first V rows), [lm_head (first V rows), untied only], wpe,
//   then for each layer: qkvw, [qkvb], attprojw, [attprojb], fcw, [fcb], fcprojw, [fcprojb]
// (biases are drawn only by "pytorch", as nn.Linear does right after its weight). Biases are
// otherwise 0, LayerNorm weights 1 and biases 0, and wte's padding rows 0.
// Linear-like weights are (out, in): fan_in = in, fan_out = out.
//   nanogpt (default)   N(0, 0.02); attprojw and fcprojw N(0, 0.02/sqrt(2L)); embeddings N(0, 0.02)
//   pytorch             nn.Linear: weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in))
//                       (kaiming_uniform_ with a=sqrt(5)); nn.Embedding N(0, 1)
//   xavier-uniform      U(-b, b), b = sqrt(6 / (fan_in + fan_out))      (torch.nn.init, gain 1)
//   xavier-normal       N(0, sqrt(2 / (fan_in + fan_out)))
//   kaiming-uniform     U(-b, b), b = sqrt(6 / fan_in)                  (a = 0, mode fan_in)
//   kaiming-normal      N(0, sqrt(2 / fan_in))
//   uniform:A           U(-A, A)
//   normal:STD          N(0, STD)
// The last six keep nanoGPT's N(0, 0.02) embeddings.
// Schemes of production LLM codebases (d = C the model width, L layers, l = 0..L-1 the layer,
// d_ff = 4C; "resid" = attprojw and fcprojw, the projections into the residual stream;
// TN(s, k) = a normal of std s truncated at +-k s, drawn as torch.nn.init.trunc_normal_):
//   small-init          N(0, sqrt(2 / (5 d))) for every weight, embeddings included
//                       (Nguyen & Salazar 2019, "Transformers without Tears"; GPT-NeoX small_init)
//   neox                small-init, but resid N(0, 2 / (L sqrt(d))) (GPT-NeoX's wang_init pairing)
//   megatron            TN(0.02, 3) for every weight, embeddings included; resid TN(0.02 / sqrt(2L), 3)
//                       (Megatron-LM's init_method_normal / scaled_init_method_normal; OLMo's
//                       "full_megatron" with its +-3 sigma cut)
//   olmo-mitchell       TN(1/sqrt(d), 3) for embeddings, qkvw, fcw and an untied lm_head;
//                       attprojw[l] TN(1/sqrt(2 d (l+1)), 3), fcprojw[l] TN(1/sqrt(2 d_ff (l+1)), 3)
//                       (OLMo's "mitchell" init)
//   fan-in-trunc        variance_scaling(1, fan_in, truncated_normal) for every Linear weight
//                       (MaxText / T5X default): std sqrt(1 / fan_in) after a cut at +-2 sigma of
//                       the underlying normal, whose std is therefore sqrt(1/fan_in) / 0.8796256610
//                       (the std of a unit normal truncated at +-2); embeddings N(0, 0.02)
//   zero-out            nanogpt, then attprojw and fcprojw set to exactly 0 (modded-nanogpt); the
//                       draws are made as nanogpt's, so every other tensor equals nanogpt's
//   mup                 muP for Adam (model.h: the forward and lr rules; Yang et al. 2022, Tensor
//                       Programs V, Table 8) with base width C0 = -mup-base and r = C0 / C:
//                       hidden weights qkvw, fcw N(0, 0.02 sqrt(r)), attprojw, fcprojw
//                       N(0, 0.02 sqrt(r) / sqrt(2L)) (variance ~ 1/fan_in: nanogpt's stds at C = C0);
//                       wte, wpe and an untied lm_head N(0, 0.02), constant in width (the readout
//                       is scaled by r in the forward instead). -mup-zero-q 1 then sets the query
//                       rows (the first C rows of each layer's qkvw) to 0, draws unchanged.
// -init-emb replaces the embedding init of
// wte and wpe: uniform:A, normal:STD, or file:PATH, which loads wte's (V, C) rows (wpe keeps
// the scheme's init) from a .npy file (float32, C order, shape (V, C) or (Vp, C)) or a raw file
// of exactly V*C or Vp*C little-endian float32.

enum class InitKind { NanoGPT, PyTorch, XavierUniform, XavierNormal, KaimingUniform, KaimingNormal, Uniform, Normal, File,
                      SmallInit, NeoX, Megatron, OlmoMitchell, FanInTrunc, ZeroOut, Mup };

struct InitSpec {
    InitKind kind = InitKind::NanoGPT;
    float value = 0.0f;  // A of uniform:A, STD of normal:STD
    std::string path;    // file:PATH (embedding override only)
    bool zero_query = false;  // mup: query rows of qkvw set to 0 (the base width is the model's, GPT2Config::mup_base)
};

// Parses an -init value (embedding = false) or an -init-emb value (embedding = true).
inline bool parse_init_spec(const char* text, bool embedding, InitSpec* out) {
    struct Name {
        const char* name;
        InitKind kind;
    };
    static const Name names[] = {{"nanogpt", InitKind::NanoGPT}, {"pytorch", InitKind::PyTorch},
                                 {"xavier-uniform", InitKind::XavierUniform}, {"xavier-normal", InitKind::XavierNormal},
                                 {"kaiming-uniform", InitKind::KaimingUniform}, {"kaiming-normal", InitKind::KaimingNormal},
                                 {"small-init", InitKind::SmallInit}, {"neox", InitKind::NeoX}, {"megatron", InitKind::Megatron},
                                 {"olmo-mitchell", InitKind::OlmoMitchell}, {"fan-in-trunc", InitKind::FanInTrunc},
                                 {"zero-out", InitKind::ZeroOut}, {"mup", InitKind::Mup}};
    *out = InitSpec{};
    if (!embedding) {
        for (const Name& n : names) {
            if (!strcmp(text, n.name)) {
                out->kind = n.kind;
                return true;
            }
        }
    }
    if (embedding && !strncmp(text, "file:", 5) && text[5] != '\0') {
        out->kind = InitKind::File;
        out->path = text + 5;
        return true;
    }
    const char* colon = strchr(text, ':');
    if (!colon) return false;
    const std::string head(text, colon - text);
    if (head != "uniform" && head != "normal") return false;
    char* end;
    errno = 0;
    const double v = strtod(colon + 1, &end);
    if (errno || end == colon + 1 || *end != '\0' || !(v > 0.0) || !std::isfinite(v)) return false;
    out->kind = head == "uniform" ? InitKind::Uniform : InitKind::Normal;
    out->value = (float)v;
    return true;
}

// What one tensor is drawn from: a normal of std `scale` (truncated at +-cut * scale when cut > 0),
// or a uniform on [-scale, scale). Scales are doubles, as in torch.nn.init's Python.
struct Dist {
    bool uniform;
    double scale;
    double cut = 0.0;
    // the std of the values drawn
    double std() const {
        if (uniform) return scale / sqrt(3.0);
        if (cut <= 0.0) return scale;
        // a unit normal truncated at +-k: variance 1 - 2 k phi(k) / (2 Phi(k) - 1)
        const double k = cut, phi = exp(-k * k / 2) / sqrt(2 * M_PI), mass = erf(k / sqrt(2.0));
        return scale * sqrt(1.0 - 2.0 * k * phi / mass);
    }
};

// Where a Linear-like weight sits: (out, in) with fan_in = in, fan_out = out; resid marks the two
// projections into the residual stream; layer l of L; d = C, the model width; readout marks an
// untied lm_head; mup_base is the model's muP base width (GPT2Config::mup_base).
struct LinearSite {
    size_t fan_in, fan_out;
    bool resid;
    int layer, L;
    size_t d;
    bool readout = false;
    int mup_base = 0;
};

constexpr double TRUNC_2SIGMA_STD = 0.87962566103423978;  // std of a unit normal truncated at +-2

// A scheme's distribution for a Linear-like weight. Scales are computed in double exactly as
// torch.nn.init's Python does (uniform bounds are then rounded to float, so uniform draws come
// out bit-identical to PyTorch's).
inline Dist linear_dist(const InitSpec& s, const LinearSite& w) {
    const double fi = (double)w.fan_in, fo = (double)w.fan_out, d = (double)w.d, L = (double)w.L;
    switch (s.kind) {
        case InitKind::NanoGPT:
        case InitKind::ZeroOut: return {false, w.resid ? 0.02 / sqrt(2.0 * L) : 0.02};
        case InitKind::PyTorch: return {true, (double)(float)(sqrt(3.0) * (sqrt(2.0 / (1.0 + 5.0)) / sqrt(fi)))};  // a = sqrt(5)
        case InitKind::XavierUniform: return {true, (double)(float)(sqrt(3.0) * sqrt(2.0 / (fi + fo)))};
        case InitKind::XavierNormal: return {false, sqrt(2.0 / (fi + fo))};
        case InitKind::KaimingUniform: return {true, (double)(float)(sqrt(3.0) * (sqrt(2.0) / sqrt(fi)))};
        case InitKind::KaimingNormal: return {false, sqrt(2.0) / sqrt(fi)};
        case InitKind::Uniform: return {true, (double)s.value};
        case InitKind::Normal: return {false, (double)s.value};
        case InitKind::SmallInit: return {false, sqrt(2.0 / (5.0 * d))};
        case InitKind::NeoX: return {false, w.resid ? 2.0 / (L * sqrt(d)) : sqrt(2.0 / (5.0 * d))};
        case InitKind::Megatron: return {false, w.resid ? 0.02 / sqrt(2.0 * L) : 0.02, 3.0};
        case InitKind::OlmoMitchell: return {false, w.resid ? 1.0 / sqrt(2.0 * fi * (w.layer + 1)) : 1.0 / sqrt(d), 3.0};
        case InitKind::FanInTrunc: return {false, sqrt(1.0 / fi) / TRUNC_2SIGMA_STD, 2.0};
        case InitKind::Mup: {
            if (w.readout) return {false, 0.02};  // constant in width: the forward scales the logits by r
            if (w.mup_base <= 0) die("-init mup: the model has no muP base width (GPT2Config::mup_base)");
            const double r = (double)w.mup_base / d;
            return {false, w.resid ? 0.02 * sqrt(r) / sqrt(2.0 * L) : 0.02 * sqrt(r)};
        }
        case InitKind::File: break;
    }
    die("linear_dist: not a weight scheme");
}

// wte's and wpe's distribution: the override when given, else the scheme's embedding default.
inline Dist embedding_dist(const InitSpec& scheme, const InitSpec& emb, size_t d) {
    if (emb.kind == InitKind::Uniform) return {true, (double)emb.value};
    if (emb.kind == InitKind::Normal) return {false, (double)emb.value};
    switch (scheme.kind) {
        case InitKind::PyTorch: return {false, 1.0};  // nn.Embedding
        case InitKind::SmallInit:
        case InitKind::NeoX: return {false, sqrt(2.0 / (5.0 * (double)d))};
        case InitKind::Megatron: return {false, 0.02, 3.0};
        case InitKind::OlmoMitchell: return {false, 1.0 / sqrt((double)d), 3.0};
        default: return {false, 0.02};
    }
}

inline void draw(float* x, size_t n, Dist d, Mt19937& rng) {
    if (d.uniform) uniform_fill(x, n, (float)-d.scale, (float)d.scale, rng);
    else if (d.cut > 0.0) trunc_normal_fill(x, n, d.scale, -d.cut * d.scale, d.cut * d.scale, rng);
    else normal_fill(x, n, 0.0f, (float)d.scale, rng);
}

// Reads a (V, C) or (Vp, C) float32 matrix (.npy or raw) into wte's first V rows.
inline void load_embedding_file(float* wte, const GPT2Config& c, const std::string& path) {
    const char* p = path.c_str();
    FilePtr f(fopenCheck(p, "rb"));
    const int64_t size = file_size(f.get(), p);
    const int64_t C = c.channels, V = c.vocab_size, Vp = c.padded_vocab_size;
    int64_t offset = 0;
    char magic[6] = {0};
    if (size >= 10 && fread(magic, 1, 6, f.get()) == 6 && !memcmp(magic, "\x93NUMPY", 6)) {
        unsigned char ver[2];
        freadCheck(ver, 1, 2, f.get(), p);
        uint32_t hlen = 0;
        if (ver[0] == 1) {
            uint16_t h16;
            freadCheck(&h16, 2, 1, f.get(), p);
            hlen = h16;
            offset = 10 + hlen;
        } else {
            freadCheck(&hlen, 4, 1, f.get(), p);
            offset = 12 + hlen;
        }
        if (hlen > 4096) die("%s: implausible .npy header length %u", p, hlen);
        std::string header(hlen, '\0');
        freadCheck(&header[0], 1, hlen, f.get(), p);
        if (header.find("'descr': '<f4'") == std::string::npos) die("%s: .npy dtype must be little-endian float32 ('<f4')", p);
        if (header.find("'fortran_order': False") == std::string::npos) die("%s: .npy must be in C order", p);
        long rows = -1, cols = -1;
        const size_t sh = header.find("'shape': (");
        if (sh == std::string::npos || sscanf(header.c_str() + sh + 10, "%ld, %ld)", &rows, &cols) != 2) die("%s: .npy shape must be 2-D", p);
        if (cols != C || (rows != V && rows != Vp)) {
            die("%s: .npy shape (%ld, %ld); want (%lld, %lld) or (%lld, %lld)", p, rows, cols, (long long)V, (long long)C,
                (long long)Vp, (long long)C);
        }
        if (size != offset + rows * C * 4) die("%s: .npy holds %lld data bytes, its shape needs %lld", p, (long long)(size - offset), (long long)(rows * C * 4));
    } else if (size != V * C * 4 && size != Vp * C * 4) {
        die("%s: a raw embedding file must be V*C*4 = %lld or Vp*C*4 = %lld bytes of float32, not %lld", p,
            (long long)(V * C * 4), (long long)(Vp * C * 4), (long long)size);
    }
    if (fseeko(f.get(), offset, SEEK_SET) != 0) die("%s: cannot seek", p);
    freadCheck(wte, sizeof(float), (size_t)(V * C), f.get(), p);
    for (int64_t i = 0; i < V * C; i++) {
        if (!std::isfinite(wte[i])) die("%s: value %lld is not finite", p, (long long)i);
    }
}

// Initializes all parameters per the scheme (see the table above).
inline void gpt2_init(float* params, const GPT2Config& c, const InitSpec& scheme, const InitSpec& emb, uint32_t seed) {
    size_t sizes[NUM_PARAMETER_TENSORS];
    fill_param_sizes(sizes, c);
    memset(params, 0, count_params(sizes) * sizeof(float));
    ParameterTensors p = point_parameters(params, sizes);
    const size_t C = c.channels, L = c.num_layers, V = c.vocab_size;
    const InitSpec wpe_emb = emb.kind == InitKind::File ? InitSpec{} : emb;
    Mt19937 rng(seed);
    if (emb.kind == InitKind::File) load_embedding_file(p.wte, c, emb.path);
    else draw(p.wte, V * C, embedding_dist(scheme, emb, C), rng);
    if (!c.tied) draw(p.lm_head, V * C, linear_dist(scheme, {C, V, false, 0, (int)L, C, true, c.mup_base}), rng);
    draw(p.wpe, (size_t)c.max_seq_len * C, embedding_dist(scheme, wpe_emb, C), rng);
    struct Linear {
        float* w;
        float* b;
        size_t in, out;
        bool resid;
    };
    for (size_t l = 0; l < L; l++) {
        const Linear layers[4] = {{p.qkvw + l * 3 * C * C, p.qkvb + l * 3 * C, C, 3 * C, false},
                                  {p.attprojw + l * C * C, p.attprojb + l * C, C, C, true},
                                  {p.fcw + l * 4 * C * C, p.fcb + l * 4 * C, C, 4 * C, false},
                                  {p.fcprojw + l * 4 * C * C, p.fcprojb + l * C, 4 * C, C, true}};
        for (const Linear& lin : layers) {
            draw(lin.w, lin.in * lin.out, linear_dist(scheme, {lin.in, lin.out, lin.resid, (int)l, (int)L, C, false, c.mup_base}), rng);
            if (scheme.kind == InitKind::ZeroOut && lin.resid) memset(lin.w, 0, lin.in * lin.out * sizeof(float));
            if (scheme.kind == InitKind::Mup && scheme.zero_query && lin.out == 3 * C) memset(lin.w, 0, C * C * sizeof(float));
            if (scheme.kind == InitKind::PyTorch) {  // nn.Linear's bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
                const float bound = (float)(1.0 / sqrt((double)lin.in));
                uniform_fill(lin.b, lin.out, -bound, bound, rng);
            }
        }
    }
    for (size_t i = 0; i < L * C; i++) p.ln1w[i] = p.ln2w[i] = 1.0f;
    for (size_t i = 0; i < C; i++) p.lnfw[i] = 1.0f;
}

// nanoGPT's default init.
inline void gpt2_init_nanogpt(float* params, const GPT2Config& c, uint32_t seed) {
    gpt2_init(params, c, InitSpec{}, InitSpec{}, seed);
}

// The std tensor k (layer l of the stacked ones) was meant to be drawn with: -1 for a constant
// tensor (LayerNorm, biases but "pytorch"'s, zero-out's residual projections), -2 for one loaded
// from a file.
inline double intended_std(int k, int l, const GPT2Config& c, const InitSpec& scheme, const InitSpec& emb) {
    const size_t C = c.channels, V = c.vocab_size;
    const int L = c.num_layers;
    auto bias = [&](size_t fan_in) { return scheme.kind == InitKind::PyTorch ? 1.0 / sqrt(3.0 * (double)fan_in) : -1.0; };
    auto weight = [&](size_t in, size_t out, bool resid) {
        if (resid && scheme.kind == InitKind::ZeroOut) return -1.0;
        return linear_dist(scheme, {in, out, resid, l, L, C, false, c.mup_base}).std();
    };
    switch (k) {
        case WTE: return emb.kind == InitKind::File ? -2.0 : embedding_dist(scheme, emb, C).std();
        case WPE: return embedding_dist(scheme, emb.kind == InitKind::File ? InitSpec{} : emb, C).std();
        case QKVW:  // zero query: a third of the rows are 0
            return weight(C, 3 * C, false) * (scheme.kind == InitKind::Mup && scheme.zero_query ? sqrt(2.0 / 3.0) : 1.0);
        case QKVB: return bias(C);
        case ATTPROJW: return weight(C, C, true);
        case ATTPROJB: return bias(C);
        case FCW: return weight(C, 4 * C, false);
        case FCB: return bias(C);
        case FCPROJW: return weight(4 * C, C, true);
        case FCPROJB: return bias(4 * C);
        case LM_HEAD: return c.tied ? -1.0 : linear_dist(scheme, {C, V, false, 0, L, C, true, c.mup_base}).std();
        default: return -1.0;  // LayerNorm weights 1, biases 0
    }
}

// Per tensor: the std of the whole tensor as intended. A stacked tensor whose std depends on the
// layer (olmo-mitchell) is a mixture of L equal-sized zero-mean parts: sqrt(mean of the variances).
inline void intended_stds(float out[NUM_PARAMETER_TENSORS], const GPT2Config& c, const InitSpec& scheme, const InitSpec& emb) {
    for (int k = 0; k < NUM_PARAMETER_TENSORS; k++) {
        const bool stacked = PARAM_TABLE[k].shape[0] == Dim::L;
        const double s0 = intended_std(k, 0, c, scheme, emb);
        if (!stacked || s0 < 0) { out[k] = (float)s0; continue; }
        double var = 0.0;
        for (int l = 0; l < c.num_layers; l++) var += intended_std(k, l, c, scheme, emb) * intended_std(k, l, c, scheme, emb);
        out[k] = (float)sqrt(var / c.num_layers);
    }
}

// -init-report: per tensor shape, mean, std, min, max, and the std the scheme intended (scheme
// null: weights from a checkpoint, nothing intended). wte and lm_head statistics cover their V
// real rows (the padding rows are zero by design).
inline void gpt2_init_report(const float* params, const GPT2Config& c, const InitSpec* scheme, const InitSpec& emb) {
    size_t sizes[NUM_PARAMETER_TENSORS];
    fill_param_sizes(sizes, c);
    float want[NUM_PARAMETER_TENSORS];
    intended_stds(want, c, scheme ? *scheme : InitSpec{}, emb);
    const size_t V = c.vocab_size, C = c.channels;
    printf("%-9s %12s %12s %12s %12s %12s %14s\n", "tensor", "elements", "mean", "std", "min", "max", "intended std");
    size_t off = 0;
    for (int k = 0; k < NUM_PARAMETER_TENSORS; k++) {
        const float* x = params + off;
        const size_t n = (k == WTE || k == LM_HEAD) && sizes[k] ? V * C : sizes[k];
        off += sizes[k];
        char intended[32];
        if (k == LM_HEAD && c.tied) snprintf(intended, sizeof intended, "tied to wte");
        else if (!scheme) snprintf(intended, sizeof intended, "-");
        else if (want[k] == -2.0f) snprintf(intended, sizeof intended, "from file");
        else if (want[k] < 0.0f) snprintf(intended, sizeof intended, "0 (constant)");
        else snprintf(intended, sizeof intended, "%.6f", (double)want[k]);
        if (n == 0) {
            printf("%-9s %12s %12s %12s %12s %12s %14s\n", PARAM_TABLE[k].name, "0", "-", "-", "-", "-", intended);
            continue;
        }
        double sum = 0.0, sq = 0.0;
        float lo = x[0], hi = x[0];
#ifdef _OPENMP
#pragma omp parallel for reduction(+ : sum, sq) reduction(min : lo) reduction(max : hi)
#endif
        for (size_t i = 0; i < n; i++) {
            sum += x[i];
            sq += (double)x[i] * x[i];
            lo = std::min(lo, x[i]);
            hi = std::max(hi, x[i]);
        }
        const double mean = sum / n, var = std::max(0.0, sq / n - mean * mean);
        printf("%-9s %12zu %12.6f %12.6f %12.6f %12.6f %14s\n", PARAM_TABLE[k].name, n, mean, sqrt(var), (double)lo, (double)hi, intended);
    }
}
