// Model checkpoints (llm.c's format, docs/FORMATS.md): header validation, fp32 / bf16 weights
// read and write, loading into a model's layout (a .safetensors path loads through hf_gpt2.h);
// and the checkpoint set in an output dir: file names (state files per rank), the complete steps
// (DONE_ markers), pruning, the latest step.
// Training-state contents are in state.h.
#pragma once
#include <glob.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../model/model.h"
#include "../utils.h"
#include "formats.h"
#include "half.h"
#include "hf_gpt2.h"

// Checkpoint header check: every field must be in a sane range before we size any memory
// from it, so a foreign or corrupt file fails with a message instead of a huge allocation.
// Returns "" and fills c and version, or the problem ("PATH: ...").
inline std::string checkpoint_header_problem(FILE* f, const char* path, GPT2Config* out, int* version) {
    char msg[512];
    int32_t h[HEADER_INTS];
    int64_t size = file_size(f, path);
    if (size < HEADER_BYTES) {
        snprintf(msg, sizeof msg, "%s: not a model checkpoint (only %lld bytes, header needs %d)", path, (long long)size, HEADER_BYTES);
        return msg;
    }
    if (fseeko(f, 0, SEEK_SET) != 0 || fread(h, sizeof(int32_t), HEADER_INTS, f) != (size_t)HEADER_INTS) {
        snprintf(msg, sizeof msg, "%s: cannot read the header", path);
        return msg;
    }
    if (h[0] != MODEL_MAGIC) {
        snprintf(msg, sizeof msg, "%s: bad magic %d in model header (want %d): not an llm.c GPT-2 checkpoint", path, h[0], MODEL_MAGIC);
        return msg;
    }
    if (h[1] != MODEL_VERSION_FP32 && h[1] != MODEL_VERSION_BF16) {
        snprintf(msg, sizeof msg, "%s: unsupported model version %d (want 3 = fp32 or 5 = bf16)", path, h[1]);
        return msg;
    }
    GPT2Config c;
    c.max_seq_len = h[2];
    c.vocab_size = h[3];
    c.num_layers = h[4];
    c.num_heads = h[5];
    c.channels = h[6];
    c.padded_vocab_size = h[7];
    if (h[8] != 0 && h[8] != 1) {
        snprintf(msg, sizeof msg, "%s: header[8] = %d: want 0 (tied lm_head, llm.c) or 1 (untied, our extension)", path, h[8]);
        return msg;
    }
    c.tied = h[8] == 0;
    if (h[9] < 0 || h[9] > (1 << 16)) {
        snprintf(msg, sizeof msg, "%s: header[9] = %d: want 0 (standard parametrization, llm.c) or a muP base width 1..65536", path, h[9]);
        return msg;
    }
    c.mup_base = h[9];
    if (c.max_seq_len <= 0 || c.max_seq_len > 1 << 20 || c.vocab_size <= 0 || c.vocab_size > 1 << 24 ||
        c.num_layers <= 0 || c.num_layers > 1024 || c.num_heads <= 0 || c.channels <= 0 ||
        c.channels > 1 << 16 || c.channels % c.num_heads != 0 ||
        c.padded_vocab_size < c.vocab_size || c.padded_vocab_size > c.vocab_size + (1 << 16)) {
        snprintf(msg, sizeof msg, "%s: implausible model header (maxT=%d V=%d L=%d NH=%d C=%d Vp=%d)", path,
                 c.max_seq_len, c.vocab_size, c.num_layers, c.num_heads, c.channels, c.padded_vocab_size);
        return msg;
    }
    size_t sizes[NUM_PARAMETER_TENSORS];
    fill_param_sizes(sizes, c);
    size_t elem = h[1] == MODEL_VERSION_FP32 ? 4 : 2;
    int64_t want = HEADER_BYTES + (int64_t)(count_params(sizes) * elem);
    if (size != want) {
        snprintf(msg, sizeof msg, "%s: file is %lld bytes but its header (L=%d C=%d Vp=%d, version %d) needs %lld: truncated or corrupt",
                 path, (long long)size, c.num_layers, c.channels, c.padded_vocab_size, h[1], (long long)want);
        return msg;
    }
    *out = c;
    *version = h[1];
    return "";
}

inline GPT2Config checkpoint_read_header(FILE* f, const char* path, int* version) {
    GPT2Config c;
    const std::string problem = checkpoint_header_problem(f, path, &c, version);
    if (!problem.empty()) die("%s", problem.c_str());
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
    h[8] = c.tied ? 0 : 1;  // our extension: 1 = an lm_head (Vp, C) follows lnfb; tied files stay llm.c's
    h[9] = c.mup_base;      // our extension: muP's base width (model.h), 0 = standard (llm.c's files)
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

// The config in a checkpoint's header (validated, see checkpoint_read_header); a path ending in
// .safetensors is a Hugging Face model (hf_gpt2.h: its config.json, every tensor checked).
inline GPT2Config checkpoint_read_config(const char* path) {
    if (is_safetensors_path(path)) return hf_read_config(path);
    FilePtr f(fopenCheck(path, "rb"));
    int version = 0;
    return checkpoint_read_header(f.get(), path, &version);
}

// Reads a checkpoint's weights (llm.c's format, or a Hugging Face .safetensors) into host params
// laid out for `want` (shape and tying must agree).
inline void checkpoint_load_params(float* params, const GPT2Config& want, const char* path) {
    if (is_safetensors_path(path)) return hf_load_params(params, want, path);
    FilePtr f(fopenCheck(path, "rb"));
    int version = 0;
    const GPT2Config c = checkpoint_read_header(f.get(), path, &version);
    if (c.num_layers != want.num_layers || c.channels != want.channels || c.padded_vocab_size != want.padded_vocab_size ||
        c.max_seq_len != want.max_seq_len || c.tied != want.tied || c.mup_base != want.mup_base) {
        die("%s: checkpoint shape (or tied/untied lm_head, or muP base width) differs from the model being trained", path);
    }
    size_t sizes[NUM_PARAMETER_TENSORS];
    fill_param_sizes(sizes, want);
    checkpoint_read_params(f.get(), path, version, params, count_params(sizes));
}

// Checkpoint file names (llm.c's): kind "model" -> dir/model_%08d.bin, "state" ->
// dir/state_%08d_%05d.bin (step, rank: one state file per process), anything else ->
// dir/DONE_%08d (written once every file of the step is complete).
inline std::string checkpoint_path(const std::string& dir, const char* kind, int step, int rank = 0) {
    char buf[64];
    if (!strcmp(kind, "state")) snprintf(buf, sizeof buf, "/state_%08d_%05d.bin", step, rank);
    else if (!strcmp(kind, "model")) snprintf(buf, sizeof buf, "/model_%08d.bin", step);
    else snprintf(buf, sizeof buf, "/DONE_%08d", step);
    return dir + buf;
}

// Every step with a DONE_ marker in dir, ascending.
inline std::vector<int> checkpoint_steps(const std::string& dir) {
    std::vector<int> steps;
    glob_t g{};
    const std::string pattern = dir + "/DONE_*";
    if (glob(pattern.c_str(), 0, nullptr, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            const char* name = strrchr(g.gl_pathv[i], '/') + 1;
            char* end;
            const long step = strtol(name + 5, &end, 10);
            if (*end == '\0' && end != name + 5 && step >= 0 && step <= INT32_MAX) steps.push_back((int)step);
        }
    }
    globfree(&g);
    std::sort(steps.begin(), steps.end());
    return steps;
}

// -nk: removes all but the newest `keep` complete checkpoints. DONE_ goes first, so a
// checkpoint interrupted mid-removal is never taken for a complete one.
inline void checkpoint_prune(const std::string& dir, int keep) {
    if (keep <= 0) return;
    const std::vector<int> steps = checkpoint_steps(dir);
    for (size_t i = 0; i + keep < steps.size(); i++) {
        for (const char* kind : {"DONE", "state", "model"}) remove(checkpoint_path(dir, kind, steps[i]).c_str());
    }
}

// Latest step with a DONE_ marker in dir, or -1.
inline int checkpoint_find_latest(const std::string& dir) {
    const std::vector<int> steps = checkpoint_steps(dir);
    return steps.empty() ? -1 : steps.back();
}
