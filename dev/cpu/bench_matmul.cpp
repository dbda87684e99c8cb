// GPT-2 matmul shapes on the CPU: our packed SGEMM (llmc/cpu/gemm.h) vs the trainer's first
// blocked kernels (version 1, kept here as the baseline) vs OpenBLAS cblas_sgemm as the yardstick
// (loaded at run time with dlopen; OpenBLAS is only ever used here, never in the trainer).
// Each shape: validate against a double-precision reference on sampled entries, then median
// GFLOP/s over repeats. Build: make bench_matmul; run: OMP_NUM_THREADS=2 ./bench_matmul [BT C]
#include <dlfcn.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "../../llmc/cpu/gemm.h"
#include "../../llmc/rand.h"

// version 1: dot-product tiles without packing (the trainer's first matmul_forward)
typedef float vec16 __attribute__((vector_size(64), aligned(4)));
static inline vec16 load16(const float* p) { vec16 v; memcpy(&v, p, sizeof v); return v; }
static void v1_forward(float* out, const float* inp, const float* weight, int N, int K, int OC) {
    const int Kv = K / 16 * 16;
    #pragma omp parallel for collapse(2) schedule(static)
    for (int o0 = 0; o0 < OC; o0 += 4) {
        for (int n0 = 0; n0 < N; n0 += 4) {
            vec16 acc[4][4] = {};
            for (int k = 0; k < Kv; k += 16) {
                vec16 w[4];
                for (int c = 0; c < 4; c++) w[c] = load16(weight + (size_t)(o0 + c) * K + k);
                for (int r = 0; r < 4; r++) {
                    vec16 x = load16(inp + (size_t)(n0 + r) * K + k);
                    for (int c = 0; c < 4; c++) acc[r][c] += x * w[c];
                }
            }
            for (int r = 0; r < 4; r++)
                for (int c = 0; c < 4; c++) {
                    float s = 0;
                    for (int i = 0; i < 16; i++) s += acc[r][c][i];
                    out[(size_t)(n0 + r) * OC + o0 + c] = s;
                }
        }
    }
}

typedef void (*cblas_sgemm_t)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
enum { RowMajor = 101, NoTrans = 111, Trans = 112 };

static double now_s() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

template <typename F>
static double median_gflops(double flops, F f, int reps) {
    f();
    std::vector<double> t;
    for (int i = 0; i < reps; i++) {
        double t0 = now_s();
        f();
        t.push_back(now_s() - t0);
    }
    std::sort(t.begin(), t.end());
    return flops / t[t.size() / 2] / 1e9;
}

int main(int argc, char** argv) {
    const int BT = argc > 1 ? atoi(argv[1]) : 256, C = argc > 2 ? atoi(argv[2]) : 768;
    cblas_sgemm_t blas = nullptr;
    for (const char* lib : {"libopenblas.so.0", "/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0",
                            "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0"}) {
        void* h = dlopen(lib, RTLD_NOW);
        if (h && (blas = (cblas_sgemm_t)dlsym(h, "cblas_sgemm"))) break;
    }
    if (!blas) printf("OpenBLAS not found (apt-get install libopenblas0-openmp): yardstick column skipped\n");
    struct Shape { const char* name; int OC, K; };
    const Shape shapes[] = {{"qkv", 3 * C, C}, {"attproj", C, C}, {"fc", 4 * C, C}, {"fcproj", C, 4 * C}, {"lm_head", 50304, C}};
    Mt19937 rng(1);
    printf("BT=%d C=%d; GFLOP/s (median of repeats); err = max relative error on sampled entries vs double\n", BT, C);
    printf("%-8s %-8s %6s %6s %6s | %8s %8s %8s | %8s\n", "layer", "product", "M", "N", "K", "ours", "v1", "openblas", "ours err");
    for (const Shape& s : shapes) {
        const int OC = s.OC, K = s.K;
        std::vector<float> inp((size_t)BT * K), w((size_t)OC * K), dout((size_t)BT * OC), out((size_t)BT * OC),
            dinp((size_t)BT * K), dw((size_t)OC * K);
        for (auto* v : {&inp, &w, &dout})
            for (auto& x : *v) x = rng.uniform_f32() - 0.5f;
        const double flops = 2.0 * BT * K * OC;
        const int reps = OC > 10000 ? 3 : 7;
        for (int prod = 0; prod < 3; prod++) {
            const char* pname = prod == 0 ? "forward" : prod == 1 ? "dinp" : "dweight";
            double ours, v1 = 0, ob = 0;
            auto check = [&](auto ref_at, const float* got, int M, int N) {
                double e = 0;
                for (int i = 0; i < 64; i++) {
                    int m = (int)(rng.next_u32() % M), n = (int)(rng.next_u32() % N);
                    double r = ref_at(m, n);
                    e = std::max(e, fabs(r - got[(size_t)m * N + n]) / (1e-3 + fabs(r)));
                }
                return e;
            };
            double err;
            if (prod == 0) {
                ours = median_gflops(flops, [&] { gemm::sgemm(BT, OC, K, inp.data(), K, 1, w.data(), 1, K, out.data(), OC, false, nullptr); }, reps);
                err = check([&](int m, int n) { double r = 0; for (int k = 0; k < K; k++) r += (double)inp[(size_t)m * K + k] * w[(size_t)n * K + k]; return r; }, out.data(), BT, OC);
                v1 = median_gflops(flops, [&] { v1_forward(out.data(), inp.data(), w.data(), BT, K, OC); }, reps);
                if (blas) ob = median_gflops(flops, [&] { blas(RowMajor, NoTrans, Trans, BT, OC, K, 1.0f, inp.data(), K, w.data(), K, 0.0f, out.data(), OC); }, reps);
            } else if (prod == 1) {
                ours = median_gflops(flops, [&] { gemm::sgemm(BT, K, OC, dout.data(), OC, 1, w.data(), K, 1, dinp.data(), K, false, nullptr); }, reps);
                err = check([&](int m, int n) { double r = 0; for (int o = 0; o < OC; o++) r += (double)dout[(size_t)m * OC + o] * w[(size_t)o * K + n]; return r; }, dinp.data(), BT, K);
                if (blas) ob = median_gflops(flops, [&] { blas(RowMajor, NoTrans, NoTrans, BT, K, OC, 1.0f, dout.data(), OC, w.data(), K, 0.0f, dinp.data(), K); }, reps);
            } else {
                ours = median_gflops(flops, [&] { gemm::sgemm(OC, K, BT, dout.data(), 1, OC, inp.data(), K, 1, dw.data(), K, false, nullptr); }, reps);
                err = check([&](int m, int n) { double r = 0; for (int t = 0; t < BT; t++) r += (double)dout[(size_t)t * OC + m] * inp[(size_t)t * K + n]; return r; }, dw.data(), OC, K);
                if (blas) ob = median_gflops(flops, [&] { blas(RowMajor, Trans, NoTrans, OC, K, BT, 1.0f, dout.data(), OC, inp.data(), K, 0.0f, dw.data(), K); }, reps);
            }
            printf("%-8s %-8s %6d %6d %6d | %8.1f %8s %8.1f | %8.1e\n", s.name, pname, prod == 2 ? OC : BT,
                   prod == 0 ? OC : K, prod == 0 ? K : prod == 1 ? OC : BT, ours,
                   prod == 0 ? std::to_string((int)v1).c_str() : "-", ob, err);
        }
    }
    return 0;
}
