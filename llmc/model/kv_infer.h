// GPT-2 inference on the CPU for one sequence (B = 1) with a KV cache: each new token costs one
// position. The token at position t is embedded (wte[token] + wpe[t]) and goes through every layer;
// each layer appends its key and value for t to the cache and attends over positions 0..t, so the
// earlier positions are never recomputed. Used by sample_gpt2.cpp; the same math as the trainer's
// forward (train_gpt2.cpp, checked against PyTorch), in matrix-vector form:
//   per layer: ln1 -> qkv = x @ qkvw^T + qkvb -> append k, v -> causal attention over 0..t ->
//              attproj -> residual -> ln2 -> fc -> GELU (tanh) -> fcproj -> residual
//   then lnf and the logits over the V real columns: lm_head (= wte when tied), times muP's readout
//   multiplier (model.h; 1 for the standard parametrization).
// Weights are in the parameter layout of model.h: PyTorch (out, in), so every output of a matvec is
// the dot product of one contiguous weight row with the input. The matvecs are parallel over output
// rows (OpenMP), each thread streaming its own block of rows: at B = 1 the cost is reading the
// weights once per token, memory-bound.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>

#include "model.h"
#include "../utils.h"

struct KVCache {
    GPT2Config config;
    ParameterTensors params;  // views into the caller's weights, not owned
    int max_T = 0;            // positions the cache holds (<= config.max_seq_len)
    int pos = 0;              // positions filled so far: the next token goes to position pos
    Arena<float> memory;
    float* k = nullptr;       // (L, max_T, C) keys, heads contiguous in each row as in qkv
    float* v = nullptr;       // (L, max_T, C) values
    // scratch for the current position
    float* x = nullptr;       // (C) the residual stream
    float* ln = nullptr;      // (C) layernorm output
    float* qkv = nullptr;     // (3C)
    float* att = nullptr;     // (C) attention output, heads concatenated
    float* proj = nullptr;    // (C) attproj / fcproj output
    float* fch = nullptr;     // (4C) fc output, then GELU in place
    float* scores = nullptr;  // (NH, max_T) attention scores, one row per head
    float* logits = nullptr;  // (V)
};

// Floats the cache and its scratch take for max_T positions.
inline size_t kv_cache_floats(const GPT2Config& c, int max_T) {
    const size_t L = c.num_layers, C = c.channels, NH = c.num_heads, T = max_T;
    return 2 * L * T * C + C + C + 3 * C + C + C + 4 * C + NH * T + (size_t)c.vocab_size;
}

// Allocates the cache for max_T positions (1..maxT) over the weights p (laid out for c).
inline void kv_init(KVCache* kv, const GPT2Config& c, const ParameterTensors& p, int max_T) {
    if (max_T < 1 || max_T > c.max_seq_len) die("KV cache: %d positions requested; the model's context is 1..%d", max_T, c.max_seq_len);
    kv->config = c;
    kv->params = p;
    kv->max_T = max_T;
    kv->pos = 0;
    kv->memory = arena_alloc<float>(kv_cache_floats(c, max_T), "KV cache");
    const size_t L = c.num_layers, C = c.channels, NH = c.num_heads, T = max_T;
    float* m = kv->memory.get();
    kv->k = m, m += L * T * C;
    kv->v = m, m += L * T * C;
    kv->x = m, m += C;
    kv->ln = m, m += C;
    kv->qkv = m, m += 3 * C;
    kv->att = m, m += C;
    kv->proj = m, m += C;
    kv->fch = m, m += 4 * C;
    kv->scores = m, m += NH * T;
    kv->logits = m;
}

// Forgets every position: the next kv_forward starts a new sequence at position 0.
inline void kv_reset(KVCache* kv) { kv->pos = 0; }

// out (OC) = w (OC, K) @ inp (K) + bias (OC, or null). One output row per iteration: a dot product
// over a contiguous weight row, summed in a fixed order (the same bits for any thread count).
inline void kv_matvec(float* out, const float* w, const float* bias, const float* inp, int OC, int K) {
#ifdef _OPENMP
    #pragma omp parallel for schedule(static)
#endif
    for (int o = 0; o < OC; o++) {
        const float* row = w + (size_t)o * K;
        float sum = 0.0f;
#ifndef __CUDACC__  // (nvcc's host pass has no -fopenmp-simd; this header reaches it via init_probe.h)
        #pragma omp simd reduction(+ : sum)
#endif
        for (int i = 0; i < K; i++) sum += row[i] * inp[i];
        out[o] = bias ? sum + bias[o] : sum;
    }
}

// out (C) = (x - mean) / sqrt(var + 1e-5) * weight + bias, as the trainer's layernorm_forward.
inline void kv_layernorm(float* out, const float* x, const float* weight, const float* bias, int C) {
    float m = 0.0f;
    for (int i = 0; i < C; i++) m += x[i];
    m /= C;
    float var = 0.0f;
    for (int i = 0; i < C; i++) var += (x[i] - m) * (x[i] - m);
    var /= C;
    const float rstd = 1.0f / sqrtf(var + 1e-5f);
    for (int i = 0; i < C; i++) out[i] = (x[i] - m) * rstd * weight[i] + bias[i];
}

// Causal attention of the query q (C) at position t over the cached keys and values of positions
// 0..t (k, v: (max_T, C) of one layer). out (C); scores: (NH, max_T) scratch. Parallel over heads.
// scale: model.h's attention_scale (1/sqrt(hs), or 1/hs under muP).
inline void kv_attention(float* out, float* scores, const float* q, const float* k, const float* v, int t, int max_T,
                         int C, int NH, float scale) {
    const int hs = C / NH;
#ifdef _OPENMP
    #pragma omp parallel for schedule(static)
#endif
    for (int h = 0; h < NH; h++) {
        const float* qh = q + h * hs;
        float* s = scores + (size_t)h * max_T;
        float maxv = -INFINITY;
        for (int t2 = 0; t2 <= t; t2++) {
            const float* kh = k + (size_t)t2 * C + h * hs;
            float dot = 0.0f;
#ifndef __CUDACC__
            #pragma omp simd reduction(+ : dot)
#endif
            for (int i = 0; i < hs; i++) dot += qh[i] * kh[i];
            s[t2] = dot * scale;
            maxv = std::max(maxv, s[t2]);
        }
        float sum = 0.0f;
        for (int t2 = 0; t2 <= t; t2++) {
            s[t2] = expf(s[t2] - maxv);
            sum += s[t2];
        }
        const float inv = 1.0f / sum;
        float* o = out + h * hs;
        for (int i = 0; i < hs; i++) o[i] = 0.0f;
        for (int t2 = 0; t2 <= t; t2++) {
            const float p = s[t2] * inv;
            const float* vh = v + (size_t)t2 * C + h * hs;
#ifndef __CUDACC__
            #pragma omp simd
#endif
            for (int i = 0; i < hs; i++) o[i] += p * vh[i];
        }
    }
}

// GELU, tanh approximation (GPT-2's), in place: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
inline void kv_gelu(float* x, int n) {
    const float s = 0.7978845608028654f;  // sqrt(2/pi)
    for (int i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + tanhf(s * (x[i] + 0.044715f * x[i] * x[i] * x[i])));
}

// Feeds `token` at position kv->pos (then pos advances). Returns the V real logits of this position
// (valid until the next call), or null when want_logits is false: a prompt position whose prediction
// is not needed skips the lm_head, the largest matvec of a small model.
inline const float* kv_forward(KVCache* kv, int token, bool want_logits) {
    const GPT2Config& c = kv->config;
    const int C = c.channels, NH = c.num_heads, L = c.num_layers, V = c.vocab_size, t = kv->pos;
    if (t >= kv->max_T) die("KV cache full: position %d, the cache holds %d", t, kv->max_T);
    if (token < 0 || token >= V) die("token %d at position %d is out of range [0, %d)", token, t, V);
    const ParameterTensors& p = kv->params;
    const float* e = p.wte + (size_t)token * C;
    const float* pe = p.wpe + (size_t)t * C;
    for (int i = 0; i < C; i++) kv->x[i] = e[i] + pe[i];
    for (int l = 0; l < L; l++) {
        float* lk = kv->k + (size_t)l * kv->max_T * C;
        float* lv = kv->v + (size_t)l * kv->max_T * C;
        kv_layernorm(kv->ln, kv->x, p.ln1w + (size_t)l * C, p.ln1b + (size_t)l * C, C);
        kv_matvec(kv->qkv, p.qkvw + (size_t)l * 3 * C * C, p.qkvb + (size_t)l * 3 * C, kv->ln, 3 * C, C);
        std::copy(kv->qkv + C, kv->qkv + 2 * C, lk + (size_t)t * C);      // this position's key
        std::copy(kv->qkv + 2 * C, kv->qkv + 3 * C, lv + (size_t)t * C);  // and value
        kv_attention(kv->att, kv->scores, kv->qkv, lk, lv, t, kv->max_T, C, NH, attention_scale(c));
        kv_matvec(kv->proj, p.attprojw + (size_t)l * C * C, p.attprojb + (size_t)l * C, kv->att, C, C);
        for (int i = 0; i < C; i++) kv->x[i] += kv->proj[i];
        kv_layernorm(kv->ln, kv->x, p.ln2w + (size_t)l * C, p.ln2b + (size_t)l * C, C);
        kv_matvec(kv->fch, p.fcw + (size_t)l * 4 * C * C, p.fcb + (size_t)l * 4 * C, kv->ln, 4 * C, C);
        kv_gelu(kv->fch, 4 * C);
        kv_matvec(kv->proj, p.fcprojw + (size_t)l * 4 * C * C, p.fcprojb + (size_t)l * C, kv->fch, C, 4 * C);
        for (int i = 0; i < C; i++) kv->x[i] += kv->proj[i];
    }
    kv->pos++;
    if (!want_logits) return nullptr;
    kv_layernorm(kv->ln, kv->x, p.lnfw, p.lnfb, C);
    kv_matvec(kv->logits, p.lm_head, nullptr, kv->ln, V, C);  // lm_head is wte when tied
    const float mult = logit_multiplier(c);  // muP's readout multiplier (model.h)
    if (mult != 1.0f) for (int v = 0; v < V; v++) kv->logits[v] *= mult;
    return kv->logits;
}
