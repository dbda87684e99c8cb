// Mersenne Twister with PyTorch's CPU seeding, and normal_/uniform_ fills that follow
// torch.manual_seed(seed) + tensor.normal_() on the CPU (same uniform stream, same
// Box-Muller pairing), so a seeded init here starts from PyTorch's weights.
// Facts followed (PyTorch's CPU generator, 1.13):
//   - mt19937 seeded with the standard 1812433253 recurrence; 32-bit outputs tempered as usual.
//   - float uniform in [0,1): low 24 bits of one 32-bit draw * 2^-24.
//   - double uniform: low 53 bits of a 64-bit value made from two 32-bit draws (hi first).
//   - normal_ on a contiguous float tensor of >= 16 elements: fill every slot with a float
//     uniform, then Box-Muller in blocks of 16 (u1 = 1 - data[i], u2 = data[i+8], cos to the
//     first half, sin to the second); a tail that is not a multiple of 16 redraws the last
//     16 slots. Fewer than 16 elements: pairs of double uniforms, cached second sample.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

class Mt19937 {
public:
    static constexpr int N = 624;
    static constexpr int M = 397;

    explicit Mt19937(uint32_t seed = 5489u) { manual_seed(seed); }

    void manual_seed(uint32_t seed) {
        state_[0] = seed;
        for (int j = 1; j < N; j++) {
            state_[j] = 1812433253u * (state_[j - 1] ^ (state_[j - 1] >> 30)) + (uint32_t)j;
        }
        left_ = 1;
        next_ = 0;
        has_cached_normal_ = false;
    }

    uint32_t next_u32() {
        if (--left_ <= 0) twist();
        uint32_t y = state_[next_++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680u;
        y ^= (y << 15) & 0xefc60000u;
        y ^= y >> 18;
        return y;
    }
    uint64_t next_u64() {
        uint64_t hi = next_u32();
        return (hi << 32) | next_u32();
    }
    // One double normal sample; the second Box-Muller value is cached in the generator
    // (as PyTorch does) and returned by the next call.
    double normal_f64(double mean, double std) {
        if (has_cached_normal_) {
            has_cached_normal_ = false;
            return cached_normal_ * std + mean;
        }
        double u1 = uniform_f64();
        double u2 = uniform_f64();
        double radius = sqrt(-2.0 * log1p(-u2));
        double theta = 2.0 * M_PI * u1;
        cached_normal_ = radius * sin(theta);
        has_cached_normal_ = true;
        return radius * cos(theta) * std + mean;
    }
    float uniform_f32() { return (float)(next_u32() & ((1u << 24) - 1)) * (1.0f / (1u << 24)); }
    double uniform_f64() { return (double)(next_u64() & ((1ull << 53) - 1)) * (1.0 / (1ull << 53)); }

    // The whole generator state, for exact resume (checkpointed as raw bytes).
    struct State {
        uint32_t mt[N];
        int32_t left, next;
        int64_t has_cached_normal;  // 64-bit: no padding bytes in the saved struct
        double cached_normal;
    };
    // Whether s can be the state of a generator: the draws before the next twist stay inside mt
    // (a state file is input like any other; a bad one must not index out of bounds).
    static bool state_valid(const State& s) {
        return s.next >= 0 && s.next <= N && s.left >= 1 && s.left <= N + 1 && s.next + (s.left - 1) <= N &&
               (s.has_cached_normal == 0 || s.has_cached_normal == 1);
    }
    State get_state() const {
        State s;
        for (int i = 0; i < N; i++) s.mt[i] = state_[i];
        s.left = left_;
        s.next = next_;
        s.has_cached_normal = has_cached_normal_;
        s.cached_normal = cached_normal_;
        return s;
    }
    void set_state(const State& s) {
        for (int i = 0; i < N; i++) state_[i] = s.mt[i];
        left_ = s.left;
        next_ = s.next;
        has_cached_normal_ = s.has_cached_normal != 0;
        cached_normal_ = s.cached_normal;
    }

private:
    // Regenerates all N words at once; left_/next_ restart the read position. Three loops
    // instead of indices mod N, so the common part is branch-free and vectorizes.
    static uint32_t mix(uint32_t cur, uint32_t next, uint32_t far) {
        const uint32_t y = (cur & 0x80000000u) | (next & 0x7fffffffu);
        return far ^ (y >> 1) ^ ((0u - (y & 1u)) & 0x9908b0dfu);
    }
    void twist() {
        int i = 0;
        for (; i < N - M; i++) state_[i] = mix(state_[i], state_[i + 1], state_[i + M]);
        for (; i < N - 1; i++) state_[i] = mix(state_[i], state_[i + 1], state_[i + M - N]);
        state_[N - 1] = mix(state_[N - 1], state_[0], state_[M - 1]);
        left_ = N;
        next_ = 0;
    }
    uint32_t state_[N];
    int left_ = 1;
    int next_ = 0;
    bool has_cached_normal_ = false;
    double cached_normal_ = 0.0;
};

// Box-Muller on one block of 16 uniforms in place (PyTorch's normal_fill_16).
static inline void normal_block16(float* d, float mean, float std) {
    for (int i = 0; i < 8; i++) {
        float u1 = 1.0f - d[i];
        float u2 = d[i + 8];
        float radius = sqrtf(-2.0f * logf(u1 + 1e-12f));
        float theta = (float)(2.0 * M_PI * (double)u2);
        d[i] = radius * cosf(theta) * std + mean;
        d[i + 8] = radius * sinf(theta) * std + mean;
    }
}

// tensor.normal_(mean, std) over n contiguous floats. The uniforms are drawn in order (the one
// sequential part); the Box-Muller blocks are independent, so they run in parallel and give
// the same bits for any thread count.
static inline void normal_fill(float* data, size_t n, float mean, float std, Mt19937& rng) {
    if (n >= 16) {
        for (size_t i = 0; i < n; i++) data[i] = rng.uniform_f32();
        const int64_t blocks = (int64_t)(n / 16);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (blocks > 4096)
#endif
        for (int64_t b = 0; b < blocks; b++) normal_block16(data + 16 * b, mean, std);
        if (n % 16 != 0) {
            float* tail = data + n - 16;  // PyTorch redraws the last 16 slots
            for (int i = 0; i < 16; i++) tail[i] = rng.uniform_f32();
            normal_block16(tail, mean, std);
        }
        return;
    }
    for (size_t i = 0; i < n; i++) data[i] = (float)rng.normal_f64(mean, std);
}

// tensor.uniform_(lo, hi) over n contiguous floats. PyTorch forms u * (hi - lo) + lo in double
// (its CPU accumulate type for float) from the 24-bit uniform, then rounds to float.
static inline void uniform_fill(float* data, size_t n, float lo, float hi, Mt19937& rng) {
    const double width = (double)(hi - lo);  // the difference itself is taken in float
    for (size_t i = 0; i < n; i++) data[i] = (float)((double)rng.uniform_f32() * width + (double)lo);
}

// erfinv in float, by the algorithm PyTorch's CPU erfinv_ uses (a rational approximation from
// G. L. Pavlis' MATLAB erfinv, central range |y| <= 0.7, then two Newton steps on erf), so the
// truncated normal below follows torch.nn.init.trunc_normal_ to float rounding. Contraction into
// FMAs is off: it would change the rounding of the polynomial against PyTorch's build.
__attribute__((optimize("fp-contract=off"))) static inline float erfinv_f32(float y) {
    const float a[4] = {0.886226899f, -1.645349621f, 0.914624893f, -0.140543331f};
    const float b[4] = {-2.118377725f, 1.442710462f, -0.329097515f, 0.012229801f};
    const float c[4] = {-1.970840454f, -1.624906493f, 3.429567803f, 1.641345311f};
    const float d[2] = {3.543889200f, 1.637067800f};
    const float y_abs = fabsf(y);
    if (y_abs > 1.0f) return NAN;
    if (y_abs == 1.0f) return copysignf(INFINITY, y);
    float x;
    if (y_abs <= 0.7f) {
        const float z = y * y;
        const float num = ((a[3] * z + a[2]) * z + a[1]) * z + a[0];
        const float dem = (((b[3] * z + b[2]) * z + b[1]) * z + b[0]) * z + 1.0f;
        x = y * num / dem;
    } else {
        const float z = sqrtf(-logf((1.0f - y_abs) / 2.0f));
        const float num = ((c[3] * z + c[2]) * z + c[1]) * z + c[0];
        const float dem = (d[1] * z + d[0]) * z + 1.0f;
        x = copysignf(num, y) / dem;
    }
    const float two_over_sqrt_pi = 2.0f / (float)sqrt(M_PI);
    x = x - (erff(x) - y) / (two_over_sqrt_pi * expf(-x * x));
    x = x - (erff(x) - y) / (two_over_sqrt_pi * expf(-x * x));
    return x;
}

// torch.nn.init.trunc_normal_(t, 0, std, a, b) over n contiguous floats (inverse CDF): uniforms
// on [2 Phi(a/std) - 1, 2 Phi(b/std) - 1] (Phi in double, as PyTorch's Python), erfinv, times
// std * sqrt(2) (rounded to float, as a scalar multiplier of a float tensor is), clamped to [a, b].
static inline void trunc_normal_fill(float* data, size_t n, double std, double a, double b, Mt19937& rng) {
    auto cdf = [](double x) { return (1.0 + erf(x / sqrt(2.0))) / 2.0; };
    const double l = cdf(a / std), u = cdf(b / std);
    uniform_fill(data, n, (float)(2.0 * l - 1.0), (float)(2.0 * u - 1.0), rng);
    const float mul = (float)(std * sqrt(2.0)), lo = (float)a, hi = (float)b;
    for (size_t i = 0; i < n; i++) data[i] = fminf(fmaxf(erfinv_f32(data[i]) * mul, lo), hi);
}
