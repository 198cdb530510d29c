// The attention tile for AVX-512F: 16 queries per vector, 2 vectors per block (32 queries), keys
// 128 at a time, register tiles of 8 keys and 8 head dimensions (16 accumulators), and two query
// blocks per task walking the key blocks together. Long key sequences are packed into panels
// first (attention.cc). Measured on Zen 5 (GFLOP per thread CPU-second, one thread, interleaved
// with an FMA peak loop; native/README.md) against 2 × 6 × 6 (the previous shape), 4 × 4 × 4,
// 4 × 4 × 6, 3 × 8 × 8, 2 × 16 × 12 and key blocks of 64 and 256: the packed panels gave the gain
// (+15 % at d 64, +25 % at d 40); among the tile shapes the differences were within the noise of
// the shared machine, and 2 × 8 × 8 keeps d = 40 at full width.
#include <immintrin.h>

// GCC 12 reports the self-initialised `_mm512_undefined_ps()` inside its own `_mm512_max_ps`
// as uninitialised once the tile's max chains are inlined (a false positive in the header).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include "attention-tile.h"

namespace latentkit {
namespace {

// 16×16 transpose in registers: 32-bit, 64-bit and two 128-bit interleaving stages (64 shuffles
// for 256 elements, against 512 scalar loads and stores).
inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
    const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
    r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  for (int i = 0; i < 2; ++i) {
    for (int k = 0; k < 4; ++k) {
      t[8 * i + k] = _mm512_shuffle_f32x4(r[8 * i + k], r[8 * i + 4 + k], 0x88);
      t[8 * i + 4 + k] = _mm512_shuffle_f32x4(r[8 * i + k], r[8 * i + 4 + k], 0xDD);
    }
  }
  for (int k = 0; k < 8; ++k) {
    r[k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0x88);
    r[8 + k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0xDD);
  }
}

// Lanes [0, count) set; masked loads and stores never touch memory outside them.
inline __mmask16 firstLanes(int64_t count) {
  return static_cast<__mmask16>(count >= 16 ? 0xffffu : (1u << count) - 1u);
}

struct VectorAvx512 {
  using Reg = __m512;
  static constexpr bool kBlockTranspose = true;
  static constexpr int kWidth = 16;

  // queryT[c·BQ + i] = query row i, column c, times scale; zero for rows ≥ `rows`.
  template <int BQ>
  static inline void packQueries(const float* queryRows, int64_t stride, int64_t rows, int64_t headDim, float scale,
                                 float* queryT) {
    const __m512 factor = _mm512_set1_ps(scale);
    for (int group = 0; group < BQ / 16; ++group) {
      const int64_t groupRows = rows - group * 16;
      for (int64_t c0 = 0; c0 < headDim; c0 += 16) {
        const int64_t columns = headDim - c0 < 16 ? headDim - c0 : 16;
        const __mmask16 mask = firstLanes(columns);
        __m512 r[16];
        for (int i = 0; i < 16; ++i) {
          r[i] = i < groupRows ? _mm512_maskz_loadu_ps(mask, queryRows + (group * 16 + i) * stride + c0)
                               : _mm512_setzero_ps();
        }
        transpose16(r);
        for (int64_t c = 0; c < columns; ++c) {
          _mm512_storeu_ps(queryT + (c0 + c) * BQ + group * 16, _mm512_mul_ps(r[c], factor));
        }
      }
    }
  }

  // Output row i, column c = outputT[c·BQ + i] · inverse[i], for rows < `rows`.
  template <int BQ>
  static inline void storeOutputs(const float* outputT, const float* inverse, int64_t rows, int64_t headDim,
                                  float* outputRows, int64_t stride) {
    for (int group = 0; group < BQ / 16 && group * 16 < rows; ++group) {
      const int64_t groupRows = rows - group * 16 < 16 ? rows - group * 16 : 16;
      const __m512 factor = _mm512_loadu_ps(inverse + group * 16);
      for (int64_t c0 = 0; c0 < headDim; c0 += 16) {
        const int64_t columns = headDim - c0 < 16 ? headDim - c0 : 16;
        __m512 r[16];
        for (int c = 0; c < 16; ++c) {
          r[c] = c < columns ? _mm512_mul_ps(_mm512_loadu_ps(outputT + (c0 + c) * BQ + group * 16), factor)
                             : _mm512_setzero_ps();
        }
        transpose16(r);
        const __mmask16 mask = firstLanes(columns);
        for (int64_t i = 0; i < groupRows; ++i) _mm512_mask_storeu_ps(outputRows + (group * 16 + i) * stride + c0, mask, r[i]);
      }
    }
  }

  static inline Reg zero() { return _mm512_setzero_ps(); }
  static inline Reg load(const float* from) { return _mm512_loadu_ps(from); }
  static inline void store(float* to, Reg value) { _mm512_storeu_ps(to, value); }
  static inline Reg broadcast(float value) { return _mm512_set1_ps(value); }
  static inline Reg fmadd(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  static inline Reg mul(Reg a, Reg b) { return _mm512_mul_ps(a, b); }
  static inline Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
  static inline Reg sub(Reg a, Reg b) { return _mm512_sub_ps(a, b); }
  static inline Reg max(Reg a, Reg b) { return _mm512_max_ps(a, b); }
  static inline Reg negativeInfinityToZero(Reg x) {
    const __mmask16 isNegativeInfinity = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-__builtin_inff()), _CMP_EQ_OQ);
    return _mm512_mask_blend_ps(isNegativeInfinity, x, _mm512_setzero_ps());
  }
  // 2^x = 2^n · 2^f with n = round(x): the polynomial for 2^f, then scalef for 2^n.
  // Below 2^-126 the result is flushed to 0 (so e^{−∞} = 0 exactly); NaN stays NaN.
  static inline Reg exp2(Reg x) {
    const __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-126.0f), _CMP_NLT_UQ);
    x = _mm512_min_ps(_mm512_set1_ps(127.0f), _mm512_max_ps(_mm512_set1_ps(-127.0f), x));
    const Reg n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const Reg f = _mm512_sub_ps(x, n);
    Reg p = _mm512_set1_ps(kExp2P0);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kExp2P1));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kExp2P2));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kExp2P3));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kExp2P4));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kExp2P5));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    return _mm512_maskz_scalef_ps(keep, p, n);
  }
};

using TileAvx512 = FlashAttentionTile<VectorAvx512, 2, 128, 8, 8, 2>;
// Short key sequences (cross-attention's 77 text tokens), where the Q and O rows, not K and V,
// make the memory traffic: 6 × 6 tiles and one query block per task measured 3–5 % faster there
// than the tile above (GFLOP per CPU-second, 7 interleaved rounds, one and two threads).
using TileAvx512Short = FlashAttentionTile<VectorAvx512, 2, 128, 6, 6, 1>;

}  // namespace

const AttentionKernel& attentionKernelAvx512Short() {
  static const AttentionKernel kernel{"avx512", TileAvx512Short::kQueryBlock, &TileAvx512Short::scratchFloats,
                                      &TileAvx512Short::runBlock};
  return kernel;
}

const AttentionKernel& attentionKernelAvx512() {
  static const AttentionKernel kernel{"avx512",
                                      TileAvx512::kQueryBlock,
                                      &TileAvx512::scratchFloats,
                                      &TileAvx512::runBlock,
                                      TileAvx512::kKeyPanel,
                                      &TileAvx512::packKeyPanels,
                                      &TileAvx512::packValuePanels,
                                      TileAvx512::kKeyBlock,
                                      &TileAvx512::taskStateFloats,
                                      &TileAvx512::runKeyRange};
  return kernel;
}

}  // namespace latentkit
