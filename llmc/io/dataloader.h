// Dataloader for llm.c token shards (docs/FORMATS.md): a glob of shards, every header and file
// size validated up front, 64-bit offsets, optional seeded shuffling of shard order and of
// sample order within a shard, and a position (epoch, shard, sample) that is all a resume needs:
// the permutations are recomputed from (seed, epoch, shard), never stored.
// A sample is B*T+1 consecutive tokens starting at a multiple of B*T; with P processes,
// process r takes samples r, r+P, ... of the (possibly shuffled) order.
// Orders (-shuffle):
//   0  file order: shards as globbed, samples in order
//   1  llm.c's order (the default, as llm.c's dataloader.h draws it): one MT19937 per process seeded
//      42 + rank (not -seed); at each epoch start the shard order is permuted in place (so
//      permutations compound over epochs), then each shard, as it is reached, gets a fresh
//      permutation of its blocks of P*B*T tokens (Fisher-Yates, j = u32 % (i + 1)); process r reads
//      the r-th B*T tokens of a block. A run of ours and one of llm.c on the same shards, B, T and
//      process count read the same rows step by step. The generator is sequential, so a resume
//      replays its draws from the start up to the saved position (cheap: one draw per block).
//   2  our seeded order: every permutation derived from (-seed, epoch, shard) alone, so any
//      position is recomputed directly, and -seed changes the data order too.
#pragma once
#include <glob.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "formats.h"
#include "../rand.h"
#include "../utils.h"

struct DataLoaderPos {
    int64_t epoch = 0;       // full passes over all shards so far
    int64_t shard_pos = 0;   // index into this epoch's shard order
    int64_t sample_pos = 0;  // index into this shard's sample order (per process)
};

struct DataLoader {
    int B = 0, T = 0;
    int rank = 0, num_processes = 1;
    int shuffle = 0;                        // 0 file order, 1 llm.c's order, 2 our seeded order (above)
    uint32_t seed = 42;
    int vocab_size = GPT2_VOCAB;            // every token must be < vocab_size
    std::vector<std::string> files;
    std::vector<int64_t> shard_tokens;      // tokens in each shard
    DataLoaderPos pos;
    // derived from pos, recomputed on reset/advance/restore
    std::vector<int> shard_order;
    std::vector<int64_t> sample_order;
    Mt19937 llmc_rng;                       // -shuffle 1: the generator after the current shard's draws
    int loaded_shard = -1;
    FilePtr file;
    std::vector<uint16_t> buffer;           // B*T+1 tokens
    std::vector<int> inputs, targets;       // (B, T) each
};

inline std::vector<std::string> glob_files(const char* pattern) {
    glob_t g;
    int rc = glob(pattern, 0, nullptr, &g);
    if (rc == GLOB_NOMATCH) die("no files match %s", pattern);
    if (rc != 0) die("glob failed for %s (code %d)", pattern, rc);
    std::vector<std::string> out(g.gl_pathv, g.gl_pathv + g.gl_pathc);
    globfree(&g);
    std::sort(out.begin(), out.end());
    return out;
}

// Validates a shard header against its file size; returns its token count.
inline int64_t shard_validate(const std::string& path) {
    FilePtr f(fopenCheck(path.c_str(), "rb"));
    int64_t size = file_size(f.get(), path.c_str());
    if (size < HEADER_BYTES) die("%s: not a token shard (only %lld bytes, header needs %d)", path.c_str(), (long long)size, HEADER_BYTES);
    int32_t h[HEADER_INTS];
    freadCheck(h, sizeof(int32_t), HEADER_INTS, f.get(), path.c_str());
    if (h[0] != SHARD_MAGIC) die("%s: bad magic %d in shard header (want %d): not an llm.c token shard", path.c_str(), h[0], SHARD_MAGIC);
    if (h[1] != SHARD_VERSION) die("%s: unsupported shard version %d (want %d)", path.c_str(), h[1], SHARD_VERSION);
    int64_t ntok = (uint32_t)h[2];  // the header field is 32-bit; shards hold up to 4G tokens
    int64_t want = HEADER_BYTES + 2 * ntok;
    if (size != want) die("%s: header says %lld tokens (%lld bytes) but the file is %lld bytes: truncated or corrupt", path.c_str(), (long long)ntok, (long long)want, (long long)size);
    return ntok;
}

inline int64_t dataloader_samples_per_shard(const DataLoader* dl, int shard) {
    int64_t all = (dl->shard_tokens[shard] - 1) / ((int64_t)dl->B * dl->T);
    return all / dl->num_processes;  // per process
}

// Fisher-Yates with a generator seeded from (seed, epoch, salt): reproducible from the position.
template <typename I>
inline void seeded_permutation(std::vector<I>& v, uint32_t seed, int64_t epoch, int64_t salt) {
    for (size_t i = 0; i < v.size(); i++) v[i] = (I)i;
    // unsigned arithmetic: the same low 32 bits as the signed form, without overflow for any epoch
    Mt19937 rng(seed * 2654435761u ^ (uint32_t)((uint64_t)epoch * 40503u + (uint64_t)salt * 9973u + 1u));
    for (size_t i = v.size(); i > 1; i--) {
        size_t j = rng.next_u64() % i;
        std::swap(v[i - 1], v[j]);
    }
}

// Scans every token of a shard once (sequential read, ~GB/s) so a bad id stops the run at
// startup, naming file and position, not hours later when the shard comes up.
inline void shard_check_tokens(const std::string& file, int64_t ntok, int vocab_size) {
    const char* path = file.c_str();
    FilePtr f(fopenCheck(path, "rb"));
    std::vector<uint16_t> chunk(1 << 16);
    if (fseeko(f.get(), HEADER_BYTES, SEEK_SET) != 0) die("%s: cannot seek", path);
    for (int64_t done = 0; done < ntok;) {
        size_t n = (size_t)std::min<int64_t>((int64_t)chunk.size(), ntok - done);
        freadCheck(chunk.data(), sizeof(uint16_t), n, f.get(), path);
        for (size_t i = 0; i < n; i++) {
            if (chunk[i] >= vocab_size) {
                die("%s: token %d at position %lld is out of range (vocab size %d)", path, chunk[i],
                    (long long)(done + (int64_t)i), vocab_size);
            }
        }
        done += (int64_t)n;
    }
}

// llm.c's Fisher-Yates (rand.h random_permutation): in place, from the last element down.
template <typename I>
inline void llmc_permutation(std::vector<I>& v, Mt19937* rng) {
    for (size_t i = v.size(); i-- > 1;) {
        const size_t j = rng->next_u32() % (uint32_t)(i + 1);
        std::swap(v[i], v[j]);
    }
}

// -shuffle 1: the permutation of the current shard's blocks, as sample indices of this process
// (block k -> sample k * P + rank; the other processes' slots are filled the same way).
inline void llmc_fill_samples(DataLoader* dl, int shard) {
    const int64_t blocks = dataloader_samples_per_shard(dl, shard), P = dl->num_processes;
    std::vector<int64_t> intra((size_t)blocks);
    for (int64_t k = 0; k < blocks; k++) intra[(size_t)k] = k;
    llmc_permutation(intra, &dl->llmc_rng);
    dl->sample_order.resize((size_t)(blocks * P));
    for (int64_t k = 0; k < blocks; k++) {
        for (int64_t r = 0; r < P; r++) dl->sample_order[(size_t)(k * P + r)] = intra[(size_t)k] * P + r;
    }
}

// -shuffle 1 from scratch: the draws of every epoch and shard before the position, replayed.
// Its cost: one draw per block, plus per shard visited about what 64 draws cost (the permutation
// setup). A position beyond 1e8 of those (a run that far has read ~1e8 batches per process) is
// refused as corrupt: the replay stays under ~1 s (0.5 s measured), whatever epoch a state holds.
inline double llmc_replay_cost(const DataLoader* dl, int64_t epoch) {
    int64_t per_epoch = 0;
    for (size_t s = 0; s < dl->files.size(); s++) per_epoch += dataloader_samples_per_shard(dl, (int)s) + 64;
    return (double)(epoch + 1) * (double)per_epoch;
}
constexpr double LLMC_REPLAY_MAX = 1e8;

inline void llmc_replay(DataLoader* dl) {
    const int n = (int)dl->files.size();
    if (llmc_replay_cost(dl, dl->pos.epoch) > LLMC_REPLAY_MAX) {
        die("dataloader position (epoch %lld) is too far to replay llm.c's shuffle to", (long long)dl->pos.epoch);
    }
    dl->llmc_rng.manual_seed(42u + (uint32_t)dl->rank);
    dl->shard_order.resize(n);
    for (int i = 0; i < n; i++) dl->shard_order[i] = i;
    for (int64_t e = 0; e <= dl->pos.epoch; e++) {
        llmc_permutation(dl->shard_order, &dl->llmc_rng);
        const int64_t last = e < dl->pos.epoch ? n - 1 : dl->pos.shard_pos;
        for (int64_t s = 0; s <= last; s++) llmc_fill_samples(dl, dl->shard_order[(size_t)s]);
    }
}

// Sets shard_order and sample_order for dl->pos and opens the shard. advanced: the position just
// moved to the next shard (or epoch) in sequence, so -shuffle 1 continues its generator rather
// than replaying it.
inline void dataloader_prepare_shard(DataLoader* dl, bool advanced = false) {
    int n = (int)dl->files.size();
    if (dl->shuffle == 1) {
        if (!advanced) {
            llmc_replay(dl);
        } else {
            if (dl->pos.shard_pos == 0) llmc_permutation(dl->shard_order, &dl->llmc_rng);  // a new epoch
            llmc_fill_samples(dl, dl->shard_order[dl->pos.shard_pos]);
        }
    } else {
        dl->shard_order.resize(n);
        if (dl->shuffle == 2) seeded_permutation(dl->shard_order, dl->seed, dl->pos.epoch, -1);
        else for (int i = 0; i < n; i++) dl->shard_order[i] = i;
        const int shard = dl->shard_order[dl->pos.shard_pos];
        const int64_t per_process = dataloader_samples_per_shard(dl, shard);
        dl->sample_order.resize((size_t)(per_process * dl->num_processes));
        if (dl->shuffle == 2) seeded_permutation(dl->sample_order, dl->seed, dl->pos.epoch, shard);
        else for (size_t i = 0; i < dl->sample_order.size(); i++) dl->sample_order[i] = (int64_t)i;
    }
    const int shard = dl->shard_order[dl->pos.shard_pos];
    if (dl->loaded_shard != shard) {
        dl->file.reset(fopenCheck(dl->files[shard].c_str(), "rb"));
        dl->loaded_shard = shard;
    }
}

inline void dataloader_init(DataLoader* dl, const char* pattern, int B, int T, int rank, int num_processes,
                            int shuffle, uint32_t seed, int vocab_size) {
    dl->B = B;
    dl->T = T;
    dl->rank = rank;
    dl->num_processes = num_processes;
    dl->shuffle = shuffle;
    dl->seed = seed;
    dl->vocab_size = vocab_size;
    dl->files = glob_files(pattern);
    dl->shard_tokens.clear();
    int64_t need = (int64_t)num_processes * B * T + 1;
    for (const std::string& f : dl->files) {
        int64_t ntok = shard_validate(f);
        if (ntok < need) die("%s: shard has %lld tokens, fewer than the %lld one batch needs (B=%d T=%d processes=%d)", f.c_str(), (long long)ntok, (long long)need, B, T, num_processes);
        shard_check_tokens(f, ntok, vocab_size);  // every shard, once, before any step
        dl->shard_tokens.push_back(ntok);
    }
    dl->buffer.resize((size_t)B * T + 1);
    dl->inputs.resize((size_t)B * T);
    dl->targets.resize((size_t)B * T);
    dl->pos = DataLoaderPos{};
    dl->loaded_shard = -1;
    dataloader_prepare_shard(dl);
}

inline int64_t dataloader_total_tokens(const DataLoader* dl) {
    int64_t n = 0;
    for (int64_t t : dl->shard_tokens) n += t;
    return n;
}

inline void dataloader_reset(DataLoader* dl) {
    dl->pos = DataLoaderPos{};
    dataloader_prepare_shard(dl);
}

// source: where pos came from (the state file), named in the errors.
inline void dataloader_restore(DataLoader* dl, const DataLoaderPos& pos, const char* source = "resume") {
    if (pos.epoch < 0 || pos.shard_pos < 0 || pos.shard_pos >= (int64_t)dl->files.size() || pos.sample_pos < 0) {
        die("%s: dataloader position (epoch %lld, shard %lld, sample %lld) does not fit the %zu shards given", source,
            (long long)pos.epoch, (long long)pos.shard_pos, (long long)pos.sample_pos, dl->files.size());
    }
    if (dl->shuffle == 1 && llmc_replay_cost(dl, pos.epoch) > LLMC_REPLAY_MAX) {
        die("%s: dataloader epoch %lld is too far to replay llm.c's shuffle to (over %.0e draws): corrupt?", source,
            (long long)pos.epoch, LLMC_REPLAY_MAX);
    }
    dl->pos = pos;
    dataloader_prepare_shard(dl);
    if (pos.sample_pos > dataloader_samples_per_shard(dl, dl->loaded_shard)) {
        die("%s: dataloader position: sample %lld is past the end of shard %s", source, (long long)pos.sample_pos,
            dl->files[dl->loaded_shard].c_str());
    }
}

// Loads the next (B, T) inputs and targets; moves to the next shard (and epoch) when a shard
// runs out. Every token is checked against the vocabulary: a bad shard stops training with the
// file and offset rather than indexing out of the embedding table.
inline void dataloader_next_batch(DataLoader* dl) {
    if (dl->pos.sample_pos >= dataloader_samples_per_shard(dl, dl->loaded_shard)) {
        dl->pos.sample_pos = 0;
        if (++dl->pos.shard_pos >= (int64_t)dl->files.size()) {
            dl->pos.shard_pos = 0;
            dl->pos.epoch++;
        }
        dataloader_prepare_shard(dl, /*advanced=*/true);
    }
    int64_t sample = dl->sample_order[(size_t)(dl->pos.sample_pos * dl->num_processes + dl->rank)];
    int64_t BT = (int64_t)dl->B * dl->T;
    int64_t offset = HEADER_BYTES + 2 * sample * BT;  // 64-bit: shards can exceed 2 GiB
    const char* path = dl->files[dl->loaded_shard].c_str();
    if (fseeko(dl->file.get(), offset, SEEK_SET) != 0) die("%s: cannot seek to byte %lld", path, (long long)offset);
    freadCheck(dl->buffer.data(), sizeof(uint16_t), (size_t)BT + 1, dl->file.get(), path);
    for (int64_t i = 0; i <= BT; i++) {
        if (dl->buffer[i] >= dl->vocab_size) {
            die("%s: token %d at position %lld is out of range (vocab size %d)", path, dl->buffer[i],
                (long long)(sample * BT + i), dl->vocab_size);
        }
    }
    for (int64_t i = 0; i < BT; i++) {
        dl->inputs[i] = dl->buffer[i];
        dl->targets[i] = dl->buffer[i + 1];
    }
    dl->pos.sample_pos++;
}
