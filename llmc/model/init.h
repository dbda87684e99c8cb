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
// The last six keep nanoGPT's N(0, 0.02) embeddings. -init-emb replaces the embedding init of
// wte and wpe: uniform:A, normal:STD, or file:PATH, which loads wte's (V, C) rows (wpe keeps
// the scheme's init) from a .npy file (float32, C order, shape (V, C) or (Vp, C)) or a raw file
// of exactly V*C or Vp*C little-endian float32.

enum class InitKind { NanoGPT, PyTorch, XavierUniform, XavierNormal, KaimingUniform, KaimingNormal, Uniform, Normal, File };

struct InitSpec {
    InitKind kind = InitKind::NanoGPT;
    float value = 0.0f;  // A of uniform:A, STD of normal:STD
    std::string path;    // file:PATH (embedding override only)
};

// Parses an -init value (embedding = false) or an -init-emb value (embedding = true).
inline bool parse_init_spec(const char* text, bool embedding, InitSpec* out) {
    struct Name {
        const char* name;
        InitKind kind;
    };
    static const Name names[] = {{"nanogpt", InitKind::NanoGPT}, {"pytorch", InitKind::PyTorch},
                                 {"xavier-uniform", InitKind::XavierUniform}, {"xavier-normal", InitKind::XavierNormal},
                                 {"kaiming-uniform", InitKind::KaimingUniform}, {"kaiming-normal", InitKind::KaimingNormal}};
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

// What one tensor is drawn from: a normal of std `scale`, or a uniform on [-scale, scale).
struct Dist {
    bool uniform;
    float scale;
    float std() const { return uniform ? scale / sqrtf(3.0f) : scale; }
};

// A scheme's distribution for a Linear-like weight; resid marks the two residual projections.
// Scales are computed in double exactly as torch.nn.init's Python does, then rounded to float,
// so uniform draws come out bit-identical to PyTorch's.
inline Dist linear_dist(const InitSpec& s, size_t fan_in, size_t fan_out, bool resid, int L) {
    const double fi = (double)fan_in, fo = (double)fan_out;
    switch (s.kind) {
        case InitKind::NanoGPT: return {false, (float)(resid ? 0.02 / sqrt(2.0 * L) : 0.02)};
        case InitKind::PyTorch: return {true, (float)(sqrt(3.0) * (sqrt(2.0 / (1.0 + 5.0)) / sqrt(fi)))};  // a = sqrt(5)
        case InitKind::XavierUniform: return {true, (float)(sqrt(3.0) * sqrt(2.0 / (fi + fo)))};
        case InitKind::XavierNormal: return {false, (float)sqrt(2.0 / (fi + fo))};
        case InitKind::KaimingUniform: return {true, (float)(sqrt(3.0) * (sqrt(2.0) / sqrt(fi)))};
        case InitKind::KaimingNormal: return {false, (float)(sqrt(2.0) / sqrt(fi))};
        case InitKind::Uniform: return {true, s.value};
        case InitKind::Normal: return {false, s.value};
        case InitKind::File: break;
    }
    die("linear_dist: not a weight scheme");
}

// wte's and wpe's distribution: the override when given, else the scheme's embedding default.
inline Dist embedding_dist(const InitSpec& scheme, const InitSpec& emb) {
    if (emb.kind == InitKind::Uniform) return {true, emb.value};
    if (emb.kind == InitKind::Normal) return {false, emb.value};
    return {false, scheme.kind == InitKind::PyTorch ? 1.0f : 0.02f};
}

inline void draw(float* x, size_t n, Dist d, Mt19937& rng) {
    if (d.uniform) uniform_fill(x, n, -d.scale, d.scale, rng);
    else normal_fill(x, n, 0.0f, d.scale, rng);
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
    else draw(p.wte, V * C, embedding_dist(scheme, emb), rng);
    if (!c.tied) draw(p.lm_head, V * C, linear_dist(scheme, C, V, false, (int)L), rng);
    draw(p.wpe, (size_t)c.max_seq_len * C, embedding_dist(scheme, wpe_emb), rng);
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
            draw(lin.w, lin.in * lin.out, linear_dist(scheme, lin.in, lin.out, lin.resid, (int)L), rng);
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

// The std each tensor was meant to be drawn with (-1: a constant tensor, -2: loaded from a file).
inline void intended_stds(float out[NUM_PARAMETER_TENSORS], const GPT2Config& c, const InitSpec& scheme, const InitSpec& emb) {
    const size_t C = c.channels, V = c.vocab_size;
    const int L = c.num_layers;
    const bool torch_biases = scheme.kind == InitKind::PyTorch;
    auto bias_std = [&](size_t fan_in) { return torch_biases ? 1.0f / sqrtf(3.0f * (float)fan_in) : -1.0f; };
    out[WTE] = emb.kind == InitKind::File ? -2.0f : embedding_dist(scheme, emb).std();
    out[WPE] = embedding_dist(scheme, emb.kind == InitKind::File ? InitSpec{} : emb).std();
    out[LN1W] = out[LN1B] = out[LN2W] = out[LN2B] = out[LNFW] = out[LNFB] = -1.0f;
    out[QKVW] = linear_dist(scheme, C, 3 * C, false, L).std();
    out[QKVB] = bias_std(C);
    out[ATTPROJW] = linear_dist(scheme, C, C, true, L).std();
    out[ATTPROJB] = bias_std(C);
    out[FCW] = linear_dist(scheme, C, 4 * C, false, L).std();
    out[FCB] = bias_std(C);
    out[FCPROJW] = linear_dist(scheme, 4 * C, C, true, L).std();
    out[FCPROJB] = bias_std(4 * C);
    out[LM_HEAD] = c.tied ? -1.0f : linear_dist(scheme, C, V, false, L).std();
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
