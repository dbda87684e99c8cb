// Shared by test_gpt2.cpp and test_gpt2.cu: the PyTorch debug state (dev/gpt2_ref.py's format,
// documented there) and the tolerance-table comparison. Each test keeps its own table.
// Include after llmc/*.h and dev/test/check.h.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

// |ours - ref| <= atol * (scaled ? max|ref| of the tensor : 1) + rtol * |ref|, per element.
struct Tolerance {
    const char* what;
    float atol, rtol;
    bool scaled;  // atol is relative to the tensor's largest |ref| (grads span many scales)
    const char* why;
};

template <size_t N>
static const Tolerance& find_tolerance(const Tolerance (&table)[N], const char* what) {
    for (const Tolerance& t : table) {
        if (!strcmp(t.what, what)) return t;
    }
    die("no tolerance for %s", what);
}

// Compares n values; prints max abs / rel errors and PASS/FAIL.
static bool compare_tol(const char* name, const Tolerance& t, const float* ours, const float* ref, size_t n) {
    double ref_max = 0.0;
    for (size_t i = 0; i < n; i++) ref_max = std::max(ref_max, (double)fabsf(ref[i]));
    const double atol = t.scaled ? t.atol * ref_max : t.atol;
    double max_abs = 0.0, max_rel = 0.0;
    size_t bad = 0, first_bad = 0;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)ours[i] - ref[i]);
        if (!(d <= atol + t.rtol * fabs(ref[i]))) {  // written so NaN fails
            if (!bad) first_bad = i;
            bad++;
        }
        max_abs = std::max(max_abs, d);
        if (fabs(ref[i]) > 1e-6) max_rel = std::max(max_rel, d / fabs(ref[i]));
    }
    if (bad) {
        check(name, false, "max_abs %.3e max_rel %.3e; %zu of %zu outside atol %.1e rtol %.0e, first at %zu: ours %.9g ref %.9g",
              max_abs, max_rel, bad, n, atol, t.rtol, first_bad, ours[first_bad], ref[first_bad]);
    } else {
        check(name, true, "max_abs %.3e max_rel %.3e (atol %.1e rtol %.0e, n=%zu)", max_abs, max_rel, atol, t.rtol, n);
    }
    return bad == 0;
}

struct DebugState {
    int32_t h[HEADER_INTS];  // [2]=B [3]=T [4]=steps [5]=V [11]=warmup [13]=untied
    float hyper[16];         // lr, beta1, beta2, eps, weight_decay, grad_clip, final_lr_frac
    std::vector<int> x, y;
    std::vector<float> logits, grads, losses, norms, lrs, final_params;
    float loss;
};

static DebugState read_debug_state(const std::string& path, size_t num_params) {
    FilePtr f(fopenCheck(path.c_str(), "rb"));
    DebugState s;
    const char* p = path.c_str();
    freadCheck(s.h, 4, HEADER_INTS, f.get(), p);
    if (s.h[0] != 20240327 || s.h[1] != 2) die("%s: not a version-2 debug state", p);
    freadCheck(s.hyper, 4, 16, f.get(), p);
    const size_t B = s.h[2], T = s.h[3], steps = s.h[4], V = s.h[5];
    s.x.resize(B * T);
    s.y.resize(B * T);
    s.logits.resize(B * T * V);
    s.grads.resize(num_params);
    s.losses.resize(steps);
    s.norms.resize(steps);
    s.lrs.resize(steps);
    s.final_params.resize(num_params);
    freadCheck(s.x.data(), 4, B * T, f.get(), p);
    freadCheck(s.y.data(), 4, B * T, f.get(), p);
    freadCheck(s.logits.data(), 4, B * T * V, f.get(), p);
    freadCheck(&s.loss, 4, 1, f.get(), p);
    freadCheck(s.grads.data(), 4, num_params, f.get(), p);
    freadCheck(s.losses.data(), 4, steps, f.get(), p);
    freadCheck(s.norms.data(), 4, steps, f.get(), p);
    freadCheck(s.lrs.data(), 4, steps, f.get(), p);
    freadCheck(s.final_params.data(), 4, num_params, f.get(), p);
    return s;
}
