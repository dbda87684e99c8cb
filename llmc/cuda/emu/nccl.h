// CUDA emulation (make cuda-emu): the NCCL collectives the CUDA trainer calls, carried by MPI.
// Device memory is host memory and streams run in order on the calling thread, so each call is
// one MPI collective on MPI_COMM_WORLD, done when it returns. Types, enum values and argument
// conventions are NCCL's (nccl.h), in-place forms included:
//   ncclAllReduce      sum (max, min) of float32; recv may equal send
//   ncclReduceScatter  sum of float32; in place when recv == send + rank * recvcount
//   ncclAllGather      any type; in place when send == recv + rank * sendcount
// The unique id is 128 random bytes from rank 0; ncclCommInitRank checks that every rank was
// handed the same id (the caller's broadcast) and the rank count, as a real init would hang or fail.
// Anything else (other types or ops, several communicators) returns ncclInvalidArgument.
#pragma once
#include <mpi.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "cuda_runtime.h"

#define NCCL_UNIQUE_ID_BYTES 128
typedef struct { char internal[NCCL_UNIQUE_ID_BYTES]; } ncclUniqueId;
typedef enum {
    ncclSuccess = 0,
    ncclUnhandledCudaError = 1,
    ncclSystemError = 2,
    ncclInternalError = 3,
    ncclInvalidArgument = 4,
    ncclInvalidUsage = 5,
    ncclRemoteError = 6,
    ncclInProgress = 7,
} ncclResult_t;
typedef enum {
    ncclInt8 = 0, ncclChar = 0, ncclUint8 = 1, ncclInt32 = 2, ncclInt = 2, ncclUint32 = 3, ncclInt64 = 4,
    ncclUint64 = 5, ncclFloat16 = 6, ncclHalf = 6, ncclFloat32 = 7, ncclFloat = 7, ncclFloat64 = 8,
    ncclDouble = 8, ncclBfloat16 = 9,
} ncclDataType_t;
typedef enum { ncclSum = 0, ncclProd = 1, ncclMax = 2, ncclMin = 3, ncclAvg = 4 } ncclRedOp_t;
struct ncclComm {
    int rank, nranks;
};
typedef ncclComm* ncclComm_t;

namespace nccl_emu {
inline size_t type_bytes(ncclDataType_t t) {
    switch (t) {
        case ncclInt8: case ncclUint8: return 1;
        case ncclFloat16: case ncclBfloat16: return 2;
        case ncclInt32: case ncclUint32: case ncclFloat32: return 4;
        default: return 8;
    }
}
// counts beyond int go in pieces of this many elements
constexpr size_t PIECE = (size_t)1 << 30;
}  // namespace nccl_emu

inline const char* ncclGetErrorString(ncclResult_t r) {
    switch (r) {
        case ncclSuccess: return "no error";
        case ncclInvalidArgument: return "invalid argument";
        case ncclInvalidUsage: return "invalid usage";
        case ncclSystemError: return "unhandled system error";
        default: return "internal error";
    }
}

inline ncclResult_t ncclGetUniqueId(ncclUniqueId* id) {
    if (!id) return ncclInvalidArgument;
    std::random_device rd;
    for (int i = 0; i < NCCL_UNIQUE_ID_BYTES; i++) id->internal[i] = (char)(rd() & 0xFF);
    return ncclSuccess;
}

inline ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank) {
    int inited = 0, size = 0, me = 0;
    MPI_Initialized(&inited);
    if (!comm || !inited) return ncclInvalidUsage;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    if (nranks != size || rank != me) return ncclInvalidArgument;
    ncclUniqueId root = id;
    MPI_Bcast(&root, (int)sizeof root, MPI_BYTE, 0, MPI_COMM_WORLD);
    int same = memcmp(&root, &id, sizeof id) == 0, all = 0;
    MPI_Allreduce(&same, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    if (!all) return ncclInvalidUsage;  // a real init would never complete
    *comm = new ncclComm{rank, nranks};
    return ncclSuccess;
}

inline ncclResult_t ncclCommDestroy(ncclComm_t comm) {
    delete comm;
    return ncclSuccess;
}

inline ncclResult_t ncclAllReduce(const void* send, void* recv, size_t count, ncclDataType_t type, ncclRedOp_t op,
                                  ncclComm_t comm, cudaStream_t stream) {
    (void)stream;
    if (!comm || type != ncclFloat32 || (op != ncclSum && op != ncclMax && op != ncclMin)) return ncclInvalidArgument;
    MPI_Op mop = op == ncclSum ? MPI_SUM : op == ncclMax ? MPI_MAX : MPI_MIN;
    for (size_t off = 0; off < count; off += nccl_emu::PIECE) {
        const int c = (int)std::min(count - off, nccl_emu::PIECE);
        float* r = (float*)recv + off;
        const float* s = (const float*)send + off;
        MPI_Allreduce(s == r ? MPI_IN_PLACE : s, r, c, MPI_FLOAT, mop, MPI_COMM_WORLD);
    }
    return ncclSuccess;
}

inline ncclResult_t ncclReduceScatter(const void* send, void* recv, size_t recvcount, ncclDataType_t type, ncclRedOp_t op,
                                      ncclComm_t comm, cudaStream_t stream) {
    (void)stream;
    if (!comm || type != ncclFloat32 || op != ncclSum || recvcount > nccl_emu::PIECE) return ncclInvalidArgument;
    std::vector<float> mine(recvcount);  // MPI forbids overlapping send and receive buffers
    MPI_Reduce_scatter_block(send, mine.data(), (int)recvcount, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    memcpy(recv, mine.data(), recvcount * sizeof(float));
    return ncclSuccess;
}

inline ncclResult_t ncclAllGather(const void* send, void* recv, size_t sendcount, ncclDataType_t type, ncclComm_t comm,
                                  cudaStream_t stream) {
    (void)stream;
    if (!comm || sendcount > nccl_emu::PIECE) return ncclInvalidArgument;
    MPI_Datatype elem;
    MPI_Type_contiguous((int)nccl_emu::type_bytes(type), MPI_BYTE, &elem);
    MPI_Type_commit(&elem);
    const char* mine = (const char*)recv + (size_t)comm->rank * sendcount * nccl_emu::type_bytes(type);
    MPI_Allgather(send == mine ? MPI_IN_PLACE : send, (int)sendcount, elem, recv, (int)sendcount, elem, MPI_COMM_WORLD);
    MPI_Type_free(&elem);
    return ncclSuccess;
}
