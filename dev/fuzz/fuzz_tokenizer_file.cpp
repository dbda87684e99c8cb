// Fuzz harness: the tokenizer file reader (gpt2_tokenizer.bin, tokenizer_init in
// llmc/io/tokenizer.h), which the trainers use to print samples. The input is the whole file.
// A file that loads must decode every id to its 1..255 bytes and an id past the vocab to "";
// anything else must fail with one error line naming the file.
#include "dev/fuzz/fuzz_common.h"
#include "llmc/io/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = fuzz_write("tok.bin", data, size);
    try {
        Tokenizer t;
        tokenizer_init(&t, path.c_str());
        if (!t.ok) fuzz_fail("tokenizer_init: an existing file left the tokenizer unloaded");
        if (t.eot_token >= t.vocab_size) fuzz_fail("EOT id %u outside the vocab of %u", t.eot_token, t.vocab_size);
        size_t bytes = 0;
        for (uint32_t id = 0; id < t.vocab_size; id++) {
            const size_t len = tokenizer_decode(&t, id).size();
            if (len < 1 || len > 255) fuzz_fail("token %u decodes to %zu bytes", id, len);
            bytes += 1 + len;
        }
        if (HEADER_BYTES + bytes != size) fuzz_fail("%zu bytes of tokens in a %zu-byte file", bytes, size);
        if (!tokenizer_decode(&t, t.vocab_size).empty()) fuzz_fail("an id past the vocab decodes to text");
    } catch (const DieError& e) {
        fuzz_check_error(e.message, {path});
    }
    return 0;
}
