// CUDA emulation (make cuda-emu): __nv_bfloat16 as the device stores it, 16 bits, with the
// device's conversions: float -> bf16 rounds to nearest even (NaN -> the canonical 0x7fff, as
// cvt.rn.bf16.f32), bf16 -> float is exact. Only what the project uses, plus the bit casts.
#pragma once
#include <cstdint>
#include <cstring>

namespace cuda_emu {
inline uint16_t float_to_bf16_rn(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return 0x7fffu;  // NaN
    x += 0x7fffu + ((x >> 16) & 1u);                      // ties to even
    return (uint16_t)(x >> 16);
}
inline float bf16_to_float(uint16_t b) {
    uint32_t x = (uint32_t)b << 16;
    float f;
    memcpy(&f, &x, 4);
    return f;
}
}  // namespace cuda_emu

struct __nv_bfloat16 {
    uint16_t bits;
    __nv_bfloat16() = default;
    __nv_bfloat16(float f) : bits(cuda_emu::float_to_bf16_rn(f)) {}
    operator float() const { return cuda_emu::bf16_to_float(bits); }
};
static_assert(sizeof(__nv_bfloat16) == 2, "bf16 is 2 bytes");

inline float __bfloat162float(__nv_bfloat16 x) { return cuda_emu::bf16_to_float(x.bits); }
inline __nv_bfloat16 __float2bfloat16_rn(float f) {
    __nv_bfloat16 r;
    r.bits = cuda_emu::float_to_bf16_rn(f);
    return r;
}
inline __nv_bfloat16 __float2bfloat16(float f) { return __float2bfloat16_rn(f); }
inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short u) {
    __nv_bfloat16 r;
    r.bits = u;
    return r;
}
inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 x) { return x.bits; }
