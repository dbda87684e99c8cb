// Tokenizer throughput: encodes every document of a JSON corpus (default: Moby Dick) with
// llmc/io/tokenizer.h, RUNS times single-threaded and RUNS times with all threads; prints median MB/s of
// input text. "cold": every run starts with empty BPE caches (per thread), so warm-up is part of the
// cost, as in a fresh prepare_shards run on a small corpus; "warm": caches kept from a previous pass,
// the steady state of a large corpus. Threads take whole documents from a shared counter.
//   ./bench_tokenizer VOCAB_DIR RUNS FIELD JSON...
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "../llmc/io/tokenizer.h"

static double encode_all(const Bpe* bpe, const std::vector<std::string>& docs, std::vector<BpeCache>& caches,
                         int nthreads, size_t* tokens) {
    std::vector<size_t> counts(nthreads, 0);
    std::atomic<size_t> next{0};
    auto t0 = std::chrono::steady_clock::now();
    auto worker = [&](int tid) {
        std::vector<uint32_t> ids;
        for (size_t k; (k = next.fetch_add(1)) < docs.size();) {
            ids.clear();
            bpe_encode(bpe, &caches[tid], docs[k], &ids);
            counts[tid] += ids.size();
        }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < nthreads; t++) pool.emplace_back(worker, t);
    worker(0);
    for (std::thread& th : pool) th.join();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    *tokens = 0;
    for (size_t c : counts) *tokens += c;
    return secs;
}

int main(int argc, char** argv) {
    if (argc < 5) die("usage: bench_tokenizer VOCAB_DIR RUNS FIELD JSON...");
    std::string dir = argv[1];
    char* end;
    long runs = strtol(argv[2], &end, 10);
    if (*end || runs < 1) die("RUNS: expected a positive integer, got '%s'", argv[2]);
    Bpe bpe;
    bpe_init(&bpe, (dir + "/encoder.json").c_str(), (dir + "/vocab.bpe").c_str());
    std::vector<std::string> docs;
    size_t bytes = 0;
    for (int i = 4; i < argc; i++) {
        std::string data = file_read_all(argv[i]);
        JsonCursor c{data.data(), data.data(), data.data() + data.size(), argv[i]};
        json_visit(&c, argv[3], [&](std::string& s) { bytes += s.size(); docs.push_back(s); });
    }
    int all = std::max(1u, std::thread::hardware_concurrency());
    for (int nthreads : {1, all}) {
        for (bool warm : {false, true}) {
            std::vector<double> rates;
            size_t tokens = 0;
            std::vector<BpeCache> caches(nthreads);
            if (warm) encode_all(&bpe, docs, caches, nthreads, &tokens);
            for (long r = 0; r < runs; r++) {
                if (!warm) caches.assign(nthreads, BpeCache{});
                rates.push_back(bytes / 1e6 / encode_all(&bpe, docs, caches, nthreads, &tokens));
            }
            std::sort(rates.begin(), rates.end());
            printf("llmc %zu bytes %zu tokens threads %d %s median %.2f MB/s (min %.2f max %.2f, %ld runs)\n", bytes,
                   tokens, nthreads, warm ? "warm" : "cold", rates[rates.size() / 2], rates.front(), rates.back(), runs);
        }
        if (all == 1) break;
    }
    return 0;
}
