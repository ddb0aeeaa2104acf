// The malloc-family hooks behind tests/alloc_counter.h; linked once into a test binary.
#include "tests/alloc_counter.h"

#ifdef TL_COUNT_ALLOCATIONS
extern "C" void* __libc_malloc(size_t);
extern "C" void* __libc_calloc(size_t, size_t);
extern "C" void* __libc_realloc(void*, size_t);
extern "C" void* malloc(size_t n) {
  tokenledger::testing::CountAllocation();
  return __libc_malloc(n);
}
extern "C" void* calloc(size_t n, size_t size) {
  tokenledger::testing::CountAllocation();
  return __libc_calloc(n, size);
}
extern "C" void* realloc(void* p, size_t n) {
  tokenledger::testing::CountAllocation();
  return __libc_realloc(p, n);
}
#endif
