// Run setup and step-to-step bookkeeping both trainers share: what a run starts from (resume,
// checkpoint or from-scratch init), loading host weights, -init-report, the data loaders and
// batch arithmetic, and the resumable progress (sampling RNG, outlier windows, log). Host only.
#pragma once
#include <fcntl.h>
#include <glob.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "../io/checkpoint.h"
#include "../io/dataloader.h"
#include "../io/state.h"
#include "../model/init.h"
#include "../model/model.h"
#include "../utils.h"
#include "cli.h"
#include "comm.h"

struct RunStart {
    GPT2Config config;
    bool from_scratch = false;
    int resume_step = -1;        // >= 0: resuming from this checkpoint step in -o
    std::string init_path;       // the checkpoint to load when not from scratch
    InitSpec scheme, emb;        // -init, -init-emb (from scratch only)
};

// mkdir -p: creates dir and any missing parents.
inline void make_dirs(const std::string& dir) {
    for (size_t i = 1; i <= dir.size(); i++) {
        if (i < dir.size() && dir[i] != '/') continue;
        const std::string part = dir.substr(0, i);
        if (mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) die("cannot create output dir %s: %s", part.c_str(), strerror(errno));
    }
    struct stat st;
    if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) die("output dir %s exists but is not a directory", dir.c_str());
}

// One writer per output dir: an exclusive flock on DIR/.lock, held for the life of the process
// (the OS releases it on any exit, kill -9 included). A second run on the same dir stops here,
// before touching anything, with one line naming the holder's pid.
inline void output_dir_lock(const std::string& dir) {
    static int fd = -1;  // kept open: closing it would release the lock
    if (fd >= 0) return;
    const std::string path = dir + "/.lock";
    fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) die("cannot open %s: %s", path.c_str(), strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char buf[32] = {0};
        const ssize_t got = pread(fd, buf, sizeof buf - 1, 0);
        const long holder = got > 0 ? strtol(buf, nullptr, 10) : 0;
        die("output dir %s is in use by another run (pid %ld holds %s): one run per output dir", dir.c_str(), holder,
            path.c_str());
    }
    char pid[32];
    const int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, n, 0) != n) die("cannot write %s: %s", path.c_str(), strerror(errno));
}

// With the dir locked, any checkpoint temp file in it is a leftover of a killed run: remove it.
inline void remove_stale_tmp_files(const std::string& dir) {
    glob_t g{};
    const std::string pattern = dir + "/*.tmp";
    if (glob(pattern.c_str(), 0, nullptr, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            const char* name = strrchr(g.gl_pathv[i], '/') + 1;
            if (strncmp(name, "model_", 6) && strncmp(name, "state_", 6) && strncmp(name, "DONE_", 5)) continue;
            if (remove(g.gl_pathv[i]) == 0) printf("removed a stale temp file of a killed run: %s\n", g.gl_pathv[i]);
        }
    }
    globfree(&g);
}

// The newest complete checkpoint whose model and state files look intact (header and size). Newer
// ones that do not are skipped, each with a warning naming the bad file. -1 if there is no
// complete checkpoint; one error line naming the newest's problem if none is intact.
// A checkpoint of a job of P processes has P state files, all checked (with -z 1 each holds its
// rank's optimizer shard).
inline int checkpoint_find_intact(const std::string& dir, int processes = 1, bool zero = false) {
    const std::vector<int> steps = checkpoint_steps(dir);
    std::vector<std::string> skipped;  // newest first
    for (size_t i = steps.size(); i-- > 0;) {
        const std::string model = checkpoint_path(dir, "model", steps[i]);
        std::string problem;
        GPT2Config c;
        int version = 0;
        FILE* raw = fopen(model.c_str(), "rb");
        if (!raw) {
            problem = model + ": cannot open: " + strerror(errno);
        } else {
            FilePtr f(raw);
            problem = checkpoint_header_problem(f.get(), model.c_str(), &c, &version);
        }
        if (problem.empty()) {
            size_t sizes[NUM_PARAMETER_TENSORS];
            fill_param_sizes(sizes, c);
            int32_t h[HEADER_INTS];
            for (int r = 0; r < processes && problem.empty(); r++) {
                const size_t n = zero ? optimizer_shard(count_params(sizes), processes, r).n : count_params(sizes);
                problem = state_file_problem(checkpoint_path(dir, "state", steps[i], r), n, h, processes, r);
            }
        }
        if (problem.empty()) {
            for (const std::string& w : skipped) fprintf(stderr, "warning: %s; resuming from step %d instead\n", w.c_str(), steps[i]);
            return steps[i];
        }
        skipped.push_back("checkpoint step " + std::to_string(steps[i]) + " is unreadable (" + problem + ")");
    }
    if (!steps.empty()) {
        die("-y 1: none of the %zu complete checkpoints in %s is readable; the newest: %s", steps.size(), dir.c_str(),
            skipped.front().c_str());
    }
    return -1;
}

// Creates -o and locks it, finds the latest complete checkpoint when resuming (it replaces -e), and reads
// the model config from -e dN (with -tie) or from the checkpoint's header.
// With several processes, rank 0 owns the dir (lock, cleanup) and picks the checkpoint; every rank
// then resumes from that step (the output dir is one shared directory).
inline RunStart run_start_resolve(const TrainConfig& cfg) {
    if (!cfg.output_dir.empty() && comm_root()) {
        make_dirs(cfg.output_dir);
        output_dir_lock(cfg.output_dir);
        remove_stale_tmp_files(cfg.output_dir);
    }
    comm_barrier();
    RunStart rs;
    rs.init_path = cfg.init;
    if (cfg.resume) {
        int step = comm_root() ? checkpoint_find_intact(cfg.output_dir, g_comm.size, cfg.zero_stage == 1 && g_comm.size > 1) : -1;
        comm_broadcast(&step, sizeof step);
        rs.resume_step = step;
        if (rs.resume_step < 0) die("-y 1: no complete checkpoint (DONE_*) in %s", cfg.output_dir.c_str());
        rs.init_path = checkpoint_path(cfg.output_dir, "model", rs.resume_step);
    }
    rs.from_scratch = rs.resume_step < 0 && config_from_depth(cfg.init.c_str(), &rs.config);
    if (rs.from_scratch) {
        rs.config.tied = cfg.tie;
    } else {
        rs.config = checkpoint_read_config(rs.init_path.c_str());  // the file says tied or untied
        const TrainConfig defaults;
        if (cfg.tie != (int)rs.config.tied || cfg.init_scheme != defaults.init_scheme || cfg.init_emb != defaults.init_emb ||
            cfg.mup_base != defaults.mup_base || cfg.mup_zero_q != defaults.mup_zero_q) {
            fprintf(stderr, "warning: -init, -init-emb, -tie and -mup-* apply to from-scratch models; %s has a %s lm_head%s and its own weights\n",
                    rs.init_path.c_str(), rs.config.tied ? "tied" : "untied", rs.config.mup_base ? " (muP)" : "");
        }
    }
    if (cfg.T > rs.config.max_seq_len) die("-t %d exceeds the model's maxT %d", cfg.T, rs.config.max_seq_len);
    parse_init_spec(cfg.init_scheme.c_str(), false, &rs.scheme);  // validated by validate_config
    rs.scheme.zero_query = cfg.mup_zero_q;
    // muP's base width is the model's: the init (init.h), the forward and the lr rules (model.h) read it
    if (rs.from_scratch && rs.scheme.kind == InitKind::Mup) rs.config.mup_base = cfg.mup_base;
    if (!cfg.init_emb.empty()) parse_init_spec(cfg.init_emb.c_str(), true, &rs.emb);
    return rs;
}

// The starting host weights: the scheme's init from scratch, else the checkpoint's.
inline void run_start_params(float* params, const RunStart& rs, uint32_t seed) {
    if (rs.from_scratch) gpt2_init(params, rs.config, rs.scheme, rs.emb, seed);
    else checkpoint_load_params(params, rs.config, rs.init_path.c_str());
}

// -init-report: parameters only (no gradients, optimizer state or activations), statistics,
// and with -o the initial weights as model_00000000.bin (no DONE_: not a resume point).
inline void run_init_report(const TrainConfig& cfg, const RunStart& rs) {
    size_t sizes[NUM_PARAMETER_TENSORS];
    fill_param_sizes(sizes, rs.config);
    const size_t n = count_params(sizes);
    Arena<float> params = arena_alloc<float>(n, "parameters");
    const double t0 = now_ms();
    run_start_params(params.get(), rs, (uint32_t)cfg.seed);
    printf("init: %s, L=%d C=%d, %s lm_head, %zu parameters, %.0f ms\n",
           rs.from_scratch ? cfg.init_scheme.c_str() : rs.init_path.c_str(), rs.config.num_layers, rs.config.channels,
           rs.config.tied ? "tied" : "untied", n, now_ms() - t0);
    gpt2_init_report(params.get(), rs.config, rs.from_scratch ? &rs.scheme : nullptr, rs.emb);
    if (!cfg.output_dir.empty()) {
        const std::string path = checkpoint_path(cfg.output_dir, "model", 0);
        checkpoint_write(path, rs.config, params.get(), n, MODEL_VERSION_FP32);
        printf("wrote %s\n", path.c_str());
    }
}

// The train and val loaders, and the batch arithmetic both trainers print and loop over.
struct RunData {
    DataLoader train, val;
    bool do_val = false;
    int total_batch = 0;  // tokens per optimizer step
    int grad_accum = 0;   // micro-batches per step
    int max_steps = 0;    // -x, or one epoch of the train data
};

// With P processes each micro-step reads P disjoint batches (process r: samples r, r+P, ...), so
// -d counts all of them: -d = B*T*P*accumulation (-1: B*T*P).
inline void run_data_init(RunData* d, const TrainConfig& cfg, int vocab_size) {
    const int P = g_comm.size, r = g_comm.rank;
    const int tokens_per_micro = cfg.B * cfg.T * P;
    if (cfg.total_batch != -1 && cfg.total_batch % tokens_per_micro != 0) {
        die("-d %d must be a multiple of B*T*processes = %d*%d*%d = %d", cfg.total_batch, cfg.B, cfg.T, P, tokens_per_micro);
    }
    dataloader_init(&d->train, cfg.train_glob.c_str(), cfg.B, cfg.T, r, P, cfg.shuffle, (uint32_t)cfg.seed, vocab_size);
    d->do_val = cfg.val_every > 0;
    if (d->do_val) dataloader_init(&d->val, cfg.val_glob.c_str(), cfg.B, cfg.T, r, P, false, (uint32_t)cfg.seed, vocab_size);
    d->total_batch = cfg.total_batch == -1 ? tokens_per_micro : cfg.total_batch;
    d->grad_accum = d->total_batch / tokens_per_micro;
    const int64_t tokens = dataloader_total_tokens(&d->train);
    d->max_steps = cfg.max_steps > 0 ? cfg.max_steps : (int)std::max<int64_t>(1, tokens / d->total_batch);
    printf("train: %zu shard(s), %lld tokens | val: %s | total batch %d tokens = %d x B*T%s (grad accumulation) | %d steps\n",
           d->train.files.size(), (long long)tokens, d->do_val ? cfg.val_glob.c_str() : "off", d->total_batch,
           d->grad_accum, P > 1 ? (" x " + std::to_string(P) + " processes").c_str() : "", d->max_steps);
}

// What a run carries from step to step besides weights and optimizer state, saved in and
// restored from the training state so a resumed run continues exactly (both trainers).
struct RunProgress {
    int start_step = 0;
    Mt19937 sample_rng;
    OutlierDetector loss_outliers, norm_outliers;  // -sl / -sg windows
    FilePtr log;                                   // -o DIR/main.log
    int B = 0, T = 0, total_batch = 0;             // what a data position means (saved in the state)
    uint32_t seed = 0;
    int zero = 0;                                  // optimizer state sharded (-z 1 with > 1 process)
};

inline void run_progress_init(RunProgress* p, const TrainConfig& cfg) {
    p->start_step = 0;
    p->sample_rng.manual_seed((uint32_t)cfg.seed + 1337u);
    outlier_init(&p->loss_outliers);
    outlier_init(&p->norm_outliers);
    p->B = cfg.B;
    p->T = cfg.T;
    p->total_batch = cfg.total_batch == -1 ? cfg.B * cfg.T * g_comm.size : cfg.total_batch;
    p->seed = (uint32_t)cfg.seed;
    p->zero = cfg.zero_stage == 1 && g_comm.size > 1 ? 1 : 0;
}

// After the trainer has read state s (and its m, v, master weights): the data position, the
// sampling RNG and the outlier windows continue where the checkpoint left them.
inline void run_progress_resume(RunProgress* p, const TrainState& s, const TrainConfig& cfg, DataLoader* train, int max_steps,
                                const std::string& state_path) {
    if (s.shuffle != cfg.shuffle) die("resume: the checkpoint was written with -shuffle %d, this run has -shuffle %d", s.shuffle, cfg.shuffle);
    // the saved data position counts samples of the writer's B*T, in its seeded order: with other
    // settings it would point somewhere else (a state without them, from an older build, is taken as is)
    if (s.B != 0 && (s.B != p->B || s.T != p->T || s.total_batch != p->total_batch || s.seed != p->seed)) {
        die("resume: the checkpoint's run had -b %d -t %d -d %d -seed %u, this run has -b %d -t %d -d %d -seed %u: "
            "its data position would mean other batches", s.B, s.T, s.total_batch, s.seed, p->B, p->T, p->total_batch, p->seed);
    }
    if (s.zero != (cfg.zero_stage == 1 && g_comm.size > 1 ? 1 : 0)) {
        die("resume: the checkpoint's optimizer state is %s, this run's is %s: resume with the same -z", s.zero ? "sharded (-z 1)" : "whole (-z 0)",
            s.zero ? "whole" : "sharded");
    }
    if (s.step > max_steps) die("resume: checkpoint step %d is past -x %d", s.step, max_steps);
    dataloader_restore(train, s.train_pos, state_path.c_str());
    p->sample_rng.set_state(s.sample_rng);
    p->loss_outliers = s.loss_outliers;
    p->norm_outliers = s.norm_outliers;
    p->start_step = s.step;
}

// The state to save at `step` (the trainer adds m, v and master weights).
inline TrainState run_progress_state(const RunProgress& p, int step, const DataLoader& train) {
    TrainState s;
    s.step = step;
    s.shuffle = train.shuffle;
    s.B = p.B;
    s.T = p.T;
    s.total_batch = p.total_batch;
    s.seed = p.seed;
    s.processes = g_comm.size;
    s.rank = g_comm.rank;
    s.zero = p.zero;
    s.train_pos = train.pos;
    s.sample_rng = p.sample_rng.get_state();
    s.loss_outliers = p.loss_outliers;
    s.norm_outliers = p.norm_outliers;
    return s;
}

// -o DIR/main.log, appended to when resuming.
inline void run_log_open(RunProgress* p, const TrainConfig& cfg, bool resuming) {
    if (cfg.output_dir.empty() || !comm_root()) return;  // one log, from rank 0
    const std::string path = cfg.output_dir + "/main.log";
    p->log.reset(fopenCheck(path.c_str(), resuming ? "a" : "w"));
}

// A checkpoint every -n steps and at the end (never at the step a run starts from).
inline bool run_checkpoint_due(const TrainConfig& cfg, int step, int start_step, bool last) {
    return !cfg.output_dir.empty() && cfg.checkpoint_every >= 0 && step > start_step &&
           ((cfg.checkpoint_every > 0 && step % cfg.checkpoint_every == 0) || last);
}

// Every `every` steps (0: never) and at the last step: the cadence of -v and -s.
inline bool run_every(int every, int step, bool last) { return every > 0 && (step % every == 0 || last); }

// The val loss line on stdout and in the log.
inline void run_log_val(RunProgress* p, int step, float val_loss) {
    printf("step %d: val loss %.6f\n", step, val_loss);
    if (p->log) fprintf(p->log.get(), "s:%d tel:%.6f\n", step, val_loss), fflush(p->log.get());
}

// -sl / -sg: feeds this step's loss and grad norm to the windows; true if the update is skipped.
inline bool run_outlier_skip(RunProgress* p, const TrainConfig& cfg, float loss, float norm) {
    const double zloss = outlier_update(&p->loss_outliers, loss), znorm = outlier_update(&p->norm_outliers, norm);
    return (cfg.skip_loss_z > 0 && zloss > cfg.skip_loss_z) || (cfg.skip_norm_z > 0 && znorm > cfg.skip_norm_z);
}
