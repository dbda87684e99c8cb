// The driver's communication layer: which process this is and how the processes of one job
// talk. Three kinds, chosen at startup, the same calls for each:
//   none   one process (the default, and any build without MPI): every call below is a no-op
//   MPI    `mpirun -np N ./train_gpt2 ...`: Open MPI (or any MPI) launches the processes and carries
//          the host collectives (gradients on the CPU, losses, norms, flags, barriers)
//   NCCL   the CUDA trainer under mpirun: device gradients go through NCCL (the backend installs
//          comm.device_allreduce); MPI still launches, shares the NCCL id and carries host values
// Built with MPI when the Makefile finds mpicxx (-DUSE_MPI); a process started by mpirun but built
// without it stops with one line rather than running as N independent single-process jobs.
//
// Errors: with N > 1 a process that exits non-zero (die(), a failed check) takes the whole job
// down through MPI_Abort, so no rank ever waits forever in a collective for a dead peer.
#pragma once
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#ifdef USE_MPI
#include <mpi.h>
#endif

#include "../utils.h"

struct Comm {
    int rank = 0, size = 1;    // this process and the job's process count
    int local_size = 1;        // processes on this machine (memory checks)
    int local_rank = 0;        // this process among them (the CUDA trainer's GPU)
    bool mpi = false;          // MPI initialized (size may still be 1)
    const char* kind = "none";
    // set by a backend whose gradients live on a device (the CUDA trainer: NCCL); in-place sum
    void (*device_allreduce)(float* dev, size_t n) = nullptr;
    void (*device_reduce_scatter)(float* dev, size_t n) = nullptr;                 // ZeRO-1, optimizer_shard
    void (*device_allgather)(void* dev, size_t n, size_t elem_bytes) = nullptr;    // ZeRO-1, optimizer_shard
};
inline Comm g_comm;

// The launcher's environment: Open MPI, MPICH/Hydra and PMIx all set one of these in each process.
inline int comm_launcher_size() {
    for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"}) {
        const char* s = getenv(v);
        if (s && atoi(s) > 0) return atoi(s);
    }
    return 0;
}

#ifdef USE_MPI
// on_exit handler: a normal exit finalizes MPI; an error exit (status != 0) aborts the job
inline void comm_on_exit(int status, void*) {
    int fin = 0;
    MPI_Finalized(&fin);
    if (fin) return;
    if (status != 0 && g_comm.size > 1) {
        fflush(stdout);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, status);
    }
    MPI_Finalize();
}
#endif

// Call first in main. Without a launcher (or without MPI in the build) this is a single process.
inline void comm_init(int* argc, char*** argv) {
    const int launched = comm_launcher_size();
#ifdef USE_MPI
    if (launched <= 0) return;
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_comm.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_comm.size);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local);
    MPI_Comm_size(local, &g_comm.local_size);
    MPI_Comm_rank(local, &g_comm.local_rank);
    MPI_Comm_free(&local);
    g_comm.mpi = true;
    g_comm.kind = "MPI";
    // exit handlers run in reverse order of registration; utils.h's temp-file cleanup registers on
    // the first file write, later than this, so it runs first and this then aborts or finalizes
    on_exit(comm_on_exit, nullptr);
    // only rank 0 talks on stdout (step lines, samples); errors keep stderr on every rank
    if (g_comm.rank != 0 && !freopen("/dev/null", "w", stdout)) die("rank %d: cannot silence stdout", g_comm.rank);
#else
    (void)argc;
    (void)argv;
    if (launched > 1) {
        die("started as one of %d processes (mpirun), but this binary was built without MPI: install Open MPI "
            "(libopenmpi-dev) and rebuild, or run a single process", launched);
    }
#endif
}

inline bool comm_root() { return g_comm.rank == 0; }

// ZeRO-1: process r of P owns elements [lo, lo + n) of the flat parameter arena for AdamW:
// contiguous, in rank order, ceil(N / P) each and the last the rest, so that NCCL's equal-count
// reduce-scatter and all-gather can carry them (over an arena padded to P * ceil(N / P)).
// P = 1: everything. The CPU and CUDA trainers shard alike, so their state files interchange.
struct Shard {
    size_t lo, n;
};
// ceil(n / P): every process's shard size (the last may hold fewer real elements; device arenas
// are padded to P times this, so the collectives' equal-count forms apply)
inline size_t optimizer_shard_size(size_t num_parameters, int processes) {
    return (num_parameters + (size_t)processes - 1) / (size_t)processes;
}
inline Shard optimizer_shard(size_t num_parameters, int processes, int rank) {
    const size_t each = optimizer_shard_size(num_parameters, processes);
    const size_t lo = std::min(num_parameters, (size_t)rank * each);
    return Shard{lo, std::min(each, num_parameters - lo)};
}

// In-place sums over all processes. MPI counts are int: large buffers go in pieces.
inline void comm_allreduce_sum(float* x, size_t n) {
#ifdef USE_MPI
    if (g_comm.size <= 1) return;
    for (size_t off = 0; off < n;) {
        const int c = (int)std::min<size_t>(n - off, (size_t)1 << 30);
        MPI_Allreduce(MPI_IN_PLACE, x + off, c, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        off += (size_t)c;
    }
#else
    (void)x;
    (void)n;
#endif
}
inline void comm_allreduce_sum(double* x, int n) {
#ifdef USE_MPI
    if (g_comm.size > 1) MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
#else
    (void)x;
    (void)n;
#endif
}
inline int comm_allreduce_max(int x) {
#ifdef USE_MPI
    if (g_comm.size > 1) MPI_Allreduce(MPI_IN_PLACE, &x, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
#endif
    return x;
}

// The gradients of one step, summed over processes in place: the device path when the backend
// installed one (NCCL), else MPI on host memory.
inline void comm_allreduce_grads(float* grads, size_t n, bool on_device) {
    if (g_comm.size <= 1) return;
    if (on_device) {
        if (!g_comm.device_allreduce) die("internal: device gradients but no device all-reduce installed");
        g_comm.device_allreduce(grads, n);
    } else {
        comm_allreduce_sum(grads, n);
    }
}

#ifdef USE_MPI
// every rank's shard of an n-element array: counts and displacements in elements (int, as MPI wants)
inline void comm_shard_counts(size_t n, std::vector<int>* counts, std::vector<int>* displs) {
    counts->resize(g_comm.size);
    displs->resize(g_comm.size);
    for (int r = 0; r < g_comm.size; r++) {
        const Shard s = optimizer_shard(n, g_comm.size, r);
        if (s.lo + s.n > (size_t)INT32_MAX) die("ZeRO-1: %zu parameters over %d processes exceed MPI's int counts", n, g_comm.size);
        (*counts)[r] = (int)s.n;
        (*displs)[r] = (int)s.lo;
    }
}
#endif

// ZeRO-1 gradients: each rank's own shard of x (n floats) becomes the sum over ranks; the rest of
// x is left as it was (not reduced). Device arrays go through the backend's hook (NCCL).
inline void comm_reduce_scatter_grads(float* x, size_t n, bool on_device) {
    if (g_comm.size <= 1) return;
    if (on_device) {
        if (!g_comm.device_reduce_scatter) die("internal: device gradients but no device reduce-scatter installed");
        g_comm.device_reduce_scatter(x, n);
        return;
    }
#ifdef USE_MPI
    // one in-place MPI_Reduce per owner and piece rather than MPI_Reduce_scatter, whose Open MPI
    // algorithms allocate (and page in) a temporary as large as the whole gradient every step:
    // that would cost more memory than sharding m and v saves
    constexpr size_t PIECE = (size_t)1 << 22;
    for (int r = 0; r < g_comm.size; r++) {
        const Shard s = optimizer_shard(n, g_comm.size, r);
        for (size_t off = 0; off < s.n; off += PIECE) {
            const int c = (int)std::min(PIECE, s.n - off);
            float* p = x + s.lo + off;
            MPI_Reduce(r == g_comm.rank ? MPI_IN_PLACE : p, p, c, MPI_FLOAT, MPI_SUM, r, MPI_COMM_WORLD);
        }
    }
#else
    (void)x;
    (void)n;
#endif
}

// ZeRO-1 weights: every rank's shard of data (n elements of elem_bytes) to every rank, in place.
inline void comm_allgather_shards(void* data, size_t n, size_t elem_bytes, bool on_device) {
    if (g_comm.size <= 1) return;
    if (on_device) {
        if (!g_comm.device_allgather) die("internal: device weights but no device all-gather installed");
        g_comm.device_allgather(data, n, elem_bytes);
        return;
    }
#ifdef USE_MPI
    static std::vector<int> counts, displs;
    comm_shard_counts(n, &counts, &displs);
    MPI_Datatype elem;
    MPI_Type_contiguous((int)elem_bytes, MPI_BYTE, &elem);
    MPI_Type_commit(&elem);
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data, counts.data(), displs.data(), elem, MPI_COMM_WORLD);
    MPI_Type_free(&elem);
#else
    (void)data;
    (void)n;
    (void)elem_bytes;
#endif
}

// rank 0's bytes to every process
inline void comm_broadcast(void* data, size_t bytes) {
#ifdef USE_MPI
    if (g_comm.size > 1) MPI_Bcast(data, (int)bytes, MPI_BYTE, 0, MPI_COMM_WORLD);
#else
    (void)data;
    (void)bytes;
#endif
}

// One value from each rank, in rank order, on every rank.
inline std::vector<double> comm_allgather(double x) {
    std::vector<double> all((size_t)g_comm.size, x);
#ifdef USE_MPI
    if (g_comm.size > 1) MPI_Allgather(&x, 1, MPI_DOUBLE, all.data(), 1, MPI_DOUBLE, MPI_COMM_WORLD);
#endif
    return all;
}

inline void comm_barrier() {
#ifdef USE_MPI
    if (g_comm.size > 1) MPI_Barrier(MPI_COMM_WORLD);
#endif
}

// Every process must hold the same value (a setting derived from files each one read): else stop.
inline void comm_check_same(int64_t v, const char* what) {
#ifdef USE_MPI
    if (g_comm.size <= 1) return;
    int64_t lo = v, hi = v;
    MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_INT64_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD);
    if (lo != hi) die("rank %d: %s differs between processes (%lld here, %lld..%lld in the job)", g_comm.rank, what, (long long)v, (long long)lo, (long long)hi);
#else
    (void)v;
    (void)what;
#endif
}

// A clean end: finalize (the on_exit handler would too; explicit reads better at the call site).
inline void comm_finalize() {
#ifdef USE_MPI
    int fin = 0;
    MPI_Finalized(&fin);
    if (g_comm.mpi && !fin) MPI_Finalize();
#endif
}
