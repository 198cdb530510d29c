#include "cpu-features.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace latentkit {

SimdLevel detectedSimdLevel() {
#if defined(LATENTKIT_X86) && (defined(__GNUC__) || defined(__clang__))
  // __builtin_cpu_supports also checks that the OS saves the wide registers (XGETBV).
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    return SimdLevel::Avx512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SimdLevel::Avx2;
#endif
  return SimdLevel::Portable;
}

bool hasF16c() {
#if defined(LATENTKIT_X86) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c");
#else
  return false;
#endif
}

namespace {
std::atomic<int> chosenLevel{-1};
}

SimdLevel setSimdLevel(SimdLevel wanted) {
  const SimdLevel best = detectedSimdLevel();
  const SimdLevel applied = static_cast<int>(wanted) <= static_cast<int>(best) ? wanted : best;
  chosenLevel.store(static_cast<int>(applied));
  return applied;
}

SimdLevel activeSimdLevel() {
  const int chosen = chosenLevel.load(std::memory_order_relaxed);
  if (chosen >= 0) return static_cast<SimdLevel>(chosen);
  static const SimdLevel level = [] {
    const SimdLevel best = detectedSimdLevel();
    const char* requested = std::getenv("LATENTKIT_SIMD");
    if (requested == nullptr || *requested == '\0') return best;
    SimdLevel wanted = best;
    if (std::strcmp(requested, "scalar") == 0 || std::strcmp(requested, "portable") == 0) wanted = SimdLevel::Portable;
    if (std::strcmp(requested, "avx2") == 0) wanted = SimdLevel::Avx2;
    if (std::strcmp(requested, "avx512") == 0) wanted = SimdLevel::Avx512;
    // Never pick an instruction set the CPU lacks: that would be SIGILL, not a slower path.
    return static_cast<int>(wanted) <= static_cast<int>(best) ? wanted : best;
  }();
  return level;
}

const char* simdLevelName(SimdLevel level) {
  switch (level) {
    case SimdLevel::Avx512: return "avx512";
    case SimdLevel::Avx2: return "avx2";
    default: return "scalar";
  }
}

}  // namespace latentkit
