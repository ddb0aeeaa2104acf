// Counts heap allocations while enabled, by interposing glibc's malloc family (operator new
// alone would miss C libraries such as OpenSSL); the hooks are in alloc_hooks.cc, which a test
// binary that includes this header links once. Sanitizer runtimes own malloc, so under them
// nothing is defined and TL_COUNT_ALLOCATIONS stays undefined: guard allocation tests with it.
#pragma once

#include <cstddef>

// GCC says so with __SANITIZE_*__, clang 14 only through __has_feature.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TL_SANITIZER_RUNTIME 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TL_SANITIZER_RUNTIME 1
#endif
#endif

#ifndef TL_SANITIZER_RUNTIME
#define TL_COUNT_ALLOCATIONS 1

#include <atomic>

namespace tokenledger::testing {
inline thread_local bool g_count_allocations = false;
inline thread_local long g_allocations = 0;
inline std::atomic<bool> g_count_all_threads{false};
inline std::atomic<long> g_all_thread_allocations{0};

inline void CountAllocation() {
  if (g_count_allocations) ++g_allocations;
  if (g_count_all_threads.load(std::memory_order_relaxed)) g_all_thread_allocations.fetch_add(1);
}

// Counts allocations made by this thread while alive.
class AllocationCounter {
 public:
  AllocationCounter() {
    g_allocations = 0;
    g_count_allocations = true;
  }
  ~AllocationCounter() { g_count_allocations = false; }
  long count() const { return g_allocations; }
};

// Counts allocations made by every thread of the process while alive (for servers whose I/O
// threads the test cannot reach); keep the test's own thread allocation-free meanwhile.
class ProcessAllocationCounter {
 public:
  ProcessAllocationCounter() {
    g_all_thread_allocations = 0;
    g_count_all_threads = true;
  }
  ~ProcessAllocationCounter() { g_count_all_threads = false; }
  long count() const { return g_all_thread_allocations.load(); }
};
}  // namespace tokenledger::testing

#endif
