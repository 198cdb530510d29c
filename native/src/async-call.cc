#include "async-call.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace latentkit {
namespace {

// ---- per-environment state -------------------------------------------------------------------

void markClosing(void* data) { static_cast<EnvironmentState*>(data)->closing = true; }

void finalizeState(napi_env env, void* data, void* /*hint*/) {
  // The instance data goes away with the environment; the hook must not run after it.
  napi_remove_env_cleanup_hook(env, markClosing, data);
  delete static_cast<EnvironmentState*>(data);
}

// ---- owned memory ----------------------------------------------------------------------------

/** 64-byte aligned, uninitialised; nullptr when out of memory. Never throws. */
void* allocateBytes(size_t bytes) {
  const size_t rounded = (bytes + 63) / 64 * 64;
  return std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
}

[[noreturn]] void throwOutOfMemory(Napi::Env env, const char* function, const char* name, size_t bytes) {
  throw Napi::RangeError::New(env, std::string(function) + ": out of memory for the call's private copy of " + name +
                                       " (" + std::to_string(bytes) + " bytes)");
}

/** The typed array's memory and whether its buffer can be detached (an ArrayBuffer, not a SharedArrayBuffer). */
struct TypedArrayMemory {
  void* data = nullptr;
  size_t bytes = 0;
  bool detachable = true;
};

bool readMemory(napi_env env, napi_value array, TypedArrayMemory* memory) {
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void* data = nullptr;
  napi_value buffer = nullptr;
  if (napi_get_typedarray_info(env, array, &type, &length, &data, &buffer, &offset) != napi_ok) return false;
  size_t elementBytes = 1;
  switch (type) {
    case napi_int16_array: case napi_uint16_array: elementBytes = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: elementBytes = 4; break;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elementBytes = 8; break;
    default: break;
  }
  bool isArrayBuffer = true;
  if (napi_is_arraybuffer(env, buffer, &isArrayBuffer) != napi_ok) return false;
  memory->data = data;
  memory->bytes = length * elementBytes;
  // napi_is_arraybuffer is false only for a SharedArrayBuffer, which can grow but never be
  // detached or shrunk: its memory stays valid while a reference keeps the array alive.
  memory->detachable = isArrayBuffer;
  return true;
}

// ---- the pending call ------------------------------------------------------------------------

struct PendingCall {
  std::unique_ptr<AsyncCall> call;
  std::string name;
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  std::string error;
};

void executeCall(napi_env /*env: do not use off the JS thread*/, void* data) {
  auto* pending = static_cast<PendingCall*>(data);
  try {
    pending->error = pending->call->execute();
  } catch (...) {  // execute is noexcept; this only guards the string assignment
    pending->error = pending->name + ": the native call failed";
  }
}

napi_value makeError(napi_env env, const std::string& message, bool typeError) {
  napi_value text = nullptr, error = nullptr;
  if (napi_create_string_utf8(env, message.data(), message.size(), &text) != napi_ok) return nullptr;
  const napi_status status =
      typeError ? napi_create_type_error(env, nullptr, text, &error) : napi_create_error(env, nullptr, text, &error);
  return status == napi_ok ? error : nullptr;
}

// Runs on the JS thread, also while the environment is being torn down (worker terminate or
// process.exit in a worker: Node waits for pending work, then calls this with JavaScript
// disabled). Nothing here throws; a promise that cannot be settled any more is dropped.
void completeCall(napi_env env, napi_status status, void* data) {
  std::unique_ptr<PendingCall> pending(static_cast<PendingCall*>(data));
  EnvironmentState* state = environmentState(env);
  if (state != nullptr) state->pendingCalls -= 1;
  napi_handle_scope scope = nullptr;
  const bool scoped = napi_open_handle_scope(env, &scope) == napi_ok;
  try {
    if (scoped && (state == nullptr || !state->closing)) {
      std::string message = pending->error;
      bool typeError = false;
      napi_value result = nullptr;
      if (status == napi_cancelled) {
        message = pending->name + ": the call was cancelled before it ran";
      } else if (status != napi_ok && message.empty()) {
        message = pending->name + ": the native call could not complete (napi status " + std::to_string(status) + ")";
      } else if (message.empty()) {
        message = pending->call->settle(env, &result);
        typeError = !message.empty() && pending->call->settleErrorIsTypeError();
      }
      // Either call fails (napi_pending_exception / napi_cannot_run_js) once the environment
      // can no longer run JavaScript; there is nobody left to tell, so the failure is ignored.
      if (message.empty()) {
        napi_resolve_deferred(env, pending->deferred, result);
      } else {
        napi_value error = makeError(env, message, typeError);
        if (error != nullptr) napi_reject_deferred(env, pending->deferred, error);
      }
    }
  } catch (...) {  // std::bad_alloc from a message string: drop the promise rather than abort
  }
  pending->call->release(env);
  napi_delete_async_work(env, pending->work);
  if (scoped) napi_close_handle_scope(env, scope);
}

}  // namespace

void initEnvironmentState(Napi::Env env) {
  auto* state = new EnvironmentState();
  if (napi_set_instance_data(env, state, finalizeState, nullptr) != napi_ok) {
    delete state;
    throw Napi::Error::New(env, "@latentkit/native: could not attach the addon's per-environment state");
  }
  napi_add_env_cleanup_hook(env, markClosing, state);
}

EnvironmentState* environmentState(napi_env env) {
  void* data = nullptr;
  if (napi_get_instance_data(env, &data) != napi_ok) return nullptr;
  return static_cast<EnvironmentState*>(data);
}

Napi::Value queueAsyncCall(Napi::Env env, std::unique_ptr<AsyncCall> call, const char* resourceName) {
  auto pending = std::make_unique<PendingCall>();
  pending->name = resourceName;
  pending->call = std::move(call);
  napi_value promise = nullptr, name = nullptr;
  if (napi_create_promise(env, &pending->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, resourceName, NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, nullptr, name, executeCall, completeCall, pending.get(), &pending->work) != napi_ok) {
    pending->call->release(env);
    throw Napi::Error::New(env, std::string(resourceName) + ": could not create the asynchronous work");
  }
  if (napi_queue_async_work(env, pending->work) != napi_ok) {
    pending->call->release(env);
    napi_delete_async_work(env, pending->work);
    napi_value error = makeError(env, std::string(resourceName) + ": could not queue the asynchronous work", false);
    if (error != nullptr) napi_reject_deferred(env, pending->deferred, error);
    return Napi::Value(env, promise);
  }
  EnvironmentState* state = environmentState(env);
  if (state != nullptr) state->pendingCalls += 1;
  pending.release();  // completeCall owns it from here
  return Napi::Value(env, promise);
}

// ---- ReadOnlyInput ---------------------------------------------------------------------------

void ReadOnlyInput::take(Napi::Env env, const Napi::TypedArray& array, const char* function, const char* name,
                         std::initializer_list<const ReadOnlyInput*> earlier) {
  TypedArrayMemory memory;
  if (!readMemory(env, array, &memory)) {
    throw Napi::TypeError::New(env, std::string(function) + ": could not read " + name + "'s memory");
  }
  source_ = memory.data;
  bytes_ = memory.bytes;
  if (!memory.detachable) {
    if (napi_create_reference(env, array, 1, &shared_) != napi_ok) {
      throw Napi::Error::New(env, std::string(function) + ": could not keep " + name + " alive for the call");
    }
    data_ = memory.data;
    return;
  }
  for (const ReadOnlyInput* other : earlier) {
    if (other->copy_ != nullptr && other->source_ == source_ && other->bytes_ == bytes_) {
      copy_ = other->copy_;  // the same array passed twice: one copy
      data_ = copy_.get();
      return;
    }
  }
  void* owned = allocateBytes(bytes_);
  if (owned == nullptr) throwOutOfMemory(env, function, name, bytes_);
  copy_ = std::shared_ptr<uint8_t>(static_cast<uint8_t*>(owned), [](uint8_t* p) { std::free(p); });
  if (bytes_ > 0) std::memcpy(owned, memory.data, bytes_);
  data_ = owned;
}

void ReadOnlyInput::release(napi_env env) noexcept {
  if (shared_ != nullptr) napi_delete_reference(env, shared_);
  shared_ = nullptr;
  copy_.reset();
  data_ = nullptr;
}

// ---- WritableOutput --------------------------------------------------------------------------

void WritableOutput::take(Napi::Env env, const Napi::Value& array, napi_typedarray_type elementType, size_t elements,
                          size_t elementBytes, const char* function, const char* name) {
  function_ = function;
  name_ = name;
  elementType_ = elementType;
  elements_ = elements;
  bytes_ = elements * elementBytes;
  if (array.IsNull() || array.IsUndefined()) {
    owned_ = allocateBytes(bytes_);
    if (owned_ == nullptr) throwOutOfMemory(env, function, "the result", bytes_);
    data_ = owned_;
    return;
  }
  TypedArrayMemory memory;
  if (!readMemory(env, array, &memory)) {
    throw Napi::TypeError::New(env, std::string(function) + ": could not read " + name + "'s memory");
  }
  if (napi_create_reference(env, array, 1, &array_) != napi_ok) {
    throw Napi::Error::New(env, std::string(function) + ": could not keep " + name + " alive for the call");
  }
  if (!memory.detachable) {
    data_ = memory.data;  // a SharedArrayBuffer: written in place
    return;
  }
  owned_ = allocateBytes(bytes_);
  if (owned_ == nullptr) throwOutOfMemory(env, function, name, bytes_);
  data_ = owned_;
  copyBack_ = true;
}

std::string WritableOutput::finish(napi_env env, napi_value* result) noexcept {
  if (array_ == nullptr) {
    // The caller gave no output: hand our memory to a new ArrayBuffer without copying.
    napi_value buffer = nullptr;
    void* memory = owned_;
    napi_status status = napi_create_external_arraybuffer(
        env, memory, bytes_, [](napi_env, void* data, void*) { std::free(data); }, nullptr, &buffer);
    if (status == napi_ok) {
      owned_ = nullptr;  // the ArrayBuffer frees it when collected
    } else {
      // Runtimes that forbid external buffers (napi_no_external_buffers_allowed): copy once.
      void* copy = nullptr;
      if (napi_create_arraybuffer(env, bytes_, &copy, &buffer) != napi_ok) {
        return function_ + ": could not create the result array";
      }
      if (bytes_ > 0) std::memcpy(copy, owned_, bytes_);
    }
    if (napi_create_typedarray(env, elementType_, elements_, buffer, 0, result) != napi_ok) {
      return function_ + ": could not create the result array";
    }
    return "";
  }
  if (napi_get_reference_value(env, array_, result) != napi_ok || *result == nullptr) {
    return function_ + ": " + name_ + " is no longer reachable";
  }
  if (!copyBack_) return "";
  TypedArrayMemory memory;
  if (!readMemory(env, *result, &memory) || memory.bytes != bytes_ || (bytes_ > 0 && memory.data == nullptr)) {
    return function_ + ": " + name_ + "'s ArrayBuffer was detached (transferred) or resized while the call was " +
           "running, so the result could not be written (" + std::to_string(bytes_) + " bytes expected, " +
           std::to_string(memory.bytes) + " found); keep " + name_ + " attached until the promise settles";
  }
  if (bytes_ > 0) std::memcpy(memory.data, owned_, bytes_);
  return "";
}

WritableOutput::~WritableOutput() { std::free(owned_); }

void WritableOutput::release(napi_env env) noexcept {
  if (array_ != nullptr) napi_delete_reference(env, array_);
  array_ = nullptr;
  std::free(owned_);
  owned_ = nullptr;
  data_ = nullptr;
}

}  // namespace latentkit
