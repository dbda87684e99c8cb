// Token sampling for both trainers' generation: a softmax over the V real logits in fp32 and
// one uniform coin from the run's RNG (saved with checkpoints), so a resumed run samples the same.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "../io/tokenizer.h"

// The first index whose cumulative probability exceeds coin (in [0, 1)). probs: (V) scratch.
inline int sample_from_logits(const float* logits, int V, float coin, float* probs) {
    float maxv = -INFINITY;
    for (int v = 0; v < V; v++) maxv = std::max(maxv, logits[v]);
    float sum = 0.0f;
    for (int v = 0; v < V; v++) sum += expf(logits[v] - maxv);
    const float lse = maxv + logf(sum);
    for (int v = 0; v < V; v++) probs[v] = expf(logits[v] - lse);
    float cdf = 0.0f;
    for (int v = 0; v < V; v++) {
        cdf += probs[v];
        if (coin < cdf) return v;
    }
    return V - 1;  // rounding left the cdf just under 1
}

// One generated token: its text, or its id when no tokenizer file was found.
inline void print_token(const Tokenizer* tok, int id) {
    if (tok->ok) printf("%s", tokenizer_decode(tok, (uint32_t)id).c_str());
    else printf("%d ", id);
    fflush(stdout);
}
