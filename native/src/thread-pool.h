// A process-wide pool of worker threads shared by every call (synchronous, asynchronous and from
// several Node worker threads at once). The caller of parallelFor works on its own job too, so a
// job always progresses even while the workers are busy with other callers' jobs.
#pragma once
#include <cstdint>
#include <functional>

namespace latentkit {

/** Threads used per job: LATENTKIT_THREADS if set, else the hardware concurrency. */
int threadCount();

/**
 * Runs body(index) for every index in [0, count) across the pool and the calling thread, and
 * returns when all have finished. `body` must not throw.
 */
void parallelFor(int64_t count, const std::function<void(int64_t)>& body);

}  // namespace latentkit
