// The CUDA side of the addon, behind a plain C++ interface so that the binding (compiled by the
// host compiler) does not need CUDA headers. Built from cuda-attention.cu where a toolkit is
// found, else from cuda-unavailable.cc, which reports that CUDA was not compiled in.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace latentkit {

struct CudaDevice {
  std::string name;
  int computeMajor = 0;
  int computeMinor = 0;
  size_t totalMemory = 0;
};

struct CudaStatus {
  bool compiled = false;
  int runtimeVersion = 0;
  int deviceCount = 0;
  std::vector<CudaDevice> devices;
  /** Why there is no device (empty when deviceCount > 0). */
  std::string error;
};

CudaStatus cudaStatus();

enum class CudaElementType { Float32, Float16 };

struct CudaAttentionProblem {
  const void* query;
  const void* key;
  const void* value;
  void* output;
  const uint8_t* keyMask;  // [batch, keyLength] or nullptr
  CudaElementType elementType;
  int64_t batch, heads, queryLength, keyLength, headDim;
  float scale;
};

/** Device buffers, on `stream` (a cudaStream_t, nullptr = default). Returns "" or an error message. */
std::string cudaMultiHeadAttentionOnDevice(const CudaAttentionProblem& problem, void* stream);

/** Host buffers: uploads, runs and downloads. Returns "" or an error message. */
std::string cudaMultiHeadAttentionFromHost(const CudaAttentionProblem& problem);

}  // namespace latentkit
