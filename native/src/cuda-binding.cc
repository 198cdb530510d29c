// JS bindings of the CUDA entry points: cudaInfo() and cudaMultiHeadAttention(...). They never
// crash without a device: every failure comes back as a JS Error naming the CUDA call.
#include <napi.h>

#include <string>

#include "argument-checks.h"
#include "attention.h"
#include "bindings.h"
#include "cuda-attention.h"

namespace latentkit {
namespace {

Napi::Value cudaInfoBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const CudaStatus status = cudaStatus();
  Napi::Object result = Napi::Object::New(env);
  result.Set("compiled", status.compiled);
  result.Set("runtimeVersion", status.runtimeVersion);
  result.Set("deviceCount", status.deviceCount);
  Napi::Array devices = Napi::Array::New(env, status.devices.size());
  for (size_t i = 0; i < status.devices.size(); ++i) {
    Napi::Object device = Napi::Object::New(env);
    device.Set("name", status.devices[i].name);
    device.Set("computeCapability",
               std::to_string(status.devices[i].computeMajor) + "." + std::to_string(status.devices[i].computeMinor));
    device.Set("totalMemory", static_cast<double>(status.devices[i].totalMemory));
    devices.Set(static_cast<uint32_t>(i), device);
  }
  result.Set("devices", devices);
  if (!status.error.empty()) result.Set("error", status.error);
  return result;
}

// (query, key, value, output, keyMask | null, batch, heads, headDim, scale): all four tensors
// Float32Array (float32) or all Uint16Array (float16 bits).
Napi::Value cudaMultiHeadAttentionBinding(const Napi::CallbackInfo& info) {
  const char* f = "cudaMultiHeadAttention";
  Napi::Env env = info.Env();
  if (info.Length() != 9) {
    throwTypeError(env, std::string(f) + ": expected 9 arguments (query, key, value, output, keyMask, batch, heads, "
                                         "headDim, scale), received " + std::to_string(info.Length()));
  }
  const bool half = info[0].IsTypedArray() && info[0].As<Napi::TypedArray>().TypedArrayType() == napi_uint16_array;
  const napi_typedarray_type type = half ? napi_uint16_array : napi_float32_array;
  const char* typeName = half ? "Uint16Array (float16, like query)" : "Float32Array";
  Napi::TypedArray query, key, value, output;
  Napi::Uint8Array keyMask;
  readTypedArray(info, 0, type, typeName, f, "query", false, &query);
  readTypedArray(info, 1, type, typeName, f, "key", false, &key);
  readTypedArray(info, 2, type, typeName, f, "value", false, &value);
  readTypedArray(info, 3, type, typeName, f, "output", false, &output);
  const bool hasMask = readTypedArray(info, 4, napi_uint8_array, "Uint8Array", f, "keyMask", true, &keyMask);
  // batch and heads become grid dimensions z and y, which CUDA caps at 65535.
  const int64_t batch = readInteger(info, 5, f, "batch", 1, 65535);
  const int64_t heads = readInteger(info, 6, f, "heads", 1, 65535);
  const int64_t headDim = readInteger(info, 7, f, "headDim", 1, kMaxHeadDim);
  const double scale = readFiniteNumber(info, 8, f, "scale");
  const int64_t perSequence = checkedProduct(env, f, batch, checkedProduct(env, f, heads, headDim));
  const int64_t queryElements = static_cast<int64_t>(query.ElementLength());
  const int64_t keyElements = static_cast<int64_t>(key.ElementLength());
  if (queryElements % perSequence != 0 || keyElements == 0 || keyElements % perSequence != 0 ||
      static_cast<int64_t>(value.ElementLength()) != keyElements ||
      static_cast<int64_t>(output.ElementLength()) != queryElements) {
    throwRangeError(env, std::string(f) + ": expected query and output of batch·N·heads·headDim elements and key, value"
                                          " of batch·Nk·heads·headDim (Nk ≥ 1) with batch·heads·headDim = " +
                             std::to_string(perSequence) + "; received query " + std::to_string(queryElements) +
                             ", key " + std::to_string(keyElements) + ", value " +
                             std::to_string(value.ElementLength()) + ", output " + std::to_string(output.ElementLength()));
  }
  const int64_t keyLength = keyElements / perSequence;
  if (hasMask && static_cast<int64_t>(keyMask.ElementLength()) != batch * keyLength) {
    throwRangeError(env, std::string(f) + ": keyMask has " + std::to_string(keyMask.ElementLength()) +
                             " elements; expected batch·keyLength = " + std::to_string(batch * keyLength));
  }
  if (overlaps(output, query) || overlaps(output, key) || overlaps(output, value)) {
    throwRangeError(env, std::string(f) + ": output shares memory with an input; pass a separate array");
  }
  CudaAttentionProblem problem{};
  problem.query = bytesBegin(query);
  problem.key = bytesBegin(key);
  problem.value = bytesBegin(value);
  problem.output = const_cast<uint8_t*>(bytesBegin(output));
  problem.keyMask = hasMask ? keyMask.Data() : nullptr;
  problem.elementType = half ? CudaElementType::Float16 : CudaElementType::Float32;
  problem.batch = batch;
  problem.heads = heads;
  problem.queryLength = queryElements / perSequence;
  problem.keyLength = keyLength;
  problem.headDim = headDim;
  problem.scale = static_cast<float>(scale);
  const std::string error = cudaMultiHeadAttentionFromHost(problem);
  if (!error.empty()) throw Napi::Error::New(env, std::string(f) + ": " + error);
  return output;
}

}  // namespace

void registerCuda(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaInfo", Napi::Function::New(env, cudaInfoBinding, "cudaInfo"));
  exports.Set("cudaMultiHeadAttention", Napi::Function::New(env, cudaMultiHeadAttentionBinding, "cudaMultiHeadAttention"));
}

}  // namespace latentkit
