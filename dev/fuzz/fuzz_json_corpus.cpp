// Fuzz harness: the JSON reader of data/prepare_shards.cpp's `-j FIELD` corpora (json_visit in
// llmc/io/tokenizer.h). The input is one corpus file, read as prepare_shards reads it: every
// string member named "text", at any depth, is a document; anything after the top-level value is
// an error. Every input must give its documents or fail with one error line naming the file.
#include "dev/fuzz/fuzz_common.h"
#include "llmc/io/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = fuzz_write("corpus.json", data, size);
    try {
        const std::string text = file_read_all(path.c_str());
        if (text.size() != size) fuzz_fail("file_read_all read %zu of %zu bytes", text.size(), size);
        std::vector<std::string> docs;
        JsonCursor c{text.data(), text.data(), text.data() + text.size(), path.c_str()};
        json_visit(&c, "text", [&](std::string& s) { if (!s.empty()) docs.push_back(std::move(s)); });
        json_skip_ws(&c);
        if (c.p != c.end) json_fail(&c, "trailing data after the top-level value");
        size_t bytes = 0;
        for (const std::string& d : docs) bytes += d.size();
        if (bytes > 4 * size) fuzz_fail("%zu bytes of documents from a %zu-byte file", bytes, size);
    } catch (const DieError& e) {
        fuzz_check_error(e.message, {path});
    }
    return 0;
}
