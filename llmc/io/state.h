// Training-state file for exact resume: llm.c's state_%08d_%05d.bin header layout (docs/FORMATS.md)
// followed by AdamW m and v (fp32), then our extension block: what else a bit-exact resume
// needs (dataloader position, sampling RNG). The schedule is recomputed from the step and flags.
#pragma once

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../rand.h"
#include "../train/outlier.h"
#include "../utils.h"
#include "dataloader.h"
#include "formats.h"

constexpr int32_t STATE_EXT_MAGIC = 0x47505432;  // "GPT2": marks our extension block
// header int 25: 1 = -shuffle 1 is llm.c's batch order (0, older files: it meant our -seed order,
// now -shuffle 2, and is read as 2)
constexpr int32_t STATE_ORDER_VERSION = 1;

struct TrainState {
    int step = 0;            // optimizer steps done
    int shuffle = 0;
    int master_weights = 0;  // 1 if the file also carries fp32 master weights (CUDA bf16)
    int processes = 1, rank = 0;  // the job's process count and the writer's rank (header ints 2, 3)
    int zero = 0;                 // 1: m, v (and master weights) are this rank's ZeRO-1 shard (int 24)
    // what the data position means: -b, -t, the tokens per step (-d) and -seed of the run that
    // wrote it (header ints 20-23, our extension; 0 = not recorded, an older file)
    int B = 0, T = 0, total_batch = 0;
    uint32_t seed = 0;
    DataLoaderPos train_pos;
    Mt19937::State sample_rng{};
    OutlierDetector loss_outliers{}, norm_outliers{};  // -sl / -sg windows
};

struct StateExt {
    int32_t magic;
    int32_t reserved;
    int64_t num_parameters;
    int64_t epoch, shard_pos, sample_pos;
    Mt19937::State sample_rng;
    OutlierDetector loss_outliers, norm_outliers;
};

// m, v (and master weights when non-null) hold n floats each.
inline void state_write(const std::string& path, const TrainState& s, const float* m, const float* v,
                        const float* master, size_t n) {
    int32_t h[HEADER_INTS] = {0};
    h[0] = STATE_MAGIC;
    h[1] = STATE_VERSION;
    h[2] = s.processes;
    h[3] = s.rank;
    h[4] = master ? 1 : 0;
    h[5] = s.shuffle;
    h[10] = s.step;
    h[20] = s.B;
    h[21] = s.T;
    h[22] = s.total_batch;
    h[23] = (int32_t)s.seed;
    h[24] = s.zero;
    h[25] = STATE_ORDER_VERSION;
    StateExt e{};
    e.magic = STATE_EXT_MAGIC;
    e.num_parameters = (int64_t)n;
    e.epoch = s.train_pos.epoch;
    e.shard_pos = s.train_pos.shard_pos;
    e.sample_pos = s.train_pos.sample_pos;
    e.sample_rng = s.sample_rng;
    e.loss_outliers = s.loss_outliers;
    e.norm_outliers = s.norm_outliers;
    AtomicWriter w(path);
    fwriteCheck(h, sizeof(int32_t), HEADER_INTS, w.get(), path.c_str());
    fwriteCheck(m, sizeof(float), n, w.get(), path.c_str());
    fwriteCheck(v, sizeof(float), n, w.get(), path.c_str());
    if (master) fwriteCheck(master, sizeof(float), n, w.get(), path.c_str());
    fwriteCheck(&e, sizeof e, 1, w.get(), path.c_str());
    w.commit();
}

// The header and size check of a state file for a model of n parameters, without reading the
// data: "" (and the header in h) if it can be resumed from, else the problem ("PATH: ..."). Used
// by state_read and to pick the newest intact checkpoint.
// processes, rank: the job reading it (a state belongs to one rank of a job of that size).
inline std::string state_file_problem(const std::string& path, size_t n, int32_t h[HEADER_INTS], int processes = 1,
                                      int rank = 0) {
    char msg[512];
    const char* p = path.c_str();
    FILE* raw = fopen(p, "rb");
    if (!raw) {
        snprintf(msg, sizeof msg, "%s: cannot open: %s", p, strerror(errno));
        return msg;
    }
    FilePtr f(raw);
    if (fseeko(f.get(), 0, SEEK_END) != 0) {
        snprintf(msg, sizeof msg, "%s: cannot seek", p);
        return msg;
    }
    const int64_t size = ftello(f.get());
    if (size < HEADER_BYTES || fseeko(f.get(), 0, SEEK_SET) != 0 ||
        fread(h, sizeof(int32_t), HEADER_INTS, f.get()) != (size_t)HEADER_INTS) {
        snprintf(msg, sizeof msg, "%s: not a training state file (only %lld bytes)", p, (long long)size);
        return msg;
    }
    if (h[0] != STATE_MAGIC) snprintf(msg, sizeof msg, "%s: bad magic %d in state header (want %d)", p, h[0], STATE_MAGIC);
    else if (h[1] != STATE_VERSION) snprintf(msg, sizeof msg, "%s: unsupported state version %d", p, h[1]);
    else if (h[2] != processes) {
        snprintf(msg, sizeof msg, "%s: written by a job of %d process(es), this run has %d: resume with the same process count (mpirun -np %d)",
                 p, h[2], processes, h[2]);
    } else if (h[3] != rank) snprintf(msg, sizeof msg, "%s: holds rank %d's state, read by rank %d", p, h[3], rank);
    else if (h[4] != 0 && h[4] != 1) snprintf(msg, sizeof msg, "%s: master-weights flag %d is not 0 or 1", p, h[4]);
    else {
        const int64_t want = HEADER_BYTES + (int64_t)((2 + (h[4] ? 1 : 0)) * n * sizeof(float)) + (int64_t)sizeof(StateExt);
        if (size == want) return "";
        snprintf(msg, sizeof msg, "%s: %lld bytes, but a state for this %zu-parameter model is %lld bytes: truncated, or from another model",
                 p, (long long)size, n, (long long)want);
    }
    return msg;
}

// Reads a state written for a model of n parameters. master may be null (then a master-weights
// block in the file is skipped). Dies naming the file on any mismatch.
inline TrainState state_read(const std::string& path, float* m, float* v, float* master, size_t n, int processes = 1,
                             int rank = 0) {
    int32_t h[HEADER_INTS];
    const std::string problem = state_file_problem(path, n, h, processes, rank);
    if (!problem.empty()) die("%s", problem.c_str());
    FilePtr f(fopenCheck(path.c_str(), "rb"));
    const char* p = path.c_str();
    if (fseeko(f.get(), HEADER_BYTES, SEEK_SET) != 0) die("%s: cannot seek", p);
    freadCheck(m, sizeof(float), n, f.get(), p);
    freadCheck(v, sizeof(float), n, f.get(), p);
    if (h[4]) {
        if (master) freadCheck(master, sizeof(float), n, f.get(), p);
        else if (fseeko(f.get(), (off_t)(n * sizeof(float)), SEEK_CUR) != 0) die("%s: cannot seek", p);
    }
    StateExt e;
    freadCheck(&e, sizeof e, 1, f.get(), p);
    if (e.magic != STATE_EXT_MAGIC || e.num_parameters != (int64_t)n) die("%s: extension block is missing or for another model", p);
    // every field we index with must be in range: name the first that is not
    if (h[10] < 0) die("%s: step %d is negative", p, h[10]);
    if (h[5] < 0 || h[5] > 2) die("%s: shuffle mode %d is not 0, 1 or 2", p, h[5]);
    if (e.epoch < 0 || e.epoch > (int64_t)1 << 40) die("%s: dataloader epoch %lld is out of range", p, (long long)e.epoch);
    if (e.shard_pos < 0 || e.sample_pos < 0) {
        die("%s: dataloader position (shard %lld, sample %lld) is negative", p, (long long)e.shard_pos, (long long)e.sample_pos);
    }
    if (!Mt19937::state_valid(e.sample_rng)) {
        die("%s: sampling RNG state is corrupt (next %d, left %d)", p, e.sample_rng.next, e.sample_rng.left);
    }
    for (const OutlierDetector* d : {&e.loss_outliers, &e.norm_outliers}) {
        if (d->count < 0 || d->count > OutlierDetector::WINDOW || d->next < 0 || d->next >= OutlierDetector::WINDOW) {
            die("%s: %s outlier window is corrupt (count %d, next %d; the window holds %d)", p,
                d == &e.loss_outliers ? "loss" : "grad-norm", d->count, d->next, OutlierDetector::WINDOW);
        }
    }
    TrainState s;
    s.step = h[10];
    s.B = h[20];
    s.T = h[21];
    s.total_batch = h[22];
    s.seed = (uint32_t)h[23];
    s.shuffle = h[5];
    s.master_weights = h[4];
    s.processes = h[2];
    s.zero = h[24];
    // before int 25 existed, -shuffle 1 meant the -seed order that is now -shuffle 2: keep its meaning
    if (h[25] < STATE_ORDER_VERSION && s.shuffle == 1) s.shuffle = 2;
    s.rank = h[3];
    s.train_pos.epoch = e.epoch;
    s.train_pos.shard_pos = e.shard_pos;
    s.train_pos.sample_pos = e.sample_pos;
    s.sample_rng = e.sample_rng;
    s.loss_outliers = e.loss_outliers;
    s.norm_outliers = e.norm_outliers;
    return s;
}
