// Fuzz harness: the embedding-file reader of `-init-emb file:PATH` (load_embedding_file in
// llmc/model/init.h): a .npy (float32, C order, shape (V, C) or (Vp, C)) or a raw float32 file.
// The input is the whole file, read into the wte of a tiny model (V=5, Vp=8, C=4). Every input
// must load V*C finite values or fail with one error line naming the file.
#include "dev/fuzz/fuzz_common.h"
#include "llmc/model/init.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = fuzz_write("emb.npy", data, size);
    GPT2Config c;
    c.vocab_size = 5;
    c.padded_vocab_size = 8;
    c.channels = 4;
    std::vector<float> wte((size_t)c.padded_vocab_size * c.channels, 0.0f);
    try {
        load_embedding_file(wte.data(), c, path);
        for (int i = 0; i < c.vocab_size * c.channels; i++) {
            if (!std::isfinite(wte[i])) fuzz_fail("value %d loaded is not finite", i);
        }
    } catch (const DieError& e) {
        fuzz_check_error(e.message, {path});
    }
    return 0;
}
