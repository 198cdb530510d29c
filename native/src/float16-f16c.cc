// float16 ⇄ float32 with the F16C instructions, eight at a time; the tail goes through a
// zero-padded block so every element takes the same hardware path.
#include <immintrin.h>

#include <cstring>

#include "elementwise-kernels.h"

namespace latentkit {

void float32ToFloat16F16c(const float* input, uint16_t* output, int64_t length) {
  int64_t i = 0;
  for (; i + 8 <= length; i += 8) {
    const __m128i half = _mm256_cvtps_ph(_mm256_loadu_ps(input + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(output + i), half);
  }
  if (i < length) {
    alignas(32) float block[8] = {};
    alignas(16) uint16_t halves[8];
    std::memcpy(block, input + i, static_cast<size_t>(length - i) * sizeof(float));
    _mm_store_si128(reinterpret_cast<__m128i*>(halves), _mm256_cvtps_ph(_mm256_load_ps(block), _MM_FROUND_TO_NEAREST_INT));
    std::memcpy(output + i, halves, static_cast<size_t>(length - i) * sizeof(uint16_t));
  }
}

void float16ToFloat32F16c(const uint16_t* input, float* output, int64_t length) {
  int64_t i = 0;
  for (; i + 8 <= length; i += 8) {
    const __m128i half = _mm_loadu_si128(reinterpret_cast<const __m128i*>(input + i));
    _mm256_storeu_ps(output + i, _mm256_cvtph_ps(half));
  }
  if (i < length) {
    alignas(16) uint16_t halves[8] = {};
    alignas(32) float block[8];
    std::memcpy(halves, input + i, static_cast<size_t>(length - i) * sizeof(uint16_t));
    _mm256_store_ps(block, _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(halves))));
    std::memcpy(output + i, block, static_cast<size_t>(length - i) * sizeof(float));
  }
}

}  // namespace latentkit
