// A small JSON reader, no library: the cursor functions read strings (as UTF-8) and integers,
// json_visit walks a document for one field's string values (encoder.json, JSON corpora in
// data/prepare_shards.cpp), and json_parse builds a tree of a small document (safetensors
// headers, Hugging Face config.json). Every error dies with one line naming the file and the byte
// offset. Nesting is depth-limited so hostile input cannot overflow the stack.
#pragma once
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "../utils.h"


// Appends code point cp as UTF-8.
inline void utf8_append(std::string* out, uint32_t cp) {
    if (cp < 0x80) {
        out->push_back((char)cp);
    } else if (cp < 0x800) {
        out->push_back((char)(0xC0 | (cp >> 6)));
        out->push_back((char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out->push_back((char)(0xE0 | (cp >> 12)));
        out->push_back((char)(0x80 | ((cp >> 6) & 0x3F)));
        out->push_back((char)(0x80 | (cp & 0x3F)));
    } else {
        out->push_back((char)(0xF0 | (cp >> 18)));
        out->push_back((char)(0x80 | ((cp >> 12) & 0x3F)));
        out->push_back((char)(0x80 | ((cp >> 6) & 0x3F)));
        out->push_back((char)(0x80 | (cp & 0x3F)));
    }
}

struct JsonCursor {
    const char* begin;
    const char* p;
    const char* end;
    const char* what;  // file name for error messages
};

[[noreturn]] inline void json_fail(const JsonCursor* c, const char* problem) {
    die("%s: malformed JSON at byte %zu: %s", c->what, (size_t)(c->p - c->begin), problem);
}

inline void json_skip_ws(JsonCursor* c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

inline bool json_peek(JsonCursor* c, char ch) {
    json_skip_ws(c);
    return c->p < c->end && *c->p == ch;
}

inline void json_expect(JsonCursor* c, char ch) {
    json_skip_ws(c);
    if (c->p >= c->end || *c->p != ch) {
        char msg[32];
        snprintf(msg, sizeof(msg), "expected '%c'", ch);
        json_fail(c, msg);
    }
    c->p++;
}

inline uint32_t json_hex4(JsonCursor* c) {
    if (c->end - c->p < 4) json_fail(c, "truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char h = c->p[i];
        int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
        if (d < 0) json_fail(c, "bad hex digit in \\u escape");
        v = v * 16 + (uint32_t)d;
    }
    c->p += 4;
    return v;
}

// Reads a string into *out as UTF-8 (raw bytes copied through). A lone UTF-16 surrogate escape has
// no UTF-8 form; it becomes U+FFFD.
inline void json_read_string(JsonCursor* c, std::string* out) {
    json_expect(c, '"');
    out->clear();
    while (true) {
        const char* run = c->p;
        while (c->p < c->end && *c->p != '"' && *c->p != '\\' && (uint8_t)*c->p >= 0x20) c->p++;
        out->append(run, c->p - run);
        if (c->p >= c->end) json_fail(c, "unterminated string");
        char ch = *c->p++;
        if (ch == '"') return;
        if (ch != '\\') { c->p--; json_fail(c, "control character in string"); }
        if (c->p >= c->end) json_fail(c, "unterminated string");
        char e = *c->p++;
        switch (e) {
            case '"': out->push_back('"'); break;
            case '\\': out->push_back('\\'); break;
            case '/': out->push_back('/'); break;
            case 'b': out->push_back('\b'); break;
            case 'f': out->push_back('\f'); break;
            case 'n': out->push_back('\n'); break;
            case 'r': out->push_back('\r'); break;
            case 't': out->push_back('\t'); break;
            case 'u': {
                uint32_t u = json_hex4(c);
                if (u >= 0xD800 && u <= 0xDBFF && c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u') {
                    const char* save = c->p;
                    c->p += 2;
                    uint32_t lo = json_hex4(c);
                    if (lo >= 0xDC00 && lo <= 0xDFFF) u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                    else c->p = save;  // not a pair: the high half stands alone
                }
                if (u >= 0xD800 && u <= 0xDFFF) u = 0xFFFD;
                utf8_append(out, u);
                break;
            }
            default: c->p--; json_fail(c, "bad escape in string");
        }
    }
}

inline int64_t json_read_int(JsonCursor* c) {
    json_skip_ws(c);
    const char* start = c->p;
    bool neg = c->p < c->end && *c->p == '-';
    if (neg) c->p++;
    if (c->p >= c->end || *c->p < '0' || *c->p > '9') json_fail(c, "expected an integer");
    int64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (v > (INT64_MAX - 9) / 10) { c->p = start; json_fail(c, "integer out of range"); }
        v = v * 10 + (*c->p++ - '0');
    }
    if (c->p < c->end && (*c->p == '.' || *c->p == 'e' || *c->p == 'E')) json_fail(c, "expected an integer, got a fraction");
    return neg ? -v : v;
}

// Visits every value; for each object member named `field` whose value is a string, calls
// on_string(value). Depth-limited so hostile input cannot overflow the stack.
inline void json_visit(JsonCursor* c, const std::string& field, const std::function<void(std::string&)>& on_string,
                       int depth = 0) {
    if (depth > 512) json_fail(c, "nested too deeply");
    json_skip_ws(c);
    if (c->p >= c->end) json_fail(c, "unexpected end of input");
    std::string scratch;
    char ch = *c->p;
    if (ch == '{') {
        c->p++;
        if (json_peek(c, '}')) { c->p++; return; }
        std::string key;
        while (true) {
            json_read_string(c, &key);
            json_expect(c, ':');
            if (key == field && json_peek(c, '"')) {
                json_read_string(c, &scratch);
                on_string(scratch);
            } else {
                json_visit(c, field, on_string, depth + 1);
            }
            json_skip_ws(c);
            if (json_peek(c, ',')) { c->p++; continue; }
            json_expect(c, '}');
            return;
        }
    } else if (ch == '[') {
        c->p++;
        if (json_peek(c, ']')) { c->p++; return; }
        while (true) {
            json_visit(c, field, on_string, depth + 1);
            if (json_peek(c, ',')) { c->p++; continue; }
            json_expect(c, ']');
            return;
        }
    } else if (ch == '"') {
        json_read_string(c, &scratch);
    } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
        c->p++;
        while (c->p < c->end && strchr("0123456789.eE+-", *c->p)) c->p++;
    } else {
        for (const char* lit : {"true", "false", "null"}) {
            size_t len = strlen(lit);
            if ((size_t)(c->end - c->p) >= len && memcmp(c->p, lit, len) == 0) { c->p += len; return; }
        }
        json_fail(c, "unexpected character");
    }
}

// Reads a whole file into a string; dies naming the file on failure.
inline std::string file_read_all(const char* path) {
    FilePtr f(fopen(path, "rb"));
    if (!f) die("%s: cannot open: %s", path, strerror(errno));
    int64_t size = file_size(f.get(), path);
    std::string data((size_t)size, '\0');
    if (size) freadCheck(&data[0], 1, (size_t)size, f.get(), path);
    return data;
}

// ----------------------------------------------------------------------------
// A parsed JSON value. Objects keep their members in file order (duplicate keys are refused);
// numbers keep their double value and, when they are integers that fit, the exact int64.
struct JsonValue {
    enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
    bool b = false;
    double num = 0.0;
    bool is_int = false;  // an integer literal (no '.', 'e') within int64
    int64_t i = 0;
    std::string str;
    std::vector<JsonValue> items;                              // Array
    std::vector<std::pair<std::string, JsonValue>> members;    // Object
    const JsonValue* get(const char* key) const {
        for (const auto& m : members) if (m.first == key) return &m.second;
        return nullptr;
    }
};

inline void json_parse_value(JsonCursor* c, JsonValue* v, int depth) {
    if (depth > 64) json_fail(c, "nested too deeply");
    json_skip_ws(c);
    if (c->p >= c->end) json_fail(c, "unexpected end of input");
    const char ch = *c->p;
    if (ch == '{') {
        v->kind = JsonValue::Object;
        c->p++;
        if (json_peek(c, '}')) { c->p++; return; }
        while (true) {
            const char* key_at = (json_skip_ws(c), c->p);
            std::string key;
            json_read_string(c, &key);
            for (const auto& m : v->members) {
                if (m.first == key) { c->p = key_at; json_fail(c, ("duplicate key \"" + key.substr(0, 100) + "\"").c_str()); }
            }
            json_expect(c, ':');
            v->members.emplace_back(std::move(key), JsonValue());
            json_parse_value(c, &v->members.back().second, depth + 1);
            if (json_peek(c, ',')) { c->p++; continue; }
            json_expect(c, '}');
            return;
        }
    } else if (ch == '[') {
        v->kind = JsonValue::Array;
        c->p++;
        if (json_peek(c, ']')) { c->p++; return; }
        while (true) {
            v->items.emplace_back();
            json_parse_value(c, &v->items.back(), depth + 1);
            if (json_peek(c, ',')) { c->p++; continue; }
            json_expect(c, ']');
            return;
        }
    } else if (ch == '"') {
        v->kind = JsonValue::String;
        json_read_string(c, &v->str);
    } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
        // JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
        const char* s = c->p;
        auto digits = [&]() {
            const char* d = c->p;
            while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
            if (c->p == d) json_fail(c, "bad number");
        };
        if (*c->p == '-') c->p++;
        if (c->p < c->end && *c->p == '0') c->p++;
        else digits();
        bool frac = false;
        if (c->p < c->end && *c->p == '.') { c->p++; digits(); frac = true; }
        if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
            c->p++;
            if (c->p < c->end && (*c->p == '+' || *c->p == '-')) c->p++;
            digits();
            frac = true;
        }
        const std::string text(s, c->p);
        v->kind = JsonValue::Number;
        v->num = strtod(text.c_str(), nullptr);
        if (!frac) {
            errno = 0;
            const long long x = strtoll(text.c_str(), nullptr, 10);
            if (errno == 0) { v->is_int = true; v->i = x; }
        }
    } else {
        for (const char* lit : {"true", "false", "null"}) {
            const size_t len = strlen(lit);
            if ((size_t)(c->end - c->p) >= len && memcmp(c->p, lit, len) == 0) {
                c->p += len;
                v->kind = lit[0] == 'n' ? JsonValue::Null : JsonValue::Bool;
                v->b = lit[0] == 't';
                return;
            }
        }
        json_fail(c, "unexpected character");
    }
}

// Parses text (all of it: only whitespace may follow the value). what: the file, for errors.
inline JsonValue json_parse(const char* text, size_t n, const char* what) {
    JsonCursor c{text, text, text + n, what};
    JsonValue v;
    json_parse_value(&c, &v, 0);
    json_skip_ws(&c);
    if (c.p != c.end) json_fail(&c, "trailing characters after the value");
    return v;
}
