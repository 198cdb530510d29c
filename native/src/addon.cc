// @latentkit/native: the module's entry point. The JS side (src/load-addon.ts) loads this file
// and wraps each function with typed, documented entry points.
#include <napi.h>

#include <climits>
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

// setFreedMemoryRetention(retain): onnxruntime sessions without their own arena (the segments of a
// partitioned UNet) allocate each run's tensors afresh. glibc serves a block over its mmap threshold
// (128 KiB to 32 MiB) with a new mapping and unmaps it on free, so every run touches fresh pages:
// at 512² that is ~3 GB of page faults per UNet call (measured: a third of the call's time). While
// retained, every allocation comes from glibc's heaps (M_MMAP_MAX 0; glibc falls back to mmap on
// its own where a heap cannot grow) and freed memory stays mapped for the next run (M_TRIM_THRESHOLD
// at its largest), so memory is reused as one shared arena would reuse it. false restores glibc's
// defaults and returns the freed pages (malloc_trim). Process-wide; returns whether it applied
// (false where the C library is not glibc).
Napi::Value setFreedMemoryRetention(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsBoolean()) {
    throw Napi::TypeError::New(env, "setFreedMemoryRetention: expected one boolean (true: keep freed memory for reuse; false: glibc's defaults)");
  }
#if defined(__GLIBC__)
  const bool retain = info[0].As<Napi::Boolean>().Value();
  bool applied;
  if (retain) {
    applied = mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, INT_MAX) == 1;
  } else {
    // glibc's documented defaults: 65536 mappings at most, trim above 128 KiB.
    applied = mallopt(M_MMAP_MAX, 65536) == 1 && mallopt(M_TRIM_THRESHOLD, 128 * 1024) == 1;
    malloc_trim(0);
  }
  return Napi::Boolean::New(env, applied);
#else
  return Napi::Boolean::New(env, false);
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
  exports.Set("setFreedMemoryRetention", Napi::Function::New(env, setFreedMemoryRetention, "setFreedMemoryRetention"));
  registerAttention(env, exports);
  registerElementwise(env, exports);
  registerCuda(env, exports);
  return exports;
}

NODE_API_MODULE(latentkit_native, initLatentkitNative)
