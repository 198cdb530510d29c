// The FlashAttention tile, written once over a small vector interface `V` and compiled once per
// instruction set (attention-avx512.cc, attention-avx2.cc, attention-portable.cc).
//
// Why queries run along the vector lanes: the usual layout puts keys or head dimensions in the
// lanes, which needs horizontal reductions for the softmax and wastes lanes when d = 40 is not
// a multiple of 16. Here one vector holds the same key's score for W consecutive queries, so
//   Sᵀ[j, i..i+W)  = Σ_c K[j, c] · Qᵀ[c, i..i+W)        (broadcast K, FMA over lanes)
//   m, ℓ, exp      = lane-wise max/add/exp over j        (no shuffles at all)
//   Oᵀ[c, i..i+W) += Σ_j V[j, c] · Pᵀ[j, i..i+W)         (broadcast V, FMA over lanes)
// and every d works at full width. K and V are read in place (no packing); only Q is
// transposed once per query block. The online softmax is Algorithm 1 of FlashAttention
// (Dao et al. 2022): per block, m' = max(m, rowmax S), ℓ' = e^{m−m'}ℓ + Σ e^{S−m'},
// O' = e^{m−m'}O + e^{S−m'}V, and O/ℓ at the end. Scores are kept in base 2 (Q is pre-scaled
// by scale·log₂e) so the exponential is a single exp2.
//
// This header is included by one translation unit per instruction set; everything lives in an
// anonymous namespace so that no inline function compiled with AVX-512 can be merged by the
// linker into the portable path (which would crash older CPUs).
#pragma once
#include <cstdint>

#include "attention.h"

namespace latentkit {
namespace {

constexpr int kKeyTile = 6;    // keys per register tile of Sᵀ
constexpr int kDimTile = 6;    // head dimensions per register tile of Oᵀ
constexpr float kLog2e = 1.4426950408889634f;

template <class V, int QV, int BK>
struct FlashAttentionTile {
  using R = typename V::Reg;
  static constexpr int W = V::kWidth;
  static constexpr int BQ = W * QV;

  static int64_t scratchFloats(int64_t headDim) {
    // Qᵀ [d][BQ], Sᵀ/Pᵀ [BK][BQ], Oᵀ [d][BQ], running max, running sum, per-block rescale.
    return 2 * headDim * BQ + static_cast<int64_t>(BK) * BQ + 3 * BQ;
  }

  // Sᵀ rows j..j+N for all BQ queries: N×QV accumulators stay in registers over the d loop.
  template <int N>
  static inline void scoreTile(const float* keyRow, int64_t rowStride, const float* queryT, int64_t headDim,
                               float* scoresT) {
    R acc[N][QV];
    const float* rows[N];
    for (int r = 0; r < N; ++r) {
      rows[r] = keyRow + r * rowStride;
      for (int qv = 0; qv < QV; ++qv) acc[r][qv] = V::zero();
    }
    for (int64_t c = 0; c < headDim; ++c) {
      R q[QV];
      for (int qv = 0; qv < QV; ++qv) q[qv] = V::load(queryT + c * BQ + qv * W);
      for (int r = 0; r < N; ++r) {
        const R k = V::broadcast(rows[r][c]);
        for (int qv = 0; qv < QV; ++qv) acc[r][qv] = V::fmadd(k, q[qv], acc[r][qv]);
      }
    }
    for (int r = 0; r < N; ++r) {
      for (int qv = 0; qv < QV; ++qv) V::store(scoresT + r * BQ + qv * W, acc[r][qv]);
    }
  }

  // Oᵀ rows c..c+N: rescale by e^{m−m'} once, then accumulate Σ_j V[j, c] · Pᵀ[j] over the block.
  template <int N>
  static inline void valueTile(const float* valueColumn, int64_t rowStride, const float* probsT, int64_t keys,
                               const float* rescale, float* outputT) {
    R acc[N][QV];
    for (int qv = 0; qv < QV; ++qv) {
      const R a = V::load(rescale + qv * W);
      for (int t = 0; t < N; ++t) acc[t][qv] = V::mul(V::load(outputT + t * BQ + qv * W), a);
    }
    for (int64_t j = 0; j < keys; ++j) {
      const float* valueRow = valueColumn + j * rowStride;
      R p[QV];
      for (int qv = 0; qv < QV; ++qv) p[qv] = V::load(probsT + j * BQ + qv * W);
      for (int t = 0; t < N; ++t) {
        const R v = V::broadcast(valueRow[t]);
        for (int qv = 0; qv < QV; ++qv) acc[t][qv] = V::fmadd(v, p[qv], acc[t][qv]);
      }
    }
    for (int t = 0; t < N; ++t) {
      for (int qv = 0; qv < QV; ++qv) V::store(outputT + t * BQ + qv * W, acc[t][qv]);
    }
  }

  static void scoreTiles(const float* keyRow, int64_t rowStride, const float* queryT, int64_t headDim, int64_t keys,
                         float* scoresT) {
    int64_t j = 0;
    for (; j + kKeyTile <= keys; j += kKeyTile) {
      scoreTile<kKeyTile>(keyRow + j * rowStride, rowStride, queryT, headDim, scoresT + j * BQ);
    }
    const float* rest = keyRow + j * rowStride;
    float* restOut = scoresT + j * BQ;
    switch (keys - j) {
      case 1: scoreTile<1>(rest, rowStride, queryT, headDim, restOut); break;
      case 2: scoreTile<2>(rest, rowStride, queryT, headDim, restOut); break;
      case 3: scoreTile<3>(rest, rowStride, queryT, headDim, restOut); break;
      case 4: scoreTile<4>(rest, rowStride, queryT, headDim, restOut); break;
      case 5: scoreTile<5>(rest, rowStride, queryT, headDim, restOut); break;
      default: break;
    }
  }

  static void valueTiles(const float* valueRow, int64_t rowStride, const float* probsT, int64_t keys,
                         int64_t headDim, const float* rescale, float* outputT) {
    int64_t c = 0;
    for (; c + kDimTile <= headDim; c += kDimTile) {
      valueTile<kDimTile>(valueRow + c, rowStride, probsT, keys, rescale, outputT + c * BQ);
    }
    const float* rest = valueRow + c;
    float* restOut = outputT + c * BQ;
    switch (headDim - c) {
      case 1: valueTile<1>(rest, rowStride, probsT, keys, rescale, restOut); break;
      case 2: valueTile<2>(rest, rowStride, probsT, keys, rescale, restOut); break;
      case 3: valueTile<3>(rest, rowStride, probsT, keys, rescale, restOut); break;
      case 4: valueTile<4>(rest, rowStride, probsT, keys, rescale, restOut); break;
      case 5: valueTile<5>(rest, rowStride, probsT, keys, rescale, restOut); break;
      default: break;
    }
  }

  static void runBlock(const AttentionProblem& p, int64_t b, int64_t h, int64_t queryStart, float* scratch) {
    const int64_t d = p.headDim;
    const int64_t stride = p.heads * d;
    const int64_t rows = p.queryLength - queryStart < BQ ? p.queryLength - queryStart : BQ;
    float* queryT = scratch;
    float* scoresT = queryT + d * BQ;
    float* outputT = scoresT + static_cast<int64_t>(BK) * BQ;
    float* runningMax = outputT + d * BQ;
    float* runningSum = runningMax + BQ;
    float* rescale = runningSum + BQ;

    // Qᵀ, pre-scaled so that exp2(Sᵀ) = e^{scale·QKᵀ}; padding queries are zero and never written.
    // A vector type may transpose whole blocks in registers (AVX-512 does), which matters when
    // Nk is short (cross-attention on 77 tokens), where these transposes are a large share.
    const float queryScale = p.scale * kLog2e;
    const float* queryRows = p.query + (b * p.queryLength + queryStart) * stride + h * d;
    if constexpr (V::kBlockTranspose) {
      V::template packQueries<BQ>(queryRows, stride, rows, d, queryScale, queryT);
    } else {
      for (int64_t c = 0; c < d; ++c) {
        float* column = queryT + c * BQ;
        for (int64_t i = 0; i < rows; ++i) column[i] = queryRows[i * stride + c] * queryScale;
        for (int64_t i = rows; i < BQ; ++i) column[i] = 0.0f;
      }
    }
    // Cross-attention runs the heads of a query block one after another (attention.cc). With so
    // few keys the rows of Q and O dominate the memory traffic: fetch the next task's slice of
    // them (the next head, or head 0 of the next block) while this one computes.
    if (p.headsInner) {
      const bool lastHead = h + 1 == p.heads;
      const int64_t nextStart = lastHead ? queryStart + BQ : queryStart;
      const int64_t nextRows = p.queryLength - nextStart < BQ ? p.queryLength - nextStart : BQ;
      const int64_t nextColumn = (lastHead ? 0 : h + 1) * d;
      const int64_t rowOffset = (b * p.queryLength + nextStart) * stride + nextColumn;
      for (int64_t i = 0; i < nextRows; ++i) {
        for (int64_t c = 0; c < d; c += 16) {
          __builtin_prefetch(p.query + rowOffset + i * stride + c, 0, 3);
          __builtin_prefetch(p.output + rowOffset + i * stride + c, 1, 3);
        }
      }
    }
    for (int64_t i = 0; i < d * BQ; ++i) outputT[i] = 0.0f;
    for (int i = 0; i < BQ; ++i) {
      runningMax[i] = -__builtin_inff();
      runningSum[i] = 0.0f;
    }

    const float* keyBase = p.key + b * p.keyLength * stride + h * d;
    const float* valueBase = p.value + b * p.keyLength * stride + h * d;
    const uint8_t* mask = p.keyMask != nullptr ? p.keyMask + b * p.keyLength : nullptr;

    for (int64_t keyStart = 0; keyStart < p.keyLength; keyStart += BK) {
      const int64_t keys = p.keyLength - keyStart < BK ? p.keyLength - keyStart : BK;
      scoreTiles(keyBase + keyStart * stride, stride, queryT, d, keys, scoresT);
      if (mask != nullptr) {
        for (int64_t j = 0; j < keys; ++j) {
          if (mask[keyStart + j] != 0) continue;
          for (int i = 0; i < BQ; ++i) scoresT[j * BQ + i] = -__builtin_inff();
        }
      }
      for (int qv = 0; qv < QV; ++qv) {
        const R previousMax = V::load(runningMax + qv * W);
        R blockMax = previousMax;
        for (int64_t j = 0; j < keys; ++j) blockMax = V::max(blockMax, V::load(scoresT + j * BQ + qv * W));
        // A query whose keys are all masked so far keeps m = −∞; subtract 0 instead of −∞
        // so that e^{S−m} is 0 rather than NaN.
        const R reference = V::negativeInfinityToZero(blockMax);
        const R alpha = V::exp2(V::sub(previousMax, reference));
        R sum = V::zero();
        for (int64_t j = 0; j < keys; ++j) {
          float* slot = scoresT + j * BQ + qv * W;
          const R probability = V::exp2(V::sub(V::load(slot), reference));
          V::store(slot, probability);
          sum = V::add(sum, probability);
        }
        V::store(runningSum + qv * W, V::fmadd(V::load(runningSum + qv * W), alpha, sum));
        V::store(runningMax + qv * W, blockMax);
        V::store(rescale + qv * W, alpha);
      }
      valueTiles(valueBase + keyStart * stride, stride, scoresT, keys, d, rescale, outputT);
    }

    // O = Oᵀ / ℓ, transposed back into the [batch, N, heads·d] layout. A query with every key
    // masked has ℓ = 0 and gets zeros.
    float* outputRows = p.output + (b * p.queryLength + queryStart) * stride + h * d;
    float* inverse = rescale;
    for (int i = 0; i < BQ; ++i) inverse[i] = runningSum[i] > 0.0f ? 1.0f / runningSum[i] : 0.0f;
    if constexpr (V::kBlockTranspose) {
      V::template storeOutputs<BQ>(outputT, inverse, rows, d, outputRows, stride);
    } else {
      for (int64_t i = 0; i < rows; ++i) {
        float* row = outputRows + i * stride;
        for (int64_t c = 0; c < d; ++c) row[c] = outputT[c * BQ + i] * inverse[i];
      }
    }
  }
};

// Cephes' exp2f minimax polynomial for 2^f on [−0.5, 0.5] (relative error below 2e-7):
// 2^f ≈ 1 + f·(P5 + f·(P4 + f·(P3 + f·(P2 + f·(P1 + f·P0))))).
constexpr float kExp2P0 = 1.535336188319500e-4f;
constexpr float kExp2P1 = 1.339887440266574e-3f;
constexpr float kExp2P2 = 9.618437357674640e-3f;
constexpr float kExp2P3 = 5.550332471162809e-2f;
constexpr float kExp2P4 = 2.402264791363012e-1f;
constexpr float kExp2P5 = 6.931472028550421e-1f;

}  // namespace
}  // namespace latentkit
