// GPT-2 byte-level BPE tokenizer: decoding for the trainers, encoding for the data tools.
//
// Decode side (trainers):   Tokenizer, tokenizer_init(t, "gpt2_tokenizer.bin"), tokenizer_decode(t, id)
// Encode side (data tools): Bpe, bpe_init(bpe, "encoder.json", "vocab.bpe"), bpe_encode(bpe, cache, text, out)
//
// Encoding matches OpenAI's GPT-2 encoder (regex pre-tokenization, then BPE merges by rank) token for
// token. The pre-tokenizer implements GPT-2's pattern by hand:
//     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// with the Unicode classes of unicode_tables.h. Contractions are case-sensitive ASCII ("'S" and the
// curly "’s" are not contractions), as in GPT-2. "<|endoftext|>" inside text is ordinary text.
//
// Invalid UTF-8: GPT-2's encoder works on str, so bytes must be decoded first. We define the result as
// that of decoding with Python's errors="surrogateescape": every byte that does not start a valid,
// complete, shortest-form UTF-8 sequence (no surrogates, <= U+10FFFF) is one character of its own in
// the "other" class ([^\s\p{L}\p{N}]), so it joins runs of punctuation, and BPE sees its raw byte.
// Any byte string therefore round-trips exactly: decode(encode(x)) == x.
//
// One documented difference from OpenAI's encoder: a pre-token longer than BPE_PIECE_BYTES (16 KiB)
// is encoded in pieces of at most that size (see BPE_PIECE_BYTES), bounding time and memory.
//
// encoder.json is read with json.h's reader (also used by data/prepare_shards.cpp for JSON corpora).
#pragma once
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "formats.h"
#include "json.h"
#include "unicode_tables.h"
#include "../utils.h"

// ----------------------------------------------------------------------------
// Decode side: gpt2_tokenizer.bin (docs/FORMATS.md), header of 256 uint32, then per id: uint8 len + bytes.

struct Tokenizer {
    bool ok = false;                  // false when the file was missing: decoding is unavailable
    uint32_t vocab_size = 0;
    uint32_t eot_token = GPT2_EOT;
    std::vector<std::string> tokens;  // (vocab_size) raw bytes of each token
};

// Missing file: one warning line, t->ok stays false (the trainer then prints token ids).
// Present but malformed: die naming the file and the problem.
inline void tokenizer_init(Tokenizer* t, const char* path) {
    *t = Tokenizer{};
    FilePtr f(fopen(path, "rb"));
    if (!f) {
        fprintf(stderr, "warning: %s: cannot open tokenizer (%s); samples will be printed as token ids\n",
                path, strerror(errno));
        return;
    }
    int64_t size = file_size(f.get(), path);
    uint32_t header[HEADER_INTS];
    if (size < HEADER_BYTES) die("%s: truncated tokenizer file (%lld bytes, header needs %d)", path, (long long)size, HEADER_BYTES);
    freadCheck(header, sizeof(uint32_t), HEADER_INTS, f.get(), path);
    if (header[0] != (uint32_t)TOKENIZER_MAGIC) die("%s: bad magic %u (expected %d): not a tokenizer file", path, header[0], TOKENIZER_MAGIC);
    if (header[1] != 1 && header[1] != 2) die("%s: unsupported tokenizer version %u (expected 1 or 2)", path, header[1]);
    t->vocab_size = header[2];
    if (t->vocab_size == 0 || t->vocab_size > (1u << 24)) die("%s: implausible vocab size %u", path, t->vocab_size);
    t->eot_token = header[1] == 2 ? header[3] : (uint32_t)GPT2_EOT;  // version 1 predates the EOT field
    if (t->eot_token >= t->vocab_size) die("%s: EOT id %u outside vocab of %u", path, t->eot_token, t->vocab_size);
    // each token takes at least 2 bytes (length + 1 byte): check before sizing the table from the header
    if ((int64_t)t->vocab_size > (size - HEADER_BYTES) / 2) {
        die("%s: truncated or corrupt: the header says %u tokens, the file has room for at most %lld", path, t->vocab_size,
            (long long)((size - HEADER_BYTES) / 2));
    }
    t->tokens.resize(t->vocab_size);
    int64_t pos = HEADER_BYTES;
    for (uint32_t i = 0; i < t->vocab_size; i++) {
        uint8_t len;
        if (pos + 1 > size) die("%s: truncated at token %u of %u", path, i, t->vocab_size);
        freadCheck(&len, 1, 1, f.get(), path);
        if (len == 0) die("%s: token %u has length 0", path, i);
        if (pos + 1 + len > size) die("%s: truncated at token %u of %u", path, i, t->vocab_size);
        t->tokens[i].resize(len);
        freadCheck(&t->tokens[i][0], 1, len, f.get(), path);
        pos += 1 + len;
    }
    if (pos != size) die("%s: %lld trailing bytes after %u tokens", path, (long long)(size - pos), t->vocab_size);
    t->ok = true;
}

// Raw bytes of one token (may be a partial UTF-8 sequence); "" for an id outside the vocab or when
// the tokenizer is not loaded.
inline std::string tokenizer_decode(const Tokenizer* t, uint32_t id) {
    if (!t->ok || id >= t->vocab_size) return std::string();
    return t->tokens[id];
}

// Writes gpt2_tokenizer.bin (version 2) for a decode table; atomically, so no partial file is left.
inline void tokenizer_write(const char* path, const std::vector<std::string>& tokens, uint32_t eot) {
    uint32_t header[HEADER_INTS] = {};
    header[0] = TOKENIZER_MAGIC;
    header[1] = TOKENIZER_VERSION;
    header[2] = (uint32_t)tokens.size();
    header[3] = eot;
    AtomicWriter w(path);
    fwriteCheck(header, sizeof(uint32_t), HEADER_INTS, w.get(), path);
    for (size_t i = 0; i < tokens.size(); i++) {
        if (tokens[i].empty() || tokens[i].size() > 255) die("%s: token %zu is %zu bytes; the format needs 1..255", path, i, tokens[i].size());
        uint8_t len = (uint8_t)tokens[i].size();
        fwriteCheck(&len, 1, 1, w.get(), path);
        fwriteCheck(tokens[i].data(), 1, len, w.get(), path);
    }
    w.commit();
}

// ----------------------------------------------------------------------------
// UTF-8 and Unicode classes

// Decodes the character at p (p < end) into *cp and returns its length in bytes. A byte that does not
// start a valid, complete, shortest-form sequence is returned alone with *cp = 0xDC00 + byte, the
// lone surrogate Python's surrogateescape would give it (class "other").
inline int utf8_next(const uint8_t* p, const uint8_t* end, uint32_t* cp) {
    uint8_t b = p[0];
    if (b < 0x80) { *cp = b; return 1; }
    int n;
    uint32_t c, min;
    if (b >= 0xC2 && b <= 0xDF) { n = 2; c = b & 0x1F; min = 0x80; }
    else if (b >= 0xE0 && b <= 0xEF) { n = 3; c = b & 0x0F; min = 0x800; }
    else if (b >= 0xF0 && b <= 0xF4) { n = 4; c = b & 0x07; min = 0x10000; }
    else { *cp = 0xDC00 + b; return 1; }
    if (end - p < n) { *cp = 0xDC00 + b; return 1; }
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) { *cp = 0xDC00 + b; return 1; }
        c = (c << 6) | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) { *cp = 0xDC00 + b; return 1; }
    *cp = c;
    return n;
}

// Class of a code point: ASCII from a 128-entry table, the rest by binary search over the ranges
// (about 10 steps; non-ASCII text is the minority in most corpora).
inline uint8_t unicode_class(uint32_t cp) {
    struct AsciiTable {
        uint8_t cls[128];
        AsciiTable() {
            for (int c = 0; c < 128; c++) {
                cls[c] = UCLASS_OTHER;
                for (const UnicodeRange& r : UNICODE_RANGES) {
                    if ((uint32_t)c >= r.lo && (uint32_t)c <= r.hi) cls[c] = r.cls;
                }
            }
        }
    };
    static const AsciiTable ascii;
    if (cp < 128) return ascii.cls[cp];
    int lo = 0, hi = UNICODE_RANGES_COUNT - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (cp < UNICODE_RANGES[mid].lo) hi = mid - 1;
        else if (cp > UNICODE_RANGES[mid].hi) lo = mid + 1;
        else return UNICODE_RANGES[mid].cls;
    }
    return UCLASS_OTHER;
}

// ----------------------------------------------------------------------------
// Pre-tokenizer: splits text into GPT-2's regex matches, calling emit(offset, length) for each in
// order. The matches tile the text exactly. Cost: one pass, each character classified once or twice.

template <typename Emit>
inline void pretokenize(std::string_view text, Emit&& emit) {
    const uint8_t* s = (const uint8_t*)text.data();
    const uint8_t* end = s + text.size();
    size_t n = text.size();
    size_t i = 0;
    while (i < n) {
        // 's|'t|'re|'ve|'m|'ll|'d  (tried first, only at the start of a match)
        if (s[i] == '\'' && i + 1 < n) {
            uint8_t a = s[i + 1], b = i + 2 < n ? s[i + 2] : 0;
            size_t len = 0;
            if (a == 's' || a == 't' || a == 'm' || a == 'd') len = 2;
            else if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) len = 3;
            if (len) { emit(i, len); i += len; continue; }
        }
        uint32_t cp;
        int l0 = utf8_next(s + i, end, &cp);
        uint8_t k0 = unicode_class(cp);
        // ` ?\p{L}+ | ?\p{N}+ | ?[^\s\p{L}\p{N}]+`: the optional space is U+0020 only, and it only
        // joins a following non-space character; the run is of that character's class.
        size_t j = i;
        uint8_t k = k0;
        if (s[i] == ' ' && i + 1 < n) {
            uint32_t cp1;
            utf8_next(s + i + 1, end, &cp1);
            uint8_t k1 = unicode_class(cp1);
            if (k1 != UCLASS_SPACE) { j = i + 1; k = k1; }
        }
        if (k != UCLASS_SPACE) {
            while (j < n) {
                uint32_t c;
                int l = utf8_next(s + j, end, &c);
                if (unicode_class(c) != k) break;
                j += l;
            }
            emit(i, j - i);
            i = j;
            continue;
        }
        // `\s+(?!\S)|\s+`: a whitespace run at the end of text is taken whole; one followed by
        // non-space gives up its last character (which starts the next match), unless it is a
        // single character, which the plain \s+ then takes alone.
        size_t last = i;
        j = i + l0;
        size_t count = 1;
        while (j < n) {
            uint32_t c;
            int l = utf8_next(s + j, end, &c);
            if (unicode_class(c) != UCLASS_SPACE) break;
            last = j;
            j += l;
            count++;
        }
        if (j < n && count >= 2) j = last;
        emit(i, j - i);
        i = j;
    }
}

// ----------------------------------------------------------------------------
// Encode side: BPE over GPT-2's vocabulary (encoder.json maps token strings to ids, vocab.bpe lists the
// merges in rank order; both spell bytes through GPT-2's byte-to-unicode map, undone at load).

// (left id, right id) -> merge rank, open addressing; a lookup is one multiply and usually one probe.
struct BpePairTable {
    static constexpr uint64_t EMPTY = ~0ull;
    std::vector<uint64_t> keys;
    std::vector<uint32_t> ranks;
    uint64_t mask = 0;
    static uint64_t key_of(uint32_t a, uint32_t b) { return ((uint64_t)a << 32) | b; }
    size_t slot_of(uint64_t key) const { return (size_t)(((key * 0x9E3779B97F4A7C15ull) >> 20) & mask); }
    void init(size_t n) {
        size_t cap = 16;
        while (cap < n * 3) cap <<= 1;  // load <= 1/3 keeps probes short
        keys.assign(cap, EMPTY);
        ranks.assign(cap, 0);
        mask = cap - 1;
    }
    bool insert(uint32_t a, uint32_t b, uint32_t rank) {  // false if the pair is already present
        uint64_t k = key_of(a, b);
        for (size_t s = slot_of(k);; s = (s + 1) & mask) {
            if (keys[s] == k) return false;
            if (keys[s] == EMPTY) { keys[s] = k; ranks[s] = rank; return true; }
        }
    }
    uint32_t find(uint32_t a, uint32_t b) const {  // UINT32_MAX if not a merge
        uint64_t k = key_of(a, b);
        for (size_t s = slot_of(k);; s = (s + 1) & mask) {
            if (keys[s] == k) return ranks[s];
            if (keys[s] == EMPTY) return UINT32_MAX;
        }
    }
};

struct Bpe {
    std::vector<std::string> tokens;                    // (V) id -> raw bytes; the decode table
    std::unordered_map<std::string, uint32_t> ids;      // raw bytes -> id
    uint32_t byte_ids[256];                             // id of each single byte
    BpePairTable pairs;                                 // (left, right) -> rank
    std::vector<std::pair<uint32_t, uint32_t>> merge_pairs;  // (n merges) rank -> (left, right)
    std::vector<uint32_t> merged;                       // (n merges) rank -> id of the merged token
    uint32_t eot = GPT2_EOT;                            // id of "<|endoftext|>"
    bool ranks_ordered = false;  // every merge's inputs are made by lower-ranked merges (see bpe_merge_word)
};

// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68 bytes are
// spelled as U+0100.. in byte order. Returns the inverse: code point (< 324) -> byte, or -1.
inline std::vector<int> bpe_unicode_to_byte() {
    std::vector<int> inv(324, -1);
    int extra = 0;
    for (int b = 0; b < 256; b++) {
        bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        inv[printable ? b : 256 + extra++] = b;
    }
    return inv;
}

// Undoes the byte-to-unicode spelling of a vocab entry; false if it is not such a spelling.
inline bool bpe_unspell(std::string_view spelled, const std::vector<int>& inv, std::string* out) {
    out->clear();
    const uint8_t* p = (const uint8_t*)spelled.data();
    const uint8_t* end = p + spelled.size();
    while (p < end) {
        uint32_t cp;
        int l = utf8_next(p, end, &cp);
        if (cp >= inv.size() || inv[cp] < 0) return false;
        out->push_back((char)inv[cp]);
        p += l;
    }
    return true;
}

// Loads the vocabulary; any problem with either file dies naming it.
inline void bpe_init(Bpe* bpe, const char* encoder_json, const char* vocab_bpe) {
    static const std::string EOT_TEXT = "<|endoftext|>";
    std::vector<int> inv = bpe_unicode_to_byte();
    std::string json = file_read_all(encoder_json);
    JsonCursor c{json.data(), json.data(), json.data() + json.size(), encoder_json};
    std::vector<std::pair<std::string, int64_t>> entries;
    json_expect(&c, '{');
    if (!json_peek(&c, '}')) {
        std::string key;
        while (true) {
            json_read_string(&c, &key);
            json_expect(&c, ':');
            entries.emplace_back(key, json_read_int(&c));
            if (json_peek(&c, ',')) { c.p++; continue; }
            break;
        }
    }
    json_expect(&c, '}');
    json_skip_ws(&c);
    if (c.p != c.end) json_fail(&c, "trailing data after the object");
    if (entries.size() < 257) die("%s: only %zu tokens; a byte-level vocab needs at least 257", encoder_json, entries.size());

    size_t n = entries.size();
    bpe->tokens.assign(n, std::string());
    bpe->ids.clear();
    bpe->ids.reserve(n);
    std::vector<bool> seen(n, false);
    bool have_eot = false;
    std::string raw;
    for (auto& [spelled, id] : entries) {
        if (id < 0 || (size_t)id >= n) die("%s: token id %lld out of range: ids must be 0..%zu", encoder_json, (long long)id, n - 1);
        if (seen[id]) die("%s: token id %lld appears twice", encoder_json, (long long)id);
        seen[id] = true;
        if (spelled == EOT_TEXT) {
            raw = EOT_TEXT;  // the special token decodes to its own text
            bpe->eot = (uint32_t)id;
            have_eot = true;
        } else if (!bpe_unspell(spelled, inv, &raw) || raw.empty()) {
            die("%s: token %lld is not in GPT-2's byte-to-unicode spelling", encoder_json, (long long)id);
        } else if (!bpe->ids.emplace(raw, (uint32_t)id).second) {
            die("%s: two tokens spell the same bytes (id %lld)", encoder_json, (long long)id);
        }
        bpe->tokens[id] = raw;
    }
    if (!have_eot) die("%s: no \"<|endoftext|>\" token", encoder_json);
    for (int b = 0; b < 256; b++) {
        auto it = bpe->ids.find(std::string(1, (char)b));
        if (it == bpe->ids.end()) die("%s: byte 0x%02X has no token; a byte-level vocab needs all 256", encoder_json, b);
        bpe->byte_ids[b] = it->second;
    }

    // vocab.bpe: optional "#version" line, then "left right" per line in rank order.
    std::string text = file_read_all(vocab_bpe);
    std::vector<std::pair<uint32_t, uint32_t>>& merges = bpe->merge_pairs;
    merges.clear();
    bpe->merged.clear();
    size_t pos = 0, line_no = 0;
    std::string left, right;
    while (pos < text.size()) {
        size_t eol = text.find('\n', pos);
        if (eol == std::string::npos) eol = text.size();
        std::string_view line(text.data() + pos, eol - pos);
        pos = eol + 1;
        line_no++;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty() || (line_no == 1 && line[0] == '#')) continue;
        size_t sp = line.find(' ');
        if (sp == std::string_view::npos || sp == 0 || sp + 1 == line.size() || line.find(' ', sp + 1) != std::string_view::npos)
            die("%s: line %zu: expected two tokens separated by one space", vocab_bpe, line_no);
        if (!bpe_unspell(line.substr(0, sp), inv, &left) || !bpe_unspell(line.substr(sp + 1), inv, &right))
            die("%s: line %zu: not in GPT-2's byte-to-unicode spelling", vocab_bpe, line_no);
        auto a = bpe->ids.find(left), b = bpe->ids.find(right), m = bpe->ids.find(left + right);
        if (a == bpe->ids.end() || b == bpe->ids.end() || m == bpe->ids.end())
            die("%s: line %zu: merge of tokens missing from %s", vocab_bpe, line_no, encoder_json);
        merges.emplace_back(a->second, b->second);
        bpe->merged.push_back(m->second);
    }
    if (merges.empty()) die("%s: no merges", vocab_bpe);
    bpe->pairs.init(merges.size());
    for (size_t r = 0; r < merges.size(); r++) {
        // A repeated pair would have two ranks; GPT-2's vocab has none, so refuse rather than guess.
        if (!bpe->pairs.insert(merges[r].first, merges[r].second, (uint32_t)r))
            die("%s: merge number %zu repeats an earlier merge", vocab_bpe, r + 1);
    }
    // True of any BPE vocab learned the usual way (a token exists only after its merge); checked,
    // not assumed, since the fast path for long words relies on it.
    std::vector<int64_t> made_at(n, -1);
    for (size_t r = 0; r < merges.size(); r++) {
        if (made_at[bpe->merged[r]] < 0) made_at[bpe->merged[r]] = (int64_t)r;
    }
    bpe->ranks_ordered = true;
    for (size_t r = 0; r < merges.size(); r++) {
        if (made_at[merges[r].first] >= (int64_t)r || made_at[merges[r].second] >= (int64_t)r) bpe->ranks_ordered = false;
    }
}

// Per-thread memo of pre-token -> ids. Natural text repeats a small set of words, so after warm-up
// most pre-tokens skip BPE entirely. Cleared when it grows past `limit` entries or `byte_limit` bytes
// of keys and ids (pieces of long pre-tokens are cached too and can be up to BPE_PIECE_BYTES each).
struct BpeCache {
    std::unordered_map<std::string, std::vector<uint32_t>> map;
    size_t limit = 1 << 18;
    size_t byte_limit = 64u << 20;
    size_t bytes = 0;
    std::string key;  // reused lookup key, avoids an allocation per lookup for long words
};

// BPE of one pre-token, GPT-2's way: repeatedly take the lowest-ranked adjacent pair and merge all its
// non-overlapping occurrences left to right. Cost: O(merges applied * length); fine for the short
// pre-tokens of natural text, quadratic for long ones (see bpe_merge_word_heap).
inline void bpe_merge_word_scan(const Bpe* bpe, std::string_view word, std::vector<uint32_t>* out) {
    size_t start = out->size();
    for (unsigned char b : word) out->push_back(bpe->byte_ids[b]);
    uint32_t* sym = out->data() + start;
    size_t n = word.size();
    while (n >= 2) {
        uint32_t best = UINT32_MAX;
        for (size_t k = 0; k + 1 < n; k++) best = std::min(best, bpe->pairs.find(sym[k], sym[k + 1]));
        if (best == UINT32_MAX) break;
        uint32_t left = bpe->merge_pairs[best].first, right = bpe->merge_pairs[best].second;
        uint32_t m = bpe->merged[best];
        size_t w = 0;
        for (size_t k = 0; k < n;) {
            if (k + 1 < n && sym[k] == left && sym[k + 1] == right) { sym[w++] = m; k += 2; }
            else sym[w++] = sym[k++];
        }
        n = w;
    }
    out->resize(start + n);
}

// Same result in O(length * log length) for long pre-tokens (a run of 1 MB of letters would take
// minutes above): a heap of (rank, position) over a linked list of symbols. Equal to the scan when
// bpe->ranks_ordered: a merge of rank r only creates pairs of rank > r, so the heap drains every
// occurrence of rank r, left to right, before anything else -- exactly one pass of the scan.
inline void bpe_merge_word_heap(const Bpe* bpe, std::string_view word, std::vector<uint32_t>* out) {
    size_t n = word.size();
    std::vector<uint32_t> sym(n);
    std::vector<int64_t> next(n), prev(n);  // -1 = none
    for (size_t k = 0; k < n; k++) {
        sym[k] = bpe->byte_ids[(unsigned char)word[k]];
        prev[k] = (int64_t)k - 1;
        next[k] = k + 1 < n ? (int64_t)k + 1 : -1;
    }
    std::vector<uint64_t> heap;  // (rank << 32 | position), min-heap; stale entries skipped on pop
    auto push = [&](int64_t p) {
        if (p < 0 || next[p] < 0) return;
        uint32_t r = bpe->pairs.find(sym[p], sym[next[p]]);
        if (r == UINT32_MAX) return;
        heap.push_back(((uint64_t)r << 32) | (uint64_t)p);
        std::push_heap(heap.begin(), heap.end(), std::greater<uint64_t>());
    };
    for (size_t k = 0; k + 1 < n; k++) push((int64_t)k);
    std::vector<bool> dead(n, false);
    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), std::greater<uint64_t>());
        uint64_t e = heap.back();
        heap.pop_back();
        uint32_t r = (uint32_t)(e >> 32);
        int64_t p = (int64_t)(e & 0xFFFFFFFFu);
        if (dead[p] || next[p] < 0 || bpe->pairs.find(sym[p], sym[next[p]]) != r) continue;
        int64_t q = next[p];
        sym[p] = bpe->merged[r];
        dead[q] = true;
        next[p] = next[q];
        if (next[q] >= 0) prev[next[q]] = p;
        push(prev[p]);
        push(p);
    }
    for (size_t k = 0; k < n; k++) {
        if (!dead[k]) out->push_back(sym[k]);
    }
}

constexpr size_t BPE_HEAP_MIN_BYTES = 128;  // below this the scan is faster (no allocation)

inline void bpe_merge_word(const Bpe* bpe, std::string_view word, std::vector<uint32_t>* out) {
    // the heap packs positions into 32 bits; a pre-token of 4 GiB falls back to the scan
    if (word.size() >= BPE_HEAP_MIN_BYTES && word.size() < (1ull << 32) && bpe->ranks_ordered) bpe_merge_word_heap(bpe, word, out);
    else bpe_merge_word_scan(bpe, word, out);
}

// Pre-tokens longer than this many bytes (a megabyte of one letter, a base64 blob: never natural
// text) are encoded as consecutive pieces of at most BPE_PIECE_BYTES, each cut at a UTF-8 character
// boundary, so the BPE work and memory per pre-token are bounded and such input streams at normal
// speed. No token spans a cut, so only for such pre-tokens can the ids differ from tiktoken's, which
// merges the whole pre-token at once (in time quadratic in its length); decode(encode(x)) == x holds.
constexpr size_t BPE_PIECE_BYTES = 16384;

inline size_t bpe_piece_end(std::string_view word, size_t begin) {
    size_t end = begin + BPE_PIECE_BYTES;
    if (end >= word.size()) return word.size();
    // back off over UTF-8 continuation bytes (10xxxxxx), at most 3: a lead byte or an invalid byte
    // (its own character, see above) starts the next piece
    for (int k = 0; k < 3 && ((unsigned char)word[end] & 0xC0) == 0x80; k++) end--;
    return end;
}

// Appends the ids of `text` to *out. Not thread-safe per cache: give each thread its own BpeCache.
// progress (optional): text bytes encoded so far are added to it as the work goes (for progress
// lines of long inputs), text.size() in all by the time this returns.
inline void bpe_encode(const Bpe* bpe, BpeCache* cache, std::string_view text, std::vector<uint32_t>* out,
                       std::atomic<size_t>* progress = nullptr) {
    size_t reported = 0;
    auto encode_piece = [&](std::string_view word) {
        if (word.size() == 1) { out->push_back(bpe->byte_ids[(unsigned char)word[0]]); return; }
        cache->key.assign(word.data(), word.size());
        auto it = cache->map.find(cache->key);
        if (it != cache->map.end()) {
            out->insert(out->end(), it->second.begin(), it->second.end());
            return;
        }
        size_t start = out->size();
        bpe_merge_word(bpe, word, out);
        size_t cost = word.size() + (out->size() - start) * sizeof(uint32_t);
        if (cache->map.size() >= cache->limit || cache->bytes + cost > cache->byte_limit) {
            cache->map.clear();
            cache->bytes = 0;
        }
        cache->bytes += cost;
        cache->map.emplace(cache->key, std::vector<uint32_t>(out->begin() + start, out->end()));
    };
    pretokenize(text, [&](size_t off, size_t len) {
        std::string_view word = text.substr(off, len);
        if (len <= BPE_PIECE_BYTES) { encode_piece(word); return; }
        for (size_t b = 0; b < len;) {
            size_t e = bpe_piece_end(word, b);
            encode_piece(word.substr(b, e - b));
            if (progress) {
                progress->fetch_add(off + e - reported, std::memory_order_relaxed);
                reported = off + e;
            }
            b = e;
        }
    });
    if (progress) progress->fetch_add(text.size() - reported, std::memory_order_relaxed);
}

inline std::vector<uint32_t> bpe_encode(const Bpe* bpe, BpeCache* cache, std::string_view text) {
    std::vector<uint32_t> out;
    bpe_encode(bpe, cache, text, &out);
    return out;
}

// Concatenated raw bytes of ids (the inverse of bpe_encode).
inline std::string bpe_decode(const Bpe* bpe, const std::vector<uint32_t>& ids) {
    std::string s;
    for (uint32_t id : ids) {
        if (id < bpe->tokens.size()) s += bpe->tokens[id];
    }
    return s;
}
