// The -rms diagnostics line, shared so both trainers print the same bytes for the same sums:
//   "s:STEP rms NAME:WEIGHT_RMS/GRAD_RMS ..."   (gradients before clipping; empty tensors,
// i.e. lm_head when tied, are left out). Each trainer reduces its own arenas to per-tensor sums
// of squares in double and hands them here.
#pragma once
#include <cmath>
#include <cstdio>
#include <string>

#include "../model/model.h"

inline std::string rms_log_line(int step, const size_t sizes[NUM_PARAMETER_TENSORS], const double weight_sq[NUM_PARAMETER_TENSORS],
                                const double grad_sq[NUM_PARAMETER_TENSORS]) {
    std::string line = "s:" + std::to_string(step) + " rms";
    for (int k = 0; k < NUM_PARAMETER_TENSORS; k++) {
        const size_t n = sizes[k];
        if (n == 0) continue;
        char buf[96];
        snprintf(buf, sizeof buf, " %s:%.4e/%.4e", PARAM_TABLE[k].name, sqrt(weight_sq[k] / n), sqrt(grad_sq[k] / n));
        line += buf;
    }
    return line;
}

// The line on stdout and, when logging, in the log.
inline void rms_log_write(FILE* log, int step, const size_t sizes[NUM_PARAMETER_TENSORS],
                          const double weight_sq[NUM_PARAMETER_TENSORS], const double grad_sq[NUM_PARAMETER_TENSORS]) {
    const std::string line = rms_log_line(step, sizes, weight_sq, grad_sq);
    printf("%s\n", line.c_str());
    if (log) fprintf(log, "%s\n", line.c_str());
}
