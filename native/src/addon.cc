// @latentkit/native: the module's entry point. The JS side (src/load-addon.ts) loads this file
// and wraps each function with typed, documented entry points.
#include <napi.h>

#include <string>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "async-call.h"
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
  const EnvironmentState* state = environmentState(env);
  result.Set("pendingAsyncCalls", state != nullptr ? static_cast<double>(state->pendingCalls) : 0.0);
  return result;
}

// setSimdLevel('avx512' | 'avx2' | 'scalar'): for tests and benchmarks; returns the level applied.
Napi::Value setSimdLevelBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string name = info.Length() == 1 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  SimdLevel wanted;
  if (name == "avx512") wanted = SimdLevel::Avx512;
  else if (name == "avx2") wanted = SimdLevel::Avx2;
  else if (name == "scalar") wanted = SimdLevel::Portable;
  else throw Napi::TypeError::New(env, "setSimdLevel: expected 'avx512', 'avx2' or 'scalar'");
  return Napi::String::New(env, simdLevelName(setSimdLevel(wanted)));
}

// releaseFreedMemory(): glibc keeps freed heap memory mapped for reuse (tens of MB after an
// onnxruntime session is released); malloc_trim(0) returns those pages to the OS. Returns whether
// any memory was released; false where the C library is not glibc.
Napi::Value releaseFreedMemory(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__)
  return Napi::Boolean::New(info.Env(), malloc_trim(0) != 0);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

// cHeapStatistics(): glibc's own count of the C heap (mallinfo2), or undefined elsewhere. Live
// bytes (inUse + mapped) move only with real allocations, so a leak shows there even when freed
// pages kept or returned by the allocator make the resident size noisy.
Napi::Value cHeapStatistics(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  const struct mallinfo2 heap = mallinfo2();
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("inUseBytes", static_cast<double>(heap.uordblks));
  result.Set("mappedBytes", static_cast<double>(heap.hblkhd));
  result.Set("freeBytes", static_cast<double>(heap.fordblks));
  result.Set("arenaBytes", static_cast<double>(heap.arena));
  return result;
#else
  return info.Env().Undefined();
#endif
}

}  // namespace
}  // namespace latentkit

// NODE_API_MODULE pastes the name into an identifier, so the entry point is unqualified.
// Node-API modules are context-aware: this runs once per environment (the main thread and each
// worker thread that loads the addon), and everything it creates belongs to that environment.
// What is shared by the whole process is immutable after first use (CPU features, thread count)
// or thread-safe (the kernel thread pool, the SIMD override); see README "Worker threads".
static Napi::Object initLatentkitNative(Napi::Env env, Napi::Object exports) {
  using namespace latentkit;
  initEnvironmentState(env);
  exports.Set("describeBuild", Napi::Function::New(env, describeBuild, "describeBuild"));
  exports.Set("setSimdLevel", Napi::Function::New(env, setSimdLevelBinding, "setSimdLevel"));
  exports.Set("releaseFreedMemory", Napi::Function::New(env, releaseFreedMemory, "releaseFreedMemory"));
  exports.Set("cHeapStatistics", Napi::Function::New(env, cHeapStatistics, "cHeapStatistics"));
  registerAttention(env, exports);
  registerElementwise(env, exports);
  registerCuda(env, exports);
  return exports;
}

NODE_API_MODULE(latentkit_native, initLatentkitNative)
