// Native calls that run on the libuv pool and settle a promise, safe under environment teardown.
//
// Written on the raw N-API (not Napi::AsyncWorker) so that no C++ exception can cross the
// completion callback: when a worker thread is terminated, or calls process.exit, while a call
// is running, Node waits for the call during the environment's cleanup and then runs its
// completion callback in an environment that can no longer run JavaScript. Resolving the promise
// fails there; AsyncWorker turned that failure into a thrown Napi::Error and std::terminate
// (issue 17, SIGABRT). Here every N-API status is checked and a failure only drops the promise.
//
// Buffer lifetime: a call must not keep raw pointers into memory that JavaScript can detach
// (transfer) while the call runs. `ReadOnlyInput` and `WritableOutput` below copy such memory
// into memory the call owns, on the JS thread at call time, and copy the result back in the
// completion callback only if the destination is still attached (issue 17, SIGSEGV).
#pragma once
#include <napi.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>

namespace latentkit {

/** Per-environment state of the addon (napi instance data): one per main thread or worker. */
struct EnvironmentState {
  /** Calls queued in this environment whose completion has not run yet. */
  int64_t pendingCalls = 0;
  /** Set by the environment's cleanup hook: the environment is being torn down. */
  bool closing = false;
};

/** Creates this environment's state and registers its cleanup hook; call once from the module's init. */
void initEnvironmentState(Napi::Env env);

/** This environment's state (never null after initEnvironmentState). */
EnvironmentState* environmentState(napi_env env);

/**
 * One asynchronous native call. The constructor runs on the JS thread and takes what it needs
 * from the arguments (references, copies); `execute` runs on a libuv pool thread and must not
 * touch N-API; `settle` runs back on the JS thread, in a handle scope, only while the
 * environment can still run JavaScript.
 */
class AsyncCall {
 public:
  virtual ~AsyncCall() = default;
  /** On a pool thread. Returns "" on success or an error message. Must not throw. */
  virtual std::string execute() noexcept = 0;
  /**
   * On the JS thread after a successful execute: sets *result to the value to resolve with, or
   * returns a non-empty message (the promise is then rejected with a TypeError or Error, see
   * `settleErrorIsTypeError`). Must not throw.
   */
  virtual std::string settle(napi_env env, napi_value* result) noexcept = 0;
  /** Whether the message returned by `settle` describes a wrong kind of value (a TypeError). */
  virtual bool settleErrorIsTypeError() const noexcept { return false; }
  /** Drops every napi reference; called on the JS thread before the call is deleted. */
  virtual void release(napi_env env) noexcept = 0;
};

/**
 * Queues `call` on the libuv pool and returns its promise. Throws a Napi::Error (on the JS
 * thread, before anything is queued) if the work cannot be created.
 */
Napi::Value queueAsyncCall(Napi::Env env, std::unique_ptr<AsyncCall> call, const char* resourceName);

/**
 * A typed array an asynchronous call reads. Memory that JavaScript can detach (an ordinary
 * ArrayBuffer) is copied at call time; a SharedArrayBuffer cannot be detached, so it is read in
 * place while a reference keeps it alive. Either way the call sees the values as they were when
 * it was made (for a SharedArrayBuffer: as long as no other thread writes to it).
 */
class ReadOnlyInput {
 public:
  /**
   * Throws Napi::Error if the copy cannot be allocated. An input that is the same array as one of
   * `earlier` (e.g. self-attention with q = k = v) shares its copy.
   */
  void take(Napi::Env env, const Napi::TypedArray& array, const char* function, const char* name,
            std::initializer_list<const ReadOnlyInput*> earlier = {});
  const void* data() const { return data_; }
  void release(napi_env env) noexcept;

 private:
  const void* source_ = nullptr;  // the JS memory when taken, to recognise a repeated input; never read later
  size_t bytes_ = 0;
  const void* data_ = nullptr;
  std::shared_ptr<uint8_t> copy_;
  napi_ref shared_ = nullptr;
};

/**
 * The typed array an asynchronous call writes. A SharedArrayBuffer-backed output is written in
 * place; an ordinary ArrayBuffer-backed one is written through memory the call owns and copied
 * back on the JS thread, if it is still attached and the same length; `absent` (the caller gave
 * no output) makes the call allocate a new ArrayBuffer that no JavaScript can reach until the
 * promise resolves with it, so it is written in place.
 */
class WritableOutput {
 public:
  WritableOutput() = default;
  WritableOutput(const WritableOutput&) = delete;
  WritableOutput& operator=(const WritableOutput&) = delete;
  ~WritableOutput();
  /** Throws Napi::Error if memory cannot be allocated. `elementType` is the typed array type created when absent. */
  void take(Napi::Env env, const Napi::Value& array, napi_typedarray_type elementType, size_t elements,
            size_t elementBytes, const char* function, const char* name);
  void* data() const { return data_; }
  /** Copies back if needed and sets *result to the typed array; returns an error message when the array was detached. */
  std::string finish(napi_env env, napi_value* result) noexcept;
  void release(napi_env env) noexcept;

 private:
  std::string function_, name_;
  napi_typedarray_type elementType_ = napi_float32_array;
  size_t elements_ = 0, bytes_ = 0;
  napi_ref array_ = nullptr;
  void* data_ = nullptr;   // where the kernel writes
  void* owned_ = nullptr;  // memory this call allocated (std::free), or nullptr
  bool copyBack_ = false;
};

}  // namespace latentkit
