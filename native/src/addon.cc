// @latentkit/native: the module's entry point. The JS side (src/load-addon.ts) loads this file
// and wraps each function with typed, documented entry points.
#include <napi.h>

#include "bindings.h"
#include "cpu-features.h"
#include "thread-pool.h"

namespace latentkit {
namespace {

Napi::Value describeBuild(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("simd", simdLevelName(activeSimdLevel()));
  result.Set("detectedSimd", simdLevelName(detectedSimdLevel()));
  result.Set("f16c", hasF16c());
  result.Set("threads", threadCount());
  return result;
}

}  // namespace
}  // namespace latentkit

// NODE_API_MODULE pastes the name into an identifier, so the entry point is unqualified.
static Napi::Object initLatentkitNative(Napi::Env env, Napi::Object exports) {
  using namespace latentkit;
  exports.Set("describeBuild", Napi::Function::New(env, describeBuild, "describeBuild"));
  registerAttention(env, exports);
  registerElementwise(env, exports);
  registerCuda(env, exports);
  return exports;
}

NODE_API_MODULE(latentkit_native, initLatentkitNative)
