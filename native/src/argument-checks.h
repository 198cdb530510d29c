// Argument validation for every exported function: checked before any memory is touched, and
// every failure becomes a JS TypeError (wrong kind of value) or RangeError (wrong size or value).
// Messages name the function, the argument, what was received and what is expected.
#pragma once
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

namespace latentkit {

inline std::string describeJsValue(const Napi::Value& value) {
  if (value.IsTypedArray()) {
    switch (value.As<Napi::TypedArray>().TypedArrayType()) {
      case napi_int8_array: return "Int8Array";
      case napi_uint8_array: return "Uint8Array";
      case napi_uint8_clamped_array: return "Uint8ClampedArray";
      case napi_int16_array: return "Int16Array";
      case napi_uint16_array: return "Uint16Array";
      case napi_int32_array: return "Int32Array";
      case napi_uint32_array: return "Uint32Array";
      case napi_float32_array: return "Float32Array";
      case napi_float64_array: return "Float64Array";
      default: return "a typed array";
    }
  }
  if (value.IsUndefined()) return "undefined";
  if (value.IsNull()) return "null";
  if (value.IsArray()) return "an Array";
  if (value.IsNumber()) return "the number " + value.ToString().Utf8Value();
  if (value.IsString()) return "a string";
  if (value.IsBoolean()) return "a boolean";
  if (value.IsFunction()) return "a function";
  return "an object";
}

[[noreturn]] inline void throwTypeError(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, message);
}

[[noreturn]] inline void throwRangeError(Napi::Env env, const std::string& message) {
  throw Napi::RangeError::New(env, message);
}

/** A typed array of the given element type; `optional` also accepts null/undefined (returns false). */
template <class Array>
inline bool readTypedArray(const Napi::CallbackInfo& info, size_t index, napi_typedarray_type type,
                           const char* typeName, const char* function, const char* name, bool optional,
                           Array* result) {
  const Napi::Value value = info[index];
  if (optional && (value.IsNull() || value.IsUndefined())) return false;
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != type) {
    throwTypeError(info.Env(), std::string(function) + ": " + name + " must be a " + typeName + ", received " +
                                   describeJsValue(value));
  }
  *result = value.As<Array>();
  return true;
}

/** A whole number in [minimum, maximum]. */
inline int64_t readInteger(const Napi::CallbackInfo& info, size_t index, const char* function, const char* name,
                           int64_t minimum, int64_t maximum) {
  const Napi::Value value = info[index];
  if (!value.IsNumber()) {
    throwTypeError(info.Env(), std::string(function) + ": " + name + " must be a number, received " +
                                   describeJsValue(value));
  }
  const double number = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(number) || std::trunc(number) != number || number < static_cast<double>(minimum) ||
      number > static_cast<double>(maximum)) {
    throwRangeError(info.Env(), std::string(function) + ": " + name + " must be an integer from " +
                                    std::to_string(minimum) + " to " + std::to_string(maximum) + ", received " +
                                    value.ToString().Utf8Value());
  }
  return static_cast<int64_t>(number);
}

/** A finite number. */
inline double readFiniteNumber(const Napi::CallbackInfo& info, size_t index, const char* function, const char* name) {
  const Napi::Value value = info[index];
  if (!value.IsNumber()) {
    throwTypeError(info.Env(), std::string(function) + ": " + name + " must be a number, received " +
                                   describeJsValue(value));
  }
  const double number = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(number)) {
    throwRangeError(info.Env(), std::string(function) + ": " + name + " must be a finite number, received " +
                                    value.ToString().Utf8Value());
  }
  return number;
}

/** a·b, or a RangeError when the product does not fit in 2^53 (the largest safe JS length). */
inline int64_t checkedProduct(Napi::Env env, const char* function, int64_t a, int64_t b) {
  int64_t product;
  if (__builtin_mul_overflow(a, b, &product) || product > (int64_t{1} << 53)) {
    throwRangeError(env, std::string(function) + ": the sizes multiply to more elements than an array can hold");
  }
  return product;
}

/** The first byte of the array's elements (works for ArrayBuffer and SharedArrayBuffer backing). */
inline const uint8_t* bytesBegin(const Napi::TypedArray& array) {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer;
  size_t offset = 0;
  if (napi_get_typedarray_info(array.Env(), array, &type, &length, &data, &buffer, &offset) != napi_ok) {
    return nullptr;
  }
  return static_cast<const uint8_t*>(data);
}

/** True when the two arrays' bytes overlap. */
inline bool overlaps(const Napi::TypedArray& a, const Napi::TypedArray& b) {
  const uint8_t* aBegin = bytesBegin(a);
  const uint8_t* bBegin = bytesBegin(b);
  return aBegin < bBegin + b.ByteLength() && bBegin < aBegin + a.ByteLength() && a.ByteLength() > 0 &&
         b.ByteLength() > 0;
}

/** For element-wise kernels: `output` may be `input` itself, but must not partly overlap it. */
inline void checkElementwiseAlias(Napi::Env env, const char* function, const char* outputName,
                                  const Napi::TypedArray& output, const char* inputName,
                                  const Napi::TypedArray& input) {
  if (overlaps(output, input) && bytesBegin(output) != bytesBegin(input)) {
    throwRangeError(env, std::string(function) + ": " + outputName + " partly overlaps " + inputName +
                             "; pass the same array (in place) or separate memory");
  }
}

}  // namespace latentkit
