// Token + position embedding, forward and backward, without atomics.
// Backward is deterministic: the host groups the B*T positions by token id (the inputs live on
// the host anyway), and one block sums each token's rows in position order.
#pragma once
#include <algorithm>
#include <vector>

#include "common.cuh"

// out (B,T,C) = wte[inp[b,t]] + wpe[t]; one thread per 16-byte pack of C. C % x128::size == 0.
__global__ void encoder_forward_kernel(floatX* out, const int* inp, const floatX* wte, const floatX* wpe,
                                       int B, int T, int C) {
    const size_t idx = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) * x128::size;
    if (idx >= (size_t)B * T * C) return;
    const size_t bt = idx / C;
    const int c = (int)(idx % C), t = (int)(bt % T);
    x128 e = load128(wte + (size_t)inp[bt] * C + c);
    x128 p = load128(wpe + (size_t)t * C + c);
    x128 o;
    for (int k = 0; k < x128::size; k++) o[k] = from_float<floatX>(to_float(e[k]) + to_float(p[k]));
    store128(out + idx, o);
}

inline void encoder_forward(floatX* out, const int* inp, const floatX* wte, const floatX* wpe, int B, int T, int C,
                            cudaStream_t stream) {
    const int block = 256;
    const size_t packs = (size_t)B * T * C / x128::size;
    launch_kernel(encoder_forward_kernel, ceil_div(packs, block), block, 0, stream, out, inp, wte, wpe, B, T, C);
    cudaCheck(cudaGetLastError());
}

// dwpe (T,C) += sum over b of dout[b,t,:]; one thread per (t, c), b in order.
__global__ void wpe_backward_kernel(float* dwpe, const floatX* dout, int B, int T, int C) {
    const int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= T * C) return;
    float s = 0.0f;
    for (int b = 0; b < B; b++) s += to_float(dout[(size_t)b * T * C + idx]);
    dwpe[idx] += s;
}

// dwte[token] += sum of dout rows at that token's positions. Block u handles unique token
// tokens[u], whose positions are positions[offsets[u] .. offsets[u+1]), ascending.
// Threads stride over C, so each dwte element has one writer.
__global__ void wte_backward_kernel(float* dwte, const floatX* dout, const int* tokens, const int* offsets,
                                    const int* positions, int C) {
    const int u = blockIdx.x;
    float* row = dwte + (size_t)tokens[u] * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float s = 0.0f;
        for (int i = offsets[u]; i < offsets[u + 1]; i++) s += to_float(dout[(size_t)positions[i] * C + c]);
        row[c] += s;
    }
}

// Host-side bucketing of positions by token for wte_backward_kernel. Buffers sized B*T (+1).
struct EncoderBuckets {
    std::vector<int> tokens, offsets, positions;  // host staging
    int num_unique = 0;
};

// Counting sort by token id: O(B*T + unique) with a vocab-sized count array reused across calls.
inline void encoder_buckets_build(EncoderBuckets* eb, std::vector<int>& counts, const int* inp, int N) {
    eb->tokens.clear();
    eb->offsets.clear();
    eb->positions.assign(N, 0);
    for (int i = 0; i < N; i++) {
        if (counts[inp[i]]++ == 0) eb->tokens.push_back(inp[i]);
    }
    std::sort(eb->tokens.begin(), eb->tokens.end());
    int off = 0;
    for (int tok : eb->tokens) {
        eb->offsets.push_back(off);
        int n = counts[tok];
        counts[tok] = off;  // becomes the write cursor
        off += n;
    }
    eb->offsets.push_back(off);
    for (int i = 0; i < N; i++) eb->positions[counts[inp[i]]++] = i;  // ascending i per token
    for (int tok : eb->tokens) counts[tok] = 0;
    eb->num_unique = (int)eb->tokens.size();
}

// Copies the buckets to device buffers of at least N+1 ints. Pageable-memory copies return once
// the host data is staged, so eb may be rebuilt right after.
inline void encoder_buckets_upload(const EncoderBuckets& eb, int* d_tokens, int* d_offsets, int* d_positions,
                                   cudaStream_t stream) {
    const size_t N = eb.positions.size();
    cudaCheck(cudaMemcpyAsync(d_tokens, eb.tokens.data(), eb.num_unique * sizeof(int), cudaMemcpyHostToDevice, stream));
    cudaCheck(cudaMemcpyAsync(d_offsets, eb.offsets.data(), (eb.num_unique + 1) * sizeof(int), cudaMemcpyHostToDevice, stream));
    cudaCheck(cudaMemcpyAsync(d_positions, eb.positions.data(), N * sizeof(int), cudaMemcpyHostToDevice, stream));
}

inline void encoder_backward(float* dwte, float* dwpe, const floatX* dout, int num_unique, const int* d_tokens,
                             const int* d_offsets, const int* d_positions, int B, int T, int C, cudaStream_t stream) {
    launch_kernel(wpe_backward_kernel, ceil_div((size_t)T * C, 256), 256, 0, stream, dwpe, dout, B, T, C);
    cudaCheck(cudaGetLastError());
    launch_kernel(wte_backward_kernel, num_unique, 256, 0, stream, dwte, dout, d_tokens, d_offsets, d_positions, C);
    cudaCheck(cudaGetLastError());
}
