// FlashAttention on CUDA for float32 and float16 buffers (Dao et al. 2022, Algorithm 1): one
// thread per query row, K/V tiles staged in shared memory, the online softmax kept per thread in
// registers, accumulation in float32 whatever the storage type. Memory stays linear in the
// sequence length: no Nq × Nk buffer exists at any point.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "cuda-attention.h"

namespace latentkit {
namespace {

constexpr int kThreadsPerBlock = 64;  // queries per thread block
constexpr float kLog2e = 1.4426950408889634f;

__device__ inline float toFloat(float x) { return x; }
__device__ inline float toFloat(__half x) { return __half2float(x); }
template <class T> __device__ inline T fromFloat(float x);
template <> __device__ inline float fromFloat<float>(float x) { return x; }
template <> __device__ inline __half fromFloat<__half>(float x) { return __float2half_rn(x); }

// HEAD_DIM_MAX bounds d at compile time so the query row and accumulator live in registers;
// KEY_TILE · HEAD_DIM_MAX = 4096 keeps the two shared tiles at 32 KB.
template <class T, int HEAD_DIM_MAX>
__global__ void __launch_bounds__(kThreadsPerBlock)
    flashAttentionKernel(const T* __restrict__ query, const T* __restrict__ key, const T* __restrict__ value,
                         T* __restrict__ output, const uint8_t* __restrict__ keyMask, int64_t heads,
                         int64_t queryLength, int64_t keyLength, int headDim, float scale) {
  constexpr int KEY_TILE = 4096 / HEAD_DIM_MAX;
  __shared__ float keyTile[KEY_TILE][HEAD_DIM_MAX];
  __shared__ float valueTile[KEY_TILE][HEAD_DIM_MAX];
  __shared__ bool keepTile[KEY_TILE];

  // Columns past headDim are never loaded but are read by the fixed-width dot products below:
  // zero them once so they contribute 0, not whatever shared memory held.
  for (int index = threadIdx.x; index < KEY_TILE * HEAD_DIM_MAX; index += kThreadsPerBlock) {
    (&keyTile[0][0])[index] = 0.0f;
    (&valueTile[0][0])[index] = 0.0f;
  }

  const int64_t b = blockIdx.z;
  const int64_t h = blockIdx.y;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kThreadsPerBlock + threadIdx.x;
  const bool active = row < queryLength;
  const int64_t stride = heads * headDim;

  float q[HEAD_DIM_MAX];
  float o[HEAD_DIM_MAX];
  const float queryScale = scale * kLog2e;
#pragma unroll
  for (int c = 0; c < HEAD_DIM_MAX; ++c) {
    q[c] = (active && c < headDim) ? toFloat(query[(b * queryLength + row) * stride + h * headDim + c]) * queryScale
                                   : 0.0f;
    o[c] = 0.0f;
  }
  float runningMax = -INFINITY;
  float runningSum = 0.0f;

  const T* keyBase = key + b * keyLength * stride + h * headDim;
  const T* valueBase = value + b * keyLength * stride + h * headDim;
  for (int64_t keyStart = 0; keyStart < keyLength; keyStart += KEY_TILE) {
    const int keys = static_cast<int>(keyLength - keyStart < KEY_TILE ? keyLength - keyStart : KEY_TILE);
    __syncthreads();
    for (int index = threadIdx.x; index < keys * headDim; index += kThreadsPerBlock) {
      const int j = index / headDim;
      const int c = index - j * headDim;
      keyTile[j][c] = toFloat(keyBase[(keyStart + j) * stride + c]);
      valueTile[j][c] = toFloat(valueBase[(keyStart + j) * stride + c]);
    }
    for (int j = threadIdx.x; j < keys; j += kThreadsPerBlock) {
      keepTile[j] = keyMask == nullptr || keyMask[b * keyLength + keyStart + j] != 0;
    }
    __syncthreads();

    float scores[KEY_TILE];
    float tileMax = runningMax;
    for (int j = 0; j < keys; ++j) {
      float s = 0.0f;
#pragma unroll
      for (int c = 0; c < HEAD_DIM_MAX; ++c) s += q[c] * keyTile[j][c];  // q[c] = 0 past headDim
      scores[j] = keepTile[j] ? s : -INFINITY;
      tileMax = fmaxf(tileMax, scores[j]);
    }
    const float reference = tileMax == -INFINITY ? 0.0f : tileMax;
    const float alpha = exp2f(runningMax - reference);
    float sum = 0.0f;
#pragma unroll
    for (int c = 0; c < HEAD_DIM_MAX; ++c) o[c] *= alpha;
    for (int j = 0; j < keys; ++j) {
      const float p = exp2f(scores[j] - reference);
      sum += p;
#pragma unroll
      for (int c = 0; c < HEAD_DIM_MAX; ++c) o[c] += p * valueTile[j][c];
    }
    runningSum = runningSum * alpha + sum;
    runningMax = tileMax;
  }

  if (!active) return;
  const float inverse = runningSum > 0.0f ? 1.0f / runningSum : 0.0f;
  T* outputRow = output + (b * queryLength + row) * stride + h * headDim;
#pragma unroll
  for (int c = 0; c < HEAD_DIM_MAX; ++c) {
    if (c < headDim) outputRow[c] = fromFloat<T>(o[c] * inverse);
  }
}

template <class T>
cudaError_t launch(const CudaAttentionProblem& p, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((p.queryLength + kThreadsPerBlock - 1) / kThreadsPerBlock),
                  static_cast<unsigned>(p.heads), static_cast<unsigned>(p.batch));
  const T* q = static_cast<const T*>(p.query);
  const T* k = static_cast<const T*>(p.key);
  const T* v = static_cast<const T*>(p.value);
  T* out = static_cast<T*>(p.output);
  const int d = static_cast<int>(p.headDim);
  if (d <= 64) {
    flashAttentionKernel<T, 64><<<grid, kThreadsPerBlock, 0, stream>>>(q, k, v, out, p.keyMask, p.heads, p.queryLength, p.keyLength, d, p.scale);
  } else if (d <= 128) {
    flashAttentionKernel<T, 128><<<grid, kThreadsPerBlock, 0, stream>>>(q, k, v, out, p.keyMask, p.heads, p.queryLength, p.keyLength, d, p.scale);
  } else {
    flashAttentionKernel<T, 256><<<grid, kThreadsPerBlock, 0, stream>>>(q, k, v, out, p.keyMask, p.heads, p.queryLength, p.keyLength, d, p.scale);
  }
  return cudaGetLastError();
}

std::string describe(const char* step, cudaError_t error) {
  return std::string("CUDA ") + step + " failed: " + cudaGetErrorName(error) + " (" + cudaGetErrorString(error) + ")";
}

std::string requireDevice() {
  int count = 0;
  const cudaError_t error = cudaGetDeviceCount(&count);
  if (error != cudaSuccess) return "no usable CUDA device: " + describe("cudaGetDeviceCount", error);
  if (count == 0) return "no CUDA device is present";
  return "";
}

// Device memory released on every path out of cudaMultiHeadAttentionFromHost.
struct DeviceBuffer {
  void* pointer = nullptr;
  ~DeviceBuffer() {
    if (pointer != nullptr) cudaFree(pointer);
  }
};

}  // namespace

CudaStatus cudaStatus() {
  CudaStatus status;
  status.compiled = true;
  cudaRuntimeGetVersion(&status.runtimeVersion);
  int count = 0;
  const cudaError_t error = cudaGetDeviceCount(&count);
  if (error != cudaSuccess) {
    status.error = describe("cudaGetDeviceCount", error);
    cudaGetLastError();  // clear the sticky error so later calls report their own
    return status;
  }
  status.deviceCount = count;
  if (count == 0) status.error = "no CUDA device is present";
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp properties{};
    if (cudaGetDeviceProperties(&properties, i) != cudaSuccess) continue;
    status.devices.push_back({properties.name, properties.major, properties.minor, properties.totalGlobalMem});
  }
  return status;
}

std::string cudaMultiHeadAttentionOnDevice(const CudaAttentionProblem& p, void* stream) {
  const std::string missing = requireDevice();
  if (!missing.empty()) return missing;
  if (p.queryLength == 0) return "";
  const cudaStream_t cudaStream = static_cast<cudaStream_t>(stream);
  const cudaError_t error = p.elementType == CudaElementType::Float16 ? launch<__half>(p, cudaStream)
                                                                      : launch<float>(p, cudaStream);
  return error == cudaSuccess ? "" : describe("kernel launch", error);
}

std::string cudaMultiHeadAttentionFromHost(const CudaAttentionProblem& p) {
  const std::string missing = requireDevice();
  if (!missing.empty()) return missing;
  const size_t element = p.elementType == CudaElementType::Float16 ? 2 : 4;
  const size_t stride = static_cast<size_t>(p.heads * p.headDim);
  const size_t queryBytes = static_cast<size_t>(p.batch * p.queryLength) * stride * element;
  const size_t keyBytes = static_cast<size_t>(p.batch * p.keyLength) * stride * element;
  const size_t maskBytes = p.keyMask != nullptr ? static_cast<size_t>(p.batch * p.keyLength) : 0;
  DeviceBuffer q, k, v, out, mask;
  cudaError_t error;
  if ((error = cudaMalloc(&q.pointer, queryBytes + 1)) != cudaSuccess) return describe("cudaMalloc", error);
  if ((error = cudaMalloc(&k.pointer, keyBytes)) != cudaSuccess) return describe("cudaMalloc", error);
  if ((error = cudaMalloc(&v.pointer, keyBytes)) != cudaSuccess) return describe("cudaMalloc", error);
  if ((error = cudaMalloc(&out.pointer, queryBytes + 1)) != cudaSuccess) return describe("cudaMalloc", error);
  if (maskBytes > 0 && (error = cudaMalloc(&mask.pointer, maskBytes)) != cudaSuccess) return describe("cudaMalloc", error);
  const cudaMemcpyKind up = cudaMemcpyHostToDevice;
  if ((error = cudaMemcpy(q.pointer, p.query, queryBytes, up)) != cudaSuccess) return describe("cudaMemcpy", error);
  if ((error = cudaMemcpy(k.pointer, p.key, keyBytes, up)) != cudaSuccess) return describe("cudaMemcpy", error);
  if ((error = cudaMemcpy(v.pointer, p.value, keyBytes, up)) != cudaSuccess) return describe("cudaMemcpy", error);
  if (maskBytes > 0 && (error = cudaMemcpy(mask.pointer, p.keyMask, maskBytes, up)) != cudaSuccess) {
    return describe("cudaMemcpy", error);
  }
  CudaAttentionProblem onDevice = p;
  onDevice.query = q.pointer;
  onDevice.key = k.pointer;
  onDevice.value = v.pointer;
  onDevice.output = out.pointer;
  onDevice.keyMask = static_cast<const uint8_t*>(mask.pointer);
  const std::string launched = cudaMultiHeadAttentionOnDevice(onDevice, nullptr);
  if (!launched.empty()) return launched;
  if ((error = cudaDeviceSynchronize()) != cudaSuccess) return describe("kernel", error);
  if ((error = cudaMemcpy(p.output, out.pointer, queryBytes, cudaMemcpyDeviceToHost)) != cudaSuccess) {
    return describe("cudaMemcpy", error);
  }
  return "";
}

}  // namespace latentkit
