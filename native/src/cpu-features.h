// Which SIMD instruction set the kernels use, detected once (cpuid) and overridable with
// LATENTKIT_SIMD=scalar|avx2|avx512 so tests can cover every path on one machine.
#pragma once

namespace latentkit {

enum class SimdLevel { Portable = 0, Avx2 = 1, Avx512 = 2 };

/** The best level this CPU supports (ignores the override). */
SimdLevel detectedSimdLevel();

/** The level in use: LATENTKIT_SIMD if set (capped at what the CPU supports), else detected. */
SimdLevel activeSimdLevel();

/**
 * Chooses the level for later calls (tests and benchmarks compare the paths in one process);
 * capped at what the CPU supports. Returns the level applied.
 */
SimdLevel setSimdLevel(SimdLevel wanted);

/** True when the CPU converts float16 in hardware (F16C). */
bool hasF16c();

const char* simdLevelName(SimdLevel level);

}  // namespace latentkit
