/*
Matmul plans (llmc/cuda/matmul.cuh): cuBLASLt descriptors, layouts and the heuristic's algorithm
made once per (shape, epilogue, pointer alignment) and cached, against the uncached path (a
fresh plan per call, Blas::plan_cache = false), on the trainer's forward shapes (bias, no bias,
GELU epilogue with the pre-GELU aux):
  - cached and uncached outputs bit-identical; both against a CPU reference
  - a repeat of a shape makes no descriptor or layout and runs no heuristic: counted by the
    Blas's own counters and, under the emulator, by the emulated cuBLASLt's call counts
  - a repeat with other bias / aux pointers (another layer's) uses them
  - another pointer alignment is another plan
  - one training step's forward matmuls (2 layers + lm_head) run twice: the second pass makes nothing
Build and run: make build/dev_cuda/matmul && ./build/dev_cuda/matmul
Benchmark (GPU only): host-side cost per call, cached vs uncached, on a small shape.
*/
#include <chrono>
#include <cstring>

#include "common.cuh"
#include "../../llmc/cuda/matmul.cuh"

// What one call made: the Blas's counters, and (emulator) the library's.
struct Counts {
    long long plans, descriptors, heuristics, matmuls;
    long long lib_desc, lib_layouts, lib_prefs, lib_heuristics;
};
static Counts counts(const Blas& b) {
    Counts c{b.stats.plans_made, b.stats.descriptors_made, b.stats.heuristic_calls, b.stats.matmuls, -1, -1, -1, -1};
#if defined(CUDA_EMU)
    const cuda_emu::LtCounts& l = cuda_emu::lt_counts();
    c.lib_desc = l.desc_creates;
    c.lib_layouts = l.layout_creates;
    c.lib_prefs = l.pref_creates;
    c.lib_heuristics = l.heuristic_calls;
#endif
    return c;
}
static Counts diff(const Counts& a, const Counts& b) {
    return {b.plans - a.plans, b.descriptors - a.descriptors, b.heuristics - a.heuristics, b.matmuls - a.matmuls,
            b.lib_desc - a.lib_desc, b.lib_layouts - a.lib_layouts, b.lib_prefs - a.lib_prefs, b.lib_heuristics - a.lib_heuristics};
}
static bool made_nothing(const Counts& d) {
    return d.plans == 0 && d.descriptors == 0 && d.heuristics == 0 && d.lib_desc == 0 && d.lib_layouts == 0 && d.lib_prefs == 0 &&
           d.lib_heuristics == 0;
}
static bool made_one_plan(const Counts& d) {
#if defined(CUDA_EMU)
    const bool lib = d.lib_desc == 1 && d.lib_layouts == 3 && d.lib_prefs == 1 && d.lib_heuristics == 1;
#else
    const bool lib = true;
#endif
    return d.plans == 1 && d.heuristics == 1 && lib;
}
static void check(const char* name, bool ok, const Counts& d) {
    printf("%s %s (plans %lld, descriptors %lld, heuristic calls %lld, matmuls %lld; library: descs %lld layouts %lld prefs %lld heuristics %lld)\n",
           ok ? "PASS" : "FAIL", name, d.plans, d.descriptors, d.heuristics, d.matmuls, d.lib_desc, d.lib_layouts, d.lib_prefs,
           d.lib_heuristics);
    if (!ok) g_dev_failures++;
}

template <typename T>
static std::vector<T> download(const T* d, size_t n) {
    std::vector<T> h(n);
    cudaCheck(cudaDeviceSynchronize());
    cudaCheck(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
}
template <typename T>
static bool same_bits(const T* a, const T* b, size_t n) {
    return !memcmp(download(a, n).data(), download(b, n).data(), n * sizeof(T));
}

// out (N, OC) = inp (N, K) @ w (OC, K)^T + bias, gelu optional (returns the pre-GELU values too)
static void cpu_matmul(std::vector<float>& out, std::vector<float>* pre, const std::vector<float>& inp,
                       const std::vector<float>& w, const float* bias, int N, int K, int OC, bool gelu) {
    out.assign((size_t)N * OC, 0.0f);
    if (pre) pre->assign((size_t)N * OC, 0.0f);
    for (int n = 0; n < N; n++) {
        for (int o = 0; o < OC; o++) {
            double s = bias ? bias[o] : 0.0;
            for (int k = 0; k < K; k++) s += (double)inp[(size_t)n * K + k] * w[(size_t)o * K + k];
            const float x = to_float((floatX)(float)s);
            if (pre) (*pre)[(size_t)n * OC + o] = x;
            out[(size_t)n * OC + o] = gelu ? 0.5f * x * (1.0f + tanhf(GELU_SCALING * (x + 0.044715f * x * x * x))) : x;
        }
    }
}

int main() {
    require_device();
    const int N = EMU_OR(64, 512), C = EMU_OR(128, 768);
    Blas cached, uncached;
    blas_init(&cached, false);
    blas_init(&uncached, false);
    uncached.plan_cache = false;
    cached.gelu_fusion = uncached.gelu_fusion = true;  // the epilogue path is what this checks; the trainer's default is off
    const int maxOC = 4 * C;
    std::vector<float> inp = round_floatX(rand_vec((size_t)N * 4 * C, 1)), w = round_floatX(rand_vec((size_t)maxOC * 4 * C, 2, -0.05f, 0.05f));
    std::vector<float> bias = round_floatX(rand_vec(2 * (size_t)maxOC, 3));
    floatX *d_inp = to_device<floatX>(inp), *d_w = to_device<floatX>(w), *d_bias = to_device<floatX>(bias);
    // outputs with room for a 16-byte offset (the alignment case)
    floatX *d_out1 = device_zeros<floatX>((size_t)N * maxOC + 64), *d_out2 = device_zeros<floatX>((size_t)N * maxOC + 64);
    floatX *d_pre1 = device_zeros<floatX>((size_t)N * maxOC), *d_pre2 = device_zeros<floatX>((size_t)N * maxOC);
    char name[160];

    // each shape: bias, no bias, GELU + aux; K = C except fcproj's K = 4C
    struct Shape {
        const char* what;
        int K, OC;
        bool bias, gelu;
    } shapes[] = {{"qkv (bias)", C, 3 * C, true, false}, {"attproj (bias)", C, C, true, false},
                  {"fc (bias + GELU aux)", C, 4 * C, true, true}, {"fcproj (bias)", 4 * C, C, true, false},
                  {"lm_head-like (no bias)", C, 2 * C, false, false}};
    for (const Shape& s : shapes) {
        const size_t n_out = (size_t)N * s.OC;
        const floatX* b = s.bias ? d_bias : nullptr;
        auto call = [&](Blas* bl, floatX* out, floatX* pre, const floatX* bias_ptr) {
            if (s.gelu) matmul_forward_gelu(bl, out, pre, d_inp, d_w, bias_ptr, N, s.K, s.OC, 0);
            else matmul_forward(bl, out, d_inp, d_w, bias_ptr, N, s.K, s.OC, 0);
        };
        Counts c0 = counts(cached);
        call(&cached, d_out1, d_pre1, b);
        Counts first = diff(c0, counts(cached));
        snprintf(name, sizeof name, "matmul %s N=%d K=%d OC=%d: first call makes one plan", s.what, N, s.K, s.OC);
        check(name, made_one_plan(first), first);
        c0 = counts(cached);
        call(&cached, d_out1, d_pre1, b);
        Counts second = diff(c0, counts(cached));
        snprintf(name, sizeof name, "matmul %s: second call makes no descriptor, runs no heuristic", s.what);
        check(name, made_nothing(second) && second.matmuls == 1, second);
        c0 = counts(uncached);
        call(&uncached, d_out2, d_pre2, b);
        call(&uncached, d_out2, d_pre2, b);
        Counts unc = diff(c0, counts(uncached));
        snprintf(name, sizeof name, "matmul %s: uncached path makes a plan per call", s.what);
        check(name, unc.plans == 2 && unc.heuristics == 2, unc);
        snprintf(name, sizeof name, "matmul %s: cached == uncached, bit for bit", s.what);
        bool same = same_bits(d_out1, d_out2, n_out) && (!s.gelu || same_bits(d_pre1, d_pre2, n_out));
        printf("%s %s\n", same ? "PASS" : "FAIL", name);
        if (!same) g_dev_failures++;
        // against the CPU
        std::vector<float> ref, pre_ref, inp_k((size_t)N * s.K), w_k((size_t)s.OC * s.K);
        for (int r = 0; r < N; r++) memcpy(&inp_k[(size_t)r * s.K], &inp[(size_t)r * s.K], s.K * sizeof(float));
        for (int r = 0; r < s.OC; r++) memcpy(&w_k[(size_t)r * s.K], &w[(size_t)r * s.K], s.K * sizeof(float));
        cpu_matmul(ref, s.gelu ? &pre_ref : nullptr, inp_k, w_k, s.bias ? bias.data() : nullptr, N, s.K, s.OC, s.gelu);
        snprintf(name, sizeof name, "matmul %s cached vs CPU", s.what);
        validate(name, d_out1, ref);
        if (s.bias) {  // another layer's bias (and aux buffer): same plan, the new pointers
            c0 = counts(cached);
            call(&cached, d_out1, d_pre2, d_bias + maxOC);
            Counts other = diff(c0, counts(cached));
            call(&uncached, d_out2, d_pre1, d_bias + maxOC);
            snprintf(name, sizeof name, "matmul %s: another bias%s pointer reuses the plan and is used", s.what, s.gelu ? " and aux" : "");
            same = made_nothing(other) && same_bits(d_out1, d_out2, n_out) && (!s.gelu || same_bits(d_pre2, d_pre1, n_out));
            check(name, same, other);
            cpu_matmul(ref, nullptr, inp_k, w_k, bias.data() + maxOC, N, s.K, s.OC, s.gelu);
            snprintf(name, sizeof name, "matmul %s other bias vs CPU", s.what);
            validate(name, d_out1, ref);
        }
    }
    // a 16-byte aligned output is another plan (the heuristic may assume 256-byte alignment)
    {
        Counts c0 = counts(cached);
        matmul_forward(&cached, d_out1 + 8, d_inp, d_w, d_bias, N, C, C, 0);
        Counts d = diff(c0, counts(cached));
        check("matmul attproj shape, output 16-byte aligned: its own plan", made_one_plan(d), d);
        matmul_forward(&uncached, d_out2 + 8, d_inp, d_w, d_bias, N, C, C, 0);
        const bool same = same_bits(d_out1 + 8, d_out2 + 8, (size_t)N * C);
        printf("%s matmul 16-byte aligned output: cached == uncached, bit for bit\n", same ? "PASS" : "FAIL");
        if (!same) g_dev_failures++;
    }
    // one training step's forward matmuls, twice, on a fresh Blas: the repeat makes nothing
    {
        Blas step;
        blas_init(&step, false);
        auto run_step = [&] {
            for (int l = 0; l < 2; l++) {
                matmul_forward(&step, d_out1, d_inp, d_w, d_bias + l * 3 * C, N, C, 3 * C, 0);
                matmul_forward(&step, d_out1, d_inp, d_w, d_bias + l * C, N, C, C, 0);
                matmul_forward_gelu(&step, d_out1, d_pre1, d_inp, d_w, d_bias + l * 4 * C, N, C, 4 * C, 0);
                matmul_forward(&step, d_out1, d_inp, d_w, d_bias + l * C, N, 4 * C, C, 0);
            }
            matmul_forward(&step, d_out1, d_inp, d_w, nullptr, N, C, 2 * C, 0);
        };
        Counts c0 = counts(step);
        run_step();
        Counts d1 = diff(c0, counts(step));
        c0 = counts(step);
        run_step();
        Counts d2 = diff(c0, counts(step));
        snprintf(name, sizeof name, "matmul step (2 layers + lm_head, %lld plans in step 1): step 2 makes no descriptor, runs no heuristic",
                 d1.plans);
        check(name, d1.plans == 5 && made_nothing(d2) && d2.matmuls == 9, d2);
        blas_free(&step);
    }

    if (!benchmarks_skipped()) {
        // host-side cost of a call on a small shape (where it matters most)
        const int n = 64, reps = 2000;
        for (Blas* b : {&uncached, &cached}) {
            matmul_forward(b, d_out1, d_inp, d_w, d_bias, n, C, C, 0);
            cudaCheck(cudaDeviceSynchronize());
            const auto t0 = std::chrono::steady_clock::now();
            for (int r = 0; r < reps; r++) matmul_forward(b, d_out1, d_inp, d_w, d_bias, n, C, C, 0);
            const double host_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / reps;
            cudaCheck(cudaDeviceSynchronize());
            printf("  %-34s N=%d K=%d OC=%d | %7.2f us per call enqueued (host)\n", b == &cached ? "matmul_forward cached plan" : "matmul_forward uncached",
                   n, C, C, host_us);
        }
    }
    blas_free(&cached);
    blas_free(&uncached);
    return dev_exit_code();
}
