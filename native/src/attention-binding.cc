// JS bindings of the CPU attention kernel: a synchronous call and an AsyncWorker that runs the
// same kernel off the event loop. Arguments (positional, assembled by src/attention.ts):
//   (query, key, value, output, keyMask | null, batch, heads, headDim, scale)
#include <napi.h>

#include <new>
#include <string>

#include "argument-checks.h"
#include "attention.h"
#include "bindings.h"

namespace latentkit {
namespace {

struct AttentionArguments {
  AttentionProblem problem;
  Napi::Float32Array query, key, value, output;
  Napi::Uint8Array keyMask;
  bool hasMask = false;
};

AttentionArguments readAttentionArguments(const Napi::CallbackInfo& info, const char* function) {
  Napi::Env env = info.Env();
  if (info.Length() != 9) {
    throwTypeError(env, std::string(function) + ": expected 9 arguments (query, key, value, output, keyMask, batch, "
                                                "heads, headDim, scale), received " + std::to_string(info.Length()));
  }
  AttentionArguments args{};
  readTypedArray(info, 0, napi_float32_array, "Float32Array", function, "query", false, &args.query);
  readTypedArray(info, 1, napi_float32_array, "Float32Array", function, "key", false, &args.key);
  readTypedArray(info, 2, napi_float32_array, "Float32Array", function, "value", false, &args.value);
  readTypedArray(info, 3, napi_float32_array, "Float32Array", function, "output", false, &args.output);
  args.hasMask = readTypedArray(info, 4, napi_uint8_array, "Uint8Array", function, "keyMask", true, &args.keyMask);
  const int64_t batch = readInteger(info, 5, function, "batch", 1, int64_t{1} << 31);
  const int64_t heads = readInteger(info, 6, function, "heads", 1, int64_t{1} << 20);
  const int64_t headDim = readInteger(info, 7, function, "headDim", 1, kMaxHeadDim);
  const double scale = readFiniteNumber(info, 8, function, "scale");

  const int64_t rowWidth = checkedProduct(env, function, heads, headDim);
  const int64_t perSequence = checkedProduct(env, function, batch, rowWidth);
  const int64_t queryElements = static_cast<int64_t>(args.query.ElementLength());
  const int64_t keyElements = static_cast<int64_t>(args.key.ElementLength());
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
  if (static_cast<int64_t>(args.value.ElementLength()) != keyElements) {
    throwRangeError(env, std::string(function) + ": value has " + std::to_string(args.value.ElementLength()) +
                             " elements but key has " + std::to_string(keyElements) + "; they must match");
  }
  if (static_cast<int64_t>(args.output.ElementLength()) != queryElements) {
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
  if (overlaps(args.output, args.query) || overlaps(args.output, args.key) || overlaps(args.output, args.value) ||
      (args.hasMask && overlaps(args.output, args.keyMask))) {
    throwRangeError(env, std::string(function) + ": output shares memory with an input; pass a separate array");
  }

  args.problem.query = args.query.Data();
  args.problem.key = args.key.Data();
  args.problem.value = args.value.Data();
  args.problem.output = args.output.Data();
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

// Holds a reference to every buffer it reads or writes until the kernel has finished, so the
// garbage collector cannot free them mid-flight; nothing is copied.
class AttentionWorker : public Napi::AsyncWorker {
 public:
  AttentionWorker(Napi::Env env, const AttentionArguments& args)
      : Napi::AsyncWorker(env, "latentkit:multiHeadAttention"),
        problem_(args.problem),
        deferred_(Napi::Promise::Deferred::New(env)),
        query_(Napi::Persistent(static_cast<Napi::Object>(args.query))),
        key_(Napi::Persistent(static_cast<Napi::Object>(args.key))),
        value_(Napi::Persistent(static_cast<Napi::Object>(args.value))),
        output_(Napi::Persistent(static_cast<Napi::Object>(args.output))) {
    if (args.hasMask) mask_ = Napi::Persistent(static_cast<Napi::Object>(args.keyMask));
  }

  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      multiHeadAttention(problem_);
    } catch (const std::bad_alloc&) {
      SetError("multiHeadAttentionAsync: out of memory for the per-thread scratch buffers");
    }
  }
  void OnOK() override { deferred_.Resolve(output_.Value()); }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  AttentionProblem problem_;
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference query_, key_, value_, output_, mask_;
};

Napi::Value multiHeadAttentionAsync(const Napi::CallbackInfo& info) {
  AttentionArguments args = readAttentionArguments(info, "multiHeadAttentionAsync");
  auto* worker = new AttentionWorker(info.Env(), args);
  Napi::Promise promise = worker->promise();
  worker->Queue();  // the worker deletes itself after OnOK/OnError
  return promise;
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
}

}  // namespace latentkit
