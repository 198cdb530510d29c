// Splits an attention problem into (batch, head, query block) tasks, the unit of parallel work,
// and runs them with the kernel chosen for this CPU.
#include "attention.h"

#include <atomic>
#include <cstdlib>
#include <functional>
#include <new>

#include "cpu-features.h"
#include "thread-pool.h"

namespace latentkit {
namespace {

const AttentionKernel& chooseKernel() {
  switch (activeSimdLevel()) {
#if defined(LATENTKIT_X86)
    case SimdLevel::Avx512: return attentionKernelAvx512();
    case SimdLevel::Avx2: return attentionKernelAvx2();
#endif
    default: return attentionKernelPortable();
  }
}

// Per-thread working memory, kept between calls: a few tens of KB that stay hot in L1/L2.
struct Scratch {
  float* data = nullptr;
  int64_t floats = 0;
  ~Scratch() { std::free(data); }
  float* reserve(int64_t wanted) {
    if (wanted > floats) {
      std::free(data);
      const size_t bytes = (static_cast<size_t>(wanted) * sizeof(float) + 63) / 64 * 64;
      data = static_cast<float*>(std::aligned_alloc(64, bytes));
      floats = data != nullptr ? wanted : 0;
    }
    return data;
  }
};

thread_local Scratch threadScratch;

}  // namespace

void multiHeadAttention(const AttentionProblem& request) {
  AttentionProblem problem = request;
  const AttentionKernel& kernel = chooseKernel();
  const int64_t queryBlocks = (problem.queryLength + kernel.queryBlock - 1) / kernel.queryBlock;
  const int64_t tasks = problem.batch * problem.heads * queryBlocks;
  const int64_t scratchFloats = kernel.scratchFloats(problem.headDim);
  // Task order decides what stays in cache. With long key sequences (self-attention), consecutive
  // tasks walk the query blocks of one head, so that head's K and V stay in L2. When the K and V
  // of every head fit in L2 together (cross-attention on 77 tokens: 200 KB), consecutive tasks
  // walk the heads of one query block instead, so each query and output row (all heads, whole
  // cache lines) crosses the memory bus once rather than once per head.
  const int64_t allHeadsKeyValueBytes = 2 * problem.keyLength * problem.heads * problem.headDim * int64_t{sizeof(float)};
  problem.headsInner = allHeadsKeyValueBytes <= (int64_t{512} << 10);
  const bool headsInner = problem.headsInner;
  std::atomic<bool> outOfMemory{false};
  const std::function<void(int64_t)> task = [&](int64_t index) {
    const int64_t block = headsInner ? (index / problem.heads) % queryBlocks : index % queryBlocks;
    const int64_t head = headsInner ? index % problem.heads : (index / queryBlocks) % problem.heads;
    const int64_t batchIndex = index / (queryBlocks * problem.heads);
    float* scratch = threadScratch.reserve(scratchFloats);
    if (scratch == nullptr) {  // reported after the join: never throw on a pool thread
      outOfMemory.store(true, std::memory_order_relaxed);
      return;
    }
    kernel.runBlock(problem, batchIndex, head, block * kernel.queryBlock, scratch);
  };
  parallelFor(tasks, task);
  if (outOfMemory.load()) throw std::bad_alloc();
}

const char* attentionKernelName() { return chooseKernel().name; }

}  // namespace latentkit
