// The element-wise kernels of a denoising loop: each is one pass over memory.
#pragma once
#include <cstdint>

namespace latentkit {

/**
 * Classifier-free guidance fused with a scheduler's linear update (Ho & Salimans 2022, eq. 6):
 *   guided = uncond + g·(cond − uncond)           (guided = uncond when cond is null)
 *   out    = a·sample + b·guided + c·noise         (the noise term only when noise is set)
 * in double precision, rounded once to float32 — the same operations, in the same order, as the
 * JS twin, so both give identical bits.
 */
struct GuidanceStepProblem {
  float* output;
  float* guidedOutput;  // optional: also store `guided` (multistep schedulers keep it)
  const float* sample;
  const float* uncond;
  const float* cond;   // optional
  const float* noise;  // optional
  int64_t length;
  double guidanceScale;
  double sampleCoefficient;
  double predictionCoefficient;
  double noiseCoefficient;
};
void guidanceStep(const GuidanceStepProblem& problem);

/** IEEE 754 binary16 bits ⇄ binary32, round to nearest even; NaN stays NaN (quiet, payload kept). */
void float32ToFloat16(const float* input, uint16_t* output, int64_t length);
void float16ToFloat32(const uint16_t* input, float* output, int64_t length);
void float32ToFloat16Portable(const float* input, uint16_t* output, int64_t length);
void float16ToFloat32Portable(const uint16_t* input, float* output, int64_t length);
#if defined(LATENTKIT_X86)
void float32ToFloat16F16c(const float* input, uint16_t* output, int64_t length);
void float16ToFloat32F16c(const uint16_t* input, float* output, int64_t length);
#endif

/**
 * The VAE decoder's output [batch, 3, height, width] in [−1, 1] to interleaved 8-bit RGB
 * [batch, height, width, 3]: round(clamp(x/2 + 0.5, 0, 1)·255) in float32 with round-half-even,
 * exactly what diffusers' `numpy_to_pil` produces. NaN becomes 0.
 */
void imageToRgb8(const float* image, uint8_t* rgb, int64_t batch, int64_t height, int64_t width);

}  // namespace latentkit
