// Facts about the machine the process runs on.
#pragma once

#include <cstdint>

namespace oc {

// Memory the system can give the process without swapping (/proc/meminfo MemAvailable; physical
// memory when that is unknown), in bytes.
uint64_t available_memory();

// Gives the memory the process allocator holds free back to the system (glibc keeps freed memory
// of every thread's arena otherwise); a no-op where the allocator has no such call.
void release_free_memory();

// For a long-running process: a few allocator arenas and fixed thresholds for mapping large blocks
// and returning the top of the heap (glibc raises both as the peaks of load grow, and then keeps
// tens of MB per thread arena for good). Call before starting threads; a no-op elsewhere.
void keep_allocator_lean();

}  // namespace oc
