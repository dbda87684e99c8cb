// Token + position embedding, forward and backward, deterministic and without float atomics.
// The wte backward is sort-free and never serializes on a frequent token: the B*T positions are
// cut into chunks of `chunk` consecutive positions (256 by default), and
//   1. wte_chunk_sums_kernel, one block per (chunk, channel block): within its chunk, each
//      token's first position (its chunk head) sums the token's rows in position order into an
//      fp32 partial row; the block also sets the chunk's bit in the token's presence mask;
//   2. wte_combine_kernel, one warp per (position, channel block): the warp of a token's first
//      position in the whole batch adds the token's chunk partials in chunk order and adds the
//      total into dwte (one writer per element).
// Every sum runs in a fixed order (positions within a chunk, then chunks), so the result is the
// same bits every run. The only atomics are integer ORs into the presence masks, whose result
// does not depend on their order. The serial work of any one (token, channel) is bounded by
// chunk + B*T / chunk additions (old kernel: every occurrence, e.g. 40k rows for a token that is
// 60% of a 64k-token batch). Scratch: an fp32 (B*T, C) partial buffer (the trainer lends it the
// MLP gradient buffer, free by then) and V * words presence masks, zeroed per call.
#pragma once
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

// ----------------------------------------------------------------------------
// wte backward

constexpr int WTE_MAX_CHUNK = 1024;

// Positions per chunk for a batch of N positions: 256, or 1024 past 256k positions (fewer chunks,
// shorter masks). A multiple of 32 and at most WTE_MAX_CHUNK, as encoder_backward requires.
inline int wte_chunk_rows(int N) { return N <= 256 * 1024 ? 256 : WTE_MAX_CHUNK; }
// 32-bit presence words per token.
inline int wte_mask_words(int N, int chunk) { return ceil_div(ceil_div(N, chunk), 32); }
// Scratch encoder_backward needs for batches up to N positions, vocabulary V, channels C (the
// default chunk size): the partial buffer and the masks.
inline size_t wte_partial_floats(int N, int C) { return (size_t)N * C; }
inline size_t wte_mask_ints(int N, int V) { return (size_t)V * wte_mask_words(N, wte_chunk_rows(N)); }

// The first position p in [p0, p0 + n) with inp[p] == t, or -1. Called by a whole warp.
__device__ inline int chunk_first(const int* inp, int p0, int n, int t, int lane) {
    for (int base = 0; base < n; base += 32) {
        const int i = base + lane;
        const unsigned hit = __ballot_sync(0xffffffffu, i < n && inp[p0 + i] == t);
        if (hit) return p0 + base + __ffs((int)hit) - 1;
    }
    return -1;
}

// grid (chunks, channel blocks of 32 * x128::size), block a multiple of 32; dynamic shared memory
// 3 * chunk ints. partial[head row] = the chunk's rows of that token summed in position order.
__global__ void wte_chunk_sums_kernel(float* partial, unsigned* mask, const floatX* dout, const int* inp, int N, int C,
                                      int chunk, int words) {
    int* tok = dynamic_shared<int>();
    int* next = tok + chunk;     // next position of the same token in the chunk, or -1
    int* is_head = next + chunk; // first position of its token in the chunk
    const int k = blockIdx.x, p0 = k * chunk, n = min(chunk, N - p0);
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        tok[i] = inp[p0 + i];
        is_head[i] = 1;
    }
    __syncthreads();
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        int j = i + 1;
        while (j < n && tok[j] != tok[i]) j++;
        next[i] = j < n ? j : -1;
    }
    __syncthreads();
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        if (next[i] >= 0) is_head[next[i]] = 0;  // next is one-to-one: one writer per slot
    }
    __syncthreads();
    if (blockIdx.y == 0) {
        for (int i = threadIdx.x; i < n; i += blockDim.x) {
            if (is_head[i]) atomicOr(&mask[(size_t)tok[i] * words + k / 32], 1u << (k % 32));
        }
    }
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, nwarps = blockDim.x / 32;
    const int c = (blockIdx.y * 32 + lane) * x128::size;
    if (c >= C) return;  // no barrier below
    for (int i = warp; i < n; i += nwarps) {
        if (!is_head[i]) continue;
        float acc[x128::size];
        for (int q = 0; q < x128::size; q++) acc[q] = 0.0f;
        for (int j = i; j >= 0; j = next[j]) {
            const x128 d = load128(dout + (size_t)(p0 + j) * C + c);
            for (int q = 0; q < x128::size; q++) acc[q] += to_float(d[q]);
        }
        float* dst = partial + (size_t)(p0 + i) * C + c;
        for (int q = 0; q < x128::size; q += f128::size) {
            f128 v;
            for (int r = 0; r < f128::size; r++) v[r] = acc[q + r];
            store128(dst + q, v);
        }
    }
}

// grid (ceil(N / warps per block), channel blocks), one warp per position. The warp of each token's
// first position in the batch adds the token's chunk partials, chunk by chunk, into dwte.
__global__ void wte_combine_kernel(float* dwte, const float* partial, const unsigned* mask, const int* inp, int N, int C,
                                   int chunk, int words) {
    const int p = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (p >= N) return;  // the whole warp
    const int t = inp[p], k = p / chunk;
    const unsigned* m = mask + (size_t)t * words;
    for (int w = 0; w < k / 32; w++) {
        if (m[w]) return;  // an earlier chunk holds t
    }
    if (m[k / 32] & ((1u << (k % 32)) - 1u)) return;
    if (chunk_first(inp, k * chunk, min(chunk, N - k * chunk), t, lane) != p) return;
    const int c = (blockIdx.y * 32 + lane) * x128::size;
    const bool active = c < C;  // every lane stays for the ballots in chunk_first
    float acc[x128::size];
    for (int q = 0; q < x128::size; q++) acc[q] = 0.0f;
    if (active) {
        for (int q = 0; q < x128::size; q += f128::size) {
            const f128 v = load128(partial + (size_t)p * C + c + q);
            for (int r = 0; r < f128::size; r++) acc[q + r] = v[r];
        }
    }
    for (int w = k / 32; w < words; w++) {
        unsigned bits = m[w];
        if (w == k / 32) bits &= ~((2u << (k % 32)) - 1u);  // chunks after k only
        while (bits) {
            const int k2 = w * 32 + __ffs((int)bits) - 1;
            bits &= bits - 1;
            const int h = chunk_first(inp, k2 * chunk, min(chunk, N - k2 * chunk), t, lane);
            if (!active) continue;
            for (int q = 0; q < x128::size; q += f128::size) {
                const f128 v = load128(partial + (size_t)h * C + c + q);
                for (int r = 0; r < f128::size; r++) acc[q + r] += v[r];
            }
        }
    }
    if (!active) return;
    float* row = dwte + (size_t)t * C + c;
    for (int q = 0; q < x128::size; q += f128::size) {
        f128 v = load128(row + q);
        for (int r = 0; r < f128::size; r++) v[r] += acc[q + r];
        store128(row + q, v);
    }
}

// dwte (V, C) += and dwpe (T, C) += the embedding gradients of dout (B, T, C); inp: the device
// copy of the batch's token ids. partial: wte_partial_floats(B*T, C) fp32 scratch; mask:
// wte_mask_ints(B*T, V) scratch. chunk: positions per chunk, a multiple of 32 up to
// WTE_MAX_CHUNK, 0 = wte_chunk_rows(B*T) (tests pass small ones to get many chunks).
inline void encoder_backward(float* dwte, float* dwpe, float* partial, unsigned* mask, const floatX* dout, const int* inp,
                             int B, int T, int C, int V, int chunk, cudaStream_t stream) {
    const int N = B * T;
    if (chunk == 0) chunk = wte_chunk_rows(N);
    if (chunk < 32 || chunk > WTE_MAX_CHUNK || chunk % 32 != 0) die("encoder_backward: chunk %d is not a multiple of 32 in [32, %d]", chunk, WTE_MAX_CHUNK);
    const int chunks = ceil_div(N, chunk), words = ceil_div(chunks, 32), cblocks = ceil_div(C, 32 * x128::size);
    launch_kernel(wpe_backward_kernel, ceil_div((size_t)T * C, 256), 256, 0, stream, dwpe, dout, B, T, C);
    cudaCheck(cudaGetLastError());
    cudaCheck(cudaMemsetAsync(mask, 0, (size_t)V * words * sizeof(unsigned), stream));
    launch_kernel(wte_chunk_sums_kernel, dim3(chunks, cblocks), 256, 3 * chunk * sizeof(int), stream, partial, mask, dout,
                  inp, N, C, chunk, words);
    cudaCheck(cudaGetLastError());
    launch_kernel(wte_combine_kernel, dim3(ceil_div(N, 256 / 32), cblocks), 256, 0, stream, dwte, (const float*)partial,
                  (const unsigned*)mask, inp, N, C, chunk, words);
    cudaCheck(cudaGetLastError());
}
