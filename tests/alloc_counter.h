// Counts the calling thread's heap allocations while enabled, by interposing glibc's malloc
// family (operator new alone would miss C libraries such as OpenSSL). Include it in exactly one
// source file of a test binary. Sanitizer runtimes own malloc, so under them this defines
// nothing and TL_COUNT_ALLOCATIONS stays undefined: guard allocation tests with it.
#pragma once

#include <cstddef>

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define TL_COUNT_ALLOCATIONS 1

namespace tokenledger::testing {
inline thread_local bool g_count_allocations = false;
inline thread_local long g_allocations = 0;

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
}  // namespace tokenledger::testing

extern "C" void* __libc_malloc(size_t);
extern "C" void* __libc_calloc(size_t, size_t);
extern "C" void* __libc_realloc(void*, size_t);
extern "C" void* malloc(size_t n) {
  if (tokenledger::testing::g_count_allocations) ++tokenledger::testing::g_allocations;
  return __libc_malloc(n);
}
extern "C" void* calloc(size_t n, size_t size) {
  if (tokenledger::testing::g_count_allocations) ++tokenledger::testing::g_allocations;
  return __libc_calloc(n, size);
}
extern "C" void* realloc(void* p, size_t n) {
  if (tokenledger::testing::g_count_allocations) ++tokenledger::testing::g_allocations;
  return __libc_realloc(p, n);
}
#endif
