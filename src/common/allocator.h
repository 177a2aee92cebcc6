// The process's memory allocator: which one serves malloc, and handing back what it holds free.
#pragma once

namespace oc {

// "jemalloc" when jemalloc serves malloc (linked into the binary or preloaded), else "glibc".
const char* allocator_name();

// Gives the memory the allocator holds free back to the system: jemalloc purges every arena's
// unused pages, glibc trims every arena (it keeps freed memory of every thread's arena otherwise).
void release_free_memory();

// For a long-running process on glibc: a few arenas and fixed thresholds for mapping large blocks
// and returning the top of the heap (glibc raises both as the peaks of load grow, and then keeps
// tens of MB per thread arena for good). Call before starting threads. A no-op with jemalloc,
// which the binary configures itself (its `malloc_conf`).
void keep_allocator_lean();

}  // namespace oc
