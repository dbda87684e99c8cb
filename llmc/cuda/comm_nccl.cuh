// The comm layer's device half for the CUDA trainer (llmc/train/comm.h): under mpirun with more
// than one process, gradients are summed by NCCL on the device, on the model's stream. The NCCL
// unique id is made by rank 0 and shared over MPI (so multi-node jobs need no other rendezvous).
// Each process drives the GPU of its local rank. Built only with MPI (-DUSE_MPI); in the CUDA
// emulation nccl.h is llmc/cuda/emu/nccl.h (the same calls carried by MPI on host memory).
#pragma once
#include "../train/comm.h"
#include "common.cuh"

#ifdef USE_MPI
#include <nccl.h>

inline void nccl_check_(ncclResult_t r, const char* file, int line) {
    if (r != ncclSuccess) die("NCCL error %d: %s [%s:%d]", (int)r, ncclGetErrorString(r), file, line);
}
#define ncclCheck(x) nccl_check_((x), __FILE__, __LINE__)

struct NcclState {
    ncclComm_t comm = nullptr;
    cudaStream_t stream = nullptr;  // the model's stream (set by gpt2_build)
};
inline NcclState g_nccl;

inline void nccl_allreduce_sum(float* x, size_t n) {
    ncclCheck(ncclAllReduce(x, x, n, ncclFloat, ncclSum, g_nccl.comm, g_nccl.stream));
}

// ZeRO-1 (llmc/train/comm.h optimizer_shard): P shards of ceil(n / P) elements; x holds P times
// that (the trainer pads its arenas), so NCCL's in-place equal-count forms apply.
inline void nccl_reduce_scatter_sum(float* x, size_t n) {
    const size_t each = optimizer_shard_size(n, g_comm.size);
    ncclCheck(ncclReduceScatter(x, x + (size_t)g_comm.rank * each, each, ncclFloat, ncclSum, g_nccl.comm, g_nccl.stream));
}
inline void nccl_allgather(void* data, size_t n, size_t elem_bytes) {
    const size_t each = optimizer_shard_size(n, g_comm.size) * elem_bytes;  // in bytes
    char* base = (char*)data;
    ncclCheck(ncclAllGather(base + (size_t)g_comm.rank * each, base, each, ncclUint8, g_nccl.comm, g_nccl.stream));
}

// After comm_init and cudaSetDevice: one communicator over all processes.
inline void nccl_init() {
    if (g_comm.size <= 1) return;
    ncclUniqueId id;
    if (comm_root()) ncclCheck(ncclGetUniqueId(&id));
    comm_broadcast(&id, sizeof id);
    ncclCheck(ncclCommInitRank(&g_nccl.comm, g_comm.size, id, g_comm.rank));
    g_comm.device_allreduce = nccl_allreduce_sum;
    g_comm.device_reduce_scatter = nccl_reduce_scatter_sum;
    g_comm.device_allgather = nccl_allgather;
    g_comm.kind = "MPI + NCCL";
}
inline void nccl_set_stream(cudaStream_t s) { g_nccl.stream = s; }
#else
inline void nccl_init() {
    // a CUDA trainer built without MPI under mpirun has already stopped in comm_init
}
inline void nccl_set_stream(cudaStream_t) {}
#endif
