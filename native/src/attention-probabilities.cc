// Head-averaged attention probabilities in float64, row by row: for query i of sequence b, each
// head's scores s_j = (Σ_c q_c·k_jc)·scale, then e^{s_j − max}/Σ, summed over heads and divided
// by the head count. The same loops, in the same order, as src/attention-probabilities-js.ts.
#include "attention-probabilities.h"

#include <cmath>
#include <functional>
#include <limits>

#include "thread-pool.h"

namespace latentkit {
namespace {

constexpr int64_t kRowsPerTask = 16;

void probabilityRow(const ProbabilityProblem& p, int64_t b, int64_t i, double* scores, double* sum) {
  const int64_t stride = p.heads * p.headDim;
  const float* queryRow = p.query + (b * p.queryLength + i) * stride;
  const uint8_t* mask = p.keyMask != nullptr ? p.keyMask + b * p.keyLength : nullptr;
  for (int64_t j = 0; j < p.keyLength; ++j) sum[j] = 0.0;
  for (int64_t h = 0; h < p.heads; ++h) {
    const float* q = queryRow + h * p.headDim;
    double maximum = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < p.keyLength; ++j) {
      if (mask != nullptr && mask[j] == 0) {
        scores[j] = -std::numeric_limits<double>::infinity();
        continue;
      }
      const float* k = p.key + (b * p.keyLength + j) * stride + h * p.headDim;
      double dot = 0.0;
      for (int64_t c = 0; c < p.headDim; ++c) dot += static_cast<double>(q[c]) * static_cast<double>(k[c]);
      scores[j] = dot * p.scale;
      if (scores[j] > maximum) maximum = scores[j];
    }
    if (maximum == -std::numeric_limits<double>::infinity()) continue;  // every key masked: zeros
    double total = 0.0;
    for (int64_t j = 0; j < p.keyLength; ++j) {
      scores[j] = std::exp(scores[j] - maximum);
      total += scores[j];
    }
    for (int64_t j = 0; j < p.keyLength; ++j) sum[j] += scores[j] / total;
  }
  float* out = p.output + (b * p.queryLength + i) * p.keyLength;
  for (int64_t j = 0; j < p.keyLength; ++j) out[j] = static_cast<float>(sum[j] / static_cast<double>(p.heads));
}

}  // namespace

void attentionProbabilities(const ProbabilityProblem& problem) {
  const int64_t rows = problem.batch * problem.queryLength;
  const int64_t tasks = (rows + kRowsPerTask - 1) / kRowsPerTask;
  const std::function<void(int64_t)> task = [&](int64_t index) {
    // Nk ≤ kMaxProbabilityKeys (checked by the binding): 16 KB of stack for both rows.
    double scores[kMaxProbabilityKeys];
    double sum[kMaxProbabilityKeys];
    const int64_t end = (index + 1) * kRowsPerTask < rows ? (index + 1) * kRowsPerTask : rows;
    for (int64_t row = index * kRowsPerTask; row < end; ++row) {
      probabilityRow(problem, row / problem.queryLength, row % problem.queryLength, scores, sum);
    }
  };
  parallelFor(tasks, task);
}

}  // namespace latentkit
