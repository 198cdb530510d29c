// The attention tile in portable C++: a "vector" of 8 floats in plain arrays, which compilers
// turn into whatever SIMD the baseline target has (SSE2 on x86-64, NEON on arm64).
#include <cmath>
#include <cstring>

#include "attention-tile.h"

namespace latentkit {
namespace {

struct VectorPortable {
  static constexpr int kWidth = 8;
  struct Reg {
    float lane[kWidth];
  };
  static inline Reg zero() { return Reg{}; }
  static inline Reg load(const float* from) {
    Reg r;
    std::memcpy(r.lane, from, sizeof r.lane);
    return r;
  }
  static inline void store(float* to, const Reg& value) { std::memcpy(to, value.lane, sizeof value.lane); }
  static inline Reg broadcast(float value) {
    Reg r;
    for (float& lane : r.lane) lane = value;
    return r;
  }
  static inline Reg fmadd(const Reg& a, const Reg& b, const Reg& c) {
    Reg r;
    for (int i = 0; i < kWidth; ++i) r.lane[i] = a.lane[i] * b.lane[i] + c.lane[i];
    return r;
  }
  static inline Reg mul(const Reg& a, const Reg& b) {
    Reg r;
    for (int i = 0; i < kWidth; ++i) r.lane[i] = a.lane[i] * b.lane[i];
    return r;
  }
  static inline Reg add(const Reg& a, const Reg& b) {
    Reg r;
    for (int i = 0; i < kWidth; ++i) r.lane[i] = a.lane[i] + b.lane[i];
    return r;
  }
  static inline Reg sub(const Reg& a, const Reg& b) {
    Reg r;
    for (int i = 0; i < kWidth; ++i) r.lane[i] = a.lane[i] - b.lane[i];
    return r;
  }
  static inline Reg max(const Reg& a, const Reg& b) {
    Reg r;
    for (int i = 0; i < kWidth; ++i) r.lane[i] = a.lane[i] > b.lane[i] ? a.lane[i] : b.lane[i];
    return r;
  }
  static inline Reg negativeInfinityToZero(const Reg& x) {
    Reg r;
    for (int i = 0; i < kWidth; ++i) r.lane[i] = x.lane[i] == -__builtin_inff() ? 0.0f : x.lane[i];
    return r;
  }
  // The same range reduction and polynomial as the SIMD variants, one lane at a time.
  static inline float exp2Scalar(float x) {
    if (std::isnan(x)) return x;
    if (x < -126.0f) return 0.0f;
    if (x > 127.0f) x = 127.0f;
    const float n = std::nearbyint(x);
    const float f = x - n;
    float p = kExp2P0;
    p = p * f + kExp2P1;
    p = p * f + kExp2P2;
    p = p * f + kExp2P3;
    p = p * f + kExp2P4;
    p = p * f + kExp2P5;
    p = p * f + 1.0f;
    const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
  }
  static inline Reg exp2(const Reg& x) {
    Reg r;
    for (int i = 0; i < kWidth; ++i) r.lane[i] = exp2Scalar(x.lane[i]);
    return r;
  }
};

using TilePortable = FlashAttentionTile<VectorPortable, 1, 128>;

}  // namespace

const AttentionKernel& attentionKernelPortable() {
  static const AttentionKernel kernel{"scalar", TilePortable::BQ, &TilePortable::scratchFloats,
                                      &TilePortable::runBlock};
  return kernel;
}

}  // namespace latentkit
