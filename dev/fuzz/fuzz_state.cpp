// Fuzz harness: the training-state reader (llmc/io/state.h) and what a resume does with what it
// read. The input is the whole state file. n, the model's parameter count (which the trainer gets
// from the model file), is the n the file's size implies when it implies one, so the reads and the
// extension-block checks past the size check are reached; otherwise the seed's n = 16 (the
// size-mismatch path). The reading job has the process count and rank the header names when
// they are 1..4 and in range (ranks of a data-parallel job), else one process.
//   1. state_file_problem: the resume scan's check (returns the problem, never dies)
//   2. state_read, with a master-weights buffer (as the trainers pass) and without one
//   3. the resume: dataloader_restore to the saved position over two small valid shards, three
//      batches, the sampling RNG restored and drawn from past a twist, the -sl/-sg windows updated
// Reader errors must be one line naming the state file; dataloader_restore's may name the shards.
#include "dev/fuzz/fuzz_common.h"
#include "llmc/io/state.h"

static const int B = 2, T = 4;

// Two shards of 100 and 60 valid tokens, written once into the scratch dir.
static std::string shard_glob() {
    static const std::string pattern = [] {
        Mt19937 rng(7);
        for (int s = 0; s < 2; s++) {
            const int ntok = s == 0 ? 100 : 60;
            std::vector<uint8_t> file(HEADER_BYTES + 2 * ntok, 0);
            int32_t h[3] = {SHARD_MAGIC, SHARD_VERSION, ntok};
            memcpy(file.data(), h, sizeof h);
            for (int i = 0; i < ntok; i++) {
                uint16_t tok = i % 50 == 0 ? GPT2_EOT : (uint16_t)(rng.next_u32() % GPT2_EOT);
                memcpy(&file[HEADER_BYTES + 2 * i], &tok, 2);
            }
            fuzz_write(s == 0 ? "st_train_000000.bin" : "st_train_000001.bin", file.data(), file.size());
        }
        return fuzz_dir() + "/st_train_*.bin";
    }();
    return pattern;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = fuzz_write("state.bin", data, size);
    const std::string shards = shard_glob();

    int32_t h4 = 0;
    if (size >= HEADER_BYTES) memcpy(&h4, data + 4 * 4, 4);
    const size_t per_param = (h4 ? 3 : 2) * sizeof(float);
    const size_t fixed = HEADER_BYTES + sizeof(StateExt);
    size_t n = 16;
    if (size > fixed && (size - fixed) % per_param == 0) n = (size - fixed) / per_param;

    // the reading job (see above)
    int32_t h23[2] = {1, 0};
    if (size >= HEADER_BYTES) memcpy(h23, data + 2 * 4, 8);
    const int processes = h23[0] >= 1 && h23[0] <= 4 ? h23[0] : 1;
    const int rank = h23[1] >= 0 && h23[1] < processes ? h23[1] : 0;

    int32_t h[HEADER_INTS];
    const std::string problem = state_file_problem(path, n, h, processes, rank);
    if (!problem.empty()) fuzz_check_error(problem, {path});

    std::vector<float> m(n), v(n), master(n), m2(n), v2(n);
    TrainState s;
    try {
        s = state_read(path, m.data(), v.data(), master.data(), n, processes, rank);
        if (!problem.empty()) fuzz_fail("state_read accepted a file the resume scan refuses: %s", problem.c_str());
        state_read(path, m2.data(), v2.data(), nullptr, n, processes, rank);
        if (memcmp(m.data(), m2.data(), n * sizeof(float)) || memcmp(v.data(), v2.data(), n * sizeof(float)))
            fuzz_fail("state_read with and without a master-weights buffer read different m or v");
    } catch (const DieError& e) {
        fuzz_check_error(e.message, {path});
        return 0;
    }

    try {
        DataLoader dl;
        dataloader_init(&dl, shards.c_str(), B, T, rank, processes, s.shuffle, s.seed, GPT2_VOCAB);
        dataloader_restore(&dl, s.train_pos, path.c_str());  // as the trainer: its errors name the state file
        for (int i = 0; i < 3; i++) dataloader_next_batch(&dl);
    } catch (const DieError& e) {
        fuzz_check_error(e.message, {path, "dataloader position", fuzz_dir()});
    }
    Mt19937 rng;
    rng.set_state(s.sample_rng);
    float sum = 0.0f;
    for (int i = 0; i < 700; i++) sum += rng.uniform_f32();  // 700 > 624: crosses a twist
    sum += (float)rng.normal_f64(0.0, 1.0) + (float)rng.normal_f64(0.0, 1.0);
    OutlierDetector loss = s.loss_outliers, norm = s.norm_outliers;
    for (int i = 0; i < 3; i++) sum += (float)outlier_update(&loss, 1.0 + i) + (float)outlier_update(&norm, 2.0 + i);
    volatile float sink = sum;  // keep the draws
    (void)sink;
    return 0;
}
