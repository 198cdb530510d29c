// JS bindings of the element-wise kernels (src/elementwise-kernels.h). Each validates every
// argument before touching memory; positional arguments are assembled by the TS wrappers.
#include <napi.h>

#include <string>

#include "argument-checks.h"
#include "bindings.h"
#include "elementwise-kernels.h"

namespace latentkit {
namespace {

void expectArguments(const Napi::CallbackInfo& info, const char* function, size_t count, const char* names) {
  if (info.Length() != count) {
    throwTypeError(info.Env(), std::string(function) + ": expected " + std::to_string(count) + " arguments (" + names +
                                   "), received " + std::to_string(info.Length()));
  }
}

void expectLength(Napi::Env env, const char* function, const char* name, const Napi::TypedArray& array,
                  int64_t expected, const char* what) {
  if (static_cast<int64_t>(array.ElementLength()) != expected) {
    throwRangeError(env, std::string(function) + ": " + name + " has " + std::to_string(array.ElementLength()) +
                             " elements; expected " + std::to_string(expected) + " (" + what + ")");
  }
}

// (output, guidedOutput | null, sample, uncond, cond | null, noise | null, guidanceScale,
//  sampleCoefficient, predictionCoefficient, noiseCoefficient)
Napi::Value guidanceStepBinding(const Napi::CallbackInfo& info) {
  const char* f = "guidanceStep";
  Napi::Env env = info.Env();
  expectArguments(info, f, 10,
                  "output, guidedOutput, sample, uncond, cond, noise, guidanceScale, sampleCoefficient, "
                  "predictionCoefficient, noiseCoefficient");
  Napi::Float32Array output, guidedOutput, sample, uncond, cond, noise;
  readTypedArray(info, 0, napi_float32_array, "Float32Array", f, "output", false, &output);
  const bool hasGuided = readTypedArray(info, 1, napi_float32_array, "Float32Array", f, "guidedOutput", true, &guidedOutput);
  readTypedArray(info, 2, napi_float32_array, "Float32Array", f, "sample", false, &sample);
  readTypedArray(info, 3, napi_float32_array, "Float32Array", f, "uncond", false, &uncond);
  const bool hasCond = readTypedArray(info, 4, napi_float32_array, "Float32Array", f, "cond", true, &cond);
  const bool hasNoise = readTypedArray(info, 5, napi_float32_array, "Float32Array", f, "noise", true, &noise);
  GuidanceStepProblem p{};
  p.guidanceScale = readFiniteNumber(info, 6, f, "guidanceScale");
  p.sampleCoefficient = readFiniteNumber(info, 7, f, "sampleCoefficient");
  p.predictionCoefficient = readFiniteNumber(info, 8, f, "predictionCoefficient");
  p.noiseCoefficient = readFiniteNumber(info, 9, f, "noiseCoefficient");

  const int64_t length = static_cast<int64_t>(sample.ElementLength());
  const char* sameAsSample = "the length of sample";
  expectLength(env, f, "output", output, length, sameAsSample);
  expectLength(env, f, "uncond", uncond, length, sameAsSample);
  if (hasGuided) expectLength(env, f, "guidedOutput", guidedOutput, length, sameAsSample);
  if (hasCond) expectLength(env, f, "cond", cond, length, sameAsSample);
  if (hasNoise) expectLength(env, f, "noise", noise, length, sameAsSample);

  checkElementwiseAlias(env, f, "output", output, "sample", sample);
  checkElementwiseAlias(env, f, "output", output, "uncond", uncond);
  if (hasCond) checkElementwiseAlias(env, f, "output", output, "cond", cond);
  if (hasNoise) checkElementwiseAlias(env, f, "output", output, "noise", noise);
  if (hasGuided) {
    if (overlaps(guidedOutput, output)) {
      throwRangeError(env, "guidanceStep: guidedOutput shares memory with output; pass two separate arrays");
    }
    checkElementwiseAlias(env, f, "guidedOutput", guidedOutput, "sample", sample);
    checkElementwiseAlias(env, f, "guidedOutput", guidedOutput, "uncond", uncond);
    if (hasCond) checkElementwiseAlias(env, f, "guidedOutput", guidedOutput, "cond", cond);
    if (hasNoise) checkElementwiseAlias(env, f, "guidedOutput", guidedOutput, "noise", noise);
  }

  p.output = output.Data();
  p.guidedOutput = hasGuided ? guidedOutput.Data() : nullptr;
  p.sample = sample.Data();
  p.uncond = uncond.Data();
  p.cond = hasCond ? cond.Data() : nullptr;
  p.noise = hasNoise ? noise.Data() : nullptr;
  p.length = length;
  guidanceStep(p);
  return output;
}

Napi::Value float32ToFloat16Binding(const Napi::CallbackInfo& info) {
  const char* f = "float32ToFloat16";
  expectArguments(info, f, 2, "input, output");
  Napi::Float32Array input;
  Napi::Uint16Array output;
  readTypedArray(info, 0, napi_float32_array, "Float32Array", f, "input", false, &input);
  readTypedArray(info, 1, napi_uint16_array, "Uint16Array", f, "output", false, &output);
  expectLength(info.Env(), f, "output", output, static_cast<int64_t>(input.ElementLength()), "the length of input");
  if (overlaps(input, output)) throwRangeError(info.Env(), "float32ToFloat16: output shares memory with input");
  float32ToFloat16(input.Data(), output.Data(), static_cast<int64_t>(input.ElementLength()));
  return output;
}

Napi::Value float16ToFloat32Binding(const Napi::CallbackInfo& info) {
  const char* f = "float16ToFloat32";
  expectArguments(info, f, 2, "input, output");
  Napi::Uint16Array input;
  Napi::Float32Array output;
  readTypedArray(info, 0, napi_uint16_array, "Uint16Array", f, "input", false, &input);
  readTypedArray(info, 1, napi_float32_array, "Float32Array", f, "output", false, &output);
  expectLength(info.Env(), f, "output", output, static_cast<int64_t>(input.ElementLength()), "the length of input");
  if (overlaps(input, output)) throwRangeError(info.Env(), "float16ToFloat32: output shares memory with input");
  float16ToFloat32(input.Data(), output.Data(), static_cast<int64_t>(input.ElementLength()));
  return output;
}

// (image, output, batch, height, width)
Napi::Value imageToRgb8Binding(const Napi::CallbackInfo& info) {
  const char* f = "latentsToRgb8";
  Napi::Env env = info.Env();
  expectArguments(info, f, 5, "image, output, batch, height, width");
  Napi::Float32Array image;
  Napi::Uint8Array output;
  readTypedArray(info, 0, napi_float32_array, "Float32Array", f, "image", false, &image);
  readTypedArray(info, 1, napi_uint8_array, "Uint8Array", f, "output", false, &output);
  const int64_t batch = readInteger(info, 2, f, "batch", 1, int64_t{1} << 31);
  const int64_t height = readInteger(info, 3, f, "height", 1, int64_t{1} << 31);
  const int64_t width = readInteger(info, 4, f, "width", 1, int64_t{1} << 31);
  const int64_t elements = checkedProduct(env, f, checkedProduct(env, f, checkedProduct(env, f, batch, 3), height), width);
  expectLength(env, f, "image", image, elements, "batch·3·height·width");
  expectLength(env, f, "output", output, elements, "batch·height·width·3");
  if (overlaps(image, output)) throwRangeError(env, "latentsToRgb8: output shares memory with image");
  imageToRgb8(image.Data(), output.Data(), batch, height, width);
  return output;
}

}  // namespace

void registerElementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("guidanceStep", Napi::Function::New(env, guidanceStepBinding, "guidanceStep"));
  exports.Set("float32ToFloat16", Napi::Function::New(env, float32ToFloat16Binding, "float32ToFloat16"));
  exports.Set("float16ToFloat32", Napi::Function::New(env, float16ToFloat32Binding, "float16ToFloat32"));
  exports.Set("latentsToRgb8", Napi::Function::New(env, imageToRgb8Binding, "latentsToRgb8"));
}

}  // namespace latentkit
