#include "common/allocator.h"

#include <dlfcn.h>

#include <cstddef>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace oc {
namespace {

// jemalloc's control entry point, looked up at run time so that the core needs neither its
// headers nor its library: present when the binary links jemalloc or it is preloaded.
using Mallctl = int (*)(const char*, void*, size_t*, void*, size_t);

Mallctl jemalloc_ctl() {
  static const auto ctl = reinterpret_cast<Mallctl>(dlsym(RTLD_DEFAULT, "mallctl"));
  return ctl;
}

}  // namespace

const char* allocator_name() { return jemalloc_ctl() ? "jemalloc" : "glibc"; }

void release_free_memory() {
  if (const Mallctl ctl = jemalloc_ctl()) {
    ctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);  // 4096: MALLCTL_ARENAS_ALL
    return;
  }
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

void keep_allocator_lean() {
  if (jemalloc_ctl()) return;
#if defined(__GLIBC__)
  constexpr int kArenas = 4;            // the HTTP threads mostly wait; more arenas only hold memory
  constexpr int kLargeBlock = 1 << 20;  // 1 MiB and larger: mapped, and unmapped when freed
  mallopt(M_ARENA_MAX, kArenas);
  mallopt(M_MMAP_THRESHOLD, kLargeBlock);
  mallopt(M_TRIM_THRESHOLD, kLargeBlock);
#endif
}

}  // namespace oc
