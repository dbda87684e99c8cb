// Fuzz harness: the BPE vocab loader (bpe_init in llmc/io/tokenizer.h: encoder.json + vocab.bpe,
// as data/prepare_shards.cpp reads them). The input is both files: the bytes before the first
// NUL are encoder.json, the rest vocab.bpe (no NUL: an empty vocab.bpe). The seeds are small
// byte-level vocabs (256 byte tokens, a few merges, <|endoftext|>).
// A vocab that loads must encode a sample text and vocab.bpe's own bytes to ids in the vocab that
// decode back to the text; anything else must fail with one error line naming one of the files.
#include <cstring>

#include "dev/fuzz/fuzz_common.h"
#include "llmc/io/tokenizer.h"

static void check_roundtrip(const Bpe& bpe, const std::string& text) {
    BpeCache cache;
    const std::vector<uint32_t> ids = bpe_encode(&bpe, &cache, text);
    for (uint32_t id : ids) {
        if (id >= bpe.tokens.size()) fuzz_fail("id %u is outside the vocab of %zu", id, bpe.tokens.size());
    }
    if (bpe_decode(&bpe, ids) != text) fuzz_fail("decode(encode(x)) != x for a %zu-byte text", text.size());
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const uint8_t* nul = (const uint8_t*)memchr(data, 0, size);
    const size_t json_len = nul ? (size_t)(nul - data) : size;
    const std::string json_path = fuzz_write("encoder.json", data, json_len);
    const uint8_t* merges = nul ? nul + 1 : data + size;
    const std::string merges_path = fuzz_write("vocab.bpe", merges, (size_t)(data + size - merges));
    try {
        Bpe bpe;
        bpe_init(&bpe, json_path.c_str(), merges_path.c_str());
        check_roundtrip(bpe, "Hello hello world, it's a test: 1234 \xc3\xa9t\xc3\xa9 \xf0\x9f\x99\x82 \xff\xfe   \n\n x");
        check_roundtrip(bpe, std::string((const char*)merges, (size_t)(data + size - merges)));
    } catch (const DieError& e) {
        fuzz_check_error(e.message, {json_path, merges_path});
    }
    return 0;
}
