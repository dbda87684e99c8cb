// Safetensors, Hugging Face's tensor file, read and written without a library:
//   8 bytes    N, the header length (little-endian uint64)
//   N bytes    a JSON object: "NAME": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}
//              per tensor, and optionally "__metadata__": {"key": "string value", ...}; writers
//              pad it with spaces so the data starts 8-byte aligned
//   the rest   the data buffer: each tensor's bytes (little-endian, C order) at [begin, end)
//              of the buffer. The tensors cover the buffer exactly: no overlap, no hole.
// st_read_header validates all of that (and that end - begin = elements * dtype size) before a
// byte of data is read, and dies with one line naming the file and the problem otherwise.
// st_read_f32 reads one F32, F16 or BF16 tensor as fp32. StWriter writes a file atomically.
#pragma once
#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "half.h"
#include "json.h"
#include "../utils.h"

constexpr uint64_t ST_MAX_HEADER = 100u << 20;  // the reference implementation's limit (100 MB)

struct StTensor {
    std::string name, dtype;
    std::vector<int64_t> shape;
    uint64_t begin = 0, end = 0;  // offsets in the data buffer
    uint64_t count = 1;           // elements
};

struct StHeader {
    std::vector<StTensor> tensors;                               // in file (header) order
    std::vector<std::pair<std::string, std::string>> metadata;   // __metadata__
    uint64_t data_start = 0, data_size = 0;                      // the buffer's file offset and size
    const StTensor* find(const std::string& name) const {
        for (const StTensor& t : tensors) if (t.name == name) return &t;
        return nullptr;
    }
};

// Bytes per element of a safetensors dtype, or 0 if the name is not one.
inline int st_dtype_size(const std::string& d) {
    static const struct { const char* name; int size; } table[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
        {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1}, {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
    for (const auto& e : table) if (d == e.name) return e.size;
    return 0;
}

// "[768, 2304]"
inline std::string st_shape_str(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); i++) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

inline StHeader st_read_header(FILE* f, const char* path) {
    const int64_t size = file_size(f, path);
    uint8_t len_bytes[8];
    if (size < 8 || fseeko(f, 0, SEEK_SET) != 0 || fread(len_bytes, 1, 8, f) != 8) {
        die("%s: not a safetensors file (%lld bytes, the header length alone takes 8)", path, (long long)size);
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | len_bytes[i];
    if (n < 2 || n > ST_MAX_HEADER || n > (uint64_t)size - 8) {
        die("%s: safetensors header length %" PRIu64 " is impossible (file is %lld bytes, limit %" PRIu64 " MB): not a safetensors file or truncated",
            path, n, (long long)size, ST_MAX_HEADER >> 20);
    }
    std::string text(n, '\0');
    freadCheck(&text[0], 1, n, f, path);
    if (text[0] != '{') die("%s: the safetensors header does not start with '{': not a safetensors file", path);
    const std::string what = std::string(path) + " (safetensors header)";
    const JsonValue root = json_parse(text.data(), text.size(), what.c_str());

    StHeader h;
    h.data_start = 8 + n;
    h.data_size = (uint64_t)size - h.data_start;
    for (const auto& m : root.members) {
        const std::string& name = m.first;
        const JsonValue& v = m.second;
        if (name == "__metadata__") {
            if (v.kind != JsonValue::Object) die("%s: __metadata__ is not an object", path);
            for (const auto& kv : v.members) {
                if (kv.second.kind != JsonValue::String) die("%s: __metadata__ value \"%s\" is not a string", path, kv.first.c_str());
                h.metadata.emplace_back(kv.first, kv.second.str);
            }
            continue;
        }
        const char* nm = name.c_str();
        if (v.kind != JsonValue::Object) die("%s: tensor \"%s\": its entry is not an object", path, nm);
        const JsonValue* dt = v.get("dtype");
        const JsonValue* shape = v.get("shape");
        const JsonValue* offs = v.get("data_offsets");
        if (!dt || dt->kind != JsonValue::String) die("%s: tensor \"%s\": no dtype string", path, nm);
        if (!shape || shape->kind != JsonValue::Array) die("%s: tensor \"%s\": no shape array", path, nm);
        if (!offs || offs->kind != JsonValue::Array || offs->items.size() != 2) die("%s: tensor \"%s\": data_offsets is not [begin, end]", path, nm);
        StTensor t;
        t.name = name;
        t.dtype = dt->str;
        const int esize = st_dtype_size(t.dtype);
        if (esize == 0) die("%s: tensor \"%s\": unknown dtype \"%s\"", path, nm, t.dtype.substr(0, 32).c_str());
        if (shape->items.size() > 8) die("%s: tensor \"%s\": %zu dimensions", path, nm, shape->items.size());
        for (const JsonValue& d : shape->items) {
            if (d.kind != JsonValue::Number || !d.is_int || d.i < 0) die("%s: tensor \"%s\": a shape entry is not a non-negative integer", path, nm);
            t.shape.push_back(d.i);
            if (d.i != 0 && t.count > (UINT64_C(1) << 62) / (uint64_t)d.i) die("%s: tensor \"%s\": shape %s overflows", path, nm, st_shape_str(t.shape).c_str());
            t.count *= (uint64_t)d.i;
        }
        for (const JsonValue& o : offs->items) {
            if (o.kind != JsonValue::Number || !o.is_int || o.i < 0) die("%s: tensor \"%s\": a data offset is not a non-negative integer", path, nm);
        }
        t.begin = (uint64_t)offs->items[0].i;
        t.end = (uint64_t)offs->items[1].i;
        if (t.begin > t.end || t.end > h.data_size) {
            die("%s: tensor \"%s\": data_offsets [%" PRIu64 ", %" PRIu64 "] out of range (the data buffer is %" PRIu64 " bytes)", path, nm,
                t.begin, t.end, h.data_size);
        }
        if (t.end - t.begin != t.count * (uint64_t)esize) {
            die("%s: tensor \"%s\": %s %s needs %" PRIu64 " bytes, data_offsets give %" PRIu64, path, nm, t.dtype.c_str(),
                st_shape_str(t.shape).c_str(), t.count * (uint64_t)esize, t.end - t.begin);
        }
        h.tensors.push_back(std::move(t));
    }
    // the tensors tile the buffer: sorted by offset, each begins where the previous ended
    std::vector<const StTensor*> order;
    for (const StTensor& t : h.tensors) order.push_back(&t);
    std::sort(order.begin(), order.end(), [](const StTensor* a, const StTensor* b) {
        return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    uint64_t at = 0;
    for (const StTensor* t : order) {
        if (t->begin != at) {
            die("%s: tensor \"%s\" starts at byte %" PRIu64 " of the data buffer, where %" PRIu64 " was expected (%s)", path,
                t->name.c_str(), t->begin, at, t->begin < at ? "overlapping tensors" : "a hole in the buffer");
        }
        at = t->end;
    }
    if (at != h.data_size) {
        die("%s: the tensors cover %" PRIu64 " bytes of a %" PRIu64 "-byte data buffer (trailing bytes or a truncated file)", path, at, h.data_size);
    }
    return h;
}

// Reads tensor t (F32, F16 or BF16) into out[t.count] as fp32.
inline void st_read_f32(FILE* f, const char* path, const StHeader& h, const StTensor& t, float* out) {
    const int esize = st_dtype_size(t.dtype);
    if (t.dtype != "F32" && t.dtype != "F16" && t.dtype != "BF16") {
        die("%s: tensor \"%s\" is %s; model weights must be F32, F16 or BF16", path, t.name.c_str(), t.dtype.c_str());
    }
    if (fseeko(f, (off_t)(h.data_start + t.begin), SEEK_SET) != 0) die("%s: cannot seek to tensor \"%s\"", path, t.name.c_str());
    if (esize == 4) {
        freadCheck(out, sizeof(float), t.count, f, path);
        return;
    }
    std::vector<uint16_t> buf(1 << 20);
    const bool bf16 = t.dtype == "BF16";
    for (uint64_t i = 0; i < t.count; i += buf.size()) {
        const size_t k = (size_t)std::min<uint64_t>(buf.size(), t.count - i);
        freadCheck(buf.data(), sizeof(uint16_t), k, f, path);
        for (size_t j = 0; j < k; j++) out[i + j] = bf16 ? bf16_to_float(buf[j]) : fp16_to_float(buf[j]);
    }
}

// JSON string literal of s (names and metadata are plain text; control characters are escaped).
inline std::string json_quote(const std::string& s) {
    std::string q = "\"";
    for (unsigned char ch : s) {
        if (ch == '"' || ch == '\\') { q += '\\'; q += (char)ch; }
        else if (ch < 0x20) { char e[8]; snprintf(e, sizeof e, "\\u%04x", ch); q += e; }
        else q += (char)ch;
    }
    return q + "\"";
}

// Writes a safetensors file atomically (temp file + rename). Add each tensor with its dtype,
// shape and a function that writes exactly its bytes; write() lays out the header (data 8-byte
// aligned) and calls them in order.
struct StWriter {
    struct Entry {
        std::string name, dtype;
        std::vector<int64_t> shape;
        uint64_t bytes;
        std::function<void(FILE*)> write;
    };
    std::vector<Entry> entries;
    std::vector<std::pair<std::string, std::string>> metadata;

    void add(const std::string& name, const std::string& dtype, const std::vector<int64_t>& shape, std::function<void(FILE*)> write) {
        uint64_t n = (uint64_t)st_dtype_size(dtype);
        for (int64_t d : shape) n *= (uint64_t)d;
        entries.push_back({name, dtype, shape, n, std::move(write)});
    }
    void write(const std::string& path) const {
        std::string json = "{";
        if (!metadata.empty()) {
            json += "\"__metadata__\":{";
            for (size_t i = 0; i < metadata.size(); i++) json += (i ? "," : "") + json_quote(metadata[i].first) + ":" + json_quote(metadata[i].second);
            json += "}";
        }
        uint64_t at = 0;
        for (const Entry& e : entries) {
            if (json.size() > 1) json += ",";
            json += json_quote(e.name) + ":{\"dtype\":\"" + e.dtype + "\",\"shape\":[";
            for (size_t i = 0; i < e.shape.size(); i++) json += (i ? "," : "") + std::to_string(e.shape[i]);
            json += "],\"data_offsets\":[" + std::to_string(at) + "," + std::to_string(at + e.bytes) + "]}";
            at += e.bytes;
        }
        json += "}";
        while ((8 + json.size()) % 8 != 0) json += ' ';
        uint8_t len[8];
        for (int i = 0; i < 8; i++) len[i] = (uint8_t)((uint64_t)json.size() >> (8 * i));
        AtomicWriter w(path);
        fwriteCheck(len, 1, 8, w.get(), path.c_str());
        fwriteCheck(json.data(), 1, json.size(), w.get(), path.c_str());
        for (const Entry& e : entries) {
            const int64_t before = ftello(w.get());
            e.write(w.get());
            if (ftello(w.get()) - before != (int64_t)e.bytes) die("%s: tensor \"%s\" wrote the wrong number of bytes", path.c_str(), e.name.c_str());
        }
        w.commit();
    }
};
