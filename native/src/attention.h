// Fused multi-head attention on the CPU: softmax(Q·Kᵀ·scale)·V without materialising the
// Nq × Nk score matrix (FlashAttention, Dao et al. 2022, arXiv:2205.14135, Algorithm 1).
//
// Layout is ONNX Runtime's com.microsoft MultiHeadAttention: Q [batch, Nq, heads·d],
// K and V [batch, Nk, heads·d], output shaped like Q.
#pragma once
#include <cstdint>

namespace latentkit {

/** One attention call. Pointers are borrowed; the caller validated every length. */
struct AttentionProblem {
  const float* query;
  const float* key;
  const float* value;
  float* output;
  /** [batch, keyLength], nonzero = attend; nullptr attends to every key. */
  const uint8_t* keyMask;
  int64_t batch;
  int64_t heads;
  int64_t queryLength;
  int64_t keyLength;
  int64_t headDim;
  float scale;
  /** Set by multiHeadAttention: tasks run heads-innermost (see attention.cc); tiles prefetch accordingly. */
  bool headsInner = false;
  /**
   * Set by multiHeadAttention for one (batch, head) at a time: that head's K and V rows copied
   * contiguously ([keyLength, headDim] each). nullptr: the tiles read K and V in place.
   */
  const float* packedKey = nullptr;
  const float* packedValue = nullptr;
};

/**
 * One instruction-set variant of the kernel. It computes the output rows
 * [queryStart, queryStart + queryBlock) of one (batch, head) pair, using `scratch`
 * (scratchFloats(headDim) floats, 64-byte aligned) as its working memory.
 */
struct AttentionKernel {
  const char* name;
  int queryBlock;
  int64_t (*scratchFloats)(int64_t headDim);
  void (*runBlock)(const AttentionProblem& problem, int64_t batchIndex, int64_t head, int64_t queryStart, float* scratch);
  /** Keys per K panel (a multiple of which starts every key block); 0: this kernel reads K and V in place only. */
  int keyPanel = 0;
  /** Rearrange keys [begin, end) of one (batch, head) into the panels runBlock reads (see attention-tile.h). */
  void (*packKeyPanels)(const AttentionProblem& problem, int64_t batchIndex, int64_t head, int64_t begin, int64_t end,
                        float* panels) = nullptr;
  void (*packValuePanels)(const AttentionProblem& problem, int64_t batchIndex, int64_t head, int64_t begin,
                          int64_t end, float* panels) = nullptr;
  /** Keys per softmax block: key ranges given to runKeyRange start at multiples of it. */
  int keyBlock = 0;
  /** Floats of running state one task keeps between runKeyRange calls. */
  int64_t (*taskStateFloats)(int64_t headDim) = nullptr;
  /**
   * Keys [keyBegin, keyEnd) for the task at queryStart, its running state in `state`: the call
   * with keyBegin 0 starts it, the one with keyEnd = keyLength writes the output rows. `scratch`
   * as for runBlock.
   */
  void (*runKeyRange)(const AttentionProblem& problem, int64_t batchIndex, int64_t head, int64_t queryStart,
                      float* scratch, float* state, int64_t keyBegin, int64_t keyEnd) = nullptr;
};

const AttentionKernel& attentionKernelPortable();
#if defined(LATENTKIT_X86)
const AttentionKernel& attentionKernelAvx2();
const AttentionKernel& attentionKernelAvx512();
/** The AVX-512 tile for short key sequences (heads-innermost order, attention.cc). */
const AttentionKernel& attentionKernelAvx512Short();
#endif

/**
 * Runs the whole problem on the shared thread pool with the kernel chosen for this CPU.
 * Throws std::bad_alloc (on the calling thread) if a worker could not get its scratch memory.
 */
void multiHeadAttention(const AttentionProblem& problem);

/**
 * How long key sequences run: Auto chooses by size (attention.cc); Packed copies each head's K
 * and V into panels and runs L2-sized key chunks whenever the kernel can (AVX-512); InPlace reads
 * K and V where they are. A test and benchmark knob, process-wide, like setSimdLevel.
 */
enum class AttentionPath { Auto = 0, Packed = 1, InPlace = 2 };
AttentionPath setAttentionPath(AttentionPath path);

/** The instruction set the kernel in use was compiled for: "avx512", "avx2" or "scalar". */
const char* attentionKernelName();

/** The largest head width the kernels accept (the brief's d ≤ 256). */
constexpr int64_t kMaxHeadDim = 256;

}  // namespace latentkit
