/*
Token + position embedding: forward, and the deterministic backward.
  forward version 1: one scalar element per thread
  forward version 2: 16-byte packs per thread (llmc/cuda/encoder.cuh)
  backward version 1: the previous trainer kernel: positions bucketed by token on the host
                      (counting sort), one block per distinct token summing all its rows in order;
                      a token that is most of the batch is one block's serial loop
  backward version 2: sort-free, no host work (llmc/cuda/encoder.cuh): per-chunk partial sums
                      by the token's first position in the chunk, then chunk partials combined
                      in chunk order by the token's first position in the batch
The backward is checked on four batches (tokens from a 1000-id slice; one id 90% of the batch;
one id everywhere; every id distinct), with the default chunk and with 32-position chunks
(many chunks, presence masks of several words):
  - v2 against an exact (double) CPU sum: within the fp32 summation bound n * 2^-24 * sum|x|
    (+ one rounding of the final add), element by element
  - v2 against v1: within twice that bound, and bit-identical for tokens seen once
  - v2 run twice: bit-identical
Build and run: make build/dev_cuda/encoder && ./build/dev_cuda/encoder
Benchmarks (GPU only): forward GB/s; backward v1 vs v2 on the 1000-id batch and the skewed one.
*/
#include <algorithm>
#include <cstring>

#include "common.cuh"
#include "../../llmc/cuda/encoder.cuh"

__global__ void encoder_forward_kernel1(floatX* out, const int* inp, const floatX* wte, const floatX* wpe, int B, int T, int C) {
    const size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (size_t)B * T * C) return;
    const size_t bt = idx / C;
    const int c = idx % C, t = bt % T;
    out[idx] = from_float<floatX>(to_float(wte[(size_t)inp[bt] * C + c]) + to_float(wpe[(size_t)t * C + c]));
}

// ---- backward version 1 (the trainer's kernel before the sort-free one) ----
// dwte[token] += sum of dout rows at that token's positions. Block u handles unique token
// tokens[u], whose positions are positions[offsets[u] .. offsets[u+1]), ascending.
__global__ void wte_backward_kernel1(float* dwte, const floatX* dout, const int* tokens, const int* offsets,
                                     const int* positions, int C) {
    const int u = blockIdx.x;
    float* row = dwte + (size_t)tokens[u] * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float s = 0.0f;
        for (int i = offsets[u]; i < offsets[u + 1]; i++) s += to_float(dout[(size_t)positions[i] * C + c]);
        row[c] += s;
    }
}
// Host counting sort of the positions by token: O(N + unique log unique).
struct Buckets {
    std::vector<int> tokens, offsets, positions;
};
static Buckets buckets_build(const std::vector<int>& inp, int V) {
    Buckets b;
    std::vector<int> counts(V, 0);
    for (int x : inp) {
        if (counts[x]++ == 0) b.tokens.push_back(x);
    }
    std::sort(b.tokens.begin(), b.tokens.end());
    int off = 0;
    for (int tok : b.tokens) {
        b.offsets.push_back(off);
        const int n = counts[tok];
        counts[tok] = off;
        off += n;
    }
    b.offsets.push_back(off);
    b.positions.assign(inp.size(), 0);
    for (size_t i = 0; i < inp.size(); i++) b.positions[counts[inp[i]]++] = (int)i;
    return b;
}

// One batch of token ids by name.
static std::vector<int> make_batch(const char* kind, int N, int V, uint32_t seed) {
    std::vector<int> inp(N);
    Mt19937 rng(seed);
    for (int i = 0; i < N; i++) {
        if (!strcmp(kind, "random1000")) inp[i] = (int)(rng.next_u32() % 1000);
        else if (!strcmp(kind, "skewed90")) inp[i] = rng.next_u32() % 10 == 0 ? (int)(rng.next_u32() % V) : 42;
        else if (!strcmp(kind, "one_token")) inp[i] = 7;
        else inp[i] = (int)(((uint64_t)i * 7919u) % V);  // distinct (7919 prime, N <= V)
    }
    return inp;
}

template <typename T>
static std::vector<T> download(const T* d, size_t n) {
    std::vector<T> h(n);
    cudaCheck(cudaDeviceSynchronize());
    cudaCheck(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
}

int main() {
    require_device();
    const int B = EMU_OR(8, 8), T = EMU_OR(256, 1024), C = 768, V = EMU_OR(4096, 50257), N = B * T;
    std::vector<float> wte = round_floatX(rand_vec((size_t)V * C, 1)), wpe = round_floatX(rand_vec((size_t)T * C, 2));
    std::vector<float> dout = round_floatX(rand_vec((size_t)N * C, 3));
    std::vector<float> dwte0 = rand_vec((size_t)V * C, 5, -0.5f, 0.5f);  // backward adds to what is there
    floatX *d_wte = to_device<floatX>(wte), *d_wpe = to_device<floatX>(wpe), *d_dout = to_device<floatX>(dout);
    floatX* d_out = device_zeros<floatX>((size_t)N * C);
    float* d_dwte0 = to_device<float>(dwte0);
    float *d_dwte1 = device_zeros<float>((size_t)V * C), *d_dwte2 = device_zeros<float>((size_t)V * C);
    float* d_dwpe = device_zeros<float>((size_t)T * C);
    float* d_partial = device_zeros<float>(wte_partial_floats(N, C));
    // masks for the smallest chunk this check uses (the most words per token)
    unsigned* d_mask = device_zeros<unsigned>((size_t)V * wte_mask_words(N, 32));
    int* d_inp = device_zeros<int>(N);
    int *d_tok = device_zeros<int>(N + 1), *d_off = device_zeros<int>(N + 1), *d_pos = device_zeros<int>(N);
    char name[128];

    // forward on the 1000-id batch
    std::vector<int> inp = make_batch("random1000", N, V, 4);
    cudaCheck(cudaMemcpy(d_inp, inp.data(), N * sizeof(int), cudaMemcpyHostToDevice));
    std::vector<float> out((size_t)N * C);
    for (int i = 0; i < N; i++) {
        for (int c = 0; c < C; c++) out[(size_t)i * C + c] = to_float((floatX)(wte[(size_t)inp[i] * C + c] + wpe[(size_t)(i % T) * C + c]));
    }
    const int blocks[] = {64, 128, 256, 512, 1024};
    auto run_forward = [&](int v, int block) {
        if (v == 1) launch_kernel(encoder_forward_kernel1, ceil_div((size_t)N * C, block), block, 0, 0, d_out, d_inp, d_wte, d_wpe, B, T, C);
        else launch_kernel(encoder_forward_kernel, ceil_div((size_t)N * C / x128::size, block), block, 0, 0, d_out, d_inp, d_wte, d_wpe, B, T, C);
        cudaCheck(cudaGetLastError());
    };
    for (int v = 1; v <= 2; v++) {
        for (int block : blocks) {
            run_forward(v, block);
            snprintf(name, sizeof name, "encoder_forward v%d block %d", v, block);
            validate(name, d_out, out, 0.0f, 0.0f);  // one add, one rounding: exact
        }
    }

    auto run_v1 = [&](float* dwte, const Buckets& bk) {
        launch_kernel(wte_backward_kernel1, (int)bk.tokens.size(), 256, 0, 0, dwte, d_dout, d_tok, d_off, d_pos, C);
        cudaCheck(cudaGetLastError());
    };
    auto upload_buckets = [&](const Buckets& bk) {
        cudaCheck(cudaMemcpy(d_tok, bk.tokens.data(), bk.tokens.size() * sizeof(int), cudaMemcpyHostToDevice));
        cudaCheck(cudaMemcpy(d_off, bk.offsets.data(), bk.offsets.size() * sizeof(int), cudaMemcpyHostToDevice));
        cudaCheck(cudaMemcpy(d_pos, bk.positions.data(), bk.positions.size() * sizeof(int), cudaMemcpyHostToDevice));
    };
    const float u = 1.0f / 16777216.0f;  // 2^-24, fp32 unit roundoff
    const char* kinds[] = {"random1000", "skewed90", "one_token", "distinct"};
    for (const char* kind : kinds) {
        inp = make_batch(kind, N, V, 4);
        cudaCheck(cudaMemcpy(d_inp, inp.data(), N * sizeof(int), cudaMemcpyHostToDevice));
        // exact sums, |x| sums and counts per token
        std::vector<double> exact((size_t)V * C, 0.0), absum((size_t)V * C, 0.0);
        std::vector<int> count(V, 0);
        for (int i = 0; i < N; i++) {
            count[inp[i]]++;
            for (int c = 0; c < C; c++) {
                exact[(size_t)inp[i] * C + c] += dout[(size_t)i * C + c];
                absum[(size_t)inp[i] * C + c] += fabs(dout[(size_t)i * C + c]);
            }
        }
        int max_count = 0, most = 0;
        for (int v = 0; v < V; v++) {
            if (count[v] > max_count) max_count = count[v], most = v;
        }
        const Buckets bk = buckets_build(inp, V);
        upload_buckets(bk);
        cudaCheck(cudaMemcpy(d_dwte1, d_dwte0, (size_t)V * C * sizeof(float), cudaMemcpyDeviceToDevice));
        run_v1(d_dwte1, bk);
        const std::vector<float> v1 = download(d_dwte1, (size_t)V * C);
        for (int chunk : {0, 32}) {
            const int ch = chunk ? chunk : wte_chunk_rows(N);
            std::vector<float> v2[2];
            for (int rep = 0; rep < 2; rep++) {
                cudaCheck(cudaMemcpy(d_dwte2, d_dwte0, (size_t)V * C * sizeof(float), cudaMemcpyDeviceToDevice));
                encoder_backward(d_dwte2, d_dwpe, d_partial, d_mask, d_dout, d_inp, B, T, C, V, chunk, 0);
                v2[rep] = download(d_dwte2, (size_t)V * C);
            }
            // v2 vs the exact sum, v2 vs v1, tokens seen once, two runs
            size_t bad_exact = 0, bad_v1 = 0, bad_once = 0, first = 0;
            double worst = 0.0;
            for (int v = 0; v < V; v++) {
                for (int c = 0; c < C; c++) {
                    const size_t j = (size_t)v * C + c;
                    const double ref = dwte0[j] + exact[j];
                    const double bound = count[v] * u * absum[j] + u * (fabs(ref) + fabs(dwte0[j])) + 1e-30;
                    const double e = fabs(v2[0][j] - ref);
                    worst = std::max(worst, e / bound);
                    if (!(e <= bound)) {
                        if (bad_exact++ == 0) first = j;
                    }
                    if (!(fabs((double)v2[0][j] - v1[j]) <= 2.0 * bound)) bad_v1++;
                    if (count[v] == 1 && v2[0][j] != v1[j]) bad_once++;
                }
            }
            const bool same = !memcmp(v2[0].data(), v2[1].data(), v2[0].size() * sizeof(float));
            snprintf(name, sizeof name, "encoder_backward v2 %s chunk %d (%d chunks; token %d x%d of %d)", kind, ch,
                     ceil_div(N, ch), most, max_count, N);
            if (bad_exact) {
                printf("FAIL %s vs exact sum: %zu elements outside the fp32 summation bound, first %zu: %.9g vs %.9g\n", name,
                       bad_exact, first, v2[0][first], dwte0[first] + exact[first]);
                g_dev_failures++;
            } else {
                printf("PASS %s vs exact sum: within n*2^-24*sum|x| (worst at %.2f of the bound)\n", name, worst);
            }
            if (bad_v1 || bad_once) {
                printf("FAIL %s vs v1: %zu outside twice the bound, %zu of the once-seen tokens' elements differ\n", name, bad_v1, bad_once);
                g_dev_failures++;
            } else {
                printf("PASS %s vs v1 (host buckets): within twice the bound, once-seen tokens bit-identical\n", name);
            }
            if (!same) {
                printf("FAIL %s: two runs differ\n", name);
                g_dev_failures++;
            } else {
                printf("PASS %s: two runs bit-identical\n", name);
            }
        }
    }
    // wpe: column sums over b
    std::vector<float> dwpe((size_t)T * C, 0.0f);
    for (int i = 0; i < N; i++) {
        for (int c = 0; c < C; c++) dwpe[(size_t)(i % T) * C + c] += dout[(size_t)i * C + c];
    }
    cudaCheck(cudaMemset(d_dwpe, 0, (size_t)T * C * sizeof(float)));
    encoder_backward(d_dwte2, d_dwpe, d_partial, d_mask, d_dout, d_inp, B, T, C, V, 0, 0);
    validate("encoder_backward dwpe", d_dwpe, dwpe, 1e-5f, 1e-5f);

    if (benchmarks_skipped()) return dev_exit_code();
    printf("benchmark (B=%d T=%d C=%d, %s):\n", B, T, C, PRECISION_NAME);
    for (int v = 1; v <= 2; v++) {
        for (int block : blocks) {
            float ms = benchmark_ms(20, [&] { run_forward(v, block); });
            snprintf(name, sizeof name, "encoder_forward v%d", v);
            report(name, block, ms, 3.0 * N * C * sizeof(floatX));
        }
    }
    for (const char* kind : {"random1000", "skewed90"}) {
        inp = make_batch(kind, N, V, 4);
        cudaCheck(cudaMemcpy(d_inp, inp.data(), N * sizeof(int), cudaMemcpyHostToDevice));
        const Buckets bk = buckets_build(inp, V);
        upload_buckets(bk);
        const double bytes = (double)N * C * sizeof(floatX) + 2.0 * bk.tokens.size() * C * 4;  // dout once, dwte rows r+w
        float ms = benchmark_ms(20, [&] { run_v1(d_dwte1, bk); });
        snprintf(name, sizeof name, "wte_backward v1 %s", kind);
        report(name, 256, ms, bytes);
        ms = benchmark_ms(20, [&] { encoder_backward(d_dwte2, d_dwpe, d_partial, d_mask, d_dout, d_inp, B, T, C, V, 0, 0); });
        snprintf(name, sizeof name, "encoder_backward v2 %s (+wpe)", kind);
        report(name, 256, ms, bytes + 2.0 * T * C * 4);
    }
    return dev_exit_code();
}
