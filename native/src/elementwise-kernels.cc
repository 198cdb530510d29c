// Compiled with -ffp-contract=off: a fused multiply-add would round differently from the JS twin.
#include "elementwise-kernels.h"

#include <cstring>
#include <functional>

#include "cpu-features.h"
#include "thread-pool.h"

namespace latentkit {
namespace {

// Below this many elements one thread is faster than waking the pool (memory-bound loops).
constexpr int64_t kParallelThreshold = int64_t{1} << 18;
constexpr int64_t kChunk = int64_t{1} << 16;

void forChunks(int64_t length, const std::function<void(int64_t, int64_t)>& body) {
  if (length < kParallelThreshold) {
    body(0, length);
    return;
  }
  const int64_t chunks = (length + kChunk - 1) / kChunk;
  parallelFor(chunks, [&](int64_t chunk) {
    const int64_t begin = chunk * kChunk;
    body(begin, begin + kChunk < length ? begin + kChunk : length);
  });
}

inline uint32_t bitsOf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

inline float floatOf(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// Round to nearest even via exponent arithmetic (F. Giesen, "float->half variants", 2016).
inline uint16_t toHalf(float value) {
  uint32_t bits = bitsOf(value);
  const uint32_t sign = (bits >> 16) & 0x8000u;
  bits &= 0x7fffffffu;
  uint32_t half;
  if (bits >= 0x47800000u) {
    // 65536 and above, infinity, NaN. (65520..65535 round up to infinity in the normal branch.)
    half = bits > 0x7f800000u ? 0x7e00u | ((bits >> 13) & 0x3ffu) : 0x7c00u;
  } else if (bits < 0x38800000u) {
    // Subnormal or zero in binary16: adding 0.5 aligns the 10 mantissa bits at the bottom, and
    // the float addition itself rounds to nearest even.
    const float magic = floatOf(126u << 23);
    half = bitsOf(floatOf(bits) + magic) - (126u << 23);
  } else {
    const uint32_t odd = (bits >> 13) & 1u;
    bits += (static_cast<uint32_t>(15 - 127) << 23) + 0xfffu + odd;
    half = bits >> 13;
  }
  return static_cast<uint16_t>(half | sign);
}

inline float fromHalf(uint16_t half) {
  const uint32_t sign = static_cast<uint32_t>(half & 0x8000u) << 16;
  const uint32_t exponent = (half >> 10) & 0x1fu;
  const uint32_t mantissa = half & 0x3ffu;
  if (exponent == 0x1f) {
    return floatOf(sign | 0x7f800000u | (mantissa << 13) | (mantissa != 0 ? 0x400000u : 0u));
  }
  if (exponent == 0) {
    // Subnormal: mantissa · 2^−24, exact in float32.
    const float magnitude = static_cast<float>(mantissa) * floatOf(103u << 23);
    return floatOf(sign | bitsOf(magnitude));
  }
  return floatOf(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

}  // namespace

void guidanceStep(const GuidanceStepProblem& p) {
  forChunks(p.length, [&](int64_t begin, int64_t end) {
    const double g = p.guidanceScale;
    const double a = p.sampleCoefficient;
    const double b = p.predictionCoefficient;
    const double c = p.noiseCoefficient;
    for (int64_t i = begin; i < end; ++i) {
      const double uncond = p.uncond[i];
      const double guided = p.cond != nullptr ? uncond + g * (static_cast<double>(p.cond[i]) - uncond) : uncond;
      double next = a * static_cast<double>(p.sample[i]) + b * guided;
      if (p.noise != nullptr) next += c * static_cast<double>(p.noise[i]);
      if (p.guidedOutput != nullptr) p.guidedOutput[i] = static_cast<float>(guided);
      p.output[i] = static_cast<float>(next);
    }
  });
}

void float32ToFloat16Portable(const float* input, uint16_t* output, int64_t length) {
  for (int64_t i = 0; i < length; ++i) output[i] = toHalf(input[i]);
}

void float16ToFloat32Portable(const uint16_t* input, float* output, int64_t length) {
  for (int64_t i = 0; i < length; ++i) output[i] = fromHalf(input[i]);
}

void float32ToFloat16(const float* input, uint16_t* output, int64_t length) {
  forChunks(length, [&](int64_t begin, int64_t end) {
#if defined(LATENTKIT_X86)
    if (hasF16c() && activeSimdLevel() != SimdLevel::Portable) {
      float32ToFloat16F16c(input + begin, output + begin, end - begin);
      return;
    }
#endif
    float32ToFloat16Portable(input + begin, output + begin, end - begin);
  });
}

void float16ToFloat32(const uint16_t* input, float* output, int64_t length) {
  forChunks(length, [&](int64_t begin, int64_t end) {
#if defined(LATENTKIT_X86)
    if (hasF16c() && activeSimdLevel() != SimdLevel::Portable) {
      float16ToFloat32F16c(input + begin, output + begin, end - begin);
      return;
    }
#endif
    float16ToFloat32Portable(input + begin, output + begin, end - begin);
  });
}

void imageToRgb8(const float* image, uint8_t* rgb, int64_t batch, int64_t height, int64_t width) {
  const int64_t plane = height * width;
  const int64_t pixels = batch * plane;
  forChunks(pixels, [&](int64_t begin, int64_t end) {
    int64_t b = begin / plane;  // one division per chunk, not per pixel
    int64_t offset = begin - b * plane;
    for (int64_t pixel = begin; pixel < end; ++pixel, ++offset) {
      if (offset == plane) {
        offset = 0;
        ++b;
      }
      const float* source = image + b * 3 * plane + offset;
      for (int channel = 0; channel < 3; ++channel) {
        float unit = source[channel * plane] * 0.5f + 0.5f;
        if (!(unit >= 0.0f)) unit = 0.0f;  // also NaN
        if (unit > 1.0f) unit = 1.0f;
        // x + 2^23 − 2^23 rounds to an integer, half to even, for 0 ≤ x < 2^23 (like np.round).
        const float shifted = unit * 255.0f + 8388608.0f;
        rgb[pixel * 3 + channel] = static_cast<uint8_t>(shifted - 8388608.0f);
      }
    }
  });
}

}  // namespace latentkit
