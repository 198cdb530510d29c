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

constexpr float kLog2e = 1.4426950408889634f;

// QV vectors of W queries per block, BK keys per softmax block; register tiles of KT keys (Sᵀ)
// and DT head dimensions (Oᵀ), each KT×QV or DT×QV accumulators; SB query blocks per task.
template <class V, int QV, int BK, int KT = 6, int DT = 6, int SB = 1>
struct FlashAttentionTile {
  // K can be packed into panels of KT keys only when every key block starts on a panel.
  static constexpr int kKeyPanel = BK % KT == 0 ? KT : 0;
  static constexpr int kKeyBlock = BK;
  static constexpr int kKeyTile = KT;
  static constexpr int kDimTile = DT;
  using R = typename V::Reg;
  static constexpr int W = V::kWidth;
  static constexpr int BQ = W * QV;

  // Queries per task: SB blocks of BQ that share each block of K and V.
  static constexpr int kQueryBlock = SB * BQ;

  // One query block's state: Qᵀ [d][BQ], Oᵀ [d][BQ], running max, running sum, rescale.
  static int64_t blockFloats(int64_t headDim) { return 2 * headDim * BQ + 3 * BQ; }

  // Sᵀ/Pᵀ [BK][BQ], shared by the blocks, then SB block states.
  static int64_t scratchFloats(int64_t headDim) { return static_cast<int64_t>(BK) * BQ + SB * blockFloats(headDim); }

  // Sᵀ rows j..j+N for all BQ queries: N×QV accumulators stay in registers over the d loop.
  // K in place: key r, column c at keyRow[r·rowStride + c]. K in panels (Panel = true, packed by
  // packKeyPanels): at keyRow[c·KT + r], so the N broadcasts of one c come from one cache line
  // at fixed offsets of one pointer.
  template <int N, bool Panel>
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
        const R k = V::broadcast(Panel ? keyRow[c * KT + r] : rows[r][c]);
        for (int qv = 0; qv < QV; ++qv) acc[r][qv] = V::fmadd(k, q[qv], acc[r][qv]);
      }
    }
    for (int r = 0; r < N; ++r) {
      for (int qv = 0; qv < QV; ++qv) V::store(scoresT + r * BQ + qv * W, acc[r][qv]);
    }
  }

  // Oᵀ rows c..c+N: rescale by e^{m−m'} once, then accumulate Σ_j V[j, c] · Pᵀ[j] over the block.
  // V in place: key j, column t of the tile at valueColumn[j·rowStride + t]; V in panels (Panel,
  // packed by packValuePanels): at valueColumn[j·N + t], one sequential stream.
  template <int N, bool Panel>
  static inline void valueTile(const float* valueColumn, int64_t rowStride, const float* probsT, int64_t keys,
                               const float* rescale, float* outputT) {
    R acc[N][QV];
    for (int qv = 0; qv < QV; ++qv) {
      const R a = V::load(rescale + qv * W);
      for (int t = 0; t < N; ++t) acc[t][qv] = V::mul(V::load(outputT + t * BQ + qv * W), a);
    }
    for (int64_t j = 0; j < keys; ++j) {
      const float* valueRow = valueColumn + j * (Panel ? N : rowStride);
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

  // Sᵀ for `keys` keys from keyRow: in place (row stride rowStride), or in panels of KT keys
  // (each KT·d floats, the last one zero-padded) when Panel.
  template <bool Panel>
  static void scoreTiles(const float* keyRow, int64_t rowStride, const float* queryT, int64_t headDim, int64_t keys,
                         float* scoresT) {
    const int64_t tileStride = Panel ? headDim : rowStride;  // from key j to key j + 1, per KT keys
    int64_t j = 0;
    for (; j + kKeyTile <= keys; j += kKeyTile) {
      scoreTile<kKeyTile, Panel>(keyRow + j * tileStride, rowStride, queryT, headDim, scoresT + j * BQ);
    }
    scoreRest<kKeyTile - 1, Panel>(keys - j, keyRow + j * tileStride, rowStride, queryT, headDim, scoresT + j * BQ);
  }

  // The last keys − j < KT rows of a block: one tile of exactly that many rows.
  template <int N, bool Panel>
  static inline void scoreRest(int64_t rows, const float* keyRow, int64_t rowStride, const float* queryT,
                               int64_t headDim, float* scoresT) {
    if constexpr (N > 0) {
      if (rows == N) {
        scoreTile<N, Panel>(keyRow, rowStride, queryT, headDim, scoresT);
      } else {
        scoreRest<N - 1, Panel>(rows, keyRow, rowStride, queryT, headDim, scoresT);
      }
    }
  }

  // K of one (batch, head), keys [begin, end) (multiples of KT, or end = keyLength), rearranged
  // into panels: panels[j·d + c·KT + r] = K[j + r, c] for each panel start j; rows past the last
  // key are zero.
  static void packKeyPanels(const AttentionProblem& p, int64_t b, int64_t h, int64_t begin, int64_t end,
                            float* panels) {
    const int64_t d = p.headDim;
    const int64_t stride = p.heads * d;
    const float* keys = p.key + b * p.keyLength * stride + h * d;
    for (int64_t j = begin; j < end; j += KT) {
      float* panel = panels + j * d;
      for (int r = 0; r < KT; ++r) {
        if (j + r < p.keyLength) {
          const float* row = keys + (j + r) * stride;
          for (int64_t c = 0; c < d; ++c) panel[c * KT + r] = row[c];
        } else {
          for (int64_t c = 0; c < d; ++c) panel[c * KT + r] = 0.0f;
        }
      }
    }
  }

  // Oᵀ += Vᵀ·Pᵀ for `keys` keys starting at key `keyStart`. In place: `values` is V's row
  // keyStart (row stride rowStride). In panels (Panel): `values` is the head's packed V.
  template <bool Panel>
  static void valueTiles(const float* values, int64_t rowStride, int64_t keyLength, int64_t keyStart,
                         const float* probsT, int64_t keys, int64_t headDim, const float* rescale, float* outputT) {
    int64_t c = 0;
    for (; c + kDimTile <= headDim; c += kDimTile) {
      const float* column = Panel ? values + c * keyLength + keyStart * kDimTile : values + c;
      valueTile<kDimTile, Panel>(column, rowStride, probsT, keys, rescale, outputT + c * BQ);
    }
    const float* column = Panel ? values + c * keyLength + keyStart * (headDim - c) : values + c;
    valueRest<kDimTile - 1, Panel>(headDim - c, column, rowStride, probsT, keys, rescale, outputT + c * BQ);
  }

  // The last d − c < DT columns: one tile of exactly that many columns.
  template <int N, bool Panel>
  static inline void valueRest(int64_t columns, const float* valueColumn, int64_t rowStride, const float* probsT,
                               int64_t keys, const float* rescale, float* outputT) {
    if constexpr (N > 0) {
      if (columns == N) {
        valueTile<N, Panel>(valueColumn, rowStride, probsT, keys, rescale, outputT);
      } else {
        valueRest<N - 1, Panel>(columns, valueColumn, rowStride, probsT, keys, rescale, outputT);
      }
    }
  }

  // V of one (batch, head), keys [begin, end), rearranged into one panel per tile of DT head
  // dimensions (the last one narrower when DT does not divide d): the tile starting at column c0,
  // w columns wide, holds panels[c0·keyLength + j·w + (c − c0)] = V[j, c].
  static void packValuePanels(const AttentionProblem& p, int64_t b, int64_t h, int64_t begin, int64_t end,
                              float* panels) {
    const int64_t d = p.headDim;
    const int64_t stride = p.heads * d;
    const float* values = p.value + b * p.keyLength * stride + h * d;
    for (int64_t c0 = 0; c0 < d; c0 += DT) {
      const int64_t w = d - c0 < DT ? d - c0 : DT;
      float* panel = panels + c0 * p.keyLength;
      for (int64_t j = begin; j < end; ++j) {
        const float* row = values + j * stride + c0;
        for (int64_t t = 0; t < w; ++t) panel[j * w + t] = row[t];
      }
    }
  }

  // The running state of one block of BQ queries: Qᵀ, Oᵀ, m, ℓ and the last rescale e^{m−m'}.
  struct QueryBlock {
    float* queryT;
    float* outputT;
    float* runningMax;
    float* runningSum;
    float* rescale;
    int64_t start;
    int64_t rows;
  };

  // Qᵀ, pre-scaled so that exp2(Sᵀ) = e^{scale·QKᵀ}; padding queries are zero and never written.
  // A vector type may transpose whole blocks in registers (AVX-512 does), which matters when
  // Nk is short (cross-attention on 77 tokens), where these transposes are a large share.
  static void beginBlock(const AttentionProblem& p, int64_t b, int64_t h, const QueryBlock& block) {
    const int64_t d = p.headDim;
    const int64_t stride = p.heads * d;
    const float queryScale = p.scale * kLog2e;
    const float* queryRows = p.query + (b * p.queryLength + block.start) * stride + h * d;
    if constexpr (V::kBlockTranspose) {
      V::template packQueries<BQ>(queryRows, stride, block.rows, d, queryScale, block.queryT);
    } else {
      for (int64_t c = 0; c < d; ++c) {
        float* column = block.queryT + c * BQ;
        for (int64_t i = 0; i < block.rows; ++i) column[i] = queryRows[i * stride + c] * queryScale;
        for (int64_t i = block.rows; i < BQ; ++i) column[i] = 0.0f;
      }
    }
    for (int64_t i = 0; i < d * BQ; ++i) block.outputT[i] = 0.0f;
    for (int i = 0; i < BQ; ++i) {
      block.runningMax[i] = -__builtin_inff();
      block.runningSum[i] = 0.0f;
    }
  }

  // One key block of the online softmax for one query block: Sᵀ, then m', ℓ', Pᵀ, then Oᵀ.
  static void stepBlock(const AttentionProblem& p, const float* keyBase, const float* valueBase, const uint8_t* mask,
                        int64_t keyStart, int64_t keys, const QueryBlock& block, float* scoresT) {
    const int64_t d = p.headDim;
    const int64_t stride = p.heads * d;
    const bool packed = p.packedKey != nullptr;
    if (packed) {
      scoreTiles<true>(keyBase + keyStart * d, 0, block.queryT, d, keys, scoresT);
    } else {
      scoreTiles<false>(keyBase + keyStart * stride, stride, block.queryT, d, keys, scoresT);
    }
    if (mask != nullptr) {
      for (int64_t j = 0; j < keys; ++j) {
        if (mask[keyStart + j] != 0) continue;
        for (int i = 0; i < BQ; ++i) scoresT[j * BQ + i] = -__builtin_inff();
      }
    }
    // The max and the sum over keys run in 4 independent chains (a single chain waits one
    // max/add latency per key), combined at the end.
    for (int qv = 0; qv < QV; ++qv) {
      const R previousMax = V::load(block.runningMax + qv * W);
      R maxima[4] = {previousMax, previousMax, previousMax, previousMax};
      int64_t j = 0;
      for (; j + 4 <= keys; j += 4) {
        for (int u = 0; u < 4; ++u) maxima[u] = V::max(maxima[u], V::load(scoresT + (j + u) * BQ + qv * W));
      }
      for (; j < keys; ++j) maxima[0] = V::max(maxima[0], V::load(scoresT + j * BQ + qv * W));
      const R blockMax = V::max(V::max(maxima[0], maxima[1]), V::max(maxima[2], maxima[3]));
      // A query whose keys are all masked so far keeps m = −∞; subtract 0 instead of −∞
      // so that e^{S−m} is 0 rather than NaN.
      const R reference = V::negativeInfinityToZero(blockMax);
      const R alpha = V::exp2(V::sub(previousMax, reference));
      R sums[4] = {V::zero(), V::zero(), V::zero(), V::zero()};
      j = 0;
      for (; j + 4 <= keys; j += 4) {
        for (int u = 0; u < 4; ++u) {
          float* slot = scoresT + (j + u) * BQ + qv * W;
          const R probability = V::exp2(V::sub(V::load(slot), reference));
          V::store(slot, probability);
          sums[u] = V::add(sums[u], probability);
        }
      }
      for (; j < keys; ++j) {
        float* slot = scoresT + j * BQ + qv * W;
        const R probability = V::exp2(V::sub(V::load(slot), reference));
        V::store(slot, probability);
        sums[0] = V::add(sums[0], probability);
      }
      const R sum = V::add(V::add(sums[0], sums[1]), V::add(sums[2], sums[3]));
      V::store(block.runningSum + qv * W, V::fmadd(V::load(block.runningSum + qv * W), alpha, sum));
      V::store(block.runningMax + qv * W, blockMax);
      V::store(block.rescale + qv * W, alpha);
    }
    if (packed) {
      valueTiles<true>(valueBase, 0, p.keyLength, keyStart, scoresT, keys, d, block.rescale, block.outputT);
    } else {
      valueTiles<false>(valueBase + keyStart * stride, stride, p.keyLength, keyStart, scoresT, keys, d, block.rescale,
                        block.outputT);
    }
  }

  // O = Oᵀ / ℓ, transposed back into the [batch, N, heads·d] layout. A query with every key
  // masked has ℓ = 0 and gets zeros.
  static void endBlock(const AttentionProblem& p, int64_t b, int64_t h, const QueryBlock& block) {
    const int64_t d = p.headDim;
    const int64_t stride = p.heads * d;
    float* outputRows = p.output + (b * p.queryLength + block.start) * stride + h * d;
    float* inverse = block.rescale;
    for (int i = 0; i < BQ; ++i) inverse[i] = block.runningSum[i] > 0.0f ? 1.0f / block.runningSum[i] : 0.0f;
    if constexpr (V::kBlockTranspose) {
      V::template storeOutputs<BQ>(block.outputT, inverse, block.rows, d, outputRows, stride);
    } else {
      for (int64_t i = 0; i < block.rows; ++i) {
        float* row = outputRows + i * stride;
        for (int64_t c = 0; c < d; ++c) row[c] = block.outputT[c * BQ + i] * inverse[i];
      }
    }
  }

  // Keys [keyBegin, keyEnd) (keyBegin a multiple of BK) for output rows [queryStart, queryStart +
  // kQueryBlock) of one (batch, head): SB query blocks that walk the key blocks together, so each
  // block of K and V is fetched into the caches once for SB·BQ queries rather than once per BQ.
  // `state` (taskStateFloats) holds the blocks' running state between calls: the first call
  // (keyBegin 0) starts it, the last (keyEnd = Nk) writes the output. `scoresT`: BK·BQ floats.
  static void runKeyRange(const AttentionProblem& p, int64_t b, int64_t h, int64_t queryStart, float* scoresT,
                          float* state, int64_t keyBegin, int64_t keyEnd) {
    const int64_t d = p.headDim;
    const int64_t stride = p.heads * d;
    QueryBlock blocks[SB] = {};
    int count = 0;
    for (int s = 0; s < SB && queryStart + s * BQ < p.queryLength; ++s, ++count) {
      float* base = state + s * blockFloats(d);
      const int64_t start = queryStart + s * BQ;
      blocks[s] = QueryBlock{base,
                             base + d * BQ,
                             base + 2 * d * BQ,
                             base + 2 * d * BQ + BQ,
                             base + 2 * d * BQ + 2 * BQ,
                             start,
                             p.queryLength - start < BQ ? p.queryLength - start : BQ};
      if (keyBegin == 0) beginBlock(p, b, h, blocks[s]);
    }
    // Cross-attention runs the heads of a query block one after another (attention.cc). With so
    // few keys the rows of Q and O dominate the memory traffic: fetch the next task's slice of
    // them (the next head, or head 0 of the next block) while this one computes.
    if (p.headsInner && keyBegin == 0) {
      const bool lastHead = h + 1 == p.heads;
      const int64_t nextStart = lastHead ? queryStart + kQueryBlock : queryStart;
      const int64_t nextRows = p.queryLength - nextStart < kQueryBlock ? p.queryLength - nextStart : kQueryBlock;
      const int64_t nextColumn = (lastHead ? 0 : h + 1) * d;
      const int64_t rowOffset = (b * p.queryLength + nextStart) * stride + nextColumn;
      for (int64_t i = 0; i < nextRows; ++i) {
        for (int64_t c = 0; c < d; c += 16) {
          __builtin_prefetch(p.query + rowOffset + i * stride + c, 0, 3);
          __builtin_prefetch(p.output + rowOffset + i * stride + c, 1, 3);
        }
      }
    }
    // K and V of this (batch, head): in place (row stride heads·d), or packed by the caller into
    // panels (packKeyPanels, packValuePanels), which keeps long key sequences streaming through
    // the caches instead of mapping onto a few cache sets (attention.cc).
    const bool packed = p.packedKey != nullptr;
    const float* keyBase = packed ? p.packedKey : p.key + b * p.keyLength * stride + h * d;
    const float* valueBase = packed ? p.packedValue : p.value + b * p.keyLength * stride + h * d;
    const uint8_t* mask = p.keyMask != nullptr ? p.keyMask + b * p.keyLength : nullptr;
    for (int64_t keyStart = keyBegin; keyStart < keyEnd; keyStart += BK) {
      const int64_t keys = keyEnd - keyStart < BK ? keyEnd - keyStart : BK;
      for (int s = 0; s < count; ++s) stepBlock(p, keyBase, valueBase, mask, keyStart, keys, blocks[s], scoresT);
    }
    if (keyEnd == p.keyLength) {
      for (int s = 0; s < count; ++s) endBlock(p, b, h, blocks[s]);
    }
  }

  // Floats of running state per task (SB query blocks), for runKeyRange.
  static int64_t taskStateFloats(int64_t headDim) { return SB * blockFloats(headDim); }

  // All keys for one task, with its state in `scratch` (scratchFloats).
  static void runBlock(const AttentionProblem& p, int64_t b, int64_t h, int64_t queryStart, float* scratch) {
    runKeyRange(p, b, h, queryStart, scratch, scratch + static_cast<int64_t>(BK) * BQ, 0, p.keyLength);
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
