#include "thread-pool.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace latentkit {
namespace {

struct Job {
  const std::function<void(int64_t)>* body;
  int64_t count;
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> finished{0};
  std::mutex doneMutex;
  std::condition_variable done;
};

// Claims indices until none are left; returns once this thread has nothing more to do.
void work(Job& job) {
  for (;;) {
    const int64_t index = job.next.fetch_add(1, std::memory_order_relaxed);
    if (index >= job.count) return;
    (*job.body)(index);
    if (job.finished.fetch_add(1, std::memory_order_acq_rel) + 1 == job.count) {
      std::lock_guard<std::mutex> lock(job.doneMutex);
      job.done.notify_all();
    }
  }
}

class ThreadPool {
 public:
  explicit ThreadPool(int workers) {
    for (int i = 0; i < workers; ++i) std::thread([this] { loop(); }).detach();
  }

  void run(int64_t count, const std::function<void(int64_t)>& body) {
    auto job = std::make_shared<Job>();
    job->body = &body;
    job->count = count;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(job);
    }
    wake_.notify_all();
    work(*job);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto it = queue_.begin(); it != queue_.end(); ++it) {
        if (*it == job) {
          queue_.erase(it);
          break;
        }
      }
    }
    std::unique_lock<std::mutex> lock(job->doneMutex);
    job->done.wait(lock, [&] { return job->finished.load(std::memory_order_acquire) == job->count; });
  }

 private:
  void loop() {
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return !queue_.empty(); });
        job = queue_.front();
        // An exhausted job leaves the queue so workers move on to the next caller's job.
        if (job->next.load(std::memory_order_relaxed) >= job->count) {
          queue_.pop_front();
          continue;
        }
      }
      work(*job);
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;
};

ThreadPool& sharedPool() {
  // Never destroyed: the workers are detached and may outlive static destruction at exit.
  static ThreadPool* pool = new ThreadPool(threadCount() - 1);
  return *pool;
}

}  // namespace

int threadCount() {
  static const int count = [] {
    const char* requested = std::getenv("LATENTKIT_THREADS");
    if (requested != nullptr) {
      const int value = std::atoi(requested);
      if (value >= 1 && value <= 256) return value;
    }
    const unsigned hardware = std::thread::hardware_concurrency();
    return hardware == 0 ? 1 : static_cast<int>(hardware);
  }();
  return count;
}

void parallelFor(int64_t count, const std::function<void(int64_t)>& body) {
  if (count <= 0) return;
  if (count == 1 || threadCount() == 1) {
    for (int64_t i = 0; i < count; ++i) body(i);
    return;
  }
  sharedPool().run(count, body);
}

}  // namespace latentkit
