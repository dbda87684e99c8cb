// Outlier detection for -sl / -sg (llm.c's "skip update" z-scores): the z-score of a new loss
// or grad norm against the previous WINDOW values; a step whose z-score exceeds the threshold
// is skipped (no AdamW update). Plain data, so the training state saves and restores it whole
// and a resumed run skips exactly the same steps.
#pragma once
#include <cmath>

struct OutlierDetector {
    static constexpr int WINDOW = 128;
    double values[WINDOW];
    int count;   // values seen, capped at WINDOW
    int next;    // ring position of the oldest value
    double sum, sum_sq;
};

inline void outlier_init(OutlierDetector* d) { *d = OutlierDetector{}; }

// The z-score of x against the window (NaN until the window is full), then x joins the window.
inline double outlier_update(OutlierDetector* d, double x) {
    double z = NAN;
    if (d->count == OutlierDetector::WINDOW) {
        const double mean = d->sum / OutlierDetector::WINDOW;
        const double var = d->sum_sq / OutlierDetector::WINDOW - mean * mean;
        z = var > 0.0 ? (x - mean) / sqrt(var) : 0.0;
        const double old = d->values[d->next];
        d->sum -= old;
        d->sum_sq -= old * old;
    } else {
        d->count++;
    }
    d->values[d->next] = x;
    d->next = (d->next + 1) % OutlierDetector::WINDOW;
    d->sum += x;
    d->sum_sq += x * x;
    return z;
}
