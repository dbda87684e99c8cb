// Fuzz harness: the token-shard reader (llmc/io/dataloader.h). The input is the whole shard,
// written as the one file of a glob (<scratch>/fz_train_*.bin), then read the trainer's way:
//   1. shard_validate (header against file size) and shard_check_tokens (every id < 50257)
//   2. dataloader_init on the glob in each -shuffle order: file order (B=1 T=4), llm.c's
//      (B=2 T=3) and our seeded one (B=2 T=2, seed 42)
//   3. dataloader_next_batch through one epoch and into the next (at most 300 batches);
//      every input and target must be a valid id
// Every input must be read, or fail with one error line naming the shard.
#include "dev/fuzz/fuzz_common.h"
#include "llmc/io/dataloader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = fuzz_write("fz_train_000000.bin", data, size);
    const std::string pattern = fuzz_dir() + "/fz_train_*.bin";
    try {
        const int64_t ntok = shard_validate(path);
        if (HEADER_BYTES + 2 * ntok != (int64_t)size) fuzz_fail("shard_validate accepted %lld tokens in %zu bytes", (long long)ntok, size);
        shard_check_tokens(path, ntok, GPT2_VOCAB);
    } catch (const DieError& e) {
        fuzz_check_error(e.message, {path});
    }
    struct Run { int B, T, shuffle; };
    for (const Run& r : {Run{1, 4, 0}, Run{2, 3, 1}, Run{2, 2, 2}}) {
        try {
            DataLoader dl;
            dataloader_init(&dl, pattern.c_str(), r.B, r.T, 0, 1, r.shuffle, 42, GPT2_VOCAB);
            const int64_t batches = std::min<int64_t>(dataloader_samples_per_shard(&dl, 0) + 2, 300);
            for (int64_t i = 0; i < batches; i++) {
                dataloader_next_batch(&dl);
                for (int k = 0; k < r.B * r.T; k++) {
                    if (dl.inputs[k] < 0 || dl.inputs[k] >= GPT2_VOCAB || dl.targets[k] < 0 || dl.targets[k] >= GPT2_VOCAB)
                        fuzz_fail("batch %lld holds an out-of-range id", (long long)i);
                }
            }
        } catch (const DieError& e) {
            fuzz_check_error(e.message, {path});
        }
    }
    return 0;
}
