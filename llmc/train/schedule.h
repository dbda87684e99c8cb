// Learning-rate schedules, all with linear warmup lr*(step+1)/warmup (llm.c's convention).
//   cosine:   warmup, then cosine from lr down to lr*final_frac at the last step
//   linear:   warmup, then linear from lr down to lr*final_frac
//   constant: warmup, then lr
//   wsd:      warmup, stable at lr, then the last 20% of steps decay linearly to lr*final_frac
#pragma once
#include <cmath>
#include <cstring>

inline float lr_at_step(const char* kind, int step, int max_steps, int warmup, float lr, float final_frac) {
    if (step < warmup) return lr * (float)(step + 1) / (float)warmup;
    float lr_min = lr * final_frac;
    if (!strcmp(kind, "constant")) return lr;
    if (!strcmp(kind, "wsd")) {
        int decay_start = warmup + (int)(0.8f * (float)(max_steps - warmup));
        if (step < decay_start) return lr;
        float ratio = (float)(step - decay_start) / (float)(max_steps - decay_start);
        return lr - ratio * (lr - lr_min);
    }
    float ratio = max_steps > warmup ? (float)(step - warmup) / (float)(max_steps - warmup) : 0.0f;
    if (!strcmp(kind, "linear")) return lr - ratio * (lr - lr_min);
    float coeff = 0.5f * (1.0f + cosf((float)M_PI * ratio));  // cosine: 1 -> 0
    return lr_min + coeff * (lr - lr_min);
}
