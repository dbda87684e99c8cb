// The trainers' command line: ONE table of flags drives parsing, the -h usage text and the
// printed config, so they cannot drift apart. Flags follow llm.c's train_gpt2.cu where they
// apply; each takes exactly one value. Unknown flags, missing values and malformed numbers
// are rejected (strtol/strtod with end-pointer checks), never guessed.
#pragma once
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "../model/init.h"
#include "../model/model.h"
#include "../utils.h"

struct TrainConfig {
    // data
    std::string train_glob = "data/mobydick/mobydick_train_*.bin";
    std::string val_glob = "data/mobydick/mobydick_val_*.bin";
    std::string tokenizer_path = "data/mobydick/gpt2_tokenizer.bin";
    int shuffle = 1;
    // model
    std::string init = "d12";        // "dN" (from scratch) or a checkpoint file
    int seed = 42;
    std::string init_scheme = "nanogpt";
    std::string init_emb = "";       // "" = the scheme's embedding init
    int tie = 1;
    int mup_base = 256;              // -init mup: the base width C0
    int mup_zero_q = 0;              // -init mup: query rows of qkvw start at 0
    int init_report = 0;
    int init_probe = 0;
    int probe_every = 0;             // forward statistics on the first train batch every N steps (0: never)
    int rms_every = 0;
    // output
    std::string output_dir = "";     // "" = no log, no checkpoints
    int checkpoint_every = 0;
    int checkpoints_keep = 0;        // 0 = keep all
    int resume = 0;
    // batch
    int B = 4;
    int T = 64;
    int total_batch = -1;            // tokens per optimizer step; -1 = B*T
    int max_steps = -1;              // -1 = one epoch of the train data
    int overfit_single_batch = 0;
    // optimizer
    float learning_rate = 3e-4f;
    std::string lr_scheduler = "cosine";
    int warmup_steps = 0;
    float final_lr_frac = 1.0f;
    float weight_decay = 0.0f;
    float beta1 = 0.9f;
    float beta2 = 0.95f;
    float eps = 1e-8f;
    float grad_clip = 1.0f;          // 0 = no clipping
    float skip_loss_z = 0.0f;        // skip the update when the loss z-score exceeds this (0 = never)
    float skip_norm_z = 0.0f;        // same for the grad norm
    int nonfinite_limit = 3;         // stop after this many consecutive non-finite steps
    int zero_stage = 0;              // 1: AdamW state sharded across processes (ZeRO-1)
    // eval and sampling
    int val_every = 20;
    int val_max_steps = 20;
    int sample_every = 20;
    int gen_tokens = 64;
    // CUDA trainer only
    int tf32 = 1;
    int master_weights = 1;
    int recompute = 1;
    int flash_attention = 1;         // fused attention (llmc/cuda/flash_attention.cuh); 0: cuBLAS + softmax
    int gelu_fusion = 0;             // off until a real GPU validates cuBLASLt's GELU epilogue
    int prof_step = 0;               // 0: no per-kernel timing
};

enum class Trainer { Both, Cuda, Cpu };

struct Flag {
    const char* name;
    std::variant<int*, float*, std::string*> value;
    const char* help;
    Trainer who;
};

inline std::vector<Flag> flag_table(TrainConfig& c) {
    return {
        {"-i", &c.train_glob, "train data glob", Trainer::Both},
        {"-j", &c.val_glob, "val data glob", Trainer::Both},
        {"-tok", &c.tokenizer_path, "gpt2_tokenizer.bin for decoding samples", Trainer::Both},
        {"-shuffle", &c.shuffle, "train data order: 0 file order, 1 llm.c's shuffle (seeded 42 + rank), 2 our -seed shuffle", Trainer::Both},
        {"-e", &c.init, "from scratch: dN (d6..d48), gpt2[-medium|-large|-xl] or a shape L8:C512:NH8[:T256][:V50257]; or a checkpoint .bin", Trainer::Both},
        {"-seed", &c.seed, "RNG seed for init, shuffling and sampling", Trainer::Both},
        {"-init", &c.init_scheme, "init: nanogpt|pytorch|xavier-{uniform,normal}|kaiming-{uniform,normal}|uniform:A|normal:STD|small-init|neox|megatron|olmo-mitchell|fan-in-trunc|zero-out|mup (formulas: README)", Trainer::Both},
        {"-init-emb", &c.init_emb, "wte/wpe init override: uniform:A|normal:STD|file:PATH (.npy or raw (V, C) float32)", Trainer::Both},
        {"-tie", &c.tie, "tie the lm_head to wte (1) or give it its own weights (0)", Trainer::Both},
        {"-mup-base", &c.mup_base, "-init mup: base width C0; hidden init std 0.02 sqrt(C0/C), their lr x C0/C, logits x C0/C, attention 1/hs", Trainer::Both},
        {"-mup-zero-q", &c.mup_zero_q, "-init mup: start the query weights (first C rows of qkvw) at 0 (0|1)", Trainer::Both},
        {"-init-report", &c.init_report, "print per-tensor init statistics (and write -o DIR/model_00000000.bin), exit", Trainer::Both},
        {"-init-probe", &c.init_probe, "one forward+backward on the first train batch: per-block signal and per-tensor gradient statistics (and -o DIR/init_probe.tsv), exit", Trainer::Both},
        {"-probe-every", &c.probe_every, "forward statistics (-init-probe's per-block RMS, logits std, loss) on the first train batch at step 0 and every N steps, -o DIR/probe_steps.tsv (0: never)", Trainer::Both},
        {"-rms", &c.rms_every, "log per-tensor weight and grad RMS every N steps (0: never)", Trainer::Both},
        {"-o", &c.output_dir, "output dir for the log and checkpoints (empty: none)", Trainer::Both},
        {"-n", &c.checkpoint_every, "write a checkpoint every N steps (0: only at the end; -1: never, -o keeps only the logs)", Trainer::Both},
        {"-nk", &c.checkpoints_keep, "keep only the newest N checkpoints in -o (0: keep all)", Trainer::Both},
        {"-y", &c.resume, "resume from the latest checkpoint in -o (0|1)", Trainer::Both},
        {"-b", &c.B, "micro-batch size B", Trainer::Both},
        {"-t", &c.T, "sequence length T", Trainer::Both},
        {"-d", &c.total_batch, "total batch in tokens, a multiple of B*T (-1: B*T)", Trainer::Both},
        {"-x", &c.max_steps, "max optimizer steps (-1: one epoch)", Trainer::Both},
        {"-a", &c.overfit_single_batch, "overfit a single batch (0|1)", Trainer::Both},
        {"-l", &c.learning_rate, "learning rate", Trainer::Both},
        {"-k", &c.lr_scheduler, "lr schedule: cosine | linear | constant | wsd", Trainer::Both},
        {"-u", &c.warmup_steps, "linear warmup steps", Trainer::Both},
        {"-q", &c.final_lr_frac, "final lr as a fraction of -l", Trainer::Both},
        {"-c", &c.weight_decay, "AdamW weight decay (2-D weights only)", Trainer::Both},
        {"-b1", &c.beta1, "AdamW beta1", Trainer::Both},
        {"-b2", &c.beta2, "AdamW beta2", Trainer::Both},
        {"-eps", &c.eps, "AdamW epsilon", Trainer::Both},
        {"-gc", &c.grad_clip, "clip the global grad norm to this (0: no clipping)", Trainer::Both},
        {"-sl", &c.skip_loss_z, "skip the update if the loss z-score (last 128 steps) exceeds this (0: never)", Trainer::Both},
        {"-sg", &c.skip_norm_z, "skip the update if the grad-norm z-score exceeds this (0: never)", Trainer::Both},
        {"-nf", &c.nonfinite_limit, "stop after N consecutive steps with a non-finite loss or grad norm (never applied)", Trainer::Both},
        {"-z", &c.zero_stage, "ZeRO stage: 1 shards the AdamW state across processes (mpirun), 0 keeps it whole", Trainer::Both},
        {"-v", &c.val_every, "val loss every N steps (0: never)", Trainer::Both},
        {"-m", &c.val_max_steps, "val batches per evaluation (-1: all)", Trainer::Both},
        {"-s", &c.sample_every, "sample every N steps (0: never)", Trainer::Both},
        {"-g", &c.gen_tokens, "tokens to generate when sampling", Trainer::Both},
        {"-f", &c.tf32, "TF32 matmuls (0|1)", Trainer::Cuda},
        {"-w", &c.master_weights, "keep fp32 master weights (0|1)", Trainer::Cuda},
        {"-r", &c.recompute, "recompute GELU in backward (0|1)", Trainer::Cuda},
        {"-fa", &c.flash_attention, "fused causal attention, no (B,NH,T,T) buffers (0|1: 0 is cuBLAS + softmax); head size 16/32/64, others run unfused; not yet timed on a GPU", Trainer::Cuda},
        {"-ge", &c.gelu_fusion, "GELU fused into the cuBLASLt epilogue (0|1); off until a real GPU shows it within the FP32 table", Trainer::Cuda},
        {"-prof", &c.prof_step, "time each kernel and matmul of step N with CUDA events, print a table (0: off)", Trainer::Cuda},
    };
}

inline std::string flag_value_str(const Flag& f) {
    char buf[64];
    if (auto p = std::get_if<int*>(&f.value)) snprintf(buf, sizeof buf, "%d", **p);
    else if (auto p = std::get_if<float*>(&f.value)) snprintf(buf, sizeof buf, "%g", (double)**p);
    else return "\"" + *std::get<std::string*>(f.value) + "\"";
    return buf;
}

inline bool flag_applies(const Flag& f, bool cuda) { return f.who == Trainer::Both || (f.who == Trainer::Cuda) == cuda; }

// Column widths that fit every row of the table this trainer shows.
struct TableWidths {
    int name = 0, help = 0, value = 0;
};
inline TableWidths table_widths(TrainConfig& c, bool cuda) {
    TableWidths w;
    for (const Flag& f : flag_table(c)) {
        if (!flag_applies(f, cuda)) continue;
        w.name = std::max(w.name, (int)strlen(f.name));
        w.help = std::max(w.help, (int)strlen(f.help));
        w.value = std::max(w.value, (int)flag_value_str(f).size());
    }
    return w;
}

// "  -flag  help  (default value)" for each flag of a table (built on a default config) that applies.
inline void print_flag_lines(const std::vector<Flag>& table, bool cuda) {
    int wn = 0, wh = 0;
    for (const Flag& f : table) {
        if (flag_applies(f, cuda)) wn = std::max(wn, (int)strlen(f.name)), wh = std::max(wh, (int)strlen(f.help));
    }
    for (const Flag& f : table) {
        if (flag_applies(f, cuda)) printf("  %-*s %-*s (default %s)\n", wn, f.name, wh, f.help, flag_value_str(f).c_str());
    }
}

inline void print_usage(const char* prog, bool cuda) {
    TrainConfig defaults;
    printf("usage: %s [-flag value ...]\n", prog);
    print_flag_lines(flag_table(defaults), cuda);
}

inline bool parse_int_strict(const char* s, int* out) {
    if (isspace((unsigned char)s[0])) return false;  // strtol would skip it silently
    errno = 0;
    char* end;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < INT_MIN || v > INT_MAX) return false;
    *out = (int)v;
    return true;
}

inline bool parse_float_strict(const char* s, float* out) {
    if (isspace((unsigned char)s[0])) return false;
    errno = 0;
    char* end;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !std::isfinite(v) || fabs(v) > FLT_MAX) return false;  // fp32 range
    *out = (float)v;
    return true;
}

// Parses argv into cfg. "-h" prints usage and exits 0; anything malformed dies with one line.
// Parses "-flag value" pairs into the variables of a flag table: an unknown flag, a flag of the
// other trainer, a missing or malformed value die with one line naming the flag; -h / --help calls
// usage and exits 0. Range checks are the caller's. Shared by the trainers and sample_gpt2.
inline void parse_flags(int argc, char** argv, const std::vector<Flag>& table, bool cuda, const std::function<void()>& usage) {
    for (int i = 1; i < argc; i++) {
        const char* name = argv[i];
        if (!strcmp(name, "-h") || !strcmp(name, "--help")) {
            usage();
            exit(EXIT_SUCCESS);
        }
        const Flag* flag = nullptr;
        for (const Flag& f : table) {
            if (!strcmp(f.name, name)) flag = &f;
        }
        if (!flag) die("unknown flag %s (run with -h for the list)", name);
        if (!flag_applies(*flag, cuda)) die("flag %s applies to the %s trainer only", name, cuda ? "CPU" : "CUDA");
        if (i + 1 >= argc) die("flag %s needs a value", name);
        const char* val = argv[++i];
        if (auto p = std::get_if<int*>(&flag->value)) {
            if (!parse_int_strict(val, *p)) die("flag %s: '%s' is not an integer", name, val);
        } else if (auto p = std::get_if<float*>(&flag->value)) {
            if (!parse_float_strict(val, *p)) die("flag %s: '%s' is not a finite number in fp32 range", name, val);
        } else {
            *std::get<std::string*>(flag->value) = val;
        }
    }
}

inline void parse_args(int argc, char** argv, TrainConfig* cfg, bool cuda) {
    parse_flags(argc, argv, flag_table(*cfg), cuda, [&] { print_usage(argv[0], cuda); });
}

// Range checks after parsing: one line naming the flag.
inline void validate_config(const TrainConfig& c) {
    auto bool01 = [](int v) { return v == 0 || v == 1; };
    if (c.B <= 0) die("-b must be positive (got %d)", c.B);
    if (c.T <= 0) die("-t must be positive (got %d)", c.T);
    if ((int64_t)c.B * c.T > (1 << 26)) die("-b %d x -t %d = %lld tokens per micro-batch is too large (max %d)", c.B, c.T, (long long)c.B * c.T, 1 << 26);
    if (c.total_batch != -1 && (c.total_batch <= 0 || c.total_batch % (c.B * c.T) != 0))
        die("-d %d must be -1 or a positive multiple of B*T = %d", c.total_batch, c.B * c.T);
    if (c.max_steps == 0 || c.max_steps < -1) die("-x must be -1 or positive (got %d)", c.max_steps);
    if (c.learning_rate < 0) die("-l must be >= 0 (got %g)", (double)c.learning_rate);
    if (c.warmup_steps < 0) die("-u must be >= 0 (got %d)", c.warmup_steps);
    if (c.final_lr_frac < 0 || c.final_lr_frac > 1) die("-q must be in [0, 1] (got %g)", (double)c.final_lr_frac);
    if (c.weight_decay < 0) die("-c must be >= 0 (got %g)", (double)c.weight_decay);
    if (c.beta1 < 0 || c.beta1 >= 1) die("-b1 must be in [0, 1) (got %g)", (double)c.beta1);
    if (c.beta2 < 0 || c.beta2 >= 1) die("-b2 must be in [0, 1) (got %g)", (double)c.beta2);
    if (c.eps <= 0) die("-eps must be positive (got %g)", (double)c.eps);
    if (c.grad_clip < 0) die("-gc must be >= 0 (got %g)", (double)c.grad_clip);
    if (c.skip_loss_z < 0 || c.skip_norm_z < 0) die("-sl and -sg must be >= 0 (0 turns them off)");
    if (c.nonfinite_limit < 1) die("-nf must be >= 1 (got %d)", c.nonfinite_limit);
    if (c.zero_stage != 0 && c.zero_stage != 1) die("-z must be 0 or 1 (got %d)", c.zero_stage);
    if (c.checkpoint_every < -1) die("-n must be >= -1 (got %d)", c.checkpoint_every);
    if (c.checkpoints_keep < 0) die("-nk must be >= 0 (got %d)", c.checkpoints_keep);
    if (c.val_every < 0 || c.sample_every < 0) die("-v and -s must be >= 0");
    if (c.val_max_steps == 0 || c.val_max_steps < -1) die("-m must be -1 or positive (got %d)", c.val_max_steps);
    if (c.gen_tokens < 1) die("-g must be positive (got %d)", c.gen_tokens);
    if (c.gen_tokens > 1 << 20) die("-g %d: at most %d tokens can be generated (and no more than the model's context)", c.gen_tokens, 1 << 20);
    if (c.rms_every < 0) die("-rms must be >= 0 (got %d)", c.rms_every);
    if (c.probe_every < 0) die("-probe-every must be >= 0 (got %d)", c.probe_every);
    InitSpec spec;
    if (!parse_init_spec(c.init_scheme.c_str(), false, &spec))
        die("-init: unknown scheme '%s' (nanogpt | pytorch | xavier-uniform | xavier-normal | kaiming-uniform | kaiming-normal | uniform:A | normal:STD, A and STD > 0 | small-init | neox | megatron | olmo-mitchell | fan-in-trunc | zero-out | mup)", c.init_scheme.c_str());
    if (c.mup_base < 1 || c.mup_base > (1 << 16)) die("-mup-base must be 1..65536 (got %d)", c.mup_base);
    if (!bool01(c.mup_zero_q)) die("-mup-zero-q takes 0 or 1");
    if (spec.kind != InitKind::Mup && (c.mup_base != TrainConfig{}.mup_base || c.mup_zero_q))
        die("-mup-base and -mup-zero-q apply to -init mup only (-init is %s)", c.init_scheme.c_str());
    if (!c.init_emb.empty() && !parse_init_spec(c.init_emb.c_str(), true, &spec))
        die("-init-emb: unknown embedding init '%s' (uniform:A | normal:STD | file:PATH)", c.init_emb.c_str());
    if (!bool01(c.tie) || !bool01(c.init_report)) die("flags -tie and -init-report take 0 or 1");
    if (!bool01(c.init_probe)) die("-init-probe takes 0 or 1");
    if (c.shuffle < 0 || c.shuffle > 2) die("-shuffle must be 0, 1 or 2 (got %d)", c.shuffle);
    if (!bool01(c.resume) || !bool01(c.overfit_single_batch) || !bool01(c.tf32) ||
        !bool01(c.master_weights) || !bool01(c.recompute) || !bool01(c.gelu_fusion) || !bool01(c.flash_attention))
        die("flags -y -a -f -w -r -ge -fa take 0 or 1");
    if (c.prof_step < 0) die("-prof must be >= 0 (got %d)", c.prof_step);
    if (c.resume && c.output_dir.empty()) die("-y 1 needs an output dir (-o) to resume from");
    const char* k = c.lr_scheduler.c_str();
    if (strcmp(k, "cosine") && strcmp(k, "linear") && strcmp(k, "constant") && strcmp(k, "wsd"))
        die("-k: unknown lr schedule '%s' (cosine | linear | constant | wsd)", k);
}

inline void print_config(TrainConfig& c, bool cuda) {
    const TableWidths w = table_widths(c, cuda);
    const std::string rule = "+" + std::string(w.name + 2, '-') + "+" + std::string(w.help + 2, '-') + "+" +
                             std::string(w.value + 2, '-') + "+";
    printf("%s\n", rule.c_str());
    for (const Flag& f : flag_table(c)) {
        if (!flag_applies(f, cuda)) continue;
        printf("| %-*s | %-*s | %-*s |\n", w.name, f.name, w.help, f.help, w.value, flag_value_str(f).c_str());
    }
    printf("%s\n", rule.c_str());
}
