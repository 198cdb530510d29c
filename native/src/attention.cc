// Splits an attention problem into (batch, head, query block) tasks, the unit of parallel work,
// and runs them with the kernel chosen for this CPU.
#include "attention.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <new>

#include "cpu-features.h"
#include "thread-pool.h"

namespace latentkit {
namespace {

// The kernel for this CPU; `shortKeys`: the variant for short key sequences where one exists.
const AttentionKernel& chooseKernel(bool shortKeys = false) {
  switch (activeSimdLevel()) {
#if defined(LATENTKIT_X86)
    case SimdLevel::Avx512: return shortKeys ? attentionKernelAvx512Short() : attentionKernelAvx512();
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

std::atomic<int> pathOverride{static_cast<int>(AttentionPath::Auto)};

// The packed, chunked path pays when a head's K and V are well beyond L2 and enough query tasks
// share each packed copy: measured on Zen 5 (one thread, GFLOP per CPU-second), it gains 15–45 %
// at SD self-attention shapes (Nk 4096, d 40 and 64: K and V 1.3 and 2 MB per head), loses at
// Nk 1024, d 80 (655 KB) and at Nq = Nk = 256, d 160, where packing costs about as much as the
// attention itself. Self-attention at SD's 64×64 level and above takes it (and 768², 1024²).
bool choosePacked(const AttentionProblem& problem) {
  const int64_t headKeyValueBytes = 2 * problem.keyLength * problem.headDim * int64_t{sizeof(float)};
  switch (static_cast<AttentionPath>(pathOverride.load(std::memory_order_relaxed))) {
    case AttentionPath::Packed: return true;
    case AttentionPath::InPlace: return false;
    default: return headKeyValueBytes >= (int64_t{1} << 20) && problem.queryLength >= 512;
  }
}

}  // namespace

AttentionPath setAttentionPath(AttentionPath path) {
  pathOverride.store(static_cast<int>(path), std::memory_order_relaxed);
  return path;
}

// A heap buffer freed on every exit path.
struct Buffer {
  float* data = nullptr;
  explicit Buffer(int64_t floats) {
    const size_t bytes = (static_cast<size_t>(floats) * sizeof(float) + 63) / 64 * 64;
    data = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (data == nullptr) throw std::bad_alloc();
  }
  ~Buffer() { std::free(data); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
};

void multiHeadAttention(const AttentionProblem& request) {
  AttentionProblem problem = request;
  // Task order decides what stays in cache. With long key sequences (self-attention), consecutive
  // tasks walk the query blocks of one head, so that head's K and V stay in L2. When the K and V
  // of every head fit in L2 together (cross-attention on 77 tokens: 200 KB), consecutive tasks
  // walk the heads of one query block instead, so each query and output row (all heads, whole
  // cache lines) crosses the memory bus once rather than once per head.
  const int64_t allHeadsKeyValueBytes = 2 * problem.keyLength * problem.heads * problem.headDim * int64_t{sizeof(float)};
  problem.headsInner = allHeadsKeyValueBytes <= (int64_t{512} << 10);
  const bool headsInner = problem.headsInner;
  const AttentionKernel& kernel = chooseKernel(headsInner);
  const int64_t queryBlocks = (problem.queryLength + kernel.queryBlock - 1) / kernel.queryBlock;
  const int64_t scratchFloats = kernel.scratchFloats(problem.headDim);
  std::atomic<bool> outOfMemory{false};
  constexpr int64_t kPackChunk = 512;  // keys per packing task: a whole number of panels
  const bool packable = kernel.keyPanel != 0 && kernel.runKeyRange != nullptr && kPackChunk % kernel.keyPanel == 0;
  if (!packable || !choosePacked(problem)) {
    const int64_t tasks = problem.batch * problem.heads * queryBlocks;
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
  } else {
    // Long key sequences, one (batch, head) at a time. First its K and V are copied into panels
    // (attention-tile.h): in place, K and V rows lie heads·d floats apart (2 KB for 8 heads of
    // 64), so the rows of a key block fall into a few cache sets and evict each other, and K's
    // panels put a key tile's values for one head dimension in one cache line. The copy costs one
    // pass over K and V per call, next to Nq / queryBlock passes over them.
    //
    // Then the keys are taken in chunks whose K and V fit in L2 together (kChunkBytes), and every
    // query task of the head runs one chunk before any runs the next, keeping its running
    // softmax state (Qᵀ, Oᵀ, m, ℓ: about (2d + 3) floats per query) in memory between chunks.
    // Each chunk of K and V is thus read from L3 once per core rather than once per query task.
    // Measured on Zen 5 (1 MB L2), d 64, Nk 4096, one thread: 62 % → 73 % of the FMA peak.
    const int64_t d = problem.headDim;
    const int64_t panel = kernel.keyPanel;
    const int64_t paddedKeys = (problem.keyLength + panel - 1) / panel * panel;
    const Buffer keyPanels(paddedKeys * d);
    const Buffer valuePanels(problem.keyLength * d);
    const int64_t stateFloats = kernel.taskStateFloats(d);
    const Buffer states(queryBlocks * stateFloats);
    constexpr int64_t kChunkBytes = int64_t{512} << 10;  // K and V of one chunk: half of a 1 MB L2
    const int64_t keyBlock = kernel.keyBlock;
    const int64_t chunkKeys = std::max(keyBlock, kChunkBytes / (2 * d * int64_t{sizeof(float)}) / keyBlock * keyBlock);
    const int64_t packTasks = (problem.keyLength + kPackChunk - 1) / kPackChunk;
    AttentionProblem packed = problem;
    packed.packedKey = keyPanels.data;
    packed.packedValue = valuePanels.data;
    for (int64_t pair = 0; pair < problem.batch * problem.heads; ++pair) {
      const int64_t batchIndex = pair / problem.heads;
      const int64_t head = pair % problem.heads;
      parallelFor(packTasks, [&](int64_t index) {
        const int64_t begin = index * kPackChunk;
        const int64_t end = std::min(begin + kPackChunk, problem.keyLength);
        kernel.packKeyPanels(problem, batchIndex, head, begin, end, keyPanels.data);
        kernel.packValuePanels(problem, batchIndex, head, begin, end, valuePanels.data);
      });
      for (int64_t keyBegin = 0; keyBegin < problem.keyLength; keyBegin += chunkKeys) {
        const int64_t keyEnd = std::min(keyBegin + chunkKeys, problem.keyLength);
        parallelFor(queryBlocks, [&](int64_t block) {
          float* scratch = threadScratch.reserve(scratchFloats);
          if (scratch == nullptr) {  // reported after the join: never throw on a pool thread
            outOfMemory.store(true, std::memory_order_relaxed);
            return;
          }
          kernel.runKeyRange(packed, batchIndex, head, block * kernel.queryBlock, scratch, states.data + block * stateFloats,
                             keyBegin, keyEnd);
        });
        if (outOfMemory.load()) throw std::bad_alloc();
      }
    }
  }
  if (outOfMemory.load()) throw std::bad_alloc();
}

const char* attentionKernelName() { return chooseKernel().name; }

}  // namespace latentkit
