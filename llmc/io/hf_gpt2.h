// Hugging Face GPT-2 weights in and out: model.safetensors + config.json, in the layout of
// transformers' GPT2LMHeadModel, mapped onto our parameter table (llmc/model/model.h, hf_name).
//
// The layout differences, all handled here:
// - Names: "transformer.h.{l}.attn.c_attn.weight", ... (PARAM_TABLE's hf_name), one tensor per
//   layer; files saved from GPT2Model (the pretrained "gpt2" files among them) lack the
//   "transformer." prefix: both are read, the prefix is written.
// - The four per-layer matrices (c_attn, attn.c_proj, c_fc, mlp.c_proj) are Conv1D weights,
//   stored (in, out): transposed against our (out, in).
// - wte and lm_head have V rows; ours have Vp (V rounded up to 128): the padding rows load as 0,
//   and are dropped on export (a warning says so if they are not all 0).
// - Tying follows config.json's tie_word_embeddings (default true), as from_pretrained does: tied,
//   a file's lm_head.weight is not used (save_pretrained leaves it out); untied, it is required.
// - Buffers that old files carry (h.{l}.attn.bias, h.{l}.attn.masked_bias: the causal mask) are
//   skipped. Any other tensor, a missing one, a wrong shape or a non-float dtype is an error.
// - config.json must describe the model this code computes (GELU's tanh form, LayerNorm eps
//   1e-5, attention scaled by 1/sqrt(head size), MLP width 4C); a config that says otherwise is
//   refused rather than loaded into a different model.
#pragma once
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "../model/model.h"
#include "../utils.h"
#include "json.h"
#include "safetensors.h"

inline bool is_safetensors_path(const char* path) {
    const size_t n = strlen(path), k = strlen(".safetensors");
    return n > k && strcmp(path + n - k, ".safetensors") == 0;
}

// config.json beside the safetensors file.
inline std::string hf_config_path(const char* st_path) {
    const char* slash = strrchr(st_path, '/');
    return slash ? std::string(st_path, slash + 1) + "config.json" : std::string("config.json");
}

// Per-layer tensors have a leading L in our table; they are one tensor per layer in HF's.
inline bool hf_per_layer(int k) { return PARAM_TABLE[k].shape[0] == Dim::L; }
// Conv1D weights: (in, out) in the file.
inline bool hf_transposed(int k) { return k == QKVW || k == ATTPROJW || k == FCW || k == FCPROJW; }

// The tensor's name in the file (with the "transformer." prefix).
inline std::string hf_tensor_name(int k, int layer) {
    std::string n = PARAM_TABLE[k].hf_name;
    const size_t at = n.find("{l}");
    if (at != std::string::npos) n.replace(at, 3, std::to_string(layer));
    return n;
}

// Its shape in the file: V rows for wte and lm_head, Conv1D weights (in, out), no layer dim.
inline std::vector<int64_t> hf_tensor_shape(int k, const GPT2Config& c) {
    std::vector<int64_t> s;
    for (Dim d : PARAM_TABLE[k].shape) {
        if (d == Dim::None || d == Dim::L) continue;
        s.push_back(d == Dim::Vp ? (int64_t)c.vocab_size : (int64_t)dim_size(d, c));
    }
    if (hf_transposed(k)) std::swap(s[0], s[1]);
    return s;
}

// Reads and checks config.json: the shape, tying, and that the model's math is ours.
inline GPT2Config hf_read_config_json(const std::string& path) {
    FILE* probe = fopen(path.c_str(), "rb");
    if (!probe) die("%s: cannot open: %s (a Hugging Face model.safetensors needs its config.json beside it)", path.c_str(), strerror(errno));
    fclose(probe);
    const std::string text = file_read_all(path.c_str());
    const JsonValue root = json_parse(text.data(), text.size(), path.c_str());
    if (root.kind != JsonValue::Object) die("%s: not a JSON object", path.c_str());
    const char* p = path.c_str();
    auto get_int = [&](const char* key, const char* alt, bool required, long dflt) -> long {
        const JsonValue* v = root.get(key);
        if ((!v || v->kind == JsonValue::Null) && alt) v = root.get(alt);
        if (!v || v->kind == JsonValue::Null) {
            if (required) die("%s: no \"%s\" (a GPT-2 config.json has n_layer, n_head, n_embd, n_positions, vocab_size)", p, key);
            return dflt;
        }
        if (v->kind != JsonValue::Number || !v->is_int) die("%s: \"%s\" is not an integer", p, key);
        if (v->i < 0 || v->i > (1 << 24)) die("%s: \"%s\" = %lld is out of range", p, key, (long long)v->i);
        return (long)v->i;
    };
    auto get_str = [&](const char* key) -> std::string {
        const JsonValue* v = root.get(key);
        if (!v || v->kind == JsonValue::Null) return "";
        if (v->kind != JsonValue::String) die("%s: \"%s\" is not a string", p, key);
        return v->str;
    };
    auto get_bool = [&](const char* key, bool dflt) -> bool {
        const JsonValue* v = root.get(key);
        if (!v || v->kind == JsonValue::Null) return dflt;
        if (v->kind != JsonValue::Bool) die("%s: \"%s\" is not true or false", p, key);
        return v->b;
    };
    const std::string type = get_str("model_type");
    if (!type.empty() && type != "gpt2") die("%s: model_type \"%s\": only GPT-2 (\"gpt2\") loads", p, type.c_str());
    GPT2Config c;
    c.num_layers = (int)get_int("n_layer", nullptr, true, 0);
    c.num_heads = (int)get_int("n_head", nullptr, true, 0);
    c.channels = (int)get_int("n_embd", nullptr, true, 0);
    c.max_seq_len = (int)get_int("n_positions", "n_ctx", true, 0);
    c.vocab_size = (int)get_int("vocab_size", nullptr, true, 0);
    c.padded_vocab_size = round_up_vocab(c.vocab_size);
    c.tied = get_bool("tie_word_embeddings", true);
    if (c.num_layers < 1 || c.num_layers > 1024 || c.channels < 1 || c.channels > (1 << 16) || c.num_heads < 1 ||
        c.channels % c.num_heads != 0 || c.max_seq_len < 1 || c.max_seq_len > (1 << 20) || c.vocab_size < 1) {
        die("%s: implausible GPT-2 config (n_layer=%d n_embd=%d n_head=%d n_positions=%d vocab_size=%d)", p, c.num_layers,
            c.channels, c.num_heads, c.max_seq_len, c.vocab_size);
    }
    // what would make it a different model than the one we compute
    const std::string act = get_str("activation_function");
    if (!act.empty() && act != "gelu_new" && act != "gelu_pytorch_tanh") {
        die("%s: activation_function \"%s\": this model computes GELU's tanh form (gelu_new)", p, act.c_str());
    }
    const long inner = get_int("n_inner", nullptr, false, 4L * c.channels);
    if (inner != 4L * c.channels) die("%s: n_inner = %ld: this model's MLP is 4 * n_embd = %d wide", p, inner, 4 * c.channels);
    if (const JsonValue* eps = root.get("layer_norm_epsilon")) {
        if (eps->kind != JsonValue::Number || std::fabs(eps->num - 1e-5) > 1e-12) die("%s: layer_norm_epsilon must be 1e-05 (this model's LayerNorm)", p);
    }
    if (!get_bool("scale_attn_weights", true)) die("%s: scale_attn_weights false: this model scales attention by 1/sqrt(head size)", p);
    if (get_bool("scale_attn_by_inverse_layer_idx", false)) die("%s: scale_attn_by_inverse_layer_idx true is not this model's attention", p);
    return c;
}

// A tensor of the file, resolved: param k of layer l, lm_head, or a buffer to skip.
struct HfSlot {
    int k = -1, layer = 0;
    bool skip = false;
};
inline HfSlot hf_resolve(const std::string& file_name, const GPT2Config& c) {
    HfSlot s;
    std::string n = file_name;
    if (n.compare(0, 12, "transformer.") == 0) n = n.substr(12);
    // h.{l}.attn.bias / h.{l}.attn.masked_bias: causal-mask buffers
    int layer = -1, used = 0;
    char rest[32] = {0};
    if (sscanf(n.c_str(), "h.%d.attn.%31s%n", &layer, rest, &used) == 2 && (size_t)used == n.size() &&
        (!strcmp(rest, "bias") || !strcmp(rest, "masked_bias"))) {
        s.skip = true;
        return s;
    }
    for (int k = 0; k < NUM_PARAMETER_TENSORS; k++) {
        for (int l = 0; l < (hf_per_layer(k) ? c.num_layers : 1); l++) {
            std::string want = hf_tensor_name(k, l);
            if (want.compare(0, 12, "transformer.") == 0) want = want.substr(12);
            if (want == n) { s.k = k; s.layer = l; return s; }
        }
    }
    return s;
}

// The config of a model.safetensors (from its config.json), with every tensor checked against it.
// dtype, if given, receives the dtype of wte ("F32", "F16", "BF16").
inline GPT2Config hf_read_config(const char* st_path, std::string* dtype = nullptr) {
    GPT2Config c = hf_read_config_json(hf_config_path(st_path));
    FilePtr f(fopenCheck(st_path, "rb"));
    const StHeader h = st_read_header(f.get(), st_path);
    std::vector<std::vector<bool>> seen(NUM_PARAMETER_TENSORS, std::vector<bool>(c.num_layers, false));
    for (const StTensor& t : h.tensors) {
        const HfSlot s = hf_resolve(t.name, c);
        if (s.skip) continue;
        if (s.k < 0) {
            die("%s: unexpected tensor \"%s\": not a GPT-2 LM head model parameter (for %d layers)", st_path, t.name.substr(0, 100).c_str(),
                c.num_layers);
        }
        if (seen[s.k][s.layer]) die("%s: tensor \"%s\" is given twice (with and without the transformer. prefix)", st_path, t.name.c_str());
        seen[s.k][s.layer] = true;
        if (s.k == LM_HEAD && c.tied) continue;  // tied: from_pretrained ties it to wte anyway
        const std::vector<int64_t> want = hf_tensor_shape(s.k, c);
        if (t.shape != want) {
            die("%s: tensor \"%s\" has shape %s, config.json implies %s", st_path, t.name.c_str(), st_shape_str(t.shape).c_str(),
                st_shape_str(want).c_str());
        }
        if (t.dtype != "F32" && t.dtype != "F16" && t.dtype != "BF16") {
            die("%s: tensor \"%s\" is %s; model weights must be F32, F16 or BF16", st_path, t.name.c_str(), t.dtype.c_str());
        }
        if (dtype && s.k == WTE) *dtype = t.dtype;
    }
    for (int k = 0; k < NUM_PARAMETER_TENSORS; k++) {
        if (k == LM_HEAD && c.tied) continue;
        for (int l = 0; l < (hf_per_layer(k) ? c.num_layers : 1); l++) {
            if (!seen[k][l]) {
                die("%s: missing tensor \"%s\"%s", st_path, hf_tensor_name(k, l).c_str(),
                    k == LM_HEAD ? " (config.json has tie_word_embeddings false)" : "");
            }
        }
    }
    return c;
}

// Loads a model.safetensors into params laid out for `want` (shape and tying must agree).
inline void hf_load_params(float* params, const GPT2Config& want, const char* st_path) {
    const GPT2Config c = hf_read_config(st_path);
    if (c.num_layers != want.num_layers || c.channels != want.channels || c.padded_vocab_size != want.padded_vocab_size ||
        c.max_seq_len != want.max_seq_len || c.tied != want.tied) {
        die("%s: checkpoint shape (or tied/untied lm_head) differs from the model being trained", st_path);
    }
    size_t sizes[NUM_PARAMETER_TENSORS];
    fill_param_sizes(sizes, c);
    memset(params, 0, count_params(sizes) * sizeof(float));  // wte's (and lm_head's) padding rows stay 0
    size_t offset[NUM_PARAMETER_TENSORS];
    for (size_t k = 0, at = 0; k < NUM_PARAMETER_TENSORS; at += sizes[k], k++) offset[k] = at;
    FilePtr f(fopenCheck(st_path, "rb"));
    const StHeader h = st_read_header(f.get(), st_path);
    std::vector<float> buf;
    for (const StTensor& t : h.tensors) {
        const HfSlot s = hf_resolve(t.name, c);
        if (s.skip || (s.k == LM_HEAD && c.tied)) continue;
        buf.resize(t.count);
        st_read_f32(f.get(), st_path, h, t, buf.data());
        const size_t per_layer = sizes[s.k] / (hf_per_layer(s.k) ? (size_t)c.num_layers : 1);
        float* dst = params + offset[s.k] + (size_t)s.layer * per_layer;
        if (hf_transposed(s.k)) {
            const size_t in = (size_t)t.shape[0], out = (size_t)t.shape[1];  // file (in, out) -> ours (out, in)
            for (size_t i = 0; i < in; i++)
                for (size_t o = 0; o < out; o++) dst[o * in + i] = buf[i * out + o];
        } else {
            memcpy(dst, buf.data(), t.count * sizeof(float));  // wte/lm_head: the first V of Vp rows
        }
    }
}

// Writes params as st_path (model.safetensors in GPT2LMHeadModel's layout) and config.json beside
// it. dtype: "F32", "BF16" or "F16".
inline void hf_export(const std::string& st_path, const GPT2Config& c, const float* params, const std::string& dtype) {
    if (dtype != "F32" && dtype != "BF16" && dtype != "F16") die("export dtype %s: want F32, BF16 or F16", dtype.c_str());
    if (c.mup_base) {
        die("%s: a muP model (base width %d: logits x %g, attention scores / head size) has no Hugging Face GPT-2 "
            "equivalent; GPT2LMHeadModel would compute different logits", st_path.c_str(), c.mup_base, (double)logit_multiplier(c));
    }
    size_t sizes[NUM_PARAMETER_TENSORS];
    fill_param_sizes(sizes, c);
    size_t offset[NUM_PARAMETER_TENSORS];
    for (size_t k = 0, at = 0; k < NUM_PARAMETER_TENSORS; at += sizes[k], k++) offset[k] = at;
    for (int k : {WTE, LM_HEAD}) {
        const float* pad = params + offset[k] + (size_t)c.vocab_size * c.channels;
        const size_t n = sizes[k] ? (size_t)(c.padded_vocab_size - c.vocab_size) * c.channels : 0;
        for (size_t i = 0; i < n; i++) {
            if (pad[i] != 0.0f) {
                fprintf(stderr, "warning: %s's padding rows (%d..%d) are not all 0; Hugging Face's layout has no room for them, they are dropped\n",
                        PARAM_TABLE[k].name, c.vocab_size, c.padded_vocab_size - 1);
                break;
            }
        }
    }
    StWriter w;
    w.metadata.push_back({"format", "pt"});
    // HF's state_dict order: wte, wpe, then layer by layer, ln_f, lm_head
    std::vector<std::pair<int, int>> order = {{WTE, 0}, {WPE, 0}};
    for (int l = 0; l < c.num_layers; l++)
        for (int k = 0; k < NUM_PARAMETER_TENSORS; k++)
            if (hf_per_layer(k)) order.push_back({k, l});
    order.push_back({LNFW, 0});
    order.push_back({LNFB, 0});
    if (!c.tied) order.push_back({LM_HEAD, 0});
    for (const auto& kl : order) {
        const int k = kl.first, l = kl.second;
        const std::vector<int64_t> shape = hf_tensor_shape(k, c);
        const size_t per_layer = sizes[k] / (hf_per_layer(k) ? (size_t)c.num_layers : 1);
        const float* src = params + offset[k] + (size_t)l * per_layer;
        w.add(hf_tensor_name(k, l), dtype, shape, [=](FILE* out) {
            const size_t rows = (size_t)shape[0], cols = shape.size() > 1 ? (size_t)shape[1] : 1;
            std::vector<float> row(cols);
            std::vector<uint16_t> half(cols);
            for (size_t r = 0; r < rows; r++) {
                // file row r: ours row r, or column r of ours (out, in) for a Conv1D weight
                if (hf_transposed(k)) for (size_t j = 0; j < cols; j++) row[j] = src[j * rows + r];
                else memcpy(row.data(), src + r * cols, cols * sizeof(float));
                if (dtype == "F32") { fwriteCheck(row.data(), sizeof(float), cols, out, st_path.c_str()); continue; }
                for (size_t j = 0; j < cols; j++) half[j] = dtype == "BF16" ? float_to_bf16(row[j]) : float_to_fp16(row[j]);
                fwriteCheck(half.data(), sizeof(uint16_t), cols, out, st_path.c_str());
            }
        });
    }
    const std::string cfg_path = hf_config_path(st_path.c_str());
    char json[1024];
    snprintf(json, sizeof json,
             "{\n  \"architectures\": [\"GPT2LMHeadModel\"],\n  \"model_type\": \"gpt2\",\n  \"activation_function\": \"gelu_new\",\n"
             "  \"n_layer\": %d,\n  \"n_head\": %d,\n  \"n_embd\": %d,\n  \"n_positions\": %d,\n  \"n_ctx\": %d,\n  \"vocab_size\": %d,\n"
             "  \"n_inner\": null,\n  \"layer_norm_epsilon\": 1e-05,\n  \"initializer_range\": 0.02,\n  \"tie_word_embeddings\": %s,\n"
             "  \"attn_pdrop\": 0.0,\n  \"embd_pdrop\": 0.0,\n  \"resid_pdrop\": 0.0,\n  \"scale_attn_weights\": true,\n"
             "  \"bos_token_id\": %d,\n  \"eos_token_id\": %d,\n  \"torch_dtype\": \"%s\"\n}\n",
             c.num_layers, c.num_heads, c.channels, c.max_seq_len, c.max_seq_len, c.vocab_size, c.tied ? "true" : "false",
             GPT2_EOT, GPT2_EOT, dtype == "F32" ? "float32" : dtype == "BF16" ? "bfloat16" : "float16");
    w.write(st_path);
    AtomicWriter cw(cfg_path);
    fwriteCheck(json, 1, strlen(json), cw.get(), cfg_path.c_str());
    cw.commit();
}
