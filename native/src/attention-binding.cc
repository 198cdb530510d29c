// JS bindings of the CPU attention kernel: a synchronous call and an asynchronous one that runs
// the same kernel off the event loop (src/async-call.h). Arguments (positional, assembled by
// src/multi-head-attention.ts):
//   (query, key, value, output, keyMask | null, batch, heads, headDim, scale)
// The asynchronous call also accepts output = null: it then allocates the result itself.
// attentionProbabilities: (query, key, output, keyMask | null, batch, heads, headDim, scale),
// assembled by src/attention-probabilities.ts.
#include <napi.h>

#include <memory>
#include <new>
#include <string>

#include "argument-checks.h"
#include "async-call.h"
#include "attention-probabilities.h"
#include "attention.h"
#include "bindings.h"

namespace latentkit {
namespace {

struct AttentionArguments {
  AttentionProblem problem;
  Napi::Float32Array query, key, value, output;
  Napi::Uint8Array keyMask;
  bool hasMask = false;
  bool hasOutput = false;
};

// Q is [batch, queryLength, heads·headDim] and K is [batch, keyLength ≥ 1, heads·headDim]: their
// element counts must be multiples of batch·heads·headDim (K's a positive one). Throws naming both.
void checkQueryKeyLayout(Napi::Env env, const char* function, int64_t batch, int64_t heads, int64_t headDim,
                         int64_t perSequence, int64_t queryElements, int64_t keyElements) {
  const std::string layout = "batch·heads·headDim = " + std::to_string(batch) + "·" + std::to_string(heads) + "·" +
                             std::to_string(headDim) + " = " + std::to_string(perSequence);
  if (queryElements % perSequence != 0) {
    throwRangeError(env, std::string(function) + ": query has " + std::to_string(queryElements) +
                             " elements, which is not a multiple of " + layout +
                             "; query must be [batch, queryLength, heads·headDim]");
  }
  if (keyElements == 0 || keyElements % perSequence != 0) {
    throwRangeError(env, std::string(function) + ": key has " + std::to_string(keyElements) +
                             " elements; expected a positive multiple of " + layout +
                             " (key must be [batch, keyLength ≥ 1, heads·headDim])");
  }
}

AttentionArguments readAttentionArguments(const Napi::CallbackInfo& info, const char* function,
                                          bool outputOptional = false) {
  Napi::Env env = info.Env();
  if (info.Length() != 9) {
    throwTypeError(env, std::string(function) + ": expected 9 arguments (query, key, value, output, keyMask, batch, "
                                                "heads, headDim, scale), received " + std::to_string(info.Length()));
  }
  AttentionArguments args{};
  readTypedArray(info, 0, napi_float32_array, "Float32Array", function, "query", false, &args.query);
  readTypedArray(info, 1, napi_float32_array, "Float32Array", function, "key", false, &args.key);
  readTypedArray(info, 2, napi_float32_array, "Float32Array", function, "value", false, &args.value);
  args.hasOutput =
      readTypedArray(info, 3, napi_float32_array, "Float32Array", function, "output", outputOptional, &args.output);
  args.hasMask = readTypedArray(info, 4, napi_uint8_array, "Uint8Array", function, "keyMask", true, &args.keyMask);
  const int64_t batch = readInteger(info, 5, function, "batch", 1, int64_t{1} << 31);
  const int64_t heads = readInteger(info, 6, function, "heads", 1, int64_t{1} << 20);
  const int64_t headDim = readInteger(info, 7, function, "headDim", 1, kMaxHeadDim);
  const double scale = readFiniteNumber(info, 8, function, "scale");

  const int64_t rowWidth = checkedProduct(env, function, heads, headDim);
  const int64_t perSequence = checkedProduct(env, function, batch, rowWidth);
  const int64_t queryElements = static_cast<int64_t>(args.query.ElementLength());
  const int64_t keyElements = static_cast<int64_t>(args.key.ElementLength());
  checkQueryKeyLayout(env, function, batch, heads, headDim, perSequence, queryElements, keyElements);
  if (static_cast<int64_t>(args.value.ElementLength()) != keyElements) {
    throwRangeError(env, std::string(function) + ": value has " + std::to_string(args.value.ElementLength()) +
                             " elements but key has " + std::to_string(keyElements) + "; they must match");
  }
  if (args.hasOutput && static_cast<int64_t>(args.output.ElementLength()) != queryElements) {
    throwRangeError(env, std::string(function) + ": output has " + std::to_string(args.output.ElementLength()) +
                             " elements but query has " + std::to_string(queryElements) + "; they must match");
  }
  const int64_t keyLength = keyElements / perSequence;
  if (args.hasMask && static_cast<int64_t>(args.keyMask.ElementLength()) != batch * keyLength) {
    throwRangeError(env, std::string(function) + ": keyMask has " + std::to_string(args.keyMask.ElementLength()) +
                             " elements; expected batch·keyLength = " + std::to_string(batch * keyLength));
  }
  // The kernel reads K and V while other threads write the output; the rows of Q are read
  // before their output rows are written, but overlapping buffers are refused all the same.
  if (args.hasOutput && (overlaps(args.output, args.query) || overlaps(args.output, args.key) ||
                         overlaps(args.output, args.value) || (args.hasMask && overlaps(args.output, args.keyMask)))) {
    throwRangeError(env, std::string(function) + ": output shares memory with an input; pass a separate array");
  }

  args.problem.query = args.query.Data();
  args.problem.key = args.key.Data();
  args.problem.value = args.value.Data();
  args.problem.output = args.hasOutput ? args.output.Data() : nullptr;
  args.problem.keyMask = args.hasMask ? args.keyMask.Data() : nullptr;
  args.problem.batch = batch;
  args.problem.heads = heads;
  args.problem.queryLength = queryElements / perSequence;
  args.problem.keyLength = keyLength;
  args.problem.headDim = headDim;
  args.problem.scale = static_cast<float>(scale);
  return args;
}

Napi::Value multiHeadAttentionSync(const Napi::CallbackInfo& info) {
  AttentionArguments args = readAttentionArguments(info, "multiHeadAttention");
  try {
    multiHeadAttention(args.problem);
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(info.Env(), "multiHeadAttention: out of memory for the per-thread scratch buffers");
  }
  return args.output;
}

// The asynchronous call. JavaScript runs while the kernel does, and may transfer (detach) any
// ArrayBuffer it can reach, which frees or moves its memory; so the call never keeps a pointer
// into such memory: the inputs are copied at call time (once per distinct array), the kernel
// writes into memory of its own, and the result is copied into `output` on the JS thread only if
// `output` is still attached (the promise is rejected with a TypeError otherwise). Arrays on a
// SharedArrayBuffer, which cannot be detached, are used in place; without `output` the result
// is a new array built on the kernel's memory (no copy).
class AttentionCall : public AsyncCall {
 public:
  AttentionCall(const Napi::CallbackInfo& info, const AttentionArguments& args, const char* function)
      : problem_(args.problem) {
    Napi::Env env = info.Env();
    try {
      query_.take(env, args.query, function, "query");
      key_.take(env, args.key, function, "key", {&query_});
      value_.take(env, args.value, function, "value", {&query_, &key_});
      if (args.hasMask) mask_.take(env, args.keyMask, function, "keyMask");
      output_.take(env, info[3], napi_float32_array, args.query.ElementLength(), sizeof(float), function,
                    "the output array (options.out)");
    } catch (...) {
      release(env);  // drop the references taken so far; the copies free themselves
      throw;
    }
    problem_.query = static_cast<const float*>(query_.data());
    problem_.key = static_cast<const float*>(key_.data());
    problem_.value = static_cast<const float*>(value_.data());
    problem_.keyMask = args.hasMask ? static_cast<const uint8_t*>(mask_.data()) : nullptr;
    problem_.output = static_cast<float*>(output_.data());
  }

  std::string execute() noexcept override {
    try {
      multiHeadAttention(problem_);
      return "";
    } catch (const std::bad_alloc&) {
      return "multiHeadAttentionAsync: out of memory for the per-thread scratch buffers";
    } catch (...) {
      return "multiHeadAttentionAsync: the kernel failed";
    }
  }

  std::string settle(napi_env env, napi_value* result) noexcept override { return output_.finish(env, result); }
  bool settleErrorIsTypeError() const noexcept override { return true; }

  void release(napi_env env) noexcept override {
    query_.release(env);
    key_.release(env);
    value_.release(env);
    mask_.release(env);
    output_.release(env);
  }

 private:
  AttentionProblem problem_;
  ReadOnlyInput query_, key_, value_, mask_;
  WritableOutput output_;
};

Napi::Value multiHeadAttentionAsync(const Napi::CallbackInfo& info) {
  const char* function = "multiHeadAttentionAsync";
  AttentionArguments args = readAttentionArguments(info, function, /*outputOptional=*/true);
  auto call = std::make_unique<AttentionCall>(info, args, function);
  return queueAsyncCall(info.Env(), std::move(call), "latentkit:multiHeadAttention");
}

// Head-averaged probabilities [batch, Nq, Nk] for short key sequences; every length is checked
// before any memory is read.
Napi::Value attentionProbabilitiesSync(const Napi::CallbackInfo& info) {
  const char* function = "attentionProbabilities";
  Napi::Env env = info.Env();
  if (info.Length() != 8) {
    throwTypeError(env, std::string(function) + ": expected 8 arguments (query, key, output, keyMask, batch, heads, "
                                                "headDim, scale), received " + std::to_string(info.Length()));
  }
  Napi::Float32Array query, key, output;
  Napi::Uint8Array keyMask;
  readTypedArray(info, 0, napi_float32_array, "Float32Array", function, "query", false, &query);
  readTypedArray(info, 1, napi_float32_array, "Float32Array", function, "key", false, &key);
  readTypedArray(info, 2, napi_float32_array, "Float32Array", function, "output", false, &output);
  const bool hasMask = readTypedArray(info, 3, napi_uint8_array, "Uint8Array", function, "keyMask", true, &keyMask);
  const int64_t batch = readInteger(info, 4, function, "batch", 1, int64_t{1} << 31);
  const int64_t heads = readInteger(info, 5, function, "heads", 1, int64_t{1} << 20);
  const int64_t headDim = readInteger(info, 6, function, "headDim", 1, kMaxHeadDim);
  const double scale = readFiniteNumber(info, 7, function, "scale");

  const int64_t perSequence = checkedProduct(env, function, batch, checkedProduct(env, function, heads, headDim));
  const int64_t queryElements = static_cast<int64_t>(query.ElementLength());
  const int64_t keyElements = static_cast<int64_t>(key.ElementLength());
  checkQueryKeyLayout(env, function, batch, heads, headDim, perSequence, queryElements, keyElements);
  const int64_t queryLength = queryElements / perSequence;
  const int64_t keyLength = keyElements / perSequence;
  if (keyLength > kMaxProbabilityKeys) {
    throwRangeError(env, std::string(function) + ": key length " + std::to_string(keyLength) + " is above " +
                             std::to_string(kMaxProbabilityKeys) +
                             "; capture cross-attention (77 text tokens), not self-attention");
  }
  const int64_t outputElements = checkedProduct(env, function, checkedProduct(env, function, batch, queryLength), keyLength);
  if (static_cast<int64_t>(output.ElementLength()) != outputElements) {
    throwRangeError(env, std::string(function) + ": output has " + std::to_string(output.ElementLength()) +
                             " elements; expected batch·queryLength·keyLength = " + std::to_string(outputElements));
  }
  if (hasMask && static_cast<int64_t>(keyMask.ElementLength()) != batch * keyLength) {
    throwRangeError(env, std::string(function) + ": keyMask has " + std::to_string(keyMask.ElementLength()) +
                             " elements; expected batch·keyLength = " + std::to_string(batch * keyLength));
  }
  if (overlaps(output, query) || overlaps(output, key) || (hasMask && overlaps(output, keyMask))) {
    throwRangeError(env, std::string(function) + ": output shares memory with an input; pass a separate array");
  }
  ProbabilityProblem problem{query.Data(), key.Data(), output.Data(), hasMask ? keyMask.Data() : nullptr,
                             batch, heads, queryLength, keyLength, headDim, scale};
  attentionProbabilities(problem);
  return output;
}

// setAttentionPath('auto' | 'packed' | 'in-place'): the test and benchmark knob of attention.h.
Napi::Value setAttentionPathBinding(const Napi::CallbackInfo& info) {
  const Napi::Value value = info[0];
  const std::string name = value.IsString() ? value.As<Napi::String>().Utf8Value() : std::string();
  AttentionPath path = AttentionPath::Auto;
  if (name == "auto") {
    path = AttentionPath::Auto;
  } else if (name == "packed") {
    path = AttentionPath::Packed;
  } else if (name == "in-place") {
    path = AttentionPath::InPlace;
  } else {
    throwTypeError(info.Env(), "setAttentionPath: expected 'auto', 'packed' or 'in-place', received " +
                                   (value.IsString() ? "'" + name + "'" : describeJsValue(value)));
  }
  setAttentionPath(path);
  return Napi::String::New(info.Env(), name);
}

Napi::Value kernelName(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), attentionKernelName());
}

}  // namespace

void registerAttention(Napi::Env env, Napi::Object exports) {
  exports.Set("multiHeadAttention", Napi::Function::New(env, multiHeadAttentionSync, "multiHeadAttention"));
  exports.Set("multiHeadAttentionAsync",
              Napi::Function::New(env, multiHeadAttentionAsync, "multiHeadAttentionAsync"));
  exports.Set("attentionKernel", Napi::Function::New(env, kernelName, "attentionKernel"));
  exports.Set("setAttentionPath", Napi::Function::New(env, setAttentionPathBinding, "setAttentionPath"));
  exports.Set("attentionProbabilities",
              Napi::Function::New(env, attentionProbabilitiesSync, "attentionProbabilities"));
}

}  // namespace latentkit
