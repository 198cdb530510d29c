// The attention tile in portable C++: GCC/Clang vector extensions of 4 floats, which every
// 64-bit target has in hardware (SSE2 on x86-64, NEON on arm64).
#include <cstring>

#include "attention-tile.h"

namespace latentkit {
namespace {

typedef float Float4 __attribute__((vector_size(16)));
typedef int32_t Int4 __attribute__((vector_size(16)));

struct VectorPortable {
  static constexpr bool kBlockTranspose = false;
  static constexpr int kWidth = 4;
  using Reg = Float4;
  static inline Reg zero() { return Reg{}; }
  static inline Reg load(const float* from) {
    Reg r;
    std::memcpy(&r, from, sizeof r);
    return r;
  }
  static inline void store(float* to, Reg value) { std::memcpy(to, &value, sizeof value); }
  static inline Reg broadcast(float value) { return Reg{} + value; }
  static inline Reg fmadd(Reg a, Reg b, Reg c) { return a * b + c; }
  static inline Reg mul(Reg a, Reg b) { return a * b; }
  static inline Reg add(Reg a, Reg b) { return a + b; }
  static inline Reg sub(Reg a, Reg b) { return a - b; }
  static inline Reg max(Reg a, Reg b) { return a > b ? a : b; }
  static inline Reg negativeInfinityToZero(Reg x) { return x == broadcast(-__builtin_inff()) ? zero() : x; }
  // The same range reduction and polynomial as the SIMD variants. Rounding to an integer uses
  // the 1.5·2^23 trick (exact round-to-nearest-even for |x| < 2^22).
  static inline Reg exp2(Reg x) {
    const Int4 keep = !(x < broadcast(-126.0f));  // also keeps NaN
    Reg clamped = x > broadcast(127.0f) ? broadcast(127.0f) : x;
    clamped = clamped < broadcast(-127.0f) ? broadcast(-127.0f) : clamped;
    const Reg magic = broadcast(12582912.0f);
    const Reg n = (clamped + magic) - magic;
    const Reg f = clamped - n;
    Reg p = broadcast(kExp2P0);
    p = p * f + kExp2P1;
    p = p * f + kExp2P2;
    p = p * f + kExp2P3;
    p = p * f + kExp2P4;
    p = p * f + kExp2P5;
    p = p * f + 1.0f;
    const Int4 exponent = (__builtin_convertvector(n, Int4) + 127) << 23;
    Reg scale;
    std::memcpy(&scale, &exponent, sizeof scale);
    const Reg result = p * scale;
    Int4 bits;
    std::memcpy(&bits, &result, sizeof bits);
    bits &= keep;
    Reg masked;
    std::memcpy(&masked, &bits, sizeof masked);
    return masked;
  }
};

using TilePortable = FlashAttentionTile<VectorPortable, 2, 128>;

}  // namespace

const AttentionKernel& attentionKernelPortable() {
  static const AttentionKernel kernel{"scalar", TilePortable::kQueryBlock, &TilePortable::scratchFloats,
                                      &TilePortable::runBlock};
  return kernel;
}

}  // namespace latentkit
