// Fuzz harness: the Hugging Face loader (llmc/io/safetensors.h, llmc/io/hf_gpt2.h), as the
// trainer uses it for `-e model.safetensors`: checkpoint_read_config (config.json + every tensor
// checked), then checkpoint_load_params. The first input byte picks the fuzzed file: even, the
// rest is model.safetensors (beside a valid config.json); odd, the rest is config.json (beside a
// valid model.safetensors). The valid pair is a tiny model written by hf_export.
// Every input must load, or fail with one error line naming one of the two files.
#include "dev/fuzz/fuzz_common.h"
#include "llmc/io/checkpoint.h"

// The tiny model's files, written once: (safetensors bytes, config.json bytes).
static const std::pair<std::string, std::string>& valid_pair() {
    static const std::pair<std::string, std::string> pair = [] {
        GPT2Config c;
        c.max_seq_len = 4, c.vocab_size = 8, c.padded_vocab_size = 8, c.num_layers = 1, c.num_heads = 2, c.channels = 4;
        size_t sizes[NUM_PARAMETER_TENSORS];
        fill_param_sizes(sizes, c);
        std::vector<float> p(count_params(sizes), 0.5f);
        const std::string st = fuzz_dir() + "/valid/model.safetensors";
        mkdir((fuzz_dir() + "/valid").c_str(), 0755);
        hf_export(st, c, p.data(), "F32");
        const std::pair<std::string, std::string> bytes(file_read_all(st.c_str()), file_read_all(hf_config_path(st.c_str()).c_str()));
        remove(st.c_str());
        remove(hf_config_path(st.c_str()).c_str());
        rmdir((fuzz_dir() + "/valid").c_str());
        return bytes;
    }();
    return pair;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const auto& valid = valid_pair();
    const bool fuzz_config = data[0] & 1;
    const std::string rest((const char*)data + 1, size - 1);
    const std::string& st_bytes = fuzz_config ? valid.first : rest;
    const std::string& cfg_bytes = fuzz_config ? rest : valid.second;
    const std::string st = fuzz_write("model.safetensors", st_bytes.data(), st_bytes.size());
    const std::string cfg = fuzz_write("config.json", cfg_bytes.data(), cfg_bytes.size());
    try {
        const GPT2Config c = checkpoint_read_config(st.c_str());
        size_t sizes[NUM_PARAMETER_TENSORS];
        fill_param_sizes(sizes, c);
        const size_t n = count_params(sizes);
        // every tensor was checked against the config, so the weights are in the file (>= 2 bytes each)
        if (n - (size_t)(c.padded_vocab_size - c.vocab_size) * c.channels * (c.tied ? 1 : 2) > st_bytes.size() / 2) {
            fuzz_fail("config of a %zu-byte safetensors file sizes %zu parameters", st_bytes.size(), n);
        }
        std::vector<float> params(n);
        checkpoint_load_params(params.data(), c, st.c_str());
    } catch (const DieError& e) {
        fuzz_check_error(e.message, {st, cfg});
    }
    return 0;
}
