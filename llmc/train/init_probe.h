// -init-probe: signal propagation at init. One forward and backward pass on the first train batch,
// no update, then per block and per tensor statistics, printed and written as DIR/init_probe.tsv.
//
// The forward statistics come from a plain host forward over the weights: the sampler's layers
// (llmc/model/kv_infer.h) row by row, the attention written out here for its statistics, sums in
// double. It is independent of the trainer's kernels, so its loss checks the trainer's. The
// gradients are the trainer's own (gpt2_forward + gpt2_backward on the same batch).
// Per block l (x = the residual stream, B*T rows of C):
//   resid_rms       RMS of x after block l (row "emb": after the embeddings)
//   attn_rms        RMS of the attention branch's output (after c_proj and its bias)
//   mlp_rms         RMS of the MLP branch's output (after its c_proj and bias)
//   att_logit_std   std of the attention logits q.k * scale (1/sqrt(hs); muP 1/hs) over every causal
//                   (b, h, t, s <= t) entry
//   att_entropy     mean entropy (nats) of the attention rows; att_entropy_max is the mean of
//                   ln(t + 1), the entropy of uniform attention over each row's causal prefix
//   mlp_pre_rms     RMS of the MLP's pre-activation (c_fc's output, GELU's input)
//   gelu_below_-3   fraction of the pre-activations below -3 (GELU ~ 0 there, gradient ~ 0)
//   grad_rms        RMS of the gradient of the block's parameters (all 12 tensors of layer l)
// Per tensor (wte and lm_head over their V real rows):
//   grad_rms        RMS of its gradient
//   update_ratio    |u| / |w| (L2 norms) for the first AdamW update u at step 0's learning rate
//                   (times the tensor's muP lr multiplier, model.h):
//                   bias-corrected, m_hat = g' and v_hat = g'^2 for the clipped gradient g', so
//                   u = lr * (g' / (|g'| + eps) + wd * w) (wd on the decayed tensors)
// Whole model: logits_std (over the B*T*V real logits, after muP's readout multiplier), loss (the
// mean cross-entropy, against
// ln V for uniform predictions), grad_norm (before clipping).
// init_probe.tsv: one value per line, "kind<TAB>index<TAB>metric<TAB>value", kind = block (index:
// the layer or "emb"), tensor (index: its name) or model (index "-"). scripts/init_probe_plot.py
// draws the depth profiles of one or several runs.
#pragma once
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../model/kv_infer.h"
#include "../model/model.h"
#include "../utils.h"

struct ProbeBlock {
    double resid_rms = 0, attn_rms = 0, mlp_rms = 0, att_logit_std = 0, att_entropy = 0, att_entropy_max = 0;
    double mlp_pre_rms = 0, gelu_below3 = 0, grad_rms = 0;
};

struct ProbeResult {
    double emb_rms = 0, logits_std = 0, loss = 0, grad_norm = 0;
    std::vector<ProbeBlock> blocks;
    double tensor_grad_rms[NUM_PARAMETER_TENSORS] = {0}, tensor_update_ratio[NUM_PARAMETER_TENSORS] = {0};
};

namespace probe {

inline double rms(const std::vector<float>& x) {
    double s = 0.0;
#ifdef _OPENMP
#pragma omp parallel for reduction(+ : s)
#endif
    for (size_t i = 0; i < x.size(); i++) s += (double)x[i] * x[i];
    return std::sqrt(s / (double)x.size());
}

// The sampler's single-position layers (llmc/model/kv_infer.h), row by row over the batch.
// out (N, OC) = in (N, IC) @ w^T + b, w (OC, IC) in PyTorch's layout
inline void linear(std::vector<float>& out, const std::vector<float>& in, const float* w, const float* b, size_t N, size_t IC, size_t OC) {
    out.resize(N * OC);
    for (size_t n = 0; n < N; n++) kv_matvec(&out[n * OC], w, b, &in[n * IC], (int)OC, (int)IC);
}

inline void layernorm(std::vector<float>& out, const std::vector<float>& in, const float* w, const float* b, size_t N, size_t C) {
    out.resize(N * C);
    for (size_t n = 0; n < N; n++) kv_layernorm(&out[n * C], &in[n * C], w, b, (int)C);
}

}  // namespace probe

// The forward statistics of ProbeResult for weights `params` (layout of c) and one batch.
inline ProbeResult init_probe_forward(const float* params, const GPT2Config& c, const int* inputs, const int* targets, int B, int T) {
    using namespace probe;
    size_t sizes[NUM_PARAMETER_TENSORS];
    fill_param_sizes(sizes, c);
    const ParameterTensors p = point_parameters(const_cast<float*>(params), sizes);
    const size_t C = c.channels, L = c.num_layers, NH = c.num_heads, hs = C / NH, V = c.vocab_size, N = (size_t)B * T;
    ProbeResult r;
    r.blocks.resize(L);
    std::vector<float> x(N * C), h, qkv, att(N * C), branch, fc;
    for (size_t n = 0; n < N; n++) {
        const size_t t = n % T;
        for (size_t i = 0; i < C; i++) x[n * C + i] = p.wte[(size_t)inputs[n] * C + i] + p.wpe[t * C + i];
    }
    r.emb_rms = rms(x);
    for (size_t l = 0; l < L; l++) {
        ProbeBlock& blk = r.blocks[l];
        layernorm(h, x, p.ln1w + l * C, p.ln1b + l * C, N, C);
        linear(qkv, h, p.qkvw + l * 3 * C * C, p.qkvb + l * 3 * C, N, C, 3 * C);
        // causal attention, one (b, head, t) row at a time; statistics in double
        double lsum = 0, lsq = 0, ent = 0, ent_max = 0;
        size_t lcount = 0;
        const float scale = attention_scale(c);
#ifdef _OPENMP
#pragma omp parallel for collapse(2) reduction(+ : lsum, lsq, ent, ent_max, lcount)
#endif
        for (int b = 0; b < B; b++) {
            for (int hd = 0; hd < (int)NH; hd++) {
                std::vector<float> s(T);
                for (int t = 0; t < T; t++) {
                    const float* q = &qkv[((size_t)b * T + t) * 3 * C + hd * hs];
                    float mx = -INFINITY;
                    for (int u = 0; u <= t; u++) {
                        const float* k = &qkv[((size_t)b * T + u) * 3 * C + C + hd * hs];
                        float dot = 0.0f;
                        for (size_t i = 0; i < hs; i++) dot += q[i] * k[i];
                        s[u] = dot * scale;
                        mx = std::max(mx, s[u]);
                        lsum += s[u];
                        lsq += (double)s[u] * s[u];
                        lcount++;
                    }
                    double z = 0.0;
                    for (int u = 0; u <= t; u++) z += std::exp((double)s[u] - mx);
                    double e = 0.0;
                    float* y = &att[((size_t)b * T + t) * C + hd * hs];
                    for (size_t i = 0; i < hs; i++) y[i] = 0.0f;
                    for (int u = 0; u <= t; u++) {
                        const double pr = std::exp((double)s[u] - mx) / z;
                        if (pr > 0) e -= pr * std::log(pr);
                        const float* v = &qkv[((size_t)b * T + u) * 3 * C + 2 * C + hd * hs];
                        for (size_t i = 0; i < hs; i++) y[i] += (float)pr * v[i];
                    }
                    ent += e;
                    ent_max += std::log((double)(t + 1));
                }
            }
        }
        const double lmean = lsum / lcount;
        blk.att_logit_std = std::sqrt(std::max(0.0, lsq / lcount - lmean * lmean));
        blk.att_entropy = ent / (double)(N * NH);
        blk.att_entropy_max = ent_max / (double)(N * NH);
        linear(branch, att, p.attprojw + l * C * C, p.attprojb + l * C, N, C, C);
        blk.attn_rms = rms(branch);
        for (size_t i = 0; i < N * C; i++) x[i] += branch[i];
        layernorm(h, x, p.ln2w + l * C, p.ln2b + l * C, N, C);
        linear(fc, h, p.fcw + l * 4 * C * C, p.fcb + l * 4 * C, N, C, 4 * C);
        blk.mlp_pre_rms = rms(fc);
        size_t below = 0;
        for (float v : fc) below += v < -3.0f;
        blk.gelu_below3 = (double)below / (double)fc.size();
        kv_gelu(fc.data(), (int)fc.size());
        linear(branch, fc, p.fcprojw + l * 4 * C * C, p.fcprojb + l * C, N, 4 * C, C);
        blk.mlp_rms = rms(branch);
        for (size_t i = 0; i < N * C; i++) x[i] += branch[i];
        blk.resid_rms = rms(x);
    }
    layernorm(h, x, p.lnfw, p.lnfb, N, C);
    // logits over the V real rows of the head, one row at a time (N x V would be large), each by
    // kv_matvec as the sampler computes them, times muP's readout multiplier
    double zsum = 0, zsq = 0, loss = 0;
    const float mult = logit_multiplier(c);
    std::vector<float> z(V);
    for (size_t n = 0; n < N; n++) {
        kv_matvec(z.data(), p.lm_head, nullptr, &h[n * C], (int)V, (int)C);
        float mx = -INFINITY;
        for (float& v : z) {
            v *= mult;
            mx = std::max(mx, v);
            zsum += v;
            zsq += (double)v * v;
        }
        double se = 0.0;
        for (float v : z) se += std::exp((double)v - mx);
        loss += mx + std::log(se) - z[targets[n]];
    }
    const double zmean = zsum / (double)(N * V);
    r.logits_std = std::sqrt(std::max(0.0, zsq / (double)(N * V) - zmean * zmean));
    r.loss = loss / (double)N;
    return r;
}

// The gradient half: per tensor and per block gradient RMS, and the first AdamW update's ratio.
// grads: the trainer's gradient arena for the same batch (host, fp32).
inline void init_probe_gradients(ProbeResult* r, const float* params, const float* grads, const GPT2Config& c, float lr,
                                 float weight_decay, float eps, float grad_clip) {
    size_t sizes[NUM_PARAMETER_TENSORS];
    fill_param_sizes(sizes, c);
    const size_t C = c.channels, L = c.num_layers, V = c.vocab_size;
    double total = 0.0;
    for (size_t i = 0, n = count_params(sizes); i < n; i++) total += (double)grads[i] * grads[i];
    r->grad_norm = std::sqrt(total);
    const double clip = grad_clip > 0 && r->grad_norm > grad_clip ? grad_clip / (r->grad_norm + 1e-6) : 1.0;
    std::vector<double> layer_sq(L, 0.0);
    std::vector<size_t> layer_n(L, 0);
    size_t off = 0;
    for (int k = 0; k < NUM_PARAMETER_TENSORS; k++) {
        const size_t n = (k == WTE || k == LM_HEAD) && sizes[k] ? V * C : sizes[k];
        const bool stacked = PARAM_TABLE[k].shape[0] == Dim::L;
        double gsq = 0.0, usq = 0.0, wsq = 0.0;
        for (size_t i = 0; i < n; i++) {
            const double g = grads[off + i], w = params[off + i], gc = g * clip;
            const double u = lr * lr_multiplier(k, c) * (gc / (std::fabs(gc) + eps) + (PARAM_TABLE[k].decayed ? weight_decay * w : 0.0));
            gsq += g * g;
            usq += u * u;
            wsq += w * w;
            if (stacked) {
                layer_sq[i / (sizes[k] / L)] += g * g;
                layer_n[i / (sizes[k] / L)]++;
            }
        }
        r->tensor_grad_rms[k] = n ? std::sqrt(gsq / n) : 0.0;
        r->tensor_update_ratio[k] = n == 0 ? 0.0 : wsq > 0 ? std::sqrt(usq / wsq) : INFINITY;
        off += sizes[k];
    }
    for (size_t l = 0; l < L; l++) r->blocks[l].grad_rms = std::sqrt(layer_sq[l] / (double)layer_n[l]);
}

// The per-block rows of the .tsv files: "emb" and each block's forward statistics, and with grads
// the block's gradient RMS. add(kind, index, metric, value).
template <typename Add>
inline void probe_block_rows(const ProbeResult& r, bool grads, Add&& add) {
    add("block", std::string("emb"), "resid_rms", r.emb_rms);
    for (size_t l = 0; l < r.blocks.size(); l++) {
        const ProbeBlock& b = r.blocks[l];
        const std::string i = std::to_string(l);
        add("block", i, "resid_rms", b.resid_rms);
        add("block", i, "attn_rms", b.attn_rms);
        add("block", i, "mlp_rms", b.mlp_rms);
        add("block", i, "att_logit_std", b.att_logit_std);
        add("block", i, "att_entropy", b.att_entropy);
        add("block", i, "att_entropy_max", b.att_entropy_max);
        add("block", i, "mlp_pre_rms", b.mlp_pre_rms);
        add("block", i, "gelu_below_-3", b.gelu_below3);
        if (grads) add("block", i, "grad_rms", b.grad_rms);
    }
}

// Prints the tables, and writes path (init_probe.tsv) unless it is empty.
inline void init_probe_report(const ProbeResult& r, const GPT2Config& c, bool tied, const std::string& path) {
    printf("init probe: loss %.6f (ln V = %.6f) | logits std %.6f | grad norm %.6f\n", r.loss, std::log((double)c.vocab_size),
           r.logits_std, r.grad_norm);
    printf("%-6s %10s %10s %10s %12s %11s %11s %11s %12s %10s\n", "block", "resid_rms", "attn_rms", "mlp_rms", "att_logit_std",
           "att_entropy", "(uniform)", "mlp_pre_rms", "gelu_below-3", "grad_rms");
    printf("%-6s %10.6f\n", "emb", r.emb_rms);
    for (size_t l = 0; l < r.blocks.size(); l++) {
        const ProbeBlock& b = r.blocks[l];
        printf("%-6zu %10.6f %10.6f %10.6f %12.6f %11.6f %11.6f %11.6f %12.6f %10.3e\n", l, b.resid_rms, b.attn_rms, b.mlp_rms,
               b.att_logit_std, b.att_entropy, b.att_entropy_max, b.mlp_pre_rms, b.gelu_below3, b.grad_rms);
    }
    printf("%-9s %12s %14s\n", "tensor", "grad_rms", "update/weight");
    for (int k = 0; k < NUM_PARAMETER_TENSORS; k++) {
        if (k == LM_HEAD && tied) continue;
        printf("%-9s %12.4e %14.4e\n", PARAM_TABLE[k].name, r.tensor_grad_rms[k], r.tensor_update_ratio[k]);
    }
    if (path.empty()) return;
    std::string out = "kind\tindex\tmetric\tvalue\n";
    char line[160];
    auto add = [&](const char* kind, const std::string& index, const char* metric, double v) {
        snprintf(line, sizeof line, "%s\t%s\t%s\t%.9g\n", kind, index.c_str(), metric, v);
        out += line;
    };
    add("model", "-", "loss", r.loss);
    add("model", "-", "ln_V", std::log((double)c.vocab_size));
    add("model", "-", "logits_std", r.logits_std);
    add("model", "-", "grad_norm", r.grad_norm);
    probe_block_rows(r, /*grads=*/true, add);
    for (int k = 0; k < NUM_PARAMETER_TENSORS; k++) {
        if (k == LM_HEAD && tied) continue;
        add("tensor", PARAM_TABLE[k].name, "grad_rms", r.tensor_grad_rms[k]);
        add("tensor", PARAM_TABLE[k].name, "update_ratio", r.tensor_update_ratio[k]);
    }
    AtomicWriter w(path);
    fwriteCheck(out.data(), 1, out.size(), w.get(), path.c_str());
    w.commit();
    printf("wrote %s\n", path.c_str());
}

// -probe-every N: the forward statistics above (no gradients) on the same first train batch at step
// 0 and every N steps, for the weights after that many updates: printed as one line and appended
// to DIR/probe_steps.tsv, "step<TAB>kind<TAB>index<TAB>metric<TAB>value" (the header once, when the
// file is new). scripts/coord_check.sh reads it for the muP coordinate check.
inline void probe_steps_append(const ProbeResult& r, int step, const std::string& path) {
    const ProbeBlock& last = r.blocks.back();
    printf("probe step %d: loss %.6f | logits std %.6f | resid rms emb %.4f .. block %zu %.4f | att logit std %.4f\n", step,
           r.loss, r.logits_std, r.emb_rms, r.blocks.size() - 1, last.resid_rms, last.att_logit_std);
    if (path.empty()) return;
    std::string out;
    char line[160];
    auto add = [&](const char* kind, const std::string& index, const char* metric, double v) {
        snprintf(line, sizeof line, "%d\t%s\t%s\t%s\t%.9g\n", step, kind, index.c_str(), metric, v);
        out += line;
    };
    add("model", "-", "loss", r.loss);
    add("model", "-", "logits_std", r.logits_std);
    probe_block_rows(r, /*grads=*/false, add);
    const bool fresh = access(path.c_str(), F_OK) != 0;
    FilePtr f(fopenCheck(path.c_str(), "ab"));
    if (fresh) out = "step\tkind\tindex\tmetric\tvalue\n" + out;
    fwriteCheck(out.data(), 1, out.size(), f.get(), path.c_str());
    if (fflush(f.get()) != 0 || ferror(f.get())) die("%s: write failed: %s", path.c_str(), strerror(errno));
}
