// 16-bit floats <-> fp32, for checkpoints (llm.c version 5 is bf16) and safetensors (F16, BF16).
// bf16 is the upper half of an fp32. fp16 is IEEE binary16 (1 sign, 5 exponent, 10 mantissa bits).
// Both round to nearest even on the way down, keep NaN a (quiet) NaN, and widen exactly.
#pragma once
#include <cstdint>
#include <cstring>

inline uint16_t float_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);  // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}
inline float bf16_to_float(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

inline float fp16_to_float(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    uint32_t u;
    if (exp == 0x1f) {
        u = sign | 0x7f800000u | (man << 13);  // inf, NaN (payload kept)
    } else if (exp != 0) {
        u = sign | ((exp + 112) << 23) | (man << 13);  // rebias 15 -> 127
    } else if (man == 0) {
        u = sign;  // +-0
    } else {
        // subnormal: man * 2^-24; normalize into fp32's range
        int e = -1;
        uint32_t m = man;
        do { m <<= 1; e++; } while (!(m & 0x400u));
        u = sign | ((uint32_t)(112 - e) << 23) | ((m & 0x3ffu) << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

inline uint16_t float_to_fp16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    const uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    const uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu));  // NaN stays NaN
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);  // rounds past 65504: inf
    if (a >= 0x38800000u) {  // normal in fp16 (>= 2^-14)
        const uint32_t r = a + 0xfffu + ((a >> 13) & 1u);  // round the 13 dropped bits to nearest even
        return (uint16_t)(sign | ((r - 0x38000000u) >> 13));  // rebias 127 -> 15
    }
    if (a < 0x33000000u) return sign;  // below half the smallest subnormal (2^-25): +-0
    // subnormal: the value in units of 2^-24, rounded to nearest even
    const uint32_t e = a >> 23, m = (a & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - e;  // 14..24 for e = 102..112
    const uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    return (uint16_t)(sign | (q + (rem > half || (rem == half && (q & 1u)))));
}
