/*
Token + position embedding: forward, and the deterministic backward (positions bucketed by
token on the host, one block per distinct token, no atomics).
  forward version 1: one scalar element per thread
  forward version 2: 16-byte packs per thread (llmc/cuda/encoder.cuh)
  backward version 1: wpe column sums + bucketed wte sums (llmc/cuda/encoder.cuh)
Build and run: make build/dev_cuda/encoder && ./build/dev_cuda/encoder
Validates each version against the CPU reference, then benchmarks (GB/s).
*/
#include "common.cuh"
#include "../../llmc/cuda/encoder.cuh"

__global__ void encoder_forward_kernel1(floatX* out, const int* inp, const floatX* wte, const floatX* wpe, int B, int T, int C) {
    const size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (size_t)B * T * C) return;
    const size_t bt = idx / C;
    const int c = idx % C, t = bt % T;
    out[idx] = from_float<floatX>(to_float(wte[(size_t)inp[bt] * C + c]) + to_float(wpe[(size_t)t * C + c]));
}

int main() {
    require_device();
    const int B = EMU_OR(2, 8), T = EMU_OR(128, 1024), C = 768, V = 50257, N = B * T;
    std::vector<float> wte = round_floatX(rand_vec((size_t)V * C, 1)), wpe = round_floatX(rand_vec((size_t)T * C, 2));
    std::vector<float> dout = round_floatX(rand_vec((size_t)N * C, 3));
    std::vector<int> inp(N);
    Mt19937 rng(4);
    for (int& x : inp) x = (int)(rng.next_u32() % 1000);  // a small vocabulary slice: many repeats per token
    std::vector<float> out((size_t)N * C), dwte((size_t)V * C, 0.0f), dwpe((size_t)T * C, 0.0f);
    for (int i = 0; i < N; i++) {
        for (int c = 0; c < C; c++) {
            out[(size_t)i * C + c] = to_float((floatX)(wte[(size_t)inp[i] * C + c] + wpe[(size_t)(i % T) * C + c]));
            dwte[(size_t)inp[i] * C + c] += dout[(size_t)i * C + c];
            dwpe[(size_t)(i % T) * C + c] += dout[(size_t)i * C + c];
        }
    }
    floatX *d_wte = to_device<floatX>(wte), *d_wpe = to_device<floatX>(wpe), *d_dout = to_device<floatX>(dout);
    floatX* d_out = device_zeros<floatX>((size_t)N * C);
    float *d_dwte = device_zeros<float>((size_t)V * C), *d_dwpe = device_zeros<float>((size_t)T * C);
    int* d_inp;
    cudaCheck(cudaMalloc(&d_inp, N * sizeof(int)));
    cudaCheck(cudaMemcpy(d_inp, inp.data(), N * sizeof(int), cudaMemcpyHostToDevice));
    int *d_tok = device_zeros<int>(N + 1), *d_off = device_zeros<int>(N + 1), *d_pos = device_zeros<int>(N);

    const int blocks[] = {64, 128, 256, 512, 1024};
    char name[96];
    auto run_forward = [&](int v, int block) {
        if (v == 1) launch_kernel(encoder_forward_kernel1, ceil_div((size_t)N * C, block), block, 0, 0, d_out, d_inp, d_wte, d_wpe, B, T, C);
        else launch_kernel(encoder_forward_kernel, ceil_div((size_t)N * C / x128::size, block), block, 0, 0, d_out, d_inp, d_wte, d_wpe, B, T, C);
        cudaCheck(cudaGetLastError());
    };
    for (int v = 1; v <= 2; v++) {
        for (int block : blocks) {
            run_forward(v, block);
            snprintf(name, sizeof name, "encoder_forward v%d block %d", v, block);
            validate(name, d_out, out, 0.0f, 0.0f);  // one add, one rounding: exact
        }
    }
    EncoderBuckets eb;
    std::vector<int> counts(V, 0);
    encoder_buckets_build(&eb, counts, inp.data(), N);
    encoder_buckets_upload(eb, d_tok, d_off, d_pos, 0);
    encoder_backward(d_dwte, d_dwpe, d_dout, eb.num_unique, d_tok, d_off, d_pos, B, T, C, 0);
    validate("encoder_backward v1 dwte", d_dwte, dwte, 1e-4f, 1e-4f);
    validate("encoder_backward v1 dwpe", d_dwpe, dwpe, 1e-5f, 1e-5f);

    if (benchmarks_skipped()) return dev_exit_code();
    printf("benchmark (B=%d T=%d C=%d, %s):\n", B, T, C, PRECISION_NAME);
    for (int v = 1; v <= 2; v++) {
        for (int block : blocks) {
            float ms = benchmark_ms(20, [&] { run_forward(v, block); });
            snprintf(name, sizeof name, "encoder_forward v%d", v);
            report(name, block, ms, 3.0 * N * C * sizeof(floatX));
        }
    }
    float ms = benchmark_ms(20, [&] { encoder_backward(d_dwte, d_dwpe, d_dout, eb.num_unique, d_tok, d_off, d_pos, B, T, C, 0); });
    report("encoder_backward v1", 256, ms, 2.0 * N * C * sizeof(floatX) + 2.0 * (eb.num_unique + T) * C * 4);
    return dev_exit_code();
}
