// convert_gpt2: a GPT-2 checkpoint from one format to another.
//
//   ./convert_gpt2 IN OUT [-dtype fp32|bf16|fp16]
//
// IN:  anything the trainers load with -e: llm.c's model .bin (version 3 fp32 or 5 bf16, and our
//      untied extension), or a Hugging Face model.safetensors with its config.json beside it.
// OUT: by its name: *.safetensors writes Hugging Face's GPT2LMHeadModel layout and config.json in
//      the same directory (from_pretrained(dir) loads it); anything else writes llm.c's .bin.
// -dtype: the weights' type in OUT; default: IN's where OUT can hold it, else fp32
//      (.bin holds fp32 as version 3 and bf16 as version 5; safetensors holds all three).
// Narrowing rounds to nearest even; widening is exact, so fp32 -> bf16 -> fp32 is not the identity
// but fp32 -> safetensors F32 -> .bin, and bf16 .bin -> BF16 safetensors -> bf16 .bin, are bit-exact.
// Errors: one "error: ..." line naming the file and the problem, exit 1; OUT is written atomically.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "llmc/io/checkpoint.h"
#include "llmc/io/hf_gpt2.h"
#include "llmc/utils.h"

static void usage(FILE* to) {
    fprintf(to,
            "usage: ./convert_gpt2 IN OUT [-dtype fp32|bf16|fp16]\n"
            "  IN   llm.c model .bin (v3 fp32, v5 bf16) or model.safetensors (config.json beside it)\n"
            "  OUT  *.safetensors: Hugging Face GPT2LMHeadModel layout + config.json beside it; else llm.c .bin\n"
            "  -dtype  weights in OUT (default: IN's if OUT can hold it, else fp32; .bin has no fp16)\n");
}

int main(int argc, char** argv) {
    std::vector<std::string> pos;
    std::string dtype;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { usage(stdout); return 0; }
        if (!strcmp(argv[i], "-dtype")) {
            if (i + 1 >= argc) die("-dtype needs a value: fp32, bf16 or fp16");
            dtype = argv[++i];
            if (dtype != "fp32" && dtype != "bf16" && dtype != "fp16") die("-dtype %s: want fp32, bf16 or fp16", dtype.c_str());
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            usage(stderr);
            die("unknown flag %s", argv[i]);
        } else {
            pos.push_back(argv[i]);
        }
    }
    if (pos.size() != 2) { usage(stderr); die("need IN and OUT (got %zu paths)", pos.size()); }
    const char* in = pos[0].c_str();
    const std::string& out = pos[1];
    const bool to_st = is_safetensors_path(out.c_str());

    // IN's config and weight type
    std::string in_dtype;
    GPT2Config c;
    if (is_safetensors_path(in)) {
        c = hf_read_config(in, &in_dtype);
        in_dtype = in_dtype == "F32" ? "fp32" : in_dtype == "BF16" ? "bf16" : "fp16";
    } else {
        FilePtr f(fopenCheck(in, "rb"));
        int version = 0;
        c = checkpoint_read_header(f.get(), in, &version);
        in_dtype = version == MODEL_VERSION_FP32 ? "fp32" : "bf16";
    }
    if (dtype.empty()) dtype = (!to_st && in_dtype == "fp16") ? "fp32" : in_dtype;
    if (!to_st && dtype == "fp16") die("-dtype fp16: an llm.c .bin holds fp32 (version 3) or bf16 (version 5); use a .safetensors OUT for fp16");
    if (in == out) die("%s: IN and OUT are the same file", in);

    size_t sizes[NUM_PARAMETER_TENSORS];
    fill_param_sizes(sizes, c);
    const size_t n = count_params(sizes);
    std::vector<float> params(n);
    checkpoint_load_params(params.data(), c, in);

    if (to_st) {
        hf_export(out, c, params.data(), dtype == "fp32" ? "F32" : dtype == "bf16" ? "BF16" : "F16");
        printf("wrote %s and %s: L=%d C=%d NH=%d maxT=%d V=%d, %s lm_head, %zu parameters, %s\n", out.c_str(),
               hf_config_path(out.c_str()).c_str(), c.num_layers, c.channels, c.num_heads, c.max_seq_len, c.vocab_size,
               c.tied ? "tied" : "untied", n - (size_t)(c.padded_vocab_size - c.vocab_size) * c.channels * (c.tied ? 1 : 2), dtype.c_str());
    } else {
        checkpoint_write(out, c, params.data(), n, dtype == "fp32" ? MODEL_VERSION_FP32 : MODEL_VERSION_BF16);
        printf("wrote %s: L=%d C=%d NH=%d maxT=%d V=%d (Vp %d), %s lm_head, %zu parameters, %s (version %d)\n", out.c_str(),
               c.num_layers, c.channels, c.num_heads, c.max_seq_len, c.vocab_size, c.padded_vocab_size, c.tied ? "tied" : "untied", n,
               dtype.c_str(), dtype == "fp32" ? MODEL_VERSION_FP32 : MODEL_VERSION_BF16);
    }
    return 0;
}
