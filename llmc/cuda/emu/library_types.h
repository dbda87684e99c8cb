// CUDA emulation (make cuda-emu): the library data types cuBLAS takes. Values as NVIDIA's
// library_types.h, so a status or type printed here reads the same as on a GPU.
#pragma once

typedef enum cudaDataType_t {
    CUDA_R_32F = 0,
    CUDA_R_64F = 1,
    CUDA_R_16F = 2,
    CUDA_R_8I = 3,
    CUDA_R_32I = 10,
    CUDA_R_16BF = 14,
} cudaDataType_t;
typedef cudaDataType_t cudaDataType;
