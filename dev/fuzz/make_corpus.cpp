// Writes the seed corpus of the fuzz harnesses, dev/fuzz/corpus/<harness>/seed-*, with the
// project's own writers where there is one (checkpoint_write, state_write, tokenizer_write), so
// the seeds are valid files that the fuzzer then mutates. A few KB each. Deterministic: rerunning
// rewrites the same bytes (`make fuzz-corpus`). Regression inputs (regress-*) are kept by hand.
// usage: make_corpus [OUT_DIR]   (default dev/fuzz/corpus)
#include <sys/stat.h>

#include "llmc/io/checkpoint.h"
#include "llmc/io/state.h"
#include "llmc/io/tokenizer.h"

static std::string g_out = "dev/fuzz/corpus";

static std::string seed_path(const char* harness, const char* name) {
    const std::string dir = g_out + "/" + harness;
    mkdir(g_out.c_str(), 0755);
    mkdir(dir.c_str(), 0755);
    return dir + "/seed-" + name;
}

static void write_bytes(const char* harness, const char* name, const std::string& bytes) {
    const std::string path = seed_path(harness, name);
    AtomicWriter w(path);
    fwriteCheck(bytes.data(), 1, bytes.size(), w.get(), path.c_str());
    w.commit();
}

// A tiny model: maxT=4 V=8 Vp=8 L=1 NH=2 C=4 (300 parameters with the tied lm_head).
static GPT2Config tiny_config(bool tied) {
    GPT2Config c;
    c.max_seq_len = 4;
    c.vocab_size = 8;
    c.padded_vocab_size = 8;
    c.num_layers = 1;
    c.num_heads = 2;
    c.channels = 4;
    c.tied = tied;
    return c;
}

static std::vector<float> random_floats(size_t n, uint32_t seed) {
    Mt19937 rng(seed);
    std::vector<float> v(n);
    for (float& x : v) x = (float)rng.normal_f64(0.0, 0.02);
    return v;
}

static void checkpoints() {
    for (int k = 0; k < 2; k++) {
        const GPT2Config c = tiny_config(k == 0);
        size_t sizes[NUM_PARAMETER_TENSORS];
        fill_param_sizes(sizes, c);
        const size_t n = count_params(sizes);
        const std::vector<float> p = random_floats(n, 1 + k);
        checkpoint_write(seed_path("fuzz_checkpoint", k == 0 ? "tiny_fp32_tied" : "tiny_bf16_untied"), c, p.data(), n,
                         k == 0 ? MODEL_VERSION_FP32 : MODEL_VERSION_BF16);
    }
}

// States for a 16-parameter model: one plain, one with master weights and a shuffled position,
// one of rank 1 of a 2-process ZeRO-1 job.
static void states() {
    const size_t n = 16;
    const std::vector<float> m = random_floats(n, 3), v = random_floats(n, 4), master = random_floats(n, 5);
    for (int k = 0; k < 3; k++) {
        TrainState s;
        if (k == 2) {
            s.processes = 2;
            s.rank = 1;
            s.zero = 1;
        }
        s.step = 7 + k;
        s.shuffle = k & 1;
        s.B = 2;
        s.T = 4;
        s.total_batch = 8;
        s.seed = 42;
        s.train_pos.epoch = k;
        s.train_pos.shard_pos = k & 1;
        s.train_pos.sample_pos = 3;
        Mt19937 rng(1337 + k);
        for (int i = 0; i < 100 + 600 * k; i++) rng.next_u32();
        if (k) rng.normal_f64(0.0, 1.0);  // leaves a cached normal
        s.sample_rng = rng.get_state();
        outlier_init(&s.loss_outliers);
        outlier_init(&s.norm_outliers);
        for (int i = 0; i < 5 + 200 * k; i++) {
            outlier_update(&s.loss_outliers, 3.0 - 0.01 * i);
            outlier_update(&s.norm_outliers, 1.0 + 0.001 * i);
        }
        const char* name = k == 0 ? "n16" : k == 1 ? "n16_master_shuffled" : "n16_rank1_of_2_zero";
        state_write(seed_path("fuzz_state", name), s, m.data(), v.data(), k == 1 ? master.data() : nullptr, n);
    }
}

static std::string shard_bytes(int ntok, uint32_t seed) {
    std::string b(HEADER_BYTES + 2 * (size_t)ntok, '\0');
    int32_t h[3] = {SHARD_MAGIC, SHARD_VERSION, ntok};
    memcpy(&b[0], h, sizeof h);
    Mt19937 rng(seed);
    for (int i = 0; i < ntok; i++) {
        uint16_t tok = i % 17 == 0 ? GPT2_EOT : (uint16_t)(rng.next_u32() % GPT2_EOT);
        memcpy(&b[HEADER_BYTES + 2 * (size_t)i], &tok, 2);
    }
    return b;
}

static void shards() {
    write_bytes("fuzz_shard", "40_tokens", shard_bytes(40, 1));
    write_bytes("fuzz_shard", "9_tokens", shard_bytes(9, 2));
}

static void tokenizer_files() {
    std::vector<std::string> tokens;
    for (int b = 0; b < 256; b++) tokens.push_back(std::string(1, (char)b));
    for (const char* t : {"he", "ll", "hell", "hello", " world", "<|endoftext|>"}) tokens.push_back(t);
    tokenizer_write(seed_path("fuzz_tokenizer_file", "262_tokens").c_str(), tokens, (uint32_t)tokens.size() - 1);
    tokens.resize(3);
    tokenizer_write(seed_path("fuzz_tokenizer_file", "3_tokens").c_str(), tokens, 0);
}

static void cli() {
    const std::vector<std::vector<std::string>> cases = {
        {"-b", "4", "-t", "64"},
        {"-e", "d6", "-k", "wsd", "-l", "1e-3", "-u", "10", "-q", "0.1", "-x", "100"},
        {"-init", "normal:0.02", "-init-emb", "file:emb.npy", "-tie", "0", "-seed", "-7"},
        {"-y", "1", "-o", "out", "-n", "10", "-nk", "2", "-d", "512"},
        {"-f", "0", "-w", "1", "-r", "0", "-b1", "0.8", "-b2", "0.99", "-eps", "1e-6"},
        {"-sl", "3.5", "-sg", "2", "-nf", "5", "-gc", "0", "-c", "0.1", "-v", "0", "-m", "-1", "-s", "5", "-g", "16"},
        {"-e", "L8:C512:NH8:T256:V50257", "-t", "128"},
        {"-e", "gpt2-medium", "-tie", "0"},
        {"-i", "data/x_train_*.bin", "-j", "data/x_val_*.bin", "-tok", "tok.bin", "-shuffle", "0", "-a", "1", "-rms", "3"},
    };
    int k = 0;
    for (const auto& args : cases) {
        std::string bytes;
        for (size_t i = 0; i < args.size(); i++) bytes += (i ? std::string(1, '\0') : "") + args[i];
        write_bytes("fuzz_cli", ("args" + std::to_string(k++)).c_str(), bytes);
    }
}

static void bpe_texts() {
    write_bytes("fuzz_bpe_encode", "english", "Hello world, it's 2024! We're here; they'll see.\n\n  Tabs\tand  spaces   \n");
    write_bytes("fuzz_bpe_encode", "unicode", "na\xc3\xafve caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x99\x82 \xe2\x80\x99s \xc2\xa0x");
    write_bytes("fuzz_bpe_encode", "invalid_utf8", "ab\xff\xfe\xc0\x80 \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82 '\xc3");
    write_bytes("fuzz_bpe_encode", "endoftext", "<|endoftext|>The end.<|endoftext|>");
    write_bytes("fuzz_bpe_encode", "repeat_letters", "\x01" "abcdefghij");
    write_bytes("fuzz_bpe_encode", "repeat_multibyte", "\x01" "\xc3\xa9\xe6\x97\xa5");
}

// GPT-2's byte-to-unicode spelling of raw bytes, JSON-escaped.
static std::string spell_json(const std::string& raw) {
    const std::vector<int> inv = bpe_unicode_to_byte();
    std::string out;
    for (unsigned char b : raw) {
        int cp = 0;
        while (inv[cp] != b) cp++;
        if (cp == '"' || cp == '\\') out += '\\';
        if (cp == '/') { out += "\\u002f"; continue; }
        utf8_append(&out, (uint32_t)cp);
    }
    return out;
}

static std::string spell(const std::string& raw) {
    const std::vector<int> inv = bpe_unicode_to_byte();
    std::string out;
    for (unsigned char b : raw) {
        int cp = 0;
        while (inv[cp] != b) cp++;
        utf8_append(&out, (uint32_t)cp);
    }
    return out;
}

// encoder.json NUL vocab.bpe of a byte-level vocab with the given merges (in rank order).
static std::string vocab(const std::vector<std::pair<std::string, std::string>>& merges, const char* version, const char* eol) {
    std::vector<std::string> tokens;
    for (int b = 0; b < 256; b++) tokens.push_back(std::string(1, (char)b));
    for (const auto& m : merges) {
        bool have = false;
        for (const std::string& t : tokens) have |= t == m.first + m.second;
        if (!have) tokens.push_back(m.first + m.second);
    }
    std::string json = "{";
    for (size_t i = 0; i < tokens.size(); i++) json += "\"" + spell_json(tokens[i]) + "\": " + std::to_string(i) + ", ";
    json += "\"<|endoftext|>\": " + std::to_string(tokens.size()) + "}\n";
    std::string bpe = version;
    for (const auto& m : merges) bpe += spell(m.first) + " " + spell(m.second) + eol;
    return json + std::string(1, '\0') + bpe;
}

static void vocabs() {
    write_bytes("fuzz_vocab", "hello", vocab({{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {" ", "w"}}, "#version: 0.2\n", "\n"));
    write_bytes("fuzz_vocab", "crlf_no_version", vocab({{" ", "t"}, {" t", "h"}, {"e", "s"}, {"t", "es"}, {"\n", "\n"}}, "", "\r\n"));
    // "ab" before "a"+"b" exists as a merge product: ranks not ordered (the scan path for long words)
    write_bytes("fuzz_vocab", "unordered", vocab({{"ab", "c"}, {"a", "b"}, {"\xc3", "\xa9"}}, "#version: 0.2\n", "\n"));
}

static void json_corpora() {
    write_bytes("fuzz_json_corpus", "object", "{\"chapter\": 1, \"title\": \"Loomings\", \"text\": \"Call me Ishmael.\\nSome years ago\"}\n");
    write_bytes("fuzz_json_corpus", "array", "[{\"text\": \"a\\u00e9\\ud83d\\ude42\\t\\\"q\\\"\"}, {\"x\": [1, -2.5e3, true, false, null, {}], \"text\": \"b\"}, []]");
    write_bytes("fuzz_json_corpus", "nested", "{\"a\": {\"b\": [[{\"text\": \"deep\", \"text2\": {\"text\": 7}}]]}, \"text\": \"\\ud800 lone\"}");
}

// Embedding files for a model of V=5, Vp=8, C=4: .npy (v1 header (V, C), v2 header (Vp, C)) and raw.
static std::string npy(int version, int rows, int cols) {
    std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                       std::to_string(cols) + "), }";
    const size_t pre = version == 1 ? 10 : 12;
    while ((pre + dict.size() + 1) % 64) dict += ' ';
    dict += '\n';
    std::string b = std::string("\x93NUMPY", 6) + (char)version + '\0';
    const uint32_t hlen = (uint32_t)dict.size();
    b.append((const char*)&hlen, version == 1 ? 2 : 4);
    b += dict;
    const std::vector<float> x = random_floats((size_t)rows * cols, 9);
    b.append((const char*)x.data(), x.size() * sizeof(float));
    return b;
}

// Hugging Face pairs (fuzz_safetensors: first byte 0 = the rest is model.safetensors, 1 = config.json)
static void safetensors() {
    const std::string dir = g_out + "/fuzz_safetensors";
    for (int k = 0; k < 2; k++) {
        const GPT2Config c = tiny_config(k == 0);
        size_t sizes[NUM_PARAMETER_TENSORS];
        fill_param_sizes(sizes, c);
        const std::vector<float> p = random_floats(count_params(sizes), 20 + k);
        seed_path("fuzz_safetensors", "x");  // makes the dir
        const std::string st = dir + "/tmp.safetensors";
        hf_export(st, c, p.data(), k == 0 ? "F32" : "BF16");
        write_bytes("fuzz_safetensors", k == 0 ? "st_f32_tied" : "st_bf16_untied", std::string(1, '\0') + file_read_all(st.c_str()));
        if (k == 1) write_bytes("fuzz_safetensors", "config_untied", std::string(1, '\1') + file_read_all(hf_config_path(st.c_str()).c_str()));
        remove(st.c_str());
        remove(hf_config_path(st.c_str()).c_str());
    }
}

static void embeddings() {
    write_bytes("fuzz_embedding", "v1_V_rows.npy", npy(1, 5, 4));
    write_bytes("fuzz_embedding", "v2_Vp_rows.npy", npy(2, 8, 4));
    const std::vector<float> x = random_floats(5 * 4, 10);
    write_bytes("fuzz_embedding", "raw_V_rows", std::string((const char*)x.data(), x.size() * sizeof(float)));
}

int main(int argc, char** argv) {
    if (argc > 1) g_out = argv[1];
    checkpoints();
    states();
    shards();
    tokenizer_files();
    cli();
    bpe_texts();
    vocabs();
    json_corpora();
    embeddings();
    safetensors();
    printf("wrote the seed corpus under %s/\n", g_out.c_str());
    return 0;
}
