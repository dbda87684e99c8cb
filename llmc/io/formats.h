// File-format constants shared by both trainers and the data tools (docs/FORMATS.md).
// All headers are 256 little-endian int32 (1024 bytes).
#pragma once
#include <cstdint>

constexpr int HEADER_INTS = 256;
constexpr int HEADER_BYTES = HEADER_INTS * 4;

constexpr int32_t MODEL_MAGIC = 20240326;
constexpr int32_t MODEL_VERSION_FP32 = 3;
constexpr int32_t MODEL_VERSION_BF16 = 5;

constexpr int32_t SHARD_MAGIC = 20240520;
constexpr int32_t SHARD_VERSION = 1;

constexpr int32_t TOKENIZER_MAGIC = 20240328;
constexpr int32_t TOKENIZER_VERSION = 2;

constexpr int32_t STATE_MAGIC = 20240527;
constexpr int32_t STATE_VERSION = 1;

constexpr int GPT2_EOT = 50256;
constexpr int GPT2_VOCAB = 50257;
