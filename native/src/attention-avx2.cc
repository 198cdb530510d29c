// The attention tile for AVX2 + FMA: 8 queries per vector, 2 vectors per block (16 queries), so
// a 6-key score tile uses 12 of the 16 ymm registers as accumulators.
#include <immintrin.h>

#include "attention-tile.h"

namespace latentkit {
namespace {

struct VectorAvx2 {
  using Reg = __m256;
  static constexpr bool kBlockTranspose = false;
  static constexpr int kWidth = 8;
  static inline Reg zero() { return _mm256_setzero_ps(); }
  static inline Reg load(const float* from) { return _mm256_loadu_ps(from); }
  static inline void store(float* to, Reg value) { _mm256_storeu_ps(to, value); }
  static inline Reg broadcast(float value) { return _mm256_set1_ps(value); }
  static inline Reg fmadd(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  static inline Reg mul(Reg a, Reg b) { return _mm256_mul_ps(a, b); }
  static inline Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
  static inline Reg sub(Reg a, Reg b) { return _mm256_sub_ps(a, b); }
  static inline Reg max(Reg a, Reg b) { return _mm256_max_ps(a, b); }
  static inline Reg negativeInfinityToZero(Reg x) {
    const Reg isNegativeInfinity = _mm256_cmp_ps(x, _mm256_set1_ps(-__builtin_inff()), _CMP_EQ_OQ);
    return _mm256_andnot_ps(isNegativeInfinity, x);
  }
  // 2^x = 2^n · 2^f: the polynomial for 2^f, 2^n built in the exponent bits.
  // Below 2^-126 the result is flushed to 0 (so e^{−∞} = 0 exactly); NaN stays NaN.
  static inline Reg exp2(Reg x) {
    const Reg keep = _mm256_cmp_ps(x, _mm256_set1_ps(-126.0f), _CMP_NLT_UQ);
    x = _mm256_min_ps(_mm256_set1_ps(127.0f), _mm256_max_ps(_mm256_set1_ps(-127.0f), x));
    const Reg n = _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const Reg f = _mm256_sub_ps(x, n);
    Reg p = _mm256_set1_ps(kExp2P0);
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kExp2P1));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kExp2P2));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kExp2P3));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kExp2P4));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kExp2P5));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f));
    const __m256i exponent =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(exponent)), keep);
  }
};

using TileAvx2 = FlashAttentionTile<VectorAvx2, 2, 128>;

}  // namespace

const AttentionKernel& attentionKernelAvx2() {
  static const AttentionKernel kernel{"avx2", TileAvx2::kQueryBlock, &TileAvx2::scratchFloats, &TileAvx2::runBlock};
  return kernel;
}

}  // namespace latentkit
