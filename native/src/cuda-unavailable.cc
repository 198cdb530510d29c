// Stand-in for cuda-attention.cu where no CUDA toolkit was found at build time.
#include "cuda-attention.h"

namespace latentkit {

CudaStatus cudaStatus() {
  CudaStatus status;
  status.error = "this build of @latentkit/native has no CUDA support (no CUDA toolkit was found when it was built)";
  return status;
}

std::string cudaMultiHeadAttentionOnDevice(const CudaAttentionProblem&, void*) { return cudaStatus().error; }

std::string cudaMultiHeadAttentionFromHost(const CudaAttentionProblem&) { return cudaStatus().error; }

}  // namespace latentkit
