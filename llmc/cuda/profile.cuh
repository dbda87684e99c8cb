// -prof N: the CUDA trainer times every kernel and matmul of training step N with CUDA events and
// prints one row per name (calls, ms summed over the step, share of the step). The trainer puts
// a mark before each piece of work (prof_mark(p, "matmul_qkv_fwd")); the time between a mark's
// event and the next one is that name's. A mark named nullptr starts an untimed stretch (a host
// sync, a copy to the host). dev/cuda/roofline.py knows the same names and, given this output
// (--measured), prints measured against predicted per kernel; dev/test/t_roofline.sh checks that
// the two name sets agree. Off (N = 0), a mark is one branch on a null check.
// Events time the device's timeline: a stretch in which the device waited for the host to queue
// work counts too, which a GPU far ahead of the host (the usual case here) does not show.
// Under the CUDA emulator the times are host times and mean nothing; the rows still print.
#pragma once
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common.cuh"

struct KernelProfiler {
    int step = 0;               // the step to time (1-based, as the step lines print); 0: never
    int steps_begun = 0;
    bool active = false;
    cudaStream_t stream = nullptr;
    std::vector<cudaEvent_t> events;  // created on first use and kept
    std::vector<const char*> names;   // names[i]: the work between events i and i + 1 (nullptr: untimed)
    size_t used = 0;
};

inline void prof_mark(KernelProfiler* p, const char* name) {
    if (!p->active) return;
    if (p->used == p->events.size()) {
        cudaEvent_t e;
        cudaCheck(cudaEventCreate(&e));
        p->events.push_back(e);
        p->names.push_back(nullptr);
    }
    p->names[p->used] = name;
    cudaCheck(cudaEventRecord(p->events[p->used], p->stream));
    p->used++;
}

// At the start of every training step (the trainer's gpt2_zero_grad): starts recording on step N.
inline void prof_step_begin(KernelProfiler* p, cudaStream_t stream) {
    p->steps_begun++;
    p->active = p->step > 0 && p->steps_begun == p->step;
    p->stream = stream;
    p->used = 0;
    if (p->active && p->events.empty()) {  // a step of d12 makes ~240 marks; more are made as needed
        p->events.resize(256);
        p->names.assign(256, nullptr);
        for (cudaEvent_t& e : p->events) cudaCheck(cudaEventCreate(&e));
    }
}

// After the step: waits for it, prints the table, stops recording. Returns whether it printed.
inline bool prof_step_end(KernelProfiler* p) {
    if (!p->active) return false;
    prof_mark(p, nullptr);  // closes the last stretch
    p->active = false;
    cudaCheck(cudaEventSynchronize(p->events[p->used - 1]));
    struct Row {
        const char* name;
        int calls;
        double ms;
    };
    std::vector<Row> rows;
    double timed = 0.0, untimed = 0.0;
    for (size_t i = 0; i + 1 < p->used; i++) {
        float ms = 0.0f;
        cudaCheck(cudaEventElapsedTime(&ms, p->events[i], p->events[i + 1]));
        if (!p->names[i]) {
            untimed += ms;
            continue;
        }
        timed += ms;
        Row* r = nullptr;
        for (Row& x : rows) {
            if (!strcmp(x.name, p->names[i])) r = &x;
        }
        if (!r) {
            rows.push_back(Row{p->names[i], 0, 0.0});
            r = &rows.back();
        }
        r->calls++;
        r->ms += ms;
    }
    printf("prof: step %d, CUDA events between its kernels and matmuls: %.3f ms timed, %.3f ms untimed (host syncs and copies)%s\n",
           p->step, timed, untimed,
#if defined(CUDA_EMU)
           " [CUDA emulator: host times, meaningless]"
#else
           ""
#endif
    );
    printf("prof: %-26s %6s %11s %7s\n", "kernel", "calls", "ms", "%timed");
    for (const Row& r : rows) printf("prof  %-26s %6d %11.4f %7.2f\n", r.name, r.calls, r.ms, timed > 0 ? 100.0 * r.ms / timed : 0.0);
    fflush(stdout);
    return true;
}

inline void prof_free(KernelProfiler* p) {
    for (cudaEvent_t e : p->events) cudaCheck(cudaEventDestroy(e));
    p->events.clear();
    p->names.clear();
    p->used = 0;
    p->active = false;
}

// Device allocations (cudaMalloc calls) so far: counted by the CUDA emulator; -1 on a GPU, where
// cuBLAS's own allocations cannot be seen (the trainer compares cudaMemGetInfo there).
inline long long device_malloc_calls() {
#if defined(CUDA_EMU)
    return cuda_emu::api_counts().malloc_calls;
#else
    return -1;
#endif
}
