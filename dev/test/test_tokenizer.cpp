// Tests for llmc/io/tokenizer.h, driven by dev/test/t_tokenizer.sh. Prints "PASS name" / "FAIL name ..."
// per check (dev/test/check.h). Modes:
//   test_tokenizer cases VOCAB_DIR FIXTURE REF_IDS   encode each fixture case, compare with the reference
//                                                    ids (one line per case), round-trip every case
//   test_tokenizer corpus VOCAB_DIR TOKENIZER_BIN FIELD JSON...
//                                                    round-trip every document through bpe_encode and
//                                                    through the decode table read from TOKENIZER_BIN
//   test_tokenizer dump SHARD...                     check shard headers and sizes, print ids one a line
//                                                    to stdout (checks go to stderr)
//   test_tokenizer load TOKENIZER_BIN                tokenizer_init on one file (error-path tests)
#include <string>
#include <vector>

#include "../../llmc/io/tokenizer.h"
#include "check.h"

// Fixture escapes: \n \t \r \\ \xHH (raw byte). Must agree with dev/bpe_ref.py's reading.
static std::string fixture_unescape(const std::string& line) {
    std::string out;
    for (size_t i = 0; i < line.size(); i++) {
        if (line[i] != '\\' || i + 1 >= line.size()) { out.push_back(line[i]); continue; }
        char e = line[++i];
        if (e == 'x' && i + 2 < line.size()) {
            out.push_back((char)strtol(line.substr(i + 1, 2).c_str(), nullptr, 16));
            i += 2;
        } else if (e == 'n') out.push_back('\n');
        else if (e == 't') out.push_back('\t');
        else if (e == 'r') out.push_back('\r');
        else if (e == '\\') out.push_back('\\');
        else die("fixture: unknown escape \\%c in line: %s", e, line.c_str());
    }
    return out;
}

static std::vector<std::string> lines_read(const char* path) {
    std::string data = file_read_all(path);
    std::vector<std::string> lines;
    size_t pos = 0;
    while (pos < data.size()) {
        size_t e = data.find('\n', pos);
        if (e == std::string::npos) e = data.size();
        lines.push_back(data.substr(pos, e - pos));
        pos = e + 1;
    }
    return lines;
}

static std::string ids_str(const std::vector<uint32_t>& ids) {
    std::string s;
    for (size_t i = 0; i < ids.size(); i++) s += (i ? " " : "") + std::to_string(ids[i]);
    return s;
}

static void bpe_load(Bpe* bpe, const std::string& dir) {
    std::string enc = dir + "/encoder.json", merges = dir + "/vocab.bpe";
    bpe_init(bpe, enc.c_str(), merges.c_str());
}

static int run_cases(const char* vocab_dir, const char* fixture, const char* ref_path) {
    Bpe bpe;
    bpe_load(&bpe, vocab_dir);
    std::vector<std::string> cases;
    for (const std::string& l : lines_read(fixture)) {
        if (!l.empty() && l[0] != '#') cases.push_back(fixture_unescape(l));
    }
    std::vector<std::string> refs = lines_read(ref_path);
    check("fixture_case_count", refs.size() == cases.size(), "%zu cases, %zu reference lines", cases.size(), refs.size());
    if (refs.size() != cases.size()) return test_exit_code();
    size_t agree = 0, tokens = 0, round_trips = 0;
    BpeCache warm;
    for (size_t i = 0; i < cases.size(); i++) {
        BpeCache cold;  // each case once cold (BPE path) and once through a shared warm cache
        std::vector<uint32_t> ids = bpe_encode(&bpe, &cold, cases[i]);
        std::vector<uint32_t> again = bpe_encode(&bpe, &warm, cases[i]);
        again = bpe_encode(&bpe, &warm, cases[i]);
        std::string got = ids_str(ids);
        if (got == refs[i] && again == ids) {
            agree++;
            tokens += ids.size();
        } else {
            check("fixture_case_agrees", false, "case %zu: got [%s] want [%s]", i + 1, got.c_str(), refs[i].c_str());
        }
        if (bpe_decode(&bpe, ids) == cases[i]) round_trips++;
        else check("fixture_case_round_trip", false, "case %zu", i + 1);
    }
    check("fixture_cases_agree", !cases.empty() && agree == cases.size(), "%zu/%zu cases, %zu tokens identical to the reference", agree, cases.size(), tokens);
    check("fixture_cases_round_trip", !cases.empty() && round_trips == cases.size(), "%zu/%zu cases decode to their exact bytes", round_trips, cases.size());

    // pre-tokenizer invariant: matches tile the input exactly, none empty (random bytes, all kinds)
    uint64_t state = 42;
    bool tiles = true;
    for (int trial = 0; trial < 2000 && tiles; trial++) {
        std::string s;
        size_t n = trial % 40;
        for (size_t k = 0; k < n; k++) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            static const char* pool[] = {" ", "  ", "\n", "\t", "a", "Z", "7", "'", "'s", ".", "\xc3\xa9", "\xe2\x80\x99", "\xff", "\xe3\x80\x80", "\xf0\x9f\x98\x80", "\xe2\x82"};
            s += pool[(state >> 33) % 16];
        }
        size_t expect = 0;
        pretokenize(s, [&](size_t off, size_t len) { tiles = tiles && off == expect && len > 0; expect = off + len; });
        tiles = tiles && expect == s.size();
        BpeCache c;
        tiles = tiles && bpe_decode(&bpe, bpe_encode(&bpe, &c, s)) == s;
    }
    check("pretokenize_tiles_random_bytes", tiles, "2000 random strings: matches tile the input, encode/decode round-trips");

    // the heap BPE for long pre-tokens must equal GPT-2's scan: random words over small alphabets
    // (many merges, repeats like "aaaa" that overlap) and over all bytes
    check("bpe_ranks_ordered", bpe.ranks_ordered, "every merge's inputs come from lower-ranked merges");
    bool same = true;
    size_t words = 0, symbols = 0;
    for (int trial = 0; trial < 300 && same; trial++) {
        static const char* alphabets[] = {"a", "ab", "abc", "etaoinshrdlu", "abcdefghijklmnopqrstuvwxyz", "0123456789", " ", "\xe4\xbd\xa0\xe5\xa5\xbd"};
        std::string alpha = alphabets[trial % 8];
        std::string w;
        size_t n = 1 + trial * 7 % 1500;
        for (size_t k = 0; k < n; k++) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            w.push_back(trial % 9 == 8 ? (char)(state >> 56) : alpha[(state >> 33) % alpha.size()]);
        }
        std::vector<uint32_t> a, b;
        bpe_merge_word_scan(&bpe, w, &a);
        bpe_merge_word_heap(&bpe, w, &b);
        same = a == b;
        words++;
        symbols += a.size();
    }
    check("bpe_heap_equals_scan", same, "%zu random words up to 1500 bytes, %zu tokens", words, symbols);

    // pre-tokens over BPE_PIECE_BYTES: encoded as pieces cut at UTF-8 character boundaries, each
    // piece exactly as BPE would encode it alone; one of exactly BPE_PIECE_BYTES is still whole
    for (int kind = 0; kind < 3; kind++) {
        static const char* chars[] = {"a", "q", "z", "\xc3\xa9", "\xe4\xbd\xa0", "\xf0\xa0\x80\x80"};  // letters of 1-4 bytes (U+20000: a CJK letter)
        std::string w;
        size_t want = kind == 0 ? BPE_PIECE_BYTES : 3 * BPE_PIECE_BYTES + 1000;
        while (w.size() < want) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            w += kind == 2 ? chars[(state >> 33) % 6] : chars[(state >> 33) % 3];
        }
        if (kind == 0) w.resize(BPE_PIECE_BYTES);
        size_t count = 0;
        pretokenize(w, [&](size_t, size_t) { count++; });
        BpeCache c;
        std::vector<uint32_t> got = bpe_encode(&bpe, &c, w), expect;
        size_t pieces = 0, b = 0;
        bool boundaries = true;
        while (b < w.size()) {
            size_t e = std::min(b + BPE_PIECE_BYTES, w.size());
            while (e < w.size() && ((unsigned char)w[e] & 0xC0) == 0x80) e--;
            boundaries = boundaries && e > b && e - b <= BPE_PIECE_BYTES && e == bpe_piece_end(w, b);
            bpe_merge_word(&bpe, std::string_view(w).substr(b, e - b), &expect);
            pieces++;
            b = e;
        }
        check(kind == 0 ? "bpe_piece_limit_exact" : kind == 1 ? "bpe_long_pretoken_pieces" : "bpe_long_pretoken_pieces_utf8",
              count == 1 && boundaries && got == expect && bpe_decode(&bpe, got) == w && pieces == (kind == 0 ? 1u : 4u),
              "one %zu-byte pre-token -> %zu piece(s) cut at character boundaries, %zu tokens, round-trips", w.size(), pieces, got.size());
    }
    return test_exit_code();
}

static int run_corpus(const char* vocab_dir, const char* tok_path, const char* field, int nfiles, char** files) {
    Bpe bpe;
    bpe_load(&bpe, vocab_dir);
    Tokenizer tok;
    tokenizer_init(&tok, tok_path);
    check("tokenizer_bin_loads", tok.ok && tok.vocab_size == bpe.tokens.size() && tok.eot_token == bpe.eot,
          "%s: ok=%d vocab %u eot %u", tok_path, tok.ok, tok.vocab_size, tok.eot_token);
    bool table_same = tok.ok && tok.vocab_size == bpe.tokens.size();
    for (size_t i = 0; table_same && i < bpe.tokens.size(); i++) table_same = tokenizer_decode(&tok, (uint32_t)i) == bpe.tokens[i];
    check("tokenizer_bin_matches_vocab", table_same, "every id decodes to the bytes encoder.json spells");
    check("tokenizer_decode_out_of_range", tokenizer_decode(&tok, 1u << 30).empty(), "an id past the vocab decodes to \"\"");
    size_t docs = 0, ok_bpe = 0, ok_bin = 0, bytes = 0, tokens = 0;
    BpeCache cache;
    for (int i = 0; i < nfiles; i++) {
        std::string data = file_read_all(files[i]);
        JsonCursor c{data.data(), data.data(), data.data() + data.size(), files[i]};
        json_visit(&c, field, [&](std::string& s) {
            docs++;
            bytes += s.size();
            std::vector<uint32_t> ids = bpe_encode(&bpe, &cache, s);
            tokens += ids.size();
            if (bpe_decode(&bpe, ids) == s) ok_bpe++;
            std::string viabin;
            for (uint32_t id : ids) viabin += tokenizer_decode(&tok, id);
            if (viabin == s) ok_bin++;
        });
    }
    check("corpus_round_trip", docs > 0 && ok_bpe == docs, "%zu/%zu documents (%zu bytes, %zu tokens)", ok_bpe, docs, bytes, tokens);
    check("corpus_round_trip_tokenizer_bin", docs > 0 && ok_bin == docs, "%zu/%zu documents via gpt2_tokenizer.bin", ok_bin, docs);
    return test_exit_code();
}

static int run_dump(int nfiles, char** files) {
    size_t total = 0;
    bool headers_ok = true;
    std::string out;
    for (int i = 0; i < nfiles; i++) {
        FilePtr f(fopenCheck(files[i], "rb"));
        int64_t size = file_size(f.get(), files[i]);
        int32_t h[HEADER_INTS];
        freadCheck(h, sizeof(int32_t), HEADER_INTS, f.get(), files[i]);
        bool ok = h[0] == SHARD_MAGIC && h[1] == SHARD_VERSION && h[2] > 0 && size == HEADER_BYTES + 2 * (int64_t)h[2];
        if (!ok) {
            fprintf(stderr, "FAIL shard_header %s: magic %d version %d ntokens %d size %lld\n", files[i], h[0], h[1], h[2], (long long)size);
            headers_ok = false;
            continue;
        }
        std::vector<uint16_t> toks((size_t)h[2]);
        freadCheck(toks.data(), sizeof(uint16_t), toks.size(), f.get(), files[i]);
        for (uint16_t t : toks) { out += std::to_string(t); out += '\n'; }
        total += toks.size();
    }
    fwrite(out.data(), 1, out.size(), stdout);
    fprintf(stderr, "%s shard_headers %d shards, %zu tokens: magic, version, size == 1024 + 2*ntokens\n",
            headers_ok ? "PASS" : "FAIL", nfiles, total);
    return headers_ok ? 0 : 1;
}

int main(int argc, char** argv) {
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "cases" && argc == 5) return run_cases(argv[2], argv[3], argv[4]);
    if (mode == "corpus" && argc >= 6) return run_corpus(argv[2], argv[3], argv[4], argc - 5, argv + 5);
    if (mode == "dump" && argc >= 3) return run_dump(argc - 2, argv + 2);
    if (mode == "decode" && argc >= 4) {  // the shards' text (end-of-text tokens dropped) to stdout
        Tokenizer t;
        tokenizer_init(&t, argv[2]);
        if (!t.ok) return 1;
        for (int i = 3; i < argc; i++) {
            FilePtr f(fopenCheck(argv[i], "rb"));
            int32_t h[HEADER_INTS];
            freadCheck(h, sizeof(int32_t), HEADER_INTS, f.get(), argv[i]);
            std::vector<uint16_t> toks((size_t)std::max(0, h[2]));
            freadCheck(toks.data(), sizeof(uint16_t), toks.size(), f.get(), argv[i]);
            for (uint16_t id : toks) {
                if (id == t.eot_token) continue;
                std::string s = tokenizer_decode(&t, id);
                fwrite(s.data(), 1, s.size(), stdout);
            }
        }
        return 0;
    }
    if (mode == "load" && argc == 3) {
        Tokenizer t;
        tokenizer_init(&t, argv[2]);
        printf("ok=%d vocab=%u eot=%u\n", t.ok, t.vocab_size, t.eot_token);
        return 0;
    }
    fprintf(stderr, "usage: test_tokenizer cases VOCAB_DIR FIXTURE REF | corpus VOCAB_DIR TOKENIZER_BIN FIELD JSON... | dump SHARD... | decode TOKENIZER_BIN SHARD... | load TOKENIZER_BIN\n");
    return 2;
}
