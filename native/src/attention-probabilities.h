// Head-averaged attention probabilities, mean_h softmax(Q_h·K_hᵀ·scale), [batch, Nq, Nk]: what
// attention processors capture for cross-attention maps (src/attention-probabilities.ts).
#pragma once
#include <cstdint>

namespace latentkit {

/** One call. Pointers are borrowed; the caller validated every length. */
struct ProbabilityProblem {
  const float* query;    // [batch, queryLength, heads·headDim]
  const float* key;      // [batch, keyLength, heads·headDim]
  float* output;         // [batch, queryLength, keyLength]
  const uint8_t* keyMask;  // [batch, keyLength], nonzero = attend; nullptr attends to every key
  int64_t batch;
  int64_t heads;
  int64_t queryLength;
  int64_t keyLength;
  int64_t headDim;
  double scale;
};

/** The largest key length accepted: the output grows with Nq·Nk (cross-attention has 77 keys). */
constexpr int64_t kMaxProbabilityKeys = 1024;

/**
 * Computes the probabilities on the shared thread pool, accumulating in float64 in the order of
 * the TypeScript twin (so both give the same float32 results but for the last bit of exp). A
 * head whose keys are all masked contributes zeros.
 */
void attentionProbabilities(const ProbabilityProblem& problem);

}  // namespace latentkit
